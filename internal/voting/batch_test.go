package voting

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// The batcher hands every ballot to exactly one batch, never puts two
// ballots of one household in the same batch, respects the size limit and
// the number of batches in flight, and delivers each its own result.
func TestBatcher(t *testing.T) {
	var (
		mu       sync.Mutex
		batches  [][]cast
		inFlight atomic.Int32
		maxSeen  atomic.Int32
	)
	b := &batcher{workers: 3, max: 8, timeout: time.Second,
		run: func(ctx context.Context, cs []cast) ([]castResult, error) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				m := maxSeen.Load()
				if n <= m || maxSeen.CompareAndSwap(m, n) {
					break
				}
			}
			if _, ok := ctx.Deadline(); !ok {
				t.Error("batch without a deadline")
			}
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			batches = append(batches, cs)
			mu.Unlock()
			out := make([]castResult, len(cs))
			for i, c := range cs {
				out[i].receipt.HouseholdID = c.householdID
				out[i].receipt.MotionID = c.motionID
				if c.householdID == 13 {
					out[i].err = errors.New("refused")
				}
			}
			return out, nil
		}}
	const households, each = 40, 5
	var wg sync.WaitGroup
	for h := range households {
		for range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := b.submit(context.Background(), cast{motionID: 7, householdID: int64(h)})
				switch {
				case h == 13 && r.err == nil:
					t.Errorf("household 13 got no error")
				case h != 13 && (r.err != nil || r.receipt.HouseholdID != int64(h)):
					t.Errorf("household %d got %+v", h, r)
				}
			}()
		}
	}
	wg.Wait()
	total := 0
	for _, batch := range batches {
		if len(batch) > b.max {
			t.Errorf("batch of %d, max %d", len(batch), b.max)
		}
		seen := map[BallotKey]bool{}
		for _, c := range batch {
			if seen[c.key()] {
				t.Errorf("household %d twice in one batch", c.householdID)
			}
			seen[c.key()] = true
		}
		total += len(batch)
	}
	if total != households*each {
		t.Errorf("%d ballots ran, want %d", total, households*each)
	}
	if len(batches) >= total {
		t.Errorf("%d batches for %d ballots: nothing was batched", len(batches), total)
	}
	if m := maxSeen.Load(); m > int32(b.workers) {
		t.Errorf("%d batches in flight, at most %d allowed", m, b.workers)
	}
	// The loops end once the queue is empty.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		b.mu.Lock()
		running, queued := b.running, len(b.queue)
		b.mu.Unlock()
		if running == 0 && queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the work: %d loops running, %d queued", running, queued)
		}
	}

	// A failed transaction fails every ballot of its batch; a panic too,
	// without taking the process down.
	b.run = func(context.Context, []cast) ([]castResult, error) { return nil, errors.New("database down") }
	if r := b.submit(context.Background(), cast{motionID: 1, householdID: 1}); r.err == nil {
		t.Error("no error from a failed batch")
	}
	b.run = func(context.Context, []cast) ([]castResult, error) { panic("boom") }
	if r := b.submit(context.Background(), cast{motionID: 1, householdID: 1}); r.err == nil {
		t.Error("no error from a panicking batch")
	}
	// A ballot whose request is gone before its batch starts is not cast.
	b.run = func(context.Context, []cast) ([]castResult, error) { t.Error("cancelled ballot ran"); return nil, nil }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := b.submit(ctx, cast{motionID: 1, householdID: 1}); !errors.Is(r.err, context.Canceled) || louyuan.ErrorKind(r.err) != louyuan.KindUnavailable {
		t.Errorf("cancelled ballot: %v", r.err)
	}
}

// countedRun is a batch run that counts its batches in ran and answers
// each cast with a receipt of its household.
func countedRun(ran *atomic.Int32) func(context.Context, []cast) ([]castResult, error) {
	return func(_ context.Context, cs []cast) ([]castResult, error) {
		ran.Add(1)
		out := make([]castResult, len(cs))
		for i, c := range cs {
			out[i].receipt.HouseholdID = c.householdID
		}
		return out, nil
	}
}

