package main

// Abuse: guessing limited per account and per IP (429, a Chinese message
// and Retry-After), sessions ended on every instance within the documented
// time, oversized bodies refused before they are read whole.

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/testenv"
)

// abWant429 checks a rate-limited answer: its code, a Chinese message and a
// Retry-After of whole seconds in the future.
func abWant429(t *testing.T, r e2eResponse, code string) {
	t.Helper()
	e2eWantError(t, r, http.StatusTooManyRequests, code)
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Errorf("%s: Retry-After %q, want whole seconds ≥ 1", r, r.Header.Get("Retry-After"))
	}
}

func TestAbuseGuessingLimits(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	cfg.Security.LoginsPerIPMin = 1000
	cfg.Security.InviteTriesPerUserHour = 4
	cfg.Security.InviteTriesPerIPHour = 10
	cfg.Security.ReceiptChecksPerUserHour = 5
	cfg.Security.ReceiptChecksPerIPHour = 12
	s := e2eStart(t, cfg)

	t.Run("invite_codes", func(t *testing.T) {
		a := s.wechatLogin(t, e2eCode("abguess1")).AccessToken
		for range 4 {
			e2eWantError(t, s.call(t, "POST", "/api/v1/me/households", a, map[string]string{"invite_code": "ACDE-FGHJ"}), http.StatusNotFound, "invite_code_unknown")
		}
		// The account's tries are spent, even for a right code.
		code := e2eDemoInvites(t, s.cfg.DataDir)[0].Code
		abWant429(t, s.call(t, "POST", "/api/v1/me/households", a, map[string]string{"invite_code": code}), "too_many_invite_tries")
		// Other accounts from the same IP go on until the IP's ten.
		b := s.wechatLogin(t, e2eCode("abguess2")).AccessToken
		c := s.wechatLogin(t, e2eCode("abguess3")).AccessToken
		for range 4 {
			e2eWantError(t, s.call(t, "POST", "/api/v1/me/households", b, map[string]string{"invite_code": "ACDE-FGHK"}), http.StatusNotFound, "invite_code_unknown")
		}
		// a's refused try counted for the IP too: 4 + 1 + 4 = 9.
		e2eWantError(t, s.call(t, "POST", "/api/v1/me/households", c, map[string]string{"invite_code": "ACDE-FGHL"}), http.StatusNotFound, "invite_code_unknown")
		abWant429(t, s.call(t, "POST", "/api/v1/me/households", c, map[string]string{"invite_code": code}), "too_many_invite_tries")
	})

	t.Run("receipts", func(t *testing.T) {
		a := s.wechatLogin(t, e2eCode("abreceipt1")).AccessToken
		for i := range 5 {
			e2eWantError(t, s.call(t, "GET", fmt.Sprintf("/api/v1/receipts/ABCDEFGHJK%02d", i), a, nil), http.StatusNotFound, "receipt_not_found")
		}
		abWant429(t, s.call(t, "GET", "/api/v1/receipts/ABCDEFGHJK99", a, nil), "too_many_receipt_checks")
		staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
		for i := range 5 {
			e2eWantError(t, s.call(t, "GET", fmt.Sprintf("/api/v1/receipts/ABCDEFGHKK%02d", i), staff, nil), http.StatusNotFound, "receipt_not_found")
		}
		// 5 + 1 + 5 from this IP; the twelfth is the last.
		b := s.wechatLogin(t, e2eCode("abreceipt2")).AccessToken
		e2eWantError(t, s.call(t, "GET", "/api/v1/receipts/ABCDEFGHMM01", b, nil), http.StatusNotFound, "receipt_not_found")
		abWant429(t, s.call(t, "GET", "/api/v1/receipts/ABCDEFGHMM02", b, nil), "too_many_receipt_checks")
	})

	t.Run("staff_lockout_says_when", func(t *testing.T) {
		for i := range 5 {
			e2eWantError(t, s.call(t, "POST", "/api/v1/auth/staff/login", "", map[string]string{"username": "abnobody", "password": fmt.Sprintf("wrong-%d-password", i)}),
				http.StatusUnauthorized, "wrong_password")
		}
		abWant429(t, s.call(t, "POST", "/api/v1/auth/staff/login", "", map[string]string{"username": "abnobody", "password": "wrong-9-password"}), "account_locked")
	})
}

func TestAbuseLoginsPerIP(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	cfg.Security.LoginsPerIPMin = 3
	s := e2eStart(t, cfg)
	for range 3 {
		s.wechatLogin(t, e2eCode("abip"))
	}
	abWant429(t, s.call(t, "POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": e2eCode("abip")}), "too_many_logins")
	// Staff logins have their own count per IP.
	for range 3 {
		s.staffLogin(t, demoStaffUser, s.demoPassword())
	}
	abWant429(t, s.call(t, "POST", "/api/v1/auth/staff/login", "", map[string]string{"username": demoStaffUser, "password": s.demoPassword()}), "too_many_logins")
}

