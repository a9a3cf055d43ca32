package voting

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// BallotKey names one household's counted ballot on one motion.
type BallotKey struct {
	MotionID    int64
	HouseholdID int64
}

// BallotRow is what the ballot path locks of one household in one motion's
// electorate.
type BallotRow struct {
	Representative int64 // user ID of the household's representative, 0 if none
	Counted        Counted
	HasCounted     bool
}

// BallotStore is the ballot path of the store: a batch of ballots is
// recorded in one transaction with a fixed number of statements.
type BallotStore interface {
	// InBallotTx runs fn in a ballot transaction and commits it; on a
	// deadlock it runs fn again from the start, so fn must have no effects
	// outside tx. A locking read in it locks only the rows it finds: the
	// ballots of one household are serialised on its electorate row, not
	// on gaps between households. Store methods called with fn's ctx run
	// in the same transaction, but only before tx queues its writes (after
	// them they fail rather than read what is not yet written).
	InBallotTx(ctx context.Context, fn func(ctx context.Context, tx BallotTx) error) error
}

// BallotTx is one ballot transaction, used in this order: LockBallots,
// InsertBallots, then the writes nobody reads back (DeleteBallots,
// SupersedeBallots, PutCountedAll, AppendAudit), which are sent with the
// commit. Every method takes its locks in key order.
type BallotTx interface {
	// LockBallots reads the motions of ids with a shared lock (a close
	// waits) and locks, for each key in the electorate, the household's
	// electorate row, its counted ballot and its representative's
	// membership, and reports them; a motion that does not exist or a key
	// outside the electorate is missing from the answer. In the same round
	// trip it inserts bs, before anything is checked: each ballot whose key
	// is in the electorate gets its ID, one of a motion or household that
	// does not exist gets 0, one of a household outside the electorate
	// either; and it locks the audit heads of streams. Ballots that the
	// checks then refuse must be deleted (DeleteBallots).
	LockBallots(ids []int64, keys []BallotKey, bs []Ballot, streams []string) (map[int64]Motion, map[BallotKey]BallotRow, error)
	// InsertBallots appends to the history and sets each ballot's ID; it
	// also locks the audit streams AppendAudit will append to (those not
	// locked yet).
	InsertBallots(bs []Ballot, streams []string) error
	// DeleteBallots removes ballots inserted by LockBallots and refused.
	DeleteBallots(ids []int64) error
	SupersedeBallots(ids []int64, at time.Time) error
	// PutCountedAll creates or replaces counted ballots (their rows are
	// locked by the caller and their versions are the next ones).
	PutCountedAll(cs []Counted) error
	// AppendAudit appends records to streams InsertBallots locked.
	AppendAudit(rs []audit.Record) error
}

// cast is one ballot to record.
type cast struct {
	motionID    int64
	householdID int64
	options     []string
	channel     string
	castBy      string
	// delegationID, when set, is the delegation a proxy's ballot rests
	// on, locked and checked in the ballot's transaction (proxyAllowed).
	delegationID int64
	paperFile    string
	// representative, when set, is the user who must be the household's
	// representative, checked on a locked membership so that a
	// representative replaced a moment ago can no longer vote.
	representative int64
	// allowed checks, inside the transaction and after the household's
	// counted ballot is locked, whether this ballot may replace it.
	allowed func(ctx context.Context, m Motion, current Counted, exists bool) error
	origin  audit.Origin
}

func (c cast) key() BallotKey { return BallotKey{MotionID: c.motionID, HouseholdID: c.householdID} }

// castResult is what became of one cast.
type castResult struct {
	receipt Receipt
	counted Counted
	err     error
}

