package wechat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/louyuan/louyuan/internal/wechat/wechatfake"
)

// The SDK's URI modifier and HTTP client are process globals, so every test
// in this package talks to the one fake started here and no test runs in
// parallel with another (none calls t.Parallel). Each test calls setup, which
// resets the fake and gives it a Redis key prefix of its own.
var (
	fake    *wechatfake.Server
	fakeURL string
)

func TestMain(m *testing.M) {
	fake = wechatfake.New()
	srv := httptest.NewServer(fake.Handler())
	fakeURL = srv.URL
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

// testEnv is one test's view of Redis and the shared fake.
type testEnv struct {
	t      *testing.T
	rdb    *redis.Client
	prefix string
}

// setup resets the fake and connects to the real Redis at 127.0.0.1:6379
// (LOUYUAN_TEST_REDIS_ADDR overrides). Without Redis the test fails when
// CI=true and is skipped otherwise. Keys under the test's prefix are deleted
// when it ends.
func setup(t *testing.T) *testEnv {
	t.Helper()
	addr := os.Getenv("LOUYUAN_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis at %s is required in CI: %v", addr, err)
		}
		t.Skipf("Redis at %s not reachable: %v", addr, err)
	}

	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	env := &testEnv{t: t, rdb: rdb, prefix: "louyuan:test:" + name + ":" + hex.EncodeToString(b) + ":"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, env.prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("delete test keys: %v", err)
		}
		_ = rdb.Close()
	})
	fake.Reset()
	return env
}

// client returns a Client on the shared fake and this test's key prefix.
func (e *testEnv) client(timeout time.Duration) *Client {
	e.t.Helper()
	c, err := New(Config{
		AppID:     fake.AppID(),
		AppSecret: fake.AppSecret(),
		BaseURL:   fakeURL,
		Timeout:   timeout,
		KeyPrefix: e.prefix,
	}, e.rdb, nil)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	return c
}
