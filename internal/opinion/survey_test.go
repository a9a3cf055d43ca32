package opinion

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/council"
	"github.com/louyuan/louyuan/internal/identity"
)

// closingStore serves a survey that is open when Respond first reads it
// and closed by the time its transaction reads it again (a CloseSurvey
// committed in between); the rest of Store panics.
type closingStore struct {
	Store
	open     Survey
	inserted int
}

func (f *closingStore) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return fn(ctx)
}
func (f *closingStore) Survey(context.Context, int64) (Survey, error) { return f.open, nil }
func (f *closingStore) ShareSurvey(context.Context, int64) (Survey, error) {
	v := f.open
	v.Status = SurveyClosed
	return v, nil
}
func (f *closingStore) Council(context.Context, int64, string) (council.Council, error) {
	return council.Council{ID: 1, CourtyardIDs: []int64{1}}, nil
}
func (f *closingStore) CourtyardPlace(context.Context, int64) (identity.Place, error) {
	return identity.Place{SubdistrictID: 1, CommunityID: 1, CourtyardID: 1}, nil
}
func (f *closingStore) IsResident(context.Context, int64, int64) (bool, error) { return true, nil }
func (f *closingStore) Represents(context.Context, int64, int64) (bool, int64, error) {
	return true, 1, nil
}
func (f *closingStore) InsertResponse(_ context.Context, r Response) (Response, error) {
	f.inserted++
	return r, nil
}

type nopAudit struct{}

func (nopAudit) Append(context.Context, audit.Record) error { return nil }

func TestRespondRechecksClosedInTx(t *testing.T) {
	st := &closingStore{open: Survey{ID: 3, CouncilID: 1, TermID: 1, Title: "测评", Status: SurveyOpen, ClosesAt: time.Now().Add(time.Hour),
		Questions: []Question{{Text: "满意度", Kind: KindRating}}}}
	s := NewService(st, nil, nil, nopAudit{}, slog.Default())
	rep := identity.Principal{Kind: identity.KindUser, ID: 5}
	_, err := s.Respond(context.Background(), rep, 3, 9, []Answer{{Rating: 4}})
	if code(err) != "survey_closed" || st.inserted != 0 {
		t.Fatalf("a response to a survey closed meanwhile: err %v, %d inserted", err, st.inserted)
	}
}

// councilStore serves a council with three surveys and counts how often
// the council is read; the rest of Store panics.
type councilStore struct {
	Store
	councilReads int
}

func (f *councilStore) Council(context.Context, int64, string) (council.Council, error) {
	f.councilReads++
	return council.Council{ID: 1, CourtyardIDs: []int64{1, 2}}, nil
}
func (f *councilStore) CourtyardPlace(_ context.Context, y int64) (identity.Place, error) {
	return identity.Place{SubdistrictID: 1, CommunityID: 1, CourtyardID: y}, nil
}
func (f *councilStore) Surveys(context.Context, int64) ([]Survey, error) {
	var vs []Survey
	for id := int64(3); id >= 1; id-- {
		vs = append(vs, Survey{ID: id, CouncilID: 1, TermID: 1, Title: "测评", Status: SurveyClosed,
			Questions: []Question{{Text: "满意度", Kind: KindRating}, {Text: "建议", Kind: KindText}}})
	}
	return vs, nil
}
func (f *councilStore) Responses(_ context.Context, id int64) ([]Response, error) {
	var rs []Response
	for i := range id {
		rs = append(rs, Response{SurveyID: id, HouseholdID: i + 1, Answers: []Answer{{Rating: 4}, {Text: "多修修路"}}})
	}
	return rs, nil
}

// The council's dashboard reads every survey's results with one check of
// the caller's standing (not one council read per survey), newest first,
// without the free texts.
func TestCouncilResultsOneStandingCheck(t *testing.T) {
	st := &councilStore{}
	s := NewService(st, nil, nil, nopAudit{}, slog.Default())
	staff := identity.Principal{Kind: identity.KindStaff, ID: 1, Grants: []identity.Grant{{Role: identity.RoleCommunityStaff, ScopeType: identity.ScopeCommunity, ScopeID: 1}}}
	rs, err := s.CouncilResults(context.Background(), staff, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st.councilReads != 1 {
		t.Errorf("the council was read %d times for 3 surveys, want once", st.councilReads)
	}
	if len(rs) != 3 || rs[0].Survey.ID != 3 || rs[0].Responses != 3 || rs[2].Responses != 1 || rs[0].Average == nil || *rs[0].Average != 4 {
		t.Fatalf("results: %+v", rs)
	}
	for _, r := range rs {
		for _, q := range r.Questions {
			if len(q.Texts) != 0 {
				t.Errorf("survey %d shows free texts %v", r.Survey.ID, q.Texts)
			}
		}
	}
}
