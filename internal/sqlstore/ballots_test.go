package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/voting"
)

// The ballot path's store: one locking read finds the electorate row, the
// representative and the counted ballot of each household; ballots inserted
// in one statement get their IDs whether the database returns them
// (SQLite, MariaDB) or they are read back (MySQL).
func TestBallotPathStore(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p, h := seedHouseholds(t, db, 3)
		rep := newUser(t, db, "rep-openid", "代表")
		must(t, db.Exec("INSERT INTO memberships (user_id, household_id, role, representative, via, created_at) VALUES (?, ?, 'owner', 1, 'invite', ?)", rep, h[0], t0).Error)
		s := NewVoting(db).WithAudit(NewAuditLog(db, testHasher))
		m, err := s.CreateMotion(ctx, voting.Motion{CourtyardID: p.Courtyard, ScopeType: voting.ScopeCourtyard, ScopeID: p.Courtyard, Title: "表决",
			Rule: voting.OrdinaryRule(), Options: []voting.Option{{Key: "agree", Label: "同意"}}, Mode: voting.ModeNamed, Status: voting.StatusVoting,
			OpensAt: t0, ClosesAt: t0.Add(time.Hour), CreatedBy: "staff:1", CreatedAt: t0})
		must(t, err)
		// Households 0 and 1 are in the electorate, 2 is not.
		must(t, db.Exec("INSERT INTO motion_electorate (motion_id, household_id, owner_group, area, building_id, unit_id) SELECT ?, id, id, area, building_id, unit_id FROM households WHERE id IN ?",
			m.ID, h[:2]).Error)

		for range 2 { // the second read comes from the decoded-choices cache
			var ms map[int64]voting.Motion
			must(t, s.InBallotTx(ctx, func(_ context.Context, tx voting.BallotTx) (err error) {
				ms, _, err = tx.LockBallots([]int64{m.ID, m.ID, 1 << 40}, nil, nil, nil)
				return err
			}))
			got := ms[m.ID]
			if len(ms) != 1 || got.Status != voting.StatusVoting || !got.ClosesAt.Equal(m.ClosesAt) || got.CourtyardID != p.Courtyard ||
				got.Mode != voting.ModeNamed || got.Rule.Kind != voting.OrdinaryRule().Kind || len(got.Options) != 1 || got.Options[0].Key != "agree" {
				t.Fatalf("LockBallots motions = %+v", ms)
			}
		}

		canReturn := db.Returning
		for _, returning := range []bool{true, false} {
			db.Returning = returning && canReturn
			keys := []voting.BallotKey{{MotionID: m.ID, HouseholdID: h[2]}, {MotionID: m.ID, HouseholdID: h[1]}, {MotionID: m.ID, HouseholdID: h[0]}}
			err := s.InBallotTx(ctx, func(ctx context.Context, tx voting.BallotTx) error {
				motions, locked, err := tx.LockBallots([]int64{m.ID}, keys, nil, nil)
				if err != nil {
					return err
				}
				if motions[m.ID].Status != voting.StatusVoting {
					t.Errorf("motion read with the rows: %+v", motions)
				}
				if _, in := locked[keys[0]]; in || len(locked) != 2 {
					t.Errorf("locked %v: household 2 is outside the electorate", locked)
				}
				if got := locked[keys[2]].Representative; got != rep {
					t.Errorf("representative of household 0 = %d, want %d", got, rep)
				}
				bs := []voting.Ballot{
					{MotionID: m.ID, HouseholdID: h[0], Options: []string{"agree"}, Channel: voting.ChannelSelf, CastBy: "user:1", Receipt: fmt.Sprintf("R%vA", returning), CreatedAt: t0},
					{MotionID: m.ID, HouseholdID: h[1], Options: []string{"agree"}, Channel: voting.ChannelSelf, CastBy: "user:2", Receipt: fmt.Sprintf("R%vB", returning), CreatedAt: t0},
				}
				streams := []string{audit.HouseholdStream(p.Courtyard, h[1]), audit.HouseholdStream(p.Courtyard, h[0])}
				if err := tx.InsertBallots(bs, streams); err != nil {
					return err
				}
				// The audit heads are locked (or found missing) in the same go.
				if heads := tx.(ballotWriter).t.heads; len(heads) != 2 || heads[streams[0]].Stream != streams[0] || heads[streams[1]].Hash == "" {
					t.Errorf("audit heads locked with the ballots: %+v", heads)
				}
				var ids []int64
				if err := db.conn(ctx).Raw("SELECT id FROM ballots WHERE receipt IN ? ORDER BY receipt", []string{bs[0].Receipt, bs[1].Receipt}).Scan(&ids).Error; err != nil {
					return err
				}
				if len(ids) != 2 || bs[0].ID != ids[0] || bs[1].ID != ids[1] {
					t.Errorf("returning=%v: ballot IDs %d, %d; stored %v", db.Returning, bs[0].ID, bs[1].ID, ids)
				}
				var cs []voting.Counted
				for _, b := range bs {
					c := voting.Counted{MotionID: m.ID, HouseholdID: b.HouseholdID, BallotID: b.ID, Options: b.Options, Channel: b.Channel, Version: 1}
					if l := locked[voting.BallotKey{MotionID: m.ID, HouseholdID: b.HouseholdID}]; l.HasCounted {
						c.Version = l.Counted.Version + 1
					}
					cs = append(cs, c)
				}
				if err := tx.PutCountedAll(cs); err != nil {
					return err
				}
				return tx.AppendAudit([]audit.Record{{Stream: streams[0], Actor: "user:2", Action: "ballot.cast", Object: "motion:1"},
					{Stream: streams[1], Actor: "user:1", Action: "ballot.cast", Object: "motion:1"}})
			})
			must(t, err)
		}
		// The second round replaced the first: version 2, the newer ballot.
		err = s.InBallotTx(ctx, func(ctx context.Context, tx voting.BallotTx) error {
			_, locked, err := tx.LockBallots([]int64{m.ID}, []voting.BallotKey{{MotionID: m.ID, HouseholdID: h[0]}}, nil, nil)
			if err != nil {
				return err
			}
			c := locked[voting.BallotKey{MotionID: m.ID, HouseholdID: h[0]}]
			b, err := s.BallotByReceipt(ctx, "RfalseA")
			if err != nil {
				return err
			}
			if !c.HasCounted || c.Counted.Version != 2 || c.Counted.BallotID != b.ID || c.Counted.Options[0] != "agree" {
				t.Errorf("counted after two rounds: %+v (ballot %d)", c, b.ID)
			}
			return nil
		})
		must(t, err)
		// Two entries a round, each chained onto the one before (the first
		// round created the heads, the second moved them on).
		verifyClean(t, s.audit, 4)

		// Ballots inserted with the locks, before any check: every one whose
		// keys are in the electorate, none of a motion that does not exist;
		// household 2 (not in the electorate) may be inserted too (MySQL) and
		// is then refused like the others; refused ones are deleted with
		// the commit.
		for _, returning := range []bool{true, false} {
			db.Returning = returning && canReturn
			suffix := fmt.Sprint(returning)
			bs := []voting.Ballot{
				{MotionID: m.ID, HouseholdID: h[2], Options: []string{"agree"}, Channel: voting.ChannelSelf, CastBy: "user:3", Receipt: "E" + suffix + "2", CreatedAt: t0},
				{MotionID: m.ID, HouseholdID: h[1], Options: []string{"agree"}, Channel: voting.ChannelSelf, CastBy: "user:2", Receipt: "E" + suffix + "1", CreatedAt: t0},
				{MotionID: 1 << 40, HouseholdID: h[0], Options: []string{"agree"}, Channel: voting.ChannelSelf, CastBy: "user:1", Receipt: "E" + suffix + "X", CreatedAt: t0},
				{MotionID: m.ID, HouseholdID: h[0], Options: []string{"nope"}, Channel: voting.ChannelSelf, CastBy: "user:1", Receipt: "E" + suffix + "0", CreatedAt: t0},
			}
			keys := make([]voting.BallotKey, len(bs))
			for i, b := range bs {
				keys[i] = voting.BallotKey{MotionID: b.MotionID, HouseholdID: b.HouseholdID}
			}
			must(t, s.InBallotTx(ctx, func(_ context.Context, tx voting.BallotTx) error {
				_, locked, err := tx.LockBallots([]int64{m.ID, 1 << 40}, keys, bs, []string{audit.HouseholdStream(p.Courtyard, h[1])})
				if err != nil {
					return err
				}
				if len(locked) != 2 || bs[1].ID == 0 || bs[2].ID != 0 || bs[3].ID == 0 {
					t.Errorf("returning=%v: locked %d rows; ballot IDs %d %d %d %d", db.Returning, len(locked), bs[0].ID, bs[1].ID, bs[2].ID, bs[3].ID)
				}
				refused := []int64{bs[3].ID} // not an option
				if bs[0].ID != 0 {
					refused = append(refused, bs[0].ID) // not in the electorate
				}
				return tx.DeleteBallots(refused)
			}))
			var kept []string
			must(t, db.Raw("SELECT receipt FROM ballots WHERE receipt LIKE ? ORDER BY receipt", "E"+suffix+"%").Scan(&kept).Error)
			if len(kept) != 1 || kept[0] != "E"+suffix+"1" {
				t.Errorf("returning=%v: ballots kept %v, want only household 1's", db.Returning, kept)
			}
		}

		// A ballot of the electorate whose receipt is taken already is not
		// left out silently: the batch runs again (with new receipts).
		db.Returning = canReturn
		attempts := 0
		must(t, s.InBallotTx(ctx, func(_ context.Context, tx voting.BallotTx) error {
			attempts++
			receipt := "Etrue1" // household 1's kept ballot above
			if attempts > 1 {
				receipt = "Fresh1"
			}
			bs := []voting.Ballot{{MotionID: m.ID, HouseholdID: h[1], Options: []string{"agree"}, Channel: voting.ChannelSelf, CastBy: "user:2", Receipt: receipt, CreatedAt: t0}}
			_, _, err := tx.LockBallots([]int64{m.ID}, []voting.BallotKey{{MotionID: m.ID, HouseholdID: h[1]}}, bs, nil)
			if err == nil && bs[0].ID == 0 {
				t.Errorf("attempt %d: no error and no ID for a ballot of the electorate", attempts)
			}
			if err == nil {
				err = tx.DeleteBallots([]int64{bs[0].ID})
			}
			return err
		}))
		if attempts != 2 {
			t.Errorf("a taken receipt: %d attempts, want 2 (the second with a fresh receipt)", attempts)
		}
	})
}
