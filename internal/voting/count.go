// Package voting owns motions, the electorate snapshot, ballots, proxies and
// the counting rules of PRC Civil Code art. 278 (SPEC §4, §5). Counting is a
// set of pure functions over exact rationals: no floating point anywhere.
package voting

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// RuleKind names a counting rule.
type RuleKind string

// The counting rules.
const (
	RuleOrdinary RuleKind = "ordinary" // 一般事项
	RuleMajor    RuleKind = "major"    // 重大事项
	RuleCustom   RuleKind = "custom"
	RuleElection RuleKind = "election"
)

// Threshold is a fraction that a share must reach. Inclusive thresholds
// ("三分之二以上", "四分之三以上") are met by the fraction itself (Civil Code
// art. 1259); strict ones ("过半数") only by more than it.
type Threshold struct {
	Num    int64 `json:"num"`
	Den    int64 `json:"den"`
	Strict bool  `json:"strict"`
}

// Rat is the threshold as a rational.
func (t Threshold) Rat() *big.Rat { return big.NewRat(t.Num, t.Den) }

// Met reports whether part/whole meets t. An empty whole meets nothing.
func (t Threshold) Met(part, whole *big.Rat) bool {
	if whole.Sign() <= 0 {
		return false
	}
	share := new(big.Rat).Quo(part, whole)
	c := share.Cmp(t.Rat())
	return c > 0 || (c == 0 && !t.Strict)
}

// Valid reports whether t is a fraction in (0, 1].
func (t Threshold) Valid() bool { return t.Den > 0 && t.Num > 0 && t.Num <= t.Den }

func (t Threshold) String() string {
	if t.Strict {
		return fmt.Sprintf("> %d/%d", t.Num, t.Den)
	}
	return fmt.Sprintf("≥ %d/%d", t.Num, t.Den)
}

// Rule is a complete counting rule: who must take part, and who must agree
// among those who took part, each by area and by headcount.
type Rule struct {
	Kind              RuleKind  `json:"kind"`
	ParticipationArea Threshold `json:"participation_area"`
	ParticipationHead Threshold `json:"participation_head"`
	ApprovalArea      Threshold `json:"approval_area"`
	ApprovalHead      Threshold `json:"approval_head"`
	Seats             int       `json:"seats,omitempty"` // elections: how many are elected
}

var (
	twoThirds    = Threshold{Num: 2, Den: 3}
	moreThanHalf = Threshold{Num: 1, Den: 2, Strict: true}
	threeFourths = Threshold{Num: 3, Den: 4}
)

// OrdinaryRule is 一般事项: ≥2/3 of area and headcount take part; more than
// half of the participating area and headcount agree.
func OrdinaryRule() Rule {
	return Rule{Kind: RuleOrdinary, ParticipationArea: twoThirds, ParticipationHead: twoThirds, ApprovalArea: moreThanHalf, ApprovalHead: moreThanHalf}
}

// MajorRule is 重大事项 (maintenance funds, rebuilding, changing the use of
// common parts such as an elevator retrofit): ≥2/3 take part; ≥3/4 of the
// participating area and headcount agree.
func MajorRule() Rule {
	return Rule{Kind: RuleMajor, ParticipationArea: twoThirds, ParticipationHead: twoThirds, ApprovalArea: threeFourths, ApprovalHead: threeFourths}
}

// ElectionRule elects the top seats candidates by headcount among
// households that take part as in an ordinary matter.
func ElectionRule(seats int) Rule {
	r := OrdinaryRule()
	r.Kind, r.Seats = RuleElection, seats
	return r
}

// Validate checks a rule, e.g. one configured as custom.
func (r Rule) Validate() error {
	for _, t := range []Threshold{r.ParticipationArea, r.ParticipationHead, r.ApprovalArea, r.ApprovalHead} {
		if !t.Valid() {
			return louyuan.Invalid("bad_threshold", "表决比例必须是0到1之间的分数")
		}
	}
	if r.Kind == RuleElection && r.Seats < 1 {
		return louyuan.Invalid("bad_seats", "选举的应选人数至少为1")
	}
	return nil
}

