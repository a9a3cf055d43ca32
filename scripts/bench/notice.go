package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/louyuan/louyuan/internal/redisstore"
	"github.com/louyuan/louyuan/internal/wechat/wechatfake"
)

// ---- notice_fanout_2000, notice_fanout_duplicates -------------------------

// The server's notice settings for the whole run (env.go passes them), and
// the baseline's: the same pool size and the same rate limit.
const (
	noticeWorkers    = 16
	noticeRate       = 200 // subscribe messages per second
	noticeTemplateID = "bench-notice"
	// noticeTemplatesJSON is LOUYUAN_NOTICES_TEMPLATES: only notices written
	// by council or staff have a subscribe template; system notices
	// (motion opened, …) stay in the inbox.
	noticeTemplatesJSON = `{"notice":{"id":"` + noticeTemplateID + `","fields":{"thing1":"title","thing2":"body","time3":"time"}}}`

	noticeRecipients = 2000
	noticeLatency    = 50 * time.Millisecond // the fake's answer delay for subscribe/send
	noticeTimeout    = 5 * time.Minute       // for all 2,000 to be sent
	noticePoll       = 50 * time.Millisecond
	// noticeIdleWait bounds the wait, before the timed send, for the
	// server's delivery pipeline to finish what earlier scenarios queued
	// (the notices of the motions they opened).
	noticeIdleWait = 10 * time.Minute
	noticeRateKey  = "wx:subscribe_send" // the server's limiter key; the baseline's lives under another prefix
)

type noticeTarget struct {
	ScopeType string `json:"scope_type"`
	ScopeID   int64  `json:"scope_id"`
}

type noticeRecipient struct {
	userID int64
	openID string
	token  string
}

type noticeReport struct {
	Recipients int            `json:"recipients"`
	States     map[string]int `json:"states"`
	Failures   []struct {
		UserID   int64  `json:"user_id"`
		State    string `json:"state"`
		ErrCode  int    `json:"errcode"`
		Reason   string `json:"reason"`
		Attempts int    `json:"attempts"`
	} `json:"failures"`
}

