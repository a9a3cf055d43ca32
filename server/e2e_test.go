package main

// End-to-end tests: the real server, booted in-process with serve() and
// driven only over HTTP, in the embedded default (SQLite, in-process Redis,
// built-in fake WeChat API) and in production mode (MariaDB/MySQL and Redis,
// still with the built-in fake WeChat API). Helpers are in
// e2e_helpers_test.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/sqlstore"
	"github.com/louyuan/louyuan/internal/testenv"
)

func TestE2EEmbedded(t *testing.T) {
	s := e2eStart(t, e2eEmbeddedConfig(t))
	e2eScenario(t, s, e2eMode{embedded: true})
}

func TestE2EMySQLRedis(t *testing.T) {
	dsn := testenv.MySQL(t)
	rds := testenv.Redis(t)
	cfg := e2eProductionConfig(t, dsn, "redis://"+testenv.RedisAddr(), rds.Prefix, e2eNewSecrets(t))
	s := e2eStart(t, cfg)
	e2eScenario(t, s, e2eMode{redis: &rds})
}

// e2eMode says what a scenario runs against.
type e2eMode struct {
	embedded bool
	redis    *testenv.RedisEnv // production mode's Redis, nil when embedded
}

// e2eState is what the scenario's steps hand on to each other.
type e2eState struct {
	wang, li, lizhang, staff e2eTokens
	wangID, liID             int64
	courtyardID, communityID int64
	householdID              int64 // 1号楼1单元101, bound by wang
	repRequestID             int64
	householdCount           int
	goodRoster               []byte
}

