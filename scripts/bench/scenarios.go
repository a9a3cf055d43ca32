package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

const (
	opTimeout = 30 * time.Second // one request or statement of a measured run
	dupShare  = 0.10             // share of ballots that re-submit an already counted household
)

// ---- vote_cast_c16, vote_cast_c64 ---------------------------------------

var (
	oursSource *ballotSource // continues across both runs: pairs stay fresh
	baseSource *ballotSource
	baseStmt   *sql.Stmt
)

// voteCast measures counted ballots per second. Ours: POST
// /api/v1/motions/{id}/ballots as each household's representative, every
// answer must be 201 (a re-submission replaces the counted ballot and is
// also 201). Baseline: the same key stream as one INSERT … ON DUPLICATE KEY
// UPDATE per ballot into a table keyed (motion_id, household_id), through
// database/sql, at the same concurrency, for the same time, in the same
// database. The ratio is ours/baseline: higher is better; the raw upsert is
// the machine's ceiling (targets 0.3 at 16 clients, 0.5 at 64).
func (b *bench) voteCast(ctx context.Context, name string, conc int, target string) error {
	if err := b.initCastSources(ctx); err != nil {
		return err
	}
	ours, err := b.castOurs(ctx, name, conc, b.o.duration)
	if err != nil {
		return err
	}

	logf("%s: baseline (database/sql INSERT … ON DUPLICATE KEY UPDATE) at concurrency %d…", name, conc)
	base, err := runLoad(ctx, loadSpec{name: name + " baseline", conc: conc, warmup: b.o.warmup, window: b.o.duration, probe: b.snapshot,
		op: func(ctx context.Context, _ int) error {
			p, _, err := baseSource.next()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(ctx, opTimeout)
			defer cancel()
			choice := `["` + baseSource.option() + `"]`
			if _, err := baseStmt.ExecContext(ctx, p.motion, p.household, choice, time.Now().UTC()); err != nil {
				return fmt.Errorf("baseline upsert: %w", err)
			}
			baseSource.done.add(p)
			return nil
		}})
	if err != nil {
		return err
	}
	describe(name+" baseline", base)
	emit(name, ours.rate, base.rate, target)
	return nil
}

// castOurs measures our ballot endpoint at conc clients: POST
// /api/v1/motions/{id}/ballots as each household's representative, every
// answer 201, on the key stream that continues across every cast run.
func (b *bench) castOurs(ctx context.Context, name string, conc int, window time.Duration) (loadResult, error) {
	tokenOf := make(map[int64]string, len(b.reps))
	for _, r := range b.reps {
		tokenOf[r.householdID] = r.token
	}
	logf("%s: ours (POST /api/v1/motions/{id}/ballots) at concurrency %d…", name, conc)
	ours, err := runLoad(ctx, loadSpec{name: name + " ours", conc: conc, warmup: b.o.warmup, window: window, probe: b.snapshot,
		op: func(ctx context.Context, _ int) error {
			p, dup, err := oursSource.next()
			if err != nil {
				return err
			}
			body := []byte(fmt.Sprintf(`{"household_id":%d,"options":["%s"]}`, p.household, oursSource.option()))
			status, data, err := b.api.do(ctx, opTimeout, "POST", "/api/v1/motions/"+strconv.FormatInt(p.motion, 10)+"/ballots", tokenOf[p.household], body, "application/json")
			if err != nil {
				return err
			}
			if status != http.StatusCreated {
				return fmt.Errorf("ballot of household %d on motion %d (re-submission %v): HTTP %d: %s", p.household, p.motion, dup, status, clip(data, 300))
			}
			oursSource.done.add(p)
			return nil
		}})
	if err != nil {
		return ours, errors.Join(err, b.serverAlive())
	}
	describe(name+" ours", ours)
	return ours, nil
}

// initCastSources makes the key streams of the cast scenarios once: ours
// continues across every run, so that its fresh pairs stay fresh.
func (b *bench) initCastSources(ctx context.Context) error {
	if oursSource != nil {
		return nil
	}
	hs := make([]int64, len(b.reps))
	for i, r := range b.reps {
		hs[i] = r.householdID
	}
	oursSource = &ballotSource{motions: b.castMotions, households: hs, done: b.castPairs, rng: rand.New(rand.NewPCG(1, 2)), dupShare: dupShare}
	baseSource = &ballotSource{first: 1, households: hs, done: newPairSet(), rng: rand.New(rand.NewPCG(3, 4)), dupShare: dupShare}
	return b.prepareBaselineTable(ctx)
}

