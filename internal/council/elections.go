package council

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// ElectionDraft is what staff fill in to start an election: the unit (a
// courtyard of the council, or a building or unit of one), the seats and
// the term the elected will serve.
type ElectionDraft struct {
	CourtyardID  int64
	ScopeType    string
	ScopeID      int64
	Title        string
	Seats        int
	TermStartsOn string
	TermEndsOn   string
}

// CreateElection starts nominations for a council's next term.
func (s *Service) CreateElection(ctx context.Context, p identity.Principal, councilID int64, d ElectionDraft) (Election, error) {
	d.Title = strings.TrimSpace(d.Title)
	if err := louyuan.CheckText("标题", d.Title, false); err != nil {
		return Election{}, err
	}
	if n := utf8.RuneCountInString(d.Title); n < 2 || n > 60 {
		return Election{}, louyuan.Invalid("bad_title", "标题须为2到60个字")
	}
	if d.Seats < 1 || d.Seats > 25 {
		return Election{}, louyuan.Invalid("bad_seats", "应选人数须在1到25之间")
	}
	if err := checkTerm(d.TermStartsOn, d.TermEndsOn); err != nil {
		return Election{}, err
	}
	c, err := s.store.Council(ctx, councilID, s.today())
	if err != nil {
		return Election{}, err
	}
	if !slices.Contains(c.CourtyardIDs, d.CourtyardID) {
		return Election{}, louyuan.Invalid("courtyard_not_served", "选举单元须在该理事会服务的楼院内")
	}
	if err := s.staffOver(ctx, p, d.CourtyardID); err != nil {
		return Election{}, err
	}
	switch d.ScopeType {
	case voting.ScopeCourtyard:
		d.ScopeID = d.CourtyardID
	case voting.ScopeBuilding, voting.ScopeUnit:
		yard, err := s.store.ScopeCourtyard(ctx, d.ScopeType, d.ScopeID)
		if err != nil {
			return Election{}, err
		}
		if yard != d.CourtyardID {
			return Election{}, louyuan.Invalid("scope_outside_courtyard", "选举单元不在该楼院内")
		}
	default:
		return Election{}, louyuan.Invalid("bad_scope", "选举单元只能是楼院、楼栋或单元")
	}
	e := Election{CouncilID: councilID, CourtyardID: d.CourtyardID, ScopeType: d.ScopeType, ScopeID: d.ScopeID, Title: d.Title, Seats: d.Seats,
		TermStartsOn: d.TermStartsOn, TermEndsOn: d.TermEndsOn, Status: ElectionNominating, CreatedBy: p.Ref(), CreatedAt: s.now().UTC()}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if e, err = s.store.CreateElection(ctx, e); err != nil {
			return err
		}
		return s.record(ctx, e.CourtyardID, p.Ref(), "election.create", ref("election", e.ID), map[string]any{"council": councilID, "title": e.Title,
			"seats": e.Seats, "scope_type": e.ScopeType, "scope_id": e.ScopeID})
	})
	return e, err
}

// Elections lists a council's elections.
func (s *Service) Elections(ctx context.Context, p identity.Principal, councilID int64) ([]Election, error) {
	if _, err := s.store.Council(ctx, councilID, s.today()); err != nil {
		return nil, err
	}
	return s.store.Elections(ctx, councilID)
}

// ElectionView is an election as its viewer may see it.
type ElectionView struct {
	Election   Election    `json:"election"`
	Candidates []Candidate `json:"candidates"`
	Result     *Result     `json:"result,omitempty"`
}

// Result is the count of an election's ballot once voting closed.
type Result struct {
	MotionStatus     string      `json:"motion_status"`
	ParticipationMet bool        `json:"participation_met"`
	Elected          []Candidate `json:"elected"`
	// TieAtLastSeat lists candidates tied across the last seat: nothing is
	// decided and a run-off is needed.
	TieAtLastSeat []Candidate `json:"tie_at_last_seat,omitempty"`
	RunOffNeeded  bool        `json:"run_off_needed"`
	Confirmable   bool        `json:"confirmable"`
}

