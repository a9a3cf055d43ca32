package sqlstore

import (
	"context"
	"testing"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/roster"
)

func TestRosterCourtyardsListsTheTreeInOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := NewPlaces(db)
		_, _, b, err := p.EnsureCourtyard(ctx, "新华路街道", "桐本北路社区", "铝厂小区", "新华路 1 号")
		must(t, err)
		_, _, a, err := p.EnsureCourtyard(ctx, "新华路街道", "桐本北路社区", "二号院", "")
		must(t, err)
		_, comm2, c, err := p.EnsureCourtyard(ctx, "新华路街道", "光明社区", "光明小区", "")
		must(t, err)

		cs, err := NewRoster(db).Courtyards(ctx)
		must(t, err)
		var ids []int64
		for _, y := range cs {
			ids = append(ids, y.ID)
		}
		// By subdistrict, then community (in creation order), then name
		// (whose order is the database's collation).
		if len(cs) != 3 || !(ids[0] == a && ids[1] == b || ids[0] == b && ids[1] == a) || ids[2] != c {
			t.Fatalf("Courtyards IDs = %v, want the two of 桐本北路社区 first, then %d", ids, c)
		}
		last := cs[2]
		if last.Name != "光明小区" || last.Community != "光明社区" || last.CommunityID != comm2 || last.Subdistrict != "新华路街道" || last.SubdistrictID == 0 {
			t.Errorf("Courtyards[2] = %+v", last)
		}

		// The service keeps the courtyards the caller's grants cover.
		svc := roster.NewService(NewRoster(db), nil, nil)
		mine, err := svc.CourtyardsFor(ctx, identity.Principal{Kind: identity.KindStaff, ID: 9,
			Grants: []identity.Grant{{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: comm2}}})
		must(t, err)
		if len(mine) != 1 || mine[0].ID != c {
			t.Errorf("CourtyardsFor community staff of 光明社区 = %+v, want only %d", mine, c)
		}
		none, err := svc.CourtyardsFor(ctx, identity.Principal{Kind: identity.KindUser, ID: 3})
		must(t, err)
		if len(none) != 0 {
			t.Errorf("CourtyardsFor a resident = %+v, want none", none)
		}
	})
}

