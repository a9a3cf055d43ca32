package louyuan

import (
	"fmt"
	"strconv"
	"strings"
)

// Area is an exclusive floor area in hundredths of a square metre, so that
// 85.20 m² is Area(8520). Areas are summed and compared exactly; they never
// pass through floating point.
type Area int64

// ParseArea reads a decimal area such as "85.2", "85.20" or "85" (at most
// two decimals, positive, below 100000 m²).
func ParseArea(s string) (Area, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty area")
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || strings.ContainsAny(whole, "+-") {
		return 0, fmt.Errorf("area %q is not a positive decimal", s)
	}
	if hasFrac && (len(frac) == 0 || len(frac) > 2) {
		return 0, fmt.Errorf("area %q must have at most two decimals", s)
	}
	w, err := strconv.ParseUint(whole, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("area %q is not a decimal number", s)
	}
	var f uint64
	if hasFrac {
		for len(frac) < 2 {
			frac += "0"
		}
		f, err = strconv.ParseUint(frac, 10, 8)
		if err != nil {
			return 0, fmt.Errorf("area %q is not a decimal number", s)
		}
	}
	if w >= 100000 {
		return 0, fmt.Errorf("area %q is too large", s)
	}
	a := Area(w*100 + f)
	if a <= 0 {
		return 0, fmt.Errorf("area %q must be positive", s)
	}
	return a, nil
}

// String formats the area with exactly two decimals, e.g. "85.20".
func (a Area) String() string {
	sign := ""
	if a < 0 {
		sign, a = "-", -a
	}
	return fmt.Sprintf("%s%d.%02d", sign, int64(a)/100, int64(a)%100)
}
