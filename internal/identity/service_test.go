package identity

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// memStore is an in-memory Store with one staff account and one user.
type memStore struct {
	mu    sync.Mutex
	staff Staff
	user  User
	// staffDown, when set, is what StaffByID answers (the database lost).
	staffDown error
}

func (m *memStore) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return fn(ctx)
}
func (m *memStore) UpsertUser(_ context.Context, openID, _ string, _ time.Time) (User, bool, error) {
	m.user.OpenID = openID
	return m.user, false, nil
}
func (m *memStore) User(context.Context, int64) (User, error)                         { return m.user, nil }
func (m *memStore) SetUserPhone(context.Context, int64, []byte, string, string) error { return nil }
func (m *memStore) CreateStaff(_ context.Context, s Staff) (Staff, error)             { return s, nil }
func (m *memStore) StaffByUsername(_ context.Context, u string) (Staff, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u != m.staff.Username {
		return Staff{}, louyuan.NotFound("staff_not_found", "账号不存在")
	}
	return m.staff, nil
}
func (m *memStore) StaffByID(context.Context, int64) (Staff, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.staffDown != nil {
		return Staff{}, m.staffDown
	}
	return m.staff, nil
}
func (m *memStore) UpdateStaffLogin(_ context.Context, _ int64, failed int, lockedUntil, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.staff.FailedLogins, m.staff.LockedUntil = failed, lockedUntil
	return nil
}
func (m *memStore) Grants(context.Context, Kind, int64, time.Time) ([]Grant, error) { return nil, nil }
func (m *memStore) UserPrincipal(context.Context, int64, time.Time) (string, []Grant, error) {
	return m.user.RealName, nil, nil
}
func (m *memStore) AddGrant(context.Context, Kind, int64, Grant, string, time.Time) error {
	return nil
}
func (m *memStore) RemoveGrant(context.Context, Kind, int64, Grant) (bool, error) { return false, nil }
func (m *memStore) ScopePlace(context.Context, ScopeType, int64) (Place, error)   { return Place{}, nil }
func (m *memStore) SetStaffPassword(_ context.Context, _ int64, hash string, from int, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.staff.SessionEpoch != from {
		return false, nil
	}
	m.staff.PasswordHash = hash
	m.staff.SessionEpoch++
	return true, nil
}
func (m *memStore) GrantsForChange(context.Context, int64, Kind, int64) ([]Grant, error) {
	return nil, nil
}
func (m *memStore) StaffInScope(context.Context, StaffQuery) (StaffPage, error) {
	return StaffPage{}, nil
}

type memSessions struct {
	mu      sync.Mutex
	m       map[string]Session
	log     []Ended // what Revoke and EndFamily ended, in order
	revoked int     // calls of Revoked
	// down, when set, is what every write answers (Redis lost).
	down error
}

func (s *memSessions) Put(_ context.Context, h string, sess Session, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	s.m[h] = sess
	return nil
}
func (s *memSessions) Get(_ context.Context, h string) (Session, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[h]
	return sess, ok, nil
}
func (s *memSessions) Take(_ context.Context, h string) (Session, bool, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[h]
	if !ok {
		return Session{}, false, false, nil
	}
	_, spent := s.m["spent:"+h]
	s.m["spent:"+h] = sess
	return sess, true, spent, nil
}
func (s *memSessions) Delete(_ context.Context, hs ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hs {
		delete(s.m, h)
	}
	return nil
}

func (s *memSessions) Revoke(_ context.Context, id string, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	s.m["ended:"+id] = Session{}
	s.log = append(s.log, Ended{TokenID: id})
	return nil
}
func (s *memSessions) EndFamily(_ context.Context, family string, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m["family:"+family] = Session{}
	s.log = append(s.log, Ended{Family: family})
	return nil
}
func (s *memSessions) EndedSince(_ context.Context, cursor string, limit int) ([]Ended, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := 0
	if cursor != "" {
		from, _ = strconv.Atoi(cursor)
	}
	to := min(len(s.log), from+limit)
	return slices.Clone(s.log[from:to]), strconv.Itoa(to), nil
}
func (s *memSessions) Revoked(_ context.Context, id, family string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked++
	_, ended := s.m["ended:"+id]
	_, famEnded := s.m["family:"+family]
	return ended || famEnded, nil
}

// memLimiter counts attempts in windows on the service's test clock.
type memLimiter struct {
	mu  sync.Mutex
	now *time.Time
	m   map[string]window
}

type window struct {
	n    int
	ends time.Time
}

func (l *memLimiter) Allow(context.Context, string, int, time.Duration) (bool, time.Duration, error) {
	return true, 0, nil
}

func (l *memLimiter) Spend(_ context.Context, key string, per time.Duration) (int, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[key]
	if !l.now.Before(w.ends) {
		w = window{ends: l.now.Add(per)}
	}
	w.n++
	l.m[key] = w
	return w.n, w.ends.Sub(*l.now), nil
}

