package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

type motionRow struct {
	ID              int64 `gorm:"primaryKey"`
	CourtyardID     int64
	ScopeType       string
	ScopeID         int64
	Title           string
	Body            string
	Subject         string
	RuleKind        string
	RuleJSON        string `gorm:"column:rule_json"`
	OptionsJSON     string `gorm:"column:options_json"`
	BallotMode      string
	Status          string
	NoticeDays      int
	ObjectionDays   int
	OpensAt         time.Time
	ClosesAt        time.Time
	PublishedAt     *time.Time
	NoticeEndsAt    *time.Time
	OpenedAt        *time.Time
	ClosedAt        *time.Time
	ObjectionEndsAt *time.Time
	FinalAt         *time.Time
	Passed          *bool
	ResultJSON      *string `gorm:"column:result_json"`
	CreatedBy       string
	CreatedAt       time.Time
}

func (motionRow) TableName() string { return "motions" }

// ruleColumn is the JSON of motions.rule_json, and thresholdColumn one of
// its fractions: types of their own, so that the domain's types can change
// without rewriting stored rows (TestStoredMotionJSON pins the text).
type ruleColumn struct {
	Kind              string          `json:"kind"`
	ParticipationArea thresholdColumn `json:"participation_area"`
	ParticipationHead thresholdColumn `json:"participation_head"`
	ApprovalArea      thresholdColumn `json:"approval_area"`
	ApprovalHead      thresholdColumn `json:"approval_head"`
	Seats             int             `json:"seats,omitempty"`
}

type thresholdColumn struct {
	Num    int64 `json:"num"`
	Den    int64 `json:"den"`
	Strict bool  `json:"strict"`
}

// optionColumn is one element of motions.options_json.
type optionColumn struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

func encodeRule(r voting.Rule) (string, error) {
	th := func(t voting.Threshold) thresholdColumn {
		return thresholdColumn{Num: t.Num, Den: t.Den, Strict: t.Strict}
	}
	b, err := json.Marshal(ruleColumn{Kind: string(r.Kind), ParticipationArea: th(r.ParticipationArea), ParticipationHead: th(r.ParticipationHead),
		ApprovalArea: th(r.ApprovalArea), ApprovalHead: th(r.ApprovalHead), Seats: r.Seats})
	return string(b), err
}

func decodeRule(s string) (voting.Rule, error) {
	var c ruleColumn
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return voting.Rule{}, err
	}
	th := func(t thresholdColumn) voting.Threshold {
		return voting.Threshold{Num: t.Num, Den: t.Den, Strict: t.Strict}
	}
	return voting.Rule{Kind: voting.RuleKind(c.Kind), ParticipationArea: th(c.ParticipationArea), ParticipationHead: th(c.ParticipationHead),
		ApprovalArea: th(c.ApprovalArea), ApprovalHead: th(c.ApprovalHead), Seats: c.Seats}, nil
}

func encodeOptions(os []voting.Option) (string, error) {
	cs := make([]optionColumn, len(os))
	for i, o := range os {
		cs[i] = optionColumn{Key: o.Key, Label: o.Label}
	}
	if os == nil {
		cs = nil // stored as null, as before
	}
	b, err := json.Marshal(cs)
	return string(b), err
}

func decodeOptions(s string) ([]voting.Option, error) {
	var cs []optionColumn
	if err := json.Unmarshal([]byte(s), &cs); err != nil {
		return nil, err
	}
	if cs == nil {
		return nil, nil
	}
	os := make([]voting.Option, len(cs))
	for i, c := range cs {
		os[i] = voting.Option{Key: c.Key, Label: c.Label}
	}
	return os, nil
}

func rowFromMotion(m voting.Motion) (motionRow, error) {
	rule, err := encodeRule(m.Rule)
	if err != nil {
		return motionRow{}, err
	}
	opts, err := encodeOptions(m.Options)
	if err != nil {
		return motionRow{}, err
	}
	r := motionRow{ID: m.ID, CourtyardID: m.CourtyardID, ScopeType: m.ScopeType, ScopeID: m.ScopeID, Title: m.Title, Body: m.Body,
		Subject: m.Subject, RuleKind: string(m.Rule.Kind), RuleJSON: rule, OptionsJSON: opts, BallotMode: m.Mode,
		Status: string(m.Status), NoticeDays: m.NoticeDays, ObjectionDays: m.ObjectionDays, OpensAt: m.OpensAt, ClosesAt: m.ClosesAt,
		PublishedAt: nullTime(m.PublishedAt), NoticeEndsAt: nullTime(m.NoticeEndsAt), OpenedAt: nullTime(m.OpenedAt), ClosedAt: nullTime(m.ClosedAt),
		ObjectionEndsAt: nullTime(m.ObjectionEndsAt), FinalAt: nullTime(m.FinalAt), Passed: m.Passed, CreatedBy: m.CreatedBy, CreatedAt: m.CreatedAt}
	if m.Result != nil {
		b, err := json.Marshal(m.Result)
		if err != nil {
			return motionRow{}, err
		}
		s := string(b)
		r.ResultJSON = &s
	}
	return r, nil
}

