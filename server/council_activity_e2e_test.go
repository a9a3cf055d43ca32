package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestCouncilActivity counts a council's activity as the console's
// dashboard shows it: a notice sent and read by one of its recipients,
// motions passed and cancelled, opinions raised, resolved and rated, and
// a survey's responses; staff of another community are refused.
func TestCouncilActivity(t *testing.T) {
	f := elStart(t)
	env, staff, call := f.env, f.staff, f.call
	councilID := f.council(staff)
	type activity struct {
		Activity struct {
			Notices struct {
				Sent, Recipients, Read int
			} `json:"notices"`
			Motions struct {
				Total, Underway, Passed, Failed, Cancelled int
			} `json:"motions"`
			Petitions struct {
				Total, Open int
			} `json:"petitions"`
			Opinions struct {
				Received      int      `json:"received"`
				InProgress    int      `json:"in_progress"`
				Resolved      int      `json:"resolved"`
				Rated         int      `json:"rated"`
				AverageRating *float64 `json:"average_rating"`
			} `json:"opinions"`
		} `json:"activity"`
		Surveys []struct {
			Title     string   `json:"title"`
			Responses int      `json:"responses"`
			Average   *float64 `json:"average"`
		} `json:"surveys"`
	}
	get := func() activity {
		t.Helper()
		r := call("GET", fmt.Sprintf("/councils/%d/activity", councilID), staff, nil)
		e2eWant(t, r, http.StatusOK)
		var a activity
		r.decode(t, &a)
		return a
	}
	if a := get(); a.Activity.Motions.Total != 0 || a.Activity.Opinions.Received != 0 || len(a.Surveys) != 0 {
		t.Fatalf("a new courtyard's activity: %+v", a)
	}

	// A notice to the courtyard, read by one representative.
	r := call("POST", "/notices", staff, map[string]any{"targets": []map[string]any{{"scope_type": "courtyard", "scope_id": 1}}, "title": "停水通知", "body": "周六上午停水。"})
	e2eWant(t, r, http.StatusCreated)
	var n struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &n)
	e2eWant(t, call("POST", fmt.Sprintf("/notices/%d/send", n.ID), staff, nil), http.StatusOK)
	e2eWant(t, call("POST", fmt.Sprintf("/notices/%d/read", n.ID), env.reps[0].token, nil), http.StatusNoContent)

	// A motion that passes, one cancelled, one still a draft.
	m := env.openMotion(t, map[string]any{"rule": "ordinary"}, 6*time.Second)
	for _, rep := range env.reps[:45] {
		e2eWant(t, call("POST", fmt.Sprintf("/motions/%d/ballots", m.ID), rep.token, map[string]any{"household_id": rep.householdID, "options": []string{"agree"}}),
			http.StatusCreated)
	}
	time.Sleep(7 * time.Second)
	e2eWant(t, call("POST", fmt.Sprintf("/motions/%d/close", m.ID), staff, nil), http.StatusOK)
	e2eWant(t, call("POST", fmt.Sprintf("/motions/%d/finalize", m.ID), staff, nil), http.StatusOK)
	draft := func(title string) int64 {
		t.Helper()
		opens := time.Now().Add(30 * 24 * time.Hour)
		r := call("POST", "/courtyards/1/motions", staff, map[string]any{"scope_type": "courtyard", "title": title, "rule": "ordinary", "ballot_mode": "named",
			"notice_days": 7, "objection_days": 7, "opens_at": opens, "closes_at": opens.Add(7 * 24 * time.Hour)})
		e2eWant(t, r, http.StatusCreated)
		var d struct {
			ID int64 `json:"id"`
		}
		r.decode(t, &d)
		return d.ID
	}
	e2eWant(t, call("POST", fmt.Sprintf("/motions/%d/cancel", draft("更换路灯")), staff, nil), http.StatusOK)
	draft("粉刷楼道")

	// Three opinions: one resolved and rated 4, one in progress.
	raise := func(rep vtRep, body string) int64 {
		t.Helper()
		r := call("POST", "/courtyards/1/opinions", rep.token, map[string]any{"category": "repair", "body": body})
		e2eWant(t, r, http.StatusCreated)
		var o struct {
			ID int64 `json:"id"`
		}
		r.decode(t, &o)
		return o.ID
	}
	o1 := raise(env.reps[0], "楼道灯坏了")
	o2 := raise(env.reps[1], "下水道堵了")
	raise(env.reps[2], "院门不好关")
	e2eWant(t, call("POST", fmt.Sprintf("/opinions/%d/replies", o1), staff, map[string]any{"body": "已修好", "status": "resolved"}), http.StatusCreated)
	e2eWant(t, call("POST", fmt.Sprintf("/opinions/%d/rating", o1), env.reps[0].token, map[string]any{"rating": 4}), http.StatusOK)
	e2eWant(t, call("POST", fmt.Sprintf("/opinions/%d/replies", o2), staff, map[string]any{"body": "已联系物业", "status": "in_progress"}), http.StatusCreated)

	// A survey with two responses: averages 5 and 3.
	r = call("POST", fmt.Sprintf("/councils/%d/surveys", councilID), staff, map[string]any{"title": "2026年理事会满意度测评",
		"closes_at": time.Now().Add(7 * 24 * time.Hour), "questions": []map[string]any{{"text": "总体满意度", "kind": "rating"}}})
	e2eWant(t, r, http.StatusCreated)
	var sv struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &sv)
	for i, rating := range []int{5, 3} {
		rep := env.reps[i]
		e2eWant(t, call("POST", fmt.Sprintf("/surveys/%d/responses", sv.ID), rep.token, map[string]any{"household_id": rep.householdID,
			"answers": []map[string]any{{"rating": rating}}}), http.StatusCreated)
	}

	a := get()
	if nt := a.Activity.Notices; nt.Sent < 1 || nt.Recipients < 56 || nt.Read != 1 {
		t.Errorf("notices: %+v", nt)
	}
	if mt := a.Activity.Motions; mt.Total != 3 || mt.Passed != 1 || mt.Cancelled != 1 || mt.Underway != 1 || mt.Failed != 0 {
		t.Errorf("motions: %+v", mt)
	}
	if op := a.Activity.Opinions; op.Received != 3 || op.Resolved != 1 || op.InProgress != 1 || op.Rated != 1 || op.AverageRating == nil || *op.AverageRating != 4 {
		t.Errorf("opinions: %+v", op)
	}
	if len(a.Surveys) != 1 || a.Surveys[0].Responses != 2 || a.Surveys[0].Average == nil || *a.Surveys[0].Average != 4 {
		t.Errorf("surveys: %+v", a.Surveys)
	}
	e2eWantError(t, call("GET", fmt.Sprintf("/councils/%d/activity", councilID), env.reps[0].token, nil), http.StatusForbidden, "not_in_scope")
	e2eWantError(t, call("GET", "/councils/999/activity", staff, nil), http.StatusNotFound, "council_not_found")
}

