package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
)

type pdPeriod struct {
	Days           int       `json:"days"`
	StartsOn       string    `json:"starts_on"`
	NominalLastDay string    `json:"nominal_last_day"`
	LastDay        string    `json:"last_day"`
	EndsAt         time.Time `json:"ends_at"`
}

type pdMotion struct {
	ID              int64     `json:"id"`
	Status          string    `json:"status"`
	PublishedAt     time.Time `json:"published_at"`
	NoticeEndsAt    time.Time `json:"notice_ends_at"`
	NoticePeriod    *pdPeriod `json:"notice_period"`
	ClosedAt        time.Time `json:"closed_at"`
	ObjectionEndsAt time.Time `json:"objection_ends_at"`
	ObjectionPeriod *pdPeriod `json:"objection_period"`
}

// pdHolidayFile writes a calendar file making the China days from+0 …
// from+n-1 a holiday named name, and returns its path and the calendar the
// server should count with.
func pdHolidayFile(t *testing.T, from louyuan.Date, n int, name string) (string, *louyuan.Calendar) {
	t.Helper()
	type span struct {
		Name string `json:"name"`
		From string `json:"from"`
		To   string `json:"to"`
	}
	years := map[string]map[string]any{}
	for i := range n {
		d := from.AddDays(i)
		y := fmt.Sprint(d.Year)
		if years[y] == nil {
			years[y] = map[string]any{"source": "测试", "holidays": []span{}}
		}
		years[y]["holidays"] = append(years[y]["holidays"].([]span), span{name, d.String(), d.String()})
	}
	data, err := json.Marshal(years)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "holidays.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := louyuan.ParseCalendar(data)
	if err != nil {
		t.Fatal(err)
	}
	return path, louyuan.DefaultCalendar().Override(o)
}

func pdWantPeriod(t *testing.T, what string, got *pdPeriod, endsAt time.Time, want louyuan.Period) {
	t.Helper()
	if got == nil || got.Days != want.Days || got.StartsOn != want.StartsOn.String() || got.NominalLastDay != want.NominalLastDay.String() ||
		got.LastDay != want.LastDay.String() || !got.EndsAt.Equal(want.EndsAt) || !endsAt.Equal(want.EndsAt) {
		t.Fatalf("%s period %+v ends at %s, want %+v", what, got, endsAt, want)
	}
}

