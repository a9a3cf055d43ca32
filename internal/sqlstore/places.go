package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// Places creates the hierarchy and councils; the operator's commands and the
// demo use it.
type Places struct{ db *DB }

// NewPlaces returns the places store of db.
func NewPlaces(db *DB) *Places { return &Places{db: db} }

// Empty reports whether no subdistrict exists yet.
func (s *Places) Empty(ctx context.Context) (bool, error) {
	var n int64
	err := s.db.conn(ctx).Table("subdistricts").Count(&n).Error
	return n == 0, wrap(err, "count subdistricts")
}

func (s *Places) ensure(ctx context.Context, table string, row map[string]any, where string, args ...any) (int64, error) {
	conn := s.db.conn(ctx)
	var ids []int64
	if err := conn.Table(table).Where(where, args...).Pluck("id", &ids).Error; err != nil {
		return 0, wrap(err, "read "+table)
	}
	if len(ids) > 0 {
		return ids[0], nil
	}
	if err := conn.Table(table).Create(row).Error; err != nil && !isDuplicate(err) {
		return 0, wrap(err, "create "+table)
	}
	if err := conn.Table(table).Where(where, args...).Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
		return 0, wrap(fmt.Errorf("row not found after insert: %v", err), "read "+table)
	}
	return ids[0], nil
}

// EnsureCourtyard creates whatever of subdistrict → community → courtyard
// does not exist yet and returns the three IDs.
func (s *Places) EnsureCourtyard(ctx context.Context, subdistrict, community, courtyard, address string) (subID, commID, yardID int64, err error) {
	err = s.db.InTx(ctx, func(ctx context.Context) error {
		now := time.Now().UTC()
		var err error
		if subID, err = s.ensure(ctx, "subdistricts", map[string]any{"name": subdistrict, "created_at": now}, "name = ?", subdistrict); err != nil {
			return err
		}
		if commID, err = s.ensure(ctx, "communities", map[string]any{"subdistrict_id": subID, "name": community, "created_at": now},
			"subdistrict_id = ? AND name = ?", subID, community); err != nil {
			return err
		}
		yardID, err = s.ensure(ctx, "courtyards", map[string]any{"community_id": commID, "name": courtyard, "address": address, "created_at": now},
			"community_id = ? AND name = ?", commID, courtyard)
		return err
	})
	return subID, commID, yardID, err
}

// CreateCouncil makes a council serving courtyardIDs with one term.
func (s *Places) CreateCouncil(ctx context.Context, name string, courtyardIDs []int64, startsOn, endsOn string) (councilID, termID int64, err error) {
	err = s.db.InTx(ctx, func(ctx context.Context) error {
		conn := s.db.conn(ctx)
		now := time.Now().UTC()
		c := struct {
			ID        int64 `gorm:"primaryKey"`
			Name      string
			CreatedAt time.Time
		}{Name: name, CreatedAt: now}
		if err := conn.Table("councils").Create(&c).Error; err != nil {
			return wrap(err, "create council")
		}
		for _, y := range courtyardIDs {
			if err := conn.Table("council_courtyards").Create(map[string]any{"council_id": c.ID, "courtyard_id": y}).Error; err != nil {
				return wrap(err, "link council courtyard")
			}
		}
		t := struct {
			ID        int64 `gorm:"primaryKey"`
			CouncilID int64
			StartsOn  string
			EndsOn    string
			CreatedAt time.Time
		}{CouncilID: c.ID, StartsOn: startsOn, EndsOn: endsOn, CreatedAt: now}
		if err := conn.Table("council_terms").Create(&t).Error; err != nil {
			return wrap(err, "create council term")
		}
		councilID, termID = c.ID, t.ID
		return nil
	})
	return councilID, termID, err
}

// CouncilTerm returns the council term of a courtyard that runs from
// startsOn to endsOn, making a council for the courtyard with that term
// when there is none.
func (s *Places) CouncilTerm(ctx context.Context, courtyardID int64, startsOn, endsOn string) (int64, error) {
	var ids []int64
	err := s.db.conn(ctx).Table("council_terms t").Joins("JOIN council_courtyards cc ON cc.council_id = t.council_id").
		Where("cc.courtyard_id = ? AND t.starts_on = ? AND t.ends_on = ?", courtyardID, startsOn, endsOn).Order("t.id").Pluck("t.id", &ids).Error
	if err != nil {
		return 0, wrap(err, "find council term")
	}
	if len(ids) > 0 {
		return ids[0], nil
	}
	var names []string
	if err := s.db.conn(ctx).Table("courtyards").Where("id = ?", courtyardID).Pluck("name", &names).Error; err != nil {
		return 0, wrap(err, "read courtyard")
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("courtyard %d does not exist", courtyardID)
	}
	_, termID, err := s.CreateCouncil(ctx, names[0]+"理事会", []int64{courtyardID}, startsOn, endsOn)
	return termID, err
}

// AddCouncilMember adds a WeChat user to a term as "chair", "member" or
// "treasurer".
func (s *Places) AddCouncilMember(ctx context.Context, termID, userID int64, role string) error {
	row := map[string]any{"term_id": termID, "user_id": userID, "role": role, "created_at": time.Now().UTC()}
	if role == "chair" {
		row["chair"] = 1
	}
	return wrap(s.db.conn(ctx).Table("council_members").Create(row).Error, "add council member")
}
