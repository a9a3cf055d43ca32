package voting

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// fuzzElection turns fuzz bytes into an electorate of up to 40 households
// (owners shared between some of them, areas up to 300 m²) and at most one
// vote per household: byte i describes household i.
func fuzzElection(data []byte) ([]Voter, []Vote) {
	if len(data) > 40*3 {
		data = data[:40*3]
	}
	var electorate []Voter
	var votes []Vote
	options := []string{OptionAgree, OptionOppose, OptionAbstain, "bogus"}
	for i := 0; i+2 < len(data); i += 3 {
		h := int64(i/3 + 1)
		group := h
		// A low byte shares the owner of an earlier household.
		if data[i]%4 == 0 && h > 1 {
			group = int64(data[i])%(h-1) + 1
			group = electorate[group-1].Group
		}
		area := louyuan.Area(int64(data[i+1])*117 + int64(data[i+2])) // up to ~300 m² in hundredths
		electorate = append(electorate, Voter{HouseholdID: h, Group: group, Area: area})
		switch c := data[i+2] % 6; {
		case c < 4:
			votes = append(votes, Vote{HouseholdID: h, Options: []string{options[c]}})
		case c == 4:
			votes = append(votes, Vote{HouseholdID: h + 1000}) // outside the electorate
		}
	}
	return electorate, votes
}

// FuzzCount holds the counting rules to their invariants on any electorate
// and votes: participation never above the whole, approval never above
// participation, the count independent of the order of the ballots, an
// owner of several units one head, whatever the rule.
func FuzzCount(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0})
	f.Add([]byte{4, 200, 1, 8, 200, 1, 12, 200, 1, 16, 10, 2, 3, 3, 3})
	f.Add([]byte{0, 0, 0, 0, 0, 0})
	f.Add([]byte{255, 255, 255, 4, 255, 255, 8, 255, 254})
	f.Fuzz(func(t *testing.T, data []byte) {
		electorate, votes := fuzzElection(data)
		options := []string{OptionAgree, OptionOppose, OptionAbstain}
		groups := map[int64]bool{}
		var total louyuan.Area
		for _, v := range electorate {
			groups[v.Group] = true
			total += v.Area
		}
		for _, rule := range []Rule{OrdinaryRule(), MajorRule()} {
			tl := Count(rule, electorate, options, votes)
			if tl.ElectorateHeads != int64(len(groups)) {
				t.Fatalf("electorate heads %d, want %d owners (an owner of several units is one head)", tl.ElectorateHeads, len(groups))
			}
			if tl.ElectorateArea != total || tl.ElectorateHouses != len(electorate) {
				t.Fatalf("electorate %d households %v m², want %d %v", tl.ElectorateHouses, tl.ElectorateArea, len(electorate), total)
			}
			if tl.VotedHouses > tl.ElectorateHouses || tl.VotedArea > tl.ElectorateArea || tl.VotedHeads > tl.ElectorateHeads || tl.VotedArea < 0 {
				t.Fatalf("participation above 1: %+v", tl.Totals)
			}
			votedHeads := new(big.Rat)
			for _, o := range tl.Options {
				if o.Households > tl.VotedHouses || o.Area > tl.VotedArea || o.Head.Cmp(big.NewRat(tl.VotedHeads, 1)) > 0 || o.Head.Sign() < 0 {
					t.Fatalf("option %s above participation: %+v of %+v", o.Option, o, tl.Totals)
				}
				votedHeads.Add(votedHeads, o.Head)
			}
			// One option each: the options' heads add up to the heads that took part.
			if votedHeads.Cmp(big.NewRat(tl.VotedHeads, 1)) != 0 {
				t.Fatalf("options' heads add up to %s, %d took part", votedHeads.RatString(), tl.VotedHeads)
			}
			if tl.Passed && (!tl.ParticipationArea.Met || !tl.ParticipationHead.Met || !tl.ApprovalArea.Met || !tl.ApprovalHead.Met) {
				t.Fatalf("passed without every threshold: %+v", tl)
			}
			// Any order of the ballots gives the same count.
			rng := rand.New(rand.NewPCG(uint64(len(data)), 7))
			for range 3 {
				shuffled := append([]Vote(nil), votes...)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				el := append([]Voter(nil), electorate...)
				rng.Shuffle(len(el), func(i, j int) { el[i], el[j] = el[j], el[i] })
				again := Count(rule, el, options, shuffled)
				if !sameTally(tl, again) {
					t.Fatalf("the order of the ballots changed the count:\n%+v\n%+v", tl, again)
				}
			}
		}
	})
}

func sameTally(a, b Tally) bool {
	a.Stamp, b.Stamp = 0, 0
	return fmt.Sprint(a) == fmt.Sprint(b) && reflect.DeepEqual(a.SplitOwners == nil, b.SplitOwners == nil)
}
