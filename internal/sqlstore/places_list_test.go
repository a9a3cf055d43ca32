package sqlstore

import (
	"context"
	"testing"

	"github.com/louyuan/louyuan/internal/identity"
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
