package voting

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// ErrCastUsersOnly refuses a ballot from a staff account (a household votes through its representative in the mini-program).
var ErrCastUsersOnly = louyuan.Forbidden("users_only", "只有户代表可以在小程序中投票")

// Receipt is what a household gets for a ballot: the code to check later
// that the ballot is counted.
type Receipt struct {
	MotionID    int64     `json:"motion_id"`
	HouseholdID int64     `json:"household_id"`
	Receipt     string    `json:"receipt"`
	Channel     string    `json:"channel"`
	CastAt      time.Time `json:"cast_at"`
}

// Cast records the household representative's own ballot. Re-voting before
// the close replaces the counted ballot; the household's own ballot always
// replaces one a proxy cast.
func (s *Service) Cast(ctx context.Context, p identity.Principal, motionID, householdID int64, options []string) (Receipt, error) {
	if p.Kind != identity.KindUser {
		return Receipt{}, ErrCastUsersOnly
	}
	c := cast{motionID: motionID, householdID: householdID, options: options, channel: ChannelSelf, castBy: p.Ref(),
		representative: p.ID, origin: audit.OriginOf(ctx)}
	r := s.batch.submit(ctx, c)
	if r.err != nil {
		return Receipt{}, r.err
	}
	return r.receipt, nil
}

// Limiter counts tries in a window (Redis, shared by every instance).
type Limiter = louyuan.Limiter

// ReceiptLimits caps receipt look-ups per caller and per client IP an
// hour, so that nobody walks the code space (0: no limit).
type ReceiptLimits struct {
	PerUser, PerIP int
}

// SetReceiptLimits limits receipt look-ups; call it before serving.
func (s *Service) SetReceiptLimits(l Limiter, limits ReceiptLimits) {
	s.limiter, s.receiptLimits = l, limits
}

func (s *Service) limitReceipts(ctx context.Context, p identity.Principal) error {
	if s.limiter == nil {
		return nil
	}
	return louyuan.AllowHourly(ctx, s.limiter, "too_many_receipt_checks", "回执查询过于频繁，请%d分钟后再试",
		louyuan.HourlyLimit{Key: "receipt:ip:" + audit.OriginOf(ctx).IP, Limit: s.receiptLimits.PerIP},
		louyuan.HourlyLimit{Key: "receipt:" + p.Ref(), Limit: s.receiptLimits.PerUser})
}

// PaperPurposes are the photos a paper ballot or paper signature may rest
// on: one household's paper, or a sheet listing several.
var PaperPurposes = []files.Purpose{files.PurposePaperBallot, files.PurposePaperSheet}

// EnterPaper records a signed paper ballot, entered by council or staff of
// the courtyard with a photo of the paper (an uploaded file). It counts like
// an electronic ballot and replaces the counted one.
func (s *Service) EnterPaper(ctx context.Context, p identity.Principal, motionID, householdID int64, options []string, photo string) (Receipt, error) {
	m, err := s.store.Motion(ctx, motionID)
	if err != nil {
		return Receipt{}, err
	}
	if err := s.canManageMotion(ctx, p, m); err != nil {
		return Receipt{}, err
	}
	// The photo is this household's evidence in this motion: claimed in the
	// ballot's transaction, after the household is found in the electorate.
	use := files.EvidenceUse{FileKey: photo, HouseholdID: householdID, Subject: motionRef(motionID)}
	return s.cast(ctx, cast{motionID: motionID, householdID: householdID, options: options, channel: ChannelPaper, castBy: p.Ref(), paperFile: photo,
		allowed: func(ctx context.Context, m Motion, _ Counted, _ bool) error {
			return files.ClaimEvidence(ctx, s.store, m.CourtyardID, "纸质选票", PaperPurposes, use)
		}})
}

// cast records one ballot in its own transaction: paper ballots and proxy
// ballots, whose checks read more than the batch path locks.
func (s *Service) cast(ctx context.Context, c cast) (Receipt, error) {
	c.origin = audit.OriginOf(ctx)
	rs, err := s.castBatch(ctx, []cast{c})
	if err != nil {
		return Receipt{}, err
	}
	if rs[0].err != nil {
		return Receipt{}, rs[0].err
	}
	return rs[0].receipt, nil
}

// castBatch records ballots (castAll) and then brings the live tallies up
// to date (applyCounted).
func (s *Service) castBatch(ctx context.Context, cs []cast) ([]castResult, error) {
	rs, err := s.castAll(ctx, cs)
	if err != nil {
		return nil, err
	}
	s.applyCounted(ctx, rs)
	return rs, nil
}

