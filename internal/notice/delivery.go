package notice

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/audit"
)

// Message is one subscribe message as the sender passes it to WeChat.
type Message struct {
	OpenID     string
	TemplateID string
	Page       string
	Data       map[string]string
}

// Sender sends subscribe messages (the WeChat adapter). Its errors are
// *SendError when WeChat answered, ErrUnavailable when the call was not
// made (circuit open), ErrUnknown when it may or may not have gone out.
type Sender interface {
	Send(ctx context.Context, m Message) (msgID int64, err error)
}

// SendError is WeChat's answer with a non-zero errcode.
type SendError struct {
	Code int
	Msg  string
}

func (e *SendError) Error() string { return fmt.Sprintf("wechat errcode %d: %s", e.Code, e.Msg) }

var (
	// ErrUnavailable means the message was not sent (WeChat unreachable).
	ErrUnavailable = errors.New("wechat unavailable")
	// ErrUnknown means the call timed out: WeChat may have taken it.
	ErrUnknown = errors.New("wechat outcome unknown")
)

// Pacer is the rate limit shared by every instance: Reserve takes the next
// free slot at rate per second and says how long to wait for it.
type Pacer interface {
	Reserve(ctx context.Context, key string, rate int) (time.Duration, error)
}

// WorkerConfig sets how deliveries go out.
type WorkerConfig struct {
	Workers       int           // concurrent sends per instance
	RatePerSecond int           // subscribe messages per second across all instances
	Lease         time.Duration // a claimed delivery's worker must settle it within this
	MaxAttempts   int           // transient failures retried up to this many attempts
	SweepEvery    time.Duration // how often the sweeper looks for stranded deliveries
	Requeue       time.Duration // a due delivery enqueued longer ago than this is enqueued again
}

// DefaultWorkerConfig suits one mini-program's subscribe message quota.
var DefaultWorkerConfig = WorkerConfig{Workers: 8, RatePerSecond: 50, Lease: 2 * time.Minute, MaxAttempts: 6,
	SweepEvery: 2 * time.Second, Requeue: 30 * time.Second}

// Worker delivers subscribe messages from the queue.
type Worker struct {
	s      *Service
	sender Sender
	pacer  Pacer
	cfg    WorkerConfig
}

// NewWorker returns a worker pool for s.
func NewWorker(s *Service, sender Sender, pacer Pacer, cfg WorkerConfig) *Worker {
	def := DefaultWorkerConfig
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	if cfg.RatePerSecond <= 0 {
		cfg.RatePerSecond = def.RatePerSecond
	}
	if cfg.Lease <= 0 {
		cfg.Lease = def.Lease
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = def.SweepEvery
	}
	if cfg.Requeue <= 0 {
		cfg.Requeue = def.Requeue
	}
	return &Worker{s: s, sender: sender, pacer: pacer, cfg: cfg}
}

