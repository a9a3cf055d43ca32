// Package wechatfake is a fake of the WeChat mini-program server API that
// speaks WeChat's wire format: the same paths, query parameters, JSON field
// names and errcode/errmsg values as https://api.weixin.qq.com. Tests point
// the wechat package at it over real HTTP, and the server's demo mode runs it
// in-process on loopback, so it is safe for concurrent use and imports no
// testing code.
//
// Users are chosen by the login code: "<handle>" or "<handle>.<anything>",
// with handle in [A-Za-z0-9_-]. A handle's openid, unionid and phone number
// are derived from it deterministically unless scripted with SetUser, so a
// demo database stays valid across restarts. Every full code works once.
//
// Tests script failures (FailNext, FailHTTPNext, SetLatency, ExpireTokens,
// RevokeTokens, SetSubscribeResult, SetRiskyWords, SetReviewWords) and read
// counters (Calls, TokensIssued, Sent, SentTo). ShareInfo makes what
// wx.getShareInfo gives a user's mini-program (see share.go).
package wechatfake

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Credentials the fake accepts unless WithApp says otherwise.
const (
	DefaultAppID     = "wx0123456789abcdef"
	DefaultAppSecret = "0123456789abcdef0123456789abcdef"
)

// DefaultTokenTTL is the lifetime of an access token, as on WeChat.
const DefaultTokenTTL = 2 * time.Hour

// Paths the fake serves.
const (
	PathToken         = "/cgi-bin/token"
	PathStableToken   = "/cgi-bin/stable_token"
	PathCode2Session  = "/sns/jscode2session"
	PathPhoneNumber   = "/wxa/business/getuserphonenumber"
	PathSubscribeSend = "/cgi-bin/message/subscribe/send"
	PathMsgSecCheck   = "/wxa/msg_sec_check"
)

// Labels msg_sec_check answers with.
const (
	LabelNormal   = 100   // pass
	LabelAd       = 10001 // answered for review words
	LabelPolitics = 20001 // answered for risky words
)

// User is what the fake answers for a login or phone code handle.
type User struct {
	OpenID  string
	UnionID string
	Phone   string // 11 digits, no country code
}

// SentMessage is a subscribe message the fake accepted.
type SentMessage struct {
	ToUser           string
	TemplateID       string
	Page             string
	Data             map[string]string // keyword → value
	MiniprogramState string
	Lang             string
	MsgID            int64
	SentAt           time.Time
}

// Option configures a Server.
type Option func(*Server)

// WithApp sets the appid and secret the fake accepts.
func WithApp(appID, secret string) Option {
	return func(s *Server) { s.appID, s.secret = appID, secret }
}

// WithTokenTTL sets the lifetime of issued access tokens.
func WithTokenTTL(d time.Duration) Option {
	return func(s *Server) { s.tokenTTL = d }
}

// WithClock replaces time.Now, e.g. to step through token expiry.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithLogger logs every request at debug level (never secrets or tokens).
func WithLogger(logger *slog.Logger) Option {
	return func(s *Server) { s.logger = logger }
}

// WithKnownUsersOnly makes login and phone codes whose handle was not
// scripted with SetUser answer 40029 invalid code.
func WithKnownUsersOnly() Option {
	return func(s *Server) { s.knownUsersOnly = true }
}

// WithTemplates restricts subscribe messages to these template ids; others
// answer 40037. By default any non-empty template id is accepted.
func WithTemplates(ids ...string) Option {
	return func(s *Server) {
		s.templates = make(map[string]bool, len(ids))
		for _, id := range ids {
			s.templates[id] = true
		}
	}
}

// token is one issued access token.
type token struct {
	value     string
	stable    bool
	expiresAt time.Time
	revoked   bool
}

// httpFailure is a scripted non-200 answer.
type httpFailure struct {
	status int
	times  int
}

