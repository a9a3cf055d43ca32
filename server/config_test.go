package main

import (
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/notice"
)

// The settings this server added for ballot batching, notices and the
// profiler are read from the environment, and a malformed one is refused
// with its name.
func TestConfigEnvNoticesAndBatching(t *testing.T) {
	env := map[string]string{
		"LOUYUAN_VOTING_BATCH_WORKERS":    "3",
		"LOUYUAN_VOTING_BATCH_MAX":        "16",
		"LOUYUAN_VOTING_BATCH_MIN_EXTRA":  "4",
		"LOUYUAN_NOTICES_WORKERS":         "0",
		"LOUYUAN_NOTICES_RATE_PER_SECOND": "120",
		"LOUYUAN_NOTICES_REMINDER_BEFORE": "36h",
		"LOUYUAN_NOTICES_TEMPLATES":       `{"notice":{"id":"T1","fields":{"thing1":"title","time2":"time"}}}`,
		"LOUYUAN_DEBUG_ADDR":              "127.0.0.1:6060",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c := defaultConfig()
	if c.Voting.BatchWorkers != 2 || c.Voting.BatchMax != 32 || c.Voting.BatchMinExtra != 8 || c.Notices.Workers != 8 || c.Notices.RatePerSecond != 50 || c.Notices.ReminderBefore != 24*time.Hour {
		t.Fatalf("defaults: %+v %+v", c.Voting, c.Notices)
	}
	if err := c.applyEnv(lookup); err != nil {
		t.Fatal(err)
	}
	if c.Voting.BatchWorkers != 3 || c.Voting.BatchMax != 16 || c.Voting.BatchMinExtra != 4 || c.Notices.Workers != 0 || c.Notices.RatePerSecond != 120 ||
		c.Notices.ReminderBefore != 36*time.Hour || c.HTTP.DebugAddr != "127.0.0.1:6060" {
		t.Fatalf("from the environment: %+v %+v %q", c.Voting, c.Notices, c.HTTP.DebugAddr)
	}
	if tm := c.Notices.Templates["notice"]; tm.ID != "T1" || tm.Fields["thing1"] != "title" || len(c.Notices.Templates) != 1 {
		t.Fatalf("templates: %+v", c.Notices.Templates)
	}
	for name, bad := range map[string]string{"LOUYUAN_NOTICES_TEMPLATES": "{not json", "LOUYUAN_VOTING_BATCH_MAX": "many", "LOUYUAN_VOTING_BATCH_MIN_EXTRA": "eight", "LOUYUAN_NOTICES_REMINDER_BEFORE": "a day"} {
		c := defaultConfig()
		err := c.applyEnv(func(k string) (string, bool) {
			if k == name {
				return bad, true
			}
			return "", false
		})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v, want one naming the variable", name, bad, err)
		}
	}
}

// A template for a kind of notice that does not exist stops the server at
// start rather than being ignored.
func TestUnknownNoticeTemplateRefused(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	cfg.Notices.Templates = map[string]notice.Template{"noticee": {ID: "T"}}
	if _, err := e2eTryStart(t, cfg); err == nil || !strings.Contains(err.Error(), "noticee") {
		t.Fatalf("start with an unknown template kind: %v", err)
	}
}
