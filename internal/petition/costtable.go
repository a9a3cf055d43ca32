package petition

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// CostTable is a unit's cost table as published to residents: a frozen,
// versioned document. Its rows keep each household's area, coefficient and
// share as they were when it was published, so that a later roster edit
// does not move a share anyone pledged; a changed plan or roster becomes a
// new version, and pledges made against an old version stay attached to
// it.
type CostTable struct {
	ID           int64          `json:"id"`
	PetitionID   int64          `json:"petition_id"`
	UnitID       int64          `json:"unit_id"`
	Version      int            `json:"version"`
	TotalFen     int64          `json:"total_fen"`
	Coefficients map[int]int64  `json:"coefficients"`
	PublishedBy  string         `json:"published_by"`
	PublishedAt  time.Time      `json:"published_at"`
	Rows         []CostTableRow `json:"rows"`
}

// CostTableRow is one household of a frozen cost table.
type CostTableRow struct {
	HouseholdID int64        `json:"household_id"`
	Building    string       `json:"building"`
	Unit        string       `json:"unit"`
	Room        string       `json:"room"`
	Floor       int          `json:"floor"`
	Area        louyuan.Area `json:"-"`
	AreaText    string       `json:"area"` // m² with two decimals
	Coefficient int64        `json:"coefficient"`
	ShareFen    int64        `json:"share_fen"`
}

// CostChange is one difference of a version from the one before it.
type CostChange struct {
	HouseholdID int64  `json:"household_id,omitempty"`
	Room        string `json:"room,omitempty"`
	Field       string `json:"field"` // total_fen, coefficient, household, area, floor, share_fen
	Old         string `json:"old"`
	New         string `json:"new"`
	Text        string `json:"text"`
}

// Pledge is a pledge made against one version.
type Pledge struct {
	HouseholdID int64 `json:"household_id"`
	PledgeFen   int64 `json:"pledge_fen"`
}

// CostTableView is a version with what changed from the previous one and
// the pledges made against it.
type CostTableView struct {
	CostTable
	Latest  bool         `json:"latest"`
	Changes []CostChange `json:"changes"`
	Pledges []Pledge     `json:"pledges"`
}

// CostTableStore keeps frozen cost tables. Methods join the transaction
// carried by ctx.
type CostTableStore interface {
	// CostTables lists a unit's versions, oldest first, with their rows.
	CostTables(ctx context.Context, petitionID, unitID int64) ([]CostTable, error)
	// InsertCostTable stores a new version with its rows and returns its ID.
	InsertCostTable(ctx context.Context, t CostTable) (int64, error)
	// AttachPledge records the version a household's pledge was made against.
	AttachPledge(ctx context.Context, petitionID, householdID, tableID int64) error
	// Pledges lists the pledges made against a version.
	Pledges(ctx context.Context, tableID int64) ([]Pledge, error)
}

// SetCostTables turns on frozen cost tables.
func (s *Service) SetCostTables(cs CostTableStore) { s.tables = cs }

// latestTable is the unit's latest published version, if any.
func (s *Service) latestTable(ctx context.Context, petitionID, unitID int64) (CostTable, bool, error) {
	if s.tables == nil {
		return CostTable{}, false, nil
	}
	ts, err := s.tables.CostTables(ctx, petitionID, unitID)
	if err != nil || len(ts) == 0 {
		return CostTable{}, false, err
	}
	return ts[len(ts)-1], true, nil
}

