package petition

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// ErrSignUsersOnly refuses a signature from a staff account.
var ErrSignUsersOnly = louyuan.Forbidden("users_only", "只有户代表可以签名")

// Status is where a petition is.
type Status string

// The statuses: a draft is published (open for signatures) and closes at its
// deadline; a draft can be cancelled.
const (
	StatusDraft     Status = "draft"
	StatusOpen      Status = "open"
	StatusClosed    Status = "closed"
	StatusCancelled Status = "cancelled"
)

// Signature channels.
const (
	ChannelSelf  = "self"
	ChannelPaper = "paper"
)

// Petition is a matter households sign for.
type Petition struct {
	ID               int64             `json:"id"`
	CourtyardID      int64             `json:"courtyard_id"`
	ScopeType        string            `json:"scope_type"`
	ScopeID          int64             `json:"scope_id"`
	Title            string            `json:"title"`
	Body             string            `json:"body"`
	Status           Status            `json:"status"`
	Deadline         time.Time         `json:"deadline"`
	TargetHouseholds *voting.Threshold `json:"target_households,omitempty"`
	TargetArea       *voting.Threshold `json:"target_area,omitempty"`
	CostSharing      bool              `json:"cost_sharing"`
	CreatedBy        string            `json:"created_by"`
	CreatedAt        time.Time         `json:"created_at"`
	PublishedAt      time.Time         `json:"published_at,omitzero"`
	ClosedAt         time.Time         `json:"closed_at,omitzero"`
}

// Draft is what council or staff fill in.
type Draft struct {
	CourtyardID      int64
	ScopeType        string
	ScopeID          int64
	Title            string
	Body             string
	Deadline         time.Time
	TargetHouseholds *voting.Threshold
	TargetArea       *voting.Threshold
	CostSharing      bool
}

// Signature is a household's current signature.
type Signature struct {
	PetitionID    int64     `json:"petition_id"`
	HouseholdID   int64     `json:"household_id"`
	Signer        string    `json:"signer"`
	RealName      string    `json:"real_name"`
	Channel       string    `json:"channel"`
	SignatureFile string    `json:"signature_file,omitempty"`
	PaperFile     string    `json:"paper_file,omitempty"`
	PledgeFen     *int64    `json:"pledge_fen,omitempty"`
	SignedAt      time.Time `json:"signed_at"`
}

// Payment is money a household paid towards its share.
type Payment struct {
	ID          int64     `json:"id"`
	PetitionID  int64     `json:"petition_id"`
	HouseholdID int64     `json:"household_id"`
	AmountFen   int64     `json:"amount_fen"`
	ReceiptNo   string    `json:"receipt_no"`
	ReceiptFile string    `json:"receipt_file,omitempty"`
	RecordedBy  string    `json:"recorded_by"`
	PaidOn      string    `json:"paid_on"` // YYYY-MM-DD
	CreatedAt   time.Time `json:"created_at"`
}

// Resident is a household in a petition's scope.
type Resident struct {
	HouseholdID int64
	UnitID      int64
	Building    string
	Unit        string
	Room        string
	Floor       int
	Area        louyuan.Area
}

// ContentChecker is WeChat's content security check.
type ContentChecker interface {
	// Check returns "pass", "review" or "risky" for text written by the
	// user with openID ("" for staff).
	Check(ctx context.Context, openID, text string) (string, error)
}

// Notifier tells the signers when a petition closes, inside the close's
// transaction.
type Notifier interface {
	PetitionClosed(ctx context.Context, p Petition) error
}

type noNotifier struct{}

func (noNotifier) PetitionClosed(context.Context, Petition) error { return nil }

// SetNotifier makes n hear of closed petitions; call it before serving.
func (s *Service) SetNotifier(n Notifier) { s.notify = n }

