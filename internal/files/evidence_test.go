package files

import (
	"context"
	"strings"
	"testing"

	"github.com/louyuan/louyuan/internal/louyuan"
)

func TestCheckEvidence(t *testing.T) {
	single := Meta{Key: "paper_ballot-1.jpg", Purpose: PurposePaperBallot, CourtyardID: 1}
	sheet := Meta{Key: "paper_sheet-1.jpg", Purpose: PurposePaperSheet, CourtyardID: 1}
	purposes := []Purpose{PurposePaperBallot, PurposePaperSheet}
	use := func(key string, h int64, subject string) EvidenceUse {
		return EvidenceUse{FileKey: key, HouseholdID: h, Subject: subject}
	}
	cases := []struct {
		name     string
		photo    PaperPhoto
		found    bool
		use      EvidenceUse
		code     string // "" = allowed
		recorded bool
		inMsg    string
	}{
		{"unknown photo", PaperPhoto{}, false, use("x.jpg", 1, "motion:1"), "photo_not_found", false, "找不到"},
		{"uploaded without courtyard_id", PaperPhoto{Meta: Meta{Key: "a", Purpose: PurposePaperBallot}}, true, use("a", 1, "motion:1"), "photo_required", false, "courtyard_id"},
		{"another courtyard", PaperPhoto{Meta: Meta{Key: "a", Purpose: PurposePaperBallot, CourtyardID: 2}}, true, use("a", 1, "motion:1"), "photo_other_courtyard", false, "另一个楼院"},
		{"a signature PNG", PaperPhoto{Meta: Meta{Key: "a", Purpose: PurposeSignature, CourtyardID: 1}}, true, use("a", 1, "motion:1"), "photo_wrong_purpose", false, "signature"},
		{"first use of a one-household photo", PaperPhoto{Meta: single}, true, use(single.Key, 1, "motion:1"), "", false, ""},
		{"the same household again (a correction)", PaperPhoto{Meta: single, Uses: []EvidenceUse{use(single.Key, 1, "motion:1")}}, true, use(single.Key, 1, "motion:1"), "", true, ""},
		{"a second household on a one-household photo", PaperPhoto{Meta: single, Uses: []EvidenceUse{use(single.Key, 1, "motion:1")}}, true, use(single.Key, 2, "motion:1"), "photo_reused", false, "paper_sheet"},
		{"the same household in another motion", PaperPhoto{Meta: single, Uses: []EvidenceUse{use(single.Key, 1, "motion:1")}}, true, use(single.Key, 1, "motion:2"), "photo_used_elsewhere", false, "另一项表决"},
		{"a ballot photo reused for a petition", PaperPhoto{Meta: single, Uses: []EvidenceUse{use(single.Key, 1, "motion:1")}}, true, use(single.Key, 1, "petition:4"), "photo_used_elsewhere", false, "表决"},
		{"a listed household on a sheet", PaperPhoto{Meta: sheet, Sheet: []int64{1, 2, 3}, Uses: []EvidenceUse{use(sheet.Key, 1, "motion:1")}}, true, use(sheet.Key, 2, "motion:1"), "", false, ""},
		{"a household the sheet does not list", PaperPhoto{Meta: sheet, Sheet: []int64{1, 2, 3}}, true, use(sheet.Key, 4, "motion:1"), "photo_not_on_sheet", false, "4"},
		{"a sheet in a second motion", PaperPhoto{Meta: sheet, Sheet: []int64{1, 2, 3}, Uses: []EvidenceUse{use(sheet.Key, 1, "motion:1")}}, true, use(sheet.Key, 2, "motion:9"), "photo_used_elsewhere", false, "编号 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recorded, err := CheckEvidence(tc.photo, tc.found, 1, "纸质选票", purposes, tc.use)
			if tc.code == "" {
				if err != nil || recorded != tc.recorded {
					t.Fatalf("err %v recorded %v, want nil %v", err, recorded, tc.recorded)
				}
				return
			}
			var e *louyuan.Error
			if !louyuan.AsError(err, &e) || e.Code != tc.code || !strings.Contains(e.Message, tc.inMsg) {
				t.Fatalf("err %v, want %s mentioning %q", err, tc.code, tc.inMsg)
			}
			if e.Kind != louyuan.KindInvalid && e.Kind != louyuan.KindConflict {
				t.Fatalf("kind %s: bad input must be a 4xx", e.Kind)
			}
		})
	}
}

// fakeEvidence is an EvidenceStore in memory.
type fakeEvidence struct {
	photo PaperPhoto
	added []EvidenceUse
}

func (f *fakeEvidence) PaperPhoto(context.Context, string) (PaperPhoto, bool, error) {
	return f.photo, true, nil
}
func (f *fakeEvidence) AddEvidence(_ context.Context, u EvidenceUse, _ bool) error {
	f.added = append(f.added, u)
	f.photo.Uses = append(f.photo.Uses, u)
	return nil
}

func TestClaimEvidenceRecordsOnce(t *testing.T) {
	st := &fakeEvidence{photo: PaperPhoto{Meta: Meta{Key: "k", Purpose: PurposePaperBallot, CourtyardID: 1}}}
	u := EvidenceUse{FileKey: "k", HouseholdID: 7, Subject: "petition:3"}
	for range 2 {
		if err := ClaimEvidence(context.Background(), st, 1, "纸质签名", []Purpose{PurposePaperBallot}, u); err != nil {
			t.Fatal(err)
		}
	}
	if len(st.added) != 1 {
		t.Fatalf("added %v", st.added)
	}
	u.HouseholdID = 8
	if err := ClaimEvidence(context.Background(), st, 1, "纸质签名", []Purpose{PurposePaperBallot}, u); louyuan.ErrorCode(err) != "photo_reused" {
		t.Fatal(err)
	}
}

func TestSheetHouseholds(t *testing.T) {
	for _, tc := range []struct {
		purpose Purpose
		in      []int64
		code    string
	}{
		{PurposePaperSheet, []int64{3, 1, 2}, ""},
		{PurposePaperSheet, nil, "sheet_households_required"},
		{PurposePaperSheet, []int64{5}, "sheet_households_required"},
		{PurposePaperSheet, []int64{5, 5}, "sheet_households_repeated"},
		{PurposePaperSheet, make([]int64, MaxSheetHouseholds+1), "sheet_households_repeated"},
		{PurposePaperBallot, []int64{1, 2}, "households_not_allowed"},
		{PurposePaperBallot, nil, ""},
	} {
		got, err := sheetHouseholds(tc.purpose, 1, tc.in)
		if louyuan.ErrorCode(err) != tc.code && !(tc.code == "" && err == nil) {
			t.Errorf("%s %v: err %v, want %q", tc.purpose, tc.in, err, tc.code)
		}
		if tc.code == "" && tc.purpose == PurposePaperSheet && (len(got) != 3 || got[0] != 1 || got[2] != 3) {
			t.Errorf("sorted %v", got)
		}
	}
	many := make([]int64, MaxSheetHouseholds+1)
	for i := range many {
		many[i] = int64(i + 1)
	}
	if _, err := sheetHouseholds(PurposePaperSheet, 1, many); louyuan.ErrorCode(err) != "sheet_too_many_households" {
		t.Fatal(err)
	}
}
