package voting

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
)

// exportStore is a voting store for one named motion whose snapshot reads
// are marked in their ctx.
type exportStore struct {
	Store
	m         Motion
	place     identity.Place
	electors  []Elector
	counted   []Counted
	snapshots int
}

type snapshotKey struct{}

func (s *exportStore) Motion(context.Context, int64) (Motion, error) { return s.m, nil }
func (s *exportStore) Courtyard(context.Context, int64) (Courtyard, error) {
	return Courtyard{Place: s.place}, nil
}
func (s *exportStore) InSnapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	s.snapshots++
	return fn(context.WithValue(ctx, snapshotKey{}, true))
}
func (s *exportStore) Electorate(context.Context, int64) ([]Elector, error) { return s.electors, nil }
func (s *exportStore) CountedBallots(context.Context, int64) ([]Counted, error) {
	return s.counted, nil
}

// EachResult gives one row per elector, voted as counted; outside a
// snapshot it fails the test (the rows must be read with the totals).
func (s *exportStore) EachResult(ctx context.Context, _ int64, fn func(ResultRow) error) error {
	if ctx.Value(snapshotKey{}) == nil {
		return errors.New("rows read outside the totals' snapshot")
	}
	for _, e := range s.electors {
		r := ResultRow{HouseholdID: e.HouseholdID, Area: e.Area}
		for _, c := range s.counted {
			if c.HouseholdID == e.HouseholdID {
				r.Voted, r.Options = true, c.Options
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// staleLive is a live tally a ballot behind the database.
type staleLive struct{ LiveTally }

func (staleLive) Totals(context.Context, int64) (Totals, error) {
	return Totals{ElectorateHouses: 3, ElectorateHeads: 3, ElectorateArea: 30000, VotedHouses: 1, VotedHeads: 1, VotedArea: 10000,
		Options: []OptionCount{{Option: "agree", Households: 1, Area: 10000, Head: big.NewRat(1, 1)}}}, nil
}

type nopAudit struct{}

func (nopAudit) Append(context.Context, audit.Record) error      { return nil }
func (nopAudit) AppendAll(context.Context, []audit.Record) error { return nil }

// While voting goes on, an export's totals are those of its own rows: both
// come from one snapshot of the database, not the totals from the live
// tally (which may be ballots ahead or behind) and the rows from later.
func TestExportResultsWhileVotingTotalsMatchRows(t *testing.T) {
	place := identity.Place{SubdistrictID: 1, CommunityID: 2, CourtyardID: 3}
	m := Motion{ID: 9, CourtyardID: 3, Status: StatusVoting, ClosesAt: time.Now().Add(time.Hour), Rule: OrdinaryRule(), Options: DecisionOptions(), Mode: ModeNamed}
	st := &exportStore{m: m, place: place}
	for h := int64(1); h <= 3; h++ {
		st.electors = append(st.electors, Elector{Voter: Voter{HouseholdID: h, Group: h, Area: 10000}})
	}
	st.counted = []Counted{{MotionID: 9, HouseholdID: 1, Options: []string{"agree"}, Version: 1}, {MotionID: 9, HouseholdID: 2, Options: []string{"agree"}, Version: 1}}
	s := NewService(st, staleLive{}, nopAudit{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	staff := identity.Principal{Kind: identity.KindStaff, ID: 1, Grants: []identity.Grant{{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: 2}}}

	var voted, rowsVoted int
	err := s.ExportResults(context.Background(), staff, m.ID, false, nil, st, func(_ Motion, d Disclosure, rows func(func(ResultRow) error) error) error {
		voted = d.Voted.Households
		return rows(func(r ResultRow) error {
			if r.Voted {
				rowsVoted++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if voted != rowsVoted || voted != 2 || st.snapshots != 1 {
		t.Errorf("export while voting: summary says %d voted, its rows %d (want 2 and 2), %d snapshots", voted, rowsVoted, st.snapshots)
	}
}
