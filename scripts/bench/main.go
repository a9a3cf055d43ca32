// Command bench is Louyuan's load benchmark. It drives the real server
// (built from ./server and run as a subprocess) over loopback against
// MariaDB and Redis, and measures a baseline for every scenario in the same
// run, on the same machine, at the same concurrency and for the same time:
//
//	vote_cast_c16, vote_cast_c64   counted ballots/s through POST /api/v1/motions/{id}/ballots
//	                               vs. a raw database/sql client doing one
//	                               INSERT … ON DUPLICATE KEY UPDATE per ballot
//	                               (the machine's ceiling)
//	vote_cast_peer_c16, _c64       the same vs. the peer: the ballot endpoint a
//	                               typical Gin + GORM project writes (HMAC bearer
//	                               token, ShouldBindJSON, one GORM upsert), run
//	                               as a process of its own
//	tally_read_c64                 GET /api/v1/motions/{id} reads/s vs. a bare Gin
//	                               handler in this process serving a fixed body
//	                               (also prints tally_read_p99_ms)
//	tally_read_scale               tally reads/s of a motion with -scale counted
//	                               ballots vs. one with 1,000
//	export_xlsx_100k               seconds to download GET /api/v1/petitions/{id}/export.xlsx
//	                               of a petition with 100,000 signed households vs. a
//	                               raw excelize StreamWriter writing the same rows
//	                               in this process (ratio baseline/ours here)
//	export_xlsx_100k_rss_mb        the server's peak RSS growth (MB) during that
//	                               download vs. this process's during the raw run
//	notice_fanout_2000             recipients/s of a notice to 2,000 subscribed
//	                               representatives through the server's delivery
//	                               pipeline vs. 16 goroutines calling the fake WeChat
//	                               API directly, same Redis rate limit (200/s), 50 ms
//	                               fake latency (also prints notice_fanout_duplicates:
//	                               recipients that got more than one message)
//	soak (only when asked: `bench soak`)  mixed load for -soak-duration (10m):
//	                               soak_rss_growth_mb (target ≤ 50) and
//	                               soak_error_rate (target 0), p50/p99 per
//	                               endpoint on standard error
//
// The server talks to a fake WeChat API (internal/wechat/wechatfake) that
// this process serves on loopback, configured as a real WeChat app
// (LOUYUAN_WECHAT_APPID, _SECRET, _BASE_URL).
//
// Usage (from the repository root):
//
//	go run ./scripts/bench [-duration 10s] [-households 5000] [-scale 1000000] [-only a,b]
//
// Standard output carries only lines of the form
//
//	BENCH name=<scenario> ours=<v> baseline=<v> ratio=<ours/baseline> target=<t>
//
// (export_xlsx_100k alone reports ratio=<baseline/ours>: raw time over ours,
// so that higher is better there too.)
//
// progress and diagnostics go to standard error. Everything the bench
// creates (a database, Redis keys, a temporary folder, the server process)
// is removed at the end, also when it fails or is interrupted. The exit code
// is non-zero when anything failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The scenarios, in the order they run.
// The export scenarios run first, on a server that has not yet grown its
// heap for the others, so that its peak RSS growth is the export's own.
var scenarioNames = []string{"export_xlsx_100k", "export_xlsx_100k_rss_mb", "vote_cast_c16", "vote_cast_c64",
	"vote_cast_peer_c16", "vote_cast_peer_c64", "tally_read_c64", "tally_read_scale", "notice_fanout_2000"}

type options struct {
	duration   time.Duration
	warmup     time.Duration
	households int
	scale      int
	smallScale int
	motions    int
	mysqlDSN   string
	redisAddr  string
	only       map[string]bool
	rev        string
	keepLog    bool
	serverEnv  []string
	serverWrap []string      // a command the server runs under (e.g. valgrind)
	rounds     int           // of the peer scenarios: ours and the peer take turns
	soak       time.Duration // the soak's measured time; it runs only when asked for
}

func (o *options) want(name string) bool {
	if name == "soak" {
		return o.only["soak"]
	}
	return o.only == nil || o.only[name]
}

