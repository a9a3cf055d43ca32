package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/petition"
	"github.com/louyuan/louyuan/internal/roster"
	"github.com/louyuan/louyuan/internal/voting"
)

// ProgressCounts must count households and areas exactly on both
// databases, including areas whose binary float forms are inexact.
func TestPetitionProgressCounts(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := seedPlaces(t, db)
		areas := []string{"0.29", "85.20", "123.45", "99999.99", "0.01", "62.35"}
		var rows []roster.ImportRow
		var total louyuan.Area
		for i, a := range areas {
			ar := area(t, a)
			total += ar
			rows = append(rows, roster.ImportRow{Line: i + 2, Building: "1号楼", Unit: "1单元", Room: string(rune('A' + i)), Floor: 1, Area: ar,
				Owners: []roster.OwnerRef{{Name: "业主" + string(rune('A'+i))}}})
		}
		importRows(t, db, p.Courtyard, rows)
		st := NewPetitions(db)
		pt, err := st.CreatePetition(ctx, petition.Petition{CourtyardID: p.Courtyard, ScopeType: voting.ScopeCourtyard, ScopeID: p.Courtyard,
			Title: "加装电梯", Status: petition.StatusOpen, Deadline: time.Now().Add(time.Hour), CreatedBy: "staff:1", CreatedAt: time.Now()})
		must(t, err)
		signedArea := louyuan.Area(0)
		for i, a := range areas[:3] {
			h := householdID(t, db, p.Courtyard, "1号楼", "1单元", string(rune('A'+i)))
			must(t, st.InsertSignature(ctx, petition.Signature{PetitionID: pt.ID, HouseholdID: h, Signer: "user:1", RealName: "张三", Channel: "self", SignedAt: time.Now()}))
			signedArea += area(t, a)
		}
		pr, err := st.ProgressCounts(ctx, pt)
		must(t, err)
		if pr.Households != len(areas) || pr.SignedHouseholds != 3 || pr.Area != total || pr.SignedArea != signedArea {
			t.Fatalf("progress %+v, want %d households (%v m²), 3 signed (%v m²)", pr, len(areas), total, signedArea)
		}
	})
}