// noticeFanout measures how fast a notice reaches its recipients' WeChat.
//
// Setup (not timed): whole buildings, then units, of courtyard 1 are
// chosen so that exactly 2,000 users are bound to their households (checked
// with POST /notices/preview); each of those representatives grants one
// subscribe message of the notice template (POST /me/subscriptions); the
// staff write the notice (approving it if the content check held it); the
// bench waits until the server's delivery pipeline is idle; the fake WeChat
// API's subscribe/send is given 50 ms of latency.
//
// Ours: from POST /notices/{id}/send until GET /notices/{id}/report (polled
// every 50 ms) shows all 2,000 deliveries sent; recipients per second. The
// server runs 16 delivery workers under a rate limit of 200 messages/s
// shared through Redis.
//
// Baseline: 16 goroutines of this process send the same 2,000 messages
// straight to the fake (POST /cgi-bin/message/subscribe/send with an access
// token from /cgi-bin/stable_token), each taking a slot of the same kind of
// Redis limiter (redisstore.Limiter, 200/s, a key of its own) first.
// Ratio ours/baseline, higher is better; target 0.9.
//
// notice_fanout_duplicates: recipients that the fake saw more than one
// message of the notice's template for during ours (baseline: the same
// count for the baseline's sends); 0 is required, anything else is also a
// failed check.
func (b *bench) noticeFanout(ctx context.Context) error {
	if len(b.reps) < noticeRecipients {
		return fmt.Errorf("notice_fanout_2000 needs at least %d representatives, have %d (raise -households)", noticeRecipients, len(b.reps))
	}
	targets, recips, err := b.chooseNoticeTargets(ctx)
	if err != nil {
		return err
	}
	var preview struct {
		Recipients int `json:"recipients"`
	}
	if err := b.api.call(ctx, time.Minute, "POST", "/api/v1/notices/preview", b.staffToken, map[string]any{"targets": targets}, http.StatusOK, &preview); err != nil {
		return fmt.Errorf("notice preview: %w", err)
	}
	if preview.Recipients != noticeRecipients {
		return fmt.Errorf("notice preview of %d targets: %d recipients, the database says %d", len(targets), preview.Recipients, noticeRecipients)
	}
	if err := b.grantSubscriptions(ctx, recips); err != nil {
		return err
	}

	title, body := "压测通知：停水检修", "因二次供水设备检修，明日9:00至17:00停水，请提前储水。"
	var n struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if err := b.api.call(ctx, time.Minute, "POST", "/api/v1/notices", b.staffToken,
		map[string]any{"targets": targets, "title": title, "body": body}, http.StatusCreated, &n); err != nil {
		return fmt.Errorf("create notice: %w", err)
	}
	switch n.Status {
	case "draft":
	case "review":
		logf("notice %d is held for review by the content check; approving it as the staff", n.ID)
		if err := b.api.call(ctx, time.Minute, "POST", fmt.Sprintf("/api/v1/notices/%d/approve", n.ID), b.staffToken, nil, http.StatusOK, nil); err != nil {
			return fmt.Errorf("approve notice: %w", err)
		}
	default:
		return fmt.Errorf("notice %d was created with status %q", n.ID, n.Status)
	}

	workers, rate := b.noticeSettings()
	if err := b.waitDeliveryIdle(ctx, rate); err != nil {
		return err
	}
	b.fake.SetLatency(wechatfake.PathSubscribeSend, noticeLatency)
	defer b.fake.SetLatency(wechatfake.PathSubscribeSend, 0)

	// ---- ours
	logf("notice_fanout_2000: ours (POST /api/v1/notices/%d/send to %d subscribed representatives in %d buildings/units; %d server workers, %d/s, fake latency %s)…",
		n.ID, noticeRecipients, len(targets), workers, rate, noticeLatency)
	sentBefore := len(b.fake.Sent())
	before := b.snapshot()
	start := time.Now()
	var sendOut struct {
		Recipients int `json:"recipients"`
	}
	if err := b.api.call(ctx, time.Minute, "POST", fmt.Sprintf("/api/v1/notices/%d/send", n.ID), b.staffToken, nil, http.StatusOK, &sendOut); err != nil {
		return errors.Join(fmt.Errorf("send notice: %w", err), b.serverAlive())
	}
	sendTook := time.Since(start)
	if sendOut.Recipients != noticeRecipients {
		return fmt.Errorf("sending notice %d answered %d recipients, want %d", n.ID, sendOut.Recipients, noticeRecipients)
	}
	rep, polls, pollTime, err := b.waitNoticeSent(ctx, n.ID, start)
	elapsed := time.Since(start)
	if err != nil {
		return errors.Join(err, b.serverAlive())
	}
	after := b.snapshot()
	oursRate := float64(noticeRecipients) / elapsed.Seconds()
	logf("notice_fanout_2000 ours: %d sent in %s = %.1f recipients/s (send call %s; %d report polls, mean %.1fms); report states %v",
		noticeRecipients, elapsed.Round(time.Millisecond), oursRate, sendTook.Round(time.Millisecond), polls, ms(pollTime)/float64(max(polls, 1)), rep.States)
	logf("notice_fanout_2000 ours: %s", usage(before, after, noticeRecipients, "recipient"))

	// Late duplicates would come from a retried or re-claimed delivery:
	// give the workers a moment, then count what the fake accepted.
	time.Sleep(time.Second)
	oursMsgs := b.fake.Sent()[sentBefore:]
	oursDups, oursStats := b.checkNoticeMessages("ours", oursMsgs, recips)
	logf("notice_fanout_2000 ours at the fake: %s", oursStats)
	if rep2, err := b.noticeReport(ctx, n.ID); err == nil && rep2.States["sent"] != noticeRecipients {
		b.fail("notice_fanout_2000: a second after all were sent the report says %v", rep2.States)
	}

	// ---- baseline
	logf("notice_fanout_2000: baseline (%d goroutines → POST %s on the fake, Redis limiter %d/s, fake latency %s)…",
		workers, wechatfake.PathSubscribeSend, rate, noticeLatency)
	baseBefore := len(b.fake.Sent())
	baseElapsed, err := b.noticeBaseline(ctx, recips, title, body, n.ID, workers, rate)
	if err != nil {
		return err
	}
	baseRate := float64(noticeRecipients) / baseElapsed.Seconds()
	logf("notice_fanout_2000 baseline: %d sent in %s = %.1f recipients/s", noticeRecipients, baseElapsed.Round(time.Millisecond), baseRate)
	baseDups, baseStats := b.checkNoticeMessages("baseline", b.fake.Sent()[baseBefore:], recips)
	logf("notice_fanout_2000 baseline at the fake: %s", baseStats)

	emit("notice_fanout_2000", oursRate, baseRate, "0.9")
	emitRatio("notice_fanout_duplicates", float64(oursDups), float64(baseDups), float64(oursDups)/float64(max(baseDups, 1)), "0")
	if oursDups > 0 {
		b.fail("notice_fanout_duplicates: %d recipient(s) got more than one message of notice %d", oursDups, n.ID)
	}
	return nil
}

