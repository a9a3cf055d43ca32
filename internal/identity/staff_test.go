package identity

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/louyuan/louyuan/internal/louyuan"
)

func TestChangePassword(t *testing.T) {
	svc, _, _ := newTestService(t)
	ctx := context.Background()
	login := func(password string) Tokens {
		t.Helper()
		tok, _, err := svc.LoginStaff(ctx, "clerk", password, "1.2.3.4")
		if err != nil {
			t.Fatalf("login with %q: %v", password, err)
		}
		return tok
	}
	here, other := login("correct-horse"), login("correct-horse")
	me, err := svc.Authenticate(ctx, here.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, other.AccessToken); err != nil {
		t.Fatal(err)
	}

	// A wrong old password is refused with the tries left; a weak new one
	// by the policy of create-staff; the same one again too.
	_, err = svc.ChangePassword(ctx, me, here.AccessToken, "wrong", "a-new-password")
	if louyuan.ErrorCode(err) != "wrong_old_password" || !strings.Contains(err.Error(), "还可以再试4次") {
		t.Fatalf("wrong old password: %v", err)
	}
	if _, err := svc.ChangePassword(ctx, me, here.AccessToken, "correct-horse", "short"); louyuan.ErrorCode(err) != "weak_password" {
		t.Fatalf("short new password: %v", err)
	}
	if _, err := svc.ChangePassword(ctx, me, here.AccessToken, "correct-horse", "correct-horse"); louyuan.ErrorCode(err) != "same_password" {
		t.Fatalf("same password: %v", err)
	}
	if _, err := svc.ChangePassword(ctx, Principal{Kind: KindUser, ID: 9}, "", "x", "a-new-password"); louyuan.ErrorCode(err) != "staff_only" {
		t.Fatalf("a WeChat user: %v", err)
	}

	fresh, err := svc.ChangePassword(ctx, me, here.AccessToken, "correct-horse", "a-new-password")
	if err != nil {
		t.Fatal(err)
	}
	// The fresh pair works; every older token of the account is refused
	// at once on this instance, refresh tokens included.
	if _, err := svc.Authenticate(ctx, fresh.AccessToken); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	for name, tok := range map[string]string{"this": here.AccessToken, "other": other.AccessToken} {
		if _, err := svc.Authenticate(ctx, tok); err == nil {
			t.Errorf("%s session's access token still works after the change", name)
		}
	}
	if _, err := svc.Refresh(ctx, other.RefreshToken); louyuan.ErrorCode(err) != "password_changed" {
		t.Errorf("other session's refresh: %v", err)
	}
	if _, err := svc.Refresh(ctx, fresh.RefreshToken); err != nil {
		t.Errorf("fresh refresh: %v", err)
	}
	if _, _, err := svc.LoginStaff(ctx, "clerk", "correct-horse", "1.2.3.4"); louyuan.ErrorCode(err) != "wrong_password" {
		t.Errorf("old password still logs in: %v", err)
	}
	login("a-new-password")
}

// A password change is all or nothing as the caller sees it: when the
// fresh tokens cannot be stored the password stays as it was; once it has
// changed, a failure to end the old token is no failure of the change.
func TestChangePasswordAllOrNothing(t *testing.T) {
	svc, st, _ := newTestService(t)
	sessions := svc.sessions.(*memSessions)
	ctx := context.Background()
	tok := mustLogin(t, svc)
	me, err := svc.Authenticate(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}

	sessions.down = errors.New("redis: connection refused")
	if _, err := svc.ChangePassword(ctx, me, tok.AccessToken, "correct-horse", "a-new-password"); err == nil {
		t.Fatal("the fresh tokens were not stored, yet the change answered success")
	}
	if st.staff.SessionEpoch != 0 || bcrypt.CompareHashAndPassword([]byte(st.staff.PasswordHash), []byte("correct-horse")) != nil {
		t.Fatalf("a change that answered an error changed the password (epoch %d)", st.staff.SessionEpoch)
	}
	sessions.down = nil
	if _, err := svc.Authenticate(ctx, tok.AccessToken); err != nil {
		t.Fatalf("the session of a change that failed: %v", err)
	}

	// Redis answers the new session but not the end of the old token.
	failRevoke := &revokeDown{memSessions: sessions}
	svc.sessions = failRevoke
	got, err := svc.ChangePassword(ctx, me, tok.AccessToken, "correct-horse", "a-new-password")
	if err != nil {
		t.Fatalf("the password changed but the answer is an error: %v", err)
	}
	svc.sessions = sessions
	if _, err := svc.Authenticate(ctx, got.AccessToken); err != nil {
		t.Fatalf("the fresh token of the change: %v", err)
	}
	if _, err := svc.Authenticate(ctx, tok.AccessToken); err == nil {
		t.Fatal("the old token still works after the change")
	}
	if _, err := svc.Refresh(ctx, got.RefreshToken); err != nil {
		t.Fatalf("the fresh refresh token: %v", err)
	}
}

