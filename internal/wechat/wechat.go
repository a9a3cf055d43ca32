// Package wechat is Louyuan's adapter for the WeChat mini-program server API:
// login (code2session), phone numbers, subscribe messages and text security
// checks. It is the only importer of github.com/silenceper/wechat/v2, and
// imports its miniprogram subpackages directly, never the SDK root package,
// whose init reconfigures the global logrus logger.
//
// The access token is shared by all server instances through Redis and is
// fetched under a Redis lock (see redisTokenHandle). Calls that WeChat
// answers with 40001/42001 drop the rejected token and are retried once with
// a fresh one. Every outgoing call is bounded by Config.Timeout and passes a
// circuit breaker.
//
// The SDK keeps its URI modifier and HTTP client in package variables, so
// Config.BaseURL is process-wide: the first New installs it and every later
// New in the same process must use the same BaseURL. Tests in this package
// therefore share one fake WeChat server (see TestMain).
package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/miniprogram"
	"github.com/silenceper/wechat/v2/miniprogram/business"
	"github.com/silenceper/wechat/v2/miniprogram/config"
	mpcontext "github.com/silenceper/wechat/v2/miniprogram/context"
	"github.com/silenceper/wechat/v2/miniprogram/security"
	"github.com/silenceper/wechat/v2/util"
	"github.com/sony/gobreaker/v2"
)

const (
	defaultTimeout = 5 * time.Second

	// stableTokenURL is getStableAccessToken. Unlike /cgi-bin/token, a call in
	// normal mode does not invalidate the token other callers hold (WeChat
	// renews it only in its last five minutes and keeps the old one valid
	// meanwhile), so even a fetch that escapes the Redis lock — a lock that
	// expired under a slow holder, or Redis failing over — cannot knock out
	// the token another instance is using. It also has a larger quota
	// (10,000 calls a minute) and is isolated from tokens taken by other tools
	// through /cgi-bin/token.
	stableTokenURL = realAPIBase + "/cgi-bin/stable_token"
	subscribeURL   = realAPIBase + "/cgi-bin/message/subscribe/send?access_token=%s"

	// Circuit breaker: open after this many consecutive failures, stay open
	// for breakerOpenFor, then let one call probe.
	breakerTripAfter = 5
	breakerOpenFor   = 30 * time.Second
)

// Config configures a Client.
type Config struct {
	AppID     string
	AppSecret string // from the environment only
	// BaseURL replaces https://api.weixin.qq.com, e.g. with the URL of a
	// wechatfake.Server; "" talks to the real API. It is installed in the
	// SDK's package variables, so it is process-wide: every Client in one
	// process must use the same BaseURL.
	BaseURL string
	// Timeout bounds every HTTP call to WeChat (each attempt, token fetches
	// included); default 5s. It is enforced as a context deadline per call,
	// in real and fake mode alike. The SDK's process-wide HTTP client also
	// gets a Timeout of max(first Timeout, 30s) as a backstop for SDK paths
	// that take no context.
	Timeout time.Duration
	// KeyPrefix is prepended to every Redis key, e.g. "louyuan:".
	KeyPrefix string
}

// LoginSession is what code2session answers for a login code.
type LoginSession struct {
	OpenID     string
	UnionID    string // "" unless the app is bound to an open platform account
	SessionKey string // secret: never log it
}

// SubscribeMessage is one subscribe message for one user.
type SubscribeMessage struct {
	ToUser     string            // recipient openid
	TemplateID string            // subscribe template id
	Page       string            // optional page opened from the card, e.g. "pages/notice/detail?id=7"
	Data       map[string]string // template keyword → value, e.g. "thing1" → "停车位表决"
	// MiniprogramState is "developer", "trial" or "formal"; "" means formal.
	MiniprogramState string
	Lang             string // "zh_CN" (default), "en_US", "zh_HK" or "zh_TW"
}

// Suggestions a text security check can give.
const (
	SuggestPass   = "pass"
	SuggestReview = "review"
	SuggestRisky  = "risky"
)

