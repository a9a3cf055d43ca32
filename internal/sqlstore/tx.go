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

// txState is what a transaction begun by InTx carries in its ctx.
type txState struct {
	gdb *gorm.DB // the transaction
	// heads are the audit heads this transaction has locked, as its
	// writes leave them.
	heads map[string]auditHeadRow
}

func txOf(ctx context.Context) (*txState, bool) {
	t, ok := ctx.Value(txKey{}).(*txState)
	return t, ok
}

// maxTxAttempts bounds the runs of a transaction that keeps meeting
// deadlocks or lock-wait timeouts.
const maxTxAttempts = 8

// conn returns the transaction carried by ctx, or the pool.
func (db *DB) conn(ctx context.Context) *gorm.DB {
	if t, ok := txOf(ctx); ok {
		return t.gdb.WithContext(ctx)
	}
	return db.DB.WithContext(ctx)
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
	return retry(isRetryable, func() error {
		return db.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			t := &txState{gdb: tx, heads: map[string]auditHeadRow{}}
			return fn(context.WithValue(ctx, txKey{}, t))
		})
	})
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

// retry runs a transaction again while it meets errors again accepts
// (deadlocks, lock-wait timeouts), up to maxTxAttempts runs.
func retry(again func(error) bool, run func() error) error {
	var err error
	for attempt := 0; attempt < maxTxAttempts; attempt++ {
		if err = run(); !again(err) {
			return err
		}
		// Back off a little longer each time, at random, so that the
		// transactions that collided do not collide again.
		time.Sleep(time.Duration(attempt+1)*5*time.Millisecond + rand.N(10*time.Millisecond))
	}
	return err
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
// multi-statement query) in a ballot transaction on MySQL, one after the
// other anywhere else. Each statement that answers with rows has its scan,
// which reads them (without closing them). Slices are spelled out as
// placeholders by the builder (see in), not by gorm, so that a ballot
// transaction can send them through database/sql.
type pipeline struct {
	dialect Dialect
	parts   []pipePart
}

func (db *DB) pipeline() *pipeline { return &pipeline{dialect: db.Dialect} }

// lockSuffix returns a locking clause on MySQL, nothing on SQLite (whose
// single writer needs none).
func (p *pipeline) lockSuffix(clause string) string { return p.onMySQL(clause) }

// onMySQL returns clause on MySQL, nothing on SQLite.
func (p *pipeline) onMySQL(clause string) string {
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

// in writes "(?, ?, …)" with one placeholder per value to b and appends the
// values to args.
func in[T any](b *strings.Builder, args []any, values []T) []any {
	b.WriteByte('(')
	for i, v := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('?')
		args = append(args, v)
	}
	b.WriteByte(')')
	return args
}

// run sends p's statements, one after the other, in ctx's transaction or
// on the pool.
func (db *DB) run(ctx context.Context, p *pipeline) error {
	for _, part := range p.parts {
		if err := db.runOne(ctx, part); err != nil {
			return err
		}
	}
	return nil
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

// The ballot path's transaction. It is not carried by a ctx: only the
// ballot store holds one (see Voting.InBallotTx), and nothing else can
// join it.
//
// On MySQL it runs at READ COMMITTED (a locking read of a missing row takes
// no gap lock, so that writers of neighbouring new rows do not deadlock;
// the ballot path serialises what it writes on the row locks it takes) on
// one connection of the READ COMMITTED pool, begun and committed by
// statements of its own, so that START TRANSACTION goes out with its first
// statements and COMMIT with its queued writes: a batch of ballots is
// three round trips. On SQLite it is an ordinary (immediate) transaction
// and the statements go one by one.
//
// Writes whose results nobody reads are queued (later) and sent with the
// commit. A statement sent now after a queued write would run before it:
// a read would not see it, a write would overtake it. ballotTx refuses
// both (errQueuedWrites) rather than answer from before the queued writes.
type ballotTx struct {
	db  *DB
	ctx context.Context
	// On MySQL, c is the connection and the transaction is begun by a
	// statement; on SQLite, tx is a transaction of database/sql.
	c            *sql.Conn
	tx           *sql.Tx
	begun, ended bool
	later        []pipePart
	// refused is a statement refused after queued writes (errQueuedWrites):
	// the transaction can no longer commit.
	refused error
	// heads are the audit heads this transaction has locked, as its
	// writes (queued or not) leave them.
	heads map[string]auditHeadRow
}

// errQueuedWrites is a statement sent after writes still queued.
var errQueuedWrites = errors.New("ballot transaction: a statement after queued writes would not see them")

// inBallotTx runs fn in a ballot transaction and commits it; on a deadlock,
// a lock-wait timeout or a duplicate key of a racing insert (or a
// receipt taken already) it runs fn
// again from the start (up to maxTxAttempts runs), so fn must not have
// effects outside the database.
//
// fn's ctx is for the checks a ballot may need beyond what the ballot path
// locks (a proxy's delegation, a paper ballot's photo): store methods
// called with it run in the same transaction, on its connection, but only
// before the queued writes — after them they fail (errQueuedWrites) and so
// does the commit.
func (db *DB) inBallotTx(ctx context.Context, fn func(ctx context.Context, t *ballotTx) error) error {
	return retry(func(err error) bool { return isRetryable(err) || isDuplicate(err) || errors.Is(err, errBallotSkipped) },
		func() error { return db.ballotTxOnce(ctx, fn) })
}

func (db *DB) ballotTxOnce(ctx context.Context, fn func(ctx context.Context, t *ballotTx) error) (err error) {
	t := &ballotTx{db: db, ctx: ctx, heads: map[string]auditHeadRow{}}
	if db.readCommitted == nil {
		sqlDB, err := db.DB.DB()
		if err != nil {
			return err
		}
		if t.tx, err = sqlDB.BeginTx(ctx, nil); err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		t.begun = true
	} else {
		sqlDB, err := db.readCommitted.DB()
		if err != nil {
			return err
		}
		if t.c, err = sqlDB.Conn(ctx); err != nil {
			return fmt.Errorf("connect to database: %w", err)
		}
	}
	defer func() {
		p := recover()
		t.close()
		if p != nil {
			panic(p)
		}
	}()
	joined := &txState{heads: t.heads}
	joined.gdb = db.DB.Session(&gorm.Session{NewDB: true, Context: ctx})
	joined.gdb.Statement.ConnPool = ballotConnPool{t}
	if err := fn(context.WithValue(ctx, txKey{}, joined), t); err != nil {
		return err
	}
	return t.commit()
}

// ballotConnPool lets store methods run statements in a ballot transaction
// (see inBallotTx), one by one and only before its queued writes.
type ballotConnPool struct{ t *ballotTx }

func (p ballotConnPool) ready(ctx context.Context) (querier, error) {
	t := p.t
	switch {
	case t.ended:
		return nil, errors.New("ballot transaction: already ended")
	case len(t.later) > 0:
		t.refused = errQueuedWrites
		return nil, errQueuedWrites
	case t.tx != nil:
		return t.tx, nil
	case !t.begun:
		if _, err := t.c.ExecContext(ctx, "START TRANSACTION"); err != nil {
			return nil, fmt.Errorf("begin transaction: %w", err)
		}
		t.begun = true
	}
	return t.c, nil
}

func (p ballotConnPool) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return nil, errors.New("ballot transaction: no prepared statements")
}

func (p ballotConnPool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	c, err := p.ready(ctx)
	if err != nil {
		return nil, err
	}
	return c.ExecContext(ctx, q, args...)
}

func (p ballotConnPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c, err := p.ready(ctx)
	if err != nil {
		return nil, err
	}
	return c.QueryContext(ctx, q, args...)
}

// QueryRowContext cannot return an error of its own: a refused statement
// answers as if its ctx had ended, and the refusal fails the commit.
func (p ballotConnPool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	c, err := p.ready(ctx)
	if err != nil {
		done, cancel := context.WithCancel(ctx)
		cancel()
		return p.t.db.SQL().QueryRowContext(done, q, args...)
	}
	return c.QueryRowContext(ctx, q, args...)
}

// close rolls back a transaction that did not commit and lets its
// connection go: back to the pool only with no transaction open (the
// ROLLBACK went through), otherwise closed (the server then rolls back).
func (t *ballotTx) close() {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), 5*time.Second)
	defer cancel()
	if t.tx != nil {
		if !t.ended {
			_ = t.tx.Rollback()
		}
		return
	}
	if t.begun && !t.ended {
		if _, err := t.c.ExecContext(rctx, "ROLLBACK"); err != nil {
			// Unknown state: never let the pool hand it out again.
			_ = t.c.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	t.c.Close()
}

// queue adds a write whose result nobody reads; it is sent with the commit.
func (t *ballotTx) queue(q string, args ...any) {
	t.later = append(t.later, pipePart{sql: q, args: args})
}

// run sends p's statements now: on MySQL in one round trip (with START
// TRANSACTION if the transaction is not begun yet), on SQLite one by one.
func (t *ballotTx) run(p *pipeline) error {
	if t.ended {
		return errors.New("ballot transaction: already ended")
	}
	if len(t.later) > 0 {
		return errQueuedWrites
	}
	if t.tx != nil {
		for _, part := range p.parts {
			if err := runPart(t.ctx, t.tx, part); err != nil {
				return err
			}
		}
		return nil
	}
	parts := p.parts
	if !t.begun {
		parts = append([]pipePart{{sql: "START TRANSACTION"}}, parts...)
		t.begun = true
	}
	return sendAll(t.ctx, t.c, parts)
}

// commit sends the queued writes and COMMIT: on MySQL in one round trip.
func (t *ballotTx) commit() error {
	if t.refused != nil {
		return t.refused
	}
	if t.tx != nil {
		for _, part := range t.later {
			if err := runPart(t.ctx, t.tx, part); err != nil {
				return fmt.Errorf("queued writes: %w", err)
			}
		}
		t.later = nil
		if err := t.tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		t.ended = true
		return nil
	}
	if !t.begun && len(t.later) == 0 {
		t.ended = true // nothing was sent
		return nil
	}
	parts := append(t.later, pipePart{sql: "COMMIT"})
	if !t.begun {
		parts = append([]pipePart{{sql: "START TRANSACTION"}}, parts...)
		t.begun = true
	}
	t.later = nil
	if err := sendAll(t.ctx, t.c, parts); err != nil {
		return fmt.Errorf("queued writes and commit: %w", err)
	}
	t.ended = true
	return nil
}

// querier is a connection or a transaction of database/sql.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func runPart(ctx context.Context, q querier, part pipePart) error {
	if part.scan == nil {
		_, err := q.ExecContext(ctx, part.sql, part.args...)
		return err
	}
	rows, err := q.QueryContext(ctx, part.sql, part.args...)
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

// sendAll sends parts as one multi-statement query and reads each result
// set with its statement's scan; the error of any statement is returned.
func sendAll(ctx context.Context, q querier, parts []pipePart) error {
	var (
		b     strings.Builder
		args  []any
		scans []func(*sql.Rows) error
	)
	for i, part := range parts {
		if i > 0 {
			b.WriteString(";\n")
		}
		b.WriteString(part.sql)
		args = append(args, part.args...)
		if part.scan != nil {
			scans = append(scans, part.scan)
		}
	}
	if len(scans) == 0 {
		_, err := q.ExecContext(ctx, b.String(), args...)
		return err
	}
	rows, err := q.QueryContext(ctx, b.String(), args...)
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
