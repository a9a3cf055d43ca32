package opinion

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/petition"
	"github.com/louyuan/louyuan/internal/voting"
)

// Store keeps opinions and surveys. Methods join the transaction ctx
// carries.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error)
	CommunityPlace(ctx context.Context, communityID int64) (identity.Place, error)
	// IsResident reports whether the user is a bound member (any role) of
	// a household of the courtyard.
	IsResident(ctx context.Context, userID, courtyardID int64) (bool, error)
	// BuildingCourtyard finds the courtyard of a building.
	BuildingCourtyard(ctx context.Context, buildingID int64) (int64, error)
	// PhotoOwnedBy reports whether a stored opinion_photo has that key
	// and was uploaded by uploader.
	PhotoOwnedBy(ctx context.Context, key, uploader string) (bool, error)
	// IsCouncilMember reports whether the user holds a seat in a term,
	// running today, of a council of the courtyard.
	IsCouncilMember(ctx context.Context, userID, courtyardID int64, today string) (bool, error)

	CreateOpinion(ctx context.Context, o Opinion) (Opinion, error)
	Opinion(ctx context.Context, id int64) (Opinion, error)
	LockOpinion(ctx context.Context, id int64) (Opinion, error)
	UpdateOpinion(ctx context.Context, o Opinion) error
	// Opinions lists a courtyard's opinions, newest first: all of them, or
	// (all == false) the public ones and those raised by userID.
	Opinions(ctx context.Context, courtyardID int64, all bool, userID int64, status Status) ([]Opinion, error)
	UserOpinions(ctx context.Context, userID int64) ([]Opinion, error)
	AddReply(ctx context.Context, r Reply) (Reply, error)
	Replies(ctx context.Context, opinionID int64) ([]Reply, error)

	// Council reads a council with its terms (current as of today).
	Council(ctx context.Context, id int64, today string) (council.Council, error)
	CommunityCouncils(ctx context.Context, communityID int64) ([]int64, error)
	// Representatives lists the representatives of a courtyard's
	// households (for notices).
	Representatives(ctx context.Context, courtyardID int64) ([]int64, error)
	// Represents reports whether the user represents the household, and
	// the household's courtyard.
	Represents(ctx context.Context, userID, householdID int64) (bool, int64, error)
	RepresentedHouseholds(ctx context.Context, userID int64) ([]int64, error)
	CreateSurvey(ctx context.Context, s Survey) (Survey, error)
	Survey(ctx context.Context, id int64) (Survey, error)
	LockSurvey(ctx context.Context, id int64) (Survey, error)
	// ShareSurvey reads a survey under a shared lock: closing it waits
	// for the responses being written, and they see it closed after.
	ShareSurvey(ctx context.Context, id int64) (Survey, error)
	CloseSurvey(ctx context.Context, id int64) error
	Surveys(ctx context.Context, councilID int64) ([]Survey, error)
	// InsertResponse adds a household's response; a second one for the
	// same survey and household is a conflict (the unique key).
	InsertResponse(ctx context.Context, r Response) (Response, error)
	Responses(ctx context.Context, surveyID int64) ([]Response, error)
	AnsweredHouseholds(ctx context.Context, surveyID int64, households []int64) ([]int64, error)
}

// Motions and Petitions are the voting and petition services an opinion
// becomes a draft through.
type Motions interface {
	Create(ctx context.Context, p identity.Principal, d voting.Draft) (voting.Motion, error)
}

// Petitions creates petition drafts.
type Petitions interface {
	Create(ctx context.Context, p identity.Principal, d petition.Draft) (petition.Petition, error)
}

// Notifier tells users of an event through the notice pipeline, inside the
// change's transaction; key makes the event once-only.
type Notifier interface {
	Tell(ctx context.Context, courtyardID int64, key, title, body, page string, users []int64) error
}

type noNotifier struct{}

func (noNotifier) Tell(context.Context, int64, string, string, string, string, []int64) error {
	return nil
}

// Service runs opinions and surveys.
type Service struct {
	store     Store
	motions   Motions
	petitions Petitions
	audit     audit.Appender
	notify    Notifier
	log       *slog.Logger
	now       func() time.Time
}

