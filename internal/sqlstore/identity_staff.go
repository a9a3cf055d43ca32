package sqlstore

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/louyuan/louyuan/internal/identity"
)

// SetStaffPassword stores a new password hash and moves the account from
// session epoch from to the next, in one conditional update: when another
// change moved the epoch first it changes nothing (changed false).
func (s *Identity) SetStaffPassword(ctx context.Context, id int64, hash string, from int, now time.Time) (bool, error) {
	res := s.db.conn(ctx).Model(&staffRow{}).Where("id = ? AND session_epoch = ?", id, from).
		Updates(map[string]any{"password_hash": hash, "session_epoch": from + 1, "password_changed_at": now, "failed_logins": 0, "locked_until": nil})
	if res.Error != nil {
		return false, wrap(res.Error, "store staff password")
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	if _, err := s.StaffByID(ctx, id); err != nil {
		return false, err
	}
	return false, nil
}

// StaffInScope pages through the staff accounts that hold a grant within
// q's subdistricts and communities, or were created there, ordered by ID;
// each with its grants within them only.
func (s *Identity) StaffInScope(ctx context.Context, q identity.StaffQuery) (identity.StaffPage, error) {
	conn := s.db.conn(ctx)
	var page identity.StaffPage
	// The view: its subdistricts and communities, with names.
	type place struct {
		ID            int64
		Name          string
		SubdistrictID int64
	}
	var subs, comms []place
	if len(q.Subdistricts) > 0 {
		if err := conn.Table("subdistricts").Select("id, name, id AS subdistrict_id").Where("id IN ?", q.Subdistricts).Order("id").Scan(&subs).Error; err != nil {
			return page, wrap(err, "read subdistricts")
		}
	}
	if err := conn.Table("communities").Select("id, name, subdistrict_id").
		Where("subdistrict_id IN ? OR id IN ?", append([]int64{0}, q.Subdistricts...), append([]int64{0}, q.Communities...)).
		Order("subdistrict_id, id").Scan(&comms).Error; err != nil {
		return page, wrap(err, "read communities")
	}
	subIDs, commIDs := []int64{0}, []int64{0} // never an empty IN
	for _, p := range subs {
		subIDs = append(subIDs, p.ID)
		page.Scopes = append(page.Scopes, identity.NamedScope{ScopeType: identity.ScopeSubdistrict, ScopeID: p.ID, Name: p.Name, SubdistrictID: p.ID})
	}
	for _, p := range comms {
		commIDs = append(commIDs, p.ID)
		page.Scopes = append(page.Scopes, identity.NamedScope{ScopeType: identity.ScopeCommunity, ScopeID: p.ID, Name: p.Name, SubdistrictID: p.SubdistrictID})
	}
	inView := func(db *gorm.DB, typeCol, idCol string) *gorm.DB {
		return db.Where("("+typeCol+" = ? AND "+idCol+" IN ?) OR ("+typeCol+" = ? AND "+idCol+" IN ?)",
			string(identity.ScopeSubdistrict), subIDs, string(identity.ScopeCommunity), commIDs)
	}
	list := func() *gorm.DB {
		granted := inView(s.db.conn(ctx).Table("role_grants").Select("principal_id").Where("principal_type = ?", string(identity.KindStaff)), "scope_type", "scope_id")
		home := inView(s.db.conn(ctx).Table("staff_accounts").Select("id"), "home_scope_type", "home_scope_id")
		db := s.db.conn(ctx).Model(&staffRow{}).Where("id IN (?) OR id IN (?)", granted, home)
		if q.ID != 0 {
			db = db.Where("id = ?", q.ID)
		}
		if q.Text != "" {
			like := "%" + likeEscaper.Replace(q.Text) + "%"
			db = db.Where("(username LIKE ? ESCAPE '!' OR display_name LIKE ? ESCAPE '!')", like, like)
		}
		return db
	}
	if err := list().Count(&page.Total).Error; err != nil {
		return page, wrap(err, "count staff")
	}
	var rows []staffRow
	if err := list().Order("id").Offset(q.Offset).Limit(q.Limit).Find(&rows).Error; err != nil {
		return page, wrap(err, "list staff")
	}
	if len(rows) == 0 {
		return page, nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var grants []grantRow
	if err := inView(conn.Where("principal_type = ? AND principal_id IN ?", string(identity.KindStaff), ids), "scope_type", "scope_id").
		Order("id").Find(&grants).Error; err != nil {
		return page, wrap(err, "read grants")
	}
	for _, r := range rows {
		e := identity.StaffEntry{Staff: r.toStaff(), Grants: []identity.StaffGrant{}}
		for _, g := range grants {
			if g.PrincipalID != r.ID {
				continue
			}
			sg := identity.StaffGrant{Grant: identity.Grant{Role: identity.Role(g.Role), ScopeType: identity.ScopeType(g.ScopeType), ScopeID: g.ScopeID},
				GrantedBy: g.GrantedBy, GrantedAt: g.CreatedAt}
			if i := slices.IndexFunc(page.Scopes, func(n identity.NamedScope) bool { return n.ScopeType == sg.ScopeType && n.ScopeID == sg.ScopeID }); i >= 0 {
				sg.ScopeName = page.Scopes[i].Name
			}
			e.Grants = append(e.Grants, sg)
		}
		page.Entries = append(page.Entries, e)
	}
	return page, nil
}

// GrantsForChange locks the subdistrict's row, which every change of the
// grants within it (from the console) takes first, so that those changes
// run one at a time, and reads a principal's grants with a locking read
// (the latest committed, whatever the transaction's snapshot). SQLite's
// transactions take the one write lock at once.
func (s *Identity) GrantsForChange(ctx context.Context, subdistrictID int64, kind identity.Kind, id int64) ([]identity.Grant, error) {
	conn := s.db.conn(ctx)
	var ids []int64
	if err := s.db.forUpdate(conn.Table("subdistricts").Select("id").Where("id = ?", subdistrictID)).Pluck("id", &ids).Error; err != nil {
		return nil, wrap(err, "lock subdistrict")
	}
	var rows []grantRow
	if err := s.db.forUpdate(conn.Where("principal_type = ? AND principal_id = ?", string(kind), id)).Find(&rows).Error; err != nil {
		return nil, wrap(err, "read grants")
	}
	out := make([]identity.Grant, len(rows))
	for i, r := range rows {
		out[i] = identity.Grant{Role: identity.Role(r.Role), ScopeType: identity.ScopeType(r.ScopeType), ScopeID: r.ScopeID}
	}
	return out, nil
}
