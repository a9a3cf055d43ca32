package voting

import (
	"context"
	"sort"
	"time"

	"github.com/louyuan/louyuan/internal/identity"
)

// Household voting statuses as the mini-program shows them.
const (
	HouseNotVoted      = "not_voted"
	HouseVoted         = "voted"
	HouseVotedByProxy  = "voted_by_proxy"
	HouseVotedOnPaper  = "voted_on_paper"
	HouseDelegated     = "delegated" // a delegation is in force, no ballot yet
	HouseNotInElectors = "not_in_electorate"
)

// MyMotion is a motion as one of the caller's households sees it.
type MyMotion struct {
	Motion      Motion
	HouseholdID int64
	Status      string
}

// MyMotions lists, for each household the caller represents, the motions
// of its courtyard from notice on, with the household's status.
func (s *Service) MyMotions(ctx context.Context, p identity.Principal) ([]MyMotion, error) {
	if p.Kind != identity.KindUser {
		return []MyMotion{}, nil
	}
	hs, err := s.store.RepresentedHouseholds(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	delegs, err := s.store.DelegationsOfHouseholds(ctx, hs)
	if err != nil {
		return nil, err
	}
	out := []MyMotion{}
	seenYard := map[int64][]Motion{}
	now := s.now().UTC()
	for _, h := range hs {
		yard, err := s.store.HouseholdCourtyard(ctx, h)
		if err != nil {
			return nil, err
		}
		ms, ok := seenYard[yard]
		if !ok {
			if ms, err = s.store.Motions(ctx, yard); err != nil {
				return nil, err
			}
			seenYard[yard] = ms
		}
		for _, m := range ms {
			if m.Status == StatusDraft || m.Status == StatusCancelled {
				continue
			}
			status, err := s.householdStatus(ctx, m, h, delegs, now)
			if err != nil {
				return nil, err
			}
			if status == HouseNotInElectors {
				continue
			}
			out = append(out, MyMotion{Motion: m, HouseholdID: h, Status: status})
		}
	}
	return out, nil
}

func (s *Service) householdStatus(ctx context.Context, m Motion, h int64, delegs []Delegation, now time.Time) (string, error) {
	if m.Status == StatusNotice {
		if ok, err := s.store.InScope(ctx, m, h); err != nil || !ok {
			return HouseNotInElectors, err
		}
	} else {
		if _, ok, err := s.store.Elector(ctx, m.ID, h); err != nil {
			return "", err
		} else if !ok {
			return HouseNotInElectors, nil
		}
		c, ok, err := s.store.Counted(ctx, m.ID, h)
		if err != nil {
			return "", err
		}
		if ok {
			switch c.Channel {
			case ChannelSelf:
				return HouseVoted, nil
			case ChannelProxy:
				return HouseVotedByProxy, nil
			case ChannelPaper:
				return HouseVotedOnPaper, nil
			}
		}
	}
	for _, d := range delegs {
		if d.HouseholdID == h && d.Covers(m, now) {
			return HouseDelegated, nil
		}
	}
	return HouseNotVoted, nil
}

// HouseholdTurnout is one household's part in a motion, for the council's
// door-to-door visits. Options are only shown in named mode.
type HouseholdTurnout struct {
	HouseholdID int64    `json:"household_id"`
	Building    string   `json:"building"`
	Unit        string   `json:"unit"`
	Room        string   `json:"room"`
	Voted       bool     `json:"voted"`
	Channel     string   `json:"channel,omitempty"`
	Options     []string `json:"options,omitempty"`
}

// UnitTurnout sums one unit (stairwell).
type UnitTurnout struct {
	Building   string             `json:"building"`
	Unit       string             `json:"unit"`
	Households int                `json:"households"`
	Voted      int                `json:"voted"`
	List       []HouseholdTurnout `json:"list"`
}

// Turnout reports who has voted, by building and unit, to the council and
// staff. In secret mode no household's choice is shown.
func (s *Service) Turnout(ctx context.Context, p identity.Principal, motionID int64) ([]UnitTurnout, error) {
	m, err := s.store.Motion(ctx, motionID)
	if err != nil {
		return nil, err
	}
	if err := s.canManageMotion(ctx, p, m); err != nil {
		return nil, err
	}
	es, err := s.store.Electorate(ctx, motionID)
	if err != nil {
		return nil, err
	}
	cs, err := s.store.CountedBallots(ctx, motionID)
	if err != nil {
		return nil, err
	}
	counted := make(map[int64]Counted, len(cs))
	for _, c := range cs {
		if len(c.Options) > 0 {
			counted[c.HouseholdID] = c
		}
	}
	byUnit := map[int64]*UnitTurnout{}
	var order []int64
	for _, e := range es {
		u, ok := byUnit[e.UnitID]
		if !ok {
			u = &UnitTurnout{Building: e.Building, Unit: e.Unit}
			byUnit[e.UnitID] = u
			order = append(order, e.UnitID)
		}
		t := HouseholdTurnout{HouseholdID: e.HouseholdID, Building: e.Building, Unit: e.Unit, Room: e.Room}
		if c, ok := counted[e.HouseholdID]; ok {
			t.Voted, t.Channel = true, c.Channel
			if m.Mode == ModeNamed {
				t.Options = c.Options
			}
			u.Voted++
		}
		u.Households++
		u.List = append(u.List, t)
	}
	out := make([]UnitTurnout, 0, len(order))
	for _, id := range order {
		out = append(out, *byUnit[id])
	}
	return out, nil
}

// Reconciliation pairs, for households that voted both electronically and
// on paper, the latest ballot of each channel, for the council to compare.
type Reconciliation struct {
	HouseholdID int64   `json:"household_id"`
	Electronic  *Ballot `json:"electronic"`
	Paper       *Ballot `json:"paper"`
	Counted     string  `json:"counted_channel"`
	Differ      bool    `json:"differ"`
}

// Reconcile lists households with both an electronic and a paper ballot.
// In secret mode the choices are left out; only whether they differ shows.
func (s *Service) Reconcile(ctx context.Context, p identity.Principal, motionID int64) ([]Reconciliation, error) {
	m, err := s.store.Motion(ctx, motionID)
	if err != nil {
		return nil, err
	}
	if err := s.canManageMotion(ctx, p, m); err != nil {
		return nil, err
	}
	bs, err := s.store.Ballots(ctx, motionID)
	if err != nil {
		return nil, err
	}
	type pair struct{ e, p *Ballot }
	latest := map[int64]*pair{}
	for i := range bs {
		b := &bs[i]
		pr := latest[b.HouseholdID]
		if pr == nil {
			pr = &pair{}
			latest[b.HouseholdID] = pr
		}
		switch b.Channel {
		case ChannelSelf, ChannelProxy:
			if pr.e == nil || b.ID > pr.e.ID {
				pr.e = b
			}
		case ChannelPaper:
			if pr.p == nil || b.ID > pr.p.ID {
				pr.p = b
			}
		}
	}
	out := []Reconciliation{}
	for hid, pr := range latest {
		if pr.e == nil || pr.p == nil {
			continue
		}
		c, _, err := s.store.Counted(ctx, motionID, hid)
		if err != nil {
			return nil, err
		}
		e, pp := *pr.e, *pr.p
		r := Reconciliation{HouseholdID: hid, Counted: c.Channel, Differ: !sameOptions(e.Options, pp.Options)}
		e.Receipt, pp.Receipt = "", ""
		if m.Mode == ModeSecret {
			// The photo of a signed paper ballot shows the choice too.
			e.Options, pp.Options, pp.PaperFile = nil, nil, ""
		}
		r.Electronic, r.Paper = &e, &pp
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].HouseholdID < out[j].HouseholdID })
	return out, nil
}

func sameOptions(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[string]bool{}
	for _, x := range a {
		set[x] = true
	}
	for _, x := range b {
		if !set[x] {
			return false
		}
	}
	return true
}

// Motions lists a courtyard's motions for its council and staff.
func (s *Service) Motions(ctx context.Context, p identity.Principal, courtyardID int64) ([]Motion, error) {
	if err := s.canManage(ctx, p, courtyardID); err != nil {
		return nil, err
	}
	return s.store.Motions(ctx, courtyardID)
}

// MyDelegations lists the delegations the caller's households gave and the
// ones the caller holds as a proxy.
func (s *Service) MyDelegations(ctx context.Context, p identity.Principal) (given, held []Delegation, err error) {
	if p.Kind != identity.KindUser {
		return []Delegation{}, []Delegation{}, nil
	}
	hs, err := s.store.RepresentedHouseholds(ctx, p.ID)
	if err != nil {
		return nil, nil, err
	}
	if given, err = s.store.DelegationsOfHouseholds(ctx, hs); err != nil {
		return nil, nil, err
	}
	if held, err = s.store.DelegationsOfProxy(ctx, p.ID); err != nil {
		return nil, nil, err
	}
	return given, held, nil
}
