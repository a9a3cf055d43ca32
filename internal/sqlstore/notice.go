package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/notice"
)

// Notices is the notice.Store on SQL.
type Notices struct {
	db     *DB
	voting *Voting

	mu    sync.Mutex
	cache map[int64]noticeCached // sent notices never change: workers read each once
}

type noticeCached struct {
	n         notice.Notice
	courtyard string
}

// NewNotices returns the notice store of db.
func NewNotices(db *DB) *Notices {
	return &Notices{db: db, voting: NewVoting(db), cache: map[int64]noticeCached{}}
}

var _ notice.Store = (*Notices)(nil)

// InTx runs fn in a transaction.
func (s *Notices) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// CourtyardPlace returns where a courtyard lies.
func (s *Notices) CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error) {
	c, err := s.voting.Courtyard(ctx, courtyardID)
	return c.Place, err
}

// ScopeCourtyard finds the courtyard of a building or unit.
func (s *Notices) ScopeCourtyard(ctx context.Context, scopeType string, scopeID int64) (int64, error) {
	return s.voting.ScopeCourtyard(ctx, scopeType, scopeID)
}

// OpenID returns a user's WeChat openid.
func (s *Notices) OpenID(ctx context.Context, userID int64) (string, error) {
	u, err := NewIdentity(s.db).User(ctx, userID)
	return u.OpenID, err
}

// FileExists reports whether a stored file of that purpose belongs to the
// courtyard.
func (s *Notices) FileExists(ctx context.Context, key, purpose string, courtyardID int64) (bool, error) {
	return s.voting.FileExists(ctx, key, purpose, courtyardID)
}

type noticeRow struct {
	ID          int64 `gorm:"primaryKey"`
	CourtyardID int64
	Kind        string
	EventKey    *string
	Title       string
	Body        string
	Images      string
	Page        string
	Status      string
	CheckResult string
	CreatedBy   string
	CreatedAt   time.Time
	ApprovedBy  *string
	SentAt      *time.Time
}

func (noticeRow) TableName() string { return "notices" }

func (r noticeRow) toNotice() notice.Notice {
	n := notice.Notice{ID: r.ID, CourtyardID: r.CourtyardID, Kind: r.Kind, Title: r.Title, Body: r.Body, Page: r.Page, Status: r.Status,
		CheckResult: r.CheckResult, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), Images: []string{}}
	_ = json.Unmarshal([]byte(r.Images), &n.Images)
	if r.EventKey != nil {
		n.EventKey = *r.EventKey
	}
	if r.ApprovedBy != nil {
		n.ApprovedBy = *r.ApprovedBy
	}
	if r.SentAt != nil {
		t := r.SentAt.UTC()
		n.SentAt = &t
	}
	return n
}

type noticeTargetRow struct {
	NoticeID  int64 `gorm:"primaryKey"`
	ScopeType string
	ScopeID   int64
}

func (noticeTargetRow) TableName() string { return "notice_targets" }

// CreateNotice inserts a notice and its targets. A notice whose event key
// exists is not inserted (created false).
func (s *Notices) CreateNotice(ctx context.Context, n notice.Notice) (notice.Notice, bool, error) {
	images, _ := json.Marshal(n.Images)
	row := noticeRow{CourtyardID: n.CourtyardID, Kind: n.Kind, EventKey: nullString(n.EventKey), Title: n.Title, Body: n.Body,
		Images: string(images), Page: n.Page, Status: n.Status, CheckResult: n.CheckResult, CreatedBy: n.CreatedBy, CreatedAt: n.CreatedAt,
		ApprovedBy: nullString(n.ApprovedBy), SentAt: n.SentAt}
	conn := s.db.conn(ctx)
	if n.EventKey != "" {
		var ids []int64
		if err := conn.Model(&noticeRow{}).Where("event_key = ?", n.EventKey).Pluck("id", &ids).Error; err != nil {
			return n, false, wrap(err, "find event notice")
		}
		if len(ids) > 0 {
			return n, false, nil
		}
	}
	if err := conn.Create(&row).Error; err != nil {
		if isDuplicate(err) && n.EventKey != "" {
			return n, false, nil // another instance notified it a moment ago
		}
		return n, false, wrap(err, "create notice")
	}
	n.ID = row.ID
	if len(n.Targets) > 0 {
		ts := make([]noticeTargetRow, len(n.Targets))
		for i, t := range n.Targets {
			ts[i] = noticeTargetRow{NoticeID: n.ID, ScopeType: t.ScopeType, ScopeID: t.ScopeID}
		}
		if err := conn.Create(&ts).Error; err != nil {
			return n, false, wrap(err, "create notice targets")
		}
	}
	return n, true, nil
}