// Scenes of a text security check.
const (
	SceneProfile = 1 // 资料
	SceneComment = 2 // 评论
	SceneForum   = 3 // 论坛
	SceneSocial  = 4 // 社交日志
)

// SecResult is the verdict of msg_sec_check (version 2).
type SecResult struct {
	Suggest string // SuggestPass, SuggestReview or SuggestRisky
	Label   int    // 100 normal, 10001 ad, 20001 politics, 20002 porn, 20003 abuse, 20006 crime, 20008 fraud, 20012 vulgar, 20013 copyright, 21000 other
	TraceID string
}

// Client calls the WeChat mini-program server API for one app.
type Client struct {
	cfg     Config
	logger  *slog.Logger
	sdkConf *config.Config
	mp      *miniprogram.MiniProgram
	tokens  *redisTokenHandle
	breaker *gobreaker.CircuitBreaker[struct{}]
}

// New returns a Client for cfg that shares its access token with every other
// Client (in any process) using the same Redis, KeyPrefix and AppID. rdb is
// not closed by the Client. logger may be nil.
func New(cfg Config, rdb redis.UniversalClient, logger *slog.Logger) (*Client, error) {
	if cfg.AppID == "" || cfg.AppSecret == "" {
		return nil, errors.New("wechat: AppID and AppSecret are required")
	}
	if rdb == nil {
		return nil, errors.New("wechat: a Redis client is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("wechat: BaseURL %q is not an http(s) URL", cfg.BaseURL)
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := installSDKGlobals(cfg.BaseURL, cfg.Timeout); err != nil {
		return nil, err
	}

	c := &Client{cfg: cfg, logger: logger}
	lockTTL := 2*cfg.Timeout + time.Second // one fetch plus Redis round trips
	c.tokens = &redisTokenHandle{
		rdb:      rdb,
		tokenKey: cfg.KeyPrefix + "wechat:access_token:" + cfg.AppID,
		lockKey:  cfg.KeyPrefix + "wechat:access_token_lock:" + cfg.AppID,
		fetch:    c.fetchToken,
		lockTTL:  lockTTL,
		maxWait:  lockTTL + cfg.Timeout/2, // outlives a holder that died with the lock
		logger:   logger,
	}
	c.sdkConf = &config.Config{
		AppID:       cfg.AppID,
		AppSecret:   cfg.AppSecret,
		Cache:       newRedisCache(rdb, cfg.KeyPrefix+"wechat:sdk:", cfg.Timeout, logger),
		UseStableAK: true,
	}
	c.mp = miniprogram.NewMiniProgram(c.sdkConf)
	c.mp.SetAccessTokenContextHandle(c.tokens)
	c.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "wechat",
		MaxRequests: 1,
		Interval:    time.Minute,
		Timeout:     breakerOpenFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= breakerTripAfter
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			logger.Warn("wechat: circuit breaker changed state", "from", from.String(), "to", to.String())
		},
		// A business answer such as 40029 shows WeChat is up; only transport
		// errors, timeouts and "system busy" (-1) count against it.
		IsSuccessful: func(err error) bool {
			code := ErrCode(err)
			return err == nil || (code != 0 && code != CodeBusy)
		},
		// The caller giving up says nothing about WeChat.
		IsExcluded: func(err error) bool {
			return errors.Is(err, context.Canceled)
		},
	})
	return c, nil
}

