package sqlstore

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing/fstest"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// dialectTokens are the few spellings in which MySQL and SQLite differ; the
// migrations are written once with these tokens.
var dialectTokens = map[Dialect]map[string]string{
	MySQL: {
		"{{ID}}":    "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY",
		"{{TIME}}":  "DATETIME(6)",
		"{{TABLE}}": "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
		// DROP INDEX names the table on MySQL only.
		"{{ON households}}": " ON households",
		"{{ON candidates}}": " ON candidates",
	},
	SQLite: {
		"{{ID}}":            "INTEGER PRIMARY KEY AUTOINCREMENT",
		"{{TIME}}":          "DATETIME",
		"{{TABLE}}":         "",
		"{{ON households}}": "",
		"{{ON candidates}}": "",
	},
}

// dialectFS returns the embedded migrations with the dialect's tokens
// expanded. A migration the dialects cannot share is written twice,
// NNNNN_name.mysql.sql and NNNNN_name.sqlite.sql: each dialect reads its
// own as NNNNN_name.sql.
func dialectFS(d Dialect) (fs.FS, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	for _, e := range entries {
		name, ok := migrationName(d, e.Name())
		if !ok {
			continue
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		for token, spelling := range dialectTokens[d] {
			b = bytes.ReplaceAll(b, []byte(token), []byte(spelling))
		}
		out[name] = &fstest.MapFile{Data: b, Mode: 0o444}
	}
	return out, nil
}

// migrationName is the name under which dialect d reads the migration file
// file, and whether it reads it at all.
func migrationName(d Dialect, file string) (string, bool) {
	for _, other := range []Dialect{MySQL, SQLite} {
		if base, ok := strings.CutSuffix(file, "."+string(other)+".sql"); ok {
			return base + ".sql", other == d
		}
	}
	return file, true
}

func (db *DB) provider(log *slog.Logger) (*goose.Provider, error) {
	sub, err := dialectFS(db.Dialect)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithSlog(log)}
	dialect := goose.DialectSQLite3
	if db.Dialect == MySQL {
		dialect = goose.DialectMySQL
		// Several server instances may start at once: one migrates, the
		// others wait for it.
		locker, err := lock.NewMySQLTableLocker(lock.WithTableName("louyuan_migration_lock"))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithLocker(locker))
	}
	return goose.NewProvider(dialect, db.SQL(), sub, opts...)
}

// Migrate applies every pending migration.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	p, err := db.provider(log)
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	start := time.Now()
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", r.Source.Path, "elapsed", r.Duration)
	}
	log.DebugContext(ctx, "migrations done", "applied", len(results), "elapsed", time.Since(start))
	return nil
}

// MigrationStatus returns the applied and pending version numbers.
func (db *DB) MigrationStatus(ctx context.Context, log *slog.Logger) (applied, pending []int64, err error) {
	p, err := db.provider(log)
	if err != nil {
		return nil, nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range st {
		if s.State == goose.StateApplied {
			applied = append(applied, s.Source.Version)
		} else {
			pending = append(pending, s.Source.Version)
		}
	}
	return applied, pending, nil
}
