package sqlstore

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

type userRow struct {
	ID          int64   `gorm:"primaryKey"`
	OpenID      string  `gorm:"column:openid"`
	UnionID     *string `gorm:"column:unionid"`
	RealName    string
	PhoneEnc    []byte
	PhoneHash   *string
	PhoneMasked string
	CreatedAt   time.Time
	LastLoginAt *time.Time
}

func (userRow) TableName() string { return "users" }

func (r userRow) toUser() identity.User {
	u := identity.User{ID: r.ID, OpenID: r.OpenID, RealName: r.RealName, PhoneMasked: r.PhoneMasked, CreatedAt: r.CreatedAt}
	if r.UnionID != nil {
		u.UnionID = *r.UnionID
	}
	return u
}

type staffRow struct {
	ID           int64 `gorm:"primaryKey"`
	Username     string
	DisplayName  string
	PasswordHash string
	FailedLogins int
	LockedUntil  *time.Time
	Disabled     bool
	CreatedAt    time.Time
	LastLoginAt  *time.Time
	SessionEpoch int
	// PasswordChangedAt is when the password last changed (nil: never).
	PasswordChangedAt *time.Time
	HomeScopeType     *string
	HomeScopeID       *int64
}

func (staffRow) TableName() string { return "staff_accounts" }

func (r staffRow) toStaff() identity.Staff {
	s := identity.Staff{ID: r.ID, Username: r.Username, DisplayName: r.DisplayName, PasswordHash: r.PasswordHash,
		FailedLogins: r.FailedLogins, Disabled: r.Disabled, CreatedAt: r.CreatedAt, SessionEpoch: r.SessionEpoch}
	if r.LockedUntil != nil {
		s.LockedUntil = *r.LockedUntil
	}
	if r.LastLoginAt != nil {
		s.LastLoginAt = *r.LastLoginAt
	}
	if r.HomeScopeType != nil && r.HomeScopeID != nil {
		s.Home = identity.Grant{ScopeType: identity.ScopeType(*r.HomeScopeType), ScopeID: *r.HomeScopeID}
	}
	return s
}

type grantRow struct {
	ID            int64 `gorm:"primaryKey"`
	PrincipalType string
	PrincipalID   int64
	Role          string
	ScopeType     string
	ScopeID       int64
	GrantedBy     string
	CreatedAt     time.Time
}

func (grantRow) TableName() string { return "role_grants" }

// Identity is the identity.Store on SQL.
type Identity struct{ db *DB }

// NewIdentity returns the identity store of db.
func NewIdentity(db *DB) *Identity { return &Identity{db: db} }

// InTx runs fn in a transaction.
func (s *Identity) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// UpsertUser finds the user of openID, creating it on first login.
func (s *Identity) UpsertUser(ctx context.Context, openID, unionID string, now time.Time) (u identity.User, created bool, err error) {
	err = s.db.InTx(ctx, func(ctx context.Context) error {
		u, created, err = s.upsertUser(ctx, openID, unionID, now)
		return err
	})
	return u, created, err
}

func (s *Identity) upsertUser(ctx context.Context, openID, unionID string, now time.Time) (identity.User, bool, error) {
	var union *string
	if unionID != "" {
		union = &unionID
	}
	conn := s.db.conn(ctx)
	var n int64
	if err := conn.Model(&userRow{}).Where("openid = ?", openID).Count(&n).Error; err != nil {
		return identity.User{}, false, wrap(err, "find user")
	}
	created := false
	if n == 0 {
		row := userRow{OpenID: openID, UnionID: union, CreatedAt: now, LastLoginAt: &now}
		err := conn.Create(&row).Error
		switch {
		case err == nil:
			created = true
		case !isDuplicate(err): // a concurrent first login won the race: fine
			return identity.User{}, false, wrap(err, "create user")
		}
	}
	if !created {
		updates := map[string]any{"last_login_at": now}
		if union != nil {
			updates["unionid"] = unionID
		}
		if err := conn.Model(&userRow{}).Where("openid = ?", openID).Updates(updates).Error; err != nil {
			return identity.User{}, false, wrap(err, "update user login")
		}
	}
	var got userRow
	if err := s.db.forUpdate(conn.Where("openid = ?", openID)).Take(&got).Error; err != nil {
		return identity.User{}, false, wrap(err, "read user")
	}
	return got.toUser(), created, nil
}

// User reads a user by ID.
func (s *Identity) User(ctx context.Context, id int64) (identity.User, error) {
	var r userRow
	err := s.db.conn(ctx).Take(&r, id).Error
	if missing, err := notFound(err); missing {
		return identity.User{}, louyuan.NotFound("user_not_found", "用户不存在")
	} else if err != nil {
		return identity.User{}, wrap(err, "read user")
	}
	return r.toUser(), nil
}

