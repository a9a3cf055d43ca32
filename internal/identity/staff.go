package identity

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// RoleLabel is a role as a clerk reads it.
func RoleLabel(r Role) string {
	switch r {
	case RoleSubdistrictAdmin:
		return "街道管理员"
	case RoleCommunityStaff:
		return "社区工作人员"
	case RolePhoneViewer:
		return "导出完整手机号"
	case RoleCouncilChair:
		return "理事长"
	case RoleCouncilMember:
		return "理事"
	case RoleCouncilTreasurer:
		return "出纳"
	}
	return "未知角色"
}

// StaffQuery asks for the staff accounts of a view: whole subdistricts and
// single communities (the caller's roots), a text to match in usernames
// and names, and a page.
type StaffQuery struct {
	Subdistricts []int64
	Communities  []int64
	Text         string
	// ID, when not zero, asks for that one account (if it is in the view).
	ID     int64
	Offset int
	Limit  int
}

// NamedScope is a subdistrict or community of a view, with its name.
type NamedScope struct {
	ScopeType     ScopeType
	ScopeID       int64
	Name          string
	SubdistrictID int64 // the subdistrict itself, or the community's
}

// StaffGrant is a grant as the staff list shows it.
type StaffGrant struct {
	Grant
	ScopeName string
	GrantedBy string
	GrantedAt time.Time
}

// StaffEntry is one account of a view and its grants within the view.
type StaffEntry struct {
	Staff  Staff
	Grants []StaffGrant
}

// StaffPage is a page of StaffInScope: the entries, how many match in
// all, and every subdistrict and community of the view (for the roles that
// may be granted there).
type StaffPage struct {
	Entries []StaffEntry
	Total   int64
	Scopes  []NamedScope
}

// GrantOption is a role over a scope that a caller may grant.
type GrantOption struct {
	Grant
	ScopeName string
}

// GrantView is a held grant and whether the caller may revoke it.
type GrantView struct {
	StaffGrant
	Revocable bool
}

// StaffView is one staff account as the caller sees it: its grants in the
// caller's view and what the caller may grant it.
type StaffView struct {
	Staff    Staff
	Self     bool
	Grants   []GrantView
	CanGrant []GrantOption
}

// StaffListing is what ListStaff answers.
type StaffListing struct {
	Entries []StaffView
	Total   int64
	// CanCreate are the role and scope a new account may start with; empty
	// when the caller may not create accounts.
	CanCreate []GrantOption
}

// Capabilities tells a front end what to offer a principal; the server
// still checks every request.
type Capabilities struct {
	// FullPhoneCommunities are the communities whose exports the principal
	// may download with full phone numbers.
	FullPhoneCommunities []int64 `json:"full_phone_communities"`
	// StaffList: the principal may see the staff of their scope.
	StaffList bool `json:"staff_list"`
	// ManageStaff: the principal may create accounts, grant and revoke.
	ManageStaff bool `json:"manage_staff"`
	// ChangePassword: a staff account, which has a password.
	ChangePassword bool `json:"change_password"`
}

// Capabilities derives what p may be offered from its grants.
func (p Principal) Capabilities() Capabilities {
	c := Capabilities{FullPhoneCommunities: []int64{}, ChangePassword: p.Kind == KindStaff}
	for _, g := range p.Grants {
		switch g.Role {
		case RolePhoneViewer:
			if !slices.Contains(c.FullPhoneCommunities, g.ScopeID) {
				c.FullPhoneCommunities = append(c.FullPhoneCommunities, g.ScopeID)
			}
		case RoleSubdistrictAdmin:
			c.StaffList, c.ManageStaff = true, true
		case RoleCommunityStaff:
			c.StaffList = true
		}
	}
	return c
}

var errStaffListForbidden = louyuan.Forbidden("staff_list_forbidden", "只有街道管理员和社区工作人员可以查看员工与权限")

