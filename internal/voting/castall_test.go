package voting

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// fakeBallotStore runs castAll's transaction against fakeBallotTx, which
// behaves as the store's does in what castAll relies on: ballots given to
// LockBallots are inserted for keys in the electorate, and a statement
// sent after a queued write is refused.
type fakeBallotStore struct {
	Store
	tx *fakeBallotTx
}

func (f *fakeBallotStore) InBallotTx(ctx context.Context, fn func(ctx context.Context, tx BallotTx) error) error {
	return fn(ctx, f.tx)
}

type fakeBallotTx struct {
	motion  Motion
	rep     int64
	queued  bool
	nextID  int64
	deleted []int64
	locked  []string // audit streams locked
}

var errFakeQueued = errors.New("statement after a queued write")

func (t *fakeBallotTx) LockBallots(ids []int64, keys []BallotKey, bs []Ballot, streams []string) (map[int64]Motion, map[BallotKey]BallotRow, error) {
	for _, b := range bs {
		// ballots.choice is a TEXT column: MariaDB (strict mode) refuses a
		// longer value, failing the statement and so the whole batch.
		if enc, _ := json.Marshal(b.Options); len(enc) > 65535 {
			return nil, nil, errors.New("Error 1406 (22001): Data too long for column 'choice'")
		}
	}
	rows := map[BallotKey]BallotRow{}
	for _, k := range keys {
		rows[k] = BallotRow{Representative: t.rep}
	}
	for i := range bs {
		t.nextID++
		bs[i].ID = t.nextID
	}
	t.locked = append(t.locked, streams...)
	return map[int64]Motion{t.motion.ID: t.motion}, rows, nil
}

func (t *fakeBallotTx) InsertBallots(bs []Ballot, streams []string) error {
	if t.queued && (len(bs) > 0 || len(streams) > 0) {
		return errFakeQueued
	}
	for i := range bs {
		t.nextID++
		bs[i].ID = t.nextID
	}
	t.locked = append(t.locked, streams...)
	return nil
}

func (t *fakeBallotTx) DeleteBallots(ids []int64) error {
	t.deleted = append(t.deleted, ids...)
	t.queued = t.queued || len(ids) > 0
	return nil
}

func (t *fakeBallotTx) SupersedeBallots(ids []int64, _ time.Time) error {
	t.queued = t.queued || len(ids) > 0
	return nil
}

func (t *fakeBallotTx) PutCountedAll(cs []Counted) error {
	t.queued = t.queued || len(cs) > 0
	return nil
}

func (t *fakeBallotTx) AppendAudit(rs []audit.Record) error {
	for _, r := range rs {
		found := false
		for _, st := range t.locked {
			found = found || st == r.Stream
		}
		if !found {
			return errors.New("audit stream not locked: " + r.Stream)
		}
	}
	t.queued = t.queued || len(rs) > 0
	return nil
}

