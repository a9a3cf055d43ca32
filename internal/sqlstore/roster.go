package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/roster"
)

// decimal2 maps a DECIMAL(10,2) column to louyuan.Area exactly. MySQL
// returns the decimal as text; SQLite stores it as a REAL, whose shortest
// decimal form is the two-decimal number that was written.
type decimal2 louyuan.Area

func (d *decimal2) Scan(v any) error {
	var s string
	switch x := v.(type) {
	case []byte:
		s = string(x)
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		s = strconv.FormatInt(x, 10)
	default:
		return fmt.Errorf("scan area from %T", v)
	}
	a, err := louyuan.ParseArea(s)
	if err != nil {
		return err
	}
	*d = decimal2(a)
	return nil
}

func (d decimal2) Value() (driver.Value, error) { return louyuan.Area(d).String(), nil }

type buildingRow struct {
	ID          int64 `gorm:"primaryKey"`
	CourtyardID int64
	Name        string
	CreatedAt   time.Time
}

func (buildingRow) TableName() string { return "buildings" }

type unitRow struct {
	ID         int64 `gorm:"primaryKey"`
	BuildingID int64
	Name       string
	CreatedAt  time.Time
}

func (unitRow) TableName() string { return "units" }

type householdRow struct {
	ID          int64 `gorm:"primaryKey"`
	CourtyardID int64
	BuildingID  int64
	UnitID      int64
	Room        string
	Floor       int
	Area        decimal2
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (householdRow) TableName() string { return "households" }

type ownerRow struct {
	ID          int64 `gorm:"primaryKey"`
	CourtyardID int64
	Name        string
	IDTail      string `gorm:"column:id_tail"`
	CreatedAt   time.Time
}

func (ownerRow) TableName() string { return "owners" }

type householdOwnerRow struct {
	HouseholdID int64 `gorm:"primaryKey"`
	OwnerID     int64 `gorm:"primaryKey"`
}

func (householdOwnerRow) TableName() string { return "household_owners" }

type membershipRow struct {
	ID             int64 `gorm:"primaryKey"`
	UserID         int64
	HouseholdID    int64
	Role           string
	Representative *int
	Via            string
	CreatedAt      time.Time
}

func (membershipRow) TableName() string { return "memberships" }

type inviteRow struct {
	ID          int64 `gorm:"primaryKey"`
	HouseholdID int64
	CodeHash    string
	Role        string
	ExpiresAt   time.Time
	CreatedBy   string
	CreatedAt   time.Time
	UsedAt      *time.Time
	UsedBy      *int64
	RevokedAt   *time.Time
}

func (inviteRow) TableName() string { return "invite_codes" }

// Roster is the roster.Store on SQL.
type Roster struct{ db *DB }

// NewRoster returns the roster store of db.
func NewRoster(db *DB) *Roster { return &Roster{db: db} }

// InTx runs fn in a transaction.
func (s *Roster) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// Courtyard reads a courtyard with its community and subdistrict.
func (s *Roster) Courtyard(ctx context.Context, id int64) (roster.Courtyard, error) {
	var c roster.Courtyard
	err := s.db.conn(ctx).Table("courtyards c").
		Select("c.id, c.name, c.address, c.community_id, m.name AS community, m.subdistrict_id, d.name AS subdistrict").
		Joins("JOIN communities m ON m.id = c.community_id").
		Joins("JOIN subdistricts d ON d.id = m.subdistrict_id").
		Where("c.id = ?", id).Take(&c).Error
	if missing, err := notFound(err); missing {
		return c, louyuan.NotFound("courtyard_not_found", "楼院不存在")
	} else if err != nil {
		return c, wrap(err, "read courtyard")
	}
	return c, nil
}

// SetCourtyardSettings writes a courtyard's proxy rules.
func (s *Roster) SetCourtyardSettings(ctx context.Context, id int64, st roster.Settings) error {
	return wrap(s.db.conn(ctx).Table("courtyards").Where("id = ?", id).
		Updates(map[string]any{"max_delegations_per_proxy": st.MaxDelegationsPerProxy, "proxy_photo_required": st.ProxyPhotoRequired}).Error, "update courtyard settings")
}

type householdView struct {
	ID          int64
	CourtyardID int64
	BuildingID  int64
	UnitID      int64
	Building    string
	Unit        string
	Room        string
	Floor       int
	Area        decimal2
}

const householdSelect = "h.id, h.courtyard_id, h.building_id, h.unit_id, b.name AS building, u.name AS unit, h.room, h.floor, h.area"

func (s *Roster) householdQuery(ctx context.Context) *gorm.DB {
	return s.db.conn(ctx).Table("households h").Select(householdSelect).
		Joins("JOIN buildings b ON b.id = h.building_id").
		Joins("JOIN units u ON u.id = h.unit_id")
}

// Household reads one household with its owners' names.
func (s *Roster) Household(ctx context.Context, id int64) (roster.Household, error) {
	var v householdView
	err := s.householdQuery(ctx).Where("h.id = ?", id).Take(&v).Error
	if missing, err := notFound(err); missing {
		return roster.Household{}, louyuan.NotFound("household_not_found", "房屋不存在")
	} else if err != nil {
		return roster.Household{}, wrap(err, "read household")
	}
	hs, err := s.withOwners(ctx, []householdView{v})
	if err != nil {
		return roster.Household{}, err
	}
	return hs[0], nil
}

// HouseholdsByID reads the households of ids (missing ones are absent).
func (s *Roster) HouseholdsByID(ctx context.Context, ids []int64) ([]roster.Household, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var vs []householdView
	if err := s.householdQuery(ctx).Where("h.id IN ?", ids).Find(&vs).Error; err != nil {
		return nil, wrap(err, "read households")
	}
	return s.withOwners(ctx, vs)
}

// Households lists a courtyard's households in building, unit, room order.
func (s *Roster) Households(ctx context.Context, courtyardID int64) ([]roster.Household, error) {
	var vs []householdView
	if err := s.householdQuery(ctx).Where("h.courtyard_id = ?", courtyardID).Find(&vs).Error; err != nil {
		return nil, wrap(err, "list households")
	}
	hs, err := s.withOwners(ctx, vs)
	if err != nil {
		return nil, err
	}
	sort.Slice(hs, func(i, j int) bool {
		a, b := hs[i], hs[j]
		if a.Building != b.Building {
			return naturalLess(a.Building, b.Building)
		}
		if a.Unit != b.Unit {
			return naturalLess(a.Unit, b.Unit)
		}
		return naturalLess(a.Room, b.Room)
	})
	return hs, nil
}

// naturalLess orders "2号楼" before "10号楼".
func naturalLess(a, b string) bool {
	na, ra := leadingNumber(a)
	nb, rb := leadingNumber(b)
	if na != nb {
		return na < nb
	}
	return ra < rb
}

func leadingNumber(s string) (int, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, _ := strconv.Atoi(s[:i])
	return n, s[i:]
}

func (s *Roster) withOwners(ctx context.Context, vs []householdView) ([]roster.Household, error) {
	ids := make([]int64, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	owners := map[int64][]roster.OwnerRef{}
	for start := 0; start < len(ids); start += 1000 {
		end := min(start+1000, len(ids))
		var batch []struct {
			HouseholdID int64
			Name        string
			IDTail      string
		}
		err := s.db.conn(ctx).Table("household_owners ho").Select("ho.household_id, o.name, o.id_tail").
			Joins("JOIN owners o ON o.id = ho.owner_id").Where("ho.household_id IN ?", ids[start:end]).
			Order("ho.household_id, o.id").Scan(&batch).Error
		if err != nil {
			return nil, wrap(err, "read owners")
		}
		for _, r := range batch {
			owners[r.HouseholdID] = append(owners[r.HouseholdID], roster.OwnerRef{Name: r.Name, IDTail: r.IDTail})
		}
	}
	out := make([]roster.Household, len(vs))
	for i, v := range vs {
		refs := owners[v.ID]
		var names []string
		for _, o := range refs {
			names = append(names, o.Name)
		}
		out[i] = roster.Household{ID: v.ID, CourtyardID: v.CourtyardID, BuildingID: v.BuildingID, UnitID: v.UnitID, Building: v.Building, Unit: v.Unit, Room: v.Room,
			Floor: v.Floor, Area: louyuan.Area(v.Area), Owners: names, OwnerRefs: refs}
	}
	return out, nil
}

// ImportHouseholds upserts the roster rows of one courtyard. It must run in
// a transaction (the service opens one): any failure leaves nothing behind.
func (s *Roster) ImportHouseholds(ctx context.Context, courtyardID int64, rows []roster.ImportRow, now time.Time) (roster.ImportResult, error) {
	var res roster.ImportResult
	conn := s.db.conn(ctx)
	// Serialise imports of one courtyard.
	if err := s.db.forUpdate(conn.Table("courtyards").Select("id").Where("id = ?", courtyardID)).Scan(&struct{ ID int64 }{}).Error; err != nil {
		return res, wrap(err, "lock courtyard")
	}
	buildings := map[string]int64{}
	units := map[string]int64{}
	owners := map[roster.OwnerKey]int64{} // who an owner is is roster's rule
	var existingB []buildingRow
	if err := conn.Where("courtyard_id = ?", courtyardID).Find(&existingB).Error; err != nil {
		return res, wrap(err, "read buildings")
	}
	bIDs := []int64{}
	for _, b := range existingB {
		buildings[b.Name] = b.ID
		bIDs = append(bIDs, b.ID)
	}
	if len(bIDs) > 0 {
		var existingU []unitRow
		if err := conn.Where("building_id IN ?", bIDs).Find(&existingU).Error; err != nil {
			return res, wrap(err, "read units")
		}
		for _, u := range existingU {
			units[strconv.FormatInt(u.BuildingID, 10)+"/"+u.Name] = u.ID
		}
	}
	var existingO []ownerRow
	if err := conn.Where("courtyard_id = ?", courtyardID).Find(&existingO).Error; err != nil {
		return res, wrap(err, "read owners")
	}
	for _, o := range existingO {
		owners[roster.OwnerRef{Name: o.Name, IDTail: o.IDTail}.Key()] = o.ID
	}
	var existingH []householdRow
	if err := conn.Where("courtyard_id = ?", courtyardID).Find(&existingH).Error; err != nil {
		return res, wrap(err, "read households")
	}
	households := map[string]householdRow{}
	for _, h := range existingH {
		households[strconv.FormatInt(h.UnitID, 10)+"/"+h.Room] = h
	}
	currentOwners := map[int64][]int64{}
	var links []householdOwnerRow
	if len(existingH) > 0 {
		if err := conn.Table("household_owners ho").Select("ho.household_id, ho.owner_id").
			Joins("JOIN households h ON h.id = ho.household_id").Where("h.courtyard_id = ?", courtyardID).Scan(&links).Error; err != nil {
			return res, wrap(err, "read owner links")
		}
	}
	for _, l := range links {
		currentOwners[l.HouseholdID] = append(currentOwners[l.HouseholdID], l.OwnerID)
	}

	seen := map[int64]bool{}
	for _, r := range rows {
		bID, ok := buildings[r.Building]
		if !ok {
			b := buildingRow{CourtyardID: courtyardID, Name: r.Building, CreatedAt: now}
			if err := conn.Create(&b).Error; err != nil {
				return res, wrap(err, "create building")
			}
			bID, buildings[r.Building] = b.ID, b.ID
		}
		ukey := strconv.FormatInt(bID, 10) + "/" + r.Unit
		uID, ok := units[ukey]
		if !ok {
			u := unitRow{BuildingID: bID, Name: r.Unit, CreatedAt: now}
			if err := conn.Create(&u).Error; err != nil {
				return res, wrap(err, "create unit")
			}
			uID, units[ukey] = u.ID, u.ID
		}
		ownerIDs := make([]int64, 0, len(r.Owners))
		for _, o := range r.Owners {
			okey := o.Key()
			oID, ok := owners[okey]
			if !ok {
				row := ownerRow{CourtyardID: courtyardID, Name: o.Name, IDTail: o.IDTail, CreatedAt: now}
				if err := conn.Create(&row).Error; err != nil {
					return res, wrap(err, "create owner")
				}
				oID, owners[okey] = row.ID, row.ID
			}
			ownerIDs = append(ownerIDs, oID)
		}
		hkey := strconv.FormatInt(uID, 10) + "/" + r.Room
		h, exists := households[hkey]
		switch {
		case !exists:
			h = householdRow{CourtyardID: courtyardID, BuildingID: bID, UnitID: uID, Room: r.Room, Floor: r.Floor, Area: decimal2(r.Area), CreatedAt: now, UpdatedAt: now}
			if err := conn.Create(&h).Error; err != nil {
				return res, wrap(err, "create household")
			}
			households[hkey] = h
			res.Created++
		case h.Floor != r.Floor || h.Area != decimal2(r.Area) || !sameIDs(currentOwners[h.ID], ownerIDs):
			if err := conn.Model(&householdRow{}).Where("id = ?", h.ID).
				Updates(map[string]any{"floor": r.Floor, "area": decimal2(r.Area), "updated_at": now}).Error; err != nil {
				return res, wrap(err, "update household")
			}
			res.Updated++
		default:
			res.Unchanged++
		}
		seen[h.ID] = true
		if exists && sameIDs(currentOwners[h.ID], ownerIDs) {
			continue
		}
		if err := conn.Where("household_id = ?", h.ID).Delete(&householdOwnerRow{}).Error; err != nil {
			return res, wrap(err, "clear owners")
		}
		for _, oID := range ownerIDs {
			if err := conn.Clauses(clause.OnConflict{DoNothing: true}).Create(&householdOwnerRow{HouseholdID: h.ID, OwnerID: oID}).Error; err != nil {
				return res, wrap(err, "link owner")
			}
		}
	}
	for _, h := range existingH {
		if !seen[h.ID] {
			res.NotInFile++
		}
	}
	return res, nil
}

// headGroups names each household's head (roster.CountHeads: shared
// owners, transitively) by the smallest household ID in it; hs are in ID
// order.
func headGroups(ctx context.Context, db *DB, hs []householdRow) (map[int64]int64, error) {
	ids := make([]int64, len(hs))
	index := make(map[int64]int, len(hs))
	units := make([]roster.Holding, len(hs))
	for i, h := range hs {
		ids[i], index[h.ID] = h.ID, i
		units[i].Label = strconv.FormatInt(h.ID, 10)
	}
	for start := 0; start < len(ids); start += 1000 {
		var batch []struct {
			HouseholdID int64
			Name        string
			IDTail      string
		}
		if err := db.conn(ctx).Table("household_owners ho").Select("ho.household_id, o.name, o.id_tail").
			Joins("JOIN owners o ON o.id = ho.owner_id").Where("ho.household_id IN ?", ids[start:min(start+1000, len(ids))]).
			Order("ho.household_id, o.id").Scan(&batch).Error; err != nil {
			return nil, wrap(err, "read owners in scope")
		}
		for _, l := range batch {
			i := index[l.HouseholdID]
			units[i].Owners = append(units[i].Owners, roster.OwnerRef{Name: l.Name, IDTail: l.IDTail})
		}
	}
	heads := roster.CountHeads(units)
	groups := make(map[int64]int64, len(hs))
	for i, h := range hs {
		groups[h.ID] = hs[heads.Head[i]].ID
	}
	return groups, nil
}

func sameIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]int64(nil), a...)
	y := append([]int64(nil), b...)
	sort.Slice(x, func(i, j int) bool { return x[i] < x[j] })
	sort.Slice(y, func(i, j int) bool { return y[i] < y[j] })
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

