package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Queue is a list of IDs shared by every server instance (the notice
// delivery queue). It is a hint, not the record: the database's outbox rows
// say what is due, an ID popped twice is harmless (workers claim rows with
// a conditional update) and one lost is put back by the sweeper.
type Queue struct {
	rdb redis.UniversalClient
	// blocking takes the pops, which hold a connection while they wait
	// (see BlockingClient); rdb when not set.
	blocking redis.UniversalClient
	key      string
}

// NewQueue returns the queue name under prefix.
func NewQueue(rdb redis.UniversalClient, prefix, name string) *Queue {
	return &Queue{rdb: rdb, blocking: rdb, key: prefix + "q:" + name}
}

// WithBlocking makes Pop wait on c (see BlockingClient) instead of the
// client the queue was made with.
func (q *Queue) WithBlocking(c redis.UniversalClient) *Queue {
	q.blocking = c
	return q
}

// BlockingClient returns a client of the same Redis as rdb, with a pool of
// its own of n connections, for commands that block (a queue's pop). A
// blocked pop holds its connection for as long as it waits: in the pool
// that requests share (10 connections per CPU by default) a few delivery
// workers waiting for work would leave logins, rate limits and live
// tallies queueing for a connection — on a one-CPU container, 8 workers
// left 2, and 10 or more left none.
func BlockingClient(rdb *redis.Client, n int) *redis.Client {
	opt := *rdb.Options()
	opt.PoolSize, opt.MinIdleConns, opt.MaxIdleConns = max(n, 1), 0, max(n, 1)
	return redis.NewClient(&opt)
}

// Push appends IDs to the queue.
func (q *Queue) Push(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = id
	}
	if err := q.rdb.RPush(ctx, q.key, vals...).Err(); err != nil {
		return fmt.Errorf("push to %s: %w", q.key, err)
	}
	return nil
}

// Pop takes the oldest ID, waiting up to wait for one.
func (q *Queue) Pop(ctx context.Context, wait time.Duration) (int64, bool, error) {
	res, err := q.blocking.BLPop(ctx, wait, q.key).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("pop from %s: %w", q.key, err)
	}
	id, err := strconv.ParseInt(res[1], 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("queue %s holds %q: %w", q.key, res[1], err)
	}
	return id, true, nil
}

// Len is the number of IDs waiting.
func (q *Queue) Len(ctx context.Context) (int64, error) {
	return q.rdb.LLen(ctx, q.key).Result()
}

// Pacer spaces events evenly across every server instance: each Reserve
// takes the next free slot, 1/rate apart on Redis's clock, and says how
// long to wait for it. Over any second at most rate (+1) slots start, which
// a fixed window cannot promise at its edges.
type Pacer struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewPacer returns a pacer keyed under prefix+"pace:".
func NewPacer(rdb redis.UniversalClient, prefix string) *Pacer {
	return &Pacer{rdb: rdb, prefix: prefix + "pace:"}
}

var paceScript = redis.NewScript(`
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = tonumber(redis.call("GET", KEYS[1]) or "0")
if slot < now then slot = now end
local interval = tonumber(ARGV[1])
redis.call("SET", KEYS[1], tostring(slot + interval), "PX", math.floor((slot + interval - now) / 1000) + 1000)
return slot - now
`)

// Reserve takes the next slot of key at rate per second and returns the
// wait until it.
func (p *Pacer) Reserve(ctx context.Context, key string, rate int) (time.Duration, error) {
	if rate <= 0 {
		return 0, fmt.Errorf("pacer %s: rate %d", key, rate)
	}
	us, err := paceScript.Run(ctx, p.rdb, []string{p.prefix + key}, int64(time.Second/time.Microsecond)/int64(rate)).Int64()
	if err != nil {
		return 0, fmt.Errorf("pace %s: %w", key, err)
	}
	return time.Duration(us) * time.Microsecond, nil
}