// Server is a fake WeChat API server. The zero value is not usable; call New.
type Server struct {
	// Fixed at New.
	appID          string
	secret         string
	tokenTTL       time.Duration
	now            func() time.Time
	logger         *slog.Logger
	knownUsersOnly bool
	templates      map[string]bool
	handler        http.Handler

	mu               sync.Mutex
	users            map[string]User   // scripted users by handle
	usedLoginCodes   map[string]bool   // full codes already exchanged
	usedPhoneCodes   map[string]bool   // full codes already exchanged
	tokens           map[string]*token // every token issued, by value
	stableToken      *token            // current stable_token answer
	plainToken       *token            // latest /cgi-bin/token answer
	failNext         map[string][]int  // path → queued errcodes
	httpFailNext     map[string][]httpFailure
	latency          map[string]time.Duration
	subscribeResults map[string][]int // openid → queued errcodes
	subscribeLatency map[string]time.Duration
	subscribeCalls   map[string]int // openid → subscribe/send calls that reached the handler
	riskyWords       []string
	reviewWords      []string
	calls            map[string]int
	tokensIssued     int
	sent             []SentMessage
	nextMsgID        int64
	sessionKeys      map[string]string // openid → session_key of the latest login

	lifecycle sync.Mutex
	srv       *http.Server
}

// New returns a fake server with the default app credentials.
func New(opts ...Option) *Server {
	s := &Server{
		appID:    DefaultAppID,
		secret:   DefaultAppSecret,
		tokenTTL: DefaultTokenTTL,
		now:      time.Now,
		logger:   slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(s)
	}
	s.resetLocked()

	mux := http.NewServeMux()
	mux.Handle(PathToken, s.endpoint(PathToken, http.MethodGet, s.serveToken))
	mux.Handle(PathStableToken, s.endpoint(PathStableToken, http.MethodPost, s.serveStableToken))
	mux.Handle(PathCode2Session, s.endpoint(PathCode2Session, http.MethodGet, s.serveCode2Session))
	mux.Handle(PathPhoneNumber, s.endpoint(PathPhoneNumber, http.MethodPost, s.servePhoneNumber))
	mux.Handle(PathSubscribeSend, s.endpoint(PathSubscribeSend, http.MethodPost, s.serveSubscribeSend))
	mux.Handle(PathMsgSecCheck, s.endpoint(PathMsgSecCheck, http.MethodPost, s.serveMsgSecCheck))
	mux.HandleFunc(PathDevShareInfo, s.serveDevShareInfo)
	s.handler = mux
	return s
}

// AppID returns the appid the fake accepts.
func (s *Server) AppID() string { return s.appID }

// AppSecret returns the secret the fake accepts.
func (s *Server) AppSecret() string { return s.secret }

// Handler returns the fake as an http.Handler, e.g. for httptest.NewServer.
func (s *Server) Handler() http.Handler { return s.handler }

// Start serves the fake on addr, which must be a loopback address such as
// "127.0.0.1:0" (an empty host means 127.0.0.1), and returns its base URL.
func (s *Server) Start(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("wechatfake: listen address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("wechatfake: listen address %q is not loopback", addr)
	}

	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	if s.srv != nil {
		return "", errors.New("wechatfake: already started")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return "", fmt.Errorf("wechatfake: listen: %w", err)
	}
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go func(srv *http.Server) {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("wechatfake: serve", "err", err)
		}
	}(s.srv)
	return "http://" + ln.Addr().String(), nil
}

// Close stops a server begun with Start, cutting open connections. It is a
// no-op otherwise.
func (s *Server) Close() {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

// Reset forgets scripted users, used codes, tokens, scripted failures,
// latencies, words, counters and sent messages; options given to New stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.users = make(map[string]User)
	s.usedLoginCodes = make(map[string]bool)
	s.usedPhoneCodes = make(map[string]bool)
	s.tokens = make(map[string]*token)
	s.stableToken = nil
	s.plainToken = nil
	s.failNext = make(map[string][]int)
	s.httpFailNext = make(map[string][]httpFailure)
	s.latency = make(map[string]time.Duration)
	s.subscribeResults = make(map[string][]int)
	s.subscribeLatency = make(map[string]time.Duration)
	s.subscribeCalls = make(map[string]int)
	s.riskyWords = nil
	s.reviewWords = nil
	s.calls = make(map[string]int)
	s.tokensIssued = 0
	s.sent = nil
	s.nextMsgID = 3_000_000_000_000_000_001
	s.sessionKeys = make(map[string]string)
}

// SetUser scripts the user behind handle. Empty fields keep their derived
// defaults. It panics if handle is not in [A-Za-z0-9_-]+.
func (s *Server) SetUser(handle string, u User) {
	if !validHandle(handle) {
		panic(fmt.Sprintf("wechatfake: invalid handle %q", handle))
	}
	def := s.derivedUser(handle)
	if u.OpenID == "" {
		u.OpenID = def.OpenID
	}
	if u.UnionID == "" {
		u.UnionID = def.UnionID
	}
	if u.Phone == "" {
		u.Phone = def.Phone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[handle] = u
}

// User returns the user the fake answers for handle.
func (s *Server) User(handle string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userLocked(handle)
}

// FailNext makes the next times calls to path answer errcode (with WeChat's
// errmsg for it) before any other check; calls queue after earlier scripts.
func (s *Server) FailNext(path string, errcode int, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.failNext[path] = append(s.failNext[path], errcode)
	}
}