type memberView struct {
	ID             int64
	UserID         int64
	HouseholdID    int64
	Role           string
	Representative *int
	Via            string
	CreatedAt      time.Time
	RealName       string
	PhoneMasked    string
}

func (v memberView) toMember() roster.Member {
	return roster.Member{MembershipID: v.ID, UserID: v.UserID, HouseholdID: v.HouseholdID, Role: roster.MemberRole(v.Role),
		Representative: v.Representative != nil, RealName: v.RealName, PhoneMasked: v.PhoneMasked, Via: v.Via, CreatedAt: v.CreatedAt}
}

func (s *Roster) members(ctx context.Context, where string, arg any) ([]roster.Member, error) {
	var vs []memberView
	err := s.db.conn(ctx).Table("memberships m").
		Select("m.id, m.user_id, m.household_id, m.role, m.representative, m.via, m.created_at, u.real_name, u.phone_masked").
		Joins("JOIN users u ON u.id = m.user_id").Where(where, arg).Order("m.id").Find(&vs).Error
	if err != nil {
		return nil, wrap(err, "read memberships")
	}
	out := make([]roster.Member, len(vs))
	for i, v := range vs {
		out[i] = v.toMember()
	}
	return out, nil
}

// Members lists the members of a household.
func (s *Roster) Members(ctx context.Context, householdID int64) ([]roster.Member, error) {
	return s.members(ctx, "m.household_id = ?", householdID)
}