// castAll records ballots of distinct households (or motions) in one
// transaction. A ballot that may not be cast gets its own error and the
// others go on; an error of the database fails them all (nothing written).
func (s *Service) castAll(ctx context.Context, cs []cast) ([]castResult, error) {
	seen := make(map[BallotKey]bool, len(cs))
	for _, c := range cs {
		if seen[c.key()] {
			// Each would read the state the other replaces.
			return nil, fmt.Errorf("two ballots of household %d on motion %d in one transaction", c.householdID, c.motionID)
		}
		seen[c.key()] = true
	}
	// Ballots that need no check of their own (a representative's, not a
	// proxy's or a paper one) are inserted with the locks, in the first
	// round trip, before they are checked; those the checks refuse are
	// deleted again with the commit. A batch is then two round trips.
	// A ballot whose options no motion could have is checked before it is
	// inserted: written early, a long one would overflow ballots.choice and
	// fail the statement, and with it every ballot of the batch.
	early := true
	for _, c := range cs {
		early = early && c.allowed == nil && c.delegationID == 0 && plausibleChoice(c.options)
	}
	var results []castResult
	err := s.store.InBallotTx(ctx, func(ctx context.Context, tx BallotTx) error {
		results = make([]castResult, len(cs)) // afresh on a retry
		now := s.now().UTC()
		ids := make([]int64, len(cs))
		keys := make([]BallotKey, len(cs))
		var (
			ballots []Ballot // the ballot of cs[i] is ballots[i] when early
			streams []string // of the motions whose courtyard is known
		)
		if early {
			ballots = make([]Ballot, len(cs))
		}
		for i, c := range cs {
			ids[i], keys[i] = c.motionID, c.key()
			if early {
				ballots[i] = Ballot{MotionID: c.motionID, HouseholdID: c.householdID, Options: c.options, Channel: c.channel,
					CastBy: c.castBy, DelegationID: c.delegationID, PaperFile: c.paperFile, Receipt: newReceipt(), CreatedAt: now}
				if yard, ok := s.yards.Load(c.motionID); ok {
					streams = append(streams, audit.HouseholdStream(yard.(int64), c.householdID))
				}
			}
		}
		// Every ballot's motion and rows in one go, checked after.
		motions, locked, err := tx.LockBallots(ids, keys, ballots, streams)
		if err != nil {
			return err
		}
		for id, m := range motions {
			s.yards.Store(id, m.CourtyardID) // a motion's courtyard never changes
		}
		// The delegations of proxy ballots (never inserted early), all
		// locked in one statement.
		var delegations map[int64]Delegation
		if dids := delegationIDs(cs); len(dids) > 0 {
			if delegations, err = s.store.LockDelegations(ctx, dids); err != nil {
				return err
			}
		}
		options := make([][]string, len(cs))
		going := make([]int, 0, len(cs))
		for i, c := range cs {
			m, ok := motions[c.motionID]
			row, in := locked[c.key()]
			switch {
			case !ok:
				results[i].err = louyuan.NotFound("motion_not_found", "没有这项表决")
			case m.Status != StatusVoting || !now.Before(m.ClosesAt):
				results[i].err = louyuan.Conflict("voting_closed", "该表决当前不在投票期内")
			case !in:
				results[i].err = louyuan.Forbidden("not_in_electorate", "您的房屋不在本次表决范围内")
			case c.representative != 0 && row.Representative != c.representative:
				results[i].err = louyuan.Forbidden("not_representative", "只有本户的户代表可以投票；租户不能投票")
			default:
				options[i], results[i].err = m.checkChoice(c.options)
			}
			if results[i].err == nil && c.delegationID != 0 {
				d, found := delegations[c.delegationID]
				results[i].err = proxyAllowed(d, found, m, now, row.Counted, row.HasCounted)
			}
			if results[i].err == nil {
				going = append(going, i)
			}
		}
		var failed error
		going = keep(going, func(i int) bool {
			if cs[i].allowed == nil || failed != nil {
				return failed == nil
			}
			row := locked[cs[i].key()]
			if err := cs[i].allowed(ctx, motions[cs[i].motionID], row.Counted, row.HasCounted); err != nil {
				if k := louyuan.ErrorKind(err); k == louyuan.KindInternal || k == louyuan.KindUnavailable {
					failed = err // the database failed: the whole batch rolls back
				}
				results[i].err = err
				return false
			}
			return true
		})
		if failed != nil {
			return failed
		}

		var kept []Ballot
		streams = streams[:0]
		for _, i := range going {
			streams = append(streams, audit.HouseholdStream(motions[cs[i].motionID].CourtyardID, cs[i].householdID))
		}
		if early {
			// Refused ballots go again; those going were inserted (their
			// keys are in the electorate). Heads not locked yet (a motion
			// seen for the first time) are locked now.
			var refused []int64
			isGoing := make([]bool, len(cs))
			for _, i := range going {
				isGoing[i] = true
			}
			for i, b := range ballots {
				switch {
				case isGoing[i] && b.ID == 0:
					return fmt.Errorf("ballot of household %d on motion %d was not inserted", b.HouseholdID, b.MotionID)
				case isGoing[i]:
					b.Options = options[i]
					kept = append(kept, b)
				case b.ID != 0:
					refused = append(refused, b.ID)
				}
			}
			// Locking first: after DeleteBallots queues its write, the
			// transaction refuses any statement sent at once.
			if err := tx.InsertBallots(nil, streams); err != nil {
				return err
			}
			if err := tx.DeleteBallots(refused); err != nil {
				return err
			}
		} else {
			if len(going) == 0 {
				return nil
			}
			kept = make([]Ballot, len(going))
			for j, i := range going {
				c := cs[i]
				kept[j] = Ballot{MotionID: c.motionID, HouseholdID: c.householdID, Options: options[i], Channel: c.channel,
					CastBy: c.castBy, DelegationID: c.delegationID, PaperFile: c.paperFile, Receipt: newReceipt(), CreatedAt: now}
			}
			if err := tx.InsertBallots(kept, streams); err != nil {
				return err
			}
		}
		ballots = kept
		var superseded []int64
		counted := make([]Counted, len(going))
		records := make([]audit.Record, len(going))
		for j, i := range going {
			c, b, m := cs[i], ballots[j], motions[cs[i].motionID]
			cur, exists := locked[c.key()].Counted, locked[c.key()].HasCounted
			counted[j] = Counted{MotionID: m.ID, HouseholdID: c.householdID, BallotID: b.ID, Options: b.Options, Channel: c.channel,
				DelegationID: c.delegationID, Version: cur.Version + 1}
			if exists && cur.BallotID != 0 {
				superseded = append(superseded, cur.BallotID)
			}
			action := "ballot.cast"
			if exists && cur.Channel != ChannelWithdrawn {
				action = "ballot.replace"
			}
			detail := map[string]any{"household": c.householdID, "channel": c.channel, "ballot": b.ID, "version": counted[j].Version}
			if c.delegationID != 0 {
				detail["delegation"] = c.delegationID
			}
			if c.paperFile != "" {
				detail["photo"] = c.paperFile
			}
			if m.Mode == ModeNamed {
				detail["choice"] = b.Options
			}
			records[j] = audit.Record{Stream: audit.HouseholdStream(m.CourtyardID, c.householdID), Actor: c.castBy,
				Action: action, Object: motionRef(m.ID), Detail: detail, Origin: c.origin}
			results[i] = castResult{counted: counted[j],
				receipt: Receipt{MotionID: m.ID, HouseholdID: c.householdID, Receipt: b.Receipt, Channel: c.channel, CastAt: now}}
		}
		if err := tx.SupersedeBallots(superseded, now); err != nil {
			return err
		}
		if err := tx.PutCountedAll(counted); err != nil {
			return err
		}
		return tx.AppendAudit(records)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// delegationIDs lists the delegations the proxy ballots of cs rest on.
func delegationIDs(cs []cast) []int64 {
	var ids []int64
	for _, c := range cs {
		if c.delegationID != 0 {
			ids = append(ids, c.delegationID)
		}
	}
	return ids
}

// keep returns the indexes for which ok holds, in place.
func keep(idx []int, ok func(i int) bool) []int {
	out := idx[:0]
	for _, i := range idx {
		if ok(i) {
			out = append(out, i)
		}
	}
	return out
}

// afterSlots is how many batches' after steps (live tally updates)
// may run at once: with Redis unreachable each takes up to its dial timeout,
// and the worker goes on with the next batches meanwhile.
const afterSlots = 8

// A batcher gathers the ballots arriving at the same moment into one
// transaction: the database does a fixed amount of work per batch rather
// than per ballot, which is what lets an instance take a whole courtyard
// voting at once. A ballot waits only while the batch before it commits;
// under light load every batch holds one ballot.
//
// Two ballots of one household never share a batch, nor run in two
// batches at once: the later one waits for a batch that starts after the
// earlier one's has ended, so that each sees the one before it and a
// household's ballots commit in the order they arrived.
//
// The first batch starts as soon as a ballot waits; a further one (up to
// workers) only once at least minExtra ballots wait for it. A batch's
// statements cost the database about as much as eight ballots' rows, so a
// small batch beside a running one would spend more than the cores it
// gains; a large one puts idle cores to work (see Batching.MinExtra).
type batcher struct {
	run func(ctx context.Context, cs []cast) ([]castResult, error)
	// after, when set, runs once a batch's run has succeeded, off the
	// worker (which goes on to the next batch meanwhile) and after the
	// ballots' callers have heard of their results (they are committed;
	// the step waits for nothing of theirs): at most afterSlots of them
	// at once, however few the workers, so that a slow Redis does not
	// hold the worker after every batch. It brings the live tallies up to
	// date with versioned votes, so their order does not matter.
	after func(ctx context.Context, rs []castResult)
	// hold, when set, is called before the callers hear of a batch that
	// has an after step, and the release it returns once that step is
	// over: reads that must see the batch (the live tally of its
	// motions on this instance) wait for it meanwhile.
	hold     func(rs []castResult) (release func())
	afters   chan struct{} // slots of running afters
	workers  int           // batches in flight at once
	minExtra int           // ballots waiting before a batch starts beside another
	max      int           // ballots per batch at most
	timeout  time.Duration // of one batch's transaction
	onPanic  func(v any, stack []byte)
	// observe, when set, hears of each batch: its size, how long its
	// oldest ballot waited for it, and how long it took.
	observe func(size int, waited, took time.Duration)

	mu      sync.Mutex
	queue   []*pendingCast
	running int
	// inFlight are the households (per motion) of the running batches.
	inFlight map[BallotKey]bool
}

type pendingCast struct {
	ctx    context.Context
	c      cast
	done   chan castResult
	queued time.Time
}

// submit queues c and waits for its batch. It waits even when ctx ends in
// the meantime: by then the ballot may be committed, and its caller must
// still update the live tally.
func (b *batcher) submit(ctx context.Context, c cast) castResult {
	p := &pendingCast{ctx: ctx, c: c, done: make(chan castResult, 1), queued: time.Now()}
	b.mu.Lock()
	if b.afters == nil {
		b.afters = make(chan struct{}, afterSlots)
	}
	b.queue = append(b.queue, p)
	start := b.running == 0 || b.running < b.workers && len(b.queue) >= b.minExtra
	if start {
		b.running++
	}
	b.mu.Unlock()
	if start {
		go b.loop()
	}
	return <-p.done
}

// loop runs batches while there are ballots for it: while it is the only
// loop, any; beside others, only while at least minExtra wait.
func (b *batcher) loop() {
	var done []*pendingCast
	for {
		b.mu.Lock()
		for _, p := range done {
			delete(b.inFlight, p.c.key())
		}
		var batch []*pendingCast
		if b.running == 1 || len(b.queue) >= b.minExtra {
			batch = b.take()
		}
		if len(batch) == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.flush(batch)
		done = batch
	}
}

// take removes from the queue, oldest first, up to max ballots of distinct
// households none of which is in a running batch, and marks them running;
// the caller holds mu.
func (b *batcher) take() []*pendingCast {
	if b.inFlight == nil {
		b.inFlight = map[BallotKey]bool{}
	}
	var (
		batch []*pendingCast
		rest  = b.queue[:0]
	)
	for _, p := range b.queue {
		if k := p.c.key(); len(batch) < b.max && !b.inFlight[k] {
			b.inFlight[k] = true
			batch = append(batch, p)
			continue
		}
		rest = append(rest, p)
	}
	clear(b.queue[len(rest):])
	b.queue = rest
	return batch
}

func (b *batcher) flush(batch []*pendingCast) {
	var (
		cs  = make([]cast, 0, len(batch))
		out = make([]*pendingCast, 0, len(batch))
	)
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			// Gone before its ballot was written: not a failure of ours.
			p.done <- castResult{err: &louyuan.Error{Kind: louyuan.KindUnavailable, Code: "request_cancelled",
				Message: "请求已中断，这张选票没有记录，请重新提交", Err: err}}
			continue
		}
		cs = append(cs, p.c)
		out = append(out, p)
	}
	if len(cs) == 0 {
		return
	}
	delivered := false
	deliver := func(results []castResult, err error) {
		delivered = true
		for i, p := range out {
			if err != nil {
				p.done <- castResult{err: err}
			} else {
				p.done <- results[i]
			}
		}
	}
	panicked := func(v any) {
		if b.onPanic != nil {
			b.onPanic(v, debug.Stack())
		}
	}
	defer func() {
		if v := recover(); v != nil {
			panicked(v)
			if !delivered {
				deliver(nil, fmt.Errorf("ballot batch panicked: %v", v))
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	start := time.Now()
	results, err := b.run(ctx, cs)
	if err == nil && len(results) != len(cs) {
		err = fmt.Errorf("ballot batch of %d gave %d results", len(cs), len(results))
	}
	if b.observe != nil {
		b.observe(len(cs), start.Sub(out[0].queued), time.Since(start))
	}
	if err != nil || b.after == nil {
		deliver(results, err)
		return
	}
	// The ballots are committed: their callers hear so now, and the live
	// tallies catch up off the worker (reads of them here wait: hold).
	release := func() {}
	if b.hold != nil {
		release = b.hold(results)
	}
	deliver(results, nil)
	b.afters <- struct{}{}
	go func() {
		defer func() {
			if v := recover(); v != nil {
				panicked(v)
			}
			release()
			<-b.afters
		}()
		ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
		defer cancel()
		b.after(ctx, results)
	}()
}