// TestPlacesCreateRenameWithinScope creates and renames places through the
// roster service on the SQL stores: names trimmed and checked, siblings'
// names refused with place_name_taken, other scopes' parents answered as
// missing, each change in the audit log, and the tree and building list
// showing what the caller may do.
func TestPlacesCreateRenameWithinScope(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := NewPlaces(db)
		sub, comm, yard, err := p.EnsureCourtyard(ctx, "新华路街道", "桐本北路社区", "铝厂小区", "")
		must(t, err)
		_, comm2, yard2, err := p.EnsureCourtyard(ctx, "新华路街道", "光明社区", "光明小区", "")
		must(t, err)
		al := NewAuditLog(db, testHasher)
		svc := roster.NewService(NewRoster(db), al, nil)
		svc.Places = p
		staff := identity.Principal{Kind: identity.KindStaff, ID: 7,
			Grants: []identity.Grant{{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: comm}}}
		admin := identity.Principal{Kind: identity.KindStaff, ID: 8,
			Grants: []identity.Grant{{Role: identity.RoleSubdistrictAdmin, ScopeType: identity.ScopeSubdistrict, ScopeID: sub}}}
		council := identity.Principal{Kind: identity.KindUser, ID: 9,
			Grants: []identity.Grant{{Role: identity.RoleCouncilMember, ScopeType: identity.ScopeCourtyard, ScopeID: yard}}}

		b, err := svc.CreatePlace(ctx, staff, roster.LevelBuilding, yard, "  3号楼 ", "")
		must(t, err)
		if b.Name != "3号楼" || b.ParentID != yard || b.Place.CourtyardID != yard || b.Place.CommunityID != comm {
			t.Fatalf("created building = %+v", b)
		}
		u, err := svc.CreatePlace(ctx, staff, roster.LevelUnit, b.ID, "1单元", "")
		must(t, err)
		_, err = svc.CreatePlace(ctx, staff, roster.LevelBuilding, yard, "3号楼", "")
		wantErr(t, err, louyuan.KindConflict, "place_name_taken")
		_, err = svc.CreatePlace(ctx, staff, roster.LevelBuilding, yard, "3\u202e号楼", "")
		wantErr(t, err, louyuan.KindInvalid, louyuan.CodeUnsafeText)
		_, err = svc.CreatePlace(ctx, staff, roster.LevelBuilding, yard, "   ", "")
		wantErr(t, err, louyuan.KindInvalid, "place_name_empty")
		// Another community's courtyard is as missing to this staff member;
		// a council member (no staff role) is refused.
		_, err = svc.CreatePlace(ctx, staff, roster.LevelBuilding, yard2, "9号楼", "")
		wantErr(t, err, louyuan.KindNotFound, "courtyard_not_found")
		_, err = svc.CreatePlace(ctx, staff, roster.LevelCourtyard, comm2, "新小区", "")
		wantErr(t, err, louyuan.KindNotFound, "community_not_found")
		_, err = svc.CreatePlace(ctx, council, roster.LevelBuilding, yard, "9号楼", "")
		wantErr(t, err, louyuan.KindForbidden, "not_in_scope")
		_, err = svc.CreatePlace(ctx, staff, roster.LevelCommunity, sub, "新社区", "")
		wantErr(t, err, louyuan.KindForbidden, "not_in_scope")
		c, err := svc.CreatePlace(ctx, admin, roster.LevelCommunity, sub, "新社区", "")
		must(t, err)
		y, err := svc.CreatePlace(ctx, staff, roster.LevelCourtyard, comm, "三号院", "新华路 3 号")
		must(t, err)
		if y.Address != "新华路 3 号" {
			t.Errorf("courtyard address = %q", y.Address)
		}

		// Renames: a sibling's name is refused, the unit's own is renamed.
		_, err = svc.CreatePlace(ctx, staff, roster.LevelUnit, b.ID, "2单元", "")
		must(t, err)
		_, err = svc.RenamePlace(ctx, staff, roster.LevelUnit, u.ID, "2单元", nil)
		wantErr(t, err, louyuan.KindConflict, "place_name_taken")
		r, err := svc.RenamePlace(ctx, staff, roster.LevelUnit, u.ID, "一单元", nil)
		must(t, err)
		if r.Name != "一单元" {
			t.Errorf("renamed unit = %+v", r)
		}
		addr := "新华路 1 号"
		_, err = svc.RenamePlace(ctx, staff, roster.LevelCourtyard, yard, "铝厂小区", &addr)
		must(t, err)
		got, err := NewRoster(db).Courtyard(ctx, yard)
		must(t, err)
		if got.Address != addr {
			t.Errorf("courtyard address after rename = %q", got.Address)
		}
		_, err = svc.RenamePlace(ctx, staff, roster.LevelCommunity, comm, "改名社区", nil)
		wantErr(t, err, louyuan.KindForbidden, "not_in_scope")
		_, err = svc.RenamePlace(ctx, admin, roster.LevelCommunity, c.ID, "光明社区", nil)
		wantErr(t, err, louyuan.KindConflict, "place_name_taken")

		// Audited: five creations and two renames.
		if n := count(t, db, "audit_log", "action = ?", "place.created"); n != 5 {
			t.Errorf("%d place.created entries, want 5", n)
		}
		if n := count(t, db, "audit_log", "action = ?", "place.renamed"); n != 2 {
			t.Errorf("%d place.renamed entries, want 2", n)
		}

		// The tree: staff see their community with its two courtyards; the
		// new empty community shows to the admin only.
		tree, err := svc.PlaceTree(ctx, staff)
		must(t, err)
		if len(tree) != 1 || tree[0].CanAdd || len(tree[0].Children) != 1 || tree[0].Children[0].ID != comm ||
			tree[0].Children[0].CanRename || !tree[0].Children[0].CanAdd || len(tree[0].Children[0].Children) != 2 {
			t.Fatalf("staff tree = %+v", tree)
		}
		tree, err = svc.PlaceTree(ctx, admin)
		must(t, err)
		if len(tree) != 1 || !tree[0].CanAdd || len(tree[0].Children) != 3 {
			t.Fatalf("admin tree = %+v", tree)
		}
		tree, err = svc.PlaceTree(ctx, council)
		must(t, err)
		if len(tree) != 1 || len(tree[0].Children) != 1 || len(tree[0].Children[0].Children) != 1 || tree[0].Children[0].Children[0].CanAdd {
			t.Fatalf("council tree = %+v", tree)
		}
		bs, canChange, err := svc.Buildings(ctx, staff, yard)
		must(t, err)
		if !canChange || len(bs) != 1 || bs[0].Name != "3号楼" || len(bs[0].Units) != 2 || bs[0].Units[0].Name != "一单元" || bs[0].Units[1].Name != "2单元" {
			t.Fatalf("buildings = %+v, %v", bs, canChange)
		}
		if _, canChange, err = svc.Buildings(ctx, council, yard); err != nil || canChange {
			t.Errorf("council may change buildings: %v %v", canChange, err)
		}
	})
}

func TestRosterMemberCounts(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		_, _, yard, err := NewPlaces(db).EnsureCourtyard(ctx, "新华路街道", "桐本北路社区", "铝厂小区", "")
		must(t, err)
		s := NewRoster(db)
		area, _ := louyuan.ParseArea("60.00")
		_, err = s.ImportHouseholds(ctx, yard, []roster.ImportRow{
			{Line: 2, Building: "1号楼", Unit: "1单元", Room: "101", Floor: 1, Area: area},
			{Line: 3, Building: "1号楼", Unit: "1单元", Room: "102", Floor: 1, Area: area},
		}, t0)
		must(t, err)
		hs, err := s.Households(ctx, yard)
		must(t, err)
		a, b := newUser(t, db, "o-a", ""), newUser(t, db, "o-b", "")
		for _, u := range []int64{a, b} {
			_, err := s.AddMember(ctx, roster.Member{UserID: u, HouseholdID: hs[0].ID, Role: roster.RoleFamily, Via: "invite", CreatedAt: t0})
			must(t, err)
		}
		got, err := s.MemberCounts(ctx, yard)
		must(t, err)
		if len(got) != 1 || got[hs[0].ID] != 2 {
			t.Errorf("MemberCounts = %v, want {%d: 2}", got, hs[0].ID)
		}
	})
}
