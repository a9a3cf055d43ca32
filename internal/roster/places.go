package roster

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// CourtyardsFor lists the courtyards p may work in as staff or council
// (the places tree of the staff console), ordered by subdistrict,
// community and name. A caller with no such grant gets none.
func (s *Service) CourtyardsFor(ctx context.Context, p identity.Principal) ([]Courtyard, error) {
	all, err := s.store.Courtyards(ctx)
	if err != nil {
		return nil, err
	}
	out := []Courtyard{}
	for _, c := range all {
		if p.Can(c.Place(), identity.CouncilOrStaff...) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Level is a level of the place hierarchy that can be created and renamed.
type Level string

// The levels, widest first.
const (
	LevelSubdistrict Level = "subdistrict"
	LevelCommunity   Level = "community"
	LevelCourtyard   Level = "courtyard"
	LevelBuilding    Level = "building"
	LevelUnit        Level = "unit"
)

// Label is the level's Chinese name.
func (l Level) Label() string {
	switch l {
	case LevelSubdistrict:
		return "街道"
	case LevelCommunity:
		return "社区"
	case LevelCourtyard:
		return "楼院"
	case LevelBuilding:
		return "楼栋"
	case LevelUnit:
		return "单元"
	}
	return string(l)
}

// parent is the level a place of l is created in.
func (l Level) parent() Level {
	switch l {
	case LevelCommunity:
		return LevelSubdistrict
	case LevelCourtyard:
		return LevelCommunity
	case LevelBuilding:
		return LevelCourtyard
	case LevelUnit:
		return LevelBuilding
	}
	return ""
}

// maxNameLen is each level's longest name in characters (the columns are
// VARCHAR(64) for the upper levels and VARCHAR(32) for buildings and units).
func (l Level) maxNameLen() int {
	if l == LevelBuilding || l == LevelUnit {
		return 32
	}
	return 64
}

// rolesToChange are who may create places of level l (in its parent) and
// rename them: a subdistrict admin makes communities; community staff or
// above make courtyards, buildings and units of their scope.
func (l Level) rolesToChange() []identity.Role {
	if l == LevelCommunity || l == LevelSubdistrict {
		return []identity.Role{identity.RoleSubdistrictAdmin}
	}
	return identity.StaffRoles
}

// Node is one place with where it sits: Place holds the IDs of its
// subdistrict, community and courtyard as far as it has them.
type Node struct {
	Level    Level
	ID       int64
	Name     string
	Address  string // courtyards only
	ParentID int64
	Place    identity.Place
}

// PlaceStore keeps the place hierarchy. CreatePlace and RenamePlace answer
// a Conflict with code place_name_taken when a sibling has the name.
type PlaceStore interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// PlaceNode reads one place; a missing one is NotFound.
	PlaceNode(ctx context.Context, level Level, id int64) (Node, error)
	// CreatePlace adds a place of level under parentID and returns its ID.
	CreatePlace(ctx context.Context, level Level, parentID int64, name, address string, now time.Time) (int64, error)
	// LockPlace holds a place's row for the rest of the transaction (a
	// missing place is no error).
	LockPlace(ctx context.Context, level Level, id int64) error
	// RenamePlace renames a place; address is set for courtyards when not nil.
	RenamePlace(ctx context.Context, level Level, id int64, name string, address *string) error
	// PlaceTree lists every subdistrict, community and courtyard.
	PlaceTree(ctx context.Context) ([]Node, error)
	// BuildingsOf lists a courtyard's buildings and units with their
	// household counts, in natural order.
	BuildingsOf(ctx context.Context, courtyardID int64) ([]Building, error)
}

// Building is a building of a courtyard with its units.
type Building struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Households int    `json:"households"`
	Units      []Unit `json:"units"`
}

// Unit is a unit (stairwell) of a building.
type Unit struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Households int    `json:"households"`
}

// CheckPlaceName trims a place's name and refuses an empty, overlong or
// invisible-character one with a message naming the level. The API and the
// operator's command line both pass through it.
func CheckPlaceName(level Level, name string) (string, error) {
	name = strings.TrimSpace(name)
	field := level.Label() + "名称"
	if err := louyuan.CheckText(field, name, false); err != nil {
		return "", err
	}
	if name == "" {
		return "", louyuan.Invalid("place_name_empty", "请填写"+field)
	}
	if n := utf8.RuneCountInString(name); n > level.maxNameLen() {
		return "", louyuan.Invalid("place_name_too_long", fmt.Sprintf("%s不能超过%d个字", field, level.maxNameLen()))
	}
	return name, nil
}

