package main

// End-to-end tests of issue #12 items 2, 3 and 9 through the real server in
// the embedded default: buildings and units created and renamed by staff,
// household lists filtered and paged on the server, invite slips for one
// building whose code binds, and a household's members for staff.

import (
	"fmt"
	"net/http"
	"testing"
)

type placesE2EPage struct {
	Households []struct {
		e2eHousehold
		BuildingID   int64 `json:"building_id"`
		BoundMembers int   `json:"bound_members"`
	} `json:"households"`
	Total    int `json:"total"`
	Page     int `json:"page"`
	PageSize int `json:"page_size"`
}

func TestE2EPlacesAndPaging(t *testing.T) {
	s := e2eStart(t, e2eEmbeddedConfig(t))
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	list := func(query string) placesE2EPage {
		t.Helper()
		r := s.call(t, "GET", "/api/v1/courtyards/1/households"+query, staff, nil)
		e2eWant(t, r, http.StatusOK)
		var p placesE2EPage
		r.decode(t, &p)
		return p
	}

	t.Run("households page on the server; no paging asked lists all", func(t *testing.T) {
		all := list("")
		if len(all.Households) != 56 || all.Total != 56 {
			t.Fatalf("unpaged list: %d households, total %d; want 56 (the mini-program's callers)", len(all.Households), all.Total)
		}
		p := list("?page=3&page_size=10")
		if p.Total != 56 || p.Page != 3 || p.PageSize != 10 || len(p.Households) != 10 || p.Households[0].ID != all.Households[20].ID {
			t.Errorf("page 3 of 10: total %d page %d size %d, %d rows, first %d; want 56, 3, 10, 10 rows from %d",
				p.Total, p.Page, p.PageSize, len(p.Households), p.Households[0].ID, all.Households[20].ID)
		}
		last := list("?page=6&page_size=10")
		if len(last.Households) != 6 {
			t.Errorf("last page has %d rows, want 6", len(last.Households))
		}
		if big := list("?page_size=100000"); big.PageSize != 100 || len(big.Households) != 56 {
			t.Errorf("page_size 100000 → %d (%d rows), want bounded to 100", big.PageSize, len(big.Households))
		}
		b2 := all.Households[len(all.Households)-1].BuildingID
		byBuilding := list(fmt.Sprintf("?building_id=%d&page=1&page_size=5", b2))
		if byBuilding.Total != 28 || len(byBuilding.Households) != 5 || byBuilding.Households[0].Building != "2号楼" {
			t.Errorf("building filter: total %d, %d rows; want 28 of 2号楼, 5 shown", byBuilding.Total, len(byBuilding.Households))
		}
		if q := list("?q=王春芬&page=1"); q.Total != 2 {
			t.Errorf("owner filter 王春芬: total %d, want 2", q.Total)
		}
		if q := list("?q=1号楼1单元101&page=1"); q.Total != 1 || q.Households[0].label() != "1号楼1单元101" {
			t.Errorf("address filter: %+v", q)
		}
		e2eWantError(t, s.call(t, "GET", "/api/v1/courtyards/1/households?bound=maybe", staff, nil), http.StatusBadRequest, "bad_filter")
	})

	t.Run("invite slips for a building; a slip's code binds; bound filter and members follow", func(t *testing.T) {
		all := list("")
		b1 := all.Households[0].BuildingID
		r := s.call(t, "POST", "/api/v1/courtyards/1/invites?format=json", staff, map[string]any{"building_id": b1})
		e2eWant(t, r, http.StatusCreated)
		var slips struct {
			Invites []struct {
				Building, Unit, Room, Code string
			} `json:"invites"`
		}
		r.decode(t, &slips)
		if len(slips.Invites) != 28 || slips.Invites[0].Building != "1号楼" || slips.Invites[0].Room != "101" {
			t.Fatalf("slips for 1号楼: %d, first %+v; want 28 from 101", len(slips.Invites), slips.Invites[0])
		}
		if before := list("?bound=yes&page=1"); before.Total != 0 {
			t.Fatalf("bound households before any binding: %d", before.Total)
		}
		wang := s.wechatLogin(t, e2eCode("placeswang")).AccessToken
		e2eWant(t, s.call(t, "POST", "/api/v1/me/households", wang, map[string]string{"invite_code": slips.Invites[0].Code}), http.StatusCreated)
		bound := list("?bound=yes&page=1")
		if bound.Total != 1 || bound.Households[0].label() != "1号楼1单元101" || bound.Households[0].BoundMembers != 1 {
			t.Errorf("bound=yes after one binding: %+v", bound)
		}
		if unbound := list("?bound=no&page=1"); unbound.Total != 55 {
			t.Errorf("bound=no: %d, want 55", unbound.Total)
		}
		r = s.call(t, "GET", fmt.Sprintf("/api/v1/households/%d/members", bound.Households[0].ID), staff, nil)
		e2eWant(t, r, http.StatusOK)
		var ms struct {
			Members []struct {
				Role           string `json:"role"`
				Representative bool   `json:"representative"`
				Via            string `json:"via"`
			} `json:"members"`
		}
		r.decode(t, &ms)
		if len(ms.Members) != 1 || !ms.Members[0].Representative || ms.Members[0].Via != "invite" || ms.Members[0].Role != "owner" {
			t.Errorf("members of 101: %+v", ms.Members)
		}
	})

	t.Run("staff create and rename a building and a unit; siblings' names refused", func(t *testing.T) {
		r := s.call(t, "POST", "/api/v1/courtyards/1/buildings", staff, map[string]string{"name": " 3号楼 "})
		e2eWant(t, r, http.StatusCreated)
		var b struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		r.decode(t, &b)
		if b.Name != "3号楼" {
			t.Errorf("created building %q, want trimmed 3号楼", b.Name)
		}
		e2eWantError(t, s.call(t, "POST", "/api/v1/courtyards/1/buildings", staff, map[string]string{"name": "1号楼"}), http.StatusConflict, "place_name_taken")
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/buildings/%d/units", b.ID), staff, map[string]string{"name": "1单元"})
		e2eWant(t, r, http.StatusCreated)
		var u struct {
			ID int64 `json:"id"`
		}
		r.decode(t, &u)
		e2eWant(t, s.call(t, "PUT", fmt.Sprintf("/api/v1/units/%d", u.ID), staff, map[string]string{"name": "东单元"}), http.StatusOK)
		e2eWant(t, s.call(t, "PUT", fmt.Sprintf("/api/v1/buildings/%d", b.ID), staff, map[string]string{"name": "3号楼（新）"}), http.StatusOK)
		e2eWantError(t, s.call(t, "PUT", fmt.Sprintf("/api/v1/buildings/%d", b.ID), staff, map[string]string{"name": "2号楼"}), http.StatusConflict, "place_name_taken")
		r = s.call(t, "GET", "/api/v1/courtyards/1/buildings", staff, nil)
		e2eWant(t, r, http.StatusOK)
		var bs struct {
			Buildings []struct {
				Name  string `json:"name"`
				Units []struct {
					Name string `json:"name"`
				} `json:"units"`
			} `json:"buildings"`
			CanAdd bool `json:"can_add"`
		}
		r.decode(t, &bs)
		if len(bs.Buildings) != 3 || bs.Buildings[2].Name != "3号楼（新）" || len(bs.Buildings[2].Units) != 1 || bs.Buildings[2].Units[0].Name != "东单元" || !bs.CanAdd {
			t.Errorf("buildings after create and rename: %+v", bs)
		}
		// The community admin's places: staff may not make communities.
		e2eWantError(t, s.call(t, "POST", "/api/v1/subdistricts/1/communities", staff, map[string]string{"name": "新社区"}), http.StatusForbidden, "not_in_scope")
	})

	t.Run("scope before the body: an out-of-scope caller gets 403, never 400 for a bad name", func(t *testing.T) {
		resident := s.wechatLogin(t, e2eCode("placesoutsider")).AccessToken
		for _, body := range []map[string]any{{}, {"name": ""}, {"name": "   "}, {"name": string(make([]rune, 300))}} {
			e2eWantError(t, s.call(t, "POST", "/api/v1/courtyards/1/buildings", resident, body), http.StatusForbidden, "not_in_scope")
			e2eWantError(t, s.call(t, "PUT", "/api/v1/courtyards/1", resident, body), http.StatusForbidden, "not_in_scope")
		}
		// Staff in scope still get the name's own message.
		e2eWantError(t, s.call(t, "POST", "/api/v1/courtyards/1/buildings", staff, map[string]string{"name": "  "}), http.StatusBadRequest, "place_name_empty")
		e2eWantError(t, s.call(t, "PUT", "/api/v1/courtyards/1", staff, map[string]any{}), http.StatusBadRequest, "place_name_empty")
	})
}
