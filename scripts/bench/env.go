package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	mysql "github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"github.com/louyuan/louyuan/internal/wechat/wechatfake"
)

// bench is one run: the resources it owns and what the scenarios share.
type bench struct {
	o *options

	runID     string
	tmp       string
	dbName    string
	peerDSN   string  // the bench database, for the peer baseline
	peerPID   int     // the running peer's process, 0 when none
	adminDB   *sql.DB // no database selected: CREATE/DROP DATABASE
	db        *sql.DB // the bench database: baselines and bulk loads
	rdb       *redis.Client
	prefix    string
	srv       *exec.Cmd
	srvLog    *os.File
	srvExited chan struct{}
	api       *apiClient
	metrics   *apiClient // the server's private metrics listener
	// fake is the fake WeChat API the server talks to, served by this
	// process so that scenarios can script it and read what it was sent.
	fake    *wechatfake.Server
	fakeURL string

	staffToken  string
	communityID int64
	reps        []rep    // bound representatives of courtyard 1
	castMotions []int64  // motions open for vote_cast
	castPairs   *pairSet // (motion, household) pairs that got a counted ballot

	// failures are checks that failed without stopping the run; they make
	// the exit code non-zero.
	mu       sync.Mutex
	failures []string
	runErr   error // the run's error, for cleanup
	cleanups []func() error
}

func newBench(o *options) *bench {
	var id [4]byte
	_, _ = rand.Read(id[:])
	r := hex.EncodeToString(id[:])
	return &bench{o: o, runID: r, dbName: "louyuan_bench_" + r, prefix: "louyuan-bench-" + r + ":", castPairs: newPairSet()}
}

func (b *bench) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	logf("CHECK FAILED: %s", msg)
	b.mu.Lock()
	b.failures = append(b.failures, msg)
	b.mu.Unlock()
}

// onCleanup registers fn to run at the end, last registered first.
func (b *bench) onCleanup(fn func() error) { b.cleanups = append(b.cleanups, fn) }

// cleanup undoes everything in reverse order and reports every failure.
func (b *bench) cleanup() error {
	var errs []error
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		if err := b.cleanups[i](); err != nil {
			errs = append(errs, err)
		}
	}
	b.cleanups = nil
	return errors.Join(errs...)
}

