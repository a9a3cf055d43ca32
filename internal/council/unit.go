package council

import (
	"context"
	"strconv"
	"strings"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// UnitHousehold is one household of an election unit, with its roster
// owners and the people bound to it (who may stand or nominate).
type UnitHousehold struct {
	ID       int64        `json:"id"`
	Building string       `json:"building"`
	Unit     string       `json:"unit"`
	Room     string       `json:"room"`
	Owners   []string     `json:"owners"`
	Members  []UnitMember `json:"members"`
}

// UnitMember is a user bound to a household of the unit.
type UnitMember struct {
	UserID         int64  `json:"user_id"`
	Name           string `json:"name"`
	Role           string `json:"role"`
	Representative bool   `json:"representative"`
}

// Unit lists the households an election's unit holds, for staff over its
// courtyard.
func (s *Service) Unit(ctx context.Context, p identity.Principal, electionID int64) ([]UnitHousehold, error) {
	e, err := s.store.Election(ctx, electionID)
	if err != nil {
		return nil, err
	}
	if err := s.staffOver(ctx, p, e.CourtyardID); err != nil {
		return nil, err
	}
	return s.store.UnitHouseholds(ctx, e.ScopeType, e.ScopeID)
}

// staffNames fills in the names of the staff refs ("staff:12") of a
// checklist, so that the console shows who found and who may decide.
func (s *Service) staffNames(ctx context.Context, cl *CandidateChecklist) error {
	names := map[string]string{}
	name := func(ref string) (string, error) {
		id, ok := strings.CutPrefix(ref, "staff:")
		if !ok {
			return "", nil
		}
		if n, ok := names[ref]; ok {
			return n, nil
		}
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return "", nil
		}
		v, err := s.store.StaffName(ctx, n)
		if louyuan.IsKind(err, louyuan.KindNotFound) {
			v = "" // a disabled account: no name to show
		} else if err != nil {
			return "", err
		}
		names[ref] = v
		return v, nil
	}
	var err error
	for i := range cl.Items {
		if f := cl.Items[i].Finding; f != nil {
			if f.FoundByName, err = name(f.FoundBy); err != nil {
				return err
			}
			if f.UpdatedByName, err = name(f.UpdatedBy); err != nil {
				return err
			}
		}
	}
	if cl.Appeal != nil && cl.Appeal.DecidedBy != "" {
		cl.Appeal.DecidedByName, err = name(cl.Appeal.DecidedBy)
	}
	return err
}
