package wechat

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
)

// redisCache implements the SDK's cache.Cache and cache.ContextCache on
// go-redis v9 (the SDK's own Redis cache is built on go-redis v8).
//
// The SDK type-asserts what Get returns to string, so Get answers a string
// for a present key and an untyped nil for a missing key or a Redis error —
// never []byte and never "" for a miss.
type redisCache struct {
	rdb     redis.UniversalClient
	prefix  string        // prepended to every key the SDK passes in
	timeout time.Duration // bound for the context-free methods
	logger  *slog.Logger
}

var _ cache.ContextCache = (*redisCache)(nil)

func newRedisCache(rdb redis.UniversalClient, prefix string, timeout time.Duration, logger *slog.Logger) *redisCache {
	return &redisCache{rdb: rdb, prefix: prefix, timeout: timeout, logger: logger}
}

func (c *redisCache) key(k string) string { return c.prefix + k }

// background gives the context-free methods of cache.Cache a deadline so a
// stuck Redis cannot hang an SDK call forever.
func (c *redisCache) background() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.timeout)
}

// Get returns the string stored at key, or nil.
func (c *redisCache) Get(key string) interface{} {
	ctx, cancel := c.background()
	defer cancel()
	return c.GetContext(ctx, key)
}

// GetContext returns the string stored at key, or nil.
func (c *redisCache) GetContext(ctx context.Context, key string) interface{} {
	val, err := c.rdb.Get(ctx, c.key(key)).Result()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			c.logger.WarnContext(ctx, "wechat: cache get failed", "key", key, "err", err)
		}
		return nil
	}
	return val
}

// Set stores val at key for timeout; a timeout <= 0 stores without expiry.
// val may be anything go-redis can encode (string, []byte, numbers, bool,
// time.Time, encoding.BinaryMarshaler).
func (c *redisCache) Set(key string, val interface{}, timeout time.Duration) error {
	ctx, cancel := c.background()
	defer cancel()
	return c.SetContext(ctx, key, val, timeout)
}

// SetContext stores val at key for timeout; a timeout <= 0 stores without expiry.
func (c *redisCache) SetContext(ctx context.Context, key string, val interface{}, timeout time.Duration) error {
	if timeout < 0 {
		timeout = 0
	}
	return c.rdb.Set(ctx, c.key(key), val, timeout).Err()
}

// IsExist reports whether key is present.
func (c *redisCache) IsExist(key string) bool {
	ctx, cancel := c.background()
	defer cancel()
	return c.IsExistContext(ctx, key)
}

// IsExistContext reports whether key is present.
func (c *redisCache) IsExistContext(ctx context.Context, key string) bool {
	n, err := c.rdb.Exists(ctx, c.key(key)).Result()
	return err == nil && n > 0
}

// Delete removes key.
func (c *redisCache) Delete(key string) error {
	ctx, cancel := c.background()
	defer cancel()
	return c.DeleteContext(ctx, key)
}

// DeleteContext removes key.
func (c *redisCache) DeleteContext(ctx context.Context, key string) error {
	return c.rdb.Del(ctx, c.key(key)).Err()
}
