package voting

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/big"
	"strings"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// What a threshold is measured in and against.
const (
	MeasureArea  = "area"  // exclusive floor area (专有面积)
	MeasureHeads = "heads" // owners (业主人数; one owner of several units is one)

	BaseElectorate   = "electorate"   // everyone in the motion's scope (全体)
	BaseParticipants = "participants" // those who took part (参与表决的)
)

// Keys of the four thresholds of a rule.
const (
	KeyParticipationArea = "participation_area"
	KeyParticipationHead = "participation_head"
	KeyApprovalArea      = "approval_area"
	KeyApprovalHead      = "approval_head"
)

// Figures are households, heads and area of a group of households.
type Figures struct {
	Households int
	Heads      int64
	Area       louyuan.Area
}

// ThresholdView is one threshold of a rule as it may be shown: what it is
// measured in (Measure) and against (Base), whether it holds, and what is
// still needed — in households for a headcount threshold, in m² for an area
// threshold, never both. Withheld is set while a secret ballot is open: the
// approval thresholds then show nothing but their rule.
type ThresholdView struct {
	Key       string
	Label     string
	Measure   string
	Base      string
	Threshold Threshold
	Withheld  bool
	// OutcomeOnly is set after a secret ballot closed: Met is disclosed,
	// how far the figures were from the threshold is not.
	OutcomeOnly bool
	Met         bool
	Reachable   bool
	// NeededHouseholds (heads) or NeededArea (area) is how much more would
	// meet the threshold; nil when met, unreachable or not disclosed.
	NeededHouseholds *int64
	NeededArea       *louyuan.Area
	// Summary says all of the above in one Chinese sentence.
	Summary string
}

// ShareBand is a share of the participating area known only to lie between
// From and To (each end included or not).
type ShareBand struct {
	From, To         *big.Rat
	FromIncl, ToIncl bool
}

// OptionView is one option of a tally as it may be shown. A named ballot
// shows everything; a closed secret ballot shows the heads, and for the
// option an approval threshold is measured on (agree) the area only as a
// ShareBand; nothing else.
type OptionView struct {
	Option     string
	Households *int
	Heads      *big.Rat
	Area       *louyuan.Area
	AreaShare  *ShareBand
}

// Disclosure is what anyone allowed to see a motion may see of its tally
// ("The rules" in the README). A named ballot discloses the whole tally. A secret ballot
// discloses, while it is open, participation only (Options nil, approval
// withheld, Passed nil); after the close, per option the heads, whether
// each threshold holds (decided on the exact figures), and the agreeing
// area as the band between the rule's approval threshold and 0 or 1 that
// holds it — the coarsest share that still lets a reader check the
// threshold. The exact figures of a secret ballot stay in the database,
// read only by the audited operator command (see Service.Unseal).
type Disclosure struct {
	Rule          RuleKind
	Mode          string
	Sealed        bool // a secret ballot: per-option figures withheld or coarsened
	Electorate    Figures
	Voted         Figures
	Thresholds    []ThresholdView
	Options       []OptionView // nil while a secret ballot is open
	Passed        *bool        // nil while a secret ballot is open
	Elected       []string
	TieAtLastSeat []string
	SplitOwners   *int // owners whose households chose differently; named ballots only
	// Stamp changes when, and only when, what is disclosed changes; 0 when
	// the tally was not cached.
	Stamp uint64
}

// Threshold returns the view of the threshold with key, if the rule has it.
func (d Disclosure) Threshold(key string) (ThresholdView, bool) {
	for _, t := range d.Thresholds {
		if t.Key == key {
			return t, true
		}
	}
	return ThresholdView{}, false
}

// secretOpen reports whether m is a secret ballot whose per-option figures
// may not be shown yet: before and during voting (and if cancelled).
func secretOpen(m Motion) bool {
	return m.Mode == ModeSecret && m.Status != StatusObjection && m.Status != StatusFinal
}

