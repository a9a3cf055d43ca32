package main

// TestSecretBallotStaysSecret plays the strongest staff member against
// secret ballots: everything the API and the exports give, during voting
// and after the close, is collected and handed to a solver that tries to
// tie households to options — from the differences between successive live
// answers, and from the published per-option figures by exhaustive
// exchange search (the subset-sum attack: any exchange of choices between
// households that keeps every published figure shows that neither choice
// is determined). It measures how many households' choices the published
// figures determine beyond what the per-option head counts alone determine
// (unanimity); it must be 0.

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/big"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// skOption is one option of a tally as an attacker reads it: whatever
// figures the answer carries.
type skOption struct {
	Key        string  `json:"key"`
	Households *int    `json:"households"`
	Heads      *string `json:"heads"`
	Area       *string `json:"area"`
	AreaShare  *struct {
		From          string `json:"from"`
		FromInclusive bool   `json:"from_inclusive"`
		To            string `json:"to"`
		ToInclusive   bool   `json:"to_inclusive"`
	} `json:"area_share"`
}

type skTally struct {
	Voted struct {
		Households int    `json:"households"`
		Area       string `json:"area"`
	} `json:"voted"`
	Options []skOption `json:"options"`
	Passed  *bool      `json:"passed"`
}

type skDetail struct {
	Motion struct {
		Status string `json:"status"`
	} `json:"motion"`
	Tally skTally `json:"tally"`
}

// skVoter is a household as the attacker knows it from the household list.
type skVoter struct {
	id     int64
	area   louyuan.Area
	group  int64
	weight *big.Rat // its share of its owner's one head among the owner's voters
	choice string   // the truth (sorted option keys joined by ","), for measuring
}

// skBallot is one ballot of a scenario.
type skBallot struct {
	household int64
	options   []string
	how       string // "self", "paper", "proxy"
}

// skScenario is a secret motion and its ballots in order.
type skScenario struct {
	name    string
	body    map[string]any
	ballots []skBallot
}