// MembersOfHouseholds lists the members of the households of ids.
func (s *Roster) MembersOfHouseholds(ctx context.Context, householdIDs []int64) ([]roster.Member, error) {
	if len(householdIDs) == 0 {
		return nil, nil
	}
	return s.members(ctx, "m.household_id IN ?", householdIDs)
}

// MembershipsOf lists a user's memberships.
func (s *Roster) MembershipsOf(ctx context.Context, userID int64) ([]roster.Member, error) {
	return s.members(ctx, "m.user_id = ?", userID)
}

// AddMember binds a user to a household; a second binding is a conflict.
func (s *Roster) AddMember(ctx context.Context, m roster.Member) (roster.Member, error) {
	row := membershipRow{UserID: m.UserID, HouseholdID: m.HouseholdID, Role: string(m.Role), Via: m.Via, CreatedAt: m.CreatedAt}
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		if isDuplicate(err) {
			return roster.Member{}, louyuan.Conflict("already_bound", "该用户已绑定此房屋")
		}
		return roster.Member{}, wrap(err, "add member")
	}
	m.MembershipID = row.ID
	return m, nil
}

// SetRealNameIfEmpty records a user's real name when none is known.
func (s *Roster) SetRealNameIfEmpty(ctx context.Context, userID int64, name string) error {
	return NewPetitions(s.db).SetRealNameIfEmpty(ctx, userID, name)
}

