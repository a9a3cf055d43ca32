// Package opinion owns what residents say to their courtyard council:
// opinions (大家议) — a problem or suggestion the council assigns, answers
// and resolves, which the raiser rates and may reopen once — and
// satisfaction surveys of a council's term (大家评), one response per
// household (issue #13).
//
// Who is who: a resident is any bound member of a household of the
// courtyard (owner, family or tenant: tenants live there, so they too may
// raise an opinion; only household representatives answer surveys). The
// council is whoever holds a council role over the courtyard today
// (council_chair, council_member, council_treasurer); staff are community
// and subdistrict staff over it.
package opinion

import (
	"slices"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// Status is where an opinion is.
type Status string

// The statuses, in order: the council moves an opinion forward; only the
// raiser's one reopen moves a resolved opinion back to in progress.
const (
	StatusReceived   Status = "received"
	StatusInProgress Status = "in_progress"
	StatusResolved   Status = "resolved"
)

func (s Status) rank() int {
	switch s {
	case StatusReceived:
		return 1
	case StatusInProgress:
		return 2
	case StatusResolved:
		return 3
	}
	return 0
}

// Categories of opinions.
var Categories = []string{"repair", "environment", "safety", "parking", "neighbours", "property", "suggestion", "other"}

// MaxPhotos bounds an opinion's photos.
const MaxPhotos = 9

// Opinion is a resident's problem or suggestion to the council.
type Opinion struct {
	ID          int64     `json:"id"`
	CourtyardID int64     `json:"courtyard_id"`
	BuildingID  int64     `json:"building_id,omitempty"`
	RaisedBy    int64     `json:"raised_by"`
	Category    string    `json:"category"`
	Body        string    `json:"body"`
	Photos      []string  `json:"photos"`
	Public      bool      `json:"public"`
	Status      Status    `json:"status"`
	AssigneeID  int64     `json:"assignee_id,omitempty"`
	Rating      int       `json:"rating,omitempty"`
	Reopened    bool      `json:"reopened"`
	DraftRef    string    `json:"draft_ref,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	ResolvedAt  time.Time `json:"resolved_at,omitzero"`
}

// Reply is one entry of an opinion's thread: the council's answer, or the
// raiser's reason to reopen. Status is the opinion's status after it.
type Reply struct {
	ID        int64     `json:"id"`
	OpinionID int64     `json:"opinion_id"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	Status    Status    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// Viewer is how a caller stands to an opinion's courtyard.
type Viewer struct {
	UserID   int64 // 0 for staff accounts
	Resident bool  // a bound member of a household of the courtyard
	Council  bool  // council role over the courtyard today
	Staff    bool  // community or subdistrict staff over it
}

// CanSee reports whether v may see o. Everyone else is told it does not
// exist.
func CanSee(o Opinion, v Viewer) bool {
	switch {
	case v.Council || v.Staff:
		return true
	case v.UserID != 0 && v.UserID == o.RaisedBy:
		return true
	case o.Public:
		return v.Resident
	}
	return false
}

// CanMove checks a council's move of an opinion from one status to another:
// forward only (received → in progress → resolved, or straight to
// resolved).
func CanMove(from, to Status) error {
	if to.rank() == 0 {
		return louyuan.Invalid("bad_status", "状态只能是 received（已收到）、in_progress（处理中）或 resolved（已解决）")
	}
	if from == StatusResolved {
		return louyuan.Conflict("opinion_resolved", "该意见已经解决；如对结果不满意，提出人可以重新打开一次")
	}
	if to.rank() < from.rank() {
		return louyuan.Conflict("status_backwards", "意见的状态只能向前推进")
	}
	return nil
}

// CanRate checks the raiser's rating of the outcome: 1 to 5, once per
// resolution, only when resolved.
func CanRate(o Opinion, rating int) error {
	if rating < 1 || rating > 5 {
		return louyuan.Invalid("bad_rating", "评分须是1到5分")
	}
	if o.Status != StatusResolved {
		return louyuan.Conflict("not_resolved", "意见解决后才能评价处理结果")
	}
	if o.Rating != 0 {
		return louyuan.Conflict("already_rated", "您已经评价过这次的处理结果")
	}
	return nil
}

// CanReopen checks the raiser's reopen: only a resolved opinion, and only
// once.
func CanReopen(o Opinion) error {
	if o.Status != StatusResolved {
		return louyuan.Conflict("not_resolved", "只有已解决的意见可以重新打开")
	}
	if o.Reopened {
		return louyuan.Conflict("already_reopened", "每条意见只能重新打开一次")
	}
	return nil
}

// ValidCategory reports whether c is a known category.
func ValidCategory(c string) bool { return slices.Contains(Categories, c) }
