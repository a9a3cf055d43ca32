package voting

import (
	"context"
	"errors"
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
