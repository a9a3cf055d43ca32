package wechat

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/wechat/wechatfake"
)

func TestCode2Session(t *testing.T) {
	env := setup(t)
	c := env.client(0)
	ctx := context.Background()

	s1, err := c.Code2Session(ctx, "alice.1")
	if err != nil {
		t.Fatalf("Code2Session: %v", err)
	}
	alice := fake.User("alice")
	if s1.OpenID != alice.OpenID || s1.UnionID != alice.UnionID {
		t.Errorf("session = %+v; want openid %q unionid %q", s1, alice.OpenID, alice.UnionID)
	}
	if key, err := base64.StdEncoding.DecodeString(s1.SessionKey); err != nil || len(key) != 16 {
		t.Errorf("session key %q is not base64 of 16 bytes (%v)", s1.SessionKey, err)
	}

	s2, err := c.Code2Session(ctx, "alice.2")
	if err != nil {
		t.Fatalf("second Code2Session: %v", err)
	}
	if s2.OpenID != s1.OpenID || s2.SessionKey == s1.SessionKey {
		t.Errorf("second login: openid %q (want %q), session key repeated: %v", s2.OpenID, s1.OpenID, s2.SessionKey == s1.SessionKey)
	}

	fake.SetUser("bob", wechatfake.User{OpenID: "o_scripted_bob_0000000000000", UnionID: "u-bob"})
	s3, err := c.Code2Session(ctx, "bob")
	if err != nil {
		t.Fatalf("scripted Code2Session: %v", err)
	}
	if s3.OpenID != "o_scripted_bob_0000000000000" || s3.UnionID != "u-bob" {
		t.Errorf("scripted session = %+v", s3)
	}
}

func TestCode2SessionErrors(t *testing.T) {
	env := setup(t)
	c := env.client(0)
	ctx := context.Background()

	if _, err := c.Code2Session(ctx, "carol.x"); err != nil {
		t.Fatalf("first use: %v", err)
	}
	fake.FailNext(wechatfake.PathCode2Session, CodeRateLimited, 1)
	fake.FailNext(wechatfake.PathCode2Session, CodeBusy, 1)

	for _, tc := range []struct {
		code string
		want int
	}{
		{"dave", CodeRateLimited}, // scripted answers come first
		{"dave", CodeBusy},
		{"carol.x", CodeCodeUsed},
		{"bad!code", CodeInvalidCode},
		{".nohandle", CodeInvalidCode},
		{"a&secret=x", CodeInvalidCode}, // escaped, so it cannot smuggle parameters
		{"", CodeInvalidCode},
	} {
		_, err := c.Code2Session(ctx, tc.code)
		if got := ErrCode(err); got != tc.want {
			t.Errorf("Code2Session(%q): errcode %d (%v); want %d", tc.code, got, err, tc.want)
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			t.Errorf("Code2Session(%q): %T is not an *APIError", tc.code, err)
		}
	}
	// The scripted failures did not use the code up.
	if _, err := c.Code2Session(ctx, "dave"); err != nil {
		t.Errorf("dave after scripted failures: %v", err)
	}
}

func TestPhoneNumber(t *testing.T) {
	env := setup(t)
	c := env.client(0)
	ctx := context.Background()

	phone, err := c.PhoneNumber(ctx, "erin.p1")
	if err != nil {
		t.Fatalf("PhoneNumber: %v", err)
	}
	if want := fake.User("erin").Phone; phone != want {
		t.Errorf("phone = %q; want %q", phone, want)
	}
	if len(phone) != 11 || !strings.HasPrefix(phone, "13") && !strings.HasPrefix(phone, "15") && !strings.HasPrefix(phone, "18") {
		t.Errorf("phone %q is not a plausible mainland number", phone)
	}
	if _, err := c.PhoneNumber(ctx, "erin.p1"); ErrCode(err) != CodeCodeUsed {
		t.Errorf("reused phone code: %v; want errcode %d", err, CodeCodeUsed)
	}

	fake.SetUser("frank", wechatfake.User{Phone: "13800001234"})
	if phone, err := c.PhoneNumber(ctx, "frank"); err != nil || phone != "13800001234" {
		t.Errorf("scripted phone = %q, %v", phone, err)
	}
	if got := maskPhone("13800001234"); got != "138****1234" {
		t.Errorf("maskPhone = %q", got)
	}
}

