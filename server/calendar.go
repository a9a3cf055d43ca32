package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// loadCalendar is the embedded holiday calendar with the years of the
// configured file (calendar.holidays_file) laid over it. It warns when the
// current year, or from November on the next one, has no official data:
// periods ending then count weekends only until staff add the State
// Council's notice for that year.
func loadCalendar(path string, now time.Time, log *slog.Logger) (*louyuan.Calendar, error) {
	cal := louyuan.DefaultCalendar()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("calendar.holidays_file: %w", err)
		}
		o, err := louyuan.ParseCalendar(data)
		if err != nil {
			return nil, fmt.Errorf("calendar.holidays_file %s: %w", path, err)
		}
		cal = cal.Override(o)
	}
	today := louyuan.DateOf(now)
	need := []int{today.Year}
	if today.Month >= time.November {
		need = append(need, today.Year+1)
	}
	for _, y := range need {
		if !cal.Covers(y) {
			log.Warn("the holiday calendar has no official holidays for this year: periods ending then count weekends only; add the State Council's notice with calendar.holidays_file",
				"year", y, "years", cal.Years())
		}
	}
	return cal, nil
}