// freeze publishes the unit's current plan over the current roster as a
// new version, inside the caller's transaction, unless it equals the
// latest version. It returns the latest version and whether it is new.
func (s *Service) freeze(ctx context.Context, pt Petition, unitID int64, by string) (CostTable, bool, error) {
	if s.tables == nil {
		return CostTable{}, false, nil
	}
	plans, err := s.store.CostPlans(ctx, pt.ID)
	if err != nil {
		return CostTable{}, false, err
	}
	i := slices.IndexFunc(plans, func(p CostPlan) bool { return p.UnitID == unitID })
	if i < 0 {
		return CostTable{}, false, louyuan.Invalid("no_cost_plan", "该单元还没有分摊表，请先填写总费用和各楼层系数")
	}
	plan := plans[i]
	rs, err := s.unitResidents(ctx, pt, unitID)
	if err != nil {
		return CostTable{}, false, err
	}
	if len(rs) == 0 {
		return CostTable{}, false, louyuan.Invalid("unit_outside_scope", "该单元不在征求范围内")
	}
	shares, err := Shares(plan, dwellings(rs))
	if err != nil {
		return CostTable{}, false, err
	}
	t := CostTable{PetitionID: pt.ID, UnitID: unitID, Version: 1, TotalFen: plan.TotalFen, Coefficients: plan.Coefficients,
		PublishedBy: by, PublishedAt: s.now().UTC().Truncate(time.Second)}
	for i, r := range rs {
		t.Rows = append(t.Rows, CostTableRow{HouseholdID: r.HouseholdID, Building: r.Building, Unit: r.Unit, Room: r.Room, Floor: r.Floor,
			Area: r.Area, Coefficient: plan.Coefficients[r.Floor], ShareFen: shares[i].ShareFen})
	}
	prev, ok, err := s.latestTable(ctx, pt.ID, unitID)
	if err != nil {
		return CostTable{}, false, err
	}
	if ok {
		if len(diffTables(prev, t)) == 0 {
			return prev, false, nil
		}
		t.Version = prev.Version + 1
	}
	if t.ID, err = s.tables.InsertCostTable(ctx, t); err != nil {
		return CostTable{}, false, err
	}
	detail := map[string]any{"unit": unitID, "version": t.Version, "cost_table": t.ID, "total_fen": t.TotalFen, "households": len(t.Rows)}
	if ok {
		detail["changes"] = len(diffTables(prev, t))
	}
	return t, true, s.record(ctx, pt, by, "petition.cost_table_publish", detail)
}

// PublishCostTable publishes a new version of a unit's cost table from the
// current plan and roster (after a roster edit, say). Refused when nothing
// changed.
func (s *Service) PublishCostTable(ctx context.Context, p identity.Principal, id, unitID int64) (CostTableView, error) {
	if s.tables == nil {
		return CostTableView{}, louyuan.Conflict("cost_tables_off", "未启用分摊表版本")
	}
	var out CostTableView
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		pt, err := s.store.LockPetition(ctx, id)
		if err != nil {
			return err
		}
		if _, err := s.canManagePetition(ctx, p, pt); err != nil {
			return err
		}
		if !pt.CostSharing {
			return louyuan.Conflict("no_cost_sharing", "这项征求没有开启费用分摊")
		}
		if pt.Status != StatusOpen {
			return louyuan.Conflict("wrong_status", "征求发布后、结束前才能发布分摊表新版本")
		}
		t, created, err := s.freeze(ctx, pt, unitID, p.Ref())
		if err != nil {
			return err
		}
		if !created {
			return louyuan.Conflict("cost_table_unchanged", fmt.Sprintf("分摊表与已公布的第 %d 版相同，无需发布新版本", t.Version))
		}
		vs, err := s.views(ctx, id, unitID)
		if err != nil {
			return err
		}
		out = vs[len(vs)-1]
		return nil
	})
	return out, err
}

