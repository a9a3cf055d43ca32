package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/roster"
)

// Places creates the hierarchy and councils; the operator's commands and the
// demo use it.
type Places struct{ db *DB }

// NewPlaces returns the places store of db.
func NewPlaces(db *DB) *Places { return &Places{db: db} }

// Empty reports whether no subdistrict exists yet.
func (s *Places) Empty(ctx context.Context) (bool, error) {
	var n int64
	err := s.db.conn(ctx).Table("subdistricts").Count(&n).Error
	return n == 0, wrap(err, "count subdistricts")
}

// InTx runs fn in a transaction.
func (s *Places) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// placeTables are each level's table and the column naming its parent.
var placeTables = map[roster.Level]struct{ table, parent string }{
	roster.LevelSubdistrict: {"subdistricts", ""},
	roster.LevelCommunity:   {"communities", "subdistrict_id"},
	roster.LevelCourtyard:   {"courtyards", "community_id"},
	roster.LevelBuilding:    {"buildings", "courtyard_id"},
	roster.LevelUnit:        {"units", "building_id"},
}

// errNameTaken is the answer to a name a sibling already has.
func errNameTaken(level roster.Level, name string) error {
	return louyuan.Conflict("place_name_taken", fmt.Sprintf("同一上级下已有名为“%s”的%s，请换一个名称", name, level.Label()))
}

// CreatePlace adds a place of level under parentID: the one way a place is
// made, by the API, the operator's command line and the demo alike.
func (s *Places) CreatePlace(ctx context.Context, level roster.Level, parentID int64, name, address string, now time.Time) (int64, error) {
	t, ok := placeTables[level]
	if !ok {
		return 0, fmt.Errorf("create place: unknown level %q", level)
	}
	row := map[string]any{"name": name, "created_at": now}
	if t.parent != "" {
		row[t.parent] = parentID
	}
	if level == roster.LevelCourtyard {
		row["address"] = address
	}
	conn := s.db.conn(ctx)
	if err := conn.Table(t.table).Create(row).Error; err != nil {
		if isDuplicate(err) {
			return 0, errNameTaken(level, name)
		}
		return 0, wrap(err, "create "+t.table)
	}
	// Read the ID back by the unique key (maps do not carry it on every driver).
	q := conn.Table(t.table).Where("name = ?", name)
	if t.parent != "" {
		q = q.Where(t.parent+" = ?", parentID)
	}
	var ids []int64
	if err := q.Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
		return 0, wrap(fmt.Errorf("row not found after insert: %v", err), "read "+t.table)
	}
	return ids[0], nil
}

// RenamePlace renames a place (and sets a courtyard's address when address
// is not nil).
func (s *Places) RenamePlace(ctx context.Context, level roster.Level, id int64, name string, address *string) error {
	t, ok := placeTables[level]
	if !ok {
		return fmt.Errorf("rename place: unknown level %q", level)
	}
	set := map[string]any{"name": name}
	if address != nil && level == roster.LevelCourtyard {
		set["address"] = *address
	}
	res := s.db.conn(ctx).Table(t.table).Where("id = ?", id).Updates(set)
	if isDuplicate(res.Error) {
		return errNameTaken(level, name)
	}
	if res.Error != nil {
		return wrap(res.Error, "rename "+t.table)
	}
	return nil
}

// LockPlace holds a place's row until the transaction ends, so that a
// rename reads the name it replaces only after any rename in flight has
// committed (MariaDB; SQLite's single writer needs no lock). A missing
// place is no error: the read that follows answers it.
func (s *Places) LockPlace(ctx context.Context, level roster.Level, id int64) error {
	t, ok := placeTables[level]
	if !ok {
		return fmt.Errorf("lock place: unknown level %q", level)
	}
	var ids []int64
	return wrap(s.db.forUpdate(s.db.conn(ctx).Table(t.table).Where("id = ?", id)).Pluck("id", &ids).Error, "lock "+t.table)
}

