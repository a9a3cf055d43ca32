package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/petition"
	"github.com/louyuan/louyuan/internal/voting"
)

type petitionRow struct {
	ID                  int64 `gorm:"primaryKey"`
	CourtyardID         int64
	ScopeType           string
	ScopeID             int64
	Title               string
	Body                string
	Status              string
	Deadline            time.Time
	TargetHouseholdsNum *int64
	TargetHouseholdsDen *int64
	TargetAreaNum       *int64
	TargetAreaDen       *int64
	CostSharing         bool
	CreatedBy           string
	CreatedAt           time.Time
	PublishedAt         *time.Time
	ClosedAt            *time.Time
}

func (petitionRow) TableName() string { return "petitions" }

func threshold(num, den *int64) *voting.Threshold {
	if num == nil || den == nil {
		return nil
	}
	return &voting.Threshold{Num: *num, Den: *den}
}

func thresholdCols(t *voting.Threshold) (*int64, *int64) {
	if t == nil {
		return nil, nil
	}
	return &t.Num, &t.Den
}

func rowFromPetition(p petition.Petition) petitionRow {
	r := petitionRow{ID: p.ID, CourtyardID: p.CourtyardID, ScopeType: p.ScopeType, ScopeID: p.ScopeID, Title: p.Title, Body: p.Body,
		Status: string(p.Status), Deadline: p.Deadline, CostSharing: p.CostSharing, CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt,
		PublishedAt: nullTime(p.PublishedAt), ClosedAt: nullTime(p.ClosedAt)}
	r.TargetHouseholdsNum, r.TargetHouseholdsDen = thresholdCols(p.TargetHouseholds)
	r.TargetAreaNum, r.TargetAreaDen = thresholdCols(p.TargetArea)
	return r
}

func (r petitionRow) toPetition() petition.Petition {
	p := petition.Petition{ID: r.ID, CourtyardID: r.CourtyardID, ScopeType: r.ScopeType, ScopeID: r.ScopeID, Title: r.Title, Body: r.Body,
		Status: petition.Status(r.Status), Deadline: r.Deadline.UTC(), TargetHouseholds: threshold(r.TargetHouseholdsNum, r.TargetHouseholdsDen),
		TargetArea: threshold(r.TargetAreaNum, r.TargetAreaDen), CostSharing: r.CostSharing, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC()}
	if r.PublishedAt != nil {
		p.PublishedAt = r.PublishedAt.UTC()
	}
	if r.ClosedAt != nil {
		p.ClosedAt = r.ClosedAt.UTC()
	}
	return p
}

// Petitions is the petition.Store on SQL.
type Petitions struct {
	db     *DB
	voting *Voting
}

// NewPetitions returns the petition store of db.
func NewPetitions(db *DB) *Petitions { return &Petitions{db: db, voting: NewVoting(db)} }

var _ petition.Store = (*Petitions)(nil)

// InTx runs fn in a transaction.
func (s *Petitions) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// CourtyardPlace locates a courtyard.
func (s *Petitions) CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error) {
	c, err := s.voting.Courtyard(ctx, courtyardID)
	return c.Place, err
}

// ScopeCourtyard finds the courtyard of a building, unit or household.
func (s *Petitions) ScopeCourtyard(ctx context.Context, scopeType string, scopeID int64) (int64, error) {
	if scopeType == "household" {
		return s.voting.HouseholdCourtyard(ctx, scopeID)
	}
	return s.voting.ScopeCourtyard(ctx, scopeType, scopeID)
}

// CreatePetition inserts a petition.
func (s *Petitions) CreatePetition(ctx context.Context, p petition.Petition) (petition.Petition, error) {
	row := rowFromPetition(p)
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		return p, wrap(err, "create petition")
	}
	p.ID = row.ID
	return p, nil
}

func (s *Petitions) petition(ctx context.Context, q string, id int64) (petition.Petition, error) {
	var row petitionRow
	if err := s.db.conn(ctx).Raw(q, id).Scan(&row).Error; err != nil {
		return petition.Petition{}, wrap(err, "read petition")
	}
	if row.ID == 0 {
		return petition.Petition{}, louyuan.NotFound("petition_not_found", "没有这项征求")
	}
	return row.toPetition(), nil
}

