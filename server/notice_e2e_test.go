package main

// End-to-end tests of notices and their durable delivery (issue 5), through
// the real API on MariaDB and Redis with the built-in fake WeChat API.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/notice"
	"github.com/louyuan/louyuan/internal/sqlstore"
	"github.com/louyuan/louyuan/internal/testenv"
	"github.com/louyuan/louyuan/internal/wechat/wechatfake"
)

var ntSeq int

// ntConfig is production mode with notice templates of IDs unique to the
// test (the fake WeChat API is shared by the whole test binary), fast
// workers and a short WeChat timeout.
func ntConfig(t *testing.T) (*Config, string) {
	t.Helper()
	dsn := testenv.MySQL(t)
	rds := testenv.Redis(t)
	cfg := vtConfig(e2eProductionConfig(t, dsn, "redis://"+testenv.RedisAddr(), rds.Prefix, e2eNewSecrets(t)))
	ntSeq++
	tmpl := fmt.Sprintf("nt%d-%d", time.Now().UnixNano()%1e6, ntSeq)
	cfg.Notices.Templates = map[string]notice.Template{}
	for _, k := range notice.Kinds {
		cfg.Notices.Templates[k] = notice.Template{ID: tmpl + "-" + k, Fields: map[string]string{"thing1": "title", "thing2": "body", "time3": "time"}}
	}
	cfg.Notices.Workers, cfg.Notices.RatePerSecond = 8, 1000
	cfg.WeChat.Timeout = time.Second
	return cfg, tmpl + "-notice"
}

