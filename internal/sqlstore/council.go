package sqlstore

import (
	"context"
	"time"

	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// Councils is the council.Store on SQL.
type Councils struct {
	db     *DB
	voting *Voting
	places *Places
}

// NewCouncils returns the council store of db.
func NewCouncils(db *DB) *Councils {
	return &Councils{db: db, voting: NewVoting(db), places: NewPlaces(db)}
}

var _ council.Store = (*Councils)(nil)

// InTx runs fn in a transaction.
func (s *Councils) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// CourtyardPlace locates a courtyard.
func (s *Councils) CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error) {
	c, err := s.voting.Courtyard(ctx, courtyardID)
	return c.Place, err
}

// CommunityPlace locates a community.
func (s *Councils) CommunityPlace(ctx context.Context, communityID int64) (identity.Place, error) {
	var subs []int64
	if err := s.db.conn(ctx).Table("communities").Where("id = ?", communityID).Pluck("subdistrict_id", &subs).Error; err != nil {
		return identity.Place{}, wrap(err, "read community")
	}
	if len(subs) == 0 {
		return identity.Place{}, louyuan.NotFound("community_not_found", "社区不存在")
	}
	return identity.Place{SubdistrictID: subs[0], CommunityID: communityID}, nil
}

// ScopeCourtyard finds the courtyard of a building or unit.
func (s *Councils) ScopeCourtyard(ctx context.Context, scopeType string, scopeID int64) (int64, error) {
	return s.voting.ScopeCourtyard(ctx, scopeType, scopeID)
}

// CreateCouncil inserts a council with its courtyards and first term.
func (s *Councils) CreateCouncil(ctx context.Context, name string, courtyardIDs []int64, startsOn, endsOn string, at time.Time) (int64, error) {
	id, _, err := s.places.CreateCouncil(ctx, name, courtyardIDs, startsOn, endsOn)
	return id, err
}

// Council reads a council whole.
func (s *Councils) Council(ctx context.Context, id int64, today string) (council.Council, error) {
	conn := s.db.conn(ctx)
	var row struct {
		ID        int64
		Name      string
		CreatedAt time.Time
	}
	err := conn.Table("councils").Where("id = ?", id).Take(&row).Error
	if missing, err := notFound(err); missing {
		return council.Council{}, louyuan.NotFound("council_not_found", "理事会不存在")
	} else if err != nil {
		return council.Council{}, wrap(err, "read council")
	}
	c := council.Council{ID: row.ID, Name: row.Name, CreatedAt: row.CreatedAt.UTC(), Terms: []council.Term{}, Staff: []council.StaffMember{}}
	if err := conn.Table("council_courtyards").Where("council_id = ?", id).Order("courtyard_id").Pluck("courtyard_id", &c.CourtyardIDs).Error; err != nil {
		return c, wrap(err, "read council courtyards")
	}
	var terms []struct {
		ID               int64
		StartsOn, EndsOn string
	}
	if err := conn.Raw("SELECT id, "+s.dateCol("starts_on")+" AS starts_on, "+s.dateCol("ends_on")+" AS ends_on FROM council_terms WHERE council_id = ? ORDER BY starts_on, id", id).
		Scan(&terms).Error; err != nil {
		return c, wrap(err, "read council terms")
	}
	for _, t := range terms {
		term := council.Term{ID: t.ID, StartsOn: t.StartsOn[:10], EndsOn: t.EndsOn[:10], Members: []council.Member{}}
		term.Current = term.StartsOn <= today && today <= term.EndsOn
		// A member without a real name on the platform is named as they
		// stood for election (the name staff vetted).
		if err := conn.Table("council_members m").Select("m.user_id, COALESCE(NULLIF(u.real_name, ''), (SELECT c.name FROM candidates c WHERE c.user_id = m.user_id ORDER BY c.id DESC LIMIT 1), '') AS name, m.role AS seat").Joins("JOIN users u ON u.id = m.user_id").
			Where("m.term_id = ?", t.ID).Order("m.id").Scan(&term.Members).Error; err != nil {
			return c, wrap(err, "read council members")
		}
		c.Terms = append(c.Terms, term)
	}
	staff, err := s.councilStaff(ctx, id)
	if err != nil {
		return c, err
	}
	c.Staff = staff
	return c, nil
}

