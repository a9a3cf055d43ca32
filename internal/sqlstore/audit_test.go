package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/voting"
)

var testHasher = audit.NewHasher([]byte("test key"))

func verifyClean(t *testing.T, l *AuditLog, wantChecked int) {
	t.Helper()
	checked, problems, err := l.Verify(context.Background())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(problems) != 0 {
		t.Fatalf("Verify found %d problems, want none: %v", len(problems), problems)
	}
	if checked != wantChecked {
		t.Fatalf("Verify checked %d entries, want %d", checked, wantChecked)
	}
}

type auditHead struct {
	Seq  int64
	Hash string
}

func headOf(t *testing.T, db *DB, stream string) auditHead {
	t.Helper()
	var h auditHead
	must(t, db.DB.Table("audit_heads").Select("seq, hash").Where("stream = ?", stream).Scan(&h).Error)
	return h
}

func TestAuditAppendVerify(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		l := NewAuditLog(db, testHasher)
		ctx := audit.WithOrigin(context.Background(), audit.Origin{IP: "10.0.0.1", RequestID: "req-1"})
		c1 := audit.CourtyardStream(1)
		must(t, l.Append(ctx, audit.Record{Stream: c1, Actor: "user:1", Action: "bind", Object: "household:7",
			Detail: map[string]any{"role": "owner", "n": 3, "ratio": 0.5, "nested": map[string]any{"b": []any{1, "x"}}}}))
		must(t, l.Append(ctx, audit.Record{Actor: "system", Action: "startup", Object: "server"})) // global stream
		must(t, l.Append(ctx, audit.Record{Stream: c1, Actor: "staff:2", Action: "unbind", Object: "household:7", Detail: map[string]any{}}))
		verifyClean(t, l, 3)

		es, err := l.Entries(ctx, c1, 10)
		must(t, err)
		if len(es) != 2 || es[0].Seq != 2 || es[1].Seq != 1 || es[0].PrevHash != es[1].Hash || es[1].PrevHash != audit.Genesis {
			t.Fatalf("Entries(%s) = %+v", c1, es)
		}
		if es[1].IP != "10.0.0.1" || es[1].RequestID != "req-1" || es[1].Actor != "user:1" || es[1].Action != "bind" ||
			fmt.Sprint(es[1].Detail["n"]) != "3" || es[1].Detail["role"] != "owner" {
			t.Fatalf("first entry read back as %+v", es[1])
		}
		g, err := l.Entries(ctx, audit.GlobalStream, 10)
		must(t, err)
		if len(g) != 1 || g[0].Seq != 1 || g[0].PrevHash != audit.Genesis {
			t.Fatalf("global stream = %+v", g)
		}
		if h := headOf(t, db, c1); h.Seq != 2 || h.Hash != es[0].Hash {
			t.Fatalf("head of %s = %+v, want seq 2 hash %s", c1, h, es[0].Hash)
		}
		// A different key does not verify the same chain.
		_, problems, err := NewAuditLog(db, audit.NewHasher([]byte("other key"))).Verify(ctx)
		must(t, err)
		if len(problems) != 3 {
			t.Fatalf("Verify with the wrong key found %d problems, want 3: %v", len(problems), problems)
		}
	})
}

// Writers of one stream queue on its head: 32 concurrent transactions give
// sequence numbers 1..32 and an intact chain.
func TestAuditConcurrentAppend(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		l := NewAuditLog(db, testHasher)
		const n = 32
		stream := audit.CourtyardStream(42)
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = db.InTx(context.Background(), func(ctx context.Context) error {
					return l.Append(ctx, audit.Record{Stream: stream, Actor: fmt.Sprintf("user:%d", i), Action: "vote", Object: "ballot:1",
						Detail: map[string]any{"i": i}})
				})
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("append %d: %v", i, err)
			}
		}
		var seqs []int64
		must(t, db.DB.Table("audit_log").Where("stream = ?", stream).Order("seq").Pluck("seq", &seqs).Error)
		if len(seqs) != n {
			t.Fatalf("%d entries, want %d", len(seqs), n)
		}
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("sequence numbers %v, want 1..%d", seqs, n)
			}
		}
		actors := map[string]bool{}
		var as []string
		must(t, db.DB.Table("audit_log").Where("stream = ?", stream).Pluck("actor", &as).Error)
		for _, a := range as {
			actors[a] = true
		}
		if len(actors) != n {
			t.Fatalf("%d distinct writers recorded, want %d", len(actors), n)
		}
		if h := headOf(t, db, stream); h.Seq != n {
			t.Fatalf("head seq %d, want %d", h.Seq, n)
		}
		verifyClean(t, l, n)
	})
}

