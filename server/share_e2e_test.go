package main

// End-to-end test of sharing a notice into the courtyard's WeChat group
// (issue 11, part 4): the council links the group from a share ticket, a
// resident opens the notice from it, the report counts the open — through
// the real API, on SQLite and on MariaDB + Redis, with share info encrypted
// by the built-in fake WeChat API under each user's session key.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/testenv"
	"github.com/louyuan/louyuan/internal/wechat/wechatfake"
)

func TestShareIntoGroupEmbedded(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	cfg.Security.LoginsPerIPMin = 100000
	s := e2eStart(t, cfg)
	shScenario(t, s)

	// The embedded default names its fake's URL for the contract test.
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, fakeURLFile))
	if err != nil || !strings.HasPrefix(string(b), "http://127.0.0.1:") {
		t.Errorf("%s: %q, %v; want the fake's loopback URL", fakeURLFile, b, err)
	}
}

func TestShareIntoGroupMySQLRedis(t *testing.T) {
	dsn := testenv.MySQL(t)
	rds := testenv.Redis(t)
	cfg := vtConfig(e2eProductionConfig(t, dsn, "redis://"+testenv.RedisAddr(), rds.Prefix, e2eNewSecrets(t)))
	s := e2eStart(t, cfg)
	shScenario(t, s)
}

// shShareInfo is what wx.getShareInfo would give the user of token for a
// card opened from group.
func shShareInfo(t *testing.T, fake *wechatfake.Server, s *e2eServer, token, group string) map[string]string {
	t.Helper()
	openID := shOpenID(t, s, token)
	enc, iv, err := fake.ShareInfo(openID, fake.GroupID(group))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"encrypted_data": enc, "iv": iv}
}

// shOpenID reads a user's openid from the fake's derived users: the e2e
// logins use handles.
var shHandles = map[string]string{}

func shOpenID(t *testing.T, _ *e2eServer, token string) string {
	t.Helper()
	h, ok := shHandles[token]
	if !ok {
		t.Fatal("token of an unknown handle")
	}
	return ntFake(t).User(h).OpenID
}

func shLogin(t *testing.T, s *e2eServer, handle string) string {
	t.Helper()
	tok := s.wechatLogin(t, e2eCode(handle)).AccessToken
	shHandles[tok] = handle
	return tok
}

