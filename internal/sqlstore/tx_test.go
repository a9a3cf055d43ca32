package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/testenv"
	"github.com/louyuan/louyuan/internal/voting"
)

func insertHead(stream string) string {
	return "INSERT INTO audit_heads (stream, seq, hash) VALUES ('" + stream + "', 0, '" + audit.Genesis + "')"
}

func headExists(t *testing.T, db *DB, stream string) bool {
	t.Helper()
	var n int64
	must(t, db.DB.Raw("SELECT COUNT(*) FROM audit_heads WHERE stream = ?", stream).Scan(&n).Error)
	return n > 0
}

func scanInts(into *[]int) func(*sql.Rows) error {
	return func(rows *sql.Rows) error {
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return err
			}
			*into = append(*into, v)
		}
		return nil
	}
}

// A ballot transaction (the ballot path's, pipelined on MySQL) begins and
// commits with statements of its own. Whatever happens inside it — a
// statement that fails in the middle of a pipeline, a queued write that
// fails, fn's own error, a panic, its ctx ending while a statement runs —
// nothing it sent stays written and its connection goes back to the pool
// with no transaction open.
func TestBallotTransaction(t *testing.T) {
	t.Parallel()
	db := migrated(t, openMySQL(t, testenv.MySQL(t)))
	rc, err := db.readCommitted.DB()
	must(t, err)
	rc.SetMaxOpenConns(1) // every transaction below runs on this one connection
	ctx := context.Background()

	openTransaction := func() bool {
		t.Helper()
		c, err := rc.Conn(ctx)
		must(t, err)
		defer c.Close()
		var n int
		must(t, c.QueryRowContext(ctx, "SELECT @@in_transaction").Scan(&n))
		return n != 0
	}

	// Result sets are read in order, statements without rows in between;
	// START TRANSACTION travels with the first, COMMIT with the queued
	// writes.
	var first, second []int
	must(t, db.inBallotTx(ctx, func(_ context.Context, tx *ballotTx) error {
		p := db.pipeline()
		p.query(scanInts(&first), "SELECT 1 UNION ALL SELECT 2")
		p.exec(insertHead("pipe:a"))
		p.query(scanInts(&second), "SELECT seq FROM audit_heads WHERE stream = ?", "pipe:a")
		if err := tx.run(p); err != nil {
			return err
		}
		tx.queue(insertHead("pipe:b"))
		return nil
	}))
	if !slices.Equal(first, []int{1, 2}) || !slices.Equal(second, []int{0}) || !headExists(t, db, "pipe:a") || !headExists(t, db, "pipe:b") {
		t.Fatalf("pipeline read %v and %v; rows written: %v %v", first, second, headExists(t, db, "pipe:a"), headExists(t, db, "pipe:b"))
	}
	if openTransaction() {
		t.Fatal("a committed transaction left its connection inside a transaction")
	}

	var cancelCase context.CancelFunc
	cases := []struct {
		name string
		fn   func(ctx context.Context, tx *ballotTx) error
		want error // when set, the error must be this one
	}{
		{"a statement fails after rows were read", func(_ context.Context, tx *ballotTx) error {
			p := db.pipeline()
			var got []int
			p.query(scanInts(&got), "SELECT 1")
			p.exec(insertHead("pipe:c"))
			p.exec(insertHead("pipe:a")) // duplicate key
			return tx.run(p)
		}, nil},
		{"a queued write fails", func(ctx context.Context, tx *ballotTx) error {
			if err := db.conn(ctx).Exec(insertHead("pipe:c")).Error; err != nil {
				return err
			}
			tx.queue(insertHead("pipe:a"))
			return nil
		}, nil},
		{"fn fails", func(ctx context.Context, tx *ballotTx) error {
			if err := db.conn(ctx).Exec(insertHead("pipe:c")).Error; err != nil {
				return err
			}
			return errors.New("refused")
		}, nil},
		{"a read after a queued write", func(_ context.Context, tx *ballotTx) error {
			tx.queue(insertHead("pipe:c"))
			var got []int
			p := db.pipeline()
			p.query(scanInts(&got), "SELECT seq FROM audit_heads WHERE stream = ?", "pipe:c")
			return tx.run(p) // would not see pipe:c
		}, errQueuedWrites},
		{"a store read after a queued write, its error dropped", func(ctx context.Context, tx *ballotTx) error {
			tx.queue(insertHead("pipe:c"))
			var n int64
			_ = db.conn(ctx).Raw("SELECT COUNT(*) FROM audit_heads WHERE stream = ?", "pipe:c").Scan(&n).Error
			return nil // the commit must fail all the same
		}, errQueuedWrites},
		{"its ctx ends while a statement runs", func(ctx context.Context, tx *ballotTx) error {
			if err := db.conn(ctx).Exec(insertHead("pipe:c")).Error; err != nil {
				return err
			}
			time.AfterFunc(100*time.Millisecond, cancelCase) // as if the batch's deadline passed
			p := db.pipeline()
			var got []int
			p.query(scanInts(&got), "SELECT SLEEP(3)")
			p.exec(insertHead("pipe:d"))
			return tx.run(p)
		}, nil},
	}
	for _, c := range cases {
		start := time.Now()
		var cctx context.Context
		cctx, cancelCase = context.WithCancel(ctx)
		err := db.inBallotTx(cctx, c.fn)
		cancelCase()
		switch {
		case err == nil:
			t.Errorf("%s: no error", c.name)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s: took %v", c.name, time.Since(start))
		}
		if headExists(t, db, "pipe:c") || headExists(t, db, "pipe:d") {
			t.Errorf("%s: a row of the failed transaction was kept", c.name)
		}
		if openTransaction() {
			t.Fatalf("%s: the connection went back to the pool inside a transaction", c.name)
		}
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		_ = db.inBallotTx(ctx, func(ctx context.Context, _ *ballotTx) error {
			must(t, db.conn(ctx).Exec(insertHead("pipe:c")).Error)
			panic("bug")
		})
	}()
	if headExists(t, db, "pipe:c") || openTransaction() {
		t.Fatal("after a panic: the row was kept or the connection is inside a transaction")
	}
}

