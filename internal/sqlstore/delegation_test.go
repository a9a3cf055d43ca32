package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// A delegation reads back as written, without a lock; a missing one is
// the 404 the API answers.
func TestDelegationRead(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p, hs := seedHouseholds(t, db, 1)
		proxy := newUser(t, db, "proxy-openid", "受托人")
		s := NewVoting(db)
		d, err := s.CreateDelegation(ctx, voting.Delegation{CourtyardID: p.Courtyard, HouseholdID: hs[0], ProxyUserID: proxy,
			Until: t0.Add(30 * 24 * time.Hour), Status: voting.DelegationPending, CreatedBy: "user:1", CreatedAt: t0})
		must(t, err)
		got, err := s.Delegation(ctx, d.ID)
		must(t, err)
		if got.ID != d.ID || got.HouseholdID != hs[0] || got.ProxyUserID != proxy || got.Status != voting.DelegationPending || got.CourtyardID != p.Courtyard {
			t.Errorf("delegation read back as %+v", got)
		}
		_, err = s.Delegation(ctx, d.ID+1000)
		wantErr(t, err, louyuan.KindNotFound, "delegation_not_found")
	})
}
