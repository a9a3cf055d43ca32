package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/files"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/opinion"
)

// Opinions is the opinion.Store on SQL: opinions and satisfaction
// surveys.
type Opinions struct {
	db       *DB
	councils *Councils
	files    *Files
}

// NewOpinions returns the opinion store of db.
func NewOpinions(db *DB) *Opinions {
	return &Opinions{db: db, councils: NewCouncils(db), files: &Files{db: db}}
}

var _ opinion.Store = (*Opinions)(nil)

// InTx runs fn in a transaction.
func (s *Opinions) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// CourtyardPlace locates a courtyard.
func (s *Opinions) CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error) {
	return s.councils.CourtyardPlace(ctx, courtyardID)
}

// CommunityPlace locates a community.
func (s *Opinions) CommunityPlace(ctx context.Context, communityID int64) (identity.Place, error) {
	return s.councils.CommunityPlace(ctx, communityID)
}

// IsResident reports whether the user is bound to a household of the
// courtyard in any role.
func (s *Opinions) IsResident(ctx context.Context, userID, courtyardID int64) (bool, error) {
	return s.files.IsResident(ctx, userID, courtyardID)
}

// BuildingCourtyard finds a building's courtyard.
func (s *Opinions) BuildingCourtyard(ctx context.Context, buildingID int64) (int64, error) {
	return s.councils.ScopeCourtyard(ctx, "building", buildingID)
}

// PhotoOwnedBy reports whether an opinion photo with that key was uploaded
// by uploader.
func (s *Opinions) PhotoOwnedBy(ctx context.Context, key, uploader string) (bool, error) {
	var n int64
	err := s.db.conn(ctx).Model(&fileRow{}).Where("file_key = ? AND purpose = ? AND uploaded_by = ?", key, string(files.PurposeOpinionPhoto), uploader).Count(&n).Error
	return n > 0, wrap(err, "check photo")
}