func TestSecretBallotStaysSecret(t *testing.T) {
	s := e2eStart(t, vtConfig(e2eEmbeddedConfig(t)))
	env := vtSetup(t, s)

	// Real buildings: every flat of a stack has the same area (the demo's
	// layout); a few flats were measured differently (odd areas).
	rows := [][]any{e2eRosterHeader}
	odd := map[string]string{"1号楼1单元301": "48.37", "2号楼1单元502": "131.06", "1号楼2单元602": "96.72", "2号楼2单元101": "57.19"}
	for _, h := range env.households {
		if a, ok := odd[h.label()]; ok {
			rows = append(rows, []any{h.Building, h.Unit, h.Room, h.Floor, a, strings.Join(h.Owners, "、")})
		}
	}
	r := s.call(t, "POST", "/api/v1/courtyards/1/roster", env.staff, e2eMultipart{Field: "file", FileName: "名册.xlsx", Data: e2eXLSX(t, rows)})
	e2eWant(t, r, http.StatusOK)
	env.households = s.courtyardHouseholds(t, env.staff, env.yard)
	electorate := env.electorate(t)
	areaOf, groupOf := map[int64]louyuan.Area{}, map[int64]int64{}
	for _, v := range electorate {
		areaOf[v.HouseholdID], groupOf[v.HouseholdID] = v.Area, v.Group
	}

	// Too few households for a secret ballot: refused, saying why.
	opens := time.Now().Add(time.Hour)
	r = s.call(t, "POST", "/api/v1/courtyards/1/motions", env.staff, map[string]any{"scope_type": "unit", "scope_id": 1, "title": "1单元楼道改造",
		"rule": "ordinary", "ballot_mode": "secret", "notice_days": 0, "objection_days": 0, "opens_at": opens, "closes_at": opens.Add(time.Hour)})
	if e := e2eWantError(t, r, http.StatusBadRequest, "secret_electorate_too_small"); !strings.Contains(e.Error.Message, "20") {
		t.Errorf("the refusal does not say the minimum: %s", r)
	}

	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(scope func(e2eHousehold) bool, n int) []int64 {
		var ids []int64
		for _, h := range env.households {
			if scope(h) {
				ids = append(ids, h.ID)
			}
		}
		rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		return ids[:n]
	}
	decide := func(weights [3]int) []string {
		x := rng.IntN(weights[0] + weights[1] + weights[2])
		switch {
		case x < weights[0]:
			return []string{"agree"}
		case x < weights[0]+weights[1]:
			return []string{"oppose"}
		}
		return []string{"abstain"}
	}
	decision := func(ids []int64, weights [3]int, revotes, paper, proxy int) []skBallot {
		var bs []skBallot
		for i, h := range ids {
			how := "self"
			switch {
			case i < paper:
				how = "paper"
			case i < paper+proxy:
				how = "proxy"
			}
			bs = append(bs, skBallot{household: h, options: decide(weights), how: how})
		}
		for i := 0; i < revotes; i++ { // change of mind, by the household itself
			h := ids[paper+proxy+rng.IntN(len(ids)-paper-proxy)]
			bs = append(bs, skBallot{household: h, options: decide([3]int{1, 1, 1}), how: "self"})
		}
		return bs
	}
	all := func(e2eHousehold) bool { return true }
	building1 := func(h e2eHousehold) bool { return h.Building == "1号楼" }

	scenarios := []skScenario{
		{"courtyard, ordinary, 34 voters", map[string]any{"rule": "ordinary", "subject": "更换楼院大门"},
			decision(pick(all, 34), [3]int{6, 3, 1}, 4, 2, 1)},
		{"building 1, major, 22 of 28", map[string]any{"rule": "major", "scope_type": "building", "scope_id": 1, "subject": "1号楼加装电梯"},
			decision(pick(building1, 22), [3]int{8, 2, 1}, 3, 1, 0)},
		{"courtyard, major, 40 voters, close call", map[string]any{"rule": "major", "subject": "使用维修资金"},
			decision(pick(all, 40), [3]int{3, 1, 0}, 2, 0, 1)},
	}
	// An election: up to two of four candidates on each ballot.
	var election []skBallot
	for _, h := range pick(all, 26) {
		c := []string{"c1", "c2", "c3", "c4"}
		rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
		election = append(election, skBallot{household: h, options: c[:1+rng.IntN(2)], how: "self"})
	}
	scenarios = append(scenarios, skScenario{"election, 2 of 4, 26 voters", map[string]any{"rule": "election", "seats": 2,
		"candidates": []string{"张桂芳", "李建国", "王秀英", "赵德明"}, "subject": "第二届理事会选举"}, election})

	// All four motions are open at once and played in parallel; each is
	// closed when its voting period ends.
	const closeIn = 60 * time.Second
	motions := make([]vtMotion, len(scenarios))
	for i, sc := range scenarios {
		sc.body["ballot_mode"] = "secret"
		motions[i] = env.openMotion(t, sc.body, closeIn)
	}
	closesAt := time.Now().Add(closeIn)
	var mu sync.Mutex
	usedProxies := map[int64]bool{}
	var unsealWant voting.Tally
	t.Run("attack", func(t *testing.T) {
		// Subtests run at once from their own goroutines (t.Parallel would
		// hold all but GOMAXPROCS of them back past the close).
		var wg sync.WaitGroup
		defer wg.Wait()
		for i, sc := range scenarios {
			m := motions[i]
			wg.Go(func() {
				t.Run(sc.name, func(t *testing.T) {
					truth := playSecret(t, env, m.ID, sc, i, &mu, usedProxies)
					for {
						r := s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/close", m.ID), env.staff, nil)
						if r.Status == http.StatusOK {
							break
						}
						e2eWantError(t, r, http.StatusConflict, "not_yet_closed")
						if time.Now().After(closesAt.Add(30 * time.Second)) {
							t.Fatalf("the motion did not close: %s", r)
						}
						time.Sleep(time.Until(closesAt) + 200*time.Millisecond)
					}
					final := skRead(t, env, m.ID)
					if final.Motion.Status != "objection" && final.Motion.Status != "final" {
						t.Fatalf("motion not closed: %s", final.Motion.Status)
					}
					checkSecretExports(t, env, m.ID, true)

					voters := voterSet(t, env, m.ID)
					var vs []skVoter
					perGroup := map[int64]int64{}
					for _, h := range voters {
						perGroup[groupOf[h]]++
					}
					for _, h := range voters {
						vs = append(vs, skVoter{id: h, area: areaOf[h], group: groupOf[h], weight: big.NewRat(1, perGroup[groupOf[h]]), choice: truth[h]})
					}
					published := skConstraints(t, final.Tally, vs)
					headsOnly := skConstraints(t, skTally{Options: headsOf(final.Tally.Options)}, vs)
					determined, baseline := skDetermined(vs, published), skDetermined(vs, headsOnly)
					extra := 0
					for h := range determined {
						if !baseline[h] {
							extra++
						}
					}
					t.Logf("%d voters: %d determined by what is published, %d by the head counts alone", len(vs), len(determined), len(baseline))
					if extra != 0 {
						t.Errorf("the published figures determine %d households' choices beyond the head counts alone (want 0)", extra)
					}

					// The heads and the outcome are what the law needs to see
					// the decision, and they are right.
					var votes []voting.Vote
					for h, c := range truth {
						votes = append(votes, voting.Vote{HouseholdID: h, Options: strings.Split(c, ",")})
					}
					var scope []voting.Voter
					for _, v := range electorate {
						if sc.body["scope_type"] != "building" || slices.ContainsFunc(env.households, func(h e2eHousehold) bool { return h.ID == v.HouseholdID && h.Building == "1号楼" }) {
							scope = append(scope, v)
						}
					}
					rule := map[any]voting.Rule{"ordinary": voting.OrdinaryRule(), "major": voting.MajorRule(), "election": voting.ElectionRule(2)}[sc.body["rule"]]
					keys := []string{"agree", "oppose", "abstain"}
					if rule.Kind == voting.RuleElection {
						keys = []string{"c1", "c2", "c3", "c4"}
					}
					want := voting.Count(rule, scope, keys, votes)
					if final.Tally.Passed == nil || *final.Tally.Passed != want.Passed {
						t.Errorf("passed = %v, the count says %v", final.Tally.Passed, want.Passed)
					}
					for j, o := range want.Options {
						if got := final.Tally.Options[j]; got.Heads == nil || *got.Heads != o.Head.RatString() {
							t.Errorf("%s heads = %v, want %s", o.Option, got.Heads, o.Head.RatString())
						}
					}
					if i == 0 {
						unsealWant = want
					}
				})
			})
		}
	})

	// The exact figures stay sealed for a court: the operator command
	// reads them, and says so in the audit log.
	e2eRunEnv(t, s.cfg, true)
	if _, err := e2eRun("motion", "unseal", "-motion", fmt.Sprint(motions[0].ID)); err == nil {
		t.Error("unseal without a reason was accepted")
	}
	out, err := e2eRun("motion", "unseal", "-motion", fmt.Sprint(motions[0].ID), "-reason", "（2026）豫0181民初1234号", "-by", "张法官")
	if err != nil {
		t.Fatalf("unseal: %v\n%s", err, out)
	}
	for _, o := range unsealWant.Options {
		line := regexp.MustCompile(`(?m)^option ` + o.Option + `\s+(\d+)\s+(\S+)\s+(\S+)`).FindStringSubmatch(out)
		if line == nil || line[1] != fmt.Sprint(o.Households) || line[2] != o.Head.RatString() || line[3] != o.Area.String() {
			t.Errorf("unseal shows %q for %s, want %d households, %s heads, %s m²\n%s", line, o.Option, o.Households, o.Head.RatString(), o.Area, out)
		}
	}
	if !strings.Contains(out, "recount matches the stored result: true") {
		t.Errorf("unseal did not confirm the recount:\n%s", out)
	}
	if out, err := e2eRun("audit", "verify"); err != nil || !strings.Contains(out, "audit log intact") {
		t.Errorf("audit verify after unseal: %v\n%s", err, out)
	}
	if !skAudited(t, s, "tally.unseal", "张法官") {
		t.Error("the unseal is not in the audit log")
	}
}

