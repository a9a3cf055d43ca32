package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/roster"
)

func TestCourtyard(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		p := seedPlaces(t, db)
		s := NewRoster(db)
		c, err := s.Courtyard(context.Background(), p.Courtyard)
		if err != nil {
			t.Fatal(err)
		}
		want := roster.Courtyard{ID: p.Courtyard, Name: seedCourtyard, Address: seedAddress, CommunityID: p.Community,
			Community: seedCommunity, SubdistrictID: p.Subdistrict, Subdistrict: seedSubdistrict}
		if c != want {
			t.Fatalf("Courtyard = %+v, want %+v", c, want)
		}
		_, err = s.Courtyard(context.Background(), p.Court3+100)
		wantErr(t, err, louyuan.KindNotFound, "courtyard_not_found")
	})
}

type tableCounts struct{ Households, Buildings, Units, Owners, Links int64 }

func rosterCounts(t *testing.T, db *DB) tableCounts {
	t.Helper()
	return tableCounts{
		Households: count(t, db, "households", ""),
		Buildings:  count(t, db, "buildings", ""),
		Units:      count(t, db, "units", ""),
		Owners:     count(t, db, "owners", ""),
		Links:      count(t, db, "household_owners", ""),
	}
}

func TestImportHouseholds(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := seedPlaces(t, db)
		s := NewRoster(db)
		zhang := roster.OwnerRef{Name: "张三", IDTail: "123X"}
		zhangOther := roster.OwnerRef{Name: "张三", IDTail: "5678"} // same name, another person
		li := roster.OwnerRef{Name: "李四"}
		wang := roster.OwnerRef{Name: "王五", IDTail: "0001"}
		zhao := roster.OwnerRef{Name: "赵六"}
		rows := []roster.ImportRow{
			{Line: 2, Building: "1号楼", Unit: "1单元", Room: "101", Floor: 1, Area: area(t, "85.20"), Owners: []roster.OwnerRef{zhang}},
			{Line: 3, Building: "1号楼", Unit: "1单元", Room: "102", Floor: 1, Area: area(t, "0.29"), Owners: []roster.OwnerRef{li}},
			// 张三 (123X) owns two households: one owners row.
			{Line: 4, Building: "1号楼", Unit: "2单元", Room: "201", Floor: 2, Area: area(t, "123.45"), Owners: []roster.OwnerRef{zhang, wang}},
			{Line: 5, Building: "10号楼", Unit: "1单元", Room: "301", Floor: 3, Area: area(t, "99999.99"), Owners: []roster.OwnerRef{zhao, zhangOther}},
			{Line: 6, Building: "2号楼", Unit: "1单元", Room: "101", Floor: 1, Area: area(t, "100"), Owners: nil},
		}
		res := importRows(t, db, p.Courtyard, rows)
		if want := (roster.ImportResult{Created: 5}); res != want {
			t.Fatalf("first import = %+v, want %+v", res, want)
		}
		wantCounts := tableCounts{Households: 5, Buildings: 3, Units: 4, Owners: 5, Links: 6}
		if got := rosterCounts(t, db); got != wantCounts {
			t.Fatalf("after first import: %+v, want %+v", got, wantCounts)
		}
		if n := count(t, db, "owners", "name = ? AND id_tail = ?", "张三", "123X"); n != 1 {
			t.Errorf("owner 张三/123X has %d rows, want 1", n)
		}

		hs, err := s.Households(ctx, p.Courtyard)
		if err != nil {
			t.Fatal(err)
		}
		// Natural order: 1号楼 < 2号楼 < 10号楼.
		var got []string
		for _, h := range hs {
			got = append(got, fmt.Sprintf("%s%s%s|%d|%s|%v", h.Building, h.Unit, h.Room, h.Floor, h.Area, h.Owners))
			if h.CourtyardID != p.Courtyard {
				t.Errorf("household %d courtyard %d, want %d", h.ID, h.CourtyardID, p.Courtyard)
			}
		}
		want := []string{
			"1号楼1单元101|1|85.20|[张三]",
			"1号楼1单元102|1|0.29|[李四]",
			"1号楼2单元201|2|123.45|[张三 王五]",
			"2号楼1单元101|1|100.00|[]",
			"10号楼1单元301|3|99999.99|[赵六 张三]",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("households:\n got %q\nwant %q", got, want)
		}

		// The same file again changes nothing.
		res = importRows(t, db, p.Courtyard, rows)
		if want := (roster.ImportResult{Unchanged: 5}); res != want {
			t.Fatalf("re-import = %+v, want %+v", res, want)
		}
		if got := rosterCounts(t, db); got != wantCounts {
			t.Fatalf("after re-import: %+v, want %+v", got, wantCounts)
		}

		// Changed area, floor and owners; 2号楼 101 left out; one new household.
		changed := []roster.ImportRow{
			{Line: 2, Building: "1号楼", Unit: "1单元", Room: "101", Floor: 1, Area: area(t, "85.21"), Owners: []roster.OwnerRef{zhang}},
			{Line: 3, Building: "1号楼", Unit: "1单元", Room: "102", Floor: 7, Area: area(t, "0.29"), Owners: []roster.OwnerRef{li}},
			{Line: 4, Building: "1号楼", Unit: "2单元", Room: "201", Floor: 2, Area: area(t, "123.45"), Owners: []roster.OwnerRef{wang}},
			{Line: 5, Building: "10号楼", Unit: "1单元", Room: "301", Floor: 3, Area: area(t, "99999.99"), Owners: []roster.OwnerRef{zhangOther, zhao}},
			{Line: 6, Building: "1号楼", Unit: "1单元", Room: "103", Floor: 1, Area: area(t, "66.6"), Owners: []roster.OwnerRef{li}},
		}
		res = importRows(t, db, p.Courtyard, changed)
		if want := (roster.ImportResult{Created: 1, Updated: 3, Unchanged: 1, NotInFile: 1}); res != want {
			t.Fatalf("changed import = %+v, want %+v", res, want)
		}
		wantCounts = tableCounts{Households: 6, Buildings: 3, Units: 4, Owners: 5, Links: 6}
		if got := rosterCounts(t, db); got != wantCounts {
			t.Fatalf("after changed import: %+v, want %+v", got, wantCounts)
		}
		check := func(building, unit, room string, floor int, a string, owners ...string) {
			t.Helper()
			h, err := s.Household(ctx, householdID(t, db, p.Courtyard, building, unit, room))
			if err != nil {
				t.Fatal(err)
			}
			if h.Floor != floor || h.Area.String() != a || !slices.Equal(h.Owners, owners) {
				t.Errorf("%s: floor %d area %s owners %v; want %d %s %v", h.Label(), h.Floor, h.Area, h.Owners, floor, a, owners)
			}
		}
		check("1号楼", "1单元", "101", 1, "85.21", "张三")
		check("1号楼", "1单元", "102", 7, "0.29", "李四")
		check("1号楼", "2单元", "201", 2, "123.45", "王五")
		check("10号楼", "1单元", "301", 3, "99999.99", "赵六", "张三")
		check("2号楼", "1单元", "101", 1, "100.00") // not in the file: kept as it was
		check("1号楼", "1单元", "103", 1, "66.60", "李四")

		// Applying the changed file again is a no-op, and it still reports
		// the household it does not list.
		res = importRows(t, db, p.Courtyard, changed)
		if want := (roster.ImportResult{Unchanged: 5, NotInFile: 1}); res != want {
			t.Fatalf("changed re-import = %+v, want %+v", res, want)
		}

		// Another courtyard's import neither sees nor touches these rows,
		// and owners are per courtyard.
		res = importRows(t, db, p.Court2, rows[:1])
		if want := (roster.ImportResult{Created: 1}); res != want {
			t.Fatalf("other courtyard import = %+v, want %+v", res, want)
		}
		if n := count(t, db, "owners", "name = ? AND id_tail = ?", "张三", "123X"); n != 2 {
			t.Errorf("owner 张三/123X has %d rows over two courtyards, want 2", n)
		}
		if n := count(t, db, "households", "courtyard_id = ?", p.Courtyard); n != 6 {
			t.Errorf("first courtyard has %d households, want 6", n)
		}
	})
}

// Areas are exact hundredths: they must survive DECIMAL(10,2) on MySQL and
// SQLite's numeric affinity unchanged, and compare equal on re-import.
func TestImportAreaRoundTrip(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		p := seedPlaces(t, db)
		values := []string{"0.01", "0.1", "0.29", "0.3", "1.10", "2.675", "12.34", "33.33", "66.67", "85.2", "85.20", "99.99",
			"100", "100.01", "123.45", "1000.05", "4503.99", "9999.99", "12345.67", "54321.09", "99999.99"}
		var rows []roster.ImportRow
		for i, v := range values {
			a, err := louyuan.ParseArea(v)
			if err != nil {
				// "2.675" has three decimals: not an area; use 2.67.
				a = area(t, "2.67")
			}
			rows = append(rows, roster.ImportRow{Line: i + 2, Building: "1号楼", Unit: "1单元", Room: fmt.Sprintf("%03d", i+1), Floor: 1, Area: a})
		}
		if res := importRows(t, db, p.Courtyard, rows); res.Created != len(rows) {
			t.Fatalf("import = %+v", res)
		}
		hs, err := NewRoster(db).Households(context.Background(), p.Courtyard)
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != len(rows) {
			t.Fatalf("%d households, want %d", len(hs), len(rows))
		}
		for i, h := range hs {
			if h.Room != rows[i].Room || h.Area != rows[i].Area {
				t.Errorf("room %s area %s (%d), want room %s area %s (%d)", h.Room, h.Area, int64(h.Area), rows[i].Room, rows[i].Area, int64(rows[i].Area))
			}
		}
		if db.Dialect == MySQL {
			var text []string
			must(t, db.DB.Table("households").Order("room").Pluck("CAST(area AS CHAR)", &text).Error)
			for i, s := range text {
				if s != rows[i].Area.String() {
					t.Errorf("MySQL stored %q, want %q", s, rows[i].Area.String())
				}
			}
		}
		if res := importRows(t, db, p.Courtyard, rows); res.Unchanged != len(rows) || res.Updated != 0 {
			t.Fatalf("re-import = %+v, want all unchanged", res)
		}
	})
}

// Every area from 0.01 to 1000.00 and a spread of larger ones scans back
// exactly through decimal2 from a DECIMAL(10,2) column.
func TestDecimal2Exhaustive(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		must(t, db.Exec("CREATE TABLE t_area (id INTEGER NOT NULL PRIMARY KEY, area DECIMAL(10,2) NOT NULL)").Error)
		type areaRow struct {
			ID   int64 `gorm:"primaryKey;autoIncrement:false"`
			Area decimal2
		}
		var rows []areaRow
		for a := int64(1); a <= 100000; a++ {
			rows = append(rows, areaRow{ID: a, Area: decimal2(a)})
		}
		for a := int64(100000); a < 10000000; a += 997 {
			rows = append(rows, areaRow{ID: a + 1, Area: decimal2(a)})
		}
		rows = append(rows, areaRow{ID: 20000000, Area: decimal2(9999999)})
		must(t, db.DB.Table("t_area").CreateInBatches(rows, 1000).Error)
		var back []areaRow
		must(t, db.DB.Table("t_area").Order("id").Find(&back).Error)
		if len(back) != len(rows) {
			t.Fatalf("read %d rows, want %d", len(back), len(rows))
		}
		bad := 0
		for i := range rows {
			if back[i] != rows[i] {
				if bad++; bad <= 10 {
					t.Errorf("id %d: read %s, wrote %s", rows[i].ID, louyuan.Area(back[i].Area), louyuan.Area(rows[i].Area))
				}
			}
		}
		if bad > 0 {
			t.Errorf("%d of %d areas changed", bad, len(rows))
		}
	})
}

func TestImportRollsBack(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		p := seedPlaces(t, db)
		boom := errors.New("boom")
		var res roster.ImportResult
		err := db.InTx(context.Background(), func(ctx context.Context) error {
			var err error
			res, err = NewRoster(db).ImportHouseholds(ctx, p.Courtyard, []roster.ImportRow{
				{Building: "1号楼", Unit: "1单元", Room: "101", Floor: 1, Area: 8520, Owners: []roster.OwnerRef{{Name: "张三"}}},
				{Building: "1号楼", Unit: "2单元", Room: "201", Floor: 2, Area: 9000},
			}, t0)
			if err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		if res.Created != 2 {
			t.Fatalf("import inside the transaction = %+v, want 2 created", res)
		}
		if got := rosterCounts(t, db); got != (tableCounts{}) {
			t.Fatalf("after rollback: %+v, want nothing", got)
		}
		// A nested InTx joins the outer transaction: its work is undone too.
		err = db.InTx(context.Background(), func(ctx context.Context) error {
			if err := db.InTx(ctx, func(ctx context.Context) error {
				_, err := NewRoster(db).ImportHouseholds(ctx, p.Courtyard, []roster.ImportRow{{Building: "1号楼", Unit: "1单元", Room: "101", Floor: 1, Area: 1}}, t0)
				return err
			}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("nested InTx = %v, want boom", err)
		}
		if n := count(t, db, "households", ""); n != 0 {
			t.Fatalf("%d households after the outer rollback, want 0", n)
		}
		// The same import committed does land.
		importRows(t, db, p.Courtyard, []roster.ImportRow{{Building: "1号楼", Unit: "1单元", Room: "101", Floor: 1, Area: 1}})
		if n := count(t, db, "households", ""); n != 1 {
			t.Fatalf("%d households after a committed import, want 1", n)
		}
	})
}

// memberFixture is one courtyard with two households and some users.
type memberFixture struct {
	p                  places
	h1, h2             int64
	owner1, owner2     int64
	family, tenant     int64
	tenant2, outsider  int64
	roster             *Roster
	db                 *DB
	representativeOf   func(h int64) []int64
	representativeRows func(h int64) int64
}

func newMemberFixture(t *testing.T, db *DB) *memberFixture {
	t.Helper()
	f := &memberFixture{p: seedPlaces(t, db), roster: NewRoster(db), db: db}
	importRows(t, db, f.p.Courtyard, []roster.ImportRow{
		{Building: "1号楼", Unit: "1单元", Room: "101", Floor: 1, Area: 8520, Owners: []roster.OwnerRef{{Name: "张三"}}},
		{Building: "1号楼", Unit: "1单元", Room: "102", Floor: 1, Area: 9000, Owners: []roster.OwnerRef{{Name: "李四"}}},
	})
	f.h1 = householdID(t, db, f.p.Courtyard, "1号楼", "1单元", "101")
	f.h2 = householdID(t, db, f.p.Courtyard, "1号楼", "1单元", "102")
	f.owner1 = newUser(t, db, "o-owner1", "张三")
	f.owner2 = newUser(t, db, "o-owner2", "张三妻")
	f.family = newUser(t, db, "o-family", "张小三")
	f.tenant = newUser(t, db, "o-tenant", "租客甲")
	f.tenant2 = newUser(t, db, "o-tenant2", "租客乙")
	f.outsider = newUser(t, db, "o-outsider", "路人")
	f.representativeOf = func(h int64) []int64 {
		ms, err := f.roster.Members(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		var reps []int64
		for _, m := range ms {
			if m.Representative {
				reps = append(reps, m.UserID)
			}
		}
		return reps
	}
	f.representativeRows = func(h int64) int64 {
		return count(t, db, "memberships", "household_id = ? AND representative IS NOT NULL", h)
	}
	return f
}

func (f *memberFixture) add(t *testing.T, user, household int64, role roster.MemberRole) roster.Member {
	t.Helper()
	m, err := f.roster.AddMember(context.Background(), roster.Member{UserID: user, HouseholdID: household, Role: role, Via: "invite", CreatedAt: t0})
	if err != nil {
		t.Fatalf("add member %d to %d: %v", user, household, err)
	}
	if m.MembershipID == 0 {
		t.Fatalf("AddMember returned no membership ID")
	}
	return m
}

func TestMemberships(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		f := newMemberFixture(t, db)
		s := f.roster

		m1 := f.add(t, f.owner1, f.h1, roster.RoleOwner)
		_, err := s.AddMember(ctx, roster.Member{UserID: f.owner1, HouseholdID: f.h1, Role: roster.RoleFamily, Via: "request", CreatedAt: t0})
		wantErr(t, err, louyuan.KindConflict, "already_bound")
		if n := count(t, db, "memberships", "user_id = ? AND household_id = ?", f.owner1, f.h1); n != 1 {
			t.Fatalf("%d memberships of owner1 in h1, want 1", n)
		}
		f.add(t, f.owner2, f.h1, roster.RoleOwner)
		f.add(t, f.family, f.h1, roster.RoleFamily)
		f.add(t, f.tenant, f.h1, roster.RoleTenant)
		f.add(t, f.owner1, f.h2, roster.RoleOwner) // one user, two households
		f.add(t, f.tenant2, f.h2, roster.RoleTenant)

		ms, err := s.Members(ctx, f.h1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 4 || ms[0].MembershipID != m1.MembershipID || ms[0].UserID != f.owner1 || ms[0].Role != roster.RoleOwner ||
			ms[0].RealName != "张三" || ms[0].Via != "invite" || !ms[0].CreatedAt.Equal(t0) || ms[0].Representative {
			t.Fatalf("Members(h1) = %+v", ms)
		}
		mine, err := s.MembershipsOf(ctx, f.owner1)
		if err != nil {
			t.Fatal(err)
		}
		if len(mine) != 2 || mine[0].HouseholdID != f.h1 || mine[1].HouseholdID != f.h2 {
			t.Fatalf("MembershipsOf(owner1) = %+v", mine)
		}
		if reps := f.representativeOf(f.h1); len(reps) != 0 {
			t.Fatalf("representatives before any were set: %v", reps)
		}

		// The mark moves; there is only ever one.
		for _, u := range []int64{f.owner1, f.family, f.owner2, f.owner2, f.owner1} {
			must(t, s.SetRepresentative(ctx, f.h1, u))
			if reps := f.representativeOf(f.h1); !slices.Equal(reps, []int64{u}) {
				t.Fatalf("after SetRepresentative(%d): representatives %v", u, reps)
			}
			if n := f.representativeRows(f.h1); n != 1 {
				t.Fatalf("after SetRepresentative(%d): %d rows marked", u, n)
			}
		}
		// Household 2 is independent.
		must(t, s.SetRepresentative(ctx, f.h2, f.owner1))
		if reps := f.representativeOf(f.h1); !slices.Equal(reps, []int64{f.owner1}) {
			t.Fatalf("h1 representatives after setting h2's: %v", reps)
		}
		if reps := f.representativeOf(f.h2); !slices.Equal(reps, []int64{f.owner1}) {
			t.Fatalf("h2 representatives: %v", reps)
		}

		// The unique key refuses a second representative.
		err = db.Exec("UPDATE memberships SET representative = 1 WHERE user_id = ? AND household_id = ?", f.owner2, f.h1).Error
		if err == nil || !isDuplicate(err) {
			t.Fatalf("second representative by raw UPDATE: %v, want a unique-key violation", err)
		}
		if n := f.representativeRows(f.h1); n != 1 {
			t.Fatalf("%d representatives after the refused UPDATE", n)
		}

		// A tenant cannot be made representative.
		err = db.InTx(ctx, func(ctx context.Context) error { return s.SetRepresentative(ctx, f.h1, f.tenant) })
		wantErr(t, err, louyuan.KindConflict, "candidate_not_member")
		if reps := f.representativeOf(f.h1); !slices.Equal(reps, []int64{f.owner1}) {
			t.Fatalf("after refusing the tenant (in a transaction): representatives %v, want owner1", reps)
		}
		// Nor can a user who is no member.
		err = db.InTx(ctx, func(ctx context.Context) error { return s.SetRepresentative(ctx, f.h1, f.outsider) })
		wantErr(t, err, louyuan.KindConflict, "candidate_not_member")
		if reps := f.representativeOf(f.h1); !slices.Equal(reps, []int64{f.owner1}) {
			t.Fatalf("after refusing a non-member: representatives %v, want owner1", reps)
		}

		// The CHECK constraint refuses a tenant representative (h2 has
		// one: clear it first so that the unique key is not what refuses).
		must(t, db.Exec("UPDATE memberships SET representative = NULL WHERE household_id = ?", f.h2).Error)
		err = db.Exec("UPDATE memberships SET representative = 1 WHERE user_id = ? AND household_id = ?", f.tenant2, f.h2).Error
		if err == nil {
			t.Fatalf("raw UPDATE made a tenant representative: the CHECK constraint is not enforced on %s", db.Dialect)
		}
		if isDuplicate(err) {
			t.Fatalf("tenant representative refused as a duplicate, not by the CHECK: %v", err)
		}
		// Only 1 or NULL is a valid mark.
		if err := db.Exec("UPDATE memberships SET representative = 2 WHERE user_id = ? AND household_id = ?", f.owner1, f.h2).Error; err == nil {
			t.Fatalf("raw UPDATE set representative = 2")
		}
		if n := f.representativeRows(f.h2); n != 0 {
			t.Fatalf("%d representatives in h2 after refused UPDATEs, want 0", n)
		}

		// Removing members.
		_, err = s.RemoveMember(ctx, f.outsider, f.h1)
		wantErr(t, err, louyuan.KindNotFound, "not_bound")
		_, err = s.RemoveMember(ctx, f.tenant2, f.h1) // a member elsewhere
		wantErr(t, err, louyuan.KindNotFound, "not_bound")
		gone, err := s.RemoveMember(ctx, f.owner1, f.h1)
		if err != nil {
			t.Fatal(err)
		}
		if gone.MembershipID != m1.MembershipID || gone.UserID != f.owner1 || gone.HouseholdID != f.h1 || gone.Role != roster.RoleOwner || !gone.Representative {
			t.Fatalf("RemoveMember = %+v", gone)
		}
		if reps := f.representativeOf(f.h1); len(reps) != 0 {
			t.Fatalf("representatives after removing the representative: %v", reps)
		}
		if ms, _ := s.Members(ctx, f.h1); len(ms) != 3 {
			t.Fatalf("%d members after removing one, want 3", len(ms))
		}
		_, err = s.RemoveMember(ctx, f.owner1, f.h1)
		wantErr(t, err, louyuan.KindNotFound, "not_bound")
		// Rebinding after removal works.
		f.add(t, f.owner1, f.h1, roster.RoleFamily)
	})
}

// A refused SetRepresentative must not leave the household without its
// representative, even when the caller did not open a transaction (the
// store methods run on their own then).
func TestSetRepresentativeRefusedKeepsRepresentative(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		f := newMemberFixture(t, db)
		f.add(t, f.owner1, f.h1, roster.RoleOwner)
		f.add(t, f.tenant, f.h1, roster.RoleTenant)
		must(t, f.roster.SetRepresentative(ctx, f.h1, f.owner1))
		err := f.roster.SetRepresentative(ctx, f.h1, f.tenant)
		wantErr(t, err, louyuan.KindConflict, "candidate_not_member")
		if reps := f.representativeOf(f.h1); !slices.Equal(reps, []int64{f.owner1}) {
			t.Fatalf("after a refused SetRepresentative without a transaction: representatives %v, want [%d]", reps, f.owner1)
		}
	})
}

func TestInvites(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		f := newMemberFixture(t, db)
		s := f.roster
		exp := t0.Add(30 * 24 * time.Hour)
		hashes := []string{fmt.Sprintf("%064x", 1), fmt.Sprintf("%064x", 2)}
		must(t, s.CreateInvites(ctx, []roster.Invite{
			{HouseholdID: f.h1, Role: roster.RoleOwner, ExpiresAt: exp},
			{HouseholdID: f.h2, Role: roster.RoleTenant, ExpiresAt: exp.Add(time.Hour)},
		}, hashes, "staff:1", t0))
		must(t, s.CreateInvites(ctx, nil, nil, "staff:1", t0))
		if n := count(t, db, "invite_codes", ""); n != 2 {
			t.Fatalf("%d invites stored, want 2", n)
		}
		// A hash is unique.
		if err := s.CreateInvites(ctx, []roster.Invite{{HouseholdID: f.h1, Role: roster.RoleOwner, ExpiresAt: exp}}, hashes[:1], "staff:1", t0); err == nil {
			t.Fatalf("a second invite with the same hash was stored")
		}

		inv, err := s.TakeInvite(ctx, hashes[1])
		if err != nil {
			t.Fatal(err)
		}
		if inv.ID == 0 || inv.HouseholdID != f.h2 || inv.Role != roster.RoleTenant || !inv.ExpiresAt.Equal(exp.Add(time.Hour)) || !inv.UsedAt.IsZero() {
			t.Fatalf("TakeInvite = %+v", inv)
		}
		var used time.Time
		err = db.InTx(ctx, func(ctx context.Context) error {
			inv, err := s.TakeInvite(ctx, hashes[0])
			if err != nil {
				return err
			}
			if inv.HouseholdID != f.h1 || inv.Role != roster.RoleOwner || !inv.ExpiresAt.Equal(exp) {
				return fmt.Errorf("TakeInvite in a transaction = %+v", inv)
			}
			used = t0.Add(time.Minute)
			return s.MarkInviteUsed(ctx, inv.ID, f.owner1, used)
		})
		must(t, err)
		inv, err = s.TakeInvite(ctx, hashes[0])
		must(t, err)
		if !inv.UsedAt.Equal(used) {
			t.Fatalf("UsedAt = %v, want %v", inv.UsedAt, used)
		}
		if n := count(t, db, "invite_codes", "id = ? AND used_by = ?", inv.ID, f.owner1); n != 1 {
			t.Fatalf("used_by not recorded")
		}
		err = s.MarkInviteUsed(ctx, inv.ID, f.owner2, t0.Add(time.Hour))
		wantErr(t, err, louyuan.KindConflict, "invite_code_used")
		if n := count(t, db, "invite_codes", "id = ? AND used_by = ?", inv.ID, f.owner1); n != 1 {
			t.Fatalf("a second MarkInviteUsed changed used_by")
		}
		// The other invite is still unused.
		inv2, err := s.TakeInvite(ctx, hashes[1])
		must(t, err)
		if !inv2.UsedAt.IsZero() {
			t.Fatalf("the other invite is marked used: %+v", inv2)
		}
		_, err = s.TakeInvite(ctx, fmt.Sprintf("%064x", 3))
		wantErr(t, err, louyuan.KindNotFound, "invite_code_unknown")
	})
}

func TestRequests(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		f := newMemberFixture(t, db)
		s := f.roster
		// A household in another courtyard, with its own pending request.
		importRows(t, db, f.p.Court2, []roster.ImportRow{{Building: "9号楼", Unit: "1单元", Room: "901", Floor: 9, Area: 5000}})
		other := householdID(t, db, f.p.Court2, "9号楼", "1单元", "901")

		bind := func(user, household int64, at time.Time) (roster.Request, error) {
			return s.CreateRequest(ctx, roster.Request{Kind: "bind", HouseholdID: household, UserID: user, Role: roster.RoleFamily,
				RealName: fmt.Sprintf("用户%d", user), Note: "请审核", Status: roster.StatusPending, CreatedAt: at})
		}
		rep := func(candidate, household int64, at time.Time) (roster.Request, error) {
			return s.CreateRequest(ctx, roster.Request{Kind: "representative", HouseholdID: household, UserID: candidate,
				Note: "换代表", Status: roster.StatusPending, RequestedBy: "staff:7", CreatedAt: at})
		}
		idOf := func(table, where string, args ...any) int64 {
			var id int64
			must(t, db.DB.Table(table).Select("id").Where(where, args...).Scan(&id).Error)
			return id
		}

		b1, err := bind(f.family, f.h1, t0.Add(1*time.Second))
		must(t, err)
		b2, err := bind(f.tenant, f.h1, t0.Add(2*time.Second)) // another user, same household
		must(t, err)
		b3, err := bind(f.family, f.h2, t0.Add(3*time.Second)) // same user, another household
		must(t, err)
		if b1.ID == 0 || b1.ID == b2.ID || b2.ID == b3.ID {
			t.Fatalf("bind request IDs %d, %d, %d", b1.ID, b2.ID, b3.ID)
		}
		if want := idOf("bind_requests", "user_id = ? AND household_id = ?", f.family, f.h1); b1.ID != want {
			t.Fatalf("first bind request ID = %d, want %d", b1.ID, want)
		}
		if want := idOf("bind_requests", "user_id = ? AND household_id = ?", f.tenant, f.h1); b2.ID != want {
			t.Fatalf("second bind request ID = %d, want %d", b2.ID, want)
		}
		if want := idOf("bind_requests", "user_id = ? AND household_id = ?", f.family, f.h2); b3.ID != want {
			t.Fatalf("third bind request ID = %d, want %d", b3.ID, want)
		}
		_, err = bind(f.family, f.h1, t0.Add(4*time.Second))
		wantErr(t, err, louyuan.KindConflict, "request_pending")

		r1, err := rep(f.owner2, f.h1, t0.Add(5*time.Second))
		must(t, err)
		if want := idOf("representative_requests", "household_id = ?", f.h1); r1.ID != want || r1.ID == 0 {
			t.Fatalf("representative request ID = %d, want %d", r1.ID, want)
		}
		_, err = rep(f.owner1, f.h1, t0.Add(6*time.Second)) // another candidate, same household
		wantErr(t, err, louyuan.KindConflict, "request_pending")
		r2, err := rep(f.owner1, f.h2, t0.Add(7*time.Second))
		must(t, err)
		if r2.ID == r1.ID {
			t.Fatalf("representative requests of two households share ID %d", r1.ID)
		}
		ob, err := bind(f.outsider, other, t0) // oldest, but in another courtyard
		must(t, err)

		got, err := s.LockRequest(ctx, "bind", b2.ID)
		must(t, err)
		want := roster.Request{ID: b2.ID, Kind: "bind", HouseholdID: f.h1, UserID: f.tenant, Role: roster.RoleFamily,
			RealName: fmt.Sprintf("用户%d", f.tenant), Note: "请审核", Status: roster.StatusPending, CreatedAt: t0.Add(2 * time.Second)}
		if !sameRequest(got, want) {
			t.Fatalf("LockRequest(bind) = %+v, want %+v", got, want)
		}
		got, err = s.LockRequest(ctx, "representative", r1.ID)
		must(t, err)
		want = roster.Request{ID: r1.ID, Kind: "representative", HouseholdID: f.h1, UserID: f.owner2, Note: "换代表",
			Status: roster.StatusPending, RequestedBy: "staff:7", CreatedAt: t0.Add(5 * time.Second)}
		if !sameRequest(got, want) {
			t.Fatalf("LockRequest(representative) = %+v, want %+v", got, want)
		}
		_, err = s.LockRequest(ctx, "bind", b3.ID+1000)
		wantErr(t, err, louyuan.KindNotFound, "request_not_found")

		pendingIDs := func() []string {
			rs, err := s.PendingRequests(ctx, f.p.Courtyard)
			must(t, err)
			var ids []string
			for _, r := range rs {
				if r.Status != roster.StatusPending {
					t.Errorf("pending list holds %+v", r)
				}
				ids = append(ids, fmt.Sprintf("%s:%d", r.Kind, r.ID))
			}
			return ids
		}
		ids := pendingIDs()
		wantIDs := []string{fmt.Sprintf("bind:%d", b1.ID), fmt.Sprintf("bind:%d", b2.ID), fmt.Sprintf("bind:%d", b3.ID),
			fmt.Sprintf("representative:%d", r1.ID), fmt.Sprintf("representative:%d", r2.ID)}
		if !slices.Equal(ids, wantIDs) {
			t.Fatalf("PendingRequests = %v, want %v (oldest first, without courtyard %d's bind:%d)", ids, wantIDs, f.p.Court2, ob.ID)
		}

		// Decide in a transaction, as the service does.
		err = db.InTx(ctx, func(ctx context.Context) error {
			r, err := s.LockRequest(ctx, "bind", b1.ID)
			if err != nil {
				return err
			}
			return s.DecideRequest(ctx, "bind", r.ID, roster.StatusApproved, "staff:7", "", t0.Add(time.Hour))
		})
		must(t, err)
		err = s.DecideRequest(ctx, "bind", b1.ID, roster.StatusRejected, "staff:8", "again", t0.Add(2*time.Hour))
		wantErr(t, err, louyuan.KindConflict, "request_decided")
		must(t, s.DecideRequest(ctx, "representative", r1.ID, roster.StatusRejected, "user:3", "不同意", t0.Add(time.Hour)))
		err = s.DecideRequest(ctx, "representative", r1.ID, roster.StatusApproved, "user:3", "", t0.Add(time.Hour))
		wantErr(t, err, louyuan.KindConflict, "request_decided")
		err = s.DecideRequest(ctx, "bind", b3.ID+1000, roster.StatusApproved, "staff:7", "", t0)
		wantErr(t, err, louyuan.KindConflict, "request_decided")

		got, err = s.LockRequest(ctx, "bind", b1.ID)
		must(t, err)
		if got.Status != roster.StatusApproved {
			t.Fatalf("decided bind request status %q", got.Status)
		}
		got, err = s.LockRequest(ctx, "representative", r1.ID)
		must(t, err)
		if got.Status != roster.StatusRejected || got.Reason != "不同意" {
			t.Fatalf("decided representative request = %+v", got)
		}
		if n := count(t, db, "bind_requests", "id = ? AND decided_by = ? AND pending IS NULL", b1.ID, "staff:7"); n != 1 {
			t.Fatalf("the second decision overwrote the first")
		}

		ids = pendingIDs()
		wantIDs = []string{fmt.Sprintf("bind:%d", b2.ID), fmt.Sprintf("bind:%d", b3.ID), fmt.Sprintf("representative:%d", r2.ID)}
		if !slices.Equal(ids, wantIDs) {
			t.Fatalf("PendingRequests after decisions = %v, want %v", ids, wantIDs)
		}

		// Once decided, a new request for the same user and household (or
		// household) may be made, and its ID is the new one.
		b4, err := bind(f.family, f.h1, t0.Add(8*time.Second))
		must(t, err)
		if b4.ID == b1.ID || b4.ID != idOf("bind_requests", "user_id = ? AND household_id = ? AND pending = 1", f.family, f.h1) {
			t.Fatalf("renewed bind request ID = %d (old %d)", b4.ID, b1.ID)
		}
		r3, err := rep(f.owner1, f.h1, t0.Add(9*time.Second))
		must(t, err)
		if r3.ID == r1.ID || r3.ID != idOf("representative_requests", "household_id = ? AND pending = 1", f.h1) {
			t.Fatalf("renewed representative request ID = %d (old %d)", r3.ID, r1.ID)
		}
	})
}

func sameRequest(a, b roster.Request) bool {
	at, bt := a.CreatedAt, b.CreatedAt
	a.CreatedAt, b.CreatedAt = time.Time{}, time.Time{}
	return a == b && at.Equal(bt)
}

// Concurrent approvals of different representatives end with exactly one;
// a loser sees a conflict, never a raw database error.
func TestSetRepresentativeConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		f := newMemberFixture(t, db)
		candidates := []int64{f.owner1, f.owner2, f.family}
		f.add(t, f.owner1, f.h1, roster.RoleOwner)
		f.add(t, f.owner2, f.h1, roster.RoleOwner)
		f.add(t, f.family, f.h1, roster.RoleFamily)
		const n = 12
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = f.roster.SetRepresentative(context.Background(), f.h1, candidates[i%len(candidates)])
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			if err == nil {
				ok++
				continue
			}
			if louyuan.ErrorCode(err) != "representative_changed" {
				t.Errorf("SetRepresentative %d: %v", i, err)
			}
		}
		if ok == 0 {
			t.Errorf("no SetRepresentative succeeded")
		}
		if reps := f.representativeOf(f.h1); len(reps) != 1 || !slices.Contains(candidates, reps[0]) {
			t.Fatalf("representatives after concurrent changes: %v", reps)
		}
	})
}

// TestOwnerIdentityAndHeadGroups checks that the store keeps owners and
// groups a scope's households by roster's head rule: one owners row per
// person (Latin names compared without case, as MySQL's collation does —
// otherwise the second spelling would hit the unique key), and households
// sharing an owner, transitively, in one group named by the smallest ID.
func TestOwnerIdentityAndHeadGroups(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := seedPlaces(t, db)
		o := func(name, tail string) roster.OwnerRef { return roster.OwnerRef{Name: name, IDTail: tail} }
		row := func(line int, room string, owners ...roster.OwnerRef) roster.ImportRow {
			return roster.ImportRow{Line: line, Building: "1号楼", Unit: "1单元", Room: room, Floor: 1, Area: area(t, "80"), Owners: owners}
		}
		importRows(t, db, p.Courtyard, []roster.ImportRow{
			row(2, "101", o("Li Na", "0001")),
			row(3, "102", o("LI NA", "0001"), o("张三", "1234")), // Li Na again, with a co-owner
			row(4, "103", o("张三", "1234")),                     // 张三 again: 101–103 are one head
			row(5, "104", o("张三", "5678")),                     // another 张三
			row(6, "105"),                                      // no owner: a head of its own
		})
		if n := count(t, db, "owners", ""); n != 3 {
			t.Errorf("%d owners rows, want 3 (Li Na, 张三/1234, 张三/5678)", n)
		}
		var hs []householdRow
		if err := db.conn(ctx).Where("courtyard_id = ?", p.Courtyard).Order("id").Find(&hs).Error; err != nil {
			t.Fatal(err)
		}
		groups, err := headGroups(ctx, db, hs)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, h := range hs {
			got = append(got, groups[h.ID]-hs[0].ID)
		}
		if want := []int64{0, 0, 0, 3, 4}; !slices.Equal(got, want) {
			t.Errorf("head groups (as offsets from the first ID) = %v, want %v", got, want)
		}
	})
}