// Petition reads a petition.
func (s *Petitions) Petition(ctx context.Context, id int64) (petition.Petition, error) {
	return s.petition(ctx, "SELECT * FROM petitions WHERE id = ?", id)
}

// LockPetition reads a petition with an exclusive lock.
func (s *Petitions) LockPetition(ctx context.Context, id int64) (petition.Petition, error) {
	return s.petition(ctx, "SELECT * FROM petitions WHERE id = ?"+s.db.lockSuffix(" FOR UPDATE"), id)
}

// SharePetition reads a petition with a shared lock (signatures), so that a
// signature and the close never interleave.
func (s *Petitions) SharePetition(ctx context.Context, id int64) (petition.Petition, error) {
	return s.petition(ctx, "SELECT * FROM petitions WHERE id = ?"+s.db.lockSuffix(" LOCK IN SHARE MODE"), id)
}

// UpdatePetition writes p if it is still in status from.
func (s *Petitions) UpdatePetition(ctx context.Context, p petition.Petition, from petition.Status) error {
	row := rowFromPetition(p)
	res := s.db.conn(ctx).Model(&petitionRow{}).Where("id = ? AND status = ?", p.ID, string(from)).
		Select("*").Omit("id", "created_at", "created_by").Updates(&row)
	if res.Error != nil {
		return wrap(res.Error, "update petition")
	}
	if res.RowsAffected != 1 {
		return louyuan.Conflict("wrong_status", "征求状态已被其他操作改变，请刷新后重试")
	}
	return nil
}

func (s *Petitions) list(ctx context.Context, where string, args ...any) ([]petition.Petition, error) {
	var rows []petitionRow
	if err := s.db.conn(ctx).Where(where, args...).Order("id DESC").Find(&rows).Error; err != nil {
		return nil, wrap(err, "list petitions")
	}
	out := make([]petition.Petition, len(rows))
	for i, r := range rows {
		out[i] = r.toPetition()
	}
	return out, nil
}

// Petitions lists a courtyard's petitions, newest first.
func (s *Petitions) Petitions(ctx context.Context, courtyardID int64) ([]petition.Petition, error) {
	return s.list(ctx, "courtyard_id = ?", courtyardID)
}

// DuePetitions lists open petitions past their deadline.
func (s *Petitions) DuePetitions(ctx context.Context, now time.Time) ([]petition.Petition, error) {
	return s.list(ctx, "status = ? AND deadline <= ?", petition.StatusOpen, now)
}

type residentView struct {
	HouseholdID int64
	UnitID      int64
	Building    string
	Unit        string
	Room        string
	Floor       int
	Area        decimal2
}

func scopeColumn(scopeType string) string {
	return map[string]string{voting.ScopeCourtyard: "h.courtyard_id", voting.ScopeBuilding: "h.building_id", voting.ScopeUnit: "h.unit_id"}[scopeType]
}

func (s *Petitions) residents(ctx context.Context, p petition.Petition, extra string, args ...any) ([]petition.Resident, error) {
	col := scopeColumn(p.ScopeType)
	if col == "" {
		return nil, louyuan.Invalid("bad_scope", "范围只能是楼院、楼栋或单元")
	}
	var vs []residentView
	q := s.db.conn(ctx).Table("households h").
		Select("h.id AS household_id, h.unit_id, b.name AS building, u.name AS unit, h.room, h.floor, h.area").
		Joins("JOIN buildings b ON b.id = h.building_id").Joins("JOIN units u ON u.id = h.unit_id").
		Where(col+" = ?", p.ScopeID)
	if extra != "" {
		q = q.Where(extra, args...)
	}
	if err := q.Order("h.id").Find(&vs).Error; err != nil {
		return nil, wrap(err, "read households in scope")
	}
	out := make([]petition.Resident, len(vs))
	for i, v := range vs {
		out[i] = petition.Resident{HouseholdID: v.HouseholdID, UnitID: v.UnitID, Building: v.Building, Unit: v.Unit, Room: v.Room, Floor: v.Floor, Area: louyuan.Area(v.Area)}
	}
	return out, nil
}

