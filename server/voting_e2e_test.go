package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/testenv"
	"github.com/louyuan/louyuan/internal/voting"
)

// vtRep is a household's representative, logged in.
type vtRep struct {
	token       string
	userID      int64
	householdID int64
}

// vtEnv is a demo courtyard whose 56 households all have a representative.
type vtEnv struct {
	s          *e2eServer
	staff      string
	yard       int64
	reps       []vtRep
	byHouse    map[int64]vtRep
	households []e2eHousehold
}

// vtConfig tunes a test server for voting: no background scheduler (the
// tests step the timeline themselves) and room for 56 logins, invite codes
// and receipt checks from one IP (and for staff checking every receipt).
func vtConfig(cfg *Config) *Config {
	cfg.Scheduler.Interval = 0
	cfg.Security.LoginsPerIPMin = 100000
	// Every test voter binds and checks receipts from 127.0.0.1.
	cfg.Security.InviteTriesPerIPHour, cfg.Security.ReceiptChecksPerIPHour, cfg.Security.ReceiptChecksPerUserHour = 0, 0, 0
	return cfg
}

func vtSetup(t *testing.T, s *e2eServer) *vtEnv {
	t.Helper()
	env := &vtEnv{s: s, yard: 1, byHouse: map[int64]vtRep{}}
	env.staff = s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	env.households = s.courtyardHouseholds(t, env.staff, env.yard)
	for i, inv := range e2eDemoInvites(t, s.cfg.DataDir) {
		h, ok := e2eFind(env.households, inv.Building, inv.Unit, inv.Room)
		if !ok {
			t.Fatalf("invite for unknown household %+v", inv)
		}
		tok := s.wechatLogin(t, e2eCode(fmt.Sprintf("rep%d", i)))
		r := s.call(t, "POST", "/api/v1/me/households", tok.AccessToken, map[string]string{"invite_code": inv.Code})
		e2eWant(t, r, http.StatusCreated)
		rep := vtRep{token: tok.AccessToken, userID: tok.User.ID, householdID: h.ID}
		env.reps = append(env.reps, rep)
		env.byHouse[h.ID] = rep
	}
	return env
}

// electorate builds the motion's electorate independently of the server's
// snapshot code: areas as listed, owners grouped by name.
func (env *vtEnv) electorate(t *testing.T) []voting.Voter {
	t.Helper()
	byOwner := map[string]int64{}
	var out []voting.Voter
	for _, h := range env.households {
		a, err := louyuan.ParseArea(h.Area)
		if err != nil {
			t.Fatal(err)
		}
		group := h.ID
		for _, o := range h.Owners {
			if g, ok := byOwner[o]; ok && g < group {
				group = g
			}
		}
		for _, o := range h.Owners {
			if _, ok := byOwner[o]; !ok {
				byOwner[o] = group
			}
		}
		out = append(out, voting.Voter{HouseholdID: h.ID, Group: group, Area: a})
	}
	return out
}

type vtMotion struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	Passed *bool  `json:"passed"`
}

