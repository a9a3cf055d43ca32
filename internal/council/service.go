package council

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// Service runs councils and their elections.
type Service struct {
	store    Store
	motions  Motions
	audit    audit.Appender
	notify   Notifier
	staff    StaffDirectory
	criteria []Criterion
	log      *slog.Logger
	now      func() time.Time
}

// StaffDirectory says which staff accounts a caller may pick: those of the
// caller's staff list (identity.Service.VisibleStaff).
type StaffDirectory interface {
	VisibleStaff(ctx context.Context, p identity.Principal, staffID int64) error
}

// SetStaffDirectory wires the staff accounts a caller may assign to a
// council; call it before serving (without it no one is assigned).
func (s *Service) SetStaffDirectory(d StaffDirectory) { s.staff = d }

// NewService wires the council service with the configured eligibility
// criteria (DefaultCriteria when nil).
func NewService(store Store, motions Motions, al audit.Appender, criteria []Criterion, log *slog.Logger) (*Service, error) {
	if criteria == nil {
		criteria = DefaultCriteria()
	}
	if err := ValidCriteria(criteria); err != nil {
		return nil, err
	}
	return &Service{store: store, motions: motions, audit: al, notify: noNotifier{}, criteria: criteria, log: log, now: time.Now}, nil
}

// SetNotifier makes n tell people of elections; call it before serving.
func (s *Service) SetNotifier(n Notifier) { s.notify = n }

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func (s *Service) today() string { return s.now().In(louyuan.China).Format(time.DateOnly) }

func (s *Service) record(ctx context.Context, courtyardID int64, actor, action, object string, detail map[string]any) error {
	return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(courtyardID), Actor: actor, Action: action, Object: object, Detail: detail})
}

func ref(kind string, id int64) string { return fmt.Sprintf("%s:%d", kind, id) }

// staffOver checks that p is staff over every courtyard.
func (s *Service) staffOver(ctx context.Context, p identity.Principal, courtyardIDs ...int64) error {
	for _, y := range courtyardIDs {
		place, err := s.store.CourtyardPlace(ctx, y)
		if err != nil {
			return err
		}
		if !p.Can(place, identity.StaffRoles...) {
			return louyuan.Forbidden("not_in_scope", "只有负责该楼院的街道或社区工作人员可以办理")
		}
	}
	return nil
}

// isStaffOf reports whether p is staff over the courtyard.
func (s *Service) isStaffOf(ctx context.Context, p identity.Principal, courtyardID int64) (bool, error) {
	place, err := s.store.CourtyardPlace(ctx, courtyardID)
	if err != nil {
		return false, err
	}
	return p.Can(place, identity.StaffRoles...), nil
}

func checkDate(v, what string) error {
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return louyuan.Invalid("bad_date", what+"须是 YYYY-MM-DD 格式的日期")
	}
	return nil
}

func checkTerm(startsOn, endsOn string) error {
	if err := checkDate(startsOn, "任期开始日期"); err != nil {
		return err
	}
	if err := checkDate(endsOn, "任期结束日期"); err != nil {
		return err
	}
	if endsOn < startsOn {
		return louyuan.Invalid("bad_term", "任期结束日期不能早于开始日期")
	}
	return nil
}

// CreateCouncil makes a council for one courtyard or several jointly, with
// its first (empty) term.
func (s *Service) CreateCouncil(ctx context.Context, p identity.Principal, name string, courtyardIDs []int64, startsOn, endsOn string) (Council, error) {
	name = strings.TrimSpace(name)
	if err := louyuan.CheckText("名称", name, false); err != nil {
		return Council{}, err
	}
	if n := utf8.RuneCountInString(name); n < 2 || n > 64 {
		return Council{}, louyuan.Invalid("bad_name", "理事会名称须为2到64个字")
	}
	if len(courtyardIDs) == 0 || len(courtyardIDs) > 20 {
		return Council{}, louyuan.Invalid("bad_courtyards", "理事会须服务1到20个楼院")
	}
	seen := map[int64]bool{}
	for _, y := range courtyardIDs {
		if seen[y] {
			return Council{}, louyuan.Invalid("bad_courtyards", "楼院不能重复")
		}
		seen[y] = true
	}
	if err := checkTerm(startsOn, endsOn); err != nil {
		return Council{}, err
	}
	if err := s.staffOver(ctx, p, courtyardIDs...); err != nil {
		return Council{}, err
	}
	var out Council
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		id, err := s.store.CreateCouncil(ctx, name, courtyardIDs, startsOn, endsOn, s.now().UTC())
		if err != nil {
			return err
		}
		for _, y := range courtyardIDs {
			if err := s.record(ctx, y, p.Ref(), "council.create", ref("council", id), map[string]any{"name": name, "courtyards": courtyardIDs,
				"starts_on": startsOn, "ends_on": endsOn}); err != nil {
				return err
			}
		}
		out, err = s.store.Council(ctx, id, s.today())
		return err
	})
	return out, err
}

// Council returns a council: its composition is public to the signed-in.
func (s *Service) Council(ctx context.Context, p identity.Principal, id int64) (Council, error) {
	return s.store.Council(ctx, id, s.today())
}

