package sqlstore

import (
	"context"
	"math"

	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// Activity counts the notices, motions, petitions and opinions of the
// courtyards (a council's dashboard).
func (s *Councils) Activity(ctx context.Context, courtyardIDs []int64) (council.Activity, error) {
	var a council.Activity
	if len(courtyardIDs) == 0 {
		return a, nil
	}
	conn := s.db.conn(ctx)
	var n struct{ Sent, Recipients, Delivered, Read int }
	err := conn.Raw(`SELECT COUNT(DISTINCT n.id) AS sent, COUNT(d.id) AS recipients,
	  COALESCE(SUM(CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END), 0) AS delivered,
	  COALESCE(SUM(CASE WHEN d.read_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS `+"`read`"+`
	  FROM notices n LEFT JOIN notice_deliveries d ON d.notice_id = n.id
	  WHERE n.courtyard_id IN ? AND n.status = 'sent'`, courtyardIDs).Scan(&n).Error
	if err != nil {
		return a, wrap(err, "count notices")
	}
	a.Notices = council.NoticeActivity{Sent: n.Sent, Recipients: n.Recipients, Delivered: n.Delivered, Read: n.Read}

	var motions []struct {
		Status string
		Passed *int
		N      int
	}
	if err := conn.Raw(`SELECT status, passed, COUNT(*) AS n FROM motions WHERE courtyard_id IN ? GROUP BY status, passed`, courtyardIDs).
		Scan(&motions).Error; err != nil {
		return a, wrap(err, "count motions")
	}
	for _, m := range motions {
		a.Motions.Total += m.N
		switch {
		case m.Status == "cancelled":
			a.Motions.Cancelled += m.N
		case m.Status != "final":
			a.Motions.Underway += m.N
		case m.Passed != nil && *m.Passed == 1:
			a.Motions.Passed += m.N
		default:
			a.Motions.Failed += m.N
		}
	}

	var petitions []struct {
		Status string
		N      int
	}
	if err := conn.Raw(`SELECT status, COUNT(*) AS n FROM petitions WHERE courtyard_id IN ? GROUP BY status`, courtyardIDs).
		Scan(&petitions).Error; err != nil {
		return a, wrap(err, "count petitions")
	}
	for _, p := range petitions {
		a.Petitions.Total += p.N
		switch p.Status {
		case "closed":
			a.Petitions.Closed += p.N
		case "cancelled":
			a.Petitions.Cancelled += p.N
		default:
			a.Petitions.Open += p.N
		}
	}

	var ops []struct {
		Status string
		N      int
		Rated  int
		Stars  int
	}
	if err := conn.Raw(`SELECT status, COUNT(*) AS n, COUNT(rating) AS rated, COALESCE(SUM(rating), 0) AS stars
	  FROM opinions WHERE courtyard_id IN ? GROUP BY status`, courtyardIDs).Scan(&ops).Error; err != nil {
		return a, wrap(err, "count opinions")
	}
	stars := 0
	for _, o := range ops {
		a.Opinions.Received += o.N
		a.Opinions.Rated += o.Rated
		stars += o.Stars
		switch o.Status {
		case "in_progress":
			a.Opinions.InProgress += o.N
		case "resolved":
			a.Opinions.Resolved += o.N
		}
	}
	if a.Opinions.Rated > 0 {
		avg := math.Round(float64(stars)/float64(a.Opinions.Rated)*100) / 100
		a.Opinions.AverageRating = &avg
	}
	return a, nil
}

// UnitHouseholds lists the households in scope with their roster owners
// and bound members.
func (s *Councils) UnitHouseholds(ctx context.Context, scopeType string, scopeID int64) ([]council.UnitHousehold, error) {
	col := scopeColumn(scopeType)
	if col == "" {
		return nil, louyuan.Invalid("bad_scope", "选举单元只能是楼院、楼栋或单元")
	}
	conn := s.db.conn(ctx)
	var hs []struct {
		ID                   int64
		Building, Unit, Room string
	}
	if err := conn.Table("households h").Select("h.id, b.name AS building, u.name AS unit, h.room").
		Joins("JOIN buildings b ON b.id = h.building_id").Joins("JOIN units u ON u.id = h.unit_id").
		Where(col+" = ?", scopeID).Order("b.name, u.name, h.floor, h.room").Scan(&hs).Error; err != nil {
		return nil, wrap(err, "list unit households")
	}
	out := make([]council.UnitHousehold, len(hs))
	at := map[int64]int{}
	ids := make([]int64, len(hs))
	for i, h := range hs {
		out[i] = council.UnitHousehold{ID: h.ID, Building: h.Building, Unit: h.Unit, Room: h.Room, Owners: []string{}, Members: []council.UnitMember{}}
		at[h.ID], ids[i] = i, h.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var owners []struct {
		HouseholdID int64
		Name        string
	}
	if err := conn.Table("household_owners ho").Select("ho.household_id, o.name").Joins("JOIN owners o ON o.id = ho.owner_id").
		Where("ho.household_id IN ?", ids).Order("ho.household_id, o.id").Scan(&owners).Error; err != nil {
		return nil, wrap(err, "list unit owners")
	}
	for _, o := range owners {
		out[at[o.HouseholdID]].Owners = append(out[at[o.HouseholdID]].Owners, o.Name)
	}
	var members []struct {
		HouseholdID    int64
		UserID         int64
		Name           string
		Role           string
		Representative *int
	}
	if err := conn.Table("memberships m").Select("m.household_id, m.user_id, u.real_name AS name, m.role, m.representative").
		Joins("JOIN users u ON u.id = m.user_id").Where("m.household_id IN ?", ids).Order("m.household_id, m.id").Scan(&members).Error; err != nil {
		return nil, wrap(err, "list unit members")
	}
	for _, m := range members {
		i := at[m.HouseholdID]
		out[i].Members = append(out[i].Members, council.UnitMember{UserID: m.UserID, Name: m.Name, Role: m.Role, Representative: m.Representative != nil && *m.Representative == 1})
	}
	return out, nil
}
