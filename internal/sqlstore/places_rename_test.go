package sqlstore

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/roster"
	"github.com/louyuan/louyuan/internal/testenv"
)

// Two staff members rename one building at the same moment: the second
// rename waits for the first and records, as old_name, the name the first
// one wrote — the audit log tells the building's names in order.
func TestPlacesConcurrentRenamesAuditTheNameTheyReplace(t *testing.T) {
	db := migrated(t, openMySQL(t, testenv.MySQL(t)))
	ctx := context.Background()
	p := NewPlaces(db)
	_, comm, yard, err := p.EnsureCourtyard(ctx, "新华路街道", "桐本北路社区", "铝厂小区", "")
	must(t, err)
	svc := roster.NewService(NewRoster(db), NewAuditLog(db, testHasher), nil)
	svc.Places = p
	staff := identity.Principal{Kind: identity.KindStaff, ID: 7,
		Grants: []identity.Grant{{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: comm}}}
	b, err := svc.CreatePlace(ctx, staff, roster.LevelBuilding, yard, "1号楼", "")
	must(t, err)

	second := make(chan error, 1)
	must(t, p.InTx(ctx, func(ctx context.Context) error {
		if _, err := svc.RenamePlace(ctx, staff, roster.LevelBuilding, b.ID, "甲楼", nil); err != nil {
			return err
		}
		// The other rename starts while this one is not yet committed.
		go func() {
			_, err := svc.RenamePlace(context.Background(), staff, roster.LevelBuilding, b.ID, "乙楼", nil)
			second <- err
		}()
		time.Sleep(300 * time.Millisecond)
		return nil
	}))
	must(t, <-second)

	var details []string
	must(t, db.conn(ctx).Table("audit_log").Where("action = ?", "place.renamed").Order("id").Pluck("detail", &details).Error)
	var olds []string
	for _, d := range details {
		var v struct {
			Name    string `json:"name"`
			OldName string `json:"old_name"`
		}
		must(t, json.Unmarshal([]byte(d), &v))
		olds = append(olds, v.OldName+"→"+v.Name)
	}
	if want := []string{"1号楼→甲楼", "甲楼→乙楼"}; !slices.Equal(olds, want) {
		t.Errorf("renames audited as %v, want %v", olds, want)
	}
	got, err := p.PlaceNode(ctx, roster.LevelBuilding, b.ID)
	must(t, err)
	if got.Name != "乙楼" {
		t.Errorf("building is named %q, want 乙楼", got.Name)
	}
}

// Two operators add the same new courtyard at the same moment (MariaDB,
// where they truly overlap): both end with the same rows, neither with an
// error.
func TestPlacesEnsureCourtyardConcurrently(t *testing.T) {
	db := migrated(t, openMySQL(t, testenv.MySQL(t)))
	p := NewPlaces(db)
	type ids struct{ sub, comm, yard int64 }
	const n = 4
	got := make(chan ids, n)
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			s, c, y, err := p.EnsureCourtyard(context.Background(), "新华路街道", "桐本北路社区", "铝厂小区", "")
			errs <- err
			got <- ids{s, c, y}
		}()
	}
	close(start)
	var all []ids
	for i := range n {
		if err := <-errs; err != nil {
			t.Errorf("EnsureCourtyard %d: %v", i, err)
		}
		all = append(all, <-got)
	}
	for _, g := range all {
		if g != all[0] || g.sub == 0 || g.comm == 0 || g.yard == 0 {
			t.Errorf("EnsureCourtyard answered %+v, want one and the same rows", all)
			break
		}
	}
	if c := count(t, db, "courtyards", ""); c != 1 {
		t.Errorf("%d courtyards, want 1", c)
	}
}