// chooseNoticeTargets picks whole buildings of courtyard 1, largest first,
// then units of the other buildings, so that exactly noticeRecipients users
// are bound to their households, and lists those users.
func (b *bench) chooseNoticeTargets(ctx context.Context) ([]noticeTarget, []noticeRecipient, error) {
	type scope struct {
		id, building int64
		users        int
	}
	list := func(q string) ([]scope, error) {
		rows, err := b.db.QueryContext(ctx, q, demoCourtyard)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []scope
		for rows.Next() {
			var s scope
			if err := rows.Scan(&s.id, &s.building, &s.users); err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].users > out[j].users })
		return out, rows.Err()
	}
	buildings, err := list(`SELECT h.building_id, h.building_id, COUNT(DISTINCT m.user_id) FROM households h JOIN memberships m ON m.household_id = h.id
WHERE h.courtyard_id = ? GROUP BY h.building_id ORDER BY h.building_id`)
	if err != nil {
		return nil, nil, fmt.Errorf("count users by building: %w", err)
	}
	units, err := list(`SELECT h.unit_id, h.building_id, COUNT(DISTINCT m.user_id) FROM households h JOIN memberships m ON m.household_id = h.id
WHERE h.courtyard_id = ? GROUP BY h.unit_id, h.building_id ORDER BY h.unit_id`)
	if err != nil {
		return nil, nil, fmt.Errorf("count users by unit: %w", err)
	}
	var targets []noticeTarget
	var bIDs, uIDs []string
	chosen := map[int64]bool{}
	total := 0
	for _, s := range buildings {
		if total+s.users <= noticeRecipients && len(targets) < 50 {
			targets = append(targets, noticeTarget{"building", s.id})
			bIDs = append(bIDs, strconv.FormatInt(s.id, 10))
			chosen[s.id] = true
			total += s.users
		}
	}
	for _, s := range units {
		if !chosen[s.building] && total < noticeRecipients && total+s.users <= noticeRecipients && len(targets) < 50 {
			targets = append(targets, noticeTarget{"unit", s.id})
			uIDs = append(uIDs, strconv.FormatInt(s.id, 10))
			total += s.users
		}
	}
	if total != noticeRecipients {
		return nil, nil, fmt.Errorf("could not choose buildings and units of courtyard %d reaching exactly %d users (best %d)", demoCourtyard, noticeRecipients, total)
	}
	var conds []string
	if len(bIDs) > 0 {
		conds = append(conds, "h.building_id IN ("+strings.Join(bIDs, ",")+")")
	}
	if len(uIDs) > 0 {
		conds = append(conds, "h.unit_id IN ("+strings.Join(uIDs, ",")+")")
	}
	rows, err := b.db.QueryContext(ctx, `SELECT DISTINCT u.id, u.openid FROM memberships m JOIN households h ON h.id = m.household_id JOIN users u ON u.id = m.user_id
WHERE h.courtyard_id = ? AND (`+strings.Join(conds, " OR ")+`) ORDER BY u.id`, demoCourtyard)
	if err != nil {
		return nil, nil, fmt.Errorf("list recipients: %w", err)
	}
	defer rows.Close()
	tokenOf := make(map[int64]string, len(b.reps))
	for _, r := range b.reps {
		tokenOf[r.userID] = r.token
	}
	var recips []noticeRecipient
	for rows.Next() {
		var r noticeRecipient
		if err := rows.Scan(&r.userID, &r.openID); err != nil {
			return nil, nil, err
		}
		if r.token = tokenOf[r.userID]; r.token == "" {
			return nil, nil, fmt.Errorf("recipient user %d is not one of the bench's representatives", r.userID)
		}
		recips = append(recips, r)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(recips) != noticeRecipients {
		return nil, nil, fmt.Errorf("the chosen targets hold %d users, want %d", len(recips), noticeRecipients)
	}
	logf("notice_fanout_2000: targets %d building(s) and %d unit(s) of courtyard %d: %d users", len(bIDs), len(uIDs), demoCourtyard, len(recips))
	return targets, recips, nil
}