// NewService wires the opinion service.
func NewService(store Store, motions Motions, petitions Petitions, al audit.Appender, log *slog.Logger) *Service {
	return &Service{store: store, motions: motions, petitions: petitions, audit: al, notify: noNotifier{}, log: log, now: time.Now}
}

// SetNotifier makes n tell people of answers and surveys; call it before
// serving.
func (s *Service) SetNotifier(n Notifier) { s.notify = n }

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func (s *Service) today() string { return s.now().In(louyuan.China).Format(time.DateOnly) }

func ref(kind string, id int64) string { return fmt.Sprintf("%s:%d", kind, id) }

func (s *Service) record(ctx context.Context, courtyardID int64, actor, action, object string, detail map[string]any) error {
	return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(courtyardID), Actor: actor, Action: action, Object: object, Detail: detail})
}

var (
	errOpinionNotFound = louyuan.NotFound("opinion_not_found", "意见不存在")
	councilRoles       = []identity.Role{identity.RoleCouncilChair, identity.RoleCouncilMember, identity.RoleCouncilTreasurer}
)

// viewer finds how p stands to a courtyard.
func (s *Service) viewer(ctx context.Context, p identity.Principal, courtyardID int64) (Viewer, error) {
	place, err := s.store.CourtyardPlace(ctx, courtyardID)
	if err != nil {
		return Viewer{}, err
	}
	v := Viewer{Council: p.Can(place, councilRoles...), Staff: p.Can(place, identity.StaffRoles...)}
	if p.Kind == identity.KindUser {
		v.UserID = p.ID
		if v.Resident, err = s.store.IsResident(ctx, p.ID, courtyardID); err != nil {
			return Viewer{}, err
		}
	}
	return v, nil
}

// Draft is what a resident writes.
type Draft struct {
	BuildingID int64
	Category   string
	Body       string
	Photos     []string
	Public     bool
}

// Raise records a resident's opinion to the courtyard's council.
func (s *Service) Raise(ctx context.Context, p identity.Principal, courtyardID int64, d Draft) (Opinion, error) {
	d.Body = strings.TrimSpace(d.Body)
	if err := louyuan.CheckText("内容", d.Body, true); err != nil {
		return Opinion{}, err
	}
	if n := utf8.RuneCountInString(d.Body); n < 5 || n > 2000 {
		return Opinion{}, louyuan.Invalid("bad_body", "意见内容须为5到2000字")
	}
	if !ValidCategory(d.Category) {
		return Opinion{}, louyuan.Invalid("bad_category", "类别只能是 "+strings.Join(Categories, "、"))
	}
	if len(d.Photos) > MaxPhotos {
		return Opinion{}, louyuan.Errorf(louyuan.KindInvalid, "too_many_photos", "照片最多%d张", MaxPhotos)
	}
	v, err := s.viewer(ctx, p, courtyardID)
	if err != nil {
		return Opinion{}, err
	}
	if p.Kind != identity.KindUser || !v.Resident {
		return Opinion{}, louyuan.Forbidden("not_resident", "只有本楼院绑定房屋的住户（含租户）可以提意见")
	}
	if d.BuildingID != 0 {
		yard, err := s.store.BuildingCourtyard(ctx, d.BuildingID)
		if err != nil {
			return Opinion{}, err
		}
		if yard != courtyardID {
			return Opinion{}, louyuan.Invalid("building_outside_courtyard", "所选楼栋不在该楼院内")
		}
	}
	seen := map[string]bool{}
	for _, k := range d.Photos {
		if seen[k] {
			return Opinion{}, louyuan.Invalid("bad_photos", "照片不能重复")
		}
		seen[k] = true
		ok, err := s.store.PhotoOwnedBy(ctx, k, p.Ref())
		if err != nil {
			return Opinion{}, err
		}
		if !ok {
			return Opinion{}, louyuan.Invalid("bad_photo", "照片须是您本人上传、用途为 opinion_photo 的文件")
		}
	}
	if d.Photos == nil {
		d.Photos = []string{}
	}
	now := s.now().UTC()
	o := Opinion{CourtyardID: courtyardID, BuildingID: d.BuildingID, RaisedBy: p.ID, Category: d.Category, Body: d.Body, Photos: d.Photos,
		Public: d.Public, Status: StatusReceived, CreatedAt: now, UpdatedAt: now}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if o, err = s.store.CreateOpinion(ctx, o); err != nil {
			return err
		}
		return s.record(ctx, courtyardID, p.Ref(), "opinion.raise", ref("opinion", o.ID), map[string]any{"category": o.Category, "public": o.Public,
			"photos": len(o.Photos), "building": o.BuildingID})
	})
	return o, err
}

