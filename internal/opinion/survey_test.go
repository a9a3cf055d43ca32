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