// Residents lists the households in the petition's scope.
func (s *Petitions) Residents(ctx context.Context, p petition.Petition) ([]petition.Resident, error) {
	return s.residents(ctx, p, "")
}

// UnitResidents lists the households of one unit in the petition's scope.
func (s *Petitions) UnitResidents(ctx context.Context, p petition.Petition, unitID int64) ([]petition.Resident, error) {
	return s.residents(ctx, p, "h.unit_id = ?", unitID)
}

// Resident reads one household if it is in the petition's scope.
func (s *Petitions) Resident(ctx context.Context, p petition.Petition, householdID int64) (petition.Resident, bool, error) {
	rs, err := s.residents(ctx, p, "h.id = ?", householdID)
	if err != nil || len(rs) == 0 {
		return petition.Resident{}, false, err
	}
	return rs[0], true, nil
}

// ProgressCounts counts households and area in scope, all and signed.
// Areas are summed in hundredths of m² (exact on DECIMAL and on SQLite's
// REAL alike).
func (s *Petitions) ProgressCounts(ctx context.Context, p petition.Petition) (petition.Progress, error) {
	col := scopeColumn(p.ScopeType)
	if col == "" {
		return petition.Progress{}, louyuan.Invalid("bad_scope", "范围只能是楼院、楼栋或单元")
	}
	var (
		households, signed int64
		area, signedArea   float64
	)
	err := s.db.conn(ctx).Raw(`SELECT COUNT(*), COUNT(s.household_id), COALESCE(SUM(ROUND(h.area * 100)), 0),
		COALESCE(SUM(CASE WHEN s.household_id IS NOT NULL THEN ROUND(h.area * 100) END), 0)
		FROM households h LEFT JOIN signatures s ON s.petition_id = ? AND s.household_id = h.id
		WHERE `+col+` = ?`, p.ID, p.ScopeID).Row().Scan(&households, &signed, &area, &signedArea)
	if err != nil {
		return petition.Progress{}, wrap(err, "count petition progress")
	}
	return petition.Progress{Households: int(households), SignedHouseholds: int(signed),
		Area: louyuan.Area(math.Round(area)), SignedArea: louyuan.Area(math.Round(signedArea))}, nil
}

// IsRepresentative reports whether userID represents the household.
func (s *Petitions) IsRepresentative(ctx context.Context, userID, householdID int64) (bool, error) {
	return s.voting.IsRepresentative(ctx, userID, householdID)
}

// LockRepresentative is IsRepresentative with a shared lock on the membership.
func (s *Petitions) LockRepresentative(ctx context.Context, userID, householdID int64) (bool, error) {
	return s.voting.LockRepresentative(ctx, userID, householdID)
}

// RepresentedHouseholds lists the households userID represents.
func (s *Petitions) RepresentedHouseholds(ctx context.Context, userID int64) ([]int64, error) {
	return s.voting.RepresentedHouseholds(ctx, userID)
}

// OpenID returns a user's WeChat openid.
func (s *Petitions) OpenID(ctx context.Context, userID int64) (string, error) {
	u, err := NewIdentity(s.db).User(ctx, userID)
	return u.OpenID, err
}

// SetRealNameIfEmpty records a user's typed real name when none is known.
func (s *Petitions) SetRealNameIfEmpty(ctx context.Context, userID int64, name string) error {
	return wrap(s.db.conn(ctx).Model(&userRow{}).Where("id = ? AND real_name = ''", userID).Update("real_name", name).Error, "record real name")
}

type signatureRow struct {
	PetitionID    int64 `gorm:"primaryKey"`
	HouseholdID   int64 `gorm:"primaryKey"`
	Signer        string
	RealName      string
	Channel       string
	SignatureFile *string
	PaperFile     *string
	PledgeFen     *int64
	SignedAt      time.Time
}

func (signatureRow) TableName() string { return "signatures" }

func (r signatureRow) toSignature() petition.Signature {
	sg := petition.Signature{PetitionID: r.PetitionID, HouseholdID: r.HouseholdID, Signer: r.Signer, RealName: r.RealName, Channel: r.Channel,
		PledgeFen: r.PledgeFen, SignedAt: r.SignedAt.UTC()}
	if r.SignatureFile != nil {
		sg.SignatureFile = *r.SignatureFile
	}
	if r.PaperFile != nil {
		sg.PaperFile = *r.PaperFile
	}
	return sg
}

