package sqlstore

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/voting"
)

// racingBallots is the voting store with a ballot committed by someone
// else right after the paper trail has read the ballots.
type racingBallots struct {
	*Voting
	race func()
}

func (r racingBallots) Ballots(ctx context.Context, motionID int64) ([]voting.Ballot, error) {
	bs, err := r.Voting.Ballots(ctx, motionID)
	if r.race != nil {
		done := make(chan struct{})
		go func() { defer close(done); r.race() }()
		// On SQLite (one connection) the write waits for the snapshot to
		// end; on MySQL it commits at once.
		select {
		case <-done:
		case <-time.After(300 * time.Millisecond):
		}
	}
	return bs, err
}

// castDirect records a ballot through the store's ballot path, as a batch
// of one would.
func castDirect(s *Voting, m voting.Motion, h int64, channel, receipt string) error {
	k := voting.BallotKey{MotionID: m.ID, HouseholdID: h}
	return s.InBallotTx(context.Background(), func(_ context.Context, tx voting.BallotTx) error {
		_, locked, err := tx.LockBallots([]int64{m.ID}, []voting.BallotKey{k}, nil, nil)
		if err != nil {
			return err
		}
		b := []voting.Ballot{{MotionID: m.ID, HouseholdID: h, Options: []string{"agree"}, Channel: channel, CastBy: "user:1", Receipt: receipt, CreatedAt: t0}}
		if err := tx.InsertBallots(b, nil); err != nil {
			return err
		}
		cur := locked[k]
		if cur.HasCounted {
			if err := tx.SupersedeBallots([]int64{cur.Counted.BallotID}, t0); err != nil {
				return err
			}
		}
		return tx.PutCountedAll([]voting.Counted{{MotionID: m.ID, HouseholdID: h, BallotID: b[0].ID, Options: b[0].Options,
			Channel: channel, Version: cur.Counted.Version + 1}})
	})
}

// The paper-trail sheet reads the ballots and the counted ones as of one
// moment: a paper ballot entered while it is made either shows on both or
// on neither, never as counted through a channel the household did not use.
func TestPaperTrailOneSnapshot(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p, hs := seedHouseholds(t, db, 1)
		h := hs[0]
		vs := NewVoting(db).WithAudit(NewAuditLog(db, testHasher))
		m, err := vs.CreateMotion(ctx, voting.Motion{CourtyardID: p.Courtyard, ScopeType: voting.ScopeCourtyard, ScopeID: p.Courtyard, Title: "表决",
			Rule: voting.OrdinaryRule(), Options: []voting.Option{{Key: "agree", Label: "同意"}}, Mode: voting.ModeNamed, Status: voting.StatusVoting,
			OpensAt: t0, ClosesAt: t0.Add(time.Hour), CreatedBy: "staff:1", CreatedAt: t0})
		must(t, err)
		must(t, db.Exec("INSERT INTO motion_electorate (motion_id, household_id, owner_group, area, building_id, unit_id) SELECT ?, id, id, area, building_id, unit_id FROM households WHERE id = ?",
			m.ID, h).Error)
		must(t, castDirect(vs, m, h, voting.ChannelSelf, "RSELF"))

		raced := make(chan struct{})
		store := racingBallots{Voting: vs, race: func() {
			defer close(raced)
			if err := castDirect(vs, m, h, voting.ChannelPaper, "RPAPER"); err != nil {
				t.Error(err) // not Fatal: another goroutine
			}
		}}
		svc := voting.NewService(store, nil, NewAuditLog(db, testHasher), slog.New(slog.NewTextHandler(io.Discard, nil)))
		staff := identity.Principal{Kind: identity.KindStaff, ID: 7,
			Grants: []identity.Grant{{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: p.Community}}}
		var rows []voting.TrailRow
		must(t, svc.PaperTrail(ctx, staff, m.ID, vs, func(_ voting.Motion, rs []voting.TrailRow) error {
			rows = rs
			return nil
		}))
		<-raced
		if len(rows) != 1 {
			t.Fatalf("rows = %+v, want household %d", rows, h)
		}
		r := rows[0]
		if (r.Counted == voting.ChannelPaper && !r.Paper) || (r.Counted == voting.ChannelSelf && !r.Electronic) {
			t.Errorf("sheet row %+v: counted through a channel the sheet says was not used (two reads, two moments)", r)
		}
	})
}