// View is an opinion with its thread.
type View struct {
	Opinion Opinion `json:"opinion"`
	Replies []Reply `json:"replies"`
}

// seen reads an opinion p may see; to anyone else it does not exist.
func (s *Service) seen(ctx context.Context, p identity.Principal, id int64) (Opinion, Viewer, error) {
	o, err := s.store.Opinion(ctx, id)
	if err != nil {
		return Opinion{}, Viewer{}, err
	}
	v, err := s.viewer(ctx, p, o.CourtyardID)
	if err != nil {
		return Opinion{}, Viewer{}, err
	}
	if !CanSee(o, v) {
		return Opinion{}, Viewer{}, errOpinionNotFound
	}
	return o, v, nil
}

// Visible tells whether p may see the opinion: nil, or the 404 a read of
// it gives them (the API checks it before reading a request's body).
func (s *Service) Visible(ctx context.Context, p identity.Principal, id int64) error {
	_, _, err := s.seen(ctx, p, id)
	return err
}

// Get returns an opinion with its thread.
func (s *Service) Get(ctx context.Context, p identity.Principal, id int64) (View, error) {
	o, _, err := s.seen(ctx, p, id)
	if err != nil {
		return View{}, err
	}
	rs, err := s.store.Replies(ctx, id)
	return View{Opinion: o, Replies: rs}, err
}

// Photo checks that p may see the opinion and that key is one of its
// photos (the caller then serves the file).
func (s *Service) Photo(ctx context.Context, p identity.Principal, id int64, key string) error {
	o, _, err := s.seen(ctx, p, id)
	if err != nil {
		return err
	}
	for _, k := range o.Photos {
		if k == key {
			return nil
		}
	}
	return louyuan.NotFound("file_not_found", "文件不存在")
}

// List returns a courtyard's opinions p may see: all of them to the
// council and staff; to a resident the public ones and their own.
func (s *Service) List(ctx context.Context, p identity.Principal, courtyardID int64, status string) ([]Opinion, error) {
	if status != "" && Status(status).rank() == 0 {
		return nil, louyuan.Invalid("bad_status", "状态只能是 received、in_progress 或 resolved")
	}
	v, err := s.viewer(ctx, p, courtyardID)
	if err != nil {
		return nil, err
	}
	all := v.Council || v.Staff
	if !all && !v.Resident {
		return nil, louyuan.Forbidden("not_in_scope", "您不是该楼院的住户、理事会成员或工作人员")
	}
	return s.store.Opinions(ctx, courtyardID, all, v.UserID, Status(status))
}

// Mine lists the opinions p raised.
func (s *Service) Mine(ctx context.Context, p identity.Principal) ([]Opinion, error) {
	if p.Kind != identity.KindUser {
		return []Opinion{}, nil
	}
	return s.store.UserOpinions(ctx, p.ID)
}

// manage runs fn on the locked opinion when p is its courtyard's council
// or staff; others who may see it are refused, the rest told it does not
// exist.
func (s *Service) manage(ctx context.Context, p identity.Principal, id int64, fn func(ctx context.Context, o *Opinion) error) (Opinion, error) {
	o, v, err := s.seen(ctx, p, id)
	if err != nil {
		return Opinion{}, err
	}
	if !v.Council && !v.Staff {
		return Opinion{}, louyuan.Forbidden("not_council", "只有本楼院的理事会成员或工作人员可以处理意见")
	}
	return s.update(ctx, o.ID, fn)
}