// Run delivers until ctx ends, then lets the sends in flight finish and
// returns. The sweeper runs alongside: it puts back on the queue what a
// crash or a lost queue left behind and settles deliveries whose worker
// died mid-send.
func (w *Worker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range w.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(w.cfg.SweepEvery)
		defer t.Stop()
		for {
			w.Sweep(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	wg.Wait()
}

func (w *Worker) loop(ctx context.Context) {
	for ctx.Err() == nil {
		id, ok, err := w.s.queue.Pop(ctx, time.Second)
		if err != nil {
			if ctx.Err() == nil {
				w.s.log.WarnContext(ctx, "notice queue", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		if !ok {
			continue
		}
		// A send once started is finished and recorded even when the
		// server is stopping.
		if err := w.Deliver(context.WithoutCancel(ctx), id); err != nil {
			w.s.log.WarnContext(ctx, "deliver notice", "delivery", id, "err", err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Sweep enqueues due deliveries nobody has picked up and settles those
// whose worker's lease ran out.
func (w *Worker) Sweep(ctx context.Context) {
	now := w.s.now().UTC()
	err := w.s.store.InTx(ctx, func(ctx context.Context) error {
		abandoned, err := w.s.store.AbandonLeases(ctx, now)
		if err != nil || len(abandoned) == 0 {
			return err
		}
		courtyard := map[int64]int64{} // notice → its courtyard, read once each
		records := make([]audit.Record, 0, len(abandoned))
		for _, d := range abandoned {
			w.s.log.WarnContext(ctx, "delivery abandoned mid-send; not sent again", "delivery", d.ID, "notice", d.NoticeID)
			yard, ok := courtyard[d.NoticeID]
			if !ok {
				n, err := w.s.store.Notice(ctx, d.NoticeID)
				if err != nil {
					return err
				}
				yard, courtyard[d.NoticeID] = n.CourtyardID, n.CourtyardID
			}
			records = append(records, audit.Record{Stream: deliveryStream(yard, d), Actor: "system", Action: "delivery." + d.State,
				Object: "delivery:" + itoa(d.ID), Detail: map[string]any{"notice": d.NoticeID, "user": d.UserID, "attempt": d.Attempts, "state": d.State, "reason": d.Reason}})
		}
		return w.s.audit.AppendAll(ctx, records)
	})
	if err != nil {
		w.s.log.WarnContext(ctx, "settle abandoned deliveries", "err", err)
	}
	// Rows queued a while ago and still due were lost from the queue —
	// or are still waiting in it behind a long backlog. Only an empty queue
	// tells them apart: until then only rows never queued are pushed.
	var stale time.Time
	if n, err := w.s.queue.Len(ctx); err == nil && n == 0 {
		stale = now.Add(-w.cfg.Requeue)
	}
	for range 20 { // at most 20 × 1000 per sweep
		ids, err := w.s.store.DueDeliveries(ctx, now, stale, 1000)
		if err != nil {
			w.s.log.WarnContext(ctx, "list due deliveries", "err", err)
			return
		}
		if len(ids) == 0 {
			return
		}
		if err := w.s.queue.Push(ctx, ids...); err != nil {
			w.s.log.WarnContext(ctx, "enqueue due deliveries", "err", err)
			return
		}
		if len(ids) < 1000 {
			return
		}
	}
}

// wait takes a slot of the global rate limit and waits for it.
func (w *Worker) wait(ctx context.Context) error {
	d, err := w.pacer.Reserve(ctx, "wx:subscribe_send", w.cfg.RatePerSecond)
	if err != nil {
		return err
	}
	if d > 0 {
		sleep(ctx, d)
	}
	return ctx.Err()
}

// Deliver makes one attempt at one delivery: claim it (unless another
// worker has it or it is done), take one of the recipient's grants, send,
// and record the outcome with its audit entry.
func (w *Worker) Deliver(ctx context.Context, id int64) error {
	var (
		c       Claim
		claimed bool
		tmpl    Template
		settled bool
	)
	now := w.s.now().UTC()
	err := w.s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		c, claimed, err = w.s.store.Claim(ctx, id, now, now.Add(w.cfg.Lease))
		if err != nil || !claimed {
			return err
		}
		var ok bool
		tmpl, ok = w.s.templates[c.TemplateKey]
		if !ok || tmpl.ID == "" {
			settled = true
			return w.settle(ctx, c, Outcome{State: StateSkipped, Reason: noTemplate}, now)
		}
		if c.OpenID == "" {
			settled = true
			return w.settle(ctx, c, Outcome{State: StateSkipped, Reason: "用户没有微信 openid"}, now)
		}
		took, err := w.s.store.TakeSubscription(ctx, c.UserID, tmpl.ID)
		if err != nil {
			return err
		}
		if !took {
			settled = true
			return w.settle(ctx, c, Outcome{State: StateSkipped, Reason: "用户没有可用的订阅（未授权或已用完），仅在小程序内可见"}, now)
		}
		return nil
	})
	if err != nil || !claimed || settled {
		return err
	}
	// Only a message that goes out takes a slot of the rate limit. The
	// wait is short (a few slots), well inside the claim's lease; a worker
	// dying in it leaves the delivery to the sweeper as one in doubt.
	var (
		msgID   int64
		sendErr error
	)
	if err := w.wait(ctx); err != nil {
		// No slot (Redis is down) or the server is stopping: nothing went
		// out. Give the claim and the grant back for a later try rather
		// than leave the delivery "sending" until its lease ends and the
		// sweeper fails it as in doubt (a Redis blip used to turn every
		// claimed delivery into a failure and use up its grant).
		sendErr = fmt.Errorf("%w: rate limit: %v", ErrUnavailable, err)
		ctx = context.WithoutCancel(ctx)
	} else {
		msgID, sendErr = w.sender.Send(ctx, Message{OpenID: c.OpenID, TemplateID: tmpl.ID, Page: c.Notice.Page, Data: fill(tmpl, c)})
	}
	o := w.classify(c, msgID, sendErr, w.s.now().UTC())
	return w.s.store.InTx(ctx, func(ctx context.Context) error {
		if o.Subscription != 0 {
			if err := w.s.store.AdjustSubscription(ctx, c.UserID, tmpl.ID, o.Subscription, now); err != nil {
				return err
			}
		}
		return w.settle(ctx, c, o, w.s.now().UTC())
	})
}

// deliveryStream is the audit stream of a delivery's state changes: its
// household's (so that workers settling one notice's deliveries do not all
// wait on one chain), or the notice's for a recipient outside households.
func deliveryStream(courtyardID int64, d Delivery) string {
	if d.HouseholdID != 0 {
		return audit.HouseholdStream(courtyardID, d.HouseholdID)
	}
	return NoticeStream(courtyardID, d.NoticeID)
}

func (w *Worker) settle(ctx context.Context, c Claim, o Outcome, now time.Time) error {
	if err := w.s.store.Settle(ctx, c.ID, o, now); err != nil {
		return err
	}
	detail := map[string]any{"user": c.UserID, "attempt": c.Attempts, "state": o.State}
	if o.MsgID != 0 {
		detail["msgid"] = o.MsgID
	}
	if o.ErrCode != 0 {
		detail["errcode"] = o.ErrCode
	}
	if o.Reason != "" {
		detail["reason"] = o.Reason
	}
	detail["notice"] = c.NoticeID
	return w.s.audit.Append(ctx, audit.Record{Stream: deliveryStream(c.Notice.CourtyardID, c.Delivery), Actor: "system",
		Action: "delivery." + o.State, Object: "delivery:" + itoa(c.ID), Detail: detail})
}

// maxUnavailableWait is the longest a delivery waits between tries while
// the circuit breaker in front of WeChat is open (it probes WeChat every
// 30 s).
const maxUnavailableWait = 30 * time.Second

// classify turns WeChat's answer into the delivery's next state.
func (w *Worker) classify(c Claim, msgID int64, err error, now time.Time) Outcome {
	if err == nil {
		return Outcome{State: StateSent, MsgID: msgID}
	}
	retry := func(code int, reason string, next time.Time) Outcome {
		if c.Attempts >= w.cfg.MaxAttempts {
			return Outcome{State: StateFailed, ErrCode: code, Reason: reason + "；已重试" + itoa(int64(c.Attempts)) + "次，不再重试", Subscription: +1}
		}
		return Outcome{State: StateRetried, ErrCode: code, Reason: reason, NextAt: next, Subscription: +1}
	}
	backoff := now.Add(time.Duration(1<<min(c.Attempts, 6)) * time.Second)
	var se *SendError
	switch {
	case errors.As(err, &se):
		switch se.Code {
		case -1:
			return retry(se.Code, "微信系统繁忙", backoff)
		case 45011:
			// The per-minute limit: wait for the next minute.
			return retry(se.Code, "微信接口调用超过每分钟限额", now.Truncate(time.Minute).Add(time.Minute))
		case 43101:
			return Outcome{State: StateRefused, ErrCode: se.Code, Reason: "用户拒绝接收或订阅次数已用完", Subscription: -1}
		case 40003:
			return Outcome{State: StateFailed, ErrCode: se.Code, Reason: "openid 无效", Subscription: +1}
		case 47003:
			return Outcome{State: StateFailed, ErrCode: se.Code, Reason: "模板参数不正确：" + se.Msg, Subscription: +1}
		case 40037, 41030, 40014, 40001, 42001:
			return Outcome{State: StateFailed, ErrCode: se.Code, Reason: "模板或调用凭证错误：" + se.Msg, Subscription: +1}
		}
		return Outcome{State: StateFailed, ErrCode: se.Code, Reason: "微信返回错误：" + se.Msg, Subscription: +1}
	case errors.Is(err, ErrUnavailable):
		// The call was never made (the circuit breaker is open while
		// WeChat fails): not an attempt worth giving up over. Without this,
		// a WeChat outage of a minute used up every delivery's attempts
		// against the open circuit and failed them all, none of them tried.
		next := now.Add(min(time.Duration(1<<min(c.Attempts, 6))*time.Second, maxUnavailableWait))
		return Outcome{State: StateRetried, Reason: "微信暂时不可用，稍后重试：" + trimErr(err), NextAt: next, Subscription: +1}
	case errors.Is(err, ErrUnknown):
		// The message may be out: sending it again could make two.
		return Outcome{State: StateFailed, Reason: "微信接口超时，结果未知；为避免重复发送不再重试", Subscription: 0}
	default:
		return retry(0, "暂时无法连接微信："+trimErr(err), backoff)
	}
}

func trimErr(err error) string {
	s := err.Error()
	if utf8.RuneCountInString(s) > 120 {
		s = string([]rune(s)[:120])
	}
	return s
}

// Limits of template values by keyword type (WeChat's subscribe message
// rules); a longer value is cut, not refused.
var valueLimits = map[string]int{
	"thing": 20, "character_string": 32, "number": 32, "letter": 32, "symbol": 5,
	"phrase": 5, "name": 10, "short_thing": 5, "phone_number": 17, "car_number": 8,
}

// keywordType is "thing" for "thing12".
func keywordType(keyword string) string {
	return strings.TrimRight(keyword, "0123456789")
}

// fill builds a template's data from a notice, each value cut to its
// keyword's limit.
func fill(t Template, c Claim) map[string]string {
	out := make(map[string]string, len(t.Fields))
	keys := make([]string, 0, len(t.Fields))
	for k := range t.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var v string
		switch t.Fields[k] {
		case "title":
			v = c.Notice.Title
		case "body":
			v = strings.Join(strings.Fields(c.Notice.Body), " ")
		case "time":
			v = ChinaTime(c.Notice.CreatedAt)
		case "courtyard":
			v = c.Courtyard
		case "kind":
			v = kindLabel(c.Notice.Kind)
		default:
			v = t.Fields[k]
		}
		if v == "" {
			v = "-"
		}
		if n, ok := valueLimits[keywordType(k)]; ok {
			v = cut(v, n)
		}
		out[k] = v
	}
	return out
}

func kindLabel(kind string) string {
	switch kind {
	case KindMotionOpened:
		return "表决开始"
	case KindMotionReminder:
		return "投票提醒"
	case KindMotionResult:
		return "表决结果"
	case KindDelegationReceived, KindDelegationAccepted, KindDelegationRevoked:
		return "投票委托"
	case KindPetitionClosed:
		return "征求结束"
	}
	return "楼院通知"
}
