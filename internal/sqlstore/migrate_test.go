package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/testenv"
	"github.com/louyuan/louyuan/internal/voting"
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
	if want := allVersions(t); !slices.Equal(applied, want) {
		t.Errorf("applied migrations = %v, want %v", applied, want)
	}
	for _, table := range wantTables {
		if !db.Migrator().HasTable(table) {
			t.Errorf("table %s missing after migration", table)
		}
	}
	if db.Dialect == MySQL && !db.Migrator().HasTable("louyuan_migration_lock") {
		t.Errorf("MySQL migrated without taking the migration lock (no louyuan_migration_lock table)")
	}
	// Each migration is recorded exactly once.
	var n int64
	if err := db.DB.Table("goose_db_version").Where("version_id > 0").Count(&n).Error; err != nil {
		t.Fatalf("read goose_db_version: %v", err)
	}
	if want := len(allVersions(t)); n != int64(want) {
		t.Errorf("goose_db_version has %d applied rows, want %d", n, want)
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
		if len(applied) != 0 || !slices.Equal(pending, allVersions(t)) {
			t.Fatalf("empty database: applied %v pending %v, want none and %v", applied, pending, allVersions(t))
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
// what goose reads from the provider's file system (it opens each file,
// it does not call ReadFile) must have them expanded for the dialect.
func TestMigrationFilesExpanded(t *testing.T) {
	for _, d := range []Dialect{MySQL, SQLite} {
		fsys, err := dialectFS(d)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil || len(entries) != len(allVersions(t)) {
			t.Fatalf("%s: read migrations: %d entries, %v", d, len(entries), err)
		}
		for _, e := range entries {
			f, err := fsys.Open(e.Name())
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("{{")) {
				t.Errorf("%s: %s still has unexpanded dialect tokens", d, e.Name())
			}
			// Each token the source uses shows in the dialect's spelling.
			src, err := migrationFiles.ReadFile("migrations/" + e.Name())
			if err != nil {
				src, err = migrationFiles.ReadFile("migrations/" + strings.TrimSuffix(e.Name(), ".sql") + "." + string(d) + ".sql")
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, token := range []string{"{{ID}}", "{{TIME}}"} {
				if spelling := dialectTokens[d][token]; bytes.Contains(src, []byte(token)) && !bytes.Contains(b, []byte(spelling)) {
					t.Errorf("%s: %s lacks %q", d, e.Name(), spelling)
				}
			}
		}
	}
}

// countHandler counts "migration applied" log records.
type countHandler struct {
	mu      *sync.Mutex
	applied *int
}

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "migration applied" {
		h.mu.Lock()
		*h.applied++
		h.mu.Unlock()
	}
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

// Several server instances starting at once against one fresh database: one
// migrates, the other waits for the lock and finds nothing left to do.
func TestMigrateConcurrentMySQL(t *testing.T) {
	t.Parallel()
	dsn := testenv.MySQL(t)
	dbs := []*DB{openMySQL(t, dsn), openMySQL(t, dsn)}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied int
	)
	log := slog.New(countHandler{mu: &mu, applied: &applied})
	errs := make([]error, len(dbs))
	start := make(chan struct{})
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = db.Migrate(context.Background(), log)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent migrate %d: %v", i, err)
		}
	}
	if want := len(allVersions(t)); applied != want {
		t.Errorf("%d migrations applied in all, want %d (each once)", applied, want)
	}
	for _, db := range dbs {
		checkMigrated(t, db)
	}
}

// allVersions lists the version numbers of the embedded migration files.
func allVersions(t *testing.T) []int64 {
	t.Helper()
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%05d_", &v); err != nil {
			t.Fatalf("migration file %s has no version prefix", e.Name())
		}
		out = append(out, v)
	}
	return slices.Compact(out) // a migration written for each dialect is one version
}

