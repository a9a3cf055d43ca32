package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/roster"
	"github.com/louyuan/louyuan/internal/testenv"
)

// The SQL stores implement the domain interfaces.
var (
	_ identity.Store = (*Identity)(nil)
	_ roster.Store   = (*Roster)(nil)
	_ audit.Appender = (*AuditLog)(nil)
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openMySQL opens (without migrating) a fresh MariaDB/MySQL database.
func openMySQL(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn, quietLog())
	if err != nil {
		t.Fatalf("open mysql: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if db.Dialect != MySQL {
		t.Fatalf("dialect = %q, want mysql", db.Dialect)
	}
	return db
}

func openSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "t.db"), quietLog())
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if db.Dialect != SQLite {
		t.Fatalf("dialect = %q, want sqlite", db.Dialect)
	}
	return db
}

func migrated(t *testing.T, db *DB) *DB {
	t.Helper()
	if err := db.Migrate(context.Background(), quietLog()); err != nil {
		t.Fatalf("migrate %s: %v", db.Dialect, err)
	}
	return db
}

// eachDB runs fn against a freshly migrated MariaDB/MySQL database and a
// freshly migrated SQLite file, as subtests "mysql" and "sqlite".
func eachDB(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	t.Run("mysql", func(t *testing.T) {
		t.Parallel()
		fn(t, migrated(t, openMySQL(t, testenv.MySQL(t))))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, migrated(t, openSQLite(t)))
	})
}

// wantErr fails unless err is a *louyuan.Error of that kind and code.
func wantErr(t *testing.T, err error, kind louyuan.Kind, code string) {
	t.Helper()
	var e *louyuan.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *louyuan.Error %s/%s", err, err, kind, code)
	}
	if e.Kind != kind || e.Code != code {
		t.Fatalf("error = %s/%s (%v), want %s/%s", e.Kind, e.Code, err, kind, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// count returns SELECT COUNT(*) FROM table [WHERE where].
func count(t *testing.T, db *DB, table, where string, args ...any) int64 {
	t.Helper()
	q := db.DB.Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// insertID inserts a row with raw SQL and returns the id of the newest row
// matching lookup.
func insertID(t *testing.T, db *DB, table, insert string, insertArgs []any, lookup string, lookupArgs ...any) int64 {
	t.Helper()
	if err := db.Exec(insert, insertArgs...).Error; err != nil {
		t.Fatalf("insert into %s: %v", table, err)
	}
	var id int64
	if err := db.DB.Table(table).Select("id").Where(lookup, lookupArgs...).Order("id DESC").Limit(1).Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("read id from %s: %d, %v", table, id, err)
	}
	return id
}

var t0 = time.Date(2025, 6, 1, 9, 30, 15, 123456000, time.UTC)

// places is a seeded hierarchy: one subdistrict, two communities and three
// courtyards (Courtyard and Court2 in Community, Court3 in Comm2).
type places struct {
	Subdistrict               int64
	Community, Comm2          int64
	Courtyard, Court2, Court3 int64
}

const (
	seedSubdistrict = "东城街道"
	seedCommunity   = "和平社区"
	seedCourtyard   = "幸福里"
	seedAddress     = "和平路 1 号"
)

func seedPlaces(t *testing.T, db *DB) places {
	t.Helper()
	var p places
	p.Subdistrict = insertID(t, db, "subdistricts", "INSERT INTO subdistricts (name, created_at) VALUES (?, ?)",
		[]any{seedSubdistrict, t0}, "name = ?", seedSubdistrict)
	// gorm Table(...).Create with a map, as well as raw SQL.
	must(t, db.DB.Table("communities").Create(map[string]any{"subdistrict_id": p.Subdistrict, "name": seedCommunity, "created_at": t0}).Error)
	must(t, db.DB.Table("communities").Create(map[string]any{"subdistrict_id": p.Subdistrict, "name": "光明社区", "created_at": t0}).Error)
	must(t, db.DB.Table("communities").Select("id").Where("name = ?", seedCommunity).Scan(&p.Community).Error)
	must(t, db.DB.Table("communities").Select("id").Where("name = ?", "光明社区").Scan(&p.Comm2).Error)
	if p.Community == 0 || p.Comm2 == 0 || p.Community == p.Comm2 {
		t.Fatalf("community ids %d, %d", p.Community, p.Comm2)
	}
	ins := "INSERT INTO courtyards (community_id, name, address, created_at) VALUES (?, ?, ?, ?)"
	p.Courtyard = insertID(t, db, "courtyards", ins, []any{p.Community, seedCourtyard, seedAddress, t0}, "name = ?", seedCourtyard)
	p.Court2 = insertID(t, db, "courtyards", ins, []any{p.Community, "安居苑", "", t0}, "name = ?", "安居苑")
	p.Court3 = insertID(t, db, "courtyards", ins, []any{p.Comm2, "乐业园", "", t0}, "name = ?", "乐业园")
	return p
}

// seedHouseholds seeds the places and n households of 80.00 m² in 1号楼
// 1单元 of the first courtyard (rooms 101, 102, …, owners 业主0, 业主1, …)
// and returns their IDs in room order.
func seedHouseholds(t *testing.T, db *DB, n int) (places, []int64) {
	t.Helper()
	p := seedPlaces(t, db)
	var rows []roster.ImportRow
	for i := range n {
		rows = append(rows, roster.ImportRow{Line: i + 2, Building: "1号楼", Unit: "1单元", Room: fmt.Sprint(101 + i), Floor: 1, Area: area(t, "80.00"),
			Owners: []roster.OwnerRef{{Name: fmt.Sprint("业主", i)}}})
	}
	importRows(t, db, p.Courtyard, rows)
	hs := make([]int64, n)
	for i := range hs {
		hs[i] = householdID(t, db, p.Courtyard, "1号楼", "1单元", fmt.Sprint(101+i))
	}
	return p, hs
}

func area(t *testing.T, s string) louyuan.Area {
	t.Helper()
	a, err := louyuan.ParseArea(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func importRows(t *testing.T, db *DB, courtyardID int64, rows []roster.ImportRow) roster.ImportResult {
	t.Helper()
	var res roster.ImportResult
	err := db.InTx(context.Background(), func(ctx context.Context) error {
		var err error
		res, err = NewRoster(db).ImportHouseholds(ctx, courtyardID, rows, t0)
		return err
	})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return res
}

// newUser creates a WeChat user with a real name.
func newUser(t *testing.T, db *DB, openID, name string) int64 {
	t.Helper()
	u, created, err := NewIdentity(db).UpsertUser(context.Background(), openID, "", t0)
	if err != nil || !created {
		t.Fatalf("create user %s: %v (created %v)", openID, err, created)
	}
	if name != "" {
		must(t, db.DB.Table("users").Where("id = ?", u.ID).Update("real_name", name).Error)
	}
	return u.ID
}

// householdID finds a household by its address.
func householdID(t *testing.T, db *DB, courtyardID int64, building, unit, room string) int64 {
	t.Helper()
	hs, err := NewRoster(db).Households(context.Background(), courtyardID)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if h.Building == building && h.Unit == unit && h.Room == room {
			return h.ID
		}
	}
	t.Fatalf("household %s%s%s not found in courtyard %d", building, unit, room, courtyardID)
	return 0
}