// maxMotions bounds the motions opened for vote_cast (each snapshots the
// whole electorate when it opens).
const maxMotions = 120

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each side of each scenario")
	fs.IntVar(&o.rounds, "rounds", 3, "vote_cast_peer_*: ours and the peer take turns this many times, each measured for duration/rounds (on a shared machine the load of others then falls on both alike)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each measured run")
	fs.IntVar(&o.households, "households", 5000, "households added to courtyard 1 by roster import (each gets a bound representative)")
	fs.IntVar(&o.scale, "scale", 1000000, "counted ballots of the big motion of tally_read_scale")
	fs.IntVar(&o.smallScale, "small-scale", 1000, "counted ballots of the small motion of tally_read_scale")
	fs.IntVar(&o.motions, "motions", 0, "motions opened for vote_cast (0: enough for the expected ballots)")
	fs.StringVar(&o.mysqlDSN, "mysql", "root@tcp(127.0.0.1:3306)/", "MySQL/MariaDB admin DSN (go-sql-driver form, no database)")
	fs.StringVar(&o.redisAddr, "redis", "127.0.0.1:6379", "Redis address host:port")
	fs.BoolVar(&o.keepLog, "keep-log", false, "keep a copy of the server's log in the system temporary folder (always kept when the run fails)")
	fs.StringVar(&o.rev, "rev", "", "build the server from this git revision (e.g. HEAD) instead of the working tree")
	serverEnv := fs.String("server-env", "", "extra LOUYUAN_* settings (and GOGC, GOMAXPROCS) for the server, comma-separated KEY=VALUE (e.g. LOUYUAN_VOTING_BATCH_MAX=16,LOUYUAN_DEBUG_ADDR=127.0.0.1:6060,GOMAXPROCS=1)")
	wrap := fs.String("server-wrap", "", "run the server under this command, space-separated (e.g. \"valgrind --tool=callgrind --instr-atstart=no\": then count one scenario's instructions with callgrind_control -i on / -d)")
	only := fs.String("only", "", "comma-separated scenarios to run (default all but soak): "+strings.Join(scenarioNames, ",")+",soak")
	fs.DurationVar(&o.soak, "soak-duration", 10*time.Minute, "measured time of the soak (mixed load; `bench soak` or -only soak)")
	if len(args) > 0 && args[0] == "soak" {
		args = append([]string{"-only", "soak"}, args[1:]...)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	o.serverWrap = strings.Fields(*wrap)
	if *serverEnv != "" {
		for _, kv := range strings.Split(*serverEnv, ",") {
			if k, _, ok := strings.Cut(kv, "="); !ok || !strings.HasPrefix(k, "LOUYUAN_") && k != "GOGC" && k != "GOMAXPROCS" {
				return nil, fmt.Errorf("-server-env: %q is not LOUYUAN_NAME=value (or GOGC, GOMAXPROCS)", kv)
			}
			o.serverEnv = append(o.serverEnv, kv)
		}
	}
	if *only != "" {
		o.only = map[string]bool{}
		for _, n := range strings.Split(*only, ",") {
			n = strings.TrimSpace(n)
			switch n {
			case "tally_read_p99_ms": // printed by tally_read_c64
				n = "tally_read_c64"
			case "notice_fanout_duplicates": // printed by notice_fanout_2000
				n = "notice_fanout_2000"
			}
			if !slices.Contains(scenarioNames, n) && n != "soak" {
				return nil, fmt.Errorf("-only: unknown scenario %q (have %s)", n, strings.Join(scenarioNames, ", "))
			}
			o.only[n] = true
		}
	}
	switch {
	case o.duration <= 0:
		return nil, errors.New("-duration must be positive")
	case o.warmup < 0:
		return nil, errors.New("-warmup must not be negative")
	case o.households < 64 || o.households > 200000:
		return nil, errors.New("-households must be between 64 and 200000")
	case o.scale < 1 || o.smallScale < 1:
		return nil, errors.New("-scale and -small-scale must be positive")
	case o.motions < 0 || o.motions > maxMotions:
		return nil, fmt.Errorf("-motions must be between 0 and %d", maxMotions)
	}
	return o, nil
}

