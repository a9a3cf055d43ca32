package api

import (
	"encoding/json"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

type ruleRequest struct {
	ParticipationArea *fractionJSON `json:"participation_area" binding:"required"`
	ParticipationHead *fractionJSON `json:"participation_head" binding:"required"`
	ApprovalArea      *fractionJSON `json:"approval_area" binding:"required"`
	ApprovalHead      *fractionJSON `json:"approval_head" binding:"required"`
}

// rule converts a custom rule, naming a bad fraction's field.
func (r *ruleRequest) rule() (*voting.Rule, error) {
	out := &voting.Rule{}
	for _, f := range []struct {
		name string
		in   *fractionJSON
		out  *voting.Threshold
	}{{"custom.participation_area", r.ParticipationArea, &out.ParticipationArea}, {"custom.participation_head", r.ParticipationHead, &out.ParticipationHead},
		{"custom.approval_area", r.ApprovalArea, &out.ApprovalArea}, {"custom.approval_head", r.ApprovalHead, &out.ApprovalHead}} {
		t, err := f.in.threshold(f.name)
		if err != nil {
			return nil, err
		}
		*f.out = *t
	}
	return out, nil
}

// motionJSON is a motion on the wire: the API's own type, so that the
// domain's voting.Motion can change without changing what clients read
// (TestMotionWireJSON pins it).
type motionJSON struct {
	ID              int64           `json:"id"`
	CourtyardID     int64           `json:"courtyard_id"`
	ScopeType       string          `json:"scope_type"`
	ScopeID         int64           `json:"scope_id"`
	Title           string          `json:"title"`
	Body            string          `json:"body"`
	Subject         string          `json:"subject"`
	Rule            ruleJSON        `json:"rule"`
	Options         []choiceJSON    `json:"options"`
	Mode            string          `json:"ballot_mode"`
	Status          string          `json:"status"`
	NoticeDays      int             `json:"notice_days"`
	ObjectionDays   int             `json:"objection_days"`
	OpensAt         time.Time       `json:"opens_at"`
	ClosesAt        time.Time       `json:"closes_at"`
	PublishedAt     time.Time       `json:"published_at,omitzero"`
	NoticeEndsAt    time.Time       `json:"notice_ends_at,omitzero"`
	NoticePeriod    *louyuan.Period `json:"notice_period,omitempty"`
	ObjectionPeriod *louyuan.Period `json:"objection_period,omitempty"`
	OpenedAt        time.Time       `json:"opened_at,omitzero"`
	ClosedAt        time.Time       `json:"closed_at,omitzero"`
	ObjectionEndsAt time.Time       `json:"objection_ends_at,omitzero"`
	FinalAt         time.Time       `json:"final_at,omitzero"`
	Passed          *bool           `json:"passed,omitempty"`
	CreatedBy       string          `json:"created_by"`
	CreatedAt       time.Time       `json:"created_at"`
}

// ruleJSON is a counting rule on the wire; fractionOut one of its
// thresholds.
type ruleJSON struct {
	Kind              string      `json:"kind"`
	ParticipationArea fractionOut `json:"participation_area"`
	ParticipationHead fractionOut `json:"participation_head"`
	ApprovalArea      fractionOut `json:"approval_area"`
	ApprovalHead      fractionOut `json:"approval_head"`
	Seats             int         `json:"seats,omitempty"`
}

type fractionOut struct {
	Num    int64 `json:"num"`
	Den    int64 `json:"den"`
	Strict bool  `json:"strict"`
}

// choiceJSON is one option of a motion on the wire.
type choiceJSON struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// myMotionJSON is a motion as one of the caller's households sees it.
type myMotionJSON struct {
	Motion      motionJSON `json:"motion"`
	HouseholdID int64      `json:"household_id"`
	Status      string     `json:"household_status"`
}

func motionOut(m voting.Motion) motionJSON {
	fr := func(t voting.Threshold) fractionOut { return fractionOut{Num: t.Num, Den: t.Den, Strict: t.Strict} }
	var opts []choiceJSON
	if m.Options != nil {
		opts = make([]choiceJSON, len(m.Options))
		for i, o := range m.Options {
			opts[i] = choiceJSON{Key: o.Key, Label: o.Label}
		}
	}
	return motionJSON{ID: m.ID, CourtyardID: m.CourtyardID, ScopeType: m.ScopeType, ScopeID: m.ScopeID, Title: m.Title, Body: m.Body,
		Subject: m.Subject, Rule: ruleJSON{Kind: string(m.Rule.Kind), ParticipationArea: fr(m.Rule.ParticipationArea),
			ParticipationHead: fr(m.Rule.ParticipationHead), ApprovalArea: fr(m.Rule.ApprovalArea), ApprovalHead: fr(m.Rule.ApprovalHead), Seats: m.Rule.Seats},
		Options: opts, Mode: m.Mode, Status: string(m.Status), NoticeDays: m.NoticeDays, ObjectionDays: m.ObjectionDays,
		OpensAt: m.OpensAt, ClosesAt: m.ClosesAt, PublishedAt: m.PublishedAt, NoticeEndsAt: m.NoticeEndsAt, NoticePeriod: m.NoticePeriod,
		ObjectionPeriod: m.ObjectionPeriod, OpenedAt: m.OpenedAt, ClosedAt: m.ClosedAt, ObjectionEndsAt: m.ObjectionEndsAt, FinalAt: m.FinalAt,
		Passed: m.Passed, CreatedBy: m.CreatedBy, CreatedAt: m.CreatedAt}
}

func motionsOut(ms []voting.Motion) []motionJSON {
	out := make([]motionJSON, len(ms))
	for i, m := range ms {
		out[i] = motionOut(m)
	}
	if ms == nil {
		return nil
	}
	return out
}

type motionRequest struct {
	ScopeType     string          `json:"scope_type" binding:"required,oneof=courtyard building unit"`
	ScopeID       int64           `json:"scope_id" binding:"gte=0"`
	Title         string          `json:"title" binding:"required,max=200"`
	Body          string          `json:"body" binding:"max=20000"`
	Subject       string          `json:"subject" binding:"max=200"`
	Rule          voting.RuleKind `json:"rule" binding:"required,oneof=ordinary major custom election"`
	Custom        *ruleRequest    `json:"custom"`
	Seats         int             `json:"seats" binding:"gte=0,lte=50"`
	Candidates    []string        `json:"candidates" binding:"max=50"`
	BallotMode    string          `json:"ballot_mode" binding:"required,oneof=named secret"`
	NoticeDays    int             `json:"notice_days" binding:"gte=0,lte=60"`
	ObjectionDays int             `json:"objection_days" binding:"gte=0,lte=60"`
	OpensAt       time.Time       `json:"opens_at" binding:"required"`
	ClosesAt      time.Time       `json:"closes_at" binding:"required"`
}

func (s *Server) createMotion(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req motionRequest
	if !bindJSON(c, &req) {
		return
	}
	d := voting.Draft{CourtyardID: id, ScopeType: req.ScopeType, ScopeID: req.ScopeID, Title: req.Title, Body: req.Body, Subject: req.Subject,
		Rule: req.Rule, Seats: req.Seats, Candidates: req.Candidates, Mode: req.BallotMode, NoticeDays: req.NoticeDays,
		ObjectionDays: req.ObjectionDays, OpensAt: req.OpensAt, ClosesAt: req.ClosesAt}
	if req.Custom != nil {
		rule, err := req.Custom.rule()
		if err != nil {
			fail(c, err)
			return
		}
		d.Custom = rule
	}
	m, err := s.Voting.Create(c.Request.Context(), principal(c), d)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, motionOut(m))
}