// eligibility fills in each candidate's eligibility under the election's
// community checklist.
func (s *Service) eligibility(ctx context.Context, e Election, cs []Candidate) ([]Candidate, error) {
	checklist, err := s.checklistOf(ctx, e)
	if err != nil {
		return nil, err
	}
	fs, err := s.store.ElectionFindings(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		cs[i].Eligibility, _ = Eligibility(checklist, fs[cs[i].ID])
	}
	return cs, nil
}

func (s *Service) checklistOf(ctx context.Context, e Election) ([]Criterion, error) {
	place, err := s.store.CourtyardPlace(ctx, e.CourtyardID)
	if err != nil {
		return nil, err
	}
	sw, err := s.store.Switches(ctx, place.CommunityID)
	if err != nil {
		return nil, err
	}
	return Checklist(s.criteria, sw), nil
}

// Election shows an election: staff see every candidate and whether each
// is eligible; others see the published eligible candidates, and a
// candidate also their own standing.
func (s *Service) Election(ctx context.Context, p identity.Principal, id int64) (ElectionView, error) {
	e, err := s.store.Election(ctx, id)
	if err != nil {
		return ElectionView{}, err
	}
	staff, err := s.isStaffOf(ctx, p, e.CourtyardID)
	if err != nil {
		return ElectionView{}, err
	}
	cs, err := s.store.Candidates(ctx, id)
	if err != nil {
		return ElectionView{}, err
	}
	if cs, err = s.eligibility(ctx, e, cs); err != nil {
		return ElectionView{}, err
	}
	v := ElectionView{Election: e, Candidates: []Candidate{}}
	for _, c := range cs {
		mine := p.Kind == identity.KindUser && c.UserID == p.ID
		published := e.Status != ElectionNominating && c.Eligibility == Eligible
		switch {
		case staff || mine:
			v.Candidates = append(v.Candidates, c)
		case published:
			c.Eligibility, c.Nominators = "", nil
			v.Candidates = append(v.Candidates, c)
		}
	}
	if e.MotionID != 0 {
		r, err := s.result(ctx, p, staff, e, cs)
		if err != nil {
			return ElectionView{}, err
		}
		v.Result = r
	}
	return v, nil
}

// result reads the ballot's count once voting closed (nil before).
// Findings (eligibility) stay with staff and each candidate, as in the
// candidate list.
func (s *Service) result(ctx context.Context, p identity.Principal, staff bool, e Election, cs []Candidate) (*Result, error) {
	m, err := s.motions.Motion(ctx, p, e.MotionID)
	if err != nil {
		if louyuan.IsKind(err, louyuan.KindNotFound) || louyuan.IsKind(err, louyuan.KindForbidden) {
			return nil, nil
		}
		return nil, err
	}
	if m.Result == nil {
		return &Result{MotionStatus: string(m.Status), Elected: []Candidate{}}, nil
	}
	byKey := map[string]Candidate{}
	for _, c := range cs {
		if c.OptionKey != "" {
			c.Nominators = nil
			if !staff && (p.Kind != identity.KindUser || c.UserID != p.ID) {
				c.Eligibility = ""
			}
			byKey[c.OptionKey] = c
		}
	}
	t := m.Result
	r := &Result{MotionStatus: string(m.Status), ParticipationMet: t.ParticipationArea.Met && t.ParticipationHead.Met, Elected: []Candidate{}}
	for _, k := range t.Elected {
		r.Elected = append(r.Elected, byKey[k])
	}
	for _, k := range t.TieAtLastSeat {
		r.TieAtLastSeat = append(r.TieAtLastSeat, byKey[k])
	}
	r.RunOffNeeded = len(t.TieAtLastSeat) > 0
	r.Confirmable = m.Status == voting.StatusFinal && r.ParticipationMet && !r.RunOffNeeded && len(r.Elected) == e.Seats && e.Status == ElectionBallot
	return r, nil
}

// Nomination puts someone forward.
type Nomination struct {
	UserID    int64
	Source    string
	Statement string
	// Name is the candidate's real name, needed when the platform does not
	// know it yet.
	Name string
	// Nominators are the users (household representatives in the unit)
	// who nominate, for source residents; the caller must be one of them.
	Nominators []int64
}

