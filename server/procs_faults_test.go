package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/notice"
	"github.com/louyuan/louyuan/internal/sqlstore"
	"github.com/louyuan/louyuan/internal/testenv"
	"github.com/louyuan/louyuan/internal/voting"
	"github.com/louyuan/louyuan/internal/wechat/wechatfake"
)

// prLoadGen keeps voting (and signing, once each) through the instances
// until stopped: workers take households in turn, each ballot through the
// next instance.
type prLoadGen struct {
	once    sync.Once
	led     *prLedger
	stop    chan struct{}
	done    sync.WaitGroup
	n       atomic.Int64
	answers func(p *prProc, a prAnswer) // every answer, for checks of the test's own
}

func prStartLoad(t *testing.T, env *vtEnv, procs func() []*prProc, led *prLedger, motion, petition int64, workers int, answers func(*prProc, prAnswer)) *prLoadGen {
	g := &prLoadGen{led: led, stop: make(chan struct{}), answers: answers}
	t.Cleanup(g.finish) // before the instances stop
	options := []string{voting.OptionAgree, voting.OptionOppose, voting.OptionAbstain}
	signed := make([]atomic.Bool, len(env.reps))
	for w := range workers {
		g.done.Add(1)
		go func() {
			defer g.done.Done()
			for k := w; ; k += workers {
				select {
				case <-g.stop:
					return
				default:
				}
				i := k % len(env.reps)
				rep := env.reps[i]
				ps := procs()
				p := ps[(k/len(env.reps)+i)%len(ps)]
				var a prAnswer
				if petition > 0 && !signed[i].Load() && k/len(env.reps)%2 == 1 {
					a = led.sign(p, petition, rep)
					if a.ok() || a.Status == http.StatusConflict {
						signed[i].Store(true)
					}
				} else {
					a = led.ballot(p, motion, rep, options[(k/len(env.reps)+i)%3])
				}
				g.n.Add(1)
				if g.answers != nil {
					g.answers(p, a)
				}
				if a.Err != nil || a.Status >= 500 {
					time.Sleep(20 * time.Millisecond) // an instance down: do not spin
				}
			}
		}()
	}
	return g
}

func (g *prLoadGen) finish() {
	g.once.Do(func() {
		close(g.stop)
		g.done.Wait()
	})
}

