package sqlstore

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/pressly/goose/v3"

	"github.com/louyuan/louyuan/internal/testenv"
)

// wantTables are tables both migrations create.
var wantTables = []string{
	"subdistricts", "communities", "courtyards", "buildings", "units", "households", "owners", "household_owners",
	"users", "memberships", "invite_codes", "bind_requests", "representative_requests",
	"councils", "council_courtyards", "council_terms", "council_members", "staff_accounts", "role_grants",
	"audit_log", "audit_heads", "stored_files",
}

func checkMigrated(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	applied, pending, err := db.MigrationStatus(ctx, quietLog())
	if err != nil {
		t.Fatalf("migration status: %v", err)
	}
	if len(pending) != 0 {
		t.Errorf("pending migrations: %v", pending)
	}
	if !slices.Equal(applied, []int64{1, 2}) {
		t.Errorf("applied migrations = %v, want [1 2]", applied)
	}
	for _, table := range wantTables {
		if !db.Migrator().HasTable(table) {
			t.Errorf("table %s missing after migration", table)
		}
	}
	// Each migration is recorded exactly once.
	var n int64
	if err := db.DB.Table("goose_db_version").Where("version_id > 0").Count(&n).Error; err != nil {
		t.Fatalf("read goose_db_version: %v", err)
	}
	if n != 2 {
		t.Errorf("goose_db_version has %d applied rows, want 2", n)
	}
}

// bothDBs runs fn on a fresh, unmigrated MariaDB/MySQL database and SQLite file.
func bothDBs(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	t.Run("mysql", func(t *testing.T) {
		t.Parallel()
		fn(t, openMySQL(t, testenv.MySQL(t)))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, openSQLite(t))
	})
}

func TestMigrateIdempotent(t *testing.T) {
	bothDBs(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		applied, pending, err := db.MigrationStatus(ctx, quietLog())
		if err != nil {
			t.Fatalf("status of empty database: %v", err)
		}
		if len(applied) != 0 || !slices.Equal(pending, []int64{1, 2}) {
			t.Fatalf("empty database: applied %v pending %v, want none and [1 2]", applied, pending)
		}
		for i := 0; i < 2; i++ {
			if err := db.Migrate(ctx, quietLog()); err != nil {
				t.Fatalf("Migrate (run %d): %v", i+1, err)
			}
		}
		checkMigrated(t, db)
	})
}

// The migration files are written once with {{ID}}, {{TIME}} and {{TABLE}};
// what goose reads through the provider's file system must have them
// expanded for the dialect.
func TestMigrationFilesExpanded(t *testing.T) {
	for _, d := range []Dialect{MySQL, SQLite} {
		sub, err := fs.Sub(dialectFS{d}, "migrations")
		if err != nil {
			t.Fatal(err)
		}
		entries, err := fs.ReadDir(sub, ".")
		if err != nil || len(entries) != 2 {
			t.Fatalf("%s: read migrations: %d entries, %v", d, len(entries), err)
		}
		for _, e := range entries {
			// goose opens each file and reads it (fsys.Open), it does not call ReadFile.
			f, err := sub.Open(e.Name())
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("{{")) {
				t.Errorf("%s: %s read through Open still has unexpanded dialect tokens", d, e.Name())
			}
			if rb, _ := fs.ReadFile(sub, e.Name()); bytes.Contains(rb, []byte("{{")) {
				t.Errorf("%s: %s read through ReadFile still has unexpanded dialect tokens", d, e.Name())
			}
		}
	}
}

// Several server instances starting at once against one fresh database: one
// migrates, the other waits for the lock and finds nothing left to do.
func TestMigrateConcurrentMySQL(t *testing.T) {
	t.Parallel()
	dsn := testenv.MySQL(t)
	dbs := []*DB{openMySQL(t, dsn), openMySQL(t, dsn)}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Migrate(context.Background(), quietLog())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent migrate %d: %v", i, err)
		}
	}
	for _, db := range dbs {
		checkMigrated(t, db)
	}
}

// applyExpanded applies the embedded migrations through goose from an
// in-memory copy whose dialect tokens are already expanded (what
// dialectFS.ReadFile returns).
func applyExpanded(t *testing.T, db *DB) {
	t.Helper()
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	mfs := fstest.MapFS{}
	for _, e := range entries {
		b, err := dialectFS{db.Dialect}.ReadFile("migrations/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("{{")) {
			t.Fatalf("%s still has an unexpanded token", e.Name())
		}
		mfs[e.Name()] = &fstest.MapFile{Data: b}
	}
	dialect := goose.DialectSQLite3
	if db.Dialect == MySQL {
		dialect = goose.DialectMySQL
	}
	p, err := goose.NewProvider(dialect, db.SQL(), mfs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(context.Background()); err != nil {
		t.Fatalf("apply expanded migrations: %v", err)
	}
}