// grantSubscriptions has each recipient accept one message of the notice
// template, as the mini-program reports wx.requestSubscribeMessage.
func (b *bench) grantSubscriptions(ctx context.Context, recips []noticeRecipient) error {
	start := time.Now()
	err := parallel(ctx, 16, len(recips), func(ctx context.Context, i int) error {
		var out struct {
			Subscriptions []struct {
				TemplateID string `json:"template_id"`
				Remaining  int    `json:"remaining"`
			} `json:"subscriptions"`
		}
		if err := b.api.call(ctx, 30*time.Second, "POST", "/api/v1/me/subscriptions", recips[i].token,
			map[string]any{"results": map[string]string{noticeTemplateID: "accept"}}, http.StatusOK, &out); err != nil {
			return fmt.Errorf("subscribe user %d: %w", recips[i].userID, err)
		}
		for _, s := range out.Subscriptions {
			if s.TemplateID == noticeTemplateID {
				if s.Remaining != 1 {
					return fmt.Errorf("user %d has %d grants of %s after one accept", recips[i].userID, s.Remaining, noticeTemplateID)
				}
				return nil
			}
		}
		return fmt.Errorf("user %d: subscriptions answer lists no template %s", recips[i].userID, noticeTemplateID)
	})
	if err != nil {
		return err
	}
	logf("notice_fanout_2000: %d representatives each granted one %s message in %s", len(recips), noticeTemplateID, time.Since(start).Round(time.Millisecond))
	return nil
}