// Nominate adds a candidate: recommended by the community (staff), self-
// nominated, or nominated by residents who are household representatives
// in the election unit. The candidate must be an owner or family member of
// a household in the unit.
func (s *Service) Nominate(ctx context.Context, p identity.Principal, electionID int64, n Nomination) (Candidate, error) {
	n.Statement = strings.TrimSpace(n.Statement)
	if err := louyuan.CheckText("自我介绍", n.Statement, true); err != nil {
		return Candidate{}, err
	}
	if utf8.RuneCountInString(n.Statement) > 1000 {
		return Candidate{}, louyuan.Invalid("bad_statement", "介绍不能超过1000字")
	}
	e, err := s.store.Election(ctx, electionID)
	if err != nil {
		return Candidate{}, err
	}
	var nominators []Nominator
	switch n.Source {
	case SourceCommunity:
		if err := s.staffOver(ctx, p, e.CourtyardID); err != nil {
			return Candidate{}, err
		}
	case SourceSelf:
		if p.Kind != identity.KindUser || p.ID != n.UserID {
			return Candidate{}, louyuan.Forbidden("self_only", "自荐只能本人提出")
		}
	case SourceResidents:
		if p.Kind != identity.KindUser || !slices.Contains(n.Nominators, p.ID) {
			return Candidate{}, louyuan.Forbidden("nominator_required", "居民推选须由推选人之一提出")
		}
		seen := map[int64]bool{}
		for _, u := range n.Nominators {
			if seen[u] {
				continue
			}
			seen[u] = true
			all, in, err := s.store.Represented(ctx, u, e.ScopeType, e.ScopeID)
			if err != nil {
				return Candidate{}, err
			}
			if err := checkNominator(all, in); err != nil {
				return Candidate{}, err
			}
			nominators = append(nominators, Nominator{UserID: u, HouseholdID: in[0]})
		}
	default:
		return Candidate{}, louyuan.Invalid("bad_source", "提名方式只能是 community（街道社区推荐）、self（自荐）或 residents（居民推选）")
	}
	hid, ok, err := s.store.MemberHousehold(ctx, n.UserID, e.ScopeType, e.ScopeID)
	if err != nil {
		return Candidate{}, err
	}
	if !ok {
		return Candidate{}, louyuan.Invalid("candidate_outside_unit", "候选人须是本选举单元内的业主或家庭成员（租户除外）")
	}
	name, err := s.store.UserName(ctx, n.UserID)
	if err != nil {
		return Candidate{}, err
	}
	if name == "" {
		name = strings.TrimSpace(n.Name)
	}
	if err := louyuan.CheckText("姓名", name, false); err != nil {
		return Candidate{}, err
	}
	if name == "" || utf8.RuneCountInString(name) > 32 {
		return Candidate{}, louyuan.Invalid("candidate_name_missing", "请填写候选人的真实姓名（32字以内）")
	}
	c := Candidate{ElectionID: e.ID, UserID: n.UserID, HouseholdID: hid, Name: name, Source: n.Source, Statement: n.Statement,
		NominatedBy: p.Ref(), Nominators: nominators, CreatedAt: s.now().UTC()}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.LockElection(ctx, e.ID)
		if err != nil {
			return err
		}
		if cur.Status != ElectionNominating {
			return louyuan.Conflict("nominations_closed", "候选人名单已公布，不能再提名")
		}
		if c, err = s.store.CreateCandidate(ctx, c); err != nil {
			return err
		}
		return s.record(ctx, e.CourtyardID, p.Ref(), "candidate.nominate", ref("candidate", c.ID), map[string]any{"election": e.ID,
			"user": c.UserID, "source": c.Source, "nominators": len(nominators)})
	})
	return c, err
}

// ChecklistItem is one criterion with staff's finding, if any.
type ChecklistItem struct {
	Criterion Criterion `json:"criterion"`
	Finding   *Finding  `json:"finding,omitempty"`
}

// CandidateChecklist is what staff are asked to check of a candidate and
// what they found: visible to staff and the candidate only.
type CandidateChecklist struct {
	Candidate   Candidate       `json:"candidate"`
	Items       []ChecklistItem `json:"items"`
	Eligibility string          `json:"eligibility"`
	ToCheck     []string        `json:"to_check"`
	Appeal      *Appeal         `json:"appeal,omitempty"`
}

func (s *Service) candidate(ctx context.Context, p identity.Principal, id int64) (Candidate, Election, bool, error) {
	c, err := s.store.Candidate(ctx, id)
	if err != nil {
		return c, Election{}, false, err
	}
	e, err := s.store.Election(ctx, c.ElectionID)
	if err != nil {
		return c, e, false, err
	}
	staff, err := s.isStaffOf(ctx, p, e.CourtyardID)
	return c, e, staff, err
}

