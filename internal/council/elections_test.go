package council

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// ballotStore is the part of Store that DrawBallot uses; the rest panics.
type ballotStore struct {
	Store
	e  Election
	cs []Candidate
}

func (f *ballotStore) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return fn(ctx)
}
func (f *ballotStore) CourtyardPlace(context.Context, int64) (identity.Place, error) {
	return identity.Place{SubdistrictID: 1, CommunityID: 1, CourtyardID: 1}, nil
}
func (f *ballotStore) Switches(context.Context, int64) (map[string]bool, error) { return nil, nil }
func (f *ballotStore) Findings(_ context.Context, id int64) ([]Finding, error) {
	var fs []Finding
	for _, c := range DefaultCriteria() {
		fs = append(fs, Finding{CandidateID: id, Criterion: c.Code, Pass: true})
	}
	return fs, nil
}
func (f *ballotStore) ElectionFindings(ctx context.Context, _ int64) (map[int64][]Finding, error) {
	out := map[int64][]Finding{}
	for _, c := range f.cs {
		out[c.ID], _ = f.Findings(ctx, c.ID)
	}
	return out, nil
}
func (f *ballotStore) Election(context.Context, int64) (Election, error)     { return f.e, nil }
func (f *ballotStore) LockElection(context.Context, int64) (Election, error) { return f.e, nil }
func (f *ballotStore) UpdateElection(_ context.Context, e Election) error {
	f.e = e
	return nil
}
func (f *ballotStore) Candidates(context.Context, int64) ([]Candidate, error) {
	return append([]Candidate(nil), f.cs...), nil
}
func (f *ballotStore) SetOptionKey(_ context.Context, id int64, key string) error {
	for i := range f.cs {
		if f.cs[i].ID == id {
			f.cs[i].OptionKey = key
		}
	}
	return nil
}
func (f *ballotStore) ClearOptionKeys(_ context.Context, electionID int64) error {
	for i := range f.cs {
		if f.cs[i].ElectionID == electionID {
			f.cs[i].OptionKey = ""
		}
	}
	return nil
}

type ballotMotions struct{}

func (ballotMotions) Create(_ context.Context, _ identity.Principal, d voting.Draft) (voting.Motion, error) {
	m := voting.Motion{ID: 2}
	for i := range d.Candidates {
		m.Options = append(m.Options, voting.Option{Key: string(rune('A' + i))})
	}
	return m, nil
}
func (ballotMotions) Motion(context.Context, identity.Principal, int64) (voting.Motion, error) {
	return voting.Motion{ID: 1, Status: voting.StatusCancelled}, nil
}

type nopAudit struct{}

func (nopAudit) Append(context.Context, audit.Record) error { return nil }