// waitDeliveryIdle waits until no delivery is due or in flight and the
// server's notice queue is empty, so that the timed notice does not queue
// behind the deliveries of earlier scenarios' system notices (every motion
// opened through the API notifies its electorate; without a template for
// those kinds they end up skipped, but each still takes a rate-limit slot).
//
// Every ID on the queue takes a slot of the rate limit when a worker pops
// it, so the pipeline cannot be idle sooner than (queued IDs)/rate: when
// that is past noticeIdleWait the scenario fails at once.
func (b *bench) waitDeliveryIdle(ctx context.Context, rate int) error {
	start := time.Now()
	queue := b.prefix + "q:notices"
	lastLog := start
	for {
		var busy int
		if err := b.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM notice_deliveries WHERE state IN ('pending', 'retry', 'sending')").Scan(&busy); err != nil {
			return fmt.Errorf("count busy deliveries: %w", err)
		}
		qlen, err := b.rdb.LLen(ctx, queue).Result()
		if err != nil {
			return fmt.Errorf("length of %s: %w", queue, err)
		}
		if busy == 0 && qlen == 0 {
			if waited := time.Since(start); waited > time.Second {
				logf("notice_fanout_2000: the delivery pipeline became idle after %s", waited.Round(time.Second))
			}
			return nil
		}
		if err := b.serverAlive(); err != nil {
			return err
		}
		if least := time.Duration(float64(max(int64(busy), qlen)) / float64(rate) * float64(time.Second)); time.Since(start)+least > noticeIdleWait {
			return fmt.Errorf("notice_fanout_2000: the server's notice delivery pipeline is busy with what earlier scenarios queued: %d deliveries due or sending and %d IDs on its queue %s, "+
				"which at %d/s take at least %s more (waited %s, limit %s); a notice sent now would queue behind them",
				busy, qlen, queue, rate, least.Round(time.Second), time.Since(start).Round(time.Second), noticeIdleWait)
		}
		if time.Since(lastLog) >= 10*time.Second || lastLog == start {
			var states []string
			if rows, err := b.db.QueryContext(ctx, "SELECT state, COUNT(*) FROM notice_deliveries GROUP BY state ORDER BY state"); err == nil {
				for rows.Next() {
					var s string
					var k int
					if rows.Scan(&s, &k) == nil {
						states = append(states, fmt.Sprintf("%s %d", s, k))
					}
				}
				rows.Close()
			}
			logf("notice_fanout_2000: waiting for the delivery pipeline to be idle: %d deliveries due or sending, %d IDs queued (all deliveries: %s)",
				busy, qlen, strings.Join(states, ", "))
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (b *bench) noticeReport(ctx context.Context, id int64) (noticeReport, error) {
	var r noticeReport
	err := b.api.call(ctx, time.Minute, "GET", fmt.Sprintf("/api/v1/notices/%d/report", id), b.staffToken, nil, http.StatusOK, &r)
	return r, err
}

// waitNoticeSent polls the notice's report until every delivery is sent;
// it fails early when some ended in another final state.
func (b *bench) waitNoticeSent(ctx context.Context, id int64, start time.Time) (noticeReport, int, time.Duration, error) {
	deadline := start.Add(noticeTimeout)
	polls := 0
	var spent time.Duration
	lastLog := time.Now()
	for {
		t0 := time.Now()
		r, err := b.noticeReport(ctx, id)
		spent += time.Since(t0)
		polls++
		if err != nil {
			return r, polls, spent, fmt.Errorf("notice report: %w", err)
		}
		if r.States["sent"] >= noticeRecipients {
			return r, polls, spent, nil
		}
		if open := r.States["sent"] + r.States["pending"] + r.States["retried"] + r.States["sending"]; open < noticeRecipients {
			first := ""
			if len(r.Failures) > 0 {
				f := r.Failures[0]
				first = fmt.Sprintf("; first: user %d %s errcode %d after %d attempt(s): %s", f.UserID, f.State, f.ErrCode, f.Attempts, f.Reason)
			}
			return r, polls, spent, fmt.Errorf("notice %d: %d of %d deliveries can no longer be sent (states %v)%s", id, noticeRecipients-open, noticeRecipients, r.States, first)
		}
		if time.Now().After(deadline) {
			return r, polls, spent, fmt.Errorf("notice %d: not all sent %s after the send call (states %v)", id, noticeTimeout, r.States)
		}
		if time.Since(lastLog) >= 5*time.Second {
			logf("  %s: report states %v", time.Since(start).Round(time.Second), r.States)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return r, polls, spent, ctx.Err()
		case <-time.After(noticePoll):
		}
	}
}

// checkNoticeMessages counts, among messages the fake accepted, those of
// the notice template per recipient: it returns how many recipients got
// more than one, records failed checks for missing or unexpected
// recipients, and describes the timing.
func (b *bench) checkNoticeMessages(side string, msgs []wechatfake.SentMessage, recips []noticeRecipient) (int, string) {
	want := make(map[string]bool, len(recips))
	for _, r := range recips {
		want[r.openID] = true
	}
	per := map[string]int{}
	total, strangers := 0, 0
	var first, last time.Time
	for _, m := range msgs {
		if m.TemplateID != noticeTemplateID {
			continue
		}
		total++
		per[m.ToUser]++
		if !want[m.ToUser] {
			strangers++
		}
		if first.IsZero() || m.SentAt.Before(first) {
			first = m.SentAt
		}
		if m.SentAt.After(last) {
			last = m.SentAt
		}
	}
	dups := 0
	for _, k := range per {
		if k > 1 {
			dups++
		}
	}
	missing := 0
	for o := range want {
		if per[o] == 0 {
			missing++
		}
	}
	if missing > 0 || strangers > 0 {
		b.fail("notice_fanout_2000 %s: %d recipient(s) got no message, %d message(s) went to users outside the notice", side, missing, strangers)
	}
	stats := fmt.Sprintf("%d messages to %d users, %d with more than one", total, len(per), dups)
	if total > 1 {
		span := last.Sub(first)
		stats += fmt.Sprintf("; first to last accepted %s (%.1f/s)", span.Round(time.Millisecond), float64(total-1)/span.Seconds())
	}
	return dups, stats
}

// noticeBaseline sends one subscribe message to each recipient straight to
// the fake with workers goroutines, each first taking a slot of a Redis
// limiter at rate per second, and returns the elapsed time.
func (b *bench) noticeBaseline(ctx context.Context, recips []noticeRecipient, title, body string, noticeID int64, workers, rate int) (time.Duration, error) {
	hc := &http.Client{Transport: newTransport()}
	defer hc.CloseIdleConnections()
	token, err := fakeAccessToken(ctx, hc, b.fakeURL, b.fake.AppID(), b.fake.AppSecret())
	if err != nil {
		return 0, err
	}
	sendURL := b.fakeURL + wechatfake.PathSubscribeSend + "?access_token=" + url.QueryEscape(token)
	// The values the server's worker fills the template with.
	data := map[string]map[string]string{
		"thing1": {"value": cutRunes(title, 20)},
		"thing2": {"value": cutRunes(body, 20)},
		"time3":  {"value": time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006年1月2日 15:04")},
	}
	page := fmt.Sprintf("pages/notice/detail?id=%d", noticeID)
	limiter := redisstore.NewLimiter(b.rdb, b.prefix+"baseline:")
	wait := func(ctx context.Context) error {
		for {
			ok, retry, err := limiter.Allow(ctx, noticeRateKey, rate, time.Second)
			if err != nil {
				return err
			}
			if ok {
				return nil
			}
			if retry <= 0 || retry > time.Second {
				retry = 50 * time.Millisecond
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(retry):
			}
		}
	}
	bodies := make([][]byte, len(recips))
	for i, r := range recips {
		if bodies[i], err = json.Marshal(map[string]any{"touser": r.openID, "template_id": noticeTemplateID, "page": page, "data": data}); err != nil {
			return 0, err
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					return
				}
				if err := wait(ctx); err != nil {
					cancel(err)
					return
				}
				if err := postSubscribe(ctx, hc, sendURL, bodies[i]); err != nil {
					cancel(fmt.Errorf("baseline send to %s: %w", recips[i].openID, err))
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	return elapsed, nil
}

// fakeAccessToken gets the app's stable access token (without forcing a
// refresh, so the server's stays valid).
func fakeAccessToken(ctx context.Context, hc *http.Client, base, appID, secret string) (string, error) {
	in, _ := json.Marshal(map[string]any{"grant_type": "client_credential", "appid": appID, "secret": secret})
	req, err := http.NewRequestWithContext(ctx, "POST", base+wechatfake.PathStableToken, bytes.NewReader(in))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("stable_token: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		ErrCode     int    `json:"errcode"`
		ErrMsg      string `json:"errmsg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("stable_token: HTTP %d: %w", resp.StatusCode, err)
	}
	if out.AccessToken == "" {
		return "", fmt.Errorf("stable_token: errcode %d: %s", out.ErrCode, out.ErrMsg)
	}
	return out.AccessToken, nil
}

func postSubscribe(ctx context.Context, hc *http.Client, sendURL string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", sendURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, clip(data, 200))
	}
	var out struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
		MsgID   int64  `json:"msgid"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return fmt.Errorf("decode answer: %w: %s", err, clip(data, 200))
	}
	if out.ErrCode != 0 {
		return fmt.Errorf("errcode %d: %s", out.ErrCode, out.ErrMsg)
	}
	return nil
}

// cutRunes shortens s to n characters, ending with "…" when cut, as the
// server cuts template values.
func cutRunes(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// usage describes the CPU of each process group and MariaDB's work per
// item between two snapshots.
func usage(before, after snapshot, items int, item string) string {
	win := after.at.Sub(before.at).Seconds()
	var parts []string
	for _, g := range []string{"server", "mariadb", "redis", "bench"} {
		if _, ok := before.cpu[g]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", g, 100*(after.cpu[g]-before.cpu[g])/win))
		}
	}
	out := "CPU (of 200%): " + strings.Join(parts, ", ")
	if len(before.db) > 0 && items > 0 {
		d := func(k string) float64 { return (after.db[k] - before.db[k]) / float64(items) }
		out += fmt.Sprintf("; MariaDB per %s: %.1f statements (select %.1f, insert %.1f, update %.1f, commit %.1f), %.2f fsyncs",
			item, d("Questions"), d("Com_select"), d("Com_insert"), d("Com_update"), d("Com_commit"), d("Innodb_data_fsyncs"))
	}
	return out
}

// noticeSettings returns the server's delivery workers and rate limit:
// this bench's settings unless -server-env overrides them.
func (b *bench) noticeSettings() (workers, rate int) {
	workers, rate = noticeWorkers, noticeRate
	for _, kv := range b.o.serverEnv {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			continue
		}
		switch k {
		case "LOUYUAN_NOTICES_WORKERS":
			workers = n
		case "LOUYUAN_NOTICES_RATE_PER_SECOND":
			rate = n
		}
	}
	return workers, rate
}
