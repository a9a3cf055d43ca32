package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/voting"
)

// TestCouncilActivityStore counts a council's courtyards' activity and
// lists an election unit's households on both databases: another
// courtyard's rows are not counted, an unrated opinion is not rated.
func TestCouncilActivityStore(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p, hs := seedHouseholds(t, db, 2)
		h := hs[0]
		rep := newUser(t, db, "act-rep", "代表甲")
		must(t, db.Exec("INSERT INTO memberships (user_id, household_id, role, representative, via, created_at) VALUES (?, ?, 'owner', 1, 'invite', ?)", rep, h, t0).Error)
		s := NewCouncils(db)

		empty, err := s.Activity(ctx, []int64{p.Courtyard})
		must(t, err)
		if empty.Motions.Total != 0 || empty.Notices.Sent != 0 || empty.Opinions.Received != 0 || empty.Opinions.AverageRating != nil {
			t.Fatalf("activity of a quiet courtyard: %+v", empty)
		}

		// A sent notice read by its one recipient; a draft notice; one in another courtyard.
		notice := func(yard int64, status string) int64 {
			title := fmt.Sprint("通知", yard, status)
			return insertID(t, db, "notices", "INSERT INTO notices (courtyard_id, kind, title, body, images, page, status, check_result, created_by, created_at) VALUES (?, 'manual', ?, '正文', '[]', '', ?, 'pass', 'staff:1', ?)",
				[]any{yard, title, status, t0}, "title = ?", title)
		}
		n := notice(p.Courtyard, "sent")
		notice(p.Courtyard, "draft")
		notice(p.Court2, "sent")
		must(t, db.Exec("INSERT INTO notice_deliveries (notice_id, user_id, template_key, state, next_at, read_at, created_at, updated_at) VALUES (?, ?, 'notice', 'sent', ?, ?, ?, ?)",
			n, rep, t0, t0, t0, t0).Error)
		v := NewVoting(db)
		for i, st := range []voting.Status{voting.StatusVoting, voting.StatusCancelled} {
			_, err := v.CreateMotion(ctx, voting.Motion{CourtyardID: p.Courtyard, ScopeType: voting.ScopeCourtyard, ScopeID: p.Courtyard, Title: fmt.Sprint("表决", i),
				Rule: voting.OrdinaryRule(), Options: []voting.Option{{Key: "agree", Label: "同意"}}, Mode: voting.ModeNamed, Status: st,
				OpensAt: t0, ClosesAt: t0.Add(time.Hour), CreatedBy: "staff:1", CreatedAt: t0})
			must(t, err)
		}
		for _, o := range []struct {
			status string
			rating any
		}{{"resolved", 4}, {"resolved", 2}, {"in_progress", nil}, {"received", nil}} {
			must(t, db.Exec("INSERT INTO opinions (courtyard_id, raised_by, category, body, photos, public, status, rating, reopened, created_at, updated_at) VALUES (?, ?, 'repair', '灯坏了', '[]', 1, ?, ?, 0, ?, ?)",
				p.Courtyard, rep, o.status, o.rating, t0, t0).Error)
		}
		a, err := s.Activity(ctx, []int64{p.Courtyard})
		must(t, err)
		if a.Notices.Sent != 1 || a.Notices.Recipients != 1 || a.Notices.Delivered != 1 || a.Notices.Read != 1 {
			t.Errorf("notices: %+v", a.Notices)
		}
		if a.Motions.Total != 2 || a.Motions.Underway != 1 || a.Motions.Cancelled != 1 || a.Motions.Passed != 0 {
			t.Errorf("motions: %+v", a.Motions)
		}
		if o := a.Opinions; o.Received != 4 || o.Resolved != 2 || o.InProgress != 1 || o.Rated != 2 || o.AverageRating == nil || *o.AverageRating != 3 {
			t.Errorf("opinions: %+v", o)
		}

		unit, err := s.UnitHouseholds(ctx, voting.ScopeCourtyard, p.Courtyard)
		must(t, err)
		if len(unit) != 2 || unit[0].Room != "101" || len(unit[0].Owners) != 1 || unit[0].Owners[0] != "业主0" || len(unit[0].Members) != 1 ||
			unit[0].Members[0].UserID != rep || !unit[0].Members[0].Representative || len(unit[1].Members) != 0 {
			t.Errorf("unit households: %+v", unit)
		}

		// A member without a real name is named as they stood for election.
		nameless := newUser(t, db, "act-nameless", "")
		now := time.Now().UTC()
		id, err := s.CreateCouncil(ctx, "理事会", []int64{p.Courtyard}, "2026-01-01", "2028-12-31", now)
		must(t, err)
		e, err := s.CreateElection(ctx, council.Election{CouncilID: id, CourtyardID: p.Courtyard, ScopeType: "courtyard", ScopeID: p.Courtyard, Title: "换届",
			Seats: 1, TermStartsOn: "2029-01-01", TermEndsOn: "2031-12-31", Status: council.ElectionNominating, CreatedBy: "staff:1", CreatedAt: now})
		must(t, err)
		_, err = s.CreateCandidate(ctx, council.Candidate{ElectionID: e.ID, UserID: nameless, HouseholdID: h, Name: "李四", Source: council.SourceCommunity,
			NominatedBy: "staff:1", CreatedAt: now})
		must(t, err)
		_, err = s.StartTerm(ctx, id, "2029-01-01", "2031-12-31", []council.Member{{UserID: nameless, Seat: council.SeatChair}, {UserID: rep, Seat: council.SeatMember}}, now)
		must(t, err)
		c, err := s.Council(ctx, id, "2029-06-01")
		must(t, err)
		if m := c.Terms[1].Members; len(m) != 2 || m[0].Name != "李四" || m[1].Name != "代表甲" {
			t.Errorf("members of the new term: %+v", m)
		}

		// The candidates come with their nominators, and the election's
		// findings by candidate (one query each, not one per candidate).
		byRes, err := s.CreateCandidate(ctx, council.Candidate{ElectionID: e.ID, UserID: rep, HouseholdID: h, Name: "代表甲", Source: council.SourceResidents,
			NominatedBy: "user:1", CreatedAt: now, Nominators: []council.Nominator{{UserID: rep, HouseholdID: h}}})
		must(t, err)
		must(t, s.PutFinding(ctx, council.Finding{CandidateID: byRes.ID, Criterion: "cult", Pass: true, Note: "经走访核实", FoundBy: "staff:1", UpdatedBy: "staff:1", UpdatedAt: now}))
		cs, err := s.Candidates(ctx, e.ID)
		must(t, err)
		if len(cs) != 2 || len(cs[0].Nominators) != 0 || len(cs[1].Nominators) != 1 || cs[1].Nominators[0] != (council.Nominator{UserID: rep, HouseholdID: h}) {
			t.Errorf("candidates: %+v", cs)
		}
		fs, err := s.ElectionFindings(ctx, e.ID)
		must(t, err)
		if len(fs) != 1 || len(fs[byRes.ID]) != 1 || fs[byRes.ID][0].Criterion != "cult" || !fs[byRes.ID][0].Pass || fs[byRes.ID][0].Note != "经走访核实" {
			t.Errorf("findings of the election: %+v", fs)
		}
	})
}
