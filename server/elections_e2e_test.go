package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
)

type elCandidate struct {
	ID          int64  `json:"id"`
	UserID      int64  `json:"user_id"`
	Name        string `json:"name"`
	OptionKey   string `json:"option_key"`
	Eligibility string `json:"eligibility"`
}

type elView struct {
	Election struct {
		ID       int64  `json:"id"`
		Status   string `json:"status"`
		MotionID int64  `json:"motion_id"`
	} `json:"election"`
	Candidates []elCandidate `json:"candidates"`
	Result     *struct {
		MotionStatus  string        `json:"motion_status"`
		Elected       []elCandidate `json:"elected"`
		TieAtLastSeat []elCandidate `json:"tie_at_last_seat"`
		RunOffNeeded  bool          `json:"run_off_needed"`
		Confirmable   bool          `json:"confirmable"`
	} `json:"result"`
}

type elChecklist struct {
	Items []struct {
		Criterion struct {
			Code string `json:"code"`
		} `json:"criterion"`
	} `json:"items"`
	Eligibility string   `json:"eligibility"`
	ToCheck     []string `json:"to_check"`
}

// TestCouncilElection runs a council election end to end: nominations
// (tenants and representatives outside the unit refused), vetting with the
// fees criterion switched on and off, an appeal decided by another staff
// member, an ineligible candidate kept off the ballot, a first ballot that
// ties at the third seat, a run-off with proxies and re-votes in which one
// owner of two households counts once, and the confirmation that makes the
// elected the council's new term with its roles.
func TestCouncilElection(t *testing.T) {
	f := elStart(t)
	s, cfg, env, staff, call := f.s, f.cfg, f.env, f.staff, f.call

	// A second staff member of the community decides appeals.
	e2eRunEnv(t, cfg, true)
	t.Setenv("LOUYUAN_ADMIN_PASSWORD", "second-staff-pass")
	if out, err := e2eRun("admin", "create-staff", "-username", "fuhe", "-name", "复核员", "-role", "community_staff", "-scope", "1"); err != nil {
		t.Fatalf("create staff: %v (%s)", err, out)
	}
	staff2 := s.staffLogin(t, "fuhe", "second-staff-pass").AccessToken

	councilID := f.council(env.reps[0].token)
	e2eWant(t, call("POST", fmt.Sprintf("/councils/%d/staff", councilID), staff, map[string]any{"staff_id": 1, "role": "cadre"}), http.StatusOK)
	e2eWantError(t, call("POST", fmt.Sprintf("/councils/%d/staff", councilID), env.reps[0].token, map[string]any{"staff_id": 1, "role": "cadre"}),
		http.StatusForbidden, "not_in_scope")

	today := time.Now().In(louyuan.China).Format(time.DateOnly)
	ends := time.Now().In(louyuan.China).AddDate(3, 0, -1).Format(time.DateOnly)
	r := call("POST", fmt.Sprintf("/councils/%d/elections", councilID), staff, map[string]any{"courtyard_id": 1, "scope_type": "courtyard",
		"title": "铝厂小区第二届楼院理事会选举", "seats": 3, "term_starts_on": today, "term_ends_on": ends})
	e2eWant(t, r, http.StatusCreated)
	var el struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &el)
	f.election = el.ID
	ep := f.ep

	// Nominations: community, self and residents'.
	names := []string{"张建国", "李桂兰", "王德胜", "赵淑珍", "陈志强", "杨秀梅"}
	var cands []elCandidate
	nominate := func(i int, token string, body map[string]any) {
		t.Helper()
		body["user_id"], body["name"] = env.reps[10+i].userID, names[i]
		r := call("POST", ep("/candidates"), token, body)
		e2eWant(t, r, http.StatusCreated)
		var c elCandidate
		r.decode(t, &c)
		cands = append(cands, c)
	}
	nominate(0, staff, map[string]any{"source": "community", "statement": "退休干部，热心楼院事务"})
	nominate(1, env.reps[11].token, map[string]any{"source": "self"})
	nominate(2, env.reps[2].token, map[string]any{"source": "residents", "nominators": []int64{env.reps[2].userID, env.reps[3].userID}})
	nominate(3, env.reps[13].token, map[string]any{"source": "self"})
	nominate(4, staff, map[string]any{"source": "community"})
	nominate(5, staff, map[string]any{"source": "community"})
	e2eWantError(t, call("POST", ep("/candidates"), env.reps[20].token, map[string]any{"user_id": env.reps[21].userID, "source": "self", "name": "某某"}),
		http.StatusForbidden, "self_only")

	// A tenant cannot nominate.
	r = call("POST", "/courtyards/1/invites?format=json", staff, map[string]any{"household_ids": []int64{env.reps[5].householdID}, "role": "tenant"})
	e2eWant(t, r, http.StatusCreated)
	var slips struct {
		Invites []struct {
			Code string `json:"code"`
		} `json:"invites"`
	}
	r.decode(t, &slips)
	tenant := s.wechatLogin(t, e2eCode("tenant"))
	e2eWant(t, call("POST", "/me/households", tenant.AccessToken, map[string]string{"invite_code": slips.Invites[0].Code}), http.StatusCreated)
	e2eWantError(t, call("POST", ep("/candidates"), tenant.AccessToken, map[string]any{"user_id": env.reps[30].userID, "source": "residents", "name": "孙志刚",
		"nominators": []int64{tenant.User.ID}}), http.StatusForbidden, "nominator_not_representative")

	// A representative outside the election unit cannot nominate: an
	// election of building 1 (households 1–28 of the demo).
	r = call("POST", fmt.Sprintf("/councils/%d/elections", councilID), staff, map[string]any{"courtyard_id": 1, "scope_type": "building", "scope_id": 1,
		"title": "1号楼楼栋长选举", "seats": 1, "term_starts_on": today, "term_ends_on": ends})
	e2eWant(t, r, http.StatusCreated)
	var b1 struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &b1)
	outside := env.reps[40] // 2号楼
	e2eWantError(t, call("POST", fmt.Sprintf("/elections/%d/candidates", b1.ID), outside.token, map[string]any{"user_id": env.reps[1].userID,
		"source": "residents", "name": "刘宗敏", "nominators": []int64{outside.userID}}), http.StatusForbidden, "nominator_outside_unit")
	e2eWant(t, call("POST", fmt.Sprintf("/elections/%d/candidates", b1.ID), env.reps[4].token, map[string]any{"user_id": env.reps[1].userID,
		"source": "residents", "name": "刘宗敏", "nominators": []int64{env.reps[4].userID}}), http.StatusCreated)

	// The checklist: six criteria; switching owes_fees on adds it, off
	// removes it again.
	checklist := func(c elCandidate, token string) elChecklist {
		t.Helper()
		r := call("GET", fmt.Sprintf("/candidates/%d/checklist", c.ID), token, nil)
		e2eWant(t, r, http.StatusOK)
		var cl elChecklist
		r.decode(t, &cl)
		return cl
	}
	codes := func(cl elChecklist) []string {
		var out []string
		for _, it := range cl.Items {
			out = append(out, it.Criterion.Code)
		}
		return out
	}
	if cl := checklist(cands[0], staff); len(cl.Items) != 6 || slices.Contains(codes(cl), "owes_fees") || cl.Eligibility != "pending" || len(cl.ToCheck) != 6 {
		t.Fatalf("default checklist: %+v", cl)
	}
	e2eWant(t, call("PUT", "/communities/1/eligibility-criteria/owes_fees", staff, map[string]any{"enabled": true}), http.StatusOK)
	if cl := checklist(cands[0], staff); len(cl.Items) != 7 || !slices.Contains(cl.ToCheck, "owes_fees") {
		t.Fatalf("with owes_fees on: %+v", cl)
	}
	e2eWant(t, call("PUT", "/communities/1/eligibility-criteria/owes_fees", staff, map[string]any{"enabled": false}), http.StatusOK)
	if cl := checklist(cands[0], staff); len(cl.Items) != 6 || slices.Contains(cl.ToCheck, "owes_fees") {
		t.Fatalf("with owes_fees off again: %+v", cl)
	}
	e2eWantError(t, call("PUT", fmt.Sprintf("/candidates/%d/findings/owes_fees", cands[0].ID), staff, map[string]any{"pass": true, "note": "无欠费"}),
		http.StatusBadRequest, "criterion_off")
	// Findings are for staff and the candidate only.
	checklist(cands[1], env.reps[11].token)
	e2eWantError(t, call("GET", fmt.Sprintf("/candidates/%d/checklist", cands[1].ID), env.reps[12].token, nil), http.StatusNotFound, "candidate_not_found")
	e2eWantError(t, call("PUT", fmt.Sprintf("/candidates/%d/findings/cult", cands[1].ID), env.reps[11].token, map[string]any{"pass": true, "note": "x"}),
		http.StatusForbidden, "not_in_scope")

	all := []string{"public_spirited", "dedicated", "responsible", "cult", "criminal_record", "dishonest_debtor"}
	for i, c := range cands {
		for _, code := range all {
			pass := !(i == 5 && code == "criminal_record")
			e2eWant(t, call("PUT", fmt.Sprintf("/candidates/%d/findings/%s", c.ID, code), staff, map[string]any{"pass": pass, "note": "经社区走访核实"}), http.StatusOK)
		}
	}
	if cl := checklist(cands[5], staff); cl.Eligibility != "ineligible" {
		t.Fatalf("candidate with a criminal record: %+v", cl)
	}
	// The appeal: once, and not decided by the first finder.
	e2eWantError(t, call("POST", fmt.Sprintf("/candidates/%d/appeal", cands[4].ID), env.reps[14].token, map[string]any{"reason": "我符合条件"}),
		http.StatusConflict, "not_ineligible")
	e2eWant(t, call("POST", fmt.Sprintf("/candidates/%d/appeal", cands[5].ID), env.reps[15].token, map[string]any{"reason": "前科记录有误，请复核"}), http.StatusCreated)
	e2eWantError(t, call("POST", fmt.Sprintf("/candidates/%d/appeal", cands[5].ID), env.reps[15].token, map[string]any{"reason": "再次申诉"}),
		http.StatusConflict, "appeal_used")
	e2eWantError(t, call("POST", fmt.Sprintf("/candidates/%d/appeal/decision", cands[5].ID), staff, map[string]any{"upheld": true, "note": "维持"}),
		http.StatusForbidden, "appeal_same_staff")
	e2eWant(t, call("POST", fmt.Sprintf("/candidates/%d/appeal/decision", cands[5].ID), staff2, map[string]any{"upheld": false, "note": "经复核，记录属实"}),
		http.StatusOK)
	if cl := checklist(cands[5], env.reps[15].token); cl.Eligibility != "ineligible" {
		t.Fatalf("after the rejected appeal: %+v", cl)
	}

	// Publishing; residents see the five eligible candidates only.
	e2eWant(t, call("POST", ep("/publish-candidates"), staff, nil), http.StatusOK)
	view := f.view
	if v := view(env.reps[50].token); len(v.Candidates) != 5 {
		t.Fatalf("a resident sees %d candidates, want the 5 eligible", len(v.Candidates))
	}

	// The ineligible candidate cannot be put on the ballot.
	ballot := f.ballot
	ids := []int64{cands[0].ID, cands[1].ID, cands[2].ID, cands[3].ID, cands[5].ID}
	e2eWantError(t, call("POST", ep("/ballot"), staff, map[string]any{"candidate_ids": ids, "ballot_mode": "named", "opens_at": time.Now().Add(time.Minute),
		"closes_at": time.Now().Add(time.Hour)}), http.StatusConflict, "candidate_ineligible")

	keys := f.keys
	vote := func(m vtMotion, idx int, cs ...int) {
		t.Helper()
		var ids []int64
		for _, c := range cs {
			ids = append(ids, cands[c].ID)
		}
		f.vote(m, idx, ids...)
	}
	finish := f.finish

	// Ballot 1: everyone elects 0 and 1; 2 and 3 tie for the third seat.
	m1 := ballot(map[string]any{})
	for i := range env.reps {
		switch {
		case i >= 2 && i < 12:
			vote(m1, i, 0, 1, 2)
		case i >= 12 && i < 22:
			vote(m1, i, 0, 1, 3)
		case i >= 22 && i < 26:
			vote(m1, i, 0, 1, 4)
		default:
			vote(m1, i, 0, 1)
		}
	}
	v := finish(m1)
	if v.Result == nil || !v.Result.RunOffNeeded || len(v.Result.TieAtLastSeat) != 2 || v.Result.Confirmable {
		t.Fatalf("ballot 1 should tie at the third seat: %+v", v.Result)
	}
	e2eWantError(t, call("POST", ep("/confirm"), staff, map[string]any{}), http.StatusConflict, "tie_at_last_seat")

	// Ballot 2 (run-off): proxies and re-votes. Households 0 and 55 are
	// both 王春芬's: with 10–15 they give candidate 3 eight households but
	// seven heads, against eight for candidate 2.
	m2 := ballot(map[string]any{})
	for i := range env.reps {
		switch {
		case i >= 2 && i < 5:
			// Delegated to reps 30–32, who cast for them.
			proxy := env.reps[28+i]
			r := call("POST", "/delegations", env.reps[i].token, map[string]any{"household_id": env.reps[i].householdID, "proxy_user_id": proxy.userID, "motion_id": m2.ID})
			e2eWant(t, r, http.StatusCreated)
			var d struct {
				ID int64 `json:"id"`
			}
			r.decode(t, &d)
			e2eWant(t, call("POST", fmt.Sprintf("/delegations/%d/accept", d.ID), proxy.token, map[string]any{"accept": true}), http.StatusOK)
			k := keys()
			r = call("POST", fmt.Sprintf("/motions/%d/proxy-ballots", m2.ID), proxy.token, map[string]any{"household_ids": []int64{env.reps[i].householdID},
				"options": []string{k[cands[0].ID], k[cands[1].ID], k[cands[2].ID]}})
			e2eWant(t, r, http.StatusOK)
		case i >= 5 && i < 10:
			vote(m2, i, 0, 1, 2)
		case i == 0 || i == 55 || (i >= 10 && i < 16):
			vote(m2, i, 4) // first a vote for candidate 4…
			vote(m2, i, 0, 1, 3)
		default:
			vote(m2, i, 0, 1)
		}
	}
	v = finish(m2)
	if v.Result == nil || v.Result.RunOffNeeded || !v.Result.Confirmable || len(v.Result.Elected) != 3 {
		t.Fatalf("ballot 2: %+v", v.Result)
	}
	var elected []int64
	for _, c := range v.Result.Elected {
		elected = append(elected, c.ID)
	}
	slices.Sort(elected)
	if want := []int64{cands[0].ID, cands[1].ID, cands[2].ID}; !slices.Equal(elected, want) {
		t.Fatalf("elected %v, want %v (candidate 3's eight households are seven heads)", elected, want)
	}
	// Findings stay with staff and the candidate, in the result as in the list.
	for _, c := range v.Result.Elected {
		if c.Eligibility != "eligible" {
			t.Errorf("staff see elected candidate %d's eligibility as %q", c.ID, c.Eligibility)
		}
	}
	for _, c := range view(env.reps[40].token).Result.Elected {
		if c.Eligibility != "" {
			t.Errorf("a resident sees elected candidate %d's finding %q", c.ID, c.Eligibility)
		}
	}

	// Confirmation: the elected become the new term; roles follow it.
	e2eWantError(t, call("POST", ep("/confirm"), staff, map[string]any{"chair_candidate_id": cands[3].ID}), http.StatusBadRequest, "not_elected")
	r = call("POST", ep("/confirm"), staff, map[string]any{"chair_candidate_id": cands[0].ID, "treasurer_candidate_id": cands[2].ID})
	e2eWant(t, r, http.StatusOK)
	e2eWantError(t, call("POST", ep("/confirm"), staff, map[string]any{}), http.StatusConflict, "not_confirmable")
	chair := s.wechatLogin(t, e2eCode("rep10")).AccessToken
	me := s.me(t, chair)
	if !slices.ContainsFunc(me.Grants, func(g struct {
		Role      string `json:"role"`
		ScopeType string `json:"scope_type"`
		ScopeID   int64  `json:"scope_id"`
	}) bool {
		return g.Role == "council_chair" && g.ScopeID == 1
	}) {
		t.Errorf("the elected chair's grants: %+v", me.Grants)
	}
	old := s.wechatLogin(t, e2eCode("lizhang")).AccessToken
	if g := s.me(t, old).Grants; len(g) != 0 {
		t.Errorf("the old chair still holds %+v", g)
	}
}

