package council

import (
	"context"

	"github.com/louyuan/louyuan/internal/identity"
)

// Activity is what happened in a council's courtyards, counted by the
// server for the staff console's dashboard (issue #12 item 6): notices
// sent and read, motions and petitions and their outcome, opinions
// received and resolved with their ratings. Survey results come from the
// opinion service and are added by the caller.
type Activity struct {
	CouncilID int64            `json:"council_id"`
	Notices   NoticeActivity   `json:"notices"`
	Motions   MotionActivity   `json:"motions"`
	Petitions PetitionActivity `json:"petitions"`
	Opinions  OpinionActivity  `json:"opinions"`
}

// NoticeActivity counts sent notices and their recipients: how many were
// delivered (subscribe message sent) and how many read them.
type NoticeActivity struct {
	Sent       int `json:"sent"`
	Recipients int `json:"recipients"`
	Delivered  int `json:"delivered"`
	Read       int `json:"read"`
}

// MotionActivity counts motions by where they stand; elections included.
type MotionActivity struct {
	Total     int `json:"total"`
	Underway  int `json:"underway"` // draft, notice, voting or objection
	Passed    int `json:"passed"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
}

// PetitionActivity counts petitions by status.
type PetitionActivity struct {
	Total     int `json:"total"`
	Open      int `json:"open"` // draft or open
	Closed    int `json:"closed"`
	Cancelled int `json:"cancelled"`
}

// OpinionActivity counts opinions and the raisers' ratings.
type OpinionActivity struct {
	Received      int      `json:"received"` // all raised
	InProgress    int      `json:"in_progress"`
	Resolved      int      `json:"resolved"`
	Rated         int      `json:"rated"`
	AverageRating *float64 `json:"average_rating,omitempty"`
}

// Activity counts a council's activity for staff over all its courtyards.
func (s *Service) Activity(ctx context.Context, p identity.Principal, councilID int64) (Activity, error) {
	c, err := s.store.Council(ctx, councilID, s.today())
	if err != nil {
		return Activity{}, err
	}
	if err := s.staffOver(ctx, p, c.CourtyardIDs...); err != nil {
		return Activity{}, err
	}
	a, err := s.store.Activity(ctx, c.CourtyardIDs)
	a.CouncilID = councilID
	return a, err
}