func TestAuditTamperDetected(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		l := NewAuditLog(db, testHasher)
		edited, truncated, intact := "courtyard:1", "courtyard:2", "courtyard:3"
		for _, s := range []string{edited, truncated, intact} {
			for i := 1; i <= 4; i++ {
				must(t, l.Append(ctx, audit.Record{Stream: s, Actor: "user:1", Action: "act", Object: "x", Detail: map[string]any{"i": i}}))
			}
		}
		verifyClean(t, l, 12)

		// Edit one entry's detail.
		must(t, db.Exec("UPDATE audit_log SET detail = ? WHERE stream = ? AND seq = ?", `{"i":99}`, edited, 2).Error)
		// Delete the last entry of another stream.
		must(t, db.Exec("DELETE FROM audit_log WHERE stream = ? AND seq = ?", truncated, 4).Error)

		checked, problems, err := l.Verify(ctx)
		must(t, err)
		if checked != 11 {
			t.Errorf("checked %d entries, want 11", checked)
		}
		var editedSeqs, truncatedSeqs []int64
		for _, p := range problems {
			switch p.Stream {
			case edited:
				editedSeqs = append(editedSeqs, p.Seq)
				if !strings.Contains(p.Reason, "edited") {
					t.Errorf("edit reported as %q", p.Reason)
				}
			case truncated:
				truncatedSeqs = append(truncatedSeqs, p.Seq)
				if !strings.Contains(p.Reason, "deleted") {
					t.Errorf("deletion reported as %q", p.Reason)
				}
			default:
				t.Errorf("problem in an intact stream: %v", p)
			}
		}
		if len(editedSeqs) != 1 || editedSeqs[0] != 2 {
			t.Errorf("edited stream problems at %v, want [2]: %v", editedSeqs, problems)
		}
		if len(truncatedSeqs) != 1 || truncatedSeqs[0] != 4 {
			t.Errorf("truncated stream problems at %v, want [4]: %v", truncatedSeqs, problems)
		}

		// Deleting a middle entry breaks the sequence.
		must(t, db.Exec("DELETE FROM audit_log WHERE stream = ? AND seq = ?", intact, 2).Error)
		_, problems, err = l.Verify(ctx)
		must(t, err)
		found := false
		for _, p := range problems {
			if p.Stream == intact && p.Seq == 3 {
				found = true
			}
		}
		if !found {
			t.Errorf("deleting entry 2 of %s was not reported at entry 3: %v", intact, problems)
		}
		// Editing a field other than the detail is caught too.
		must(t, db.Exec("UPDATE audit_log SET actor = ? WHERE stream = ? AND seq = ?", "user:2", intact, 1).Error)
		_, problems, err = l.Verify(ctx)
		must(t, err)
		found = false
		for _, p := range problems {
			if p.Stream == intact && p.Seq == 1 && strings.Contains(p.Reason, "edited") {
				found = true
			}
		}
		if !found {
			t.Errorf("an edited actor was not reported: %v", problems)
		}
	})
}

func TestAuditRollback(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		l := NewAuditLog(db, testHasher)
		s := audit.CourtyardStream(5)
		must(t, l.Append(ctx, audit.Record{Stream: s, Actor: "user:1", Action: "a", Object: "x"}))
		before := headOf(t, db, s)
		boom := errors.New("boom")
		err := db.InTx(ctx, func(ctx context.Context) error {
			for i := 0; i < 3; i++ {
				if err := l.Append(ctx, audit.Record{Stream: s, Actor: "user:1", Action: "b", Object: "x"}); err != nil {
					return err
				}
			}
			// A stream whose first entry is rolled back leaves no head.
			if err := l.Append(ctx, audit.Record{Stream: "courtyard:6", Actor: "user:1", Action: "b", Object: "x"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		if n := count(t, db, "audit_log", ""); n != 1 {
			t.Fatalf("%d entries after the rollback, want 1", n)
		}
		if after := headOf(t, db, s); after != before {
			t.Fatalf("head moved from %+v to %+v by a rolled-back transaction", before, after)
		}
		if n := count(t, db, "audit_heads", "stream = ?", "courtyard:6"); n != 0 {
			t.Fatalf("a rolled-back first append left a head")
		}
		verifyClean(t, l, 1)
		// The next append continues the chain at 2.
		must(t, l.Append(ctx, audit.Record{Stream: s, Actor: "user:1", Action: "c", Object: "x"}))
		if h := headOf(t, db, s); h.Seq != 2 {
			t.Fatalf("head seq %d after the next append, want 2", h.Seq)
		}
		verifyClean(t, l, 2)
	})
}

// Verify reads the log in batches of 1000: a log longer than one batch, with
// streams whose entries interleave, must be checked entry by entry exactly
// once.
func TestAuditVerifyManyInterleaved(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		l := NewAuditLog(db, testHasher)
		const perStream = 550
		must(t, db.InTx(ctx, func(ctx context.Context) error {
			for i := 0; i < perStream; i++ {
				for _, s := range []string{"courtyard:1", "courtyard:2"} {
					if err := l.Append(ctx, audit.Record{Stream: s, Actor: "user:1", Action: "a", Object: "x"}); err != nil {
						return err
					}
				}
			}
			return nil
		}))
		if n := count(t, db, "audit_log", ""); n != 2*perStream {
			t.Fatalf("%d entries, want %d", n, 2*perStream)
		}
		verifyClean(t, l, 2*perStream)
	})
}