func (b *bench) prepareBaselineTable(ctx context.Context) error {
	_, err := b.db.ExecContext(ctx, `CREATE TABLE bench_counted_baseline (
  motion_id BIGINT UNSIGNED NOT NULL,
  household_id BIGINT UNSIGNED NOT NULL,
  choice TEXT NOT NULL,
  channel VARCHAR(16) NOT NULL,
  version BIGINT NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (motion_id, household_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`)
	if err != nil {
		return fmt.Errorf("create baseline table: %w", err)
	}
	baseStmt, err = b.db.PrepareContext(ctx, `INSERT INTO bench_counted_baseline (motion_id, household_id, choice, channel, version, updated_at)
VALUES (?, ?, ?, 'self', 1, ?)
ON DUPLICATE KEY UPDATE choice = VALUES(choice), version = version + 1, updated_at = VALUES(updated_at)`)
	if err != nil {
		return fmt.Errorf("prepare baseline upsert: %w", err)
	}
	b.onCleanup(baseStmt.Close)
	return nil
}

// tallyView is the part of GET /api/v1/motions/{id} the checks read.
type tallyView struct {
	Motion motionView `json:"motion"`
	Tally  struct {
		Electorate struct {
			Households int `json:"households"`
		} `json:"electorate"`
		Voted struct {
			Households int `json:"households"`
		} `json:"voted"`
		Options []struct {
			Key        string `json:"key"`
			Households int    `json:"households"`
		} `json:"options"`
	} `json:"tally"`
}

// checkCastTallies compares each cast motion's live tally with the pairs
// that got a 201: every household with an accepted ballot must be counted
// once, and nobody else.
func (b *bench) checkCastTallies(ctx context.Context) {
	total := 0
	for _, id := range b.castMotions {
		var t tallyView
		if err := b.api.call(ctx, time.Minute, "GET", fmt.Sprintf("/api/v1/motions/%d", id), b.staffToken, nil, http.StatusOK, &t); err != nil {
			b.fail("read tally of motion %d: %v", id, err)
			continue
		}
		want := b.castPairs.count(id)
		total += want
		sum := 0
		for _, o := range t.Tally.Options {
			sum += o.Households
		}
		if t.Tally.Voted.Households != want || sum != want {
			b.fail("motion %d: live tally counts %d voted households (options sum %d), %d households got a 201", id, t.Tally.Voted.Households, sum, want)
		}
	}
	var dbCount int
	if err := b.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM counted_ballots").Scan(&dbCount); err != nil {
		b.fail("count counted_ballots: %v", err)
	} else if dbCount != total {
		b.fail("counted_ballots has %d rows, %d households got a 201", dbCount, total)
	}
	logf("checked live tallies of %d motion(s): %d counted households, as accepted", len(b.castMotions), total)
}

// ---- tally_read_c64, tally_read_p99_ms ----------------------------------

// tallyRead measures authenticated GET /api/v1/motions/{id} (motion and
// live tally) at concurrency 64, each worker a different household
// representative (the mini-program's readers), against a bare Gin handler
// in this process that answers the same bytes from memory, through the
// same kind of HTTP client. Throughput ratio ours/baseline: higher is
// better, target 0.4. The p99 line reports milliseconds; there the ratio
// ours/baseline is a slowdown factor (lower is better) and its target,
// 25, is an absolute bound on ours in ms, not a ratio.
func (b *bench) tallyRead(ctx context.Context) error {
	const conc = 64
	id := b.castMotions[0]
	path := fmt.Sprintf("/api/v1/motions/%d", id)
	status, body, err := b.api.do(ctx, time.Minute, "GET", path, b.reps[0].token, nil, "")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s as a representative: HTTP %d: %s", path, status, clip(body, 300))
	}
	logf("tally_read_c64: ours (GET %s as %d representatives, %d-byte answer) at concurrency %d…", path, min(conc, len(b.reps)), len(body), conc)
	ours, err := b.readLoad(ctx, "tally_read_c64 ours", b.api, path, func(w int) string { return b.reps[w%len(b.reps)].token }, conc, false)
	if err != nil {
		return errors.Join(err, b.serverAlive())
	}
	describe("tally_read_c64 ours", ours)

	bare, stop, err := startBareGin(path, body)
	if err != nil {
		return err
	}
	defer stop()
	logf("tally_read_c64: baseline (bare Gin handler, same %d bytes) at concurrency %d…", len(body), conc)
	base, err := b.readLoad(ctx, "tally_read_c64 baseline", bare, path, func(w int) string { return b.reps[w%len(b.reps)].token }, conc, false)
	if err != nil {
		return err
	}
	describe("tally_read_c64 baseline", base)
	emit("tally_read_c64", ours.rate, base.rate, "0.4")
	emit("tally_read_p99_ms", ms(ours.percentile(0.99)), ms(base.percentile(0.99)), "25")
	return nil
}

