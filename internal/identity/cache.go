package identity

import (
	"sync"
	"time"
)

// principalTTL is how long one server instance reuses a resolved principal
// (its grants, and the check that its token was not ended early) before
// asking the database and Redis again. A revoked role or a logout on
// another instance takes effect within it.
const principalTTL = 5 * time.Second

// principalCache remembers recently resolved principals by token ID.
type principalCache struct {
	mu sync.Mutex
	m  map[string]cachedPrincipal
}

type cachedPrincipal struct {
	p       Principal
	expires time.Time
}

func (c *principalCache) get(tokenID string, now time.Time) (Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[tokenID]
	if !ok || !now.Before(e.expires) {
		return Principal{}, false
	}
	return e.p, true
}

func (c *principalCache) put(tokenID string, p Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 50_000 {
		c.m = make(map[string]cachedPrincipal) // bounded: start afresh
	}
	c.m[tokenID] = cachedPrincipal{p: p, expires: now.Add(principalTTL)}
}

// dropPrincipal forgets every token of one principal.
func (c *principalCache) dropPrincipal(kind Kind, id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if e.p.Kind == kind && e.p.ID == id {
			delete(c.m, k)
		}
	}
}

func (c *principalCache) drop(tokenID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, tokenID)
}

// verifiedTokens remembers the claims of access tokens whose signature was
// checked: the signature covers the whole token string, so the same string
// needs no second check (its expiry is still checked on every use).
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]accessClaims
}

func (v *verifiedTokens) get(token string) (accessClaims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.m[token]
	return c, ok
}

func (v *verifiedTokens) put(token string, c accessClaims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) > 50_000 {
		v.m = make(map[string]accessClaims) // bounded: start afresh
	}
	v.m[token] = c
}