func (r motionRow) toMotion() (voting.Motion, error) {
	m := voting.Motion{ID: r.ID, CourtyardID: r.CourtyardID, ScopeType: r.ScopeType, ScopeID: r.ScopeID, Title: r.Title, Body: r.Body,
		Subject: r.Subject, Mode: r.BallotMode, Status: voting.Status(r.Status), NoticeDays: r.NoticeDays, ObjectionDays: r.ObjectionDays,
		OpensAt: r.OpensAt.UTC(), ClosesAt: r.ClosesAt.UTC(), Passed: r.Passed, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC()}
	for _, p := range []struct {
		dst *time.Time
		src *time.Time
	}{{&m.PublishedAt, r.PublishedAt}, {&m.NoticeEndsAt, r.NoticeEndsAt}, {&m.OpenedAt, r.OpenedAt}, {&m.ClosedAt, r.ClosedAt}, {&m.ObjectionEndsAt, r.ObjectionEndsAt}, {&m.FinalAt, r.FinalAt}} {
		if p.src != nil {
			*p.dst = p.src.UTC()
		}
	}
	var err error
	if m.Rule, err = decodeRule(r.RuleJSON); err != nil {
		return m, fmt.Errorf("decode rule of motion %d: %w", r.ID, err)
	}
	if m.Options, err = decodeOptions(r.OptionsJSON); err != nil {
		return m, fmt.Errorf("decode options of motion %d: %w", r.ID, err)
	}
	if r.ResultJSON != nil {
		var t voting.Tally
		if err := json.Unmarshal([]byte(*r.ResultJSON), &t); err != nil {
			return m, fmt.Errorf("decode result of motion %d: %w", r.ID, err)
		}
		m.Result = &t
	}
	m.DescribePeriods()
	return m, nil
}

// Voting is the voting.Store on SQL.
type Voting struct {
	db      *DB
	choices *choiceCache
	audit   *AuditLog // the ballot path's (WithAudit)
}

// NewVoting returns the voting store of db.
func NewVoting(db *DB) *Voting { return &Voting{db: db, choices: &choiceCache{}} }

// InTx runs fn in a transaction.
func (s *Voting) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// InSnapshot runs fn in a read-only transaction whose reads all see the
// database as of one moment.
func (s *Voting) InSnapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.inSnapshot(ctx, fn)
}

// Courtyard reads a courtyard's place and voting settings.
func (s *Voting) Courtyard(ctx context.Context, id int64) (voting.Courtyard, error) {
	var row struct {
		SubdistrictID          int64
		CommunityID            int64
		CourtyardID            int64
		MaxDelegationsPerProxy int
		ProxyPhotoRequired     bool
	}
	err := s.db.conn(ctx).Table("courtyards c").
		Select("m.subdistrict_id, c.community_id, c.id AS courtyard_id, c.max_delegations_per_proxy, c.proxy_photo_required").
		Joins("JOIN communities m ON m.id = c.community_id").Where("c.id = ?", id).Take(&row).Error
	if missing, err := notFound(err); missing {
		return voting.Courtyard{}, louyuan.NotFound("courtyard_not_found", "楼院不存在")
	} else if err != nil {
		return voting.Courtyard{}, wrap(err, "read courtyard")
	}
	return voting.Courtyard{Place: identity.Place{SubdistrictID: row.SubdistrictID, CommunityID: row.CommunityID, CourtyardID: row.CourtyardID},
		MaxDelegationsPerProxy: row.MaxDelegationsPerProxy, ProxyPhotoRequired: row.ProxyPhotoRequired}, nil
}

// ScopeCourtyard finds the courtyard of a building or unit.
func (s *Voting) ScopeCourtyard(ctx context.Context, scopeType string, scopeID int64) (int64, error) {
	var ids []int64
	var err error
	switch scopeType {
	case voting.ScopeBuilding:
		err = s.db.conn(ctx).Table("buildings").Where("id = ?", scopeID).Pluck("courtyard_id", &ids).Error
	case voting.ScopeUnit:
		err = s.db.conn(ctx).Table("units u").Joins("JOIN buildings b ON b.id = u.building_id").Where("u.id = ?", scopeID).Pluck("b.courtyard_id", &ids).Error
	default:
		return 0, louyuan.Invalid("bad_scope", "表决范围只能是楼院、楼栋或单元")
	}
	if err != nil {
		return 0, wrap(err, "locate scope")
	}
	if len(ids) == 0 {
		return 0, louyuan.NotFound("scope_not_found", "表决范围（楼栋或单元）不存在")
	}
	return ids[0], nil
}