// Code2Session exchanges a wx.login code for the user's openid, unionid and
// session key. A bad code answers an *APIError with CodeInvalidCode, a reused
// one CodeCodeUsed; CodeRateLimited and CodeBusy are worth a retry later.
func (c *Client) Code2Session(ctx context.Context, code string) (LoginSession, error) {
	if code == "" {
		return LoginSession{}, fmt.Errorf("wechat: code2session: %w", &APIError{Code: CodeInvalidCode, Msg: "empty code (checked locally)"})
	}
	var session LoginSession
	err := c.call(ctx, "code2session", func(ctx context.Context) error {
		// The SDK puts js_code into the URL unescaped.
		res, err := c.mp.GetAuth().Code2SessionContext(ctx, url.QueryEscape(code))
		if res.ErrCode != 0 {
			// The SDK reports this as a plain error; keep the code.
			return &APIError{Code: int(res.ErrCode), Msg: res.ErrMsg}
		}
		if err != nil {
			return err
		}
		if res.OpenID == "" {
			return errors.New("answer without openid")
		}
		session = LoginSession{OpenID: res.OpenID, UnionID: res.UnionID, SessionKey: res.SessionKey}
		return nil
	})
	if err != nil {
		return LoginSession{}, err
	}
	return session, nil
}

// PhoneNumber exchanges a getPhoneNumber code for the user's phone number
// without country code (purePhoneNumber).
func (c *Client) PhoneNumber(ctx context.Context, code string) (string, error) {
	if code == "" {
		return "", fmt.Errorf("wechat: getuserphonenumber: %w", &APIError{Code: CodeInvalidCode, Msg: "empty code (checked locally)"})
	}
	var phone string
	err := c.withToken(ctx, "getuserphonenumber", func(ctx context.Context, token string) error {
		info, err := business.NewBusiness(c.sdkContext(token)).GetPhoneNumberWithContext(ctx, &business.GetPhoneNumberRequest{Code: code})
		if err != nil {
			return fromSDKError(err)
		}
		if info.PurePhoneNumber == "" {
			return errors.New("answer without purePhoneNumber")
		}
		phone = info.PurePhoneNumber
		return nil
	})
	if err != nil {
		return "", err
	}
	c.logger.DebugContext(ctx, "wechat: phone number fetched", "phone", maskPhone(phone))
	return phone, nil
}

// AccessToken returns the access token shared through Redis, fetching one
// if none is cached.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	return c.tokens.GetAccessTokenContext(ctx)
}

// subscribeRequest is the body of /cgi-bin/message/subscribe/send. The SDK's
// subscribe.Message sends empty optional fields and its Send takes no
// context, so the request is built here.
type subscribeRequest struct {
	ToUser           string                    `json:"touser"`
	TemplateID       string                    `json:"template_id"`
	Page             string                    `json:"page,omitempty"`
	Data             map[string]subscribeValue `json:"data"`
	MiniprogramState string                    `json:"miniprogram_state,omitempty"`
	Lang             string                    `json:"lang,omitempty"`
}

type subscribeValue struct {
	Value string `json:"value"`
}

type subscribeResponse struct {
	util.CommonError
	MsgID int64 `json:"msgid"`
}

// SendSubscribe sends one subscribe message and returns WeChat's msgid.
// CodeUserRefused means the user has not granted (or has used up) this
// template; CodeInvalidOpenID and CodeArgumentInvalid are not worth a retry.
func (c *Client) SendSubscribe(ctx context.Context, m SubscribeMessage) (msgID int64, err error) {
	req := subscribeRequest{
		ToUser:           m.ToUser,
		TemplateID:       m.TemplateID,
		Page:             m.Page,
		Data:             make(map[string]subscribeValue, len(m.Data)),
		MiniprogramState: m.MiniprogramState,
		Lang:             m.Lang,
	}
	for k, v := range m.Data {
		req.Data[k] = subscribeValue{Value: v}
	}
	err = c.withToken(ctx, "subscribe send", func(ctx context.Context, token string) error {
		body, err := util.PostJSONContext(ctx, fmt.Sprintf(subscribeURL, url.QueryEscape(token)), req)
		if err != nil {
			return err
		}
		var res subscribeResponse
		if err := util.DecodeWithError(body, &res, "subscribe.send"); err != nil {
			return fromSDKError(err)
		}
		msgID = res.MsgID
		return nil
	})
	if err != nil {
		return 0, err
	}
	return msgID, nil
}