// Notice and objection periods are counted in China calendar days from the
// day after (Civil Code art. 201), end at 24:00 of the last day, and move
// past a holiday (art. 203); the holidays come from the configured
// calendar file. Before, a period was a block of 24-hour days from the
// click: voting could open in the evening two days later, during a holiday.
func TestMotionPeriodsInChinaCalendarDays(t *testing.T) {
	now := time.Now()
	// A holiday the day after tomorrow (China time) for three days.
	path, cal := pdHolidayFile(t, louyuan.DateOf(now).AddDays(2), 3, "测试假日")
	cfg := vtConfig(e2eEmbeddedConfig(t))
	cfg.Calendar.HolidaysFile = path
	s := e2eStart(t, cfg)
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken

	notice := cal.Period(now, 2)
	if notice.LastDay == notice.NominalLastDay || !strings.Contains(notice.Sentence(), "测试假日") {
		t.Fatalf("test calendar does not move the period: %+v", notice)
	}
	create := func(noticeDays, objectionDays int, opens time.Time, closeIn time.Duration) pdMotion {
		r := s.call(t, "POST", "/api/v1/courtyards/1/motions", staff, map[string]any{"scope_type": "courtyard", "title": "更换单元门禁", "rule": "ordinary",
			"ballot_mode": "named", "notice_days": noticeDays, "objection_days": objectionDays, "opens_at": opens, "closes_at": opens.Add(closeIn)})
		e2eWant(t, r, http.StatusCreated)
		var m pdMotion
		r.decode(t, &m)
		return m
	}

	// One minute before the notice period's end: 2 × 24 hours have long
	// passed by then, but the period has not.
	early := create(2, 0, notice.EndsAt.Add(-time.Minute), 24*time.Hour)
	e := e2eWantError(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/publish", early.ID), staff, nil), http.StatusConflict, "notice_too_short")
	for _, part := range []string{"测试假日", notice.LastDay.Label() + "24时", notice.LastDay.AddDays(1).Label() + "0时"} {
		if !strings.Contains(e.Error.Message, part) {
			t.Errorf("notice_too_short message %q does not say %q", e.Error.Message, part)
		}
	}

	// At the end of the period: published, and the answer says how it was counted.
	onTime := create(2, 0, notice.EndsAt, 24*time.Hour)
	r := s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/publish", onTime.ID), staff, nil)
	e2eWant(t, r, http.StatusOK)
	var m pdMotion
	r.decode(t, &m)
	pdWantPeriod(t, "notice", m.NoticePeriod, m.NoticeEndsAt, cal.Period(m.PublishedAt, 2))
	r = s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d", onTime.ID), staff, nil)
	e2eWant(t, r, http.StatusOK)
	var got struct {
		pdMotion
		Motion *pdMotion `json:"motion"`
	}
	r.decode(t, &got)
	if got.Motion != nil {
		got.pdMotion = *got.Motion
	}
	pdWantPeriod(t, "notice (read back)", got.NoticePeriod, got.NoticeEndsAt, cal.Period(m.PublishedAt, 2))

	// The objection window after the close: from the next day, to 24:00 of
	// its last day, moved past the holiday too.
	env := &vtEnv{s: s, staff: staff, yard: 1}
	closing := env.openMotion(t, map[string]any{"rule": "ordinary", "objection_days": 2}, 2*time.Second)
	time.Sleep(2100 * time.Millisecond)
	r = s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/close", closing.ID), staff, nil)
	e2eWant(t, r, http.StatusOK)
	r.decode(t, &m)
	if m.Status != "objection" {
		t.Fatalf("closed motion: %s", r)
	}
	want := cal.Period(m.ClosedAt, 2)
	pdWantPeriod(t, "objection", m.ObjectionPeriod, m.ObjectionEndsAt, want)
	e = e2eWantError(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/finalize", closing.ID), staff, nil), http.StatusConflict, "objection_window_open")
	if !strings.Contains(e.Error.Message, want.LastDay.Label()+"24时") {
		t.Errorf("objection_window_open message %q does not say when the window ends", e.Error.Message)
	}
}

// The payment date is a China calendar day no later than today in China:
// in the evening in Beijing (UTC still on the same date) tomorrow's date
// used to pass (it was compared with now + 24 hours).
func TestPaymentDateIsNotTomorrowInChina(t *testing.T) {
	cfg := vtConfig(e2eEmbeddedConfig(t))
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)
	pt := env.createPetition(t, map[string]any{"cost_sharing": true})
	base := fmt.Sprintf("/api/v1/petitions/%d", pt.ID)
	e2eWant(t, s.call(t, "PUT", base+"/cost-plan", env.staff, map[string]any{"unit_id": 1, "total_fen": 45000000,
		"coefficients": map[string]int64{"1": 0, "2": 0, "3": 600, "4": 800, "5": 1000, "6": 1200, "7": 1400}}), http.StatusOK)
	e2eWant(t, s.call(t, "POST", base+"/publish", env.staff, nil), http.StatusOK)
	today := louyuan.DateOf(time.Now())
	h := env.reps[0].householdID
	e := e2eWantError(t, s.call(t, "POST", base+"/payments", env.staff, map[string]any{"household_id": h, "amount_fen": 100, "receipt_no": "SJ-T1", "paid_on": today.AddDays(1).String()}),
		http.StatusBadRequest, "bad_paid_on")
	if !strings.Contains(e.Error.Message, today.Label()) {
		t.Errorf("bad_paid_on message %q does not name today's China date", e.Error.Message)
	}
	e2eWant(t, s.call(t, "POST", base+"/payments", env.staff, map[string]any{"household_id": h, "amount_fen": 100, "receipt_no": "SJ-T2", "paid_on": today.String()}), http.StatusCreated)
}
