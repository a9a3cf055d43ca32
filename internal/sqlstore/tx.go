package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

type txKey struct{}

// txState is what a transaction begun by InTx or InTxReadCommitted carries
// in its ctx.
type txState struct {
	gdb *gorm.DB // the transaction; for a pipelined one, its connection
	// pipelined: a READ COMMITTED transaction (locking reads of missing
	// rows take no gap locks), begun and committed by statements of its
	// own on one connection of that pool, so that START TRANSACTION goes
	// out with the first statements and COMMIT with the last writes (see
	// inPipelinedTx).
	pipelined    bool
	begun, ended bool
	// The deferred writes of a pipelined transaction: ones whose results
	// nobody reads reach the server with the COMMIT.
	sql  strings.Builder
	args []any
	// heads are the audit heads this transaction has locked, as its
	// writes (deferred or not) leave them.
	heads map[string]auditHeadRow
}

func txOf(ctx context.Context) (*txState, bool) {
	t, ok := ctx.Value(txKey{}).(*txState)
	return t, ok
}

// execLater runs a write whose result nobody reads: now, or in a
// transaction that collects them, together with the others before its
// commit.
func (db *DB) execLater(ctx context.Context, q string, args ...any) error {
	if t, ok := txOf(ctx); ok && t.pipelined {
		if t.sql.Len() > 0 {
			t.sql.WriteString(";\n")
		}
		t.sql.WriteString(q)
		t.args = append(t.args, args...)
		return nil
	}
	return db.conn(ctx).Exec(q, args...).Error
}

// maxTxAttempts bounds the runs of a transaction that keeps meeting
// deadlocks or lock-wait timeouts.
const maxTxAttempts = 8

// noGapLocks reports whether a locking read of a missing row in ctx's
// transaction takes no gap lock (READ COMMITTED, or SQLite's single
// writer), so that it may probe for rows it will then insert.
func (db *DB) noGapLocks(ctx context.Context) bool {
	t, ok := txOf(ctx)
	return ok && t.pipelined || db.Dialect == SQLite
}

// conn returns the transaction carried by ctx, or the pool. A pipelined
// transaction not yet begun is begun here.
func (db *DB) conn(ctx context.Context) *gorm.DB {
	t, ok := txOf(ctx)
	if !ok {
		return db.DB.WithContext(ctx)
	}
	g := t.gdb.WithContext(ctx)
	if t.pipelined && !t.begun {
		t.begun = true
		if err := g.Exec("START TRANSACTION").Error; err != nil {
			g.AddError(fmt.Errorf("begin transaction: %w", err))
		}
	}
	return g
}

// InTx runs fn in one transaction carried by the ctx it passes on; every
// store method called with that ctx joins it. A nested InTx joins the outer
// transaction. On MySQL a deadlock or lock-wait timeout retries fn (up to
// seven times, backing off at random) from the start, so fn must not have
// effects outside the database.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := txOf(ctx); ok {
		return fn(ctx)
	}
	return retry(func() error {
		return db.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			t := &txState{gdb: tx, heads: map[string]auditHeadRow{}}
			return fn(context.WithValue(ctx, txKey{}, t))
		})
	})
}

// InTxReadCommitted is InTx at READ COMMITTED on MySQL: each statement
// reads the latest committed rows and a locking read locks only the rows it
// finds (no gap locks), so that writers of neighbouring new rows do not
// deadlock. The caller must serialise what it writes on row locks. Nested,
// it joins the outer transaction as it is.
//
// The transaction is pipelined: START TRANSACTION goes out with its first
// statements, its deferred writes (execLater) and COMMIT in one round trip
// at the end, and statements sent together (see pipeline) in one round
// trip each.
func (db *DB) InTxReadCommitted(ctx context.Context, fn func(ctx context.Context) error) error {
	if db.readCommitted == nil {
		return db.InTx(ctx, fn) // SQLite: one writer at a time anyway
	}
	if _, ok := txOf(ctx); ok {
		return fn(ctx)
	}
	sqlDB, err := db.readCommitted.DB()
	if err != nil {
		return err
	}
	return retry(func() error { return db.inPipelinedTx(ctx, sqlDB, fn) })
}

// inSnapshot runs fn in a read-only transaction whose reads all see the
// database as of one moment: REPEATABLE READ on MySQL; on SQLite a deferred
// transaction (a snapshot of the WAL that does not hold writers back, where
// the pool's own transactions take the write lock at once).
func (db *DB) inSnapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := txOf(ctx); ok {
		return fn(ctx)
	}
	if db.Dialect == MySQL {
		return db.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return fn(context.WithValue(ctx, txKey{}, &txState{gdb: tx, heads: map[string]auditHeadRow{}}))
		}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	c, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		return fmt.Errorf("begin snapshot: %w", err)
	}
	defer func() {
		if _, err := c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			_ = c.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	t := &txState{heads: map[string]auditHeadRow{}}
	t.gdb = db.DB.Session(&gorm.Session{NewDB: true, Context: ctx})
	t.gdb.Statement.ConnPool = connPool{c}
	return fn(context.WithValue(ctx, txKey{}, t))
}