var errCandidateNotFound = louyuan.NotFound("candidate_not_found", "候选人不存在")

// notStaff refuses a staff-only step on a candidate: the candidate, who sees
// their checklist, is refused (403); to anyone else it does not exist.
func notStaff(p identity.Principal, c Candidate, msg string) error {
	if p.Kind == identity.KindUser && p.ID == c.UserID {
		return louyuan.Forbidden("not_in_scope", msg)
	}
	return errCandidateNotFound
}

// CandidateVisible tells whether p may see the candidate (staff of the
// courtyard and the candidate): nil, or the 404 a read gives them (the API
// checks it before reading a request's body).
func (s *Service) CandidateVisible(ctx context.Context, p identity.Principal, id int64) error {
	c, _, staff, err := s.candidate(ctx, p, id)
	if err != nil {
		return err
	}
	if !seesCandidate(p, c, staff) {
		return errCandidateNotFound
	}
	return nil
}

// seesCandidate: staff of the courtyard and the candidate see a candidate.
func seesCandidate(p identity.Principal, c Candidate, staff bool) bool {
	return staff || p.Kind == identity.KindUser && p.ID == c.UserID
}

// Checklist returns a candidate's checklist to staff and to the candidate.
func (s *Service) Checklist(ctx context.Context, p identity.Principal, candidateID int64) (CandidateChecklist, error) {
	c, e, staff, err := s.candidate(ctx, p, candidateID)
	if err != nil {
		return CandidateChecklist{}, err
	}
	if !seesCandidate(p, c, staff) {
		return CandidateChecklist{}, errCandidateNotFound
	}
	return s.checklist(ctx, e, c)
}

func (s *Service) checklist(ctx context.Context, e Election, c Candidate) (CandidateChecklist, error) {
	criteria, err := s.checklistOf(ctx, e)
	if err != nil {
		return CandidateChecklist{}, err
	}
	fs, err := s.store.Findings(ctx, c.ID)
	if err != nil {
		return CandidateChecklist{}, err
	}
	out := CandidateChecklist{Candidate: c, Items: []ChecklistItem{}, ToCheck: []string{}}
	out.Eligibility, out.ToCheck = Eligibility(criteria, fs)
	if out.ToCheck == nil {
		out.ToCheck = []string{}
	}
	out.Candidate.Eligibility = out.Eligibility
	for _, cr := range criteria {
		if !cr.Enabled {
			continue
		}
		item := ChecklistItem{Criterion: cr}
		for _, f := range fs {
			if f.Criterion == cr.Code {
				item.Finding = &f
			}
		}
		out.Items = append(out.Items, item)
	}
	a, ok, err := s.store.Appeal(ctx, c.ID)
	if err != nil {
		return CandidateChecklist{}, err
	}
	if ok {
		out.Appeal = &a
	}
	return out, s.staffNames(ctx, &out)
}