// IsCouncilMember reports whether the user holds a seat, today, in a
// council of the courtyard.
func (s *Opinions) IsCouncilMember(ctx context.Context, userID, courtyardID int64, today string) (bool, error) {
	ids, err := s.councils.CourtyardCouncils(ctx, courtyardID)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		c, err := s.councils.Council(ctx, id, today)
		if err != nil {
			return false, err
		}
		for _, t := range c.Terms {
			for _, m := range t.Members {
				if t.Current && m.UserID == userID {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

type opinionRow struct {
	ID          int64 `gorm:"primaryKey"`
	CourtyardID int64
	BuildingID  *int64
	RaisedBy    int64
	Category    string
	Body        string
	Photos      string
	Public      bool
	Status      string
	AssigneeID  *int64
	Rating      *int
	Reopened    bool
	DraftRef    *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ResolvedAt  *time.Time
}

func (opinionRow) TableName() string { return "opinions" }

func nullID(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func opinionRowOf(o opinion.Opinion) (opinionRow, error) {
	photos, err := json.Marshal(o.Photos)
	if err != nil {
		return opinionRow{}, err
	}
	r := opinionRow{ID: o.ID, CourtyardID: o.CourtyardID, BuildingID: nullID(o.BuildingID), RaisedBy: o.RaisedBy, Category: o.Category, Body: o.Body,
		Photos: string(photos), Public: o.Public, Status: string(o.Status), AssigneeID: nullID(o.AssigneeID), Reopened: o.Reopened,
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC()}
	if o.Rating != 0 {
		r.Rating = &o.Rating
	}
	if o.DraftRef != "" {
		r.DraftRef = &o.DraftRef
	}
	if !o.ResolvedAt.IsZero() {
		t := o.ResolvedAt.UTC()
		r.ResolvedAt = &t
	}
	return r, nil
}

func (r opinionRow) toOpinion() (opinion.Opinion, error) {
	o := opinion.Opinion{ID: r.ID, CourtyardID: r.CourtyardID, RaisedBy: r.RaisedBy, Category: r.Category, Body: r.Body, Public: r.Public,
		Status: opinion.Status(r.Status), Reopened: r.Reopened, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Photos: []string{}}
	if r.BuildingID != nil {
		o.BuildingID = *r.BuildingID
	}
	if r.AssigneeID != nil {
		o.AssigneeID = *r.AssigneeID
	}
	if r.Rating != nil {
		o.Rating = *r.Rating
	}
	if r.DraftRef != nil {
		o.DraftRef = *r.DraftRef
	}
	if r.ResolvedAt != nil {
		o.ResolvedAt = r.ResolvedAt.UTC()
	}
	if err := json.Unmarshal([]byte(r.Photos), &o.Photos); err != nil {
		return o, fmt.Errorf("opinion %d photos: %w", r.ID, err)
	}
	return o, nil
}

// CreateOpinion inserts an opinion.
func (s *Opinions) CreateOpinion(ctx context.Context, o opinion.Opinion) (opinion.Opinion, error) {
	r, err := opinionRowOf(o)
	if err != nil {
		return o, err
	}
	if err := s.db.conn(ctx).Create(&r).Error; err != nil {
		return o, wrap(err, "create opinion")
	}
	o.ID = r.ID
	return o, nil
}

func (s *Opinions) opinion(ctx context.Context, id int64, lock string) (opinion.Opinion, error) {
	var rows []opinionRow
	if err := s.db.conn(ctx).Raw("SELECT * FROM opinions WHERE id = ?"+lock, id).Scan(&rows).Error; err != nil {
		return opinion.Opinion{}, wrap(err, "read opinion")
	}
	if len(rows) == 0 {
		return opinion.Opinion{}, louyuan.NotFound("opinion_not_found", "意见不存在")
	}
	return rows[0].toOpinion()
}

// Opinion reads an opinion.
func (s *Opinions) Opinion(ctx context.Context, id int64) (opinion.Opinion, error) {
	return s.opinion(ctx, id, "")
}

// LockOpinion reads an opinion and locks its row.
func (s *Opinions) LockOpinion(ctx context.Context, id int64) (opinion.Opinion, error) {
	return s.opinion(ctx, id, s.db.lockSuffix(" FOR UPDATE"))
}

// UpdateOpinion writes an opinion's state.
func (s *Opinions) UpdateOpinion(ctx context.Context, o opinion.Opinion) error {
	r, err := opinionRowOf(o)
	if err != nil {
		return err
	}
	return wrap(s.db.conn(ctx).Table("opinions").Where("id = ?", o.ID).Updates(map[string]any{"status": r.Status, "assignee_id": r.AssigneeID,
		"rating": r.Rating, "reopened": r.Reopened, "draft_ref": r.DraftRef, "updated_at": r.UpdatedAt, "resolved_at": r.ResolvedAt}).Error, "update opinion")
}

func opinionsOf(rows []opinionRow) ([]opinion.Opinion, error) {
	out := make([]opinion.Opinion, 0, len(rows))
	for _, r := range rows {
		o, err := r.toOpinion()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Opinions lists a courtyard's opinions, newest first.
func (s *Opinions) Opinions(ctx context.Context, courtyardID int64, all bool, userID int64, status opinion.Status) ([]opinion.Opinion, error) {
	q := s.db.conn(ctx).Where("courtyard_id = ?", courtyardID)
	if !all {
		q = q.Where("(public = 1 OR raised_by = ?)", userID)
	}
	if status != "" {
		q = q.Where("status = ?", string(status))
	}
	var rows []opinionRow
	if err := q.Order("created_at DESC, id DESC").Limit(500).Find(&rows).Error; err != nil {
		return nil, wrap(err, "list opinions")
	}
	return opinionsOf(rows)
}

// UserOpinions lists the opinions a user raised, newest first.
func (s *Opinions) UserOpinions(ctx context.Context, userID int64) ([]opinion.Opinion, error) {
	var rows []opinionRow
	if err := s.db.conn(ctx).Where("raised_by = ?", userID).Order("created_at DESC, id DESC").Limit(500).Find(&rows).Error; err != nil {
		return nil, wrap(err, "list my opinions")
	}
	return opinionsOf(rows)
}

type replyRow struct {
	ID        int64 `gorm:"primaryKey"`
	OpinionID int64
	Author    string
	Body      string
	Status    string
	CreatedAt time.Time
}

func (replyRow) TableName() string { return "opinion_replies" }

// AddReply inserts a reply.
func (s *Opinions) AddReply(ctx context.Context, r opinion.Reply) (opinion.Reply, error) {
	row := replyRow{OpinionID: r.OpinionID, Author: r.Author, Body: r.Body, Status: string(r.Status), CreatedAt: r.CreatedAt.UTC()}
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		return r, wrap(err, "add reply")
	}
	r.ID = row.ID
	return r, nil
}

// Replies lists an opinion's thread, oldest first.
func (s *Opinions) Replies(ctx context.Context, opinionID int64) ([]opinion.Reply, error) {
	var rows []replyRow
	if err := s.db.conn(ctx).Where("opinion_id = ?", opinionID).Order("id").Find(&rows).Error; err != nil {
		return nil, wrap(err, "list replies")
	}
	out := make([]opinion.Reply, 0, len(rows))
	for _, r := range rows {
		out = append(out, opinion.Reply{ID: r.ID, OpinionID: r.OpinionID, Author: r.Author, Body: r.Body, Status: opinion.Status(r.Status), CreatedAt: r.CreatedAt.UTC()})
	}
	return out, nil
}

// Council reads a council whole.
func (s *Opinions) Council(ctx context.Context, id int64, today string) (council.Council, error) {
	return s.councils.Council(ctx, id, today)
}

// CommunityCouncils lists the councils serving courtyards of a community.
func (s *Opinions) CommunityCouncils(ctx context.Context, communityID int64) ([]int64, error) {
	var ids []int64
	err := s.db.conn(ctx).Table("council_courtyards cc").Joins("JOIN courtyards y ON y.id = cc.courtyard_id").Where("y.community_id = ?", communityID).
		Distinct("cc.council_id").Order("cc.council_id").Pluck("cc.council_id", &ids).Error
	return ids, wrap(err, "list community councils")
}

// Representatives lists the representatives of a courtyard's households.
func (s *Opinions) Representatives(ctx context.Context, courtyardID int64) ([]int64, error) {
	return s.councils.ScopeRepresentatives(ctx, "courtyard", courtyardID)
}

// Represents reports whether the user represents the household, and the
// household's courtyard.
func (s *Opinions) Represents(ctx context.Context, userID, householdID int64) (bool, int64, error) {
	var yards []int64
	if err := s.db.conn(ctx).Table("households").Where("id = ?", householdID).Pluck("courtyard_id", &yards).Error; err != nil {
		return false, 0, wrap(err, "read household")
	}
	if len(yards) == 0 {
		return false, 0, louyuan.NotFound("household_not_found", "房屋不存在")
	}
	var n int64
	err := s.db.conn(ctx).Table("memberships").Where("user_id = ? AND household_id = ? AND representative = 1", userID, householdID).Count(&n).Error
	return n > 0, yards[0], wrap(err, "check representative")
}

// RepresentedHouseholds lists the households a user represents.
func (s *Opinions) RepresentedHouseholds(ctx context.Context, userID int64) ([]int64, error) {
	var ids []int64
	err := s.db.conn(ctx).Table("memberships").Where("user_id = ? AND representative = 1", userID).Order("household_id").Pluck("household_id", &ids).Error
	return ids, wrap(err, "list represented households")
}

type surveyRow struct {
	ID        int64 `gorm:"primaryKey"`
	CouncilID int64
	TermID    int64
	Title     string
	Questions string
	Status    string
	ClosesAt  time.Time
	CreatedBy string
	CreatedAt time.Time
}

func (surveyRow) TableName() string { return "surveys" }

func (r surveyRow) toSurvey() (opinion.Survey, error) {
	v := opinion.Survey{ID: r.ID, CouncilID: r.CouncilID, TermID: r.TermID, Title: r.Title, Status: r.Status, ClosesAt: r.ClosesAt.UTC(),
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC()}
	if err := json.Unmarshal([]byte(r.Questions), &v.Questions); err != nil {
		return v, fmt.Errorf("survey %d questions: %w", r.ID, err)
	}
	return v, nil
}

// CreateSurvey inserts a survey.
func (s *Opinions) CreateSurvey(ctx context.Context, v opinion.Survey) (opinion.Survey, error) {
	qs, err := json.Marshal(v.Questions)
	if err != nil {
		return v, err
	}
	r := surveyRow{CouncilID: v.CouncilID, TermID: v.TermID, Title: v.Title, Questions: string(qs), Status: v.Status, ClosesAt: v.ClosesAt.UTC(),
		CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt.UTC()}
	if err := s.db.conn(ctx).Create(&r).Error; err != nil {
		return v, wrap(err, "create survey")
	}
	v.ID = r.ID
	return v, nil
}

func (s *Opinions) survey(ctx context.Context, id int64, lock string) (opinion.Survey, error) {
	var rows []surveyRow
	if err := s.db.conn(ctx).Raw("SELECT * FROM surveys WHERE id = ?"+lock, id).Scan(&rows).Error; err != nil {
		return opinion.Survey{}, wrap(err, "read survey")
	}
	if len(rows) == 0 {
		return opinion.Survey{}, louyuan.NotFound("survey_not_found", "问卷不存在")
	}
	return rows[0].toSurvey()
}

// Survey reads a survey.
func (s *Opinions) Survey(ctx context.Context, id int64) (opinion.Survey, error) {
	return s.survey(ctx, id, "")
}

// ShareSurvey reads a survey under a shared lock of its row.
func (s *Opinions) ShareSurvey(ctx context.Context, id int64) (opinion.Survey, error) {
	return s.survey(ctx, id, s.db.lockSuffix(" LOCK IN SHARE MODE"))
}

// LockSurvey reads a survey and locks its row.
func (s *Opinions) LockSurvey(ctx context.Context, id int64) (opinion.Survey, error) {
	return s.survey(ctx, id, s.db.lockSuffix(" FOR UPDATE"))
}

// CloseSurvey marks a survey closed.
func (s *Opinions) CloseSurvey(ctx context.Context, id int64) error {
	return wrap(s.db.conn(ctx).Table("surveys").Where("id = ?", id).Update("status", opinion.SurveyClosed).Error, "close survey")
}

// Surveys lists a council's surveys, newest first.
func (s *Opinions) Surveys(ctx context.Context, councilID int64) ([]opinion.Survey, error) {
	var rows []surveyRow
	if err := s.db.conn(ctx).Where("council_id = ?", councilID).Order("created_at DESC, id DESC").Find(&rows).Error; err != nil {
		return nil, wrap(err, "list surveys")
	}
	out := []opinion.Survey{}
	for _, r := range rows {
		v, err := r.toSurvey()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

type responseRow struct {
	ID          int64 `gorm:"primaryKey"`
	SurveyID    int64
	HouseholdID int64
	UserID      int64
	Answers     string
	CreatedAt   time.Time
}

func (responseRow) TableName() string { return "survey_responses" }

// InsertResponse adds a household's response; the unique key refuses a
// second one.
func (s *Opinions) InsertResponse(ctx context.Context, r opinion.Response) (opinion.Response, error) {
	as, err := json.Marshal(r.Answers)
	if err != nil {
		return r, err
	}
	row := responseRow{SurveyID: r.SurveyID, HouseholdID: r.HouseholdID, UserID: r.UserID, Answers: string(as), CreatedAt: r.CreatedAt.UTC()}
	if err := s.db.conn(ctx).Create(&row).Error; err != nil {
		if isDuplicate(err) {
			return r, louyuan.Conflict("already_answered", "本户已经填写过这份测评问卷，每户只能填写一份")
		}
		return r, wrap(err, "insert response")
	}
	r.ID = row.ID
	return r, nil
}

// Responses lists a survey's responses.
func (s *Opinions) Responses(ctx context.Context, surveyID int64) ([]opinion.Response, error) {
	var rows []responseRow
	if err := s.db.conn(ctx).Where("survey_id = ?", surveyID).Order("id").Find(&rows).Error; err != nil {
		return nil, wrap(err, "list responses")
	}
	out := make([]opinion.Response, 0, len(rows))
	for _, r := range rows {
		v := opinion.Response{ID: r.ID, SurveyID: r.SurveyID, HouseholdID: r.HouseholdID, UserID: r.UserID, CreatedAt: r.CreatedAt.UTC()}
		if err := json.Unmarshal([]byte(r.Answers), &v.Answers); err != nil {
			return nil, fmt.Errorf("response %d answers: %w", r.ID, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// AnsweredHouseholds lists which of the households answered the survey.
func (s *Opinions) AnsweredHouseholds(ctx context.Context, surveyID int64, households []int64) ([]int64, error) {
	if len(households) == 0 {
		return nil, nil
	}
	var ids []int64
	err := s.db.conn(ctx).Table("survey_responses").Where("survey_id = ? AND household_id IN ?", surveyID, households).Pluck("household_id", &ids).Error
	return ids, wrap(err, "list answered households")
}