// elFixture is a server whose demo courtyard has its 56 representatives
// bound, for the council and election tests; election is the one ep, view,
// ballot and vote work on.
type elFixture struct {
	t        *testing.T
	s        *e2eServer
	cfg      *Config
	env      *vtEnv
	staff    string
	election int64
}

func elStart(t *testing.T) *elFixture {
	t.Helper()
	cfg := vtConfig(e2eEmbeddedConfig(t))
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)
	return &elFixture{t: t, s: s, cfg: cfg, env: env, staff: env.staff}
}

func (f *elFixture) call(method, path, token string, body any) e2eResponse {
	f.t.Helper()
	return f.s.call(f.t, method, "/api/v1"+path, token, body)
}

// council is the demo courtyard's one council.
func (f *elFixture) council(token string) int64 {
	f.t.Helper()
	r := f.call("GET", "/courtyards/1/councils", token, nil)
	e2eWant(f.t, r, http.StatusOK)
	var councils struct {
		Councils []struct {
			ID int64 `json:"id"`
		} `json:"councils"`
	}
	r.decode(f.t, &councils)
	if len(councils.Councils) != 1 {
		f.t.Fatalf("demo councils: %s", r)
	}
	return councils.Councils[0].ID
}

func (f *elFixture) ep(suffix string) string {
	return fmt.Sprintf("/elections/%d%s", f.election, suffix)
}