func (s *Notices) notice(ctx context.Context, id int64, lock bool) (notice.Notice, error) {
	var rows []noticeRow
	q := s.db.conn(ctx).Where("id = ?", id)
	if lock {
		q = s.db.forUpdate(q)
	}
	if err := q.Find(&rows).Error; err != nil {
		return notice.Notice{}, wrap(err, "read notice")
	}
	if len(rows) == 0 {
		return notice.Notice{}, louyuan.NotFound("notice_not_found", "没有这条通知")
	}
	n := rows[0].toNotice()
	var ts []noticeTargetRow
	if err := s.db.conn(ctx).Where("notice_id = ?", id).Order("scope_type, scope_id").Find(&ts).Error; err != nil {
		return n, wrap(err, "read notice targets")
	}
	n.Targets = make([]notice.Target, len(ts))
	for i, t := range ts {
		n.Targets[i] = notice.Target{ScopeType: t.ScopeType, ScopeID: t.ScopeID}
	}
	return n, nil
}

// Notice reads a notice with its targets.
func (s *Notices) Notice(ctx context.Context, id int64) (notice.Notice, error) {
	return s.notice(ctx, id, false)
}

// LockNotice reads a notice and locks it.
func (s *Notices) LockNotice(ctx context.Context, id int64) (notice.Notice, error) {
	return s.notice(ctx, id, true)
}

// UpdateNotice writes a notice's status, page, approver and sending time
// if it is still in status from.
func (s *Notices) UpdateNotice(ctx context.Context, n notice.Notice, from string) error {
	res := s.db.conn(ctx).Model(&noticeRow{}).Where("id = ? AND status = ?", n.ID, from).
		Updates(map[string]any{"status": n.Status, "page": n.Page, "approved_by": nullString(n.ApprovedBy), "sent_at": n.SentAt})
	if res.Error != nil {
		return wrap(res.Error, "update notice")
	}
	if res.RowsAffected != 1 {
		return louyuan.Conflict("wrong_status", "通知状态已被其他操作改变，请刷新后重试")
	}
	return nil
}

// CourtyardNotices lists a page of a courtyard's notices that pass f,
// newest first, and counts all that pass f.
func (s *Notices) CourtyardNotices(ctx context.Context, courtyardID int64, f notice.ListFilter) ([]notice.Notice, int, error) {
	q := s.db.conn(ctx).Model(&noticeRow{}).Where("courtyard_id = ?", courtyardID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Title != "" {
		q = q.Where("title LIKE ? ESCAPE '!'", "%"+likeEscaper.Replace(f.Title)+"%")
	}
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, 0, wrap(err, "count notices")
	}
	var rows []noticeRow
	if err := q.Order("id DESC").Offset(f.Offset).Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, 0, wrap(err, "list notices")
	}
	out := make([]notice.Notice, len(rows))
	for i, r := range rows {
		out[i] = r.toNotice()
	}
	return out, int(total), s.withTargets(ctx, out)
}

// withTargets fills in the targets of listed notices in one query (a
// system notice has none: an empty list).
func (s *Notices) withTargets(ctx context.Context, ns []notice.Notice) error {
	if len(ns) == 0 {
		return nil
	}
	ids := make([]int64, len(ns))
	at := make(map[int64]int, len(ns))
	for i := range ns {
		ids[i], at[ns[i].ID] = ns[i].ID, i
		ns[i].Targets = []notice.Target{}
	}
	var ts []noticeTargetRow
	if err := s.db.conn(ctx).Where("notice_id IN ?", ids).Order("notice_id, scope_type, scope_id").Find(&ts).Error; err != nil {
		return wrap(err, "read notice targets")
	}
	for _, t := range ts {
		n := &ns[at[t.NoticeID]]
		n.Targets = append(n.Targets, notice.Target{ScopeType: t.ScopeType, ScopeID: t.ScopeID})
	}
	return nil
}