// ListStaff pages through the staff accounts within actor's scope: a
// subdistrict admin sees every account holding a grant in (or created in)
// their subdistrict, community staff those of their community; each with its
// grants inside that scope only, and what actor may grant and revoke.
func (s *Service) ListStaff(ctx context.Context, actor Principal, text string, page, size int) (StaffListing, error) {
	q, err := staffView(actor)
	if err != nil {
		return StaffListing{}, err
	}
	q.Text, q.Offset, q.Limit = strings.TrimSpace(text), (page-1)*size, size
	if utf8.RuneCountInString(q.Text) > 32 {
		return StaffListing{}, louyuan.Invalid("bad_query", "搜索内容不能超过32个字")
	}
	pg, err := s.store.StaffInScope(ctx, q)
	if err != nil {
		return StaffListing{}, err
	}
	options := grantOptions(actor, pg.Scopes)
	out := StaffListing{Total: pg.Total, CanCreate: options, Entries: make([]StaffView, 0, len(pg.Entries))}
	for _, e := range pg.Entries {
		e.Staff.PasswordHash = ""
		v := StaffView{Staff: e.Staff, Self: actor.Kind == KindStaff && actor.ID == e.Staff.ID, CanGrant: []GrantOption{}, Grants: make([]GrantView, 0, len(e.Grants))}
		held := make([]Grant, 0, len(e.Grants))
		for _, g := range e.Grants {
			held = append(held, g.Grant)
			place := placeOf(g.Grant, pg.Scopes)
			revocable := !g.Role.Council() && mayChange(actor, place) && !selfAdminRevoke(&actor, KindStaff, e.Staff.ID, g.Grant)
			v.Grants = append(v.Grants, GrantView{StaffGrant: g, Revocable: revocable})
		}
		for _, o := range options {
			if slices.Contains(held, o.Grant) || selfPhoneGrant(&actor, KindStaff, e.Staff.ID, o.Grant) {
				continue
			}
			v.CanGrant = append(v.CanGrant, o)
		}
		out.Entries = append(out.Entries, v)
	}
	return out, nil
}

// staffView is the query of actor's staff list: the subdistricts it
// administers and the communities it is staff of.
func staffView(actor Principal) (StaffQuery, error) {
	var q StaffQuery
	for _, g := range actor.Grants {
		switch g.Role {
		case RoleSubdistrictAdmin:
			q.Subdistricts = append(q.Subdistricts, g.ScopeID)
		case RoleCommunityStaff:
			q.Communities = append(q.Communities, g.ScopeID)
		}
	}
	if len(q.Subdistricts)+len(q.Communities) == 0 {
		return StaffQuery{}, errStaffListForbidden
	}
	return q, nil
}

// VisibleStaff checks that staff account id is in actor's staff list (see
// ListStaff): the accounts actor may pick, e.g. to assign to a council.
// Any other answers as a missing account does.
func (s *Service) VisibleStaff(ctx context.Context, actor Principal, id int64) error {
	q, err := staffView(actor)
	if err != nil {
		return err
	}
	q.ID, q.Limit = id, 1
	pg, err := s.store.StaffInScope(ctx, q)
	if err != nil {
		return err
	}
	if len(pg.Entries) == 0 || pg.Entries[0].Staff.Disabled {
		return errStaffNotVisible
	}
	return nil
}

var errStaffNotVisible = louyuan.NotFound("staff_not_found", "工作人员账号不存在或已停用，或不在您管辖的街道、社区内；请在“员工与权限”中查找")

// grantOptions lists every role over a scope of the view that actor may
// grant.
func grantOptions(actor Principal, scopes []NamedScope) []GrantOption {
	out := []GrantOption{}
	for _, sc := range scopes {
		place := Place{SubdistrictID: sc.SubdistrictID}
		if sc.ScopeType == ScopeCommunity {
			place.CommunityID = sc.ScopeID
		}
		if !mayChange(actor, place) {
			continue
		}
		for _, r := range []Role{RoleSubdistrictAdmin, RoleCommunityStaff, RolePhoneViewer} {
			if ScopeFor(r) == sc.ScopeType {
				out = append(out, GrantOption{Grant: Grant{Role: r, ScopeType: sc.ScopeType, ScopeID: sc.ScopeID}, ScopeName: sc.Name})
			}
		}
	}
	return out
}

// placeOf locates a grant's scope among the view's scopes.
func placeOf(g Grant, scopes []NamedScope) Place {
	for _, sc := range scopes {
		if sc.ScopeType == g.ScopeType && sc.ScopeID == g.ScopeID {
			p := Place{SubdistrictID: sc.SubdistrictID}
			if sc.ScopeType == ScopeCommunity {
				p.CommunityID = sc.ScopeID
			}
			return p
		}
	}
	return Place{}
}