// playSecret casts a scenario's ballots one by one and reads, after each,
// everything a staff member can: the live tally, the turnout, the exports,
// the reconciliation and the receipts. It returns each household's final
// choice.
func playSecret(t *testing.T, env *vtEnv, motionID int64, sc skScenario, seed int, mu *sync.Mutex, usedProxies map[int64]bool) map[int64]string {
	s := env.s
	truth := map[int64]string{}
	prev, prevBody := skReadBody(t, env, motionID)
	if prev.Tally.Options != nil {
		t.Errorf("a secret ballot's live tally shows options before anyone voted")
	}
	voted := map[int64]bool{}
	links := 0
	proxies := map[int64]vtRep{} // household → its proxy
	for i, b := range sc.ballots {
		rep := env.byHouse[b.household]
		var receipt string
		switch b.how {
		case "self":
			r := s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/ballots", motionID), rep.token, map[string]any{"household_id": b.household, "options": b.options})
			e2eWant(t, r, http.StatusCreated)
			receipt = skReceipt(t, r)
			skCheckReceipt(t, env, receipt, rep.token, "the household")
		case "paper":
			photo := skPhoto(t, env, seed*1000+i)
			r := s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/paper-ballots", motionID), env.staff,
				map[string]any{"household_id": b.household, "options": b.options, "photo": photo})
			e2eWant(t, r, http.StatusCreated)
			receipt = skReceipt(t, r)
			skCheckReceipt(t, env, receipt, env.staff, "the staff who entered it")
			// The photo shows the choice: sealed, even for who uploaded it.
			e2eWantError(t, s.call(t, "GET", "/api/v1/files/"+photo, env.staff, nil), http.StatusForbidden, "ballot_photo_sealed")
		case "proxy":
			proxy := proxies[b.household]
			if proxy.token == "" {
				mu.Lock()
				for _, other := range env.reps {
					if other.householdID != b.household && !usedProxies[other.userID] &&
						!slices.ContainsFunc(sc.ballots, func(x skBallot) bool { return x.household == other.householdID }) {
						proxy = other
						usedProxies[other.userID] = true
						break
					}
				}
				mu.Unlock()
				r := s.call(t, "POST", "/api/v1/delegations", rep.token, map[string]any{"household_id": b.household, "proxy_user_id": proxy.userID, "motion_id": motionID})
				e2eWant(t, r, http.StatusCreated)
				var d struct {
					ID int64 `json:"id"`
				}
				r.decode(t, &d)
				e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/delegations/%d/accept", d.ID), proxy.token, map[string]any{"accept": true}), http.StatusOK)
				proxies[b.household] = proxy
			}
			r := s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/proxy-ballots", motionID), proxy.token, map[string]any{"household_ids": []int64{b.household}, "options": b.options})
			e2eWant(t, r, http.StatusOK)
			if bytes.Contains(r.Body, []byte(`"options"`)) {
				t.Errorf("the proxy's answer carries options: %s", r)
			}
		}
		c := append([]string(nil), b.options...)
		sort.Strings(c)
		truth[b.household] = strings.Join(c, ",")

		cur, body := skReadBody(t, env, motionID)
		newVoter := !voted[b.household]
		voted[b.household] = true
		if cur.Tally.Options != nil {
			t.Errorf("ballot %d: the live tally of an open secret ballot shows options: %+v", i, cur.Tally.Options)
		}
		if cur.Tally.Passed != nil {
			t.Errorf("ballot %d: the live tally of an open secret ballot says whether it passes", i)
		}
		// The difference between successive answers: a new voter shows in
		// the turnout anyway; if any per-option figure moved with it, the
		// household that just voted is tied to its option.
		if newVoter && !sameOptions(prev.Tally.Options, cur.Tally.Options) {
			links++
		}
		// A change of mind discloses nothing: the answer is the same, byte
		// for byte, as before it.
		if !newVoter && !bytes.Equal(prevBody, body) {
			t.Errorf("ballot %d (a household changing its choice) changed the live answer:\n before %s\n after  %s", i, prevBody, body)
		}
		prev, prevBody = cur, body
		if i%7 == 0 {
			checkSecretExports(t, env, motionID, false)
		}
	}
	if links != 0 {
		t.Errorf("%d households were tied to their option by the change of the live tally when they voted", links)
	}
	// A household that voted on paper and electronically: the
	// reconciliation says whether they differ, never what they are.
	for _, b := range sc.ballots {
		if b.how != "paper" {
			continue
		}
		rep := env.byHouse[b.household]
		r := s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/ballots", motionID), rep.token, map[string]any{"household_id": b.household, "options": b.options})
		e2eWant(t, r, http.StatusCreated)
		r = s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d/reconciliation", motionID), env.staff, nil)
		e2eWant(t, r, http.StatusOK)
		for _, leak := range []string{`"options"`, `"paper_file"`, `"agree"`, `"oppose"`, `"abstain"`, `"c1"`} {
			if bytes.Contains(r.Body, []byte(leak)) {
				t.Errorf("the reconciliation of a secret ballot carries %s: %s", leak, r)
			}
		}
		break
	}
	// Turnout shows who took part, never what.
	r := s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d/turnout", motionID), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	if bytes.Contains(r.Body, []byte(`"options"`)) {
		t.Errorf("the turnout of a secret ballot carries options: %s", r)
	}
	return truth
}