type nodeView struct {
	ID            int64
	Name          string
	Address       string
	ParentID      int64
	SubdistrictID int64
	CommunityID   int64
	CourtyardID   int64
}

func (v nodeView) node(level roster.Level) roster.Node {
	return roster.Node{Level: level, ID: v.ID, Name: v.Name, Address: v.Address, ParentID: v.ParentID,
		Place: identity.Place{SubdistrictID: v.SubdistrictID, CommunityID: v.CommunityID, CourtyardID: v.CourtyardID}}
}

// nodeQuery selects places of level with their ancestry.
func (s *Places) nodeQuery(ctx context.Context, level roster.Level) *gorm.DB {
	conn := s.db.conn(ctx)
	switch level {
	case roster.LevelSubdistrict:
		return conn.Table("subdistricts d").Select("d.id, d.name, '' AS address, 0 AS parent_id, d.id AS subdistrict_id, 0 AS community_id, 0 AS courtyard_id")
	case roster.LevelCommunity:
		return conn.Table("communities m").Select("m.id, m.name, '' AS address, m.subdistrict_id AS parent_id, m.subdistrict_id, m.id AS community_id, 0 AS courtyard_id")
	case roster.LevelCourtyard:
		return conn.Table("courtyards c").Select("c.id, c.name, c.address, c.community_id AS parent_id, m.subdistrict_id, c.community_id, c.id AS courtyard_id").
			Joins("JOIN communities m ON m.id = c.community_id")
	case roster.LevelBuilding:
		return conn.Table("buildings b").Select("b.id, b.name, '' AS address, b.courtyard_id AS parent_id, m.subdistrict_id, c.community_id, b.courtyard_id").
			Joins("JOIN courtyards c ON c.id = b.courtyard_id").Joins("JOIN communities m ON m.id = c.community_id")
	case roster.LevelUnit:
		return conn.Table("units u").Select("u.id, u.name, '' AS address, u.building_id AS parent_id, m.subdistrict_id, c.community_id, b.courtyard_id").
			Joins("JOIN buildings b ON b.id = u.building_id").Joins("JOIN courtyards c ON c.id = b.courtyard_id").
			Joins("JOIN communities m ON m.id = c.community_id")
	}
	return nil
}

// PlaceNode reads one place with its ancestry.
func (s *Places) PlaceNode(ctx context.Context, level roster.Level, id int64) (roster.Node, error) {
	q := s.nodeQuery(ctx, level)
	if q == nil {
		return roster.Node{}, fmt.Errorf("read place: unknown level %q", level)
	}
	var v nodeView
	alias := map[roster.Level]string{roster.LevelSubdistrict: "d", roster.LevelCommunity: "m", roster.LevelCourtyard: "c", roster.LevelBuilding: "b", roster.LevelUnit: "u"}[level]
	err := q.Where(alias+".id = ?", id).Take(&v).Error
	if missing, err := notFound(err); missing {
		return roster.Node{}, louyuan.NotFound(string(level)+"_not_found", level.Label()+"不存在")
	} else if err != nil {
		return roster.Node{}, wrap(err, "read "+string(level))
	}
	return v.node(level), nil
}

// PlaceTree lists every subdistrict, then every community, then every
// courtyard, each level by name (natural order) and ID.
func (s *Places) PlaceTree(ctx context.Context) ([]roster.Node, error) {
	var out []roster.Node
	for _, level := range []roster.Level{roster.LevelSubdistrict, roster.LevelCommunity, roster.LevelCourtyard} {
		var vs []nodeView
		if err := s.nodeQuery(ctx, level).Find(&vs).Error; err != nil {
			return nil, wrap(err, "list "+string(level))
		}
		sort.Slice(vs, func(i, j int) bool {
			if vs[i].Name != vs[j].Name {
				return naturalLess(vs[i].Name, vs[j].Name)
			}
			return vs[i].ID < vs[j].ID
		})
		for _, v := range vs {
			out = append(out, v.node(level))
		}
	}
	return out, nil
}