// FailHTTPNext makes the next times calls to path answer the HTTP status
// with an empty body, like a failing gateway.
func (s *Server) FailHTTPNext(path string, status int, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.httpFailNext[path] = append(s.httpFailNext[path], httpFailure{status: status, times: times})
}

// SetLatency delays every answer on path by d (0 removes the delay). A
// caller that gives up ends the wait.
func (s *Server) SetLatency(path string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency[path] = d
}

// SetSubscribeResult queues the errcodes the next subscribe messages to
// openID answer, one per message; after the queue, messages succeed.
func (s *Server) SetSubscribeResult(openID string, errcodes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscribeResults[openID] = append([]int(nil), errcodes...)
}

// SetSubscribeLatency delays subscribe messages to openID by d (0 removes
// it). Like WeChat, the message still goes out when the caller has given up
// waiting.
func (s *Server) SetSubscribeLatency(openID string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscribeLatency[openID] = d
}

// SubscribeCalls counts the subscribe/send calls for openID that got past
// the access token check, whatever their answer.
func (s *Server) SubscribeCalls(openID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscribeCalls[openID]
}

// ExpireTokens makes every issued access token answer 42001.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, t := range s.tokens {
		if t.expiresAt.After(now) {
			t.expiresAt = now
		}
	}
}

// RevokeTokens makes every issued access token answer 40001.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
}

// SetRiskyWords makes msg_sec_check answer suggest "risky", label 20001,
// for text containing any of words (v1 answers 87014).
func (s *Server) SetRiskyWords(words ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.riskyWords = append([]string(nil), words...)
}

// SetReviewWords makes msg_sec_check answer suggest "review", label 10001,
// for text containing any of words and no risky word.
func (s *Server) SetReviewWords(words ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reviewWords = append([]string(nil), words...)
}

// Calls returns how many requests reached path, failed ones included.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// TokensIssued returns how many successful answers the token endpoints
// (/cgi-bin/token and /cgi-bin/stable_token) gave, counting stable_token
// answers that repeat a still-valid token: each is a fetch the client made.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensIssued
}

// Sent returns the subscribe messages accepted so far, oldest first.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SentMessage, len(s.sent))
	for i, m := range s.sent {
		m.Data = cloneMap(m.Data)
		out[i] = m
	}
	return out
}

// SentTo returns how many subscribe messages to openID were accepted.
func (s *Server) SentTo(openID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.sent {
		if m.ToUser == openID {
			n++
		}
	}
	return n
}

// endpoint wraps an API handler with call counting, scripted latency and
// failures, the method check and JSON encoding of the answer.
func (s *Server) endpoint(path, method string, serve func(r *http.Request) any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[path]++
		delay := s.latency[path]
		status := s.popHTTPFailureLocked(path)
		s.mu.Unlock()

		if delay > 0 && !sleepContext(r.Context(), delay) {
			return // the caller gave up
		}
		if status != 0 {
			w.WriteHeader(status)
			s.logger.Debug("wechatfake: scripted HTTP failure", "path", path, "status", status)
			return
		}

		var answer any
		switch {
		case r.Method != method && method == http.MethodPost:
			answer = errorAnswer(43002)
		case r.Method != method:
			answer = errorAnswer(43001)
		default:
			if code, ok := s.popFailure(path); ok {
				answer = errorAnswer(code)
			} else {
				answer = serve(r)
			}
		}
		s.logger.Debug("wechatfake: answered", "path", path, "errcode", errcodeOf(answer))
		writeJSON(w, answer)
	})
}

func (s *Server) popHTTPFailureLocked(path string) int {
	queue := s.httpFailNext[path]
	if len(queue) == 0 {
		return 0
	}
	status := queue[0].status
	queue[0].times--
	if queue[0].times <= 0 {
		queue = queue[1:]
	}
	s.httpFailNext[path] = queue
	return status
}

func (s *Server) popFailure(path string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	queue := s.failNext[path]
	if len(queue) == 0 {
		return 0, false
	}
	s.failNext[path] = queue[1:]
	return queue[0], true
}