// startEnvironment creates the database and key prefix, builds the server
// and starts it.
func (b *bench) startEnvironment(ctx context.Context) error {
	var err error
	if b.tmp, err = os.MkdirTemp("", "louyuan-bench-"); err != nil {
		return err
	}
	b.onCleanup(func() error { return os.RemoveAll(b.tmp) })

	admin, err := mysql.ParseDSN(b.o.mysqlDSN)
	if err != nil {
		return fmt.Errorf("-mysql: %w", err)
	}
	admin.DBName = ""
	admin.ParseTime = true
	admin.Loc = time.UTC
	admin.Timeout = 5 * time.Second
	if b.adminDB, err = sql.Open("mysql", admin.FormatDSN()); err != nil {
		return err
	}
	b.onCleanup(b.adminDB.Close)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.adminDB.PingContext(pctx); err != nil {
		return fmt.Errorf("connect to MySQL at %s: %w", admin.Addr, err)
	}
	if _, err := b.adminDB.ExecContext(pctx, "CREATE DATABASE `"+b.dbName+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	logf("created database %s", b.dbName)
	b.onCleanup(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if _, err := b.adminDB.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+b.dbName+"`"); err != nil {
			return fmt.Errorf("drop database %s: %w", b.dbName, err)
		}
		logf("dropped database %s", b.dbName)
		return nil
	})

	cfg := admin.Clone()
	cfg.DBName = b.dbName
	if b.db, err = sql.Open("mysql", cfg.FormatDSN()); err != nil {
		return err
	}
	b.db.SetMaxOpenConns(128)
	b.db.SetMaxIdleConns(128)
	b.onCleanup(b.db.Close)
	serverDSN, err := mysql.ParseDSN(b.o.mysqlDSN) // as given: the server adds its own parameters
	if err != nil {
		return err
	}
	serverDSN.DBName = b.dbName
	peerDSN := serverDSN.Clone()
	peerDSN.ParseTime = true
	b.peerDSN = peerDSN.FormatDSN()

	b.rdb = redis.NewClient(&redis.Options{Addr: b.o.redisAddr, DialTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second})
	b.onCleanup(b.rdb.Close)
	if err := b.rdb.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("connect to Redis at %s: %w", b.o.redisAddr, err)
	}
	b.onCleanup(b.deleteRedisKeys)

	bin := filepath.Join(b.tmp, "louyuan")
	if err := buildServer(ctx, bin, b.o.rev, b.tmp); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	// The fake WeChat API runs here, not inside the server (the server's
	// built-in one needs no LOUYUAN_WECHAT_APPID but cannot be scripted).
	// It is stopped after the server (cleanups run last registered first).
	b.fake = wechatfake.New()
	if b.fakeURL, err = b.fake.Start("127.0.0.1:0"); err != nil {
		return err
	}
	b.onCleanup(func() error { b.fake.Close(); return nil })
	logf("fake WeChat API on %s", b.fakeURL)
	phoneKey := make([]byte, 32)
	auditKey := make([]byte, 32)
	_, _ = rand.Read(phoneKey)
	_, _ = rand.Read(auditKey)
	env := []string{
		"LOUYUAN_DATABASE_DSN=" + serverDSN.FormatDSN(),
		"LOUYUAN_REDIS_URL=redis://" + b.o.redisAddr + "/0",
		"LOUYUAN_REDIS_PREFIX=" + b.prefix,
		"LOUYUAN_PHONE_KEY=" + base64.StdEncoding.EncodeToString(phoneKey),
		"LOUYUAN_AUDIT_KEY=" + hex.EncodeToString(auditKey),
		"LOUYUAN_DEMO=true",
		"LOUYUAN_DEMO_PASSWORD=" + demoStaffPassword,
		fmt.Sprintf("LOUYUAN_HTTP_ADDR=127.0.0.1:%d", port),
		fmt.Sprintf("LOUYUAN_METRICS_ADDR=127.0.0.1:%d", metricsPort),
		// Every simulated resident comes from this one loopback address.
		"LOUYUAN_LOGINS_PER_IP_PER_MINUTE=1000000",
		"LOUYUAN_INVITE_TRIES_PER_IP_PER_HOUR=1000000",
		"LOUYUAN_RECEIPT_CHECKS_PER_IP_PER_HOUR=1000000",
		"LOUYUAN_LOG_LEVEL=warn",
		"LOUYUAN_SCHEDULER_INTERVAL=1s",
		"LOUYUAN_BCRYPT_COST=4",
		"LOUYUAN_DATA_DIR=" + filepath.Join(b.tmp, "data"),
		"LOUYUAN_WECHAT_APPID=" + b.fake.AppID(),
		"LOUYUAN_WECHAT_SECRET=" + b.fake.AppSecret(),
		"LOUYUAN_WECHAT_BASE_URL=" + b.fakeURL,
		// Staff text is content-checked as this account, as the built-in
		// fake does with its operator (without it staff notices wait for
		// review).
		"LOUYUAN_WECHAT_CONTENT_CHECK_OPENID=" + b.fake.User("louyuan-operator").OpenID,
		fmt.Sprintf("LOUYUAN_NOTICES_WORKERS=%d", noticeWorkers),
		fmt.Sprintf("LOUYUAN_NOTICES_RATE_PER_SECOND=%d", noticeRate),
		"LOUYUAN_NOTICES_TEMPLATES=" + noticeTemplatesJSON,
	}
	env = append(env, b.o.serverEnv...) // later settings win
	if err := b.startServer(ctx, bin, env); err != nil {
		return err
	}
	b.api = newAPIClient(fmt.Sprintf("http://127.0.0.1:%d", port))
	b.onCleanup(func() error { b.api.close(); return nil })
	b.metrics = newAPIClient(fmt.Sprintf("http://127.0.0.1:%d", metricsPort))
	b.onCleanup(func() error { b.metrics.close(); return nil })
	return b.waitReady(ctx)
}

