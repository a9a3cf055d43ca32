package identity

import (
	"context"
	"sync"
	"time"
)

// Ended is one entry of the log of ended tokens: an access token (TokenID)
// or every token of a login (Family).
type Ended struct {
	TokenID string
	Family  string
}

const (
	// endedSyncEvery is how often an instance reads the log of ended
	// tokens (see RunEndedSync): a logout or a reused refresh token on
	// another instance takes effect here within about this long.
	endedSyncEvery = time.Second
	// endedStale is how old this instance's copy of the log may be before
	// each request asks Redis again (while Redis cannot be read).
	endedStale = principalTTL
	// endedPage is how many entries one read of the log takes.
	endedPage = 1000
)

// endedTokens is this instance's copy of the log of ended tokens: with it,
// checking a token costs no round trip to Redis.
type endedTokens struct {
	mu       sync.RWMutex
	tokens   map[string]time.Time // token ID → when it can be forgotten
	families map[string]time.Time
	cursor   string    // of the log, after the last entry read
	synced   time.Time // every entry ended before this is in the copy
	pruned   time.Time // when entries past their tokens' expiry were last dropped
}

// fresh reports whether the copy was brought up to date recently enough
// to answer alone.
func (e *endedTokens) fresh(now time.Time) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return !e.synced.IsZero() && now.Sub(e.synced) < endedStale
}

func (e *endedTokens) ended(tokenID, family string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, t := e.tokens[tokenID]
	_, f := e.families[family]
	return t || (f && family != "")
}

// add records entries, kept until forget.
func (e *endedTokens) add(es []Ended, forget time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tokens == nil {
		e.tokens, e.families = map[string]time.Time{}, map[string]time.Time{}
	}
	for _, x := range es {
		if x.TokenID != "" {
			e.tokens[x.TokenID] = forget
		}
		if x.Family != "" {
			e.families[x.Family] = forget
		}
	}
}

// SyncEnded brings this instance's copy of the log of ended tokens up to
// date: whatever any instance ended since the last read. Entries are kept
// as long as the tokens they end could live.
func (s *Service) SyncEnded(ctx context.Context) error {
	start := s.now()
	s.ended.mu.RLock()
	cursor := s.ended.cursor
	s.ended.mu.RUnlock()
	forget := start.Add(s.cfg.AccessTTL + time.Minute)
	for {
		es, next, err := s.sessions.EndedSince(ctx, cursor, endedPage)
		if err != nil {
			return err
		}
		s.ended.add(es, forget)
		if next == cursor || len(es) < endedPage {
			cursor = next
			break
		}
		cursor = next
	}
	s.ended.mu.Lock()
	defer s.ended.mu.Unlock()
	s.ended.cursor, s.ended.synced = cursor, start
	// Dropping expired entries walks the whole copy under the lock that
	// every request's token check takes: once a minute, not every read.
	if start.Sub(s.ended.pruned) < time.Minute {
		return nil
	}
	s.ended.pruned = start
	for id, t := range s.ended.tokens {
		if start.After(t) {
			delete(s.ended.tokens, id)
		}
	}
	for f, t := range s.ended.families {
		if start.After(t) {
			delete(s.ended.families, f)
		}
	}
	return nil
}

// RunEndedSync keeps this instance's copy of the log of ended tokens up to
// date until ctx ends. While the log cannot be read, requests ask Redis
// about their token again (see checkToken).
func (s *Service) RunEndedSync(ctx context.Context) {
	t := time.NewTicker(endedSyncEvery)
	defer t.Stop()
	failing := false
	for {
		err := s.SyncEnded(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			s.log.WarnContext(ctx, "cannot read the ended tokens; checking each token with Redis", "err", err)
			failing = true
		case err == nil && failing:
			s.log.InfoContext(ctx, "reading the ended tokens again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