// holdTallies makes tally reads on this instance wait for the live-tally
// update of rs's motions (the batcher's after step, run once their callers
// have heard of their ballots).
func (s *Service) holdTallies(rs []castResult) (release func()) {
	var ids []int64
	for _, r := range rs {
		if r.err == nil && !slices.Contains(ids, r.counted.MotionID) {
			ids = append(ids, r.counted.MotionID)
		}
	}
	return s.applying.hold(ids)
}

// applyCounted brings the live tallies up to date with the counted ballots
// of rs, in one round trip to Redis.
func (s *Service) applyCounted(ctx context.Context, rs []castResult) {
	var votes []MotionVote
	for _, r := range rs {
		if r.err == nil {
			votes = append(votes, MotionVote{MotionID: r.counted.MotionID,
				Vote: CountedVote{HouseholdID: r.counted.HouseholdID, Version: r.counted.Version, Options: r.counted.Options}})
		}
	}
	s.applyLiveAll(ctx, votes)
}

// applyLiveAll is applyLive for the votes of a batch.
func (s *Service) applyLiveAll(ctx context.Context, votes []MotionVote) {
	if len(votes) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	reload := map[int64]bool{}
	for i, err := range s.live.ApplyAll(ctx, votes) {
		id := votes[i].MotionID
		s.reads.forget(id)
		switch {
		case errors.Is(err, ErrNotLoaded):
			reload[id] = true
		case err != nil:
			s.log.WarnContext(ctx, "live tally update failed; it will be rebuilt", "motion", id, "err", err)
		}
	}
	for id := range reload {
		if m, err := s.store.Motion(ctx, id); err == nil && m.Status == StatusVoting {
			s.reload(ctx, m)
		}
	}
}

// applyLive updates the live tally after a commit. A miss rebuilds it from
// the database; a Redis failure is logged and repaired by the next rebuild
// (the ballot itself is safe in the database).
func (s *Service) applyLive(ctx context.Context, c Counted) {
	defer s.reads.forget(c.MotionID)
	// The ballot is committed: its caller hanging up must not leave the
	// tally behind.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	v := CountedVote{HouseholdID: c.HouseholdID, Version: c.Version, Options: c.Options}
	err := s.live.Apply(ctx, c.MotionID, v)
	if errors.Is(err, ErrNotLoaded) {
		if m, merr := s.store.Motion(ctx, c.MotionID); merr == nil && m.Status == StatusVoting {
			s.reload(ctx, m)
		}
		return
	}
	if err != nil {
		s.log.WarnContext(ctx, "live tally update failed; it will be rebuilt", "motion", c.MotionID, "err", err)
	}
}

// ReceiptCheck answers "is my ballot counted?".
type ReceiptCheck struct {
	MotionID    int64     `json:"motion_id"`
	Motion      string    `json:"motion"`
	HouseholdID int64     `json:"household_id"`
	Channel     string    `json:"channel"`
	CastAt      time.Time `json:"cast_at"`
	Counted     bool      `json:"counted"`
	Replaced    bool      `json:"replaced"`
	Options     []string  `json:"options,omitempty"`
}

// VerifyReceipt tells whether the ballot behind a receipt is the one
// counted for its household (or was replaced by a later one). The choice of
// a named ballot is shown only to the household's representative; that of
// a secret ballot to nobody.
func (s *Service) VerifyReceipt(ctx context.Context, p identity.Principal, receipt string) (ReceiptCheck, error) {
	if err := s.limitReceipts(ctx, p); err != nil {
		return ReceiptCheck{}, err
	}
	b, err := s.store.BallotByReceipt(ctx, receipt)
	if err != nil {
		return ReceiptCheck{}, err
	}
	m, err := s.store.Motion(ctx, b.MotionID)
	if err != nil {
		return ReceiptCheck{}, err
	}
	current, exists, err := s.store.Counted(ctx, b.MotionID, b.HouseholdID)
	if err != nil {
		return ReceiptCheck{}, err
	}
	out := ReceiptCheck{MotionID: m.ID, Motion: m.Title, HouseholdID: b.HouseholdID, Channel: b.Channel, CastAt: b.CreatedAt,
		Counted: exists && current.BallotID == b.ID && current.Channel != ChannelWithdrawn}
	out.Replaced = !out.Counted
	// A secret ballot's choice is shown to nobody, the household included:
	// whoever holds a receipt (the staff who entered a paper ballot, a
	// proxy, someone looking over a shoulder) learns that it counts, not
	// how it was cast.
	if p.Kind == identity.KindUser && m.Mode == ModeNamed {
		if rep, err := s.store.IsRepresentative(ctx, p.ID, b.HouseholdID); err == nil && rep {
			out.Options = b.Options
		}
	}
	return out, nil
}