func (s *Server) listMotions(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	ms, err := s.Voting.Motions(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	q, keep := readPage(c, 20), titleFilter(c)
	ms, total := pageOf(ms, q, func(m voting.Motion) bool { return keep(string(m.Status), m.Title) })
	sendPage(c, "motions", motionsOut(ms), total, q, nil)
}

// motionStep serves the timeline actions that take no body.
func (s *Server) motionStep(step func(*Server) func(*gin.Context, int64) (voting.Motion, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := idParam(c, "id")
		if !ok {
			return
		}
		m, err := step(s)(c, id)
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, motionOut(m))
	}
}

func publishStep(s *Server) func(*gin.Context, int64) (voting.Motion, error) {
	return func(c *gin.Context, id int64) (voting.Motion, error) {
		return s.Voting.Publish(c.Request.Context(), principal(c), id)
	}
}

func cancelStep(s *Server) func(*gin.Context, int64) (voting.Motion, error) {
	return func(c *gin.Context, id int64) (voting.Motion, error) {
		return s.Voting.Cancel(c.Request.Context(), principal(c), id)
	}
}

func openStep(s *Server) func(*gin.Context, int64) (voting.Motion, error) {
	return func(c *gin.Context, id int64) (voting.Motion, error) {
		return s.Voting.Open(c.Request.Context(), principal(c), id)
	}
}