// revokeDown is sessions whose Revoke fails (Redis lost after the change).
type revokeDown struct{ *memSessions }

func (r *revokeDown) Revoke(context.Context, string, time.Duration) error {
	return errors.New("redis: connection refused")
}

func TestChangePasswordCountsTowardsLockout(t *testing.T) {
	svc, _, _ := newTestService(t)
	ctx := context.Background()
	tok, _, err := svc.LoginStaff(ctx, "clerk", "correct-horse", "1.2.3.4")
	if err != nil {
		t.Fatal(err)
	}
	me, _ := svc.Authenticate(ctx, tok.AccessToken)
	// Three wrong old passwords, then two wrong logins: the username is locked.
	for i := range 3 {
		if _, err := svc.ChangePassword(ctx, me, tok.AccessToken, "wrong", "a-new-password"); louyuan.ErrorCode(err) != "wrong_old_password" {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if _, _, err := svc.LoginStaff(ctx, "clerk", "wrong", "1.2.3.4"); louyuan.ErrorCode(err) != "wrong_password" {
		t.Fatal(err)
	}
	if _, err := svc.ChangePassword(ctx, me, tok.AccessToken, "wrong", "a-new-password"); louyuan.ErrorCode(err) != "account_locked" {
		t.Fatalf("fifth wrong attempt: %v", err)
	}
	if _, err := svc.ChangePassword(ctx, me, tok.AccessToken, "correct-horse", "a-new-password"); louyuan.ErrorCode(err) != "account_locked" {
		t.Fatalf("right old password while locked: %v", err)
	}
	if _, _, err := svc.LoginStaff(ctx, "clerk", "correct-horse", "1.2.3.4"); louyuan.ErrorCode(err) != "account_locked" {
		t.Fatalf("login while locked: %v", err)
	}
}

func TestCapabilities(t *testing.T) {
	p := Principal{Kind: KindStaff, ID: 3, Grants: []Grant{{RoleCommunityStaff, ScopeCommunity, 1}, {RolePhoneViewer, ScopeCommunity, 2}}}
	c := p.Capabilities()
	if !c.StaffList || c.ManageStaff || !c.ChangePassword || len(c.FullPhoneCommunities) != 1 || c.FullPhoneCommunities[0] != 2 {
		t.Fatalf("%+v", c)
	}
	u := Principal{Kind: KindUser, ID: 9, Grants: []Grant{{RoleCouncilMember, ScopeCourtyard, 1}}}.Capabilities()
	if u.StaffList || u.ManageStaff || u.ChangePassword || len(u.FullPhoneCommunities) != 0 {
		t.Fatalf("%+v", u)
	}
}

func TestGrantOptionsFollowTheGrantRule(t *testing.T) {
	scopes := []NamedScope{{ScopeSubdistrict, 1, "新华路街道", 1}, {ScopeCommunity, 1, "桐本北路社区", 1}, {ScopeCommunity, 7, "别处社区", 2}}
	admin := Principal{Kind: KindStaff, ID: 1, Grants: []Grant{{RoleSubdistrictAdmin, ScopeSubdistrict, 1}}}
	got := grantOptions(admin, scopes)
	if len(got) != 3 {
		t.Fatalf("a subdistrict admin of 1 may grant 3 options (admin of 1, staff and phone of community 1): %+v", got)
	}
	clerk := Principal{Kind: KindStaff, ID: 2, Grants: []Grant{{RoleCommunityStaff, ScopeCommunity, 1}}}
	if got := grantOptions(clerk, scopes); len(got) != 0 {
		t.Fatalf("community staff may grant nothing: %+v", got)
	}
	if !selfPhoneGrant(&admin, KindStaff, 1, Grant{RolePhoneViewer, ScopeCommunity, 1}) || selfPhoneGrant(&admin, KindStaff, 2, Grant{RolePhoneViewer, ScopeCommunity, 1}) {
		t.Fatal("self phone grant")
	}
}

func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		p := newPassword()
		if checkPassword(p) != nil || len(p) != 14 || strings.ContainsAny(p, "0O1lI") || seen[p] {
			t.Fatalf("initial password %q", p)
		}
		seen[p] = true
	}
}
