// Package notice owns notices (SPEC §7): written by council or staff to
// courtyards, buildings or units, or sent by the system when a motion opens,
// is about to close or is decided, when a delegation changes and when a
// petition closes; the mini-program inbox with read receipts; the residents'
// one-time subscribe message grants; and the durable delivery of subscribe
// messages through a queue, with one row per recipient written with the
// notice (an outbox) so that nothing is lost and nobody gets two.
package notice

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// Kinds of notice; each is also the key of its subscribe template.
const (
	KindNotice             = "notice"              // written by council or staff
	KindMotionOpened       = "motion_opened"       // voting opened, to the households in scope
	KindMotionReminder     = "motion_reminder"     // voting closes soon, to households that have not voted
	KindMotionResult       = "motion_result"       // the count at the close, to the households in scope
	KindDelegationReceived = "delegation_received" // to the proxy
	KindDelegationAccepted = "delegation_accepted" // to the household's representative
	KindDelegationRevoked  = "delegation_revoked"  // to the proxy
	KindPetitionClosed     = "petition_closed"     // to the households that signed
	KindAuditAnchor        = "audit_anchor"        // the audit chains' published digest, to the council
)

// Kinds lists every kind, for configuration checks.
var Kinds = []string{KindNotice, KindMotionOpened, KindMotionReminder, KindMotionResult,
	KindDelegationReceived, KindDelegationAccepted, KindDelegationRevoked, KindPetitionClosed, KindAuditAnchor}

// Status of a notice.
const (
	StatusReview = "review" // content check said "review": waits for staff approval
	StatusDraft  = "draft"  // ready to send
	StatusSent   = "sent"   // deliveries written
)

// Delivery states of one recipient's subscribe message.
const (
	StatePending = "pending" // waiting for a worker
	StateSending = "sending" // claimed by a worker, WeChat being called
	StateRetried = "retried" // a transient error: waits until next_at for another attempt
	StateSent    = "sent"    // WeChat accepted it (msgid kept)
	StateSkipped = "skipped" // no subscription left, or no template configured
	StateRefused = "refused" // 43101: the user refused or used up the grant
	StateFailed  = "failed"  // not worth a retry (reason kept)
)

// Scope types a notice can target.
const (
	ScopeCourtyard = "courtyard"
	ScopeBuilding  = "building"
	ScopeUnit      = "unit"
)

// Target is one place a notice goes to.
type Target struct {
	ScopeType string `json:"scope_type"`
	ScopeID   int64  `json:"scope_id"`
}

