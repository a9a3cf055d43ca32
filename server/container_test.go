package main

// Tests of what the container image relies on: a clear refusal when the
// data folder is not writable, the healthcheck subcommand, and a demo seed
// that never gives a production database the public demo password.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCheckWritableDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := checkWritableDir(dir, "data folder"); err != nil {
		t.Fatalf("a fresh folder: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the check left %d files behind", len(ents))
	}

	// A folder that cannot be made (its parent is a file), and, when not
	// root, a folder without write permission.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := []string{filepath.Join(file, "data")}
	if os.Geteuid() != 0 {
		ro := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		bad = append(bad, ro)
	}
	for _, d := range bad {
		err := checkWritableDir(d, "data folder")
		if err == nil {
			t.Fatalf("%s: no error", d)
		}
		for _, want := range []string{"not writable", "数据目录不可写", "chown -R", "65532", "LOUYUAN_DATA_DIR", d} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error for %s does not say %q:\n%v", d, want, err)
			}
		}
	}
}

// TestServeRefusesUnwritableDataDir: the embedded default and a production
// server with the demo stop at start with the actionable message, before
// writing anything.
func TestServeRefusesUnwritableDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := e2eEmbeddedConfig(t)
	cfg.DataDir = filepath.Join(file, "data")
	cfg.Files.Dir = filepath.Join(cfg.DataDir, "files")
	_, err := e2eTryStart(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "数据目录不可写") || !strings.Contains(err.Error(), cfg.DataDir) {
		t.Fatalf("serve with an unwritable data folder: %v", err)
	}

	cfg = containerProductionConfig(t)
	cfg.Files.Dir = filepath.Join(file, "files")
	_, err = e2eTryStart(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "file folder") || !strings.Contains(err.Error(), "LOUYUAN_FILES_DIR") {
		t.Fatalf("serve with an unwritable file folder: %v", err)
	}
}

func TestHealthcheckURL(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{":8080", "http://127.0.0.1:8080/readyz"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/readyz"},
		{"[::]:8080", "http://[::1]:8080/readyz"},
		{"10.0.0.5:8080", "http://10.0.0.5:8080/readyz"},
		{"localhost:1", "http://localhost:1/readyz"},
	} {
		got, err := healthcheckURL(c.addr, "/readyz")
		if err != nil || got != c.want {
			t.Errorf("healthcheckURL(%q) = %q, %v; want %q", c.addr, got, err, c.want)
		}
	}
	for _, addr := range []string{"8080", "127.0.0.1:0"} {
		if got, err := healthcheckURL(addr, "/readyz"); err == nil {
			t.Errorf("healthcheckURL(%q) = %q, want an error", addr, got)
		}
	}
}

// TestHealthcheckCommand runs `server healthcheck` through run(), as
// Docker does, against a server that is ready, one that is not, and none.
func TestHealthcheckCommand(t *testing.T) {
	var ready sync.Map
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		if _, ok := ready.Load("yes"); !ok {
			http.Error(w, `{"status":"unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"status":"ok"}`)
	}))
	defer ts.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	t.Setenv("LOUYUAN_HTTP_ADDR", ":"+port)
	check := func() error {
		var out, errw bytes.Buffer
		return run(context.Background(), []string{"healthcheck", "-timeout", "3s"}, &out, &errw, strings.NewReader(""))
	}
	if err := check(); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("not ready: %v, want an error naming 503", err)
	}
	ready.Store("yes", true)
	if err := check(); err != nil {
		t.Errorf("ready: %v", err)
	}
	ts.Close()
	if err := check(); err == nil {
		t.Error("no server: no error")
	}
}

// containerProductionConfig is production mode without MySQL or Redis: a
// SQLite DSN (anything but the embedded default counts as production), the
// in-process Redis, keys from the "environment", and the demo.
func containerProductionConfig(t *testing.T) *Config {
	t.Helper()
	cfg := e2eEmbeddedConfig(t)
	cfg.Database.DSN = "sqlite:" + filepath.Join(cfg.DataDir, "prod.db")
	sec := e2eNewSecrets(t)
	cfg.Security.PhoneKey, cfg.Security.AuditKey = sec.PhoneKey, []byte(sec.AuditKey)
	cfg.Demo = true
	return cfg
}