// RecordFinding records staff's finding on one criterion, with a note or
// an uploaded evidence file.
func (s *Service) RecordFinding(ctx context.Context, p identity.Principal, candidateID int64, criterion string, pass bool, note, evidence string) (CandidateChecklist, error) {
	note = strings.TrimSpace(note)
	if err := louyuan.CheckText("说明", note, true); err != nil {
		return CandidateChecklist{}, err
	}
	if utf8.RuneCountInString(note) > 1000 {
		return CandidateChecklist{}, louyuan.Invalid("bad_note", "说明不能超过1000字")
	}
	if note == "" && evidence == "" {
		return CandidateChecklist{}, louyuan.Invalid("evidence_required", "请填写核查说明或上传证明材料")
	}
	c, e, staff, err := s.candidate(ctx, p, candidateID)
	if err != nil {
		return CandidateChecklist{}, err
	}
	if !staff {
		return CandidateChecklist{}, notStaff(p, c, "只有负责该楼院的工作人员可以审查候选人资格")
	}
	checklist, err := s.checklistOf(ctx, e)
	if err != nil {
		return CandidateChecklist{}, err
	}
	on := false
	for _, cr := range checklist {
		on = on || (cr.Code == criterion && cr.Enabled)
	}
	if !on {
		return CandidateChecklist{}, louyuan.Invalid("criterion_off", "该资格条件不存在或未启用，无需审查")
	}
	if evidence != "" {
		ok, err := s.store.EvidenceExists(ctx, evidence)
		if err != nil {
			return CandidateChecklist{}, err
		}
		if !ok {
			return CandidateChecklist{}, louyuan.Invalid("evidence_not_found", "证明材料文件不存在，请先上传（用途 vetting_evidence）")
		}
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.LockElection(ctx, e.ID)
		if err != nil {
			return err
		}
		if cur.Status == ElectionConfirmed {
			return louyuan.Conflict("election_over", "选举已结束，不能再修改审查结论")
		}
		f := Finding{CandidateID: c.ID, Criterion: criterion, Pass: pass, Note: note, EvidenceFile: evidence, FoundBy: p.Ref(), UpdatedBy: p.Ref(), UpdatedAt: s.now().UTC()}
		if err := s.store.PutFinding(ctx, f); err != nil {
			return err
		}
		return s.record(ctx, e.CourtyardID, p.Ref(), "candidate.finding", ref("candidate", c.ID), map[string]any{"criterion": criterion, "pass": pass,
			"evidence": evidence != ""})
	})
	if err != nil {
		return CandidateChecklist{}, err
	}
	return s.checklist(ctx, e, c)
}

// FileAppeal is the candidate's one appeal against being found ineligible.
func (s *Service) FileAppeal(ctx context.Context, p identity.Principal, candidateID int64, reason string) (CandidateChecklist, error) {
	reason = strings.TrimSpace(reason)
	if err := louyuan.CheckText("申诉理由", reason, true); err != nil {
		return CandidateChecklist{}, err
	}
	if n := utf8.RuneCountInString(reason); n < 2 || n > 1000 {
		return CandidateChecklist{}, louyuan.Invalid("bad_reason", "申诉理由须为2到1000字")
	}
	c, e, staff, err := s.candidate(ctx, p, candidateID)
	if err != nil {
		return CandidateChecklist{}, err
	}
	if p.Kind != identity.KindUser || p.ID != c.UserID {
		if staff { // staff see the checklist: refused, not told it is missing
			return CandidateChecklist{}, louyuan.Forbidden("not_candidate", "只有候选人本人可以申诉")
		}
		return CandidateChecklist{}, errCandidateNotFound
	}
	cl, err := s.checklist(ctx, e, c)
	if err != nil {
		return CandidateChecklist{}, err
	}
	if cl.Eligibility != Ineligible {
		return CandidateChecklist{}, louyuan.Conflict("not_ineligible", "只有被认定不符合条件时才能申诉")
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.InsertAppeal(ctx, Appeal{CandidateID: c.ID, Reason: reason, FiledAt: s.now().UTC()}); err != nil {
			return err
		}
		return s.record(ctx, e.CourtyardID, p.Ref(), "candidate.appeal", ref("candidate", c.ID), nil)
	})
	if err != nil {
		return CandidateChecklist{}, err
	}
	return s.checklist(ctx, e, c)
}

