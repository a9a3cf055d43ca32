package main

// End-to-end tests of the staff console's account routes (issue #12 items
// 1 and 7): accounts made from the console, the staff list within one's
// scope, grants shown and revoked (at once on the instance that revoked),
// and changing one's password (other sessions end).

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/testenv"
)

type e2eStaffList struct {
	Staff []struct {
		ID          int64  `json:"id"`
		Username    string `json:"username"`
		DisplayName string `json:"display_name"`
		Self        bool   `json:"self"`
		Grants      []struct {
			Role      string `json:"role"`
			RoleName  string `json:"role_name"`
			ScopeType string `json:"scope_type"`
			ScopeID   int64  `json:"scope_id"`
			ScopeName string `json:"scope_name"`
			Revocable bool   `json:"revocable"`
		} `json:"grants"`
		CanGrant []struct {
			Role    string `json:"role"`
			ScopeID int64  `json:"scope_id"`
		} `json:"can_grant"`
	} `json:"staff"`
	Total     int64 `json:"total"`
	CanCreate []struct {
		Role string `json:"role"`
	} `json:"can_create"`
}

func e2eListStaff(t *testing.T, s *e2eServer, token, query string) e2eStaffList {
	t.Helper()
	r := s.call(t, "GET", "/api/v1/staff"+query, token, nil)
	e2eWant(t, r, http.StatusOK)
	var l e2eStaffList
	r.decode(t, &l)
	return l
}

func e2eStaffID(t *testing.T, l e2eStaffList, username string) int64 {
	t.Helper()
	for _, st := range l.Staff {
		if st.Username == username {
			return st.ID
		}
	}
	t.Fatalf("no staff account %s in %v", username, l.usernames())
	return 0
}

func (l e2eStaffList) usernames() []string {
	var out []string
	for _, st := range l.Staff {
		out = append(out, st.Username)
	}
	return out
}

