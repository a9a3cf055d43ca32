package main

// soak: mixed load for a long time (-soak-duration, default 10 minutes)
// against MariaDB + Redis — ballots (re-votes of random households), tally
// reads, signatures signed and withdrawn, notices to one unit sent through
// the delivery pipeline, and CSV exports — printing
//
//	BENCH name=soak_rss_growth_mb  ours=<MB the server's RSS grew from the end of the warm-up to the end> baseline=<RSS at the start, MB> target=50
//	BENCH name=soak_error_rate     ours=<failed/all operations> baseline=0 target=0
//
// and p50/p99 per endpoint on standard error. It is not part of the
// default scenarios: `go run ./scripts/bench soak` or `-only soak`.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// errSkipped is an operation that chose not to run (a notice sooner than a
// second after the last; no idle household to sign for): not counted.
var errSkipped = errors.New("skipped")

// soakOp is one kind of request of the mix.
type soakOp struct {
	name   string
	weight int
	run    func(ctx context.Context, rng *rand.Rand) error
}

// soakStats keeps latencies and failures per kind.
type soakStats struct {
	mu    sync.Mutex
	lat   map[string][]time.Duration
	errs  map[string]int
	first map[string]error
}

func (s *soakStats) add(name string, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs[name]++
		if s.first[name] == nil {
			s.first[name] = err
		}
		return
	}
	s.lat[name] = append(s.lat[name], d)
}