// checkAddress trims a courtyard's address and refuses a bad one.
func checkAddress(address string) (string, error) {
	address = strings.TrimSpace(address)
	if err := louyuan.CheckText("地址", address, false); err != nil {
		return "", err
	}
	if utf8.RuneCountInString(address) > 255 {
		return "", louyuan.Invalid("address_too_long", "地址不能超过255个字")
	}
	return address, nil
}

// errNoPlaces is the answer when the service was built without a place
// store (tests that do not need one).
var errNoPlaces = &louyuan.Error{Kind: louyuan.KindUnavailable, Code: "places_unavailable", Message: "暂时无法修改楼院信息，请稍后再试"}

// placeFor loads the place of level and id and checks that p holds one of
// roles over it. A caller who holds none of roles anywhere is refused
// (403); one who holds them elsewhere learns nothing of it (404, as for a
// place that does not exist).
func (s *Service) placeFor(ctx context.Context, p identity.Principal, level Level, id int64, roles []identity.Role) (Node, error) {
	n, err := s.Places.PlaceNode(ctx, level, id)
	if louyuan.IsKind(err, louyuan.KindNotFound) || err == nil && !p.Can(n.Place, roles...) && holdsAny(p, roles) {
		return Node{}, louyuan.NotFound(string(level)+"_not_found", level.Label()+"不存在")
	}
	if err != nil {
		return Node{}, err
	}
	if !p.Can(n.Place, roles...) {
		if len(roles) == 1 && roles[0] == identity.RoleSubdistrictAdmin {
			return Node{}, louyuan.Forbidden("not_in_scope", "只有街道管理员可以新建或修改社区")
		}
		return Node{}, louyuan.Forbidden("not_in_scope", "只有社区或街道工作人员可以新建或修改楼院、楼栋和单元")
	}
	return n, nil
}

func holdsAny(p identity.Principal, roles []identity.Role) bool {
	for _, g := range p.Grants {
		for _, r := range roles {
			if g.Role == r {
				return true
			}
		}
	}
	return false
}

// placeStream is the audit stream of a change to node n: its courtyard's,
// or the global one above courtyards.
func placeStream(n Node) string {
	if n.Place.CourtyardID != 0 {
		return audit.CourtyardStream(n.Place.CourtyardID)
	}
	return audit.GlobalStream
}

// CreatePlace makes a community (in a subdistrict), a courtyard (in a
// community; address optional), a building (in a courtyard) or a unit (in
// a building), within p's scope, audited. It returns the new place.
func (s *Service) CreatePlace(ctx context.Context, p identity.Principal, level Level, parentID int64, name, address string) (Node, error) {
	if s.Places == nil {
		return Node{}, errNoPlaces
	}
	if level.parent() == "" || level == LevelSubdistrict {
		return Node{}, louyuan.Invalid("bad_level", "只能新建社区、楼院、楼栋或单元")
	}
	var out Node
	err := s.Places.InTx(ctx, func(ctx context.Context) error {
		// Scope first: a caller who may not add here learns nothing from
		// the checks of the name (403/404, never 400).
		parent, err := s.placeFor(ctx, p, level.parent(), parentID, level.rolesToChange())
		if err != nil {
			return err
		}
		if name, err = CheckPlaceName(level, name); err != nil {
			return err
		}
		if address, err = checkAddress(address); err != nil {
			return err
		}
		id, err := s.Places.CreatePlace(ctx, level, parentID, name, address, s.now())
		if err != nil {
			return err
		}
		if out, err = s.Places.PlaceNode(ctx, level, id); err != nil {
			return err
		}
		detail := map[string]any{"level": string(level), "name": name, "parent": ref(string(parent.Level), parent.ID), "parent_name": parent.Name}
		if address != "" {
			detail["address"] = address
		}
		return s.audit.Append(ctx, audit.Record{Stream: placeStream(out), Actor: p.Ref(), Action: "place.created",
			Object: ref(string(level), id), Detail: detail})
	})
	return out, err
}