// BuildingsOf lists a courtyard's buildings with their units and the
// number of households in each, in natural order.
func (s *Places) BuildingsOf(ctx context.Context, courtyardID int64) ([]roster.Building, error) {
	conn := s.db.conn(ctx)
	var bs []buildingRow
	if err := conn.Where("courtyard_id = ?", courtyardID).Find(&bs).Error; err != nil {
		return nil, wrap(err, "list buildings")
	}
	var us []unitRow
	if err := conn.Table("units u").Select("u.*").Joins("JOIN buildings b ON b.id = u.building_id").
		Where("b.courtyard_id = ?", courtyardID).Find(&us).Error; err != nil {
		return nil, wrap(err, "list units")
	}
	var counts []struct {
		UnitID int64
		N      int
	}
	if err := conn.Table("households").Select("unit_id, COUNT(*) AS n").Where("courtyard_id = ?", courtyardID).
		Group("unit_id").Scan(&counts).Error; err != nil {
		return nil, wrap(err, "count households")
	}
	perUnit := map[int64]int{}
	for _, c := range counts {
		perUnit[c.UnitID] = c.N
	}
	sort.Slice(bs, func(i, j int) bool {
		return naturalLess(bs[i].Name, bs[j].Name) || bs[i].Name == bs[j].Name && bs[i].ID < bs[j].ID
	})
	sort.Slice(us, func(i, j int) bool {
		return naturalLess(us[i].Name, us[j].Name) || us[i].Name == us[j].Name && us[i].ID < us[j].ID
	})
	out := make([]roster.Building, len(bs))
	at := map[int64]int{}
	for i, b := range bs {
		out[i] = roster.Building{ID: b.ID, Name: b.Name, Units: []roster.Unit{}}
		at[b.ID] = i
	}
	for _, u := range us {
		i := at[u.BuildingID]
		out[i].Units = append(out[i].Units, roster.Unit{ID: u.ID, Name: u.Name, Households: perUnit[u.ID]})
		out[i].Households += perUnit[u.ID]
	}
	return out, nil
}

// ensure finds the place of level named name under parentID, creating it
// when missing. When another transaction creates it first (two operators
// adding one courtyard at once), the name's conflict is no error: the row
// is read again with a locking read, which sees what that one committed
// (a plain read would keep this transaction's older snapshot on MariaDB).
func (s *Places) ensure(ctx context.Context, level roster.Level, parentID int64, name, address string, now time.Time) (int64, error) {
	t := placeTables[level]
	find := func(lock string) ([]int64, error) {
		q := "SELECT id FROM " + t.table + " WHERE name = ?"
		args := []any{name}
		if t.parent != "" {
			q += " AND " + t.parent + " = ?"
			args = append(args, parentID)
		}
		var ids []int64
		err := s.db.conn(ctx).Raw(q+s.db.lockSuffix(lock), args...).Scan(&ids).Error
		return ids, wrap(err, "read "+t.table)
	}
	ids, err := find("")
	if err != nil || len(ids) > 0 {
		return firstID(ids), err
	}
	id, err := s.CreatePlace(ctx, level, parentID, name, address, now)
	var e *louyuan.Error
	if !louyuan.AsError(err, &e) || e.Code != "place_name_taken" {
		return id, err
	}
	// A shared lock: several transactions that lost the race read at once.
	if ids, err = find(" LOCK IN SHARE MODE"); err != nil || len(ids) == 0 {
		return 0, wrap(fmt.Errorf("%s %q taken but not found: %v", t.table, name, err), "ensure "+t.table)
	}
	return ids[0], nil
}

func firstID(ids []int64) int64 {
	if len(ids) == 0 {
		return 0
	}
	return ids[0]
}

