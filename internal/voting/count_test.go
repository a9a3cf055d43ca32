package voting

import (
	"math/big"
	"testing"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// houses makes n single-owner households of the given areas (in m²·100).
func houses(areas ...int64) []Voter {
	vs := make([]Voter, len(areas))
	for i, a := range areas {
		vs[i] = Voter{HouseholdID: int64(i + 1), Group: int64(i + 1), Area: louyuan.Area(a)}
	}
	return vs
}

func equal(n int) []Voter {
	a := make([]int64, n)
	for i := range a {
		a[i] = 10000
	}
	return houses(a...)
}

// votes gives households 1..len(opts) the options in order ("" = no vote).
func votes(opts ...string) []Vote {
	var vs []Vote
	for i, o := range opts {
		if o != "" {
			vs = append(vs, Vote{HouseholdID: int64(i + 1), Options: []string{o}})
		}
	}
	return vs
}

var decision = []string{OptionAgree, OptionOppose, OptionAbstain}

const (
	A = OptionAgree
	O = OptionOppose
	X = OptionAbstain
)

func TestCountBoundaries(t *testing.T) {
	cases := []struct {
		name                       string
		rule                       Rule
		electorate                 []Voter
		votes                      []Vote
		partArea, partHead         bool
		apprArea, apprHead, passed bool
	}{
		{"exactly 2/3 take part passes participation", OrdinaryRule(), equal(3), votes(A, A, ""), true, true, true, true, true},
		{"just below 2/3 fails participation", OrdinaryRule(), equal(100), votes(append(repeat(A, 66), repeat("", 34)...)...), false, false, true, true, false},
		{"exactly 1/2 agree fails more-than-half", OrdinaryRule(), equal(4), votes(A, A, O, O), true, true, false, false, false},
		{"just over 1/2 agree passes", OrdinaryRule(), equal(5), votes(A, A, A, O, O), true, true, true, true, true},
		{"major: exactly 3/4 agree passes", MajorRule(), equal(4), votes(A, A, A, O), true, true, true, true, true},
		{"major: just below 3/4 fails", MajorRule(), equal(100), votes(append(repeat(A, 74), repeat(O, 26)...)...), true, true, false, false, false},
		{"abstention counts for participation only", OrdinaryRule(), equal(3), votes(A, X, ""), true, true, false, false, false},
		{"abstentions can block approval", MajorRule(), equal(4), votes(A, A, X, X), true, true, false, false, false},
		// Area passes, headcount fails: two big flats agree, three small oppose.
		{"area passes but headcount fails", OrdinaryRule(), houses(50000, 50000, 1000, 1000, 1000), votes(A, A, O, O, O), true, true, true, false, false},
		// Headcount passes, area fails: three small flats agree, two big oppose.
		{"headcount passes but area fails", OrdinaryRule(), houses(1000, 1000, 1000, 50000, 50000), votes(A, A, A, O, O), true, true, false, true, false},
		{"empty electorate passes nothing", OrdinaryRule(), nil, nil, false, false, false, false, false},
		{"non-voters never agree", OrdinaryRule(), equal(6), votes(A, A, O, O, "", ""), true, true, false, false, false},
	}
	for _, c := range cases {
		tl := Count(c.rule, c.electorate, decision, c.votes)
		got := [5]bool{tl.ParticipationArea.Met, tl.ParticipationHead.Met, tl.ApprovalArea.Met, tl.ApprovalHead.Met, tl.Passed}
		want := [5]bool{c.partArea, c.partHead, c.apprArea, c.apprHead, c.passed}
		if got != want {
			t.Errorf("%s: got partArea,partHead,apprArea,apprHead,passed = %v, want %v", c.name, got, want)
		}
	}
}

func repeat(o string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = o
	}
	return out
}

func TestOwnerOfSeveralHouseholdsCountsOnce(t *testing.T) {
	// Households 1–3 belong to one owner; 4 and 5 to two others.
	e := []Voter{{1, 7, 10000}, {2, 7, 10000}, {3, 7, 10000}, {4, 8, 10000}, {5, 9, 10000}}
	tl := Count(OrdinaryRule(), e, decision, votes(A, A, A, O, ""))
	if tl.ElectorateHeads != 3 || tl.ElectorateHouses != 5 {
		t.Fatalf("electorate heads %d households %d, want 3 and 5", tl.ElectorateHeads, tl.ElectorateHouses)
	}
	if tl.VotedHeads != 2 {
		t.Fatalf("voted heads %d, want 2", tl.VotedHeads)
	}
	agree := tl.Options[0]
	if agree.Head.Cmp(big.NewRat(1, 1)) != 0 || agree.Households != 3 || agree.Area != 30000 {
		t.Fatalf("agree = %+v, want 1 head, 3 households, 300.00 m²", agree)
	}
	// Heads: 1 of 2 agree is exactly half: fails; area 300 of 400 passes.
	if tl.ApprovalHead.Met || !tl.ApprovalArea.Met || tl.Passed {
		t.Fatalf("approval head met=%v area met=%v passed=%v", tl.ApprovalHead.Met, tl.ApprovalArea.Met, tl.Passed)
	}
	// The same owner voting two ways is split evenly and flagged.
	tl = Count(OrdinaryRule(), e, decision, votes(A, O, "", O, ""))
	if len(tl.SplitOwners) != 1 || tl.SplitOwners[0] != 7 {
		t.Fatalf("split owners %v, want [7]", tl.SplitOwners)
	}
	if h := tl.Options[0].Head; h.Cmp(big.NewRat(1, 2)) != 0 {
		t.Fatalf("agree head %v, want 1/2", h)
	}
	if h := tl.Options[1].Head; h.Cmp(big.NewRat(3, 2)) != 0 {
		t.Fatalf("oppose head %v, want 3/2", h)
	}
}

