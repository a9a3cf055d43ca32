package voting

import (
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
)

func cst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, louyuan.China)
	if err != nil {
		panic(err)
	}
	return t
}

// Voting opens after the notice period's last day at the earliest, counted
// in China calendar days and moved past holidays, not 24-hour blocks.
func TestNoticePeriod(t *testing.T) {
	cal := louyuan.DefaultCalendar()
	cases := []struct {
		name      string
		published time.Time
		days      int
		opens     time.Time
		ok        bool
		inMessage string
	}{
		{"3 days published late in the evening: 72 hours later is too early", cst("2025-11-03 23:30"), 3, cst("2025-11-06 23:31"), false, "2025年11月7日0时"},
		{"3 days: the day after the last day", cst("2025-11-03 23:30"), 3, cst("2025-11-07 00:00"), true, ""},
		{"7 days before National Day: moved past the holiday", cst("2025-09-30 20:00"), 7, cst("2025-10-09 08:00"), false, "因国庆节、中秋节顺延至2025年10月9日24时"},
		{"7 days before National Day: the first working day after", cst("2025-09-30 20:00"), 7, cst("2025-10-10 00:00"), true, ""},
		{"Spring Festival 2026", cst("2026-02-12 21:00"), 3, cst("2026-02-20 09:00"), false, "春节"},
		{"Spring Festival 2026: after the holiday", cst("2026-02-12 21:00"), 3, cst("2026-02-25 00:00"), true, ""},
		{"no notice: any time from now", cst("2025-10-01 09:00"), 0, cst("2025-10-01 09:00"), true, ""},
		{"no notice, opening in the past", cst("2025-10-01 09:00"), 0, cst("2025-10-01 08:59"), false, "已过"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := noticePeriod(cal, tc.published, Motion{NoticeDays: tc.days, OpensAt: tc.opens})
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if louyuan.ErrorCode(err) != "notice_too_short" || !strings.Contains(err.Error(), tc.inMessage) {
					t.Fatalf("error %v, want notice_too_short mentioning %q", err, tc.inMessage)
				}
				return
			}
			if tc.days > 0 && !p.EndsAt.Equal(p.LastDay.End()) {
				t.Fatalf("period %+v", p)
			}
		})
	}
}

func TestMotionDescribesItsPeriods(t *testing.T) {
	cal := louyuan.DefaultCalendar()
	m := Motion{NoticeDays: 7, ObjectionDays: 3, PublishedAt: cst("2025-09-30 20:00").UTC(), ClosedAt: cst("2026-02-12 23:59").UTC()}
	m.NoticeEndsAt = cal.Period(m.PublishedAt, m.NoticeDays).EndsAt
	m.ObjectionEndsAt = cal.Period(m.ClosedAt, m.ObjectionDays).EndsAt
	m.DescribePeriods()
	if m.NoticePeriod == nil || m.NoticePeriod.LastDay.String() != "2025-10-09" || m.NoticePeriod.NominalLastDay.String() != "2025-10-07" {
		t.Fatalf("notice %+v", m.NoticePeriod)
	}
	if m.ObjectionPeriod == nil || m.ObjectionPeriod.StartsOn.String() != "2026-02-13" || m.ObjectionPeriod.LastDay.String() != "2026-02-24" {
		t.Fatalf("objection %+v", m.ObjectionPeriod)
	}
	draft := Motion{NoticeDays: 7}
	draft.DescribePeriods()
	if draft.NoticePeriod != nil || draft.ObjectionPeriod != nil {
		t.Fatal("a draft has no periods yet")
	}
}

func TestReraiseSince(t *testing.T) {
	for _, tc := range []struct{ now, since string }{
		{"2026-11-25 20:00", "2025-11-25"},
		{"2026-11-26 00:10", "2025-11-26"}, // 16:10 UTC the day before
		{"2025-02-28 12:00", "2024-02-28"}, // a close on 29 Feb 2024 still blocks today
		{"2025-03-01 12:00", "2024-03-01"},
		{"2028-02-29 12:00", "2027-03-01"}, // a close on 28 Feb 2027 blocked through 28 Feb 2028
	} {
		got := reraiseSince(cst(tc.now))
		if want := cst(tc.since + " 00:00"); !got.Equal(want) {
			t.Errorf("now %s: since %s, want %s", tc.now, got.In(louyuan.China), want)
		}
	}
}