// RenamePlace renames a community, courtyard, building or unit within p's
// scope (a courtyard's address too, when address is not nil), audited.
func (s *Service) RenamePlace(ctx context.Context, p identity.Principal, level Level, id int64, name string, address *string) (Node, error) {
	if s.Places == nil {
		return Node{}, errNoPlaces
	}
	if level.parent() == "" || level == LevelSubdistrict {
		return Node{}, louyuan.Invalid("bad_level", "只能修改社区、楼院、楼栋或单元的名称")
	}
	var out Node
	err := s.Places.InTx(ctx, func(ctx context.Context) error {
		// Renames of one place queue here: each reads (and audits as
		// old_name) the name the one before it wrote.
		if err := s.Places.LockPlace(ctx, level, id); err != nil {
			return err
		}
		// Scope first, as in CreatePlace.
		old, err := s.placeFor(ctx, p, level, id, level.rolesToChange())
		if err != nil {
			return err
		}
		if name, err = CheckPlaceName(level, name); err != nil {
			return err
		}
		if address != nil {
			a, err := checkAddress(*address)
			if err != nil {
				return err
			}
			address = &a
			if level != LevelCourtyard {
				address = nil
			}
		}
		if old.Name == name && (address == nil || *address == old.Address) {
			out = old
			return nil // nothing changes, nothing to record
		}
		if err := s.Places.RenamePlace(ctx, level, id, name, address); err != nil {
			return err
		}
		if out, err = s.Places.PlaceNode(ctx, level, id); err != nil {
			return err
		}
		detail := map[string]any{"level": string(level), "name": name, "old_name": old.Name}
		if address != nil && *address != old.Address {
			detail["address"], detail["old_address"] = *address, old.Address
		}
		return s.audit.Append(ctx, audit.Record{Stream: placeStream(out), Actor: p.Ref(), Action: "place.renamed",
			Object: ref(string(level), id), Detail: detail})
	})
	return out, err
}

// TreeNode is a place of the staff console's tree with what the caller may
// do there: rename it, and add places one level down.
type TreeNode struct {
	Level     Level      `json:"level"`
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Address   string     `json:"address,omitempty"`
	CanRename bool       `json:"can_rename"`
	CanAdd    bool       `json:"can_add"`
	Children  []TreeNode `json:"children"`
}

// PlaceTree is the places p works in as staff or council: subdistricts →
// communities → courtyards, each with what p may do there. A subdistrict
// or community shows when p's scope covers it or one of its courtyards, so
// an empty community a staff member just made shows too.
func (s *Service) PlaceTree(ctx context.Context, p identity.Principal) ([]TreeNode, error) {
	if s.Places == nil {
		return nil, errNoPlaces
	}
	nodes, err := s.Places.PlaceTree(ctx)
	if err != nil {
		return nil, err
	}
	admin := []identity.Role{identity.RoleSubdistrictAdmin}
	// What shows: a place p's grants cover, and the community and
	// subdistrict above each courtyard p works in.
	seenComm, seenSub := map[int64]bool{}, map[int64]bool{}
	for _, n := range nodes {
		if n.Level != LevelSubdistrict && p.Can(n.Place, identity.CouncilOrStaff...) {
			seenComm[n.Place.CommunityID], seenSub[n.Place.SubdistrictID] = true, true
		}
		if n.Level == LevelSubdistrict && p.Can(n.Place, admin...) {
			seenSub[n.ID] = true
		}
	}
	out := []TreeNode{}
	subIdx := map[int64]int{}
	commIdx := map[int64][2]int{}
	for _, n := range nodes { // subdistricts first, then communities, then courtyards (PlaceStore's order)
		switch n.Level {
		case LevelSubdistrict:
			if seenSub[n.ID] {
				subIdx[n.ID] = len(out)
				out = append(out, TreeNode{Level: n.Level, ID: n.ID, Name: n.Name, CanAdd: p.Can(n.Place, admin...), Children: []TreeNode{}})
			}
		case LevelCommunity:
			si, ok := subIdx[n.Place.SubdistrictID]
			if !ok || !seenComm[n.ID] {
				continue
			}
			commIdx[n.ID] = [2]int{si, len(out[si].Children)}
			out[si].Children = append(out[si].Children, TreeNode{Level: n.Level, ID: n.ID, Name: n.Name,
				CanRename: p.Can(n.Place, admin...), CanAdd: p.Can(n.Place, identity.StaffRoles...), Children: []TreeNode{}})
		case LevelCourtyard:
			ci, ok := commIdx[n.Place.CommunityID]
			if !ok || !p.Can(n.Place, identity.CouncilOrStaff...) {
				continue
			}
			staff := p.Can(n.Place, identity.StaffRoles...)
			comm := &out[ci[0]].Children[ci[1]]
			comm.Children = append(comm.Children, TreeNode{Level: n.Level, ID: n.ID, Name: n.Name, Address: n.Address,
				CanRename: staff, CanAdd: staff, Children: []TreeNode{}})
		}
	}
	return out, nil
}

