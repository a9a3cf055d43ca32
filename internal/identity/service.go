package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// ErrPhoneUsersOnly refuses binding a phone number to a staff account.
var ErrPhoneUsersOnly = louyuan.Forbidden("users_only", "只有小程序用户可以绑定手机号")

// User is a WeChat user of the mini-program.
type User struct {
	ID          int64
	OpenID      string
	UnionID     string
	RealName    string
	PhoneMasked string
	CreatedAt   time.Time
}

// Staff is a web-console account.
type Staff struct {
	ID           int64
	Username     string
	DisplayName  string
	PasswordHash string
	FailedLogins int
	LockedUntil  time.Time // zero when not locked
	Disabled     bool
	CreatedAt    time.Time
	LastLoginAt  time.Time // zero when never
	// SessionEpoch counts the account's password changes; a token issued
	// in an earlier epoch is refused.
	SessionEpoch int
	// Home is the scope the account was created in from the console (zero
	// for accounts made on the command line): it stays in that scope's
	// staff list while it holds no grant.
	Home Grant
}

// Session is what the server keeps for one refresh token. The WeChat
// session_key lives here and nowhere the client can see.
type Session struct {
	Kind            Kind      `json:"kind"`
	PrincipalID     int64     `json:"pid"`
	ExpiresAt       time.Time `json:"exp"`
	Pair            string    `json:"pair"` // token ID of the paired access token
	AccessExpiresAt time.Time `json:"aexp"`
	SessionKey      string    `json:"sk,omitempty"`
	// Family names the login this token descends from through refreshes:
	// a spent refresh token presented again ends the whole family.
	Family string `json:"fam,omitempty"`
	// Epoch is the staff account's SessionEpoch when the login began.
	Epoch int `json:"ep,omitempty"`
}

