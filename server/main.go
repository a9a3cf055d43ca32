// Command server is the Louyuan backend: it wires configuration, the
// database, Redis, the WeChat adapter and the domain services into the HTTP
// API, and carries the operator's subcommands.
//
//	server [serve]            run the HTTP server (the default)
//	server migrate [status]   apply (or list) database migrations
//	server admin ...          create staff accounts, grant roles, add courtyards
//	server audit verify       check the audit log's hash chains (-anchors FILE: against anchors)
//	server audit anchor       print the audit anchors (every stream head, digest, MAC)
//	server healthcheck        exit 0 when the running server's /readyz answers 200
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

const usage = `usage: server [-config FILE] [command]

commands:
  serve                     run the HTTP server (default)
  migrate [status]          apply pending database migrations, or list them
  admin create-staff ...    create a staff account (server admin create-staff -h)
  admin grant ...           grant a role over a scope (server admin grant -h)
  admin add-courtyard ...   add a subdistrict/community/courtyard (server admin add-courtyard -h)
  audit verify [-anchors F] verify the audit log's hash chains (and against published anchors)
  audit anchor [-o F]       print or write the current anchors (-published: those published so far)
  motion unseal ...         the exact count of a closed motion, for a court or a recount (audited)
  healthcheck               GET /readyz of the running server (http.addr); exit 0 when ready, 1 otherwise
`

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, stdin io.Reader) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file (or LOUYUAN_CONFIG)")
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	rest := fs.Args()
	cmd := "serve"
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, stdout, nil)
	case "migrate":
		return migrateCmd(ctx, cfg, log, rest, stdout)
	case "admin":
		return adminCmd(ctx, cfg, log, rest, stdout, stderr, stdin)
	case "audit":
		return auditCmd(ctx, cfg, log, rest, stdout, stderr)
	case "motion":
		return motionCmd(ctx, cfg, log, rest, stdout, stderr)
	case "healthcheck":
		return healthcheckCmd(ctx, cfg, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if strings.EqualFold(cfg.Log.Format, "text") {
		h = slog.NewTextHandler(w, opts)
	}
	l := slog.New(h)
	slog.SetDefault(l)
	return l
}

// serve runs the HTTP server until ctx ends, then drains requests for up to
// the shutdown timeout. ready, when not nil, receives the listening address.
func serve(ctx context.Context, cfg *Config, log *slog.Logger, stdout io.Writer, ready chan<- string) error {
	if cfg.Demo && !cfg.Embedded() {
		// The demo writes its invite codes there (the embedded default's
		// check is in openStores).
		if err := checkWritableDir(cfg.DataDir, "data folder"); err != nil {
			return err
		}
	}
	a, err := buildApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.Embedded() || cfg.Demo {
		if err := seedDemo(ctx, a, stdout); err != nil {
			return fmt.Errorf("seed the demo courtyard: %w", err)
		}
	}
	if cfg.Metrics.Addr != "" {
		stop, err := serveMetrics(cfg.Metrics.Addr, a.API.MetricsHandler(), log)
		switch {
		case err == nil:
			defer stop()
		case cfg.Embedded():
			// A laptop's port 9090 is often taken (by Prometheus itself, or
			// a second server): the embedded default runs without metrics
			// rather than not at all. A production server fails to start.
			log.Warn("metrics listener not started; set LOUYUAN_METRICS_ADDR to a free address", "err", err)
		default:
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	srv := &http.Server{
		Handler:           a.API.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("louyuan listening", "addr", ln.Addr().String(), "embedded", cfg.Embedded())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if cfg.HTTP.DebugAddr != "" {
		stop, err := serveDebug(cfg.HTTP.DebugAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	jobs, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan struct{})
	go func() { defer close(jobsDone); runScheduler(jobs, a, cfg.Scheduler.Interval) }()
	endedDone := make(chan struct{})
	go func() { defer close(endedDone); a.Identity.RunEndedSync(jobs) }()
	deliveryDone := make(chan struct{})
	go func() {
		defer close(deliveryDone)
		if cfg.Notices.Workers > 0 {
			a.Delivery.Run(jobs) // sends in flight finish after jobs ends
		}
	}()
	defer func() { stopJobs(); <-jobsDone; <-endedDone; <-deliveryDone }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.HTTP.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}

func migrateCmd(ctx context.Context, cfg *Config, log *slog.Logger, args []string, stdout io.Writer) error {
	a, err := openStores(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer a.Close()
	if len(args) == 1 && args[0] == "status" {
		applied, pending, err := a.DB.MigrationStatus(ctx, log)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied: %v\npending: %v\n", applied, pending)
		return nil
	}
	if len(args) != 0 {
		return errors.New("usage: server migrate [status]")
	}
	if err := a.DB.Migrate(ctx, log); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

func auditVerify(ctx context.Context, cfg *Config, log *slog.Logger, stdout io.Writer, anchorsFile string) error {
	var anchors []audit.Anchor
	if anchorsFile != "" {
		f, err := os.Open(anchorsFile)
		if err != nil {
			return err
		}
		anchors, err = audit.ReadAnchors(f)
		f.Close()
		if err != nil {
			return err
		}
		if len(anchors) == 0 {
			return fmt.Errorf("%s holds no anchors", anchorsFile)
		}
	}
	a, err := openStores(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer a.Close()
	checked, problems, err := a.Audit.Verify(ctx)
	if err != nil {
		return err
	}
	if len(anchors) > 0 {
		ps, err := a.Audit.CheckAnchors(ctx, anchors)
		if err != nil {
			return err
		}
		problems = append(problems, ps...)
		for _, an := range anchors {
			fmt.Fprintf(stdout, "anchor %s %s digest %s\n", an.Scope, an.At.Format(time.RFC3339), an.Digest)
		}
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, "BROKEN", p.String())
	}
	if len(problems) > 0 {
		return fmt.Errorf("audit log: %d problems in %d entries", len(problems), checked)
	}
	if len(anchors) > 0 {
		fmt.Fprintf(stdout, "audit log intact: %d entries verified, %d anchors hold\n", checked, len(anchors))
		return nil
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries verified\n", checked)
	return nil
}
