package sqlstore

import (
	"context"
	"database/sql"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/petition"
	"github.com/louyuan/louyuan/internal/voting"
)

// householdOrder sorts households the way a clerk reads a roster:
// building, unit, floor, room (rooms of one floor have numbers of one
// length). It follows the index ix_households_order, so that an export
// streams its first rows without sorting the whole list first.
const householdOrder = " ORDER BY h.courtyard_id, h.building_id, h.unit_id, h.floor, h.room"

// EachHousehold streams the households of a petition's scope, the signed
// ones or the others, with their representative and signature, row by row
// from the database.
func (s *Petitions) EachHousehold(ctx context.Context, p petition.Petition, list petition.List, fn func(petition.HouseholdRow) error) error {
	col := scopeColumn(p.ScopeType)
	if col == "" {
		return louyuan.Invalid("bad_scope", "范围只能是楼院、楼栋或单元")
	}
	cond := ""
	switch list {
	case petition.ListSigned:
		cond = " AND s.household_id IS NOT NULL"
	case petition.ListNotSigned:
		cond = " AND s.household_id IS NULL"
	}
	q := `SELECT ` + s.db.straightJoin() + ` h.id, b.name, u.name, h.room, h.floor, h.area, COALESCE(ur.real_name, ''), COALESCE(ur.phone_masked, ''), ur.phone_enc,
		COALESCE(s.real_name, ''), s.signed_at, COALESCE(s.channel, ''), s.pledge_fen
		FROM households h
		JOIN buildings b ON b.id = h.building_id
		JOIN units u ON u.id = h.unit_id
		LEFT JOIN memberships m ON m.household_id = h.id AND m.representative = 1
		LEFT JOIN users ur ON ur.id = m.user_id
		LEFT JOIN signatures s ON s.petition_id = ? AND s.household_id = h.id
		WHERE ` + col + ` = ?` + cond + householdOrder
	rows, err := s.db.conn(ctx).Raw(q, p.ID, p.ScopeID).Rows()
	if err != nil {
		return wrap(err, "read signature list")
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r        petition.HouseholdRow
			area     decimal2
			signedAt sql.NullTime
			pledge   sql.NullInt64
		)
		if err := rows.Scan(&r.HouseholdID, &r.Building, &r.Unit, &r.Room, &r.Floor, &area, &r.Representative, &r.Phone, &r.PhoneSealed,
			&r.SignerName, &signedAt, &r.Channel, &pledge); err != nil {
			return wrap(err, "read signature list row")
		}
		r.Area, r.Signed = louyuan.Area(area), signedAt.Valid
		if signedAt.Valid {
			r.SignedAt = signedAt.Time.UTC()
		}
		if pledge.Valid {
			v := pledge.Int64
			r.PledgeFen = &v
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return wrap(rows.Err(), "read signature list")
}

// EachResult streams a motion's electorate with each household's counted
// ballot and representative.
func (s *Voting) EachResult(ctx context.Context, motionID int64, fn func(voting.ResultRow) error) error {
	q := `SELECT h.id, b.name, u.name, h.room, e.area, COALESCE(ur.real_name, ''), COALESCE(ur.phone_masked, ''), ur.phone_enc,
		c.choice, COALESCE(c.channel, ''), c.updated_at
		FROM motion_electorate e
		JOIN households h ON h.id = e.household_id
		JOIN buildings b ON b.id = h.building_id
		JOIN units u ON u.id = h.unit_id
		LEFT JOIN memberships m ON m.household_id = h.id AND m.representative = 1
		LEFT JOIN users ur ON ur.id = m.user_id
		LEFT JOIN counted_ballots c ON c.motion_id = e.motion_id AND c.household_id = e.household_id
		WHERE e.motion_id = ?` + householdOrder
	rows, err := s.db.conn(ctx).Raw(q, motionID).Rows()
	if err != nil {
		return wrap(err, "read results")
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r      voting.ResultRow
			area   decimal2
			choice sql.NullString
			at     sql.NullTime
		)
		if err := rows.Scan(&r.HouseholdID, &r.Building, &r.Unit, &r.Room, &area, &r.Representative, &r.Phone, &r.PhoneSealed, &choice, &r.Channel, &at); err != nil {
			return wrap(err, "read result row")
		}
		r.Area = louyuan.Area(area)
		if choice.Valid {
			r.Options = decodeChoice(choice.String)
		}
		r.Voted = len(r.Options) > 0
		if r.Voted && at.Valid {
			r.CastAt = at.Time.UTC()
		}
		if !r.Voted {
			r.Channel = ""
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return wrap(rows.Err(), "read results")
}