// councilStaff reads the staff assigned to a council.
func (s *Councils) councilStaff(ctx context.Context, councilID int64) ([]council.StaffMember, error) {
	staff := []council.StaffMember{}
	if err := s.db.conn(ctx).Table("council_staff cs").Select("cs.staff_id, a.display_name AS name, cs.role").Joins("JOIN staff_accounts a ON a.id = cs.staff_id").
		Where("cs.council_id = ?", councilID).Order("cs.created_at, cs.staff_id").Scan(&staff).Error; err != nil {
		return nil, wrap(err, "read council staff")
	}
	return staff, nil
}

// LockCouncilStaff locks the council's row until the transaction ends (so
// that assignments to one council queue up) and reads its staff.
func (s *Councils) LockCouncilStaff(ctx context.Context, councilID int64) ([]council.StaffMember, error) {
	var ids []int64
	if err := s.db.conn(ctx).Raw("SELECT id FROM councils WHERE id = ?"+s.db.lockSuffix(" FOR UPDATE"), councilID).Scan(&ids).Error; err != nil {
		return nil, wrap(err, "lock council")
	}
	if len(ids) == 0 {
		return nil, louyuan.NotFound("council_not_found", "理事会不存在")
	}
	return s.councilStaff(ctx, councilID)
}

// dateCol reads a DATE column as text on both databases.
func (s *Councils) dateCol(col string) string {
	if s.db.Dialect == MySQL {
		return "DATE_FORMAT(" + col + ", '%Y-%m-%d')"
	}
	return col
}

// CourtyardCouncils lists the councils serving a courtyard.
func (s *Councils) CourtyardCouncils(ctx context.Context, courtyardID int64) ([]int64, error) {
	var ids []int64
	err := s.db.conn(ctx).Table("council_courtyards").Where("courtyard_id = ?", courtyardID).Order("council_id").Pluck("council_id", &ids).Error
	return ids, wrap(err, "list councils")
}

// StaffName reads a staff account's display name.
func (s *Councils) StaffName(ctx context.Context, staffID int64) (string, error) {
	var names []string
	if err := s.db.conn(ctx).Table("staff_accounts").Where("id = ? AND disabled = 0", staffID).Pluck("display_name", &names).Error; err != nil {
		return "", wrap(err, "read staff")
	}
	if len(names) == 0 {
		return "", louyuan.NotFound("staff_not_found", "工作人员账号不存在")
	}
	return names[0], nil
}

// AddStaff assigns a staff account to a council.
func (s *Councils) AddStaff(ctx context.Context, councilID, staffID int64, role, by string, at time.Time) error {
	err := s.db.conn(ctx).Table("council_staff").Create(map[string]any{"council_id": councilID, "staff_id": staffID, "role": role, "assigned_by": by, "created_at": at}).Error
	if isDuplicate(err) {
		return louyuan.Conflict("staff_already_assigned", "该工作人员已分配到本理事会")
	}
	return wrap(err, "assign staff")
}

// RemoveStaff ends an assignment.
func (s *Councils) RemoveStaff(ctx context.Context, councilID, staffID int64) error {
	res := s.db.conn(ctx).Exec("DELETE FROM council_staff WHERE council_id = ? AND staff_id = ?", councilID, staffID)
	if res.Error != nil {
		return wrap(res.Error, "remove staff")
	}
	if res.RowsAffected == 0 {
		return louyuan.NotFound("staff_not_assigned", "该工作人员没有分配到本理事会")
	}
	return nil
}

// UserName reads a user's real name.
func (s *Councils) UserName(ctx context.Context, userID int64) (string, error) {
	var names []string
	if err := s.db.conn(ctx).Table("users").Where("id = ?", userID).Pluck("real_name", &names).Error; err != nil {
		return "", wrap(err, "read user")
	}
	if len(names) == 0 {
		return "", louyuan.NotFound("user_not_found", "用户不存在")
	}
	return names[0], nil
}

