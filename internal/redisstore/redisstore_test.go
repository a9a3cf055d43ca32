package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/testenv"
)

type backend struct {
	rdb    *redis.Client
	prefix string
}

// clients runs each test against real Redis (under a key prefix of its own,
// deleted afterwards) and the embedded one.
func clients(t *testing.T) map[string]backend {
	t.Helper()
	real := testenv.Redis(t)
	emb, stop, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return map[string]backend{"redis": {real.Client, real.Prefix}, "embedded": {emb, "t:"}}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	for name, b := range clients(t) {
		t.Run(name, func(t *testing.T) {
			s := NewSessions(b.rdb, b.prefix, time.Hour)
			sess := identity.Session{Kind: identity.KindUser, PrincipalID: 7, ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second), Pair: "p", SessionKey: "sk"}
			if err := s.Put(ctx, "h1", sess, time.Minute); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.Get(ctx, "h1")
			if err != nil || !ok || got != sess {
				t.Fatalf("Get = %+v %v %v", got, ok, err)
			}
			if got, ok, spent, err := s.Take(ctx, "h1"); !ok || spent || err != nil || got != sess {
				t.Fatalf("Take = %+v found %v spent %v %v", got, ok, spent, err)
			}
			// A second use finds it spent (so that the session can be ended),
			// and Get no longer finds a usable session.
			if got, ok, spent, _ := s.Take(ctx, "h1"); !ok || !spent || got != sess {
				t.Fatalf("second Take = %+v found %v spent %v; want the spent session", got, ok, spent)
			}
			if _, ok, _ := s.Get(ctx, "h1"); ok {
				t.Fatal("Get found a spent session")
			}
			if _, ok, spent, _ := s.Take(ctx, "nope"); ok || spent {
				t.Fatal("Take found a session never stored")
			}
			if ended, err := s.Revoked(ctx, "jti", "fam"); ended || err != nil {
				t.Fatalf("Revoked before anything ended: %v %v", ended, err)
			}
			if err := s.EndFamily(ctx, "fam", time.Minute); err != nil {
				t.Fatal(err)
			}
			if ended, _ := s.Revoked(ctx, "jti", "fam"); !ended {
				t.Fatal("a token of an ended family is not revoked")
			}
			if ended, _ := s.Revoked(ctx, "jti", "other"); ended {
				t.Fatal("a token of another family is revoked")
			}
			_ = s.Put(ctx, "h2", sess, 50*time.Millisecond)
			if name == "redis" {
				time.Sleep(120 * time.Millisecond)
				if _, ok, _ := s.Get(ctx, "h2"); ok {
					t.Fatal("session outlived its TTL")
				}
			}
		})
	}
}

func TestLimiter(t *testing.T) {
	ctx := context.Background()
	for name, b := range clients(t) {
		t.Run(name, func(t *testing.T) {
			l := NewLimiter(b.rdb, b.prefix)
			for i := 0; i < 5; i++ {
				if ok, _, err := l.Allow(ctx, "k", 5, time.Hour); err != nil || !ok {
					t.Fatalf("attempt %d refused: %v", i+1, err)
				}
			}
			ok, retry, err := l.Allow(ctx, "k", 5, time.Hour)
			if err != nil || ok || retry <= 0 {
				t.Fatalf("6th attempt: ok=%v retry=%v err=%v", ok, retry, err)
			}
			if ok, _, _ := l.Allow(ctx, "other", 5, time.Hour); !ok {
				t.Fatal("another key was limited")
			}
		})
	}
}

// Workers waiting in a queue's pop hold their connections: on a client of
// their own they leave the shared pool to the requests.
func TestQueuePopsDoNotStarveThePool(t *testing.T) {
	for name, b := range clients(t) {
		t.Run(name, func(t *testing.T) {
			opt := *b.rdb.Options()
			opt.PoolSize, opt.PoolTimeout = 2, 300*time.Millisecond
			shared := redis.NewClient(&opt)
			defer shared.Close()
			pops := BlockingClient(shared, 4)
			defer pops.Close()
			if got := pops.Options().PoolSize; got != 4 {
				t.Fatalf("blocking pool of %d connections, want 4", got)
			}
			q := NewQueue(shared, b.prefix, "starve").WithBlocking(pops)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			for range 4 {
				go func() {
					defer func() { done <- struct{}{} }()
					for ctx.Err() == nil {
						_, _, _ = q.Pop(ctx, time.Second)
					}
				}()
			}
			time.Sleep(100 * time.Millisecond) // the pops are waiting
			for i := range 5 {
				if err := shared.Ping(context.Background()).Err(); err != nil {
					t.Fatalf("request %d while four pops wait: %v", i, err)
				}
			}
			if err := q.Push(context.Background(), 42); err != nil {
				t.Fatal(err)
			}
			cancel()
			for range 4 {
				<-done
			}
		})
	}
}

// The log of ended tokens: read in order, page by page, each entry once;
// entries older than the store keeps are trimmed as new ones come.
func TestEndedLog(t *testing.T) {
	ctx := context.Background()
	for name, b := range clients(t) {
		t.Run(name, func(t *testing.T) {
			s := NewSessions(b.rdb, b.prefix+"ended:", time.Hour)
			if es, cur, err := s.EndedSince(ctx, "", 10); err != nil || len(es) != 0 || cur != "" {
				t.Fatalf("empty log: %v %q %v", es, cur, err)
			}
			if err := s.Revoke(ctx, "t1", time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := s.EndFamily(ctx, "f1", time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := s.Revoke(ctx, "t2", time.Minute); err != nil {
				t.Fatal(err)
			}
			first, cur, err := s.EndedSince(ctx, "", 2)
			if err != nil {
				t.Fatal(err)
			}
			rest, cur2, err := s.EndedSince(ctx, cur, 2)
			if err != nil {
				t.Fatal(err)
			}
			got := append(first, rest...)
			want := []identity.Ended{{TokenID: "t1"}, {Family: "f1"}, {TokenID: "t2"}}
			if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
				t.Fatalf("log = %+v, want %+v", got, want)
			}
			if more, cur3, err := s.EndedSince(ctx, cur2, 2); err != nil || len(more) != 0 || cur3 != cur2 {
				t.Fatalf("after the end: %v %q %v", more, cur3, err)
			}
			// Revoked still answers for the same tokens.
			if ended, err := s.Revoked(ctx, "t2", ""); err != nil || !ended {
				t.Fatalf("Revoked(t2) = %v, %v", ended, err)
			}
			// A store that keeps nothing older than now trims the rest.
			short := NewSessions(b.rdb, b.prefix+"ended:", time.Nanosecond)
			time.Sleep(5 * time.Millisecond)
			for i := range 200 {
				if err := short.Revoke(ctx, "x"+strconv.Itoa(i), time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			all, _, err := s.EndedSince(ctx, "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range all {
				if e.TokenID == "t1" {
					t.Fatal("an entry older than the store keeps was not trimmed")
				}
			}
		})
	}
}
