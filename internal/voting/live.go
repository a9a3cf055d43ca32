package voting

import (
	"context"
	"errors"
)

// ErrNotLoaded is returned by a LiveTally that holds no state for a motion
// (never loaded, evicted, or Redis restarted): the caller rebuilds it from
// the database, the source of truth.
var ErrNotLoaded = errors.New("live tally not loaded")

// CountedVote is a household's counted choice at a version. Empty Options
// means the household has no counted vote (e.g. a proxy's ballot was
// withdrawn). Versions grow with every change of the household's counted
// ballot, so that changes applied out of order or twice converge.
type CountedVote struct {
	HouseholdID int64
	Version     int64
	Options     []string
}

// MotionVote is a counted vote of one motion.
type MotionVote struct {
	MotionID int64
	Vote     CountedVote
}

// LiveTally keeps each open motion's Totals up to date ballot by ballot, so
// that reading a tally costs the same with ten ballots or a million.
// Implementations must give, at any moment, exactly Sum(electorate,
// options, latest votes) over the latest version applied for each household.
type LiveTally interface {
	// Load replaces the motion's live state with the electorate, options
	// and the counted votes read from the database.
	Load(ctx context.Context, motionID int64, electorate []Voter, options []string, counted []CountedVote) error
	// Apply records a household's counted vote if v.Version is newer than
	// the one held; it returns ErrNotLoaded when the motion has no state.
	Apply(ctx context.Context, motionID int64, v CountedVote) error
	// ApplyAll is Apply for several votes in one round trip; it returns
	// one error per vote (nil, ErrNotLoaded or a failure).
	ApplyAll(ctx context.Context, votes []MotionVote) []error
	// Totals returns the current totals, or ErrNotLoaded.
	Totals(ctx context.Context, motionID int64) (Totals, error)
	// Drop forgets the motion (after its final tally is stored).
	Drop(ctx context.Context, motionID int64) error
}