// Store keeps petitions, signatures, cost plans and payments.
type Store interface {
	// EvidenceStore records which household a photo of paper vouches for.
	files.EvidenceStore
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error)
	ScopeCourtyard(ctx context.Context, scopeType string, scopeID int64) (int64, error)
	CreatePetition(ctx context.Context, p Petition) (Petition, error)
	Petition(ctx context.Context, id int64) (Petition, error)
	LockPetition(ctx context.Context, id int64) (Petition, error)
	SharePetition(ctx context.Context, id int64) (Petition, error)
	UpdatePetition(ctx context.Context, p Petition, from Status) error
	Petitions(ctx context.Context, courtyardID int64) ([]Petition, error)
	DuePetitions(ctx context.Context, now time.Time) ([]Petition, error)
	// Residents lists the households in the petition's scope.
	Residents(ctx context.Context, p Petition) ([]Resident, error)
	Resident(ctx context.Context, p Petition, householdID int64) (Resident, bool, error)
	// UnitResidents lists the households of one unit in the scope.
	UnitResidents(ctx context.Context, p Petition, unitID int64) ([]Resident, error)
	// ProgressCounts counts the households and area in scope and those
	// signed (one aggregate query: residents read progress often).
	ProgressCounts(ctx context.Context, p Petition) (Progress, error)
	IsRepresentative(ctx context.Context, userID, householdID int64) (bool, error)
	LockRepresentative(ctx context.Context, userID, householdID int64) (bool, error)
	RepresentedHouseholds(ctx context.Context, userID int64) ([]int64, error)
	OpenID(ctx context.Context, userID int64) (string, error)
	// SetRealNameIfEmpty records the name a user typed when none is known,
	// so that lists show who the representative is.
	SetRealNameIfEmpty(ctx context.Context, userID int64, name string) error
	// InsertSignature adds the household's signature; a second one is a
	// conflict (the primary key).
	InsertSignature(ctx context.Context, s Signature) error
	DeleteSignature(ctx context.Context, petitionID, householdID int64) (Signature, error)
	Signature(ctx context.Context, petitionID, householdID int64) (Signature, bool, error)
	Signatures(ctx context.Context, petitionID int64) ([]Signature, error)
	AddEvent(ctx context.Context, petitionID, householdID int64, event, actor, realName, channel string, pledge *int64, at time.Time) error
	PutCostPlan(ctx context.Context, petitionID int64, plan CostPlan, by string, at time.Time) error
	CostPlans(ctx context.Context, petitionID int64) ([]CostPlan, error)
	AddPayment(ctx context.Context, p Payment) (Payment, error)
	Payments(ctx context.Context, petitionID int64) ([]Payment, error)
	FileOwnedBy(ctx context.Context, key, purpose, uploader string) (bool, error)
	FileExists(ctx context.Context, key, purpose string, courtyardID int64) (bool, error)
}

// Service runs petitions.
type Service struct {
	store   Store
	content ContentChecker
	notify  Notifier
	audit   audit.Appender
	log     *slog.Logger
	now     func() time.Time
	tables  CostTableStore // frozen cost tables; nil: shares follow the roster
}

// NewService wires the petition service.
func NewService(store Store, content ContentChecker, al audit.Appender, log *slog.Logger) *Service {
	return &Service{store: store, content: content, audit: al, log: log, now: time.Now, notify: noNotifier{}}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func ref(kind string, id int64) string { return fmt.Sprintf("%s:%d", kind, id) }

func (s *Service) record(ctx context.Context, p Petition, actor, action string, detail map[string]any) error {
	return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(p.CourtyardID), Actor: actor, Action: action, Object: ref("petition", p.ID), Detail: detail})
}

func (s *Service) canManage(ctx context.Context, p identity.Principal, courtyardID int64, roles ...identity.Role) (identity.Place, error) {
	place, err := s.store.CourtyardPlace(ctx, courtyardID)
	if err != nil {
		return place, err
	}
	if len(roles) == 0 {
		roles = identity.CouncilOrStaff
	}
	if !p.Can(place, roles...) {
		return place, louyuan.Forbidden("not_in_scope", "您无权管理该楼院的征求意见")
	}
	return place, nil
}

// canManagePetition is canManage for an existing petition: a caller who
// may not even see it hears that it does not exist (petition_not_found), as
// for any object outside their scope; one who sees it but may not manage
// it is refused (403).
func (s *Service) canManagePetition(ctx context.Context, p identity.Principal, pt Petition, roles ...identity.Role) (identity.Place, error) {
	place, err := s.canManage(ctx, p, pt.CourtyardID, roles...)
	if louyuan.IsKind(err, louyuan.KindForbidden) {
		if serr := s.canSee(ctx, p, pt); serr != nil {
			return place, serr
		}
	}
	return place, err
}

