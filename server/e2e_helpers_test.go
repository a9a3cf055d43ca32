package main

// Helpers of the end-to-end tests (e2e_test.go): booting the real server
// with serve(), an HTTP client that checks every answer for the error
// contract, and builders of roster workbooks. Every name starts with e2e so
// that other test files of package main cannot collide with them.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/xuri/excelize/v2"
)

// e2eLogger discards the server's logs, as a deployment's log pipeline would
// take them away; LOUYUAN_E2E_LOG=1 shows them when debugging a failure.
func e2eLogger() *slog.Logger {
	if os.Getenv("LOUYUAN_E2E_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

// e2eEmbeddedConfig is the embedded default: no DSN, no Redis URL, no WeChat
// app (the built-in fake), fresh data folder.
func e2eEmbeddedConfig(t *testing.T) *Config {
	t.Helper()
	cfg := defaultConfig()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Metrics.Addr = "127.0.0.1:0" // e2eTryStart picks a port per server
	cfg.HTTP.ShutdownTimeout = 10 * time.Second
	cfg.DataDir = t.TempDir()
	// loadConfig derives the file folder from the data folder; defaultConfig
	// alone leaves it empty, which files.NewDir refuses.
	cfg.Files.Dir = filepath.Join(cfg.DataDir, "files")
	cfg.Security.BcryptCost = 4
	cfg.Log.Level = "error"
	return cfg
}

// e2eFreeAddr is a localhost address with a port free a moment ago, for a
// listener whose address the test must know in advance (metrics).
func e2eFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// metrics reads GET /metrics from the server's private metrics listener.
func (s *e2eServer) metrics(t *testing.T) string {
	t.Helper()
	res, err := s.client.Get("http://" + s.metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics on %s: %v", s.metricsAddr, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics on %s: %d %v", s.metricsAddr, res.StatusCode, err)
	}
	return string(b)
}

// e2eSecrets are the production-mode keys, shared by every instance of one
// deployment.
type e2eSecrets struct {
	PhoneKey []byte // 32 bytes
	AuditKey string
}

func e2eNewSecrets(t *testing.T) e2eSecrets {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	a := make([]byte, 24)
	if _, err := rand.Read(a); err != nil {
		t.Fatal(err)
	}
	return e2eSecrets{PhoneKey: k, AuditKey: hex.EncodeToString(a)}
}

// e2eProductionConfig is MySQL and Redis mode with the built-in fake WeChat
// API (no WeChat app configured) and the demo seeded.
func e2eProductionConfig(t *testing.T, dsn, redisURL, prefix string, sec e2eSecrets) *Config {
	t.Helper()
	cfg := e2eEmbeddedConfig(t)
	cfg.Database.DSN = dsn
	cfg.Redis.URL = redisURL
	cfg.Redis.KeyPrefix = prefix
	cfg.Security.PhoneKey = append([]byte(nil), sec.PhoneKey...)
	cfg.Security.AuditKey = []byte(sec.AuditKey)
	cfg.Demo = true
	// A production database never gets the public demo password.
	cfg.DemoPassword = e2eProductionDemoPassword
	return cfg
}

// e2eProductionDemoPassword is the demo staff password of the production-mode
// tests (LOUYUAN_DEMO_PASSWORD); the embedded default keeps the public one.
const e2eProductionDemoPassword = "e2e-production-demo-password"

// demoPassword is the demo staff account's password on this server.
func (s *e2eServer) demoPassword() string {
	if s.cfg.DemoPassword != "" {
		return s.cfg.DemoPassword
	}
	return demoStaffPassword
}

// e2eServer is one running server.
type e2eServer struct {
	cfg         *Config
	base        string // http://127.0.0.1:port
	metricsAddr string // the private metrics listener
	client      *http.Client
	stop        func() error // cancels serve's context and waits for it to return
}

// e2eTryStart boots serve() in a goroutine and waits for its address. A
// panic inside serve comes back as an error rather than killing the test
// binary. The server is stopped at cleanup, and serve must then return nil
// (a graceful shutdown).
func e2eTryStart(t *testing.T, cfg *Config) (*e2eServer, error) {
	t.Helper()
	// Each server its own metrics port, known in advance (tests restart a
	// server with one configuration, or run two instances of it).
	if cfg.Metrics.Addr != "" {
		cfg.Metrics.Addr = e2eFreeAddr(t)
	}
	metricsAddr := cfg.Metrics.Addr
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("serve panicked: %v", p)
			}
		}()
		done <- serve(ctx, cfg, e2eLogger(), io.Discard, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		if err == nil {
			err = errors.New("serve returned nil before listening")
		}
		return nil, err
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not report its address within 60s")
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	s := &e2eServer{cfg: cfg, base: "http://" + addr, metricsAddr: metricsAddr, client: &http.Client{Timeout: 20 * time.Second, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	s.stop = sync.OnceValue(func() error {
		transport.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(cfg.HTTP.ShutdownTimeout + 10*time.Second):
			return errors.New("serve did not return after its context was cancelled")
		}
	})
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("serve returned %v after its context was cancelled; want nil (graceful shutdown)", err)
		}
	})
	return s, nil
}