func (f *elFixture) view(token string) elView {
	f.t.Helper()
	r := f.call("GET", f.ep(""), token, nil)
	e2eWant(f.t, r, http.StatusOK)
	var v elView
	r.decode(f.t, &v)
	return v
}

// ballot draws a named ballot that opens in a second and closes 25 seconds
// later, and opens it.
func (f *elFixture) ballot(body map[string]any) vtMotion {
	f.t.Helper()
	opens := time.Now().Add(time.Second)
	body["ballot_mode"], body["notice_days"], body["objection_days"], body["opens_at"], body["closes_at"] = "named", 0, 0, opens, opens.Add(25*time.Second)
	r := f.call("POST", f.ep("/ballot"), f.staff, body)
	e2eWant(f.t, r, http.StatusCreated)
	var out struct {
		Motion vtMotion `json:"motion"`
	}
	r.decode(f.t, &out)
	// The motion is the API's own wire form, as everywhere else.
	var raw struct {
		Motion map[string]json.RawMessage `json:"motion"`
	}
	r.decode(f.t, &raw)
	for _, k := range []string{"id", "courtyard_id", "ballot_mode", "opens_at", "rule", "options"} {
		if _, ok := raw.Motion[k]; !ok {
			f.t.Fatalf("election ballot's motion has no %q: %s", k, r)
		}
	}
	e2eWant(f.t, f.call("POST", fmt.Sprintf("/motions/%d/publish", out.Motion.ID), f.staff, nil), http.StatusOK)
	time.Sleep(time.Until(opens))
	e2eWant(f.t, f.call("POST", fmt.Sprintf("/motions/%d/open", out.Motion.ID), f.staff, nil), http.StatusOK)
	return out.Motion
}

