package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// The motion on the wire is the API's own type; its JSON is exactly what
// clients read before it was split from voting.Motion (these texts were
// produced by encoding voting.Motion itself), field for field and in
// order, zero times and missing periods left out as before.
func TestMotionWireJSON(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	passed := true
	np := louyuan.DescribePeriod(t0, 7, t0.AddDate(0, 0, 8))
	full := voting.Motion{ID: 7, CourtyardID: 3, ScopeType: voting.ScopeBuilding, ScopeID: 12, Title: "加装电梯", Body: "正文\n第二行", Subject: "电梯",
		Rule: voting.MajorRule(), Options: voting.DecisionOptions(), Mode: voting.ModeSecret, Status: voting.StatusFinal, NoticeDays: 7, ObjectionDays: 5,
		OpensAt: t0.AddDate(0, 0, 9), ClosesAt: t0.AddDate(0, 0, 20), PublishedAt: t0, NoticeEndsAt: t0.AddDate(0, 0, 8), NoticePeriod: &np,
		OpenedAt: t0.AddDate(0, 0, 9), ClosedAt: t0.AddDate(0, 0, 20), ObjectionEndsAt: t0.AddDate(0, 0, 26), FinalAt: t0.AddDate(0, 0, 27),
		Passed: &passed, CreatedBy: "staff:2", CreatedAt: t0.Add(-time.Hour)}
	election := voting.Motion{ID: 8, CourtyardID: 3, ScopeType: voting.ScopeCourtyard, ScopeID: 3, Title: "选举", Rule: voting.ElectionRule(2),
		Options: []voting.Option{{Key: "c1", Label: "张三"}, {Key: "c2", Label: "李四"}}, Mode: voting.ModeNamed, Status: voting.StatusDraft,
		OpensAt: t0, ClosesAt: t0.Add(time.Hour), CreatedBy: "user:5", CreatedAt: t0}
	bare := voting.Motion{ID: 9, Rule: voting.Rule{Kind: voting.RuleCustom, ParticipationArea: voting.Threshold{Num: 1, Den: 2},
		ParticipationHead: voting.Threshold{Num: 1, Den: 2, Strict: true}, ApprovalArea: voting.Threshold{Num: 3, Den: 5}, ApprovalHead: voting.Threshold{Num: 4, Den: 5}}}
	for _, c := range []struct {
		m    voting.Motion
		want string
	}{
		{full, `{"id":7,"courtyard_id":3,"scope_type":"building","scope_id":12,"title":"加装电梯","body":"正文\n第二行","subject":"电梯","rule":{"kind":"major","participation_area":{"num":2,"den":3,"strict":false},"participation_head":{"num":2,"den":3,"strict":false},"approval_area":{"num":3,"den":4,"strict":false},"approval_head":{"num":3,"den":4,"strict":false}},"options":[{"key":"agree","label":"同意"},{"key":"oppose","label":"反对"},{"key":"abstain","label":"弃权"}],"ballot_mode":"secret","status":"final","notice_days":7,"objection_days":5,"opens_at":"2026-03-10T02:00:00Z","closes_at":"2026-03-21T02:00:00Z","published_at":"2026-03-01T02:00:00Z","notice_ends_at":"2026-03-09T02:00:00Z","notice_period":{"days":7,"starts_on":"2026-03-02","nominal_last_day":"2026-03-08","last_day":"2026-03-09","ends_at":"2026-03-09T02:00:00Z"},"opened_at":"2026-03-10T02:00:00Z","closed_at":"2026-03-21T02:00:00Z","objection_ends_at":"2026-03-27T02:00:00Z","final_at":"2026-03-28T02:00:00Z","passed":true,"created_by":"staff:2","created_at":"2026-03-01T01:00:00Z"}`},
		{election, `{"id":8,"courtyard_id":3,"scope_type":"courtyard","scope_id":3,"title":"选举","body":"","subject":"","rule":{"kind":"election","participation_area":{"num":2,"den":3,"strict":false},"participation_head":{"num":2,"den":3,"strict":false},"approval_area":{"num":1,"den":2,"strict":true},"approval_head":{"num":1,"den":2,"strict":true},"seats":2},"options":[{"key":"c1","label":"张三"},{"key":"c2","label":"李四"}],"ballot_mode":"named","status":"draft","notice_days":0,"objection_days":0,"opens_at":"2026-03-01T02:00:00Z","closes_at":"2026-03-01T03:00:00Z","created_by":"user:5","created_at":"2026-03-01T02:00:00Z"}`},
		{bare, `{"id":9,"courtyard_id":0,"scope_type":"","scope_id":0,"title":"","body":"","subject":"","rule":{"kind":"custom","participation_area":{"num":1,"den":2,"strict":false},"participation_head":{"num":1,"den":2,"strict":true},"approval_area":{"num":3,"den":5,"strict":false},"approval_head":{"num":4,"den":5,"strict":false}},"options":null,"ballot_mode":"","status":"","notice_days":0,"objection_days":0,"opens_at":"0001-01-01T00:00:00Z","closes_at":"0001-01-01T00:00:00Z","created_by":"","created_at":"0001-01-01T00:00:00Z"}`},
	} {
		b, err := json.Marshal(motionOut(c.m))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("motion %d on the wire:\n got %s\nwant %s", c.m.ID, b, c.want)
		}
	}
	b, err := json.Marshal(myMotionJSON{Motion: motionOut(election), HouseholdID: 4, Status: voting.HouseVoted})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"motion":` + `{"id":8,"courtyard_id":3,"scope_type":"courtyard","scope_id":3,"title":"选举","body":"","subject":"","rule":{"kind":"election","participation_area":{"num":2,"den":3,"strict":false},"participation_head":{"num":2,"den":3,"strict":false},"approval_area":{"num":1,"den":2,"strict":true},"approval_head":{"num":1,"den":2,"strict":true},"seats":2},"options":[{"key":"c1","label":"张三"},{"key":"c2","label":"李四"}],"ballot_mode":"named","status":"draft","notice_days":0,"objection_days":0,"opens_at":"2026-03-01T02:00:00Z","closes_at":"2026-03-01T03:00:00Z","created_by":"user:5","created_at":"2026-03-01T02:00:00Z"}` + `,"household_id":4,"household_status":"voted"}`; string(b) != want {
		t.Errorf("my motion on the wire:\n got %s\nwant %s", b, want)
	}
}

// The request's allowed values are the domain's lists, not copies that
// could drift: each oneof of motionRequest says exactly what voting allows.
func TestMotionRequestValues(t *testing.T) {
	kinds := make([]string, len(voting.RuleKinds))
	for i, k := range voting.RuleKinds {
		kinds[i] = string(k)
	}
	typ := reflect.TypeFor[motionRequest]()
	for field, want := range map[string][]string{"ScopeType": voting.ScopeTypes, "BallotMode": voting.BallotModes, "Rule": kinds} {
		f, _ := typ.FieldByName(field)
		var got string
		for _, rule := range strings.Split(f.Tag.Get("binding"), ",") {
			if v, ok := strings.CutPrefix(rule, "oneof="); ok {
				got = v
			}
		}
		if got != strings.Join(want, " ") {
			t.Errorf("motionRequest.%s allows %q; voting allows %q", field, got, strings.Join(want, " "))
		}
	}
}