// Create makes a draft petition.
func (s *Service) Create(ctx context.Context, p identity.Principal, d Draft) (Petition, error) {
	d.Title, d.Body = strings.TrimSpace(d.Title), strings.TrimSpace(d.Body)
	if err := louyuan.CheckTexts(louyuan.TextField{Name: "标题", Value: d.Title}, louyuan.TextField{Name: "正文", Value: d.Body, Multiline: true}); err != nil {
		return Petition{}, err
	}
	if n := utf8.RuneCountInString(d.Title); n < 2 || n > 60 {
		return Petition{}, louyuan.Invalid("bad_title", "标题须为2到60个字")
	}
	if utf8.RuneCountInString(d.Body) > 5000 {
		return Petition{}, louyuan.Invalid("bad_body", "正文不能超过5000字")
	}
	if !d.Deadline.After(s.now()) {
		return Petition{}, louyuan.Invalid("deadline_past", "截止时间必须晚于现在")
	}
	if d.Deadline.After(s.now().AddDate(1, 0, 0)) {
		return Petition{}, louyuan.Invalid("deadline_too_far", "截止时间不能超过一年")
	}
	for _, t := range []*voting.Threshold{d.TargetHouseholds, d.TargetArea} {
		if t != nil && !t.Valid() {
			return Petition{}, louyuan.Invalid("bad_target", "目标比例须是0到1之间的分数")
		}
	}
	if d.TargetHouseholds == nil && d.TargetArea == nil {
		return Petition{}, louyuan.Invalid("no_target", "请设定户数或面积的目标比例（至少一项）")
	}
	if _, err := s.canManage(ctx, p, d.CourtyardID); err != nil {
		return Petition{}, err
	}
	pt := Petition{CourtyardID: d.CourtyardID, ScopeType: d.ScopeType, ScopeID: d.ScopeID, Title: d.Title, Body: d.Body, Status: StatusDraft,
		Deadline: d.Deadline.UTC(), TargetHouseholds: d.TargetHouseholds, TargetArea: d.TargetArea, CostSharing: d.CostSharing,
		CreatedBy: p.Ref(), CreatedAt: s.now().UTC()}
	switch pt.ScopeType {
	case voting.ScopeCourtyard:
		pt.ScopeID = pt.CourtyardID
	case voting.ScopeBuilding, voting.ScopeUnit:
		yard, err := s.store.ScopeCourtyard(ctx, pt.ScopeType, pt.ScopeID)
		if err != nil {
			return Petition{}, err
		}
		if yard != pt.CourtyardID {
			return Petition{}, louyuan.Invalid("scope_outside_courtyard", "征求范围不在该楼院内")
		}
	default:
		return Petition{}, louyuan.Invalid("bad_scope", "范围只能是楼院、楼栋或单元")
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if pt, err = s.store.CreatePetition(ctx, pt); err != nil {
			return err
		}
		return s.record(ctx, pt, p.Ref(), "petition.create", map[string]any{"title": pt.Title, "cost_sharing": pt.CostSharing})
	})
	return pt, err
}

// Publish opens a draft for signatures once its text passes WeChat's
// content security check. A "review" verdict needs staff to publish.
func (s *Service) Publish(ctx context.Context, p identity.Principal, id int64) (Petition, error) {
	pt, err := s.store.Petition(ctx, id)
	if err != nil {
		return Petition{}, err
	}
	place, err := s.canManagePetition(ctx, p, pt)
	if err != nil {
		return Petition{}, err
	}
	if pt.Status != StatusDraft {
		return Petition{}, louyuan.Conflict("wrong_status", "只有草稿可以发布")
	}
	openID := ""
	if p.Kind == identity.KindUser {
		if openID, err = s.store.OpenID(ctx, p.ID); err != nil {
			return Petition{}, err
		}
	}
	verdict, err := s.content.Check(ctx, openID, pt.Title+"\n"+pt.Body)
	if err != nil {
		return Petition{}, err
	}
	switch verdict {
	case "risky":
		return Petition{}, louyuan.Invalid("content_risky", "内容未通过微信内容安全检测，请修改后再发布")
	case "review":
		if !p.Can(place, identity.StaffRoles...) {
			return Petition{}, louyuan.Conflict("content_review", "内容需要社区工作人员审核后才能发布")
		}
	}
	var out Petition
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.LockPetition(ctx, id)
		if err != nil {
			return err
		}
		if cur.Status != StatusDraft {
			return louyuan.Conflict("wrong_status", "只有草稿可以发布")
		}
		if !cur.Deadline.After(s.now()) {
			return louyuan.Invalid("deadline_past", "截止时间已过，请修改截止时间")
		}
		cur.Status, cur.PublishedAt = StatusOpen, s.now().UTC()
		if err := s.store.UpdatePetition(ctx, cur, StatusDraft); err != nil {
			return err
		}
		// Published to residents: each unit's cost table is frozen.
		if cur.CostSharing {
			plans, err := s.store.CostPlans(ctx, cur.ID)
			if err != nil {
				return err
			}
			for _, plan := range plans {
				if _, _, err := s.freeze(ctx, cur, plan.UnitID, p.Ref()); err != nil {
					return err
				}
			}
		}
		out = cur
		return s.record(ctx, cur, p.Ref(), "petition.publish", map[string]any{"content_check": verdict})
	})
	return out, err
}