// e2eStartWithTwoCommunities starts the embedded default with a second
// community (东风社区, community 2, with its clerk "dongfeng") and a
// subdistrict admin "jiedao"; both have the password "jiedao-password".
func e2eStartWithTwoCommunities(t *testing.T) *e2eServer {
	t.Helper()
	cfg := e2eEmbeddedConfig(t)
	s := e2eStart(t, cfg)
	e2eRunEnv(t, cfg, true)
	t.Setenv("LOUYUAN_ADMIN_PASSWORD", "jiedao-password")
	for _, args := range [][]string{
		{"admin", "add-courtyard", "-subdistrict", "新华路街道", "-community", "东风社区", "-courtyard", "纺织厂小区"},
		{"admin", "create-staff", "-username", "jiedao", "-name", "街道管理员", "-role", "subdistrict_admin", "-scope", "1"},
		{"admin", "create-staff", "-username", "dongfeng", "-name", "东风社区网格员", "-role", "community_staff", "-scope", "2"},
	} {
		if out, err := e2eRun(args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	return s
}

func TestE2EStaffAccountsFromTheConsole(t *testing.T) {
	s := e2eStartWithTwoCommunities(t)
	admin := s.staffLogin(t, "jiedao", "jiedao-password").AccessToken
	clerk := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	other := s.staffLogin(t, "dongfeng", "jiedao-password").AccessToken

	// Only a subdistrict admin creates, within the scope it may grant.
	body := map[string]any{"username": "xiaoli", "display_name": "李网格员", "role": "community_staff", "scope_type": "community", "scope_id": 1}
	e2eWantError(t, s.call(t, "POST", "/api/v1/staff", clerk, body), http.StatusForbidden, "not_in_scope")
	e2eWantError(t, s.call(t, "POST", "/api/v1/staff", admin, map[string]any{"username": "xiaoli", "display_name": "李网格员", "role": "council_chair", "scope_type": "courtyard", "scope_id": 1}),
		http.StatusBadRequest, "council_role_not_grantable")
	made := e2eCreateStaff(t, s, admin, body)
	e2eWantError(t, s.call(t, "POST", "/api/v1/staff", admin, body), http.StatusConflict, "username_taken")
	if len(made.InitialPassword) != 14 {
		t.Fatalf("initial password %q", made.InitialPassword)
	}
	li := s.staffLogin(t, "xiaoli", made.InitialPassword).AccessToken
	if caps := s.call(t, "GET", "/api/v1/me", li, nil); !strings.Contains(string(caps.Body), `"staff_list":true`) || !strings.Contains(string(caps.Body), `"full_phone_communities":[]`) {
		t.Errorf("capabilities of community staff: %s", caps)
	}

	// Each sees the staff of their own scope, and nothing outside it.
	all := e2eListStaff(t, s, admin, "")
	for _, u := range []string{"jiedao", "dongfeng", demoStaffUser, "xiaoli"} {
		if !slices.Contains(all.usernames(), u) {
			t.Errorf("the subdistrict admin's list lacks %s: %v", u, all.usernames())
		}
	}
	if len(all.CanCreate) == 0 {
		t.Error("a subdistrict admin may create accounts, can_create is empty")
	}
	mine := e2eListStaff(t, s, clerk, "")
	if got := mine.usernames(); !slices.Contains(got, "xiaoli") || slices.Contains(got, "dongfeng") || slices.Contains(got, "jiedao") {
		t.Errorf("community 1's staff see %v", got)
	}
	if len(mine.CanCreate) != 0 {
		t.Errorf("community staff may not create: %+v", mine.CanCreate)
	}
	for _, st := range mine.Staff {
		if len(st.CanGrant) != 0 {
			t.Errorf("community staff may grant nothing, offered %+v for %s", st.CanGrant, st.Username)
		}
		for _, g := range st.Grants {
			if g.Revocable {
				t.Errorf("community staff offered to revoke %+v of %s", g, st.Username)
			}
		}
	}
	if got := e2eListStaff(t, s, other, "").usernames(); !slices.Equal(got, []string{"dongfeng"}) {
		t.Errorf("community 2's staff see %v", got)
	}
	if found := e2eListStaff(t, s, admin, "?q=李网格").usernames(); !slices.Equal(found, []string{"xiaoli"}) {
		t.Errorf("?q=李网格: %v", found)
	}
	if p := e2eListStaff(t, s, admin, "?page=2&page_size=2"); p.Total != 4 || len(p.Staff) != 2 {
		t.Errorf("page 2 of 2: total %d, %d rows", p.Total, len(p.Staff))
	}
	e2eWantError(t, s.call(t, "GET", "/api/v1/staff", s.wechatLogin(t, e2eCode("resident")).AccessToken, nil), http.StatusForbidden, "staff_list_forbidden")

	// What the admin may grant: phone_viewer to others, never to themself.
	for _, st := range all.Staff {
		offersPhone := slices.ContainsFunc(st.CanGrant, func(g struct {
			Role    string `json:"role"`
			ScopeID int64  `json:"scope_id"`
		}) bool {
			return g.Role == "phone_viewer"
		})
		if st.Self == offersPhone {
			t.Errorf("%s (self %v): phone_viewer offered %v", st.Username, st.Self, offersPhone)
		}
	}

	// No admin revokes their own admin role (another must): not offered, and refused.
	for _, st := range all.Staff {
		if st.Self && (len(st.Grants) != 1 || st.Grants[0].Role != "subdistrict_admin" || st.Grants[0].Revocable) {
			t.Errorf("the admin's own grants: %+v", st.Grants)
		}
	}
	e2eWantError(t, s.call(t, "POST", "/api/v1/grants/revoke", admin, map[string]any{"principal_type": "staff", "principal_id": e2eStaffID(t, all, "jiedao"),
		"role": "subdistrict_admin", "scope_type": "subdistrict", "scope_id": 1}), http.StatusForbidden, "self_revoke_forbidden")

	// A revocation takes effect at once on the instance that made it: the
	// staff member's next request is refused, not five seconds later.
	e2eWant(t, s.call(t, "GET", "/api/v1/courtyards/1/households", li, nil), http.StatusOK)
	grant := map[string]any{"principal_type": "staff", "principal_id": made.ID, "role": "community_staff", "scope_type": "community", "scope_id": 1}
	e2eWant(t, s.call(t, "POST", "/api/v1/grants/revoke", admin, grant), http.StatusNoContent)
	e2eWantError(t, s.call(t, "GET", "/api/v1/courtyards/1/households", li, nil), http.StatusForbidden, "not_in_scope")
	// Without grants the account stays in its home community's list, to be granted again.
	if got := e2eListStaff(t, s, clerk, "?q=xiaoli"); len(got.Staff) != 1 || len(got.Staff[0].Grants) != 0 {
		t.Errorf("an account without grants left its community's list: %+v", got)
	}
	e2eWant(t, s.call(t, "POST", "/api/v1/grants", admin, grant), http.StatusNoContent)
	e2eWant(t, s.call(t, "GET", "/api/v1/courtyards/1/households", li, nil), http.StatusOK)

	// Changing the password: a wrong old one in words, the policy, then
	// every other session ends and this one continues on a fresh pair.
	second := s.staffLogin(t, "xiaoli", made.InitialPassword)
	change := func(token, old, new string) e2eResponse {
		return s.call(t, "POST", "/api/v1/me/password", token, map[string]string{"old_password": old, "new_password": new})
	}
	e := e2eWantError(t, change(li, "not-my-password", "li-new-password"), http.StatusBadRequest, "wrong_old_password")
	if !strings.Contains(e.Error.Message, "原密码不正确") {
		t.Errorf("wrong old password says %q", e.Error.Message)
	}
	e2eWantError(t, change(li, made.InitialPassword, "short"), http.StatusBadRequest, "weak_password")
	e2eWantError(t, change(s.wechatLogin(t, e2eCode("resident")).AccessToken, "x", "li-new-password"), http.StatusForbidden, "staff_only")
	r := change(li, made.InitialPassword, "li-new-password")
	e2eWant(t, r, http.StatusOK)
	var fresh e2eTokens
	r.decode(t, &fresh)
	e2eWant(t, s.call(t, "GET", "/api/v1/me", fresh.AccessToken, nil), http.StatusOK)
	e2eWantError(t, s.call(t, "GET", "/api/v1/me", second.AccessToken, nil), http.StatusUnauthorized, "password_changed")
	e2eWant(t, s.call(t, "GET", "/api/v1/me", li, nil), http.StatusUnauthorized)
	e2eWantError(t, s.call(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}), http.StatusUnauthorized, "password_changed")
	e2eWant(t, s.call(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": fresh.RefreshToken}), http.StatusOK)
	e2eWantError(t, s.call(t, "POST", "/api/v1/auth/staff/login", "", map[string]string{"username": "xiaoli", "password": made.InitialPassword}), http.StatusUnauthorized, "wrong_password")
	s.staffLogin(t, "xiaoli", "li-new-password")

	db := e2eOpenDB(t, s)
	var actions []string
	db.Raw("SELECT action FROM audit_log WHERE object = ? ORDER BY id", fmt.Sprintf("staff:%d", made.ID)).Scan(&actions)
	want := []string{"staff.create", "role.grant", "role.revoke", "role.grant", "staff.login_failed", "staff.password_changed", "staff.login_failed"}
	if !slices.Equal(actions, want) {
		t.Errorf("audited: %v; want %v", actions, want)
	}
}

// e2eTwoInstancesWithAdmin starts two instances on one MariaDB and one
// Redis, and a subdistrict admin "jiedao" (password "jiedao-password") of
// subdistrict 1.
func e2eTwoInstancesWithAdmin(t *testing.T) (a, b *e2eServer) {
	t.Helper()
	dsn := testenv.MySQL(t)
	rds := testenv.Redis(t)
	sec := e2eNewSecrets(t)
	redisURL := "redis://" + testenv.RedisAddr()
	cfgA := e2eProductionConfig(t, dsn, redisURL, rds.Prefix, sec)
	a = e2eStart(t, cfgA)
	b = e2eStart(t, e2eProductionConfig(t, dsn, redisURL, rds.Prefix, sec))
	e2eRunEnv(t, cfgA, false)
	t.Setenv("LOUYUAN_ADMIN_PASSWORD", "jiedao-password")
	if out, err := e2eRun("admin", "create-staff", "-username", "jiedao", "-name", "街道管理员", "-role", "subdistrict_admin", "-scope", "1"); err != nil {
		t.Fatalf("create-staff: %v %s", err, out)
	}
	return a, b
}

// e2eMadeStaff is the answer to creating a staff account.
type e2eMadeStaff struct {
	ID              int64  `json:"id"`
	InitialPassword string `json:"initial_password"`
}

// e2eCreateStaff creates a staff account through the API (201 wanted).
func e2eCreateStaff(t *testing.T, s *e2eServer, token string, body map[string]any) e2eMadeStaff {
	t.Helper()
	r := s.call(t, "POST", "/api/v1/staff", token, body)
	e2eWant(t, r, http.StatusCreated)
	var made e2eMadeStaff
	r.decode(t, &made)
	return made
}

// TestE2EStaffChangesReachEveryInstance: two instances on one MariaDB and
// one Redis. A revocation or a password change made on A holds on A from
// the next request, and on B — where the staff member's token is in use,
// so cached — within the documented 5 seconds.
func TestE2EStaffChangesReachEveryInstance(t *testing.T) {
	a, b := e2eTwoInstancesWithAdmin(t)
	admin := a.staffLogin(t, "jiedao", "jiedao-password").AccessToken
	made := e2eCreateStaff(t, a, admin, map[string]any{"username": "xiaoli", "display_name": "李网格员", "role": "community_staff", "scope_type": "community", "scope_id": 1})
	li := a.staffLogin(t, "xiaoli", made.InitialPassword)

	within := func(what string, since time.Time, ok func() bool) {
		t.Helper()
		for !ok() {
			if time.Since(since) > 5*time.Second+500*time.Millisecond {
				t.Fatalf("instance B: %s still not in effect %v after the change on A", what, time.Since(since))
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("instance B: %s in effect after %v", what, time.Since(since).Round(100*time.Millisecond))
	}
	households := "/api/v1/courtyards/1/households"
	e2eWant(t, a.call(t, "GET", households, li.AccessToken, nil), http.StatusOK)
	e2eWant(t, b.call(t, "GET", households, li.AccessToken, nil), http.StatusOK) // cached on B
	grant := map[string]any{"principal_type": "staff", "principal_id": made.ID, "role": "community_staff", "scope_type": "community", "scope_id": 1}
	e2eWant(t, a.call(t, "POST", "/api/v1/grants/revoke", admin, grant), http.StatusNoContent)
	revoked := time.Now()
	e2eWantError(t, a.call(t, "GET", households, li.AccessToken, nil), http.StatusForbidden, "not_in_scope")
	within("a revocation", revoked, func() bool { return b.call(t, "GET", households, li.AccessToken, nil).Status == http.StatusForbidden })
	e2eWant(t, a.call(t, "POST", "/api/v1/grants", admin, grant), http.StatusNoContent)

	other := a.staffLogin(t, "xiaoli", made.InitialPassword)
	e2eWant(t, b.call(t, "GET", "/api/v1/me", other.AccessToken, nil), http.StatusOK) // cached on B
	r := a.call(t, "POST", "/api/v1/me/password", li.AccessToken, map[string]string{"old_password": made.InitialPassword, "new_password": "li-new-password"})
	e2eWant(t, r, http.StatusOK)
	changed := time.Now()
	var fresh e2eTokens
	r.decode(t, &fresh)
	e2eWantError(t, a.call(t, "GET", "/api/v1/me", other.AccessToken, nil), http.StatusUnauthorized, "password_changed")
	within("a changed password", changed, func() bool {
		return b.call(t, "GET", "/api/v1/me", other.AccessToken, nil).Status == http.StatusUnauthorized
	})
	e2eWantError(t, b.call(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": other.RefreshToken}), http.StatusUnauthorized, "password_changed")
	e2eWant(t, b.call(t, "GET", "/api/v1/me", fresh.AccessToken, nil), http.StatusOK)
}

// TestE2EAdminsRevokingEachOtherLeaveOne: two subdistrict admins revoke
// each other's admin role at the same moment, on two instances. The second
// revocation is checked inside its transaction, under the subdistrict's
// lock, against the grants as they are then — not against the admin's
// principal that instance B still caches — so the subdistrict keeps one
// admin, never none.
func TestE2EAdminsRevokingEachOtherLeaveOne(t *testing.T) {
	a, b := e2eTwoInstancesWithAdmin(t)
	first := a.staffLogin(t, "jiedao", "jiedao-password").AccessToken
	made := e2eCreateStaff(t, a, first, map[string]any{"username": "jiedao2", "display_name": "第二位管理员", "role": "subdistrict_admin", "scope_type": "subdistrict", "scope_id": 1})
	second := b.staffLogin(t, "jiedao2", made.InitialPassword).AccessToken
	firstID := e2eStaffID(t, e2eListStaff(t, b, second, "?q=jiedao"), "jiedao") // second's principal now cached on B

	adminOf := func(id int64) map[string]any {
		return map[string]any{"principal_type": "staff", "principal_id": id, "role": "subdistrict_admin", "scope_type": "subdistrict", "scope_id": 1}
	}
	e2eWant(t, a.call(t, "POST", "/api/v1/grants/revoke", first, adminOf(made.ID)), http.StatusNoContent)
	// On B, within its cache's lifetime, the revoked admin tries the same.
	e2eWantError(t, b.call(t, "POST", "/api/v1/grants/revoke", second, adminOf(firstID)), http.StatusForbidden, "not_in_scope")
	e2eWantError(t, b.call(t, "POST", "/api/v1/grants", second, adminOf(made.ID)), http.StatusForbidden, "not_in_scope")

	var admins int64
	e2eOpenDB(t, a).Raw("SELECT COUNT(*) FROM role_grants WHERE role = 'subdistrict_admin' AND scope_id = 1").Scan(&admins)
	if admins != 1 {
		t.Fatalf("the subdistrict has %d admins after two admins revoked each other, want 1", admins)
	}
	e2eWant(t, a.call(t, "GET", "/api/v1/staff", first, nil), http.StatusOK)
}

// TestE2ECouncilStaffFromOnesOwnList: a council's staff are assigned from
// the caller's own staff list (what the console offers), not from every
// active account of the platform: community staff cannot assign another
// community's clerk (404, as a missing account), their subdistrict's
// admin can.
func TestE2ECouncilStaffFromOnesOwnList(t *testing.T) {
	s := e2eStartWithTwoCommunities(t)
	admin := s.staffLogin(t, "jiedao", "jiedao-password").AccessToken
	clerk := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	all := e2eListStaff(t, s, admin, "")
	dongfeng, self := e2eStaffID(t, all, "dongfeng"), e2eStaffID(t, all, demoStaffUser)

	r := s.call(t, "POST", "/api/v1/councils", clerk, mxCouncilBody())
	e2eWant(t, r, http.StatusCreated)
	path := fmt.Sprintf("/api/v1/councils/%d/staff", mxID(t, r))
	assign := func(token string, id int64) e2eResponse {
		return s.call(t, "POST", path, token, map[string]any{"staff_id": id, "role": "grid_worker"})
	}
	e := e2eWantError(t, assign(clerk, dongfeng), http.StatusNotFound, "staff_not_found")
	if !strings.Contains(e.Error.Message, "管辖") {
		t.Errorf("an account outside one's list says %q", e.Error.Message)
	}
	e2eWantError(t, assign(clerk, 999999), http.StatusNotFound, "staff_not_found")
	e2eWant(t, assign(clerk, self), http.StatusOK)
	r = assign(admin, dongfeng)
	e2eWant(t, r, http.StatusOK)
	var c struct {
		Staff []struct {
			StaffID int64 `json:"staff_id"`
		} `json:"staff"`
	}
	r.decode(t, &c)
	if len(c.Staff) != 2 {
		t.Fatalf("the council's staff: %+v", c.Staff)
	}
}