// CreateMotion inserts a motion.
func (s *Voting) CreateMotion(ctx context.Context, m voting.Motion) (voting.Motion, error) {
	row, err := rowFromMotion(m)
	if err != nil {
		return m, err
	}
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		return m, wrap(err, "create motion")
	}
	m.ID = row.ID
	return m, nil
}

func (s *Voting) motion(ctx context.Context, q string, args ...any) (voting.Motion, error) {
	var row motionRow
	err := s.db.conn(ctx).Raw(q, args...).Scan(&row).Error
	if err != nil {
		return voting.Motion{}, wrap(err, "read motion")
	}
	if row.ID == 0 {
		return voting.Motion{}, louyuan.NotFound("motion_not_found", "没有这项表决")
	}
	return row.toMotion()
}

// Motion reads a motion.
func (s *Voting) Motion(ctx context.Context, id int64) (voting.Motion, error) {
	return s.motion(ctx, "SELECT * FROM motions WHERE id = ?", id)
}

// LockMotion reads a motion with an exclusive lock.
func (s *Voting) LockMotion(ctx context.Context, id int64) (voting.Motion, error) {
	return s.motion(ctx, "SELECT * FROM motions WHERE id = ?"+s.db.lockSuffix(" FOR UPDATE"), id)
}

// shareMotion reads a motion with a shared lock.
func (s *Voting) shareMotion(ctx context.Context, id int64) (voting.Motion, error) {
	return s.motion(ctx, "SELECT * FROM motions WHERE id = ?"+s.db.lockSuffix(" LOCK IN SHARE MODE"), id)
}

// UpdateMotion writes m if it is still in status from.
func (s *Voting) UpdateMotion(ctx context.Context, m voting.Motion, from voting.Status) error {
	row, err := rowFromMotion(m)
	if err != nil {
		return err
	}
	res := s.db.conn(ctx).Model(&motionRow{}).Where("id = ? AND status = ?", m.ID, string(from)).Select("*").Omit("id", "created_at", "created_by").Updates(&row)
	if res.Error != nil {
		return wrap(res.Error, "update motion")
	}
	if res.RowsAffected != 1 {
		return louyuan.Conflict("wrong_status", "表决状态已被其他操作改变，请刷新后重试")
	}
	return nil
}