// TestAbuseSessionsEndOnEveryInstance: two instances on one MariaDB and one
// Redis. A token in use (and so cached) on B stops working there within
// the documented 5 seconds of a logout on A; the session's refresh token is
// dead on both; access tokens expire on both.
func TestAbuseSessionsEndOnEveryInstance(t *testing.T) {
	dsn := testenv.MySQL(t)
	rds := testenv.Redis(t)
	sec := e2eNewSecrets(t)
	redisURL := "redis://" + testenv.RedisAddr()
	cfgA := e2eProductionConfig(t, dsn, redisURL, rds.Prefix, sec)
	cfgA.Security.AccessTTL = 4 * time.Second
	a := e2eStart(t, cfgA)
	cfgB := e2eProductionConfig(t, dsn, redisURL, rds.Prefix, sec)
	cfgB.Security.AccessTTL = 4 * time.Second
	b := e2eStart(t, cfgB)

	for _, who := range []string{"user", "staff"} {
		var tok e2eTokens
		if who == "user" {
			tok = a.wechatLogin(t, e2eCode("ablogout"))
		} else {
			tok = a.staffLogin(t, demoStaffUser, a.demoPassword())
		}
		b.me(t, tok.AccessToken) // B has resolved (and cached) it
		e2eWant(t, a.call(t, "POST", "/api/v1/auth/logout", tok.AccessToken, nil), http.StatusNoContent)
		loggedOut := time.Now()
		for {
			r := b.call(t, "GET", "/api/v1/me", tok.AccessToken, nil)
			if r.Status == http.StatusUnauthorized {
				break
			}
			if time.Since(loggedOut) > 5*time.Second+500*time.Millisecond {
				t.Fatalf("%s: instance B still serves a token logged out on A %v ago: %s", who, time.Since(loggedOut), r)
			}
			time.Sleep(200 * time.Millisecond)
		}
		e2eWantError(t, b.call(t, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}), http.StatusUnauthorized, "token_invalid")
	}

	// Expiry: a token in use on both instances stops at its expiry on both.
	tok := b.wechatLogin(t, e2eCode("abexpiry"))
	a.me(t, tok.AccessToken)
	b.me(t, tok.AccessToken)
	time.Sleep(time.Until(tok.AccessExpiresAt) + 100*time.Millisecond)
	e2eWantError(t, a.call(t, "GET", "/api/v1/me", tok.AccessToken, nil), http.StatusUnauthorized, "token_expired")
	e2eWantError(t, b.call(t, "GET", "/api/v1/me", tok.AccessToken, nil), http.StatusUnauthorized, "token_expired")
}

// abSlowBody sends size bytes in chunks, pausing between them, and counts
// what it has handed to the connection.
type abSlowBody struct {
	prefix []byte
	size   int64
	sent   atomic.Int64
	pause  time.Duration
}

func (b *abSlowBody) Read(p []byte) (int, error) {
	n := b.sent.Load()
	if n >= b.size {
		return 0, io.EOF
	}
	if n > 0 {
		time.Sleep(b.pause)
	}
	chunk := int64(16 << 10)
	if chunk > b.size-n {
		chunk = b.size - n
	}
	if chunk > int64(len(p)) {
		chunk = int64(len(p))
	}
	for i := range chunk {
		if off := n + i; off < int64(len(b.prefix)) {
			p[i] = b.prefix[off]
		} else {
			p[i] = ' ' // whitespace inside a JSON string value… or after it: still too much
		}
	}
	b.sent.Add(chunk)
	return int(chunk), nil
}

// TestAbuseOversizedBodiesRefusedEarly streams bodies far over the limits,
// slowly and without a Content-Length: the server answers 413 (Chinese
// message) once it has read past the limit, long before the client is done.
func TestAbuseOversizedBodiesRefusedEarly(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	cfg.HTTP.MaxUploadBytes = 256 << 10
	s := e2eStart(t, cfg)
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	const total = 8 << 20 // 8 MB at 16 KB per 5 ms: about 2.5 s to send whole
	cases := []struct {
		name, path, contentType string
		prefix                  string
	}{
		{"json", "/api/v1/notices/preview", "application/json", `{"targets":[{"scope_type":"courtyard","scope_id":1}],"x":"`},
		{"login", "/api/v1/auth/staff/login", "application/json", `{"username":"`},
		{"upload", "/api/v1/files", "multipart/form-data; boundary=XYZ",
			"--XYZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\npaper_ballot\r\n--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"},
		{"roster", "/api/v1/courtyards/1/roster", "multipart/form-data; boundary=XYZ",
			"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.xlsx\"\r\n\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := &abSlowBody{prefix: []byte(c.prefix), size: total, pause: 5 * time.Millisecond}
			start := time.Now()
			r := s.callWith(t, "POST", c.path, staff, e2eChunked{R: body}, http.Header{"Content-Type": {c.contentType}})
			took, sent := time.Since(start), body.sent.Load()
			e2eWantError(t, r, http.StatusRequestEntityTooLarge, "body_too_large")
			if sent >= total {
				t.Errorf("the client sent all %d bytes before the answer (%v): the server read the body whole", sent, took)
			}
			if sent > 4<<20 {
				t.Errorf("the server let the client send %d bytes before refusing a body over %d", sent, cfg.HTTP.MaxUploadBytes)
			}
			t.Logf("%s: refused after %d KB sent, in %v", c.name, sent>>10, took.Round(time.Millisecond))
		})
	}
	// A declared length over the limit is refused before a byte is read.
	r := s.callWith(t, "POST", "/api/v1/files", staff, strings.Repeat("x", 300<<10), http.Header{"Content-Type": {"multipart/form-data; boundary=XYZ"}})
	e2eWantError(t, r, http.StatusRequestEntityTooLarge, "body_too_large")
}
