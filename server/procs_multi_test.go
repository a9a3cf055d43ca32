package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/notice"
	"github.com/louyuan/louyuan/internal/sqlstore"
	"github.com/louyuan/louyuan/internal/testenv"
	"github.com/louyuan/louyuan/internal/voting"
)

// prAcked is one acknowledged (2xx) change and what the database must hold
// for it.
type prAcked struct {
	what      string // "ballot", "signature", "notice.send"
	household int64
	requestID string
	receipt   string
}

// prLedger collects what the servers acknowledged, from many goroutines.
type prLedger struct {
	mu    sync.Mutex
	acked []prAcked
	other map[string]int // "<what> <status>" → count of answers that were not 2xx
}

func (l *prLedger) add(a prAcked) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked = append(l.acked, a)
}

func (l *prLedger) refuse(what string, a prAnswer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.other == nil {
		l.other = map[string]int{}
	}
	key := fmt.Sprintf("%s %d", what, a.Status)
	if a.Err != nil {
		key = what + " transport-error"
	} else {
		var e e2eErrorBody
		_ = json.Unmarshal(a.Body, &e)
		key += " " + e.Error.Code
	}
	l.other[key]++
}

func (l *prLedger) count(what string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.acked {
		if a.what == what {
			n++
		}
	}
	return n
}

// ballot casts one household's ballot through p and records the answer.
func (l *prLedger) ballot(p *prProc, motion int64, rep vtRep, option string) prAnswer {
	a := p.try("POST", fmt.Sprintf("/api/v1/motions/%d/ballots", motion), rep.token, map[string]any{"household_id": rep.householdID, "options": []string{option}})
	if a.ok() {
		var out struct {
			Receipt string `json:"receipt"`
		}
		_ = json.Unmarshal(a.Body, &out)
		l.add(prAcked{what: "ballot", household: rep.householdID, requestID: a.RequestID, receipt: out.Receipt})
	} else {
		l.refuse("ballot", a)
	}
	return a
}

// sign signs the petition for one household through p.
func (l *prLedger) sign(p *prProc, petition int64, rep vtRep) prAnswer {
	a := p.try("POST", fmt.Sprintf("/api/v1/petitions/%d/signatures", petition), rep.token, map[string]any{"household_id": rep.householdID, "real_name": "王春芬"})
	if a.ok() {
		l.add(prAcked{what: "signature", household: rep.householdID, requestID: a.RequestID})
	} else {
		l.refuse("signature", a)
	}
	return a
}

// checkAcked holds the database to every acknowledged change: its audit
// entry (found by the request ID the test sent) and its row.
func (l *prLedger) checkAcked(t *testing.T, db *sqlstore.DB, motion, petition int64) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	set := func(q string, args ...any) map[string]bool {
		var vals []string
		if err := db.Raw(q, args...).Scan(&vals).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		m := make(map[string]bool, len(vals))
		for _, v := range vals {
			m[v] = true
		}
		return m
	}
	audited := set("SELECT request_id FROM audit_log WHERE request_id LIKE 'pr-%'")
	receipts := set("SELECT CONCAT(receipt, ':', household_id) FROM ballots WHERE motion_id = ?", motion)
	signed := set("SELECT CAST(household_id AS CHAR) FROM signatures WHERE petition_id = ?", petition)
	missing := 0
	for _, a := range l.acked {
		if !audited[a.requestID] {
			missing++
			if missing < 5 {
				t.Errorf("acknowledged %s of household %d (request %s) has no audit entry", a.what, a.household, a.requestID)
			}
		}
		switch a.what {
		case "ballot":
			if !receipts[fmt.Sprintf("%s:%d", a.receipt, a.household)] {
				missing++
				t.Errorf("acknowledged ballot %q of household %d is not in the ballot history", a.receipt, a.household)
			}
		case "signature":
			if !signed[fmt.Sprint(a.household)] {
				missing++
				t.Errorf("acknowledged signature of household %d is not in the database", a.household)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d acknowledged changes missing from the database", missing)
	}
}

// prFromScratch counts the motion from the counted_ballots table with the
// frozen electorate, independently of the server's live tally.
func prFromScratch(t *testing.T, db *sqlstore.DB, env *vtEnv, motion int64) voting.Tally {
	t.Helper()
	var rows []struct {
		HouseholdID int64
		Choice      string
	}
	if err := db.Raw("SELECT household_id, choice FROM counted_ballots WHERE motion_id = ? ORDER BY household_id", motion).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var votes []voting.Vote
	for _, r := range rows {
		var opts []string
		if err := json.Unmarshal([]byte(r.Choice), &opts); err != nil {
			opts = strings.Split(strings.Trim(r.Choice, "[]\""), ",")
		}
		votes = append(votes, voting.Vote{HouseholdID: r.HouseholdID, Options: opts})
	}
	return voting.Count(voting.OrdinaryRule(), env.electorate(t), []string{voting.OptionAgree, voting.OptionOppose, voting.OptionAbstain}, votes)
}

// prCheckTally compares the live tally (GET through p) with a count from
// scratch of the counted ballots.
func prCheckTally(t *testing.T, p *prProc, db *sqlstore.DB, env *vtEnv, motion int64, what string) vtTally {
	t.Helper()
	r := p.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d", motion), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	var out struct {
		Tally vtTally `json:"tally"`
	}
	r.decode(t, &out)
	sameAsModel(t, what, out.Tally, prFromScratch(t, db, env, motion))
	return out.Tally
}