// DecideAppeal decides an appeal: by a staff member who recorded none of
// the failed findings. Upheld, the failed findings become passes recorded
// by the decider.
func (s *Service) DecideAppeal(ctx context.Context, p identity.Principal, candidateID int64, upheld bool, note string) (CandidateChecklist, error) {
	note = strings.TrimSpace(note)
	if err := louyuan.CheckText("复核意见", note, true); err != nil {
		return CandidateChecklist{}, err
	}
	if n := utf8.RuneCountInString(note); n < 2 || n > 1000 {
		return CandidateChecklist{}, louyuan.Invalid("bad_note", "复核意见须为2到1000字")
	}
	c, e, staff, err := s.candidate(ctx, p, candidateID)
	if err != nil {
		return CandidateChecklist{}, err
	}
	if !staff {
		return CandidateChecklist{}, notStaff(p, c, "只有负责该楼院的工作人员可以复核申诉")
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.LockElection(ctx, e.ID); err != nil {
			return err
		}
		a, ok, err := s.store.Appeal(ctx, c.ID)
		if err != nil {
			return err
		}
		if !ok {
			return louyuan.NotFound("appeal_not_found", "该候选人没有提出申诉")
		}
		if a.Decided {
			return louyuan.Conflict("appeal_decided", "该申诉已经复核过了")
		}
		fs, err := s.store.Findings(ctx, c.ID)
		if err != nil {
			return err
		}
		if err := appealDecider(p.Ref(), fs); err != nil {
			return err
		}
		now := s.now().UTC()
		a.Decided, a.Upheld, a.DecisionNote, a.DecidedBy, a.DecidedAt = true, upheld, note, p.Ref(), now
		if err := s.store.DecideAppeal(ctx, a); err != nil {
			return err
		}
		if upheld {
			for _, f := range fs {
				if f.Pass {
					continue
				}
				f.Pass, f.Note, f.UpdatedBy, f.UpdatedAt = true, "申诉复核："+note, p.Ref(), now
				if err := s.store.PutFinding(ctx, f); err != nil {
					return err
				}
			}
		}
		return s.record(ctx, e.CourtyardID, p.Ref(), "candidate.appeal_decide", ref("candidate", c.ID), map[string]any{"upheld": upheld})
	})
	if err != nil {
		return CandidateChecklist{}, err
	}
	return s.checklist(ctx, e, c)
}

// PublishCandidates closes nominations and announces the eligible
// candidates to the unit's households.
func (s *Service) PublishCandidates(ctx context.Context, p identity.Principal, electionID int64) (Election, error) {
	e, err := s.store.Election(ctx, electionID)
	if err != nil {
		return Election{}, err
	}
	if err := s.staffOver(ctx, p, e.CourtyardID); err != nil {
		return Election{}, err
	}
	cs, err := s.store.Candidates(ctx, e.ID)
	if err != nil {
		return Election{}, err
	}
	if cs, err = s.eligibility(ctx, e, cs); err != nil {
		return Election{}, err
	}
	var names []string
	for _, c := range cs {
		if c.Eligibility == Eligible {
			names = append(names, c.Name)
		}
	}
	if len(names) < e.Seats {
		return Election{}, louyuan.Errorf(louyuan.KindConflict, "too_few_eligible", "符合条件的候选人只有%d名，少于应选人数%d名", len(names), e.Seats)
	}
	users, err := s.store.ScopeRepresentatives(ctx, e.ScopeType, e.ScopeID)
	if err != nil {
		return Election{}, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.LockElection(ctx, e.ID)
		if err != nil {
			return err
		}
		if cur.Status != ElectionNominating {
			return louyuan.Conflict("already_published", "候选人名单已经公布过了")
		}
		cur.Status, cur.PublishedAt = ElectionPublished, s.now().UTC()
		if err := s.store.UpdateElection(ctx, cur); err != nil {
			return err
		}
		e = cur
		if err := s.record(ctx, e.CourtyardID, p.Ref(), "election.publish_candidates", ref("election", e.ID), map[string]any{"eligible": len(names)}); err != nil {
			return err
		}
		return s.notify.Tell(ctx, e.CourtyardID, ref("election_candidates", e.ID), "候选人公布："+e.Title,
			"经资格审查，候选人为："+strings.Join(names, "、")+"。应选"+itoa(e.Seats)+"名。", "pages/election/detail?id="+itoa(int(e.ID)), users)
	})
	return e, err
}

func itoa(n int) string { return strconv.Itoa(n) }

// BallotDraft is the ballot's timeline and the candidates on it.
type BallotDraft struct {
	// CandidateIDs are the candidates on the ballot, in order; empty means
	// every eligible candidate.
	CandidateIDs  []int64
	Mode          string
	NoticeDays    int
	ObjectionDays int
	OpensAt       time.Time
	ClosesAt      time.Time
}