// mayChange is the one rule of who grants and revokes: a subdistrict
// admin over the place.
func mayChange(actor Principal, place Place) bool {
	return actor.Can(place, RoleSubdistrictAdmin)
}

// selfPhoneGrant reports the grant no one may give themself: the
// full-phone power (PIPL wants it to be someone else's decision).
func selfPhoneGrant(actor *Principal, kind Kind, id int64, g Grant) bool {
	return actor != nil && g.Role == RolePhoneViewer && actor.Kind == kind && actor.ID == id
}

// selfAdminRevoke reports the revocation no one may make of themself: their
// own subdistrict admin role (another admin, or the command line, must),
// so that a slip cannot leave a subdistrict without its administrator.
func selfAdminRevoke(actor *Principal, kind Kind, id int64, g Grant) bool {
	return actor != nil && g.Role == RoleSubdistrictAdmin && actor.Kind == kind && actor.ID == id
}

// checkPassword is the password policy of every staff password, from the
// command line or the console.
func checkPassword(password string) error {
	if utf8.RuneCountInString(password) < 10 || len(password) > 72 {
		return louyuan.Invalid("weak_password", "密码长度须为10到72个字符")
	}
	if strings.TrimSpace(password) == "" {
		return louyuan.Invalid("weak_password", "密码不能全是空格")
	}
	return nil
}

// CreateStaffIn makes a staff account from the console, with its first
// grant, in one transaction: the caller must be able to grant that role
// over that scope, and the account's home is that scope. The server makes
// the initial password (14 characters) and returns it this once; the
// new staff member changes it after the first login.
func (s *Service) CreateStaffIn(ctx context.Context, actor Principal, username, displayName string, g Grant) (Staff, string, error) {
	if err := validGrant(g); err != nil {
		return Staff{}, "", err
	}
	place, err := s.store.ScopePlace(ctx, g.ScopeType, g.ScopeID)
	if err != nil {
		return Staff{}, "", err
	}
	if !mayChange(actor, place) {
		return Staff{}, "", errNotInScope
	}
	password := newPassword()
	st, err := s.newStaff(username, displayName, password, g)
	if err != nil {
		return Staff{}, "", err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.stillMayChange(ctx, &actor, place); err != nil {
			return err
		}
		var err error
		if st, err = s.insertStaff(ctx, actor.Ref(), st); err != nil {
			return err
		}
		if err := s.store.AddGrant(ctx, KindStaff, st.ID, g, actor.Ref(), s.now()); err != nil {
			return err
		}
		return s.audit.Append(ctx, audit.Record{Stream: grantStream(g), Actor: actor.Ref(), Action: "role.grant", Object: "staff:" + itoa(st.ID),
			Detail: map[string]any{"role": string(g.Role), "scope_type": string(g.ScopeType), "scope_id": g.ScopeID}})
	})
	if err != nil {
		return Staff{}, "", err
	}
	st.PasswordHash = ""
	return st, password, nil
}

// passwordAlphabet leaves out characters that read alike (0 O o 1 l I).
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// newPassword makes an initial password: three groups of four characters,
// about 70 bits, easy to read out over the phone.
func newPassword() string {
	var b strings.Builder
	for i := range 12 {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(passwordAlphabet))))
		if err != nil {
			panic(fmt.Errorf("read random password: %w", err)) // crypto/rand never fails on Linux
		}
		b.WriteByte(passwordAlphabet[n.Int64()])
	}
	return b.String()
}

var (
	// ErrStaffOnly refuses a password change to a mini-program user (only
	// staff accounts have passwords).
	ErrStaffOnly       = louyuan.Forbidden("staff_only", "只有工作人员账号有登录密码，可在这里修改")
	errSamePassword    = louyuan.Invalid("same_password", "新密码不能与原密码相同")
	errPasswordChanged = louyuan.Unauthorized("password_changed", "该账号的密码已修改，请用新密码重新登录")
	errAccountDisabled = louyuan.Forbidden("account_disabled", "该账号已停用，请联系街道管理员")
	errNotInScope      = louyuan.Forbidden("not_in_scope", "您无权在该范围授予或撤销此角色")
)

// wrongOldPassword is the answer to a wrong old password, with the tries left.
const wrongOldPassword = "原密码不正确，还可以再试%d次，之后账号将暂时锁定"

