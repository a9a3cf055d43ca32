package voting

import (
	"context"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// TrailRow is one household of a motion's paper trail: which channels its
// ballots came through and which one counts. It never holds a choice, so
// that the sheet is the same for a named and a secret ballot.
type TrailRow struct {
	HouseholdID int64
	Building    string
	Unit        string
	Room        string
	Paper       bool   // a paper ballot was entered
	Electronic  bool   // a ballot was cast in the mini-program (self or proxy)
	Counted     string // the channel of the counted ballot: self, proxy, paper or ""
}

// PaperTrail hands write the households of a motion that voted on paper,
// electronically or both, in building, unit and room order, for the
// printable reconciliation sheet the counting staff sign. Staff of the
// courtyard and its council may print it once voting has opened. Audited
// as export.paper_trail (with the file's digest when the writer attaches
// it, see audit.Attach).
func (s *Service) PaperTrail(ctx context.Context, p identity.Principal, id int64, store ExportStore, write func(m Motion, rows []TrailRow) error) error {
	m, err := s.store.Motion(ctx, id)
	if err != nil {
		return err
	}
	if err := s.canManageMotion(ctx, p, m); err != nil {
		return err
	}
	if m.Status == StatusDraft || m.Status == StatusNotice || m.Status == StatusCancelled {
		return louyuan.Conflict("no_results", "这项表决还没有开始投票，没有可核对的选票")
	}
	// The ballots and the counted ones as of one moment: while voting is
	// open a ballot committed between two reads would show a household
	// counted through a channel the sheet says it never used.
	var (
		rows              []TrailRow
		paper, electronic map[int64]bool
	)
	err = s.store.InSnapshot(ctx, func(ctx context.Context) error {
		bs, err := s.store.Ballots(ctx, id)
		if err != nil {
			return err
		}
		paper, electronic = map[int64]bool{}, map[int64]bool{}
		for _, b := range bs {
			switch b.Channel {
			case ChannelPaper:
				paper[b.HouseholdID] = true
			case ChannelSelf, ChannelProxy:
				electronic[b.HouseholdID] = true
			}
		}
		return store.EachResult(ctx, id, func(r ResultRow) error {
			if !paper[r.HouseholdID] && !electronic[r.HouseholdID] {
				return nil
			}
			counted := ""
			if r.Voted && r.Channel != ChannelWithdrawn {
				counted = r.Channel
			}
			rows = append(rows, TrailRow{HouseholdID: r.HouseholdID, Building: r.Building, Unit: r.Unit, Room: r.Room,
				Paper: paper[r.HouseholdID], Electronic: electronic[r.HouseholdID], Counted: counted})
			return nil
		})
	})
	if err != nil {
		return err
	}
	werr := write(m, rows)
	both := 0
	for _, r := range rows {
		if r.Paper && r.Electronic {
			both++
		}
	}
	aerr := s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(m.CourtyardID), Actor: p.Ref(), Action: "export.paper_trail",
		Object: motionRef(m.ID), Detail: audit.Attach(ctx, map[string]any{"rows": len(rows), "paper": len(paper), "electronic": len(electronic),
			"both": both, "mode": m.Mode, "completed": werr == nil})})
	if werr != nil {
		return werr
	}
	return aerr
}