// InsertSignature adds a household's signature; a second is a conflict.
func (s *Petitions) InsertSignature(ctx context.Context, sg petition.Signature) error {
	row := signatureRow{PetitionID: sg.PetitionID, HouseholdID: sg.HouseholdID, Signer: sg.Signer, RealName: sg.RealName, Channel: sg.Channel,
		SignatureFile: nullString(sg.SignatureFile), PaperFile: nullString(sg.PaperFile), PledgeFen: sg.PledgeFen, SignedAt: sg.SignedAt}
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		if isDuplicate(err) {
			return louyuan.Conflict("already_signed", "本户已经签过名了；如需修改，请先撤回原签名")
		}
		return wrap(err, "insert signature")
	}
	return nil
}

// DeleteSignature removes a household's signature.
func (s *Petitions) DeleteSignature(ctx context.Context, petitionID, householdID int64) (petition.Signature, error) {
	sg, ok, err := s.Signature(ctx, petitionID, householdID)
	if err != nil {
		return sg, err
	}
	if !ok {
		return sg, louyuan.NotFound("not_signed", "本户还没有签名")
	}
	res := s.db.conn(ctx).Where("petition_id = ? AND household_id = ?", petitionID, householdID).Delete(&signatureRow{})
	if res.Error != nil {
		return sg, wrap(res.Error, "delete signature")
	}
	if res.RowsAffected != 1 {
		return sg, louyuan.NotFound("not_signed", "本户还没有签名")
	}
	return sg, nil
}

// Signature reads a household's signature.
func (s *Petitions) Signature(ctx context.Context, petitionID, householdID int64) (petition.Signature, bool, error) {
	var rows []signatureRow
	if err := s.db.conn(ctx).Where("petition_id = ? AND household_id = ?", petitionID, householdID).Find(&rows).Error; err != nil {
		return petition.Signature{}, false, wrap(err, "read signature")
	}
	if len(rows) == 0 {
		return petition.Signature{}, false, nil
	}
	return rows[0].toSignature(), true, nil
}

// Signatures lists a petition's current signatures.
func (s *Petitions) Signatures(ctx context.Context, petitionID int64) ([]petition.Signature, error) {
	var rows []signatureRow
	if err := s.db.conn(ctx).Where("petition_id = ?", petitionID).Order("household_id").Find(&rows).Error; err != nil {
		return nil, wrap(err, "read signatures")
	}
	out := make([]petition.Signature, len(rows))
	for i, r := range rows {
		out[i] = r.toSignature()
	}
	return out, nil
}

// AddEvent appends to the signature history.
func (s *Petitions) AddEvent(ctx context.Context, petitionID, householdID int64, event, actor, realName, channel string, pledge *int64, at time.Time) error {
	row := map[string]any{"petition_id": petitionID, "household_id": householdID, "event": event, "actor": actor, "real_name": realName,
		"channel": channel, "pledge_fen": pledge, "at": at}
	return wrap(s.db.conn(ctx).Table("signature_events").Create(row).Error, "record signature event")
}

type costPlanRow struct {
	PetitionID   int64 `gorm:"primaryKey"`
	UnitID       int64 `gorm:"primaryKey"`
	TotalFen     int64
	Coefficients string
	UpdatedBy    string
	UpdatedAt    time.Time
}

func (costPlanRow) TableName() string { return "cost_plans" }

// PutCostPlan creates or replaces a unit's cost table.
func (s *Petitions) PutCostPlan(ctx context.Context, petitionID int64, plan petition.CostPlan, by string, at time.Time) error {
	coef := map[string]int64{}
	for f, c := range plan.Coefficients {
		coef[strconv.Itoa(f)] = c
	}
	b, err := json.Marshal(coef)
	if err != nil {
		return err
	}
	conn := s.db.conn(ctx)
	if err := conn.Where("petition_id = ? AND unit_id = ?", petitionID, plan.UnitID).Delete(&costPlanRow{}).Error; err != nil {
		return wrap(err, "replace cost plan")
	}
	row := costPlanRow{PetitionID: petitionID, UnitID: plan.UnitID, TotalFen: plan.TotalFen, Coefficients: string(b), UpdatedBy: by, UpdatedAt: at}
	return wrap(conn.Create(&row).Error, "store cost plan")
}