// The options of a decision.
const (
	OptionAgree   = "agree"   // 同意
	OptionOppose  = "oppose"  // 反对
	OptionAbstain = "abstain" // 弃权
)

// Voter is one household of the electorate snapshot. Group identifies the
// owner: households that share an owner share a group and count as one head
// (the judicial interpretation of art. 278: one owner of several units
// counts once).
type Voter struct {
	HouseholdID int64
	Group       int64
	Area        louyuan.Area
}

// Vote is the counted choice of one household: one option for a decision,
// up to Seats candidates for an election.
type Vote struct {
	HouseholdID int64
	Options     []string
}

// OptionCount is the support of one option.
type OptionCount struct {
	Option     string       `json:"option"`
	Households int          `json:"households"`
	Area       louyuan.Area `json:"area"`
	Head       *big.Rat     `json:"head"`
}

// Needed says how many more households (each of an owner not yet counted)
// or how much more area would meet a threshold if they all voted the
// helpful way; Reachable is false when the rest of the electorate is not
// enough.
type Needed struct {
	Met        bool         `json:"met"`
	Households int64        `json:"households"`
	Area       louyuan.Area `json:"area"`
	Reachable  bool         `json:"reachable"`
}

// Totals are the sums a tally is judged on: the electorate, those who
// voted, and the support of each option. Live tallies keep Totals up to
// date ballot by ballot; Count computes them from scratch.
type Totals struct {
	ElectorateHouses int           `json:"electorate_households"`
	ElectorateHeads  int64         `json:"electorate_heads"`
	ElectorateArea   louyuan.Area  `json:"electorate_area"`
	VotedHouses      int           `json:"voted_households"`
	VotedHeads       int64         `json:"voted_heads"`
	VotedArea        louyuan.Area  `json:"voted_area"`
	Options          []OptionCount `json:"options"`
	SplitOwners      []int64       `json:"split_owners,omitempty"` // owners whose households chose differently
}

// Tally is the count of a motion at one moment: the totals and what they
// mean under the motion's rule.
type Tally struct {
	Rule RuleKind `json:"rule"`
	Totals
	ParticipationArea Needed   `json:"participation_area"`
	ParticipationHead Needed   `json:"participation_head"`
	ApprovalArea      Needed   `json:"approval_area"`
	ApprovalHead      Needed   `json:"approval_head"`
	Passed            bool     `json:"passed"`
	Elected           []string `json:"elected,omitempty"`
	TieAtLastSeat     []string `json:"tie_at_last_seat,omitempty"`
	// Stamp identifies one computation of a live tally (0 when not
	// cached): equal stamps mean an identical tally, so callers may reuse
	// what they rendered from it.
	Stamp uint64 `json:"-"`
}

// Count computes the tally of votes over the electorate under rule.
func Count(rule Rule, electorate []Voter, options []string, votes []Vote) Tally {
	return Evaluate(rule, Sum(electorate, options, votes))
}