// lockedBuffer is an io.Writer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveCapturing runs serve with its stdout and log kept, until the
// returned stop is called; it returns the base URL.
func serveCapturing(t *testing.T, cfg *Config, stdout, logs io.Writer) (string, func() error, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	readyc := make(chan string, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { done <- serve(ctx, cfg, log, stdout, readyc) }()
	select {
	case addr := <-readyc:
		stop := sync.OnceValue(func() error {
			cancel()
			select {
			case err := <-done:
				return err
			case <-time.After(30 * time.Second):
				return errors.New("serve did not stop")
			}
		})
		t.Cleanup(func() { _ = stop() })
		return "http://" + addr, stop, nil
	case err := <-done:
		cancel()
		return "", nil, err
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not start within 60s")
	}
	return "", nil, nil
}

func staffLoginStatus(t *testing.T, base, user, password string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := http.Post(base+"/api/v1/auth/staff/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var demoLoginLine = regexp.MustCompile(`staff login: ` + demoStaffUser + ` / (\S+)`)

// TestDemoSeedProductionPassword: LOUYUAN_DEMO on a production database
// generates the staff password, prints it once on stdout (never in the log),
// and the public demo password does not log in.
func TestDemoSeedProductionPassword(t *testing.T) {
	cfg := containerProductionConfig(t)
	var out, logs lockedBuffer
	base, stop, err := serveCapturing(t, cfg, &out, &logs)
	if err != nil {
		t.Fatal(err)
	}
	m := demoLoginLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the seed printed no staff login:\n%s", out.String())
	}
	password := m[1]
	if password == demoStaffPassword || len(password) < minDemoPassword {
		t.Fatalf("production demo password %q: want a generated one of at least %d characters", password, minDemoPassword)
	}
	if !strings.Contains(out.String(), "shown only now") {
		t.Errorf("the seed does not say the password is shown once:\n%s", out.String())
	}
	if got := staffLoginStatus(t, base, demoStaffUser, demoStaffPassword); got != http.StatusUnauthorized {
		t.Errorf("login with the public demo password: %d, want 401", got)
	}
	if got := staffLoginStatus(t, base, demoStaffUser, password); got != http.StatusOK {
		t.Errorf("login with the printed password: %d, want 200", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// A second start on the seeded database prints no password again.
	var out2 lockedBuffer
	base, stop, err = serveCapturing(t, cfg, &out2, &logs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out2.String(), password) || demoLoginLine.MatchString(out2.String()) {
		t.Errorf("the second start printed the password again:\n%s", out2.String())
	}
	if got := staffLoginStatus(t, base, demoStaffUser, password); got != http.StatusOK {
		t.Errorf("login after restart: %d, want 200", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the generated password is in the log")
	}
}

// TestDemoSeedConfiguredPassword: LOUYUAN_DEMO_PASSWORD is used (and not
// printed to the log); the public password or a short one is refused on a
// production database; the embedded default keeps the public one.
func TestDemoSeedConfiguredPassword(t *testing.T) {
	cfg := containerProductionConfig(t)
	cfg.DemoPassword = "a-chosen-demo-password"
	var out, logs lockedBuffer
	base, stop, err := serveCapturing(t, cfg, &out, &logs)
	if err != nil {
		t.Fatal(err)
	}
	if got := staffLoginStatus(t, base, demoStaffUser, cfg.DemoPassword); got != http.StatusOK {
		t.Errorf("login with LOUYUAN_DEMO_PASSWORD: %d, want 200", got)
	}
	if strings.Contains(out.String(), "shown only now") || strings.Contains(logs.String(), cfg.DemoPassword) {
		t.Errorf("a configured password is announced as generated or logged:\n%s", out.String())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{demoStaffPassword, "short"} {
		cfg := containerProductionConfig(t)
		cfg.DemoPassword = p
		_, _, err := serveCapturing(t, cfg, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "LOUYUAN_DEMO_PASSWORD") {
			t.Errorf("production demo with password %q: %v, want a refusal naming LOUYUAN_DEMO_PASSWORD", p, err)
		}
	}

	for _, c := range []struct{ set, want string }{{"", demoStaffPassword}, {"short", "short"}} {
		cfg := e2eEmbeddedConfig(t)
		cfg.DemoPassword = c.set
		got, generated, err := demoPassword(cfg)
		if err != nil || got != c.want || generated {
			t.Errorf("embedded default with LOUYUAN_DEMO_PASSWORD=%q: %q, %v, %v; want %q", c.set, got, generated, err, c.want)
		}
	}
}

// TestServeMetricsPortTaken: with the metrics port taken, the embedded
// default (a newcomer's `go run ./server`) serves without metrics and says
// so; a production server refuses to start.
func TestServeMetricsPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	cfg := e2eEmbeddedConfig(t)
	cfg.Metrics.Addr = taken.Addr().String()
	var logs lockedBuffer
	base, stop, err := serveCapturing(t, cfg, io.Discard, &logs)
	if err != nil {
		t.Fatalf("embedded default with the metrics port taken: %v", err)
	}
	res, err := http.Get(base + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %v %v", res, err)
	}
	res.Body.Close()
	if !strings.Contains(logs.String(), "metrics listener not started") {
		t.Errorf("no warning about the metrics listener in the log:\n%s", logs.String())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	cfg = containerProductionConfig(t)
	cfg.Metrics.Addr = taken.Addr().String()
	if _, _, err := serveCapturing(t, cfg, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Fatalf("production server with the metrics port taken: %v", err)
	}
}