// Close ends signing: at the deadline (the scheduler, with no principal) or
// earlier by staff.
func (s *Service) Close(ctx context.Context, p identity.Principal, id int64) (Petition, error) {
	var out Petition
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.LockPetition(ctx, id)
		if err != nil {
			return err
		}
		actor := "system"
		if p.Kind != "" {
			if _, err := s.canManagePetition(ctx, p, cur, identity.StaffRoles...); err != nil {
				return err
			}
			actor = p.Ref()
		} else if s.now().Before(cur.Deadline) {
			return louyuan.Conflict("not_yet_due", "还没到截止时间")
		}
		if cur.Status != StatusOpen {
			return louyuan.Conflict("wrong_status", "只有进行中的征求可以结束")
		}
		cur.Status, cur.ClosedAt = StatusClosed, s.now().UTC()
		if err := s.store.UpdatePetition(ctx, cur, StatusOpen); err != nil {
			return err
		}
		out = cur
		if err := s.record(ctx, cur, actor, "petition.close", nil); err != nil {
			return err
		}
		return s.notify.PetitionClosed(ctx, cur)
	})
	return out, err
}

// Tick closes petitions past their deadline.
func (s *Service) Tick(ctx context.Context) {
	due, err := s.store.DuePetitions(ctx, s.now().UTC())
	if err != nil {
		s.log.WarnContext(ctx, "list due petitions", "err", err)
		return
	}
	for _, pt := range due {
		if _, err := s.Close(ctx, identity.Principal{}, pt.ID); err != nil && !louyuan.IsKind(err, louyuan.KindConflict) {
			s.log.WarnContext(ctx, "close petition", "petition", pt.ID, "err", err)
		}
	}
}

// SetCostPlan sets a unit's cost table. It cannot change once a household
// of the unit has pledged under it.
func (s *Service) SetCostPlan(ctx context.Context, p identity.Principal, id int64, plan CostPlan) ([]Share, error) {
	if err := plan.Validate(); err != nil {
		return nil, err
	}
	var shares []Share
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		pt, err := s.store.LockPetition(ctx, id)
		if err != nil {
			return err
		}
		if _, err := s.canManagePetition(ctx, p, pt); err != nil {
			return err
		}
		if !pt.CostSharing {
			return louyuan.Conflict("no_cost_sharing", "这项征求没有开启费用分摊")
		}
		if pt.Status != StatusDraft && pt.Status != StatusOpen {
			return louyuan.Conflict("wrong_status", "征求已结束，不能修改分摊表")
		}
		rs, err := s.unitResidents(ctx, pt, plan.UnitID)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			return louyuan.Invalid("unit_outside_scope", "该单元不在征求范围内")
		}
		sigs, err := s.store.Signatures(ctx, id)
		if err != nil {
			return err
		}
		inUnit := map[int64]bool{}
		for _, r := range rs {
			inUnit[r.HouseholdID] = true
		}
		// Pledges made against a frozen version stay with it; without
		// one, they would follow the plan, which then may not change.
		_, frozen, err := s.latestTable(ctx, id, plan.UnitID)
		if err != nil {
			return err
		}
		for _, sg := range sigs {
			if sg.PledgeFen != nil && inUnit[sg.HouseholdID] && !frozen {
				return louyuan.Conflict("pledges_exist", "该单元已有住户按原分摊表认缴，不能再修改")
			}
		}
		if shares, err = Shares(plan, dwellings(rs)); err != nil {
			return err
		}
		if err := s.store.PutCostPlan(ctx, id, plan, p.Ref(), s.now().UTC()); err != nil {
			return err
		}
		if err := s.record(ctx, pt, p.Ref(), "petition.cost_plan", map[string]any{"unit": plan.UnitID, "total_fen": plan.TotalFen, "coefficients": plan.Coefficients}); err != nil {
			return err
		}
		if pt.Status == StatusOpen {
			// Residents see it at once: a new frozen version.
			_, _, err = s.freeze(ctx, pt, plan.UnitID, p.Ref())
		}
		return err
	})
	return shares, err
}

