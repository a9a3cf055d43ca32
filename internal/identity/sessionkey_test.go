package identity

import (
	"context"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
)

type keyWeChat struct{ key string }

func (w keyWeChat) Code2Session(context.Context, string) (WeChatSession, error) {
	return WeChatSession{OpenID: "oUser", SessionKey: w.key}, nil
}
func (keyWeChat) PhoneNumber(context.Context, string) (string, error) { return "", nil }

// The session key of the login stays server-side with the session, follows
// it through refreshes and ends with it.
func TestWeChatSessionKey(t *testing.T) {
	svc, _, now := newTestService(t)
	wx := &keyWeChat{key: "a2V5LW9uZQ=="}
	svc.wx = wx
	ctx := context.Background()
	tok, _, err := svc.LoginWeChat(ctx, "code", "ip")
	if err != nil {
		t.Fatal(err)
	}
	if k, err := svc.WeChatSessionKey(ctx, tok.AccessToken); err != nil || k != "a2V5LW9uZQ==" {
		t.Fatalf("WeChatSessionKey = %q, %v", k, err)
	}
	*now = now.Add(time.Minute)
	next, err := svc.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := svc.WeChatSessionKey(ctx, next.AccessToken); err != nil || k != "a2V5LW9uZQ==" {
		t.Fatalf("after refresh: %q, %v", k, err)
	}
	// The access token issued before the refresh belongs to the same login
	// and stays valid until it expires (a reused refresh token would end
	// them all): it reads the same key.
	if k, err := svc.WeChatSessionKey(ctx, tok.AccessToken); err != nil || k != "a2V5LW9uZQ==" {
		t.Fatalf("the access token from before the refresh: %q, %v", k, err)
	}
	// A new login brings WeChat's new key.
	wx.key = "a2V5LXR3bw=="
	again, _, err := svc.LoginWeChat(ctx, "code2", "ip")
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := svc.WeChatSessionKey(ctx, again.AccessToken); k != "a2V5LXR3bw==" {
		t.Fatalf("new login: %q", k)
	}
	if err := svc.Logout(ctx, again.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.WeChatSessionKey(ctx, again.AccessToken); louyuan.ErrorCode(err) != "wechat_session_missing" {
		t.Fatalf("after logout: %v", err)
	}
	staff, _, err := svc.LoginStaff(ctx, "clerk", "correct-horse", "ip")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.WeChatSessionKey(ctx, staff.AccessToken); louyuan.ErrorCode(err) != "users_only" {
		t.Fatalf("staff: %v", err)
	}
	if _, err := svc.WeChatSessionKey(ctx, "garbage"); louyuan.ErrorCode(err) != "token_invalid" {
		t.Fatalf("garbage: %v", err)
	}
}
