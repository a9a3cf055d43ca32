package voting

import (
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
	seen    map[string]time.Time
	stamp   uint64
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

func (c *readCache) keep(m Motion, t Tally, now time.Time) Tally {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stamp++
	t.Stamp = c.stamp
	if c.tallies == nil || len(c.tallies) > maxEntries {
		c.tallies = map[int64]cachedTally{}
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