// update runs fn on the opinion locked in a transaction and writes it back.
func (s *Service) update(ctx context.Context, id int64, fn func(ctx context.Context, o *Opinion) error) (Opinion, error) {
	var o Opinion
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.LockOpinion(ctx, id)
		if err != nil {
			return err
		}
		if err := fn(ctx, &cur); err != nil {
			return err
		}
		cur.UpdatedAt = s.now().UTC()
		if err := s.store.UpdateOpinion(ctx, cur); err != nil {
			return err
		}
		o = cur
		return nil
	})
	return o, err
}

// Assign gives the opinion to a member of the courtyard's council (its
// running term).
func (s *Service) Assign(ctx context.Context, p identity.Principal, id, assignee int64) (Opinion, error) {
	return s.manage(ctx, p, id, func(ctx context.Context, o *Opinion) error {
		ok, err := s.store.IsCouncilMember(ctx, assignee, o.CourtyardID, s.today())
		if err != nil {
			return err
		}
		if !ok {
			return louyuan.Invalid("assignee_not_council", "只能分派给本楼院理事会现任成员")
		}
		if o.Status == StatusResolved {
			return louyuan.Conflict("opinion_resolved", "该意见已经解决，不能再分派")
		}
		o.AssigneeID = assignee
		return s.record(ctx, o.CourtyardID, p.Ref(), "opinion.assign", ref("opinion", o.ID), map[string]any{"assignee": assignee})
	})
}