// StartTerm ends the running terms the day before startsOn and adds the
// new term with its members.
func (s *Councils) StartTerm(ctx context.Context, councilID int64, startsOn, endsOn string, members []council.Member, at time.Time) (int64, error) {
	start, err := time.Parse(time.DateOnly, startsOn)
	if err != nil {
		return 0, louyuan.Invalid("bad_date", "任期开始日期格式有误")
	}
	dayBefore := start.AddDate(0, 0, -1).Format(time.DateOnly)
	conn := s.db.conn(ctx)
	if err := conn.Exec("UPDATE council_terms SET ends_on = ? WHERE council_id = ? AND ends_on >= ? AND starts_on < ?", dayBefore, councilID, startsOn, startsOn).Error; err != nil {
		return 0, wrap(err, "end running term")
	}
	if err := conn.Exec("DELETE FROM council_members WHERE term_id IN (SELECT id FROM council_terms WHERE council_id = ? AND starts_on >= ?)", councilID, startsOn).Error; err != nil {
		return 0, wrap(err, "clear later terms")
	}
	if err := conn.Exec("DELETE FROM council_terms WHERE council_id = ? AND starts_on >= ?", councilID, startsOn).Error; err != nil {
		return 0, wrap(err, "clear later terms")
	}
	t := struct {
		ID        int64 `gorm:"primaryKey"`
		CouncilID int64
		StartsOn  string
		EndsOn    string
		CreatedAt time.Time
	}{CouncilID: councilID, StartsOn: startsOn, EndsOn: endsOn, CreatedAt: at}
	if err := conn.Table("council_terms").Create(&t).Error; err != nil {
		return 0, wrap(err, "create term")
	}
	for _, m := range members {
		if err := s.places.AddCouncilMember(ctx, t.ID, m.UserID, m.Seat); err != nil {
			return 0, err
		}
	}
	return t.ID, nil
}

type electionRow struct {
	ID           int64 `gorm:"primaryKey"`
	CouncilID    int64
	CourtyardID  int64
	ScopeType    string
	ScopeID      int64
	Title        string
	Seats        int
	TermStartsOn string
	TermEndsOn   string
	Status       string
	MotionID     *int64
	TermID       *int64
	CreatedBy    string
	CreatedAt    time.Time
	PublishedAt  *time.Time
	ConfirmedBy  *string
	ConfirmedAt  *time.Time
}

func (electionRow) TableName() string { return "elections" }

func electionRowOf(e council.Election) electionRow {
	r := electionRow{ID: e.ID, CouncilID: e.CouncilID, CourtyardID: e.CourtyardID, ScopeType: e.ScopeType, ScopeID: e.ScopeID, Title: e.Title, Seats: e.Seats,
		TermStartsOn: e.TermStartsOn, TermEndsOn: e.TermEndsOn, Status: e.Status, CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt,
		PublishedAt: nullTime(e.PublishedAt), ConfirmedBy: nullString(e.ConfirmedBy), ConfirmedAt: nullTime(e.ConfirmedAt)}
	if e.MotionID != 0 {
		r.MotionID = &e.MotionID
	}
	if e.TermID != 0 {
		r.TermID = &e.TermID
	}
	return r
}

func (r electionRow) toElection() council.Election {
	e := council.Election{ID: r.ID, CouncilID: r.CouncilID, CourtyardID: r.CourtyardID, ScopeType: r.ScopeType, ScopeID: r.ScopeID, Title: r.Title,
		Seats: r.Seats, TermStartsOn: r.TermStartsOn[:10], TermEndsOn: r.TermEndsOn[:10], Status: r.Status, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC()}
	if r.MotionID != nil {
		e.MotionID = *r.MotionID
	}
	if r.TermID != nil {
		e.TermID = *r.TermID
	}
	if r.PublishedAt != nil {
		e.PublishedAt = r.PublishedAt.UTC()
	}
	if r.ConfirmedBy != nil {
		e.ConfirmedBy = *r.ConfirmedBy
	}
	if r.ConfirmedAt != nil {
		e.ConfirmedAt = r.ConfirmedAt.UTC()
	}
	return e
}

