package main

import (
	"context"
	"time"
)

// runScheduler moves motions along their timeline (open at the opening
// time, close and count at the closing time, publish after the objection
// window) and repairs live tallies that drifted from the database. Every
// server instance runs it; each step is a conditional update, so instances
// never do a step twice.
func runScheduler(ctx context.Context, a *App, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 0; ; n++ {
		a.Voting.Tick(ctx)
		a.Petitions.Tick(ctx)
		a.Notices.Remind(ctx)
		a.anchors.tick(ctx, a)
		if n%12 == 0 {
			// Every minute at the default interval: cheap count check.
			a.Voting.CheckLive(ctx, false)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