func (s *Voting) motions(ctx context.Context, where string, args ...any) ([]voting.Motion, error) {
	var rows []motionRow
	if err := s.db.conn(ctx).Where(where, args...).Order("id DESC").Find(&rows).Error; err != nil {
		return nil, wrap(err, "list motions")
	}
	out := make([]voting.Motion, 0, len(rows))
	for _, r := range rows {
		m, err := r.toMotion()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Motions lists a courtyard's motions, newest first.
func (s *Voting) Motions(ctx context.Context, courtyardID int64) ([]voting.Motion, error) {
	return s.motions(ctx, "courtyard_id = ?", courtyardID)
}

// DueMotions lists motions whose next step is due at now.
func (s *Voting) DueMotions(ctx context.Context, now time.Time) ([]voting.Motion, error) {
	return s.motions(ctx, "(status = ? AND opens_at <= ?) OR (status = ? AND closes_at <= ?) OR (status = ? AND objection_ends_at <= ?)",
		voting.StatusNotice, now, voting.StatusVoting, now, voting.StatusObjection, now)
}

// VotingMotions lists every motion that is voting now.
func (s *Voting) VotingMotions(ctx context.Context) ([]voting.Motion, error) {
	return s.motions(ctx, "status = ?", voting.StatusVoting)
}

// FailedRecently reports whether a motion on the same subject and scope
// failed at a close since then.
func (s *Voting) FailedRecently(ctx context.Context, m voting.Motion, since time.Time) (bool, error) {
	var n int64
	err := s.db.conn(ctx).Model(&motionRow{}).Where("courtyard_id = ? AND subject = ? AND scope_type = ? AND scope_id = ? AND passed = ? AND closed_at >= ? AND id <> ?",
		m.CourtyardID, m.Subject, m.ScopeType, m.ScopeID, false, since, m.ID).Count(&n).Error
	return n > 0, wrap(err, "check re-raised motion")
}

type electorRow struct {
	MotionID    int64
	HouseholdID int64
	OwnerGroup  int64
	Area        decimal2
	BuildingID  int64
	UnitID      int64
}

func (electorRow) TableName() string { return "motion_electorate" }

// SnapshotElectorate freezes the households in the motion's scope, with
// their areas and owner groups, and returns how many there are.
func (s *Voting) SnapshotElectorate(ctx context.Context, m voting.Motion) (int, error) {
	conn := s.db.conn(ctx)
	col := map[string]string{voting.ScopeCourtyard: "courtyard_id", voting.ScopeBuilding: "building_id", voting.ScopeUnit: "unit_id"}[m.ScopeType]
	if col == "" {
		return 0, louyuan.Invalid("bad_scope", "表决范围只能是楼院、楼栋或单元")
	}
	var hs []householdRow
	if err := conn.Where(col+" = ?", m.ScopeID).Order("id").Find(&hs).Error; err != nil {
		return 0, wrap(err, "read households in scope")
	}
	if len(hs) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(hs))
	for i, h := range hs {
		ids[i] = h.ID
	}
	groups, err := headGroups(ctx, s.db, hs)
	if err != nil {
		return 0, err
	}
	rows := make([]electorRow, len(hs))
	for i, h := range hs {
		rows[i] = electorRow{MotionID: m.ID, HouseholdID: h.ID, OwnerGroup: groups[h.ID], Area: h.Area, BuildingID: h.BuildingID, UnitID: h.UnitID}
	}
	if err := conn.CreateInBatches(rows, 500).Error; err != nil {
		return 0, wrap(err, "store electorate")
	}
	return len(rows), nil
}

type electorView struct {
	HouseholdID int64
	OwnerGroup  int64
	Area        decimal2
	BuildingID  int64
	UnitID      int64
	Building    string
	Unit        string
	Room        string
}

func (v electorView) toElector() voting.Elector {
	return voting.Elector{Voter: voting.Voter{HouseholdID: v.HouseholdID, Group: v.OwnerGroup, Area: louyuan.Area(v.Area)},
		BuildingID: v.BuildingID, UnitID: v.UnitID, Building: v.Building, Unit: v.Unit, Room: v.Room}
}

func (s *Voting) electorQuery(ctx context.Context) *gorm.DB {
	return s.db.conn(ctx).Table("motion_electorate e").
		Select("e.household_id, e.owner_group, e.area, e.building_id, e.unit_id, b.name AS building, u.name AS unit, h.room").
		Joins("JOIN households h ON h.id = e.household_id").
		Joins("JOIN buildings b ON b.id = e.building_id").
		Joins("JOIN units u ON u.id = e.unit_id")
}

// Electorate lists the frozen electorate in building, unit, room order.
func (s *Voting) Electorate(ctx context.Context, motionID int64) ([]voting.Elector, error) {
	var vs []electorView
	if err := s.electorQuery(ctx).Where("e.motion_id = ?", motionID).Find(&vs).Error; err != nil {
		return nil, wrap(err, "read electorate")
	}
	sort.Slice(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.Building != b.Building {
			return naturalLess(a.Building, b.Building)
		}
		if a.Unit != b.Unit {
			return naturalLess(a.Unit, b.Unit)
		}
		return naturalLess(a.Room, b.Room)
	})
	out := make([]voting.Elector, len(vs))
	for i, v := range vs {
		out[i] = v.toElector()
	}
	return out, nil
}

// Elector reads one household of the electorate.
func (s *Voting) Elector(ctx context.Context, motionID, householdID int64) (voting.Elector, bool, error) {
	var vs []electorView
	if err := s.electorQuery(ctx).Where("e.motion_id = ? AND e.household_id = ?", motionID, householdID).Find(&vs).Error; err != nil {
		return voting.Elector{}, false, wrap(err, "read elector")
	}
	if len(vs) == 0 {
		return voting.Elector{}, false, nil
	}
	return vs[0].toElector(), true, nil
}

// IsRepresentative reports whether userID represents the household.
func (s *Voting) IsRepresentative(ctx context.Context, userID, householdID int64) (bool, error) {
	var n int64
	err := s.db.conn(ctx).Model(&membershipRow{}).Where("user_id = ? AND household_id = ? AND representative = 1", userID, householdID).Count(&n).Error
	return n > 0, wrap(err, "check representative")
}

// LockRepresentative reports whether userID represents the household,
// share-locking the membership row until the transaction ends.
func (s *Voting) LockRepresentative(ctx context.Context, userID, householdID int64) (bool, error) {
	var ids []int64
	err := s.db.conn(ctx).Raw("SELECT id FROM memberships WHERE user_id = ? AND household_id = ? AND representative = 1"+s.db.lockSuffix(" LOCK IN SHARE MODE"),
		userID, householdID).Scan(&ids).Error
	return len(ids) > 0, wrap(err, "check representative")
}