// SetUserPhone stores a user's sealed phone.
func (s *Identity) SetUserPhone(ctx context.Context, userID int64, sealed []byte, hash, masked string) error {
	return wrap(s.db.conn(ctx).Model(&userRow{}).Where("id = ?", userID).
		Updates(map[string]any{"phone_enc": sealed, "phone_hash": hash, "phone_masked": masked}).Error, "store phone")
}

// CreateStaff inserts a staff account; a taken username is a conflict.
func (s *Identity) CreateStaff(ctx context.Context, st identity.Staff) (identity.Staff, error) {
	row := staffRow{Username: st.Username, DisplayName: st.DisplayName, PasswordHash: st.PasswordHash, CreatedAt: st.CreatedAt}
	if st.Home.ScopeID != 0 {
		t, id := string(st.Home.ScopeType), st.Home.ScopeID
		row.HomeScopeType, row.HomeScopeID = &t, &id
	}
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		if isDuplicate(err) {
			return identity.Staff{}, louyuan.Conflict("username_taken", "该用户名已被使用")
		}
		return identity.Staff{}, wrap(err, "create staff")
	}
	return row.toStaff(), nil
}

// StaffByUsername reads a staff account by username.
func (s *Identity) StaffByUsername(ctx context.Context, username string) (identity.Staff, error) {
	return s.staff(ctx, "username = ?", username)
}

// StaffByID reads a staff account by ID.
func (s *Identity) StaffByID(ctx context.Context, id int64) (identity.Staff, error) {
	return s.staff(ctx, "id = ?", id)
}

func (s *Identity) staff(ctx context.Context, where string, arg any) (identity.Staff, error) {
	var r staffRow
	err := s.db.conn(ctx).Where(where, arg).Take(&r).Error
	if missing, err := notFound(err); missing {
		return identity.Staff{}, louyuan.NotFound("staff_not_found", "账号不存在")
	} else if err != nil {
		return identity.Staff{}, wrap(err, "read staff")
	}
	return r.toStaff(), nil
}

