package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

func TestUsers(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		s := NewIdentity(db)
		u, created, err := s.UpsertUser(ctx, "openid-1", "", t0)
		must(t, err)
		if !created || u.ID == 0 || u.OpenID != "openid-1" || u.UnionID != "" || !u.CreatedAt.Equal(t0) {
			t.Fatalf("first UpsertUser = %+v, created %v", u, created)
		}
		later := t0.Add(time.Hour)
		u2, created, err := s.UpsertUser(ctx, "openid-1", "union-1", later)
		must(t, err)
		if created || u2.ID != u.ID || u2.UnionID != "union-1" || !u2.CreatedAt.Equal(t0) {
			t.Fatalf("second UpsertUser = %+v, created %v; want ID %d, union-1, created_at unchanged", u2, created, u.ID)
		}
		// Logging in without a unionid keeps the known one.
		u3, created, err := s.UpsertUser(ctx, "openid-1", "", later.Add(time.Hour))
		must(t, err)
		if created || u3.ID != u.ID || u3.UnionID != "union-1" {
			t.Fatalf("third UpsertUser = %+v, created %v", u3, created)
		}
		u4, created, err := s.UpsertUser(ctx, "openid-1", "union-2", later)
		must(t, err)
		if created || u4.UnionID != "union-2" {
			t.Fatalf("unionid not updated: %+v", u4)
		}
		if n := count(t, db, "users", ""); n != 1 {
			t.Fatalf("%d users rows after four logins of one openid, want 1", n)
		}
		var last time.Time
		must(t, db.DB.Table("users").Select("last_login_at").Where("id = ?", u.ID).Scan(&last).Error)
		if !last.Equal(later) {
			t.Fatalf("last_login_at = %v, want %v", last, later)
		}
		other, created, err := s.UpsertUser(ctx, "openid-2", "union-x", t0)
		must(t, err)
		if !created || other.ID == u.ID || other.UnionID != "union-x" {
			t.Fatalf("second user = %+v, created %v", other, created)
		}

		must(t, s.SetUserPhone(ctx, u.ID, []byte{1, 2, 3}, "phonehash", "138****0000"))
		got, err := s.User(ctx, u.ID)
		must(t, err)
		if got.ID != u.ID || got.OpenID != "openid-1" || got.PhoneMasked != "138****0000" || got.UnionID != "union-2" {
			t.Fatalf("User = %+v", got)
		}
		if n := count(t, db, "users", "phone_hash = ?", "phonehash"); n != 1 {
			t.Fatalf("phone hash not stored")
		}
		_, err = s.User(ctx, other.ID+100)
		wantErr(t, err, louyuan.KindNotFound, "user_not_found")
	})
}