// recipientScope is the WHERE clause choosing the households in targets
// (aliased h), and its arguments; empty when there are no targets.
func recipientScope(targets []notice.Target) (string, []any) {
	var conds []string
	var args []any
	by := map[string][]int64{}
	for _, t := range targets {
		by[t.ScopeType] = append(by[t.ScopeType], t.ScopeID)
	}
	for _, col := range []struct{ scope, column string }{{notice.ScopeCourtyard, "h.courtyard_id"}, {notice.ScopeBuilding, "h.building_id"}, {notice.ScopeUnit, "h.unit_id"}} {
		if ids := by[col.scope]; len(ids) > 0 {
			conds = append(conds, col.column+" IN ?")
			args = append(args, ids)
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// Recipients lists the users bound to households in the targets, each once
// (with the first of their households there).
func (s *Notices) Recipients(ctx context.Context, targets []notice.Target) ([]notice.Recipient, error) {
	where, args := recipientScope(targets)
	if where == "" {
		return nil, nil
	}
	return s.recipients(ctx, "SELECT m.user_id, MIN(m.household_id) FROM memberships m JOIN households h ON h.id = m.household_id WHERE "+
		where+" GROUP BY m.user_id ORDER BY m.user_id", args...)
}

// RecipientCount counts the users Recipients would list.
func (s *Notices) RecipientCount(ctx context.Context, targets []notice.Target) (int, error) {
	where, args := recipientScope(targets)
	if where == "" {
		return 0, nil
	}
	var n int64
	err := s.db.conn(ctx).Raw("SELECT COUNT(DISTINCT m.user_id) FROM memberships m JOIN households h ON h.id = m.household_id WHERE "+where, args...).Scan(&n).Error
	return int(n), wrap(err, "count recipients")
}

// DeliveryCount counts a notice's recipients.
func (s *Notices) DeliveryCount(ctx context.Context, noticeID int64) (int, error) {
	var n int64
	err := s.db.conn(ctx).Model(&deliveryRow{}).Where("notice_id = ?", noticeID).Count(&n).Error
	return int(n), wrap(err, "count deliveries")
}

func (s *Notices) recipients(ctx context.Context, q string, args ...any) ([]notice.Recipient, error) {
	rows, err := s.db.conn(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, wrap(err, "list recipients")
	}
	defer rows.Close()
	var out []notice.Recipient
	for rows.Next() {
		var r notice.Recipient
		if err := rows.Scan(&r.UserID, &r.HouseholdID); err != nil {
			return nil, wrap(err, "list recipients")
		}
		out = append(out, r)
	}
	return out, wrap(rows.Err(), "list recipients")
}

// EventRecipients lists the recipients of a system notice.
func (s *Notices) EventRecipients(ctx context.Context, q notice.EventRecipients) ([]notice.Recipient, error) {
	switch {
	case q.Motion != 0 && q.NotVoted:
		return s.recipients(ctx, `SELECT m.user_id, MIN(e.household_id) FROM motion_electorate e
JOIN memberships m ON m.household_id = e.household_id AND m.representative = 1
WHERE e.motion_id = ? AND NOT EXISTS (SELECT 1 FROM counted_ballots c WHERE c.motion_id = e.motion_id AND c.household_id = e.household_id AND c.channel <> 'withdrawn')
GROUP BY m.user_id ORDER BY m.user_id`, q.Motion)
	case q.Motion != 0:
		return s.recipients(ctx, `SELECT m.user_id, MIN(e.household_id) FROM motion_electorate e
JOIN memberships m ON m.household_id = e.household_id AND m.representative = 1
WHERE e.motion_id = ? GROUP BY m.user_id ORDER BY m.user_id`, q.Motion)
	case q.Petition != 0:
		return s.recipients(ctx, `SELECT m.user_id, MIN(g.household_id) FROM signatures g
JOIN memberships m ON m.household_id = g.household_id AND m.representative = 1
WHERE g.petition_id = ? GROUP BY m.user_id ORDER BY m.user_id`, q.Petition)
	case q.Household != 0:
		return s.recipients(ctx, "SELECT user_id, household_id FROM memberships WHERE household_id = ? AND representative = 1", q.Household)
	case len(q.Users) > 0:
		return s.recipients(ctx, "SELECT id, 0 FROM users WHERE id IN ? ORDER BY id", q.Users)
	}
	return nil, nil
}

// InsertDeliveries writes one pending delivery per recipient.
func (s *Notices) InsertDeliveries(ctx context.Context, noticeID int64, templateKey string, rs []notice.Recipient, state, reason string, now time.Time, enqueued bool) ([]int64, error) {
	conn := s.db.conn(ctx)
	var enq *time.Time
	if enqueued {
		enq = &now
	}
	for len(rs) > 0 {
		n := min(len(rs), 500)
		var b strings.Builder
		b.WriteString("INSERT INTO notice_deliveries (notice_id, user_id, household_id, template_key, state, attempts, next_at, enqueued_at, reason, created_at, updated_at) VALUES ")
		args := make([]any, 0, 10*n)
		for i, r := range rs[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)")
			args = append(args, noticeID, r.UserID, nullInt(r.HouseholdID), templateKey, state, now, enq, reason, now, now)
		}
		if err := conn.Exec(b.String(), args...).Error; err != nil {
			return nil, wrap(err, "write deliveries")
		}
		rs = rs[n:]
	}
	var ids []int64
	err := conn.Model(&deliveryRow{}).Where("notice_id = ?", noticeID).Order("id").Pluck("id", &ids).Error
	return ids, wrap(err, "read delivery ids")
}

type deliveryRow struct {
	ID          int64 `gorm:"primaryKey"`
	NoticeID    int64
	UserID      int64
	HouseholdID *int64
	TemplateKey string
	State       string
	Attempts    int
	NextAt      time.Time
	EnqueuedAt  *time.Time
	LeaseUntil  *time.Time
	MsgID       *int64
	Errcode     *int
	Reason      string
	ReadAt      *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (deliveryRow) TableName() string { return "notice_deliveries" }

func (r deliveryRow) toDelivery() notice.Delivery {
	d := notice.Delivery{ID: r.ID, NoticeID: r.NoticeID, UserID: r.UserID, TemplateKey: r.TemplateKey, State: r.State, Attempts: r.Attempts,
		NextAt: r.NextAt.UTC(), Reason: r.Reason}
	if r.HouseholdID != nil {
		d.HouseholdID = *r.HouseholdID
	}
	if r.MsgID != nil {
		d.MsgID = *r.MsgID
	}
	if r.Errcode != nil {
		d.ErrCode = *r.Errcode
	}
	if r.ReadAt != nil {
		t := r.ReadAt.UTC()
		d.ReadAt = &t
	}
	return d
}

// DueDeliveries lists deliveries to put on the queue and marks them.
func (s *Notices) DueDeliveries(ctx context.Context, now, staleBefore time.Time, limit int) ([]int64, error) {
	var ids []int64
	conn := s.db.conn(ctx)
	q := conn.Model(&deliveryRow{}).Where("state IN ? AND next_at <= ?", []string{notice.StatePending, notice.StateRetried}, now)
	if staleBefore.IsZero() {
		q = q.Where("enqueued_at IS NULL")
	} else {
		q = q.Where("(enqueued_at IS NULL OR enqueued_at < ?)", staleBefore)
	}
	err := q.Order("next_at, id").Limit(limit).Pluck("id", &ids).Error
	if err != nil || len(ids) == 0 {
		return nil, wrap(err, "list due deliveries")
	}
	err = conn.Model(&deliveryRow{}).Where("id IN ?", ids).Update("enqueued_at", now).Error
	return ids, wrap(err, "mark deliveries enqueued")
}

// AbandonLeases fails deliveries whose worker died mid-send, a thousand
// at most per call.
func (s *Notices) AbandonLeases(ctx context.Context, now time.Time) ([]notice.Delivery, error) {
	var rows []deliveryRow
	conn := s.db.conn(ctx)
	q := conn.Where("state = ? AND lease_until < ?", notice.StateSending, now).Order("id").Limit(1000)
	if err := s.db.forUpdate(q).Find(&rows).Error; err != nil {
		return nil, wrap(err, "find abandoned deliveries")
	}
	if len(rows) == 0 {
		return nil, nil
	}
	const reason = "发送过程中服务中断，结果未知；为避免重复发送不再重试"
	ids := make([]int64, len(rows))
	out := make([]notice.Delivery, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		r.State, r.Reason = notice.StateFailed, reason
		out[i] = r.toDelivery()
	}
	err := conn.Model(&deliveryRow{}).Where("id IN ?", ids).
		Updates(map[string]any{"state": notice.StateFailed, "lease_until": nil, "updated_at": now, "reason": reason}).Error
	if err != nil {
		return nil, wrap(err, "fail abandoned deliveries")
	}
	return out, nil
}

// Claim moves a due delivery to sending for one attempt.
func (s *Notices) Claim(ctx context.Context, id int64, now, leaseUntil time.Time) (notice.Claim, bool, error) {
	conn := s.db.conn(ctx)
	res := conn.Exec("UPDATE notice_deliveries SET state = ?, attempts = attempts + 1, lease_until = ?, updated_at = ? WHERE id = ? AND state IN (?, ?) AND next_at <= ?",
		notice.StateSending, leaseUntil, now, id, notice.StatePending, notice.StateRetried, now)
	if res.Error != nil {
		return notice.Claim{}, false, wrap(res.Error, "claim delivery")
	}
	if res.RowsAffected != 1 {
		return notice.Claim{}, false, nil
	}
	var row struct {
		Row    deliveryRow `gorm:"embedded"`
		OpenID string      `gorm:"column:openid"`
	}
	if err := conn.Raw("SELECT d.*, u.openid FROM notice_deliveries d JOIN users u ON u.id = d.user_id WHERE d.id = ?", id).Scan(&row).Error; err != nil {
		return notice.Claim{}, false, wrap(err, "read delivery")
	}
	c := notice.Claim{Delivery: row.Row.toDelivery(), OpenID: row.OpenID}
	s.mu.Lock()
	nc, ok := s.cache[row.Row.NoticeID]
	s.mu.Unlock()
	if !ok {
		n, err := s.Notice(ctx, row.Row.NoticeID)
		if err != nil {
			return notice.Claim{}, false, err
		}
		nc.n = n
		if err := conn.Raw("SELECT name FROM courtyards WHERE id = ?", n.CourtyardID).Row().Scan(&nc.courtyard); err != nil {
			return notice.Claim{}, false, wrap(err, "read courtyard name")
		}
		s.mu.Lock()
		if len(s.cache) > 1000 {
			clear(s.cache)
		}
		s.cache[row.Row.NoticeID] = nc
		s.mu.Unlock()
	}
	c.Notice, c.Courtyard = nc.n, nc.courtyard
	return c, true, nil
}

// TakeSubscription uses one grant of the template.
func (s *Notices) TakeSubscription(ctx context.Context, userID int64, templateID string) (bool, error) {
	res := s.db.conn(ctx).Exec("UPDATE subscriptions SET remaining = remaining - 1 WHERE user_id = ? AND template_id = ? AND remaining > 0", userID, templateID)
	return res.RowsAffected == 1, wrap(res.Error, "take subscription")
}

// AdjustSubscription gives back (delta 1) or uses up (delta -1: all) grants.
func (s *Notices) AdjustSubscription(ctx context.Context, userID int64, templateID string, delta int, now time.Time) error {
	conn := s.db.conn(ctx)
	if delta < 0 {
		return wrap(conn.Exec("UPDATE subscriptions SET remaining = 0, last_result = 'used_up', updated_at = ? WHERE user_id = ? AND template_id = ?",
			now, userID, templateID).Error, "use up subscription")
	}
	return wrap(conn.Exec("UPDATE subscriptions SET remaining = remaining + ?, updated_at = ? WHERE user_id = ? AND template_id = ?",
		delta, now, userID, templateID).Error, "give back subscription")
}

// Settle records the outcome of a delivery's attempt.
func (s *Notices) Settle(ctx context.Context, id int64, o notice.Outcome, now time.Time) error {
	set := map[string]any{"state": o.State, "lease_until": nil, "reason": o.Reason, "updated_at": now, "errcode": nil}
	if o.ErrCode != 0 {
		set["errcode"] = o.ErrCode
	}
	if o.MsgID != 0 {
		set["msg_id"] = o.MsgID
	}
	if o.State == notice.StateRetried {
		set["next_at"], set["enqueued_at"] = o.NextAt, nil
	}
	res := s.db.conn(ctx).Model(&deliveryRow{}).Where("id = ? AND state = ?", id, notice.StateSending).Updates(set)
	if res.Error != nil {
		return wrap(res.Error, "settle delivery")
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("delivery %d was not in sending when settled", id)
	}
	return nil
}

// AddSubscription records a requestSubscribeMessage answer: accept adds a
// grant.
func (s *Notices) AddSubscription(ctx context.Context, userID int64, templateID, result string, now time.Time) error {
	add := 0
	if result == "accept" {
		add = 1
	}
	conn := s.db.conn(ctx)
	q := "INSERT INTO subscriptions (user_id, template_id, remaining, last_result, updated_at) VALUES (?, ?, ?, ?, ?) "
	if s.db.Dialect == MySQL {
		q += "ON DUPLICATE KEY UPDATE remaining = remaining + VALUES(remaining), last_result = VALUES(last_result), updated_at = VALUES(updated_at)"
	} else {
		q += "ON CONFLICT (user_id, template_id) DO UPDATE SET remaining = remaining + excluded.remaining, last_result = excluded.last_result, updated_at = excluded.updated_at"
	}
	return wrap(conn.Exec(q, userID, templateID, add, result, now).Error, "record subscription")
}

// Subscriptions maps template ID → grants left.
func (s *Notices) Subscriptions(ctx context.Context, userID int64) (map[string]int, error) {
	var rows []struct {
		TemplateID string
		Remaining  int
	}
	if err := s.db.conn(ctx).Table("subscriptions").Where("user_id = ?", userID).Find(&rows).Error; err != nil {
		return nil, wrap(err, "read subscriptions")
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.TemplateID] = r.Remaining
	}
	return out, nil
}

// Inbox lists a user's notices, newest first.
func (s *Notices) Inbox(ctx context.Context, userID int64, limit int) ([]notice.InboxItem, error) {
	var rows []struct {
		Row    noticeRow `gorm:"embedded"`
		ReadAt *time.Time
	}
	err := s.db.conn(ctx).Raw(`SELECT n.*, d.read_at FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id
WHERE d.user_id = ? ORDER BY d.notice_id DESC LIMIT ?`, userID, limit).Scan(&rows).Error
	if err != nil {
		return nil, wrap(err, "read inbox")
	}
	out := make([]notice.InboxItem, len(rows))
	ns := make([]notice.Notice, len(rows))
	for i, r := range rows {
		ns[i] = r.Row.toNotice()
		if r.ReadAt != nil {
			t := r.ReadAt.UTC()
			out[i].ReadAt = &t
		}
	}
	if err := s.withTargets(ctx, ns); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Notice = ns[i]
	}
	return out, nil
}

// UnreadCount counts a user's unread notices.
func (s *Notices) UnreadCount(ctx context.Context, userID int64) (int, error) {
	var n int64
	err := s.db.conn(ctx).Model(&deliveryRow{}).Where("user_id = ? AND read_at IS NULL", userID).Count(&n).Error
	return int(n), wrap(err, "count unread notices")
}

// MarkRead records the first reading of a notice by a recipient.
func (s *Notices) MarkRead(ctx context.Context, noticeID, userID int64, now time.Time) (bool, error) {
	res := s.db.conn(ctx).Model(&deliveryRow{}).Where("notice_id = ? AND user_id = ? AND read_at IS NULL", noticeID, userID).Update("read_at", now)
	return res.RowsAffected == 1, wrap(res.Error, "mark notice read")
}

// Delivery reads a recipient's delivery of a notice.
func (s *Notices) Delivery(ctx context.Context, noticeID, userID int64) (notice.Delivery, bool, error) {
	var rows []deliveryRow
	if err := s.db.conn(ctx).Where("notice_id = ? AND user_id = ?", noticeID, userID).Find(&rows).Error; err != nil {
		return notice.Delivery{}, false, wrap(err, "read delivery")
	}
	if len(rows) == 0 {
		return notice.Delivery{}, false, nil
	}
	return rows[0].toDelivery(), true, nil
}

// Report sums up a notice's deliveries and lists failures and readers.
func (s *Notices) Report(ctx context.Context, noticeID int64) (notice.Report, error) {
	var rows []struct {
		Row      deliveryRow `gorm:"embedded"`
		RealName string
		Building string
		Unit     string
		Room     string
	}
	err := s.db.conn(ctx).Raw(`SELECT d.*, u.real_name, COALESCE(b.name, '') AS building, COALESCE(un.name, '') AS unit, COALESCE(h.room, '') AS room
FROM notice_deliveries d JOIN users u ON u.id = d.user_id
LEFT JOIN households h ON h.id = d.household_id LEFT JOIN buildings b ON b.id = h.building_id LEFT JOIN units un ON un.id = h.unit_id
WHERE d.notice_id = ? ORDER BY d.id`, noticeID).Scan(&rows).Error
	if err != nil {
		return notice.Report{}, wrap(err, "read deliveries")
	}
	r := notice.Report{States: map[string]int{}, Failures: []notice.Failure{}, Readers: []notice.Reader{}, Recipients: len(rows)}
	for _, x := range rows {
		d := x.Row
		r.States[d.State]++
		house := ""
		if x.Room != "" {
			house = x.Building + x.Unit + x.Room
		}
		reader := notice.Reader{UserID: d.UserID, Name: x.RealName, Household: house}
		if d.ReadAt != nil {
			t := d.ReadAt.UTC()
			reader.ReadAt = &t
			r.Read++
		}
		r.Readers = append(r.Readers, reader)
		switch d.State {
		case notice.StateFailed, notice.StateRefused, notice.StateSkipped, notice.StateRetried:
			f := notice.Failure{UserID: d.UserID, Household: house, State: d.State, Reason: d.Reason, Attempts: d.Attempts}
			if d.Errcode != nil {
				f.ErrCode = *d.Errcode
			}
			r.Failures = append(r.Failures, f)
		}
	}
	var opens int64
	if err := s.db.conn(ctx).Table("notice_group_opens").Where("notice_id = ?", noticeID).Count(&opens).Error; err != nil {
		return notice.Report{}, wrap(err, "count group opens")
	}
	r.GroupOpens = int(opens)
	return r, nil
}

// MotionsClosingBy lists motions voting until a time in (now, by] with no
// reminder yet.
func (s *Notices) MotionsClosingBy(ctx context.Context, now, by time.Time) ([]notice.MotionInfo, error) {
	var rows []struct {
		ID          int64
		CourtyardID int64
		Title       string
		OpenedAt    *time.Time
		ClosesAt    time.Time
	}
	err := s.db.conn(ctx).Raw(`SELECT m.id, m.courtyard_id, m.title, m.opened_at, m.closes_at FROM motions m
WHERE m.status = 'voting' AND m.closes_at > ? AND m.closes_at <= ?
AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.event_key = `+s.concat("'"+notice.KindMotionReminder+":'", "m.id")+`)`, now, by).Scan(&rows).Error
	if err != nil {
		return nil, wrap(err, "list motions closing soon")
	}
	out := make([]notice.MotionInfo, len(rows))
	for i, r := range rows {
		out[i] = notice.MotionInfo{ID: r.ID, CourtyardID: r.CourtyardID, Title: r.Title, ClosesAt: r.ClosesAt.UTC()}
		if r.OpenedAt != nil {
			out[i].OpenedAt = r.OpenedAt.UTC()
		}
	}
	return out, nil
}

func (s *Notices) concat(a, b string) string {
	if s.db.Dialect == MySQL {
		return "CONCAT(" + a + ", " + b + ")"
	}
	return "(" + a + " || " + b + ")"
}