// RemoveMember unbinds a user from a household.
func (s *Roster) RemoveMember(ctx context.Context, userID, householdID int64) (roster.Member, error) {
	var row membershipRow
	err := s.db.forUpdate(s.db.conn(ctx).Where("user_id = ? AND household_id = ?", userID, householdID)).Take(&row).Error
	if missing, err := notFound(err); missing {
		return roster.Member{}, louyuan.NotFound("not_bound", "该用户没有绑定此房屋")
	} else if err != nil {
		return roster.Member{}, wrap(err, "read membership")
	}
	if err := s.db.conn(ctx).Delete(&membershipRow{}, row.ID).Error; err != nil {
		return roster.Member{}, wrap(err, "remove member")
	}
	return roster.Member{MembershipID: row.ID, UserID: row.UserID, HouseholdID: row.HouseholdID, Role: roster.MemberRole(row.Role),
		Representative: row.Representative != nil}, nil
}

// SetRepresentative moves the representative mark to userID. The unique
// key on (household_id, representative) holds "at most one" even against
// concurrent approvals.
func (s *Roster) SetRepresentative(ctx context.Context, householdID, userID int64) error {
	return s.db.InTx(ctx, func(ctx context.Context) error { return s.setRepresentative(ctx, householdID, userID) })
}