// CostPlans lists a petition's cost tables.
func (s *Petitions) CostPlans(ctx context.Context, petitionID int64) ([]petition.CostPlan, error) {
	var rows []costPlanRow
	if err := s.db.conn(ctx).Where("petition_id = ?", petitionID).Order("unit_id").Find(&rows).Error; err != nil {
		return nil, wrap(err, "read cost plans")
	}
	out := make([]petition.CostPlan, len(rows))
	for i, r := range rows {
		var coef map[string]int64
		if err := json.Unmarshal([]byte(r.Coefficients), &coef); err != nil {
			return nil, fmt.Errorf("decode cost plan of unit %d: %w", r.UnitID, err)
		}
		plan := petition.CostPlan{UnitID: r.UnitID, TotalFen: r.TotalFen, Coefficients: map[int]int64{}}
		for f, c := range coef {
			n, _ := strconv.Atoi(f)
			plan.Coefficients[n] = c
		}
		out[i] = plan
	}
	return out, nil
}

type paymentRow struct {
	ID          int64 `gorm:"primaryKey"`
	PetitionID  int64
	HouseholdID int64
	AmountFen   int64
	ReceiptNo   string
	ReceiptFile *string
	RecordedBy  string
	PaidOn      string
	CreatedAt   time.Time
}

func (paymentRow) TableName() string { return "payments" }

// AddPayment records a payment; a receipt number used twice is a conflict.
func (s *Petitions) AddPayment(ctx context.Context, p petition.Payment) (petition.Payment, error) {
	row := paymentRow{PetitionID: p.PetitionID, HouseholdID: p.HouseholdID, AmountFen: p.AmountFen, ReceiptNo: p.ReceiptNo,
		ReceiptFile: nullString(p.ReceiptFile), RecordedBy: p.RecordedBy, PaidOn: p.PaidOn, CreatedAt: p.CreatedAt}
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		if isDuplicate(err) {
			return p, louyuan.Conflict("receipt_used", "这个收据编号已经登记过了")
		}
		return p, wrap(err, "record payment")
	}
	p.ID = row.ID
	return p, nil
}

// Payments lists a petition's payments.
func (s *Petitions) Payments(ctx context.Context, petitionID int64) ([]petition.Payment, error) {
	var rows []paymentRow
	if err := s.db.conn(ctx).Where("petition_id = ?", petitionID).Order("id").Find(&rows).Error; err != nil {
		return nil, wrap(err, "read payments")
	}
	out := make([]petition.Payment, len(rows))
	for i, r := range rows {
		out[i] = petition.Payment{ID: r.ID, PetitionID: r.PetitionID, HouseholdID: r.HouseholdID, AmountFen: r.AmountFen, ReceiptNo: r.ReceiptNo,
			RecordedBy: r.RecordedBy, PaidOn: r.PaidOn, CreatedAt: r.CreatedAt.UTC()}
		if r.ReceiptFile != nil {
			out[i].ReceiptFile = *r.ReceiptFile
		}
		if len(out[i].PaidOn) > 10 {
			out[i].PaidOn = out[i].PaidOn[:10]
		}
	}
	return out, nil
}

// FileOwnedBy reports whether a stored file of that purpose was uploaded by
// uploader.
func (s *Petitions) FileOwnedBy(ctx context.Context, key, purpose, uploader string) (bool, error) {
	var n int64
	err := s.db.conn(ctx).Model(&fileRow{}).Where("file_key = ? AND purpose = ? AND uploaded_by = ?", key, purpose, uploader).Count(&n).Error
	return n > 0, wrap(err, "check file")
}

// FileExists reports whether a stored file of that purpose belongs to the
// courtyard.
func (s *Petitions) FileExists(ctx context.Context, key, purpose string, courtyardID int64) (bool, error) {
	return s.voting.FileExists(ctx, key, purpose, courtyardID)
}