func (s *Service) unitResidents(ctx context.Context, pt Petition, unitID int64) ([]Resident, error) {
	return s.store.UnitResidents(ctx, pt, unitID)
}

func dwellings(rs []Resident) []Dwelling {
	out := make([]Dwelling, len(rs))
	for i, r := range rs {
		out[i] = Dwelling{HouseholdID: r.HouseholdID, Floor: r.Floor, Area: r.Area}
	}
	return out
}

// shareOf returns a household's share under its unit's plan.
func (s *Service) shareOf(ctx context.Context, pt Petition, r Resident) (int64, bool, error) {
	if t, ok, err := s.latestTable(ctx, pt.ID, r.UnitID); err != nil || ok {
		// A published table is the document: its share, whatever the
		// roster says now (a household not in it has none).
		for _, row := range t.Rows {
			if row.HouseholdID == r.HouseholdID {
				return row.ShareFen, true, nil
			}
		}
		return 0, false, err
	}
	plans, err := s.store.CostPlans(ctx, pt.ID)
	if err != nil {
		return 0, false, err
	}
	for _, plan := range plans {
		if plan.UnitID != r.UnitID {
			continue
		}
		rs, err := s.unitResidents(ctx, pt, r.UnitID)
		if err != nil {
			return 0, false, err
		}
		shares, err := Shares(plan, dwellings(rs))
		if err != nil {
			return 0, false, err
		}
		for _, sh := range shares {
			if sh.HouseholdID == r.HouseholdID {
				return sh.ShareFen, true, nil
			}
		}
	}
	return 0, false, nil
}

// SignRequest is a household's signature.
type SignRequest struct {
	HouseholdID   int64
	RealName      string
	SignatureFile string // a PNG uploaded with purpose "signature" (optional)
	PledgeFen     *int64
}

// Sign records the representative's signature for the household.
func (s *Service) Sign(ctx context.Context, p identity.Principal, id int64, req SignRequest) (Signature, error) {
	if p.Kind != identity.KindUser {
		return Signature{}, ErrSignUsersOnly
	}
	if req.SignatureFile != "" {
		owned, err := s.store.FileOwnedBy(ctx, req.SignatureFile, "signature", p.Ref())
		if err != nil {
			return Signature{}, err
		}
		if !owned {
			return Signature{}, louyuan.Invalid("bad_signature_file", "手写签名图片无效，请重新签写")
		}
	}
	// The representative is checked inside the signature's transaction,
	// on a locked membership row.
	sg, err := s.sign(ctx, id, req, ChannelSelf, p.Ref(), "", func(ctx context.Context) error {
		ok, err := s.store.LockRepresentative(ctx, p.ID, req.HouseholdID)
		if err != nil {
			return err
		}
		if !ok {
			return louyuan.Forbidden("not_representative", "只有本户的户代表可以签名；租户不能签名")
		}
		return nil
	})
	if err == nil {
		if err := s.store.SetRealNameIfEmpty(ctx, p.ID, sg.RealName); err != nil {
			s.log.WarnContext(ctx, "record signer's name", "err", err)
		}
	}
	return sg, err
}

// EnterPaper records a signed paper form, entered by council or staff with
// a photo of it.
func (s *Service) EnterPaper(ctx context.Context, p identity.Principal, id int64, req SignRequest, photo string) (Signature, error) {
	pt, err := s.store.Petition(ctx, id)
	if err != nil {
		return Signature{}, err
	}
	if _, err := s.canManagePetition(ctx, p, pt); err != nil {
		return Signature{}, err
	}
	// The photo is this household's evidence in this petition, claimed in
	// the signature's transaction once the household is found in scope.
	use := files.EvidenceUse{FileKey: photo, HouseholdID: req.HouseholdID, Subject: ref("petition", id)}
	return s.sign(ctx, id, req, ChannelPaper, p.Ref(), photo, func(ctx context.Context) error {
		return files.ClaimEvidence(ctx, s.store, pt.CourtyardID, "纸质签名", voting.PaperPurposes, use)
	})
}