// UpdateStaffLogin records the outcome of a password check.
func (s *Identity) UpdateStaffLogin(ctx context.Context, id int64, failed int, lockedUntil, lastLogin time.Time) error {
	updates := map[string]any{"failed_logins": failed, "locked_until": nullTime(lockedUntil)}
	if !lastLogin.IsZero() {
		updates["last_login_at"] = lastLogin
	}
	return wrap(s.db.conn(ctx).Model(&staffRow{}).Where("id = ?", id).Updates(updates).Error, "record staff login")
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Grants returns the explicit role grants of a principal plus, for WeChat
// users, the council roles of every council term running at now, over the
// courtyards each council serves.
func (s *Identity) Grants(ctx context.Context, kind identity.Kind, id int64, now time.Time) ([]identity.Grant, error) {
	var rows []grantRow
	if err := s.db.conn(ctx).Where("principal_type = ? AND principal_id = ?", string(kind), id).Find(&rows).Error; err != nil {
		return nil, wrap(err, "read grants")
	}
	out := make([]identity.Grant, 0, len(rows))
	for _, r := range rows {
		out = append(out, identity.Grant{Role: identity.Role(r.Role), ScopeType: identity.ScopeType(r.ScopeType), ScopeID: r.ScopeID})
	}
	if kind != identity.KindUser {
		return out, nil
	}
	var council []struct {
		Role        string
		CourtyardID int64
	}
	today := now.In(louyuan.China).Format("2006-01-02")
	err := s.db.conn(ctx).Table("council_members AS m").
		Select("m.role, cc.courtyard_id").
		Joins("JOIN council_terms t ON t.id = m.term_id").
		Joins("JOIN council_courtyards cc ON cc.council_id = t.council_id").
		Where("m.user_id = ? AND t.starts_on <= ? AND t.ends_on >= ?", id, today, today).
		Scan(&council).Error
	if err != nil {
		return nil, wrap(err, "read council roles")
	}
	for _, c := range council {
		out = appendCouncilGrants(out, c.Role, c.CourtyardID)
	}
	return out, nil
}

// appendCouncilGrants adds the roles of a council seat in a courtyard.
func appendCouncilGrants(out []identity.Grant, seat string, courtyardID int64) []identity.Grant {
	role := identity.RoleCouncilMember
	switch seat {
	case "chair":
		role = identity.RoleCouncilChair
	case "treasurer":
		// The treasurer is a council member who also records payments.
		out = append(out, identity.Grant{Role: identity.RoleCouncilTreasurer, ScopeType: identity.ScopeCourtyard, ScopeID: courtyardID})
	}
	return append(out, identity.Grant{Role: role, ScopeType: identity.ScopeCourtyard, ScopeID: courtyardID})
}

// UserPrincipal reads what a user's requests are checked against, their
// name and roles, in one query: it runs for every request whose principal
// is not cached.
func (s *Identity) UserPrincipal(ctx context.Context, id int64, now time.Time) (string, []identity.Grant, error) {
	today := now.In(louyuan.China).Format("2006-01-02")
	rows, err := s.db.conn(ctx).Raw(`SELECT 'user' AS kind, real_name AS a, '' AS b, 0 AS c FROM users WHERE id = ?
UNION ALL SELECT 'grant', role, scope_type, scope_id FROM role_grants WHERE principal_type = 'user' AND principal_id = ?
UNION ALL SELECT 'council', m.role, '', cc.courtyard_id FROM council_members m
  JOIN council_terms t ON t.id = m.term_id JOIN council_courtyards cc ON cc.council_id = t.council_id
  WHERE m.user_id = ? AND t.starts_on <= ? AND t.ends_on >= ?`, id, id, id, today, today).Rows()
	if err != nil {
		return "", nil, wrap(err, "read user")
	}
	defer rows.Close()
	var (
		name   string
		found  bool
		grants []identity.Grant
	)
	for rows.Next() {
		var (
			kind, a, b string
			c          int64
		)
		if err := rows.Scan(&kind, &a, &b, &c); err != nil {
			return "", nil, wrap(err, "read user")
		}
		switch kind {
		case "user":
			name, found = a, true
		case "grant":
			grants = append(grants, identity.Grant{Role: identity.Role(a), ScopeType: identity.ScopeType(b), ScopeID: c})
		case "council":
			grants = appendCouncilGrants(grants, a, c)
		}
	}
	if err := rows.Err(); err != nil {
		return "", nil, wrap(err, "read user")
	}
	if !found {
		return "", nil, louyuan.NotFound("user_not_found", "用户不存在")
	}
	return name, grants, nil
}

// AddGrant records a grant; granting one that exists is a no-op.
func (s *Identity) AddGrant(ctx context.Context, kind identity.Kind, id int64, g identity.Grant, by string, now time.Time) error {
	row := grantRow{PrincipalType: string(kind), PrincipalID: id, Role: string(g.Role), ScopeType: string(g.ScopeType), ScopeID: g.ScopeID, GrantedBy: by, CreatedAt: now}
	return wrap(s.db.conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error, "add grant")
}

// RemoveGrant deletes a grant.
func (s *Identity) RemoveGrant(ctx context.Context, kind identity.Kind, id int64, g identity.Grant) (bool, error) {
	res := s.db.conn(ctx).Where("principal_type = ? AND principal_id = ? AND role = ? AND scope_type = ? AND scope_id = ?",
		string(kind), id, string(g.Role), string(g.ScopeType), g.ScopeID).Delete(&grantRow{})
	if res.Error != nil {
		return false, wrap(res.Error, "remove grant")
	}
	return res.RowsAffected > 0, nil
}

// ScopePlace locates a subdistrict, community or courtyard in the hierarchy.
func (s *Identity) ScopePlace(ctx context.Context, t identity.ScopeType, id int64) (identity.Place, error) {
	var p identity.Place
	var err error
	switch t {
	case identity.ScopeSubdistrict:
		var n int64
		err = s.db.conn(ctx).Table("subdistricts").Where("id = ?", id).Count(&n).Error
		if err == nil && n == 0 {
			return p, louyuan.NotFound("scope_not_found", "街道不存在")
		}
		p.SubdistrictID = id
	case identity.ScopeCommunity:
		err = s.db.conn(ctx).Table("communities").Select("subdistrict_id, id AS community_id").Where("id = ?", id).Take(&p).Error
	case identity.ScopeCourtyard:
		err = s.db.conn(ctx).Table("courtyards c").Select("m.subdistrict_id, c.community_id, c.id AS courtyard_id").
			Joins("JOIN communities m ON m.id = c.community_id").Where("c.id = ?", id).Take(&p).Error
	default:
		return p, louyuan.Invalid("bad_scope", "未知范围类型")
	}
	if missing, err := notFound(err); missing {
		return p, louyuan.NotFound("scope_not_found", "该范围不存在")
	} else if err != nil {
		return p, wrap(err, "locate scope")
	}
	return p, nil
}