// checkApp validates appid and secret as WeChat does.
func (s *Server) checkApp(appID, secret string) int {
	switch {
	case appID == "":
		return 41002
	case appID != s.appID:
		return 40013
	case secret == "":
		return 41004
	case secret != s.secret:
		return 40125
	}
	return 0
}

// checkAccessToken validates the access_token query parameter.
func (s *Server) checkAccessToken(r *http.Request) int {
	value := r.URL.Query().Get("access_token")
	if value == "" {
		return 41001
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[value]
	switch {
	case t == nil, t.revoked:
		return 40001
	case !s.now().Before(t.expiresAt):
		return 42001
	}
	return 0
}

// mintTokenLocked issues a new token and forgets tokens long expired.
func (s *Server) mintTokenLocked(stable bool) *token {
	now := s.now()
	for v, t := range s.tokens {
		if now.Sub(t.expiresAt) > 24*time.Hour {
			delete(s.tokens, v)
		}
	}
	t := &token{value: newTokenValue(), stable: stable, expiresAt: now.Add(s.tokenTTL)}
	s.tokens[t.value] = t
	return t
}

// userLocked returns the scripted or derived user for handle.
func (s *Server) userLocked(handle string) User {
	if u, ok := s.users[handle]; ok {
		return u
	}
	return s.derivedUser(handle)
}

// derivedUser is the deterministic default user for handle in this app.
func (s *Server) derivedUser(handle string) User {
	open := sha256.Sum256([]byte(s.appID + handle))
	union := sha256.Sum256([]byte("unionid:" + handle))
	phone := sha256.Sum256([]byte("phone:" + handle))
	prefixes := [...]string{"13", "15", "18"}
	return User{
		OpenID:  "oFake" + base64.RawURLEncoding.EncodeToString(open[:])[:23],
		UnionID: "oUnion" + base64.RawURLEncoding.EncodeToString(union[:])[:22],
		Phone:   fmt.Sprintf("%s%09d", prefixes[int(phone[0])%len(prefixes)], binary.BigEndian.Uint64(phone[1:9])%1_000_000_000),
	}
}

// codeKind tells login codes from phone codes; each kind is used up separately.
type codeKind int

const (
	loginCode codeKind = iota
	phoneCode
)

// userForCode resolves a login or phone code to its user, or an errcode,
// and uses the code up.
func (s *Server) userForCode(code string, kind codeKind) (User, int) {
	handle, ok := handleOf(code)
	if !ok {
		return User{}, 40029
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	used := s.usedLoginCodes
	if kind == phoneCode {
		used = s.usedPhoneCodes
	}
	if _, known := s.users[handle]; s.knownUsersOnly && !known {
		return User{}, 40029
	}
	if used[code] {
		return User{}, 40163
	}
	used[code] = true
	return s.userLocked(handle), 0
}

// validOpenID accepts scripted openids and anything shaped like an openid
// (28 characters of [A-Za-z0-9_-]), since a real app only learns openids
// from WeChat.
func (s *Server) validOpenID(openID string) bool {
	s.mu.Lock()
	for _, u := range s.users {
		if u.OpenID == openID {
			s.mu.Unlock()
			return true
		}
	}
	s.mu.Unlock()
	if len(openID) != 28 {
		return false
	}
	for _, r := range openID {
		if !isHandleRune(r) {
			return false
		}
	}
	return true
}

// handleOf splits "<handle>" or "<handle>.<anything>" and validates it.
func handleOf(code string) (string, bool) {
	if code == "" || len(code) > 128 {
		return "", false
	}
	for _, r := range code {
		if !isHandleRune(r) && r != '.' {
			return "", false
		}
	}
	handle, _, _ := strings.Cut(code, ".")
	return handle, handle != ""
}

func validHandle(handle string) bool {
	if handle == "" || len(handle) > 128 {
		return false
	}
	for _, r := range handle {
		if !isHandleRune(r) {
			return false
		}
	}
	return true
}

func isHandleRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}

func newTokenValue() string {
	b := make([]byte, 60)
	_, _ = rand.Read(b)
	return "90_" + base64.RawURLEncoding.EncodeToString(b)
}

func newSessionKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newTraceID looks like WeChat's trace ids and rids: three 8-hex groups.
func newTraceID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:16] + "-" + h[16:24]
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// sleepContext waits d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
