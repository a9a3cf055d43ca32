package voting

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// Status is where a motion is in its timeline.
type Status string

// The timeline: draft → notice (公示) → voting → objection (preliminary
// result, 异议期) → final. A draft or a motion under notice can be cancelled.
const (
	StatusDraft     Status = "draft"
	StatusNotice    Status = "notice"
	StatusVoting    Status = "voting"
	StatusObjection Status = "objection"
	StatusFinal     Status = "final"
	StatusCancelled Status = "cancelled"
)

// Ballot modes.
const (
	ModeNamed  = "named"  // 记名: staff see who chose what
	ModeSecret = "secret" // 不记名: staff see who took part, never a choice
)

// Scope types of a motion.
const (
	ScopeCourtyard = "courtyard"
	ScopeBuilding  = "building"
	ScopeUnit      = "unit"
)

// The values a draft may take, in one place: the API's request validation
// is checked against them (TestMotionRequestValues).
var (
	ScopeTypes  = []string{ScopeCourtyard, ScopeBuilding, ScopeUnit}
	BallotModes = []string{ModeNamed, ModeSecret}
	RuleKinds   = []RuleKind{RuleOrdinary, RuleMajor, RuleCustom, RuleElection}
)

// Channels through which a ballot arrives.
const (
	ChannelSelf      = "self"      // the household's representative in the mini-program
	ChannelProxy     = "proxy"     // a proxy holding the household's delegation
	ChannelPaper     = "paper"     // a signed paper ballot entered by council or staff
	ChannelWithdrawn = "withdrawn" // a proxy ballot withdrawn by revoking the delegation
)

// MaxVotingSpan is how long voting may last in total, extensions included.
const MaxVotingSpan = 3 // months

// reraiseSince is the earliest close of a failed motion that still blocks
// its subject at now: a failed subject cannot be raised again for one year,
// counted from the day after the close (Civil Code art. 201) to the same
// day of the next year (art. 202; 29 February → 28 February), 24:00 China
// time. The end is not moved for a holiday (art. 203 protects a party who
// must act before the end; nobody has to act here).
func reraiseSince(now time.Time) time.Time {
	today := louyuan.DateOf(now)
	since := today.AddYears(-1)
	if since.AddYears(1).Before(today) {
		since = since.AddDays(1)
	}
	return since.Start().UTC()
}

// noticePeriod is the public notice (公示) a motion published at now gets,
// or the error that says why its voting would open too early: voting opens
// after the notice period's last day at the earliest.
func noticePeriod(cal *louyuan.Calendar, now time.Time, m Motion) (louyuan.Period, error) {
	p := cal.Period(now, m.NoticeDays)
	if m.NoticeDays == 0 && m.OpensAt.Before(now) {
		return p, louyuan.Conflict("notice_too_short", "投票开始时间已过，请调整开始时间")
	}
	if m.OpensAt.Before(p.EndsAt) {
		return p, louyuan.Conflict("notice_too_short", fmt.Sprintf("投票开始前须公示%d天（%s），投票最早可于%s0时开始，请调整开始时间",
			m.NoticeDays, p.Sentence(), p.LastDay.AddDays(1).Label()))
	}
	return p, nil
}

// DescribePeriods fills in the notice and objection periods from what is
// stored (the store calls it when it reads a motion).
func (m *Motion) DescribePeriods() {
	m.NoticePeriod, m.ObjectionPeriod = nil, nil
	if !m.PublishedAt.IsZero() && !m.NoticeEndsAt.IsZero() {
		p := louyuan.DescribePeriod(m.PublishedAt, m.NoticeDays, m.NoticeEndsAt)
		m.NoticePeriod = &p
	}
	if !m.ClosedAt.IsZero() && !m.ObjectionEndsAt.IsZero() {
		p := louyuan.DescribePeriod(m.ClosedAt, m.ObjectionDays, m.ObjectionEndsAt)
		m.ObjectionPeriod = &p
	}
}

