package main

// The process harness of the multi-instance and fault tests (issue 14):
// the server binary, built once with `go build`, runs as real processes on
// loopback ports, sharing one database, one Redis prefix, one files folder
// and one fake WeChat API that runs in the test process. Processes can be
// killed with SIGKILL and started again; the test's own MariaDB and Redis
// can be stopped and started under them.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/notice"
	"github.com/louyuan/louyuan/internal/sqlstore"
	"github.com/louyuan/louyuan/internal/wechat/wechatfake"
)

const (
	prAppID  = "wxprocstest00001"
	prSecret = "procs-test-secret-0123456789abcd"
)

var (
	prBinDir  string
	prBinOnce sync.Once
	prBinPath string
	prBinErr  error
)

// prBinary builds the server once per test process.
func prBinary(t *testing.T) string {
	t.Helper()
	prBinOnce.Do(func() {
		prBinDir, prBinErr = os.MkdirTemp("", "louyuan-procs-")
		if prBinErr != nil {
			return
		}
		prBinPath = filepath.Join(prBinDir, "server")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", prBinPath, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			prBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if prBinErr != nil {
		t.Fatal(prBinErr)
	}
	return prBinPath
}

// prFreePort is a loopback port nobody listens on (at the moment).
func prFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// prDeployment is what every instance of one deployment shares.
type prDeployment struct {
	DSN, RedisURL, Prefix string
	Secrets               e2eSecrets
	Fake                  *wechatfake.Server
	FakeURL               string
	FilesDir              string
	Templates             map[string]notice.Template
	// Extra environment for every instance (LOUYUAN_… = …).
	Extra map[string]string
}

// prTemplate is the template ID of a notice kind in a deployment.
func prTemplate(kind string) string { return "pr-" + kind }

// prNewDeployment starts a fake WeChat API of the test's own (its counts
// are the test's alone) and fills in the shared parts.
func prNewDeployment(t *testing.T, dsn, redisURL, prefix string) *prDeployment {
	t.Helper()
	fake := wechatfake.New(wechatfake.WithApp(prAppID, prSecret), wechatfake.WithLogger(slog.New(slog.DiscardHandler)))
	url, err := fake.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	d := &prDeployment{DSN: dsn, RedisURL: redisURL, Prefix: prefix, Secrets: e2eNewSecrets(t), Fake: fake, FakeURL: url,
		FilesDir: t.TempDir(), Templates: map[string]notice.Template{}, Extra: map[string]string{}}
	for _, k := range notice.Kinds {
		d.Templates[k] = notice.Template{ID: prTemplate(k), Fields: map[string]string{"thing1": "title", "thing2": "body", "time3": "time"}}
	}
	return d
}

// prProc is one server process.
type prProc struct {
	*e2eServer
	t       *testing.T
	name    string
	d       *prDeployment
	port    int
	dataDir string
	env     []string
	cmd     *exec.Cmd
	exited  chan struct{}
	logs    *prLog
}

// prLog keeps the tail of a process's output for failure messages.
type prLog struct {
	mu  sync.Mutex
	buf []byte
}

func (l *prLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > 64<<10 {
		l.buf = append([]byte(nil), l.buf[len(l.buf)-32<<10:]...)
	}
	return len(p), nil
}

func (l *prLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := string(l.buf)
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return s
}

// env is the process environment of an instance: nothing of the test
// process's LOUYUAN_* settings, everything from the deployment.
func (d *prDeployment) env(t *testing.T, port int, dataDir string, demo bool) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOUYUAN_") {
			env = append(env, kv)
		}
	}
	tmpl, err := json.Marshal(d.Templates)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"LOUYUAN_HTTP_ADDR":                   fmt.Sprintf("127.0.0.1:%d", port),
		"LOUYUAN_DATA_DIR":                    dataDir,
		"LOUYUAN_FILES_DIR":                   d.FilesDir,
		"LOUYUAN_DATABASE_DSN":                d.DSN,
		"LOUYUAN_REDIS_URL":                   d.RedisURL,
		"LOUYUAN_REDIS_PREFIX":                d.Prefix,
		"LOUYUAN_PHONE_KEY":                   base64.StdEncoding.EncodeToString(d.Secrets.PhoneKey),
		"LOUYUAN_AUDIT_KEY":                   d.Secrets.AuditKey,
		"LOUYUAN_WECHAT_APPID":                prAppID,
		"LOUYUAN_WECHAT_SECRET":               prSecret,
		"LOUYUAN_WECHAT_BASE_URL":             d.FakeURL,
		"LOUYUAN_WECHAT_TIMEOUT":              "2s",
		"LOUYUAN_WECHAT_CONTENT_CHECK_OPENID": d.Fake.User("louyuan-operator").OpenID,
		"LOUYUAN_NOTICES_TEMPLATES":           string(tmpl),
		"LOUYUAN_NOTICES_RATE_PER_SECOND":     "500",
		"LOUYUAN_NOTICES_WORKERS":             "4",
		"LOUYUAN_BCRYPT_COST":                 "4",
		"LOUYUAN_LOGINS_PER_IP_PER_MINUTE":    "100000",
		"LOUYUAN_SCHEDULER_INTERVAL":          "300ms",
		"LOUYUAN_SHUTDOWN_TIMEOUT":            "10s",
		"LOUYUAN_DEMO":                        strconv.FormatBool(demo),
		"LOUYUAN_DEMO_PASSWORD":               e2eProductionDemoPassword,
		"LOUYUAN_METRICS_ADDR":                "127.0.0.1:0", // a port of its own: tests run side by side
		"LOUYUAN_LOG_LEVEL":                   "warn",
		"LOUYUAN_LOG_FORMAT":                  "text",
	}
	for k, v := range d.Extra {
		vars[k] = v
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// prStart starts an instance and waits until it answers /healthz. The
// first instance of a deployment seeds the demo courtyard.
// extra are "LOUYUAN_…=value" settings of this instance alone.
func (d *prDeployment) start(t *testing.T, name string, demo bool, extra ...string) *prProc {
	t.Helper()
	p := &prProc{t: t, name: name, d: d, port: prFreePort(t), dataDir: t.TempDir(), logs: &prLog{}}
	p.env = append(d.env(t, p.port, p.dataDir, demo), extra...)
	cfg := defaultConfig()
	cfg.DataDir = p.dataDir
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	p.e2eServer = &e2eServer{cfg: cfg, base: fmt.Sprintf("http://127.0.0.1:%d", p.port),
		client: &http.Client{Timeout: 30 * time.Second, Transport: transport}}
	p.e2eServer.stop = func() error { p.kill(); return nil }
	p.launch()
	t.Cleanup(p.terminate)
	return p
}

func (p *prProc) launch() {
	t := p.t
	t.Helper()
	cmd := exec.Command(prBinary(t), "serve")
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	prDieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	p.cmd = cmd
	exited := make(chan struct{})
	p.exited = exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(120 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("%s exited before answering: %v\n%s", p.name, cmd.ProcessState, p.logs.tail())
		default:
		}
		if res, err := p.client.Get(p.base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer /healthz within 120s\n%s", p.name, p.logs.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no drain, no cleanup.
func (p *prProc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.client.Transport.(*http.Transport).CloseIdleConnections()
}

// restart starts the process again on the same port and data folder.
func (p *prProc) restart() {
	p.t.Helper()
	p.launch()
}

// terminate stops the process with SIGTERM (a graceful shutdown), or
// SIGKILL after a while.
func (p *prProc) terminate() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.kill()
	}
}

// operator runs an operator command of the binary against the deployment.
func (p *prProc) operator(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prBinary(p.t), args...)
	cmd.Env = p.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// auditVerify runs `server audit verify` and fails the test unless the log
// is intact.
func (p *prProc) auditVerify() {
	p.t.Helper()
	out, err := p.operator("audit", "verify")
	if err != nil || !strings.Contains(out, "audit log intact") {
		p.t.Fatalf("server audit verify: %v\n%s", err, out)
	}
	p.t.Logf("%s", strings.TrimSpace(out[strings.LastIndex(out, "audit log intact"):]))
}

// prAnswer is one answer of a request that may fail.
type prAnswer struct {
	Status    int
	Body      []byte
	Err       error // transport error (refused, reset, timeout)
	RequestID string
	Took      time.Duration
}

func (a prAnswer) ok() bool { return a.Err == nil && a.Status >= 200 && a.Status < 300 }

func (a prAnswer) String() string {
	if a.Err != nil {
		return fmt.Sprintf("error %v after %s", a.Err, a.Took)
	}
	b := string(a.Body)
	if len(b) > 300 {
		b = b[:300] + "…"
	}
	return fmt.Sprintf("%d %s (%s)", a.Status, b, a.Took)
}

var prRequestSeq atomic.Int64

// try sends a request that may fail, under a request ID of the test's own
// (so that the audit log can be searched for it).
func (p *prProc) try(method, path, token string, body any) prAnswer {
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rid := fmt.Sprintf("pr-%d-%d", time.Now().UnixNano()%1e9, prRequestSeq.Add(1))
	req.Header.Set("X-Request-ID", rid)
	start := time.Now()
	res, err := p.client.Do(req)
	a := prAnswer{Err: err, RequestID: rid}
	if err == nil {
		a.Status = res.StatusCode
		a.Body, a.Err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	a.Took = time.Since(start)
	return a
}

// prOpenDB opens the deployment's database from the test.
func prOpenDB(t *testing.T, dsn string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// prCount runs a COUNT query.
func prCount(t *testing.T, db *sqlstore.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// prSetup binds a representative to every demo household, logging in and
// binding through the instances in turn, and lets each accept one message
// of each template kind.
func prSetup(t *testing.T, procs []*prProc, kinds ...string) *vtEnv {
	t.Helper()
	s := procs[0]
	env := &vtEnv{s: s.e2eServer, yard: 1, byHouse: map[int64]vtRep{}}
	env.staff = s.staffLogin(t, demoStaffUser, e2eProductionDemoPassword).AccessToken
	env.households = s.courtyardHouseholds(t, env.staff, env.yard)
	invites := e2eDemoInvites(t, s.dataDir)
	reps := make([]vtRep, len(invites))
	results := map[string]string{}
	for _, k := range kinds {
		results[prTemplate(k)] = "accept"
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	for i, inv := range invites {
		h, ok := e2eFind(env.households, inv.Building, inv.Unit, inv.Room)
		if !ok {
			t.Fatalf("invite for unknown household %+v", inv)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p := procs[i%len(procs)]
			tok := p.wechatLogin(t, e2eCode(fmt.Sprintf("prrep%d", i)))
			r := p.call(t, "POST", "/api/v1/me/households", tok.AccessToken, map[string]string{"invite_code": inv.Code})
			e2eWant(t, r, http.StatusCreated)
			if len(results) > 0 {
				r = p.call(t, "POST", "/api/v1/me/subscriptions", tok.AccessToken, map[string]any{"results": results})
				if r.Status >= 300 {
					t.Errorf("subscribe: %s", r)
				}
			}
			reps[i] = vtRep{token: tok.AccessToken, userID: tok.User.ID, householdID: h.ID}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	env.reps = reps
	for _, r := range reps {
		env.byHouse[r.householdID] = r
	}
	return env
}

// prMotion creates and publishes a motion that the scheduler opens after
// opensIn and closes after closeIn more.
func prMotion(t *testing.T, p *prProc, staff string, rule string, opensIn, closeIn time.Duration) (int64, time.Time, time.Time) {
	t.Helper()
	opens := time.Now().Add(opensIn).Truncate(time.Second).Add(time.Second)
	closes := opens.Add(closeIn)
	r := p.call(t, "POST", "/api/v1/courtyards/1/motions", staff, map[string]any{"scope_type": "courtyard", "title": "加装电梯表决",
		"rule": rule, "ballot_mode": "named", "notice_days": 0, "objection_days": 0, "opens_at": opens, "closes_at": closes})
	e2eWant(t, r, http.StatusCreated)
	var m vtMotion
	r.decode(t, &m)
	e2eWant(t, p.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/publish", m.ID), staff, nil), http.StatusOK)
	return m.ID, opens, closes
}

// prWaitStatus polls the motion until its status is one of want.
func prWaitStatus(t *testing.T, p *prProc, token string, id int64, within time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		a := p.try("GET", fmt.Sprintf("/api/v1/motions/%d", id), token, nil)
		if a.ok() {
			var out struct {
				Motion vtMotion `json:"motion"`
			}
			_ = json.Unmarshal(a.Body, &out)
			for _, w := range want {
				if out.Motion.Status == w {
					return w
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("motion %d not %v within %s: %s", id, want, within, a)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// prSentPerUser counts the fake's messages of a template per openid.
func prSentPerUser(fake *wechatfake.Server, template string) map[string]int {
	out := map[string]int{}
	for _, m := range fake.Sent() {
		if m.TemplateID == template {
			out[m.ToUser]++
		}
	}
	return out
}