func (l *memLimiter) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, key)
	return nil
}

type noAudit struct{}

func (noAudit) Append(context.Context, audit.Record) error { return nil }

func newTestService(t *testing.T) (*Service, *memStore, *time.Time) {
	t.Helper()
	hash, _ := bcrypt.GenerateFromPassword([]byte("correct-horse"), bcrypt.MinCost)
	st := &memStore{staff: Staff{ID: 1, Username: "clerk", DisplayName: "张伟", PasswordHash: string(hash)}, user: User{ID: 9}}
	cfg := DefaultConfig()
	cfg.BcryptCost = bcrypt.MinCost
	cfg.SigningKey = []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	svc := NewService(st, &memSessions{m: map[string]Session{}}, nil, &memLimiter{now: &now, m: map[string]window{}}, nil, noAudit{}, cfg, slog.New(slog.DiscardHandler))
	svc.SetClock(func() time.Time { return now })
	return svc, st, &now
}

func TestStaffLockout(t *testing.T) {
	svc, st, now := newTestService(t)
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		_, _, err := svc.LoginStaff(ctx, "clerk", "wrong", "1.2.3.4")
		if louyuan.ErrorCode(err) != "wrong_password" {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if st.staff.LockedUntil.IsZero() {
		t.Fatal("five wrong passwords did not lock the account")
	}
	if _, _, err := svc.LoginStaff(ctx, "clerk", "correct-horse", "1.2.3.4"); louyuan.ErrorCode(err) != "account_locked" {
		t.Fatalf("right password while locked: %v", err)
	}
	*now = now.Add(16 * time.Minute)
	if _, _, err := svc.LoginStaff(ctx, "clerk", "correct-horse", "1.2.3.4"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	// An unknown username answers as a known one does, wrong password and
	// lock alike.
	for i := 1; i <= 5; i++ {
		if _, _, err := svc.LoginStaff(ctx, "nobody", "x", "1.2.3.4"); louyuan.ErrorCode(err) != "wrong_password" {
			t.Fatalf("unknown user, attempt %d must look like a wrong password: %v", i, err)
		}
	}
	if _, _, err := svc.LoginStaff(ctx, "nobody", "x", "1.2.3.4"); louyuan.ErrorCode(err) != "account_locked" {
		t.Fatalf("unknown user after five attempts must look locked: %v", err)
	}
}

func TestTokensExpireRefreshAndLogout(t *testing.T) {
	svc, _, now := newTestService(t)
	ctx := context.Background()
	tok, _, err := svc.LoginStaff(ctx, "clerk", "correct-horse", "ip")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := svc.Authenticate(ctx, tok.AccessToken); err != nil || p.Kind != KindStaff || p.ID != 1 {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	if p, err := svc.AuthenticateIdentity(ctx, tok.AccessToken); err != nil || p.Kind != KindStaff || p.ID != 1 {
		t.Fatalf("AuthenticateIdentity = %+v, %v", p, err)
	}
	*now = now.Add(2*time.Hour + time.Second)
	if _, err := svc.Authenticate(ctx, tok.AccessToken); louyuan.ErrorCode(err) != "token_expired" {
		t.Fatalf("expired access token: %v", err)
	}
	if _, err := svc.AuthenticateIdentity(ctx, tok.AccessToken); louyuan.ErrorCode(err) != "token_expired" {
		t.Fatalf("expired access token (identity only): %v", err)
	}
	next, err := svc.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, next.AccessToken); err != nil {
		t.Fatal(err)
	}
	// The spent refresh token again: the whole session ends, the tokens
	// issued from it included.
	if _, err := svc.Refresh(ctx, tok.RefreshToken); louyuan.ErrorCode(err) != "session_reused" {
		t.Fatalf("refresh token reused: %v", err)
	}
	if _, err := svc.Authenticate(ctx, next.AccessToken); louyuan.ErrorCode(err) != "token_invalid" {
		t.Fatalf("access token of a session ended by reuse: %v", err)
	}
	if _, err := svc.Refresh(ctx, next.RefreshToken); louyuan.ErrorCode(err) != "token_invalid" {
		t.Fatalf("refresh token of a session ended by reuse: %v", err)
	}
	next, err = svc.Refresh(ctx, mustLogin(t, svc).RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Logout(ctx, next.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, next.AccessToken); louyuan.ErrorCode(err) != "token_invalid" {
		t.Fatalf("after logout: %v", err)
	}
	if _, err := svc.AuthenticateIdentity(ctx, next.AccessToken); louyuan.ErrorCode(err) != "token_invalid" {
		t.Fatalf("after logout (identity only): %v", err)
	}
	if _, err := svc.Refresh(ctx, next.RefreshToken); louyuan.ErrorCode(err) != "token_invalid" {
		t.Fatalf("refresh after logout: %v", err)
	}
	for _, bad := range []string{"", "garbage", "lya_nope"} {
		if _, err := svc.Authenticate(ctx, bad); !louyuan.IsKind(err, louyuan.KindUnauthorized) {
			t.Errorf("Authenticate(%q) = %v", bad, err)
		}
		if _, err := svc.AuthenticateIdentity(ctx, bad); !louyuan.IsKind(err, louyuan.KindUnauthorized) {
			t.Errorf("AuthenticateIdentity(%q) = %v", bad, err)
		}
	}
}

// A staff refresh that fails because the account cannot be read leaves
// the refresh token unspent: the client's retry works, and is not taken
// for a copied token that ends the whole login.
func TestStaffRefreshRetriedAfterAFailure(t *testing.T) {
	svc, st, _ := newTestService(t)
	ctx := context.Background()
	tok := mustLogin(t, svc)
	st.staffDown = errors.New("dial tcp 127.0.0.1:3306: connection refused")
	if _, err := svc.Refresh(ctx, tok.RefreshToken); err == nil {
		t.Fatal("refresh with the account unreadable answered success")
	}
	st.staffDown = nil
	next, err := svc.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatalf("the retry of a refresh that failed: %v", err)
	}
	if _, err := svc.Authenticate(ctx, next.AccessToken); err != nil {
		t.Fatal(err)
	}
}

func mustLogin(t *testing.T, svc *Service) Tokens {
	t.Helper()
	tok, _, err := svc.LoginStaff(context.Background(), "clerk", "correct-horse", "ip")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestPhoneVault(t *testing.T) {
	v, err := NewPhoneVault(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := v.Seal("13812345678")
	if got, err := v.Open(sealed); err != nil || got != "13812345678" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := v.Open(sealed); err == nil {
		t.Fatal("a tampered ciphertext opened")
	}
	if v.Hash("13812345678") != v.Hash("13812345678") || v.Hash("13812345678") == v.Hash("13812345679") {
		t.Fatal("hash not stable or not distinct")
	}
	if m := MaskPhone("13812345678"); m != "138****5678" {
		t.Fatalf("MaskPhone = %q", m)
	}
}

// Two instances share the sessions: a logout or a reused refresh token on
// one ends the tokens on the other at its next read of the log of ended
// tokens; while that copy is up to date, checking a token asks Redis
// nothing, and once it is stale each check asks Redis again.
func TestEndedTokensAcrossInstances(t *testing.T) {
	a, st, now := newTestService(t)
	sessions := a.sessions.(*memSessions)
	b := NewService(st, sessions, nil, a.limiter, nil, noAudit{}, a.cfg, slog.New(slog.DiscardHandler))
	b.SetClock(func() time.Time { return *now })
	ctx := context.Background()

	keep, gone, family := mustLogin(t, a), mustLogin(t, a), mustLogin(t, a)
	if err := b.SyncEnded(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []Tokens{keep, gone, family} {
		if _, err := b.AuthenticateIdentity(ctx, tok.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if sessions.revoked != 0 {
		t.Fatalf("%d round trips to check tokens with an up-to-date copy, want 0", sessions.revoked)
	}

	// Ended on a: refused on a at once, on b after its next read.
	if err := a.Logout(ctx, gone.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Refresh(ctx, family.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Refresh(ctx, family.RefreshToken); louyuan.ErrorCode(err) != "session_reused" {
		t.Fatalf("reused refresh token: %v", err)
	}
	if _, err := a.AuthenticateIdentity(ctx, gone.AccessToken); louyuan.ErrorCode(err) != "token_invalid" {
		t.Fatalf("logged out, same instance: %v", err)
	}
	sessions.revoked = 0 // Refresh itself asks about the family
	if err := b.SyncEnded(ctx); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]Tokens{"logged out": gone, "session reused": family} {
		if _, err := b.AuthenticateIdentity(ctx, tok.AccessToken); louyuan.ErrorCode(err) != "token_invalid" {
			t.Errorf("%s, other instance: %v", name, err)
		}
	}
	if _, err := b.AuthenticateIdentity(ctx, keep.AccessToken); err != nil {
		t.Fatalf("a token nobody ended: %v", err)
	}
	if sessions.revoked != 0 {
		t.Fatalf("%d round trips to check tokens with an up-to-date copy, want 0", sessions.revoked)
	}

	// A copy not read for longer than endedStale no longer answers alone.
	*now = now.Add(endedStale + time.Second)
	if _, err := b.AuthenticateIdentity(ctx, keep.AccessToken); err != nil {
		t.Fatal(err)
	}
	if sessions.revoked != 1 {
		t.Fatalf("%d round trips with a stale copy, want 1", sessions.revoked)
	}

	// Entries are forgotten once their tokens could no longer be used.
	*now = now.Add(a.cfg.AccessTTL + 2*time.Minute)
	if err := b.SyncEnded(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(b.ended.tokens) + len(b.ended.families); n != 0 {
		t.Fatalf("%d ended entries kept after their tokens expired", n)
	}
}
