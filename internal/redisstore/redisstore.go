// Package redisstore is Louyuan's go-redis adapter: sessions, rate limits
// and (in later issues) live tallies and queues. In the embedded default the
// same code talks to an in-process Redis (miniredis), so that both modes run
// one implementation.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// Connect opens a client for a redis:// URL and checks that it answers.
func Connect(ctx context.Context, url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse Redis URL: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 2*time.Second, 3*time.Second, 3*time.Second
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("ping Redis at %s: %w", opt.Addr, err)
	}
	return rdb, nil
}

// Embedded starts an in-process Redis for the embedded default. It keeps
// nothing on disk: sessions end when the process does.
func Embedded() (*redis.Client, func(), error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, nil, fmt.Errorf("start in-process Redis: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	return rdb, func() { rdb.Close(); m.Close() }, nil
}

func unavailable(err error, what string) error {
	return &louyuan.Error{Kind: louyuan.KindUnavailable, Code: "cache_unavailable", Message: "服务暂时不可用，请稍后再试", Err: fmt.Errorf("%s: %w", what, err)}
}

// Sessions keeps issued tokens under prefix+"sess:"+hash.
type Sessions struct {
	rdb    redis.UniversalClient
	prefix string
	// keepEnded is how long the log of ended tokens keeps an entry (see
	// EndedSince): as long as an access token lives.
	keepEnded time.Duration
}

// NewSessions returns the session store. keepEnded is how long an access
// token lives at most: the log of ended tokens keeps its entries as long.
func NewSessions(rdb redis.UniversalClient, prefix string, keepEnded time.Duration) *Sessions {
	if keepEnded <= 0 {
		keepEnded = 24 * time.Hour
	}
	return &Sessions{rdb: rdb, prefix: prefix + "sess:", keepEnded: keepEnded}
}

// Put stores s for ttl.
func (s *Sessions) Put(ctx context.Context, hash string, sess identity.Session, ttl time.Duration) error {
	b, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, s.prefix+hash, b, ttl).Err(); err != nil {
		return unavailable(err, "store session")
	}
	return nil
}

// Get reads a session.
func (s *Sessions) Get(ctx context.Context, hash string) (identity.Session, bool, error) {
	return s.read(s.rdb.Get(ctx, s.prefix+hash))
}

// takeScript marks a refresh token's session spent ("U" before its JSON)
// for the rest of its life and returns what it held: one key, one step, so
// that of two parallel uses exactly one finds it unspent.
var takeScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if not v then return false end
if string.sub(v, 1, 1) ~= "U" then
  local ttl = redis.call("PTTL", KEYS[1])
  if ttl > 0 then redis.call("SET", KEYS[1], "U" .. v, "PX", ttl) else redis.call("DEL", KEYS[1]) end