func TestStaff(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		s := NewIdentity(db)
		st, err := s.CreateStaff(ctx, identity.Staff{Username: "clerk", DisplayName: "王办事员", PasswordHash: "$2a$hash", CreatedAt: t0})
		must(t, err)
		if st.ID == 0 || st.Username != "clerk" || st.DisplayName != "王办事员" || st.PasswordHash != "$2a$hash" || st.FailedLogins != 0 || !st.LockedUntil.IsZero() {
			t.Fatalf("CreateStaff = %+v", st)
		}
		_, err = s.CreateStaff(ctx, identity.Staff{Username: "clerk", DisplayName: "另一个", PasswordHash: "x", CreatedAt: t0})
		wantErr(t, err, louyuan.KindConflict, "username_taken")
		if n := count(t, db, "staff_accounts", ""); n != 1 {
			t.Fatalf("%d staff rows, want 1", n)
		}

		byName, err := s.StaffByUsername(ctx, "clerk")
		must(t, err)
		byID, err := s.StaffByID(ctx, st.ID)
		must(t, err)
		if byName.ID != st.ID || byID.Username != "clerk" || !byID.CreatedAt.Equal(t0) || byID.Disabled {
			t.Fatalf("StaffByUsername = %+v, StaffByID = %+v", byName, byID)
		}
		_, err = s.StaffByUsername(ctx, "nobody")
		wantErr(t, err, louyuan.KindNotFound, "staff_not_found")
		_, err = s.StaffByID(ctx, st.ID+100)
		wantErr(t, err, louyuan.KindNotFound, "staff_not_found")

		lock := t0.Add(15 * time.Minute)
		must(t, s.UpdateStaffLogin(ctx, st.ID, 5, lock, time.Time{}))
		got, err := s.StaffByID(ctx, st.ID)
		must(t, err)
		if got.FailedLogins != 5 || !got.LockedUntil.Equal(lock) {
			t.Fatalf("after a lockout: failed %d locked until %v; want 5, %v", got.FailedLogins, got.LockedUntil, lock)
		}
		if n := count(t, db, "staff_accounts", "id = ? AND last_login_at IS NULL", st.ID); n != 1 {
			t.Fatalf("a failed login set last_login_at")
		}
		login := t0.Add(time.Hour)
		must(t, s.UpdateStaffLogin(ctx, st.ID, 0, time.Time{}, login))
		got, err = s.StaffByID(ctx, st.ID)
		must(t, err)
		if got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
			t.Fatalf("after a good login: %+v", got)
		}
		var last time.Time
		must(t, db.DB.Table("staff_accounts").Select("last_login_at").Where("id = ?", st.ID).Scan(&last).Error)
		if !last.Equal(login) {
			t.Fatalf("last_login_at = %v, want %v", last, login)
		}
	})
}

func grantStrings(gs []identity.Grant) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = fmt.Sprintf("%s/%s/%d", g.Role, g.ScopeType, g.ScopeID)
	}
	slices.Sort(out)
	return out
}