func ntFake(t *testing.T) *wechatfake.Server {
	t.Helper()
	fake, _, err := embeddedFake(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return fake
}

type ntReport struct {
	Recipients int            `json:"recipients"`
	Read       int            `json:"read"`
	States     map[string]int `json:"states"`
	Failures   []struct {
		UserID   int64  `json:"user_id"`
		State    string `json:"state"`
		ErrCode  int    `json:"errcode"`
		Reason   string `json:"reason"`
		Attempts int    `json:"attempts"`
	} `json:"failures"`
	Readers []struct {
		UserID int64      `json:"user_id"`
		ReadAt *time.Time `json:"read_at"`
	} `json:"readers"`
}

func ntGetReport(t *testing.T, s *e2eServer, token string, id int64) ntReport {
	t.Helper()
	r := s.call(t, "GET", fmt.Sprintf("/api/v1/notices/%d/report", id), token, nil)
	e2eWant(t, r, http.StatusOK)
	var rep ntReport
	r.decode(t, &rep)
	return rep
}

// ntWait polls the report until done says so.
func ntWait(t *testing.T, s *e2eServer, token string, id int64, within time.Duration, done func(ntReport) bool) ntReport {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		rep := ntGetReport(t, s, token, id)
		if done(rep) {
			return rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("notice %d not delivered as expected within %s: states %v, failures %+v", id, within, rep.States, rep.Failures)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ntCreate(t *testing.T, s *e2eServer, token string, targets []map[string]any, title, body string) (int64, string) {
	t.Helper()
	r := s.call(t, "POST", "/api/v1/notices", token, map[string]any{"targets": targets, "title": title, "body": body})
	e2eWant(t, r, http.StatusCreated)
	var n struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	r.decode(t, &n)
	return n.ID, n.Status
}

func ntSend(t *testing.T, s *e2eServer, token string, id int64) int {
	t.Helper()
	r := s.call(t, "POST", fmt.Sprintf("/api/v1/notices/%d/send", id), token, nil)
	e2eWant(t, r, http.StatusOK)
	var out struct {
		Recipients int `json:"recipients"`
	}
	r.decode(t, &out)
	return out.Recipients
}

// sentOf counts the messages of a template the fake accepted, per openid.
func sentOf(fake *wechatfake.Server, template string) map[string]int {
	out := map[string]int{}
	for _, m := range fake.Sent() {
		if m.TemplateID == template {
			out[m.ToUser]++
		}
	}
	return out
}

// TestNoticeDelivery: each scripted WeChat answer ends in the right state
// with the right number of attempts; the inbox, read receipts, content
// security and authorisation work through the API.
func TestNoticeDelivery(t *testing.T) {
	cfg, tmpl := ntConfig(t)
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)
	fake := ntFake(t)
	yard := []map[string]any{{"scope_type": "courtyard", "scope_id": env.yard}}

	// Content security: risky text never gets in; text to review waits
	// for staff.
	fake.SetRiskyWords("赌博")
	fake.SetReviewWords("待审词")
	t.Cleanup(func() { fake.SetRiskyWords(); fake.SetReviewWords() })
	before := len(fake.Sent())
	e2eWantError(t, s.call(t, "POST", "/api/v1/notices", env.staff, map[string]any{"targets": yard, "title": "通知", "body": "来赌博"}),
		http.StatusBadRequest, "content_risky")
	held, status := ntCreate(t, s, env.staff, yard, "停水通知", "明天待审词停水")
	if status != notice.StatusReview {
		t.Fatalf("notice with a review word: status %s, want review", status)
	}
	e2eWantError(t, s.call(t, "POST", fmt.Sprintf("/api/v1/notices/%d/send", held), env.staff, nil), http.StatusConflict, "awaiting_review")
	// A resident may neither write nor approve.
	e2eWantError(t, s.call(t, "POST", "/api/v1/notices", env.reps[0].token, map[string]any{"targets": yard, "title": "通知", "body": "正文"}),
		http.StatusForbidden, "not_in_scope")
	if r := s.call(t, "POST", fmt.Sprintf("/api/v1/notices/%d/approve", held), env.reps[0].token, nil); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
		t.Fatalf("a resident approved a notice: %s", r)
	}
	r0 := s.call(t, "POST", "/api/v1/notices/preview", env.staff, map[string]any{"targets": []map[string]any{{"scope_type": "unit", "scope_id": 1 << 40}}})
	if e := e2eWantError(t, r0, http.StatusNotFound, "scope_not_found"); !strings.Contains(e.Error.Message, "通知") {
		t.Errorf("a missing unit is reported as %q; the clerk is writing a notice", e.Error.Message)
	}
	if got := len(fake.Sent()); got != before {
		t.Fatalf("%d messages went out before any notice was sent", got-before)
	}

	// Subscriptions: every representative but the last four accepts once.
	reps := env.reps
	subscribed := reps[:len(reps)-4]
	for _, rep := range subscribed {
		r := s.call(t, "POST", "/api/v1/me/subscriptions", rep.token, map[string]any{"results": map[string]string{tmpl: "accept"}})
		e2eWant(t, r, http.StatusOK)
	}
	e2eWantError(t, s.call(t, "POST", "/api/v1/me/subscriptions", reps[0].token, map[string]any{"results": map[string]string{"nope": "accept"}}),
		http.StatusBadRequest, "unknown_template")
	r := s.call(t, "GET", "/api/v1/me/subscriptions", reps[0].token, nil)
	e2eWant(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), `"template_id":"`+tmpl+`","remaining":1`) {
		t.Fatalf("my subscriptions after one accept: %s", r)
	}

	openID := func(i int) string { return fake.User(fmt.Sprintf("rep%d", i)).OpenID }
	// Scripts, by representative (vtSetup logs rep i in as handle "rep<i>").
	fake.SetSubscribeResult(openID(1), -1)    // busy once → retried → sent, 2 attempts
	fake.SetSubscribeResult(openID(2), 45011) // per-minute limit → waits for the next minute
	fake.SetSubscribeResult(openID(3), 40001) // token rejected → refreshed once → sent, 1 attempt
	fake.SetSubscribeResult(openID(4), 43101) // refused → grant used up, no retry
	fake.SetSubscribeResult(openID(5), 47003) // bad data → failed, no retry
	fake.SetSubscribeResult(openID(6), 40003) // bad openid → failed, no retry
	fake.SetSubscribeLatency(openID(7), 3*time.Second)
	fake.SetSubscribeLatency(openID(8), 300*time.Millisecond) // slow, within the timeout → sent
	t.Cleanup(func() {
		fake.SetSubscribeLatency(openID(7), 0)
		fake.SetSubscribeLatency(openID(8), 0)
		fake.SetSubscribeResult(openID(2))
	})
	calls := map[int]int{}
	for i := 1; i <= 8; i++ {
		calls[i] = fake.SubscribeCalls(openID(i))
	}
	tokensBefore := fake.TokensIssued()

	title := "关于本周六上午停水检修的通知，请各位居民提前储水"
	id, status := ntCreate(t, s, env.staff, yard, title, "因管道检修，本周六8:00至12:00停水。")
	if status != notice.StatusDraft {
		t.Fatalf("status %s, want draft", status)
	}
	var preview struct {
		Recipients int `json:"recipients"`
	}
	r = s.call(t, "POST", "/api/v1/notices/preview", env.staff, map[string]any{"targets": yard})
	e2eWant(t, r, http.StatusOK)
	r.decode(t, &preview)
	if n := ntSend(t, s, env.staff, id); n != len(reps) || preview.Recipients != n {
		t.Fatalf("sent to %d (preview %d), want every one of the %d representatives", n, preview.Recipients, len(reps))
	}
	e2eWantError(t, s.call(t, "POST", fmt.Sprintf("/api/v1/notices/%d/send", id), env.staff, nil), http.StatusConflict, "already_sent")
	r = s.call(t, "GET", fmt.Sprintf("/api/v1/courtyards/%d/notices", env.yard), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), fmt.Sprintf(`"id":%d,`, id)) || !strings.Contains(string(r.Body), fmt.Sprintf(`"targets":[{"scope_type":"courtyard","scope_id":%d}]`, env.yard)) {
		t.Errorf("the courtyard's notices do not list notice %d with its target: %s", id, r)
	}

	settled := func(r ntReport) bool {
		// rep1's retry after -1 has gone; rep2 waits for the next minute
		// after its 45011, or has gone too if that minute came.
		if r.States[notice.StatePending]+r.States[notice.StateSending] != 0 {
			return false
		}
		for _, f := range r.Failures {
			if f.State == notice.StateRetried && f.UserID != reps[2].userID {
				return false
			}
		}
		return r.States[notice.StateRetried] == 1 && r.States[notice.StateSent] == len(subscribed)-5 ||
			r.States[notice.StateRetried] == 0 && r.States[notice.StateSent] == len(subscribed)-4
	}
	// rep7's message goes out 3 s after the server stopped waiting for it
	// (WeChat sends what it accepted): wait for it before counting.
	for deadline := time.Now().Add(10 * time.Second); sentOf(fake, tmpl)[openID(7)] == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	// A report and the fake's counts taken together: rep2's retry may fall
	// due (at the minute) between the two, so take them again until a
	// report before and one after the counts agree.
	var (
		rep      ntReport
		gotCalls map[int]int
		sent     map[string]int
	)
	for {
		rep = ntWait(t, s, env.staff, id, 30*time.Second, settled)
		gotCalls = map[int]int{}
		for i := 1; i <= 8; i++ {
			gotCalls[i] = fake.SubscribeCalls(openID(i)) - calls[i]
		}
		sent = sentOf(fake, tmpl)
		if after := ntGetReport(t, s, env.staff, id); fmt.Sprint(after.States) == fmt.Sprint(rep.States) {
			break
		}
	}
	rep2Sent := rep.States[notice.StateRetried] == 0
	byUser := map[int64]int{}
	for i, rp := range reps {
		byUser[rp.userID] = i
	}
	state := map[int]string{}
	attempts := map[int]int{}
	for _, f := range rep.Failures {
		i := byUser[f.UserID]
		state[i], attempts[i] = f.State, f.Attempts
		if f.Reason == "" {
			t.Errorf("rep%d %s without a reason", i, f.State)
		}
	}
	want := map[int]string{2: notice.StateRetried, 4: notice.StateRefused, 5: notice.StateFailed, 6: notice.StateFailed, 7: notice.StateFailed}
	if rep2Sent {
		delete(want, 2)
	}
	for i := len(reps) - 4; i < len(reps); i++ {
		want[i] = notice.StateSkipped
	}
	for i, st := range want {
		if state[i] != st {
			t.Errorf("rep%d ended %q, want %q", i, state[i], st)
		}
	}
	if len(rep.Failures) != len(want) {
		t.Errorf("%d failures, want %d: %+v", len(rep.Failures), len(want), rep.Failures)
	}
	for i, n := range map[int]int{2: 1, 4: 1, 5: 1, 6: 1, 7: 1} {
		if i == 2 && rep2Sent {
			continue
		}
		if attempts[i] != n {
			t.Errorf("rep%d: %d attempts, want %d", i, attempts[i], n)
		}
	}
	// WeChat calls: busy retried once; the token refresh is not an attempt
	// of ours but a second call; none for the skipped.
	rep2Calls := 1
	if rep2Sent {
		rep2Calls = 2
	}
	for i, n := range map[int]int{1: 2, 2: rep2Calls, 3: 2, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1} {
		if got := gotCalls[i]; got != n {
			t.Errorf("rep%d: %d calls to WeChat, want %d", i, got, n)
		}
	}
	if fake.TokensIssued() <= tokensBefore {
		t.Error("40001 did not make the server fetch a new access token")
	}
	for i, rp := range reps {
		_ = rp
		n := sent[openID(i)]
		wantN := 1
		st, listed := want[i]
		if !listed {
			st = notice.StateSent
		}
		switch st {
		case notice.StateRetried, notice.StateRefused, notice.StateSkipped:
			wantN = 0
		case notice.StateFailed:
			if i == 7 {
				wantN = 1 // WeChat took it; we gave up waiting and must not send again
			} else {
				wantN = 0
			}
		}
		if n != wantN {
			t.Errorf("rep%d got %d messages, want %d", i, n, wantN)
		}
	}
	// Values are cut to WeChat's limits rather than refused.
	for _, m := range fake.Sent() {
		if m.TemplateID == tmpl && len([]rune(m.Data["thing1"])) > 20 {
			t.Errorf("thing1 of %d characters sent: %q", len([]rune(m.Data["thing1"])), m.Data["thing1"])
		}
	}
	// The refused grant is used up.
	r = s.call(t, "GET", "/api/v1/me/subscriptions", reps[4].token, nil)
	if !strings.Contains(string(r.Body), `"template_id":"`+tmpl+`","remaining":0`) {
		t.Errorf("grants after 43101: %s", r)
	}

	// Inbox and read receipts.
	var inbox struct {
		Notices []struct {
			Notice struct {
				ID int64 `json:"id"`
			} `json:"notice"`
			ReadAt *time.Time `json:"read_at"`
		} `json:"notices"`
		Unread int `json:"unread"`
	}
	r = s.call(t, "GET", "/api/v1/me/notices", reps[0].token, nil)
	e2eWant(t, r, http.StatusOK)
	r.decode(t, &inbox)
	if len(inbox.Notices) == 0 || inbox.Notices[0].Notice.ID != id || inbox.Unread < 1 {
		t.Fatalf("inbox: %s", r)
	}
	unread := inbox.Unread
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/notices/%d/read", id), reps[0].token, nil), http.StatusNoContent)
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/notices/%d/read", id), reps[0].token, nil), http.StatusNoContent)
	r = s.call(t, "GET", "/api/v1/me/notices/unread", reps[0].token, nil)
	if !strings.Contains(string(r.Body), fmt.Sprintf(`"unread":%d`, unread-1)) {
		t.Errorf("unread after reading: %s, want %d", r, unread-1)
	}
	// The notice itself: the reader sees when they read it, the sender how
	// many it went to (and, for one still held, how many it would reach).
	var view struct {
		ID         int64      `json:"id"`
		ReadAt     *time.Time `json:"read_at"`
		Recipients *int       `json:"recipients"`
	}
	r = s.call(t, "GET", fmt.Sprintf("/api/v1/notices/%d", id), reps[0].token, nil)
	e2eWant(t, r, http.StatusOK)
	r.decode(t, &view)
	if view.ID != id || view.ReadAt == nil || view.Recipients != nil {
		t.Errorf("the recipient's view after reading: %s", r)
	}
	for _, nid := range []int64{id, held} {
		view.Recipients = nil
		r = s.call(t, "GET", fmt.Sprintf("/api/v1/notices/%d", nid), env.staff, nil)
		e2eWant(t, r, http.StatusOK)
		r.decode(t, &view)
		if view.Recipients == nil || *view.Recipients != len(reps) {
			t.Errorf("the sender's view of notice %d: %s; want %d recipients", nid, r, len(reps))
		}
	}
	rep = ntGetReport(t, s, env.staff, id)
	if rep.Read != 1 {
		t.Errorf("report says %d read, want 1", rep.Read)
	}
	// Someone not among the recipients cannot read or report it.
	outsider := s.wechatLogin(t, e2eCode("nt-outsider")).AccessToken
	e2eWantError(t, s.call(t, "GET", fmt.Sprintf("/api/v1/notices/%d", id), outsider, nil), http.StatusNotFound, "notice_not_found")
	e2eWantError(t, s.call(t, "POST", fmt.Sprintf("/api/v1/notices/%d/read", id), outsider, nil), http.StatusNotFound, "notice_not_found")
	e2eWantError(t, s.call(t, "GET", fmt.Sprintf("/api/v1/notices/%d/report", id), reps[0].token, nil), http.StatusNotFound, "notice_not_found")

	// An attached image: its recipients may see it, nobody else; another
	// file's key through this notice is not found.
	img, other := env.uploadPhoto(t, env.staff, "notice_image"), env.uploadPhoto(t, env.staff, "notice_image")
	r = s.call(t, "POST", "/api/v1/notices", env.staff, map[string]any{"targets": yard, "title": "电梯施工示意图", "body": "见附图。", "images": []string{img}})
	e2eWant(t, r, http.StatusCreated)
	var withImage struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &withImage)
	ntSend(t, s, env.staff, withImage.ID)
	r = s.call(t, "GET", fmt.Sprintf("/api/v1/notices/%d/images/%s", withImage.ID, img), reps[0].token, nil)
	e2eWant(t, r, http.StatusOK)
	if !strings.HasPrefix(string(r.Body), "\x89PNG") {
		t.Errorf("notice image is not the PNG uploaded (%d bytes)", len(r.Body))
	}
	e2eWantError(t, s.call(t, "GET", fmt.Sprintf("/api/v1/notices/%d/images/%s", withImage.ID, other), reps[0].token, nil), http.StatusNotFound, "file_not_found")
	e2eWantError(t, s.call(t, "GET", fmt.Sprintf("/api/v1/notices/%d/images/%s", withImage.ID, img), outsider, nil), http.StatusNotFound, "notice_not_found")
	e2eWantError(t, s.call(t, "GET", "/api/v1/files/"+img, reps[0].token, nil), http.StatusNotFound, "file_not_found")
	e2eWantError(t, s.call(t, "POST", "/api/v1/notices", env.staff, map[string]any{"targets": yard, "title": "t", "body": "b", "images": []string{"notice_image-nope.png"}}),
		http.StatusBadRequest, "image_not_found")

	// Staff approve the held notice; then it goes.
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/notices/%d/approve", held), env.staff, nil), http.StatusOK)
	if n := ntSend(t, s, env.staff, held); n != len(reps) {
		t.Fatalf("approved notice sent to %d", n)
	}
}

