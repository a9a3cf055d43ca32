package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os/user"
	"text/tabwriter"

	"github.com/louyuan/louyuan/internal/sqlstore"
	"github.com/louyuan/louyuan/internal/voting"
)

// motionCmd runs `server motion unseal`: the exact per-option figures of a
// closed motion, for a court or a recount. A secret ballot's figures are
// reachable only this way; each use is audited with who and why.
func motionCmd(ctx context.Context, cfg *Config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "unseal" {
		return errors.New("usage: server motion unseal -motion ID -reason TEXT [-by NAME]")
	}
	fs := flag.NewFlagSet("motion unseal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	motionID := fs.Int64("motion", 0, "motion ID")
	reason := fs.String("reason", "", "why the sealed figures are read, e.g. a court's case number (required; audited)")
	by := fs.String("by", "", "who reads them (default: the operating system user)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *motionID <= 0 {
		return errors.New("motion unseal: -motion is required")
	}
	if *by == "" {
		if u, err := user.Current(); err == nil {
			*by = u.Username
		}
	}
	a, err := openStores(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := voting.NewService(sqlstore.NewVoting(a.DB).WithAudit(a.Audit), nil, a.Audit, log)
	u, err := svc.Unseal(ctx, *by, *motionID, *reason)
	if err != nil {
		return err
	}
	writeUnsealed(stdout, u)
	if !u.Same {
		return fmt.Errorf("motion %d: the recount differs from the result stored at the close", u.Motion.ID)
	}
	return nil
}

// writeUnsealed prints the stored result and the recount side by side.
func writeUnsealed(w io.Writer, u voting.Unsealed) {
	m := u.Motion
	fmt.Fprintf(w, "motion %d %q (%s, %s ballot, %s); this reading is recorded in the audit log\n", m.ID, m.Title, m.Rule.Kind, m.Mode, m.Status)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tstored households\tstored heads\tstored area\trecount households\trecount heads\trecount area")
	row := func(name string, sh int, shd string, sa fmt.Stringer, rh int, rhd string, ra fmt.Stringer) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\n", name, sh, shd, sa, rh, rhd, ra)
	}
	s, r := u.Stored, u.Recount
	row("electorate", s.ElectorateHouses, fmt.Sprint(s.ElectorateHeads), s.ElectorateArea, r.ElectorateHouses, fmt.Sprint(r.ElectorateHeads), r.ElectorateArea)
	row("voted", s.VotedHouses, fmt.Sprint(s.VotedHeads), s.VotedArea, r.VotedHouses, fmt.Sprint(r.VotedHeads), r.VotedArea)
	recount := map[string]voting.OptionCount{}
	for _, o := range r.Options {
		recount[o.Option] = o
	}
	for _, o := range s.Options {
		x := recount[o.Option]
		row("option "+o.Option, o.Households, o.Head.RatString(), o.Area, x.Households, ratText(x.Head), x.Area)
	}
	tw.Flush()
	fmt.Fprintf(w, "passed: stored %t, recount %t; recount matches the stored result: %t\n", s.Passed, r.Passed, u.Same)
}

func ratText(r *big.Rat) string {
	if r == nil {
		return "0"
	}
	return r.RatString()
}
