package sqlstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

func TestPlacesEnsureAndCouncil(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		s := NewPlaces(db)
		empty, err := s.Empty(ctx)
		must(t, err)
		if !empty {
			t.Fatalf("a fresh database is not Empty")
		}
		sub, comm, yard, err := s.EnsureCourtyard(ctx, "新华路街道", "桐本北路社区", "铝厂小区", "新华路 1 号")
		must(t, err)
		if sub == 0 || comm == 0 || yard == 0 {
			t.Fatalf("EnsureCourtyard = %d, %d, %d", sub, comm, yard)
		}
		// Ensuring it again finds the same rows; a sibling courtyard reuses
		// the subdistrict and community.
		sub2, comm2, yard2, err := s.EnsureCourtyard(ctx, "新华路街道", "桐本北路社区", "铝厂小区", "新华路 1 号")
		must(t, err)
		if sub2 != sub || comm2 != comm || yard2 != yard {
			t.Fatalf("second EnsureCourtyard = %d, %d, %d, want %d, %d, %d", sub2, comm2, yard2, sub, comm, yard)
		}
		sub3, comm3, yard3, err := s.EnsureCourtyard(ctx, "新华路街道", "桐本北路社区", "二号院", "")
		must(t, err)
		if sub3 != sub || comm3 != comm || yard3 == yard {
			t.Fatalf("sibling EnsureCourtyard = %d, %d, %d", sub3, comm3, yard3)
		}
		if n := count(t, db, "courtyards", ""); n != 2 {
			t.Fatalf("%d courtyards, want 2", n)
		}
		empty, err = s.Empty(ctx)
		must(t, err)
		if empty {
			t.Fatalf("Empty after creating places")
		}
		c, err := NewRoster(db).Courtyard(ctx, yard)
		must(t, err)
		if c.Name != "铝厂小区" || c.Address != "新华路 1 号" || c.Community != "桐本北路社区" || c.Subdistrict != "新华路街道" {
			t.Fatalf("Courtyard = %+v", c)
		}

		councilID, termID, err := s.CreateCouncil(ctx, "铝厂小区楼院理事会", []int64{yard, yard3}, "2025-06-02", "2028-06-01")
		must(t, err)
		if councilID == 0 || termID == 0 {
			t.Fatalf("CreateCouncil = %d, %d", councilID, termID)
		}
		chair := newUser(t, db, "o-chair", "")
		member := newUser(t, db, "o-member", "")
		must(t, s.AddCouncilMember(ctx, termID, chair, "chair"))
		must(t, s.AddCouncilMember(ctx, termID, member, "treasurer"))
		if err := s.AddCouncilMember(ctx, termID, member, "chair"); err == nil {
			t.Fatalf("a second chair (and a second seat for one user) was accepted")
		}

		now := time.Date(2025, 6, 1, 17, 0, 0, 0, time.UTC) // 2 June in China: the term has begun
		gs, err := NewIdentity(db).Grants(ctx, identity.KindUser, chair, now)
		must(t, err)
		got := grantStrings(gs)
		want := grantStrings([]identity.Grant{
			{Role: identity.RoleCouncilChair, ScopeType: identity.ScopeCourtyard, ScopeID: yard},
			{Role: identity.RoleCouncilChair, ScopeType: identity.ScopeCourtyard, ScopeID: yard3},
		})
		if !slices.Equal(got, want) {
			t.Fatalf("chair grants = %v, want %v", got, want)
		}
		gs, err = NewIdentity(db).Grants(ctx, identity.KindUser, member, now)
		must(t, err)
		got = grantStrings(gs)
		want = grantStrings([]identity.Grant{
			{Role: identity.RoleCouncilMember, ScopeType: identity.ScopeCourtyard, ScopeID: yard},
			{Role: identity.RoleCouncilTreasurer, ScopeType: identity.ScopeCourtyard, ScopeID: yard},
			{Role: identity.RoleCouncilMember, ScopeType: identity.ScopeCourtyard, ScopeID: yard3},
			{Role: identity.RoleCouncilTreasurer, ScopeType: identity.ScopeCourtyard, ScopeID: yard3},
		})
		if !slices.Equal(got, want) {
			t.Fatalf("treasurer grants = %v, want member and treasurer over two courtyards: %v", got, want)
		}
		gs, err = NewIdentity(db).Grants(ctx, identity.KindUser, chair, now.Add(-24*time.Hour))
		must(t, err)
		if len(gs) != 0 {
			t.Fatalf("grants the day before the term began: %+v", gs)
		}
	})
}

func TestFiles(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := seedPlaces(t, db)
		s := NewFiles(db)
		m := files.Meta{Key: "2025/06/abc.jpg", Purpose: files.PurposeSignature, ContentType: "image/jpeg", Size: 12345,
			SHA256:     strings.Repeat("ab", 32),
			UploadedBy: "user:1", CourtyardID: p.Court3, CreatedAt: t0}
		must(t, s.CreateFile(ctx, m))
		noYard := m
		noYard.Key, noYard.CourtyardID = "2025/06/def.png", 0
		must(t, s.CreateFile(ctx, noYard))
		if err := s.CreateFile(ctx, m); err == nil {
			t.Fatalf("a second file with the same key was recorded")
		}
		got, err := s.File(ctx, m.Key)
		must(t, err)
		if !got.CreatedAt.Equal(m.CreatedAt) {
			t.Fatalf("CreatedAt %v, want %v", got.CreatedAt, m.CreatedAt)
		}
		got.CreatedAt = m.CreatedAt
		if got != m {
			t.Fatalf("File = %+v, want %+v", got, m)
		}
		got, err = s.File(ctx, noYard.Key)
		must(t, err)
		if got.CourtyardID != 0 {
			t.Fatalf("file without a courtyard read back with courtyard %d", got.CourtyardID)
		}
		if n := count(t, db, "stored_files", "file_key = ? AND courtyard_id IS NULL", noYard.Key); n != 1 {
			t.Fatalf("courtyard_id stored as a value, not NULL")
		}
		_, err = s.File(ctx, "missing")
		wantErr(t, err, louyuan.KindNotFound, "file_not_found")
		pl, err := s.CourtyardPlace(ctx, p.Court3)
		must(t, err)
		if pl != (identity.Place{SubdistrictID: p.Subdistrict, CommunityID: p.Comm2, CourtyardID: p.Court3}) {
			t.Fatalf("CourtyardPlace = %+v", pl)
		}
	})
}
