package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

type txKey struct{}

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
// three times) from the start, so fn must not have effects outside the
// database.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return db.inTx(ctx, &sql.TxOptions{}, fn)
}

// InTxReadCommitted is InTx at READ COMMITTED on MySQL: each statement
// reads the latest committed rows and a locking read locks only the rows it
// finds (no gap locks), so that writers of neighbouring new rows do not
// deadlock. The caller must serialise what it writes on row locks. Nested,
// it joins the outer transaction as it is.
func (db *DB) InTxReadCommitted(ctx context.Context, fn func(ctx context.Context) error) error {
	if db.Dialect != MySQL {
		return db.InTx(ctx, fn) // SQLite: one writer at a time anyway
	}
	return db.inTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, fn)
}

func (db *DB) inTx(ctx context.Context, opts *sql.TxOptions, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		err = db.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return fn(context.WithValue(ctx, txKey{}, tx))
		}, opts)
		if !isRetryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
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