func closeStep(s *Server) func(*gin.Context, int64) (voting.Motion, error) {
	return func(c *gin.Context, id int64) (voting.Motion, error) {
		return s.Voting.Close(c.Request.Context(), principal(c), id)
	}
}

func finalizeStep(s *Server) func(*gin.Context, int64) (voting.Motion, error) {
	return func(c *gin.Context, id int64) (voting.Motion, error) {
		return s.Voting.Finalize(c.Request.Context(), principal(c), id)
	}
}

type extendRequest struct {
	ClosesAt time.Time `json:"closes_at" binding:"required"`
}

func (s *Server) extendMotion(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req extendRequest
	if !bindJSON(c, &req) {
		return
	}
	m, err := s.Voting.Extend(c.Request.Context(), principal(c), id, req.ClosesAt)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, motionOut(m))
}

// thresholdJSON is one threshold of a tally, self-explanatory: what it is
// measured in (measure: area | heads) and against (base: electorate |
// participants), its rule, whether it holds, and what is still needed in
// the threshold's own measure only.
type thresholdJSON struct {
	Key              string  `json:"key"`
	Label            string  `json:"label"`
	Measure          string  `json:"measure"`
	Base             string  `json:"base"`
	Rule             string  `json:"rule"`
	RuleText         string  `json:"rule_text"`
	Withheld         bool    `json:"withheld,omitempty"`
	Met              *bool   `json:"met,omitempty"`
	Reachable        *bool   `json:"reachable,omitempty"`
	NeededHouseholds *int64  `json:"needed_households,omitempty"`
	NeededArea       *string `json:"needed_area,omitempty"`
	Summary          string  `json:"summary"`
}

type shareJSON struct {
	From          string `json:"from"`
	FromInclusive bool   `json:"from_inclusive"`
	To            string `json:"to"`
	ToInclusive   bool   `json:"to_inclusive"`
	Text          string `json:"text"`
}

type optionJSON struct {
	Key        string     `json:"key"`
	Label      string     `json:"label"`
	Households *int       `json:"households,omitempty"`
	Heads      string     `json:"heads"`
	Area       *string    `json:"area,omitempty"`
	AreaShare  *shareJSON `json:"area_share,omitempty"`
}

type countJSON struct {
	Households int    `json:"households"`
	Heads      int64  `json:"heads"`
	Area       string `json:"area"`
}

type tallyJSON struct {
	Rule              voting.RuleKind `json:"rule"`
	BallotMode        string          `json:"ballot_mode"`
	Sealed            bool            `json:"sealed"`
	Electorate        countJSON       `json:"electorate"`
	Voted             countJSON       `json:"voted"`
	Options           []optionJSON    `json:"options,omitempty"`
	ParticipationArea *thresholdJSON  `json:"participation_area,omitempty"`
	ParticipationHead *thresholdJSON  `json:"participation_head,omitempty"`
	ApprovalArea      *thresholdJSON  `json:"approval_area,omitempty"`
	ApprovalHead      *thresholdJSON  `json:"approval_head,omitempty"`
	Passed            *bool           `json:"passed,omitempty"`
	Elected           []string        `json:"elected,omitempty"`
	TieAtLastSeat     []string        `json:"tie_at_last_seat,omitempty"`
	SplitOwners       *int            `json:"split_owners,omitempty"`
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "0"
	}
	return r.RatString()
}