// DrawBallot creates the election's motion (rule election, K seats) from
// eligible candidates only; a new one may be drawn after a ballot that
// ended in a tie or was cancelled (a run-off).
func (s *Service) DrawBallot(ctx context.Context, p identity.Principal, electionID int64, d BallotDraft) (Election, voting.Motion, error) {
	e, err := s.store.Election(ctx, electionID)
	if err != nil {
		return Election{}, voting.Motion{}, err
	}
	if err := s.staffOver(ctx, p, e.CourtyardID); err != nil {
		return Election{}, voting.Motion{}, err
	}
	switch e.Status {
	case ElectionPublished:
	case ElectionBallot:
		m, err := s.motions.Motion(ctx, p, e.MotionID)
		if err != nil {
			return Election{}, voting.Motion{}, err
		}
		over := m.Status == voting.StatusCancelled || (m.Status == voting.StatusFinal && (m.Passed == nil || !*m.Passed))
		if !over {
			return Election{}, voting.Motion{}, louyuan.Conflict("ballot_exists", "本次选举的投票已经发起；只有投票取消或出现并列需要重新投票时才能再发起")
		}
	default:
		return Election{}, voting.Motion{}, louyuan.Conflict("wrong_status", "候选人名单公布后才能发起投票")
	}
	cs, err := s.store.Candidates(ctx, e.ID)
	if err != nil {
		return Election{}, voting.Motion{}, err
	}
	if cs, err = s.eligibility(ctx, e, cs); err != nil {
		return Election{}, voting.Motion{}, err
	}
	var on []Candidate
	if len(d.CandidateIDs) == 0 {
		for _, c := range cs {
			if c.Eligibility == Eligible {
				on = append(on, c)
			}
		}
	} else {
		byID := map[int64]Candidate{}
		for _, c := range cs {
			byID[c.ID] = c
		}
		seen := map[int64]bool{}
		for _, id := range d.CandidateIDs {
			c, ok := byID[id]
			if !ok || seen[id] {
				return Election{}, voting.Motion{}, louyuan.Invalid("bad_candidates", "候选人不属于本次选举或有重复")
			}
			seen[id] = true
			if c.Eligibility != Eligible {
				return Election{}, voting.Motion{}, louyuan.Errorf(louyuan.KindConflict, "candidate_ineligible",
					"%s未通过资格审查（或审查尚未完成），不能列入选票", c.Name)
			}
			on = append(on, c)
		}
	}
	if len(on) < e.Seats {
		return Election{}, voting.Motion{}, louyuan.Errorf(louyuan.KindConflict, "too_few_eligible", "选票上的候选人少于应选人数%d名", e.Seats)
	}
	labels := make([]string, len(on))
	count := map[string]int{}
	for _, c := range on {
		count[c.Name]++
	}
	for i, c := range on {
		labels[i] = c.Name
		if count[c.Name] > 1 {
			labels[i] = c.Name + "（候选人" + itoa(int(c.ID)) + "）"
		}
	}
	subject := e.Title + "（选举" + itoa(int(e.ID)) + "）"
	if e.MotionID != 0 {
		subject = e.Title + "（选举" + itoa(int(e.ID)) + "，重新投票" + itoa(int(e.MotionID)) + "）"
	}
	var m voting.Motion
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.LockElection(ctx, e.ID)
		if err != nil {
			return err
		}
		if cur.Status != e.Status || cur.MotionID != e.MotionID {
			return louyuan.Conflict("wrong_status", "选举状态已变化，请刷新后重试")
		}
		m, err = s.motions.Create(ctx, p, voting.Draft{CourtyardID: e.CourtyardID, ScopeType: e.ScopeType, ScopeID: e.ScopeID, Title: e.Title,
			Subject: subject, Rule: voting.RuleElection, Seats: e.Seats, Candidates: labels, Mode: d.Mode, NoticeDays: d.NoticeDays,
			ObjectionDays: d.ObjectionDays, OpensAt: d.OpensAt, ClosesAt: d.ClosesAt})
		if err != nil {
			return err
		}
		// A run-off may leave candidates of the last ballot off: their
		// old keys would name options of the new motion.
		if err := s.store.ClearOptionKeys(ctx, e.ID); err != nil {
			return err
		}
		keys := m.OptionKeys()
		for i, c := range on {
			if err := s.store.SetOptionKey(ctx, c.ID, keys[i]); err != nil {
				return err
			}
		}
		cur.Status, cur.MotionID = ElectionBallot, m.ID
		if err := s.store.UpdateElection(ctx, cur); err != nil {
			return err
		}
		e = cur
		return s.record(ctx, e.CourtyardID, p.Ref(), "election.ballot", ref("election", e.ID), map[string]any{"motion": m.ID, "candidates": len(on)})
	})
	return e, m, err
}

