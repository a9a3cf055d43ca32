package main

// End-to-end tests of logins, sessions and staff powers (issue #10 §5): the
// client IP behind proxies, lockout under parallel guessing, unknown
// usernames, the keys' length, grants and their revocation, invite codes
// and export audits.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/sqlstore"
)

// e2eOpenDB opens the server's database, to read what the API does not
// show (the audit log).
func e2eOpenDB(t *testing.T, s *e2eServer) *sqlstore.DB {
	t.Helper()
	dsn := s.cfg.Database.DSN
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(s.cfg.DataDir, "louyuan.db")
	}
	db, err := sqlstore.Open(context.Background(), dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// e2eAuditIPs lists the IPs the audit log recorded for an action.
func e2eAuditIPs(t *testing.T, db *sqlstore.DB, action string) []string {
	t.Helper()
	var ips []string
	if err := db.Raw("SELECT DISTINCT ip FROM audit_log WHERE action = ? ORDER BY ip", action).Scan(&ips).Error; err != nil {
		t.Fatal(err)
	}
	return ips
}

// e2eForged sets both forwarding headers to ip.
func e2eForged(ip string) http.Header {
	return http.Header{"X-Forwarded-For": {ip}, "X-Real-Ip": {ip}}
}

// A client that makes up a new X-Forwarded-For for every attempt is still
// one client: without a trusted proxy the headers are ignored, the per-IP
// login limit holds, and the audit log records the real peer. Behind a
// configured proxy the header names the client.
func TestE2EClientIPTrustsOnlyConfiguredProxies(t *testing.T) {
	login := func(s *e2eServer, i int, ip string) e2eResponse {
		return s.callWith(t, "POST", "/api/v1/auth/staff/login", "",
			map[string]string{"username": fmt.Sprintf("nobody%d", i), "password": "wrong-password"}, e2eForged(ip))
	}

	cfg := e2eEmbeddedConfig(t)
	cfg.Security.LoginsPerIPMin = 5
	s := e2eStart(t, cfg)
	for i := 1; i <= 5; i++ {
		e2eWantError(t, login(s, i, fmt.Sprintf("203.0.113.%d", i)), http.StatusUnauthorized, "wrong_password")
	}
	e2eWantError(t, login(s, 6, "203.0.113.6"), http.StatusTooManyRequests, "too_many_logins")
	if ips := e2eAuditIPs(t, e2eOpenDB(t, s), "staff.login_failed"); !slices.Equal(ips, []string{"127.0.0.1"}) {
		t.Errorf("the audit log recorded login failures from %v; want only the real peer 127.0.0.1", ips)
	}

	cfg = e2eEmbeddedConfig(t)
	cfg.Security.LoginsPerIPMin = 5
	cfg.HTTP.TrustedProxies = []string{"127.0.0.1/32"}
	s = e2eStart(t, cfg)
	for i := 1; i <= 6; i++ {
		e2eWantError(t, login(s, i, fmt.Sprintf("203.0.113.%d", i)), http.StatusUnauthorized, "wrong_password")
	}
	if ips := e2eAuditIPs(t, e2eOpenDB(t, s), "staff.login_failed"); len(ips) != 6 || ips[0] != "203.0.113.1" {
		t.Errorf("behind a trusted proxy the audit log recorded %v; want the six forwarded client IPs", ips)
	}
}

// e2eLoginAttempt posts one staff login from any goroutine (no t.Fatal)
// and returns the status, the error code and message.
func e2eLoginAttempt(s *e2eServer, username, password string) (int, string, string, error) {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	res, err := s.client.Post(s.base+"/api/v1/auth/staff/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, "", "", err
	}
	defer res.Body.Close()
	var e e2eErrorBody
	_ = json.NewDecoder(res.Body).Decode(&e)
	return res.StatusCode, e.Error.Code, e.Error.Message, nil
}

// Five bursts of 40 parallel wrong passwords: every attempt is counted,
// exactly five passwords are ever checked, the account is locked (the right
// password is refused too) and the lock is audited once.
func TestE2EStaffLockoutUnderParallelGuesses(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	cfg.Security.LoginsPerIPMin = 0 // one attacker's IP: the per-account count is under test
	s := e2eStart(t, cfg)
	counts := map[string]int{}
	var mu sync.Mutex
	for burst := range 5 {
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				status, code, _, err := e2eLoginAttempt(s, demoStaffUser, fmt.Sprintf("guess-%d-%d", burst, i))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("login attempt: %v", err)
					return
				}
				counts[fmt.Sprintf("%d %s", status, code)]++
			})
		}
		wg.Wait()
	}
	want := map[string]int{"401 wrong_password": 5, "429 account_locked": 195}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("answers to 5 bursts of 40 wrong passwords: %v; want %v (five passwords checked, then locked)", counts, want)
	}
	r := s.call(t, "POST", "/api/v1/auth/staff/login", "", map[string]string{"username": demoStaffUser, "password": s.demoPassword()})
	e2eWantError(t, r, http.StatusTooManyRequests, "account_locked")

	db := e2eOpenDB(t, s)
	var failed, locked int64
	db.Raw("SELECT COUNT(*) FROM audit_log WHERE action = 'staff.login_failed'").Scan(&failed)
	db.Raw("SELECT COUNT(*) FROM audit_log WHERE action = 'staff.locked' AND object LIKE 'staff:%'").Scan(&locked)
	if failed != 5 || locked != 1 {
		t.Errorf("audit log: %d login failures and %d locks; want 5 and 1", failed, locked)
	}
}

