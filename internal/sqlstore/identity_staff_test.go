package sqlstore

import (
	"context"
	"slices"
	"testing"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

func TestStaffInScope(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := seedPlaces(t, db)
		s := NewIdentity(db)
		mk := func(name string, home identity.Grant, grants ...identity.Grant) int64 {
			st, err := s.CreateStaff(ctx, identity.Staff{Username: name, DisplayName: name + "员", PasswordHash: "x", CreatedAt: t0, Home: home})
			must(t, err)
			for _, g := range grants {
				must(t, s.AddGrant(ctx, identity.KindStaff, st.ID, g, "cli", t0))
			}
			return st.ID
		}
		sub := identity.Grant{Role: identity.RoleSubdistrictAdmin, ScopeType: identity.ScopeSubdistrict, ScopeID: p.Subdistrict}
		c1 := identity.Grant{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: p.Community}
		c2 := identity.Grant{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: p.Comm2}
		phone1 := identity.Grant{Role: identity.RolePhoneViewer, ScopeType: identity.ScopeCommunity, ScopeID: p.Community}
		mk("admin", identity.Grant{}, sub)
		both := mk("both", identity.Grant{}, c1, c2, phone1)
		mk("two", identity.Grant{}, c2)
		mk("homeless", identity.Grant{}) // made on the command line, no grant: in no one's list
		mk("home1", identity.Grant{ScopeType: identity.ScopeCommunity, ScopeID: p.Community})
		must(t, s.AddGrant(ctx, identity.KindUser, both, c1, "cli", t0)) // a WeChat user with the same ID is not staff

		names := func(pg identity.StaffPage) []string {
			var out []string
			for _, e := range pg.Entries {
				out = append(out, e.Staff.Username)
			}
			return out
		}
		list := func(q identity.StaffQuery) identity.StaffPage {
			if q.Limit == 0 {
				q.Limit = 20
			}
			pg, err := s.StaffInScope(ctx, q)
			must(t, err)
			return pg
		}
		whole := list(identity.StaffQuery{Subdistricts: []int64{p.Subdistrict}})
		if got := names(whole); !slices.Equal(got, []string{"admin", "both", "two", "home1"}) || whole.Total != 4 {
			t.Errorf("the subdistrict's staff: %v (total %d)", got, whole.Total)
		}
		if len(whole.Scopes) != 3 {
			t.Errorf("the subdistrict's scopes: %+v", whole.Scopes)
		}
		one := list(identity.StaffQuery{Communities: []int64{p.Community}})
		if got := names(one); !slices.Equal(got, []string{"both", "home1"}) {
			t.Errorf("community 1's staff: %v", got)
		}
		// Grants outside the view are left out, names are read with them.
		var bothGrants []string
		for _, g := range one.Entries[0].Grants {
			bothGrants = append(bothGrants, string(g.Role)+"@"+g.ScopeName)
		}
		if !slices.Equal(bothGrants, []string{"community_staff@" + seedCommunity, "phone_viewer@" + seedCommunity}) {
			t.Errorf("both's grants seen from community 1: %v", bothGrants)
		}
		if got := names(list(identity.StaffQuery{Subdistricts: []int64{p.Subdistrict}, Text: "tw"})); !slices.Equal(got, []string{"two"}) {
			t.Errorf("text tw: %v", got)
		}
		if got := names(list(identity.StaffQuery{Subdistricts: []int64{p.Subdistrict}, Text: "%"})); len(got) != 0 {
			t.Errorf("a %% is a character, not a wildcard: %v", got)
		}
		pg := list(identity.StaffQuery{Subdistricts: []int64{p.Subdistrict}, Offset: 2, Limit: 1})
		if got := names(pg); !slices.Equal(got, []string{"two"}) || pg.Total != 4 {
			t.Errorf("page 3 of 1: %v total %d", got, pg.Total)
		}
		two := whole.Entries[2].Staff.ID
		if got := names(list(identity.StaffQuery{Subdistricts: []int64{p.Subdistrict}, ID: two})); !slices.Equal(got, []string{"two"}) {
			t.Errorf("one account of the view by ID: %v", got)
		}
		if got := list(identity.StaffQuery{Communities: []int64{p.Community}, ID: two}); len(got.Entries) != 0 {
			t.Errorf("an account outside the view by ID: %+v", got.Entries)
		}
		if got := list(identity.StaffQuery{Communities: []int64{999999}}); len(got.Entries) != 0 || got.Total != 0 {
			t.Errorf("an unknown community: %+v", got)
		}
	})
}

func TestSetStaffPassword(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		s := NewIdentity(db)
		st, err := s.CreateStaff(ctx, identity.Staff{Username: "clerk", DisplayName: "王办事员", PasswordHash: "old", CreatedAt: t0})
		must(t, err)
		must(t, s.UpdateStaffLogin(ctx, st.ID, 3, t0.Add(1e12), t0))
		for want := 1; want <= 2; want++ {
			changed, err := s.SetStaffPassword(ctx, st.ID, "new", want-1, t0)
			must(t, err)
			got, err := s.StaffByID(ctx, st.ID)
			must(t, err)
			if !changed || got.SessionEpoch != want || got.PasswordHash != "new" || got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
				t.Fatalf("after change %d: changed %v, %+v", want, changed, got)
			}
		}
		// A change from an epoch another change has left: nothing changes.
		changed, err := s.SetStaffPassword(ctx, st.ID, "late", 1, t0)
		must(t, err)
		if got, _ := s.StaffByID(ctx, st.ID); changed || got.SessionEpoch != 2 || got.PasswordHash != "new" {
			t.Fatalf("a change from a past epoch: changed %v, %+v", changed, got)
		}
		_, err = s.SetStaffPassword(ctx, st.ID+100, "x", 0, t0)
		wantErr(t, err, louyuan.KindNotFound, "staff_not_found")
	})
}