// ConfirmSeats names the chair and treasurer among the elected (optional;
// the others are members).
type ConfirmSeats struct {
	ChairCandidateID     int64
	TreasurerCandidateID int64
}

// Confirm turns a final election result into the council's new term: the
// running term ends the day before the new one starts, and the roles of
// the elected follow the term.
func (s *Service) Confirm(ctx context.Context, p identity.Principal, electionID int64, seats ConfirmSeats) (Council, error) {
	e, err := s.store.Election(ctx, electionID)
	if err != nil {
		return Council{}, err
	}
	if err := s.staffOver(ctx, p, e.CourtyardID); err != nil {
		return Council{}, err
	}
	if e.MotionID == 0 {
		return Council{}, louyuan.Conflict("no_ballot", "本次选举还没有投票")
	}
	cs, err := s.store.Candidates(ctx, e.ID)
	if err != nil {
		return Council{}, err
	}
	r, err := s.result(ctx, p, true, e, cs)
	if err != nil {
		return Council{}, err
	}
	switch {
	case r == nil || r.MotionStatus != string(voting.StatusFinal):
		return Council{}, louyuan.Conflict("result_not_final", "投票结果还不是最终结果（异议期结束后才能确认）")
	case r.RunOffNeeded:
		return Council{}, louyuan.Conflict("tie_at_last_seat", "最后一个席位出现得票并列，须重新投票决定，不能确认")
	case !r.ParticipationMet:
		return Council{}, louyuan.Conflict("participation_short", "参与表决的面积或人数不足三分之二，选举无效")
	case !r.Confirmable:
		return Council{}, louyuan.Conflict("not_confirmable", "选举结果不能确认")
	}
	var members []Member
	for _, c := range r.Elected {
		seat := SeatMember
		switch c.ID {
		case seats.ChairCandidateID:
			seat = SeatChair
		case seats.TreasurerCandidateID:
			seat = SeatTreasurer
		}
		members = append(members, Member{UserID: c.UserID, Name: c.Name, Seat: seat})
	}
	for _, id := range []int64{seats.ChairCandidateID, seats.TreasurerCandidateID} {
		if id != 0 && !slices.ContainsFunc(r.Elected, func(c Candidate) bool { return c.ID == id }) {
			return Council{}, louyuan.Invalid("not_elected", "理事长和财务只能从当选人中指定")
		}
	}
	if seats.ChairCandidateID != 0 && seats.ChairCandidateID == seats.TreasurerCandidateID {
		return Council{}, louyuan.Invalid("bad_seats", "理事长和财务不能是同一人")
	}
	users, err := s.store.ScopeRepresentatives(ctx, e.ScopeType, e.ScopeID)
	if err != nil {
		return Council{}, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.LockElection(ctx, e.ID)
		if err != nil {
			return err
		}
		if cur.Status != ElectionBallot || cur.MotionID != e.MotionID {
			return louyuan.Conflict("already_confirmed", "本次选举已经确认过了")
		}
		termID, err := s.store.StartTerm(ctx, e.CouncilID, e.TermStartsOn, e.TermEndsOn, members, s.now().UTC())
		if err != nil {
			return err
		}
		cur.Status, cur.TermID, cur.ConfirmedBy, cur.ConfirmedAt = ElectionConfirmed, termID, p.Ref(), s.now().UTC()
		if err := s.store.UpdateElection(ctx, cur); err != nil {
			return err
		}
		var names []string
		for _, m := range members {
			names = append(names, m.Name)
			if err := s.record(ctx, e.CourtyardID, p.Ref(), "council.member_add", ref("user", m.UserID), map[string]any{"seat": m.Seat, "term": termID,
				"election": e.ID}); err != nil {
				return err
			}
		}
		if err := s.record(ctx, e.CourtyardID, p.Ref(), "election.confirm", ref("election", e.ID), map[string]any{"term": termID, "elected": len(members)}); err != nil {
			return err
		}
		return s.notify.Tell(ctx, e.CourtyardID, ref("election_result", e.ID), "选举结果："+e.Title,
			"新一届理事会成员："+strings.Join(names, "、")+"，任期"+e.TermStartsOn+"至"+e.TermEndsOn+"。", "pages/election/detail?id="+itoa(int(e.ID)), users)
	})
	if err != nil {
		return Council{}, err
	}
	return s.store.Council(ctx, e.CouncilID, s.today())
}