// RepresentsElector reports whether userID represents a household of the
// motion's electorate.
func (s *Voting) RepresentsElector(ctx context.Context, userID, motionID int64) (bool, error) {
	var ids []int64
	err := s.db.conn(ctx).Table("memberships m").Joins("JOIN motion_electorate e ON e.household_id = m.household_id AND e.motion_id = ?", motionID).
		Where("m.user_id = ? AND m.representative = 1", userID).Limit(1).Pluck("m.household_id", &ids).Error
	return len(ids) > 0, wrap(err, "check elector")
}

// CountedSince lists counted ballots changed at or after t.
func (s *Voting) CountedSince(ctx context.Context, motionID int64, t time.Time) ([]voting.Counted, error) {
	var rows []countedRow
	if err := s.db.conn(ctx).Where("motion_id = ? AND updated_at >= ?", motionID, t).Find(&rows).Error; err != nil {
		return nil, wrap(err, "read recent counted ballots")
	}
	out := make([]voting.Counted, len(rows))
	for i, r := range rows {
		out[i] = r.toCounted()
	}
	return out, nil
}

// VotedCount counts households with a counted ballot that is not withdrawn.
func (s *Voting) VotedCount(ctx context.Context, motionID int64) (int, error) {
	var n int64
	err := s.db.conn(ctx).Model(&countedRow{}).Where("motion_id = ? AND channel <> ?", motionID, voting.ChannelWithdrawn).Count(&n).Error
	return int(n), wrap(err, "count counted ballots")
}

// RepresentedHouseholds lists the households userID represents.
func (s *Voting) RepresentedHouseholds(ctx context.Context, userID int64) ([]int64, error) {
	var ids []int64
	err := s.db.conn(ctx).Model(&membershipRow{}).Where("user_id = ? AND representative = 1", userID).Order("household_id").Pluck("household_id", &ids).Error
	return ids, wrap(err, "list represented households")
}

type ballotRow struct {
	ID           int64 `gorm:"primaryKey"`
	MotionID     int64
	HouseholdID  int64
	Choice       string
	Channel      string
	CastBy       string
	DelegationID *int64
	PaperFile    *string
	Receipt      string
	CreatedAt    time.Time
	SupersededAt *time.Time
}

func (ballotRow) TableName() string { return "ballots" }

func (r ballotRow) toBallot() voting.Ballot {
	b := voting.Ballot{ID: r.ID, MotionID: r.MotionID, HouseholdID: r.HouseholdID, Options: decodeChoice(r.Choice), Channel: r.Channel,
		CastBy: r.CastBy, Receipt: r.Receipt, CreatedAt: r.CreatedAt.UTC(), Superseded: r.SupersededAt != nil}
	if r.DelegationID != nil {
		b.DelegationID = *r.DelegationID
	}
	if r.PaperFile != nil {
		b.PaperFile = *r.PaperFile
	}
	return b
}

func encodeChoice(options []string) string {
	if len(options) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(options)
	return string(b)
}

