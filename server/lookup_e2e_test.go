package main

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// A resident without an invite code finds the household by its address,
// asks to be bound, and follows the request until staff decide.
func TestHouseholdLookupAndBindRequests(t *testing.T) {
	s := e2eStart(t, e2eEmbeddedConfig(t))
	staff := s.staffLogin(t, demoStaffUser, demoStaffPassword).AccessToken
	target, ok := e2eFind(s.courtyardHouseholds(t, staff, 1), "2号楼", "1单元", "101")
	if !ok {
		t.Fatal("no 2号楼1单元101 in the demo")
	}
	lookup := func(token, yard, building, unit, room string) e2eResponse {
		return s.call(t, "GET", "/api/v1/household-lookup?"+url.Values{"courtyard": {yard}, "building": {building}, "unit": {unit}, "room": {room}}.Encode(), token, nil)
	}
	type found struct {
		Households []struct {
			HouseholdID int64  `json:"household_id"`
			Community   string `json:"community"`
			Courtyard   string `json:"courtyard"`
			Building    string `json:"building"`
			Unit        string `json:"unit"`
			Room        string `json:"room"`
		} `json:"households"`
	}
	sun := s.wechatLogin(t, e2eCode("sun-lookup"))
	// As written on the door, with or without the usual suffixes.
	for _, q := range [][3]string{{"2号楼", "1单元", "101"}, {"2", "1", "101"}, {"2栋", "1单元", "101室"}} {
		r := lookup(sun.AccessToken, "铝厂小区", q[0], q[1], q[2])
		e2eWant(t, r, http.StatusOK)
		var f found
		r.decode(t, &f)
		if len(f.Households) != 1 || f.Households[0].HouseholdID != target.ID || f.Households[0].Building != "2号楼" || f.Households[0].Community == "" {
			t.Errorf("lookup %v: %s", q, r)
		}
	}
	// No such room, no such courtyard: an empty list, never a neighbour.
	for _, q := range [][4]string{{"铝厂小区", "2号楼", "1单元", "999"}, {"铝厂", "2号楼", "1单元", "101"}, {"铝厂小区", "12号楼", "1单元", "101"}} {
		r := lookup(sun.AccessToken, q[0], q[1], q[2], q[3])
		e2eWant(t, r, http.StatusOK)
		var f found
		r.decode(t, &f)
		if len(f.Households) != 0 {
			t.Errorf("lookup %v found something: %s", q, r)
		}
	}
	e2eWantError(t, lookup(sun.AccessToken, "铝厂小区", "2号楼", "", "101"), http.StatusBadRequest, "bad_address")
	e2eWantError(t, lookup(staff, "铝厂小区", "2号楼", "1单元", "101"), http.StatusForbidden, "users_only")

	// The request, then its status as the resident sees it.
	r := s.call(t, "POST", fmt.Sprintf("/api/v1/households/%d/bind-requests", target.ID), sun.AccessToken,
		map[string]string{"role": "tenant", "real_name": "孙立平", "note": "租住两年"})
	e2eWant(t, r, http.StatusCreated)
	var req e2eRequest
	r.decode(t, &req)
	type mine struct {
		Requests []struct {
			ID      int64  `json:"id"`
			Status  string `json:"status"`
			Role    string `json:"role"`
			Reason  string `json:"reason"`
			Address struct {
				Courtyard string `json:"courtyard"`
				Building  string `json:"building"`
				Room      string `json:"room"`
			} `json:"address"`
		} `json:"requests"`
	}
	read := func() mine {
		r := s.call(t, "GET", "/api/v1/me/bind-requests", sun.AccessToken, nil)
		e2eWant(t, r, http.StatusOK)
		var m mine
		r.decode(t, &m)
		return m
	}
	m := read()
	if len(m.Requests) != 1 || m.Requests[0].ID != req.ID || m.Requests[0].Status != "pending" || m.Requests[0].Role != "tenant" ||
		m.Requests[0].Address.Courtyard != "铝厂小区" || m.Requests[0].Address.Building != "2号楼" || m.Requests[0].Address.Room != "101" {
		t.Fatalf("my bind requests: %+v", m)
	}
	// Staff see it in the courtyard's pending list with the household's
	// address and the name the resident gave.
	r = s.call(t, "GET", "/api/v1/courtyards/1/requests?kind=bind&page=1&page_size=20", staff, nil)
	e2eWant(t, r, http.StatusOK)
	var pending struct {
		Requests []struct {
			ID         int64  `json:"id"`
			Household  string `json:"household"`
			PersonName string `json:"person_name"`
		} `json:"requests"`
		Total int `json:"total"`
	}
	r.decode(t, &pending)
	if pending.Total != 1 || len(pending.Requests) != 1 || pending.Requests[0].ID != req.ID ||
		pending.Requests[0].Household != "2号楼1单元101" || pending.Requests[0].PersonName != "孙立平" {
		t.Errorf("pending requests for staff: %s", r)
	}
	r = s.call(t, "POST", fmt.Sprintf("/api/v1/requests/bind/%d/decision", req.ID), staff, map[string]any{"approve": false, "reason": "请带租房合同到社区"})
	e2eWant(t, r, http.StatusOK)
	if m = read(); m.Requests[0].Status != "rejected" || m.Requests[0].Reason != "请带租房合同到社区" {
		t.Errorf("after the decision: %+v", m)
	}
	// Another account sees none of it.
	other := s.wechatLogin(t, e2eCode("other-lookup"))
	r = s.call(t, "GET", "/api/v1/me/bind-requests", other.AccessToken, nil)
	e2eWant(t, r, http.StatusOK)
	var none mine
	r.decode(t, &none)
	if len(none.Requests) != 0 {
		t.Errorf("another account sees requests: %s", r)
	}
	e2eWantError(t, s.call(t, "GET", "/api/v1/me/bind-requests", staff, nil), http.StatusForbidden, "users_only")

	// Lookups are counted per account.
	limited := false
	for i := 0; i < 40 && !limited; i++ {
		r := lookup(sun.AccessToken, "铝厂小区", "2号楼", "1单元", "101")
		if r.Status == http.StatusTooManyRequests {
			e2eWantError(t, r, http.StatusTooManyRequests, "too_many_lookups")
			limited = true
		}
	}
	if !limited {
		t.Error("40 more lookups by one account were never limited")
	}
}