// CostTables lists a unit's published versions, oldest first, each with
// the differences from the one before and the pledges made against it.
// Whoever may see the petition may see them.
func (s *Service) CostTables(ctx context.Context, p identity.Principal, id, unitID int64) ([]CostTableView, error) {
	pt, err := s.store.Petition(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.canSee(ctx, p, pt); err != nil {
		return nil, err
	}
	if s.tables == nil {
		return []CostTableView{}, nil
	}
	return s.views(ctx, id, unitID)
}

func (s *Service) views(ctx context.Context, id, unitID int64) ([]CostTableView, error) {
	ts, err := s.tables.CostTables(ctx, id, unitID)
	if err != nil {
		return nil, err
	}
	out := make([]CostTableView, len(ts))
	for i, t := range ts {
		v := CostTableView{CostTable: t, Latest: i == len(ts)-1, Changes: []CostChange{}}
		if i > 0 {
			v.Changes = diffTables(ts[i-1], t)
		}
		if v.Pledges, err = s.tables.Pledges(ctx, t.ID); err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// diffTables lists what changed from a to b: the total, each floor's
// coefficient, households that came or went, and per household its area,
// floor and share.
func diffTables(a, b CostTable) []CostChange {
	out := []CostChange{}
	if a.TotalFen != b.TotalFen {
		out = append(out, CostChange{Field: "total_fen", Old: yuan(a.TotalFen), New: yuan(b.TotalFen),
			Text: fmt.Sprintf("总费用由 %s 元改为 %s 元", yuan(a.TotalFen), yuan(b.TotalFen))})
	}
	floors := slices.Sorted(maps.Keys(a.Coefficients))
	for f := range b.Coefficients {
		if _, ok := a.Coefficients[f]; !ok {
			floors = append(floors, f)
		}
	}
	slices.Sort(floors)
	for _, f := range floors {
		if ca, cb := a.Coefficients[f], b.Coefficients[f]; ca != cb {
			out = append(out, CostChange{Field: "coefficient", Old: thousandths(ca), New: thousandths(cb),
				Text: fmt.Sprintf("%d 层系数由 %s 改为 %s", f, thousandths(ca), thousandths(cb))})
		}
	}
	old := map[int64]CostTableRow{}
	for _, r := range a.Rows {
		old[r.HouseholdID] = r
	}
	seen := map[int64]bool{}
	for _, r := range b.Rows {
		seen[r.HouseholdID] = true
		room := r.Building + r.Unit + r.Room
		o, ok := old[r.HouseholdID]
		if !ok {
			out = append(out, CostChange{HouseholdID: r.HouseholdID, Room: room, Field: "household", New: yuan(r.ShareFen),
				Text: fmt.Sprintf("%s 新加入，分摊 %s 元", room, yuan(r.ShareFen))})
			continue
		}
		if o.Area != r.Area {
			out = append(out, CostChange{HouseholdID: r.HouseholdID, Room: room, Field: "area", Old: o.Area.String(), New: r.Area.String(),
				Text: fmt.Sprintf("%s 面积由 %s㎡ 改为 %s㎡", room, o.Area, r.Area)})
		}
		if o.Floor != r.Floor {
			out = append(out, CostChange{HouseholdID: r.HouseholdID, Room: room, Field: "floor", Old: strconv.Itoa(o.Floor), New: strconv.Itoa(r.Floor),
				Text: fmt.Sprintf("%s 楼层由 %d 改为 %d", room, o.Floor, r.Floor)})
		}
		if o.ShareFen != r.ShareFen {
			out = append(out, CostChange{HouseholdID: r.HouseholdID, Room: room, Field: "share_fen", Old: yuan(o.ShareFen), New: yuan(r.ShareFen),
				Text: fmt.Sprintf("%s 分摊由 %s 元改为 %s 元", room, yuan(o.ShareFen), yuan(r.ShareFen))})
		}
	}
	for _, r := range a.Rows {
		if !seen[r.HouseholdID] {
			room := r.Building + r.Unit + r.Room
			out = append(out, CostChange{HouseholdID: r.HouseholdID, Room: room, Field: "household", Old: yuan(r.ShareFen),
				Text: fmt.Sprintf("%s 不再在分摊表中（原分摊 %s 元）", room, yuan(r.ShareFen))})
		}
	}
	return out
}

// thousandths shows a coefficient: 1200 → "1.2", 0 → "0".
func thousandths(c int64) string {
	return strconv.FormatFloat(float64(c)/1000, 'f', -1, 64)
}
