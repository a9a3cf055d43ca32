package identity

import (
	"context"

	"github.com/louyuan/louyuan/internal/louyuan"
)

var errWeChatSessionMissing = louyuan.Unauthorized("wechat_session_missing", "微信登录已过期，请重新进入小程序后再试")

// WeChatSessionKey returns the WeChat session_key of the login behind a
// user's access token, kept server-side with its refresh session (see
// Session) and carried over by every refresh, so that data the
// mini-program got encrypted from WeChat (wx.getShareInfo) can be opened.
// It is a secret: callers use it at once and never log, store or send it.
// A session ended, expired or from before the key was kept answers 401
// wechat_session_missing (a new login has a new key).
func (s *Service) WeChatSessionKey(ctx context.Context, accessToken string) (string, error) {
	c, ok := s.verify(accessToken)
	if !ok {
		return "", errTokenInvalid
	}
	if c.Kind != KindUser {
		return "", louyuan.Forbidden("users_only", "请在微信小程序里操作")
	}
	sess, found, err := s.sessions.Get(ctx, c.Refresh)
	if err != nil {
		return "", err
	}
	if !found || sess.SessionKey == "" || sess.Pair != c.TokenID || sess.Kind != KindUser || sess.PrincipalID != c.ID {
		return "", errWeChatSessionMissing
	}
	return sess.SessionKey, nil
}
