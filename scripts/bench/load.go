package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// loadSpec is one closed-loop load: conc workers each issue op back to
// back (a fixed-size worker pool, no pacing), first for the warm-up, then
// for the measured window. Only operations that complete inside the window
// count; a worker stops issuing at the end of the window and its last
// operation, finished after the window, is checked but not counted.
type loadSpec struct {
	name   string
	conc   int
	warmup time.Duration
	window time.Duration
	op     func(ctx context.Context, worker int) error
	// probe, when set, is called at the start and the end of the window
	// (diagnostics: CPU times, server metrics).
	probe func() snapshot
	// tolerate, when set, counts failed operations instead of stopping at
	// the first; it is asked after each failure whether to go on at all.
	tolerate func(err error) bool
}

type loadResult struct {
	n      int             // operations completed in the window
	rate   float64         // n per second of window
	lat    []time.Duration // their latencies, sorted
	errs   int             // failed operations (tolerant runs), in or out of the window
	first  error           // the first of them
	before snapshot
	after  snapshot
}

func (r loadResult) percentile(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat))*p+0.999999) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runLoad runs the load; the first failing operation stops every worker
// and is returned.
func runLoad(ctx context.Context, s loadSpec) (loadResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	winStart := start.Add(s.warmup)
	winEnd := winStart.Add(s.window)
	var res loadResult
	probes := make(chan struct{})
	go func() {
		defer close(probes)
		if s.probe == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(winStart)):
		}
		res.before = s.probe()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(winEnd)):
		}
		res.after = s.probe()
	}()
	lats := make([][]time.Duration, s.conc)
	var errMu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < s.conc; w++ {
		wg.Go(func() {
			mine := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(winEnd) {
					break
				}
				err := s.op(ctx, w)
				t1 := time.Now()
				if err != nil {
					if s.tolerate != nil && ctx.Err() == nil {
						errMu.Lock()
						res.errs++
						if res.first == nil {
							res.first = err
						}
						errMu.Unlock()
						if s.tolerate(err) {
							continue
						}
					}
					if ctx.Err() == nil {
						cancel(fmt.Errorf("%s: %w", s.name, err))
					}
					break
				}
				if !t1.Before(winStart) && t1.Before(winEnd) {
					mine = append(mine, t1.Sub(t0))
				}
			}
			lats[w] = mine
		})
	}
	wg.Wait()
	<-probes
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	for _, l := range lats {
		res.lat = append(res.lat, l...)
	}
	slices.Sort(res.lat)
	res.n = len(res.lat)
	res.rate = float64(res.n) / s.window.Seconds()
	return res, nil
}

// pair is one household's ballot on one motion.
type pair struct{ motion, household int64 }

// pairSet records pairs that have a counted ballot, for re-submissions
// and for checking the tallies afterwards.
type pairSet struct {
	mu   sync.Mutex
	list []pair
	seen map[pair]bool
}

func newPairSet() *pairSet { return &pairSet{seen: map[pair]bool{}} }

func (s *pairSet) add(p pair) {
	s.mu.Lock()
	if !s.seen[p] {
		s.seen[p] = true
		s.list = append(s.list, p)
	}
	s.mu.Unlock()
}

func (s *pairSet) random(r *rand.Rand) (pair, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.list) == 0 {
		return pair{}, false
	}
	return s.list[r.IntN(len(s.list))], true
}

func (s *pairSet) count(motion int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.list {
		if p.motion == motion {
			n++
		}
	}
	return n
}

// errExhausted means every (motion, household) pair has voted.
var errExhausted = errors.New("ran out of fresh (motion, household) pairs: raise -households or -motions")

// ballotSource hands out the next ballot to cast: a fresh pair (motion by
// motion, household by household) or, with probability dupShare, a
// re-submission for a pair that already has a counted ballot. Fresh pairs
// are never handed out twice, so no two workers cast a first ballot for
// the same pair; a re-submission may race another re-submission of the
// same pair, which the server must serialise (and answer 201 to both).
type ballotSource struct {
	mu         sync.Mutex
	motions    []int64 // nil: unlimited synthetic motion IDs from firstMotion
	first      int64
	households []int64
	mi, hi     int
	done       *pairSet
	rng        *rand.Rand
	dupShare   float64
}

func (s *ballotSource) next() (p pair, dup bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rng.Float64() < s.dupShare {
		if p, ok := s.done.random(s.rng); ok {
			return p, true, nil
		}
	}
	if s.hi == len(s.households) {
		s.mi, s.hi = s.mi+1, 0
	}
	var m int64
	if s.motions == nil {
		m = s.first + int64(s.mi)
	} else {
		if s.mi >= len(s.motions) {
			return pair{}, false, errExhausted
		}
		m = s.motions[s.mi]
	}
	p = pair{m, s.households[s.hi]}
	s.hi++
	return p, false, nil
}

// options of an ordinary motion, weighted like a typical vote.
func (s *ballotSource) option() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch x := s.rng.IntN(10); {
	case x < 6:
		return "agree"
	case x < 9:
		return "oppose"
	default:
		return "abstain"
	}
}