func thresholdOut(v voting.ThresholdView) *thresholdJSON {
	out := &thresholdJSON{Key: v.Key, Label: v.Label, Measure: v.Measure, Base: v.Base, Rule: v.Threshold.String(),
		RuleText: v.Threshold.RuleText(), Withheld: v.Withheld, NeededHouseholds: v.NeededHouseholds, Summary: v.Summary}
	if !v.Withheld {
		met := v.Met
		out.Met = &met
		if !v.OutcomeOnly {
			reachable := v.Reachable
			out.Reachable = &reachable
		}
	}
	if v.NeededArea != nil {
		a := v.NeededArea.String()
		out.NeededArea = &a
	}
	return out
}

func tallyOut(m voting.Motion, t voting.Disclosure) tallyJSON {
	out := tallyJSON{Rule: m.Rule.Kind, BallotMode: t.Mode, Sealed: t.Sealed,
		Electorate: countJSON{t.Electorate.Households, t.Electorate.Heads, t.Electorate.Area.String()},
		Voted:      countJSON{t.Voted.Households, t.Voted.Heads, t.Voted.Area.String()},
		Passed:     t.Passed, Elected: t.Elected, TieAtLastSeat: t.TieAtLastSeat, SplitOwners: t.SplitOwners}
	for _, th := range t.Thresholds {
		j := thresholdOut(th)
		switch th.Key {
		case voting.KeyParticipationArea:
			out.ParticipationArea = j
		case voting.KeyParticipationHead:
			out.ParticipationHead = j
		case voting.KeyApprovalArea:
			out.ApprovalArea = j
		case voting.KeyApprovalHead:
			out.ApprovalHead = j
		}
	}
	if t.Options == nil {
		return out
	}
	views := map[string]voting.OptionView{}
	for _, o := range t.Options {
		views[o.Option] = o
	}
	for _, o := range m.Options {
		v := views[o.Key]
		j := optionJSON{Key: o.Key, Label: o.Label, Households: v.Households, Heads: ratString(v.Heads)}
		if v.Area != nil {
			a := v.Area.String()
			j.Area = &a
		}
		if b := v.AreaShare; b != nil {
			j.AreaShare = &shareJSON{From: b.From.RatString(), FromInclusive: b.FromIncl, To: b.To.RatString(), ToInclusive: b.ToIncl, Text: b.Text()}
		}
		out.Options = append(out.Options, j)
	}
	return out
}

func (s *Server) motionDetail(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	m, t, err := s.Voting.Tally(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	// The same cached tally is rendered once for everyone who reads it.
	if b, ok := s.rendered.get(m.ID, t.Stamp); ok {
		c.Data(http.StatusOK, "application/json; charset=utf-8", b)
		return
	}
	b, err := json.Marshal(gin.H{"motion": motionOut(m), "tally": tallyOut(m, t)})
	if err != nil {
		fail(c, louyuan.Internalf(err, "encode tally"))
		return
	}
	s.rendered.put(m.ID, t.Stamp, b)
	c.Data(http.StatusOK, "application/json; charset=utf-8", b)
}

// renderedTallies keeps the last encoded detail of each motion by the
// tally's stamp.
type renderedTallies struct {
	mu sync.Mutex
	m  map[int64]renderedTally
}

type renderedTally struct {
	stamp uint64
	body  []byte
}

func (r *renderedTallies) get(id int64, stamp uint64) ([]byte, bool) {
	if stamp == 0 {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[id]
	return e.body, ok && e.stamp == stamp
}

func (r *renderedTallies) put(id int64, stamp uint64, body []byte) {
	if stamp == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil || len(r.m) > 10_000 {
		r.m = map[int64]renderedTally{}
	}
	r.m[id] = renderedTally{stamp: stamp, body: body}
}

type ballotRequest struct {
	HouseholdID int64    `json:"household_id" binding:"required,gt=0"`
	Options     []string `json:"options" binding:"required,min=1,max=50"`
}

func (s *Server) castBallot(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req ballotRequest
	if !bindJSON(c, &req) {
		return
	}
	r, err := s.Voting.Cast(c.Request.Context(), principal(c), id, req.HouseholdID, req.Options)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, r)
}

type paperRequest struct {
	HouseholdID int64    `json:"household_id" binding:"required,gt=0"`
	Options     []string `json:"options" binding:"required,min=1,max=50"`
	Photo       string   `json:"photo" binding:"required,max=128"`
}

func (s *Server) enterPaper(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req paperRequest
	if !bindJSON(c, &req) {
		return
	}
	r, err := s.Voting.EnterPaper(c.Request.Context(), principal(c), id, req.HouseholdID, req.Options, req.Photo)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, r)
}

