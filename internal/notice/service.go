package notice

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// ErrSubscribeUsersOnly refuses a staff account subscribing to messages.
var ErrSubscribeUsersOnly = louyuan.Forbidden("users_only", "只有小程序用户可以订阅消息")

// canSend checks that p is council or staff of every courtyard the targets
// lie in, and returns those courtyards (the first is the notice's own).
func (s *Service) canSend(ctx context.Context, p identity.Principal, targets []Target, roles ...identity.Role) ([]int64, error) {
	if len(roles) == 0 {
		roles = identity.CouncilOrStaff
	}
	if len(targets) == 0 {
		return nil, louyuan.Forbidden("not_in_scope", "您无权向这个范围发通知")
	}
	var yards []int64
	seen := map[int64]bool{}
	for _, t := range targets {
		yard := t.ScopeID
		if t.ScopeType != ScopeCourtyard {
			var err error
			if yard, err = s.store.ScopeCourtyard(ctx, t.ScopeType, t.ScopeID); louyuan.IsKind(err, louyuan.KindNotFound) {
				return nil, louyuan.NotFound("scope_not_found", "通知范围里的楼栋或单元不存在")
			} else if err != nil {
				return nil, err
			}
		}
		if seen[yard] {
			continue
		}
		seen[yard] = true
		place, err := s.store.CourtyardPlace(ctx, yard)
		if err != nil {
			return nil, err
		}
		if !p.Can(place, roles...) {
			return nil, louyuan.Forbidden("not_in_scope", "您无权向这个范围发通知")
		}
		yards = append(yards, yard)
	}
	return yards, nil
}

// canActOn is canSend for an existing notice: a caller who is not council
// or staff where it was sent from hears that it does not exist
// (notice_not_found), as Get and ReportOf answer them.
func (s *Service) canActOn(ctx context.Context, p identity.Principal, n Notice, roles ...identity.Role) error {
	_, err := s.canSend(ctx, p, n.Targets, roles...)
	if louyuan.IsKind(err, louyuan.KindForbidden) {
		if _, serr := s.canSend(ctx, p, senderScope(n)); serr != nil {
			return louyuan.NotFound("notice_not_found", "没有这条通知")
		}
	}
	return err
}

// Create writes a notice after WeChat's content check: risky text is
// refused with the reason and nothing is written; text to review is held
// until staff approve it; passing text is a draft ready to send.
func (s *Service) Create(ctx context.Context, p identity.Principal, d Draft) (Notice, error) {
	if err := d.validate(); err != nil {
		return Notice{}, err
	}
	yards, err := s.canSend(ctx, p, d.Targets)
	if err != nil {
		return Notice{}, err
	}
	for _, img := range d.Images {
		ok := false
		for _, y := range yards {
			if ok, err = s.store.FileExists(ctx, img, "notice_image", y); err != nil {
				return Notice{}, err
			} else if ok {
				break
			}
		}
		if !ok {
			return Notice{}, louyuan.Invalid("image_not_found", "附图不存在：请先上传图片（用途 notice_image）")
		}
	}
	openID := ""
	if p.Kind == identity.KindUser {
		if openID, err = s.store.OpenID(ctx, p.ID); err != nil {
			return Notice{}, err
		}
	}
	verdict, err := s.content.Check(ctx, openID, d.Title+"\n"+d.Body)
	if err != nil {
		return Notice{}, err
	}
	n := Notice{CourtyardID: yards[0], Kind: KindNotice, Title: d.Title, Body: d.Body, Images: d.Images, Targets: d.Targets,
		CheckResult: verdict, CreatedBy: p.Ref(), CreatedAt: s.now().UTC()}
	switch verdict {
	case "pass":
		n.Status = StatusDraft
	case "review":
		n.Status = StatusReview
	default:
		return Notice{}, &louyuan.Error{Kind: louyuan.KindInvalid, Code: "content_risky",
			Message: "通知内容未通过微信内容安全检测，请修改后再发", Details: map[string]any{"suggest": verdict}}
	}
	if n.Images == nil {
		n.Images = []string{}
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if n, _, err = s.store.CreateNotice(ctx, n); err != nil {
			return err
		}
		n.Page = pageOf(n)
		if err := s.store.UpdateNotice(ctx, n, n.Status); err != nil {
			return err
		}
		return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(n.CourtyardID), Actor: p.Ref(), Action: "notice.create",
			Object: noticeRef(n.ID), Detail: map[string]any{"title": n.Title, "check": verdict, "targets": len(n.Targets)}})
	})
	return n, err
}

