package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestCouncilStaffQuota assigns staff to the demo council through the API
// ("1+4+2+N"): six grid workers at once fill the four places and the other
// two are refused with staff_quota_full, the same account twice is
// staff_already_assigned, and a role outside 1+4+2 is bad_staff_role.
func TestCouncilStaffQuota(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	s := e2eStart(t, cfg)
	e2eRunEnv(t, cfg, true)
	t.Setenv("LOUYUAN_ADMIN_PASSWORD", "quota-password")
	for i := range 6 {
		if out, err := e2eRun("admin", "create-staff", "-username", fmt.Sprintf("wangge%d", i), "-name", fmt.Sprintf("网格员%d号", i),
			"-role", "community_staff", "-scope", "1"); err != nil {
			t.Fatalf("create staff: %v (%s)", err, out)
		}
	}
	clerk := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	l := e2eListStaff(t, s, clerk, "")
	f := &elFixture{t: t, s: s}
	councilID := f.council(clerk)
	path := fmt.Sprintf("/councils/%d/staff", councilID)
	type councilView struct {
		Staff []struct {
			StaffID int64  `json:"staff_id"`
			Role    string `json:"role"`
		} `json:"staff"`
	}
	read := func() councilView {
		t.Helper()
		r := f.call("GET", fmt.Sprintf("/councils/%d", councilID), clerk, nil)
		e2eWant(t, r, http.StatusOK)
		var v councilView
		r.decode(t, &v)
		return v
	}
	if v := read(); len(v.Staff) != 0 {
		t.Fatalf("the demo council starts with staff %+v", v.Staff)
	}

	var wg sync.WaitGroup
	codes := make([]int, 6)
	for i := range 6 {
		id := e2eStaffID(t, l, fmt.Sprintf("wangge%d", i))
		wg.Go(func() {
			r := f.call("POST", path, clerk, map[string]any{"staff_id": id, "role": "grid_worker"})
			codes[i] = r.Status
			if r.Status != http.StatusOK && e2eCodeOf(r) != "staff_quota_full" {
				t.Errorf("assignment %d: %s", i, r)
			}
		})
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == http.StatusOK {
			ok++
		}
	}
	v := read()
	if ok != 4 || len(v.Staff) != 4 {
		t.Fatalf("six grid workers assigned at once: %d accepted, council has %+v; want the four places", ok, v.Staff)
	}
	e2eWantError(t, f.call("POST", path, clerk, map[string]any{"staff_id": v.Staff[0].StaffID, "role": "cadre"}), http.StatusConflict, "staff_already_assigned")
	e2eWantError(t, f.call("POST", path, clerk, map[string]any{"staff_id": v.Staff[0].StaffID, "role": "chair"}), http.StatusBadRequest, "bad_staff_role")
}
