package louyuan

import (
	_ "embed" // the default holiday calendar
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Date is a day of the calendar as people in China read it (China time).
// Periods, payment dates and other "which day" questions use it, never a
// UTC date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the China date of t.
func DateOf(t time.Time) Date {
	c := t.In(China)
	return Date{c.Year(), c.Month(), c.Day()}
}

// ParseDate reads "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.ParseInLocation("2006-01-02", s, China)
	if err != nil {
		return Date{}, err
	}
	return DateOf(t), nil
}

// Start is 00:00 of the day, China time.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, China) }

// End is 24:00 of the day, China time: the first instant of the next day.
func (d Date) End() time.Time { return d.AddDays(1).Start() }

// AddDays returns the date n days later (earlier when n < 0).
func (d Date) AddDays(n int) Date { return DateOf(d.Start().AddDate(0, 0, n)) }

// AddYears returns the same day n years later; a day the target month does
// not have (29 February) becomes the month's last day (Civil Code art. 202).
func (d Date) AddYears(n int) Date {
	t := time.Date(d.Year+n, d.Month, 1, 0, 0, 0, 0, China)
	last := t.AddDate(0, 1, -1).Day()
	return Date{t.Year(), t.Month(), min(d.Day, last)}
}

// Weekday is the day of the week.
func (d Date) Weekday() time.Weekday { return d.Start().Weekday() }

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Start().Before(o.Start()) }

// After reports whether d is a later day than o.
func (d Date) After(o Date) bool { return o.Before(d) }

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == Date{} }

// String is "2006-01-02".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Label is the date as residents read it: "2025年10月9日".
func (d Date) Label() string { return fmt.Sprintf("%d年%d月%d日", d.Year, int(d.Month), d.Day) }

// MarshalText writes "2006-01-02".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads "2006-01-02".
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Calendar knows which days are rest days in China: Saturdays and Sundays,
// the statutory holidays of the State Council's yearly notice, less the
// weekend days that notice makes working days (调休上班).
//
// Under Civil Code art. 203 a period whose last day is a 法定休假日 ends at
// 24:00 of the day after the rest ends. We read 法定休假日 as every day off
// by law: the statutory holidays and the weekly rest days (Saturday and
// Sunday, State Council Provisions on Working Hours of Employees, art. 7),
// as courts do for procedural periods; a make-up working day is a working
// day. A year the calendar does not cover counts weekends only (see Covers).
type Calendar struct {
	holidays map[Date]string
	workdays map[Date]bool
	years    map[int]string // year → the notice it comes from
}

// calendarYear is one year of the calendar file.
type calendarYear struct {
	Source   string `json:"source"`
	Holidays []struct {
		Name string `json:"name"`
		From Date   `json:"from"`
		To   Date   `json:"to"`
	} `json:"holidays"`
	Workdays []Date `json:"workdays"`
}

//go:embed holidays_cn.json
var defaultHolidays []byte

// DefaultCalendar is the embedded calendar: the State Council's notices on
// the holidays of 2025, 2026 and 2027.
func DefaultCalendar() *Calendar {
	c, err := ParseCalendar(defaultHolidays)
	if err != nil {
		panic("embedded holiday calendar: " + err.Error())
	}
	return c
}

// ParseCalendar reads a calendar file: a JSON object keyed by year, each
// with its source, holidays (name, from, to) and make-up working days.
func ParseCalendar(data []byte) (*Calendar, error) {
	var years map[string]calendarYear
	if err := json.Unmarshal(data, &years); err != nil {
		return nil, fmt.Errorf("read holiday calendar: %w", err)
	}
	c := &Calendar{holidays: map[Date]string{}, workdays: map[Date]bool{}, years: map[int]string{}}
	for ys, y := range years {
		year, err := strconv.Atoi(ys)
		if err != nil || year < 2000 || year > 2200 {
			return nil, fmt.Errorf("holiday calendar: %q is not a year", ys)
		}
		c.years[year] = y.Source
		for _, h := range y.Holidays {
			if h.Name == "" || h.From.Year != year || h.To.Year != year || h.To.Before(h.From) || h.To.After(h.From.AddDays(15)) {
				return nil, fmt.Errorf("holiday calendar %d: holiday %q %s–%s: name and a span of at most 16 days within the year are needed", year, h.Name, h.From, h.To)
			}
			for d := h.From; !d.After(h.To); d = d.AddDays(1) {
				c.holidays[d] = h.Name
			}
		}
		for _, w := range y.Workdays {
			if w.Year != year {
				return nil, fmt.Errorf("holiday calendar %d: working day %s is in another year", year, w)
			}
			if wd := w.Weekday(); wd != time.Saturday && wd != time.Sunday {
				return nil, fmt.Errorf("holiday calendar %d: make-up working day %s is not a Saturday or Sunday", year, w)
			}
			c.workdays[w] = true
		}
	}
	for d := range c.workdays {
		if _, ok := c.holidays[d]; ok {
			return nil, fmt.Errorf("holiday calendar: %s is both a holiday and a working day", d)
		}
	}
	return c, nil
}