// Sum adds up votes over the electorate. Votes of households outside the
// electorate, a household's second vote (even when its first had no valid
// option), a household listed twice in the electorate, and options outside
// options are ignored. A household's head weight is its owner's one head shared
// equally among that owner's households that voted, so that an owner of
// three households who voted with all three counts once.
func Sum(electorate []Voter, options []string, votes []Vote) Totals {
	t := Totals{ElectorateHouses: len(electorate)}
	byHouse := make(map[int64]Voter, len(electorate))
	groups := map[int64]bool{}
	for _, v := range electorate {
		if _, dup := byHouse[v.HouseholdID]; dup {
			continue
		}
		byHouse[v.HouseholdID] = v
		groups[v.Group] = true
		t.ElectorateArea += v.Area
	}
	t.ElectorateHouses = len(byHouse)
	t.ElectorateHeads = int64(len(groups))

	valid := map[string]bool{}
	var opts []string
	for _, o := range options {
		if !valid[o] {
			valid[o] = true
			opts = append(opts, o)
		}
	}
	options = opts
	// The counted votes, one per household in the electorate.
	counted := map[int64][]string{}
	seenVote := map[int64]bool{}
	votersOfGroup := map[int64]int64{}
	for _, v := range votes {
		voter, ok := byHouse[v.HouseholdID]
		if !ok || seenVote[v.HouseholdID] {
			continue
		}
		seenVote[v.HouseholdID] = true
		var chosen []string
		seen := map[string]bool{}
		for _, o := range v.Options {
			if valid[o] && !seen[o] {
				chosen = append(chosen, o)
				seen[o] = true
			}
		}
		if len(chosen) == 0 {
			continue
		}
		counted[v.HouseholdID] = chosen
		votersOfGroup[voter.Group]++
		t.VotedArea += voter.Area
	}
	t.VotedHouses = len(counted)
	t.VotedHeads = int64(len(votersOfGroup))

	perOption := map[string]*OptionCount{}
	for _, o := range options {
		perOption[o] = &OptionCount{Option: o, Head: new(big.Rat)}
	}
	groupChoice := map[int64]string{}
	split := map[int64]bool{}
	for hid, chosen := range counted {
		voter := byHouse[hid]
		weight := big.NewRat(1, votersOfGroup[voter.Group])
		for _, o := range chosen {
			oc := perOption[o]
			oc.Households++
			oc.Area += voter.Area
			oc.Head.Add(oc.Head, weight)
		}
		key := choiceKey(chosen)
		if prev, ok := groupChoice[voter.Group]; ok && prev != key {
			split[voter.Group] = true
		}
		groupChoice[voter.Group] = key
	}
	for _, o := range options {
		t.Options = append(t.Options, *perOption[o])
	}
	for g := range split {
		t.SplitOwners = append(t.SplitOwners, g)
	}
	sort.Slice(t.SplitOwners, func(i, j int) bool { return t.SplitOwners[i] < t.SplitOwners[j] })
	return t
}

// Evaluate judges totals under rule: which thresholds are met, what is
// still needed, and whether the motion passes (or who is elected).
func Evaluate(rule Rule, totals Totals) Tally {
	t := Tally{Rule: rule.Kind, Totals: totals}
	votedArea, votedHeads := areaRat(t.VotedArea), big.NewRat(t.VotedHeads, 1)
	t.ParticipationArea = neededParticipationArea(rule.ParticipationArea, t.VotedArea, t.ElectorateArea)
	t.ParticipationHead = neededParticipationHead(rule.ParticipationHead, t.VotedHeads, t.ElectorateHeads)

	if rule.Kind == RuleElection {
		t.Elected, t.TieAtLastSeat = elect(t.Options, rule.Seats)
		t.Passed = t.ParticipationArea.Met && t.ParticipationHead.Met && len(t.TieAtLastSeat) == 0
		return t
	}
	agree := &OptionCount{Head: new(big.Rat)}
	for i := range t.Options {
		if t.Options[i].Option == OptionAgree {
			agree = &t.Options[i]
		}
	}
	remainingArea := t.ElectorateArea - t.VotedArea
	remainingHeads := t.ElectorateHeads - t.VotedHeads
	t.ApprovalArea = neededApproval(rule.ApprovalArea, areaRat(agree.Area), votedArea, remainingArea)
	t.ApprovalHead = neededApprovalHeads(rule.ApprovalHead, agree.Head, votedHeads, remainingHeads)
	t.Passed = t.ParticipationArea.Met && t.ParticipationHead.Met && t.ApprovalArea.Met && t.ApprovalHead.Met
	return t
}

// choiceKey identifies a set of options whatever their order.
func choiceKey(options []string) string {
	s := append([]string(nil), options...)
	sort.Strings(s)
	b, _ := json.Marshal(s)
	return string(b)
}

func areaRat(a louyuan.Area) *big.Rat { return big.NewRat(int64(a), 1) }