func shScenario(t *testing.T, s *e2eServer) {
	fake := ntFake(t)
	const yard = 1
	const group, otherGroup = "铝厂小区业主群", "广场舞群"
	chair := shLogin(t, s, "lizhang")
	wang := shLogin(t, s, "wang")
	zhao := shLogin(t, s, "zhao")
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	inv := e2eDemoInvites(t, s.cfg.DataDir)
	for i, tok := range []string{wang, zhao} {
		e2eWant(t, s.call(t, "POST", "/api/v1/me/households", tok, map[string]string{"invite_code": inv[i].Code}), http.StatusCreated)
	}
	id, status := ntCreate(t, s, chair, []map[string]any{{"scope_type": "courtyard", "scope_id": yard}}, "本周六停水通知", "因管道检修，本周六8:00至12:00停水。")
	if status != "draft" {
		t.Fatalf("notice status %q", status)
	}
	opens := fmt.Sprintf("/api/v1/notices/%d/opens", id)
	link := fmt.Sprintf("/api/v1/courtyards/%d/wechat-group", yard)

	// A notice not sent yet is not there to open.
	e2eWantError(t, s.call(t, "POST", opens, wang, shShareInfo(t, fake, s, wang, group)), http.StatusNotFound, "notice_not_found")
	ntSend(t, s, chair, id)

	// No group linked yet: the open is not counted, and the message says what to do.
	e := e2eWantError(t, s.call(t, "POST", opens, wang, shShareInfo(t, fake, s, wang, group)), http.StatusBadRequest, "group_not_linked")
	if !strings.Contains(e.Error.Message, "关联本群") {
		t.Errorf("group_not_linked message %q does not say how to link", e.Error.Message)
	}
	var g struct {
		CourtyardID int64      `json:"courtyard_id"`
		Linked      bool       `json:"linked"`
		LinkedBy    string     `json:"linked_by"`
		LinkedAt    *time.Time `json:"linked_at"`
		Changed     *bool      `json:"changed"`
	}
	r := s.call(t, "GET", link, chair, nil)
	e2eWant(t, r, http.StatusOK)
	r.decode(t, &g)
	if g.Linked || g.CourtyardID != yard {
		t.Fatalf("before linking: %s", r)
	}

	// Only the council or staff, and only through a WeChat login.
	e2eWantError(t, s.call(t, "POST", link, wang, shShareInfo(t, fake, s, wang, group)), http.StatusForbidden, "not_in_scope")
	e2eWantError(t, s.call(t, "POST", link, staff, map[string]string{"encrypted_data": "x", "iv": "y"}), http.StatusForbidden, "users_only")
	e2eWantError(t, s.call(t, "POST", link, chair, map[string]string{}), http.StatusBadRequest, "share_data_required")
	e2eWantError(t, s.call(t, "POST", link, chair, map[string]string{"encrypted_data": "bm90IGl0", "iv": "AAAAAAAAAAAAAAAAAAAAAA=="}), http.StatusBadRequest, "share_data_invalid")
	// Share info of another user (another session key) does not open.
	e2eWantError(t, s.call(t, "POST", link, chair, shShareInfo(t, fake, s, wang, group)), http.StatusBadRequest, "share_data_invalid")

	// The chair links the group from the card; again changes nothing.
	r = s.call(t, "POST", link, chair, shShareInfo(t, fake, s, chair, group))
	e2eWant(t, r, http.StatusOK)
	r.decode(t, &g)
	if !g.Linked || g.Changed == nil || !*g.Changed || !strings.HasPrefix(g.LinkedBy, "user:") || g.LinkedAt == nil {
		t.Fatalf("link: %s", r)
	}
	if strings.Contains(string(r.Body), fake.GroupID(group)) {
		t.Errorf("the answer shows the openGId: %s", r)
	}
	r = s.call(t, "POST", link, chair, shShareInfo(t, fake, s, chair, group))
	e2eWant(t, r, http.StatusOK)
	g.Changed = nil
	r.decode(t, &g)
	if g.Changed == nil || *g.Changed {
		t.Errorf("linking the linked group again: %s; want changed false", r)
	}

	// wang opens the notice from the group: counted once.
	var out struct {
		Counted bool `json:"counted"`
	}
	for i, want := range []bool{true, false} {
		r = s.call(t, "POST", opens, wang, shShareInfo(t, fake, s, wang, group))
		e2eWant(t, r, http.StatusOK)
		r.decode(t, &out)
		if out.Counted != want {
			t.Errorf("wang's open %d: counted %v, want %v", i+1, out.Counted, want)
		}
	}
	// From another group, or with stale or garbled share info: not counted.
	e2eWantError(t, s.call(t, "POST", opens, zhao, shShareInfo(t, fake, s, zhao, otherGroup)), http.StatusBadRequest, "group_not_courtyard")
	zhaoKey, _ := fake.SessionKey(shOpenID(t, s, zhao))
	enc, iv, err := wechatfake.EncryptShareInfo(zhaoKey, fake.AppID(), fake.GroupID(group), time.Now().Add(-2*time.Hour).Unix())
	if err != nil {
		t.Fatal(err)
	}
	e2eWantError(t, s.call(t, "POST", opens, zhao, map[string]string{"encrypted_data": enc, "iv": iv}), http.StatusBadRequest, "share_data_expired")
	enc, iv, _ = wechatfake.EncryptShareInfo(zhaoKey, "wxsomeotherapp00", fake.GroupID(group), time.Now().Unix())
	e2eWantError(t, s.call(t, "POST", opens, zhao, map[string]string{"encrypted_data": enc, "iv": iv}), http.StatusBadRequest, "share_data_invalid")
	// zhao logs in again (WeChat gives a new session key): info made for the
	// old key fails, fresh info opens.
	oldInfo := shShareInfo(t, fake, s, zhao, group)
	zhao = shLogin(t, s, "zhao")
	e2eWantError(t, s.call(t, "POST", opens, zhao, oldInfo), http.StatusBadRequest, "share_data_invalid")
	r = s.call(t, "POST", opens, zhao, shShareInfo(t, fake, s, zhao, group))
	e2eWant(t, r, http.StatusOK)
	// A staff account has no WeChat login to decrypt with.
	e2eWantError(t, s.call(t, "POST", opens, staff, map[string]string{"encrypted_data": "x", "iv": "y"}), http.StatusForbidden, "users_only")

	var rep struct {
		GroupOpens *int `json:"group_opens"`
	}
	r = s.call(t, "GET", fmt.Sprintf("/api/v1/notices/%d/report", id), chair, nil)
	e2eWant(t, r, http.StatusOK)
	r.decode(t, &rep)
	if rep.GroupOpens == nil || *rep.GroupOpens != 2 {
		t.Errorf("report group_opens = %v; want 2 (wang and zhao, once each): %s", rep.GroupOpens, r)
	}

	// Relinking to another group is audited with the previous one; the
	// first group no longer counts.
	r = s.call(t, "POST", link, chair, shShareInfo(t, fake, s, chair, otherGroup))
	e2eWant(t, r, http.StatusOK)
	e2eWantError(t, s.call(t, "POST", opens, wang, shShareInfo(t, fake, s, wang, group)), http.StatusBadRequest, "group_not_courtyard")
	if !skAudited(t, s, "courtyard.wechat_group_linked", "") || !skAudited(t, s, "courtyard.wechat_group_relinked", "") {
		t.Error("link and relink are not both in the audit log")
	}
	if out, err := e2eRunAudit(t, s); err != nil {
		t.Errorf("audit verify: %v %s", err, out)
	}

	// The session key never leaves the server.
	for _, tok := range []string{chair, wang} {
		me := s.call(t, "GET", "/api/v1/me", tok, nil)
		if key, _ := fake.SessionKey(shOpenID(t, s, tok)); key != "" && strings.Contains(string(me.Body), key) {
			t.Errorf("GET /me shows the WeChat session key")
		}
	}
}

// e2eRunAudit runs "audit verify" against the server's database.
func e2eRunAudit(t *testing.T, s *e2eServer) (string, error) {
	t.Helper()
	e2eRunEnv(t, s.cfg, s.cfg.Embedded())
	out, err := e2eRun("audit", "verify")
	if err == nil && !strings.Contains(out, "audit log intact") {
		return out, fmt.Errorf("unexpected output")
	}
	return out, err
}
