package roster

import (
	"context"

	"github.com/louyuan/louyuan/internal/identity"
)

// CourtyardsFor lists the courtyards p may work in as staff or council
// (the places tree of the staff console), ordered by subdistrict,
// community and name. A caller with no such grant gets none.
func (s *Service) CourtyardsFor(ctx context.Context, p identity.Principal) ([]Courtyard, error) {
	all, err := s.store.Courtyards(ctx)
	if err != nil {
		return nil, err
	}
	out := []Courtyard{}
	for _, c := range all {
		if p.Can(c.Place(), identity.CouncilOrStaff...) {
			out = append(out, c)
		}
	}
	return out, nil
}