// prWaitTally waits until the live tally equals a count from scratch of
// the counted ballots (the scheduler repairs a live tally that missed a
// ballot whose instance died between the commit and the Redis update).
func prWaitTally(t *testing.T, p *prProc, db *sqlstore.DB, env *vtEnv, motion int64, within time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	start := time.Now()
	for {
		r := p.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d", motion), env.staff, nil)
		e2eWant(t, r, http.StatusOK)
		var out struct {
			Tally vtTally `json:"tally"`
		}
		r.decode(t, &out)
		if prTallyDiff(out.Tally, prFromScratch(t, db, env, motion)) == "" {
			t.Logf("%s equals a count from scratch (after %s)", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			sameAsModel(t, what, out.Tally, prFromScratch(t, db, env, motion))
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestProcsKill9 kills one of two instances with SIGKILL in the middle of
// voting, signing and a 400-recipient notice, and starts it again: every
// acknowledged ballot and signature is in the database with its audit
// entry, nothing is half-written, the live tally equals a count from
// scratch, the deliveries the dead instance had queued go out after the
// restart, and nobody gets a message twice.
func TestProcsKill9(t *testing.T) {
	t.Parallel()
	dsn := testenv.MySQL(t)
	rds := testenv.Redis(t)
	d := prNewDeployment(t, dsn, "redis://"+testenv.RedisAddr(), rds.Prefix)
	d.Extra["LOUYUAN_NOTICES_LEASE"], d.Extra["LOUYUAN_NOTICES_REQUEUE_AFTER"] = "6s", "3s"
	// A sends the notices; B only answers requests (and queues the notice).
	a := d.start(t, "A", true, "LOUYUAN_NOTICES_WORKERS=4")
	b := d.start(t, "B", true, "LOUYUAN_NOTICES_WORKERS=0")
	began0 := time.Now()
	env := prSetup(t, []*prProc{a, b}, notice.KindNotice)
	t.Logf("setup took %s", time.Since(began0))
	db := prOpenDB(t, dsn)
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	phase("set up")
	motion, _, _ := prMotion(t, a, env.staff, "ordinary", 2*time.Second, time.Hour)
	petition := prCreatePetition(t, b, env.staff)
	prWaitStatus(t, b, env.staff, motion, 30*time.Second, "voting")
	// 400 more recipients of the notice, outside the motion's electorate
	// (frozen at the opening).
	bulkCfg := defaultConfig()
	bulkCfg.Database.DSN = dsn
	bulk := ntBulk(t, bulkCfg, d.Fake, 400, prTemplate(notice.KindNotice))
	recipients := append(prOpenIDs(d, len(env.reps), nil), bulk...)
	noticeID := prCreateNotice(t, b, env.staff, "电梯加装说明会")
	phase("voting open")

	d.Fake.SetLatency("/cgi-bin/message/subscribe/send", 25*time.Millisecond)
	led := &prLedger{}
	var killed atomic.Bool
	procs := func() []*prProc { return []*prProc{a, b} }
	load := prStartLoad(t, env, procs, led, motion, petition, 8, func(p *prProc, ans prAnswer) {
		// While A is up, and always on B, every answer is a 2xx or a
		// refusal by the rules: never a 5xx.
		if ans.Err == nil && ans.Status >= 500 && (p == b || !killed.Load()) {
			t.Errorf("%s answered %s", p.name, ans)
		}
	})
	time.Sleep(1500 * time.Millisecond)
	if got := ntSend(t, b.e2eServer, env.staff, noticeID); got != len(recipients) {
		t.Fatalf("notice to %d recipients, want %d", got, len(recipients))
	}
	// Kill A once it is sending.
	deadline := time.Now().Add(30 * time.Second)
	for len(prSentPerUser(d.Fake, prTemplate(notice.KindNotice))) < 40 {
		if time.Now().After(deadline) {
			t.Fatal("A did not start sending")
		}
		time.Sleep(20 * time.Millisecond)
	}
	killed.Store(true)
	a.kill()
	atKill := len(prSentPerUser(d.Fake, prTemplate(notice.KindNotice)))
	ackedAtKill := led.count("ballot") + led.count("signature")
	time.Sleep(1500 * time.Millisecond) // B carries the load alone; A's share fails to connect
	a.restart()
	killed.Store(false)
	time.Sleep(1500 * time.Millisecond)
	load.finish()
	phase("load over")
	t.Logf("kill -9 of A after %d of %d messages and %d acknowledged changes; %d requests in all, %d ballots and %d signatures acknowledged; refused: %v",
		atKill, len(recipients), ackedAtKill, load.n.Load(), led.count("ballot"), led.count("signature"), led.other)
	if atKill >= len(recipients) {
		t.Fatalf("every message was out before the kill; the test wants A killed midway")
	}

	// Deliveries A had claimed when it died are in doubt: WeChat may have
	// taken them. They are settled as failed when their lease runs out
	// (LOUYUAN_NOTICES_LEASE, 6 s here), never sent again. Those A had
	// taken off the queue but not claimed go out again once the queue is
	// empty (LOUYUAN_NOTICES_REQUEUE_AFTER, 3 s here); the rest go out.
	deadline = time.Now().Add(45 * time.Second)
	for {
		open := prCount(t, db, "SELECT COUNT(*) FROM notice_deliveries WHERE notice_id = ? AND state IN ('pending','retried','sending')", noticeID)
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still open 45s after the restart", open)
		}
		time.Sleep(200 * time.Millisecond)
	}
	phase("deliveries settled")
	sent := prCount(t, db, "SELECT COUNT(*) FROM notice_deliveries WHERE notice_id = ? AND state = 'sent'", noticeID)
	failed := prCount(t, db, "SELECT COUNT(*) FROM notice_deliveries WHERE notice_id = ? AND state = 'failed'", noticeID)
	t.Logf("deliveries: %d sent, %d in doubt at the kill settled as failed", sent, failed)
	if failed > 4 || sent+failed != int64(len(recipients)) {
		t.Errorf("deliveries: %d sent + %d failed (at most A's 4 workers' sends in flight), want %d in all", sent, failed, len(recipients))
	}
	if sent <= int64(atKill) {
		t.Errorf("no delivery went out after the restart (%d sent, %d before the kill)", sent, atKill)
	}
	prCheckOneMessage(t, d, notice.KindNotice, recipients, false)
	var sentTo []string
	if err := db.Raw(`SELECT u.openid FROM notice_deliveries d JOIN users u ON u.id = d.user_id WHERE d.notice_id = ? AND d.state = 'sent'`, noticeID).Scan(&sentTo).Error; err != nil {
		t.Fatal(err)
	}
	got := prSentPerUser(d.Fake, prTemplate(notice.KindNotice))
	for _, o := range sentTo {
		if got[o] != 1 {
			t.Errorf("delivery to %s is sent but WeChat has %d messages", o, got[o])
		}
	}

	// Every acknowledged change is there, whole; the tallies agree.
	prCheckOnePerHousehold(t, db, motion, petition)
	led.checkAcked(t, db, motion, petition)
	if got := prCount(t, db, "SELECT COUNT(*) FROM signatures WHERE petition_id = ?", petition); got < int64(led.count("signature")) {
		t.Errorf("%d signatures, %d acknowledged", got, led.count("signature"))
	}
	if n := prCount(t, db, `SELECT COUNT(*) FROM signatures s WHERE s.petition_id = ? AND NOT EXISTS
		(SELECT 1 FROM signature_events e WHERE e.petition_id = s.petition_id AND e.household_id = s.household_id)`, petition); n != 0 {
		t.Errorf("%d signatures without their history event", n)
	}
	prWaitTally(t, a, db, env, motion, 20*time.Second, "live tally through the restarted A")
	prWaitTally(t, b, db, env, motion, 5*time.Second, "live tally through B")
	a.auditVerify()
	if lines := strings.Count(a.logs.tail(), "panic"); lines > 0 {
		t.Errorf("A logged a panic:\n%s", a.logs.tail())
	}
}

// prTallyDiff is what sameAsModel would report, as a string ("" when the
// API's tally is the count).
func prTallyDiff(got vtTally, want voting.Tally) string {
	g := fmt.Sprint(got.Electorate.Households, got.Electorate.Heads, got.Electorate.Area, got.Voted.Households, got.Voted.Heads, got.Voted.Area, got.Passed)
	w := fmt.Sprint(want.ElectorateHouses, want.ElectorateHeads, want.ElectorateArea.String(), want.VotedHouses, want.VotedHeads, want.VotedArea.String(), want.Passed)
	for _, o := range got.Options {
		g += fmt.Sprint(" ", o.Key, o.Households, o.Heads, o.Area)
	}
	for _, o := range want.Options {
		w += fmt.Sprint(" ", o.Option, o.Households, o.Head.RatString(), o.Area.String())
	}
	if g == w {
		return ""
	}
	return "got " + g + ", want " + w
}

// prFaultChecker holds every answer under a fault to the contract: a 2xx,
// a refusal by the rules, or a 503 with a Chinese message; never a 500,
// never a transport error, never slow.
type prFaultChecker struct {
	t        *testing.T
	maxTook  time.Duration
	mu       sync.Mutex
	byStatus map[int]int
	codes    map[string]int
	ok503    time.Time // the last time a 503 was seen
	lastOK   time.Time
}

func (c *prFaultChecker) check(p *prProc, a prAnswer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byStatus == nil {
		c.byStatus, c.codes = map[int]int{}, map[string]int{}
	}
	if a.Took > c.maxTook {
		c.t.Errorf("%s took %s (> %s): %s", p.name, a.Took.Round(time.Millisecond), c.maxTook, a)
	}
	if a.Err != nil {
		c.t.Errorf("%s: transport error: %s", p.name, a)
		return
	}
	c.byStatus[a.Status]++
	if a.Status >= 200 && a.Status < 300 {
		c.lastOK = time.Now()
		return
	}
	var e e2eErrorBody
	_ = json.Unmarshal(a.Body, &e)
	c.codes[fmt.Sprintf("%d %s", a.Status, e.Error.Code)]++
	if a.Status == http.StatusServiceUnavailable {
		c.ok503 = time.Now()
	}
	if a.Status >= 500 && a.Status != http.StatusServiceUnavailable || !e2eHasHan(e.Error.Message) || e.Error.Code == "" {
		c.t.Errorf("%s answered %s", p.name, a)
	}
}

// TestProcsMariaDBRestart kills the test's own MariaDB under two instances
// in the middle of voting and signing, and starts it again: while it is
// down every request is answered at once with a 503 and a Chinese
// message (no hang, no 500); afterwards requests succeed again without a
// restart of the servers, and every acknowledged change is in the
// database (committed transactions survive the crash).
func TestProcsMariaDBRestart(t *testing.T) {
	t.Parallel()
	m := prStartMariaDB(t)
	dsn := m.database("louyuan")
	rds := testenv.Redis(t)
	d := prNewDeployment(t, dsn, "redis://"+testenv.RedisAddr(), rds.Prefix)
	a := d.start(t, "A", true)
	b := d.start(t, "B", true)
	env := prSetup(t, []*prProc{a, b})
	db := prOpenDB(t, dsn)
	motion, _, _ := prMotion(t, a, env.staff, "ordinary", 2*time.Second, time.Hour)
	petition := prCreatePetition(t, b, env.staff)
	prWaitStatus(t, b, env.staff, motion, 30*time.Second, "voting")

	led := &prLedger{}
	chk := &prFaultChecker{t: t, maxTook: 10 * time.Second}
	load := prStartLoad(t, env, func() []*prProc { return []*prProc{a, b} }, led, motion, petition, 6, chk.check)
	time.Sleep(1500 * time.Millisecond)
	m.kill()
	down := time.Now()
	ackedBefore := led.count("ballot") + led.count("signature")
	time.Sleep(4 * time.Second)
	if st := readyStatus(a.e2eServer); st != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database down: %d, want 503", st)
	}
	chk.mu.Lock()
	n503 := chk.byStatus[http.StatusServiceUnavailable]
	chk.mu.Unlock()
	if n503 == 0 {
		t.Errorf("no 503 while the database was down: %v", chk.byStatus)
	}
	m.start()
	up := time.Now()
	t.Logf("database down for %s", up.Sub(down).Round(time.Millisecond))
	// Requests succeed again, on both instances, without restarting them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		chk.mu.Lock()
		recovered := chk.lastOK.After(up) && time.Since(chk.ok503) > time.Second
		chk.mu.Unlock()
		if recovered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("requests still fail 30s after the database returned: %v", chk.codes)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("requests succeed again %s after the database returned", time.Since(up).Round(time.Millisecond))
	time.Sleep(1500 * time.Millisecond)
	load.finish()
	t.Logf("%d requests: %v %v; %d changes acknowledged before the crash, %d in all", load.n.Load(), chk.byStatus, chk.codes, ackedBefore, led.count("ballot")+led.count("signature"))
	for _, p := range []*prProc{a, b} {
		if st := readyStatus(p.e2eServer); st != http.StatusOK {
			t.Errorf("%s readyz after the database returned: %d", p.name, st)
		}
	}

	prCheckOnePerHousehold(t, db, motion, petition)
	led.checkAcked(t, db, motion, petition)
	prWaitTally(t, a, db, env, motion, 15*time.Second, "live tally after the database returned")
	a.auditVerify()
}

// TestProcsRedisLoss stops the test's own Redis under two instances in the
// middle of voting, signing and a 400-recipient notice, and brings it back
// empty (no persistence: everything in it is lost). What that means, as
// the README says under "When Redis is lost":
//   - ballots and signatures are still accepted (they live in MySQL), and
//     tallies are counted from MySQL, then rebuilt in Redis;
//   - access tokens keep working (signed, checked locally); logins and
//     refreshes answer 503 while Redis is down, and refresh tokens issued
//     before the loss are gone: the mini-program logs in again silently;
//   - rate-limit windows start afresh;
//   - queued deliveries are not lost: the outbox rows are in MySQL and the
//     sweeper queues them again; nobody gets a message twice.
func TestProcsRedisLoss(t *testing.T) {
	t.Parallel()
	rds := vtStartRedis(t, 0)
	dsn := testenv.MySQL(t)
	d := prNewDeployment(t, dsn, "redis://"+rds.addr(), "louyuan:")
	d.Extra["LOUYUAN_NOTICES_REQUEUE_AFTER"] = "3s"
	a := d.start(t, "A", true)
	b := d.start(t, "B", true)
	procs := []*prProc{a, b}
	env := prSetup(t, procs, notice.KindNotice)
	db := prOpenDB(t, dsn)
	motion, _, _ := prMotion(t, a, env.staff, "ordinary", 2*time.Second, time.Hour)
	petition := prCreatePetition(t, b, env.staff)
	prWaitStatus(t, b, env.staff, motion, 30*time.Second, "voting")
	bulkCfg := defaultConfig()
	bulkCfg.Database.DSN = dsn
	recipients := append(prOpenIDs(d, len(env.reps), nil), ntBulk(t, bulkCfg, d.Fake, 400, prTemplate(notice.KindNotice))...)
	noticeID := prCreateNotice(t, a, env.staff, "电梯加装说明会")
	// A session whose refresh token will outlive nothing.
	before := a.wechatLogin(t, e2eCode("prredis"))

	led := &prLedger{}
	chk := &prFaultChecker{t: t, maxTook: 10 * time.Second}
	var redisDown atomic.Bool
	strict := func(p *prProc, ans prAnswer) {
		chk.check(p, ans)
		if redisDown.Load() && ans.Err == nil && ans.Status >= 500 {
			t.Errorf("%s refused a ballot or signature while Redis was down: %s", p.name, ans)
		}
	}
	// The notice goes out slowly, so that the queue still holds most of it.
	d.Fake.SetLatency("/cgi-bin/message/subscribe/send", 40*time.Millisecond)
	if got := ntSend(t, b.e2eServer, env.staff, noticeID); got != len(recipients) {
		t.Fatalf("notice to %d, want %d", got, len(recipients))
	}
	load := prStartLoad(t, env, func() []*prProc { return procs }, led, motion, petition, 6, strict)
	time.Sleep(1500 * time.Millisecond)
	rds.stop()
	redisDown.Store(true)
	atStop := len(prSentPerUser(d.Fake, prTemplate(notice.KindNotice)))
	time.Sleep(3 * time.Second)
	load.finish()
	duringAcked := led.count("ballot")
	// Tallies while Redis is down: counted from MySQL, on both instances.
	prCheckTally(t, a, db, env, motion, "tally through A while Redis is down")
	prCheckTally(t, b, db, env, motion, "tally through B while Redis is down")
	// Access tokens still work; a login cannot start a session.
	a.me(t, env.staff)
	b.me(t, env.reps[0].token)
	r := a.try("POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": e2eCode("prredis2")})
	chk.check(a, r)
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("login with Redis down: %s, want 503", r)
	}
	if st := readyStatus(a.e2eServer); st != http.StatusServiceUnavailable {
		t.Errorf("readyz with Redis down: %d, want 503", st)
	}

	// Redis returns empty.
	redisDown.Store(false)
	vtStartRedis(t, rds.port)
	deadline := time.Now().Add(20 * time.Second)
	for readyStatus(a.e2eServer) != http.StatusOK || readyStatus(b.e2eServer) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("instances not ready 20s after Redis returned")
		}
		time.Sleep(100 * time.Millisecond)
	}
	load = prStartLoad(t, env, func() []*prProc { return procs }, led, motion, petition, 6, chk.check)
	time.Sleep(2 * time.Second)
	load.finish()
	t.Logf("Redis stopped after %d of %d messages; %d ballots acknowledged with Redis down (of %d), answers %v %v",
		atStop, len(recipients), duringAcked, led.count("ballot"), chk.byStatus, chk.codes)

	// Sessions: the refresh token from before the loss is gone; its access
	// token still works; a new login works.
	r = b.try("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": before.RefreshToken})
	if r.Status != http.StatusUnauthorized {
		t.Errorf("refresh with a token issued before the Redis loss: %s, want 401", r)
	}
	a.me(t, before.AccessToken)
	b.wechatLogin(t, e2eCode("prredis3"))

	// Deliveries: every recipient gets the notice, once.
	deadline = time.Now().Add(45 * time.Second)
	for {
		open := prCount(t, db, "SELECT COUNT(*) FROM notice_deliveries WHERE notice_id = ? AND state <> 'sent'", noticeID)
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			var states []struct {
				State string
				N     int64
			}
			db.Raw("SELECT state, COUNT(*) AS n FROM notice_deliveries WHERE notice_id = ? GROUP BY state", noticeID).Scan(&states)
			t.Fatalf("deliveries not all sent 45s after Redis returned: %+v", states)
		}
		time.Sleep(200 * time.Millisecond)
	}
	prCheckOneMessage(t, d, notice.KindNotice, recipients, true)
	if tokens := d.Fake.TokensIssued(); tokens > 2 {
		t.Errorf("%d WeChat access tokens fetched; want 1, and 1 more after the cache was lost", tokens)
	}

	prCheckOnePerHousehold(t, db, motion, petition)
	led.checkAcked(t, db, motion, petition)
	prWaitTally(t, a, db, env, motion, 20*time.Second, "live tally rebuilt through A")
	prWaitTally(t, b, db, env, motion, 5*time.Second, "live tally rebuilt through B")
	a.auditVerify()
}