func (s *Roster) setRepresentative(ctx context.Context, householdID, userID int64) error {
	conn := s.db.conn(ctx)
	if err := conn.Model(&membershipRow{}).Where("household_id = ? AND representative = 1", householdID).Update("representative", nil).Error; err != nil {
		return wrap(err, "clear representative")
	}
	res := conn.Model(&membershipRow{}).Where("household_id = ? AND user_id = ? AND role <> ?", householdID, userID, string(roster.RoleTenant)).Update("representative", 1)
	if res.Error != nil {
		if isDuplicate(res.Error) {
			return louyuan.Conflict("representative_changed", "户代表刚刚被更换，请刷新后重试")
		}
		return wrap(res.Error, "set representative")
	}
	if res.RowsAffected != 1 {
		return louyuan.Conflict("candidate_not_member", "此人不是本户的业主或家庭成员")
	}
	return nil
}

// CreateInvites stores invite codes by hash.
func (s *Roster) CreateInvites(ctx context.Context, invites []roster.Invite, hashes []string, by string, now time.Time) error {
	rows := make([]inviteRow, len(invites))
	for i, inv := range invites {
		rows[i] = inviteRow{HouseholdID: inv.HouseholdID, CodeHash: hashes[i], Role: string(inv.Role), ExpiresAt: inv.ExpiresAt, CreatedBy: by, CreatedAt: now}
	}
	if len(rows) == 0 {
		return nil
	}
	return wrap(s.db.conn(ctx).CreateInBatches(rows, 500).Error, "store invites")
}

