package council

import (
	"slices"
	"testing"

	"github.com/louyuan/louyuan/internal/louyuan"
)

func TestChecklistFeesOffByDefault(t *testing.T) {
	codes := func(cs []Criterion) (on []string) {
		for _, c := range cs {
			if c.Enabled {
				on = append(on, c.Code)
			}
		}
		return on
	}
	def := Checklist(DefaultCriteria(), nil)
	if slices.Contains(codes(def), CriterionOwesFees) {
		t.Errorf("owes_fees is on by default: %v", codes(def))
	}
	if got := codes(Checklist(DefaultCriteria(), map[string]bool{CriterionOwesFees: true})); !slices.Contains(got, CriterionOwesFees) || len(got) != 7 {
		t.Errorf("switched on: %v", got)
	}
	if got := codes(Checklist(DefaultCriteria(), map[string]bool{"cult": false})); slices.Contains(got, "cult") || len(got) != 5 {
		t.Errorf("cult switched off: %v", got)
	}
	if err := ValidCriteria(DefaultCriteria()); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	if err := ValidCriteria([]Criterion{{Code: "x", Kind: "maybe", Label: "x", LegalBasis: "y"}}); err == nil {
		t.Error("a criterion of unknown kind passed")
	}
}

func TestEligibility(t *testing.T) {
	list := []Criterion{{Code: "a", Enabled: true}, {Code: "b", Enabled: true}, {Code: "off", Enabled: false}}
	pass := func(c string) Finding { return Finding{Criterion: c, Pass: true} }
	fail := func(c string) Finding { return Finding{Criterion: c, Pass: false} }
	for _, tc := range []struct {
		name     string
		findings []Finding
		want     string
		missing  int
	}{
		{"nothing found", nil, Pending, 2},
		{"one found", []Finding{pass("a")}, Pending, 1},
		{"all pass", []Finding{pass("a"), pass("b")}, Eligible, 0},
		{"a failure decides before the rest", []Finding{fail("a")}, Ineligible, 1},
		{"a failure among passes", []Finding{pass("a"), fail("b")}, Ineligible, 0},
		{"a failure on a switched-off criterion does not count", []Finding{pass("a"), pass("b"), fail("off")}, Eligible, 0},
	} {
		got, missing := Eligibility(list, tc.findings)
		if got != tc.want || len(missing) != tc.missing {
			t.Errorf("%s: got %s with %d to check, want %s with %d", tc.name, got, len(missing), tc.want, tc.missing)
		}
	}
}

func TestNominatorAndAppealRules(t *testing.T) {
	for _, tc := range []struct {
		name         string
		all, inScope []int64
		code         string
	}{
		{"tenant or outsider: represents nothing", nil, nil, "nominator_not_representative"},
		{"representative elsewhere", []int64{7}, nil, "nominator_outside_unit"},
		{"representative in the unit", []int64{7, 9}, []int64{9}, ""},
	} {
		err := checkNominator(tc.all, tc.inScope)
		if louyuan.ErrorCode(err) != tc.code && !(tc.code == "" && err == nil) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.code)
		}
	}
	fs := []Finding{{Criterion: "a", Pass: false, FoundBy: "staff:1", UpdatedBy: "staff:1"}, {Criterion: "b", Pass: true, FoundBy: "staff:2", UpdatedBy: "staff:2"}}
	if louyuan.ErrorCode(appealDecider("staff:1", fs)) != "appeal_same_staff" {
		t.Error("the first finder decided the appeal")
	}
	if err := appealDecider("staff:2", fs); err != nil {
		t.Errorf("a staff member who found only a pass may decide: %v", err)
	}
	if err := appealDecider("staff:3", fs); err != nil {
		t.Errorf("another staff member may decide: %v", err)
	}
}