// An unknown username costs the same bcrypt work as a known one and gets
// the same answers, the lock included: nobody learns which accounts exist.
func TestE2EUnknownUsernameLooksLikeAKnownOne(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	cfg.Security.BcryptCost = 10 // slow enough to time
	s := e2eStart(t, cfg)
	type answer struct {
		status        int
		code, message string
	}
	attempt := func(username string) (answer, time.Duration) {
		start := time.Now()
		status, code, message, err := e2eLoginAttempt(s, username, "wrong-password")
		if err != nil {
			t.Fatal(err)
		}
		return answer{status, code, message}, time.Since(start)
	}
	fastest := map[string]time.Duration{}
	for i := 1; i <= 6; i++ {
		known, tk := attempt(demoStaffUser)
		unknown, tu := attempt("nosuchclerk")
		if known != unknown {
			t.Errorf("attempt %d: a known username answers %+v, an unknown one %+v", i, known, unknown)
		}
		if want := map[bool]string{true: "wrong_password", false: "account_locked"}[i <= 5]; known.code != want {
			t.Errorf("attempt %d: %+v, want %s", i, known, want)
		}
		if i <= 3 {
			if f, ok := fastest["known"]; !ok || tk < f {
				fastest["known"] = tk
			}
			if f, ok := fastest["unknown"]; !ok || tu < f {
				fastest["unknown"] = tu
			}
		}
	}
	if fastest["unknown"] < fastest["known"]/2 {
		t.Errorf("a wrong password takes %v for a known username but %v for an unknown one: timing tells which accounts exist", fastest["known"], fastest["unknown"])
	}
}

// Audit and session keys shorter than 32 bytes are refused at start, with
// a message naming the variable.
func TestE2EShortKeysRefused(t *testing.T) {
	for _, name := range []string{"LOUYUAN_AUDIT_KEY", "LOUYUAN_SESSION_KEY"} {
		cfg := e2eEmbeddedConfig(t)
		cfg.Security.PhoneKey = make([]byte, 32)
		cfg.Security.AuditKey = []byte(strings.Repeat("a", 40))
		if name == "LOUYUAN_AUDIT_KEY" {
			cfg.Security.AuditKey = []byte("short-audit-key")
		} else {
			cfg.Security.SessionKey = []byte("short-session-key")
		}
		_, err := e2eTryStart(t, cfg)
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "32") {
			t.Errorf("start with a short %s: %v; want a refusal naming it and its 32-byte minimum", name, err)
		}
		c := defaultConfig()
		err = c.applyEnv(func(k string) (string, bool) {
			if k == name {
				return "0123456789", true
			}
			return "", false
		})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s of 10 bytes in the environment: %v; want a refusal naming it", name, err)
		}
	}
	c := defaultConfig()
	if err := c.applyEnv(func(k string) (string, bool) {
		if k == "LOUYUAN_TRUSTED_PROXIES" {
			return "10.0.0.0/8, 192.168.1.7", true
		}
		return "", false
	}); err != nil || !slices.Equal(c.HTTP.TrustedProxies, []string{"10.0.0.0/8", "192.168.1.7"}) {
		t.Errorf("LOUYUAN_TRUSTED_PROXIES: %v %v", c.HTTP.TrustedProxies, err)
	}
	if err := c.applyEnv(func(k string) (string, bool) { return "proxy.example", k == "LOUYUAN_TRUSTED_PROXIES" }); err == nil {
		t.Error("a trusted proxy that is no IP or CIDR was accepted")
	}
}

