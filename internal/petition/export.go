package petition

import (
	"context"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// HouseholdRow is one household of a petition's scope as the signature
// list shows it: where it is, its representative, and its signature (if
// signed). Phone is the masked phone unless the export asked for full
// phones with the permission to see them.
type HouseholdRow struct {
	HouseholdID    int64
	Building       string
	Unit           string
	Room           string
	Floor          int
	Area           louyuan.Area
	Representative string
	Phone          string
	PhoneSealed    []byte // the encrypted phone, for full-phone exports
	Signed         bool
	SignerName     string
	SignedAt       time.Time
	Channel        string
	PledgeFen      *int64
}

// List chooses the households of an export.
type List int

// The lists: those that signed, those that did not, or all of them in one
// pass (HouseholdRow.Signed tells them apart).
const (
	ListSigned List = iota
	ListNotSigned
	ListAll
)

// ExportStore streams a petition's households in building, unit, floor and
// room order.
type ExportStore interface {
	EachHousehold(ctx context.Context, p Petition, list List, fn func(HouseholdRow) error) error
}

// Rows iterates over a list of households.
type Rows func(func(HouseholdRow) error) error

// Lists are an export's household iterators.
type Lists struct {
	Signed, NotSigned, All Rows
}

// PhoneOpener decrypts stored phones.
type PhoneOpener interface {
	Open(sealed []byte) (string, error)
}

// Export streams the signature list (signed) and the list of households
// that have not signed to the writers, after checking that p may export
// (staff of the courtyard, or its council chair) and, for full phones,
// holds the phone-viewer permission. The export is audited with its row
// counts.
func (s *Service) Export(ctx context.Context, p identity.Principal, id int64, fullPhones bool, phones PhoneOpener, store ExportStore,
	write func(pt Petition, lists Lists) error) error {
	pt, err := s.store.Petition(ctx, id)
	if err != nil {
		return err
	}
	place, err := s.canManage(ctx, p, pt.CourtyardID, identity.RoleSubdistrictAdmin, identity.RoleCommunityStaff, identity.RoleCouncilChair)
	if err != nil {
		if err := s.canSee(ctx, p, pt); err != nil {
			return err
		}
		return louyuan.Forbidden("export_forbidden", "只有社区、街道工作人员或理事长可以导出签名名单")
	}
	if fullPhones && !p.Can(place, identity.RolePhoneViewer) {
		return louyuan.Forbidden("phone_permission_required", "导出完整手机号需要单独的查看手机号权限，请联系街道管理员")
	}
	counts := map[bool]int{}
	each := func(list List) Rows {
		return func(fn func(HouseholdRow) error) error {
			return store.EachHousehold(ctx, pt, list, func(r HouseholdRow) error {
				if fullPhones && len(r.PhoneSealed) > 0 {
					full, err := phones.Open(r.PhoneSealed)
					if err != nil {
						return louyuan.Internalf(err, "open phone of household %d", r.HouseholdID)
					}
					r.Phone = full
				}
				r.PhoneSealed = nil
				counts[r.Signed]++
				return fn(r)
			})
		}
	}
	werr := write(pt, Lists{Signed: each(ListSigned), NotSigned: each(ListNotSigned), All: each(ListAll)})
	// Recorded whether or not the export completed: rows may have left.
	aerr := s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(pt.CourtyardID), Actor: p.Ref(), Action: "export.signatures",
		Object: ref("petition", pt.ID), Detail: audit.Attach(ctx, map[string]any{"signed_rows": counts[true], "not_signed_rows": counts[false],
			"full_phones": fullPhones, "completed": werr == nil})})
	if werr != nil {
		return werr
	}
	return aerr
}