// Motion is a matter put to the households of a scope. It has no JSON
// form of its own: the API writes it as its motionJSON, the store as rows.
type Motion struct {
	ID            int64
	CourtyardID   int64
	ScopeType     string
	ScopeID       int64
	Title         string
	Body          string
	Subject       string
	Rule          Rule
	Options       []Option
	Mode          string
	Status        Status
	NoticeDays    int
	ObjectionDays int
	OpensAt       time.Time
	ClosesAt      time.Time
	PublishedAt   time.Time
	// NoticeEndsAt is 24:00 China time of the notice period's last day
	// (set at publishing); voting opens then at the earliest.
	NoticeEndsAt time.Time
	// NoticePeriod and ObjectionPeriod say how the periods were counted.
	NoticePeriod    *louyuan.Period
	ObjectionPeriod *louyuan.Period
	OpenedAt        time.Time
	ClosedAt        time.Time
	ObjectionEndsAt time.Time
	FinalAt         time.Time
	Passed          *bool
	Result          *Tally
	CreatedBy       string
	CreatedAt       time.Time
}

// Option is one choice on the ballot: a key that ballots carry and the
// label residents read.
type Option struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// OptionKeys lists the motion's option keys in order.
func (m Motion) OptionKeys() []string {
	keys := make([]string, len(m.Options))
	for i, o := range m.Options {
		keys[i] = o.Key
	}
	return keys
}

// DecisionOptions are the options of every decision.
func DecisionOptions() []Option {
	return []Option{{OptionAgree, "同意"}, {OptionOppose, "反对"}, {OptionAbstain, "弃权"}}
}

// Draft is what a council member or staff fills in to create a motion.
type Draft struct {
	CourtyardID   int64     `json:"courtyard_id"`
	ScopeType     string    `json:"scope_type"`
	ScopeID       int64     `json:"scope_id"`
	Title         string    `json:"title"`
	Body          string    `json:"body"`
	Subject       string    `json:"subject"`
	Rule          RuleKind  `json:"rule"`
	Custom        *Rule     `json:"custom,omitempty"`
	Seats         int       `json:"seats,omitempty"`
	Candidates    []string  `json:"candidates,omitempty"`
	Mode          string    `json:"ballot_mode"`
	NoticeDays    int       `json:"notice_days"`
	ObjectionDays int       `json:"objection_days"`
	OpensAt       time.Time `json:"opens_at"`
	ClosesAt      time.Time `json:"closes_at"`
}