// A batch's after step (the live tallies) runs off the worker and after
// its ballots' callers have heard of them: the next batch does not wait
// for it, and neither do the callers. hold is taken before they hear and
// released only once the step is over (reads of the tally wait on it).
func TestBatcherAfter(t *testing.T) {
	var (
		mu       sync.Mutex
		applied  = map[int64]bool{}
		held     = map[int64]bool{} // household: hold taken and not released
		release  = make(chan struct{})
		ran      atomic.Int32
		released = make(chan int64, 2)
	)
	b := &batcher{workers: 1, max: 1, timeout: time.Second,
		run: countedRun(&ran),
		hold: func(rs []castResult) func() {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rs {
				held[r.receipt.HouseholdID] = true
			}
			return func() {
				mu.Lock()
				defer mu.Unlock()
				for _, r := range rs {
					if !applied[r.receipt.HouseholdID] {
						t.Errorf("household %d: hold released before its after step", r.receipt.HouseholdID)
					}
					held[r.receipt.HouseholdID] = false
					released <- r.receipt.HouseholdID
				}
			}
		},
		after: func(_ context.Context, rs []castResult) {
			<-release // held until both batches have run and been answered
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rs {
				applied[r.receipt.HouseholdID] = true
			}
		}}
	got := make(chan castResult, 2)
	for h := range int64(2) {
		go func() { got <- b.submit(context.Background(), cast{motionID: 1, householdID: h + 1}) }()
	}
	// One worker, one ballot per batch: both batches run and both callers
	// hear of their ballots while the after steps are still held.
	for range 2 {
		select {
		case r := <-got:
			mu.Lock()
			isHeld, done := held[r.receipt.HouseholdID], applied[r.receipt.HouseholdID]
			mu.Unlock()
			if r.err != nil || !isHeld || done {
				t.Fatalf("household %d: %v, held %v, after step done %v", r.receipt.HouseholdID, r.err, isHeld, done)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("a caller waited for the after step (%d batches ran)", ran.Load())
		}
	}
	close(release)
	for range 2 {
		select {
		case <-released:
		case <-time.After(5 * time.Second):
			t.Fatal("hold not released after the after step")
		}
	}

	// A panicking after step still releases its hold.
	b.after = func(context.Context, []castResult) { panic("redis client bug") }
	mu.Lock()
	applied[9] = true // the release's own check: the step ran (and panicked)
	mu.Unlock()
	if r := b.submit(context.Background(), cast{motionID: 1, householdID: 9}); r.err != nil || r.receipt.HouseholdID != 9 {
		t.Errorf("with a panicking after step: %+v", r)
	}
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("hold not released after a panicking after step")
	}
}

