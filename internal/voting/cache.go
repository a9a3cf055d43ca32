package voting

import (
	"context"
	"sync"
	"time"
)

// How long one instance reuses what tally reads need. A ballot shows in
// the tally within tallyTTL; a change in who may see a motion within
// visibleTTL.
const (
	tallyTTL   = 250 * time.Millisecond
	visibleTTL = 5 * time.Second
)

// readCache keeps recent tallies by motion and recent "may see" answers by
// caller and motion. Both are bounded: past maxEntries they start afresh.
type readCache struct {
	mu      sync.Mutex
	tallies map[int64]cachedTally
	// gens counts each motion's forgets, so that a tally read from before
	// a forget is not kept after it (see generation).
	gens  map[int64]uint64
	seen  map[string]time.Time
	stamp uint64
}

type cachedTally struct {
	m       Motion
	t       Tally
	expires time.Time
}

const maxEntries = 100_000

func (c *readCache) tally(id int64, now time.Time) (Motion, Tally, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tallies[id]
	if !ok || !now.Before(e.expires) {
		return Motion{}, Tally{}, false
	}
	return e.m, e.t, true
}

// generation is the motion's count of forgets: read it before reading a
// tally and pass it to keep.
func (c *readCache) generation(id int64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gens[id]
}

// keep caches t (read when the motion's generation was gen) unless the
// motion was forgotten since: a ballot applied meanwhile would not be in it.
func (c *readCache) keep(m Motion, t Tally, now time.Time, gen uint64) Tally {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stamp++
	t.Stamp = c.stamp
	if c.gens[m.ID] != gen {
		return t
	}
	if c.tallies == nil || len(c.tallies) > maxEntries {
		c.tallies = map[int64]cachedTally{}
		c.gens = map[int64]uint64{} // every tally read from now on sees 0 and is kept
	}
	c.tallies[m.ID] = cachedTally{m: m, t: t, expires: now.Add(tallyTTL)}
	return t
}

// forget drops a motion's cached tally (after a ballot or a step of its
// timeline on this instance; other instances catch up within tallyTTL).
func (c *readCache) forget(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tallies, id)
	if c.gens == nil {
		c.gens = map[int64]uint64{}
	}
	c.gens[id]++
}

func (c *readCache) visible(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.seen[key]
	return ok && now.Before(exp)
}

func (c *readCache) allow(key string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || len(c.seen) > maxEntries {
		c.seen = map[string]time.Time{}
	}
	c.seen[key] = now.Add(visibleTTL)
}

// applyGate knows, by motion, the batches of ballots whose callers have
// heard "your ballot is in" while the live tally on this instance is still
// being brought up to date (the batcher's after step). A tally read here
// waits for those that began before it, so that a resident sees their own
// ballot counted; batches that begin later do not hold it back, however
// busy the motion.
type applyGate struct {
	mu      sync.Mutex
	pending map[int64][]chan struct{}
}

// maxApplyWait bounds how long a tally read waits for live-tally updates
// (Redis slow or down: the read then answers from what there is).
const maxApplyWait = 2 * time.Second

// hold registers one batch's update of the motions ids; release ends it.
func (g *applyGate) hold(ids []int64) (release func()) {
	if len(ids) == 0 {
		return func() {}
	}
	done := make(chan struct{})
	g.mu.Lock()
	if g.pending == nil {
		g.pending = map[int64][]chan struct{}{}
	}
	for _, id := range ids {
		g.pending[id] = append(g.pending[id], done)
	}
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		for _, id := range ids {
			rest := g.pending[id][:0]
			for _, ch := range g.pending[id] {
				if ch != done {
					rest = append(rest, ch)
				}
			}
			if len(rest) == 0 {
				delete(g.pending, id)
			} else {
				g.pending[id] = rest
			}
		}
		g.mu.Unlock()
		close(done)
	}
}

// wait returns once the updates of motion id held now are over, ctx ends
// or maxApplyWait has passed.
func (g *applyGate) wait(ctx context.Context, id int64) {
	g.mu.Lock()
	chs := append([]chan struct{}(nil), g.pending[id]...)
	g.mu.Unlock()
	if len(chs) == 0 {
		return
	}
	timer := time.NewTimer(maxApplyWait)
	defer timer.Stop()
	for _, ch := range chs {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		}
	}
}
