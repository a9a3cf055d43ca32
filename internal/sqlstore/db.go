// Package sqlstore is the GORM implementation of Louyuan's stores on MySQL
// (production) and pure-Go SQLite (the embedded default), with the embedded,
// versioned, append-only schema migrations both run.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names a supported database.
type Dialect string

// The supported dialects.
const (
	MySQL  Dialect = "mysql"
	SQLite Dialect = "sqlite"
)

// DB is an open database with the dialect it speaks.
type DB struct {
	*gorm.DB
	Dialect Dialect
	// Returning says INSERT … RETURNING works (SQLite, MariaDB 10.5+; not
	// MySQL).
	Returning bool
	// readCommitted is a small pool whose sessions run at READ COMMITTED,
	// for the ballot transactions (ballotTx): one needs no SET TRANSACTION
	// round trip of its own. Nil on SQLite.
	readCommitted *gorm.DB
}

// Open connects to dsn. A DSN starting with "sqlite:" is a SQLite file path
// (e.g. "sqlite:data/louyuan.db"); anything else is a MySQL DSN in
// go-sql-driver form (user:pass@tcp(host:3306)/db). MySQL DSNs get
// parseTime, UTC and utf8mb4 forced on.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*DB, error) {
	cfg := &gorm.Config{
		Logger:                 slogGorm{log: log},
		NowFunc:                func() time.Time { return time.Now().UTC() },
		SkipDefaultTransaction: true,
		TranslateError:         false,
	}
	var (
		gdb     *gorm.DB
		err     error
		dialect Dialect
	)
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		dialect = SQLite
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database folder: %w", err)
			}
		}
		// One connection: SQLite has one writer, and a single connection
		// turns concurrent writers into a queue instead of SQLITE_BUSY.
		gdb, err = gorm.Open(sqlite.Open(path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate"), cfg)
		if err == nil {
			sqlDB, _ := gdb.DB()
			sqlDB.SetMaxOpenConns(1)
		}
	} else {
		dialect = MySQL
		mc, perr := mysqldriver.ParseDSN(dsn)
		if perr != nil {
			return nil, fmt.Errorf("parse MySQL DSN: %w", perr)
		}
		mc.ParseTime = true
		mc.Loc = time.UTC
		if mc.Params == nil {
			mc.Params = map[string]string{}
		}
		mc.Collation = "utf8mb4_unicode_ci"
		mc.Params["time_zone"] = "'+00:00'"
		// A database that is down answers at once (connection refused);
		// one that does not answer must not hold requests for minutes.
		if mc.Timeout == 0 {
			mc.Timeout = 5 * time.Second
		}
		// Arguments are escaped by the driver (utf8mb4 only), so that each
		// statement is one round trip instead of prepare, execute, close.
		mc.InterpolateParams = true
		gdb, err = gorm.Open(mysql.Open(mc.FormatDSN()), cfg)
		if err == nil {
			sqlDB, _ := gdb.DB()
			sqlDB.SetMaxOpenConns(64)
			sqlDB.SetMaxIdleConns(64)
			sqlDB.SetConnMaxLifetime(30 * time.Minute)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	db := &DB{DB: gdb, Dialect: dialect, Returning: dialect == SQLite}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if dialect == MySQL {
		var version string
		if err := gdb.WithContext(ctx).Raw("SELECT VERSION()").Scan(&version).Error; err != nil {
			db.Close()
			return nil, fmt.Errorf("read database version: %w", err)
		}
		db.Returning = strings.Contains(version, "MariaDB")
		if db.readCommitted, err = openReadCommitted(ctx, gdb, dsn, cfg); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// openReadCommitted opens the READ COMMITTED pool next to gdb. The session
// variable is transaction_isolation (MySQL 8, MariaDB 11.1+) or tx_isolation
// (older MariaDB); the server says which it knows.
func openReadCommitted(ctx context.Context, gdb *gorm.DB, dsn string, cfg *gorm.Config) (*gorm.DB, error) {
	variable := "transaction_isolation"
	var level string
	if err := gdb.WithContext(ctx).Raw("SELECT @@transaction_isolation").Scan(&level).Error; err != nil {
		variable = "tx_isolation"
	}
	mc, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse MySQL DSN: %w", err)
	}
	mc.ParseTime, mc.Loc, mc.Collation, mc.InterpolateParams = true, time.UTC, "utf8mb4_unicode_ci", true
	if mc.Timeout == 0 {
		mc.Timeout = 5 * time.Second
	}
	if mc.Params == nil {
		mc.Params = map[string]string{}
	}
	mc.Params["time_zone"] = "'+00:00'"
	mc.Params[variable] = "'READ-COMMITTED'"
	// The ballot transactions send their last writes as one
	// multi-statement query (see ballotTx); only this pool allows it.
	mc.MultiStatements = true
	rc, err := gorm.Open(mysql.Open(mc.FormatDSN()), cfg)
	if err != nil {
		return nil, fmt.Errorf("open READ COMMITTED pool: %w", err)
	}
	sqlDB, _ := rc.DB()
	sqlDB.SetMaxOpenConns(16)
	sqlDB.SetMaxIdleConns(16)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	if err := rc.WithContext(ctx).Raw("SELECT @@" + variable).Scan(&level).Error; err != nil || !strings.EqualFold(strings.ReplaceAll(level, "_", "-"), "READ-COMMITTED") {
		sqlDB.Close()
		return nil, fmt.Errorf("READ COMMITTED pool runs at %q (%v)", level, err)
	}
	return rc, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s database: %w", db.Dialect, err)
	}
	return nil
}

// Close closes the connection pool.
func (db *DB) Close() error {
	if db.readCommitted != nil {
		if rc, err := db.readCommitted.DB(); err == nil {
			rc.Close()
		}
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// SQL returns the underlying *sql.DB.
func (db *DB) SQL() *sql.DB {
	sqlDB, _ := db.DB.DB()
	return sqlDB
}

// isDuplicate reports whether err is a unique-key violation.
func isDuplicate(err error) bool {
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// slogGorm sends GORM's messages to slog: errors other than "record not
// found" at warn, slow queries at warn, nothing else. SQL arguments are never
// logged (they can hold personal data).
type slogGorm struct{ log *slog.Logger }

func (l slogGorm) LogMode(logger.LogLevel) logger.Interface { return l }
func (l slogGorm) Info(context.Context, string, ...any)     {}
func (l slogGorm) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, "gorm", "msg", fmt.Sprintf(msg, args...))
}
func (l slogGorm) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, "gorm", "msg", fmt.Sprintf(msg, args...))
}
func (l slogGorm) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	if elapsed > 500*time.Millisecond {
		sqlText, _ := fc()
		if i := strings.IndexAny(sqlText, "("); i > 0 && i < 120 {
			sqlText = sqlText[:i]
		} else if len(sqlText) > 120 {
			sqlText = sqlText[:120]
		}
		l.log.WarnContext(ctx, "slow query", "elapsed", elapsed, "sql", sqlText)
	}
}
