package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// TestAssignStaffQuotaConcurrent assigns eight staff accounts to the one
// leader place of a council at once, and two grid workers to its four
// places twice over: the "1+4+2" quota holds (the council's row is locked
// while the places are counted), each refusal is staff_quota_full.
func TestAssignStaffQuotaConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := seedPlaces(t, db)
		st := NewCouncils(db)
		svc, err := council.NewService(st, nil, NewAuditLog(db, testHasher), nil, slog.Default())
		must(t, err)
		svc.SetStaffDirectory(everyStaff{}) // which accounts a caller may pick is tested through the API
		id, err := st.CreateCouncil(ctx, "幸福里理事会", []int64{p.Courtyard}, "2026-01-01", "2028-12-31", time.Now().UTC())
		must(t, err)
		ids := NewIdentity(db)
		var staff []int64
		for i := range 8 {
			a, err := ids.CreateStaff(ctx, identity.Staff{Username: fmt.Sprintf("s%d", i), DisplayName: fmt.Sprintf("员%d", i), PasswordHash: "x", CreatedAt: t0})
			must(t, err)
			staff = append(staff, a.ID)
		}
		clerk := identity.Principal{Kind: identity.KindStaff, ID: staff[0], Grants: []identity.Grant{{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: p.Community}}}
		assign := func(role string, who []int64) (ok int) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			for _, sid := range who {
				wg.Go(func() {
					_, err := svc.AssignStaff(ctx, clerk, id, sid, role)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						ok++
						return
					}
					var e *louyuan.Error
					if !louyuan.AsError(err, &e) || e.Code != "staff_quota_full" {
						t.Errorf("assign %d as %s: %v", sid, role, err)
					}
				})
			}
			wg.Wait()
			return ok
		}
		if n := assign(council.StaffLeader, staff); n != 1 {
			t.Errorf("%d leaders assigned at once, want 1", n)
		}
		c, err := svc.Council(ctx, clerk, id)
		must(t, err)
		var rest []int64
		for _, sid := range staff {
			if !containsStaff(c.Staff, sid) {
				rest = append(rest, sid)
			}
		}
		if n := assign(council.StaffGridWorker, rest); n != 4 {
			t.Errorf("%d grid workers assigned at once, want 4", n)
		}
		if n := count(t, db, "council_staff", "council_id = ?", id); n != 5 {
			t.Errorf("council has %d staff, want 1+4", n)
		}
	})
}

func containsStaff(ms []council.StaffMember, id int64) bool {
	for _, m := range ms {
		if m.StaffID == id {
			return true
		}
	}
	return false
}

// everyStaff lets a caller assign any account.
type everyStaff struct{}

func (everyStaff) VisibleStaff(context.Context, identity.Principal, int64) error { return nil }
