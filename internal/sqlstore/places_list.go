package sqlstore

import (
	"context"

	"github.com/louyuan/louyuan/internal/roster"
)

// Courtyards lists every courtyard with its community and subdistrict, in
// the order of the places tree.
func (s *Roster) Courtyards(ctx context.Context) ([]roster.Courtyard, error) {
	var cs []roster.Courtyard
	err := s.db.conn(ctx).Table("courtyards c").
		Select("c.id, c.name, c.address, c.community_id, m.name AS community, m.subdistrict_id, d.name AS subdistrict").
		Joins("JOIN communities m ON m.id = c.community_id").
		Joins("JOIN subdistricts d ON d.id = m.subdistrict_id").
		Order("d.id, m.id, c.name, c.id").Find(&cs).Error
	return cs, wrap(err, "list courtyards")
}