// TestElectionUnit lists an election unit's households with owners and
// bound members, and names the staff member behind a finding.
func TestElectionUnit(t *testing.T) {
	cfg := vtConfig(e2eEmbeddedConfig(t))
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)
	call := func(method, path, token string, body any) e2eResponse {
		t.Helper()
		return s.call(t, method, "/api/v1"+path, token, body)
	}
	r := call("GET", "/courtyards/1/councils", env.staff, nil)
	var cs struct {
		Councils []struct {
			ID int64 `json:"id"`
		} `json:"councils"`
	}
	r.decode(t, &cs)
	from, to := mxTerm()
	// Building 2's unit 2 holds the demo's last 14 households.
	r = call("GET", "/courtyards/1/households", env.staff, nil)
	var hs struct {
		Households []struct {
			UnitID int64 `json:"unit_id"`
		} `json:"households"`
	}
	r.decode(t, &hs)
	unitID := hs.Households[len(hs.Households)-1].UnitID
	r = call("POST", fmt.Sprintf("/councils/%d/elections", cs.Councils[0].ID), env.staff, map[string]any{"courtyard_id": 1, "scope_type": "unit", "scope_id": unitID,
		"title": "2号楼2单元单元长选举", "seats": 1, "term_starts_on": from, "term_ends_on": to})
	e2eWant(t, r, http.StatusCreated)
	var el struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &el)
	r = call("GET", fmt.Sprintf("/elections/%d/unit", el.ID), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	var unit struct {
		Households []struct {
			ID       int64    `json:"id"`
			Building string   `json:"building"`
			Unit     string   `json:"unit"`
			Owners   []string `json:"owners"`
			Members  []struct {
				UserID         int64 `json:"user_id"`
				Representative bool  `json:"representative"`
			} `json:"members"`
		} `json:"households"`
	}
	r.decode(t, &unit)
	if len(unit.Households) != 14 {
		t.Fatalf("unit households: %s", r)
	}
	last := unit.Households[13]
	if last.Building != "2号楼" || last.Unit != "2单元" || len(last.Owners) != 1 || last.Owners[0] != "王春芬" {
		t.Errorf("the unit's last household: %+v", last)
	}
	rep := env.byHouse[last.ID]
	if len(last.Members) != 1 || last.Members[0].UserID != rep.userID || !last.Members[0].Representative {
		t.Errorf("the last household's members %+v, want its representative %d", last.Members, rep.userID)
	}
	e2eWantError(t, call("GET", fmt.Sprintf("/elections/%d/unit", el.ID), rep.token, nil), http.StatusForbidden, "not_in_scope")

	// A finding names its staff member.
	r = call("POST", fmt.Sprintf("/elections/%d/candidates", el.ID), env.staff, map[string]any{"user_id": rep.userID, "source": "community", "name": "王春芬"})
	e2eWant(t, r, http.StatusCreated)
	var cand struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &cand)
	r = call("PUT", fmt.Sprintf("/candidates/%d/findings/cult", cand.ID), env.staff, map[string]any{"pass": true, "note": "经走访核实"})
	e2eWant(t, r, http.StatusOK)
	var cl struct {
		Items []struct {
			Finding *struct {
				FoundByName string `json:"found_by_name"`
			} `json:"finding"`
		} `json:"items"`
	}
	r.decode(t, &cl)
	named := false
	for _, it := range cl.Items {
		named = named || (it.Finding != nil && it.Finding.FoundByName == "桐本北路社区网格员")
	}
	if !named {
		t.Errorf("the finding does not name its staff member: %s", r)
	}
}