func TestGrants(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := seedPlaces(t, db)
		s := NewIdentity(db)
		chair := newUser(t, db, "o-chair", "主任")
		member := newUser(t, db, "o-member", "委员")
		former := newUser(t, db, "o-former", "前委员")
		staff, err := s.CreateStaff(ctx, identity.Staff{Username: "admin", DisplayName: "管理员", PasswordHash: "x", CreatedAt: t0})
		must(t, err)

		// now is 01:00 on 2 June in China (17:00 on 1 June UTC): terms run
		// by the Chinese calendar.
		now := time.Date(2025, 6, 1, 17, 0, 0, 0, time.UTC)

		// Council A serves Courtyard and Court2; its current term starts
		// today (China). Council B serves Court3; its term ended yesterday
		// (China), i.e. "today" in UTC.
		insCouncil := "INSERT INTO councils (name, created_at) VALUES (?, ?)"
		councilA := insertID(t, db, "councils", insCouncil, []any{"幸福里业委会", t0}, "name = ?", "幸福里业委会")
		councilB := insertID(t, db, "councils", insCouncil, []any{"乐业园业委会", t0}, "name = ?", "乐业园业委会")
		for _, cc := range [][2]int64{{councilA, p.Courtyard}, {councilA, p.Court2}, {councilB, p.Court3}} {
			must(t, db.Exec("INSERT INTO council_courtyards (council_id, courtyard_id) VALUES (?, ?)", cc[0], cc[1]).Error)
		}
		insTerm := "INSERT INTO council_terms (council_id, starts_on, ends_on, created_at) VALUES (?, ?, ?, ?)"
		termA := insertID(t, db, "council_terms", insTerm, []any{councilA, "2025-06-02", "2028-06-01", t0}, "council_id = ?", councilA)
		termAOld := insertID(t, db, "council_terms", insTerm, []any{councilA, "2022-06-02", "2025-06-01", t0}, "council_id = ? AND starts_on = ?", councilA, "2022-06-02")
		termB := insertID(t, db, "council_terms", insTerm, []any{councilB, "2022-06-02", "2025-06-01", t0}, "council_id = ?", councilB)
		insMember := "INSERT INTO council_members (term_id, user_id, role, chair, created_at) VALUES (?, ?, ?, ?, ?)"
		for _, m := range []struct {
			term, user int64
			role       string
			chair      any
		}{
			{termA, chair, "chair", 1},
			{termA, member, "member", nil},
			{termAOld, former, "chair", 1},
			{termAOld, member, "chair", nil}, // an old role does not linger
			{termB, chair, "member", nil},
			{termB, former, "member", nil},
		} {
			must(t, db.Exec(insMember, m.term, m.user, m.role, m.chair, t0).Error)
		}

		// Explicit grants; granting twice is a no-op.
		g1 := identity.Grant{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: p.Community}
		g2 := identity.Grant{Role: identity.RoleSubdistrictAdmin, ScopeType: identity.ScopeSubdistrict, ScopeID: p.Subdistrict}
		for i := 0; i < 2; i++ {
			must(t, s.AddGrant(ctx, identity.KindStaff, staff.ID, g1, "system", t0))
			must(t, s.AddGrant(ctx, identity.KindStaff, staff.ID, g2, "system", t0))
		}
		if n := count(t, db, "role_grants", ""); n != 2 {
			t.Fatalf("%d role_grants rows after granting two roles twice, want 2", n)
		}
		// The same grant to a user is a different row.
		must(t, s.AddGrant(ctx, identity.KindUser, chair, g1, "staff:1", t0))
		if n := count(t, db, "role_grants", ""); n != 3 {
			t.Fatalf("%d role_grants rows, want 3", n)
		}

		check := func(kind identity.Kind, id int64, want ...string) {
			t.Helper()
			gs, err := s.Grants(ctx, kind, id, now)
			must(t, err)
			slices.Sort(want)
			if got := grantStrings(gs); !slices.Equal(got, want) {
				t.Errorf("Grants(%s:%d) =\n %v\nwant\n %v", kind, id, got, want)
			}
			if kind != identity.KindUser {
				return
			}
			// The one-query read of the request path agrees.
			name, gs, err := s.UserPrincipal(ctx, id, now)
			must(t, err)
			u, err := s.User(ctx, id)
			must(t, err)
			if got := grantStrings(gs); name != u.RealName || !slices.Equal(got, want) {
				t.Errorf("UserPrincipal(%d) = %q %v, want %q %v", id, name, got, u.RealName, want)
			}
		}
		court := func(role identity.Role, id int64) string { return fmt.Sprintf("%s/courtyard/%d", role, id) }
		check(identity.KindUser, chair,
			fmt.Sprintf("community_staff/community/%d", p.Community),
			court(identity.RoleCouncilChair, p.Courtyard), court(identity.RoleCouncilChair, p.Court2))
		check(identity.KindUser, member,
			court(identity.RoleCouncilMember, p.Courtyard), court(identity.RoleCouncilMember, p.Court2))
		check(identity.KindUser, former) // only expired terms
		check(identity.KindStaff, staff.ID,
			fmt.Sprintf("community_staff/community/%d", p.Community),
			fmt.Sprintf("subdistrict_admin/subdistrict/%d", p.Subdistrict))
		// Staff never get council roles, even when a user with the same
		// numeric ID sits on a council.
		for _, uid := range []int64{chair, member} {
			gs, err := s.Grants(ctx, identity.KindStaff, uid, now)
			must(t, err)
			for _, g := range gs {
				if strings.HasPrefix(string(g.Role), "council_") {
					t.Errorf("staff %d got council role %+v", uid, g)
				}
			}
		}
		if _, _, err := s.UserPrincipal(ctx, 1<<40, now); louyuan.ErrorCode(err) != "user_not_found" {
			t.Errorf("UserPrincipal(unknown) error = %v, want user_not_found", err)
		}
		// A day later in China the old term of council B is still over and
		// A's term still runs; a day before, A's old term ran instead.
		gs, err := s.Grants(ctx, identity.KindUser, former, now.Add(-24*time.Hour))
		must(t, err)
		want := []string{court(identity.RoleCouncilChair, p.Courtyard), court(identity.RoleCouncilChair, p.Court2),
			court(identity.RoleCouncilMember, p.Court3)}
		slices.Sort(want)
		if got := grantStrings(gs); !slices.Equal(got, want) {
			t.Errorf("Grants(former) a day earlier = %v, want %v", got, want)
		}
	})
}