func sameOptions(a, b []skOption) bool { return reflect.DeepEqual(a, b) }

func skRead(t *testing.T, env *vtEnv, motionID int64) skDetail {
	d, _ := skReadBody(t, env, motionID)
	return d
}

// skReadBody is the live answer, decoded and as the bytes of its tally,
// read after the per-instance cache (250 ms) has let go of the last one.
func skReadBody(t *testing.T, env *vtEnv, motionID int64) (skDetail, []byte) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	r := env.s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d", motionID), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	var d skDetail
	r.decode(t, &d)
	i := bytes.Index(r.Body, []byte(`"tally"`))
	if i < 0 {
		t.Fatalf("no tally in %s", r)
	}
	return d, r.Body[i:]
}

func skReceipt(t *testing.T, r e2eResponse) string {
	t.Helper()
	var rc struct {
		Receipt string `json:"receipt"`
	}
	r.decode(t, &rc)
	if rc.Receipt == "" {
		t.Fatalf("no receipt in %s", r)
	}
	return rc.Receipt
}

// skCheckReceipt checks a receipt as whoever holds it: it says the ballot
// counts, never the choice.
func skCheckReceipt(t *testing.T, env *vtEnv, receipt, token, who string) {
	t.Helper()
	r := env.s.call(t, "GET", "/api/v1/receipts/"+receipt, token, nil)
	e2eWant(t, r, http.StatusOK)
	if bytes.Contains(r.Body, []byte(`"options"`)) || !bytes.Contains(r.Body, []byte(`"counted":true`)) {
		t.Errorf("a secret ballot's receipt checked by %s: %s", who, r)
	}
}