// motionFrom validates a draft and builds the motion it describes.
func motionFrom(d Draft) (Motion, error) {
	d.Title, d.Body, d.Subject = strings.TrimSpace(d.Title), strings.TrimSpace(d.Body), strings.TrimSpace(d.Subject)
	if err := louyuan.CheckTexts(append([]louyuan.TextField{{Name: "标题", Value: d.Title}, {Name: "正文", Value: d.Body, Multiline: true},
		{Name: "事项名称", Value: d.Subject}}, candidateFields(d.Candidates)...)...); err != nil {
		return Motion{}, err
	}
	if n := utf8.RuneCountInString(d.Title); n < 2 || n > 60 {
		return Motion{}, louyuan.Invalid("bad_title", "标题须为2到60个字")
	}
	if utf8.RuneCountInString(d.Body) > 5000 {
		return Motion{}, louyuan.Invalid("bad_body", "正文不能超过5000字")
	}
	if d.Subject == "" {
		d.Subject = d.Title
	}
	if utf8.RuneCountInString(d.Subject) > 60 {
		return Motion{}, louyuan.Invalid("bad_subject", "事项名称不能超过60个字")
	}
	if !slices.Contains(ScopeTypes, d.ScopeType) {
		return Motion{}, louyuan.Invalid("bad_scope", "表决范围只能是楼院、楼栋或单元")
	}
	if !slices.Contains(BallotModes, d.Mode) {
		return Motion{}, louyuan.Invalid("bad_mode", "表决方式只能是记名（named）或不记名（secret）")
	}
	if d.NoticeDays < 0 || d.NoticeDays > 60 || d.ObjectionDays < 0 || d.ObjectionDays > 60 {
		return Motion{}, louyuan.Invalid("bad_days", "公示期和异议期须在0到60天之间")
	}
	if d.OpensAt.IsZero() || !d.ClosesAt.After(d.OpensAt) {
		return Motion{}, louyuan.Invalid("bad_period", "投票截止时间必须晚于开始时间")
	}
	if d.ClosesAt.After(d.OpensAt.AddDate(0, MaxVotingSpan, 0)) {
		return Motion{}, louyuan.Invalid("period_too_long", "投票期最长三个月")
	}
	m := Motion{CourtyardID: d.CourtyardID, ScopeType: d.ScopeType, ScopeID: d.ScopeID, Title: d.Title, Body: d.Body,
		Subject: d.Subject, Mode: d.Mode, NoticeDays: d.NoticeDays, ObjectionDays: d.ObjectionDays,
		OpensAt: d.OpensAt.UTC(), ClosesAt: d.ClosesAt.UTC(), Status: StatusDraft}
	switch d.Rule {
	case RuleOrdinary:
		m.Rule, m.Options = OrdinaryRule(), DecisionOptions()
	case RuleMajor:
		m.Rule, m.Options = MajorRule(), DecisionOptions()
	case RuleCustom:
		if d.Custom == nil {
			return Motion{}, louyuan.Invalid("custom_rule_missing", "自定义规则须给出参与和同意的比例")
		}
		m.Rule, m.Options = *d.Custom, DecisionOptions()
		m.Rule.Kind, m.Rule.Seats = RuleCustom, 0
	case RuleElection:
		if len(d.Candidates) < 1 || len(d.Candidates) > 50 {
			return Motion{}, louyuan.Invalid("bad_candidates", "候选人须为1到50人")
		}
		if d.Seats < 1 || d.Seats > len(d.Candidates) {
			return Motion{}, louyuan.Invalid("bad_seats", "应选人数须在1和候选人数之间")
		}
		m.Rule = ElectionRule(d.Seats)
		seen := map[string]bool{}
		for i, c := range d.Candidates {
			c = strings.TrimSpace(c)
			if c == "" || utf8.RuneCountInString(c) > 32 || seen[c] {
				return Motion{}, louyuan.Invalid("bad_candidates", "候选人姓名不能为空、重复或超过32个字")
			}
			seen[c] = true
			m.Options = append(m.Options, Option{Key: "c" + itoa(int64(i+1)), Label: c})
		}
	default:
		return Motion{}, louyuan.Invalid("bad_rule", "表决规则只能是 ordinary、major、custom 或 election")
	}
	if err := m.Rule.Validate(); err != nil {
		return Motion{}, err
	}
	return m, nil
}

// maxOptionKey bounds the length of an option key: the keys are the
// decision options' and "c1" to "c50".
const maxOptionKey = 16

// plausibleChoice reports whether options could be a ballot's choice on
// some motion (a cheap check before its motion is read): no more options
// than a motion has, none longer than a key.
func plausibleChoice(options []string) bool {
	if len(options) > 50 {
		return false
	}
	for _, o := range options {
		if len(o) > maxOptionKey {
			return false
		}
	}
	return true
}

// checkChoice validates a ballot's options against the motion.
func (m Motion) checkChoice(options []string) ([]string, error) {
	valid := map[string]bool{}
	for _, o := range m.Options {
		valid[o.Key] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, o := range options {
		if !valid[o] {
			return nil, louyuan.Invalid("bad_option", "选项不存在，请重新选择")
		}
		if seen[o] {
			return nil, louyuan.Invalid("duplicate_option", "同一选项不能选两次")
		}
		seen[o] = true
		out = append(out, o)
	}
	switch {
	case len(out) == 0:
		return nil, louyuan.Invalid("no_option", "请选择一个选项")
	case m.Rule.Kind != RuleElection && len(out) != 1:
		return nil, louyuan.Invalid("one_option", "只能选择一个选项")
	case m.Rule.Kind == RuleElection && len(out) > m.Rule.Seats:
		return nil, louyuan.Errorf(louyuan.KindInvalid, "too_many_candidates", "最多选择%d名候选人", m.Rule.Seats)
	}
	return out, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