// senderScope is where the people who may see a notice's recipients work:
// its targets, or for a system notice (no targets) its courtyard.
func senderScope(n Notice) []Target {
	if len(n.Targets) == 0 {
		return []Target{{ScopeType: ScopeCourtyard, ScopeID: n.CourtyardID}}
	}
	return n.Targets
}

func pageOf(n Notice) string { return "pages/notice/detail?id=" + itoa(n.ID) }

// Approve lets staff publish a notice the content check held for review.
func (s *Service) Approve(ctx context.Context, p identity.Principal, id int64) (Notice, error) {
	var out Notice
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		n, err := s.store.LockNotice(ctx, id)
		if err != nil {
			return err
		}
		if err := s.canActOn(ctx, p, n, identity.StaffRoles...); err != nil {
			return err
		}
		if n.Status != StatusReview {
			return louyuan.Conflict("not_in_review", "这条通知不需要审核")
		}
		n.Status, n.ApprovedBy = StatusDraft, p.Ref()
		if err := s.store.UpdateNotice(ctx, n, StatusReview); err != nil {
			return err
		}
		out = n
		return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(n.CourtyardID), Actor: p.Ref(), Action: "notice.approve", Object: noticeRef(n.ID)})
	})
	return out, err
}

// Send writes one delivery per recipient with the notice's change to sent,
// in one transaction, then puts them on the queue. A crash between the two
// is repaired by the sweeper.
func (s *Service) Send(ctx context.Context, p identity.Principal, id int64) (Notice, int, error) {
	var (
		out Notice
		ids []int64
	)
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		n, err := s.store.LockNotice(ctx, id)
		if err != nil {
			return err
		}
		if err := s.canActOn(ctx, p, n); err != nil {
			return err
		}
		switch n.Status {
		case StatusReview:
			return louyuan.Conflict("awaiting_review", "这条通知正在等待工作人员审核，审核通过后才能发送")
		case StatusSent:
			return louyuan.Conflict("already_sent", "这条通知已经发送过了")
		}
		rs, err := s.store.Recipients(ctx, n.Targets)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		state, reason := s.initialState(n.Kind)
		if ids, err = s.store.InsertDeliveries(ctx, n.ID, n.Kind, rs, state, reason, now, state == StatePending); err != nil {
			return err
		}
		n.Status, n.SentAt = StatusSent, &now
		if err := s.store.UpdateNotice(ctx, n, StatusDraft); err != nil {
			return err
		}
		out = n
		return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(n.CourtyardID), Actor: p.Ref(), Action: "notice.send",
			Object: noticeRef(n.ID), Detail: map[string]any{"recipients": len(rs)}})
	})
	if err != nil {
		return Notice{}, 0, err
	}
	if st, _ := s.initialState(out.Kind); st == StatePending {
		s.enqueue(ctx, ids)
	}
	return out, len(ids), nil
}

// noTemplate is why a delivery of a kind without a template sends nothing.
const noTemplate = "未配置这类通知的订阅消息模板，仅在小程序内可见"

// initialState is where a new delivery of a kind starts: pending when the
// kind has a subscribe template, otherwise skipped at once (inbox only),
// so that the workers never see it.
func (s *Service) initialState(kind string) (string, string) {
	if t, ok := s.templates[kind]; ok && t.ID != "" {
		return StatePending, ""
	}
	return StateSkipped, noTemplate
}

// enqueue puts deliveries on the queue; a failure only delays them until
// the sweeper finds them.
func (s *Service) enqueue(ctx context.Context, ids []int64) {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		if err := s.queue.Push(ctx, ids[:n]...); err != nil {
			s.log.WarnContext(ctx, "enqueue deliveries; the sweeper will pick them up", "err", err)
			return
		}
		ids = ids[n:]
	}
}

// View is a notice as its reader or sender sees it.
type View struct {
	Notice
	// For the sender: how many people it goes (or went) to.
	Recipients *int `json:"recipients,omitempty"`
	// For a recipient: when they read it.
	ReadAt *time.Time `json:"read_at,omitempty"`
}

// Get shows a notice to a recipient or to council and staff in scope.
func (s *Service) Get(ctx context.Context, p identity.Principal, id int64) (View, error) {
	n, err := s.store.Notice(ctx, id)
	if err != nil {
		return View{}, err
	}
	if p.Kind == identity.KindUser {
		if d, ok, err := s.store.Delivery(ctx, id, p.ID); err != nil {
			return View{}, err
		} else if ok {
			return View{Notice: n, ReadAt: d.ReadAt}, nil
		}
	}
	if _, err := s.canSend(ctx, p, senderScope(n)); err != nil {
		return View{}, louyuan.NotFound("notice_not_found", "没有这条通知")
	}
	v := View{Notice: n}
	var count int
	if n.Status == StatusSent {
		count, err = s.store.DeliveryCount(ctx, id)
	} else {
		count, err = s.store.RecipientCount(ctx, n.Targets)
	}
	if err != nil {
		return View{}, err
	}
	v.Recipients = &count
	return v, nil
}