func main() {
	os.Exit(mainCode())
}

func mainCode() int {
	if len(os.Args) > 1 && os.Args[1] == "peer" {
		// The peer baseline's own process (see peer.go).
		if err := runPeer(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench peer:", err)
			return 1
		}
		return 0
	}
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	b := newBench(o)
	err = b.run(ctx)
	b.mu.Lock()
	b.runErr = err
	b.mu.Unlock()
	if cerr := b.cleanup(); cerr != nil {
		logf("cleanup: %v", cerr)
		err = errors.Join(err, cerr)
	}
	if err == nil && len(b.failures) > 0 {
		err = fmt.Errorf("%d check(s) failed:\n  %s", len(b.failures), strings.Join(b.failures, "\n  "))
	}
	logf("total time %s", time.Since(start).Round(time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: FAILED:", err)
		return 1
	}
	return 0
}

var logStart = time.Now()

// logf writes a progress line to standard error.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%7.1fs] %s\n", time.Since(logStart).Seconds(), fmt.Sprintf(format, args...))
}

// emit prints one result line: the only thing the bench writes to stdout.
// ratio is ours/baseline in every line but export_xlsx_100k's (emitRatio).
func emit(name string, ours, baseline float64, target string) {
	ratio := 0.0
	if baseline > 0 {
		ratio = ours / baseline
	}
	emitRatio(name, ours, baseline, ratio, target)
}

// emitRatio prints a result line with a ratio computed by the caller.
func emitRatio(name string, ours, baseline, ratio float64, target string) {
	fmt.Printf("BENCH name=%s ours=%.2f baseline=%.2f ratio=%.2f target=%s\n", name, ours, baseline, ratio, target)
}

// run sets up the server and runs the chosen scenarios.
func (b *bench) run(ctx context.Context) error {
	o := b.o
	casts := o.want("vote_cast_c16") || o.want("vote_cast_c64") || o.want("vote_cast_peer_c16") || o.want("vote_cast_peer_c64")
	needVoters := casts || o.want("tally_read_c64") || o.want("notice_fanout_2000") || o.want("soak")
	needMotions := casts || o.want("tally_read_c64") || o.want("tally_read_scale") || o.want("soak")
	if err := b.startEnvironment(ctx); err != nil {
		return err
	}
	if err := b.setupCourtyard(ctx, needVoters, needMotions); err != nil {
		return err
	}
	if o.want("export_xlsx_100k") || o.want("export_xlsx_100k_rss_mb") {
		if err := b.exportXLSX(ctx); err != nil {
			return err
		}
	}
	// The raw upsert is the machine's ceiling: target 0.5 at 64 clients,
	// 0.3 at 16. The peer is the ballot endpoint a typical Gin + GORM
	// project writes: ours must at least match it.
	if o.want("vote_cast_c16") {
		if err := b.voteCast(ctx, "vote_cast_c16", 16, "0.3"); err != nil {
			return err
		}
	}
	if o.want("vote_cast_c64") {
		if err := b.voteCast(ctx, "vote_cast_c64", 64, "0.5"); err != nil {
			return err
		}
	}
	for _, c := range []int{16, 64} {
		name := fmt.Sprintf("vote_cast_peer_c%d", c)
		if o.want(name) {
			if err := b.voteCastPeer(ctx, name, c); err != nil {
				return err
			}
		}
	}
	if o.want("vote_cast_c16") || o.want("vote_cast_c64") || o.want("vote_cast_peer_c16") || o.want("vote_cast_peer_c64") {
		b.checkCastTallies(ctx)
	}
	if o.want("tally_read_c64") {
		if err := b.tallyRead(ctx); err != nil {
			return err
		}
	}
	if o.want("tally_read_scale") {
		if err := b.tallyScale(ctx); err != nil {
			return err
		}
	}
	if o.want("notice_fanout_2000") {
		if err := b.noticeFanout(ctx); err != nil {
			return err
		}
	}
	if o.want("soak") {
		if err := b.soak(ctx); err != nil {
			return err
		}
	}
	return ctx.Err()
}
