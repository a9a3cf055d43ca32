package wechat

import (
	"context"
	"testing"
	"time"
)

// TestInvalidateOnlyRejectedToken: dropping a rejected token must not drop
// the fresh one another instance stored meanwhile.
func TestInvalidateOnlyRejectedToken(t *testing.T) {
	env := setup(t)
	c := env.client(0)
	ctx := context.Background()
	if err := env.rdb.Set(ctx, c.tokens.tokenKey, "fresh", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}

	if err := c.tokens.invalidate(ctx, "rejected"); err != nil {
		t.Fatal(err)
	}
	if v, _ := env.rdb.Get(ctx, c.tokens.tokenKey).Result(); v != "fresh" {
		t.Errorf("invalidate(rejected) dropped the fresh token: %q", v)
	}
	if err := c.tokens.invalidate(ctx, "fresh"); err != nil {
		t.Fatal(err)
	}
	if n, _ := env.rdb.Exists(ctx, c.tokens.tokenKey).Result(); n != 0 {
		t.Errorf("invalidate(fresh) kept the token")
	}
}

// TestUnlockOnlyOwnLock: a holder whose lock expired and was taken by
// another instance must not release that instance's lock.
func TestUnlockOnlyOwnLock(t *testing.T) {
	env := setup(t)
	c := env.client(0)
	ctx := context.Background()
	if err := env.rdb.Set(ctx, c.tokens.lockKey, "other-holder", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	c.tokens.unlock(ctx, "expired-holder")
	if v, _ := env.rdb.Get(ctx, c.tokens.lockKey).Result(); v != "other-holder" {
		t.Errorf("unlock released someone else's lock: %q", v)
	}
}

// TestStaleLockTakenOver: when the holder dies without storing a token, its
// lock expires and a waiter fetches the token itself.
func TestStaleLockTakenOver(t *testing.T) {
	env := setup(t)
	c := env.client(0)
	ctx := context.Background()
	if err := env.rdb.Set(ctx, c.tokens.lockKey, "dead-holder", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	token, err := c.AccessToken(ctx)
	if err != nil || token == "" {
		t.Fatalf("AccessToken = %q, %v", token, err)
	}
	if elapsed := time.Since(start); elapsed < 250*time.Millisecond {
		t.Errorf("fetched after %v, before the dead holder's lock expired", elapsed)
	}
	if got := fake.TokensIssued(); got != 1 {
		t.Errorf("TokensIssued = %d; want 1", got)
	}
}

func TestTokenCacheTTL(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		7200 * time.Second: 7140 * time.Second,
		300 * time.Second:  240 * time.Second,
		100 * time.Second:  50 * time.Second,
	} {
		if got := tokenCacheTTL(in); got != want {
			t.Errorf("tokenCacheTTL(%v) = %v; want %v", in, got, want)
		}
	}
}
