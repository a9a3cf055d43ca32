package voting

import (
	"context"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// ResultRow is one household of a named motion's result list.
type ResultRow struct {
	HouseholdID    int64
	Building       string
	Unit           string
	Room           string
	Area           louyuan.Area
	Representative string
	Phone          string
	PhoneSealed    []byte
	Voted          bool
	Options        []string // option keys; labels come from the motion
	Channel        string
	CastAt         time.Time
}

// ExportStore streams a motion's electorate with the counted ballots.
type ExportStore interface {
	EachResult(ctx context.Context, motionID int64, fn func(ResultRow) error) error
}

// PhoneOpener decrypts stored phones.
type PhoneOpener interface {
	Open(sealed []byte) (string, error)
}

// ExportResults hands a closed (or voting) motion's tally to write, with
// the per-household rows only in named mode — in secret mode rows is nil
// and only totals can be exported. While voting goes on, a named motion's
// totals are counted from the same snapshot of the database as its rows.
// Staff of the courtyard and its council chair may export; full phones
// need the phone-viewer permission. Audited.
func (s *Service) ExportResults(ctx context.Context, p identity.Principal, id int64, fullPhones bool, phones PhoneOpener, store ExportStore,
	write func(m Motion, d Disclosure, rows func(func(ResultRow) error) error) error) error {
	m, err := s.store.Motion(ctx, id)
	if err != nil {
		return err
	}
	c, err := s.store.Courtyard(ctx, m.CourtyardID)
	if err != nil {
		return err
	}
	if !p.Can(c.Place, identity.RoleSubdistrictAdmin, identity.RoleCommunityStaff, identity.RoleCouncilChair) {
		if err := s.canSee(ctx, p, m); err != nil {
			return err
		}
		return louyuan.Forbidden("export_forbidden", "只有社区、街道工作人员或理事长可以导出表决结果")
	}
	if fullPhones && !p.Can(c.Place, identity.RolePhoneViewer) {
		return louyuan.Forbidden("phone_permission_required", "导出完整手机号需要单独的查看手机号权限，请联系街道管理员")
	}
	if m.Status == StatusDraft || m.Status == StatusNotice || m.Status == StatusCancelled {
		return louyuan.Conflict("no_results", "这项表决还没有开始投票，没有结果可导出")
	}
	n := 0
	rowsOn := func(ctx context.Context) func(func(ResultRow) error) error {
		if m.Mode != ModeNamed {
			return nil
		}
		return func(fn func(ResultRow) error) error {
			return store.EachResult(ctx, id, func(r ResultRow) error {
				if fullPhones && len(r.PhoneSealed) > 0 {
					full, err := phones.Open(r.PhoneSealed)
					if err != nil {
						return louyuan.Internalf(err, "open phone of household %d", r.HouseholdID)
					}
					r.Phone = full
				}
				r.PhoneSealed = nil
				n++
				return fn(r)
			})
		}
	}
	var werr error
	if m.Status == StatusVoting && m.Mode == ModeNamed {
		// Voting goes on: the totals and the rows come from one snapshot of
		// the database, so that the file's summary is the sum of its own
		// rows (the live tally may be ballots ahead of them or behind).
		werr = s.store.InSnapshot(ctx, func(ctx context.Context) error {
			t, err := s.countFromDB(ctx, m)
			if err != nil {
				return err
			}
			return write(m, Disclose(m, t), rowsOn(ctx))
		})
	} else {
		_, d, err := s.Tally(ctx, p, id)
		if err != nil {
			return err
		}
		werr = write(m, d, rowsOn(ctx))
	}
	aerr := s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(m.CourtyardID), Actor: p.Ref(), Action: "export.results",
		Object: motionRef(m.ID), Detail: audit.Attach(ctx, map[string]any{"rows": n, "mode": m.Mode, "full_phones": fullPhones, "completed": werr == nil})})
	if werr != nil {
		return werr
	}
	return aerr
}