// A batch of records in one call: each stream chained in the order given,
// new and existing heads alike; a record's own origin wins over the
// context's. Concurrent batches over overlapping streams keep every chain
// intact.
func TestAuditAppendAll(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		l := NewAuditLog(db, testHasher)
		ctx := audit.WithOrigin(context.Background(), audit.Origin{IP: "10.0.0.9", RequestID: "ctx"})
		a, b := audit.HouseholdStream(1, 1), audit.HouseholdStream(1, 2)
		must(t, l.Append(ctx, audit.Record{Stream: a, Actor: "user:1", Action: "bind", Object: "household:1"}))
		must(t, l.AppendAll(ctx, []audit.Record{
			{Stream: b, Actor: "user:2", Action: "ballot.cast", Object: "motion:1", Origin: audit.Origin{IP: "10.0.0.2", RequestID: "r2"}},
			{Stream: a, Actor: "user:1", Action: "ballot.cast", Object: "motion:1"},
			{Stream: b, Actor: "user:2", Action: "ballot.cast", Object: "motion:2", Origin: audit.Origin{IP: "10.0.0.3", RequestID: "r3"}},
		}))
		verifyClean(t, l, 4)
		eb, err := l.Entries(ctx, b, 10)
		must(t, err)
		if len(eb) != 2 || eb[1].Seq != 1 || eb[0].Seq != 2 || eb[0].PrevHash != eb[1].Hash || eb[1].Object != "motion:1" ||
			eb[1].RequestID != "r2" || eb[0].IP != "10.0.0.3" {
			t.Fatalf("stream b = %+v", eb)
		}
		ea, err := l.Entries(ctx, a, 10)
		must(t, err)
		if len(ea) != 2 || ea[0].Seq != 2 || ea[0].RequestID != "ctx" || headOf(t, db, a).Hash != ea[0].Hash {
			t.Fatalf("stream a = %+v", ea)
		}

		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var rs []audit.Record
				for j := range 4 { // streams 3..9 overlap between batches, all new at first
					rs = append(rs, audit.Record{Stream: audit.HouseholdStream(1, int64(3+(i+j)%7)), Actor: "user:9", Action: "ballot.cast", Object: "motion:3"})
				}
				// Half as the ballot path runs them (READ COMMITTED: heads
				// locked first, missing ones created), half the usual way.
				if i%2 == 0 {
					errs[i] = appendInBallotTx(context.Background(), db, l, rs)
				} else {
					errs[i] = l.AppendAll(context.Background(), rs)
				}
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("batch %d: %v", i, err)
			}
		}
		verifyClean(t, l, 4+16*4)

		// Two appends to one stream in one ballot transaction, whose
		// writes wait until the commit: the second chains onto the first.
		must(t, appendInBallotTx(ctx, db, l, []audit.Record{{Stream: a, Actor: "user:1", Action: "ballot.cast", Object: "motion:4"}},
			[]audit.Record{{Stream: a, Actor: "user:1", Action: "ballot.replace", Object: "motion:4"},
				{Stream: audit.HouseholdStream(1, 99), Actor: "user:2", Action: "ballot.cast", Object: "motion:4"}}))
		verifyClean(t, l, 4+16*4+3)
		if ea, err := l.Entries(ctx, a, 1); err != nil || len(ea) != 1 || ea[0].Seq != 4 || ea[0].Action != "ballot.replace" {
			t.Fatalf("head of stream a after one transaction with two appends: %+v, %v", ea, err)
		}
	})
}

// Verify reads the entries and the heads as of one moment: appends that
// commit while it walks a busy log are not taken for deleted entries.
func TestAuditVerifyWhileAppending(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		l := NewAuditLog(db, testHasher)
		ctx := context.Background()
		const streams = 40
		for i := range streams {
			must(t, l.Append(ctx, audit.Record{Stream: audit.HouseholdStream(1, int64(i)), Actor: "user:1", Action: "bind", Object: "household:1"}))
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if err := l.Append(ctx, audit.Record{Stream: audit.HouseholdStream(1, int64(i%streams)), Actor: "user:1", Action: "ballot.cast", Object: "motion:1"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		for range 20 {
			_, problems, err := l.Verify(ctx)
			if err != nil || len(problems) > 0 {
				t.Errorf("Verify during appends: %v %v", err, problems)
				break
			}
		}
		close(done)
		wg.Wait()
	})
}

// appendInBallotTx appends each of batches in one ballot transaction, as
// the ballot path does: the heads of all their streams locked first (with
// no ballots), the entries queued until the commit.
func appendInBallotTx(ctx context.Context, db *DB, l *AuditLog, batches ...[]audit.Record) error {
	s := NewVoting(db).WithAudit(l)
	return s.InBallotTx(ctx, func(_ context.Context, tx voting.BallotTx) error {
		var streams []string
		for _, rs := range batches {
			for _, r := range rs {
				streams = append(streams, r.Stream)
			}
		}
		if err := tx.InsertBallots(nil, streams); err != nil {
			return err
		}
		for _, rs := range batches {
			if err := tx.AppendAudit(rs); err != nil {
				return err
			}
		}
		return nil
	})
}
