package sqlstore

import (
	"context"
	"testing"

	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// The database itself refuses a one-household photo for a second household
// and a sheet's photo for a household it does not list, whatever the code
// above it checks.
func TestPaperEvidenceKeys(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p, h := seedHouseholds(t, db, 4)
		fs := NewFiles(db)
		single := files.Meta{Key: "paper_ballot-aa.jpg", Purpose: files.PurposePaperBallot, ContentType: "image/jpeg", Size: 1, SHA256: "x", UploadedBy: "staff:1", CourtyardID: p.Courtyard, CreatedAt: t0}
		sheet := single
		sheet.Key, sheet.Purpose = "paper_sheet-bb.jpg", files.PurposePaperSheet
		must(t, fs.CreateFile(ctx, single))
		must(t, fs.CreateFile(ctx, sheet))
		must(t, fs.CreateSheet(ctx, sheet.Key, p.Courtyard, []int64{h[0], h[1]}))
		wantErr(t, fs.CreateSheet(ctx, "paper_sheet-bb.jpg", p.Court2, []int64{h[2], h[3]}), louyuan.KindInvalid, "sheet_household_not_in_courtyard")

		v := NewVoting(db)
		ph, found, err := v.PaperPhoto(ctx, sheet.Key)
		must(t, err)
		if !found || len(ph.Sheet) != 2 || ph.Sheet[0] != h[0] || ph.Meta.Purpose != files.PurposePaperSheet {
			t.Fatalf("sheet %+v found %v", ph, found)
		}
		if _, found, err := v.PaperPhoto(ctx, "nothing.jpg"); err != nil || found {
			t.Fatalf("missing photo: found %v err %v", found, err)
		}

		must(t, v.AddEvidence(ctx, files.EvidenceUse{FileKey: single.Key, HouseholdID: h[0], Subject: "motion:1"}, false))
		// The primary key: a one-household photo has one row.
		wantErr(t, v.AddEvidence(ctx, files.EvidenceUse{FileKey: single.Key, HouseholdID: h[1], Subject: "motion:1"}, false), louyuan.KindConflict, "photo_reused")
		wantErr(t, NewPetitions(db).AddEvidence(ctx, files.EvidenceUse{FileKey: single.Key, HouseholdID: h[0], Subject: "petition:1"}, false), louyuan.KindConflict, "photo_reused")
		// The sheet: its listed households, once each.
		must(t, v.AddEvidence(ctx, files.EvidenceUse{FileKey: sheet.Key, HouseholdID: h[0], Subject: "motion:1"}, true))
		must(t, v.AddEvidence(ctx, files.EvidenceUse{FileKey: sheet.Key, HouseholdID: h[1], Subject: "motion:1"}, true))
		wantErr(t, v.AddEvidence(ctx, files.EvidenceUse{FileKey: sheet.Key, HouseholdID: h[1], Subject: "motion:1"}, true), louyuan.KindConflict, "photo_reused")
		if err := v.AddEvidence(ctx, files.EvidenceUse{FileKey: sheet.Key, HouseholdID: h[2], Subject: "motion:1"}, true); err == nil {
			t.Fatal("a household the sheet does not list was recorded")
		}
		// Raw SQL past the store: a sheet row pretending to be a one-household row is refused too.
		if err := db.Exec("INSERT INTO paper_evidence (file_key, slot, household_id, subject, sheet_household_id, created_at) VALUES (?, ?, ?, 'motion:1', NULL, ?)",
			single.Key, h[3], h[3], t0).Error; err == nil {
			t.Fatal("a second household on a one-household photo got in through another slot")
		}
		ph, _, err = v.PaperPhoto(ctx, sheet.Key)
		must(t, err)
		if len(ph.Uses) != 2 {
			t.Fatalf("uses %+v", ph.Uses)
		}
		if n := count(t, db, "paper_evidence", "1 = 1"); n != 3 {
			t.Fatalf("%d evidence rows, want 3", n)
		}
	})
}