// With one worker (the default), a slow after step (Redis blackholed: a
// dial timeout per batch) must not hold the worker: several batches' after
// steps wait at once while the next batches still run.
func TestBatcherAfterSlotsIndependentOfWorkers(t *testing.T) {
	var (
		release = make(chan struct{})
		ran     atomic.Int32
	)
	const n = 4 // batches whose after steps are all held at once
	b := &batcher{workers: 1, max: 1, timeout: time.Second,
		run:   countedRun(&ran),
		after: func(context.Context, []castResult) { <-release }}
	got := make(chan castResult, n)
	for h := range int64(n) {
		go func() { got <- b.submit(context.Background(), cast{motionID: 1, householdID: h + 1}) }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for ran.Load() < n {
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("only %d of %d batches ran while the after steps were held: the one worker waited for a slot", ran.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range n {
		if r := <-got; r.err != nil {
			t.Errorf("household %d: %v", r.receipt.HouseholdID, r.err)
		}
	}
}

// A batch starts beside a running one only once minExtra ballots wait for
// it; below that they wait for the running batch to end, and then go
// together.
func TestBatcherMinExtra(t *testing.T) {
	var (
		mu      sync.Mutex
		batches [][]int64
	)
	first := make(chan struct{})   // the first batch has started
	release := make(chan struct{}) // lets the first batch end
	b := &batcher{workers: 2, minExtra: 3, max: 8, timeout: time.Second,
		run: func(_ context.Context, cs []cast) ([]castResult, error) {
			var hs []int64
			for _, c := range cs {
				hs = append(hs, c.householdID)
			}
			mu.Lock()
			batches = append(batches, hs)
			n := len(batches)
			mu.Unlock()
			if n == 1 {
				close(first)
				<-release
			}
			out := make([]castResult, len(cs))
			for i, c := range cs {
				out[i].receipt.HouseholdID = c.householdID
			}
			return out, nil
		}}
	got := make(chan castResult, 8)
	submit := func(h int64) {
		go func() { got <- b.submit(context.Background(), cast{motionID: 1, householdID: h}) }()
	}
	submit(1)
	<-first
	waitQueued := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			b.mu.Lock()
			q := len(b.queue)
			b.mu.Unlock()
			if q == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d ballots queued, want %d", q, n)
			}
		}
	}
	// Two waiting: below the threshold, no second batch.
	submit(2)
	submit(3)
	waitQueued(2)
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	n := len(batches)
	mu.Unlock()
	if n != 1 {
		t.Fatalf("%d batches with 2 ballots waiting beside a running one (threshold 3)", n)
	}
	// The third: a second batch starts with all three while the first runs.
	submit(4)
	for range 3 {
		select {
		case r := <-got:
			if r.err != nil || r.receipt.HouseholdID == 1 {
				t.Fatalf("before the first batch ended: %+v", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no second batch with 3 ballots waiting")
		}
	}
	close(release)
	if r := <-got; r.err != nil || r.receipt.HouseholdID != 1 {
		t.Fatalf("first batch: %+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(batches) != 2 || len(batches[1]) != 3 {
		t.Errorf("batches %v, want [[1] [2 3 4]]", batches)
	}
}

// A household's next ballot never runs beside the batch holding its
// previous one: it waits for a batch that starts after that one ended, so
// that the household's ballots commit in the order they arrived.
func TestBatcherHouseholdInOneBatchAtATime(t *testing.T) {
	var (
		mu      sync.Mutex
		running = map[BallotKey]bool{}
		order   []string
	)
	b := &batcher{workers: 4, minExtra: 1, max: 2, timeout: time.Second,
		run: func(_ context.Context, cs []cast) ([]castResult, error) {
			mu.Lock()
			for _, c := range cs {
				if running[c.key()] {
					t.Errorf("household %d in two running batches", c.householdID)
				}
				running[c.key()] = true
				order = append(order, c.channel)
			}
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			for _, c := range cs {
				running[c.key()] = false
			}
			mu.Unlock()
			out := make([]castResult, len(cs))
			for i, c := range cs {
				out[i].receipt.HouseholdID = c.householdID
			}
			return out, nil
		}}
	// Household 5 submits ballots "a".."f" one after another without
	// waiting for the answers, between other households' ballots.
	var wg sync.WaitGroup
	for i, ch := range []string{"a", "b", "c", "d", "e", "f"} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			b.submit(context.Background(), cast{motionID: 1, householdID: 100 + int64(i)})
		}()
		go func() {
			defer wg.Done()
			b.submit(context.Background(), cast{motionID: 1, householdID: 5, channel: ch})
		}()
		// The next one only once this one is queued (or taken).
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Microsecond) {
			mu.Lock()
			seen := slices.Contains(order, ch)
			mu.Unlock()
			b.mu.Lock()
			queued := slices.ContainsFunc(b.queue, func(p *pendingCast) bool { return p.c.channel == ch })
			b.mu.Unlock()
			if seen || queued || time.Now().After(deadline) {
				break
			}
		}
	}
	wg.Wait()
	var got []string
	for _, ch := range order {
		if ch != "" {
			got = append(got, ch)
		}
	}
	if !slices.Equal(got, []string{"a", "b", "c", "d", "e", "f"}) {
		t.Errorf("household 5's ballots ran in the order %v", got)
	}
}