func (s *Councils) electionSelect() string {
	return "SELECT id, council_id, courtyard_id, scope_type, scope_id, title, seats, " + s.dateCol("term_starts_on") + " AS term_starts_on, " +
		s.dateCol("term_ends_on") + " AS term_ends_on, status, motion_id, term_id, created_by, created_at, published_at, confirmed_by, confirmed_at FROM elections "
}

// CreateElection inserts an election.
func (s *Councils) CreateElection(ctx context.Context, e council.Election) (council.Election, error) {
	row := electionRowOf(e)
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		return e, wrap(err, "create election")
	}
	e.ID = row.ID
	return e, nil
}

func (s *Councils) election(ctx context.Context, id int64, lock string) (council.Election, error) {
	var rows []electionRow
	if err := s.db.conn(ctx).Raw(s.electionSelect()+"WHERE id = ?"+lock, id).Scan(&rows).Error; err != nil {
		return council.Election{}, wrap(err, "read election")
	}
	if len(rows) == 0 {
		return council.Election{}, louyuan.NotFound("election_not_found", "选举不存在")
	}
	return rows[0].toElection(), nil
}

// Election reads an election.
func (s *Councils) Election(ctx context.Context, id int64) (council.Election, error) {
	return s.election(ctx, id, "")
}

// LockElection reads an election and locks it for the transaction.
func (s *Councils) LockElection(ctx context.Context, id int64) (council.Election, error) {
	return s.election(ctx, id, s.db.lockSuffix(" FOR UPDATE"))
}

// UpdateElection writes an election's state.
func (s *Councils) UpdateElection(ctx context.Context, e council.Election) error {
	r := electionRowOf(e)
	return wrap(s.db.conn(ctx).Table("elections").Where("id = ?", e.ID).Updates(map[string]any{"status": r.Status, "motion_id": r.MotionID, "term_id": r.TermID,
		"published_at": r.PublishedAt, "confirmed_by": r.ConfirmedBy, "confirmed_at": r.ConfirmedAt}).Error, "update election")
}

// Elections lists a council's elections, newest first.
func (s *Councils) Elections(ctx context.Context, councilID int64) ([]council.Election, error) {
	var rows []electionRow
	if err := s.db.conn(ctx).Raw(s.electionSelect()+"WHERE council_id = ? ORDER BY id DESC", councilID).Scan(&rows).Error; err != nil {
		return nil, wrap(err, "list elections")
	}
	out := []council.Election{}
	for _, r := range rows {
		out = append(out, r.toElection())
	}
	return out, nil
}

// MemberHousehold finds a household in scope the user belongs to as owner
// or family.
func (s *Councils) MemberHousehold(ctx context.Context, userID int64, scopeType string, scopeID int64) (int64, bool, error) {
	var ids []int64
	err := s.db.conn(ctx).Table("memberships m").Joins("JOIN households h ON h.id = m.household_id").
		Where("m.user_id = ? AND m.role <> 'tenant' AND "+scopeColumn(scopeType)+" = ?", userID, scopeID).Order("m.household_id").Pluck("m.household_id", &ids).Error
	if err != nil {
		return 0, false, wrap(err, "find candidate household")
	}
	if len(ids) == 0 {
		return 0, false, nil
	}
	return ids[0], true, nil
}

// Represented lists the households a user represents, and those in scope.
func (s *Councils) Represented(ctx context.Context, userID int64, scopeType string, scopeID int64) (all, inScope []int64, err error) {
	var rows []struct {
		HouseholdID int64
		InScope     bool
	}
	err = s.db.conn(ctx).Table("memberships m").Select("m.household_id, "+scopeColumn(scopeType)+" = ? AS in_scope", scopeID).
		Joins("JOIN households h ON h.id = m.household_id").Where("m.user_id = ? AND m.representative = 1", userID).Order("m.household_id").Scan(&rows).Error
	if err != nil {
		return nil, nil, wrap(err, "read represented households")
	}
	for _, r := range rows {
		all = append(all, r.HouseholdID)
		if r.InScope {
			inScope = append(inScope, r.HouseholdID)
		}
	}
	return all, inScope, nil
}