func TestNeeded(t *testing.T) {
	// 9 households of 100 m², 5 voted (all agree): 6 are needed for 2/3.
	tl := Count(OrdinaryRule(), equal(9), decision, votes(A, A, A, A, A))
	if tl.ParticipationHead.Met || tl.ParticipationHead.Households != 1 || !tl.ParticipationHead.Reachable {
		t.Fatalf("participation head %+v, want 1 more household", tl.ParticipationHead)
	}
	if tl.ParticipationArea.Area != 10000 {
		t.Fatalf("participation area needs %v, want 100.00", tl.ParticipationArea.Area)
	}
	// 4 voted: 2 agree, 2 oppose, among 10: need 1 more agreeing household to exceed half.
	tl = Count(OrdinaryRule(), equal(10), decision, votes(A, A, O, O))
	if tl.ApprovalHead.Households != 1 || tl.ApprovalArea.Area != 1 {
		t.Fatalf("approval needs %+v / %+v, want 1 household and 0.01 m²", tl.ApprovalHead, tl.ApprovalArea)
	}
	// Major: 1 agree, 3 oppose among 5: (1+k)/(4+k) ≥ 3/4 needs k = 8 > 1 left: unreachable.
	tl = Count(MajorRule(), equal(5), decision, votes(A, O, O, O))
	if tl.ApprovalHead.Reachable || tl.ApprovalHead.Met {
		t.Fatalf("approval head %+v should be unreachable", tl.ApprovalHead)
	}
	// Already met: nothing needed.
	tl = Count(OrdinaryRule(), equal(3), decision, votes(A, A, A))
	if !tl.ParticipationHead.Met || tl.ParticipationHead.Households != 0 || !tl.Passed {
		t.Fatalf("all agree: %+v", tl)
	}
}

func TestElection(t *testing.T) {
	cands := []string{"c1", "c2", "c3", "c4"}
	e := equal(6)
	vs := []Vote{
		{1, []string{"c1", "c2"}}, {2, []string{"c1", "c3"}}, {3, []string{"c1", "c2"}},
		{4, []string{"c2", "c4"}}, {5, []string{"c3"}},
	}
	tl := Count(ElectionRule(2), e, cands, vs)
	if len(tl.Elected) != 2 || tl.Elected[0] != "c1" || tl.Elected[1] != "c2" || len(tl.TieAtLastSeat) != 0 || !tl.Passed {
		t.Fatalf("elected %v tie %v passed %v", tl.Elected, tl.TieAtLastSeat, tl.Passed)
	}
	// c2 and c3 tie for the second seat.
	vs[2].Options = []string{"c1"}
	tl = Count(ElectionRule(2), e, cands, vs)
	if len(tl.TieAtLastSeat) != 2 || tl.Passed || len(tl.Elected) != 1 || tl.Elected[0] != "c1" {
		t.Fatalf("elected %v tie %v passed %v, want c1 elected, c2 and c3 tied, nothing decided", tl.Elected, tl.TieAtLastSeat, tl.Passed)
	}
}

func TestCountIgnoresStrangers(t *testing.T) {
	tl := Count(OrdinaryRule(), equal(3), decision, []Vote{{99, []string{A}}, {1, []string{"bogus"}}, {1, []string{O}}, {2, []string{A}}, {2, []string{O}}})
	if tl.VotedHouses != 1 || tl.Options[0].Households != 1 || tl.Options[1].Households != 0 {
		t.Fatalf("tally %+v: only household 2's first vote counts", tl)
	}
	// A household listed twice and an option listed twice count once.
	e := append(equal(2), equal(1)...)
	tl = Count(OrdinaryRule(), e, []string{A, A, O}, votes(A, O))
	if tl.ElectorateHouses != 2 || tl.ElectorateArea != 20000 || len(tl.Options) != 2 {
		t.Fatalf("duplicates counted twice: %+v", tl.Totals)
	}
	// The same options in another order are the same choice: no split.
	grp := []Voter{{1, 5, 100}, {2, 5, 100}}
	tl = Count(ElectionRule(2), grp, []string{"x", "y"}, []Vote{{1, []string{"x", "y"}}, {2, []string{"y", "x"}}})
	if len(tl.SplitOwners) != 0 {
		t.Fatalf("same choice in another order reported as split: %v", tl.SplitOwners)
	}
}
