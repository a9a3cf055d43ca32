package louyuan

import "testing"

func TestParseArea(t *testing.T) {
	good := map[string]Area{"85": 8500, "85.2": 8520, "85.20": 8520, "0.01": 1, " 120.05 ": 12005, "99999.99": 9999999}
	for in, want := range good {
		got, err := ParseArea(in)
		if err != nil || got != want {
			t.Errorf("ParseArea(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, _ := ParseArea(got.String()); back != got {
			t.Errorf("round trip of %q gave %v", in, back)
		}
	}
	for _, in := range []string{"", "0", "0.00", "-5", "+5", "85.123", "85.", ".5", "abc", "1e3", "100000", "85,2"} {
		if got, err := ParseArea(in); err == nil {
			t.Errorf("ParseArea(%q) = %v; want an error", in, got)
		}
	}
	if s := Area(8520).String(); s != "85.20" {
		t.Errorf("String = %q", s)
	}
}