// smallestK returns the least integer k ≥ 0 for which (a + k) / (b + g·k)
// meets th, where g is 0 (the whole does not grow: participation) or 1
// (every added voter joins the whole too: approval). ok is false when no
// k ≤ limit does.
func smallestK(th Threshold, a, b *big.Rat, grows bool, limit *big.Rat) (*big.Rat, bool) {
	meets := func(k *big.Rat) bool {
		part := new(big.Rat).Add(a, k)
		whole := new(big.Rat).Set(b)
		if grows {
			whole.Add(whole, k)
		}
		return th.Met(part, whole)
	}
	zero := new(big.Rat)
	if meets(zero) {
		return zero, true
	}
	// Solve (a + k)·den = num·(b + g·k) for k, then step to the integer
	// that meets the threshold.
	num, den := big.NewRat(th.Num, 1), big.NewRat(th.Den, 1)
	lhs := new(big.Rat).Sub(new(big.Rat).Mul(num, b), new(big.Rat).Mul(a, den)) // num·b − a·den
	coef := new(big.Rat).Set(den)                                               // den − g·num
	if grows {
		coef.Sub(coef, num)
	}
	if coef.Sign() <= 0 {
		// Unanimity (num = den) with a growing whole: only reachable if
		// already met.
		return nil, false
	}
	k := ceilRat(new(big.Rat).Quo(lhs, coef))
	if !meets(k) {
		k.Add(k, big.NewRat(1, 1))
	}
	if k.Sign() < 0 {
		k = zero
	}
	return k, k.Cmp(limit) <= 0
}

func ceilRat(x *big.Rat) *big.Rat {
	q, m := new(big.Int).DivMod(x.Num(), x.Denom(), new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return new(big.Rat).SetInt(q)
}

func neededParticipationArea(th Threshold, voted, total louyuan.Area) Needed {
	k, ok := smallestK(th, areaRat(voted), areaRat(total), false, areaRat(total-voted))
	return needed(th.Met(areaRat(voted), areaRat(total)), k, ok, true)
}

func neededParticipationHead(th Threshold, voted, total int64) Needed {
	k, ok := smallestK(th, big.NewRat(voted, 1), big.NewRat(total, 1), false, big.NewRat(total-voted, 1))
	return needed(th.Met(big.NewRat(voted, 1), big.NewRat(total, 1)), k, ok, false)
}

func neededApproval(th Threshold, agree, voted *big.Rat, remaining louyuan.Area) Needed {
	k, ok := smallestK(th, agree, voted, true, areaRat(remaining))
	return needed(th.Met(agree, voted), k, ok, true)
}

func neededApprovalHeads(th Threshold, agree, voted *big.Rat, remaining int64) Needed {
	k, ok := smallestK(th, agree, voted, true, big.NewRat(remaining, 1))
	return needed(th.Met(agree, voted), k, ok, false)
}

func needed(met bool, k *big.Rat, ok bool, isArea bool) Needed {
	n := Needed{Met: met, Reachable: met || ok}
	if met || k == nil {
		return n
	}
	v := k.Num().Int64() // k is an integer here
	if isArea {
		n.Area = louyuan.Area(v)
	} else {
		n.Households = v
	}
	return n
}

// elect ranks candidates by headcount and returns the first seats (area
// only orders the list); when candidates tie by headcount across the last
// seat, all of them are reported so that staff run the tie-break the rules
// prescribe, and the election is not decided.
func elect(options []OptionCount, seats int) (elected, tie []string) {
	ranked := append([]OptionCount(nil), options...)
	sort.SliceStable(ranked, func(i, j int) bool {
		if c := ranked[i].Head.Cmp(ranked[j].Head); c != 0 {
			return c > 0
		}
		return ranked[i].Area > ranked[j].Area
	})
	if seats > len(ranked) {
		seats = len(ranked)
	}
	for _, o := range ranked[:seats] {
		if o.Head.Sign() > 0 {
			elected = append(elected, o.Option)
		}
	}
	if seats == 0 || seats >= len(ranked) || ranked[seats-1].Head.Sign() == 0 {
		return elected, nil
	}
	last := ranked[seats-1]
	if ranked[seats].Head.Cmp(last.Head) == 0 {
		// Only those above the tie are elected; the tied share the rest.
		elected = elected[:0]
		for _, o := range ranked {
			switch o.Head.Cmp(last.Head) {
			case 1:
				elected = append(elected, o.Option)
			case 0:
				tie = append(tie, o.Option)
			}
		}
	}
	return elected, tie
}