// MsgSecCheck runs msg_sec_check version 2 on content written by openID,
// who must have opened the mini-program in the last two hours. scene is one
// of SceneProfile, SceneComment, SceneForum, SceneSocial.
func (c *Client) MsgSecCheck(ctx context.Context, openID string, scene int, content string) (SecResult, error) {
	if scene < SceneProfile || scene > SceneSocial {
		return SecResult{}, fmt.Errorf("wechat: msg_sec_check: scene %d is not 1-4", scene)
	}
	var result SecResult
	err := c.withToken(ctx, "msg_sec_check", func(ctx context.Context, token string) error {
		res, err := security.NewSecurity(c.sdkContext(token)).MsgCheckContext(ctx, &security.MsgCheckRequest{
			OpenID:  openID,
			Scene:   security.MsgScene(scene),
			Content: content,
		})
		if err != nil {
			return fromSDKError(err)
		}
		if res.Result.Suggest == "" {
			return errors.New("answer without result.suggest")
		}
		result = SecResult{Suggest: string(res.Result.Suggest), Label: int(res.Result.Label), TraceID: res.TraceID}
		return nil
	})
	if err != nil {
		return SecResult{}, err
	}
	return result, nil
}

// withToken runs call with the shared access token. When WeChat rejects the
// token (40001 invalid, 42001 expired) it drops that token from Redis —
// unless another caller has already replaced it — fetches a fresh one under
// the lock and runs call once more.
func (c *Client) withToken(ctx context.Context, op string, call func(ctx context.Context, token string) error) error {
	token, err := c.tokens.GetAccessTokenContext(ctx)
	if err != nil {
		return fmt.Errorf("wechat: %s: access token: %w", op, err)
	}
	err = c.call(ctx, op, func(ctx context.Context) error { return call(ctx, token) })
	if !isTokenRejected(err) {
		return err
	}

	c.logger.WarnContext(ctx, "wechat: access token rejected, refreshing", "op", op, "errcode", ErrCode(err))
	if err := c.tokens.invalidate(ctx, token); err != nil {
		return fmt.Errorf("wechat: %s: %w", op, err)
	}
	token, err = c.tokens.GetAccessTokenContext(ctx)
	if err != nil {
		return fmt.Errorf("wechat: %s: access token: %w", op, err)
	}
	return c.call(ctx, op, func(ctx context.Context) error { return call(ctx, token) })
}

// call runs one HTTP exchange with WeChat through the circuit breaker,
// bounded by Config.Timeout, and names op in the error it returns.
func (c *Client) call(ctx context.Context, op string, exchange func(ctx context.Context) error) error {
	_, err := c.breaker.Execute(func() (struct{}, error) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
		return struct{}{}, exchange(ctx)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return fmt.Errorf("wechat: %s: %w", op, ErrUnavailable)
	}
	return fmt.Errorf("wechat: %s: %w", op, redact(err))
}

// stableTokenRequest is the body of /cgi-bin/stable_token.
type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// fetchToken asks WeChat for the stable access token in normal mode (never
// force_refresh, which is limited to 20 a day and invalidates the token other
// instances hold).
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	var res credential.ResAccessToken
	err := c.call(ctx, "stable_token", func(ctx context.Context) error {
		body, err := util.PostJSONContext(ctx, stableTokenURL, stableTokenRequest{
			GrantType: "client_credential",
			AppID:     c.cfg.AppID,
			Secret:    c.cfg.AppSecret,
		})
		if err != nil {
			return err
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		if res.ErrCode != 0 {
			return &APIError{Code: int(res.ErrCode), Msg: res.ErrMsg}
		}
		if res.AccessToken == "" || res.ExpiresIn <= 0 {
			return errors.New("answer without access_token or expires_in")
		}
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	return res.AccessToken, time.Duration(res.ExpiresIn) * time.Second, nil
}

// sdkContext is an SDK context whose access-token handle answers token.
func (c *Client) sdkContext(token string) *mpcontext.Context {
	return &mpcontext.Context{Config: c.sdkConf, AccessTokenContextHandle: fixedToken(token)}
}