// Image checks that p may see the notice (a recipient, or council and
// staff in scope) and that key is one of its images.
func (s *Service) Image(ctx context.Context, p identity.Principal, id int64, key string) error {
	v, err := s.Get(ctx, p, id)
	if err != nil {
		return err
	}
	for _, img := range v.Images {
		if img == key {
			return nil
		}
	}
	return louyuan.NotFound("file_not_found", "文件不存在")
}

// Preview counts who a notice to targets would reach.
func (s *Service) Preview(ctx context.Context, p identity.Principal, targets []Target) (int, error) {
	d := Draft{Targets: targets, Title: "-", Body: "-"}
	if err := d.validate(); err != nil {
		return 0, err
	}
	if _, err := s.canSend(ctx, p, targets); err != nil {
		return 0, err
	}
	return s.store.RecipientCount(ctx, targets)
}

// List shows a page of a courtyard's notices to its council and staff,
// newest first, and how many pass the filter in all. A Limit of 0 or
// less lists the 200 newest (the mini-program's unpaged list).
func (s *Service) List(ctx context.Context, p identity.Principal, courtyardID int64, f ListFilter) ([]Notice, int, error) {
	if _, err := s.canSend(ctx, p, []Target{{ScopeType: ScopeCourtyard, ScopeID: courtyardID}}); err != nil {
		return nil, 0, err
	}
	if f.Limit <= 0 {
		f.Offset, f.Limit = 0, 200
	}
	return s.store.CourtyardNotices(ctx, courtyardID, f)
}

// ReportOf shows a sent notice's deliveries and read receipts to its
// senders.
func (s *Service) ReportOf(ctx context.Context, p identity.Principal, id int64) (Report, error) {
	n, err := s.store.Notice(ctx, id)
	if err != nil {
		return Report{}, err
	}
	if _, err := s.canSend(ctx, p, senderScope(n)); err != nil {
		return Report{}, louyuan.NotFound("notice_not_found", "没有这条通知")
	}
	return s.store.Report(ctx, id)
}

// Inbox lists a user's notices, newest first, and how many are unread.
func (s *Service) Inbox(ctx context.Context, p identity.Principal) ([]InboxItem, int, error) {
	if p.Kind != identity.KindUser {
		return nil, 0, louyuan.Forbidden("users_only", "只有小程序用户有通知收件箱")
	}
	items, err := s.store.Inbox(ctx, p.ID, 200)
	if err != nil {
		return nil, 0, err
	}
	unread, err := s.store.UnreadCount(ctx, p.ID)
	return items, unread, err
}

// UnreadCount is the badge of the mini-program's notice tab.
func (s *Service) UnreadCount(ctx context.Context, p identity.Principal) (int, error) {
	if p.Kind != identity.KindUser {
		return 0, louyuan.Forbidden("users_only", "只有小程序用户有通知收件箱")
	}
	return s.store.UnreadCount(ctx, p.ID)
}

// MarkRead records that the user has read the notice (the first time only).
func (s *Service) MarkRead(ctx context.Context, p identity.Principal, id int64) error {
	if p.Kind != identity.KindUser {
		return louyuan.Forbidden("users_only", "只有收到通知的住户可以标记已读")
	}
	ok, err := s.store.MarkRead(ctx, id, p.ID, s.now().UTC())
	if err != nil {
		return err
	}
	if !ok {
		if _, found, err := s.store.Delivery(ctx, id, p.ID); err != nil {
			return err
		} else if !found {
			return louyuan.NotFound("notice_not_found", "没有这条通知")
		}
	}
	return nil
}

// Subscription results the mini-program reports from requestSubscribeMessage.
var subscribeResults = map[string]bool{"accept": true, "reject": true, "ban": true, "filter": true}