// Grants: a subdistrict admin cannot give themself the full-phone power
// (a second admin must), grants are revoked through the API and the command
// line and both are audited, and council roles are never granted alone.
func TestE2EGrantsAndRevocation(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	s := e2eStart(t, cfg)
	e2eRunEnv(t, cfg, true)
	t.Setenv("LOUYUAN_ADMIN_PASSWORD", "jiedao-password")
	ids := map[string]int64{}
	for _, name := range []string{"jiedao1", "jiedao2"} {
		out, err := e2eRun("admin", "create-staff", "-username", name, "-name", "街道管理员", "-role", "subdistrict_admin", "-scope", "1")
		if err != nil {
			t.Fatalf("create %s: %v %s", name, err, out)
		}
		var id int64
		fmt.Sscanf(out, "staff account %d", &id)
		ids[name] = id
	}
	admin1 := s.staffLogin(t, "jiedao1", "jiedao-password").AccessToken
	admin2 := s.staffLogin(t, "jiedao2", "jiedao-password").AccessToken
	phoneViewer := func(staffID int64) map[string]any {
		return map[string]any{"principal_type": "staff", "principal_id": staffID, "role": "phone_viewer", "scope_type": "community", "scope_id": 1}
	}
	hasPhoneViewer := func() bool {
		for _, g := range s.me(t, s.staffLogin(t, "jiedao1", "jiedao-password").AccessToken).Grants {
			if g.Role == "phone_viewer" {
				return true
			}
		}
		return false
	}

	e2eWantError(t, s.call(t, "POST", "/api/v1/grants", admin1, phoneViewer(ids["jiedao1"])), http.StatusForbidden, "self_grant_forbidden")
	if hasPhoneViewer() {
		t.Fatal("a refused self-grant left phone_viewer")
	}
	e2eWant(t, s.call(t, "POST", "/api/v1/grants", admin2, phoneViewer(ids["jiedao1"])), http.StatusNoContent)
	if !hasPhoneViewer() {
		t.Fatal("phone_viewer granted by a second admin does not show")
	}
	// Community staff may not revoke it; the other admin may, once.
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	e2eWantError(t, s.call(t, "POST", "/api/v1/grants/revoke", staff, phoneViewer(ids["jiedao1"])), http.StatusForbidden, "not_in_scope")
	e2eWant(t, s.call(t, "POST", "/api/v1/grants/revoke", admin2, phoneViewer(ids["jiedao1"])), http.StatusNoContent)
	e2eWantError(t, s.call(t, "POST", "/api/v1/grants/revoke", admin2, phoneViewer(ids["jiedao1"])), http.StatusNotFound, "grant_not_found")
	if hasPhoneViewer() {
		t.Fatal("phone_viewer still shows after it was revoked")
	}
	// The command line grants and revokes too.
	if out, err := e2eRun("admin", "grant", "-staff", fmt.Sprint(ids["jiedao1"]), "-role", "phone_viewer", "-scope", "1"); err != nil {
		t.Fatalf("admin grant: %v %s", err, out)
	}
	if !hasPhoneViewer() {
		t.Fatal("phone_viewer granted from the command line does not show")
	}
	if out, err := e2eRun("admin", "revoke", "-staff", fmt.Sprint(ids["jiedao1"]), "-role", "phone_viewer", "-scope", "1"); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("admin revoke: %v %s", err, out)
	}
	if hasPhoneViewer() {
		t.Fatal("phone_viewer still shows after admin revoke")
	}

	// Council roles come from a council term only.
	resident := s.wechatLogin(t, e2eCode("grantee"))
	chair := map[string]any{"principal_type": "user", "principal_id": resident.User.ID, "role": "council_chair", "scope_type": "courtyard", "scope_id": 1}
	e2eWantError(t, s.call(t, "POST", "/api/v1/grants", admin1, chair), http.StatusBadRequest, "council_role_not_grantable")
	if _, err := e2eRun("admin", "grant", "-user", fmt.Sprint(resident.User.ID), "-role", "council_member", "-scope", "1"); err == nil ||
		louyuanCode(err) != "council_role_not_grantable" {
		t.Errorf("admin grant of a council role: %v; want council_role_not_grantable", err)
	}
	if out, err := e2eRun("admin", "council-member", "-user", fmt.Sprint(resident.User.ID), "-courtyard", "1", "-seat", "member"); err != nil {
		t.Fatalf("admin council-member: %v %s", err, out)
	}
	me := s.me(t, s.wechatLogin(t, e2eCode("grantee")).AccessToken)
	if len(me.Grants) != 1 || me.Grants[0].Role != "council_member" || me.Grants[0].ScopeID != 1 {
		t.Errorf("grants of a council member seated on a term: %+v", me.Grants)
	}

	db := e2eOpenDB(t, s)
	var actions []string
	db.Raw("SELECT action FROM audit_log WHERE action IN ('role.grant', 'role.revoke', 'council.member_added') AND object IN (?, ?) ORDER BY id",
		fmt.Sprintf("staff:%d", ids["jiedao1"]), fmt.Sprintf("user:%d", resident.User.ID)).Scan(&actions)
	// subdistrict_admin at creation, phone_viewer by the second admin, its
	// revocation, the command line's grant and revocation, the council seat.
	want := []string{"role.grant", "role.grant", "role.revoke", "role.grant", "role.revoke", "council.member_added"}
	if !slices.Equal(actions, want) {
		t.Errorf("audited grant changes: %v; want %v", actions, want)
	}
}