func (s *Service) sign(ctx context.Context, id int64, req SignRequest, channel, actor, photo string, check func(ctx context.Context) error) (Signature, error) {
	req.RealName = strings.TrimSpace(req.RealName)
	if err := louyuan.CheckText("真实姓名", req.RealName, false); err != nil {
		return Signature{}, err
	}
	if n := utf8.RuneCountInString(req.RealName); n < 2 || n > 32 {
		return Signature{}, louyuan.Invalid("bad_real_name", "请填写真实姓名（2到32个字）")
	}
	var sg Signature
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		pt, err := s.store.SharePetition(ctx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if pt.Status != StatusOpen || !now.Before(pt.Deadline) {
			return louyuan.Conflict("petition_closed", "该征求不在签名期内")
		}
		r, ok, err := s.store.Resident(ctx, pt, req.HouseholdID)
		if err != nil {
			return err
		}
		if !ok {
			return louyuan.Forbidden("not_in_scope", "您的房屋不在本次征求范围内")
		}
		if check != nil {
			if err := check(ctx); err != nil {
				return err
			}
		}
		if req.PledgeFen != nil {
			if !pt.CostSharing {
				return louyuan.Invalid("no_cost_sharing", "这项征求没有费用分摊，不需要认缴")
			}
			share, planned, err := s.shareOf(ctx, pt, r)
			if err != nil {
				return err
			}
			if !planned {
				return louyuan.Invalid("no_cost_plan", "您所在单元还没有分摊表，暂不能认缴")
			}
			if *req.PledgeFen != share {
				return louyuan.Invalid("pledge_mismatch", fmt.Sprintf("认缴金额应为分摊表中的 %s 元", yuan(share)))
			}
		}
		sg = Signature{PetitionID: id, HouseholdID: req.HouseholdID, Signer: actor, RealName: req.RealName, Channel: channel,
			SignatureFile: req.SignatureFile, PaperFile: photo, PledgeFen: req.PledgeFen, SignedAt: now}
		if err := s.store.InsertSignature(ctx, sg); err != nil {
			return err
		}
		if req.PledgeFen != nil {
			// The pledge stays attached to the version it was made against.
			if t, ok, err := s.latestTable(ctx, pt.ID, r.UnitID); err != nil {
				return err
			} else if ok {
				if err := s.tables.AttachPledge(ctx, id, req.HouseholdID, t.ID); err != nil {
					return err
				}
			}
		}
		event := "sign"
		if channel == ChannelPaper {
			event = "paper"
		}
		if err := s.store.AddEvent(ctx, id, req.HouseholdID, event, actor, req.RealName, channel, req.PledgeFen, now); err != nil {
			return err
		}
		detail := map[string]any{"household": req.HouseholdID, "channel": channel}
		if req.PledgeFen != nil {
			detail["pledge_fen"] = *req.PledgeFen
		}
		if photo != "" {
			detail["photo"] = photo
		}
		return s.audit.Append(ctx, audit.Record{Stream: audit.HouseholdStream(pt.CourtyardID, req.HouseholdID), Actor: actor,
			Action: "signature." + event, Object: ref("petition", pt.ID), Detail: detail})
	})
	return sg, err
}

// Withdraw removes the household's signature before the deadline; the
// history keeps it.
func (s *Service) Withdraw(ctx context.Context, p identity.Principal, id, householdID int64) error {
	if p.Kind != identity.KindUser {
		return louyuan.Forbidden("users_only", "只有户代表可以撤回签名")
	}
	ok, err := s.store.IsRepresentative(ctx, p.ID, householdID)
	if err != nil {
		return err
	}
	if !ok {
		return louyuan.Forbidden("not_representative", "只有本户的户代表可以撤回签名")
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		pt, err := s.store.SharePetition(ctx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if pt.Status != StatusOpen || !now.Before(pt.Deadline) {
			return louyuan.Conflict("petition_closed", "已过截止时间，不能撤回签名")
		}
		if _, err := s.store.DeleteSignature(ctx, id, householdID); err != nil {
			return err
		}
		if err := s.store.AddEvent(ctx, id, householdID, "withdraw", p.Ref(), "", "", nil, now); err != nil {
			return err
		}
		return s.audit.Append(ctx, audit.Record{Stream: audit.HouseholdStream(pt.CourtyardID, householdID), Actor: p.Ref(),
			Action: "signature.withdraw", Object: ref("petition", pt.ID), Detail: map[string]any{"household": householdID}})
	})
}

func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }
