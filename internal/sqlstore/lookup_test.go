package sqlstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/roster"
)

func TestFindByAddressAndBindRequestsOf(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		f := newMemberFixture(t, db)
		s := f.roster
		// A courtyard of the same name in the other community, with the same door.
		twin := insertID(t, db, "courtyards", "INSERT INTO courtyards (community_id, name, address, created_at) VALUES (?, ?, ?, ?)",
			[]any{f.p.Comm2, seedCourtyard, "", t0}, "community_id = ? AND name = ?", f.p.Comm2, seedCourtyard)
		importRows(t, db, twin, []roster.ImportRow{{Building: "1号楼", Unit: "1单元", Room: "101", Floor: 1, Area: 5000}})
		h3 := householdID(t, db, twin, "1号楼", "1单元", "101")

		find := func(yard string, b, u, r []string) []int64 {
			t.Helper()
			as, err := s.FindByAddress(ctx, yard, b, u, r, 5)
			must(t, err)
			var ids []int64
			for _, a := range as {
				ids = append(ids, a.HouseholdID)
			}
			return ids
		}
		got, err := s.FindByAddress(ctx, seedCourtyard, []string{"1", "1号楼"}, []string{"1单元"}, []string{"101"}, 5)
		must(t, err)
		want := []roster.Address{
			{HouseholdID: f.h1, Community: seedCommunity, Courtyard: seedCourtyard, Building: "1号楼", Unit: "1单元", Room: "101"},
			{HouseholdID: h3, Community: "光明社区", Courtyard: seedCourtyard, Building: "1号楼", Unit: "1单元", Room: "101"},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("FindByAddress = %+v, want %+v", got, want)
		}
		if ids := find(seedCourtyard, []string{"1号楼"}, []string{"1单元"}, []string{"101"}); len(ids) != 2 {
			t.Fatalf("limit of 5 gives %v", ids)
		}
		as, err := s.FindByAddress(ctx, seedCourtyard, []string{"1号楼"}, []string{"1单元"}, []string{"101"}, 1)
		must(t, err)
		if len(as) != 1 || as[0].HouseholdID != f.h1 {
			t.Fatalf("limit 1: %+v", as)
		}
		for _, miss := range [][4]string{{seedCourtyard, "1号楼", "1单元", "103"}, {seedCourtyard, "2号楼", "1单元", "101"}, {"安居苑", "1号楼", "1单元", "101"}} {
			if ids := find(miss[0], []string{miss[1]}, []string{miss[2]}, []string{miss[3]}); len(ids) != 0 {
				t.Errorf("%v found %v", miss, ids)
			}
		}

		// A user's requests, newest first, with their addresses; nobody else's.
		for i, h := range []int64{f.h1, f.h2} {
			_, err := s.CreateRequest(ctx, roster.Request{Kind: "bind", HouseholdID: h, UserID: f.family, Role: roster.RoleFamily, RealName: "张小三",
				Note: "请审核", Status: roster.StatusPending, CreatedAt: t0.Add(time.Duration(i) * time.Second)})
			must(t, err)
		}
		_, err = s.CreateRequest(ctx, roster.Request{Kind: "bind", HouseholdID: f.h1, UserID: f.tenant, Role: roster.RoleTenant, RealName: "租客甲",
			Status: roster.StatusPending, CreatedAt: t0})
		must(t, err)
		rs, err := s.BindRequestsOf(ctx, f.family)
		must(t, err)
		if len(rs) != 2 || rs[0].HouseholdID != f.h2 || rs[1].HouseholdID != f.h1 || rs[0].Address.Room != "102" ||
			rs[1].Address.Community != seedCommunity || rs[0].Status != roster.StatusPending || rs[0].Kind != "bind" || rs[0].RealName != "张小三" {
			t.Fatalf("BindRequestsOf(family) = %+v", rs)
		}
		rs, err = s.BindRequestsOf(ctx, f.outsider)
		must(t, err)
		if len(rs) != 0 {
			t.Fatalf("BindRequestsOf(outsider) = %+v", rs)
		}
	})
}
