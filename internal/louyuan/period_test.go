package louyuan

import (
	"strings"
	"testing"
	"time"
)

func cst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, China)
	if err != nil {
		panic(err)
	}
	return t
}

func day(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestPeriod(t *testing.T) {
	cal := DefaultCalendar()
	cases := []struct {
		name     string
		from     time.Time
		days     int
		nominal  string
		last     string
		movedFor string
	}{
		// Art. 201: the day of the event does not count, however late it is.
		{"late evening, working days", cst("2025-11-03 23:59"), 3, "2025-11-06", "2025-11-06", ""},
		{"just after midnight China time (still the day before in UTC)", time.Date(2025, 11, 3, 16, 10, 0, 0, time.UTC), 3, "2025-11-07", "2025-11-07", ""},
		{"just before midnight China time", time.Date(2025, 11, 3, 15, 50, 0, 0, time.UTC), 3, "2025-11-06", "2025-11-06", ""},
		// Art. 203: a last day that is a rest day moves to the day after the rest.
		{"ends on a Saturday", cst("2025-11-05 10:00"), 3, "2025-11-08", "2025-11-10", "星期六"},
		{"ends on a Sunday", cst("2025-11-05 10:00"), 4, "2025-11-09", "2025-11-10", "星期日"},
		{"National Day 2025, published late on 30 September", cst("2025-09-30 23:50"), 7, "2025-10-07", "2025-10-09", "国庆节、中秋节"},
		{"National Day 2025, last day is the last holiday", cst("2025-10-01 09:00"), 7, "2025-10-08", "2025-10-09", "国庆节、中秋节"},
		{"National Day 2025 make-up Sunday 28 September is a working day", cst("2025-09-21 22:00"), 7, "2025-09-28", "2025-09-28", ""},
		{"National Day 2025 make-up Saturday 11 October is a working day", cst("2025-10-04 20:00"), 7, "2025-10-11", "2025-10-11", ""},
		{"National Day 2026", cst("2026-09-28 21:30"), 5, "2026-10-03", "2026-10-08", "国庆节"},
		{"Mid-Autumn 2026 then a plain weekday", cst("2026-09-20 12:00"), 6, "2026-09-26", "2026-09-28", "中秋节"},
		{"Spring Festival 2026", cst("2026-02-10 23:00"), 5, "2026-02-15", "2026-02-24", "春节"},
		{"Spring Festival 2026 make-up Saturday 14 February is a working day", cst("2026-02-09 20:00"), 5, "2026-02-14", "2026-02-14", ""},
		{"Spring Festival 2026 make-up Saturday 28 February is a working day", cst("2026-02-21 08:00"), 7, "2026-02-28", "2026-02-28", ""},
		{"Spring Festival 2027 ends on a Saturday; the make-up Sunday after it is the last day", cst("2027-02-08 10:00"), 5, "2027-02-13", "2027-02-14", "春节"},
		{"New Year 2027 into a weekend is one rest", cst("2026-12-29 23:59"), 3, "2027-01-01", "2027-01-04", "元旦"},
		{"a year without official data counts weekends only", cst("2031-09-29 12:00"), 2, "2031-10-01", "2031-10-01", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := cal.Period(tc.from, tc.days)
			if p.Days != tc.days || p.StartsOn != DateOf(tc.from).AddDays(1) {
				t.Errorf("days %d starts %s, want %d and the day after %s", p.Days, p.StartsOn, tc.days, DateOf(tc.from))
			}
			if p.NominalLastDay.String() != tc.nominal || p.LastDay.String() != tc.last || p.MovedFor != tc.movedFor {
				t.Errorf("nominal %s last %s moved for %q, want %s %s %q", p.NominalLastDay, p.LastDay, p.MovedFor, tc.nominal, tc.last, tc.movedFor)
			}
			// 24:00 China time of the last day.
			want := day(tc.last).AddDays(1).Start()
			if !p.EndsAt.Equal(want) || p.EndsAt.Location() != time.UTC {
				t.Errorf("ends at %s, want %s (UTC)", p.EndsAt, want)
			}
			if got := DescribePeriod(tc.from, tc.days, p.EndsAt); got.LastDay != p.LastDay || got.NominalLastDay != p.NominalLastDay || got.StartsOn != p.StartsOn {
				t.Errorf("described %+v, computed %+v", got, p)
			}
		})
	}
}

func TestPeriodOfNoDaysEndsAtTheEvent(t *testing.T) {
	from := cst("2025-10-01 09:00")
	p := DefaultCalendar().Period(from, 0)
	if !p.EndsAt.Equal(from) || !p.LastDay.IsZero() || p.Sentence() != "无期间" {
		t.Fatalf("%+v", p)
	}
}