// ScopeRepresentatives lists the representatives of the households in scope.
func (s *Councils) ScopeRepresentatives(ctx context.Context, scopeType string, scopeID int64) ([]int64, error) {
	var ids []int64
	err := s.db.conn(ctx).Table("memberships m").Joins("JOIN households h ON h.id = m.household_id").
		Where("m.representative = 1 AND "+scopeColumn(scopeType)+" = ?", scopeID).Distinct("m.user_id").Order("m.user_id").Pluck("m.user_id", &ids).Error
	return ids, wrap(err, "list representatives")
}

type candidateRow struct {
	ID          int64 `gorm:"primaryKey"`
	ElectionID  int64
	UserID      int64
	HouseholdID int64
	Name        string
	Source      string
	Statement   string
	OptionKey   *string
	NominatedBy string
	CreatedAt   time.Time
}

func (candidateRow) TableName() string { return "candidates" }

func (r candidateRow) toCandidate() council.Candidate {
	c := council.Candidate{ID: r.ID, ElectionID: r.ElectionID, UserID: r.UserID, HouseholdID: r.HouseholdID, Name: r.Name, Source: r.Source,
		Statement: r.Statement, NominatedBy: r.NominatedBy, CreatedAt: r.CreatedAt.UTC()}
	if r.OptionKey != nil {
		c.OptionKey = *r.OptionKey
	}
	return c
}

// CreateCandidate inserts a candidate with their nominators.
func (s *Councils) CreateCandidate(ctx context.Context, c council.Candidate) (council.Candidate, error) {
	row := candidateRow{ElectionID: c.ElectionID, UserID: c.UserID, HouseholdID: c.HouseholdID, Name: c.Name, Source: c.Source, Statement: c.Statement,
		NominatedBy: c.NominatedBy, CreatedAt: c.CreatedAt}
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		if isDuplicate(err) {
			return c, louyuan.Conflict("already_candidate", "此人已经是本次选举的候选人")
		}
		return c, wrap(err, "create candidate")
	}
	c.ID = row.ID
	for _, n := range c.Nominators {
		if err := s.db.conn(ctx).Table("candidate_nominators").Create(map[string]any{"candidate_id": c.ID, "household_id": n.HouseholdID, "user_id": n.UserID}).Error; err != nil {
			return c, wrap(err, "add nominator")
		}
	}
	return c, nil
}

