package notice

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestClassify(t *testing.T) {
	w := &Worker{cfg: WorkerConfig{MaxAttempts: 3}}
	now := time.Date(2026, 11, 26, 9, 30, 42, 0, time.UTC)
	claim := func(attempt int) Claim { return Claim{Delivery: Delivery{Attempts: attempt}} }
	cases := []struct {
		attempt int
		err     error
		state   string
		next    time.Time
		sub     int
	}{
		{1, nil, StateSent, time.Time{}, 0},
		{1, &SendError{Code: -1}, StateRetried, now.Add(2 * time.Second), +1},
		{2, &SendError{Code: -1}, StateRetried, now.Add(4 * time.Second), +1},
		{3, &SendError{Code: -1}, StateFailed, time.Time{}, +1}, // attempts used up
		{1, &SendError{Code: 45011}, StateRetried, time.Date(2026, 11, 26, 9, 31, 0, 0, time.UTC), +1},
		{1, &SendError{Code: 43101}, StateRefused, time.Time{}, -1},
		{1, &SendError{Code: 40003}, StateFailed, time.Time{}, +1},
		{1, &SendError{Code: 47003}, StateFailed, time.Time{}, +1},
		{1, &SendError{Code: 40037}, StateFailed, time.Time{}, +1},
		{1, &SendError{Code: 40001}, StateFailed, time.Time{}, +1}, // still rejected after the adapter's one refresh
		{1, fmt.Errorf("send: %w", ErrUnknown), StateFailed, time.Time{}, 0},
		{1, fmt.Errorf("send: %w", ErrUnavailable), StateRetried, now.Add(2 * time.Second), +1},
		// A call never made (circuit open) uses up nothing: retried, at
		// most 30 s later, however many times it met the open circuit.
		{3, fmt.Errorf("send: %w", ErrUnavailable), StateRetried, now.Add(8 * time.Second), +1},
		{9, fmt.Errorf("send: %w", ErrUnavailable), StateRetried, now.Add(30 * time.Second), +1},
		{1, errors.New("connection refused"), StateRetried, now.Add(2 * time.Second), +1},
	}
	for _, c := range cases {
		o := w.classify(claim(c.attempt), 7, c.err, now)
		if o.State != c.state || !o.NextAt.Equal(c.next) || o.Subscription != c.sub {
			t.Errorf("attempt %d, %v → %+v; want %s next %s subscription %+d", c.attempt, c.err, o, c.state, c.next, c.sub)
		}
		if o.State != StateSent && o.Reason == "" {
			t.Errorf("%v → %s without a reason", c.err, o.State)
		}
	}
}

func TestFillCutsToLimits(t *testing.T) {
	long := strings.Repeat("加装电梯", 20)
	c := Claim{Notice: Notice{Title: long, Body: "第一行\n\n第二行   第三行", CreatedAt: time.Date(2026, 11, 26, 1, 2, 0, 0, time.UTC), Kind: KindNotice}, Courtyard: "铝厂小区"}
	got := fill(Template{Fields: map[string]string{"thing1": "title", "thing2": "body", "time3": "time", "phrase4": "kind", "character_string5": "title", "thing6": "courtyard"}}, c)
	want := map[string]string{
		"thing1": string([]rune(long)[:19]) + "…", "thing2": "第一行 第二行 第三行", "time3": "2026年11月26日 09:02",
		"phrase4": "楼院通知", "character_string5": string([]rune(long)[:31]) + "…", "thing6": "铝厂小区",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if n := utf8.RuneCountInString(got["thing1"]); n != 20 {
		t.Errorf("thing1 has %d characters, want 20", n)
	}
}