// TakeInvite reads and locks the invite with that code hash.
func (s *Roster) TakeInvite(ctx context.Context, hash string) (roster.Invite, error) {
	var r inviteRow
	err := s.db.forUpdate(s.db.conn(ctx).Where("code_hash = ?", hash)).Take(&r).Error
	if missing, err := notFound(err); missing {
		return roster.Invite{}, louyuan.NotFound("invite_code_unknown", "邀请码不正确")
	} else if err != nil {
		return roster.Invite{}, wrap(err, "read invite")
	}
	inv := roster.Invite{ID: r.ID, HouseholdID: r.HouseholdID, Role: roster.MemberRole(r.Role), ExpiresAt: r.ExpiresAt}
	if r.UsedAt != nil {
		inv.UsedAt = *r.UsedAt
	}
	if r.RevokedAt != nil {
		inv.RevokedAt = *r.RevokedAt
	}
	return inv, nil
}

// RevokeUnusedInvites revokes the unused, unrevoked invites of households.
func (s *Roster) RevokeUnusedInvites(ctx context.Context, householdIDs []int64, now time.Time) (int64, error) {
	var n int64
	for chunk := range slices.Chunk(householdIDs, 500) {
		res := s.db.conn(ctx).Model(&inviteRow{}).Where("household_id IN ? AND used_at IS NULL AND revoked_at IS NULL", chunk).Update("revoked_at", now)
		if res.Error != nil {
			return n, wrap(res.Error, "revoke invites")
		}
		n += res.RowsAffected
	}
	return n, nil
}

// MarkInviteUsed spends an invite; spending one twice is a conflict.
func (s *Roster) MarkInviteUsed(ctx context.Context, id, userID int64, now time.Time) error {
	res := s.db.conn(ctx).Model(&inviteRow{}).Where("id = ? AND used_at IS NULL", id).Updates(map[string]any{"used_at": now, "used_by": userID})
	if res.Error != nil {
		return wrap(res.Error, "spend invite")
	}
	if res.RowsAffected != 1 {
		return louyuan.Conflict("invite_code_used", "该邀请码已被使用")
	}
	return nil
}

