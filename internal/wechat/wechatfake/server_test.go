package wechatfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// answer is a decoded WeChat answer.
type answer map[string]any

func (a answer) errcode() int {
	n, _ := a["errcode"].(float64)
	return int(n)
}

func (a answer) str(key string) string {
	s, _ := a[key].(string)
	return s
}

// wire talks to one fake over real HTTP, as WeChat clients do.
type wire struct {
	t    *testing.T
	fake *Server
	url  string
}

func newWire(t *testing.T, opts ...Option) *wire {
	t.Helper()
	fake := New(opts...)
	srv := httptest.NewServer(fake.Handler())
	t.Cleanup(srv.Close)
	return &wire{t: t, fake: fake, url: srv.URL}
}

func (w *wire) do(method, path string, query url.Values, body string) answer {
	w.t.Helper()
	u := w.url + path
	if query != nil {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		w.t.Fatalf("%s %s: HTTP %d", method, path, res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		w.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		w.t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, raw, err)
	}
	return a
}

func (w *wire) post(path, token string, body any) answer {
	w.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.do(http.MethodPost, path, url.Values{"access_token": {token}}, string(b))
}

func (w *wire) login(code string) answer {
	w.t.Helper()
	return w.do(http.MethodGet, PathCode2Session, url.Values{
		"appid": {DefaultAppID}, "secret": {DefaultAppSecret}, "js_code": {code}, "grant_type": {"authorization_code"},
	}, "")
}