// Buildings lists a courtyard's buildings and units for its council and
// staff, with whether the caller may add and rename them.
func (s *Service) Buildings(ctx context.Context, p identity.Principal, courtyardID int64) ([]Building, bool, error) {
	if s.Places == nil {
		return nil, false, errNoPlaces
	}
	c, err := s.courtyardFor(ctx, p, courtyardID, identity.CouncilOrStaff...)
	if err != nil {
		return nil, false, err
	}
	bs, err := s.Places.BuildingsOf(ctx, courtyardID)
	return bs, p.Can(c.Place(), identity.StaffRoles...), err
}

// HouseholdFilter narrows a courtyard's household list in the console.
type HouseholdFilter struct {
	BuildingID int64
	UnitID     int64
	// Text matches the room number, the address ("1号楼1单元101") or an
	// owner's name, as a substring.
	Text string
	// Bound is "yes" for households with a bound member, "no" for those
	// without, "" for both.
	Bound string
}

// Keep reports whether h passes the filter.
func (f HouseholdFilter) Keep(h Household) bool {
	if f.BuildingID != 0 && h.BuildingID != f.BuildingID || f.UnitID != 0 && h.UnitID != f.UnitID {
		return false
	}
	if f.Bound == "yes" && h.BoundMembers == 0 || f.Bound == "no" && h.BoundMembers > 0 {
		return false
	}
	if t := strings.TrimSpace(f.Text); t != "" {
		if strings.Contains(h.Label(), t) || strings.Contains(h.Room, t) {
			return true
		}
		for _, o := range h.Owners {
			if strings.Contains(o, t) {
				return true
			}
		}
		return false
	}
	return true
}

// RequestView is a pending request as the console lists it: with the
// household's address, the name of the person it is about and, for a
// representative change, who represents the household now.
type RequestView struct {
	Request
	Household      string `json:"household"`
	PersonName     string `json:"person_name"`
	Representative string `json:"current_representative"`
}

// PendingRequestViews lists a courtyard's undecided requests, oldest first,
// filtered by kind ("bind", "representative" or "" for both) and paged by
// page (offset and limit; limit 0 lists all). It returns the total too.
func (s *Service) PendingRequestViews(ctx context.Context, p identity.Principal, courtyardID int64, kind string, offset, limit int) ([]RequestView, int, error) {
	rs, err := s.PendingRequests(ctx, p, courtyardID)
	if err != nil {
		return nil, 0, err
	}
	kept := rs[:0:0]
	for _, r := range rs {
		if kind == "" || r.Kind == kind {
			kept = append(kept, r)
		}
	}
	total := len(kept)
	kept = kept[min(offset, total):]
	if limit > 0 {
		kept = kept[:min(limit, len(kept))]
	}
	// The page's households and their members, each read in one query
	// (several requests often concern one household: a family binding
	// together).
	ids := make([]int64, 0, len(kept))
	seen := map[int64]bool{}
	for _, r := range kept {
		if !seen[r.HouseholdID] {
			seen[r.HouseholdID] = true
			ids = append(ids, r.HouseholdID)
		}
	}
	households := map[int64]Household{}
	members := map[int64][]Member{}
	if len(ids) > 0 {
		hs, err := s.store.HouseholdsByID(ctx, ids)
		if err != nil {
			return nil, 0, err
		}
		for _, h := range hs {
			households[h.ID] = h
		}
		ms, err := s.store.MembersOfHouseholds(ctx, ids)
		if err != nil {
			return nil, 0, err
		}
		for _, m := range ms {
			members[m.HouseholdID] = append(members[m.HouseholdID], m)
		}
	}
	out := make([]RequestView, len(kept))
	for i, r := range kept {
		h, ok := households[r.HouseholdID]
		if !ok {
			return nil, 0, louyuan.NotFound("household_not_found", "房屋不存在")
		}
		out[i] = RequestView{Request: r, Household: h.Label(), PersonName: r.RealName}
		for _, m := range members[r.HouseholdID] {
			if m.Representative {
				out[i].Representative = m.RealName
			}
			if r.Kind == "representative" && m.UserID == r.UserID {
				out[i].PersonName = m.RealName
			}
		}
	}
	return out, total, nil
}

// HouseholdMembers lists the users bound to a household for the council and
// staff of its courtyard (names and masked phones only).
func (s *Service) HouseholdMembers(ctx context.Context, p identity.Principal, householdID int64) (Household, []Member, error) {
	h, err := s.store.Household(ctx, householdID)
	if err != nil {
		return Household{}, nil, err
	}
	if _, err := s.courtyardFor(ctx, p, h.CourtyardID, identity.CouncilOrStaff...); err != nil {
		return Household{}, nil, s.hideHousehold(ctx, p, h, err)
	}
	ms, err := s.store.Members(ctx, householdID)
	if ms == nil {
		ms = []Member{}
	}
	return h, ms, err
}