// buildServer compiles ./server of the module the bench runs in: its
// working tree, or with rev set that git revision, exported with git
// archive into the temporary folder (the repository is only read).
func buildServer(ctx context.Context, bin, rev, tmp string) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return errors.New("run the bench inside the louyuan module (go run ./scripts/bench)")
	}
	start := time.Now()
	dir := filepath.Dir(gomod)
	if rev != "" {
		src := filepath.Join(tmp, "src")
		if err := os.MkdirAll(src, 0o700); err != nil {
			return err
		}
		archive := exec.CommandContext(ctx, "git", "archive", "--format=tar", rev)
		archive.Dir = dir
		untar := exec.CommandContext(ctx, "tar", "-x", "-C", src)
		pipe, err := archive.StdoutPipe()
		if err != nil {
			return err
		}
		untar.Stdin = pipe
		var aerr, terr bytes.Buffer
		archive.Stderr, untar.Stderr = &aerr, &terr
		if err := untar.Start(); err != nil {
			return err
		}
		if err := archive.Run(); err != nil {
			_ = untar.Wait()
			return fmt.Errorf("git archive %s: %w: %s", rev, err, aerr.String())
		}
		if err := untar.Wait(); err != nil {
			return fmt.Errorf("untar %s: %w: %s", rev, err, terr.String())
		}
		dir = src
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./server")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./server: %w\n%s", err, stderr.String())
	}
	what := "working tree"
	if rev != "" {
		what = "git revision " + rev
	}
	logf("built server (%s) in %s", what, time.Since(start).Round(time.Millisecond))
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startServer runs the server with env (and no other LOUYUAN_* variable),
// its output going to a log file in the temporary folder.
func (b *bench) startServer(ctx context.Context, bin string, env []string) error {
	var err error
	b.srvLog, err = os.Create(filepath.Join(b.tmp, "server.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin)
	if w := b.o.serverWrap; len(w) > 0 {
		cmd = exec.Command(w[0], append(w[1:], bin)...)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOUYUAN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = b.tmp
	cmd.Stdout, cmd.Stderr = b.srvLog, b.srvLog
	setChildAttrs(cmd)
	if err := cmd.Start(); err != nil {
		b.srvLog.Close()
		return fmt.Errorf("start server: %w", err)
	}
	b.srv = cmd
	b.srvExited = make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(b.srvExited) }()
	logf("server started (pid %d), log %s", cmd.Process.Pid, b.srvLog.Name())
	b.onCleanup(func() error {
		defer b.srvLog.Close()
		select {
		case <-b.srvExited:
			b.tailServerLog(40)
			return fmt.Errorf("server exited early: %v", waitErr)
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.srvExited:
		case <-time.After(30 * time.Second):
			logf("server did not stop within 30s of SIGTERM; killing it")
			_ = cmd.Process.Kill()
			<-b.srvExited
		}
		b.reportServerLog()
		b.keepServerLog()
		var ee *exec.ExitError
		if waitErr != nil && !errors.As(waitErr, &ee) {
			return fmt.Errorf("server: %w", waitErr)
		}
		if cmd.ProcessState != nil && !cmd.ProcessState.Success() {
			b.tailServerLog(20)
			return fmt.Errorf("server exited with %s after SIGTERM", cmd.ProcessState)
		}
		logf("server stopped")
		return nil
	})
	return nil
}

// serverAlive reports an error when the server process has ended.
func (b *bench) serverAlive() error {
	select {
	case <-b.srvExited:
		return errors.New("the server process exited (see its log above)")
	default:
		return nil
	}
}

func (b *bench) waitReady(ctx context.Context) error {
	wait := 90 * time.Second
	if len(b.o.serverWrap) > 0 {
		wait = 15 * time.Minute // e.g. under valgrind
	}
	deadline := time.Now().Add(wait)
	for {
		status, _, err := b.api.do(ctx, 2*time.Second, "GET", "/readyz", "", nil, "")
		if err == nil && status == http.StatusOK {
			logf("server ready")
			return nil
		}
		if aerr := b.serverAlive(); aerr != nil {
			return aerr
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready after %v (last: status %d, %v)", wait, status, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// reportServerLog summarises the server's log (level warn and above).
func (b *bench) reportServerLog() {
	data, err := os.ReadFile(b.srvLog.Name())
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	counts := map[string]int{}
	for _, l := range lines {
		switch {
		case strings.Contains(l, `"level":"ERROR"`):
			counts["error"]++
		case strings.Contains(l, `"level":"WARN"`):
			counts["warn"]++
		}
	}
	logf("server log: %d lines, %d warnings, %d errors", len(lines), counts["warn"], counts["error"])
	if counts["error"] > 0 || counts["warn"] > 0 {
		b.tailServerLog(15)
	}
}

// keepServerLog copies the server's log out of the temporary folder when
// the run failed or -keep-log is set.
func (b *bench) keepServerLog() {
	b.mu.Lock()
	failed := b.runErr != nil || len(b.failures) > 0
	b.mu.Unlock()
	if !failed && !b.o.keepLog {
		return
	}
	data, err := os.ReadFile(b.srvLog.Name())
	if err != nil {
		return
	}
	dst := filepath.Join(os.TempDir(), "louyuan-bench-"+b.runID+"-server.log")
	if err := os.WriteFile(dst, data, 0o600); err == nil {
		logf("server log kept in %s", dst)
	}
}

// serverLogLine returns the first line of the server's log containing all
// of parts, or "(nothing)".
func (b *bench) serverLogLine(parts ...string) string {
	data, err := os.ReadFile(b.srvLog.Name())
	if err != nil {
		return "(log unreadable)"
	}
next:
	for _, l := range strings.Split(string(data), "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return clip([]byte(l), 400)
	}
	return "(nothing)"
}

func (b *bench) tailServerLog(n int) {
	data, err := os.ReadFile(b.srvLog.Name())
	if err != nil {
		return
	}
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(l, "{") || strings.HasPrefix(l, "error") || strings.Contains(l, "panic") {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	for _, l := range keep {
		if len(l) > 400 {
			l = l[:400] + "…"
		}
		fmt.Fprintln(os.Stderr, "  [server]", l)
	}
}

// deleteRedisKeys removes every key under the run's prefix.
func (b *bench) deleteRedisKeys() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var cursor uint64
	n := 0
	for {
		keys, next, err := b.rdb.Scan(ctx, cursor, b.prefix+"*", 1000).Result()
		if err != nil {
			return fmt.Errorf("scan Redis keys %s*: %w", b.prefix, err)
		}
		if len(keys) > 0 {
			if err := b.rdb.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("delete Redis keys: %w", err)
			}
			n += len(keys)
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	logf("deleted %d Redis keys under %s", n, b.prefix)
	return nil
}