func e2eStart(t *testing.T, cfg *Config) *e2eServer {
	t.Helper()
	s, err := e2eTryStart(t, cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	return s
}

// e2eCodeSeq makes login codes unique: the fake WeChat API is shared by every
// server of the test process and each full code works once.
var e2eCodeSeq atomic.Int64

// e2eCode is a fresh fake-WeChat login code for handle ("<handle>.<anything>").
func e2eCode(handle string) string {
	return fmt.Sprintf("%s.e2e%d", handle, e2eCodeSeq.Add(1))
}

// e2eResponse is one HTTP answer, read whole.
type e2eResponse struct {
	Method, Path string
	Status       int
	Header       http.Header
	Body         []byte
}

func (r e2eResponse) String() string {
	b := string(r.Body)
	if len(b) > 600 {
		b = b[:600] + "…"
	}
	return fmt.Sprintf("%s %s → %d %s", r.Method, r.Path, r.Status, b)
}

// decode reads the JSON body into v, failing the test when it is not JSON.
func (r e2eResponse) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%s: body is not the expected JSON: %v", r, err)
	}
}

// e2eErrorBody is the JSON shape of every error response.
type e2eErrorBody struct {
	Error struct {
		Code      string          `json:"code"`
		Message   string          `json:"message"`
		Details   json.RawMessage `json:"details"`
		RequestID string          `json:"request_id"`
	} `json:"error"`
}

// e2eMultipart is a multipart/form-data body with one file field.
type e2eMultipart struct {
	Field, FileName string
	Data            []byte
}

// e2eChunked is a body sent without Content-Length.
type e2eChunked struct{ R io.Reader }

// call sends one request. body is nil, a string or []byte (sent as is, as
// JSON), an e2eMultipart, an e2eChunked or any value (marshalled to JSON).
// token, when not empty, is sent as a bearer token.
func (s *e2eServer) call(t *testing.T, method, path, token string, body any) e2eResponse {
	t.Helper()
	return s.callWith(t, method, path, token, body, nil)
}