func (w *wire) stableToken(force bool) answer {
	w.t.Helper()
	body := fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q,"force_refresh":%v}`, DefaultAppID, DefaultAppSecret, force)
	return w.do(http.MethodPost, PathStableToken, nil, body)
}

func (w *wire) token() string {
	w.t.Helper()
	a := w.stableToken(false)
	if a.str("access_token") == "" {
		w.t.Fatalf("stable_token: %v", a)
	}
	return a.str("access_token")
}

func expectErr(t *testing.T, what string, a answer, want int) {
	t.Helper()
	if a.errcode() != want {
		t.Errorf("%s: answer %v; want errcode %d", what, a, want)
	}
	if want != 0 && !strings.Contains(a.str("errmsg"), "rid: ") {
		t.Errorf("%s: errmsg %q lacks WeChat's rid", what, a.str("errmsg"))
	}
}

func TestAppCredentials(t *testing.T) {
	w := newWire(t)
	for _, tc := range []struct {
		appid, secret, grant string
		want                 int
	}{
		{DefaultAppID, DefaultAppSecret, "client_credential", 0},
		{"", DefaultAppSecret, "client_credential", 41002},
		{"wxother", DefaultAppSecret, "client_credential", 40013},
		{DefaultAppID, "", "client_credential", 41004},
		{DefaultAppID, "wrong", "client_credential", 40125},
		{DefaultAppID, DefaultAppSecret, "password", 40002},
	} {
		a := w.do(http.MethodGet, PathToken, url.Values{"appid": {tc.appid}, "secret": {tc.secret}, "grant_type": {tc.grant}}, "")
		expectErr(t, fmt.Sprintf("token %+v", tc), a, tc.want)
		if tc.want == 0 && (a.str("access_token") == "" || a["expires_in"] != float64(7200) || a["errcode"] != nil) {
			t.Errorf("token answer %v; want access_token and expires_in 7200 only", a)
		}
	}
	expectErr(t, "POST to a GET API", w.do(http.MethodPost, PathToken, nil, ""), 43001)
	expectErr(t, "GET to a POST API", w.do(http.MethodGet, PathStableToken, nil, ""), 43002)
	expectErr(t, "empty body", w.do(http.MethodPost, PathStableToken, nil, ""), 44002)
	expectErr(t, "bad JSON", w.do(http.MethodPost, PathStableToken, nil, "{"), 47001)
}

func TestStableTokenModes(t *testing.T) {
	now := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	w := newWire(t, WithClock(clock))

	first := w.stableToken(false)
	advance(time.Hour)
	again := w.stableToken(false)
	if again.str("access_token") != first.str("access_token") || again["expires_in"] != float64(3600) {
		t.Errorf("normal mode within validity: %v after %v; want the same token with 3600s left", again, first)
	}

	// In the last five minutes a new token comes; the old one still works.
	advance(56 * time.Minute)
	renewed := w.stableToken(false)
	if renewed.str("access_token") == first.str("access_token") || renewed["expires_in"] != float64(7200) {
		t.Errorf("normal mode near expiry: %v; want a new token", renewed)
	}
	expectErr(t, "old token during overlap", w.post(PathPhoneNumber, first.str("access_token"), map[string]string{"code": "a"}), 0)
	advance(5 * time.Minute)
	expectErr(t, "old token after overlap", w.post(PathPhoneNumber, first.str("access_token"), map[string]string{"code": "b"}), 42001)

	forced := w.stableToken(true)
	if forced.str("access_token") == renewed.str("access_token") {
		t.Errorf("force_refresh returned the same token")
	}
	expectErr(t, "token replaced by force_refresh", w.post(PathPhoneNumber, renewed.str("access_token"), map[string]string{"code": "c"}), 40001)
	if got := w.fake.TokensIssued(); got != 4 {
		t.Errorf("TokensIssued = %d; want 4 answers", got)
	}
}

func TestAccessTokenChecks(t *testing.T) {
	w := newWire(t)
	tok := w.token()
	expectErr(t, "missing token", w.post(PathPhoneNumber, "", map[string]string{"code": "a"}), 41001)
	expectErr(t, "unknown token", w.post(PathPhoneNumber, "nope", map[string]string{"code": "a"}), 40001)
	w.fake.ExpireTokens()
	expectErr(t, "expired token", w.post(PathPhoneNumber, tok, map[string]string{"code": "a"}), 42001)
	tok = w.token()
	if w.fake.TokensIssued() != 2 {
		t.Errorf("no new token after ExpireTokens")
	}
	w.fake.RevokeTokens()
	expectErr(t, "revoked token", w.post(PathPhoneNumber, tok, map[string]string{"code": "a"}), 40001)
}

func TestCode2Session(t *testing.T) {
	w := newWire(t)
	a := w.login("amy.1")
	expectErr(t, "login", a, 0)
	if a["errcode"] != nil {
		t.Errorf("successful login carries errcode: %v", a)
	}
	openID := a.str("openid")
	if openID != w.fake.User("amy").OpenID || len(openID) != 28 || !strings.HasPrefix(openID, "oFake") {
		t.Errorf("openid %q", openID)
	}
	if key, err := base64.StdEncoding.DecodeString(a.str("session_key")); err != nil || len(key) != 16 {
		t.Errorf("session_key %q", a.str("session_key"))
	}
	if b := w.login("amy.2"); b.str("openid") != openID || b.str("session_key") == a.str("session_key") {
		t.Errorf("second login of amy: %v", b)
	}
	if other := New(WithApp("wxanother", "s")).User("amy"); other.OpenID == openID {
		t.Errorf("openid does not depend on the app")
	}

	expectErr(t, "reused code", w.login("amy.1"), 40163)
	expectErr(t, "bad character", w.login("amy!"), 40029)
	expectErr(t, "empty handle", w.login(".x"), 40029)
	expectErr(t, "too long", w.login(strings.Repeat("a", 129)), 40029)
	expectErr(t, "missing code", w.login(""), 41008)

	w.fake.SetUser("ben", User{OpenID: "o_ben", UnionID: "u_ben"})
	if b := w.login("ben"); b.str("openid") != "o_ben" || b.str("unionid") != "u_ben" {
		t.Errorf("scripted user: %v", b)
	}
}

func TestKnownUsersOnly(t *testing.T) {
	w := newWire(t, WithKnownUsersOnly())
	w.fake.SetUser("cat", User{})
	expectErr(t, "known handle", w.login("cat.1"), 0)
	expectErr(t, "unknown handle", w.login("dog.1"), 40029)
}

func TestPhoneNumber(t *testing.T) {
	w := newWire(t)
	tok := w.token()
	a := w.post(PathPhoneNumber, tok, map[string]string{"code": "dan.phone"})
	expectErr(t, "phone", a, 0)
	info, _ := a["phone_info"].(map[string]any)
	want := w.fake.User("dan").Phone
	if info["purePhoneNumber"] != want || info["phoneNumber"] != want || info["countryCode"] != "86" {
		t.Errorf("phone_info %v; want %s", info, want)
	}
	if wm, _ := info["watermark"].(map[string]any); wm["appid"] != DefaultAppID || wm["timestamp"] == nil {
		t.Errorf("watermark %v", info["watermark"])
	}
	expectErr(t, "reused phone code", w.post(PathPhoneNumber, tok, map[string]string{"code": "dan.phone"}), 40163)
	expectErr(t, "phone code reused as login code is fine", w.login("dan.phone"), 0)
	expectErr(t, "missing code", w.post(PathPhoneNumber, tok, map[string]string{}), 41008)
	expectErr(t, "bad JSON", w.do(http.MethodPost, PathPhoneNumber, url.Values{"access_token": {tok}}, "[1]"), 47001)

	for i := range 200 {
		phone := w.fake.User(fmt.Sprintf("u%d", i)).Phone
		if len(phone) != 11 || !(strings.HasPrefix(phone, "13") || strings.HasPrefix(phone, "15") || strings.HasPrefix(phone, "18")) {
			t.Fatalf("derived phone %q is not a plausible mainland number", phone)
		}
	}
}

func TestSubscribeSend(t *testing.T) {
	w := newWire(t, WithTemplates("tmpl-1"))
	tok := w.token()
	openID := w.fake.User("eve").OpenID
	msg := map[string]any{
		"touser":      openID,
		"template_id": "tmpl-1",
		"page":        "pages/index",
		"data":        map[string]any{"thing1": map[string]any{"value": "业主大会"}, "number2": map[string]any{"value": 3}},
		"lang":        "zh_CN",
	}
	a := w.post(PathSubscribeSend, tok, msg)
	expectErr(t, "send", a, 0)
	sent := w.fake.Sent()
	if len(sent) != 1 || float64(sent[0].MsgID) != a["msgid"] || sent[0].Data["thing1"] != "业主大会" || sent[0].Data["number2"] != "3" || sent[0].Page != "pages/index" {
		t.Errorf("answer %v, sent %+v", a, sent)
	}

	w.fake.SetSubscribeResult(openID, 43101, 0, 43101)
	expectErr(t, "scripted 1", w.post(PathSubscribeSend, tok, msg), 43101)
	expectErr(t, "scripted 2", w.post(PathSubscribeSend, tok, msg), 0)
	expectErr(t, "scripted 3", w.post(PathSubscribeSend, tok, msg), 43101)
	expectErr(t, "after the script", w.post(PathSubscribeSend, tok, msg), 0)
	if got := w.fake.SentTo(openID); got != 3 {
		t.Errorf("SentTo = %d; want 3", got)
	}

	for name, change := range map[string]func(m map[string]any) int{
		"bad openid":   func(m map[string]any) int { m["touser"] = "x"; return 40003 },
		"bad template": func(m map[string]any) int { m["template_id"] = "tmpl-2"; return 40037 },
		"empty value": func(m map[string]any) int {
			m["data"] = map[string]any{"thing1": map[string]any{"value": ""}}
			return 47003
		},
		"no data":   func(m map[string]any) int { delete(m, "data"); return 47003 },
		"bad state": func(m map[string]any) int { m["miniprogram_state"] = "beta"; return 47003 },
	} {
		m := map[string]any{}
		for k, v := range msg {
			m[k] = v
		}
		want := change(m)
		expectErr(t, name, w.post(PathSubscribeSend, tok, m), want)
	}
}

func TestMsgSecCheck(t *testing.T) {
	w := newWire(t)
	tok := w.token()
	w.fake.SetRiskyWords("bad")
	w.fake.SetReviewWords("ad")
	openID := w.fake.User("fay").OpenID

	for _, tc := range []struct {
		content, suggest string
		label            int
	}{
		{"hello", "pass", LabelNormal},
		{"a BAD word", "risky", LabelPolitics},
		{"an ad", "review", LabelAd},
	} {
		a := w.post(PathMsgSecCheck, tok, map[string]any{"content": tc.content, "version": 2, "scene": 2, "openid": openID})
		expectErr(t, tc.content, a, 0)
		res, _ := a["result"].(map[string]any)
		detail, _ := a["detail"].([]any)
		if res["suggest"] != tc.suggest || res["label"] != float64(tc.label) || a.str("trace_id") == "" || len(detail) == 0 {
			t.Errorf("%q: %v", tc.content, a)
		}
	}
	expectErr(t, "bad openid", w.post(PathMsgSecCheck, tok, map[string]any{"content": "x", "version": 2, "scene": 2, "openid": "x"}), 40003)
	expectErr(t, "bad scene", w.post(PathMsgSecCheck, tok, map[string]any{"content": "x", "version": 2, "scene": 7, "openid": openID}), 40097)
	expectErr(t, "v1 risky", w.post(PathMsgSecCheck, tok, map[string]any{"content": "bad"}), 87014)
	expectErr(t, "v1 pass", w.post(PathMsgSecCheck, tok, map[string]any{"content": "fine"}), 0)
}

func TestScripting(t *testing.T) {
	w := newWire(t)
	w.fake.FailNext(PathCode2Session, -1, 2)
	expectErr(t, "busy 1", w.login("gus.1"), -1)
	expectErr(t, "busy 2", w.login("gus.1"), -1)
	expectErr(t, "after the failures the code is still unused", w.login("gus.1"), 0)
	if got := w.fake.Calls(PathCode2Session); got != 3 {
		t.Errorf("Calls = %d; want 3", got)
	}

	w.fake.FailHTTPNext(PathCode2Session, http.StatusBadGateway, 1)
	res, err := http.Get(w.url + PathCode2Session)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Errorf("scripted HTTP failure answered %d", res.StatusCode)
	}

	w.fake.SetLatency(PathCode2Session, 200*time.Millisecond)
	start := time.Now()
	w.login("gus.2")
	if elapsed := time.Since(start); elapsed < 200*time.Millisecond {
		t.Errorf("answered after %v despite 200ms latency", elapsed)
	}

	w.fake.Reset()
	if w.fake.Calls(PathCode2Session) != 0 {
		t.Errorf("Reset kept the counters")
	}
	w.fake.SetLatency(PathCode2Session, 0)
	expectErr(t, "codes forgotten by Reset", w.login("gus.1"), 0)
}

// TestConcurrentCodes: under concurrency each code still works exactly once.
func TestConcurrentCodes(t *testing.T) {
	w := newWire(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := map[string]int{}
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := fmt.Sprintf("hal.%d", i%4) // four codes, ten tries each
			if w.login(code).errcode() == 0 {
				mu.Lock()
				ok[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i := range 4 {
		if code := fmt.Sprintf("hal.%d", i); ok[code] != 1 {
			t.Errorf("%s succeeded %d times; want once", code, ok[code])
		}
	}
}

func TestStartOnLoopback(t *testing.T) {
	fake := New()
	if _, err := fake.Start("0.0.0.0:0"); err == nil {
		t.Errorf("Start accepted a non-loopback address")
	}
	base, err := fake.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Start("127.0.0.1:0"); err == nil {
		t.Errorf("second Start accepted")
	}
	body := bytes.NewBufferString(fmt.Sprintf(`{"grant_type":"client_credential","appid":%q,"secret":%q}`, DefaultAppID, DefaultAppSecret))
	res, err := http.Post(base+PathStableToken, "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || fake.TokensIssued() != 1 {
		t.Errorf("stable_token on %s: HTTP %d, %d tokens", base, res.StatusCode, fake.TokensIssued())
	}
	fake.Close()
	if _, err := http.Get(base + PathToken); err == nil {
		t.Errorf("server still answers after Close")
	}
}