// TestTokenSharedAcrossInstances is two server instances sharing one Redis:
// under a burst of concurrent calls WeChat must see exactly one token fetch.
func TestTokenSharedAcrossInstances(t *testing.T) {
	env := setup(t)
	clients := []*Client{env.client(0), env.client(0)}
	ctx := context.Background()

	const n = 50
	tokens := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c := clients[i%2]
			if i%3 == 0 {
				_, errs[i] = c.PhoneNumber(ctx, fmt.Sprintf("user%d.phone", i))
				return
			}
			tokens[i], errs[i] = c.AccessToken(ctx)
		}()
	}
	close(start)
	wg.Wait()

	var first string
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
		if tokens[i] == "" {
			continue
		}
		if first == "" {
			first = tokens[i]
		} else if tokens[i] != first {
			t.Errorf("goroutine %d got a different token", i)
		}
	}
	if got := fake.TokensIssued(); got != 1 {
		t.Errorf("TokensIssued = %d; want 1", got)
	}
	if got := fake.Calls(wechatfake.PathStableToken); got != 1 {
		t.Errorf("stable_token calls = %d; want 1", got)
	}
	ttl, err := env.rdb.TTL(ctx, clients[0].tokens.tokenKey).Result()
	if err != nil || ttl <= 0 || ttl > wechatfake.DefaultTokenTTL-tokenCacheMargin {
		t.Errorf("token TTL in Redis = %v, %v; want (0, expires_in - %v]", ttl, err, tokenCacheMargin)
	}
	if n, _ := env.rdb.Exists(ctx, clients[0].tokens.lockKey).Result(); n != 0 {
		t.Errorf("fetch lock still held after the burst")
	}
}

// TestRejectedTokenRefreshedOnce: after WeChat expires or revokes every
// token, a burst of calls on two instances refreshes the token exactly once
// and every call succeeds.
func TestRejectedTokenRefreshedOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reject func()
	}{
		{"expired", fake.ExpireTokens},
		{"revoked", fake.RevokeTokens},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := setup(t)
			clients := []*Client{env.client(0), env.client(0)}
			ctx := context.Background()
			before, err := clients[0].AccessToken(ctx)
			if err != nil {
				t.Fatalf("AccessToken: %v", err)
			}
			tc.reject()

			var wg sync.WaitGroup
			errs := make([]error, 20)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = clients[i%2].PhoneNumber(ctx, fmt.Sprintf("gina.%d", i))
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("call %d: %v", i, err)
				}
			}
			if got := fake.TokensIssued(); got != 2 {
				t.Errorf("TokensIssued = %d; want 2 (one refresh)", got)
			}
			after, err := clients[1].AccessToken(ctx)
			if err != nil || after == before {
				t.Errorf("token after refresh = %v (same as before: %v)", err, after == before)
			}
		})
	}
}

func TestRejectedTokenRetriedOnlyOnce(t *testing.T) {
	env := setup(t)
	c := env.client(0)
	ctx := context.Background()
	fake.FailNext(wechatfake.PathPhoneNumber, CodeInvalidToken, 2)

	_, err := c.PhoneNumber(ctx, "hank")
	if ErrCode(err) != CodeInvalidToken {
		t.Fatalf("PhoneNumber: %v; want errcode %d", err, CodeInvalidToken)
	}
	if got := fake.Calls(wechatfake.PathPhoneNumber); got != 2 {
		t.Errorf("getuserphonenumber calls = %d; want 2 (one retry)", got)
	}
	if got := fake.TokensIssued(); got != 2 {
		t.Errorf("TokensIssued = %d; want 2", got)
	}
}

// TestWaiterPollsForToken: while another instance holds the fetch lock, a
// caller waits for the token it stores instead of fetching its own, and
// gives up when its context ends.
func TestWaiterPollsForToken(t *testing.T) {
	env := setup(t)
	c := env.client(0)
	ctx := context.Background()
	if err := env.rdb.Set(ctx, c.tokens.lockKey, "another-instance", 10*time.Second).Err(); err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.AccessToken(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AccessToken with the lock held elsewhere: %v; want deadline exceeded", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("gave up after %v", elapsed)
	}

	go func() {
		time.Sleep(100 * time.Millisecond)
		env.rdb.Set(ctx, c.tokens.tokenKey, "stored-by-holder", time.Minute)
	}()
	token, err := c.AccessToken(ctx)
	if err != nil || token != "stored-by-holder" {
		t.Errorf("AccessToken = %q, %v; want the holder's token", token, err)
	}
	if got := fake.TokensIssued(); got != 0 {
		t.Errorf("TokensIssued = %d; want 0", got)
	}
	if v, _ := env.rdb.Get(ctx, c.tokens.lockKey).Result(); v != "another-instance" {
		t.Errorf("waiter touched the holder's lock: %q", v)
	}
}

func TestMsgSecCheck(t *testing.T) {
	env := setup(t)
	c := env.client(0)
	ctx := context.Background()
	fake.SetRiskyWords("违禁词")
	fake.SetReviewWords("加微信")
	openID := fake.User("ivy").OpenID

	for _, tc := range []struct {
		content string
		suggest string
		label   int
	}{
		{"下周三晚上开业主大会", SuggestPass, 100},
		{"这里有违禁词", SuggestRisky, 20001},
		{"优惠请加微信", SuggestReview, 10001},
	} {
		res, err := c.MsgSecCheck(ctx, openID, SceneForum, tc.content)
		if err != nil {
			t.Errorf("MsgSecCheck(%q): %v", tc.content, err)
			continue
		}
		if res.Suggest != tc.suggest || res.Label != tc.label || res.TraceID == "" {
			t.Errorf("MsgSecCheck(%q) = %+v; want %s/%d with a trace id", tc.content, res, tc.suggest, tc.label)
		}
	}
	if _, err := c.MsgSecCheck(ctx, "not-an-openid", SceneForum, "hi"); ErrCode(err) != CodeInvalidOpenID {
		t.Errorf("bad openid: %v; want errcode %d", err, CodeInvalidOpenID)
	}
	if _, err := c.MsgSecCheck(ctx, openID, 9, "hi"); err == nil {
		t.Errorf("scene 9 accepted")
	}
}

