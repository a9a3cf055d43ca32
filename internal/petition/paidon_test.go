package petition

import (
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// The payment date is a China calendar day no later than today in China.
func TestCheckPaidOn(t *testing.T) {
	evening := time.Date(2026, 11, 25, 20, 30, 0, 0, louyuan.China)     // 12:30 UTC, same date
	earlyMorning := time.Date(2026, 11, 26, 0, 30, 0, 0, louyuan.China) // 16:30 UTC on the 25th
	for _, tc := range []struct {
		now time.Time
		day string
		ok  bool
	}{
		{evening, "2026-11-25", true},
		{evening, "2026-11-26", false}, // tomorrow: accepted before (UTC + 24 h)
		{evening, "2026-11-24", true},
		{earlyMorning, "2026-11-26", true}, // today in China, still the 25th in UTC
		{earlyMorning, "2026-11-27", false},
		{evening, "2026-11-25T00:00:00Z", false},
		{evening, "2026-02-30", false},
		{evening, "", false},
	} {
		_, err := checkPaidOn(tc.day, tc.now)
		if (err == nil) != tc.ok {
			t.Errorf("now %s, paid on %q: err %v, want ok=%v", tc.now, tc.day, err, tc.ok)
		}
		if err != nil && louyuan.ErrorCode(err) != "bad_paid_on" {
			t.Errorf("code %s", louyuan.ErrorCode(err))
		}
	}
}