// Subscribe records the answers of one requestSubscribeMessage call:
// template ID → "accept", "reject", "ban" or "filter". Each accept allows
// one message of that template.
func (s *Service) Subscribe(ctx context.Context, p identity.Principal, results map[string]string) (map[string]int, error) {
	if p.Kind != identity.KindUser {
		return nil, ErrSubscribeUsersOnly
	}
	if len(results) == 0 || len(results) > 20 {
		return nil, louyuan.Invalid("bad_results", "请提交1到20个模板的订阅结果")
	}
	known := map[string]bool{}
	for _, t := range s.templates {
		known[t.ID] = true
	}
	for id, r := range results {
		if !known[id] {
			return nil, louyuan.Invalid("unknown_template", fmt.Sprintf("未知的消息模板：%s", id))
		}
		if !subscribeResults[r] {
			return nil, louyuan.Invalid("bad_result", "订阅结果只能是 accept、reject、ban 或 filter")
		}
	}
	now := s.now().UTC()
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		for id, r := range results {
			if err := s.store.AddSubscription(ctx, p.ID, id, r, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.store.Subscriptions(ctx, p.ID)
}

// SubscriptionView is what the mini-program needs to ask for grants.
type SubscriptionView struct {
	Kind       string `json:"kind"`
	TemplateID string `json:"template_id"`
	Remaining  int    `json:"remaining"`
}

// MySubscriptions lists each configured template and the user's grants.
func (s *Service) MySubscriptions(ctx context.Context, p identity.Principal) ([]SubscriptionView, error) {
	if p.Kind != identity.KindUser {
		return nil, ErrSubscribeUsersOnly
	}
	have, err := s.store.Subscriptions(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	out := []SubscriptionView{}
	for _, k := range Kinds {
		if t, ok := s.templates[k]; ok && t.ID != "" {
			out = append(out, SubscriptionView{Kind: k, TemplateID: t.ID, Remaining: have[t.ID]})
		}
	}
	return out, nil
}

// Event is a system notice: one per key, whoever sends it first.
type Event struct {
	Key         string
	Kind        string
	CourtyardID int64
	Title       string
	Body        string
	Page        string
	To          EventRecipients
}

// Notify writes a system notice and its deliveries inside the caller's
// transaction (carried by ctx): they commit or roll back with the change
// they tell about, and the sweeper puts them on the queue. An event already
// notified is skipped.
func (s *Service) Notify(ctx context.Context, e Event) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.now().UTC()
		n := Notice{CourtyardID: e.CourtyardID, Kind: e.Kind, EventKey: e.Key, Title: cut(e.Title, MaxTitle), Body: e.Body, Images: []string{},
			Page: e.Page, Status: StatusSent, CheckResult: "system", CreatedBy: "system", CreatedAt: now, SentAt: &now}
		n, created, err := s.store.CreateNotice(ctx, n)
		if err != nil || !created {
			return err
		}
		if n.Page == "" {
			n.Page = pageOf(n)
			if err := s.store.UpdateNotice(ctx, n, StatusSent); err != nil {
				return err
			}
		}
		rs, err := s.store.EventRecipients(ctx, e.To)
		if err != nil {
			return err
		}
		// Not marked as enqueued: the sweeper takes them after the commit.
		state, reason := s.initialState(e.Kind)
		if _, err := s.store.InsertDeliveries(ctx, n.ID, e.Kind, rs, state, reason, now, false); err != nil {
			return err
		}
		return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(n.CourtyardID), Actor: "system", Action: "notice.send",
			Object: noticeRef(n.ID), Detail: map[string]any{"kind": e.Kind, "event": e.Key, "recipients": len(rs)}})
	})
}

// Remind sends the reminder of each motion closing within ReminderBefore
// to the households that have not voted yet — but not before half of the
// voting period has passed, so that a short vote does not remind people
// the moment it opens. Several instances may run it at once: the event key
// lets one reminder per motion through.
func (s *Service) Remind(ctx context.Context) {
	now := s.now().UTC()
	ms, err := s.store.MotionsClosingBy(ctx, now, now.Add(s.ReminderBefore))
	if err != nil {
		s.log.WarnContext(ctx, "list motions to remind", "err", err)
		return
	}
	for _, m := range ms {
		if now.Before(m.OpenedAt.Add(m.ClosesAt.Sub(m.OpenedAt) / 2)) {
			continue
		}
		err := s.Notify(ctx, Event{Key: KindMotionReminder + ":" + itoa(m.ID), Kind: KindMotionReminder, CourtyardID: m.CourtyardID,
			Title: "表决即将截止：" + m.Title, Body: "您家还没有投票。投票截止时间：" + ChinaTime(m.ClosesAt) + "。请在截止前投票。",
			Page: "pages/motion/detail?id=" + itoa(m.ID), To: EventRecipients{Motion: m.ID, NotVoted: true}})
		if err != nil {
			s.log.WarnContext(ctx, "send reminder", "motion", m.ID, "err", err)
		}
	}
}

// ChinaTime formats t as residents read it: "2026年11月26日 15:04" (UTC+8).
func ChinaTime(t time.Time) string { return t.In(louyuan.China).Format("2006年1月2日 15:04") }

// cut shortens s to at most n characters, ending with "…" when cut.
func cut(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}