func TestScopePlace(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := seedPlaces(t, db)
		s := NewIdentity(db)
		for _, c := range []struct {
			t    identity.ScopeType
			id   int64
			want identity.Place
		}{
			{identity.ScopeSubdistrict, p.Subdistrict, identity.Place{SubdistrictID: p.Subdistrict}},
			{identity.ScopeCommunity, p.Community, identity.Place{SubdistrictID: p.Subdistrict, CommunityID: p.Community}},
			{identity.ScopeCommunity, p.Comm2, identity.Place{SubdistrictID: p.Subdistrict, CommunityID: p.Comm2}},
			{identity.ScopeCourtyard, p.Courtyard, identity.Place{SubdistrictID: p.Subdistrict, CommunityID: p.Community, CourtyardID: p.Courtyard}},
			{identity.ScopeCourtyard, p.Court3, identity.Place{SubdistrictID: p.Subdistrict, CommunityID: p.Comm2, CourtyardID: p.Court3}},
		} {
			got, err := s.ScopePlace(ctx, c.t, c.id)
			must(t, err)
			if got != c.want {
				t.Errorf("ScopePlace(%s, %d) = %+v, want %+v", c.t, c.id, got, c.want)
			}
		}
		for _, st := range []identity.ScopeType{identity.ScopeSubdistrict, identity.ScopeCommunity, identity.ScopeCourtyard} {
			_, err := s.ScopePlace(ctx, st, 999999)
			wantErr(t, err, louyuan.KindNotFound, "scope_not_found")
		}
		_, err := s.ScopePlace(ctx, identity.ScopeType("building"), p.Courtyard)
		wantErr(t, err, louyuan.KindInvalid, "bad_scope")
	})
}

// Concurrent first logins of one openid make one user; exactly one of them
// reports it as created. mode says how the callers run: each on its own
// (as the login service calls it) or each in its own transaction.
func TestUpsertUserConcurrent(t *testing.T) {
	for _, mode := range []string{"plain", "tx"} {
		t.Run(mode, func(t *testing.T) {
			eachDB(t, func(t *testing.T, db *DB) {
				s := NewIdentity(db)
				const n = 12
				var wg sync.WaitGroup
				users := make([]identity.User, n)
				created := make([]bool, n)
				errs := make([]error, n)
				start := make(chan struct{})
				for i := 0; i < n; i++ {
					inTx := mode == "tx"
					at := t0.Add(time.Duration(i) * time.Millisecond) // each login at its own time
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						if !inTx {
							users[i], created[i], errs[i] = s.UpsertUser(context.Background(), "openid-race", "", at)
							return
						}
						errs[i] = db.InTx(context.Background(), func(ctx context.Context) error {
							var err error
							users[i], created[i], err = s.UpsertUser(ctx, "openid-race", "union-race", at)
							return err
						})
					}()
				}
				close(start)
				wg.Wait()
				nCreated := 0
				for i := range users {
					if errs[i] != nil {
						t.Fatalf("UpsertUser %d: %v", i, errs[i])
					}
					if users[i].ID != users[0].ID || users[i].ID == 0 {
						t.Fatalf("UpsertUser %d gave user %d, another gave %d", i, users[i].ID, users[0].ID)
					}
					if created[i] {
						nCreated++
					}
				}
				if nCreated != 1 {
					t.Fatalf("%d logins reported creating the user, want 1", nCreated)
				}
				if c := count(t, db, "users", ""); c != 1 {
					t.Fatalf("%d users rows, want 1", c)
				}
			})
		})
	}
}