// EnsureCourtyard creates whatever of subdistrict → community → courtyard
// does not exist yet and returns the three IDs. Names pass the same check
// as the API's (roster.CheckPlaceName).
func (s *Places) EnsureCourtyard(ctx context.Context, subdistrict, community, courtyard, address string) (subID, commID, yardID int64, err error) {
	names := []*string{&subdistrict, &community, &courtyard}
	for i, level := range []roster.Level{roster.LevelSubdistrict, roster.LevelCommunity, roster.LevelCourtyard} {
		if *names[i], err = roster.CheckPlaceName(level, *names[i]); err != nil {
			return 0, 0, 0, err
		}
	}
	err = s.db.InTx(ctx, func(ctx context.Context) error {
		now := time.Now().UTC()
		var err error
		if subID, err = s.ensure(ctx, roster.LevelSubdistrict, 0, subdistrict, "", now); err != nil {
			return err
		}
		if commID, err = s.ensure(ctx, roster.LevelCommunity, subID, community, "", now); err != nil {
			return err
		}
		yardID, err = s.ensure(ctx, roster.LevelCourtyard, commID, courtyard, address, now)
		return err
	})
	return subID, commID, yardID, err
}

// CreateCouncil makes a council serving courtyardIDs with one term.
func (s *Places) CreateCouncil(ctx context.Context, name string, courtyardIDs []int64, startsOn, endsOn string) (councilID, termID int64, err error) {
	err = s.db.InTx(ctx, func(ctx context.Context) error {
		conn := s.db.conn(ctx)
		now := time.Now().UTC()
		c := struct {
			ID        int64 `gorm:"primaryKey"`
			Name      string
			CreatedAt time.Time
		}{Name: name, CreatedAt: now}
		if err := conn.Table("councils").Create(&c).Error; err != nil {
			return wrap(err, "create council")
		}
		for _, y := range courtyardIDs {
			if err := conn.Table("council_courtyards").Create(map[string]any{"council_id": c.ID, "courtyard_id": y}).Error; err != nil {
				return wrap(err, "link council courtyard")
			}
		}
		t := struct {
			ID        int64 `gorm:"primaryKey"`
			CouncilID int64
			StartsOn  string
			EndsOn    string
			CreatedAt time.Time
		}{CouncilID: c.ID, StartsOn: startsOn, EndsOn: endsOn, CreatedAt: now}
		if err := conn.Table("council_terms").Create(&t).Error; err != nil {
			return wrap(err, "create council term")
		}
		councilID, termID = c.ID, t.ID
		return nil
	})
	return councilID, termID, err
}

// CouncilTerm returns the council term of a courtyard that runs from
// startsOn to endsOn, making a council for the courtyard with that term
// when there is none.
func (s *Places) CouncilTerm(ctx context.Context, courtyardID int64, startsOn, endsOn string) (int64, error) {
	var ids []int64
	err := s.db.conn(ctx).Table("council_terms t").Joins("JOIN council_courtyards cc ON cc.council_id = t.council_id").
		Where("cc.courtyard_id = ? AND t.starts_on = ? AND t.ends_on = ?", courtyardID, startsOn, endsOn).Order("t.id").Pluck("t.id", &ids).Error
	if err != nil {
		return 0, wrap(err, "find council term")
	}
	if len(ids) > 0 {
		return ids[0], nil
	}
	var names []string
	if err := s.db.conn(ctx).Table("courtyards").Where("id = ?", courtyardID).Pluck("name", &names).Error; err != nil {
		return 0, wrap(err, "read courtyard")
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("courtyard %d does not exist", courtyardID)
	}
	_, termID, err := s.CreateCouncil(ctx, names[0]+"理事会", []int64{courtyardID}, startsOn, endsOn)
	return termID, err
}

// AddCouncilMember adds a WeChat user to a term as "chair", "member" or
// "treasurer".
func (s *Places) AddCouncilMember(ctx context.Context, termID, userID int64, role string) error {
	row := map[string]any{"term_id": termID, "user_id": userID, "role": role, "created_at": time.Now().UTC()}
	if role == "chair" {
		row["chair"] = 1
	}
	return wrap(s.db.conn(ctx).Table("council_members").Create(row).Error, "add council member")
}