// prCheckOnePerHousehold: the database's own constraints hold (one counted
// ballot and one signature per household), and no half-written ballot: every
// counted ballot points at a history row of the same household.
func prCheckOnePerHousehold(t *testing.T, db *sqlstore.DB, motion, petition int64) {
	t.Helper()
	if n := prCount(t, db, "SELECT COUNT(*) FROM (SELECT household_id FROM counted_ballots WHERE motion_id = ? GROUP BY household_id HAVING COUNT(*) > 1) x", motion); n != 0 {
		t.Errorf("%d households with more than one counted ballot", n)
	}
	if n := prCount(t, db, `SELECT COUNT(*) FROM counted_ballots c LEFT JOIN ballots b ON b.id = c.ballot_id
		WHERE c.motion_id = ? AND (b.id IS NULL OR b.household_id <> c.household_id OR b.motion_id <> c.motion_id)`, motion); n != 0 {
		t.Errorf("%d counted ballots without their history row", n)
	}
	if petition > 0 {
		if n := prCount(t, db, "SELECT COUNT(*) FROM (SELECT household_id FROM signatures WHERE petition_id = ? GROUP BY household_id HAVING COUNT(*) > 1) x", petition); n != 0 {
			t.Errorf("%d households with more than one signature", n)
		}
	}
}

// prCheckOneMessage: every recipient got at most (exactly, when exact)
// one message of the template.
func prCheckOneMessage(t *testing.T, d *prDeployment, kind string, openids []string, exact bool) {
	t.Helper()
	got := prSentPerUser(d.Fake, prTemplate(kind))
	want := map[string]bool{}
	for _, o := range openids {
		want[o] = true
		if got[o] > 1 || exact && got[o] != 1 {
			t.Errorf("%s: recipient %s got %d messages, want exactly 1", kind, o, got[o])
		}
	}
	for o, n := range got {
		if !want[o] {
			t.Errorf("%s: %d messages to %s, who is not a recipient", kind, n, o)
		}
	}
}