func e2eScenario(t *testing.T, s *e2eServer, mode e2eMode) {
	var st e2eState
	// Steps whose results later steps use stop the scenario when they fail.
	gate := func(name string, fn func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, fn) {
			t.Fatalf("step %s failed; the steps after it depend on it", name)
		}
	}

	t.Run("1_probes", func(t *testing.T) {
		r := s.call(t, "GET", "/healthz", "", nil)
		e2eWant(t, r, http.StatusOK)
		if string(bytes.TrimSpace(r.Body)) != `{"status":"ok"}` {
			t.Errorf("healthz body: %s", r)
		}
		r = s.call(t, "GET", "/readyz", "", nil)
		e2eWant(t, r, http.StatusOK)
		var ready map[string]string
		r.decode(t, &ready)
		if ready["database"] != "ok" || ready["redis"] != "ok" || len(ready) != 2 {
			t.Errorf("readyz: want database ok and redis ok: %s", r)
		}
		// Metrics are not public: the API port does not serve them; the
		// private metrics listener does.
		r = s.call(t, "GET", "/metrics", "", nil)
		e2eWantError(t, r, http.StatusNotFound, "no_route")
		metrics := s.metrics(t)
		if !strings.Contains(metrics, "louyuan_http_requests_total") || !strings.Contains(metrics, "louyuan_http_request_seconds") {
			t.Errorf("metrics lack louyuan_http_requests_total / louyuan_http_request_seconds")
		}
		if !strings.Contains(metrics, `louyuan_http_requests_total{method="GET",route="/readyz",status="200"} 1`) {
			t.Errorf("metrics do not count the /readyz request by route and status")
		}
	})

	t.Run("1_openapi", func(t *testing.T) {
		r := s.call(t, "GET", "/openapi.yaml", "", nil)
		e2eWant(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "yaml") {
			t.Errorf("openapi.yaml served as %q", ct)
		}
		doc := string(r.Body)
		if !regexp.MustCompile(`(?m)^openapi: *["']?3\.`).MatchString(doc) {
			t.Fatalf("GET /openapi.yaml is not an OpenAPI 3 document (%d bytes served; internal/api/openapi.yaml is embedded as is)", len(r.Body))
		}
		for _, p := range []string{"/api/v1/auth/wechat/login", "/api/v1/me/households", "/api/v1/courtyards/{id}/roster",
			"/api/v1/courtyards/{id}/invites", "/api/v1/requests/{kind}/{id}/decision"} {
			if !strings.Contains(doc, p) {
				t.Errorf("openapi.yaml does not describe %s", p)
			}
		}
	})

	gate("2_wechat_login", func(t *testing.T) {
		code := e2eCode("wang")
		st.wang = s.wechatLogin(t, code)
		st.wangID = st.wang.User.ID
		me := s.me(t, st.wang.AccessToken)
		if me.Kind != "user" || me.ID != st.wangID || me.Grants == nil || len(me.Grants) != 0 {
			t.Errorf("GET /me for a new resident: %+v, want kind user, id %d, grants []", me, st.wangID)
		}
		// The same wx.login code works once.
		r := s.call(t, "POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": code})
		e2eWantError(t, r, http.StatusBadRequest, "wechat_code_invalid")
		// A second login of the same WeChat user is the same Louyuan user.
		again := s.wechatLogin(t, e2eCode("wang"))
		if again.User.ID != st.wangID {
			t.Errorf("second login of wang is user %d, first was %d", again.User.ID, st.wangID)
		}
		// Phone binding through getPhoneNumber: shown masked only.
		r = s.call(t, "POST", "/api/v1/me/phone", st.wang.AccessToken, map[string]string{"code": e2eCode("wang")})
		e2eWant(t, r, http.StatusOK)
		var ph struct {
			PhoneMasked string `json:"phone_masked"`
		}
		r.decode(t, &ph)
		if !regexp.MustCompile(`^1\d{2}\*{4}\d{4}$`).MatchString(ph.PhoneMasked) {
			t.Errorf("phone_masked %q is not of the form 138****1234", ph.PhoneMasked)
		}
	})

	gate("3_bind_with_invite", func(t *testing.T) {
		invites := e2eDemoInvites(t, s.cfg.DataDir)
		if len(invites) != 56 {
			t.Fatalf("demo-invites.tsv lists %d codes, want one per household (56)", len(invites))
		}
		first := invites[0]
		if first.Building+first.Unit+first.Room != "1号楼1单元101" {
			t.Errorf("first demo invite is for %s%s%s, want 1号楼1单元101", first.Building, first.Unit, first.Room)
		}
		r := s.call(t, "POST", "/api/v1/me/households", st.wang.AccessToken, map[string]string{"invite_code": first.Code})
		e2eWant(t, r, http.StatusCreated)
		var m e2eMember
		r.decode(t, &m)
		if m.UserID != st.wangID || m.Role != "owner" || !m.Representative || m.Via != "invite" || m.HouseholdID <= 0 || m.MembershipID <= 0 {
			t.Errorf("binding: %+v, want user %d, owner, representative, via invite", m, st.wangID)
		}
		st.householdID = m.HouseholdID

		hs := s.myHouseholds(t, st.wang.AccessToken)
		if len(hs) != 1 {
			t.Fatalf("wang has %d households, want 1: %+v", len(hs), hs)
		}
		h := hs[0]
		st.courtyardID = h.CourtyardID
		if h.ID != st.householdID || h.Courtyard != "铝厂小区" || h.Building != first.Building || h.Unit != first.Unit || h.Room != first.Room ||
			h.Floor != 1 || h.Area != "62.35" || !slices.Equal(h.Owners, []string{"王春芬"}) || h.Role != "owner" || !h.Representative {
			t.Errorf("my household: %+v, want 铝厂小区 1号楼1单元101, floor 1, area 62.35, owner 王春芬, wang its representative", h)
		}
		if len(h.Members) != 1 || h.Members[0].UserID != st.wangID || !h.Members[0].Representative || !strings.Contains(h.Members[0].PhoneMasked, "****") {
			t.Errorf("members of my household: %+v, want wang alone, representative, masked phone", h.Members)
		}

		// The code works once, also for someone else.
		zhao := s.wechatLogin(t, e2eCode("zhao"))
		r = s.call(t, "POST", "/api/v1/me/households", zhao.AccessToken, map[string]string{"invite_code": first.Code})
		e2eWantError(t, r, http.StatusConflict, "invite_code_used")
		// Spaces, dashes and lower case do not make a used code new.
		loose := strings.ToLower(strings.ReplaceAll(first.Code, "-", " "))
		r = s.call(t, "POST", "/api/v1/me/households", zhao.AccessToken, map[string]string{"invite_code": loose})
		e2eWantError(t, r, http.StatusConflict, "invite_code_used")
		r = s.call(t, "POST", "/api/v1/me/households", zhao.AccessToken, map[string]string{"invite_code": "ACDE-FGHJ"})
		e2eWantError(t, r, http.StatusNotFound, "invite_code_unknown")
		r = s.call(t, "POST", "/api/v1/me/households", zhao.AccessToken, map[string]string{"invite_code": "12!"})
		e2eWantError(t, r, http.StatusBadRequest, "invite_code_format")
		r = s.call(t, "POST", "/api/v1/me/households", zhao.AccessToken, map[string]string{})
		e2eWantError(t, r, http.StatusBadRequest, "invalid_field")
		if hs := s.myHouseholds(t, zhao.AccessToken); len(hs) != 0 {
			t.Errorf("zhao is bound to %+v after only failed attempts", hs)
		}
	})

	gate("4_representative_change", func(t *testing.T) {
		st.staff = s.staffLogin(t, demoStaffUser, s.demoPassword())
		if st.staff.User != nil {
			t.Errorf("staff login answers a WeChat user: %+v", st.staff.User)
		}
		me := s.me(t, st.staff.AccessToken)
		if me.Kind != "staff" || len(me.Grants) != 1 || me.Grants[0].Role != "community_staff" || me.Grants[0].ScopeType != "community" {
			t.Fatalf("demo staff: %+v, want one community_staff grant", me)
		}
		st.communityID = me.Grants[0].ScopeID

		r := s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/invites?format=json", st.courtyardID), st.staff.AccessToken,
			map[string]any{"household_ids": []int64{st.householdID}, "role": "family"})
		e2eWant(t, r, http.StatusCreated)
		code := e2eInviteCodes(t, r)
		if len(code) != 1 {
			t.Fatalf("want one invite code: %s", r)
		}

		st.li = s.wechatLogin(t, e2eCode("li"))
		st.liID = st.li.User.ID
		r = s.call(t, "POST", "/api/v1/me/households", st.li.AccessToken, map[string]string{"invite_code": code[0]})
		e2eWant(t, r, http.StatusCreated)
		var m e2eMember
		r.decode(t, &m)
		if m.HouseholdID != st.householdID || m.UserID != st.liID || m.Role != "family" || m.Representative {
			t.Errorf("li's binding: %+v, want family member of household %d, not representative", m, st.householdID)
		}

		path := fmt.Sprintf("/api/v1/households/%d/representative-requests", st.householdID)
		r = s.call(t, "POST", path, st.wang.AccessToken, map[string]any{"candidate_user_id": st.liID, "note": "我常年在外地"})
		e2eWant(t, r, http.StatusCreated)
		var req e2eRequest
		r.decode(t, &req)
		if req.ID <= 0 || req.Kind != "representative" || req.HouseholdID != st.householdID || req.UserID != st.liID ||
			req.Status != "pending" || req.Note != "我常年在外地" || req.RequestedBy != fmt.Sprintf("user:%d", st.wangID) {
			t.Errorf("representative request: %+v", req)
		}
		st.repRequestID = req.ID
		r = s.call(t, "POST", path, st.wang.AccessToken, map[string]any{"candidate_user_id": st.liID})
		e2eWantError(t, r, http.StatusConflict, "request_pending")
		// A resident of another household cannot ask.
		zhao := s.wechatLogin(t, e2eCode("zhao"))
		r = s.call(t, "POST", path, zhao.AccessToken, map[string]any{"candidate_user_id": zhao.User.ID})
		e2eWantError(t, r, http.StatusForbidden, "not_household_member")

		r = s.call(t, "GET", fmt.Sprintf("/api/v1/courtyards/%d/requests", st.courtyardID), st.staff.AccessToken, nil)
		e2eWant(t, r, http.StatusOK)
		var list struct {
			Requests []e2eRequest `json:"requests"`
		}
		r.decode(t, &list)
		if len(list.Requests) != 1 || list.Requests[0].ID != st.repRequestID || list.Requests[0].Kind != "representative" || list.Requests[0].Status != "pending" {
			t.Fatalf("pending requests: %s, want exactly request %d", r, st.repRequestID)
		}

		decision := fmt.Sprintf("/api/v1/requests/representative/%d/decision", st.repRequestID)
		r = s.call(t, "POST", decision, st.staff.AccessToken, map[string]any{"approve": true})
		e2eWant(t, r, http.StatusOK)
		var decided e2eRequest
		r.decode(t, &decided)
		if decided.ID != st.repRequestID || decided.Status != "approved" || decided.UserID != st.liID {
			t.Errorf("decision answer: %+v, want request %d approved for user %d", decided, st.repRequestID, st.liID)
		}
		r = s.call(t, "POST", decision, st.staff.AccessToken, map[string]any{"approve": false})
		e2eWantError(t, r, http.StatusConflict, "request_decided")
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/requests/representative/%d/decision", st.repRequestID+1000), st.staff.AccessToken, map[string]any{"approve": true})
		e2eWantError(t, r, http.StatusNotFound, "request_not_found")
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/requests/elections/%d/decision", st.repRequestID), st.staff.AccessToken, map[string]any{"approve": true})
		e2eWantError(t, r, http.StatusNotFound, "request_not_found")
		r = s.call(t, "POST", decision, st.staff.AccessToken, map[string]any{"reason": "缺少 approve"})
		e2eWantError(t, r, http.StatusBadRequest, "invalid_field")

		// Exactly one representative now: li, as both members see it.
		for _, who := range []struct {
			name  string
			token string
			id    int64
		}{{"wang", st.wang.AccessToken, st.wangID}, {"li", st.li.AccessToken, st.liID}} {
			hs := s.myHouseholds(t, who.token)
			if len(hs) != 1 || hs[0].ID != st.householdID {
				t.Fatalf("%s's households: %+v", who.name, hs)
			}
			if hs[0].Representative != (who.id == st.liID) {
				t.Errorf("%s's own representative flag is %v", who.name, hs[0].Representative)
			}
			var reps []int64
			for _, m := range hs[0].Members {
				if m.Representative {
					reps = append(reps, m.UserID)
				}
			}
			if len(hs[0].Members) != 2 || !slices.Equal(reps, []int64{st.liID}) {
				t.Errorf("%s sees members %+v; want wang and li with li the only representative", who.name, hs[0].Members)
			}
		}
		r = s.call(t, "GET", fmt.Sprintf("/api/v1/courtyards/%d/requests", st.courtyardID), st.staff.AccessToken, nil)
		e2eWant(t, r, http.StatusOK)
		var pending struct {
			Requests []json.RawMessage `json:"requests"`
			Total    *int              `json:"total"`
		}
		r.decode(t, &pending)
		if pending.Requests == nil || len(pending.Requests) != 0 || pending.Total == nil || *pending.Total != 0 {
			t.Errorf("pending requests after the decision: %s, want none", r)
		}
	})

	t.Run("4_invite_slips", func(t *testing.T) {
		// Without format=json the slips come as a workbook to print.
		r := s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/invites", st.courtyardID), st.staff.AccessToken,
			map[string]any{"household_ids": []int64{st.householdID}})
		e2eWant(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Errorf("invite slips served as %q", ct)
		}
		if !bytes.HasPrefix(r.Body, []byte("PK")) || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("invite slips are not an XLSX attachment: %s", r.Header.Get("Content-Disposition"))
		}
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/invites?format=json", st.courtyardID), st.staff.AccessToken,
			map[string]any{"household_ids": []int64{999999}})
		e2eWantError(t, r, http.StatusNotFound, "household_not_found")
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/invites?format=json", st.courtyardID), st.staff.AccessToken,
			map[string]any{"household_ids": []int64{st.householdID}, "role": "landlord"})
		e2eWantError(t, r, http.StatusBadRequest, "bad_role")

		// The JSON slips follow the API's snake_case like every other answer.
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/invites?format=json", st.courtyardID), st.staff.AccessToken,
			map[string]any{"household_ids": []int64{st.householdID}, "role": "tenant"})
		e2eWant(t, r, http.StatusCreated)
		var out struct {
			Invites []map[string]any `json:"invites"`
		}
		r.decode(t, &out)
		if len(out.Invites) != 1 {
			t.Fatalf("want one slip: %s", r)
		}
		var missing []string
		for _, k := range []string{"code", "building", "unit", "room", "role", "expires_at"} {
			if _, ok := out.Invites[0][k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			t.Errorf("invite slip JSON lacks the snake_case keys %v: %s", missing, r)
		}
	})

	t.Run("4_bind_request", func(t *testing.T) {
		// Without a code, a resident asks; only staff decide (not the council).
		hs := s.courtyardHouseholds(t, st.staff.AccessToken, st.courtyardID)
		target, ok := e2eFind(hs, "1号楼", "1单元", "102")
		if !ok {
			t.Fatal("no 1号楼1单元102 in the demo")
		}
		zhao := s.wechatLogin(t, e2eCode("zhao"))
		path := fmt.Sprintf("/api/v1/households/%d/bind-requests", target.ID)
		r := s.call(t, "POST", path, zhao.AccessToken, map[string]string{"role": "owner", "real_name": "刘宗敏", "note": "邀请码丢了"})
		e2eWant(t, r, http.StatusCreated)
		var req e2eRequest
		r.decode(t, &req)
		if req.ID <= 0 || req.Kind != "bind" || req.HouseholdID != target.ID || req.UserID != zhao.User.ID || req.Status != "pending" {
			t.Fatalf("bind request: %s", r)
		}
		r = s.call(t, "POST", path, zhao.AccessToken, map[string]string{"role": "owner", "real_name": "刘宗敏"})
		e2eWantError(t, r, http.StatusConflict, "request_pending")
		r = s.call(t, "POST", path, zhao.AccessToken, map[string]string{"role": "landlord", "real_name": "刘宗敏"})
		e2eWantError(t, r, http.StatusBadRequest, "bad_role")
		r = s.call(t, "POST", path, st.staff.AccessToken, map[string]string{"role": "owner", "real_name": "刘宗敏"})
		e2eWantError(t, r, http.StatusForbidden, "users_only")

		lizhang := s.wechatLogin(t, e2eCode("lizhang"))
		decision := fmt.Sprintf("/api/v1/requests/bind/%d/decision", req.ID)
		r = s.call(t, "POST", decision, lizhang.AccessToken, map[string]any{"approve": true})
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		r = s.call(t, "POST", decision, st.staff.AccessToken, map[string]any{"approve": true, "reason": "已核对房产证"})
		e2eWant(t, r, http.StatusOK)
		var decided e2eRequest
		r.decode(t, &decided)
		if decided.Status != "approved" || decided.Reason != "已核对房产证" {
			t.Errorf("bind decision: %s", r)
		}
		mine := s.myHouseholds(t, zhao.AccessToken)
		if len(mine) != 1 || mine[0].ID != target.ID || mine[0].Role != "owner" || len(mine[0].Members) != 1 || mine[0].Members[0].Via != "request" {
			t.Errorf("zhao's households after approval: %+v", mine)
		}
	})

	gate("5_roster_import", func(t *testing.T) {
		before := s.courtyardHouseholds(t, st.staff.AccessToken, st.courtyardID)
		if len(before) != 56 {
			t.Fatalf("demo courtyard has %d households, want 56", len(before))
		}
		upload := fmt.Sprintf("/api/v1/courtyards/%d/roster", st.courtyardID)
		st.goodRoster = e2eXLSX(t, [][]any{
			e2eRosterHeader,
			{"3号楼", "1单元", "101", 1, "88.50", "赵一"},
			{"3号楼", "1单元", "102", 1, "90.25", "钱二、孙三"},
			{"3号楼", "1单元", "201", 2, 88.5, "李四"},
			{"1号楼", "1单元", "102", 1, "80.00", "刘宗敏、李秀英"}, // the demo's 73.55 m² corrected
		})
		r := s.call(t, "POST", upload, st.staff.AccessToken, e2eMultipart{Field: "file", FileName: "名册.xlsx", Data: st.goodRoster})
		e2eWant(t, r, http.StatusOK)
		var res e2eImportResult
		r.decode(t, &res)
		if want := (e2eImportResult{Created: 3, Updated: 1, Unchanged: 0, NotInFile: 55}); res != want {
			t.Errorf("first import: %+v, want %+v", res, want)
		}
		after := s.courtyardHouseholds(t, st.staff.AccessToken, st.courtyardID)
		st.householdCount = len(after)
		if len(after) != 59 {
			t.Fatalf("after importing 3 new households there are %d, want 59", len(after))
		}
		for _, want := range []e2eHousehold{
			{Building: "1号楼", Unit: "1单元", Room: "102", Floor: 1, Area: "80.00", Owners: []string{"刘宗敏", "李秀英"}},
			{Building: "3号楼", Unit: "1单元", Room: "101", Floor: 1, Area: "88.50", Owners: []string{"赵一"}},
			{Building: "3号楼", Unit: "1单元", Room: "102", Floor: 1, Area: "90.25", Owners: []string{"钱二", "孙三"}},
			{Building: "3号楼", Unit: "1单元", Room: "201", Floor: 2, Area: "88.50", Owners: []string{"李四"}},
		} {
			got, ok := e2eFind(after, want.Building, want.Unit, want.Room)
			if !ok || got.Floor != want.Floor || got.Area != want.Area || !slices.Equal(got.Owners, want.Owners) || got.CourtyardID != st.courtyardID {
				t.Errorf("%s after import: %+v (found %v), want floor %d, area %s, owners %v", want.label(), got, ok, want.Floor, want.Area, want.Owners)
			}
		}
		if last := after[len(after)-1]; last.Building != "3号楼" {
			t.Errorf("households are not in building order: last is %s", last.label())
		}

		// The same file again changes nothing and duplicates nothing.
		r = s.call(t, "POST", upload, st.staff.AccessToken, e2eMultipart{Field: "file", FileName: "名册.xlsx", Data: st.goodRoster})
		e2eWant(t, r, http.StatusOK)
		r.decode(t, &res)
		if want := (e2eImportResult{Created: 0, Updated: 0, Unchanged: 4, NotInFile: 55}); res != want {
			t.Errorf("re-import of the same file: %+v, want %+v", res, want)
		}
		if n := len(s.courtyardHouseholds(t, st.staff.AccessToken, st.courtyardID)); n != 59 {
			t.Errorf("re-import changed the household count to %d", n)
		}

		// A file with three bad rows is rejected whole, listing all three;
		// its good rows (one new household, one changed area) are not written.
		bad := e2eXLSX(t, [][]any{
			e2eRosterHeader,
			{"3号楼", "2单元", "101", 1, "70.00", "周五"},
			{"1号楼", "1单元", "201", 2, "99.99", "张建国"},
			{"3号楼", "2单元", "", 1, "70.00", "吴六"},
			{"3号楼", "2单元", "102", 1, "abc", "郑七"},
			{"3号楼", "2单元", "201", 99, "70.00", "王八"},
		})
		r = s.call(t, "POST", upload, st.staff.AccessToken, e2eMultipart{Field: "file", FileName: "名册.xlsx", Data: bad})
		e := e2eWantError(t, r, http.StatusBadRequest, "roster_invalid")
		var details []e2eRowError
		if err := e2eStrictJSON(e.Error.Details, &details); err != nil {
			t.Errorf("roster_invalid details are not a list of {row, column, reason}: %v: %s", err, r)
		}
		var rows []int
		var cols []string
		for _, d := range details {
			rows, cols = append(rows, d.Row), append(cols, d.Column)
			if !e2eHasHan(d.Reason) {
				t.Errorf("row error without a Chinese reason: %+v", d)
			}
		}
		if !slices.Equal(rows, []int{4, 5, 6}) || !slices.Equal(cols, []string{"房号", "专有面积", "楼层"}) {
			t.Errorf("roster_invalid details: rows %v columns %v, want rows [4 5 6] columns [房号 专有面积 楼层]: %s", rows, cols, r)
		}
		after = s.courtyardHouseholds(t, st.staff.AccessToken, st.courtyardID)
		if len(after) != 59 {
			t.Errorf("a rejected roster changed the household count to %d", len(after))
		}
		if h, _ := e2eFind(after, "1号楼", "1单元", "201"); h.Area != "62.35" {
			t.Errorf("a rejected roster changed 1号楼1单元201's area to %q", h.Area)
		}
		if _, ok := e2eFind(after, "3号楼", "2单元", "101"); ok {
			t.Errorf("a rejected roster created 3号楼2单元101")
		}

		// Not a workbook at all, and no file.
		r = s.call(t, "POST", upload, st.staff.AccessToken, e2eMultipart{Field: "file", FileName: "名册.xlsx", Data: []byte("楼栋,单元,房号\n1,1,101\n")})
		e = e2eWantError(t, r, http.StatusBadRequest, e2eCodeOf(r))
		if !strings.HasPrefix(e.Error.Code, "roster_") || !strings.Contains(e.Error.Code, "unreadable") {
			t.Errorf("non-XLSX upload: code %q, want roster_(file_)unreadable: %s", e.Error.Code, r)
		}
		r = s.call(t, "POST", upload, st.staff.AccessToken, e2eMultipart{Field: "other", FileName: "名册.xlsx", Data: st.goodRoster})
		e2eWantError(t, r, http.StatusBadRequest, "file_missing")
		r = s.call(t, "POST", upload, st.staff.AccessToken, map[string]string{"file": "x"})
		e2eWantError(t, r, http.StatusBadRequest, "file_missing")
		if n := len(s.courtyardHouseholds(t, st.staff.AccessToken, st.courtyardID)); n != 59 {
			t.Errorf("failed uploads changed the household count to %d", n)
		}
	})

	t.Run("6_authorisation", func(t *testing.T) {
		yard := st.courtyardID
		resident := st.wang.AccessToken
		r := s.call(t, "GET", fmt.Sprintf("/api/v1/courtyards/%d/households", yard), resident, nil)
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		r = s.call(t, "GET", fmt.Sprintf("/api/v1/courtyards/%d/requests", yard), resident, nil)
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/roster", yard), resident, e2eMultipart{Field: "file", FileName: "r.xlsx", Data: st.goodRoster})
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/invites?format=json", yard), resident, map[string]any{"household_ids": []int64{st.householdID}, "role": "owner"})
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/requests/representative/%d/decision", st.repRequestID), resident, map[string]any{"approve": false})
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		r = s.call(t, "POST", "/api/v1/grants", resident, map[string]any{"principal_type": "user", "principal_id": st.wangID,
			"role": "community_staff", "scope_type": "community", "scope_id": st.communityID})
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		// A resident holds no role at all: refused for that before what
		// they ask for is looked at (staff asking for a council role get
		// 400 council_role_not_grantable, below and in the staff tests).
		r = s.call(t, "POST", "/api/v1/grants", resident, map[string]any{"principal_type": "user", "principal_id": st.wangID,
			"role": "council_chair", "scope_type": "courtyard", "scope_id": yard})
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		if me := s.me(t, resident); len(me.Grants) != 0 {
			t.Errorf("a refused self-grant left grants: %+v", me.Grants)
		}

		// The council chair sees the courtyard but may not do staff work.
		st.lizhang = s.wechatLogin(t, e2eCode("lizhang"))
		me := s.me(t, st.lizhang.AccessToken)
		if len(me.Grants) != 1 || me.Grants[0].Role != "council_chair" || me.Grants[0].ScopeType != "courtyard" || me.Grants[0].ScopeID != yard {
			t.Errorf("lizhang's grants: %+v, want council_chair of courtyard %d", me.Grants, yard)
		}
		if n := len(s.courtyardHouseholds(t, st.lizhang.AccessToken, yard)); n != st.householdCount {
			t.Errorf("council chair sees %d households, want %d", n, st.householdCount)
		}
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/roster", yard), st.lizhang.AccessToken, e2eMultipart{Field: "file", FileName: "r.xlsx", Data: st.goodRoster})
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		r = s.call(t, "POST", "/api/v1/grants", st.lizhang.AccessToken, map[string]any{"principal_type": "user", "principal_id": st.lizhang.User.ID,
			"role": "community_staff", "scope_type": "community", "scope_id": st.communityID})
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		// Staff have no households of their own.
		r = s.call(t, "GET", "/api/v1/me/households", st.staff.AccessToken, nil)
		e2eWantError(t, r, http.StatusForbidden, "users_only")
		r = s.call(t, "GET", "/api/v1/courtyards/999999/households", st.staff.AccessToken, nil)
		e2eWantError(t, r, http.StatusNotFound, "courtyard_not_found")
	})

	t.Run("6_other_courtyard", func(t *testing.T) {
		// An operator adds a courtyard in another community while the server runs.
		e2eRunEnv(t, s.cfg, mode.embedded)
		out, err := e2eRun("admin", "add-courtyard", "-subdistrict", "新华路街道", "-community", "东风社区", "-courtyard", "纺织厂小区")
		if err != nil {
			t.Fatalf("admin add-courtyard: %v (%s)", err, out)
		}
		var sub, comm, yard2 int64
		if _, err := fmt.Sscanf(out, "subdistrict %d, community %d, courtyard %d", &sub, &comm, &yard2); err != nil || yard2 == st.courtyardID || comm == st.communityID {
			t.Fatalf("admin add-courtyard printed %q", out)
		}
		for _, tok := range []string{st.staff.AccessToken, st.lizhang.AccessToken} {
			r := s.call(t, "GET", fmt.Sprintf("/api/v1/courtyards/%d/households", yard2), tok, nil)
			e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
			r = s.call(t, "GET", fmt.Sprintf("/api/v1/courtyards/%d/requests", yard2), tok, nil)
			e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
			r = s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/invites?format=json", yard2), tok, map[string]any{})
			e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		}
		r := s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/roster", yard2), st.staff.AccessToken, e2eMultipart{Field: "file", FileName: "r.xlsx", Data: st.goodRoster})
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
		r = s.call(t, "POST", "/api/v1/grants", st.staff.AccessToken, map[string]any{"principal_type": "user", "principal_id": st.wangID,
			"role": "council_member", "scope_type": "courtyard", "scope_id": yard2})
		e2eWantError(t, r, http.StatusBadRequest, "council_role_not_grantable")
		r = s.call(t, "POST", "/api/v1/grants", st.staff.AccessToken, map[string]any{"principal_type": "user", "principal_id": st.wangID,
			"role": "community_staff", "scope_type": "community", "scope_id": comm})
		e2eWantError(t, r, http.StatusForbidden, "not_in_scope")
	})

	t.Run("6_tokens", func(t *testing.T) {
		r := s.call(t, "GET", "/api/v1/me", "", nil)
		e2eWantError(t, r, http.StatusUnauthorized, "token_missing")
		r = s.call(t, "GET", "/api/v1/me", "garbage", nil)
		e2eWantError(t, r, http.StatusUnauthorized, "token_invalid")
		r = s.call(t, "GET", "/api/v1/me", "lya_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil)
		e2eWantError(t, r, http.StatusUnauthorized, "token_invalid")
		r = s.call(t, "POST", "/api/v1/auth/staff/login", "", map[string]string{"username": demoStaffUser, "password": "wrong-password"})
		e2eWantError(t, r, http.StatusUnauthorized, "wrong_password")

		first := s.wechatLogin(t, e2eCode("wang"))
		r = s.call(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken})
		e2eWant(t, r, http.StatusOK)
		var second e2eTokens
		r.decode(t, &second)
		e2eCheckTokens(t, r, second)
		if second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken {
			t.Fatalf("refresh did not issue a new pair")
		}
		if me := s.me(t, second.AccessToken); me.ID != st.wangID || me.Kind != "user" {
			t.Errorf("refreshed token is %+v, want user %d", me, st.wangID)
		}
		r = s.call(t, "GET", "/api/v1/me", first.AccessToken, nil)
		e2eWantError(t, r, http.StatusUnauthorized, "token_invalid")
		r = s.call(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": second.AccessToken})
		e2eWantError(t, r, http.StatusUnauthorized, "token_invalid")
		// The spent refresh token used again: someone holds a copy, so the
		// whole session ends, including the access token already issued
		// from it (used a moment ago, so cached) and its refresh token.
		r = s.call(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken})
		e2eWantError(t, r, http.StatusUnauthorized, "session_reused")
		r = s.call(t, "GET", "/api/v1/me", second.AccessToken, nil)
		e2eWantError(t, r, http.StatusUnauthorized, "token_invalid")
		r = s.call(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken})
		e2eWantError(t, r, http.StatusUnauthorized, "token_invalid")

		// Logout ends both tokens of a session.
		second = s.wechatLogin(t, e2eCode("wang"))
		r = s.call(t, "POST", "/api/v1/auth/logout", second.AccessToken, nil)
		e2eWant(t, r, http.StatusNoContent)
		r = s.call(t, "GET", "/api/v1/me", second.AccessToken, nil)
		e2eWantError(t, r, http.StatusUnauthorized, "token_invalid")
		r = s.call(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken})
		e2eWantError(t, r, http.StatusUnauthorized, "token_invalid")
		// Other sessions of the same user are untouched.
		s.me(t, st.wang.AccessToken)
	})

	t.Run("7_bad_input", func(t *testing.T) {
		login := "/api/v1/auth/wechat/login"
		r := s.call(t, "POST", login, "", `{"code":`)
		e2eWantError(t, r, http.StatusBadRequest, "bad_json")
		r = s.call(t, "POST", login, "", ``)
		e2eWantError(t, r, http.StatusBadRequest, "bad_json")
		r = s.call(t, "POST", login, "", `{"code":123}`)
		e2eWantError(t, r, http.StatusBadRequest, "bad_field_type")
		r = s.call(t, "POST", login, "", `{"code":"wang.x","role":"admin"}`)
		e2eWantError(t, r, http.StatusBadRequest, "unknown_field")
		r = s.call(t, "POST", login, "", `{}`)
		e2eWantError(t, r, http.StatusBadRequest, "invalid_field")
		r = s.call(t, "POST", "/api/v1/me/households", st.wang.AccessToken, `{"invite_code":["ABCD2345"]}`)
		if e := e2eWantError(t, r, http.StatusBadRequest, "bad_field_type"); !strings.Contains(e.Error.Message, "邀请码") {
			t.Errorf("a wrongly typed field is not named: %s", r)
		}
		// Exactly one JSON value: anything after it but whitespace is refused.
		for _, body := range []string{`{"code":"wang.t1"}{"code":"wang.t2"}`, `{"code":"wang.t3"} x`, `{"code":"wang.t4"}]`} {
			r = s.call(t, "POST", login, "", body)
			e2eWantError(t, r, http.StatusBadRequest, "bad_json")
		}
		e2eWant(t, s.call(t, "POST", login, "", "{\"code\":\""+e2eCode("wang")+"\"} \r\n\t "), http.StatusOK)
		// Validation errors name the field and the rule in Chinese.
		staffTok := st.staff.AccessToken
		for _, c := range []struct {
			path string
			body any
			want []string
		}{
			{login, `{}`, []string{"登录凭证", "code", "必填"}},
			{"/api/v1/auth/staff/login", map[string]string{"username": "x", "password": strings.Repeat("p", 80)}, []string{"密码", "password", "最大长度为 72"}},
			{fmt.Sprintf("/api/v1/courtyards/%d/motions", st.courtyardID), map[string]any{"scope_type": "street", "title": "t", "rule": "ordinary", "ballot_mode": "named",
				"opens_at": time.Now().Add(time.Hour), "closes_at": time.Now().Add(2 * time.Hour)}, []string{"范围类型", "scope_type", "取值之一：courtyard、building、unit"}},
			{"/api/v1/grants", map[string]any{"principal_type": "user", "principal_id": 0, "role": "phone_viewer", "scope_type": "community", "scope_id": 1},
				[]string{"授权对象编号", "principal_id", "必填"}},
		} {
			r = s.call(t, "POST", c.path, staffTok, c.body)
			e := e2eWantError(t, r, http.StatusBadRequest, "invalid_field")
			for _, w := range c.want {
				if !strings.Contains(e.Error.Message, w) {
					t.Errorf("POST %s: message %q does not say %q", c.path, e.Error.Message, w)
				}
			}
			if !bytes.Contains(e.Error.Details, []byte(`"field"`)) {
				t.Errorf("POST %s: details do not list the field: %s", c.path, r)
			}
		}
		// Fractions are written as the README says ("2/3", ">1/2") or as
		// {"num","den"}; a bad one names its field.
		petitions := fmt.Sprintf("/api/v1/courtyards/%d/petitions", st.courtyardID)
		r = s.call(t, "POST", petitions, staffTok, map[string]any{"scope_type": "courtyard", "title": "分数写法", "deadline": time.Now().Add(48 * time.Hour),
			"target_households": "2/3", "target_area": ">1/2"})
		e2eWant(t, r, http.StatusCreated)
		var pet struct {
			TargetHouseholds struct {
				Num, Den int64
				Strict   bool
			} `json:"target_households"`
			TargetArea struct {
				Num, Den int64
				Strict   bool
			} `json:"target_area"`
		}
		r.decode(t, &pet)
		if h, a := pet.TargetHouseholds, pet.TargetArea; h.Num != 2 || h.Den != 3 || h.Strict || a.Num != 1 || a.Den != 2 || !a.Strict {
			t.Errorf("\"2/3\" and \">1/2\" read as %+v and %+v: %s", h, a, r)
		}
		for _, bad := range []any{"3/2", "two thirds", "2/0", map[string]any{"num": 2}} {
			r = s.call(t, "POST", petitions, staffTok, map[string]any{"scope_type": "courtyard", "title": "分数写法", "deadline": time.Now().Add(48 * time.Hour),
				"target_households": bad})
			if e := e2eWantError(t, r, http.StatusBadRequest, "bad_fraction"); !strings.Contains(e.Error.Message, "target_households") {
				t.Errorf("a bad fraction %v is not named: %s", bad, r)
			}
		}
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/motions", st.courtyardID), staffTok, map[string]any{"scope_type": "courtyard", "title": "自定义规则",
			"rule": "custom", "ballot_mode": "named", "opens_at": time.Now().Add(time.Hour), "closes_at": time.Now().Add(2 * time.Hour),
			"custom": map[string]any{"participation_area": "2/3", "participation_head": "2/3", "approval_area": ">1/2", "approval_head": map[string]any{"num": 3, "den": 4}}})
		e2eWant(t, r, http.StatusCreated)

		big := `{"code":"` + strings.Repeat("a", 70<<10) + `"}`
		r = s.call(t, "POST", login, "", big)
		e2eWantError(t, r, http.StatusRequestEntityTooLarge, "body_too_large")
		r = s.call(t, "POST", login, "", e2eChunked{strings.NewReader(big)})
		e2eWantError(t, r, http.StatusRequestEntityTooLarge, "body_too_large")

		staff := st.staff.AccessToken
		for _, p := range []string{"/api/v1/courtyards/abc/households", "/api/v1/courtyards/0/households", "/api/v1/courtyards/-1/requests",
			"/api/v1/courtyards/99999999999999999999/households"} {
			r = s.call(t, "GET", p, staff, nil)
			e2eWantError(t, r, http.StatusBadRequest, "bad_id")
		}
		r = s.call(t, "POST", "/api/v1/requests/representative/x1/decision", staff, map[string]any{"approve": true})
		e2eWantError(t, r, http.StatusBadRequest, "bad_id")

		r = s.call(t, "GET", "/api/v1/no-such-thing", staff, nil)
		e2eWantError(t, r, http.StatusNotFound, "no_route")
		r = s.call(t, "GET", "/no-such-thing", "", nil)
		e2eWantError(t, r, http.StatusNotFound, "no_route")

		// The request ID a client sends comes back in the header and the error body.
		r = s.callWith(t, "POST", login, "", `{`, http.Header{"X-Request-Id": {"e2e-req-7"}})
		e := e2eWantError(t, r, http.StatusBadRequest, "bad_json")
		if r.Header.Get("X-Request-ID") != "e2e-req-7" || e.Error.RequestID != "e2e-req-7" {
			t.Errorf("X-Request-ID e2e-req-7 not echoed: header %q, body %q", r.Header.Get("X-Request-ID"), e.Error.RequestID)
		}
	})

	t.Run("7_method_not_allowed", func(t *testing.T) {
		// RFC 9110 §15.5.6: a known path with a method it does not support
		// is 405, with an Allow header.
		r := s.call(t, "DELETE", "/healthz", "", nil)
		e2eWantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
		if !strings.Contains(r.Header.Get("Allow"), "GET") {
			t.Errorf("405 without Allow: GET (Allow: %q)", r.Header.Get("Allow"))
		}
	})

	if mode.redis != nil {
		t.Run("redis_keys_under_prefix", func(t *testing.T) {
			// Every key the server writes lives under the configured prefix,
			// so that deployments can share one Redis (and an ACL can fence
			// them in). The scenario has used sessions and rate limits.
			ctx := context.Background()
			var keys []string
			iter := mode.redis.Client.Scan(ctx, 0, "*"+mode.redis.Prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
			}
			if err := iter.Err(); err != nil {
				t.Fatal(err)
			}
			var sessions int
			for _, k := range keys {
				if strings.HasPrefix(k, mode.redis.Prefix+"sess:") {
					sessions++
				}
				if !strings.HasPrefix(k, mode.redis.Prefix) {
					t.Errorf("Redis key %q is outside the configured prefix %q", k, mode.redis.Prefix)
				}
			}
			if sessions == 0 {
				t.Errorf("no session keys under %q: sessions are not in Redis", mode.redis.Prefix+"sess:")
			}
		})
	}

	t.Run("8_audit", func(t *testing.T) {
		if err := s.stop(); err != nil {
			t.Fatalf("serve returned %v after its context was cancelled; want nil (graceful shutdown)", err)
		}
		e2eRunEnv(t, s.cfg, mode.embedded)
		out, err := e2eRun("audit", "verify")
		if err != nil || !strings.Contains(out, "audit log intact") {
			t.Fatalf("audit verify after the scenario: err %v, output %q; want \"audit log intact\"", err, out)
		}
		var n int
		if _, err := fmt.Sscanf(out, "audit log intact: %d entries verified", &n); err != nil || n < 10 {
			t.Errorf("audit verify checked %d entries (%q); the scenario wrote bindings, requests, imports and invites", n, out)
		}

		dsn := s.cfg.Database.DSN
		if mode.embedded {
			dsn = "sqlite:" + filepath.Join(s.cfg.DataDir, "louyuan.db")
		}
		ctx := context.Background()
		db, err := sqlstore.Open(ctx, dsn, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var actions []string
		if err := db.Raw("SELECT DISTINCT action FROM audit_log").Scan(&actions).Error; err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{"household.bind", "invite.issue", "representative.requested", "representative.approved", "roster.import", "staff.create", "user.register", "user.phone_bound"} {
			if !slices.Contains(actions, a) {
				t.Errorf("audit log has no %q entry (actions: %v)", a, actions)
			}
		}
		// Phones are encrypted at rest: the number itself is nowhere in the row.
		fake, _, err := embeddedFake(slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		phone := fake.User("wang").Phone
		var rows []struct {
			PhoneEnc    []byte
			PhoneMasked string
		}
		if err := db.Raw("SELECT phone_enc, phone_masked FROM users WHERE id = ?", st.wangID).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || len(rows[0].PhoneEnc) == 0 || bytes.Contains(rows[0].PhoneEnc, []byte(phone)) || rows[0].PhoneMasked != phone[:3]+"****"+phone[7:] {
			t.Errorf("wang's stored phone: %+v; want it sealed (not containing %s) and masked", rows, phone)
		}

		// Someone with database access rewrites what a binding said.
		var id int64
		if err := db.Raw("SELECT id FROM audit_log WHERE action = ? ORDER BY id LIMIT 1", "household.bind").Scan(&id).Error; err != nil || id == 0 {
			t.Fatalf("find a binding in the audit log: id %d, %v", id, err)
		}
		res := db.Exec("UPDATE audit_log SET detail = ? WHERE id = ?", `{"invite":1,"representative":false,"role":"owner","user":999,"via":"invite"}`, id)
		if res.Error != nil || res.RowsAffected != 1 {
			t.Fatalf("tamper with audit entry %d: %v (%d rows)", id, res.Error, res.RowsAffected)
		}
		out, err = e2eRun("audit", "verify")
		if err == nil || !strings.Contains(err.Error(), "problems") {
			t.Errorf("audit verify after tampering: err %v, want an error about problems (output %q)", err, out)
		}
		if !strings.Contains(out, "BROKEN") || !strings.Contains(out, "edited") {
			t.Errorf("audit verify after tampering printed %q, want a BROKEN line saying the entry was edited", out)
		}
	})
}

// e2eInviteCodes reads the codes of a JSON invite answer.
func e2eInviteCodes(t *testing.T, r e2eResponse) []string {
	t.Helper()
	var out struct {
		Invites []map[string]any `json:"invites"`
	}
	r.decode(t, &out)
	var codes []string
	for _, inv := range out.Invites {
		c, _ := inv["code"].(string)
		if c == "" {
			t.Fatalf("invite without a code: %s", r)
		}
		codes = append(codes, c)
	}
	return codes
}

// e2eCodeOf is the error code of an answer (for checks made on it after).
func e2eCodeOf(r e2eResponse) string {
	var e e2eErrorBody
	_ = e2eStrictJSON(r.Body, &e)
	return e.Error.Code
}

// TestE2EAccessTokenExpiry runs a server whose access tokens live two seconds.
func TestE2EAccessTokenExpiry(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	cfg.Security.AccessTTL = 2 * time.Second // short, with room for a slow machine before the first use
	s := e2eStart(t, cfg)
	tok := s.wechatLogin(t, e2eCode("wang"))
	if d := time.Until(tok.AccessExpiresAt); d > 3*time.Second {
		t.Fatalf("access token expires in %v, want about 2s", d)
	}
	s.me(t, tok.AccessToken)
	time.Sleep(time.Until(tok.AccessExpiresAt) + 100*time.Millisecond)
	r := s.call(t, "GET", "/api/v1/me", tok.AccessToken, nil)
	e2eWantError(t, r, http.StatusUnauthorized, "token_expired")
	// The refresh token outlives it and gives a working pair.
	r = s.call(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
	e2eWant(t, r, http.StatusOK)
	var fresh e2eTokens
	r.decode(t, &fresh)
	if me := s.me(t, fresh.AccessToken); me.ID != tok.User.ID {
		t.Errorf("refreshed token is user %d, want %d", me.ID, tok.User.ID)
	}
}

// TestE2ETwoInstances runs two servers on one MySQL database and one Redis
// prefix at once: a session issued by either is good on the other, and
// ending it on one ends it on both.
func TestE2ETwoInstances(t *testing.T) {
	dsn := testenv.MySQL(t)
	rds := testenv.Redis(t)
	sec := e2eNewSecrets(t)
	redisURL := "redis://" + testenv.RedisAddr()
	a := e2eStart(t, e2eProductionConfig(t, dsn, redisURL, rds.Prefix, sec))
	// The second instance starts on a seeded database; its demo flag must
	// then do nothing.
	b, err := e2eTryStart(t, e2eProductionConfig(t, dsn, redisURL, rds.Prefix, sec))
	if err != nil {
		if strings.Contains(err.Error(), "conflicts with") {
			t.Skipf("a second server cannot be built in this process: %v. The WeChat SDK's base URL is process-wide "+
				"(internal/wechat/sdk.go installSDKGlobals) and each embedded App would start its own fake WeChat API "+
				"on a new port; sharing sessions between instances cannot be checked in one process", err)
		}
		t.Fatalf("start the second instance: %v", err)
	}

	user := a.wechatLogin(t, e2eCode("wang"))
	if me := b.me(t, user.AccessToken); me.ID != user.User.ID || me.Kind != "user" {
		t.Errorf("instance B resolves A's token to %+v, want user %d", me, user.User.ID)
	}
	staff := b.staffLogin(t, demoStaffUser, b.demoPassword())
	me := a.me(t, staff.AccessToken)
	if me.Kind != "staff" || len(me.Grants) != 1 {
		t.Fatalf("instance A resolves B's staff token to %+v", me)
	}
	yard := int64(0)
	if hs := a.courtyardHouseholds(t, staff.AccessToken, 1); len(hs) != 56 {
		t.Errorf("courtyard 1 through A with B's staff token: %d households, want 56 (demo seeded once)", len(hs))
	} else {
		yard = hs[0].CourtyardID
	}
	if hs := b.courtyardHouseholds(t, staff.AccessToken, yard); len(hs) != 56 {
		t.Errorf("courtyard through B: %d households, want 56", len(hs))
	}

	// Refresh on B retires the pair A issued, on A too; logout on A ends
	// the session on B. The other instance learns it from the log of ended
	// tokens, which each instance reads every second.
	endsWithin := func(s *e2eServer, token string) {
		t.Helper()
		start := time.Now()
		for {
			r := s.call(t, "GET", "/api/v1/me", token, nil)
			if r.Status == http.StatusUnauthorized {
				e2eWantError(t, r, http.StatusUnauthorized, "token_invalid")
				return
			}
			e2eWant(t, r, http.StatusOK)
			if time.Since(start) > 3*time.Second {
				t.Fatalf("a token ended on the other instance still works after %v", time.Since(start))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	r := b.call(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": user.RefreshToken})
	e2eWant(t, r, http.StatusOK)
	var fresh e2eTokens
	r.decode(t, &fresh)
	endsWithin(a, user.AccessToken)
	a.me(t, fresh.AccessToken)
	r = a.call(t, "POST", "/api/v1/auth/logout", fresh.AccessToken, nil)
	e2eWant(t, r, http.StatusNoContent)
	endsWithin(b, fresh.AccessToken)

	// Both drain and stop cleanly while the other still runs.
	if err := b.stop(); err != nil {
		t.Errorf("instance B: serve returned %v on shutdown, want nil", err)
	}
	a.me(t, staff.AccessToken)
}

// TestE2EDemoWithConfiguredWeChatApp starts the demo with a WeChat app
// configured (here the same fake, by URL, as a developer would point
// LOUYUAN_WECHAT_BASE_URL at one). Seeding the demo council must not crash
// the server: it should start, or refuse with an error.
func TestE2EDemoWithConfiguredWeChatApp(t *testing.T) {
	_, url, err := embeddedFake(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cfg := e2eEmbeddedConfig(t)
	cfg.WeChat.AppID, cfg.WeChat.Secret, cfg.WeChat.BaseURL = demoAppID, demoSecret, url
	s, err := e2eTryStart(t, cfg)
	if err != nil {
		if strings.Contains(err.Error(), "panicked") {
			t.Fatalf("serve with the demo and a configured WeChat app: %v (server/demo.go seedDemo uses a.Fake, which is nil when LOUYUAN_WECHAT_APPID is set)", err)
		}
		return // a clear refusal is acceptable
	}
	s.call(t, "GET", "/healthz", "", nil)
}

// TestE2ELimitsAndLockout runs a server with a small upload limit: an
// oversize roster is refused before it is read, and five wrong staff
// passwords lock the account even against the right one.
func TestE2ELimitsAndLockout(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	cfg.HTTP.MaxUploadBytes = 32 << 10
	s := e2eStart(t, cfg)
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword())
	me := s.me(t, staff.AccessToken)
	if len(me.Grants) != 1 {
		t.Fatalf("demo staff grants: %+v", me.Grants)
	}
	hs := s.courtyardHouseholds(t, staff.AccessToken, 1)
	if len(hs) != 56 {
		t.Fatalf("demo courtyard: %d households", len(hs))
	}
	rows := [][]any{e2eRosterHeader}
	for i := range 2000 {
		rows = append(rows, []any{"9号楼", "1单元", fmt.Sprintf("%d%02d", i/20+1, i%20+1), i/20 + 1, "50.00", fmt.Sprintf("业主%d", i)})
	}
	big := e2eXLSX(t, rows)
	if len(big) <= 32<<10 {
		t.Fatalf("test workbook is only %d bytes", len(big))
	}
	r := s.call(t, "POST", "/api/v1/courtyards/1/roster", staff.AccessToken, e2eMultipart{Field: "file", FileName: "big.xlsx", Data: big})
	e2eWantError(t, r, http.StatusRequestEntityTooLarge, "body_too_large")
	if n := len(s.courtyardHouseholds(t, staff.AccessToken, 1)); n != 56 {
		t.Errorf("an oversize roster changed the household count to %d", n)
	}

	for i := range 5 {
		r := s.call(t, "POST", "/api/v1/auth/staff/login", "", map[string]string{"username": demoStaffUser, "password": fmt.Sprintf("wrong-%d-password", i)})
		e2eWantError(t, r, http.StatusUnauthorized, "wrong_password")
	}
	r = s.call(t, "POST", "/api/v1/auth/staff/login", "", map[string]string{"username": demoStaffUser, "password": s.demoPassword()})
	e2eWantError(t, r, http.StatusTooManyRequests, "account_locked")
	// An unknown user is told the same as a wrong password.
	r = s.call(t, "POST", "/api/v1/auth/staff/login", "", map[string]string{"username": "nobody", "password": s.demoPassword()})
	e2eWantError(t, r, http.StatusUnauthorized, "wrong_password")
	// A session opened before the lockout is not ended by it.
	s.me(t, staff.AccessToken)
}