func TestSendSubscribe(t *testing.T) {
	env := setup(t)
	c := env.client(0)
	ctx := context.Background()
	openID := fake.User("jack").OpenID
	msg := SubscribeMessage{
		ToUser:     openID,
		TemplateID: "tmpl-vote",
		Page:       "pages/vote/detail?id=7",
		Data:       map[string]string{"thing1": "停车位改造表决", "time2": "2025-06-01 20:00"},
	}

	msgID, err := c.SendSubscribe(ctx, msg)
	if err != nil {
		t.Fatalf("SendSubscribe: %v", err)
	}
	sent := fake.Sent()
	if len(sent) != 1 || sent[0].MsgID != msgID || msgID == 0 || sent[0].Data["thing1"] != "停车位改造表决" || sent[0].Page != msg.Page || sent[0].TemplateID != "tmpl-vote" {
		t.Errorf("msgid %d; fake recorded %+v", msgID, sent)
	}

	fake.SetSubscribeResult(openID, CodeUserRefused)
	if _, err := c.SendSubscribe(ctx, msg); ErrCode(err) != CodeUserRefused {
		t.Errorf("scripted refusal: %v; want errcode %d", err, CodeUserRefused)
	}
	if _, err := c.SendSubscribe(ctx, msg); err != nil {
		t.Errorf("after the scripted refusal: %v", err)
	}
	if got := fake.SentTo(openID); got != 2 {
		t.Errorf("SentTo = %d; want 2", got)
	}

	bad := msg
	bad.Data = map[string]string{"thing1": ""}
	if _, err := c.SendSubscribe(ctx, bad); ErrCode(err) != CodeArgumentInvalid {
		t.Errorf("empty value: %v; want errcode %d", err, CodeArgumentInvalid)
	}
}

// TestTimeout: a WeChat answer slower than Config.Timeout fails fast, and
// the error names no secret even though the SDK puts the URL in it.
func TestTimeout(t *testing.T) {
	env := setup(t)
	c := env.client(200 * time.Millisecond)
	fake.SetLatency(wechatfake.PathCode2Session, 3*time.Second)

	start := time.Now()
	_, err := c.Code2Session(context.Background(), "kate")
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Code2Session: %v; want deadline exceeded", err)
	}
	if elapsed > time.Second {
		t.Errorf("took %v with a 200ms timeout", elapsed)
	}
	if msg := err.Error(); strings.Contains(msg, fake.AppSecret()) || strings.Contains(msg, "kate") {
		t.Errorf("error leaks the secret or the code: %s", msg)
	}
}

func TestCircuitBreaker(t *testing.T) {
	env := setup(t)
	c := env.client(100 * time.Millisecond)
	ctx := context.Background()

	// Business errors show WeChat is up: they never open the breaker.
	for i := range breakerTripAfter + 2 {
		if _, err := c.Code2Session(ctx, "bad!"+fmt.Sprint(i)); ErrCode(err) != CodeInvalidCode {
			t.Fatalf("call %d: %v", i, err)
		}
	}

	fake.SetLatency(wechatfake.PathCode2Session, time.Second)
	for i := range breakerTripAfter {
		if _, err := c.Code2Session(ctx, "leo"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("slow call %d: %v", i, err)
		}
	}
	calls := fake.Calls(wechatfake.PathCode2Session)
	if _, err := c.Code2Session(ctx, "leo"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("after %d timeouts: %v; want ErrUnavailable", breakerTripAfter, err)
	}
	if got := fake.Calls(wechatfake.PathCode2Session); got != calls {
		t.Errorf("open breaker still called WeChat (%d → %d calls)", calls, got)
	}
}

func TestNewRejectsAnotherBaseURL(t *testing.T) {
	env := setup(t)
	_, err := New(Config{AppID: "wx1", AppSecret: "s", BaseURL: "http://127.0.0.1:1"}, env.rdb, nil)
	if err == nil {
		t.Errorf("New accepted a second BaseURL in one process")
	}
	if _, err := New(Config{AppID: "wx1", AppSecret: "s", BaseURL: fakeURL + "/"}, env.rdb, nil); err != nil {
		t.Errorf("New with the same BaseURL: %v", err)
	}
}

func TestRedact(t *testing.T) {
	err := redact(errors.New(`Get "https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=s3cr3t&js_code=abc&grant_type=authorization_code": EOF`))
	for _, leak := range []string{"s3cr3t", "abc&"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("redacted error still has %q: %v", leak, err)
		}
	}
	err = redact(fmt.Errorf("post ?access_token=tok123: %w", context.Canceled))
	if strings.Contains(err.Error(), "tok123") || !errors.Is(err, context.Canceled) {
		t.Errorf("redact(access_token) = %v", err)
	}
}
