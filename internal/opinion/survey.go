package opinion

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// Question kinds.
const (
	KindRating = "rating" // 1 to 5
	KindText   = "text"   // free text, optional
)

// Survey statuses; an open survey past closes_at reads as closed.
const (
	SurveyOpen   = "open"
	SurveyClosed = "closed"
)

// Question is one question of a survey.
type Question struct {
	Text string `json:"text"`
	Kind string `json:"kind"`
}

// Survey is a satisfaction survey (大家评) of a council's term.
type Survey struct {
	ID        int64      `json:"id"`
	CouncilID int64      `json:"council_id"`
	TermID    int64      `json:"term_id"`
	Title     string     `json:"title"`
	Questions []Question `json:"questions"`
	Status    string     `json:"status"`
	ClosesAt  time.Time  `json:"closes_at"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

// Answer answers one question: a rating for a rating question, text for a
// text question.
type Answer struct {
	Rating int    `json:"rating,omitempty"`
	Text   string `json:"text,omitempty"`
}

// Response is one household's answers.
type Response struct {
	ID          int64     `json:"id"`
	SurveyID    int64     `json:"survey_id"`
	HouseholdID int64     `json:"household_id"`
	UserID      int64     `json:"user_id"`
	Answers     []Answer  `json:"answers"`
	CreatedAt   time.Time `json:"created_at"`
}

// QuestionResult sums up one question: the average rating (two decimals)
// and how many rated, or the free texts in no order that tells who wrote
// them.
type QuestionResult struct {
	Text    string   `json:"text"`
	Kind    string   `json:"kind"`
	Rated   int      `json:"rated,omitempty"`
	Average *float64 `json:"average,omitempty"`
	Texts   []string `json:"texts,omitempty"`
}

// Results are a survey's anonymous results.
type Results struct {
	Survey    Survey           `json:"survey"`
	Responses int              `json:"responses"`
	Questions []QuestionResult `json:"questions"`
	// Average is the mean of the rating questions' averages.
	Average *float64 `json:"average,omitempty"`
}

// CheckQuestions validates a survey's questions.
func CheckQuestions(qs []Question) error {
	if len(qs) == 0 || len(qs) > 30 {
		return louyuan.Invalid("bad_questions", "问卷须有1到30个问题")
	}
	rated := false
	for i, q := range qs {
		if err := louyuan.CheckText("问题", q.Text, false); err != nil {
			return err
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(q.Text)); n < 2 || n > 200 {
			return louyuan.Errorf(louyuan.KindInvalid, "bad_questions", "第%d个问题须为2到200字", i+1)
		}
		switch q.Kind {
		case KindRating:
			rated = true
		case KindText:
		default:
			return louyuan.Errorf(louyuan.KindInvalid, "bad_questions", "第%d个问题的类型只能是 rating（1到5分）或 text（文字）", i+1)
		}
	}
	if !rated {
		return louyuan.Invalid("bad_questions", "问卷至少要有一个评分题")
	}
	return nil
}

// CheckAnswers validates a response against the questions: every rating
// question rated 1 to 5, text at most 500 characters.
func CheckAnswers(qs []Question, as []Answer) error {
	if len(as) != len(qs) {
		return louyuan.Errorf(louyuan.KindInvalid, "bad_answers", "须逐题作答：问卷有%d个问题", len(qs))
	}
	for i, q := range qs {
		a := as[i]
		switch q.Kind {
		case KindRating:
			if a.Rating < 1 || a.Rating > 5 || a.Text != "" {
				return louyuan.Errorf(louyuan.KindInvalid, "bad_answers", "第%d题须打1到5分", i+1)
			}
		case KindText:
			if a.Rating != 0 {
				return louyuan.Errorf(louyuan.KindInvalid, "bad_answers", "第%d题是文字题，不能打分", i+1)
			}
			if err := louyuan.CheckText("回答", a.Text, true); err != nil {
				return err
			}
			if utf8.RuneCountInString(a.Text) > 500 {
				return louyuan.Errorf(louyuan.KindInvalid, "bad_answers", "第%d题的回答不能超过500字", i+1)
			}
		}
	}
	return nil
}

// Tally sums up responses: averages per rating question rounded to two
// decimals, and the non-empty texts sorted (so that their order says
// nothing of who answered when).
func Tally(s Survey, rs []Response) Results {
	out := Results{Survey: s, Responses: len(rs), Questions: make([]QuestionResult, len(s.Questions))}
	var sumAvg float64
	nAvg := 0
	for i, q := range s.Questions {
		qr := QuestionResult{Text: q.Text, Kind: q.Kind}
		sum := 0
		for _, r := range rs {
			if i >= len(r.Answers) {
				continue
			}
			a := r.Answers[i]
			switch q.Kind {
			case KindRating:
				if a.Rating >= 1 && a.Rating <= 5 {
					sum += a.Rating
					qr.Rated++
				}
			case KindText:
				if t := strings.TrimSpace(a.Text); t != "" {
					qr.Texts = append(qr.Texts, t)
				}
			}
		}
		if qr.Rated > 0 {
			avg := round2(float64(sum) / float64(qr.Rated))
			qr.Average = &avg
			sumAvg += avg
			nAvg++
		}
		slices.Sort(qr.Texts)
		out.Questions[i] = qr
	}
	if nAvg > 0 {
		avg := round2(sumAvg / float64(nAvg))
		out.Average = &avg
	}
	return out
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// status reads a survey's status as of now.
func (s *Service) status(v Survey) Survey {
	if v.Status == SurveyOpen && !s.now().Before(v.ClosesAt) {
		v.Status = SurveyClosed
	}
	return v
}

// councilStanding reads a council and how p stands to it: staff over all
// its courtyards, its chair in the running term, or a resident of one of
// its courtyards.
func (s *Service) councilStanding(ctx context.Context, p identity.Principal, councilID int64) (council.Council, bool, bool, error) {
	c, err := s.store.Council(ctx, councilID, s.today())
	if err != nil {
		return c, false, false, err
	}
	staff, member := len(c.CourtyardIDs) > 0, false
	for _, y := range c.CourtyardIDs {
		place, err := s.store.CourtyardPlace(ctx, y)
		if err != nil {
			return c, false, false, err
		}
		staff = staff && p.Can(place, identity.StaffRoles...)
		member = member || p.Can(place, councilRoles...)
		if p.Kind == identity.KindUser && !member {
			r, err := s.store.IsResident(ctx, p.ID, y)
			if err != nil {
				return c, false, false, err
			}
			member = r
		}
	}
	return c, staff, member || staff, nil
}

func chairOf(c council.Council, p identity.Principal) bool {
	if p.Kind != identity.KindUser {
		return false
	}
	for _, t := range c.Terms {
		if !t.Current {
			continue
		}
		for _, m := range t.Members {
			if m.UserID == p.ID && m.Seat == council.SeatChair {
				return true
			}
		}
	}
	return false
}

func currentTerm(c council.Council) (council.Term, bool) {
	for _, t := range c.Terms {
		if t.Current {
			return t, true
		}
	}
	return council.Term{}, false
}

// SurveyDraft is what staff or the chair fill in.
type SurveyDraft struct {
	Title     string
	Questions []Question
	ClosesAt  time.Time
}

// OpenSurvey opens a satisfaction survey of the council's running term
// (staff over all its courtyards, or its chair); the courtyards'
// representatives are told.
func (s *Service) OpenSurvey(ctx context.Context, p identity.Principal, councilID int64, d SurveyDraft) (Survey, error) {
	d.Title = strings.TrimSpace(d.Title)
	if err := louyuan.CheckText("标题", d.Title, false); err != nil {
		return Survey{}, err
	}
	if n := utf8.RuneCountInString(d.Title); n < 2 || n > 60 {
		return Survey{}, louyuan.Invalid("bad_title", "标题须为2到60个字")
	}
	for i := range d.Questions {
		d.Questions[i].Text = strings.TrimSpace(d.Questions[i].Text)
	}
	if err := CheckQuestions(d.Questions); err != nil {
		return Survey{}, err
	}
	if !d.ClosesAt.After(s.now()) || d.ClosesAt.After(s.now().AddDate(0, 3, 0)) {
		return Survey{}, louyuan.Invalid("bad_closes_at", "截止时间须晚于现在，且不超过三个月")
	}
	c, staff, _, err := s.councilStanding(ctx, p, councilID)
	if err != nil {
		return Survey{}, err
	}
	if !staff && !chairOf(c, p) {
		return Survey{}, louyuan.Forbidden("not_in_scope", "只有负责该理事会的工作人员或理事长可以发起满意度测评")
	}
	term, ok := currentTerm(c)
	if !ok {
		return Survey{}, louyuan.Conflict("no_current_term", "该理事会目前没有在任的一届，不能发起测评")
	}
	v := Survey{CouncilID: councilID, TermID: term.ID, Title: d.Title, Questions: d.Questions, Status: SurveyOpen, ClosesAt: d.ClosesAt.UTC(),
		CreatedBy: p.Ref(), CreatedAt: s.now().UTC()}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if v, err = s.store.CreateSurvey(ctx, v); err != nil {
			return err
		}
		for _, y := range c.CourtyardIDs {
			if err := s.record(ctx, y, p.Ref(), "survey.open", ref("survey", v.ID), map[string]any{"council": councilID, "term": term.ID,
				"title": v.Title, "questions": len(v.Questions)}); err != nil {
				return err
			}
			reps, err := s.store.Representatives(ctx, y)
			if err != nil {
				return err
			}
			if err := s.notify.Tell(ctx, y, "survey.open:"+strconv.FormatInt(v.ID, 10)+":"+strconv.FormatInt(y, 10), "理事会满意度测评："+v.Title,
				"请户代表在"+v.ClosesAt.In(louyuan.China).Format("1月2日15:04")+"前为"+c.Name+"本届的工作打分，每户一份。",
				"pages/survey/detail?id="+strconv.FormatInt(v.ID, 10), reps); err != nil {
				return err
			}
		}
		return nil
	})
	return v, err
}

// SurveyView is a survey with the caller's households that may still
// answer it.
type SurveyView struct {
	Survey   Survey  `json:"survey"`
	Answered []int64 `json:"answered_households"`
	ToAnswer []int64 `json:"households_to_answer"`
}

var errSurveyNotFound = louyuan.NotFound("survey_not_found", "问卷不存在")

// SurveyVisible tells whether p may see the survey: nil, or the 404 a read
// of it gives them (the API checks it before reading a request's body).
func (s *Service) SurveyVisible(ctx context.Context, p identity.Principal, id int64) error {
	v, err := s.store.Survey(ctx, id)
	if err != nil {
		return err
	}
	_, _, ok, err := s.councilStanding(ctx, p, v.CouncilID)
	if err != nil {
		return err
	}
	if !ok {
		return errSurveyNotFound
	}
	return nil
}

// GetSurvey returns a survey to the council's residents, council and
// staff.
func (s *Service) GetSurvey(ctx context.Context, p identity.Principal, id int64) (SurveyView, error) {
	v, err := s.store.Survey(ctx, id)
	if err != nil {
		return SurveyView{}, err
	}
	c, _, ok, err := s.councilStanding(ctx, p, v.CouncilID)
	if err != nil {
		return SurveyView{}, err
	}
	if !ok {
		return SurveyView{}, errSurveyNotFound
	}
	out := SurveyView{Survey: s.status(v), Answered: []int64{}, ToAnswer: []int64{}}
	if p.Kind != identity.KindUser {
		return out, nil
	}
	mine, err := s.councilHouseholds(ctx, p, c)
	if err != nil {
		return out, err
	}
	done, err := s.store.AnsweredHouseholds(ctx, id, mine)
	if err != nil {
		return out, err
	}
	for _, h := range mine {
		if slices.Contains(done, h) {
			out.Answered = append(out.Answered, h)
		} else {
			out.ToAnswer = append(out.ToAnswer, h)
		}
	}
	return out, nil
}

// councilHouseholds lists the households p represents in the council's
// courtyards.
func (s *Service) councilHouseholds(ctx context.Context, p identity.Principal, c council.Council) ([]int64, error) {
	all, err := s.store.RepresentedHouseholds(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, h := range all {
		_, yard, err := s.store.Represents(ctx, p.ID, h)
		if err != nil {
			return nil, err
		}
		if slices.Contains(c.CourtyardIDs, yard) {
			out = append(out, h)
		}
	}
	return out, nil
}

// Surveys lists a council's surveys (each of a term), newest first.
func (s *Service) Surveys(ctx context.Context, p identity.Principal, councilID int64) ([]Survey, error) {
	_, _, ok, err := s.councilStanding(ctx, p, councilID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, louyuan.Forbidden("not_in_scope", "您不是该理事会所在楼院的住户、理事会成员或工作人员")
	}
	vs, err := s.store.Surveys(ctx, councilID)
	for i := range vs {
		vs[i] = s.status(vs[i])
	}
	return vs, err
}

// Respond records a household's answers, given by its representative.
// A second response of the household is refused by the unique key.
func (s *Service) Respond(ctx context.Context, p identity.Principal, id, householdID int64, answers []Answer) (Response, error) {
	v, err := s.store.Survey(ctx, id)
	if err != nil {
		return Response{}, err
	}
	c, _, ok, err := s.councilStanding(ctx, p, v.CouncilID)
	if err != nil {
		return Response{}, err
	}
	if !ok {
		return Response{}, errSurveyNotFound
	}
	if v = s.status(v); v.Status != SurveyOpen {
		return Response{}, louyuan.Conflict("survey_closed", "测评已经结束")
	}
	for i := range answers {
		answers[i].Text = strings.TrimSpace(answers[i].Text)
	}
	if err := CheckAnswers(v.Questions, answers); err != nil {
		return Response{}, err
	}
	if p.Kind != identity.KindUser {
		return Response{}, louyuan.Forbidden("not_representative", "只有户代表可以填写测评")
	}
	rep, yard, err := s.store.Represents(ctx, p.ID, householdID)
	if err != nil {
		return Response{}, err
	}
	if !rep {
		return Response{}, louyuan.Forbidden("not_representative", "只有该户的户代表可以填写测评")
	}
	if !slices.Contains(c.CourtyardIDs, yard) {
		return Response{}, louyuan.Forbidden("household_outside_council", "该房屋不在这个理事会服务的楼院内")
	}
	r := Response{SurveyID: id, HouseholdID: householdID, UserID: p.ID, Answers: answers, CreatedAt: s.now().UTC()}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		// Closed meanwhile (CloseSurvey holds the row until it commits)?
		cur, err := s.store.ShareSurvey(ctx, id)
		if err != nil {
			return err
		}
		if s.status(cur).Status != SurveyOpen {
			return louyuan.Conflict("survey_closed", "测评已经结束")
		}
		if r, err = s.store.InsertResponse(ctx, r); err != nil {
			return err
		}
		// The audit entry names the household, never the answers.
		return s.record(ctx, yard, p.Ref(), "survey.respond", ref("survey", id), map[string]any{"household": householdID})
	})
	return r, err
}

// CloseSurvey ends a survey early (staff or the chair).
func (s *Service) CloseSurvey(ctx context.Context, p identity.Principal, id int64) (Survey, error) {
	v, err := s.store.Survey(ctx, id)
	if err != nil {
		return Survey{}, err
	}
	c, staff, ok, err := s.councilStanding(ctx, p, v.CouncilID)
	if err != nil {
		return Survey{}, err
	}
	if !ok && !chairOf(c, p) {
		return Survey{}, errSurveyNotFound
	}
	if !staff && !chairOf(c, p) {
		return Survey{}, louyuan.Forbidden("not_in_scope", "只有负责该理事会的工作人员或理事长可以结束测评")
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.LockSurvey(ctx, id)
		if err != nil {
			return err
		}
		if s.status(cur).Status != SurveyOpen {
			return louyuan.Conflict("survey_closed", "测评已经结束")
		}
		if err := s.store.CloseSurvey(ctx, id); err != nil {
			return err
		}
		v, v.Status = cur, SurveyClosed
		for _, y := range c.CourtyardIDs {
			if err := s.record(ctx, y, p.Ref(), "survey.close", ref("survey", id), nil); err != nil {
				return err
			}
		}
		return nil
	})
	return v, err
}

// Results returns a survey's anonymous results to the council's
// residents, council and staff.
func (s *Service) Results(ctx context.Context, p identity.Principal, id int64) (Results, error) {
	v, err := s.store.Survey(ctx, id)
	if err != nil {
		return Results{}, err
	}
	_, _, ok, err := s.councilStanding(ctx, p, v.CouncilID)
	if err != nil {
		return Results{}, err
	}
	if !ok {
		return Results{}, errSurveyNotFound
	}
	rs, err := s.store.Responses(ctx, id)
	if err != nil {
		return Results{}, err
	}
	return Tally(s.status(v), rs), nil
}

// CouncilResults returns the results of every survey of a council, newest
// first, without the free texts (the council's dashboard): the caller's
// standing is checked once for them all.
func (s *Service) CouncilResults(ctx context.Context, p identity.Principal, councilID int64) ([]Results, error) {
	vs, err := s.Surveys(ctx, p, councilID)
	if err != nil {
		return nil, err
	}
	out := make([]Results, 0, len(vs))
	for _, v := range vs {
		rs, err := s.store.Responses(ctx, v.ID)
		if err != nil {
			return nil, err
		}
		res := Tally(v, rs)
		res.Questions = withoutTexts(res.Questions)
		out = append(out, res)
	}
	return out, nil
}

// CouncilLatest is a council's latest survey results in a comparison.
type CouncilLatest struct {
	CouncilID int64    `json:"council_id"`
	Name      string   `json:"name"`
	Latest    *Results `json:"latest"`
}

// Compare lists every council of a community with its latest survey's
// results (staff of the community).
func (s *Service) Compare(ctx context.Context, p identity.Principal, communityID int64) ([]CouncilLatest, error) {
	place, err := s.store.CommunityPlace(ctx, communityID)
	if err != nil {
		return nil, err
	}
	if !p.Can(place, identity.StaffRoles...) {
		return nil, louyuan.Forbidden("not_in_scope", "只有该社区或街道的工作人员可以比较各理事会的测评结果")
	}
	ids, err := s.store.CommunityCouncils(ctx, communityID)
	if err != nil {
		return nil, err
	}
	out := []CouncilLatest{}
	for _, id := range ids {
		c, err := s.store.Council(ctx, id, s.today())
		if err != nil {
			return nil, err
		}
		cl := CouncilLatest{CouncilID: id, Name: c.Name}
		vs, err := s.store.Surveys(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(vs) > 0 {
			rs, err := s.store.Responses(ctx, vs[0].ID)
			if err != nil {
				return nil, err
			}
			res := Tally(s.status(vs[0]), rs)
			res.Questions = withoutTexts(res.Questions)
			cl.Latest = &res
		}
		out = append(out, cl)
	}
	return out, nil
}

// withoutTexts drops the free texts (a comparison is of averages).
func withoutTexts(qs []QuestionResult) []QuestionResult {
	for i := range qs {
		qs[i].Texts = nil
	}
	return qs
}