// readLoad GETs path with each worker's token; only 200s count. Unless
// tolerant, the first other answer (or timeout) stops the run with an
// error; tolerant runs count failures and go on while the server lives.
func (b *bench) readLoad(ctx context.Context, name string, c *apiClient, path string, token func(worker int) string, conc int, tolerant bool) (loadResult, error) {
	var tolerate func(error) bool
	if tolerant {
		tolerate = func(error) bool {
			if b.serverAlive() != nil {
				return false
			}
			time.Sleep(10 * time.Millisecond) // no hot loop on instant failures
			return true
		}
	}
	return runLoad(ctx, loadSpec{name: name, conc: conc, warmup: b.o.warmup, window: b.o.duration, probe: b.snapshot, tolerate: tolerate,
		op: func(ctx context.Context, w int) error {
			status, data, err := c.do(ctx, opTimeout, "GET", path, token(w), nil, "")
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("GET %s: HTTP %d: %s", path, status, clip(data, 300))
			}
			return nil
		}})
}

// startBareGin serves body at path from a Gin engine with no middleware on
// a loopback port of this process.
func startBareGin(path string, body []byte) (*apiClient, func(), error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET(path, func(c *gin.Context) { c.Data(http.StatusOK, "application/json; charset=utf-8", body) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	c := newAPIClient("http://" + ln.Addr().String())
	return c, func() {
		c.close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// ---- tally_read_scale ----------------------------------------------------

// tallyScale measures tally reads per second (GET /api/v1/motions/{id} as
// the community staff, concurrency 64) of a motion with -scale counted
// ballots against one with -small-scale (1,000), both built by bulk SQL in
// courtyards of their own. The small motion is built and measured first,
// before the big one exists; the big one is then built, warmed up by one
// read (which makes the server rebuild its live tally from the database)
// and measured. Ratio big/small: higher is better, target 0.9. The small
// motion is measured once more while the big one exists, for stderr only,
// to tell per-read cost from background load.
func (b *bench) tallyScale(ctx context.Context) error {
	const conc = 64
	template := b.castMotions[0]
	small, err := b.buildScaleMotion(ctx, b.o.smallScale, template)
	if err != nil {
		return err
	}
	if err := b.warmTally(ctx, small, b.o.smallScale); err != nil {
		return err
	}
	staff := func(int) string { return b.staffToken }
	smallPath := fmt.Sprintf("/api/v1/motions/%d", small)
	logf("tally_read_scale: motion %d with %d counted ballots, concurrency %d…", small, b.o.smallScale, conc)
	stop := b.watchReloads(ctx, small)
	smallRes, err := b.readLoad(ctx, "tally_read_scale small", b.api, smallPath, staff, conc, true)
	logf("  live tally of motion %d rebuilt %d time(s) by the server during that run", small, stop())
	if err != nil {
		return errors.Join(err, b.serverAlive())
	}
	describe(fmt.Sprintf("tally_read_scale %d ballots", b.o.smallScale), smallRes)

	big, err := b.buildScaleMotion(ctx, b.o.scale, template)
	if err != nil {
		return err
	}
	if err := b.warmTally(ctx, big, b.o.scale); err != nil {
		return err
	}
	bigPath := fmt.Sprintf("/api/v1/motions/%d", big)
	logf("tally_read_scale: motion %d with %d counted ballots, concurrency %d…", big, b.o.scale, conc)
	stop = b.watchReloads(ctx, big)
	bigRes, err := b.readLoad(ctx, "tally_read_scale big", b.api, bigPath, staff, conc, true)
	logf("  live tally of motion %d rebuilt %d time(s) by the server during that run", big, stop())
	if err != nil {
		return errors.Join(err, b.serverAlive())
	}
	describe(fmt.Sprintf("tally_read_scale %d ballots", b.o.scale), bigRes)

	logf("tally_read_scale (diagnostic): motion %d with %d ballots again, while the big motion is open…", small, b.o.smallScale)
	stop = b.watchReloads(ctx, big)
	again, err := b.readLoad(ctx, "tally_read_scale small again", b.api, smallPath, staff, conc, true)
	logf("  live tally of motion %d rebuilt %d time(s) by the server during that run", big, stop())
	if err != nil {
		return errors.Join(err, b.serverAlive())
	}
	describe(fmt.Sprintf("tally_read_scale %d ballots (big motion open)", b.o.smallScale), again)
	for _, r := range []struct {
		what string
		res  loadResult
	}{{fmt.Sprintf("motion with %d ballots", b.o.smallScale), smallRes}, {fmt.Sprintf("motion with %d ballots", b.o.scale), bigRes},
		{fmt.Sprintf("motion with %d ballots (big motion open)", b.o.smallScale), again}} {
		if r.res.errs > 0 {
			b.fail("tally_read_scale: %d reads of the %s failed (only 200s are counted); first: %v", r.res.errs, r.what, r.res.first)
		}
	}
	// Ratio big/small: higher is better. Only successful reads count, so a
	// server that cannot serve the big motion scores near 0.
	emit("tally_read_scale", bigRes.rate, smallRes.rate, "0.9")
	return nil
}

// watchReloads polls the absolute expiry of a motion's live tally in
// Redis, which the server resets on every full rebuild (Load gives the keys
// now+30 days; Apply leaves it alone), and counts the rebuilds until stop
// is called. Diagnostics only.
func (b *bench) watchReloads(ctx context.Context, motion int64) (stop func() int) {
	meta := fmt.Sprintf("%stally:{m%d}:meta", b.prefix, motion)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan int)
	go func() {
		var last int64
		n := 0
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			if exp, err := b.rdb.PExpireTime(ctx, meta).Result(); err == nil {
				ms := exp.Milliseconds()
				if last != 0 && ms != last {
					n++
				}
				if ms > 0 {
					last = ms
				}
			}
			select {
			case <-ctx.Done():
				done <- n
				return
			case <-t.C:
			}
		}
	}()
	return func() int { cancel(); return <-done }
}

// warmTally reads a motion once so that the server loads its live tally,
// and checks the count. The first read of a big motion can outlast the
// server's 120 s write timeout (the handler finishes, the answer is lost):
// then a second read finds the tally loaded.
func (b *bench) warmTally(ctx context.Context, motion int64, households int) error {
	path := fmt.Sprintf("/api/v1/motions/%d", motion)
	start := time.Now()
	var data []byte
	for attempt := 1; ; attempt++ {
		status, body, err := b.api.do(ctx, 20*time.Minute, "GET", path, b.staffToken, nil, "")
		if err == nil && status == http.StatusOK {
			data = body
			break
		}
		if aerr := b.serverAlive(); aerr != nil {
			return aerr
		}
		if attempt == 3 {
			return fmt.Errorf("warm-up read of motion %d: status %d, %v: %s", motion, status, err, clip(body, 300))
		}
		logf("warm-up read of motion %d failed after %s (status %d, %v); reading again", motion, time.Since(start).Round(time.Millisecond), status, err)
		time.Sleep(2 * time.Second)
	}
	logf("warm-up read of motion %d (%d ballots) took %s", motion, households, time.Since(start).Round(time.Millisecond))
	// Did the server load the motion's live tally into Redis, or answer by
	// counting from the database (its fallback)? Its keys tell.
	meta := fmt.Sprintf("%stally:{m%d}:meta", b.prefix, motion)
	if n, err := b.rdb.Exists(ctx, meta).Result(); err != nil {
		logf("check live tally of motion %d in Redis: %v", motion, err)
	} else if n == 0 {
		logf("WARNING: after the warm-up read the server holds no live tally for motion %d (no key %s): it answered by counting from the database; every read will try to rebuild the tally and count from the database. Server log says: %s",
			motion, meta, b.serverLogLine(`"msg":"rebuild live tally"`, fmt.Sprintf(`"motion":%d,`, motion)))
	} else {
		logf("live tally of motion %d is loaded in Redis", motion)
	}
	var t tallyView
	if err := json.Unmarshal(data, &t); err != nil {
		return fmt.Errorf("decode tally of motion %d: %w", motion, err)
	}
	if t.Motion.Status != "voting" || t.Tally.Electorate.Households != households || t.Tally.Voted.Households != households {
		return fmt.Errorf("motion %d: status %q, electorate %d, voted %d; want voting, %d, %d", motion, t.Motion.Status,
			t.Tally.Electorate.Households, t.Tally.Voted.Households, households, households)
	}
	return nil
}
