// Package roster owns the places (subdistrict → community → courtyard →
// building → unit → household), the owners of households, the WeChat users
// bound to them (memberships), household representatives and invite codes.
package roster

// MemberRole is how a user belongs to a household.
type MemberRole string

// The member roles. Tenants can read but never vote or sign.
const (
	RoleOwner  MemberRole = "owner"
	RoleFamily MemberRole = "family"
	RoleTenant MemberRole = "tenant"
)

// Valid reports whether r is a known role.
func (r MemberRole) Valid() bool { return r == RoleOwner || r == RoleFamily || r == RoleTenant }

// Label is the Chinese name of the role.
func (r MemberRole) Label() string {
	switch r {
	case RoleOwner:
		return "业主"
	case RoleFamily:
		return "家庭成员"
	case RoleTenant:
		return "租户"
	}
	return string(r)
}

// CanRepresent reports whether a member of this role may be the household's
// representative (and so vote or sign for it).
func (r MemberRole) CanRepresent() bool { return r == RoleOwner || r == RoleFamily }