// Disclose turns a tally into what may be shown of it under the motion's
// ballot mode and status. It is the only way a tally leaves the service.
func Disclose(m Motion, t Tally) Disclosure {
	d := Disclosure{Rule: m.Rule.Kind, Mode: m.Mode, Sealed: m.Mode == ModeSecret,
		Electorate: Figures{t.ElectorateHouses, t.ElectorateHeads, t.ElectorateArea},
		Voted:      Figures{t.VotedHouses, t.VotedHeads, t.VotedArea}}
	d.Thresholds = append(d.Thresholds,
		participationView(KeyParticipationArea, MeasureArea, m.Rule.ParticipationArea, t.ParticipationArea),
		participationView(KeyParticipationHead, MeasureHeads, m.Rule.ParticipationHead, t.ParticipationHead))
	named := m.Mode != ModeSecret
	open := secretOpen(m)
	if m.Rule.Kind != RuleElection {
		d.Thresholds = append(d.Thresholds,
			approvalView(KeyApprovalArea, MeasureArea, m.Rule.ApprovalArea, t.ApprovalArea, named, open),
			approvalView(KeyApprovalHead, MeasureHeads, m.Rule.ApprovalHead, t.ApprovalHead, named, open))
	}
	if open {
		d.Stamp = stampOf(m, t)
		return d
	}
	passed := t.Passed
	d.Passed = &passed
	d.Elected, d.TieAtLastSeat = t.Elected, t.TieAtLastSeat
	for _, oc := range t.Options {
		o := OptionView{Option: oc.Option, Heads: new(big.Rat).Set(ratOrZero(oc.Head))}
		if named {
			n, a := oc.Households, oc.Area
			o.Households, o.Area = &n, &a
		} else if oc.Option == OptionAgree && m.Rule.Kind != RuleElection {
			o.AreaShare = bandOf(m.Rule.ApprovalArea, areaRat(oc.Area), areaRat(t.VotedArea))
		}
		d.Options = append(d.Options, o)
	}
	if named {
		n := len(t.SplitOwners)
		d.SplitOwners = &n
		d.Stamp = t.Stamp
	} else {
		d.Stamp = stampOf(m, t)
	}
	return d
}

func ratOrZero(r *big.Rat) *big.Rat {
	if r == nil {
		return new(big.Rat)
	}
	return r
}

// bandOf is the band, cut at the threshold th, that share part/whole lies
// in: [th, 1] or [0, th) for an inclusive threshold, (th, 1] or [0, th] for
// a strict one. An empty whole lies in the lower band.
func bandOf(th Threshold, part, whole *big.Rat) *ShareBand {
	cut := th.Rat()
	if th.Met(part, whole) {
		return &ShareBand{From: cut, FromIncl: !th.Strict, To: big.NewRat(1, 1), ToIncl: true}
	}
	return &ShareBand{From: new(big.Rat), FromIncl: true, To: cut, ToIncl: th.Strict}
}

// stampOf identifies what a secret ballot discloses, so that a change that
// discloses nothing new (a household changing its choice) changes nothing
// a reader can observe, not even a cache's timing.
func stampOf(m Motion, t Tally) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%d|%d|%d", m.ID, m.Status, t.VotedHouses, t.VotedHeads, t.VotedArea)
	if !secretOpen(m) {
		fmt.Fprintf(h, "|%t|%t|%t", t.Passed, t.ApprovalArea.Met, t.ApprovalHead.Met)
		for _, o := range t.Options {
			fmt.Fprintf(h, "|%s:%s", o.Option, ratOrZero(o.Head).RatString())
		}
	}
	s := h.Sum64()
	if s == 0 {
		s = 1
	}
	return s
}

// thresholdLabel names a threshold in plain Chinese.
var thresholdLabel = map[string]string{
	KeyParticipationArea: "参与表决的专有面积占全体专有面积",
	KeyParticipationHead: "参与表决的业主人数占全体业主人数",
	KeyApprovalArea:      "同意的专有面积占参与表决的专有面积",
	KeyApprovalHead:      "同意的业主人数占参与表决的业主人数",
}

// RuleText says a threshold in Chinese: "不少于 2/3" (inclusive, 以上) or
// "超过 1/2" (strict, 过半数).
func (t Threshold) RuleText() string {
	if t.Strict {
		return fmt.Sprintf("超过 %d/%d", t.Num, t.Den)
	}
	return fmt.Sprintf("不少于 %d/%d", t.Num, t.Den)
}

// ruleOf says the threshold of a base in Chinese: "不少于全体的 2/3".
func (t Threshold) ruleOf(base string) string {
	word := "不少于"
	if t.Strict {
		word = "超过"
	}
	return fmt.Sprintf("%s%s的 %d/%d", word, base, t.Num, t.Den)
}

func measureWord(measure string) string {
	if measure == MeasureHeads {
		return "业主人数"
	}
	return "专有面积"
}

// Text says a band in Chinese, e.g. "不少于 3/4" or "不超过 1/2".
func (b ShareBand) Text() string {
	switch {
	case b.To.Cmp(big.NewRat(1, 1)) == 0 && b.FromIncl:
		return "不少于 " + b.From.RatString()
	case b.To.Cmp(big.NewRat(1, 1)) == 0:
		return "超过 " + b.From.RatString()
	case b.ToIncl:
		return "不超过 " + b.To.RatString()
	default:
		return "少于 " + b.To.RatString()
	}
}