// The first batch of a motion (its courtyard not known yet, so its audit
// heads are locked after the checks) with a ballot the checks refuse: the
// heads are locked before the refused ballot's delete is queued, the good
// ballot is counted, the refused one deleted.
func TestCastAllRefusedBallotInFirstBatch(t *testing.T) {
	m := Motion{ID: 1, CourtyardID: 5, Status: StatusVoting, ClosesAt: time.Now().Add(time.Hour), Rule: OrdinaryRule(), Options: DecisionOptions(), Mode: ModeNamed}
	store := &fakeBallotStore{}
	s := NewService(store, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for batch := range 2 { // the second batch knows the courtyard: heads locked with the rows
		tx := &fakeBallotTx{motion: m, rep: 7}
		store.tx = tx
		rs, err := s.castAll(context.Background(), []cast{
			{motionID: 1, householdID: 1, options: []string{OptionAgree}, channel: ChannelSelf, castBy: "user:7", representative: 7},
			{motionID: 1, householdID: 2, options: []string{"nope"}, channel: ChannelSelf, castBy: "user:7", representative: 7},
		})
		if err != nil {
			t.Fatal(err)
		}
		if rs[0].err != nil || rs[0].counted.BallotID != 1 || louyuan.ErrorCode(rs[1].err) != "bad_option" {
			t.Fatalf("results %+v", rs)
		}
		if len(tx.deleted) != 1 || tx.deleted[0] != 2 {
			t.Errorf("batch %d: deleted %v, want the refused ballot 2", batch, tx.deleted)
		}
	}
}

// One resident's ballot with an option that no motion has, long enough
// (once JSON-encoded: '<' becomes \u003c) to overflow ballots.choice, must
// be refused on its own: it must not reach the early insert and fail the
// batch, and with it the ballots of everyone batched with it.
func TestCastAllOversizedOptionRefusedAlone(t *testing.T) {
	m := Motion{ID: 1, CourtyardID: 5, Status: StatusVoting, ClosesAt: time.Now().Add(time.Hour), Rule: OrdinaryRule(), Options: DecisionOptions(), Mode: ModeNamed}
	store := &fakeBallotStore{tx: &fakeBallotTx{motion: m, rep: 7}}
	s := NewService(store, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rs, err := s.castAll(context.Background(), []cast{
		{motionID: 1, householdID: 1, options: []string{OptionAgree}, channel: ChannelSelf, castBy: "user:7", representative: 7},
		{motionID: 1, householdID: 2, options: []string{strings.Repeat("<", 60<<10)}, channel: ChannelSelf, castBy: "user:7", representative: 7},
	})
	if err != nil {
		t.Fatalf("one bad ballot failed the batch: %v", err)
	}
	if rs[0].err != nil || rs[0].counted.BallotID == 0 || louyuan.ErrorCode(rs[1].err) != "bad_option" {
		t.Fatalf("results %+v", rs)
	}
}

// fakeProxyStore is fakeBallotStore with delegations, counting the
// statements that lock them.
type fakeProxyStore struct {
	*fakeBallotStore
	delegations map[int64]Delegation
	batchLocks  [][]int64 // ids of each LockDelegations
	singleLocks int       // LockDelegation calls
}

func (f *fakeProxyStore) LockDelegations(_ context.Context, ids []int64) (map[int64]Delegation, error) {
	f.batchLocks = append(f.batchLocks, ids)
	out := map[int64]Delegation{}
	for _, id := range ids {
		if d, ok := f.delegations[id]; ok {
			out[id] = d
		}
	}
	return out, nil
}

func (f *fakeProxyStore) LockDelegation(_ context.Context, id int64) (Delegation, error) {
	f.singleLocks++
	if d, ok := f.delegations[id]; ok {
		return d, nil
	}
	return Delegation{}, louyuan.NotFound("delegation_not_found", "没有这项委托")
}

// A proxy's ballots for several households lock their delegations in one
// statement inside the ballot transaction, not one query per household,
// and each ballot is still checked against its own delegation.
func TestCastAllProxyLocksDelegationsOnce(t *testing.T) {
	m := Motion{ID: 1, CourtyardID: 5, Status: StatusVoting, ClosesAt: time.Now().Add(time.Hour), Rule: OrdinaryRule(), Options: DecisionOptions(), Mode: ModeNamed}
	store := &fakeProxyStore{fakeBallotStore: &fakeBallotStore{tx: &fakeBallotTx{motion: m}}, delegations: map[int64]Delegation{
		11: {ID: 11, CourtyardID: 5, HouseholdID: 1, ProxyUserID: 9, MotionID: 1, Status: DelegationActive},
		12: {ID: 12, CourtyardID: 5, HouseholdID: 2, ProxyUserID: 9, MotionID: 2, Status: DelegationActive}, // another motion
		// 13 is gone (the household revoked it and it was removed)
	}}
	s := NewService(store, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	proxy := identity.Principal{Kind: identity.KindUser, ID: 9}
	held := []Delegation{store.delegations[11], store.delegations[12], {ID: 13, CourtyardID: 5, HouseholdID: 3, ProxyUserID: 9, MotionID: 1, Status: DelegationActive}}
	var cs []cast
	for hid := range int64(3) {
		c, ok := s.proxyCast(proxy, 1, hid+1, []string{OptionAgree}, held)
		if !ok {
			t.Fatalf("no proxy cast for household %d", hid+1)
		}
		cs = append(cs, c)
	}
	rs, err := s.castAll(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].err != nil || rs[0].counted.BallotID == 0 || rs[0].counted.DelegationID != 11 {
		t.Errorf("household 1 (delegation for this motion): %+v", rs[0])
	}
	if louyuan.ErrorCode(rs[1].err) != "delegation_expired" || louyuan.ErrorCode(rs[2].err) != "delegation_not_found" {
		t.Errorf("households 2 and 3: %v, %v; want delegation_expired, delegation_not_found", rs[1].err, rs[2].err)
	}
	if store.singleLocks != 0 || len(store.batchLocks) != 1 || len(store.batchLocks[0]) != 3 {
		t.Errorf("delegations locked %d times one by one and in batches %v; want one statement for all three", store.singleLocks, store.batchLocks)
	}
}
