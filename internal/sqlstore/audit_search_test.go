package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
)

func TestAuditSearchFiltersAndPagesOneCourtyard(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		l := NewAuditLog(db, testHasher)
		recs := []audit.Record{
			{Stream: audit.CourtyardStream(1), Actor: "staff:1", Action: "motion.create", Object: "motion:1"},
			{Stream: audit.CourtyardStream(1), Actor: "staff:1", Action: "motion.publish", Object: "motion:1"},
			{Stream: audit.HouseholdStream(1, 3), Actor: "staff:1", Action: "ballot.paper", Object: "motion:1"},
			{Stream: audit.CourtyardStream(10), Actor: "staff:2", Action: "motion.create", Object: "motion:2"},
			{Stream: audit.CourtyardStream(1), Actor: "user:5", Action: "motion_x", Object: "motion:1"},
		}
		for _, r := range recs {
			must(t, l.Append(ctx, r))
		}
		search := func(q audit.Query) ([]audit.Entry, int64) {
			t.Helper()
			if q.Limit == 0 {
				q.Limit = 20
			}
			es, n, err := l.Search(ctx, q)
			must(t, err)
			return es, n
		}
		// Courtyard 1's stream and its households', not courtyard 10's.
		if es, n := search(audit.Query{CourtyardID: 1}); n != 4 || len(es) != 4 {
			t.Fatalf("courtyard 1: %d entries (%d listed), want 4", n, len(es))
		}
		// An action prefix; '_' is no wildcard.
		if es, n := search(audit.Query{CourtyardID: 1, Action: "motion."}); n != 2 || es[0].Action != "motion.publish" {
			t.Errorf("action motion.: %d, first %+v", n, es)
		}
		if _, n := search(audit.Query{CourtyardID: 1, Action: "motion_"}); n != 1 {
			t.Errorf("action motion_ matched %d, want only motion_x", n)
		}
		if _, n := search(audit.Query{CourtyardID: 1, Actor: "user:5"}); n != 1 {
			t.Errorf("actor user:5: %d", n)
		}
		// Pages: newest first, total unchanged.
		es, n := search(audit.Query{CourtyardID: 1, Offset: 1, Limit: 2})
		if n != 4 || len(es) != 2 || es[0].Action != "ballot.paper" {
			t.Errorf("page 2 of 2: total %d, %+v", n, es)
		}
		if _, n := search(audit.Query{CourtyardID: 1, From: time.Now().Add(time.Hour)}); n != 0 {
			t.Errorf("from the future: %d", n)
		}
	})
}