// openMotion creates, publishes and opens a motion that closes after
// closeIn.
func (env *vtEnv) openMotion(t *testing.T, body map[string]any, closeIn time.Duration) vtMotion {
	t.Helper()
	s := env.s
	opens := time.Now().Add(1 * time.Second)
	body["opens_at"], body["closes_at"] = opens, opens.Add(closeIn)
	for k, v := range map[string]any{"scope_type": "courtyard", "title": "加装电梯表决", "ballot_mode": "named", "notice_days": 0, "objection_days": 0} {
		if _, ok := body[k]; !ok {
			body[k] = v
		}
	}
	r := s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/motions", env.yard), env.staff, body)
	e2eWant(t, r, http.StatusCreated)
	var m vtMotion
	r.decode(t, &m)
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/publish", m.ID), env.staff, nil), http.StatusOK)
	e2eWantError(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/open", m.ID), env.staff, nil), http.StatusConflict, "not_yet_open")
	time.Sleep(time.Until(opens))
	r = s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/open", m.ID), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	r.decode(t, &m)
	if m.Status != "voting" {
		t.Fatalf("motion not voting after open: %s", r)
	}
	return m
}

type vtTally struct {
	Electorate struct {
		Households int    `json:"households"`
		Heads      int64  `json:"heads"`
		Area       string `json:"area"`
	} `json:"electorate"`
	Voted struct {
		Households int    `json:"households"`
		Heads      int64  `json:"heads"`
		Area       string `json:"area"`
	} `json:"voted"`
	Options []struct {
		Key        string `json:"key"`
		Households int    `json:"households"`
		Heads      string `json:"heads"`
		Area       string `json:"area"`
	} `json:"options"`
	Passed bool `json:"passed"`
}

func (env *vtEnv) tally(t *testing.T, motionID int64, token string) (vtMotion, vtTally) {
	t.Helper()
	r := env.s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d", motionID), token, nil)
	e2eWant(t, r, http.StatusOK)
	var out struct {
		Motion vtMotion `json:"motion"`
		Tally  vtTally  `json:"tally"`
	}
	r.decode(t, &out)
	return out.Motion, out.Tally
}

// sameAsModel compares an API tally with the count of the model's votes.
func sameAsModel(t *testing.T, what string, got vtTally, want voting.Tally) {
	t.Helper()
	var problems []string
	check := func(name string, g, w any) {
		if fmt.Sprint(g) != fmt.Sprint(w) {
			problems = append(problems, fmt.Sprintf("%s: got %v, want %v", name, g, w))
		}
	}
	check("electorate households", got.Electorate.Households, want.ElectorateHouses)
	check("electorate heads", got.Electorate.Heads, want.ElectorateHeads)
	check("electorate area", got.Electorate.Area, want.ElectorateArea.String())
	check("voted households", got.Voted.Households, want.VotedHouses)
	check("voted heads", got.Voted.Heads, want.VotedHeads)
	check("voted area", got.Voted.Area, want.VotedArea.String())
	check("passed", got.Passed, want.Passed)
	if len(got.Options) != len(want.Options) {
		problems = append(problems, fmt.Sprintf("options: got %d, want %d", len(got.Options), len(want.Options)))
	} else {
		for i, o := range want.Options {
			g := got.Options[i]
			check(o.Option+" households", g.Households, o.Households)
			check(o.Option+" heads", g.Heads, o.Head.RatString())
			check(o.Option+" area", g.Area, o.Area.String())
		}
	}
	if len(problems) > 0 {
		t.Errorf("%s differs from the model:\n  %s", what, strings.Join(problems, "\n  "))
	}
}

// uploadPhoto stores a small PNG as a file of the purpose and returns its
// key; a paper_sheet lists households.
func (env *vtEnv) uploadPhoto(t *testing.T, token, purpose string, households ...int64) string {
	t.Helper()
	var img bytes.Buffer
	_ = png.Encode(&img, image.NewGray(image.Rect(0, 0, 40, 30)))
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("purpose", purpose)
	_ = w.WriteField("courtyard_id", fmt.Sprint(env.yard))
	for _, h := range households {
		_ = w.WriteField("household_ids", fmt.Sprint(h))
	}
	fw, _ := w.CreateFormFile("file", "photo.png")
	_, _ = fw.Write(img.Bytes())
	_ = w.Close()
	r := env.s.callWith(t, "POST", "/api/v1/files", token, body.Bytes(), http.Header{"Content-Type": {w.FormDataContentType()}})
	e2eWant(t, r, http.StatusCreated)
	var meta struct {
		Key string `json:"key"`
	}
	r.decode(t, &meta)
	return meta.Key
}

// vtModel is the reference model of one motion's counted ballots and
// delegations, kept by the test from the rules of SPEC §4–5 alone.
type vtModel struct {
	choice  map[int64]string // household → counted option ("" none)
	channel map[int64]string
	byDeleg map[int64]int64 // household → delegation whose proxy ballot is counted
	deleg   map[int64]*vtDelegation
	load    map[int64]int // proxy user → delegations in play
}

type vtDelegation struct {
	id, household, proxy int64
	proxyToken           string
	status               string
}

func (m *vtModel) votes() []voting.Vote {
	var out []voting.Vote
	for h, o := range m.choice {
		if o != "" {
			out = append(out, voting.Vote{HouseholdID: h, Options: []string{o}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].HouseholdID < out[j].HouseholdID })
	return out
}

// TestVotingReferenceModel replays random casts, re-votes, paper ballots,
// delegations, proxy ballots and revocations through the real API on
// MariaDB and Redis, and checks after every step that the server accepted
// exactly what the rules allow, and at the end that the live tally, the
// final tally at the close and a count from scratch agree exactly.
func TestVotingReferenceModel(t *testing.T) {
	dsn := testenv.MySQL(t)
	rds := testenv.Redis(t)
	cfg := vtConfig(e2eProductionConfig(t, dsn, "redis://"+testenv.RedisAddr(), rds.Prefix, e2eNewSecrets(t)))
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)
	electorate := env.electorate(t)
	// One photo is evidence for one household, or for the households of a
	// sheet that lists them: here a sheet of the whole courtyard.
	var everyone []int64
	for _, h := range env.households {
		everyone = append(everyone, h.ID)
	}
	photo := env.uploadPhoto(t, env.staff, "paper_sheet", everyone...)
	const closeIn = 25 * time.Second
	m := env.openMotion(t, map[string]any{"rule": "major"}, closeIn)
	closesAt := time.Now().Add(closeIn)

	rng := rand.New(rand.NewPCG(2026, 11))
	model := &vtModel{choice: map[int64]string{}, channel: map[int64]string{}, byDeleg: map[int64]int64{}, deleg: map[int64]*vtDelegation{}, load: map[int64]int{}}
	options := []string{voting.OptionAgree, voting.OptionOppose, voting.OptionAbstain}
	path := func(p string) string { return fmt.Sprintf("/api/v1/motions/%d%s", m.ID, p) }
	ok2xx := func(r e2eResponse) bool { return r.Status >= 200 && r.Status < 300 }

	steps := 0
	for time.Until(closesAt) > 4*time.Second && steps < 220 {
		steps++
		rep := env.reps[rng.IntN(len(env.reps))]
		h := rep.householdID
		opt := options[rng.IntN(len(options))]
		switch op := rng.IntN(10); {
		case op < 4: // own ballot (or re-vote): always allowed, replaces anything
			r := s.call(t, "POST", path("/ballots"), rep.token, map[string]any{"household_id": h, "options": []string{opt}})
			e2eWant(t, r, http.StatusCreated)
			model.choice[h], model.channel[h] = opt, voting.ChannelSelf
			delete(model.byDeleg, h)
		case op == 4: // paper ballot entered by staff
			r := s.call(t, "POST", path("/paper-ballots"), env.staff, map[string]any{"household_id": h, "options": []string{opt}, "photo": photo})
			e2eWant(t, r, http.StatusCreated)
			model.choice[h], model.channel[h] = opt, voting.ChannelPaper
			delete(model.byDeleg, h)
		case op < 7: // delegate to another representative, who accepts
			proxy := env.reps[rng.IntN(len(env.reps))]
			if proxy.userID == rep.userID {
				continue
			}
			r := s.call(t, "POST", "/api/v1/delegations", rep.token, map[string]any{"household_id": h, "proxy_user_id": proxy.userID, "motion_id": m.ID})
			d := model.deleg[h]
			wantOK := (d == nil || d.status == "revoked") && model.load[proxy.userID] < 1
			if ok2xx(r) != wantOK {
				t.Fatalf("step %d: delegation allowed=%v, model says %v: %s", steps, ok2xx(r), wantOK, r)
			}
			if !wantOK {
				continue
			}
			var got struct {
				ID int64 `json:"id"`
			}
			r.decode(t, &got)
			e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/accept", got.ID), proxy.token, map[string]any{"accept": true}), http.StatusOK)
			model.deleg[h] = &vtDelegation{id: got.ID, household: h, proxy: proxy.userID, proxyToken: proxy.token, status: "active"}
			model.load[proxy.userID]++
		case op < 9: // the proxy casts
			d := model.deleg[h]
			if d == nil || d.status != "active" {
				continue
			}
			r := s.call(t, "POST", path("/proxy-ballots"), d.proxyToken, map[string]any{"household_ids": []int64{h}, "options": []string{opt}})
			e2eWant(t, r, http.StatusOK)
			var out struct {
				Results []struct {
					Receipt *struct{} `json:"receipt"`
					Error   *struct {
						Code string `json:"code"`
					} `json:"error"`
				} `json:"results"`
			}
			r.decode(t, &out)
			wantOK := model.channel[h] != voting.ChannelSelf && model.channel[h] != voting.ChannelPaper
			if (out.Results[0].Receipt != nil) != wantOK {
				t.Fatalf("step %d: proxy ballot accepted=%v, model says %v: %s", steps, out.Results[0].Receipt != nil, wantOK, r)
			}
			if !wantOK && out.Results[0].Error.Code != "household_voted_itself" {
				t.Fatalf("step %d: refused proxy ballot with %s", steps, r)
			}
			if wantOK {
				model.choice[h], model.channel[h], model.byDeleg[h] = opt, voting.ChannelProxy, d.id
			}
		default: // the household revokes its delegation
			d := model.deleg[h]
			if d == nil || d.status != "active" {
				continue
			}
			e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/revoke", d.id), rep.token, nil), http.StatusOK)
			d.status = "revoked"
			model.load[d.proxy]--
			if model.channel[h] == voting.ChannelProxy && model.byDeleg[h] == d.id {
				model.choice[h], model.channel[h] = "", ""
				delete(model.byDeleg, h)
			}
		}
	}
	if steps < 50 {
		t.Fatalf("only %d steps ran before the close", steps)
	}
	want := voting.Count(voting.MajorRule(), electorate, options, model.votes())
	_, live := env.tally(t, m.ID, env.staff)
	sameAsModel(t, "live tally", live, want)

	// Close at the closing time; the stored result must be the same count.
	time.Sleep(time.Until(closesAt) + 200*time.Millisecond)
	e2eWantError(t, s.call(t, "POST", path("/ballots"), env.reps[0].token, map[string]any{"household_id": env.reps[0].householdID, "options": []string{"agree"}}),
		http.StatusConflict, "voting_closed")
	r := s.call(t, "POST", path("/close"), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	closed, final := env.tally(t, m.ID, env.staff)
	if closed.Status != "objection" || closed.Passed == nil || *closed.Passed != want.Passed {
		t.Errorf("after the close: %+v, want objection with passed=%v", closed, want.Passed)
	}
	sameAsModel(t, "final tally", final, want)
	t.Logf("%d steps; %d households voted; passed=%v", steps, want.VotedHouses, want.Passed)
}

// TestVotingRaces sends 64 concurrent ballots for one household, its own
// and its proxy's mixed: exactly one ballot is counted, the household's own
// ballot wins, and every receipt tells the truth.
func TestVotingRaces(t *testing.T) {
	dsn := testenv.MySQL(t)
	rds := testenv.Redis(t)
	cfg := vtConfig(e2eProductionConfig(t, dsn, "redis://"+testenv.RedisAddr(), rds.Prefix, e2eNewSecrets(t)))
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)
	m := env.openMotion(t, map[string]any{"rule": "ordinary"}, time.Hour)
	rep, proxy := env.reps[0], env.reps[1]
	h := rep.householdID
	r := s.call(t, "POST", "/api/v1/delegations", rep.token, map[string]any{"household_id": h, "proxy_user_id": proxy.userID, "motion_id": m.ID})
	e2eWant(t, r, http.StatusCreated)
	var d struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &d)
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/accept", d.ID), proxy.token, map[string]any{"accept": true}), http.StatusOK)

	var (
		mu       sync.Mutex
		receipts []string
		ownOK    int
		wg       sync.WaitGroup
	)
	options := []string{"agree", "oppose", "abstain"}
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			opt := options[i%3]
			if i%2 == 0 {
				r := s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/ballots", m.ID), rep.token, map[string]any{"household_id": h, "options": []string{opt}})
				if r.Status != http.StatusCreated {
					t.Errorf("own ballot refused: %s", r)
					return
				}
				var rc struct {
					Receipt string `json:"receipt"`
				}
				r.decode(t, &rc)
				mu.Lock()
				receipts, ownOK = append(receipts, rc.Receipt), ownOK+1
				mu.Unlock()
				return
			}
			r := s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/proxy-ballots", m.ID), proxy.token, map[string]any{"household_ids": []int64{h}, "options": []string{opt}})
			if r.Status != http.StatusOK {
				t.Errorf("proxy ballot call failed: %s", r)
				return
			}
			var out struct {
				Results []struct {
					Receipt *struct {
						Receipt string `json:"receipt"`
					} `json:"receipt"`
				} `json:"results"`
			}
			r.decode(t, &out)
			if rc := out.Results[0].Receipt; rc != nil {
				mu.Lock()
				receipts = append(receipts, rc.Receipt)
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if ownOK != 32 {
		t.Fatalf("%d of 32 own ballots accepted", ownOK)
	}
	counted := 0
	for _, rc := range receipts {
		r := s.call(t, "GET", "/api/v1/receipts/"+rc, rep.token, nil)
		e2eWant(t, r, http.StatusOK)
		var check struct {
			Counted  bool   `json:"counted"`
			Replaced bool   `json:"replaced"`
			Channel  string `json:"channel"`
		}
		r.decode(t, &check)
		if check.Counted == check.Replaced {
			t.Errorf("receipt %s: counted=%v replaced=%v", rc, check.Counted, check.Replaced)
		}
		if check.Counted {
			counted++
			if check.Channel != voting.ChannelSelf {
				t.Errorf("the counted ballot came from %s; the household's own ballot must win", check.Channel)
			}
		}
	}
	if counted != 1 {
		t.Fatalf("%d counted ballots among %d receipts, want exactly 1", counted, len(receipts))
	}
	_, tl := env.tally(t, m.ID, env.staff)
	sum := 0
	for _, o := range tl.Options {
		sum += o.Households
	}
	if tl.Voted.Households != 1 || sum != 1 {
		t.Fatalf("tally after the race: voted %d, options sum %d; want 1 and 1", tl.Voted.Households, sum)
	}

	// The whole courtyard at once, on two motions, each household voting
	// and re-voting: ballots arriving together share transactions, and the
	// live tally and the audit chains must still come out exactly as if
	// they had come one by one.
	electorate := env.electorate(t)
	ms := []vtMotion{env.openMotion(t, map[string]any{"rule": "ordinary"}, time.Hour), env.openMotion(t, map[string]any{"rule": "ordinary"}, time.Hour)}
	final := make([]map[int64]string, len(ms))
	for i := range final {
		final[i] = map[int64]string{}
	}
	for _, rep := range env.reps {
		for i, mo := range ms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				first, last := options[int(rep.householdID+int64(i))%3], options[int(rep.householdID*7+int64(i))%3]
				for _, opt := range []string{first, last} {
					r := s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/ballots", mo.ID), rep.token, map[string]any{"household_id": rep.householdID, "options": []string{opt}})
					if r.Status != http.StatusCreated {
						t.Errorf("household %d on motion %d: %s", rep.householdID, mo.ID, r)
						return
					}
				}
				mu.Lock()
				final[i][rep.householdID] = last
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	for i, mo := range ms {
		var votes []voting.Vote
		for h, o := range final[i] {
			votes = append(votes, voting.Vote{HouseholdID: h, Options: []string{o}})
		}
		sort.Slice(votes, func(a, b int) bool { return votes[a].HouseholdID < votes[b].HouseholdID })
		want := voting.Count(voting.OrdinaryRule(), electorate, options, votes)
		_, live := env.tally(t, mo.ID, env.staff)
		sameAsModel(t, fmt.Sprintf("live tally of motion %d", mo.ID), live, want)
	}
	e2eRunEnv(t, cfg, false)
	if out, err := e2eRun("audit", "verify"); err != nil || !strings.Contains(out, "audit log intact") {
		t.Fatalf("audit verify after the batched ballots: %v %q", err, out)
	}
	// The batches show on /metrics: as many ballots as were cast, in
	// fewer batches than ballots.
	var batches, ballots float64
	for _, line := range strings.Split(s.metrics(t), "\n") {
		fmt.Sscanf(line, "louyuan_ballot_batch_size_count %g", &batches)
		fmt.Sscanf(line, "louyuan_ballot_batch_size_sum %g", &ballots)
	}
	if cast := float64(32 + 2*2*len(env.reps)); ballots < cast || batches == 0 || batches >= ballots {
		t.Errorf("metrics: %v ballots in %v batches; at least %v ballots were cast, and some together", ballots, batches, cast)
	}
}

// TestVotingAuthorisation checks who may not vote or delegate.
func TestVotingAuthorisation(t *testing.T) {
	s := e2eStart(t, vtConfig(e2eEmbeddedConfig(t)))
	env := vtSetup(t, s)
	m := env.openMotion(t, map[string]any{"rule": "ordinary"}, time.Hour)
	ballots := fmt.Sprintf("/api/v1/motions/%d/ballots", m.ID)
	a, b, c := env.reps[0], env.reps[1], env.reps[2]

	// A tenant of household a: bound, but can never vote.
	r := s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/invites?format=json", env.yard), env.staff, map[string]any{"household_ids": []int64{a.householdID}, "role": "tenant"})
	e2eWant(t, r, http.StatusCreated)
	tenant := s.wechatLogin(t, e2eCode("tenant"))
	e2eWant(t, s.call(t, "POST", "/api/v1/me/households", tenant.AccessToken, map[string]string{"invite_code": e2eInviteCodes(t, r)[0]}), http.StatusCreated)
	e2eWantError(t, s.call(t, "POST", ballots, tenant.AccessToken, map[string]any{"household_id": a.householdID, "options": []string{"agree"}}), http.StatusForbidden, "not_representative")

	// Another household's representative.
	e2eWantError(t, s.call(t, "POST", ballots, b.token, map[string]any{"household_id": a.householdID, "options": []string{"agree"}}), http.StatusForbidden, "not_representative")
	// Bad options.
	e2eWantError(t, s.call(t, "POST", ballots, a.token, map[string]any{"household_id": a.householdID, "options": []string{"maybe"}}), http.StatusBadRequest, "bad_option")
	e2eWantError(t, s.call(t, "POST", ballots, a.token, map[string]any{"household_id": a.householdID, "options": []string{"agree", "oppose"}}), http.StatusBadRequest, "one_option")

	// A delegates to B; B cannot pass it on to C (no chains); C over the cap.
	r = s.call(t, "POST", "/api/v1/delegations", a.token, map[string]any{"household_id": a.householdID, "proxy_user_id": b.userID, "motion_id": m.ID})
	e2eWant(t, r, http.StatusCreated)
	var d struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &d)
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/accept", d.ID), b.token, map[string]any{"accept": true}), http.StatusOK)
	e2eWantError(t, s.call(t, "POST", "/api/v1/delegations", b.token, map[string]any{"household_id": a.householdID, "proxy_user_id": c.userID, "motion_id": m.ID}),
		http.StatusForbidden, "delegation_chain")
	e2eWantError(t, s.call(t, "POST", "/api/v1/delegations", c.token, map[string]any{"household_id": c.householdID, "proxy_user_id": b.userID, "motion_id": m.ID}),
		http.StatusConflict, "proxy_cap_reached")
	// C, holding no delegation of A, cannot cast for A.
	r = s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/proxy-ballots", m.ID), c.token, map[string]any{"household_ids": []int64{a.householdID}, "options": []string{"agree"}})
	e2eWant(t, r, http.StatusOK)
	if !bytes.Contains(r.Body, []byte(`"no_delegation"`)) {
		t.Errorf("a proxy without the delegation was not refused: %s", r)
	}
	// A blanket delegation cannot end in the past, and one that has
	// expired no longer lets its proxy vote.
	r = s.call(t, "POST", "/api/v1/delegations", c.token, map[string]any{"household_id": c.householdID, "proxy_user_id": a.userID, "until": time.Now().Add(-time.Hour)})
	e2eWantError(t, r, http.StatusBadRequest, "bad_until")
	until := time.Now().Add(2 * time.Second)
	r = s.call(t, "POST", "/api/v1/delegations", c.token, map[string]any{"household_id": c.householdID, "proxy_user_id": a.userID, "until": until})
	e2eWant(t, r, http.StatusCreated)
	r.decode(t, &d)
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/accept", d.ID), a.token, map[string]any{"accept": true}), http.StatusOK)
	time.Sleep(time.Until(until) + 100*time.Millisecond)
	r = s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/proxy-ballots", m.ID), a.token, map[string]any{"household_ids": []int64{c.householdID}, "options": []string{"agree"}})
	e2eWant(t, r, http.StatusOK)
	if !bytes.Contains(r.Body, []byte(`"delegation_expired"`)) {
		t.Errorf("an expired delegation was not refused: %s", r)
	}
	// The expired delegation no longer blocks the household or the proxy.
	e2eWant(t, s.call(t, "POST", "/api/v1/delegations", c.token, map[string]any{"household_id": c.householdID, "proxy_user_id": a.userID, "motion_id": m.ID}),
		http.StatusCreated)

	// Residents and council of nothing here may not see the turnout list.
	e2eWantError(t, s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d/turnout", m.ID), a.token, nil), http.StatusForbidden, "not_in_scope")

	// A motion of one unit (1号楼1单元, unit 1 of the fresh demo): the
	// representative of a household elsewhere is not in its electorate.
	um := env.openMotion(t, map[string]any{"rule": "ordinary", "scope_type": "unit", "scope_id": 1, "subject": "1单元楼道改造"}, time.Hour)
	var outside vtRep
	for _, h := range env.households {
		if h.Building+h.Unit != "1号楼1单元" {
			outside = env.byHouse[h.ID]
			break
		}
	}
	e2eWantError(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/ballots", um.ID), outside.token,
		map[string]any{"household_id": outside.householdID, "options": []string{"agree"}}), http.StatusForbidden, "not_in_electorate")

	// Secret mode: turnout shows who voted, never what.
	sm := env.openMotion(t, map[string]any{"rule": "ordinary", "ballot_mode": "secret", "subject": "秘密表决"}, time.Hour)
	e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/ballots", sm.ID), a.token, map[string]any{"household_id": a.householdID, "options": []string{"oppose"}}), http.StatusCreated)
	r = s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d/turnout", sm.ID), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	if bytes.Contains(r.Body, []byte("oppose")) || !bytes.Contains(r.Body, []byte(`"voted":true`)) {
		t.Errorf("secret turnout must show participation but no choice: %s", r)
	}
}