// ntBulk adds n bound representatives with one grant of template each
// straight into the database (setup, not under test) and returns their
// openids.
func ntBulk(t *testing.T, cfg *Config, fake *wechatfake.Server, n int, template string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, cfg.Database.DSN, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var unit struct {
		ID         int64
		BuildingID int64
	}
	if err := db.Raw("SELECT id, building_id FROM units ORDER BY id LIMIT 1").Scan(&unit).Error; err != nil || unit.ID == 0 {
		t.Fatalf("find a unit: %v", err)
	}
	now := time.Now().UTC()
	openids := make([]string, n)
	for i := range n {
		openids[i] = fake.User(fmt.Sprintf("bulk%d-%s", i, template)).OpenID
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if err := db.Exec(q, args...).Error; err != nil {
			t.Fatalf("%s: %v", q[:40], err)
		}
	}
	for start := 0; start < n; start += 500 {
		end := min(start+500, n)
		var us, hs []string
		var uargs, hargs []any
		for i := start; i < end; i++ {
			us = append(us, "(?, ?, ?)")
			uargs = append(uargs, openids[i], fmt.Sprintf("住户%d", i), now)
			hs = append(hs, "(1, ?, ?, ?, 1, 50.00, ?, ?)")
			hargs = append(hargs, unit.BuildingID, unit.ID, fmt.Sprintf("B%s-%d", template, i), now, now)
		}
		exec("INSERT INTO users (openid, real_name, created_at) VALUES "+strings.Join(us, ", "), uargs...)
		exec("INSERT INTO households (courtyard_id, building_id, unit_id, room, floor, area, created_at, updated_at) VALUES "+strings.Join(hs, ", "), hargs...)
	}
	exec(`INSERT INTO memberships (user_id, household_id, role, representative, via, created_at)
SELECT u.id, h.id, 'owner', 1, 'invite', ? FROM users u JOIN households h ON h.room = CONCAT('B', ?, '-', SUBSTRING(u.real_name, 3))
WHERE u.real_name LIKE '住户%'`, now, template)
	exec(`INSERT INTO subscriptions (user_id, template_id, remaining, last_result, updated_at)
SELECT u.id, ?, 1, 'accept', ? FROM users u WHERE u.real_name LIKE '住户%'`, template, now)
	var count int64
	if err := db.Raw("SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.real_name LIKE '住户%'").Scan(&count).Error; err != nil || count != int64(n) {
		t.Fatalf("bulk memberships: %d (%v), want %d", count, err, n)
	}
	return openids
}

