package opinion

import (
	"testing"

	"github.com/louyuan/louyuan/internal/louyuan"
)

func code(err error) string {
	if err == nil {
		return ""
	}
	return louyuan.ErrorCode(err)
}

func TestCanMove(t *testing.T) {
	for _, tc := range []struct {
		from, to Status
		want     string
	}{
		{StatusReceived, StatusReceived, ""},
		{StatusReceived, StatusInProgress, ""},
		{StatusReceived, StatusResolved, ""},
		{StatusInProgress, StatusInProgress, ""},
		{StatusInProgress, StatusResolved, ""},
		{StatusInProgress, StatusReceived, "status_backwards"},
		{StatusResolved, StatusInProgress, "opinion_resolved"},
		{StatusResolved, StatusResolved, "opinion_resolved"},
		{StatusReceived, "closed", "bad_status"},
	} {
		if got := code(CanMove(tc.from, tc.to)); got != tc.want {
			t.Errorf("%s → %s: got %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}

func TestRateAndReopen(t *testing.T) {
	for _, tc := range []struct {
		name   string
		o      Opinion
		rating int
		want   string
	}{
		{"resolved, first rating", Opinion{Status: StatusResolved}, 4, ""},
		{"rating 1 and 5 are the bounds", Opinion{Status: StatusResolved}, 5, ""},
		{"zero", Opinion{Status: StatusResolved}, 0, "bad_rating"},
		{"six", Opinion{Status: StatusResolved}, 6, "bad_rating"},
		{"received", Opinion{Status: StatusReceived}, 3, "not_resolved"},
		{"in progress", Opinion{Status: StatusInProgress}, 3, "not_resolved"},
		{"rated already", Opinion{Status: StatusResolved, Rating: 2}, 3, "already_rated"},
	} {
		if got := code(CanRate(tc.o, tc.rating)); got != tc.want {
			t.Errorf("rate %s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		o    Opinion
		want string
	}{
		{"resolved once", Opinion{Status: StatusResolved}, ""},
		{"resolved and rated", Opinion{Status: StatusResolved, Rating: 1}, ""},
		{"in progress", Opinion{Status: StatusInProgress}, "not_resolved"},
		{"reopened before", Opinion{Status: StatusResolved, Reopened: true}, "already_reopened"},
	} {
		if got := code(CanReopen(tc.o)); got != tc.want {
			t.Errorf("reopen %s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCanSee(t *testing.T) {
	pub := Opinion{RaisedBy: 7, Public: true}
	priv := Opinion{RaisedBy: 7}
	for _, tc := range []struct {
		name string
		o    Opinion
		v    Viewer
		want bool
	}{
		{"public, a resident", pub, Viewer{UserID: 8, Resident: true}, true},
		{"public, a resident elsewhere", pub, Viewer{UserID: 9}, false},
		{"public, staff", pub, Viewer{Staff: true}, true},
		{"private, the raiser", priv, Viewer{UserID: 7, Resident: true}, true},
		{"private, the raiser no longer bound", priv, Viewer{UserID: 7}, true},
		{"private, a neighbour", priv, Viewer{UserID: 8, Resident: true}, false},
		{"private, a resident elsewhere", priv, Viewer{UserID: 9}, false},
		{"private, the council", priv, Viewer{UserID: 3, Council: true}, true},
		{"private, staff", priv, Viewer{Staff: true}, true},
		{"private, an anonymous staff-less account", priv, Viewer{}, false},
	} {
		if got := CanSee(tc.o, tc.v); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSurveyRules(t *testing.T) {
	qs := []Question{{Text: "总体满意度", Kind: KindRating}, {Text: "办事公开", Kind: KindRating}, {Text: "意见建议", Kind: KindText}}
	if err := CheckQuestions(qs); err != nil {
		t.Fatal(err)
	}
	if code(CheckQuestions([]Question{{Text: "只有文字", Kind: KindText}})) != "bad_questions" {
		t.Error("a survey without a rating question was accepted")
	}
	if code(CheckQuestions([]Question{{Text: "类型不对", Kind: "stars"}})) != "bad_questions" {
		t.Error("an unknown kind was accepted")
	}
	for _, tc := range []struct {
		name string
		as   []Answer
		want string
	}{
		{"complete", []Answer{{Rating: 5}, {Rating: 1}, {Text: "很好"}}, ""},
		{"empty text", []Answer{{Rating: 5}, {Rating: 1}, {}}, ""},
		{"missing one", []Answer{{Rating: 5}, {Rating: 1}}, "bad_answers"},
		{"rating 0", []Answer{{Rating: 0}, {Rating: 1}, {}}, "bad_answers"},
		{"rating 6", []Answer{{Rating: 6}, {Rating: 1}, {}}, "bad_answers"},
		{"a text rated", []Answer{{Rating: 5}, {Rating: 1}, {Rating: 3}}, "bad_answers"},
	} {
		if got := code(CheckAnswers(qs, tc.as)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	res := Tally(Survey{Questions: qs}, []Response{
		{Answers: []Answer{{Rating: 5}, {Rating: 2}, {Text: "b 楼道灯修好了"}}},
		{Answers: []Answer{{Rating: 4}, {Rating: 2}, {}}},
		{Answers: []Answer{{Rating: 4}, {Rating: 3}, {Text: "a 希望多开会"}}},
	})
	if res.Responses != 3 || *res.Questions[0].Average != 4.33 || *res.Questions[1].Average != 2.33 || res.Questions[2].Average != nil {
		t.Errorf("averages: %+v", res)
	}
	if *res.Average != 3.33 {
		t.Errorf("overall average %v, want 3.33", *res.Average)
	}
	if len(res.Questions[2].Texts) != 2 || res.Questions[2].Texts[0] != "a 希望多开会" {
		t.Errorf("texts %q: want the two non-empty ones, sorted", res.Questions[2].Texts)
	}
	if empty := Tally(Survey{Questions: qs}, nil); empty.Responses != 0 || empty.Average != nil {
		t.Errorf("no responses: %+v", empty)
	}
}