// TestProxySettings: a courtyard that requires the signed authorisation
// and allows two delegations per proxy, set and used through the API.
func TestProxySettings(t *testing.T) {
	s := e2eStart(t, vtConfig(e2eEmbeddedConfig(t)))
	env := vtSetup(t, s)
	a, b, c := env.reps[0], env.reps[1], env.reps[2]
	e2eWantError(t, s.call(t, "PUT", "/api/v1/courtyards/1/settings", a.token, map[string]any{"max_delegations_per_proxy": 2, "proxy_photo_required": true}),
		http.StatusForbidden, "not_in_scope")
	e2eWantError(t, s.call(t, "PUT", "/api/v1/courtyards/1/settings", env.staff, map[string]any{"max_delegations_per_proxy": 0, "proxy_photo_required": true}),
		http.StatusBadRequest, "invalid_field")
	e2eWantError(t, s.call(t, "PUT", "/api/v1/courtyards/1/settings", env.staff, map[string]any{"max_delegations_per_proxy": 99, "proxy_photo_required": true}),
		http.StatusBadRequest, "bad_proxy_cap")
	e2eWant(t, s.call(t, "PUT", "/api/v1/courtyards/1/settings", env.staff, map[string]any{"max_delegations_per_proxy": 2, "proxy_photo_required": true}), http.StatusOK)

	m := env.openMotion(t, map[string]any{"rule": "ordinary"}, time.Hour)
	type delegation struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	delegate := func(from vtRep) delegation {
		r := s.call(t, "POST", "/api/v1/delegations", from.token, map[string]any{"household_id": from.householdID, "proxy_user_id": b.userID, "motion_id": m.ID})
		e2eWant(t, r, http.StatusCreated)
		var d delegation
		r.decode(t, &d)
		r = s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/accept", d.ID), b.token, map[string]any{"accept": true})
		e2eWant(t, r, http.StatusOK)
		r.decode(t, &d)
		return d
	}
	da, dc := delegate(a), delegate(c) // a cap of 2: both allowed
	if da.Status != "accepted" || dc.Status != "accepted" {
		t.Fatalf("with a photo required, accepted delegations wait for the council: %+v %+v", da, dc)
	}
	proxyCast := func(h int64) e2eResponse {
		return s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/proxy-ballots", m.ID), b.token, map[string]any{"household_ids": []int64{h}, "options": []string{"agree"}})
	}
	if r := proxyCast(a.householdID); !bytes.Contains(r.Body, []byte(`"no_delegation"`)) {
		t.Fatalf("an unconfirmed delegation let the proxy vote: %s", r)
	}
	chair := s.wechatLogin(t, e2eCode("lizhang")).AccessToken
	e2eWantError(t, s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/confirm", da.ID), chair, map[string]any{"photo": "proxy_authorisation-missing.png"}),
		http.StatusBadRequest, "photo_required")
	r := env.uploadFile(t, chair, "proxy_authorisation", pngBytes(800, 600))
	e2eWant(t, r, http.StatusCreated)
	var photo struct {
		Key string `json:"key"`
	}
	r.decode(t, &photo)
	r = s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/confirm", da.ID), chair, map[string]any{"photo": photo.Key})
	e2eWant(t, r, http.StatusOK)
	if r := proxyCast(a.householdID); !bytes.Contains(r.Body, []byte(`"receipt"`)) {
		t.Fatalf("a confirmed delegation did not let the proxy vote: %s", r)
	}

	// Both households in one call (one transaction): each its own result,
	// in the order given; a household twice is refused as a whole.
	r = s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/proxy-ballots", m.ID), b.token,
		map[string]any{"household_ids": []int64{c.householdID, a.householdID}, "options": []string{"oppose"}})
	e2eWant(t, r, http.StatusOK)
	var out struct {
		Results []struct {
			HouseholdID int64           `json:"household_id"`
			Receipt     json.RawMessage `json:"receipt"`
			Error       *struct {
				Code string `json:"code"`
			} `json:"error"`
		} `json:"results"`
	}
	r.decode(t, &out)
	if len(out.Results) != 2 || out.Results[0].HouseholdID != c.householdID || out.Results[0].Error == nil || out.Results[0].Error.Code != "no_delegation" ||
		out.Results[1].HouseholdID != a.householdID || out.Results[1].Receipt == nil {
		t.Fatalf("proxy ballots for two households: %s", r)
	}
	_, tl := env.tally(t, m.ID, env.staff)
	for _, o := range tl.Options {
		if want := map[string]int{"agree": 0, "oppose": 1}[o.Key]; o.Households != want {
			t.Errorf("after the proxy's re-vote %s has %d households, want %d", o.Key, o.Households, want)
		}
	}
	e2eWantError(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/proxy-ballots", m.ID), b.token,
		map[string]any{"household_ids": []int64{a.householdID, a.householdID}, "options": []string{"agree"}}), http.StatusBadRequest, "duplicate_households")
}