// keys are the candidates' option keys on the current ballot, as staff
// see them.
func (f *elFixture) keys() map[int64]string {
	out := map[int64]string{}
	for _, c := range f.view(f.staff).Candidates {
		out[c.ID] = c.OptionKey
	}
	return out
}

// vote casts representative idx's ballot for the candidates.
func (f *elFixture) vote(m vtMotion, idx int, candidateIDs ...int64) {
	f.t.Helper()
	k := f.keys()
	var opts []string
	for _, id := range candidateIDs {
		opts = append(opts, k[id])
	}
	rep := f.env.reps[idx]
	e2eWant(f.t, f.call("POST", fmt.Sprintf("/motions/%d/ballots", m.ID), rep.token, map[string]any{"household_id": rep.householdID, "options": opts}),
		http.StatusCreated)
}

// finish closes and finalizes the ballot once voting ended and reads the
// election as staff.
func (f *elFixture) finish(m vtMotion) elView {
	f.t.Helper()
	time.Sleep(time.Until(time.Now().Add(26 * time.Second)))
	e2eWant(f.t, f.call("POST", fmt.Sprintf("/motions/%d/close", m.ID), f.staff, nil), http.StatusOK)
	e2eWant(f.t, f.call("POST", fmt.Sprintf("/motions/%d/finalize", m.ID), f.staff, nil), http.StatusOK)
	return f.view(f.staff)
}