// prWaitSent waits until every openid has a message of the template.
func prWaitSent(t *testing.T, d *prDeployment, kind string, openids []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := prSentPerUser(d.Fake, prTemplate(kind))
		missing := 0
		for _, o := range openids {
			if got[o] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d recipients without a message after %s", kind, missing, len(openids), within)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// openids are the fake WeChat openids of the representatives prSetup
// logged in (handles prrep0…).
func prOpenIDs(d *prDeployment, n int, skip func(i int) bool) []string {
	var out []string
	for i := range n {
		if skip == nil || !skip(i) {
			out = append(out, d.Fake.User(fmt.Sprintf("prrep%d", i)).OpenID)
		}
	}
	return out
}

func prCreatePetition(t *testing.T, p *prProc, staff string) int64 {
	t.Helper()
	r := p.call(t, "POST", "/api/v1/courtyards/1/petitions", staff, map[string]any{"scope_type": "courtyard", "title": "加装电梯征求意见",
		"body": "为方便老人上下楼，拟加装电梯。", "deadline": time.Now().Add(24 * time.Hour), "target_households": map[string]any{"num": 2, "den": 3}})
	e2eWant(t, r, http.StatusCreated)
	var pt ptPetition
	r.decode(t, &pt)
	e2eWant(t, p.call(t, "POST", fmt.Sprintf("/api/v1/petitions/%d/publish", pt.ID), staff, nil), http.StatusOK)
	return pt.ID
}

func prCreateNotice(t *testing.T, p *prProc, staff, title string) int64 {
	t.Helper()
	id, status := ntCreate(t, p.e2eServer, staff, []map[string]any{{"scope_type": "courtyard", "scope_id": 1}}, title, "因管道检修，本周六8:00至12:00停水。")
	if status != "draft" {
		t.Fatalf("notice %d is %q after the content check, want draft", id, status)
	}
	return id
}

// TestProcsTwoInstances runs two server processes on one fresh MariaDB
// database and one Redis prefix, with the fake WeChat API in the test
// process, and splits a voting evening across them: every representative
// votes twice at once (once through each instance), signs the petition
// twice at once, and a notice fans out while the motion's scheduled jobs
// (open, reminder, close, result) run on both instances. Exactly one
// counted ballot and one signature per household, one message per
// recipient and kind, one access token fetch per refresh, each job once.
func TestProcsTwoInstances(t *testing.T) {
	t.Parallel()
	dsn := testenv.MySQL(t)
	rds := testenv.Redis(t)
	d := prNewDeployment(t, dsn, "redis://"+testenv.RedisAddr(), rds.Prefix)
	d.Extra["LOUYUAN_NOTICES_REMINDER_BEFORE"] = "14s"
	a := d.start(t, "A", true)
	b := d.start(t, "B", true) // a seeded database: B's demo flag does nothing
	procs := []*prProc{a, b}
	kinds := []string{notice.KindNotice, notice.KindMotionOpened, notice.KindMotionReminder, notice.KindMotionResult}
	env := prSetup(t, procs, kinds...)
	db := prOpenDB(t, dsn)
	n := len(env.reps)
	if n != 56 {
		t.Fatalf("%d representatives, want 56", n)
	}
	// Households 50–55 never vote: they get the reminder.
	const voters = 50

	motion, _, closes := prMotion(t, a, env.staff, "ordinary", 2*time.Second, 32*time.Second)
	petition := prCreatePetition(t, b, env.staff)
	noticeID := prCreateNotice(t, a, env.staff, "本周六停水通知")
	prWaitStatus(t, b, env.staff, motion, 30*time.Second, "voting")

	// The load: two ballots per voting household at once, one through each
	// instance, a third (a change of mind) afterwards; two signatures per
	// household at once; the notice sent halfway.
	led := &prLedger{}
	options := []string{voting.OptionAgree, voting.OptionOppose, voting.OptionAbstain}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	go1 := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); sem <- struct{}{}; defer func() { <-sem }(); f() }()
	}
	for i, rep := range env.reps {
		if i == n/2 {
			go1(func() { ntSend(t, b.e2eServer, env.staff, noticeID) })
		}
		go1(func() { led.sign(a, petition, rep) })
		go1(func() { led.sign(b, petition, rep) })
		if i >= voters {
			continue
		}
		go1(func() { led.ballot(a, motion, rep, options[i%3]) })
		go1(func() { led.ballot(b, motion, rep, options[(i+1)%3]) })
	}
	wg.Wait()
	for i, rep := range env.reps[:voters] {
		if i%5 == 0 {
			if ans := led.ballot(procs[i%2], motion, rep, options[(i+2)%3]); !ans.ok() {
				t.Errorf("re-vote of household %d: %s", rep.householdID, ans)
			}
		}
	}
	t.Logf("acknowledged: %d ballots, %d signatures; refused: %v", led.count("ballot"), led.count("signature"), led.other)
	if got := led.count("signature"); got != n {
		t.Errorf("%d signatures acknowledged for %d households (two tries each at once), want exactly one each", got, n)
	}
	for k := range led.other {
		if !strings.HasPrefix(k, "signature 409") {
			t.Errorf("unexpected refusals: %v", led.other)
			break
		}
	}
	if got := prCount(t, db, "SELECT COUNT(*) FROM counted_ballots WHERE motion_id = ?", motion); got != voters {
		t.Errorf("%d counted ballots, want %d (one per voting household)", got, voters)
	}
	if got := prCount(t, db, "SELECT COUNT(*) FROM ballots WHERE motion_id = ?", motion); got != int64(led.count("ballot")) {
		t.Errorf("%d ballots in the history, %d acknowledged", got, led.count("ballot"))
	}
	if got := prCount(t, db, "SELECT COUNT(*) FROM signatures WHERE petition_id = ?", petition); got != int64(n) {
		t.Errorf("%d signatures, want %d", got, n)
	}
	prCheckOnePerHousehold(t, db, motion, petition)
	prCheckTally(t, a, db, env, motion, "live tally through A")
	prCheckTally(t, b, db, env, motion, "live tally through B")

	// The access token expires halfway through the notice: one refresh,
	// whichever instance meets the rejection first.
	before := d.Fake.TokensIssued()
	d.Fake.ExpireTokens()
	all := prOpenIDs(d, n, nil)
	prWaitSent(t, d, notice.KindNotice, all, 60*time.Second)
	prWaitSent(t, d, notice.KindMotionOpened, all, 60*time.Second)

	// The scheduler closes the motion on both instances; the reminder went
	// out before, to the households that had not voted.
	time.Sleep(time.Until(closes))
	prWaitStatus(t, a, env.staff, motion, 60*time.Second, "objection", "final")
	nonVoters := prOpenIDs(d, n, func(i int) bool { return i < voters })
	prWaitSent(t, d, notice.KindMotionResult, all, 60*time.Second)
	prWaitSent(t, d, notice.KindMotionReminder, nonVoters, 30*time.Second)
	time.Sleep(1500 * time.Millisecond) // a doubled send would have shown by now (both sweepers ran)
	prCheckOneMessage(t, d, notice.KindNotice, all, true)
	prCheckOneMessage(t, d, notice.KindMotionOpened, all, true)
	prCheckOneMessage(t, d, notice.KindMotionResult, all, true)
	prCheckOneMessage(t, d, notice.KindMotionReminder, nonVoters, true)
	if after := d.Fake.TokensIssued(); after-before != 1 {
		t.Errorf("access tokens fetched after one expiry: %d, want 1 (issued before: %d)", after-before, before)
	}
	if before != 1 {
		t.Errorf("access tokens fetched by two instances before the expiry: %d, want 1", before)
	}

	// Each scheduled step ran once, on one instance.
	for action, want := range map[string]int64{"motion.open": 1, "motion.close": 1} {
		if got := prCount(t, db, "SELECT COUNT(*) FROM audit_log WHERE action = ? AND object = ?", action, fmt.Sprintf("motion:%d", motion)); got != want {
			t.Errorf("%d audit entries %s for the motion, want %d", got, action, want)
		}
	}
	for _, kind := range []string{notice.KindMotionOpened, notice.KindMotionReminder, notice.KindMotionResult} {
		if got := prCount(t, db, "SELECT COUNT(*) FROM notices WHERE kind = ?", kind); got != 1 {
			t.Errorf("%d notices of kind %s, want 1", got, kind)
		}
	}
	// The sweepers of both instances left nothing behind and sent nothing twice.
	if got := prCount(t, db, "SELECT COUNT(*) FROM notice_deliveries WHERE state NOT IN ('sent')"); got != 0 {
		var states []struct {
			State string
			N     int64
		}
		db.Raw("SELECT state, COUNT(*) AS n FROM notice_deliveries GROUP BY state").Scan(&states)
		t.Errorf("deliveries not sent: %+v", states)
	}
	if sent, audited := prCount(t, db, "SELECT COUNT(*) FROM notice_deliveries WHERE state = 'sent'"),
		prCount(t, db, "SELECT COUNT(*) FROM audit_log WHERE action = 'delivery.sent'"); sent != audited {
		t.Errorf("%d deliveries sent, %d delivery.sent audit entries", sent, audited)
	}
	// The final count agrees with a count from scratch.
	final := prCheckTally(t, b, db, env, motion, "final tally")
	if final.Voted.Households != voters {
		t.Errorf("final tally counts %d households, want %d", final.Voted.Households, voters)
	}
	led.checkAcked(t, db, motion, petition)
	a.auditVerify()
	// Sorted for a stable log line.
	var keys []string
	for k, v := range led.other {
		keys = append(keys, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(keys)
	t.Logf("two instances: %d ballots, %d signatures, refusals %v; %d messages", led.count("ballot"), led.count("signature"), keys, len(d.Fake.Sent()))
}