// Answer adds the council's reply and moves the opinion to status (its
// current one when empty); the raiser is told.
func (s *Service) Answer(ctx context.Context, p identity.Principal, id int64, body string, status Status) (View, error) {
	body = strings.TrimSpace(body)
	if err := louyuan.CheckText("答复", body, true); err != nil {
		return View{}, err
	}
	if n := utf8.RuneCountInString(body); n < 1 || n > 2000 {
		return View{}, louyuan.Invalid("bad_body", "答复须为1到2000字")
	}
	o, err := s.manage(ctx, p, id, func(ctx context.Context, o *Opinion) error {
		to := status
		if to == "" {
			to = o.Status
		}
		if err := CanMove(o.Status, to); err != nil {
			return err
		}
		from := o.Status
		o.Status = to
		if to == StatusResolved {
			o.ResolvedAt = s.now().UTC()
		}
		r, err := s.store.AddReply(ctx, Reply{OpinionID: o.ID, Author: p.Ref(), Body: body, Status: to, CreatedAt: s.now().UTC()})
		if err != nil {
			return err
		}
		if err := s.record(ctx, o.CourtyardID, p.Ref(), "opinion.reply", ref("opinion", o.ID), map[string]any{"reply": r.ID, "from": string(from), "to": string(to)}); err != nil {
			return err
		}
		title := "您的意见有了答复"
		if to == StatusResolved {
			title = "您的意见已处理完毕"
		}
		return s.notify.Tell(ctx, o.CourtyardID, "opinion.reply:"+strconv.FormatInt(r.ID, 10), title, clip(body, 60),
			"pages/opinion/detail?id="+strconv.FormatInt(o.ID, 10), []int64{o.RaisedBy})
	})
	if err != nil {
		return View{}, err
	}
	rs, err := s.store.Replies(ctx, id)
	return View{Opinion: o, Replies: rs}, err
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// raiser runs fn on the locked opinion when p raised it.
func (s *Service) raiser(ctx context.Context, p identity.Principal, id int64, fn func(ctx context.Context, o *Opinion) error) (Opinion, error) {
	o, _, err := s.seen(ctx, p, id)
	if err != nil {
		return Opinion{}, err
	}
	if p.Kind != identity.KindUser || o.RaisedBy != p.ID {
		return Opinion{}, louyuan.Forbidden("not_raiser", "只有提出该意见的住户可以这样做")
	}
	return s.update(ctx, id, fn)
}

// Rate records the raiser's rating (1–5) of a resolved opinion's outcome.
func (s *Service) Rate(ctx context.Context, p identity.Principal, id int64, rating int) (Opinion, error) {
	return s.raiser(ctx, p, id, func(ctx context.Context, o *Opinion) error {
		if err := CanRate(*o, rating); err != nil {
			return err
		}
		o.Rating = rating
		return s.record(ctx, o.CourtyardID, p.Ref(), "opinion.rate", ref("opinion", o.ID), map[string]any{"rating": rating})
	})
}

// Reopen puts a resolved opinion back in progress, once, with the
// raiser's reason; its rating is cleared (the audit log keeps it).
func (s *Service) Reopen(ctx context.Context, p identity.Principal, id int64, reason string) (View, error) {
	reason = strings.TrimSpace(reason)
	if err := louyuan.CheckText("理由", reason, true); err != nil {
		return View{}, err
	}
	if n := utf8.RuneCountInString(reason); n < 2 || n > 1000 {
		return View{}, louyuan.Invalid("bad_reason", "重新打开的理由须为2到1000字")
	}
	o, err := s.raiser(ctx, p, id, func(ctx context.Context, o *Opinion) error {
		if err := CanReopen(*o); err != nil {
			return err
		}
		prev := o.Rating
		o.Status, o.Reopened, o.Rating, o.ResolvedAt = StatusInProgress, true, 0, time.Time{}
		r, err := s.store.AddReply(ctx, Reply{OpinionID: o.ID, Author: p.Ref(), Body: reason, Status: StatusInProgress, CreatedAt: s.now().UTC()})
		if err != nil {
			return err
		}
		return s.record(ctx, o.CourtyardID, p.Ref(), "opinion.reopen", ref("opinion", o.ID), map[string]any{"reply": r.ID, "previous_rating": prev})
	})
	if err != nil {
		return View{}, err
	}
	rs, err := s.store.Replies(ctx, id)
	return View{Opinion: o, Replies: rs}, err
}

// toDraft turns an opinion into a draft once, through create (the voting
// or petition service, whose own checks of p apply), in one transaction.
func (s *Service) toDraft(ctx context.Context, p identity.Principal, id int64, kind string, create func(ctx context.Context, o Opinion) (int64, error)) (Opinion, int64, error) {
	var draftID int64
	o, err := s.manage(ctx, p, id, func(ctx context.Context, o *Opinion) error {
		if o.DraftRef != "" {
			return louyuan.Conflict("already_drafted", "该意见已经转为"+draftLabel(o.DraftRef)+"草稿")
		}
		var err error
		if draftID, err = create(ctx, *o); err != nil {
			return err
		}
		o.DraftRef = ref(kind, draftID)
		if o.Status == StatusReceived {
			o.Status = StatusInProgress
		}
		return s.record(ctx, o.CourtyardID, p.Ref(), "opinion.draft", ref("opinion", o.ID), map[string]any{"draft": o.DraftRef})
	})
	return o, draftID, err
}

func draftLabel(ref string) string {
	if strings.HasPrefix(ref, "petition:") {
		return "征求意见"
	}
	return "表决"
}

// ToMotion turns the opinion into a motion draft of its courtyard (d's
// courtyard is the opinion's; its body defaults to the opinion's text).
func (s *Service) ToMotion(ctx context.Context, p identity.Principal, id int64, d voting.Draft) (Opinion, voting.Motion, error) {
	var m voting.Motion
	o, _, err := s.toDraft(ctx, p, id, "motion", func(ctx context.Context, o Opinion) (int64, error) {
		d.CourtyardID = o.CourtyardID
		if strings.TrimSpace(d.Body) == "" {
			d.Body = o.Body
		}
		var err error
		m, err = s.motions.Create(ctx, p, d)
		return m.ID, err
	})
	return o, m, err
}

// ToPetition turns the opinion into a petition draft of its courtyard.
func (s *Service) ToPetition(ctx context.Context, p identity.Principal, id int64, d petition.Draft) (Opinion, petition.Petition, error) {
	var pt petition.Petition
	o, _, err := s.toDraft(ctx, p, id, "petition", func(ctx context.Context, o Opinion) (int64, error) {
		d.CourtyardID = o.CourtyardID
		if strings.TrimSpace(d.Body) == "" {
			d.Body = o.Body
		}
		var err error
		pt, err = s.petitions.Create(ctx, p, d)
		return pt.ID, err
	})
	return o, pt, err
}