func louyuanCode(err error) string { return louyuan.ErrorCode(err) }

// Issuing new invite codes for a household revokes its unused ones (a lost
// slip stops working), and a household listed twice gets one code.
func TestE2EInviteCodesReplaceUnusedOnes(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	s := e2eStart(t, cfg)
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	demo := e2eDemoInvites(t, cfg.DataDir)
	hs := s.courtyardHouseholds(t, staff, 1)
	h, ok := e2eFind(hs, demo[0].Building, demo[0].Unit, demo[0].Room)
	if !ok {
		t.Fatalf("household %+v of the demo invite list not found", demo[0])
	}
	issue := func(ids ...int64) []string {
		r := s.call(t, "POST", "/api/v1/courtyards/1/invites?format=json", staff, map[string]any{"household_ids": ids, "role": "owner"})
		e2eWant(t, r, http.StatusCreated)
		return e2eInviteCodes(t, r)
	}
	codes := issue(h.ID, h.ID, h.ID)
	if len(codes) != 1 {
		t.Fatalf("one household listed three times got %d codes, want 1", len(codes))
	}
	bind := func(who, code string) e2eResponse {
		return s.call(t, "POST", "/api/v1/me/households", s.wechatLogin(t, e2eCode(who)).AccessToken, map[string]string{"invite_code": code})
	}
	e2eWantError(t, bind("slipfinder", demo[0].Code), http.StatusConflict, "invite_code_revoked")
	e2eWant(t, bind("owner1", codes[0]), http.StatusCreated)
	// A used code stays used; the next new code for the household works.
	again := issue(h.ID)
	e2eWantError(t, bind("owner2", codes[0]), http.StatusConflict, "invite_code_used")
	e2eWant(t, bind("owner2", again[0]), http.StatusCreated)
	// Other households' codes are untouched.
	e2eWant(t, bind("owner3", demo[1].Code), http.StatusCreated)
}

// An export's audit entry is written even when the client hangs up
// mid-download: rows may already have left.
func TestE2EExportAuditedWhenClientHangsUp(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	s := e2eStart(t, cfg)
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	// 5,000 households: a list far bigger than the server's buffers and a
	// small client socket buffer, so that the server is still writing
	// when the client goes.
	rows := [][]any{e2eRosterHeader}
	for b := 1; b <= 10; b++ {
		for u := 1; u <= 5; u++ {
			for f := 1; f <= 20; f++ {
				for k := 1; k <= 5; k++ {
					rows = append(rows, []any{fmt.Sprintf("%d号楼", 10+b), fmt.Sprintf("%d单元", u), fmt.Sprintf("%d%02d", f, k), f, "88.50", fmt.Sprintf("业主%d-%d-%d-%d", b, u, f, k)})
				}
			}
		}
	}
	r := s.call(t, "POST", "/api/v1/courtyards/1/roster", staff, e2eMultipart{Field: "file", FileName: "big.xlsx", Data: e2eXLSX(t, rows)})
	e2eWant(t, r, http.StatusOK)
	r = s.call(t, "POST", "/api/v1/courtyards/1/petitions", staff, map[string]any{"scope_type": "courtyard", "title": "全院加装电梯征求意见",
		"deadline": time.Now().Add(24 * time.Hour), "target_households": map[string]any{"num": 2, "den": 3}})
	e2eWant(t, r, http.StatusCreated)
	var pt struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &pt)

	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/petitions/%d/export.csv?list=not_signed", s.base, pt.ID), nil)
	req.Header.Set("Authorization", "Bearer "+staff)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", res.StatusCode)
	}
	if _, err := io.ReadFull(res.Body, make([]byte, 1024)); err != nil {
		t.Fatalf("read the export's first bytes: %v", err)
	}
	res.Body.Close() // hang up mid-download

	db := e2eOpenDB(t, s)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var details []string
		if err := db.Raw("SELECT detail FROM audit_log WHERE action = 'export.signatures' AND object = ?", fmt.Sprintf("petition:%d", pt.ID)).Scan(&details).Error; err != nil {
			t.Fatal(err)
		}
		if len(details) == 1 {
			if !strings.Contains(details[0], `"completed":false`) {
				t.Errorf("the export's audit entry says %s; want completed false", details[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit entry for an export the client hung up on (%d entries)", len(details))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
