package sqlstore

import (
	"context"
	"math"

	"github.com/louyuan/louyuan/internal/council"
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
