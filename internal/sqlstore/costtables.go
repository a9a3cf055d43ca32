package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/petition"
)

type costTableRow struct {
	ID           int64 `gorm:"primaryKey"`
	PetitionID   int64
	UnitID       int64
	Version      int
	TotalFen     int64
	Coefficients string
	PublishedBy  string
	PublishedAt  time.Time
}

func (costTableRow) TableName() string { return "cost_tables" }

type costTableHouseholdRow struct {
	TableID        int64 `gorm:"primaryKey"`
	HouseholdID    int64 `gorm:"primaryKey"`
	Building       string
	Unit           string
	Room           string
	Floor          int
	AreaHundredths int64
	Coefficient    int64
	ShareFen       int64
}

func (costTableHouseholdRow) TableName() string { return "cost_table_rows" }

var _ petition.CostTableStore = (*Petitions)(nil)

// CostTables lists a unit's frozen versions, oldest first, with their rows.
func (s *Petitions) CostTables(ctx context.Context, petitionID, unitID int64) ([]petition.CostTable, error) {
	var ts []costTableRow
	if err := s.db.conn(ctx).Where("petition_id = ? AND unit_id = ?", petitionID, unitID).Order("version").Find(&ts).Error; err != nil {
		return nil, wrap(err, "read cost tables")
	}
	out := make([]petition.CostTable, 0, len(ts))
	for _, t := range ts {
		var coef map[string]int64
		if err := json.Unmarshal([]byte(t.Coefficients), &coef); err != nil {
			return nil, fmt.Errorf("decode cost table %d: %w", t.ID, err)
		}
		ct := petition.CostTable{ID: t.ID, PetitionID: t.PetitionID, UnitID: t.UnitID, Version: t.Version, TotalFen: t.TotalFen,
			Coefficients: map[int]int64{}, PublishedBy: t.PublishedBy, PublishedAt: t.PublishedAt.UTC(), Rows: []petition.CostTableRow{}}
		for f, c := range coef {
			n, _ := strconv.Atoi(f)
			ct.Coefficients[n] = c
		}
		var rows []costTableHouseholdRow
		if err := s.db.conn(ctx).Where("table_id = ?", t.ID).Order("floor, room, household_id").Find(&rows).Error; err != nil {
			return nil, wrap(err, "read cost table rows")
		}
		for _, r := range rows {
			ct.Rows = append(ct.Rows, petition.CostTableRow{HouseholdID: r.HouseholdID, Building: r.Building, Unit: r.Unit, Room: r.Room,
				Floor: r.Floor, Area: louyuan.Area(r.AreaHundredths), AreaText: louyuan.Area(r.AreaHundredths).String(), Coefficient: r.Coefficient, ShareFen: r.ShareFen})
		}
		out = append(out, ct)
	}
	return out, nil
}

// InsertCostTable stores a frozen version and its rows.
func (s *Petitions) InsertCostTable(ctx context.Context, t petition.CostTable) (int64, error) {
	coef := map[string]int64{}
	for f, c := range t.Coefficients {
		coef[strconv.Itoa(f)] = c
	}
	b, err := json.Marshal(coef)
	if err != nil {
		return 0, err
	}
	row := costTableRow{PetitionID: t.PetitionID, UnitID: t.UnitID, Version: t.Version, TotalFen: t.TotalFen, Coefficients: string(b),
		PublishedBy: t.PublishedBy, PublishedAt: t.PublishedAt.UTC()}
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		if isDuplicate(err) {
			return 0, louyuan.Conflict("cost_table_conflict", "分摊表刚刚被其他人发布了新版本，请刷新后再试")
		}
		return 0, wrap(err, "store cost table")
	}
	rows := make([]costTableHouseholdRow, len(t.Rows))
	for i, r := range t.Rows {
		rows[i] = costTableHouseholdRow{TableID: row.ID, HouseholdID: r.HouseholdID, Building: r.Building, Unit: r.Unit, Room: r.Room,
			Floor: r.Floor, AreaHundredths: int64(r.Area), Coefficient: r.Coefficient, ShareFen: r.ShareFen}
	}
	if len(rows) > 0 {
		if err := s.db.conn(ctx).CreateInBatches(rows, 200).Error; err != nil {
			return 0, wrap(err, "store cost table rows")
		}
	}
	return row.ID, nil
}

// AttachPledge records the version a household's pledge was made against.
func (s *Petitions) AttachPledge(ctx context.Context, petitionID, householdID, tableID int64) error {
	return wrap(s.db.conn(ctx).Exec("UPDATE signatures SET cost_table_id = ? WHERE petition_id = ? AND household_id = ?",
		tableID, petitionID, householdID).Error, "attach pledge")
}

// Pledges lists the pledges of signatures made against a version.
func (s *Petitions) Pledges(ctx context.Context, tableID int64) ([]petition.Pledge, error) {
	out := []petition.Pledge{}
	err := s.db.conn(ctx).Raw("SELECT household_id, pledge_fen FROM signatures WHERE cost_table_id = ? AND pledge_fen IS NOT NULL ORDER BY household_id",
		tableID).Scan(&out).Error
	return out, wrap(err, "read pledges")
}
