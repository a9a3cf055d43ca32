// Package identity owns who is calling: WeChat users and staff accounts,
// their sessions, and the roles they hold over a scope (subdistrict,
// community, courtyard). Every request is authorised by role and scope
// through Principal.Can.
package identity

import "strconv"

// Kind tells WeChat users from staff accounts.
type Kind string

// The principal kinds.
const (
	KindUser  Kind = "user"  // a WeChat user of the mini-program
	KindStaff Kind = "staff" // a web-console account with a password
)

// Role is a power held over a scope.
type Role string

// The roles. Residents are not granted: a user is a resident of the
// households they are bound to (see package roster).
const (
	RoleSubdistrictAdmin Role = "subdistrict_admin"
	RoleCommunityStaff   Role = "community_staff"
	RoleCouncilChair     Role = "council_chair"
	RoleCouncilMember    Role = "council_member"
	// RoleCouncilTreasurer is the council member who records payments.
	RoleCouncilTreasurer Role = "council_treasurer"
	// RolePhoneViewer may export full phone numbers (PIPL: a separate,
	// audited permission).
	RolePhoneViewer Role = "phone_viewer"
)

// Valid reports whether r is a grantable role.
func (r Role) Valid() bool {
	switch r {
	case RoleSubdistrictAdmin, RoleCommunityStaff, RoleCouncilChair, RoleCouncilMember, RoleCouncilTreasurer, RolePhoneViewer:
		return true
	}
	return false
}

// Council reports whether r is a council seat's role: those come from a
// running council term, never from a grant.
func (r Role) Council() bool {
	return r == RoleCouncilChair || r == RoleCouncilMember || r == RoleCouncilTreasurer
}

// ScopeType is the level of the place hierarchy a grant covers.
type ScopeType string

// The scope types, widest first.
const (
	ScopeSubdistrict ScopeType = "subdistrict"
	ScopeCommunity   ScopeType = "community"
	ScopeCourtyard   ScopeType = "courtyard"
)

// ScopeFor is the scope type a role is granted over.
func ScopeFor(r Role) ScopeType {
	switch r {
	case RoleSubdistrictAdmin:
		return ScopeSubdistrict
	case RoleCommunityStaff, RolePhoneViewer:
		return ScopeCommunity
	default:
		return ScopeCourtyard
	}
}

// Grant is one role over one scope.
type Grant struct {
	Role      Role      `json:"role"`
	ScopeType ScopeType `json:"scope_type"`
	ScopeID   int64     `json:"scope_id"`
}

// Place locates a resource in the hierarchy: the courtyard it belongs to
// and that courtyard's community and subdistrict.
type Place struct {
	SubdistrictID int64
	CommunityID   int64
	CourtyardID   int64
}

// Covers reports whether g's scope contains p.
func (g Grant) Covers(p Place) bool {
	switch g.ScopeType {
	case ScopeSubdistrict:
		return g.ScopeID == p.SubdistrictID
	case ScopeCommunity:
		return g.ScopeID == p.CommunityID
	case ScopeCourtyard:
		return g.ScopeID == p.CourtyardID
	}
	return false
}

// Principal is an authenticated caller with the grants it holds now.
type Principal struct {
	Kind   Kind
	ID     int64
	Name   string
	Grants []Grant
}

// Ref is the principal as the audit log names it, e.g. "user:12".
func (p Principal) Ref() string { return string(p.Kind) + ":" + strconv.FormatInt(p.ID, 10) }

// Can reports whether p holds one of roles over place.
func (p Principal) Can(place Place, roles ...Role) bool {
	for _, g := range p.Grants {
		for _, r := range roles {
			if g.Role == r && g.Covers(place) {
				return true
			}
		}
	}
	return false
}

// Staff roles: who may administer households, rosters and bindings.
var (
	// StaffRoles are the roles of street-office and community staff.
	StaffRoles = []Role{RoleSubdistrictAdmin, RoleCommunityStaff}
	// CouncilOrStaff adds the courtyard council to StaffRoles.
	CouncilOrStaff = []Role{RoleSubdistrictAdmin, RoleCommunityStaff, RoleCouncilChair, RoleCouncilMember}
)