func requestTable(kind string) string {
	if kind == "bind" {
		return "bind_requests"
	}
	return "representative_requests"
}

// CreateRequest stores a pending request; a second pending one for the
// same household (and user, for binds) is a conflict.
func (s *Roster) CreateRequest(ctx context.Context, r roster.Request) (roster.Request, error) {
	one := 1
	row := map[string]any{"household_id": r.HouseholdID, "note": r.Note, "status": r.Status, "pending": &one, "created_at": r.CreatedAt}
	if r.Kind == "bind" {
		row["user_id"], row["role"], row["real_name"] = r.UserID, string(r.Role), r.RealName
	} else {
		row["candidate_user_id"], row["requested_by"] = r.UserID, r.RequestedBy
	}
	conn := s.db.conn(ctx)
	if err := conn.Table(requestTable(r.Kind)).Create(row).Error; err != nil {
		if isDuplicate(err) {
			return r, louyuan.Conflict("request_pending", "已有一条待审核的申请，请等待社区或理事会处理")
		}
		return r, wrap(err, "create request")
	}
	q := conn.Table(requestTable(r.Kind)).Select("id").Where("household_id = ? AND pending = 1", r.HouseholdID)
	if r.Kind == "bind" {
		q = q.Where("user_id = ?", r.UserID)
	}
	var id int64
	if err := q.Order("id DESC").Limit(1).Scan(&id).Error; err != nil {
		return r, wrap(err, "read request id")
	}
	r.ID = id
	return r, nil
}

type requestView struct {
	ID          int64
	HouseholdID int64
	UserID      int64
	Role        string
	RealName    string
	Note        string
	Status      string
	RequestedBy string
	Reason      string
	CreatedAt   time.Time
}

func requestColumns(kind string) string {
	if kind == "bind" {
		return "r.id, r.household_id, r.user_id, r.role, r.real_name, r.note, r.status, '' AS requested_by, r.reason, r.created_at"
	}
	return "r.id, r.household_id, r.candidate_user_id AS user_id, '' AS role, '' AS real_name, r.note, r.status, r.requested_by, r.reason, r.created_at"
}

func (v requestView) toRequest(kind string) roster.Request {
	return roster.Request{ID: v.ID, Kind: kind, HouseholdID: v.HouseholdID, UserID: v.UserID, Role: roster.MemberRole(v.Role),
		RealName: v.RealName, Note: v.Note, Status: v.Status, RequestedBy: v.RequestedBy, Reason: v.Reason, CreatedAt: v.CreatedAt}
}

// LockRequest reads a request and locks it.
func (s *Roster) LockRequest(ctx context.Context, kind string, id int64) (roster.Request, error) {
	var v requestView
	err := s.db.forUpdate(s.db.conn(ctx).Table(requestTable(kind)+" r").Select(requestColumns(kind)).Where("r.id = ?", id)).Take(&v).Error
	if missing, err := notFound(err); missing {
		return roster.Request{}, louyuan.NotFound("request_not_found", "没有这条申请")
	} else if err != nil {
		return roster.Request{}, wrap(err, "read request")
	}
	return v.toRequest(kind), nil
}

// DecideRequest closes a pending request.
func (s *Roster) DecideRequest(ctx context.Context, kind string, id int64, status, by, reason string, now time.Time) error {
	res := s.db.conn(ctx).Table(requestTable(kind)).Where("id = ? AND pending = 1", id).
		Updates(map[string]any{"status": status, "pending": nil, "decided_by": by, "decided_at": now, "reason": reason})
	if res.Error != nil {
		return wrap(res.Error, "decide request")
	}
	if res.RowsAffected != 1 {
		return louyuan.Conflict("request_decided", "这条申请已经处理过了")
	}
	return nil
}