// ChangePassword changes a staff account's password. The old password is
// checked like a login: each attempt spends one of the username's tries,
// so wrong old passwords lead to the same lockout. The new one follows the
// policy of CreateStaff. Every other session of the account ends at once
// (the account's session epoch moves on: older access and refresh tokens
// are refused — on this instance at once, on others within principalTTL);
// the caller's own session ends too and the answer is a fresh token pair.
//
// All or nothing, as the caller sees it: the fresh pair is issued (in the
// next epoch) before the password changes, so that a failure to store it
// leaves the old password in force; once the change is committed, the
// answer is the fresh pair even if ending the old token fails (the new
// epoch refuses it anyway). Of two changes at the same moment, from the
// same old password, only the first is made.
func (s *Service) ChangePassword(ctx context.Context, p Principal, accessToken, oldPassword, newPassword string) (Tokens, error) {
	if p.Kind != KindStaff {
		return Tokens{}, ErrStaffOnly
	}
	st, err := s.store.StaffByID(ctx, p.ID)
	if err != nil {
		return Tokens{}, err
	}
	triesKey := staffTriesKey(st.Username)
	n, left, err := s.limiter.Spend(ctx, triesKey, s.cfg.LockoutDuration)
	if err != nil {
		return Tokens{}, err
	}
	if n > s.cfg.MaxFailedLogins {
		return Tokens{}, errLocked(left)
	}
	if bcrypt.CompareHashAndPassword([]byte(st.PasswordHash), []byte(oldPassword)) != nil {
		if err := s.recordFailure(ctx, st, true, n, left); err != nil {
			return Tokens{}, err
		}
		if n >= s.cfg.MaxFailedLogins {
			return Tokens{}, errLocked(left)
		}
		return Tokens{}, louyuan.Invalid("wrong_old_password", fmt.Sprintf(wrongOldPassword, s.cfg.MaxFailedLogins-n))
	}
	if err := s.limiter.Reset(ctx, triesKey); err != nil {
		return Tokens{}, err
	}
	if err := checkPassword(newPassword); err != nil {
		return Tokens{}, err
	}
	if newPassword == oldPassword {
		return Tokens{}, errSamePassword
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(newPassword), s.cfg.BcryptCost)
	if err != nil {
		return Tokens{}, louyuan.Internalf(err, "hash password")
	}
	// The pair of the next epoch: useless until the change commits, and
	// known to no one if it does not.
	fresh, err := s.issue(ctx, KindStaff, st.ID, "", s.cfg.StaffRefreshTTL, "", st.SessionEpoch+1)
	if err != nil {
		return Tokens{}, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		changed, err := s.store.SetStaffPassword(ctx, st.ID, string(hash), st.SessionEpoch, s.now())
		if err != nil {
			return err
		}
		if !changed {
			return errPasswordChanged
		}
		return s.audit.Append(ctx, audit.Record{Actor: p.Ref(), Action: "staff.password_changed", Object: "staff:" + itoa(st.ID),
			Detail: map[string]any{"other_sessions_ended": true}})
	})
	if err != nil {
		if derr := s.sessions.Delete(context.WithoutCancel(ctx), tokenHash(fresh.RefreshToken)); derr != nil {
			s.log.WarnContext(ctx, "cannot drop the unused session of a failed password change", "err", derr)
		}
		return Tokens{}, err
	}
	s.forget(KindStaff, st.ID)
	if c, ok := s.verify(accessToken); ok {
		err := s.endAccess(ctx, c.TokenID, time.Unix(c.Expires, 0))
		if err == nil {
			err = s.sessions.Delete(ctx, c.Refresh)
		}
		if err != nil {
			// The password changed: the new epoch refuses the old tokens
			// (on other instances within principalTTL); say so in the log,
			// not to the caller.
			s.log.WarnContext(ctx, "password changed; cannot end the old token at once", "staff", st.ID, "err", err)
		}
	}
	return fresh, nil
}

// forget drops what this instance cached about a principal (its grants,
// its tokens' checks), so that a change of its grants or password takes
// effect here at once.
func (s *Service) forget(kind Kind, id int64) {
	s.cache.dropPrincipal(kind, id)
	s.checked.dropPrincipal(kind, id)
}