// Tokens is what a successful login or refresh returns.
type Tokens struct {
	AccessToken      string    `json:"access_token"`
	AccessExpiresAt  time.Time `json:"access_expires_at"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
}

// WeChatSession is the result of code2session.
type WeChatSession struct{ OpenID, UnionID, SessionKey string }

// WeChat is the part of the WeChat adapter identity needs.
type WeChat interface {
	Code2Session(ctx context.Context, code string) (WeChatSession, error)
	PhoneNumber(ctx context.Context, code string) (string, error)
}

// Store keeps users, staff and grants.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	UpsertUser(ctx context.Context, openID, unionID string, now time.Time) (User, bool, error)
	User(ctx context.Context, id int64) (User, error)
	SetUserPhone(ctx context.Context, userID int64, sealed []byte, hash, masked string) error
	CreateStaff(ctx context.Context, s Staff) (Staff, error)
	StaffByUsername(ctx context.Context, username string) (Staff, error)
	StaffByID(ctx context.Context, id int64) (Staff, error)
	UpdateStaffLogin(ctx context.Context, id int64, failed int, lockedUntil, lastLogin time.Time) error
	Grants(ctx context.Context, kind Kind, id int64, now time.Time) ([]Grant, error)
	// UserPrincipal reads a user's name and grants (as Grants) at once.
	UserPrincipal(ctx context.Context, id int64, now time.Time) (name string, grants []Grant, err error)
	AddGrant(ctx context.Context, kind Kind, id int64, g Grant, by string, now time.Time) error
	// RemoveGrant deletes a grant; removed is false when there was none.
	RemoveGrant(ctx context.Context, kind Kind, id int64, g Grant) (removed bool, err error)
	ScopePlace(ctx context.Context, t ScopeType, id int64) (Place, error)
	// SetStaffPassword stores a new password hash and moves the account
	// from session epoch from to from+1; when the account is no longer in
	// epoch from (its password changed meanwhile) it changes nothing and
	// answers changed false.
	SetStaffPassword(ctx context.Context, id int64, hash string, from int, now time.Time) (changed bool, err error)
	// StaffInScope pages through the staff accounts of q's scope.
	StaffInScope(ctx context.Context, q StaffQuery) (StaffPage, error)
	// GrantsForChange, inside a transaction, locks the grants of a
	// subdistrict and its communities against every other change (until
	// the transaction ends) and reads a principal's grants as they are now.
	GrantsForChange(ctx context.Context, subdistrictID int64, kind Kind, id int64) ([]Grant, error)
}

// Sessions keeps refresh tokens by hash, and the IDs of access tokens
// ended before their expiry.
type Sessions interface {
	Put(ctx context.Context, hash string, s Session, ttl time.Duration) error
	Get(ctx context.Context, hash string) (Session, bool, error)
	// Take marks a refresh token spent and returns its session, in one
	// atomic step: a refresh token works once. spent reports that it had
	// been spent before (the session is still returned, to end its family).
	Take(ctx context.Context, hash string) (s Session, found, spent bool, err error)
	Delete(ctx context.Context, hashes ...string) error
	Revoke(ctx context.Context, tokenID string, ttl time.Duration) error
	// EndFamily ends every token descending from one login, for ttl.
	EndFamily(ctx context.Context, family string, ttl time.Duration) error
	// Revoked reports whether an access token, or its family (when not
	// empty), was ended early.
	Revoked(ctx context.Context, tokenID, family string) (bool, error)
	// EndedSince reads the log of what Revoke and EndFamily ended, by any
	// instance, after cursor ("" from the start), oldest first and at most
	// limit entries, and returns the cursor to read on from.
	EndedSince(ctx context.Context, cursor string, limit int) ([]Ended, string, error)
}

// Limiter counts attempts per key within a window, atomically across
// instances.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, per time.Duration) (ok bool, retryAfter time.Duration, err error)
	// Spend counts one attempt of key in a window of per that the first
	// attempt starts; it returns the attempts of the window so far (this
	// one included) and the time the window has left.
	Spend(ctx context.Context, key string, per time.Duration) (n int, left time.Duration, err error)
	// Reset forgets key's attempts.
	Reset(ctx context.Context, key string) error
}

// Config sets token lifetimes and login protection.
type Config struct {
	AccessTTL        time.Duration
	UserRefreshTTL   time.Duration
	StaffRefreshTTL  time.Duration
	BcryptCost       int
	MaxFailedLogins  int
	LockoutDuration  time.Duration
	LoginPerIPPerMin int
	// SigningKey signs access tokens (at least 32 bytes); every instance
	// of a deployment must share it.
	SigningKey []byte
}

// DefaultConfig is what production uses unless configured otherwise.
func DefaultConfig() Config {
	return Config{AccessTTL: 2 * time.Hour, UserRefreshTTL: 30 * 24 * time.Hour, StaffRefreshTTL: 7 * 24 * time.Hour,
		BcryptCost: 12, MaxFailedLogins: 5, LockoutDuration: 15 * time.Minute, LoginPerIPPerMin: 120}
}

// Service logs people in and tells who is calling.
type Service struct {
	store      Store
	sessions   Sessions
	wx         WeChat
	limiter    Limiter
	phones     *PhoneVault
	audit      audit.Appender
	cfg        Config
	signingKey []byte
	// dummyHash is checked for usernames that don't exist, at the
	// configured cost, so that they take as long as real ones.
	dummyHash []byte
	cache     principalCache
	checked   principalCache // tokens found not ended, without their grants
	// endedFamilies are the families this instance ended (a refresh token
	// reused): their tokens are refused at once here, without waiting for
	// the cached principals to expire; other instances learn it from Redis
	// within principalTTL.
	endedFamilies sync.Map
	// ended is this instance's copy of the log of ended tokens (see
	// RunEndedSync).
	ended    endedTokens
	verified verifiedTokens
	log      *slog.Logger
	now      func() time.Time
}

// NewService wires the identity service.
func NewService(store Store, sessions Sessions, wx WeChat, limiter Limiter, phones *PhoneVault, al audit.Appender, cfg Config, log *slog.Logger) *Service {
	key := cfg.SigningKey
	if len(key) < 32 {
		panic("identity: Config.SigningKey must be at least 32 bytes")
	}
	cost := cfg.BcryptCost
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		cost = bcrypt.DefaultCost
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(newToken("")[:32]), cost)
	if err != nil {
		panic(fmt.Errorf("identity: make the dummy password hash: %w", err))
	}
	return &Service{store: store, sessions: sessions, wx: wx, limiter: limiter, phones: phones, audit: al, cfg: cfg, signingKey: key, dummyHash: dummy,
		log: log, now: time.Now}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

var (
	errTokenMissing = louyuan.Unauthorized("token_missing", "请先登录")
	errTokenInvalid = louyuan.Unauthorized("token_invalid", "登录已失效，请重新登录")
	errTokenExpired = louyuan.Unauthorized("token_expired", "登录已过期，请重新登录")
)

// LoginWeChat exchanges a wx.login code for the server's own tokens.
func (s *Service) LoginWeChat(ctx context.Context, code, ip string) (Tokens, User, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 128 {
		return Tokens{}, User{}, louyuan.Invalid("code_required", "缺少微信登录凭证 code")
	}
	if err := s.rateLimitIP(ctx, "login:ip:"+ip); err != nil {
		return Tokens{}, User{}, err
	}
	ws, err := s.wx.Code2Session(ctx, code)
	if err != nil {
		return Tokens{}, User{}, err
	}
	now := s.now()
	u, created, err := s.store.UpsertUser(ctx, ws.OpenID, ws.UnionID, now)
	if err != nil {
		return Tokens{}, User{}, err
	}
	if created {
		if err := s.audit.Append(ctx, audit.Record{Actor: "user:" + itoa(u.ID), Action: "user.register", Object: "user:" + itoa(u.ID)}); err != nil {
			return Tokens{}, User{}, err
		}
	}
	t, err := s.issue(ctx, KindUser, u.ID, ws.SessionKey, s.cfg.UserRefreshTTL, "", 0)
	return t, u, err
}

// LoginStaff checks a staff password. Every attempt on a username spends
// one of its MaxFailedLogins tries (atomically, in Redis) before the
// password is checked, so parallel guesses cannot outrun the count; once
// they are spent the username is locked until its window ends, whether or
// not such an account exists, and unknown usernames cost the same bcrypt
// work as known ones: neither the answer nor its timing tells a stranger
// which usernames exist. A correct password clears the count. Logins per
// IP are rate-limited too.
func (s *Service) LoginStaff(ctx context.Context, username, password, ip string) (Tokens, Staff, error) {
	if err := s.rateLimitIP(ctx, "stafflogin:ip:"+ip); err != nil {
		return Tokens{}, Staff{}, err
	}
	username = strings.TrimSpace(username)
	triesKey := staffTriesKey(username)
	n, left, err := s.limiter.Spend(ctx, triesKey, s.cfg.LockoutDuration)
	if err != nil {
		return Tokens{}, Staff{}, err
	}
	if n > s.cfg.MaxFailedLogins {
		return Tokens{}, Staff{}, errLocked(left)
	}
	st, err := s.store.StaffByUsername(ctx, username)
	known := err == nil
	if err != nil && !louyuan.IsKind(err, louyuan.KindNotFound) {
		return Tokens{}, Staff{}, err
	}
	hash := s.dummyHash
	if known {
		hash = []byte(st.PasswordHash)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !known {
		if err := s.recordFailure(ctx, st, known, n, left); err != nil {
			return Tokens{}, Staff{}, err
		}
		return Tokens{}, Staff{}, louyuan.Unauthorized("wrong_password", "用户名或密码错误")
	}
	if st.Disabled {
		return Tokens{}, Staff{}, errAccountDisabled
	}
	if err := s.limiter.Reset(ctx, triesKey); err != nil {
		return Tokens{}, Staff{}, err
	}
	if err := s.store.UpdateStaffLogin(ctx, st.ID, 0, time.Time{}, s.now()); err != nil {
		return Tokens{}, Staff{}, err
	}
	t, err := s.issue(ctx, KindStaff, st.ID, "", s.cfg.StaffRefreshTTL, "", st.SessionEpoch)
	return t, st, err
}

// errLocked is the answer while a username's tries are spent: the same for
// accounts that exist and names that don't.
func errLocked(left time.Duration) error {
	return louyuan.Limited("account_locked", left, "该账号密码错误次数过多，已暂时锁定，请在%d分钟后再试，或联系街道管理员", int(left.Minutes())+1)
}

// recordFailure audits a wrong password (attempt n of the username's
// window) and, when it was the last try, the lock: on the account when it
// exists. Unknown usernames are not written down (people type passwords
// into the username field).
func (s *Service) recordFailure(ctx context.Context, st Staff, known bool, n int, left time.Duration) error {
	object := "staff:unknown"
	if known {
		object = "staff:" + itoa(st.ID)
	}
	locked := n == s.cfg.MaxFailedLogins
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.audit.Append(ctx, audit.Record{Actor: "anonymous", Action: "staff.login_failed", Object: object,
			Detail: map[string]any{"attempt": n}}); err != nil {
			return err
		}
		if !locked {
			return nil
		}
		until := s.now().Add(left).UTC().Truncate(time.Second)
		if known {
			if err := s.store.UpdateStaffLogin(ctx, st.ID, n, until, time.Time{}); err != nil {
				return err
			}
		}
		return s.audit.Append(ctx, audit.Record{Actor: "system", Action: "staff.locked", Object: object,
			Detail: map[string]any{"until": until.Format(time.RFC3339), "failed_logins": n}})
	})
}

func (s *Service) rateLimitIP(ctx context.Context, key string) error {
	if s.cfg.LoginPerIPPerMin <= 0 {
		return nil
	}
	ok, retry, err := s.limiter.Allow(ctx, key, s.cfg.LoginPerIPPerMin, time.Minute)
	if err != nil {
		return err
	}
	if !ok {
		return louyuan.Limited("too_many_logins", retry, "登录尝试过于频繁，请%d秒后再试", int(retry.Seconds())+1)
	}
	return nil
}

// An access token is self-contained: "lya_" + payload + "." + HMAC of it,
// so that requests keep being served while Redis is down. Redis holds the
// refresh tokens and the list of access tokens ended early (logout,
// refresh) until they would have expired anyway.
type accessClaims struct {
	Kind    Kind   `json:"k"`
	ID      int64  `json:"p"`
	Expires int64  `json:"e"` // Unix seconds
	TokenID string `json:"j"`
	Refresh string `json:"r"` // hash of the paired refresh token
	Family  string `json:"f,omitempty"`
	Epoch   int    `json:"g,omitempty"` // the staff account's session epoch
}

func (s *Service) sign(c accessClaims) string {
	payload, _ := json.Marshal(c)
	body := "lya_" + base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha256.New, s.signingKey)
	m.Write([]byte(body))
	return body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Service) verify(token string) (accessClaims, bool) {
	body, sig, ok := strings.Cut(token, ".")
	if !ok || !strings.HasPrefix(body, "lya_") {
		return accessClaims{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return accessClaims{}, false
	}
	m := hmac.New(sha256.New, s.signingKey)
	m.Write([]byte(body))
	if !hmac.Equal(got, m.Sum(nil)) {
		return accessClaims{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(body, "lya_"))
	if err != nil {
		return accessClaims{}, false
	}
	var c accessClaims
	if json.Unmarshal(payload, &c) != nil || c.TokenID == "" || (c.Kind != KindUser && c.Kind != KindStaff) {
		return accessClaims{}, false
	}
	return c, true
}

// issue makes a token pair. family is the login the pair descends from
// ("" for a new login).
func (s *Service) issue(ctx context.Context, kind Kind, id int64, sessionKey string, refreshTTL time.Duration, family string, epoch int) (Tokens, error) {
	now := s.now().UTC().Truncate(time.Second)
	refresh := newToken("lyr_")
	rh := tokenHash(refresh)
	jti := newToken("")[:22]
	if family == "" {
		family = newToken("")[:22]
	}
	claims := accessClaims{Kind: kind, ID: id, Expires: now.Add(s.cfg.AccessTTL).Unix(), TokenID: jti, Refresh: rh, Family: family, Epoch: epoch}
	t := Tokens{AccessToken: s.sign(claims), AccessExpiresAt: time.Unix(claims.Expires, 0).UTC(), RefreshToken: refresh, RefreshExpiresAt: now.Add(refreshTTL)}
	sess := Session{Kind: kind, PrincipalID: id, ExpiresAt: t.RefreshExpiresAt, Pair: jti, AccessExpiresAt: t.AccessExpiresAt, SessionKey: sessionKey, Family: family, Epoch: epoch}
	if err := s.sessions.Put(ctx, rh, sess, refreshTTL); err != nil {
		return Tokens{}, err
	}
	return t, nil
}

// endAccess puts an access token on the list of tokens ended early, until
// it would have expired.
func (s *Service) endAccess(ctx context.Context, jti string, expires time.Time) error {
	ttl := expires.Sub(s.now())
	if ttl <= 0 {
		return nil
	}
	s.ended.add([]Ended{{TokenID: jti}}, expires.Add(time.Minute)) // at once on this instance
	return s.sessions.Revoke(ctx, jti, ttl+time.Minute)
}

// Refresh trades a refresh token for a new pair; the old pair stops working.
// A refresh token presented a second time was copied: whoever holds the
// other copy cannot be told apart from the owner, so the whole session
// ends — every refresh and access token issued since that login.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	if !strings.HasPrefix(refreshToken, "lyr_") || len(refreshToken) > 100 {
		return Tokens{}, errTokenInvalid
	}
	h := tokenHash(refreshToken)
	// A staff session is checked against its account (a changed password,
	// a disabled account) before the token is spent: were the account
	// unreadable for a moment after it, the client's retry would look
	// like a copied token and end the whole login.
	if peek, found, err := s.sessions.Get(ctx, h); err != nil {
		return Tokens{}, err
	} else if found && peek.Kind == KindStaff {
		st, err := s.store.StaffByID(ctx, peek.PrincipalID)
		if err != nil {
			return Tokens{}, err
		}
		if st.SessionEpoch != peek.Epoch {
			return Tokens{}, errPasswordChanged
		}
		if st.Disabled {
			return Tokens{}, errAccountDisabled
		}
	}
	sess, found, spent, err := s.sessions.Take(ctx, h)
	if err != nil {
		return Tokens{}, err
	}
	if !found {
		return Tokens{}, errTokenInvalid
	}
	family := sess.Family
	if family == "" {
		family = tokenHash(refreshToken)[:22] // a session from before families: it starts one now
	}
	if spent {
		if err := s.endFamily(ctx, family); err != nil {
			return Tokens{}, err
		}
		s.log.WarnContext(ctx, "refresh token reused; session ended", "principal", string(sess.Kind)+":"+itoa(sess.PrincipalID))
		return Tokens{}, errSessionReused
	}
	if !s.now().Before(sess.ExpiresAt) {
		return Tokens{}, errTokenExpired
	}
	if ended, err := s.sessions.Revoked(ctx, "", family); err != nil {
		return Tokens{}, err
	} else if ended {
		return Tokens{}, errTokenInvalid
	}
	if err := s.endAccess(ctx, sess.Pair, sess.AccessExpiresAt); err != nil {
		return Tokens{}, err
	}
	ttl := s.cfg.UserRefreshTTL
	if sess.Kind == KindStaff {
		ttl = s.cfg.StaffRefreshTTL
	}
	return s.issue(ctx, sess.Kind, sess.PrincipalID, sess.SessionKey, ttl, family, sess.Epoch)
}

// staffTriesKey is the limiter key of a username's wrong passwords, shared
// by login and change of password (so that both lead to one lockout).
func staffTriesKey(username string) string {
	return "stafflogin:user:" + tokenHash(strings.ToLower(username))
}

var errSessionReused = louyuan.Unauthorized("session_reused", "登录凭证被重复使用，为保护账号已退出该次登录的所有设备，请重新登录")

// endFamily ends every token of a login for as long as any of them could
// live.
func (s *Service) endFamily(ctx context.Context, family string) error {
	s.endedFamilies.Store(family, struct{}{})
	s.ended.add([]Ended{{Family: family}}, s.now().Add(s.cfg.AccessTTL+time.Minute))
	return s.sessions.EndFamily(ctx, family, max(s.cfg.UserRefreshTTL, s.cfg.StaffRefreshTTL, s.cfg.AccessTTL)+time.Minute)
}

// Logout ends the session of accessToken (both tokens of the pair).
func (s *Service) Logout(ctx context.Context, accessToken string) error {
	c, ok := s.verify(accessToken)
	if !ok {
		return nil
	}
	if err := s.endAccess(ctx, c.TokenID, time.Unix(c.Expires, 0)); err != nil {
		return err
	}
	s.cache.drop(c.TokenID)
	s.checked.drop(c.TokenID)
	return s.sessions.Delete(ctx, c.Refresh)
}

// Authenticate resolves an access token to the principal and its grants.
// The token's signature and expiry are checked locally; whether it was
// ended early is asked of Redis, and while Redis is down that check is
// skipped (logged) so that residents can keep voting.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Principal, error) {
	p, c, cached, err := s.checkToken(ctx, accessToken)
	if err != nil || cached {
		return p, err
	}
	now := s.now()
	switch c.Kind {
	case KindStaff:
		st, err := s.store.StaffByID(ctx, c.ID)
		if err != nil {
			return Principal{}, err
		}
		if st.Disabled {
			return Principal{}, errAccountDisabled
		}
		if st.SessionEpoch != c.Epoch {
			return Principal{}, errPasswordChanged
		}
		p.Name = st.DisplayName
		if p.Grants, err = s.store.Grants(ctx, p.Kind, p.ID, now); err != nil {
			return Principal{}, err
		}
	case KindUser:
		if p.Name, p.Grants, err = s.store.UserPrincipal(ctx, c.ID, now); err != nil {
			return Principal{}, err
		}
	}
	s.cache.put(c.TokenID, p, now)
	return p, nil
}

// AuthenticateIdentity checks an access token as Authenticate does —
// signature, expiry, ended sessions — but reads neither name nor roles from
// the database (it returns them only when the principal is cached): for a
// route whose service checks what it needs inside its own transaction,
// such as casting a ballot, which checks on a locked row that the user is
// the household's representative.
func (s *Service) AuthenticateIdentity(ctx context.Context, accessToken string) (Principal, error) {
	p, _, _, err := s.checkToken(ctx, accessToken)
	return p, err
}

// checkToken verifies an access token and whether it was ended; it
// returns the cached principal (cached true) or the bare one.
func (s *Service) checkToken(ctx context.Context, accessToken string) (Principal, accessClaims, bool, error) {
	if accessToken == "" {
		return Principal{}, accessClaims{}, false, errTokenMissing
	}
	if len(accessToken) > 400 {
		return Principal{}, accessClaims{}, false, errTokenInvalid
	}
	c, ok := s.verified.get(accessToken)
	if !ok {
		if c, ok = s.verify(accessToken); !ok {
			return Principal{}, accessClaims{}, false, errTokenInvalid
		}
		s.verified.put(accessToken, c)
	}
	now := s.now()
	if now.Unix() >= c.Expires {
		return Principal{}, accessClaims{}, false, errTokenExpired
	}
	if _, ended := s.endedFamilies.Load(c.Family); ended && c.Family != "" {
		return Principal{}, accessClaims{}, false, errTokenInvalid
	}
	if s.ended.ended(c.TokenID, c.Family) {
		return Principal{}, accessClaims{}, false, errTokenInvalid
	}
	if s.ended.fresh(now) {
		// The copy of the ended tokens is up to date: no round trip.
		if p, ok := s.cache.get(c.TokenID, now); ok {
			return p, c, true, nil
		}
		return Principal{Kind: c.Kind, ID: c.ID}, c, false, nil
	}
	if p, ok := s.cache.get(c.TokenID, now); ok {
		return p, c, true, nil
	}
	if p, ok := s.checked.get(c.TokenID, now); ok {
		return p, c, false, nil // checked against the ended tokens a moment ago
	}
	revoked, err := s.sessions.Revoked(ctx, c.TokenID, c.Family)
	if err != nil {
		s.log.WarnContext(ctx, "cannot check ended tokens; accepting a valid signed token", "err", err)
	} else if revoked {
		return Principal{}, accessClaims{}, false, errTokenInvalid
	}
	p := Principal{Kind: c.Kind, ID: c.ID}
	if err == nil {
		s.checked.put(c.TokenID, p, now)
	}
	return p, c, false, nil
}

// BindPhone stores the phone number behind a getPhoneNumber code, encrypted.
func (s *Service) BindPhone(ctx context.Context, p Principal, code string) (string, error) {
	if p.Kind != KindUser {
		return "", ErrPhoneUsersOnly
	}
	if strings.TrimSpace(code) == "" {
		return "", louyuan.Invalid("code_required", "缺少手机号授权凭证 code")
	}
	phone, err := s.wx.PhoneNumber(ctx, code)
	if err != nil {
		return "", err
	}
	sealed, err := s.phones.Seal(phone)
	if err != nil {
		return "", louyuan.Internalf(err, "seal phone")
	}
	masked := MaskPhone(phone)
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.SetUserPhone(ctx, p.ID, sealed, s.phones.Hash(phone), masked); err != nil {
			return err
		}
		return s.audit.Append(ctx, audit.Record{Actor: p.Ref(), Action: "user.phone_bound", Object: p.Ref(), Detail: map[string]any{"phone": masked}})
	})
	return masked, err
}

// CreateStaff makes a staff account. actor is who asked ("cli" from the
// command line); the password must be at least 10 characters.
func (s *Service) CreateStaff(ctx context.Context, actor, username, displayName, password string) (Staff, error) {
	st, err := s.newStaff(username, displayName, password, Grant{})
	if err != nil {
		return Staff{}, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		st, err = s.insertStaff(ctx, actor, st)
		return err
	})
	return st, err
}

// newStaff checks a new account and hashes its password (slow: outside any
// transaction). home is the scope it is created in from the console, or
// zero.
func (s *Service) newStaff(username, displayName, password string, home Grant) (Staff, error) {
	username = strings.TrimSpace(username)
	if !validUsername(username) {
		return Staff{}, louyuan.Invalid("bad_username", "用户名须为3到32位字母、数字、点、下划线或连字符")
	}
	if err := louyuan.CheckText("姓名", displayName, false); err != nil {
		return Staff{}, err
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(displayName)); n == 0 || n > 32 {
		return Staff{}, louyuan.Invalid("bad_display_name", "姓名不能为空且不超过32个字")
	}
	if err := checkPassword(password); err != nil {
		return Staff{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
	if err != nil {
		return Staff{}, louyuan.Internalf(err, "hash password")
	}
	return Staff{Username: username, DisplayName: strings.TrimSpace(displayName), PasswordHash: string(hash), Home: home}, nil
}

// insertStaff stores a checked account and audits it, inside the caller's
// transaction.
func (s *Service) insertStaff(ctx context.Context, actor string, st Staff) (Staff, error) {
	st.CreatedAt = s.now()
	st, err := s.store.CreateStaff(ctx, st)
	if err != nil {
		return Staff{}, err
	}
	detail := map[string]any{"username": st.Username}
	if st.Home.ScopeID != 0 {
		detail["scope_type"], detail["scope_id"] = string(st.Home.ScopeType), st.Home.ScopeID
	}
	return st, s.audit.Append(ctx, audit.Record{Actor: actor, Action: "staff.create", Object: "staff:" + itoa(st.ID), Detail: detail})
}

// Grant gives a principal a role over a scope. A subdistrict admin may
// grant staff roles within the subdistrict, but not phone_viewer to
// themself (a second admin must: PIPL wants the full-phone power to be a
// decision of someone else); nil (the command line) may grant any staff
// role. Council roles are never granted: they come from a council term
// that is running.
func (s *Service) Grant(ctx context.Context, actor *Principal, kind Kind, id int64, g Grant) error {
	actorRef, place, err := s.checkGrant(ctx, actor, kind, id, g)
	if err != nil {
		return err
	}
	if selfPhoneGrant(actor, kind, id, g) {
		return louyuan.Forbidden("self_grant_forbidden", "不能给自己授予查看完整手机号的权限，请由另一位街道管理员授予")
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.stillMayChange(ctx, actor, place); err != nil {
			return err
		}
		if err := s.store.AddGrant(ctx, kind, id, g, actorRef, s.now()); err != nil {
			return err
		}
		return s.audit.Append(ctx, audit.Record{Stream: grantStream(g), Actor: actorRef, Action: "role.grant", Object: string(kind) + ":" + itoa(id),
			Detail: map[string]any{"role": string(g.Role), "scope_type": string(g.ScopeType), "scope_id": g.ScopeID}})
	})
	if err == nil {
		s.forget(kind, id)
	}
	return err
}

// Revoke takes a granted role away; who may grant it may revoke it, but a
// subdistrict admin never their own admin role (another admin must). A
// revoked role stops working on this instance at once (its cached
// principals are dropped) and on every other instance within principalTTL.
func (s *Service) Revoke(ctx context.Context, actor *Principal, kind Kind, id int64, g Grant) error {
	actorRef, place, err := s.checkGrant(ctx, actor, kind, id, g)
	if err != nil {
		return err
	}
	if selfAdminRevoke(actor, kind, id, g) {
		return louyuan.Forbidden("self_revoke_forbidden", "不能撤销自己的街道管理员角色，请由另一位街道管理员办理")
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		// Under the subdistrict's lock the actor is still an admin there,
		// and no admin revokes their own role: two admins revoking each
		// other at once leave one, never none.
		if err := s.stillMayChange(ctx, actor, place); err != nil {
			return err
		}
		removed, err := s.store.RemoveGrant(ctx, kind, id, g)
		if err != nil {
			return err
		}
		if !removed {
			return louyuan.NotFound("grant_not_found", "此人没有该范围的这个角色，无需撤销")
		}
		return s.audit.Append(ctx, audit.Record{Stream: grantStream(g), Actor: actorRef, Action: "role.revoke", Object: string(kind) + ":" + itoa(id),
			Detail: map[string]any{"role": string(g.Role), "scope_type": string(g.ScopeType), "scope_id": g.ScopeID}})
	})
	if err == nil {
		s.forget(kind, id)
	}
	return err
}

// checkGrant checks a grant or revocation: the role, its scope, the
// actor's power over that scope (as the actor's cached principal holds it:
// the transaction checks again, see stillMayChange) and the principal. It
// returns how the audit log names the actor, and the scope's place.
func (s *Service) checkGrant(ctx context.Context, actor *Principal, kind Kind, id int64, g Grant) (string, Place, error) {
	if err := validGrant(g); err != nil {
		return "", Place{}, err
	}
	place, err := s.store.ScopePlace(ctx, g.ScopeType, g.ScopeID)
	if err != nil {
		return "", Place{}, err
	}
	actorRef := "cli"
	if actor != nil {
		actorRef = actor.Ref()
		if !mayChange(*actor, place) {
			return "", Place{}, errNotInScope
		}
	}
	switch kind {
	case KindUser:
		_, err = s.store.User(ctx, id)
	case KindStaff:
		_, err = s.store.StaffByID(ctx, id)
	default:
		err = louyuan.Invalid("bad_principal", "只能授权给小程序用户或工作人员账号")
	}
	return actorRef, place, err
}

// stillMayChange runs first in the transaction of every grant, revocation
// and account made from the console: it locks the grants of the place's
// subdistrict (changes there run one at a time) and checks the actor's
// power over the place against the grants as they are now — not as the
// actor's principal, cached on this or another instance for up to
// principalTTL, remembers them. nil (the command line) may always.
func (s *Service) stillMayChange(ctx context.Context, actor *Principal, place Place) error {
	if actor == nil {
		return nil
	}
	grants, err := s.store.GrantsForChange(ctx, place.SubdistrictID, actor.Kind, actor.ID)
	if err != nil {
		return err
	}
	if !mayChange(Principal{Kind: actor.Kind, ID: actor.ID, Grants: grants}, place) {
		return errNotInScope
	}
	return nil
}

// validGrant checks a grant's role and the type of its scope.
func validGrant(g Grant) error {
	if !g.Role.Valid() {
		return louyuan.Invalid("bad_role", "未知角色；可授予的角色：街道管理员、社区工作人员、导出完整手机号")
	}
	if g.Role.Council() {
		return louyuan.Invalid("council_role_not_grantable", "理事会角色（理事长、理事、出纳）只来自理事会任期，不能单独授予或撤销；请在理事会任期中设置")
	}
	if g.ScopeType != ScopeFor(g.Role) {
		return louyuan.Invalid("bad_scope", fmt.Sprintf("“%s”只能授予在%s范围", RoleLabel(g.Role), scopeLabel(ScopeFor(g.Role))))
	}
	return nil
}

func grantStream(g Grant) string {
	if g.ScopeType == ScopeCourtyard {
		return audit.CourtyardStream(g.ScopeID)
	}
	return audit.GlobalStream
}

func scopeLabel(t ScopeType) string {
	switch t {
	case ScopeSubdistrict:
		return "街道"
	case ScopeCommunity:
		return "社区"
	}
	return "楼院"
}

func validUsername(u string) bool {
	if len(u) < 3 || len(u) > 32 {
		return false
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func newToken(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Errorf("read random token: %w", err)) // crypto/rand never fails on Linux
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is how tokens are keyed at rest: a leaked session store holds
// no usable token.
func tokenHash(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

func itoa(n int64) string { return fmt.Sprint(n) }
