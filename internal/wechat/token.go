package wechat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/credential"
)

// Bounds of the poll a waiter runs while another instance fetches the token.
const (
	tokenPollMin = 10 * time.Millisecond
	tokenPollMax = 100 * time.Millisecond
	// tokenCacheMargin is cut from expires_in before the token is cached, so
	// no call starts with a token that is about to lapse.
	tokenCacheMargin = 60 * time.Second
)

// errTokenWait is returned when another holder of the fetch lock took longer
// than the bounded wait to store a token.
var errTokenWait = errors.New("wechat: timed out waiting for the access token fetched by another instance")

// compareAndDelete deletes KEYS[1] only while it still holds ARGV[1]. It
// releases the fetch lock (only the holder's own random value) and drops a
// rejected token (only if no one has replaced it yet).
var compareAndDelete = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0
`)

// tokenFetcher asks WeChat for an access token and its lifetime.
type tokenFetcher func(ctx context.Context) (token string, expiresIn time.Duration, err error)

// redisTokenHandle is the SDK's credential.AccessTokenContextHandle backed by
// Redis, so every server instance shares one access token.
//
// A token is read from tokenKey. On a miss, an instance takes lockKey with
// SET NX PX and a random value, checks the cache again, fetches a token,
// stores it with a TTL a little shorter than expires_in and releases the lock
// with compareAndDelete. Instances that do not get the lock poll tokenKey
// (10ms doubling to 100ms) until the holder has stored the token, for at
// most maxWait and never past ctx. When a holder fails or its lock expires,
// the next poller takes the lock and tries itself.
type redisTokenHandle struct {
	rdb      redis.UniversalClient
	tokenKey string
	lockKey  string
	fetch    tokenFetcher
	lockTTL  time.Duration // longer than one fetch can take
	maxWait  time.Duration // how long a waiter polls before giving up
	logger   *slog.Logger
}

var _ credential.AccessTokenContextHandle = (*redisTokenHandle)(nil)

// GetAccessToken implements credential.AccessTokenHandle for SDK code paths
// that take no context; it is bounded by the handle's own wait limits.
func (h *redisTokenHandle) GetAccessToken() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), h.lockTTL+h.maxWait)
	defer cancel()
	return h.GetAccessTokenContext(ctx)
}

// GetAccessTokenContext returns the shared access token, fetching it under
// the Redis lock when none is cached.
func (h *redisTokenHandle) GetAccessTokenContext(ctx context.Context) (string, error) {
	if token, ok, err := h.cached(ctx); err != nil || ok {
		return token, err
	}

	deadline := time.Now().Add(h.maxWait)
	poll := tokenPollMin
	for {
		lockValue, err := randomHex(16)
		if err != nil {
			return "", err
		}
		acquired, err := h.rdb.SetNX(ctx, h.lockKey, lockValue, h.lockTTL).Result()
		if err != nil {
			return "", fmt.Errorf("wechat: take access token lock: %w", err)
		}
		if acquired {
			return h.fetchLocked(ctx, lockValue)
		}

		if !time.Now().Before(deadline) {
			return "", errTokenWait
		}
		timer := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			timer.Stop()
			return "", fmt.Errorf("wechat: wait for access token: %w", ctx.Err())
		case <-timer.C:
		}
		poll = min(poll*2, tokenPollMax)

		if token, ok, err := h.cached(ctx); err != nil || ok {
			return token, err
		}
	}
}

// fetchLocked runs while this caller holds the lock identified by lockValue.
func (h *redisTokenHandle) fetchLocked(ctx context.Context, lockValue string) (string, error) {
	defer h.unlock(ctx, lockValue)

	// Another instance may have stored a token between our miss and our lock.
	if token, ok, err := h.cached(ctx); err != nil || ok {
		return token, err
	}

	token, expiresIn, err := h.fetch(ctx)
	if err != nil {
		return "", err
	}
	if ttl := tokenCacheTTL(expiresIn); ttl > 0 {
		if err := h.rdb.Set(ctx, h.tokenKey, token, ttl).Err(); err != nil {
			// The token is still good for this call; the next caller fetches again.
			h.logger.WarnContext(ctx, "wechat: store access token failed", "err", err)
		}
	}
	h.logger.InfoContext(ctx, "wechat: fetched access token", "expires_in", expiresIn)
	return token, nil
}

// unlock releases the lock if it is still ours, even when ctx is done.
func (h *redisTokenHandle) unlock(ctx context.Context, lockValue string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := compareAndDelete.Run(ctx, h.rdb, []string{h.lockKey}, lockValue).Err(); err != nil {
		h.logger.WarnContext(ctx, "wechat: release access token lock failed", "err", err)
	}
}

// invalidate drops the cached token if it is still the rejected one, so a
// token that another instance has already refreshed is kept.
func (h *redisTokenHandle) invalidate(ctx context.Context, rejected string) error {
	if err := compareAndDelete.Run(ctx, h.rdb, []string{h.tokenKey}, rejected).Err(); err != nil {
		return fmt.Errorf("wechat: invalidate access token: %w", err)
	}
	return nil
}

// cached returns the stored token; ok is false on a miss.
func (h *redisTokenHandle) cached(ctx context.Context) (token string, ok bool, err error) {
	token, err = h.rdb.Get(ctx, h.tokenKey).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("wechat: read access token: %w", err)
	}
	return token, token != "", nil
}

// tokenCacheTTL is expires_in less a margin; short lifetimes keep half.
func tokenCacheTTL(expiresIn time.Duration) time.Duration {
	if expiresIn > 2*tokenCacheMargin {
		return expiresIn - tokenCacheMargin
	}
	return expiresIn / 2
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("wechat: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}
