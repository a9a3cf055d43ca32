package audit

import "time"

// Query selects a courtyard's audit entries (its own stream and its
// households' streams) for the staff console, newest first.
type Query struct {
	CourtyardID int64
	// Actor is a principal reference ("staff:1", "user:12"); empty for all.
	Actor string
	// Action is an action or its prefix ("motion." for every motion step).
	Action string
	// Object is an object reference ("motion:3"); empty for all.
	Object string
	// From and To bound the entries' time; zero for no bound.
	From, To time.Time
	Offset   int
	Limit    int
}