func (s *e2eServer) callWith(t *testing.T, method, path, token string, body any, header http.Header) e2eResponse {
	t.Helper()
	var rd io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
		contentType = ""
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case e2eMultipart:
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		fw, err := w.CreateFormFile(b.Field, b.FileName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(b.Data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		rd, contentType = &buf, w.FormDataContentType()
	case e2eChunked:
		rd = b.R
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := body.(e2eChunked); ok {
		req.ContentLength = -1
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	r := e2eResponse{Method: method, Path: path, Status: res.StatusCode, Header: res.Header, Body: data}
	e2eCheckContract(t, r)
	return r
}

// e2eCheckContract holds every answer to the API's promises: never a 5xx,
// and every error a JSON body with a code, a Chinese message a person can
// act on, and the request ID.
func e2eCheckContract(t *testing.T, r e2eResponse) {
	t.Helper()
	if r.Status >= 500 {
		t.Errorf("server error: %s", r)
	}
	if r.Status < 400 {
		return
	}
	var e e2eErrorBody
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Errorf("error answer is not the JSON error body: %s (%v)", r, err)
		return
	}
	if e.Error.Code == "" {
		t.Errorf("error answer without error.code: %s", r)
	}
	if !e2eHasHan(e.Error.Message) {
		t.Errorf("error answer without a Chinese error.message: %s", r)
	}
	if e.Error.RequestID == "" || e.Error.RequestID != r.Header.Get("X-Request-ID") {
		t.Errorf("error answer's request_id %q does not match its X-Request-ID header %q: %s", e.Error.RequestID, r.Header.Get("X-Request-ID"), r)
	}
}

func e2eHasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// e2eWant fails the test now unless the answer has the status.
func e2eWant(t *testing.T, r e2eResponse, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want %d: %s", status, r)
	}
}

// e2eWantError checks an error answer's status and code (without stopping
// the test) and returns its body.
func e2eWantError(t *testing.T, r e2eResponse, status int, code string) e2eErrorBody {
	t.Helper()
	var e e2eErrorBody
	_ = json.Unmarshal(r.Body, &e)
	if r.Status != status || e.Error.Code != code {
		t.Errorf("want %d %s: %s", status, code, r)
	}
	return e
}

// e2eTokens is the answer of a login or refresh.
type e2eTokens struct {
	AccessToken      string    `json:"access_token"`
	AccessExpiresAt  time.Time `json:"access_expires_at"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	User             *struct {
		ID          int64  `json:"id"`
		RealName    string `json:"real_name"`
		PhoneMasked string `json:"phone_masked"`
	} `json:"user"`
}

func (s *e2eServer) wechatLogin(t *testing.T, code string) e2eTokens {
	t.Helper()
	r := s.call(t, "POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": code})
	e2eWant(t, r, http.StatusOK)
	var tok e2eTokens
	r.decode(t, &tok)
	e2eCheckTokens(t, r, tok)
	if tok.User == nil || tok.User.ID <= 0 {
		t.Fatalf("WeChat login without the user: %s", r)
	}
	return tok
}

func (s *e2eServer) staffLogin(t *testing.T, username, password string) e2eTokens {
	t.Helper()
	r := s.call(t, "POST", "/api/v1/auth/staff/login", "", map[string]string{"username": username, "password": password})
	e2eWant(t, r, http.StatusOK)
	var tok e2eTokens
	r.decode(t, &tok)
	e2eCheckTokens(t, r, tok)
	return tok
}

func e2eCheckTokens(t *testing.T, r e2eResponse, tok e2eTokens) {
	t.Helper()
	if !strings.HasPrefix(tok.AccessToken, "lya_") || !strings.HasPrefix(tok.RefreshToken, "lyr_") {
		t.Fatalf("tokens of the wrong form: %s", r)
	}
	now := time.Now()
	if !tok.AccessExpiresAt.After(now) || !tok.RefreshExpiresAt.After(tok.AccessExpiresAt) {
		t.Errorf("token expiries %v / %v are not in the future, refresh after access: %s", tok.AccessExpiresAt, tok.RefreshExpiresAt, r)
	}
	// SPEC §3: the WeChat session_key never leaves the server.
	if bytes.Contains(r.Body, []byte("session_key")) || bytes.Contains(r.Body, []byte(`"sk"`)) {
		t.Errorf("login answer leaks the WeChat session key: %s", r)
	}
}

// e2eMe is GET /api/v1/me.
type e2eMe struct {
	Kind   string `json:"kind"`
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Grants []struct {
		Role      string `json:"role"`
		ScopeType string `json:"scope_type"`
		ScopeID   int64  `json:"scope_id"`
	} `json:"grants"`
}

func (s *e2eServer) me(t *testing.T, token string) e2eMe {
	t.Helper()
	r := s.call(t, "GET", "/api/v1/me", token, nil)
	e2eWant(t, r, http.StatusOK)
	var me e2eMe
	r.decode(t, &me)
	return me
}

// e2eMember is a user bound to a household.
type e2eMember struct {
	MembershipID   int64  `json:"membership_id"`
	UserID         int64  `json:"user_id"`
	HouseholdID    int64  `json:"household_id"`
	Role           string `json:"role"`
	Representative bool   `json:"representative"`
	RealName       string `json:"real_name"`
	PhoneMasked    string `json:"phone_masked"`
	Via            string `json:"via"`
}

// e2eHousehold is a household as the API shows it (courtyard list or
// "my households").
type e2eHousehold struct {
	ID             int64       `json:"id"`
	CourtyardID    int64       `json:"courtyard_id"`
	Building       string      `json:"building"`
	Unit           string      `json:"unit"`
	Room           string      `json:"room"`
	Floor          int         `json:"floor"`
	Area           string      `json:"area"`
	Owners         []string    `json:"owners"`
	Courtyard      string      `json:"courtyard"`
	Role           string      `json:"role"`
	Representative bool        `json:"representative"`
	Members        []e2eMember `json:"members"`
}

func (h e2eHousehold) label() string { return h.Building + h.Unit + h.Room }

func (s *e2eServer) myHouseholds(t *testing.T, token string) []e2eHousehold {
	t.Helper()
	r := s.call(t, "GET", "/api/v1/me/households", token, nil)
	e2eWant(t, r, http.StatusOK)
	var out struct {
		Households []e2eHousehold `json:"households"`
	}
	r.decode(t, &out)
	return out.Households
}

func (s *e2eServer) courtyardHouseholds(t *testing.T, token string, courtyardID int64) []e2eHousehold {
	t.Helper()
	r := s.call(t, "GET", fmt.Sprintf("/api/v1/courtyards/%d/households", courtyardID), token, nil)
	e2eWant(t, r, http.StatusOK)
	var out struct {
		Households []e2eHousehold `json:"households"`
	}
	r.decode(t, &out)
	return out.Households
}

// e2eFind returns the household with that building, unit and room.
func e2eFind(hs []e2eHousehold, building, unit, room string) (e2eHousehold, bool) {
	for _, h := range hs {
		if h.Building == building && h.Unit == unit && h.Room == room {
			return h, true
		}
	}
	return e2eHousehold{}, false
}

// e2eRequest is a bind or representative-change request.
type e2eRequest struct {
	ID          int64  `json:"id"`
	Kind        string `json:"kind"`
	HouseholdID int64  `json:"household_id"`
	UserID      int64  `json:"user_id"`
	Note        string `json:"note"`
	Status      string `json:"status"`
	RequestedBy string `json:"requested_by"`
	Reason      string `json:"reason"`
}

// e2eImportResult is the answer of a roster import.
type e2eImportResult struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	NotInFile int `json:"not_in_file"`
}

// e2eRowError is one entry of a rejected roster's error.details.
type e2eRowError struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// e2eInvite is one line of the demo's invite list.
type e2eInvite struct{ Building, Unit, Room, Code string }

// e2eDemoInvites reads <DataDir>/demo-invites.tsv.
func e2eDemoInvites(t *testing.T, dataDir string) []e2eInvite {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, "demo-invites.tsv"))
	if err != nil {
		t.Fatalf("demo invite list: %v", err)
	}
	defer f.Close()
	var out []e2eInvite
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); line++ {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 4 {
			t.Fatalf("demo-invites.tsv line %d: want 4 columns, got %q", line+1, sc.Text())
		}
		if line == 0 {
			if strings.Join(cols, ",") != "building,unit,room,code" {
				t.Fatalf("demo-invites.tsv header is %q", sc.Text())
			}
			continue
		}
		out = append(out, e2eInvite{Building: cols[0], Unit: cols[1], Room: cols[2], Code: cols[3]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// e2eRosterHeader is the template's header row.
var e2eRosterHeader = []any{"楼栋", "单元", "房号", "楼层", "专有面积", "业主姓名"}

// e2eXLSX writes rows (the first being the header) to the first sheet of a
// new workbook.
func e2eXLSX(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	for i, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.SetSheetRow(sheet, cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// e2eRunEnv sets the environment run() reads its configuration from, so that
// the operator commands see the same deployment as the server.
func e2eRunEnv(t *testing.T, cfg *Config, embedded bool) {
	t.Helper()
	t.Setenv("LOUYUAN_CONFIG", "")
	t.Setenv("LOUYUAN_DATA_DIR", cfg.DataDir)
	t.Setenv("LOUYUAN_LOG_LEVEL", "error")
	if embedded {
		// The embedded default finds its keys in the data folder.
		t.Setenv("LOUYUAN_DATABASE_DSN", "")
		t.Setenv("LOUYUAN_PHONE_KEY", "")
		t.Setenv("LOUYUAN_AUDIT_KEY", "")
		return
	}
	t.Setenv("LOUYUAN_DATABASE_DSN", cfg.Database.DSN)
	t.Setenv("LOUYUAN_PHONE_KEY", base64.StdEncoding.EncodeToString(cfg.Security.PhoneKey))
	t.Setenv("LOUYUAN_AUDIT_KEY", string(cfg.Security.AuditKey))
}

// e2eRun runs an operator command in-process, as `server ARGS...` would.
func e2eRun(args ...string) (string, error) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := run(ctx, args, &out, io.Discard, strings.NewReader(""))
	return out.String(), err
}

// e2eStrictJSON decodes data into v, refusing fields v does not have.
func e2eStrictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
