package voting

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/identity"
)

// slowLive is a live tally whose updates wait for a release.
type slowLive struct {
	LiveTally
	release chan struct{}
	mu      sync.Mutex
	voted   int
}

func (l *slowLive) ApplyAll(_ context.Context, votes []MotionVote) []error {
	<-l.release
	l.mu.Lock()
	l.voted += len(votes)
	l.mu.Unlock()
	return make([]error, len(votes))
}

func (l *slowLive) Totals(context.Context, int64) (Totals, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Totals{ElectorateHouses: 10, VotedHouses: l.voted}, nil
}

// motionStore answers Motion for the tally read.
type motionStore struct {
	*fakeBallotStore
	m Motion
}

func (s motionStore) Motion(context.Context, int64) (Motion, error) { return s.m, nil }

// A resident hears "your ballot is in" before the live tally is updated
// (off the batch worker), but a tally read on the same instance right
// after waits for that update and shows the ballot; a tally cached before
// the update is not served after it.
func TestTallyShowsBallotsAlreadyAnswered(t *testing.T) {
	m := Motion{ID: 1, CourtyardID: 5, Status: StatusVoting, ClosesAt: time.Now().Add(time.Hour), Rule: OrdinaryRule(), Options: DecisionOptions(), Mode: ModeNamed}
	live := &slowLive{release: make(chan struct{})}
	store := motionStore{fakeBallotStore: &fakeBallotStore{tx: &fakeBallotTx{motion: m, rep: 7}}, m: m}
	s := NewService(store, live, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p := identity.Principal{Kind: identity.KindUser, ID: 7}
	s.reads.allow(p.Ref()+"/"+itoa(m.ID), time.Now())
	ctx := context.Background()

	// A tally cached before the ballot.
	if _, tl, err := s.tally(ctx, p, m.ID); err != nil || tl.VotedHouses != 0 {
		t.Fatalf("before: %+v %v", tl.Totals, err)
	}
	answered := make(chan castResult, 1)
	go func() {
		answered <- s.batch.submit(ctx, cast{motionID: 1, householdID: 1, options: []string{OptionAgree}, channel: ChannelSelf,
			castBy: "user:7", representative: 7})
	}()
	select {
	case r := <-answered:
		if r.err != nil {
			t.Fatal(r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the caller waited for the live tally update")
	}
	read := make(chan Tally, 1)
	go func() {
		_, tl, err := s.tally(ctx, p, m.ID)
		if err != nil {
			t.Error(err)
		}
		read <- tl
	}()
	select {
	case tl := <-read:
		t.Fatalf("tally read before the update of an answered ballot: %+v", tl.Totals)
	case <-time.After(50 * time.Millisecond):
	}
	close(live.release)
	select {
	case tl := <-read:
		if tl.VotedHouses != 1 {
			t.Fatalf("tally after the answered ballot: %d voted, want 1", tl.VotedHouses)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("tally read still waiting after the update")
	}
}

// A read waits only for the updates that began before it.
func TestApplyGateWaitsOnlyForEarlierUpdates(t *testing.T) {
	var g applyGate
	first := g.hold([]int64{1, 2})
	waited := make(chan struct{})
	go func() {
		g.wait(context.Background(), 1)
		close(waited)
	}()
	time.Sleep(10 * time.Millisecond)
	later := g.hold([]int64{1}) // begins after the read: not waited for
	defer later()
	select {
	case <-waited:
		t.Fatal("read did not wait for the update held before it")
	case <-time.After(20 * time.Millisecond):
	}
	first()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("read waited for an update that began after it")
	}
	g.wait(context.Background(), 2) // released: returns at once
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.wait(ctx, 1) // held by later, but the read's ctx has ended
}
