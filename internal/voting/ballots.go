package voting

import (
	"context"
	"errors"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// Receipt is what a household gets for a ballot: the code to check later
// that the ballot is counted.
type Receipt struct {
	MotionID    int64     `json:"motion_id"`
	HouseholdID int64     `json:"household_id"`
	Receipt     string    `json:"receipt"`
	Channel     string    `json:"channel"`
	CastAt      time.Time `json:"cast_at"`
}

// cast is one ballot to record.
type cast struct {
	motionID     int64
	householdID  int64
	options      []string
	channel      string
	castBy       string
	delegationID int64
	paperFile    string
	// allowed checks, inside the transaction and after the household's
	// counted ballot is locked, whether this ballot may replace it.
	allowed func(ctx context.Context, m Motion, current Counted, exists bool) error
}

// Cast records the household representative's own ballot. Re-voting before
// the close replaces the counted ballot; the household's own ballot always
// replaces one a proxy cast.
func (s *Service) Cast(ctx context.Context, p identity.Principal, motionID, householdID int64, options []string) (Receipt, error) {
	if p.Kind != identity.KindUser {
		return Receipt{}, louyuan.Forbidden("users_only", "只有户代表可以在小程序中投票")
	}
	// Checked inside the ballot's transaction, on a locked membership row,
	// so that a representative changed a moment ago cannot still vote.
	return s.cast(ctx, cast{motionID: motionID, householdID: householdID, options: options, channel: ChannelSelf, castBy: p.Ref(),
		allowed: func(ctx context.Context, _ Motion, _ Counted, _ bool) error {
			ok, err := s.store.LockRepresentative(ctx, p.ID, householdID)
			if err != nil {
				return err
			}
			if !ok {
				return louyuan.Forbidden("not_representative", "只有本户的户代表可以投票；租户不能投票")
			}
			return nil
		}})
}

// EnterPaper records a signed paper ballot, entered by council or staff of
// the courtyard with a photo of the paper (an uploaded file). It counts like
// an electronic ballot and replaces the counted one.
func (s *Service) EnterPaper(ctx context.Context, p identity.Principal, motionID, householdID int64, options []string, photo string) (Receipt, error) {
	m, err := s.store.Motion(ctx, motionID)
	if err != nil {
		return Receipt{}, err
	}
	if err := s.canManage(ctx, p, m.CourtyardID); err != nil {
		return Receipt{}, err
	}
	ok, err := s.store.FileExists(ctx, photo, "paper_ballot", m.CourtyardID)
	if err != nil {
		return Receipt{}, err
	}
	if !ok {
		return Receipt{}, louyuan.Invalid("photo_required", "请先上传本楼院签字纸质选票的照片（用途 paper_ballot）")
	}
	return s.cast(ctx, cast{motionID: motionID, householdID: householdID, options: options, channel: ChannelPaper, castBy: p.Ref(), paperFile: photo})
}

func (s *Service) cast(ctx context.Context, c cast) (Receipt, error) {
	var (
		counted Counted
		r       Receipt
	)
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		m, err := s.store.ShareMotion(ctx, c.motionID)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if m.Status != StatusVoting || !now.Before(m.ClosesAt) {
			return louyuan.Conflict("voting_closed", "该表决当前不在投票期内")
		}
		options, err := m.checkChoice(c.options)
		if err != nil {
			return err
		}
		if _, ok, err := s.store.LockElector(ctx, m.ID, c.householdID); err != nil {
			return err
		} else if !ok {
			return louyuan.Forbidden("not_in_electorate", "您的房屋不在本次表决范围内")
		}
		current, exists, err := s.store.Counted(ctx, m.ID, c.householdID)
		if err != nil {
			return err
		}
		if c.allowed != nil {
			if err := c.allowed(ctx, m, current, exists); err != nil {
				return err
			}
		}
		b, err := s.store.InsertBallot(ctx, Ballot{MotionID: m.ID, HouseholdID: c.householdID, Options: options, Channel: c.channel,
			CastBy: c.castBy, DelegationID: c.delegationID, PaperFile: c.paperFile, Receipt: newReceipt(), CreatedAt: now})
		if err != nil {
			return err
		}
		counted = Counted{MotionID: m.ID, HouseholdID: c.householdID, BallotID: b.ID, Options: options, Channel: c.channel,
			DelegationID: c.delegationID, Version: 1}
		if exists {
			counted.Version = current.Version + 1
			if current.BallotID != 0 {
				if err := s.store.SupersedeBallot(ctx, current.BallotID, now); err != nil {
					return err
				}
			}
		}
		if err := s.store.PutCounted(ctx, counted, exists); err != nil {
			return err
		}
		action := "ballot.cast"
		if exists && current.Channel != ChannelWithdrawn {
			action = "ballot.replace"
		}
		detail := map[string]any{"household": c.householdID, "channel": c.channel, "ballot": b.ID, "version": counted.Version}
		if c.delegationID != 0 {
			detail["delegation"] = c.delegationID
		}
		if c.paperFile != "" {
			detail["photo"] = c.paperFile
		}
		if m.Mode == ModeNamed {
			detail["choice"] = options
		}
		r = Receipt{MotionID: m.ID, HouseholdID: c.householdID, Receipt: b.Receipt, Channel: c.channel, CastAt: now}
		return s.audit.Append(ctx, audit.Record{Stream: audit.HouseholdStream(m.CourtyardID, c.householdID), Actor: c.castBy,
			Action: action, Object: motionRef(m.ID), Detail: detail})
	})
	if err != nil {
		return Receipt{}, err
	}
	s.applyLive(ctx, counted)
	return r, nil
}

// applyLive updates the live tally after a commit. A miss rebuilds it from
// the database; a Redis failure is logged and repaired by the next rebuild
// (the ballot itself is safe in the database).
func (s *Service) applyLive(ctx context.Context, c Counted) {
	defer s.reads.forget(c.MotionID)
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
// counted for its household (or was replaced by a later one). The choice is
// shown only to the household's representative.
func (s *Service) VerifyReceipt(ctx context.Context, p identity.Principal, receipt string) (ReceiptCheck, error) {
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
	if p.Kind == identity.KindUser {
		if rep, err := s.store.IsRepresentative(ctx, p.ID, b.HouseholdID); err == nil && rep {
			out.Options = b.Options
		}
	}
	return out, nil
}