// A run-off drawn on some of the candidates takes the others off the
// ballot: their keys of the last ballot would name the new motion's
// options (and the result would credit them with its votes).
func TestRunOffClearsOldOptionKeys(t *testing.T) {
	st := &ballotStore{e: Election{ID: 7, CouncilID: 1, CourtyardID: 1, ScopeType: voting.ScopeCourtyard, ScopeID: 1, Title: "换届", Seats: 1,
		Status: ElectionBallot, MotionID: 1}}
	for i, k := range []string{"A", "B", "C", "D"} {
		st.cs = append(st.cs, Candidate{ID: int64(i + 1), ElectionID: 7, Name: "候选" + k, OptionKey: k})
	}
	s, err := NewService(st, ballotMotions{}, nopAudit{}, nil, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	staff := identity.Principal{Kind: identity.KindStaff, ID: 1, Grants: []identity.Grant{{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: 1}}}
	if _, _, err := s.DrawBallot(context.Background(), staff, 7, BallotDraft{CandidateIDs: []int64{4, 1}, Mode: "named"}); err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{1: "B", 2: "", 3: "", 4: "A"}
	for _, c := range st.cs {
		if c.OptionKey != want[c.ID] {
			t.Errorf("candidate %d has option key %q after the run-off, want %q", c.ID, c.OptionKey, want[c.ID])
		}
	}
}

// viewStore counts the per-candidate findings reads of ballotStore.
type viewStore struct {
	ballotStore
	findingsReads int
}

func (f *viewStore) Findings(ctx context.Context, id int64) ([]Finding, error) {
	f.findingsReads++
	return f.ballotStore.Findings(ctx, id)
}
func (f *viewStore) ElectionFindings(ctx context.Context, _ int64) (map[int64][]Finding, error) {
	out := map[int64][]Finding{}
	for _, c := range f.cs {
		out[c.ID], _ = f.ballotStore.Findings(ctx, c.ID)
	}
	return out, nil
}

// Everyone opens the election during voting: its candidates' eligibility
// comes from the election's findings read at once, not one read per
// candidate.
func TestElectionViewReadsFindingsOnce(t *testing.T) {
	st := &viewStore{ballotStore: ballotStore{e: Election{ID: 7, CouncilID: 1, CourtyardID: 1, ScopeType: voting.ScopeCourtyard, ScopeID: 1, Title: "换届", Seats: 1,
		Status: ElectionPublished}}}
	for i := range 12 {
		st.cs = append(st.cs, Candidate{ID: int64(i + 1), ElectionID: 7, Name: "候选", UserID: int64(100 + i)})
	}
	s, err := NewService(st, ballotMotions{}, nopAudit{}, nil, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Election(context.Background(), identity.Principal{Kind: identity.KindUser, ID: 5}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Candidates) != 12 || st.findingsReads != 0 {
		t.Fatalf("%d candidates shown, findings read %d times one by one", len(v.Candidates), st.findingsReads)
	}
}

// namesStore serves one candidate whose findings were made by staff:1 (a
// disabled account) and staff:2 (whose read fails).
type namesStore struct {
	ballotStore
	fail bool
}

func (f *namesStore) Candidate(context.Context, int64) (Candidate, error) { return f.cs[0], nil }
func (f *namesStore) Findings(_ context.Context, id int64) ([]Finding, error) {
	return []Finding{{CandidateID: id, Criterion: "cult", Pass: true, FoundBy: "staff:1", UpdatedBy: "staff:2"}}, nil
}
func (f *namesStore) Appeal(context.Context, int64) (Appeal, bool, error) {
	return Appeal{}, false, nil
}
func (f *namesStore) StaffName(_ context.Context, id int64) (string, error) {
	if id == 1 {
		return "", louyuan.NotFound("staff_not_found", "工作人员账号不存在")
	}
	if f.fail {
		return "", louyuan.Internalf(errors.New("connection reset"), "read staff")
	}
	return "复核员", nil
}

// A disabled finder is shown without a name; a staff name that cannot be
// read fails the checklist (it is not shown blank as if disabled).
func TestChecklistStaffNameReadFails(t *testing.T) {
	st := &namesStore{ballotStore: ballotStore{e: Election{ID: 7, CouncilID: 1, CourtyardID: 1, ScopeType: voting.ScopeCourtyard, ScopeID: 1, Status: ElectionNominating},
		cs: []Candidate{{ID: 1, ElectionID: 7, Name: "候选", UserID: 100}}}}
	s, err := NewService(st, ballotMotions{}, nopAudit{}, nil, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	staff := identity.Principal{Kind: identity.KindStaff, ID: 3, Grants: []identity.Grant{{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: 1}}}
	cl, err := s.Checklist(context.Background(), staff, 1)
	if err != nil {
		t.Fatal(err)
	}
	var f *Finding
	for _, it := range cl.Items {
		if it.Criterion.Code == "cult" {
			f = it.Finding
		}
	}
	if f == nil || f.FoundByName != "" || f.UpdatedByName != "复核员" {
		t.Fatalf("finding names: %+v", f)
	}
	st.fail = true
	if _, err := s.Checklist(context.Background(), staff, 1); err == nil || louyuan.ErrorKind(err) != louyuan.KindInternal {
		t.Fatalf("checklist with a failed staff read: %v", err)
	}
}