// TestNoticeCrashSafety stops the server in the middle of a 2,000-recipient
// notice and starts it again, then runs two instances at once on a second
// notice: every recipient gets exactly one message each time, and the two
// instances together keep to the one rate limit.
func TestNoticeCrashSafety(t *testing.T) {
	cfg, tmpl := ntConfig(t)
	cfg.Notices.RatePerSecond = 400
	fake := ntFake(t)
	s := e2eStart(t, cfg)
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	const n = 2000
	openids := ntBulk(t, cfg, fake, n, tmpl)
	fake.SetLatency("/cgi-bin/message/subscribe/send", 20*time.Millisecond)
	t.Cleanup(func() { fake.SetLatency("/cgi-bin/message/subscribe/send", 0) })
	yard := []map[string]any{{"scope_type": "courtyard", "scope_id": 1}}

	id, _ := ntCreate(t, s, staff, yard, "电梯加装说明会", "本周日下午三点在活动室召开电梯加装说明会。")
	if got := ntSend(t, s, staff, id); got < n {
		t.Fatalf("sent to %d, want at least %d", got, n)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	mid := sentOf(fake, tmpl)
	if len(mid) == 0 || len(mid) >= n {
		t.Fatalf("%d of %d delivered when the server stopped; the test wants it stopped midway", len(mid), n)
	}
	t.Logf("%d of %d delivered before the stop", len(mid), n)

	// Restart: the sweeper finds what was left and finishes it.
	s = e2eStart(t, cfg)
	staff = s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	ntWait(t, s, staff, id, 60*time.Second, func(r ntReport) bool { return r.States[notice.StateSent] == n })
	got := sentOf(fake, tmpl)
	for _, o := range openids {
		if got[o] != 1 {
			t.Fatalf("recipient %s got %d messages, want exactly 1", o, got[o])
		}
	}

	// A worker that died mid-send leaves its delivery in doubt: it is
	// settled as failed, never sent again.
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, cfg.Database.DSN, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var doubtful []int64
	if err := db.Raw("SELECT id FROM notice_deliveries WHERE notice_id = ? AND state = 'sent' ORDER BY id LIMIT 3", id).Scan(&doubtful).Error; err != nil || len(doubtful) != 3 {
		t.Fatalf("pick deliveries: %v", err)
	}
	if err := db.Exec("UPDATE notice_deliveries SET state = 'sending', lease_until = ? WHERE id IN ?", time.Now().UTC().Add(-time.Minute), doubtful).Error; err != nil {
		t.Fatal(err)
	}

	// Two instances on one notice: one message each, one rate limit.
	if err := db.Exec("UPDATE subscriptions SET remaining = 1 WHERE template_id = ?", tmpl).Error; err != nil {
		t.Fatal(err)
	}
	cfg2 := *cfg
	cfg2.Notices.RatePerSecond = 200
	cfg.Notices.RatePerSecond = 200
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	a := e2eStart(t, cfg)
	b := e2eStart(t, &cfg2)
	staff = a.staffLogin(t, demoStaffUser, a.demoPassword()).AccessToken
	id2, _ := ntCreate(t, a, staff, yard, "第二次通知", "两台服务器同时发送。")
	start := time.Now()
	ntSend(t, b, staff, id2)
	ntWait(t, a, staff, id2, 60*time.Second, func(r ntReport) bool { return r.States[notice.StateSent] == n })
	elapsed := time.Since(start)
	rep := ntGetReport(t, a, staff, id)
	if rep.States[notice.StateFailed] != 3 || rep.States[notice.StateSent] != n-3 {
		t.Errorf("deliveries left in doubt by a dead worker: states %v, want 3 failed (never resent)", rep.States)
	}
	// (A resend of those three would show below as a second message.)
	perSecond := map[int64]int{}
	twice := 0
	seen := map[string]int{}
	for _, m := range fake.Sent() {
		if m.TemplateID == tmpl && !m.SentAt.Before(start) {
			perSecond[m.SentAt.Unix()]++
			seen[m.ToUser]++
		}
	}
	for _, c := range seen {
		if c > 1 {
			twice++
		}
	}
	if len(seen) != n || twice != 0 {
		t.Fatalf("second notice: %d recipients reached, %d twice; want %d once each", len(seen), twice, n)
	}
	var secs []int64
	for sec := range perSecond {
		secs = append(secs, sec)
	}
	sort.Slice(secs, func(i, j int) bool { return secs[i] < secs[j] })
	for _, sec := range secs {
		// The pacer spaces the sends' starts 5 ms apart on Redis's clock;
		// the fake stamps on arrival, some milliseconds later and with the
		// scheduling jitter of a loaded machine: allow a tenth of spill.
		if perSecond[sec] > 200+20 {
			t.Errorf("%d messages in second %d: the global limit is 200/s", perSecond[sec], sec)
		}
	}
	if min := time.Duration(n/200-1) * time.Second; elapsed < min {
		t.Errorf("2000 messages at 200/s took %s, less than %s: the instances did not share the limit", elapsed, min)
	}
	t.Logf("two instances: %d messages in %s", n, elapsed.Round(time.Millisecond))
	// Every delivery's state change, the abandoned ones included, is in
	// intact audit chains.
	e2eRunEnv(t, cfg, false)
	if out, err := e2eRun("audit", "verify"); err != nil || !strings.Contains(out, "audit log intact") {
		t.Fatalf("audit verify after the deliveries: %v %q", err, out)
	}
	var audited int64
	if err := db.Raw("SELECT COUNT(*) FROM audit_log WHERE action = 'delivery.failed' AND detail LIKE ?", "%服务中断%").Scan(&audited).Error; err != nil || audited != 3 {
		t.Errorf("%d audit entries for the deliveries abandoned mid-send (%v), want 3", audited, err)
	}
}

// TestNoticeReminder: opening a motion notifies every household of the
// electorate; the reminder before the close reaches exactly the households
// that have not voted; a delegation tells its proxy.
func TestNoticeReminder(t *testing.T) {
	cfg, _ := ntConfig(t)
	const closeIn = 20 * time.Second
	cfg.Notices.ReminderBefore = time.Hour // due halfway, ten seconds after opening
	cfg.Scheduler.Interval = 300 * time.Millisecond
	delete(cfg.Notices.Templates, notice.KindDelegationReceived) // inbox only
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)
	m := env.openMotion(t, map[string]any{"rule": "ordinary"}, closeIn)
	opened := time.Now()
	voted := map[int64]bool{}
	for i, rep := range env.reps {
		if i%3 != 0 {
			continue
		}
		e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/ballots", m.ID), rep.token, map[string]any{"household_id": rep.householdID, "options": []string{"agree"}}),
			http.StatusCreated)
		voted[rep.userID] = true
	}
	// A household whose proxy voted for it has voted too.
	rep, proxy := env.reps[1], env.reps[2]
	r := s.call(t, "POST", "/api/v1/delegations", rep.token, map[string]any{"household_id": rep.householdID, "proxy_user_id": proxy.userID, "motion_id": m.ID})
	e2eWant(t, r, http.StatusCreated)
	var d struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &d)
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/accept", d.ID), proxy.token, map[string]any{"accept": true}), http.StatusOK)
	r = s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/proxy-ballots", m.ID), proxy.token, map[string]any{"household_ids": []int64{rep.householdID}, "options": []string{"oppose"}})
	e2eWant(t, r, http.StatusOK)
	voted[rep.userID] = true
	if time.Since(opened) > 9*time.Second {
		t.Fatalf("voting took %s; the reminder may have gone before it ended", time.Since(opened))
	}

	find := func(kind string) int64 {
		var out struct {
			Notices []struct {
				ID   int64  `json:"id"`
				Kind string `json:"kind"`
			} `json:"notices"`
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			r := s.call(t, "GET", fmt.Sprintf("/api/v1/courtyards/%d/notices", env.yard), env.staff, nil)
			e2eWant(t, r, http.StatusOK)
			r.decode(t, &out)
			for _, n := range out.Notices {
				if n.Kind == kind {
					return n.ID
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s notice: %s", kind, r)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	recipients := func(id int64) map[int64]bool {
		out := map[int64]bool{}
		for _, rd := range ntGetReport(t, s, env.staff, id).Readers {
			out[rd.UserID] = true
		}
		return out
	}
	if got := recipients(find(notice.KindMotionOpened)); len(got) != len(env.reps) {
		t.Errorf("motion opened told %d households' representatives, want all %d", len(got), len(env.reps))
	}
	received := find(notice.KindDelegationReceived)
	if got := recipients(received); len(got) != 1 || !got[proxy.userID] {
		t.Errorf("delegation received went to %v, want the proxy %d", got, proxy.userID)
	}
	// A kind without a template is inbox-only: skipped at once, never queued.
	if st := ntGetReport(t, s, env.staff, received).States; st[notice.StateSkipped] != 1 || len(st) != 1 {
		t.Errorf("delivery of a kind without a template: %v, want skipped", st)
	}
	got := recipients(find(notice.KindMotionReminder))
	for _, rp := range env.reps {
		if got[rp.userID] == voted[rp.userID] {
			t.Errorf("representative %d (voted %v) reminded: %v", rp.userID, voted[rp.userID], got[rp.userID])
		}
	}
	if len(got) != len(env.reps)-len(voted) {
		t.Errorf("reminder reached %d, want %d", len(got), len(env.reps)-len(voted))
	}
	// A petition closed by staff tells exactly the households that signed.
	pt := env.createPetition(t, map[string]any{"title": "更换单元门禁"})
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/petitions/%d/publish", pt.ID), env.staff, nil), http.StatusOK)
	signers := map[int64]bool{}
	for _, rp := range env.reps[:5] {
		e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/petitions/%d/signatures", pt.ID), rp.token, map[string]any{"household_id": rp.householdID, "real_name": "签名人"}),
			http.StatusCreated)
		signers[rp.userID] = true
	}
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/petitions/%d/close", pt.ID), env.staff, nil), http.StatusOK)
	if got := recipients(find(notice.KindPetitionClosed)); len(got) != len(signers) {
		t.Errorf("petition closed told %v, want the %d signers %v", got, len(signers), signers)
	} else {
		for u := range got {
			if !signers[u] {
				t.Errorf("petition closed told %d, who did not sign", u)
			}
		}
	}

	// The scheduler keeps ticking: still one reminder.
	time.Sleep(time.Second)
	r = s.call(t, "GET", fmt.Sprintf("/api/v1/courtyards/%d/notices", env.yard), env.staff, nil)
	if n := strings.Count(string(r.Body), `"kind":"motion_reminder"`); n != 1 {
		t.Errorf("%d reminders for one motion", n)
	}
}