// Notice is one notice.
type Notice struct {
	ID          int64      `json:"id"`
	CourtyardID int64      `json:"courtyard_id"`
	Kind        string     `json:"kind"`
	EventKey    string     `json:"-"`
	Title       string     `json:"title"`
	Body        string     `json:"body"`
	Images      []string   `json:"images"`
	Page        string     `json:"page"`
	Status      string     `json:"status"`
	CheckResult string     `json:"check_result"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	ApprovedBy  string     `json:"approved_by,omitempty"`
	SentAt      *time.Time `json:"sent_at,omitempty"`
	Targets     []Target   `json:"targets"`
}

// Recipient is a user a notice goes to, and the household through which.
type Recipient struct {
	UserID      int64
	HouseholdID int64
}

// Delivery is one recipient's copy of a notice.
type Delivery struct {
	ID          int64      `json:"id"`
	NoticeID    int64      `json:"notice_id"`
	UserID      int64      `json:"user_id"`
	HouseholdID int64      `json:"household_id,omitempty"`
	TemplateKey string     `json:"template_key"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	NextAt      time.Time  `json:"next_at"`
	MsgID       int64      `json:"msg_id,omitempty"`
	ErrCode     int        `json:"errcode,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	ReadAt      *time.Time `json:"read_at,omitempty"`
}

// Outcome is what a worker learned from one attempt.
type Outcome struct {
	State   string
	MsgID   int64
	ErrCode int
	Reason  string
	NextAt  time.Time // for StateRetried
	// Subscription is what happens to the recipient's grant: +1 gives back
	// the one taken for the attempt, 0 keeps it used, -1 uses up every
	// remaining one (43101).
	Subscription int
}

// Claim is a delivery a worker owns until its lease ends, with what the
// message needs.
type Claim struct {
	Delivery
	Notice    Notice
	OpenID    string
	Courtyard string
}

// EventRecipients chooses the recipients of a system notice.
type EventRecipients struct {
	Motion    int64   // the representatives of the motion's electorate…
	NotVoted  bool    // …whose household has no counted ballot
	Petition  int64   // the representatives of the households that signed
	Household int64   // the representatives of this household
	Users     []int64 // these users
}

// Store keeps notices, deliveries and subscriptions. Methods join the
// transaction carried by ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error)
	// ScopeCourtyard finds the courtyard of a building or unit.
	ScopeCourtyard(ctx context.Context, scopeType string, scopeID int64) (int64, error)
	OpenID(ctx context.Context, userID int64) (string, error)
	FileExists(ctx context.Context, key, purpose string, courtyardID int64) (bool, error)
	// CreateNotice inserts n with its targets. A system notice whose event
	// key exists already is not inserted: created is false.
	CreateNotice(ctx context.Context, n Notice) (out Notice, created bool, err error)
	Notice(ctx context.Context, id int64) (Notice, error)
	LockNotice(ctx context.Context, id int64) (Notice, error)
	UpdateNotice(ctx context.Context, n Notice, from string) error
	// CourtyardNotices lists a courtyard's notices that pass f, newest
	// first, one page of them, and how many pass f in all.
	CourtyardNotices(ctx context.Context, courtyardID int64, f ListFilter) ([]Notice, int, error)
	// Recipients lists the users bound to households in the targets, each
	// once.
	Recipients(ctx context.Context, targets []Target) ([]Recipient, error)
	// RecipientCount counts the users Recipients would list.
	RecipientCount(ctx context.Context, targets []Target) (int, error)
	// DeliveryCount counts a sent notice's recipients.
	DeliveryCount(ctx context.Context, noticeID int64) (int, error)
	EventRecipients(ctx context.Context, q EventRecipients) ([]Recipient, error)
	// InsertDeliveries writes one delivery per recipient in state (pending,
	// or skipped with reason when nothing is to be sent), marked as
	// enqueued at now when enqueued, and returns their IDs.
	InsertDeliveries(ctx context.Context, noticeID int64, templateKey string, rs []Recipient, state, reason string, now time.Time, enqueued bool) ([]int64, error)
	// DueDeliveries lists deliveries a worker should pick up: pending or
	// waiting for a retry, due at now, and never put on the queue or (when
	// staleBefore is not zero) not since staleBefore; they are marked as
	// enqueued at now.
	DueDeliveries(ctx context.Context, now, staleBefore time.Time, limit int) ([]int64, error)
	// AbandonLeases turns deliveries whose worker lease ended before now
	// (their worker died mid-send) into failed ones: WeChat may or may not
	// have taken the message, and a second one must never go out.
	AbandonLeases(ctx context.Context, now time.Time) ([]Delivery, error)
	// Claim moves a due pending or retry delivery to sending for its
	// attempt; ok is false when another worker has it or it is done.
	Claim(ctx context.Context, id int64, now, leaseUntil time.Time) (c Claim, ok bool, err error)
	// TakeSubscription uses one of the user's grants of the template.
	TakeSubscription(ctx context.Context, userID int64, templateID string) (bool, error)
	// Settle records an attempt's outcome of a delivery in sending.
	Settle(ctx context.Context, id int64, o Outcome, now time.Time) error
	AdjustSubscription(ctx context.Context, userID int64, templateID string, delta int, now time.Time) error
	// AddSubscription records one requestSubscribeMessage answer.
	AddSubscription(ctx context.Context, userID int64, templateID, result string, now time.Time) error
	Subscriptions(ctx context.Context, userID int64) (map[string]int, error)
	Inbox(ctx context.Context, userID int64, limit int) ([]InboxItem, error)
	UnreadCount(ctx context.Context, userID int64) (int, error)
	MarkRead(ctx context.Context, noticeID, userID int64, now time.Time) (bool, error)
	Delivery(ctx context.Context, noticeID, userID int64) (Delivery, bool, error)
	Report(ctx context.Context, noticeID int64) (Report, error)
	// MotionsClosingBy lists motions still voting that close after now and
	// by then, with no reminder sent yet.
	MotionsClosingBy(ctx context.Context, now, by time.Time) ([]MotionInfo, error)
}

// MotionInfo is what a reminder says about a motion.
type MotionInfo struct {
	ID          int64
	CourtyardID int64
	Title       string
	OpenedAt    time.Time
	ClosesAt    time.Time
}

// InboxItem is one notice in a user's inbox.
type InboxItem struct {
	Notice Notice     `json:"notice"`
	ReadAt *time.Time `json:"read_at,omitempty"`
}

// Report is what a sender sees of a sent notice.
type Report struct {
	Recipients int            `json:"recipients"`
	Read       int            `json:"read"`
	States     map[string]int `json:"states"`
	Failures   []Failure      `json:"failures"`
	Readers    []Reader       `json:"readers"`
	// GroupOpens counts the people who opened the notice from its
	// courtyard's linked WeChat group (package share), each once.
	GroupOpens int `json:"group_opens"`
}

// Failure is a delivery that did not go out, and why.
type Failure struct {
	UserID    int64  `json:"user_id"`
	Household string `json:"household,omitempty"`
	State     string `json:"state"`
	ErrCode   int    `json:"errcode,omitempty"`
	Reason    string `json:"reason"`
	Attempts  int    `json:"attempts"`
}

// Reader is a recipient and whether (when) they read the notice.
type Reader struct {
	UserID    int64      `json:"user_id"`
	Name      string     `json:"name"`
	Household string     `json:"household,omitempty"`
	ReadAt    *time.Time `json:"read_at,omitempty"`
}

// ContentChecker is WeChat's content security check.
type ContentChecker interface {
	// Check returns "pass", "review" or "risky" for text written by the
	// user with openID ("" for staff).
	Check(ctx context.Context, openID, text string) (string, error)
}

// Queue carries delivery IDs from the outbox to the workers.
type Queue interface {
	Push(ctx context.Context, ids ...int64) error
	// Pop waits up to wait for an ID; ok is false when none came.
	Pop(ctx context.Context, wait time.Duration) (id int64, ok bool, err error)
	// Len is the number of IDs waiting.
	Len(ctx context.Context) (int64, error)
}

// Template is a subscribe message template: its WeChat ID and, for each
// keyword of the template, what fills it: "title", "body", "time",
// "courtyard" or "kind".
type Template struct {
	ID     string            `yaml:"id" json:"id"`
	Fields map[string]string `yaml:"fields" json:"fields"`
}

// Service runs notices and subscriptions; Worker delivers them.
type Service struct {
	store     Store
	content   ContentChecker
	queue     Queue
	audit     audit.BatchAppender
	templates map[string]Template
	log       *slog.Logger
	now       func() time.Time
	// ReminderBefore is how long before the close the reminder goes.
	ReminderBefore time.Duration
}

// NewService wires the notice service. templates maps each kind to its
// subscribe template; a kind without one is delivered in the inbox only.
func NewService(store Store, content ContentChecker, queue Queue, al audit.BatchAppender, templates map[string]Template, log *slog.Logger) *Service {
	return &Service{store: store, content: content, queue: queue, audit: al, templates: templates, log: log, now: time.Now,
		ReminderBefore: 24 * time.Hour}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// NoticeStream is the audit stream of one notice's deliveries.
func NoticeStream(courtyardID, noticeID int64) string {
	return audit.CourtyardStream(courtyardID) + ":notice:" + itoa(noticeID)
}

func noticeRef(id int64) string { return "notice:" + itoa(id) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Draft is what a sender writes.
type Draft struct {
	Targets []Target `json:"targets"`
	Title   string   `json:"title"`
	Body    string   `json:"body"`
	Images  []string `json:"images"`
}

// Limits of a notice.
const (
	MaxTitle   = 64
	MaxBody    = 2000
	MaxImages  = 9
	MaxTargets = 50
)

func (d *Draft) validate() error {
	d.Title, d.Body = strings.TrimSpace(d.Title), strings.TrimSpace(d.Body)
	if err := louyuan.CheckTexts(louyuan.TextField{Name: "通知标题", Value: d.Title}, louyuan.TextField{Name: "通知正文", Value: d.Body, Multiline: true}); err != nil {
		return err
	}
	switch {
	case d.Title == "":
		return louyuan.Invalid("title_required", "请填写通知标题")
	case utf8.RuneCountInString(d.Title) > MaxTitle:
		return louyuan.Invalid("title_too_long", "通知标题最多64个字")
	case d.Body == "":
		return louyuan.Invalid("body_required", "请填写通知正文")
	case utf8.RuneCountInString(d.Body) > MaxBody:
		return louyuan.Invalid("body_too_long", "通知正文最多2000个字")
	case len(d.Targets) == 0:
		return louyuan.Invalid("targets_required", "请选择通知发往的楼院、楼栋或单元")
	case len(d.Targets) > MaxTargets:
		return louyuan.Invalid("too_many_targets", "一次最多发往50个楼院、楼栋或单元")
	case len(d.Images) > MaxImages:
		return louyuan.Invalid("too_many_images", "最多附9张图片")
	}
	seen := map[Target]bool{}
	for _, t := range d.Targets {
		switch t.ScopeType {
		case ScopeCourtyard, ScopeBuilding, ScopeUnit:
		default:
			return louyuan.Invalid("bad_scope", "通知范围只能是楼院、楼栋或单元")
		}
		if t.ScopeID <= 0 {
			return louyuan.Invalid("bad_scope", "通知范围的编号无效")
		}
		if seen[t] {
			return louyuan.Invalid("duplicate_target", "通知范围重复")
		}
		seen[t] = true
	}
	return nil
}

// ListFilter picks a page of a courtyard's notices: Status (when not
// empty) equal, Title (when not empty) held in the title, Limit notices
// from Offset on.
type ListFilter struct {
	Status, Title string
	Offset, Limit int
}