func (b *bench) soak(ctx context.Context) error {
	if len(b.reps) == 0 || len(b.castMotions) == 0 {
		return fmt.Errorf("soak needs voters and a motion")
	}
	motion := b.castMotions[0]
	// An open petition of the whole courtyard.
	var pet struct {
		ID int64 `json:"id"`
	}
	if err := b.api.call(ctx, time.Minute, "POST", "/api/v1/courtyards/1/petitions", b.staffToken, map[string]any{
		"scope_type": "courtyard", "title": "加装电梯征求意见（压力测试）", "body": "请各户签名表态。",
		"deadline": time.Now().Add(48 * time.Hour), "target_households": "2/3"}, http.StatusCreated, &pet); err != nil {
		return fmt.Errorf("create petition: %w", err)
	}
	if err := b.api.call(ctx, time.Minute, "POST", fmt.Sprintf("/api/v1/petitions/%d/publish", pet.ID), b.staffToken, nil, http.StatusOK, nil); err != nil {
		return fmt.Errorf("publish petition: %w", err)
	}
	var unit int64
	if err := b.db.QueryRowContext(ctx, "SELECT unit_id FROM households WHERE id = ?", b.reps[0].householdID).Scan(&unit); err != nil {
		return fmt.Errorf("find a unit: %w", err)
	}

	// Signatures: a household is signed or not; one request at a time each.
	var smu sync.Mutex
	signed, busy := map[int64]bool{}, map[int64]bool{}
	pickIdle := func(rng *rand.Rand) (rep, bool) {
		smu.Lock()
		defer smu.Unlock()
		for range 8 {
			r := b.reps[rng.IntN(len(b.reps))]
			if !busy[r.householdID] {
				busy[r.householdID] = true
				return r, true
			}
		}
		return rep{}, false
	}
	want := func(status int, data []byte, err error, ok ...int) error {
		if err != nil {
			return err
		}
		for _, s := range ok {
			if status == s {
				return nil
			}
		}
		return fmt.Errorf("HTTP %d: %s", status, clip(data, 200))
	}
	var lastNotice sync.Mutex
	noticeAt := time.Time{}
	ops := []soakOp{
		{"vote", 40, func(ctx context.Context, rng *rand.Rand) error {
			r := b.reps[rng.IntN(len(b.reps))]
			body := []byte(fmt.Sprintf(`{"household_id":%d,"options":["%s"]}`, r.householdID, []string{"agree", "oppose", "abstain"}[rng.IntN(3)]))
			st, data, err := b.api.do(ctx, opTimeout, "POST", fmt.Sprintf("/api/v1/motions/%d/ballots", motion), r.token, body, "application/json")
			return want(st, data, err, http.StatusCreated)
		}},
		{"tally_read", 35, func(ctx context.Context, rng *rand.Rand) error {
			r := b.reps[rng.IntN(len(b.reps))]
			st, data, err := b.api.do(ctx, opTimeout, "GET", fmt.Sprintf("/api/v1/motions/%d", motion), r.token, nil, "")
			return want(st, data, err, http.StatusOK)
		}},
		{"sign_or_withdraw", 15, func(ctx context.Context, rng *rand.Rand) error {
			r, ok := pickIdle(rng)
			if !ok {
				return errSkipped
			}
			defer func() { smu.Lock(); delete(busy, r.householdID); smu.Unlock() }()
			smu.Lock()
			was := signed[r.householdID]
			smu.Unlock()
			var st int
			var data []byte
			var err error
			if was {
				st, data, err = b.api.do(ctx, opTimeout, "DELETE", fmt.Sprintf("/api/v1/petitions/%d/signatures/%d", pet.ID, r.householdID), r.token, nil, "")
				err = want(st, data, err, http.StatusOK, http.StatusNoContent)
			} else {
				body := []byte(fmt.Sprintf(`{"household_id":%d,"real_name":"住户%d"}`, r.householdID, r.householdID))
				st, data, err = b.api.do(ctx, opTimeout, "POST", fmt.Sprintf("/api/v1/petitions/%d/signatures", pet.ID), r.token, body, "application/json")
				err = want(st, data, err, http.StatusCreated, http.StatusOK)
			}
			if err == nil {
				smu.Lock()
				signed[r.householdID] = !was
				smu.Unlock()
			}
			return err
		}},
		{"notice", 5, func(ctx context.Context, rng *rand.Rand) error {
			// At most one notice a second: each one fans out to a unit.
			lastNotice.Lock()
			if time.Since(noticeAt) < time.Second {
				lastNotice.Unlock()
				return errSkipped
			}
			noticeAt = time.Now()
			lastNotice.Unlock()
			var n struct {
				ID int64 `json:"id"`
			}
			if err := b.api.call(ctx, opTimeout, "POST", "/api/v1/notices", b.staffToken, map[string]any{
				"targets": []map[string]any{{"scope_type": "unit", "scope_id": unit}}, "title": "楼道清理通知",
				"body": "本周六上午清理楼道杂物，请各户配合。"}, http.StatusCreated, &n); err != nil {
				return err
			}
			return b.api.call(ctx, opTimeout, "POST", fmt.Sprintf("/api/v1/notices/%d/send", n.ID), b.staffToken, nil, http.StatusOK, nil)
		}},
		{"export_csv", 5, func(ctx context.Context, rng *rand.Rand) error {
			st, data, err := b.api.do(ctx, 2*time.Minute, "GET", fmt.Sprintf("/api/v1/petitions/%d/export.csv?list=signed", pet.ID), b.staffToken, nil, "")
			return want(st, data, err, http.StatusOK)
		}},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	stats := &soakStats{lat: map[string][]time.Duration{}, errs: map[string]int{}, first: map[string]error{}}
	const conc = 16
	pid := b.srv.Process.Pid
	logf("soak: %d clients for %s (after %s warm-up): votes, tally reads, signatures, notices, exports…", conc, b.o.soak, b.o.warmup)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	warmEnd := time.Now().Add(b.o.warmup)
	end := warmEnd.Add(b.o.soak)
	var startKB int64
	go func() {
		time.Sleep(time.Until(warmEnd))
		startKB, _ = procStatusKB(pid, "VmRSS")
	}()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for time.Now().Before(end) && ctx.Err() == nil {
				x := rng.IntN(total)
				var op soakOp
				for _, o := range ops {
					if x < o.weight {
						op = o
						break
					}
					x -= o.weight
				}
				t0 := time.Now()
				err := op.run(ctx, rng)
				if err == errSkipped {
					continue
				}
				if t0.After(warmEnd) || err != nil {
					stats.add(op.name, time.Since(t0), err)
				}
			}
		})
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-tick.C:
			kb, _ := procStatusKB(pid, "VmRSS")
			logf("soak: server RSS %.1f MB", kbMB(kb))
		}
	}
	endKB, err := procStatusKB(pid, "VmRSS")
	if err != nil {
		return err
	}
	ok, failed := 0, 0
	names := make([]string, 0, len(ops))
	for _, o := range ops {
		names = append(names, o.name)
	}
	sort.Strings(names)
	var lines []string
	for _, n := range names {
		lat := stats.lat[n]
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		r := loadResult{lat: lat}
		ok += len(lat)
		failed += stats.errs[n]
		lines = append(lines, fmt.Sprintf("  %-17s %7d ok %5d failed  p50 %7.1f ms  p99 %7.1f ms", n, len(lat), stats.errs[n], ms(r.percentile(0.5)), ms(r.percentile(0.99))))
		if e := stats.first[n]; e != nil {
			lines = append(lines, fmt.Sprintf("    first failure: %v", e))
		}
	}
	logf("soak per endpoint:\n%s", strings.Join(lines, "\n"))
	rate := 0.0
	if ok+failed > 0 {
		rate = float64(failed) / float64(ok+failed)
	}
	emit("soak_rss_growth_mb", max(0, kbMB(endKB-startKB)), kbMB(startKB), "50")
	emitRatio("soak_error_rate", rate, 0, 0, "0")
	return nil
}