// PendingRequests lists a courtyard's open requests, oldest first.
func (s *Roster) PendingRequests(ctx context.Context, courtyardID int64) ([]roster.Request, error) {
	var out []roster.Request
	for _, kind := range []string{"bind", "representative"} {
		var vs []requestView
		err := s.db.conn(ctx).Table(requestTable(kind)+" r").Select(requestColumns(kind)).
			Joins("JOIN households h ON h.id = r.household_id").
			Where("h.courtyard_id = ? AND r.pending = 1", courtyardID).Order("r.id").Find(&vs).Error
		if err != nil {
			return nil, wrap(err, "list requests")
		}
		for _, v := range vs {
			out = append(out, v.toRequest(kind))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

type fileRow struct {
	ID          int64 `gorm:"primaryKey"`
	FileKey     string
	Purpose     string
	ContentType string
	Size        int64
	SHA256      string `gorm:"column:sha256"`
	UploadedBy  string
	CourtyardID *int64
	CreatedAt   time.Time
}

func (fileRow) TableName() string { return "stored_files" }

// Files is the files.MetaStore on SQL.
type Files struct{ db *DB }

// NewFiles returns the file metadata store of db.
func NewFiles(db *DB) *Files { return &Files{db: db} }

// InTx runs fn in a transaction.
func (s *Files) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// CreateFile records a stored file.
func (s *Files) CreateFile(ctx context.Context, m files.Meta) error {
	row := fileRow{FileKey: m.Key, Purpose: string(m.Purpose), ContentType: m.ContentType, Size: m.Size, SHA256: m.SHA256,
		UploadedBy: m.UploadedBy, CreatedAt: m.CreatedAt}
	if m.CourtyardID != 0 {
		row.CourtyardID = &m.CourtyardID
	}
	return wrap(s.db.conn(ctx).Create(&row).Error, "record file")
}

// File reads a file's metadata.
func (s *Files) File(ctx context.Context, key string) (files.Meta, error) {
	var r fileRow
	err := s.db.conn(ctx).Where("file_key = ?", key).Take(&r).Error
	if missing, err := notFound(err); missing {
		return files.Meta{}, louyuan.NotFound("file_not_found", "文件不存在")
	} else if err != nil {
		return files.Meta{}, wrap(err, "read file")
	}
	m := files.Meta{Key: r.FileKey, Purpose: files.Purpose(r.Purpose), ContentType: r.ContentType, Size: r.Size, SHA256: r.SHA256,
		UploadedBy: r.UploadedBy, CreatedAt: r.CreatedAt}
	if r.CourtyardID != nil {
		m.CourtyardID = *r.CourtyardID
	}
	return m, nil
}

// IsResident reports whether userID is bound to a household of the courtyard.
func (s *Files) IsResident(ctx context.Context, userID, courtyardID int64) (bool, error) {
	var n int64
	err := s.db.conn(ctx).Table("memberships m").Joins("JOIN households h ON h.id = m.household_id").
		Where("m.user_id = ? AND h.courtyard_id = ?", userID, courtyardID).Count(&n).Error
	return n > 0, wrap(err, "check residence")
}

// CourtyardPlace locates a courtyard.
func (s *Files) CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error) {
	return NewIdentity(s.db).ScopePlace(ctx, identity.ScopeCourtyard, courtyardID)
}

// MemberCounts counts the users bound to each household of a courtyard.
func (s *Roster) MemberCounts(ctx context.Context, courtyardID int64) (map[int64]int, error) {
	var rows []struct {
		HouseholdID int64
		N           int
	}
	err := s.db.conn(ctx).Table("memberships m").Select("m.household_id, COUNT(*) AS n").
		Joins("JOIN households h ON h.id = m.household_id").Where("h.courtyard_id = ?", courtyardID).
		Group("m.household_id").Scan(&rows).Error
	if err != nil {
		return nil, wrap(err, "count members")
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r.HouseholdID] = r.N
	}
	return out, nil
}