// skPhoto uploads a distinct photo of a signed paper ballot.
func skPhoto(t *testing.T, env *vtEnv, n int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40+n%50, 30+n/50%50))
	img.Set(n%40, 0, color.RGBA{R: uint8(n), G: uint8(n >> 8), B: 1, A: 255})
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("purpose", "paper_ballot")
	_ = w.WriteField("courtyard_id", fmt.Sprint(env.yard))
	fw, _ := w.CreateFormFile("file", "ballot.png")
	_, _ = fw.Write(buf.Bytes())
	_ = w.Close()
	r := env.s.callWith(t, "POST", "/api/v1/files", env.staff, body.Bytes(), http.Header{"Content-Type": {w.FormDataContentType()}})
	e2eWant(t, r, http.StatusCreated)
	var meta struct {
		Key string `json:"key"`
	}
	r.decode(t, &meta)
	return meta.Key
}

// checkSecretExports reads the results exports: while voting they hold
// participation only; after the close, per option the heads and for the
// agreeing option the area as a band, nothing exact, never a household.
func checkSecretExports(t *testing.T, env *vtEnv, motionID int64, closed bool) {
	t.Helper()
	r := env.s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d/results.csv", motionID), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	for _, line := range strings.Split(string(r.Body), "\r\n") {
		f := strings.Split(line, ",")
		if len(f) < 6 || (f[0] != "选项" && f[0] != "候选人") {
			continue
		}
		if !closed {
			t.Errorf("the export of an open secret ballot has an option line: %q", line)
			continue
		}
		if f[2] != "" || (f[5] != "" && !strings.HasPrefix(f[5], "占参与表决面积")) {
			t.Errorf("the export of a closed secret ballot has exact per-option figures: %q", line)
		}
	}
	if !closed && bytes.Contains(r.Body, []byte("同意：专有面积占参与表决")) && regexp.MustCompile(`同意：[^\r\n]*,(是|否),`).Match(r.Body) {
		t.Errorf("the export of an open secret ballot says whether approval holds:\n%s", r.Body)
	}
	r = env.s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d/results.xlsx", motionID), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
}