func decodeChoice(s string) []string {
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

func nullInt(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type countedRow struct {
	MotionID     int64 `gorm:"primaryKey"`
	HouseholdID  int64 `gorm:"primaryKey"`
	BallotID     int64
	Choice       string
	Channel      string
	DelegationID *int64
	Version      int64
	UpdatedAt    time.Time
}

func (countedRow) TableName() string { return "counted_ballots" }

func (r countedRow) toCounted() voting.Counted {
	c := voting.Counted{MotionID: r.MotionID, HouseholdID: r.HouseholdID, BallotID: r.BallotID, Options: decodeChoice(r.Choice),
		Channel: r.Channel, Version: r.Version}
	if r.DelegationID != nil {
		c.DelegationID = *r.DelegationID
	}
	return c
}

// replaceCounted replaces a household's counted ballot, whose row the
// caller holds locked: the version must move on by exactly one.
func (s *Voting) replaceCounted(ctx context.Context, c voting.Counted) error {
	res := s.db.conn(ctx).Model(&countedRow{}).Where("motion_id = ? AND household_id = ? AND version = ?", c.MotionID, c.HouseholdID, c.Version-1).
		Updates(map[string]any{"ballot_id": c.BallotID, "choice": encodeChoice(c.Options), "channel": c.Channel, "delegation_id": nullInt(c.DelegationID),
			"version": c.Version, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return wrap(res.Error, "replace counted ballot")
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("counted ballot of household %d on motion %d is not at version %d", c.HouseholdID, c.MotionID, c.Version-1)
	}
	return nil
}

// Counted reads a household's counted ballot.
func (s *Voting) Counted(ctx context.Context, motionID, householdID int64) (voting.Counted, bool, error) {
	var rows []countedRow
	if err := s.db.conn(ctx).Where("motion_id = ? AND household_id = ?", motionID, householdID).Find(&rows).Error; err != nil {
		return voting.Counted{}, false, wrap(err, "read counted ballot")
	}
	if len(rows) == 0 {
		return voting.Counted{}, false, nil
	}
	return rows[0].toCounted(), true, nil
}

// supersedeBallot marks a ballot as replaced.
func (s *Voting) supersedeBallot(ctx context.Context, ballotID int64, at time.Time) error {
	return wrap(s.db.conn(ctx).Model(&ballotRow{}).Where("id = ? AND superseded_at IS NULL", ballotID).Update("superseded_at", at).Error, "supersede ballot")
}

// CountedBallots lists a motion's counted ballots.
func (s *Voting) CountedBallots(ctx context.Context, motionID int64) ([]voting.Counted, error) {
	var rows []countedRow
	if err := s.db.conn(ctx).Where("motion_id = ?", motionID).Order("household_id").Find(&rows).Error; err != nil {
		return nil, wrap(err, "read counted ballots")
	}
	out := make([]voting.Counted, len(rows))
	for i, r := range rows {
		out[i] = r.toCounted()
	}
	return out, nil
}

// BallotByReceipt finds a ballot by its receipt code.
func (s *Voting) BallotByReceipt(ctx context.Context, receipt string) (voting.Ballot, error) {
	var rows []ballotRow
	if err := s.db.conn(ctx).Where("receipt = ?", receipt).Find(&rows).Error; err != nil {
		return voting.Ballot{}, wrap(err, "read ballot")
	}
	if len(rows) == 0 {
		return voting.Ballot{}, louyuan.NotFound("receipt_not_found", "没有找到这个回执码对应的选票，请核对")
	}
	return rows[0].toBallot(), nil
}

// Ballots lists every ballot of a motion in order.
func (s *Voting) Ballots(ctx context.Context, motionID int64) ([]voting.Ballot, error) {
	var rows []ballotRow
	if err := s.db.conn(ctx).Where("motion_id = ?", motionID).Order("id").Find(&rows).Error; err != nil {
		return nil, wrap(err, "read ballots")
	}
	out := make([]voting.Ballot, len(rows))
	for i, r := range rows {
		out[i] = r.toBallot()
	}
	return out, nil
}

// FileExists reports whether a stored file of that purpose belongs to the
// courtyard.
func (s *Voting) FileExists(ctx context.Context, key, purpose string, courtyardID int64) (bool, error) {
	var n int64
	err := s.db.conn(ctx).Model(&fileRow{}).Where("file_key = ? AND purpose = ? AND courtyard_id = ?", key, purpose, courtyardID).Count(&n).Error
	return n > 0, wrap(err, "check file")
}

// InScope reports whether a household lies in the motion's scope.
func (s *Voting) InScope(ctx context.Context, m voting.Motion, householdID int64) (bool, error) {
	col := map[string]string{voting.ScopeCourtyard: "courtyard_id", voting.ScopeBuilding: "building_id", voting.ScopeUnit: "unit_id"}[m.ScopeType]
	if col == "" {
		return false, nil
	}
	var n int64
	err := s.db.conn(ctx).Model(&householdRow{}).Where("id = ? AND "+col+" = ?", householdID, m.ScopeID).Count(&n).Error
	return n > 0, wrap(err, "check scope")
}

// ScopeSize counts the households in a motion's scope now.
func (s *Voting) ScopeSize(ctx context.Context, m voting.Motion) (int, error) {
	col := map[string]string{voting.ScopeCourtyard: "courtyard_id", voting.ScopeBuilding: "building_id", voting.ScopeUnit: "unit_id"}[m.ScopeType]
	if col == "" {
		return 0, louyuan.Invalid("bad_scope", "表决范围只能是楼院、楼栋或单元")
	}
	var n int64
	err := s.db.conn(ctx).Model(&householdRow{}).Where(col+" = ?", m.ScopeID).Count(&n).Error
	return int(n), wrap(err, "count households in scope")
}

// ExpireDelegations ends delegations in play past their date or whose
// motion is over. It reads only delegations in play (joined to their
// motion), then ends them by ID.
func (s *Voting) ExpireDelegations(ctx context.Context, now time.Time, householdID, proxyUserID int64) error {
	conn := s.db.conn(ctx)
	q := conn.Table("delegations d").Joins("LEFT JOIN motions m ON m.id = d.motion_id").
		Where("d.active = 1 AND ((d.until_at IS NOT NULL AND d.until_at < ?) OR (d.motion_id IS NOT NULL AND m.status NOT IN ?))",
			now, []string{string(voting.StatusDraft), string(voting.StatusNotice), string(voting.StatusVoting)})
	if householdID != 0 {
		q = q.Where("d.household_id = ?", householdID)
	}
	if proxyUserID != 0 {
		q = q.Where("d.proxy_user_id = ?", proxyUserID)
	}
	var ids []int64
	if err := q.Pluck("d.id", &ids).Error; err != nil {
		return wrap(err, "find expired delegations")
	}
	if len(ids) == 0 {
		return nil
	}
	return wrap(conn.Model(&delegationRow{}).Where("id IN ? AND active = 1", ids).
		Updates(map[string]any{"status": voting.DelegationExpired, "active": nil, "ended_at": now}).Error, "expire delegations")
}

type delegationRow struct {
	ID                int64 `gorm:"primaryKey"`
	CourtyardID       int64
	HouseholdID       int64
	ProxyUserID       int64
	MotionID          *int64
	UntilAt           *time.Time
	Status            string
	Active            *int
	AuthorisationFile *string
	CreatedBy         string
	CreatedAt         time.Time
	AcceptedAt        *time.Time
	ConfirmedAt       *time.Time
	EndedAt           *time.Time
}

func (delegationRow) TableName() string { return "delegations" }

func delegationActive(status string) *int {
	switch status {
	case voting.DelegationPending, voting.DelegationAccepted, voting.DelegationActive:
		one := 1
		return &one
	}
	return nil
}

func rowFromDelegation(d voting.Delegation) delegationRow {
	return delegationRow{ID: d.ID, CourtyardID: d.CourtyardID, HouseholdID: d.HouseholdID, ProxyUserID: d.ProxyUserID, MotionID: nullInt(d.MotionID),
		UntilAt: nullTime(d.Until), Status: d.Status, Active: delegationActive(d.Status), AuthorisationFile: nullString(d.AuthorisationFile),
		CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt, AcceptedAt: nullTime(d.AcceptedAt), ConfirmedAt: nullTime(d.ConfirmedAt), EndedAt: nullTime(d.EndedAt)}
}

func (r delegationRow) toDelegation() voting.Delegation {
	d := voting.Delegation{ID: r.ID, CourtyardID: r.CourtyardID, HouseholdID: r.HouseholdID, ProxyUserID: r.ProxyUserID, Status: r.Status,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC()}
	if r.MotionID != nil {
		d.MotionID = *r.MotionID
	}
	if r.AuthorisationFile != nil {
		d.AuthorisationFile = *r.AuthorisationFile
	}
	for _, p := range []struct {
		dst *time.Time
		src *time.Time
	}{{&d.Until, r.UntilAt}, {&d.AcceptedAt, r.AcceptedAt}, {&d.ConfirmedAt, r.ConfirmedAt}, {&d.EndedAt, r.EndedAt}} {
		if p.src != nil {
			*p.dst = p.src.UTC()
		}
	}
	return d
}

// CreateDelegation inserts a delegation; a household with one in play
// already is a conflict.
func (s *Voting) CreateDelegation(ctx context.Context, d voting.Delegation) (voting.Delegation, error) {
	row := rowFromDelegation(d)
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		if isDuplicate(err) {
			return d, louyuan.Conflict("delegation_exists", "本户已有一项委托在进行中，请先撤销原委托")
		}
		return d, wrap(err, "create delegation")
	}
	d.ID = row.ID
	return d, nil
}

// Delegation reads a delegation without locking it.
func (s *Voting) Delegation(ctx context.Context, id int64) (voting.Delegation, error) {
	var row delegationRow
	err := s.db.conn(ctx).Where("id = ?", id).Take(&row).Error
	if missing, err := notFound(err); err != nil {
		return voting.Delegation{}, wrap(err, "read delegation")
	} else if missing {
		return voting.Delegation{}, voting.ErrDelegationNotFound
	}
	return row.toDelegation(), nil
}

// LockDelegation reads and locks a delegation.
func (s *Voting) LockDelegation(ctx context.Context, id int64) (voting.Delegation, error) {
	ds, err := s.LockDelegations(ctx, []int64{id})
	if err != nil {
		return voting.Delegation{}, err
	}
	d, ok := ds[id]
	if !ok {
		return voting.Delegation{}, voting.ErrDelegationNotFound
	}
	return d, nil
}

// LockDelegations reads and locks delegations in one statement, in id
// order.
func (s *Voting) LockDelegations(ctx context.Context, ids []int64) (map[int64]voting.Delegation, error) {
	out := make(map[int64]voting.Delegation, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []delegationRow
	if err := s.db.forUpdate(s.db.conn(ctx).Where("id IN ?", ids).Order("id")).Find(&rows).Error; err != nil {
		return nil, wrap(err, "read delegations")
	}
	for _, r := range rows {
		d := r.toDelegation()
		out[d.ID] = d
	}
	return out, nil
}

// UpdateDelegation writes a delegation's state.
func (s *Voting) UpdateDelegation(ctx context.Context, d voting.Delegation) error {
	row := rowFromDelegation(d)
	err := s.db.conn(ctx).Model(&delegationRow{}).Where("id = ?", d.ID).Updates(map[string]any{"status": row.Status, "active": row.Active,
		"authorisation_file": row.AuthorisationFile, "accepted_at": row.AcceptedAt, "confirmed_at": row.ConfirmedAt, "ended_at": row.EndedAt}).Error
	return wrap(err, "update delegation")
}

// LockProxy locks a user row to serialise cap checks.
func (s *Voting) LockProxy(ctx context.Context, userID int64) error {
	var ids []int64
	return wrap(s.db.forUpdate(s.db.conn(ctx).Model(&userRow{}).Where("id = ?", userID)).Pluck("id", &ids).Error, "lock proxy")
}

// ProxyLoad counts a proxy's delegations in play in a courtyard.
func (s *Voting) ProxyLoad(ctx context.Context, proxyUserID, courtyardID int64) (int, error) {
	var n int64
	err := s.db.conn(ctx).Model(&delegationRow{}).Where("proxy_user_id = ? AND courtyard_id = ? AND active = 1", proxyUserID, courtyardID).Count(&n).Error
	return int(n), wrap(err, "count proxy delegations")
}

func (s *Voting) delegationList(ctx context.Context, where string, args ...any) ([]voting.Delegation, error) {
	var rows []delegationRow
	if err := s.db.conn(ctx).Where(where, args...).Order("id DESC").Limit(500).Find(&rows).Error; err != nil {
		return nil, wrap(err, "list delegations")
	}
	out := make([]voting.Delegation, len(rows))
	for i, r := range rows {
		out[i] = r.toDelegation()
	}
	return out, nil
}

// DelegationsOfHouseholds lists delegations given by these households.
func (s *Voting) DelegationsOfHouseholds(ctx context.Context, householdIDs []int64) ([]voting.Delegation, error) {
	if len(householdIDs) == 0 {
		return []voting.Delegation{}, nil
	}
	return s.delegationList(ctx, "household_id IN ?", householdIDs)
}

// DelegationsOfProxy lists delegations held by a proxy.
func (s *Voting) DelegationsOfProxy(ctx context.Context, proxyUserID int64) ([]voting.Delegation, error) {
	return s.delegationList(ctx, "proxy_user_id = ?", proxyUserID)
}

// IsBound reports whether a user is bound to any household.
func (s *Voting) IsBound(ctx context.Context, userID int64) (bool, error) {
	var n int64
	err := s.db.conn(ctx).Model(&membershipRow{}).Where("user_id = ?", userID).Count(&n).Error
	return n > 0, wrap(err, "check binding")
}

// HouseholdCourtyard returns a household's courtyard.
func (s *Voting) HouseholdCourtyard(ctx context.Context, householdID int64) (int64, error) {
	var ids []int64
	if err := s.db.conn(ctx).Model(&householdRow{}).Where("id = ?", householdID).Pluck("courtyard_id", &ids).Error; err != nil {
		return 0, wrap(err, "read household")
	}
	if len(ids) == 0 {
		return 0, louyuan.NotFound("household_not_found", "房屋不存在")
	}
	return ids[0], nil
}

// WithdrawProxyBallots turns a delegation's counted proxy ballots in
// motions still voting into "no vote" (the motion rows are share-locked so
// that a close cannot interleave).
func (s *Voting) WithdrawProxyBallots(ctx context.Context, delegationID int64, now time.Time) ([]voting.Counted, error) {
	conn := s.db.conn(ctx)
	var rows []countedRow
	if err := s.db.forUpdate(conn.Where("delegation_id = ? AND channel = ?", delegationID, voting.ChannelProxy)).Find(&rows).Error; err != nil {
		return nil, wrap(err, "read proxy ballots")
	}
	var out []voting.Counted
	for _, r := range rows {
		m, err := s.shareMotion(ctx, r.MotionID)
		if err != nil {
			return nil, err
		}
		if m.Status != voting.StatusVoting {
			continue
		}
		if err := s.supersedeBallot(ctx, r.BallotID, now); err != nil {
			return nil, err
		}
		c := voting.Counted{MotionID: r.MotionID, HouseholdID: r.HouseholdID, BallotID: r.BallotID, Channel: voting.ChannelWithdrawn,
			DelegationID: delegationID, Version: r.Version + 1}
		if err := s.replaceCounted(ctx, c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

var _ voting.Store = (*Voting)(nil)