// TestProcsWeChatFaults has the fake WeChat API answer errors and time out
// for a while under voting, signing and a notice fan-out: ballots and
// signatures do not notice; logins and content checks answer 503 with a
// Chinese message while WeChat fails and work afterwards; each delivery
// ends sent (after retries) or, when WeChat timed out and may have taken
// it, failed, and nobody gets a message twice.
func TestProcsWeChatFaults(t *testing.T) {
	t.Parallel()
	dsn := testenv.MySQL(t)
	rds := testenv.Redis(t)
	d := prNewDeployment(t, dsn, "redis://"+testenv.RedisAddr(), rds.Prefix)
	// A generous timeout: on a loaded machine an ordinary send must not
	// time out; the three slow recipients take longer still.
	d.Extra["LOUYUAN_WECHAT_TIMEOUT"] = "4s"
	a := d.start(t, "A", true)
	env := prSetup(t, []*prProc{a}, notice.KindNotice)
	db := prOpenDB(t, dsn)
	motion, _, _ := prMotion(t, a, env.staff, "ordinary", 2*time.Second, time.Hour)
	petition := prCreatePetition(t, a, env.staff)
	prWaitStatus(t, a, env.staff, motion, 30*time.Second, "voting")

	led := &prLedger{}
	chk := &prFaultChecker{t: t, maxTook: 10 * time.Second}
	load := prStartLoad(t, env, func() []*prProc { return []*prProc{a} }, led, motion, petition, 4, chk.check)

	// WeChat fails: system busy (-1), a failing gateway (HTTP 502), and
	// three recipients whose sends take longer than our 4 s timeout (WeChat
	// still delivers them).
	fake := d.Fake
	fake.FailNext(wechatfake.PathMsgSecCheck, -1, 1)
	r := a.try("POST", "/api/v1/notices", env.staff, map[string]any{"targets": []map[string]any{{"scope_type": "courtyard", "scope_id": 1}},
		"title": "本周六停水通知", "body": "因管道检修，本周六8:00至12:00停水。"})
	chk.check(a, r)
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("a notice while the content check fails: %s, want 503", r)
	}
	fake.FailNext(wechatfake.PathCode2Session, -1, 1)
	r = a.try("POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": e2eCode("prwx")})
	chk.check(a, r)
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("a login while WeChat fails: %s, want 503", r)
	}
	a.wechatLogin(t, e2eCode("prwx"))
	noticeID := prCreateNotice(t, a, env.staff, "本周六停水通知")
	all := prOpenIDs(d, len(env.reps), nil)
	// Five failures in a row open the circuit breaker in front of WeChat
	// for 30 s: the deliveries wait, without using up their attempts
	// (they used to: a minute of outage failed a whole notice unsent).
	fake.FailHTTPNext(wechatfake.PathSubscribeSend, http.StatusBadGateway, 2)
	fake.FailNext(wechatfake.PathSubscribeSend, -1, 3)
	ntSend(t, a.e2eServer, env.staff, noticeID)
	sentAt := time.Now()
	time.Sleep(4 * time.Second)
	load.finish()
	// Once the breaker has closed again and messages flow, three
	// recipients still waiting take longer than the timeout.
	var slow []string
	for deadline := time.Now().Add(60 * time.Second); len(slow) == 0; time.Sleep(50 * time.Millisecond) {
		got := prSentPerUser(fake, prTemplate(notice.KindNotice))
		if len(got) >= 10 {
			for _, o := range all {
				if got[o] == 0 && len(slow) < 3 {
					slow = append(slow, o)
					fake.SetSubscribeLatency(o, 6*time.Second) // > LOUYUAN_WECHAT_TIMEOUT
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no message got through within 60s of the fault")
		}
	}

	deadline := time.Now().Add(90 * time.Second)
	for {
		open := prCount(t, db, "SELECT COUNT(*) FROM notice_deliveries WHERE notice_id = ? AND state IN ('pending','retried','sending')", noticeID)
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			var states []struct {
				State    string
				Attempts int
				Reason   string
				N        int64
			}
			db.Raw("SELECT state, attempts, reason, COUNT(*) AS n FROM notice_deliveries WHERE notice_id = ? GROUP BY state, attempts, reason", noticeID).Scan(&states)
			t.Fatalf("%d deliveries still open after 90s: %+v\n%s", open, states, a.logs.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("deliveries settled %s after the send", time.Since(sentAt).Round(time.Millisecond))
	time.Sleep(3 * time.Second) // the slow sends (6 s) have reached the fake by now
	prCheckOneMessage(t, d, notice.KindNotice, all, true)
	var rows []struct {
		OpenID   string
		State    string
		Attempts int
	}
	if err := db.Raw(`SELECT u.openid AS open_id, d.state, d.attempts FROM notice_deliveries d JOIN users u ON u.id = d.user_id WHERE d.notice_id = ?`, noticeID).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	retried := 0
	for _, row := range rows {
		isSlow := slices.Contains(slow, row.OpenID)
		switch {
		case isSlow && row.State != "failed" && row.State != "sent":
			t.Errorf("timed-out delivery to %s: %s", row.OpenID, row.State)
		case !isSlow && row.State != "sent":
			t.Errorf("delivery to %s: %s after %d attempts, want sent", row.OpenID, row.State, row.Attempts)
		}
		if row.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Errorf("no delivery needed a second attempt; the faults did not bite")
	}
	t.Logf("%d requests %v %v; %d deliveries retried; %d ballots, %d signatures acknowledged",
		load.n.Load(), chk.byStatus, chk.codes, retried, led.count("ballot"), led.count("signature"))
	if sent, audited := prCount(t, db, "SELECT COUNT(*) FROM notice_deliveries WHERE state = 'sent'"),
		prCount(t, db, "SELECT COUNT(*) FROM audit_log WHERE action = 'delivery.sent'"); sent != audited {
		t.Errorf("%d deliveries sent, %d delivery.sent audit entries", sent, audited)
	}
	prCheckOnePerHousehold(t, db, motion, petition)
	led.checkAcked(t, db, motion, petition)
	prWaitTally(t, a, db, env, motion, 10*time.Second, "live tally")
	a.auditVerify()
}