type proxyBallotRequest struct {
	HouseholdIDs []int64  `json:"household_ids" binding:"required,min=1,max=100"`
	Options      []string `json:"options" binding:"required,min=1,max=50"`
}

func (s *Server) castAsProxy(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req proxyBallotRequest
	if !bindJSON(c, &req) {
		return
	}
	rs, err := s.Voting.CastAsProxy(c.Request.Context(), principal(c), id, req.HouseholdIDs, req.Options)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"results": rs})
}

func (s *Server) verifyReceipt(c *gin.Context) {
	code := c.Param("code")
	if len(code) != 12 {
		fail(c, louyuan.Invalid("bad_receipt", "回执码应为12位字母和数字"))
		return
	}
	r, err := s.Voting.VerifyReceipt(c.Request.Context(), principal(c), code)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (s *Server) myMotions(c *gin.Context) {
	ms, err := s.Voting.MyMotions(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]myMotionJSON, len(ms))
	for i, m := range ms {
		out[i] = myMotionJSON{Motion: motionOut(m.Motion), HouseholdID: m.HouseholdID, Status: m.Status}
	}
	c.JSON(http.StatusOK, gin.H{"motions": out})
}

func (s *Server) turnout(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	units, err := s.Voting.Turnout(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"units": units})
}

func (s *Server) reconcile(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	rs, err := s.Voting.Reconcile(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"households": rs})
}

type delegationRequest struct {
	HouseholdID int64     `json:"household_id" binding:"required,gt=0"`
	ProxyUserID int64     `json:"proxy_user_id" binding:"required,gt=0"`
	MotionID    int64     `json:"motion_id" binding:"gte=0"`
	Until       time.Time `json:"until"`
}

func (s *Server) delegate(c *gin.Context) {
	var req delegationRequest
	if !bindJSON(c, &req) {
		return
	}
	d, err := s.Voting.Delegate(c.Request.Context(), principal(c), voting.NewDelegation{HouseholdID: req.HouseholdID,
		ProxyUserID: req.ProxyUserID, MotionID: req.MotionID, Until: req.Until})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, d)
}

type acceptRequest struct {
	Accept *bool `json:"accept" binding:"required"`
}

func (s *Server) acceptDelegation(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req acceptRequest
	if !bindJSON(c, &req) {
		return
	}
	d, err := s.Voting.Accept(c.Request.Context(), principal(c), id, *req.Accept)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

type confirmRequest struct {
	Photo string `json:"photo" binding:"required,max=128"`
}

func (s *Server) confirmDelegation(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	var req confirmRequest
	if !bindJSON(c, &req) {
		return
	}
	d, err := s.Voting.Confirm(c.Request.Context(), principal(c), id, req.Photo)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) revokeDelegation(c *gin.Context) {
	id, ok := idParam(c, "id")
	if !ok {
		return
	}
	d, err := s.Voting.Revoke(c.Request.Context(), principal(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) myDelegations(c *gin.Context) {
	given, held, err := s.Voting.MyDelegations(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"given": given, "held": held})
}