// nominators fills in the nominators of the residents' candidates, in one
// query.
func (s *Councils) nominators(ctx context.Context, cs []council.Candidate) error {
	at := map[int64]int{}
	var ids []int64
	for i := range cs {
		if cs[i].Source == council.SourceResidents {
			at[cs[i].ID] = i
			ids = append(ids, cs[i].ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var rows []struct{ CandidateID, UserID, HouseholdID int64 }
	if err := s.db.conn(ctx).Table("candidate_nominators").Select("candidate_id, user_id, household_id").Where("candidate_id IN ?", ids).
		Order("candidate_id, household_id").Scan(&rows).Error; err != nil {
		return wrap(err, "read nominators")
	}
	for _, r := range rows {
		i := at[r.CandidateID]
		cs[i].Nominators = append(cs[i].Nominators, council.Nominator{UserID: r.UserID, HouseholdID: r.HouseholdID})
	}
	return nil
}

// Candidate reads a candidate.
func (s *Councils) Candidate(ctx context.Context, id int64) (council.Candidate, error) {
	var rows []candidateRow
	if err := s.db.conn(ctx).Where("id = ?", id).Find(&rows).Error; err != nil {
		return council.Candidate{}, wrap(err, "read candidate")
	}
	if len(rows) == 0 {
		return council.Candidate{}, louyuan.NotFound("candidate_not_found", "候选人不存在")
	}
	cs := []council.Candidate{rows[0].toCandidate()}
	return cs[0], s.nominators(ctx, cs)
}

// Candidates lists an election's candidates in nomination order.
func (s *Councils) Candidates(ctx context.Context, electionID int64) ([]council.Candidate, error) {
	var rows []candidateRow
	if err := s.db.conn(ctx).Where("election_id = ?", electionID).Order("id").Find(&rows).Error; err != nil {
		return nil, wrap(err, "list candidates")
	}
	out := make([]council.Candidate, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.toCandidate())
	}
	return out, s.nominators(ctx, out)
}

// SetOptionKey records a candidate's option on the ballot.
func (s *Councils) SetOptionKey(ctx context.Context, candidateID int64, key string) error {
	return wrap(s.db.conn(ctx).Exec("UPDATE candidates SET option_key = ? WHERE id = ?", key, candidateID).Error, "set option key")
}

// ClearOptionKeys takes every candidate of the election off the ballot.
func (s *Councils) ClearOptionKeys(ctx context.Context, electionID int64) error {
	return wrap(s.db.conn(ctx).Exec("UPDATE candidates SET option_key = NULL WHERE election_id = ?", electionID).Error, "clear option keys")
}

type findingRow struct {
	CandidateID  int64
	Criterion    string
	Pass         bool
	Note         string
	EvidenceFile *string
	FoundBy      string
	UpdatedBy    string
	UpdatedAt    time.Time
}

// Findings lists a candidate's findings.
func (s *Councils) Findings(ctx context.Context, candidateID int64) ([]council.Finding, error) {
	var rows []findingRow
	if err := s.db.conn(ctx).Table("candidate_findings").Where("candidate_id = ?", candidateID).Order("criterion").Scan(&rows).Error; err != nil {
		return nil, wrap(err, "read findings")
	}
	out := make([]council.Finding, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.toFinding())
	}
	return out, nil
}

// ElectionFindings lists the findings on every candidate of the election,
// by candidate, in one query.
func (s *Councils) ElectionFindings(ctx context.Context, electionID int64) (map[int64][]council.Finding, error) {
	var rows []findingRow
	if err := s.db.conn(ctx).Table("candidate_findings f").Select("f.*").Joins("JOIN candidates c ON c.id = f.candidate_id").
		Where("c.election_id = ?", electionID).Order("f.candidate_id, f.criterion").Scan(&rows).Error; err != nil {
		return nil, wrap(err, "read findings")
	}
	out := map[int64][]council.Finding{}
	for _, r := range rows {
		out[r.CandidateID] = append(out[r.CandidateID], r.toFinding())
	}
	return out, nil
}

func (r findingRow) toFinding() council.Finding {
	f := council.Finding{CandidateID: r.CandidateID, Criterion: r.Criterion, Pass: r.Pass, Note: r.Note, FoundBy: r.FoundBy, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt.UTC()}
	if r.EvidenceFile != nil {
		f.EvidenceFile = *r.EvidenceFile
	}
	return f
}

// PutFinding inserts or replaces a finding, keeping the first finder.
func (s *Councils) PutFinding(ctx context.Context, f council.Finding) error {
	conn := s.db.conn(ctx)
	res := conn.Exec("UPDATE candidate_findings SET pass = ?, note = ?, evidence_file = ?, updated_by = ?, updated_at = ? WHERE candidate_id = ? AND criterion = ?",
		f.Pass, f.Note, nullString(f.EvidenceFile), f.UpdatedBy, f.UpdatedAt, f.CandidateID, f.Criterion)
	if res.Error != nil {
		return wrap(res.Error, "update finding")
	}
	if res.RowsAffected > 0 {
		return nil
	}
	return wrap(conn.Table("candidate_findings").Create(map[string]any{"candidate_id": f.CandidateID, "criterion": f.Criterion, "pass": f.Pass, "note": f.Note,
		"evidence_file": nullString(f.EvidenceFile), "found_by": f.FoundBy, "updated_by": f.UpdatedBy, "updated_at": f.UpdatedAt}).Error, "insert finding")
}

type appealRow struct {
	CandidateID  int64
	Reason       string
	FiledAt      time.Time
	Upheld       *bool
	DecisionNote *string
	DecidedBy    *string
	DecidedAt    *time.Time
}

// Appeal reads a candidate's appeal.
func (s *Councils) Appeal(ctx context.Context, candidateID int64) (council.Appeal, bool, error) {
	var rows []appealRow
	if err := s.db.conn(ctx).Table("candidate_appeals").Where("candidate_id = ?", candidateID).Scan(&rows).Error; err != nil {
		return council.Appeal{}, false, wrap(err, "read appeal")
	}
	if len(rows) == 0 {
		return council.Appeal{}, false, nil
	}
	r := rows[0]
	a := council.Appeal{CandidateID: r.CandidateID, Reason: r.Reason, FiledAt: r.FiledAt.UTC()}
	if r.Upheld != nil {
		a.Decided, a.Upheld = true, *r.Upheld
	}
	if r.DecisionNote != nil {
		a.DecisionNote = *r.DecisionNote
	}
	if r.DecidedBy != nil {
		a.DecidedBy = *r.DecidedBy
	}
	if r.DecidedAt != nil {
		a.DecidedAt = r.DecidedAt.UTC()
	}
	return a, true, nil
}

// InsertAppeal adds the candidate's one appeal.
func (s *Councils) InsertAppeal(ctx context.Context, a council.Appeal) error {
	err := s.db.conn(ctx).Table("candidate_appeals").Create(map[string]any{"candidate_id": a.CandidateID, "reason": a.Reason, "filed_at": a.FiledAt}).Error
	if isDuplicate(err) {
		return louyuan.Conflict("appeal_used", "每位候选人只能申诉一次，您已经申诉过了")
	}
	return wrap(err, "insert appeal")
}

// DecideAppeal records the decision.
func (s *Councils) DecideAppeal(ctx context.Context, a council.Appeal) error {
	return wrap(s.db.conn(ctx).Exec("UPDATE candidate_appeals SET upheld = ?, decision_note = ?, decided_by = ?, decided_at = ? WHERE candidate_id = ? AND upheld IS NULL",
		a.Upheld, a.DecisionNote, a.DecidedBy, a.DecidedAt, a.CandidateID).Error, "decide appeal")
}

// Switches reads a community's criterion switches.
func (s *Councils) Switches(ctx context.Context, communityID int64) (map[string]bool, error) {
	var rows []struct {
		Criterion string
		Enabled   bool
	}
	if err := s.db.conn(ctx).Table("criterion_switches").Where("community_id = ?", communityID).Scan(&rows).Error; err != nil {
		return nil, wrap(err, "read criterion switches")
	}
	out := map[string]bool{}
	for _, r := range rows {
		out[r.Criterion] = r.Enabled
	}
	return out, nil
}

// PutSwitch sets a community's switch of a criterion.
func (s *Councils) PutSwitch(ctx context.Context, communityID int64, criterion string, enabled bool, by string, at time.Time) error {
	conn := s.db.conn(ctx)
	res := conn.Exec("UPDATE criterion_switches SET enabled = ?, updated_by = ?, updated_at = ? WHERE community_id = ? AND criterion = ?", enabled, by, at, communityID, criterion)
	if res.Error != nil {
		return wrap(res.Error, "update switch")
	}
	if res.RowsAffected > 0 {
		return nil
	}
	return wrap(conn.Table("criterion_switches").Create(map[string]any{"community_id": communityID, "criterion": criterion, "enabled": enabled,
		"updated_by": by, "updated_at": at}).Error, "insert switch")
}

// EvidenceExists reports whether a vetting evidence file exists.
func (s *Councils) EvidenceExists(ctx context.Context, key string) (bool, error) {
	var n int64
	err := s.db.conn(ctx).Table("stored_files").Where("file_key = ? AND purpose = ?", key, "vetting_evidence").Count(&n).Error
	return n > 0, wrap(err, "find evidence")
}