func TestPeriodSentence(t *testing.T) {
	p := DefaultCalendar().Period(cst("2025-09-30 23:50"), 7)
	want := "自2025年10月1日起7天，至2025年10月7日；因国庆节、中秋节顺延至2025年10月9日24时"
	if got := p.Sentence(); got != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
	p = DefaultCalendar().Period(cst("2025-11-03 23:59"), 3)
	if got := p.Sentence(); got != "自2025年11月4日起3天，至2025年11月6日24时" {
		t.Fatal(got)
	}
}

func TestDateOfIsChinaDate(t *testing.T) {
	// 20:00 in Beijing is noon UTC: still the same day; 00:30 in Beijing is
	// the previous day in UTC.
	if d := DateOf(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)); d.String() != "2026-11-25" {
		t.Fatal(d)
	}
	if d := DateOf(time.Date(2026, 11, 25, 16, 30, 0, 0, time.UTC)); d.String() != "2026-11-26" {
		t.Fatal(d)
	}
	if d := day("2024-02-29").AddYears(1); d.String() != "2025-02-28" {
		t.Fatal(d)
	}
	if d := day("2025-12-31").AddDays(1); d.String() != "2026-01-01" {
		t.Fatal(d)
	}
	if !day("2025-12-31").Before(day("2026-01-01")) || day("2025-12-31").After(day("2026-01-01")) {
		t.Fatal("order")
	}
	var d Date
	if err := d.UnmarshalText([]byte("2025-13-01")); err == nil {
		t.Fatal("bad date accepted")
	}
}

func TestDefaultCalendarCoversTheOfficialYears(t *testing.T) {
	cal := DefaultCalendar()
	for _, y := range []int{2025, 2026, 2027} {
		if !cal.Covers(y) {
			t.Errorf("%d not covered", y)
		}
	}
	for _, tc := range []struct {
		day  string
		rest bool
	}{
		{"2025-10-08", true}, {"2025-10-11", false}, {"2025-09-28", false}, {"2025-10-12", true},
		{"2026-02-14", false}, {"2026-02-15", true}, {"2026-02-23", true}, {"2026-02-24", false},
		{"2027-02-14", false}, {"2027-06-09", true}, {"2025-11-05", false}, {"2025-11-08", true},
	} {
		if rest, _ := cal.RestDay(day(tc.day)); rest != tc.rest {
			t.Errorf("%s rest %v, want %v", tc.day, rest, tc.rest)
		}
	}
}

func TestParseCalendarRefusesBadFiles(t *testing.T) {
	for name, src := range map[string]string{
		"not json":           `{`,
		"not a year":         `{"20x5": {"holidays": []}}`,
		"holiday in another": `{"2028": {"holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-01"}]}}`,
		"reversed span":      `{"2028": {"holidays": [{"name": "元旦", "from": "2028-01-03", "to": "2028-01-01"}]}}`,
		"no name":            `{"2028": {"holidays": [{"name": "", "from": "2028-01-01", "to": "2028-01-01"}]}}`,
		"workday on Tuesday": `{"2028": {"workdays": ["2028-02-01"]}}`,
		"both":               `{"2028": {"holidays": [{"name": "x", "from": "2028-01-01", "to": "2028-01-02"}], "workdays": ["2028-01-01"]}}`,
		"bad date":           `{"2028": {"workdays": ["2028-2-1"]}}`,
	} {
		if _, err := ParseCalendar([]byte(src)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCalendarOverrideReplacesWholeYears(t *testing.T) {
	// Staff correct 2027 and add 2028.
	o, err := ParseCalendar([]byte(`{
		"2027": {"source": "更正", "holidays": [{"name": "国庆节", "from": "2027-10-01", "to": "2027-10-03"}]},
		"2028": {"source": "2028", "holidays": [{"name": "元旦", "from": "2028-01-01", "to": "2028-01-03"}], "workdays": ["2028-01-08"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	cal := DefaultCalendar().Override(o)
	for _, tc := range []struct {
		day  string
		rest bool
	}{
		{"2027-10-05", false}, // no longer a holiday: 2027 was replaced
		{"2027-02-10", false}, // nor the Spring Festival of the embedded 2027
		{"2027-10-02", true},
		{"2028-01-03", true},
		{"2028-01-08", false},
		{"2026-10-05", true}, // embedded years the file does not name stay
	} {
		if rest, _ := cal.RestDay(day(tc.day)); rest != tc.rest {
			t.Errorf("%s rest %v, want %v", tc.day, rest, tc.rest)
		}
	}
	if got := cal.Years(); len(got) != 4 || got[3] != 2028 {
		t.Fatal(got)
	}
	if !strings.Contains(DefaultCalendar().Period(cst("2027-02-08 10:00"), 5).MovedFor, "春节") {
		t.Fatal("default calendar changed by override")
	}
}