// voterSet is the households the turnout says voted.
func voterSet(t *testing.T, env *vtEnv, motionID int64) []int64 {
	t.Helper()
	r := env.s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d/turnout", motionID), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	var out struct {
		Units []struct {
			List []struct {
				HouseholdID int64 `json:"household_id"`
				Voted       bool  `json:"voted"`
			} `json:"list"`
		} `json:"units"`
	}
	r.decode(t, &out)
	var ids []int64
	for _, u := range out.Units {
		for _, h := range u.List {
			if h.Voted {
				ids = append(ids, h.HouseholdID)
			}
		}
	}
	return ids
}

func headsOf(os []skOption) []skOption {
	out := make([]skOption, len(os))
	for i, o := range os {
		out[i] = skOption{Key: o.Key, Heads: o.Heads}
	}
	return out
}

// skConstraint is what the published figures say, as a test of an
// assignment of choices to voters. Exchanges of choices between voters of
// equal head weight keep the per-option heads and households, so what
// remains to check is the area.
type skConstraint func(choices []string) bool

func skConstraints(t *testing.T, tally skTally, vs []skVoter) skConstraint {
	t.Helper()
	var voted louyuan.Area
	for _, v := range vs {
		voted += v.area
	}
	var checks []skConstraint
	for _, o := range tally.Options {
		key := o.Key
		sumOf := func(choices []string) louyuan.Area {
			var a louyuan.Area
			for i, c := range choices {
				if slices.Contains(strings.Split(c, ","), key) {
					a += vs[i].area
				}
			}
			return a
		}
		if o.Area != nil {
			want, err := louyuan.ParseArea(*o.Area)
			if err != nil && *o.Area != "0.00" {
				t.Fatalf("area %q: %v", *o.Area, err)
			}
			checks = append(checks, func(c []string) bool { return sumOf(c) == want })
		}
		if b := o.AreaShare; b != nil {
			from, _ := new(big.Rat).SetString(b.From)
			to, _ := new(big.Rat).SetString(b.To)
			fromIncl, toIncl := b.FromInclusive, b.ToInclusive
			checks = append(checks, func(c []string) bool {
				share := big.NewRat(int64(sumOf(c)), int64(voted))
				lo, hi := share.Cmp(from), share.Cmp(to)
				return (lo > 0 || lo == 0 && fromIncl) && (hi < 0 || hi == 0 && toIncl)
			})
		}
	}
	return func(c []string) bool {
		for _, check := range checks {
			if !check(c) {
				return false
			}
		}
		return true
	}
}