func participationView(key, measure string, th Threshold, n Needed) ThresholdView {
	v := ThresholdView{Key: key, Label: thresholdLabel[key], Measure: measure, Base: BaseElectorate, Threshold: th,
		Met: n.Met, Reachable: n.Reachable}
	setNeeded(&v, n)
	rule := "参与表决的" + measureWord(measure) + "须" + th.ruleOf("全体")
	switch {
	case n.Met:
		v.Summary = "已达到：" + rule
	case !n.Reachable:
		v.Summary = "无法达到：其余户全部参与也不够（" + rule + "）"
	case measure == MeasureArea:
		v.Summary = fmt.Sprintf("还差 %s 平方米参与表决（%s）", n.Area, rule)
	default:
		v.Summary = fmt.Sprintf("还差 %d 户参与表决（%s，一名业主有多套房只算一人）", n.Households, rule)
	}
	return v
}

func approvalView(key, measure string, th Threshold, n Needed, named, open bool) ThresholdView {
	v := ThresholdView{Key: key, Label: thresholdLabel[key], Measure: measure, Base: BaseParticipants, Threshold: th}
	rule := "同意的" + measureWord(measure) + "须" + th.ruleOf("参与表决")
	switch {
	case open:
		v.Withheld = true
		v.Summary = "不记名投票，投票结束后公布（" + rule + "）"
		return v
	case !named:
		// A closed secret ballot: whether it holds, decided on the
		// exact figures, and nothing of how far it was.
		v.Met, v.OutcomeOnly = n.Met, true
		if n.Met {
			v.Summary = "已达到：" + rule
		} else {
			v.Summary = "未达到：" + rule
		}
		return v
	}
	v.Met, v.Reachable = n.Met, n.Reachable
	setNeeded(&v, n)
	switch {
	case n.Met:
		v.Summary = "已达到：" + rule
	case !n.Reachable:
		v.Summary = "无法达到：其余户全部同意也不够（" + rule + "）"
	case measure == MeasureArea:
		v.Summary = fmt.Sprintf("还差 %s 平方米同意（%s）", n.Area, rule)
	default:
		v.Summary = fmt.Sprintf("还差 %d 户同意（%s）", n.Households, rule)
	}
	return v
}

// setNeeded fills the one figure of what is still needed that belongs to
// the threshold's measure.
func setNeeded(v *ThresholdView, n Needed) {
	if n.Met || !n.Reachable {
		return
	}
	if v.Measure == MeasureArea {
		a := n.Area
		v.NeededArea = &a
	} else {
		h := n.Households
		v.NeededHouseholds = &h
	}
}

// Unsealed is the exact count of a closed motion, for a court or a recount:
// the result stored at the close and a recount from the ballots now.
type Unsealed struct {
	Motion  Motion
	Stored  Tally
	Recount Tally
	// Same reports whether the recount equals the stored result.
	Same bool
}

// Unseal reads the exact per-option figures of a closed motion — for a
// secret ballot the only way to them. It is an operator's act (the server
// command, run by whoever holds the database), never an API route, and it
// is audited with who asked and why (e.g. a court's case number) before
// anything is returned.
func (s *Service) Unseal(ctx context.Context, operator string, motionID int64, reason string) (Unsealed, error) {
	operator, reason = strings.TrimSpace(operator), strings.TrimSpace(reason)
	if operator == "" || reason == "" {
		return Unsealed{}, louyuan.Invalid("unseal_reason_required", "调取封存的计票明细须写明调取人和事由（如法院案号或重新计票的决定）")
	}
	m, err := s.store.Motion(ctx, motionID)
	if err != nil {
		return Unsealed{}, err
	}
	if m.Status != StatusObjection && m.Status != StatusFinal {
		return Unsealed{}, louyuan.Conflict("not_closed", "投票尚未结束，不能调取计票明细")
	}
	if m.Result == nil {
		return Unsealed{}, louyuan.Internalf(errors.New("closed motion without result"), "motion %d", m.ID)
	}
	recount, err := s.countFromDB(ctx, m)
	if err != nil {
		return Unsealed{}, err
	}
	u := Unsealed{Motion: m, Stored: *m.Result, Recount: recount, Same: sameTotals(m.Result.Totals, recount.Totals)}
	err = s.record(ctx, m, "operator:"+operator, "tally.unseal", motionRef(m.ID),
		map[string]any{"reason": reason, "mode": m.Mode, "recount_matches": u.Same})
	if err != nil {
		return Unsealed{}, err
	}
	return u, nil
}
