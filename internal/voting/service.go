package voting

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// Ballot is one ballot as cast (the history keeps every one).
type Ballot struct {
	ID           int64     `json:"id"`
	MotionID     int64     `json:"motion_id"`
	HouseholdID  int64     `json:"household_id"`
	Options      []string  `json:"options,omitempty"`
	Channel      string    `json:"channel"`
	CastBy       string    `json:"cast_by"`
	DelegationID int64     `json:"delegation_id,omitempty"`
	PaperFile    string    `json:"paper_file,omitempty"`
	Receipt      string    `json:"receipt,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	Superseded   bool      `json:"superseded"`
}

// Counted is a household's counted ballot.
type Counted struct {
	MotionID     int64
	HouseholdID  int64
	BallotID     int64
	Options      []string
	Channel      string
	DelegationID int64
	Version      int64
}

// Elector is a household of a motion's electorate with where it lives.
type Elector struct {
	Voter
	BuildingID int64
	UnitID     int64
	Building   string
	Unit       string
	Room       string
}

// Courtyard is what voting needs to know of a courtyard.
type Courtyard struct {
	Place                  identity.Place
	MaxDelegationsPerProxy int
	ProxyPhotoRequired     bool
}

// Store keeps motions, electorates, ballots and delegations. Methods join
// the transaction carried by ctx.
type Store interface {
	DelegationStore
	BallotStore
	// EvidenceStore records which household a photo of paper vouches for.
	files.EvidenceStore
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// InSnapshot runs fn in a read-only transaction carried by ctx whose
	// reads (of this store and of others on the same database) all see the
	// database as of one moment.
	InSnapshot(ctx context.Context, fn func(ctx context.Context) error) error
	Courtyard(ctx context.Context, id int64) (Courtyard, error)
	// ScopeCourtyard returns the courtyard a building or unit belongs to.
	ScopeCourtyard(ctx context.Context, scopeType string, scopeID int64) (int64, error)
	CreateMotion(ctx context.Context, m Motion) (Motion, error)
	Motion(ctx context.Context, id int64) (Motion, error)
	// LockMotion reads a motion with an exclusive lock (transitions).
	LockMotion(ctx context.Context, id int64) (Motion, error)
	// UpdateMotion writes m if the motion is still in status from.
	UpdateMotion(ctx context.Context, m Motion, from Status) error
	Motions(ctx context.Context, courtyardID int64) ([]Motion, error)
	DueMotions(ctx context.Context, now time.Time) ([]Motion, error)
	VotingMotions(ctx context.Context) ([]Motion, error)
	FailedRecently(ctx context.Context, m Motion, since time.Time) (bool, error)
	SnapshotElectorate(ctx context.Context, m Motion) (int, error)
	Electorate(ctx context.Context, motionID int64) ([]Elector, error)
	Elector(ctx context.Context, motionID, householdID int64) (Elector, bool, error)
	IsRepresentative(ctx context.Context, userID, householdID int64) (bool, error)
	// RepresentsElector reports whether userID represents a household of
	// the motion's electorate.
	RepresentsElector(ctx context.Context, userID, motionID int64) (bool, error)
	// CountedSince lists the counted ballots changed at or after t.
	CountedSince(ctx context.Context, motionID int64, t time.Time) ([]Counted, error)
	// VotedCount counts households with a counted (non-withdrawn) ballot.
	VotedCount(ctx context.Context, motionID int64) (int, error)
	RepresentedHouseholds(ctx context.Context, userID int64) ([]int64, error)
	// Counted reads a household's counted ballot.
	Counted(ctx context.Context, motionID, householdID int64) (Counted, bool, error)
	CountedBallots(ctx context.Context, motionID int64) ([]Counted, error)
	BallotByReceipt(ctx context.Context, receipt string) (Ballot, error)
	Ballots(ctx context.Context, motionID int64) ([]Ballot, error)
	// FileExists reports whether a stored file of that purpose belongs to
	// the courtyard.
	FileExists(ctx context.Context, key, purpose string, courtyardID int64) (bool, error)
	// InScope reports whether a household lies in a motion's scope.
	InScope(ctx context.Context, m Motion, householdID int64) (bool, error)
	// ScopeSize counts the households in a motion's scope now.
	ScopeSize(ctx context.Context, m Motion) (int, error)
}

// Service runs motions and ballots.
type Service struct {
	store    Store
	live     LiveTally
	rebuilds singleflight.Group
	reads    readCache
	applying applyGate
	audit    audit.BatchAppender
	batch    *batcher
	// yards keeps each motion's courtyard (it never changes), so that a
	// ballot's audit stream is known before its motion is read.
	yards  sync.Map
	notify Notifier
	// secretMin is the fewest households a secret ballot may have.
	secretMin int
	log       *slog.Logger
	now       func() time.Time
	calendar  *louyuan.Calendar
	// limiter and receiptLimits bound receipt look-ups.
	limiter       Limiter
	receiptLimits ReceiptLimits
}

// Notifier tells people what happened. It is called inside the
// transaction of the change, so that what it writes (the notices and their
// deliveries) commits or rolls back with the change.
type Notifier interface {
	// MotionChanged is called after a motion's transition (action is the
	// audit action, e.g. "motion.open", "motion.close").
	MotionChanged(ctx context.Context, m Motion, action string) error
	// DelegationChanged is called after every change of a delegation
	// ("delegation.create", "delegation.accept", "delegation.revoke", …).
	DelegationChanged(ctx context.Context, d Delegation, action string) error
}

type noNotifier struct{}

func (noNotifier) MotionChanged(context.Context, Motion, string) error         { return nil }
func (noNotifier) DelegationChanged(context.Context, Delegation, string) error { return nil }

// SetNotifier makes n hear of motions and delegations; call it before
// serving.
func (s *Service) SetNotifier(n Notifier) { s.notify = n }

// Batching is how ballots arriving together share transactions.
type Batching struct {
	Workers int // batches in flight at once per instance
	Max     int // ballots per batch at most
	// MinExtra is how many ballots must wait before a batch starts
	// beside one already running (the first starts at once).
	MinExtra int
	Timeout  time.Duration // of one batch's transaction
	// Observe, when set, hears of each batch (for metrics): its size, how
	// long its oldest ballot waited for it, how long it took.
	Observe func(size int, waited, took time.Duration)
}

// DefaultBatching suits a database on the same few cores. One batch runs
// whenever ballots wait; a second starts beside it only once 8 wait. A
// batch's own statements cost MariaDB about what eight ballots' rows do
// (replayed alone on two cores: ~450 µs a batch plus ~65 µs a ballot), so a
// smaller second batch would cost more than the idle core it puts to work,
// while one of 8 or more lets the cores work while the first batch waits
// on its round trips. Measured on two cores shared with MariaDB, Redis and
// the load: two workers started at once (batches of ~4) took ~10% fewer
// ballots a second than one; with the threshold of 8, ~8% more than one at
// 16 clients (where one batch at a time left the cores ~30% idle) and ~5%
// fewer at 64 (where batches are large already), still ahead of the
// typical one-upsert-per-request handler there.
var DefaultBatching = Batching{Workers: 2, Max: 32, MinExtra: 8, Timeout: 15 * time.Second}

// NewService wires the voting service.
func NewService(store Store, live LiveTally, al audit.BatchAppender, log *slog.Logger) *Service {
	s := &Service{store: store, live: live, audit: al, log: log, now: time.Now, notify: noNotifier{}, secretMin: DefaultSecretMinElectorate,
		calendar: louyuan.DefaultCalendar()}
	s.SetBatching(DefaultBatching)
	return s
}

// SetBatching replaces the batching of ballots; call it before serving.
func (s *Service) SetBatching(b Batching) {
	if b.Workers < 1 {
		b.Workers = 1
	}
	if b.Max < 1 {
		b.Max = 1
	}
	if b.MinExtra < 1 {
		b.MinExtra = 1
	}
	if b.Timeout <= 0 {
		b.Timeout = DefaultBatching.Timeout
	}
	s.batch = &batcher{run: s.castAll, after: s.applyCounted, hold: s.holdTallies, workers: b.Workers, minExtra: b.MinExtra, max: b.Max, timeout: b.Timeout, observe: b.Observe,
		onPanic: func(v any, stack []byte) {
			s.log.Error("ballot batch panicked", "panic", fmt.Sprint(v), "stack", string(stack))
		}}
}

// DefaultSecretMinElectorate is the fewest households a secret ballot may
// have unless configured otherwise. With fewer, the per-option heads
// published after the close narrow each household's choice down too far.
const DefaultSecretMinElectorate = 20

// SetSecretMinElectorate sets the fewest households in scope a secret
// ballot may have (n < 1 keeps the default); call it before serving.
func (s *Service) SetSecretMinElectorate(n int) {
	if n < 1 {
		n = DefaultSecretMinElectorate
	}
	s.secretMin = n
}

// checkSecretElectorate refuses a secret ballot over fewer households than
// the configured minimum.
func (s *Service) checkSecretElectorate(ctx context.Context, m Motion) error {
	if m.Mode != ModeSecret {
		return nil
	}
	n, err := s.store.ScopeSize(ctx, m)
	if err != nil {
		return err
	}
	if n < s.secretMin {
		return louyuan.Errorf(louyuan.KindInvalid, "secret_electorate_too_small",
			"不记名投票至少需要%d户参加表决，本次范围内只有%d户：户数太少时，公布的票数就能推出每户的选择。请改为记名投票，或扩大表决范围", s.secretMin, n)
	}
	return nil
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetCalendar replaces the holiday calendar the notice and objection
// periods are counted with; call it before serving.
func (s *Service) SetCalendar(c *louyuan.Calendar) { s.calendar = c }

const systemActor = "system"

func (s *Service) record(ctx context.Context, m Motion, actor, action, object string, detail map[string]any) error {
	return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(m.CourtyardID), Actor: actor, Action: action, Object: object, Detail: detail})
}

func motionRef(id int64) string { return "motion:" + itoa(id) }

// canManage reports whether p is council or staff of the motion's courtyard.
func (s *Service) canManage(ctx context.Context, p identity.Principal, courtyardID int64, roles ...identity.Role) error {
	c, err := s.store.Courtyard(ctx, courtyardID)
	if err != nil {
		return err
	}
	if len(roles) == 0 {
		roles = identity.CouncilOrStaff
	}
	if !p.Can(c.Place, roles...) {
		return louyuan.Forbidden("not_in_scope", "您无权管理该楼院的表决")
	}
	return nil
}

// canManageMotion is canManage for an existing motion: a caller who may
// not even see the motion hears that it does not exist (motion_not_found),
// as for any object outside their scope; one who sees it but may not
// manage it is refused (403).
func (s *Service) canManageMotion(ctx context.Context, p identity.Principal, m Motion, roles ...identity.Role) error {
	err := s.canManage(ctx, p, m.CourtyardID, roles...)
	if louyuan.IsKind(err, louyuan.KindForbidden) {
		if serr := s.canSee(ctx, p, m); serr != nil {
			return serr
		}
	}
	return err
}

// Create makes a draft motion.
func (s *Service) Create(ctx context.Context, p identity.Principal, d Draft) (Motion, error) {
	m, err := motionFrom(d)
	if err != nil {
		return Motion{}, err
	}
	if err := s.canManage(ctx, p, m.CourtyardID); err != nil {
		return Motion{}, err
	}
	if m.ScopeType == ScopeCourtyard {
		m.ScopeID = m.CourtyardID
	} else {
		yard, err := s.store.ScopeCourtyard(ctx, m.ScopeType, m.ScopeID)
		if err != nil {
			return Motion{}, err
		}
		if yard != m.CourtyardID {
			return Motion{}, louyuan.Invalid("scope_outside_courtyard", "表决范围不在该楼院内")
		}
	}
	if err := s.checkSecretElectorate(ctx, m); err != nil {
		return Motion{}, err
	}
	m.CreatedBy, m.CreatedAt = p.Ref(), s.now().UTC()
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.checkReraise(ctx, m); err != nil {
			return err
		}
		var err error
		if m, err = s.store.CreateMotion(ctx, m); err != nil {
			return err
		}
		return s.record(ctx, m, p.Ref(), "motion.create", motionRef(m.ID), map[string]any{"title": m.Title, "rule": string(m.Rule.Kind), "mode": m.Mode})
	})
	return m, err
}

// checkReraise refuses a motion whose subject failed in the same scope
// within the last year.
func (s *Service) checkReraise(ctx context.Context, m Motion) error {
	failed, err := s.store.FailedRecently(ctx, m, reraiseSince(s.now()))
	if err != nil {
		return err
	}
	if failed {
		return louyuan.Conflict("reraise_blocked", "同一事项表决未通过后一年内不得再次提起")
	}
	return nil
}

// Motion returns one motion to those who may see it: council and staff of
// its courtyard, and residents of households in its scope.
func (s *Service) Motion(ctx context.Context, p identity.Principal, id int64) (Motion, error) {
	m, err := s.store.Motion(ctx, id)
	if err != nil {
		return Motion{}, err
	}
	if err := s.canSee(ctx, p, m); err != nil {
		return Motion{}, err
	}
	return m, nil
}

func (s *Service) canSee(ctx context.Context, p identity.Principal, m Motion) error {
	if len(p.Grants) > 0 && s.canManage(ctx, p, m.CourtyardID) == nil {
		return nil
	}
	if p.Kind == identity.KindUser && m.Status != StatusDraft {
		var ok bool
		var err error
		if m.Status == StatusNotice {
			// Before the electorate is frozen: any household in scope.
			hs, herr := s.store.RepresentedHouseholds(ctx, p.ID)
			for _, h := range hs {
				if herr != nil || ok {
					break
				}
				ok, herr = s.store.InScope(ctx, m, h)
			}
			err = herr
		} else {
			ok, err = s.store.RepresentsElector(ctx, p.ID, m.ID)
		}
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return louyuan.NotFound("motion_not_found", "没有这项表决")
}

// Publish puts a draft under public notice (公示). Voting opens after the
// notice period at the earliest.
func (s *Service) Publish(ctx context.Context, p identity.Principal, id int64) (Motion, error) {
	return s.transition(ctx, p, id, StatusDraft, func(ctx context.Context, m *Motion) error {
		now := s.now().UTC()
		notice, err := noticePeriod(s.calendar, now, *m)
		if err != nil {
			return err
		}
		if err := s.checkSecretElectorate(ctx, *m); err != nil {
			return err
		}
		if err := s.checkReraise(ctx, *m); err != nil {
			return err
		}
		m.Status, m.PublishedAt, m.NoticeEndsAt = StatusNotice, now, notice.EndsAt
		m.DescribePeriods()
		return nil
	}, "motion.publish")
}

// Cancel withdraws a draft or a motion under notice.
func (s *Service) Cancel(ctx context.Context, p identity.Principal, id int64) (Motion, error) {
	m, err := s.store.Motion(ctx, id)
	if err != nil {
		return Motion{}, err
	}
	if err := s.canManageMotion(ctx, p, m); err != nil {
		return Motion{}, err
	}
	if m.Status != StatusDraft && m.Status != StatusNotice {
		return Motion{}, louyuan.Conflict("cannot_cancel", "投票开始后不能撤销表决")
	}
	return s.transition(ctx, p, id, m.Status, func(ctx context.Context, m *Motion) error {
		m.Status = StatusCancelled
		return nil
	}, "motion.cancel")
}

// transition applies change to a motion in status from under an exclusive
// lock, writes it and the audit entry. p nil is the scheduler.
func (s *Service) transition(ctx context.Context, p identity.Principal, id int64, from Status, change func(ctx context.Context, m *Motion) error, action string) (Motion, error) {
	var out Motion
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		m, err := s.store.LockMotion(ctx, id)
		if err != nil {
			return err
		}
		actor := systemActor
		if p.Kind != "" {
			if err := s.canManageMotion(ctx, p, m); err != nil {
				return err
			}
			actor = p.Ref()
		}
		if m.Status != from {
			return louyuan.Conflict("wrong_status", fmt.Sprintf("表决当前状态为“%s”，不能进行此操作", statusLabel(m.Status)))
		}
		if err := change(ctx, &m); err != nil {
			return err
		}
		if err := s.store.UpdateMotion(ctx, m, from); err != nil {
			return err
		}
		s.reads.forget(m.ID)
		out = m
		detail := map[string]any{"from": string(from), "to": string(m.Status)}
		if m.Passed != nil {
			detail["passed"] = *m.Passed
		}
		if err := s.record(ctx, m, actor, action, motionRef(m.ID), detail); err != nil {
			return err
		}
		return s.notify.MotionChanged(ctx, m, action)
	})
	return out, err
}

func statusLabel(st Status) string {
	switch st {
	case StatusDraft:
		return "草稿"
	case StatusNotice:
		return "公示中"
	case StatusVoting:
		return "投票中"
	case StatusObjection:
		return "异议期"
	case StatusFinal:
		return "已公布结果"
	case StatusCancelled:
		return "已撤销"
	}
	return string(st)
}

// Open starts voting once the notice period is over, freezing the
// electorate. The scheduler calls it with no principal.
func (s *Service) Open(ctx context.Context, p identity.Principal, id int64) (Motion, error) {
	m, err := s.transition(ctx, p, id, StatusNotice, func(ctx context.Context, m *Motion) error {
		now := s.now().UTC()
		if now.Before(m.OpensAt) {
			return louyuan.Conflict("not_yet_open", "还没到投票开始时间")
		}
		if now.Before(m.NoticeEndsAt) {
			return louyuan.Conflict("notice_not_over", "公示期还没有结束（"+louyuan.DescribePeriod(m.PublishedAt, m.NoticeDays, m.NoticeEndsAt).Sentence()+"），不能开始投票")
		}
		n, err := s.store.SnapshotElectorate(ctx, *m)
		if err != nil {
			return err
		}
		if n == 0 {
			return louyuan.Conflict("empty_electorate", "表决范围内没有房屋，无法开始投票")
		}
		m.Status, m.OpenedAt = StatusVoting, now
		return nil
	}, "motion.open")
	if err == nil {
		s.reload(ctx, m)
	}
	return m, err
}

// Extend moves the close of voting later when participation is short;
// voting lasts three months at most. Staff only.
func (s *Service) Extend(ctx context.Context, p identity.Principal, id int64, closesAt time.Time) (Motion, error) {
	m, err := s.store.Motion(ctx, id)
	if err != nil {
		return Motion{}, err
	}
	if err := s.canManageMotion(ctx, p, m, identity.StaffRoles...); err != nil {
		return Motion{}, err
	}
	return s.transition(ctx, p, id, StatusVoting, func(ctx context.Context, m *Motion) error {
		closesAt = closesAt.UTC()
		if !closesAt.After(m.ClosesAt) {
			return louyuan.Invalid("not_later", "延长后的截止时间必须晚于原截止时间")
		}
		if closesAt.After(m.OpenedAt.AddDate(0, MaxVotingSpan, 0)) {
			return louyuan.Invalid("period_too_long", "投票期（含延长）最长三个月")
		}
		m.ClosesAt = closesAt
		return nil
	}, "motion.extend")
}

// Close ends voting at its closing time: the final count is made from the
// database and stored, and the objection window opens.
func (s *Service) Close(ctx context.Context, p identity.Principal, id int64) (Motion, error) {
	m, err := s.transition(ctx, p, id, StatusVoting, func(ctx context.Context, m *Motion) error {
		now := s.now().UTC()
		if now.Before(m.ClosesAt) {
			return louyuan.Conflict("not_yet_closed", "还没到投票截止时间")
		}
		t, err := s.countFromDB(ctx, *m)
		if err != nil {
			return err
		}
		passed := t.Passed
		m.Status, m.ClosedAt, m.Result, m.Passed = StatusObjection, now, &t, &passed
		m.ObjectionEndsAt = s.calendar.Period(now, m.ObjectionDays).EndsAt
		m.DescribePeriods()
		return nil
	}, "motion.close")
	if err == nil {
		if derr := s.live.Drop(ctx, id); derr != nil {
			s.log.WarnContext(ctx, "drop live tally", "motion", id, "err", derr)
		}
	}
	return m, err
}

// Finalize publishes the result once the objection window is over.
func (s *Service) Finalize(ctx context.Context, p identity.Principal, id int64) (Motion, error) {
	return s.transition(ctx, p, id, StatusObjection, func(ctx context.Context, m *Motion) error {
		now := s.now().UTC()
		if now.Before(m.ObjectionEndsAt) {
			return louyuan.Conflict("objection_window_open", "异议期还没有结束（"+louyuan.DescribePeriod(m.ClosedAt, m.ObjectionDays, m.ObjectionEndsAt).Sentence()+"）")
		}
		m.Status, m.FinalAt = StatusFinal, now
		return nil
	}, "motion.finalize")
}

// Tick moves every due motion along its timeline; several server instances
// may run it at once (each transition is conditional on the status).
func (s *Service) Tick(ctx context.Context) {
	due, err := s.store.DueMotions(ctx, s.now().UTC())
	if err != nil {
		s.log.WarnContext(ctx, "list due motions", "err", err)
		return
	}
	if err := s.store.ExpireDelegations(ctx, s.now().UTC(), 0, 0); err != nil {
		s.log.WarnContext(ctx, "expire delegations", "err", err)
	}
	for _, m := range due {
		var err error
		switch m.Status {
		case StatusNotice:
			_, err = s.Open(ctx, identity.Principal{}, m.ID)
		case StatusVoting:
			_, err = s.Close(ctx, identity.Principal{}, m.ID)
		case StatusObjection:
			_, err = s.Finalize(ctx, identity.Principal{}, m.ID)
		}
		if err != nil && !louyuan.IsKind(err, louyuan.KindConflict) {
			s.log.WarnContext(ctx, "motion transition", "motion", m.ID, "status", m.Status, "err", err)
		}
	}
}

// countFromDB counts the motion from scratch from its frozen electorate and
// counted ballots.
func (s *Service) countFromDB(ctx context.Context, m Motion) (Tally, error) {
	electorate, votes, err := s.fromDB(ctx, m.ID)
	if err != nil {
		return Tally{}, err
	}
	return Count(m.Rule, electorate, m.OptionKeys(), latestVotes(votes)), nil
}

func (s *Service) fromDB(ctx context.Context, motionID int64) ([]Voter, []CountedVote, error) {
	es, err := s.store.Electorate(ctx, motionID)
	if err != nil {
		return nil, nil, err
	}
	voters := make([]Voter, len(es))
	for i, e := range es {
		voters[i] = e.Voter
	}
	cs, err := s.store.CountedBallots(ctx, motionID)
	if err != nil {
		return nil, nil, err
	}
	votes := make([]CountedVote, len(cs))
	for i, c := range cs {
		votes[i] = CountedVote{HouseholdID: c.HouseholdID, Version: c.Version, Options: c.Options}
	}
	return voters, votes, nil
}

// reload rebuilds the live tally of a voting motion from the database, one
// rebuild per motion at a time in this process (concurrent callers wait for
// it). A ballot committed while the snapshot was read may have been applied
// to the old state just before the new one replaced it, so the ballots
// changed since the snapshot began are applied again (versions make that
// idempotent).
func (s *Service) reload(ctx context.Context, m Motion) {
	_, err, _ := s.rebuilds.Do(itoa(m.ID), func() (any, error) {
		// The rebuild outlives a reader that gave up.
		ctx := context.WithoutCancel(ctx)
		since := s.now().Add(-5 * time.Second) // margin for clocks of other instances
		electorate, votes, err := s.fromDB(ctx, m.ID)
		if err != nil {
			return nil, err
		}
		if err := s.live.Load(ctx, m.ID, electorate, m.OptionKeys(), votes); err != nil {
			return nil, err
		}
		cs, err := s.store.CountedSince(ctx, m.ID, since)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if err := s.live.Apply(ctx, m.ID, CountedVote{HouseholdID: c.HouseholdID, Version: c.Version, Options: c.Options}); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "rebuild live tally", "motion", m.ID, "err", err)
	}
}

// Tally is the current count of a motion: live while voting (from Redis,
// rebuilt from the database on a miss, counted from the database while
// Redis is down), the stored result after the close. Many residents watch
// one motion at once, so each instance reuses a motion's tally for a
// quarter of a second and a resident's right to see it for five seconds.
//
// What it returns is the Disclosure of the tally: for a secret ballot,
// never a per-option figure while voting is open, and only coarse ones
// after the close (see Disclose).
func (s *Service) Tally(ctx context.Context, p identity.Principal, id int64) (Motion, Disclosure, error) {
	m, t, err := s.tally(ctx, p, id)
	if err != nil {
		return Motion{}, Disclosure{}, err
	}
	return m, Disclose(m, t), nil
}

func (s *Service) tally(ctx context.Context, p identity.Principal, id int64) (Motion, Tally, error) {
	now := s.now()
	key := p.Ref() + "/" + itoa(id)
	if !s.reads.visible(key, now) {
		m, err := s.Motion(ctx, p, id)
		if err != nil {
			return Motion{}, Tally{}, err
		}
		s.reads.allow(key, now)
		if m.Status != StatusVoting {
			t, err := s.tallyOf(ctx, m)
			return m, t, err
		}
	}
	// Ballots answered on this instance whose live tally is still being
	// updated: in what this read shows.
	s.applying.wait(ctx, id)
	if m, t, ok := s.reads.tally(id, now); ok {
		return m, t, nil
	}
	gen := s.reads.generation(id)
	m, err := s.store.Motion(ctx, id)
	if err != nil {
		return Motion{}, Tally{}, err
	}
	t, err := s.tallyOf(ctx, m)
	if err == nil {
		t = s.reads.keep(m, t, now, gen)
	}
	return m, t, err
}

func (s *Service) tallyOf(ctx context.Context, m Motion) (Tally, error) {
	switch m.Status {
	case StatusObjection, StatusFinal:
		if m.Result != nil {
			return *m.Result, nil
		}
		return Tally{}, louyuan.Internalf(errors.New("closed motion without result"), "motion %d", m.ID)
	case StatusVoting:
	default:
		return Evaluate(m.Rule, Totals{}), nil
	}
	totals, err := s.live.Totals(ctx, m.ID)
	if errors.Is(err, ErrNotLoaded) {
		s.reload(ctx, m)
		totals, err = s.live.Totals(ctx, m.ID)
	}
	if err != nil {
		s.log.WarnContext(ctx, "live tally unavailable; counting from the database", "motion", m.ID, "err", err)
		return s.countFromDB(ctx, m)
	}
	return Evaluate(m.Rule, totals), nil
}

// newReceipt makes a 12-character receipt code from an unambiguous
// alphabet.
func newReceipt() string {
	const alphabet = "34679ACDEFGHJKMNPQRTUVWXY"
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Errorf("read random receipt: %w", err))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// CheckLive compares the live tally of every motion that is voting with the
// database — the number of households with a counted ballot — and rebuilds
// any that is missing or out of step (a Redis restart, an update lost while
// Redis was down). full compares the whole count instead, for small motions
// or an operator's check.
func (s *Service) CheckLive(ctx context.Context, full bool) {
	ms, err := s.store.VotingMotions(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "list voting motions", "err", err)
		return
	}
	for _, m := range ms {
		live, err := s.live.Totals(ctx, m.ID)
		if err != nil && !errors.Is(err, ErrNotLoaded) {
			continue // Redis is down: nothing to repair yet
		}
		if err == nil {
			var same bool
			if full {
				electorate, votes, ferr := s.fromDB(ctx, m.ID)
				if ferr != nil {
					continue
				}
				same = sameTotals(live, Sum(electorate, m.OptionKeys(), latestVotes(votes)))
			} else {
				n, cerr := s.store.VotedCount(ctx, m.ID)
				if cerr != nil {
					continue
				}
				same = n == live.VotedHouses
			}
			if same {
				continue
			}
		}
		s.log.InfoContext(ctx, "live tally missing or out of step with the database; rebuilding", "motion", m.ID)
		s.reload(ctx, m)
	}
}

func latestVotes(cs []CountedVote) []Vote {
	out := make([]Vote, 0, len(cs))
	for _, c := range cs {
		if len(c.Options) > 0 {
			out = append(out, Vote{HouseholdID: c.HouseholdID, Options: c.Options})
		}
	}
	return out
}

// sameTotals compares two totals exactly.
func sameTotals(a, b Totals) bool {
	if a.ElectorateHouses != b.ElectorateHouses || a.ElectorateHeads != b.ElectorateHeads || a.ElectorateArea != b.ElectorateArea ||
		a.VotedHouses != b.VotedHouses || a.VotedHeads != b.VotedHeads || a.VotedArea != b.VotedArea ||
		len(a.Options) != len(b.Options) || len(a.SplitOwners) != len(b.SplitOwners) {
		return false
	}
	for i := range a.Options {
		x, y := a.Options[i], b.Options[i]
		if x.Option != y.Option || x.Households != y.Households || x.Area != y.Area || x.Head.Cmp(y.Head) != 0 {
			return false
		}
	}
	for i := range a.SplitOwners {
		if a.SplitOwners[i] != b.SplitOwners[i] {
			return false
		}
	}
	return true
}