// retry runs a transaction again while it meets deadlocks or lock-wait
// timeouts, up to maxTxAttempts runs.
func retry(run func() error) error {
	var err error
	for attempt := 0; attempt < maxTxAttempts; attempt++ {
		if err = run(); !isRetryable(err) {
			return err
		}
		// Back off a little longer each time, at random, so that the
		// transactions that collided do not collide again.
		time.Sleep(time.Duration(attempt+1)*5*time.Millisecond + rand.N(10*time.Millisecond))
	}
	return err
}

// inPipelinedTx runs fn once in a transaction on one connection of the READ
// COMMITTED pool, begun and ended by statements of its own rather than by
// database/sql, so that they travel with others. The connection goes back
// to the pool only with no transaction open: after the COMMIT went through,
// or after a ROLLBACK did; otherwise it is closed (the server then rolls
// back).
func (db *DB) inPipelinedTx(ctx context.Context, sqlDB *sql.DB, fn func(ctx context.Context) error) (err error) {
	c, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	t := &txState{pipelined: true, heads: map[string]auditHeadRow{}}
	t.gdb = db.readCommitted.Session(&gorm.Session{NewDB: true, Context: ctx})
	t.gdb.Statement.ConnPool = connPool{c}
	defer func() {
		p := recover()
		if t.begun && !t.ended {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if _, rerr := c.ExecContext(rctx, "ROLLBACK"); rerr != nil {
				// Unknown state: never let the pool hand it out again.
				_ = c.Raw(func(any) error { return driver.ErrBadConn })
			}
			cancel()
		}
		c.Close()
		if p != nil {
			panic(p)
		}
	}()
	if err := fn(context.WithValue(ctx, txKey{}, t)); err != nil {
		return err
	}
	// The deferred writes and the commit, in one round trip.
	if !t.begun && t.sql.Len() == 0 {
		t.ended = true // nothing was sent
		return nil
	}
	var q strings.Builder
	if !t.begun {
		q.WriteString("START TRANSACTION;\n")
		t.begun = true
	}
	if t.sql.Len() > 0 {
		q.WriteString(t.sql.String())
		q.WriteString(";\n")
	}
	q.WriteString("COMMIT")
	if err := t.gdb.WithContext(ctx).Exec(q.String(), t.args...).Error; err != nil {
		return fmt.Errorf("deferred writes and commit: %w", err)
	}
	t.ended = true
	return nil
}

// connPool lets gorm run statements on one connection without being able
// to begin a transaction of its own there (which would commit ours).
type connPool struct{ c *sql.Conn }

func (p connPool) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return p.c.PrepareContext(ctx, q)
}

func (p connPool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return p.c.ExecContext(ctx, q, args...)
}

func (p connPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return p.c.QueryContext(ctx, q, args...)
}

func (p connPool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return p.c.QueryRowContext(ctx, q, args...)
}

// pipeline is statements sent together: in one round trip (a
// multi-statement query) in a pipelined transaction, one after the other
// anywhere else. Each statement that answers with rows has its scan, which
// reads them (without closing them).
type pipeline struct {
	dialect Dialect
	parts   []pipePart
}

func (db *DB) pipeline() *pipeline { return &pipeline{dialect: db.Dialect} }

// lockSuffix returns a locking clause on MySQL, nothing on SQLite (whose
// single writer needs none).
func (p *pipeline) lockSuffix(clause string) string {
	if p.dialect == MySQL {
		return clause
	}
	return ""
}

type pipePart struct {
	sql  string
	args []any
	scan func(rows *sql.Rows) error // nil: the statement answers with no rows
}

func (p *pipeline) exec(q string, args ...any) {
	p.parts = append(p.parts, pipePart{sql: q, args: args})
}

func (p *pipeline) query(scan func(rows *sql.Rows) error, q string, args ...any) {
	p.parts = append(p.parts, pipePart{sql: q, args: args, scan: scan})
}

// run sends p's statements in ctx's transaction.
func (db *DB) run(ctx context.Context, p *pipeline) error {
	t, ok := txOf(ctx)
	if !ok || !t.pipelined {
		for _, part := range p.parts {
			if err := db.runOne(ctx, part); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		q     strings.Builder
		args  []any
		scans []func(*sql.Rows) error
	)
	if !t.begun {
		q.WriteString("START TRANSACTION;\n")
		t.begun = true
	}
	for i, part := range p.parts {
		if i > 0 {
			q.WriteString(";\n")
		}
		q.WriteString(part.sql)
		args = append(args, part.args...)
		if part.scan != nil {
			scans = append(scans, part.scan)
		}
	}
	g := t.gdb.WithContext(ctx)
	if len(scans) == 0 {
		return g.Exec(q.String(), args...).Error
	}
	rows, err := g.Raw(q.String(), args...).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for i, scan := range scans {
		if i > 0 && !rows.NextResultSet() {
			if err := rows.Err(); err != nil {
				return err
			}
			return fmt.Errorf("statement %d of %d answered with no rows", i+1, len(scans))
		}
		if err := scan(rows); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	// The statements after the last that answers with rows: their errors.
	for rows.NextResultSet() {
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

func (db *DB) runOne(ctx context.Context, part pipePart) error {
	g := db.conn(ctx)
	if part.scan == nil {
		return g.Exec(part.sql, part.args...).Error
	}
	rows, err := g.Raw(part.sql, part.args...).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := part.scan(rows); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
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