// Override returns a calendar whose years are those of c, with each year
// that o covers replaced wholly by o's.
func (c *Calendar) Override(o *Calendar) *Calendar {
	out := &Calendar{holidays: map[Date]string{}, workdays: map[Date]bool{}, years: map[int]string{}}
	for _, src := range []*Calendar{c, o} {
		for y, s := range src.years {
			out.years[y] = s
		}
	}
	for d, n := range c.holidays {
		if _, replaced := o.years[d.Year]; !replaced {
			out.holidays[d] = n
		}
	}
	for d := range c.workdays {
		if _, replaced := o.years[d.Year]; !replaced {
			out.workdays[d] = true
		}
	}
	for d, n := range o.holidays {
		out.holidays[d] = n
	}
	for d := range o.workdays {
		out.workdays[d] = true
	}
	return out
}

// Covers reports whether the calendar has the official holidays of year.
func (c *Calendar) Covers(year int) bool {
	_, ok := c.years[year]
	return ok
}

// Years lists the years covered, in order.
func (c *Calendar) Years() []int {
	out := make([]int, 0, len(c.years))
	for y := range c.years {
		out = append(out, y)
	}
	sort.Ints(out)
	return out
}

// RestDay reports whether d is a day off by law and why: the holiday's
// name, or 星期六 / 星期日.
func (c *Calendar) RestDay(d Date) (bool, string) {
	if name, ok := c.holidays[d]; ok {
		return true, name
	}
	if c.workdays[d] {
		return false, ""
	}
	switch d.Weekday() {
	case time.Saturday:
		return true, "星期六"
	case time.Sunday:
		return true, "星期日"
	}
	return false, ""
}

// Period is a period counted in days under the Civil Code: it starts the
// day after the event (art. 201), its last day ends at 24:00 China time
// (art. 203), and a last day that is a rest day moves to the first working
// day after the rest (art. 203). A period of 0 days ends at the event.
type Period struct {
	Days int `json:"days"`
	// StartsOn is the first day counted: the day after the event.
	StartsOn Date `json:"starts_on,omitzero"`
	// NominalLastDay is the Days-th day, before any move for a rest day.
	NominalLastDay Date `json:"nominal_last_day,omitzero"`
	// LastDay is the day the period really ends on.
	LastDay Date `json:"last_day,omitzero"`
	// EndsAt is 24:00 China time of LastDay (the event itself for 0 days).
	EndsAt time.Time `json:"ends_at"`
	// MovedFor names the rest that moved the last day (国庆节, 星期六, …)
	// for messages; it is not stored, and DescribePeriod leaves it empty.
	MovedFor string `json:"-"`
}

// Period computes the period of days that follows the event at from.
func (c *Calendar) Period(from time.Time, days int) Period {
	if days <= 0 {
		return Period{EndsAt: from.UTC()}
	}
	p := Period{Days: days, StartsOn: DateOf(from).AddDays(1), NominalLastDay: DateOf(from).AddDays(days)}
	p.LastDay = p.NominalLastDay
	for i := 0; i < 60; i++ { // no rest in China lasts that long; the bound keeps a bad file from looping
		rest, why := c.RestDay(p.LastDay)
		if !rest {
			break
		}
		if p.MovedFor == "" {
			p.MovedFor = why
		}
		p.LastDay = p.LastDay.AddDays(1)
	}
	p.EndsAt = p.LastDay.End().UTC()
	return p
}

// DescribePeriod rebuilds the description of a period already computed
// (from the event, its days and the stored end), without the calendar: what
// was promised stays what it was even when the calendar file changes.
func DescribePeriod(from time.Time, days int, endsAt time.Time) Period {
	if days <= 0 || from.IsZero() || endsAt.IsZero() {
		return Period{Days: max(days, 0), EndsAt: endsAt.UTC()}
	}
	p := Period{Days: days, StartsOn: DateOf(from).AddDays(1), NominalLastDay: DateOf(from).AddDays(days),
		LastDay: DateOf(endsAt.Add(-time.Nanosecond)), EndsAt: endsAt.UTC()}
	return p
}

// Sentence says in Chinese when the period ends, for messages to people:
// "自2025年9月27日起7天，至2025年10月3日；因国庆节、中秋节顺延至2025年10月9日24时".
func (p Period) Sentence() string {
	if p.Days <= 0 {
		return "无期间"
	}
	s := fmt.Sprintf("自%s起%d天，至%s24时", p.StartsOn.Label(), p.Days, p.NominalLastDay.Label())
	if p.LastDay != p.NominalLastDay {
		why := p.MovedFor
		if why == "" {
			why = "法定休假日"
		}
		s = fmt.Sprintf("自%s起%d天，至%s；因%s顺延至%s24时", p.StartsOn.Label(), p.Days, p.NominalLastDay.Label(), why, p.LastDay.Label())
	}
	return s
}