end
return v
`)

// Take marks a session spent and returns it; spent says it was already.
func (s *Sessions) Take(ctx context.Context, hash string) (identity.Session, bool, bool, error) {
	v, err := takeScript.Run(ctx, s.rdb, []string{s.prefix + hash}).Text()
	if errors.Is(err, redis.Nil) {
		return identity.Session{}, false, false, nil
	}
	if err != nil {
		return identity.Session{}, false, false, unavailable(err, "take session")
	}
	spent := strings.HasPrefix(v, "U")
	var sess identity.Session
	if err := json.Unmarshal([]byte(strings.TrimPrefix(v, "U")), &sess); err != nil {
		return identity.Session{}, false, false, nil
	}
	return sess, true, spent, nil
}

func (s *Sessions) read(cmd *redis.StringCmd) (identity.Session, bool, error) {
	b, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return identity.Session{}, false, nil
	}
	if err != nil {
		return identity.Session{}, false, unavailable(err, "read session")
	}
	var sess identity.Session
	if len(b) > 0 && b[0] == 'U' { // spent
		return identity.Session{}, false, nil
	}
	if err := json.Unmarshal(b, &sess); err != nil {
		return identity.Session{}, false, nil
	}
	return sess, true, nil
}

// Delete removes sessions.
func (s *Sessions) Delete(ctx context.Context, hashes ...string) error {
	keys := make([]string, 0, len(hashes))
	for _, h := range hashes {
		if h != "" {
			keys = append(keys, s.prefix+h)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if err := s.rdb.Del(ctx, keys...).Err(); err != nil {
		return unavailable(err, "delete session")
	}
	return nil
}

// Revoke records that an access token ended early, for ttl, and adds it
// to the log of ended tokens.
func (s *Sessions) Revoke(ctx context.Context, tokenID string, ttl time.Duration) error {
	return s.end(ctx, "ended:", "token", tokenID, ttl)
}

// EndFamily records that every token of a login ended, for ttl, and adds
// it to the log of ended tokens.
func (s *Sessions) EndFamily(ctx context.Context, family string, ttl time.Duration) error {
	return s.end(ctx, "family:", "family", family, ttl)
}

// end sets the key that Revoked asks about and appends to the log that
// EndedSince reads, in one MULTI/EXEC: a connection lost on the way leaves
// both written or neither (the instances read the log, a refresh asks the
// key). The log is a stream whose entries older than keepEnded are trimmed
// as new ones come.
func (s *Sessions) end(ctx context.Context, key, field, id string, ttl time.Duration) error {
	minID := strconv.FormatInt(time.Now().Add(-s.keepEnded).UnixMilli(), 10)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.prefix+key+id, 1, ttl)
		p.XAdd(ctx, &redis.XAddArgs{Stream: s.prefix + "ended-log", MinID: minID, Approx: true, Values: []any{field, id}})
		return nil
	})
	if err != nil {
		return unavailable(err, "end "+field)
	}
	return nil
}

// EndedSince reads the log of ended tokens and families after cursor (""
// for all it keeps), oldest first, at most limit entries, and returns the
// cursor to read on from. Entries are ordered by Redis's own IDs, so that
// instances whose clocks differ still read each entry exactly once.
func (s *Sessions) EndedSince(ctx context.Context, cursor string, limit int) ([]identity.Ended, string, error) {
	start := "-"
	if cursor != "" {
		start = "(" + cursor
	}
	msgs, err := s.rdb.XRangeN(ctx, s.prefix+"ended-log", start, "+", int64(limit)).Result()
	if err != nil {
		return nil, cursor, unavailable(err, "read ended tokens")
	}
	out := make([]identity.Ended, 0, len(msgs))
	for _, m := range msgs {
		cursor = m.ID
		if id, ok := m.Values["token"].(string); ok {
			out = append(out, identity.Ended{TokenID: id})
		}
		if f, ok := m.Values["family"].(string); ok {
			out = append(out, identity.Ended{Family: f})
		}
	}
	return out, cursor, nil
}

// Revoked reports whether an access token or its family ended early (one
// round trip; the keys are asked separately so that Redis Cluster may hold
// them on different nodes).
func (s *Sessions) Revoked(ctx context.Context, tokenID, family string) (bool, error) {
	var cmds []*redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if tokenID != "" {
			cmds = append(cmds, p.Exists(ctx, s.prefix+"ended:"+tokenID))
		}
		if family != "" {
			cmds = append(cmds, p.Exists(ctx, s.prefix+"family:"+family))
		}
		return nil
	})
	if err != nil {
		return false, unavailable(err, "check ended access token")
	}
	for _, c := range cmds {
		if c.Val() > 0 {
			return true, nil
		}
	}
	return false, nil
}

// Limiter is a fixed-window rate limiter shared by every server instance.
// (go-redis/redis_rate puts its keys under a fixed "rate:" prefix outside
// ours, which a Redis ACL fenced to our prefix would refuse; a window
// counter is all that login and invite limits need.)
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewLimiter returns a limiter keyed under prefix+"rl:".
func NewLimiter(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix + "rl:"}
}

// windowScript counts one attempt in the current window and returns the
// count and the window's remaining milliseconds.
var windowScript = redis.NewScript(`
local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
local ttl = redis.call("PTTL", KEYS[1])
if ttl < 0 then redis.call("PEXPIRE", KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`)

// Allow spends one attempt of key; limit attempts per window of per.
func (l *Limiter) Allow(ctx context.Context, key string, limit int, per time.Duration) (bool, time.Duration, error) {
	res, err := windowScript.Run(ctx, l.rdb, []string{l.prefix + key}, per.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, unavailable(err, "rate limit")
	}
	if res[0] > int64(limit) {
		return false, time.Duration(res[1]) * time.Millisecond, nil
	}
	return true, 0, nil
}

// Spend counts one attempt of key in a window of per started by the first
// attempt, and returns the window's attempts so far (this one included) and
// the time it has left. One script: parallel attempts each get their own
// count.
func (l *Limiter) Spend(ctx context.Context, key string, per time.Duration) (int, time.Duration, error) {
	res, err := windowScript.Run(ctx, l.rdb, []string{l.prefix + key}, per.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, unavailable(err, "count attempts")
	}
	return int(res[0]), time.Duration(res[1]) * time.Millisecond, nil
}

// Reset forgets key's attempts.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := l.rdb.Del(ctx, l.prefix+key).Err(); err != nil {
		return unavailable(err, "reset attempts")
	}
	return nil
}