// skDetermined returns the voters whose choice is the same in every
// assignment consistent with the constraint that the search reaches:
// exchanges of choices between two voters, or rotations among three, of
// equal head weight. (Such exchanges keep every per-option head count and
// household count; a voter with no consistent exchange is reported as
// determined, which can only overstate what is given away.)
func skDetermined(vs []skVoter, ok skConstraint) map[int64]bool {
	truth := make([]string, len(vs))
	for i, v := range vs {
		truth[i] = v.choice
	}
	free := make([]bool, len(vs))
	try := func(c []string, idx ...int) {
		if ok(c) {
			for _, i := range idx {
				if c[i] != truth[i] {
					free[i] = true
				}
			}
		}
	}
	c := append([]string(nil), truth...)
	n := len(vs)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if truth[i] == truth[j] || vs[i].weight.Cmp(vs[j].weight) != 0 || free[i] && free[j] {
				continue
			}
			c[i], c[j] = truth[j], truth[i]
			try(c, i, j)
			c[i], c[j] = truth[i], truth[j]
		}
	}
	for i := 0; i < n; i++ {
		if free[i] {
			continue
		}
		for j := 0; j < n && !free[i]; j++ {
			for k := 0; k < n && !free[i]; k++ {
				if i == j || j == k || i == k || vs[i].weight.Cmp(vs[j].weight) != 0 || vs[j].weight.Cmp(vs[k].weight) != 0 {
					continue
				}
				if truth[i] == truth[j] && truth[j] == truth[k] {
					continue
				}
				c[i], c[j], c[k] = truth[j], truth[k], truth[i]
				try(c, i, j, k)
				c[i], c[j], c[k] = truth[i], truth[j], truth[k]
			}
		}
	}
	out := map[int64]bool{}
	for i, v := range vs {
		if !free[i] {
			out[v.id] = true
		}
	}
	return out
}

// skAudited looks for an audit entry of action by actor in the server's
// database.
func skAudited(t *testing.T, s *e2eServer, action, actor string) bool {
	t.Helper()
	a, err := openStores(t.Context(), s.cfg, e2eLogger(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var n int64
	if err := a.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM audit_log WHERE action = ? AND actor LIKE ?", action, "%"+actor).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestSecretSolverSeesExactAreas checks the solver itself: exact
// per-option areas (what a secret ballot's tally gave before it was
// sealed) tie a household of an odd area to its choice; the band does not.
func TestSecretSolverSeesExactAreas(t *testing.T) {
	var vs []skVoter
	areas := []louyuan.Area{8520, 8520, 8520, 8520, 9000, 9000, 9000, 4837}
	choices := []string{"agree", "oppose", "agree", "agree", "agree", "oppose", "agree", "oppose"}
	var agreeArea, opposeArea louyuan.Area
	for i, a := range areas {
		vs = append(vs, skVoter{id: int64(i + 1), area: a, group: int64(i + 1), weight: big.NewRat(1, 1), choice: choices[i]})
		if choices[i] == "agree" {
			agreeArea += a
		} else {
			opposeArea += a
		}
	}
	heads := func(n string) *string { return &n }
	exact := func(a louyuan.Area) *string { s := a.String(); return &s }
	published := skTally{Options: []skOption{{Key: "agree", Heads: heads("5"), Area: exact(agreeArea)}, {Key: "oppose", Heads: heads("3"), Area: exact(opposeArea)}}}
	if d := skDetermined(vs, skConstraints(t, published, vs)); !d[8] {
		t.Errorf("exact areas: the odd household 8 is not found determined (%v)", d)
	}
	banded := skTally{Options: []skOption{{Key: "agree", Heads: heads("5")}, {Key: "oppose", Heads: heads("3")}}}
	banded.Options[0].AreaShare = &struct {
		From          string `json:"from"`
		FromInclusive bool   `json:"from_inclusive"`
		To            string `json:"to"`
		ToInclusive   bool   `json:"to_inclusive"`
	}{"1/2", false, "1", true}
	if d := skDetermined(vs, skConstraints(t, banded, vs)); len(d) != 0 {
		t.Errorf("the band determines %v", d)
	}
}