// Two ballot transactions that lock the same rows in opposite orders
// deadlock; MariaDB rolls one back and it runs again from the start, so
// that both commit.
func TestBallotTransactionDeadlockRetry(t *testing.T) {
	t.Parallel()
	db := migrated(t, openMySQL(t, testenv.MySQL(t)))
	ctx := context.Background()
	must(t, db.Exec(insertHead("dl:a")).Error)
	must(t, db.Exec(insertHead("dl:b")).Error)

	var (
		runs    atomic.Int32
		locked  sync.WaitGroup // both hold their first lock (first runs only)
		errs    = make([]error, 2)
		wg      sync.WaitGroup
		streams = [][2]string{{"dl:a", "dl:b"}, {"dl:b", "dl:a"}}
	)
	locked.Add(2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			firstRun := true
			errs[i] = db.inBallotTx(ctx, func(_ context.Context, tx *ballotTx) error {
				runs.Add(1)
				heads := map[string]auditHeadRow{}
				if err := tx.run(lockHeads(db.pipeline(), streams[i][:1], heads)); err != nil {
					return err
				}
				if firstRun {
					firstRun = false
					locked.Done()
					locked.Wait()
				}
				if err := tx.run(lockHeads(db.pipeline(), streams[i][1:], heads)); err != nil {
					return err
				}
				tx.queue("UPDATE audit_heads SET seq = seq + 1 WHERE stream IN (?, ?)", "dl:a", "dl:b")
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if n := runs.Load(); n < 3 {
		t.Errorf("%d runs: the deadlock was not retried (or there was none)", n)
	}
	var seqs []int64
	must(t, db.Raw("SELECT seq FROM audit_heads WHERE stream IN ('dl:a', 'dl:b') ORDER BY stream").Scan(&seqs).Error)
	if !slices.Equal(seqs, []int64{2, 2}) {
		t.Errorf("heads after both transactions: %v, want [2 2]", seqs)
	}
}

// On SQLite a ballot transaction is an ordinary one with its writes queued
// just the same: committed together, refused a read after them, rolled
// back when its ctx ends.
func TestBallotTransactionSQLite(t *testing.T) {
	t.Parallel()
	db := migrated(t, openSQLite(t))
	ctx := context.Background()
	must(t, db.inBallotTx(ctx, func(_ context.Context, tx *ballotTx) error {
		p := db.pipeline()
		p.exec(insertHead("s:a"))
		if err := tx.run(p); err != nil {
			return err
		}
		tx.queue(insertHead("s:b"))
		return nil
	}))
	if !headExists(t, db, "s:a") || !headExists(t, db, "s:b") {
		t.Fatal("committed rows missing")
	}
	err := db.inBallotTx(ctx, func(_ context.Context, tx *ballotTx) error {
		tx.queue(insertHead("s:c"))
		return tx.run(lockHeads(db.pipeline(), []string{"s:c"}, map[string]auditHeadRow{}))
	})
	if !errors.Is(err, errQueuedWrites) || headExists(t, db, "s:c") {
		t.Fatalf("read after a queued write: %v; row kept: %v", err, headExists(t, db, "s:c"))
	}
	cctx, cancel := context.WithCancel(ctx)
	err = db.inBallotTx(cctx, func(_ context.Context, tx *ballotTx) error {
		p := db.pipeline()
		p.exec(insertHead("s:d"))
		if err := tx.run(p); err != nil {
			return err
		}
		cancel() // the batch's deadline passes before the commit
		tx.queue(insertHead("s:e"))
		return nil
	})
	if err == nil || headExists(t, db, "s:d") || headExists(t, db, "s:e") {
		t.Fatalf("ctx ended mid-transaction: %v; rows kept: %v %v", err, headExists(t, db, "s:d"), headExists(t, db, "s:e"))
	}
	// The single connection went back usable.
	must(t, db.Exec(insertHead("s:f")).Error)
}

// Two ballot transactions find the same audit head missing (READ COMMITTED
// takes no gap lock there) and both append to it: the one that commits
// second fails on the head's key and runs again, after the first, so the
// chain has both entries in order.
func TestBallotTransactionsCreateOneHead(t *testing.T) {
	t.Parallel()
	db := migrated(t, openMySQL(t, testenv.MySQL(t)))
	l := NewAuditLog(db, testHasher)
	s := NewVoting(db).WithAudit(l)
	stream := audit.HouseholdStream(1, 42)
	var (
		looked sync.WaitGroup // both found the head missing (first runs)
		wg     sync.WaitGroup
		runs   atomic.Int32
		errs   = make([]error, 2)
	)
	looked.Add(2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = s.InBallotTx(context.Background(), func(_ context.Context, tx voting.BallotTx) error {
				runs.Add(1)
				if err := tx.InsertBallots(nil, []string{stream}); err != nil {
					return err
				}
				if first {
					first = false
					looked.Done()
					looked.Wait()
				}
				return tx.AppendAudit([]audit.Record{{Stream: stream, Actor: "user:1", Action: "ballot.cast", Object: "motion:" + string(rune('1'+i))}})
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("%d runs, want 3 (one of the two again)", n)
	}
	verifyClean(t, l, 2)
	if h := headOf(t, db, stream); h.Seq != 2 {
		t.Errorf("head %+v, want seq 2", h)
	}
}