// Migration 00015: the database itself refuses a counted ballot outside its
// motion's electorate (a foreign key on MySQL, triggers on SQLite); the
// migration refuses to apply over such a row already there, and its Down
// removes the guard again.
func TestCountedBallotsInElectorate(t *testing.T) {
	bothDBs(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p, err := db.provider(quietLog())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 14); err != nil {
			t.Fatalf("migrate to 14: %v", err)
		}
		pl, hs := seedHouseholds(t, db, 2)
		in, out := hs[0], hs[1]
		m, err := NewVoting(db).CreateMotion(ctx, voting.Motion{CourtyardID: pl.Courtyard, ScopeType: voting.ScopeCourtyard, ScopeID: pl.Courtyard, Title: "表决",
			Rule: voting.OrdinaryRule(), Options: []voting.Option{{Key: "agree", Label: "同意"}}, Mode: voting.ModeNamed, Status: voting.StatusVoting,
			OpensAt: t0, ClosesAt: t0.Add(time.Hour), CreatedBy: "staff:1", CreatedAt: t0})
		must(t, err)
		must(t, db.Exec("INSERT INTO motion_electorate (motion_id, household_id, owner_group, area, building_id, unit_id) SELECT ?, id, id, area, building_id, unit_id FROM households WHERE id = ?",
			m.ID, in).Error)
		ballot := func(h int64, receipt string) int64 {
			return insertID(t, db, "ballots", "INSERT INTO ballots (motion_id, household_id, choice, channel, cast_by, receipt, created_at) VALUES (?, ?, '[\"agree\"]', 'self', 'user:1', ?, ?)",
				[]any{m.ID, h, receipt, t0}, "receipt = ?", receipt)
		}
		count := func(h, b int64) error {
			return db.Exec("INSERT INTO counted_ballots (motion_id, household_id, ballot_id, choice, channel, version, updated_at) VALUES (?, ?, ?, '[\"agree\"]', 'self', 1, ?)",
				m.ID, h, b, t0).Error
		}
		bIn, bOut := ballot(in, "RCPTIN000001"), ballot(out, "RCPTOUT00001")
		// Before 00015 nothing stops the row outside; 00015 then refuses to apply.
		must(t, count(out, bOut))
		if _, err := p.Up(ctx); err == nil {
			t.Fatal("00015 applied over a counted ballot outside the electorate")
		}
		must(t, db.Exec("DELETE FROM counted_ballots WHERE household_id = ?", out).Error)
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("00015 over clean rows: %v", err)
		}
		// Applied: inside passes, outside is refused, inserted or moved.
		must(t, count(in, bIn))
		if err := count(out, bOut); err == nil {
			t.Error("counted ballot outside the electorate inserted")
		}
		if err := db.Exec("UPDATE counted_ballots SET household_id = ? WHERE household_id = ?", out, in).Error; err == nil {
			t.Error("counted ballot moved outside the electorate")
		}
		// Down removes the guard.
		if _, err := p.DownTo(ctx, 14); err != nil {
			t.Fatalf("down to 14: %v", err)
		}
		must(t, count(out, bOut))
	})
}

// Migration 00016: two candidates of one election cannot hold the same
// option key; candidates off the ballot (NULL) can be many, and another
// election may use the same keys.
func TestCandidateOptionKeysUnique(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		pl, hs := seedHouseholds(t, db, 1)
		h := hs[0]
		s := NewCouncils(db)
		id, err := s.CreateCouncil(ctx, "幸福里理事会", []int64{pl.Courtyard}, "2026-01-01", "2028-12-31", t0)
		must(t, err)
		election := func() int64 {
			e, err := s.CreateElection(ctx, council.Election{CouncilID: id, CourtyardID: pl.Courtyard, ScopeType: "courtyard", ScopeID: pl.Courtyard, Title: "换届",
				Seats: 3, TermStartsOn: "2029-01-01", TermEndsOn: "2031-12-31", Status: council.ElectionNominating, CreatedBy: "staff:1", CreatedAt: t0})
			must(t, err)
			return e.ID
		}
		e1, e2 := election(), election()
		candidate := func(e int64, user string) int64 {
			u := newUser(t, db, user+"-"+fmt.Sprint(e), user)
			return insertID(t, db, "candidates", "INSERT INTO candidates (election_id, user_id, household_id, name, source, statement, nominated_by, created_at) VALUES (?, ?, ?, ?, 'self', '', 'user:1', ?)",
				[]any{e, u, h, user, t0}, "election_id = ? AND user_id = ?", e, u)
		}
		a, b, c := candidate(e1, "甲"), candidate(e1, "乙"), candidate(e2, "丙")
		// Off the ballot: NULL keys, several of them.
		must(t, s.ClearOptionKeys(ctx, e1))
		must(t, s.SetOptionKey(ctx, a, "c1"))
		if err := s.SetOptionKey(ctx, b, "c1"); err == nil {
			t.Error("two candidates of one election on option c1")
		}
		must(t, s.SetOptionKey(ctx, b, "c2"))
		must(t, s.SetOptionKey(ctx, c, "c1")) // another election
	})
}
