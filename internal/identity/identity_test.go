package identity

import "testing"

func TestCan(t *testing.T) {
	place := Place{SubdistrictID: 1, CommunityID: 10, CourtyardID: 100}
	other := Place{SubdistrictID: 1, CommunityID: 11, CourtyardID: 101}
	far := Place{SubdistrictID: 2, CommunityID: 20, CourtyardID: 200}
	cases := []struct {
		name  string
		grant Grant
		place Place
		roles []Role
		want  bool
	}{
		{"subdistrict admin covers its courtyards", Grant{RoleSubdistrictAdmin, ScopeSubdistrict, 1}, other, StaffRoles, true},
		{"subdistrict admin not another subdistrict", Grant{RoleSubdistrictAdmin, ScopeSubdistrict, 1}, far, StaffRoles, false},
		{"community staff own community", Grant{RoleCommunityStaff, ScopeCommunity, 10}, place, StaffRoles, true},
		{"community staff not the next community", Grant{RoleCommunityStaff, ScopeCommunity, 10}, other, StaffRoles, false},
		{"council member own courtyard", Grant{RoleCouncilMember, ScopeCourtyard, 100}, place, CouncilOrStaff, true},
		{"council member not courtyard B", Grant{RoleCouncilMember, ScopeCourtyard, 100}, other, CouncilOrStaff, false},
		{"council member is not staff", Grant{RoleCouncilMember, ScopeCourtyard, 100}, place, StaffRoles, false},
		{"scope id of another type does not match", Grant{RoleCommunityStaff, ScopeCommunity, 100}, place, StaffRoles, false},
	}
	for _, c := range cases {
		p := Principal{Kind: KindStaff, ID: 1, Grants: []Grant{c.grant}}
		if got := p.Can(c.place, c.roles...); got != c.want {
			t.Errorf("%s: Can = %v, want %v", c.name, got, c.want)
		}
	}
	if (Principal{}).Can(place, CouncilOrStaff...) {
		t.Error("a principal with no grants can do nothing")
	}
}
