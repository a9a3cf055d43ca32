package share

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// memStore is an in-memory Store with courtyards 1 and 2 and sent notice 7
// of courtyard 1 (notice 8 is a draft).
type memStore struct {
	groups map[int64]Group
	opens  map[[2]int64]bool
}

func (m *memStore) InTx(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
func (m *memStore) CourtyardPlace(_ context.Context, id int64) (identity.Place, error) {
	if id != 1 && id != 2 {
		return identity.Place{}, louyuan.NotFound("courtyard_not_found", "楼院不存在")
	}
	return identity.Place{SubdistrictID: 1, CommunityID: 1, CourtyardID: id}, nil
}
func (m *memStore) NoticeCourtyard(_ context.Context, id int64) (int64, bool, error) {
	switch id {
	case 7:
		return 1, true, nil
	case 8:
		return 1, false, nil
	}
	return 0, false, louyuan.NotFound("notice_not_found", "没有这条通知")
}
func (m *memStore) LockGroup(ctx context.Context, id int64) (Group, bool, error) {
	return m.CourtyardGroup(ctx, id)
}
func (m *memStore) CourtyardGroup(_ context.Context, id int64) (Group, bool, error) {
	g, ok := m.groups[id]
	return g, ok, nil
}
func (m *memStore) GroupCourtyard(_ context.Context, gid string) (int64, bool, error) {
	for id, g := range m.groups {
		if g.OpenGID == gid {
			return id, true, nil
		}
	}
	return 0, false, nil
}
func (m *memStore) SetGroup(_ context.Context, g Group) error {
	m.groups[g.CourtyardID] = g
	return nil
}
func (m *memStore) AddOpen(_ context.Context, n, u int64, _ time.Time) (bool, error) {
	k := [2]int64{n, u}
	if m.opens[k] {
		return false, nil
	}
	m.opens[k] = true
	return true, nil
}

// plainDecrypter reads "<key>|<gid>|<unix>" from encryptedData: right key
// or an error.
type plainDecrypter struct{}

func (plainDecrypter) ShareGroup(key, enc, _ string) (string, time.Time, error) {
	var k, gid string
	var at int64
	if _, err := fmt.Sscanf(enc, "%s %s %d", &k, &gid, &at); err != nil || k != key {
		return "", time.Time{}, errors.New("bad padding")
	}
	if gid == "other-app" {
		return "", time.Time{}, fmt.Errorf("%w: x", ErrOtherApp)
	}
	return gid, time.Unix(at, 0), nil
}

type auditLog struct{ recs []audit.Record }

func (a *auditLog) Append(_ context.Context, r audit.Record) error {
	a.recs = append(a.recs, r)
	return nil
}

func TestLinkAndOpen(t *testing.T) {
	st := &memStore{groups: map[int64]Group{}, opens: map[[2]int64]bool{}}
	al := &auditLog{}
	svc := NewService(st, plainDecrypter{}, al, slog.New(slog.DiscardHandler))
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	svc.SetClock(func() time.Time { return now })
	ctx := context.Background()
	data := func(key, gid string, at time.Time) Data {
		return Data{EncryptedData: fmt.Sprintf("%s %s %d", key, gid, at.Unix()), IV: "iv"}
	}
	chair := identity.Principal{Kind: identity.KindUser, ID: 1, Grants: []identity.Grant{{Role: identity.RoleCouncilChair, ScopeType: identity.ScopeCourtyard, ScopeID: 1}}}
	chair2 := identity.Principal{Kind: identity.KindUser, ID: 2, Grants: []identity.Grant{{Role: identity.RoleCouncilMember, ScopeType: identity.ScopeCourtyard, ScopeID: 2}}}
	resident := identity.Principal{Kind: identity.KindUser, ID: 3}
	staff := identity.Principal{Kind: identity.KindStaff, ID: 1, Grants: []identity.Grant{{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: 1}}}

	code := func(err error) string { return louyuan.ErrorCode(err) }
	if _, err := svc.Open(ctx, resident, 7, "k3", data("k3", "G1", now)); code(err) != "group_not_linked" {
		t.Fatalf("open before linking: %v", err)
	}
	if _, _, err := svc.Link(ctx, resident, 1, "k3", data("k3", "G1", now)); code(err) != "not_in_scope" {
		t.Errorf("resident links: %v", err)
	}
	if _, _, err := svc.Link(ctx, staff, 1, "", data("k", "G1", now)); code(err) != "users_only" {
		t.Errorf("staff account links: %v", err)
	}
	if _, _, err := svc.Link(ctx, chair, 3, "k1", data("k1", "G1", now)); code(err) != "courtyard_not_found" {
		t.Errorf("unknown courtyard: %v", err)
	}
	for name, tc := range map[string]struct {
		d    Data
		want string
	}{
		"empty":        {Data{}, "share_data_required"},
		"wrong key":    {data("k9", "G1", now), "share_data_invalid"},
		"other app":    {data("k1", "other-app", now), "share_data_invalid"},
		"an hour old":  {data("k1", "G1", now.Add(-MaxAge-time.Second)), "share_data_expired"},
		"in an hour":   {data("k1", "G1", now.Add(MaxAge+time.Second)), "share_data_expired"},
		"not base-ish": {Data{EncryptedData: "x", IV: "y"}, "share_data_invalid"},
	} {
		if _, _, err := svc.Link(ctx, chair, 1, "k1", tc.d); code(err) != tc.want {
			t.Errorf("%s: %v; want %s", name, err, tc.want)
		}
	}
	g, changed, err := svc.Link(ctx, chair, 1, "k1", data("k1", "G1", now.Add(-MaxAge)))
	if err != nil || !changed || g.OpenGID != "G1" || g.LinkedBy != "user:1" {
		t.Fatalf("link: %+v %v %v", g, changed, err)
	}
	if _, changed, err := svc.Link(ctx, chair, 1, "k1", data("k1", "G1", now)); err != nil || changed {
		t.Errorf("link again: changed %v, %v", changed, err)
	}
	if _, _, err := svc.Link(ctx, chair2, 2, "k2", data("k2", "G1", now)); code(err) != "wechat_group_taken" {
		t.Errorf("another courtyard takes the group: %v", err)
	}
	if len(al.recs) != 1 || al.recs[0].Action != "courtyard.wechat_group_linked" || al.recs[0].Stream != "courtyard:1" {
		t.Errorf("audit after linking: %+v", al.recs)
	}

	for i, want := range []bool{true, false} {
		if counted, err := svc.Open(ctx, resident, 7, "k3", data("k3", "G1", now)); err != nil || counted != want {
			t.Errorf("open %d: %v %v; want %v", i+1, counted, err, want)
		}
	}
	if _, err := svc.Open(ctx, resident, 7, "k3", data("k3", "G2", now)); code(err) != "group_not_courtyard" {
		t.Errorf("open from another group: %v", err)
	}
	if _, err := svc.Open(ctx, resident, 8, "k3", data("k3", "G1", now)); code(err) != "notice_not_found" {
		t.Errorf("open a draft: %v", err)
	}
	if _, err := svc.Open(ctx, resident, 9, "k3", data("k3", "G1", now)); code(err) != "notice_not_found" {
		t.Errorf("open a missing notice: %v", err)
	}

	if _, changed, err := svc.Link(ctx, chair, 1, "k1", data("k1", "G2", now)); err != nil || !changed {
		t.Fatalf("relink: %v %v", changed, err)
	}
	last := al.recs[len(al.recs)-1]
	if last.Action != "courtyard.wechat_group_relinked" || last.Detail["previous_group"] != "G1" || last.Detail["group"] != "G2" {
		t.Errorf("relink audit: %+v", last)
	}
	if _, linked, err := svc.GroupOf(ctx, resident, 1); code(err) != "not_in_scope" || linked {
		t.Errorf("resident reads the link: %v", err)
	}
	if g, linked, err := svc.GroupOf(ctx, staff, 1); err != nil || !linked || g.OpenGID != "G2" {
		t.Errorf("staff reads the link: %+v %v %v", g, linked, err)
	}
}
