package wechat

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
)

// TestRedisCache checks the contract the SDK relies on: Get answers a string
// or an untyped nil, never []byte and never "" for a miss.
func TestRedisCache(t *testing.T) {
	env := setup(t)
	var c cache.Cache = newRedisCache(env.rdb, env.prefix+"sdk:", time.Second, slog.New(slog.DiscardHandler))

	if v := c.Get("missing"); v != nil {
		t.Errorf("Get(missing) = %#v; want nil", v)
	}
	if c.IsExist("missing") {
		t.Errorf("IsExist(missing) = true")
	}

	for key, val := range map[string]interface{}{"s": "ticket", "b": []byte("bytes"), "n": 42} {
		if err := c.Set(key, val, time.Minute); err != nil {
			t.Fatalf("Set(%q): %v", key, err)
		}
	}
	for key, want := range map[string]string{"s": "ticket", "b": "bytes", "n": "42"} {
		got, ok := c.Get(key).(string)
		if !ok || got != want {
			t.Errorf("Get(%q) = %#v; want string %q", key, c.Get(key), want)
		}
	}
	if !c.IsExist("s") {
		t.Errorf("IsExist(s) = false")
	}

	if err := c.Delete("s"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if v := c.Get("s"); v != nil {
		t.Errorf("Get after Delete = %#v", v)
	}

	if err := c.Set("short", "x", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(120 * time.Millisecond)
	if v := c.Get("short"); v != nil {
		t.Errorf("Get after expiry = %#v", v)
	}

	cc := c.(cache.ContextCache)
	if err := cc.SetContext(context.Background(), "ctx", "v", 0); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := env.rdb.TTL(context.Background(), env.prefix+"sdk:ctx").Result(); ttl != -1 {
		t.Errorf("timeout 0 stored with TTL %v; want no expiry", ttl)
	}
	if v := cache.GetContext(context.Background(), c, "ctx"); v != "v" {
		t.Errorf("cache.GetContext = %#v", v)
	}
}
