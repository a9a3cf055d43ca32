package roster

import (
	"context"
	"testing"

	"github.com/louyuan/louyuan/internal/identity"
)

// pendingStore answers only what PendingRequestViews reads, and counts the
// reads of households and members (one per household read) and the
// queries that read them.
type pendingStore struct {
	Store
	reqs                            []Request
	households, members             int
	householdQueries, memberQueries int
}

func (s *pendingStore) HouseholdsByID(ctx context.Context, ids []int64) ([]Household, error) {
	s.householdQueries++
	var out []Household
	for _, id := range ids {
		h, _ := s.Household(ctx, id)
		out = append(out, h)
	}
	return out, nil
}

func (s *pendingStore) MembersOfHouseholds(ctx context.Context, ids []int64) ([]Member, error) {
	s.memberQueries++
	var out []Member
	for _, id := range ids {
		ms, _ := s.Members(ctx, id)
		out = append(out, ms...)
	}
	return out, nil
}

func (s *pendingStore) Courtyard(ctx context.Context, id int64) (Courtyard, error) {
	return Courtyard{ID: id, CommunityID: 2, SubdistrictID: 3}, nil
}

func (s *pendingStore) PendingRequests(ctx context.Context, courtyardID int64) ([]Request, error) {
	return s.reqs, nil
}

func (s *pendingStore) Household(ctx context.Context, id int64) (Household, error) {
	s.households++
	return Household{ID: id, CourtyardID: 1}, nil
}

func (s *pendingStore) Members(ctx context.Context, householdID int64) ([]Member, error) {
	s.members++
	return []Member{{UserID: 7, HouseholdID: householdID, RealName: "王芳", Representative: true}}, nil
}

// A family binding one household together: the household and its members
// are read once, not once per request.
func TestPendingRequestViewsReadsEachHouseholdOnce(t *testing.T) {
	st := &pendingStore{reqs: []Request{
		{ID: 1, Kind: "bind", HouseholdID: 10, UserID: 8, RealName: "张三"},
		{ID: 2, Kind: "bind", HouseholdID: 10, UserID: 9, RealName: "张四"},
		{ID: 3, Kind: "representative", HouseholdID: 10, UserID: 7},
		{ID: 4, Kind: "bind", HouseholdID: 11, UserID: 5, RealName: "李四"},
	}}
	s := NewService(st, nil, nil)
	staff := identity.Principal{Kind: identity.KindStaff, ID: 1,
		Grants: []identity.Grant{{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: 2}}}
	out, total, err := s.PendingRequestViews(context.Background(), staff, 1, "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if total != 4 || len(out) != 4 {
		t.Fatalf("got %d of %d, want 4 of 4", len(out), total)
	}
	if st.households != 2 || st.members != 2 {
		t.Errorf("read households %d times and members %d times, want 2 and 2 (one per household)", st.households, st.members)
	}
	if st.householdQueries != 1 || st.memberQueries != 1 {
		t.Errorf("%d queries for households and %d for members, want one each for the whole page", st.householdQueries, st.memberQueries)
	}
	if out[1].PersonName != "张四" || out[1].Representative != "王芳" || out[2].PersonName != "王芳" {
		t.Errorf("views: %+v", out)
	}
}
