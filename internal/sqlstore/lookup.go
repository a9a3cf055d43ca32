package sqlstore

import (
	"context"
	"time"

	"github.com/louyuan/louyuan/internal/roster"
)

type addressView struct {
	HouseholdID int64
	Community   string
	Courtyard   string
	Building    string
	Unit        string
	Room        string
}

func (v addressView) toAddress() roster.Address {
	return roster.Address{HouseholdID: v.HouseholdID, Community: v.Community, Courtyard: v.Courtyard, Building: v.Building, Unit: v.Unit, Room: v.Room}
}

const addressJoins = "JOIN units u ON u.id = h.unit_id JOIN buildings b ON b.id = h.building_id " +
	"JOIN courtyards c ON c.id = h.courtyard_id JOIN communities m ON m.id = c.community_id"

const addressColumns = "h.id AS household_id, m.name AS community, c.name AS courtyard, b.name AS building, u.name AS unit, h.room"

// FindByAddress finds households by the names on their door, in a stable
// order (community, then household id).
func (s *Roster) FindByAddress(ctx context.Context, courtyard string, buildings, units, rooms []string, limit int) ([]roster.Address, error) {
	var vs []addressView
	err := s.db.conn(ctx).Table("households h").Select(addressColumns).Joins(addressJoins).
		Where("c.name = ? AND b.name IN ? AND u.name IN ? AND h.room IN ?", courtyard, buildings, units, rooms).
		Order("m.id, h.id").Limit(limit).Scan(&vs).Error
	if err != nil {
		return nil, wrap(err, "find household by address")
	}
	out := make([]roster.Address, len(vs))
	for i, v := range vs {
		out[i] = v.toAddress()
	}
	return out, nil
}

// BindRequestsOf lists a user's bind requests with their households'
// addresses, newest first.
func (s *Roster) BindRequestsOf(ctx context.Context, userID int64) ([]roster.BindRequestStatus, error) {
	type row struct {
		ID          int64
		HouseholdID int64
		UserID      int64
		Role        string
		RealName    string
		Note        string
		Status      string
		Reason      string
		CreatedAt   time.Time
		Community   string
		Courtyard   string
		Building    string
		Unit        string
		Room        string
	}
	var rs []row
	err := s.db.conn(ctx).Table("bind_requests r").
		Select("r.id, r.household_id, r.user_id, r.role, r.real_name, r.note, r.status, r.reason, r.created_at, "+
			"m.name AS community, c.name AS courtyard, b.name AS building, u.name AS unit, h.room").
		Joins("JOIN households h ON h.id = r.household_id "+addressJoins).
		Where("r.user_id = ?", userID).Order("r.id DESC").Limit(50).Scan(&rs).Error
	if err != nil {
		return nil, wrap(err, "read bind requests")
	}
	out := make([]roster.BindRequestStatus, len(rs))
	for i, r := range rs {
		out[i] = roster.BindRequestStatus{
			Request: requestView{ID: r.ID, HouseholdID: r.HouseholdID, UserID: r.UserID, Role: r.Role, RealName: r.RealName, Note: r.Note,
				Status: r.Status, Reason: r.Reason, CreatedAt: r.CreatedAt}.toRequest("bind"),
			Address: roster.Address{HouseholdID: r.HouseholdID, Community: r.Community, Courtyard: r.Courtyard, Building: r.Building, Unit: r.Unit, Room: r.Room},
		}
	}
	return out, nil
}