// CourtyardCouncils lists the councils serving a courtyard.
func (s *Service) CourtyardCouncils(ctx context.Context, p identity.Principal, courtyardID int64) ([]Council, error) {
	if _, err := s.store.CourtyardPlace(ctx, courtyardID); err != nil {
		return nil, err
	}
	ids, err := s.store.CourtyardCouncils(ctx, courtyardID)
	if err != nil {
		return nil, err
	}
	out := []Council{}
	for _, id := range ids {
		c, err := s.store.Council(ctx, id, s.today())
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// AssignStaff assigns a staff account to a council in a "1+4+2" role.
func (s *Service) AssignStaff(ctx context.Context, p identity.Principal, councilID, staffID int64, role string) (Council, error) {
	quota, ok := StaffQuota[role]
	if !ok {
		return Council{}, louyuan.Invalid("bad_staff_role", "分工只能是 leader（街道班子成员）、grid_worker（网格员）或 cadre（社区干部）")
	}
	c, err := s.store.Council(ctx, councilID, s.today())
	if err != nil {
		return Council{}, err
	}
	if err := s.staffOver(ctx, p, c.CourtyardIDs...); err != nil {
		return Council{}, err
	}
	// Only an account of the caller's own staff list (what the console
	// offers), not any active account of the platform.
	if s.staff == nil {
		return Council{}, louyuan.Internalf(fmt.Errorf("no staff directory"), "assign council staff")
	}
	if err := s.staff.VisibleStaff(ctx, p, staffID); err != nil {
		return Council{}, err
	}
	if _, err := s.store.StaffName(ctx, staffID); err != nil {
		return Council{}, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		// Counted under the council's lock: two assignments at once
		// cannot both take the last place of a role.
		staff, err := s.store.LockCouncilStaff(ctx, councilID)
		if err != nil {
			return err
		}
		n := 0
		for _, m := range staff {
			if m.StaffID == staffID {
				return louyuan.Conflict("staff_already_assigned", "该工作人员已分配到本理事会")
			}
			if m.Role == role {
				n++
			}
		}
		if n >= quota {
			return louyuan.Errorf(louyuan.KindConflict, "staff_quota_full", "按“1+4+2+N”模式，该分工最多%d人，已满", quota)
		}
		if err := s.store.AddStaff(ctx, councilID, staffID, role, p.Ref(), s.now().UTC()); err != nil {
			return err
		}
		for _, y := range c.CourtyardIDs {
			if err := s.record(ctx, y, p.Ref(), "council.staff_assign", ref("council", councilID), map[string]any{"staff": staffID, "role": role}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Council{}, err
	}
	return s.store.Council(ctx, councilID, s.today())
}

// RemoveStaff ends a staff account's assignment to a council.
func (s *Service) RemoveStaff(ctx context.Context, p identity.Principal, councilID, staffID int64) (Council, error) {
	c, err := s.store.Council(ctx, councilID, s.today())
	if err != nil {
		return Council{}, err
	}
	if err := s.staffOver(ctx, p, c.CourtyardIDs...); err != nil {
		return Council{}, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.RemoveStaff(ctx, councilID, staffID); err != nil {
			return err
		}
		for _, y := range c.CourtyardIDs {
			if err := s.record(ctx, y, p.Ref(), "council.staff_remove", ref("council", councilID), map[string]any{"staff": staffID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Council{}, err
	}
	return s.store.Council(ctx, councilID, s.today())
}

// Criteria is the checklist of a community: the configured criteria with
// its switches.
func (s *Service) Criteria(ctx context.Context, p identity.Principal, communityID int64) ([]Criterion, error) {
	if _, err := s.store.CommunityPlace(ctx, communityID); err != nil {
		return nil, err
	}
	sw, err := s.store.Switches(ctx, communityID)
	if err != nil {
		return nil, err
	}
	return Checklist(s.criteria, sw), nil
}

// SwitchCriterion turns a criterion on or off for a community's elections.
func (s *Service) SwitchCriterion(ctx context.Context, p identity.Principal, communityID int64, code string, enabled bool) ([]Criterion, error) {
	place, err := s.store.CommunityPlace(ctx, communityID)
	if err != nil {
		return nil, err
	}
	if !p.Can(place, identity.StaffRoles...) {
		return nil, louyuan.Forbidden("not_in_scope", "只有该社区或街道的工作人员可以调整资格条件")
	}
	known := false
	for _, c := range s.criteria {
		known = known || c.Code == code
	}
	if !known {
		return nil, louyuan.NotFound("criterion_not_found", "没有这项资格条件")
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.PutSwitch(ctx, communityID, code, enabled, p.Ref(), s.now().UTC()); err != nil {
			return err
		}
		return s.audit.Append(ctx, audit.Record{Stream: audit.GlobalStream, Actor: p.Ref(), Action: "criterion.switch",
			Object: ref("community", communityID), Detail: map[string]any{"criterion": code, "enabled": enabled}})
	})
	if err != nil {
		return nil, err
	}
	return s.Criteria(ctx, p, communityID)
}