// TestElectionRunOffOnSubset draws a run-off on two of three candidates
// through the API: the one left off loses its option key of the first
// ballot, and the run-off's votes are credited to the candidates on it
// (the one left off held the key the run-off gives the winner).
func TestElectionRunOffOnSubset(t *testing.T) {
	f := elStart(t)
	env, staff := f.env, f.staff
	today := time.Now().In(louyuan.China).Format(time.DateOnly)
	ends := time.Now().In(louyuan.China).AddDate(3, 0, -1).Format(time.DateOnly)
	r := f.call("POST", fmt.Sprintf("/councils/%d/elections", f.council(staff)), staff, map[string]any{"courtyard_id": 1, "scope_type": "courtyard",
		"title": "铝厂小区理事会主任补选", "seats": 1, "term_starts_on": today, "term_ends_on": ends})
	e2eWant(t, r, http.StatusCreated)
	var el struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &el)
	f.election = el.ID
	var cands []elCandidate
	for i, name := range []string{"张建国", "李桂兰", "王德胜"} {
		r := f.call("POST", f.ep("/candidates"), staff, map[string]any{"source": "community", "user_id": env.reps[10+i].userID, "name": name})
		e2eWant(t, r, http.StatusCreated)
		var c elCandidate
		r.decode(t, &c)
		cands = append(cands, c)
		for _, code := range []string{"public_spirited", "dedicated", "responsible", "cult", "criminal_record", "dishonest_debtor"} {
			e2eWant(t, f.call("PUT", fmt.Sprintf("/candidates/%d/findings/%s", c.ID, code), staff, map[string]any{"pass": true, "note": "经社区走访核实"}), http.StatusOK)
		}
	}
	e2eWant(t, f.call("POST", f.ep("/publish-candidates"), staff, nil), http.StatusOK)

	// Ballot 1 (the three candidates' keys in order): 0 and 2 tie, 1 is
	// behind.
	m1 := f.ballot(map[string]any{})
	for i := 2; i < 30; i++ {
		switch {
		case i < 12:
			f.vote(m1, i, cands[0].ID)
		case i < 22:
			f.vote(m1, i, cands[2].ID)
		default:
			f.vote(m1, i, cands[1].ID)
		}
	}
	v := f.finish(m1)
	if v.Result == nil || !v.Result.RunOffNeeded || len(v.Result.TieAtLastSeat) != 2 {
		t.Fatalf("ballot 1 should tie: %+v", v.Result)
	}

	// The run-off on 2 and 0, in that order: 0 gets the second key, the
	// one candidate 1 held on ballot 1.
	m2 := f.ballot(map[string]any{"candidate_ids": []int64{cands[2].ID, cands[0].ID}})
	k := f.keys()
	if k[cands[1].ID] != "" || k[cands[0].ID] == "" || k[cands[2].ID] == "" || k[cands[0].ID] == k[cands[2].ID] {
		t.Errorf("option keys after the run-off was drawn: %v (candidate %d is off the ballot)", k, cands[1].ID)
	}
	for i := range env.reps {
		if i >= 41 && i < 55 {
			f.vote(m2, i, cands[2].ID)
		} else {
			f.vote(m2, i, cands[0].ID)
		}
	}
	v = f.finish(m2)
	if v.Result == nil || v.Result.RunOffNeeded || !v.Result.Confirmable || len(v.Result.Elected) != 1 || v.Result.Elected[0].ID != cands[0].ID {
		t.Fatalf("the run-off elects candidate %d: %+v", cands[0].ID, v.Result)
	}
	for _, c := range f.view(env.reps[40].token).Candidates {
		if c.ID == cands[1].ID && c.OptionKey != "" {
			t.Errorf("residents see candidate %d, off the run-off, with option key %q", c.ID, c.OptionKey)
		}
	}
}
