package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

type txKey struct{}

// deferred collects the writes of a ballot transaction whose results
// nobody reads; they reach the server in one round trip (a multi-statement
// query) just before the commit. heads are the audit heads the deferred
// writes will have moved on, for appends later in the same transaction.
type deferred struct {
	sql   strings.Builder
	args  []any
	heads map[string]auditHeadRow
}

type deferredKey struct{}

func (d *deferred) flush(tx *gorm.DB) error {
	if d.sql.Len() == 0 {
		return nil
	}
	if err := tx.Exec(d.sql.String(), d.args...).Error; err != nil {
		return fmt.Errorf("deferred writes: %w", err)
	}
	return nil
}

// deferredOf returns the deferred writes of ctx's transaction, if it
// collects them.
func deferredOf(ctx context.Context) (*deferred, bool) {
	d, ok := ctx.Value(deferredKey{}).(*deferred)
	return d, ok
}

// execLater runs a write whose result nobody reads: now, or in a
// transaction that collects them, together with the others before its
// commit.
func (db *DB) execLater(ctx context.Context, q string, args ...any) error {
	if d, ok := deferredOf(ctx); ok {
		if d.sql.Len() > 0 {
			d.sql.WriteString(";\n")
		}
		d.sql.WriteString(q)
		d.args = append(d.args, args...)
		return nil
	}
	return db.conn(ctx).Exec(q, args...).Error
}

// maxTxAttempts bounds the runs of a transaction that keeps meeting
// deadlocks or lock-wait timeouts.
const maxTxAttempts = 8

// readCommittedKey marks a transaction begun by InTxReadCommitted.
type readCommittedKey struct{}

// noGapLocks reports whether a locking read of a missing row in ctx's
// transaction takes no gap lock (READ COMMITTED, or SQLite's single
// writer), so that it may probe for rows it will then insert.
func (db *DB) noGapLocks(ctx context.Context) bool {
	rc, _ := ctx.Value(readCommittedKey{}).(bool)
	return rc || db.Dialect == SQLite
}

// conn returns the transaction carried by ctx, or the pool.
func (db *DB) conn(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx.WithContext(ctx)
	}
	return db.DB.WithContext(ctx)
}

// InTx runs fn in one transaction carried by the ctx it passes on; every
// store method called with that ctx joins it. A nested InTx joins the outer
// transaction. On MySQL a deadlock or lock-wait timeout retries fn (up to
// seven times, backing off at random) from the start, so fn must not have effects outside the
// database.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return db.inTx(ctx, db.DB, &sql.TxOptions{}, false, fn)
}

// InTxReadCommitted is InTx at READ COMMITTED on MySQL: each statement
// reads the latest committed rows and a locking read locks only the rows it
// finds (no gap locks), so that writers of neighbouring new rows do not
// deadlock. The caller must serialise what it writes on row locks. Nested,
// it joins the outer transaction as it is.
func (db *DB) InTxReadCommitted(ctx context.Context, fn func(ctx context.Context) error) error {
	if db.readCommitted == nil {
		return db.InTx(ctx, fn) // SQLite: one writer at a time anyway
	}
	return db.inTx(ctx, db.readCommitted, &sql.TxOptions{}, true, fn)
}

func (db *DB) inTx(ctx context.Context, pool *gorm.DB, opts *sql.TxOptions, readCommitted bool, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	var err error
	for attempt := 0; attempt < maxTxAttempts; attempt++ {
		err = pool.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			txCtx := context.WithValue(ctx, txKey{}, tx)
			if !readCommitted {
				return fn(txCtx)
			}
			d := &deferred{heads: map[string]auditHeadRow{}}
			txCtx = context.WithValue(context.WithValue(txCtx, readCommittedKey{}, true), deferredKey{}, d)
			if err := fn(txCtx); err != nil {
				return err
			}
			return d.flush(tx.WithContext(ctx))
		}, opts)
		if !isRetryable(err) {
			return err
		}
		// Back off a little longer each time, at random, so that the
		// transactions that collided do not collide again.
		time.Sleep(time.Duration(attempt+1)*5*time.Millisecond + rand.N(10*time.Millisecond))
	}
	return err
}

func isRetryable(err error) bool {
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205 // deadlock, lock wait timeout
	}
	return err != nil && strings.Contains(err.Error(), "SQLITE_BUSY")
}

// forUpdate adds a row lock on MySQL; SQLite's single writer needs none.
func (db *DB) forUpdate(q *gorm.DB) *gorm.DB {
	if db.Dialect == MySQL {
		return q.Clauses(lockingClause)
	}
	return q
}

// lockSuffix returns a locking clause for raw SQL on MySQL, nothing on
// SQLite (whose single writer needs none).
func (db *DB) lockSuffix(clause string) string {
	if db.Dialect == MySQL {
		return clause
	}
	return ""
}

// straightJoin makes MySQL join in the order written (households first,
// in index order), so that a long list streams without a sort; SQLite
// plans that way already.
func (db *DB) straightJoin() string {
	if db.Dialect == MySQL {
		return "STRAIGHT_JOIN"
	}
	return ""
}

// notFound turns gorm.ErrRecordNotFound into ok=false.
func notFound(err error) (bool, error) {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, nil
}

func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
