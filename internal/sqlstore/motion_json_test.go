package sqlstore

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/voting"
)

// The JSON in motions.rule_json and options_json has types of its own; the
// text written is exactly what was written before the split (these texts
// were produced by encoding voting.Rule and []voting.Option themselves),
// and rows written then still read, on the ballot path too.
func TestStoredMotionJSON(t *testing.T) {
	const (
		majorRule    = `{"kind":"major","participation_area":{"num":2,"den":3,"strict":false},"participation_head":{"num":2,"den":3,"strict":false},"approval_area":{"num":3,"den":4,"strict":false},"approval_head":{"num":3,"den":4,"strict":false}}`
		electionRule = `{"kind":"election","participation_area":{"num":2,"den":3,"strict":false},"participation_head":{"num":2,"den":3,"strict":false},"approval_area":{"num":1,"den":2,"strict":true},"approval_head":{"num":1,"den":2,"strict":true},"seats":2}`
		decision     = `[{"key":"agree","label":"同意"},{"key":"oppose","label":"反对"},{"key":"abstain","label":"弃权"}]`
	)
	for _, c := range []struct {
		rule voting.Rule
		want string
	}{{voting.MajorRule(), majorRule}, {voting.ElectionRule(2), electionRule}} {
		got, err := encodeRule(c.rule)
		must(t, err)
		if got != c.want {
			t.Errorf("rule_json:\n got %s\nwant %s", got, c.want)
		}
		back, err := decodeRule(c.want)
		must(t, err)
		if !reflect.DeepEqual(back, c.rule) {
			t.Errorf("rule_json %s read as %+v, want %+v", c.want, back, c.rule)
		}
	}
	for _, c := range []struct {
		options []voting.Option
		want    string
	}{{voting.DecisionOptions(), decision}, {nil, "null"}, {[]voting.Option{}, "[]"}} {
		got, err := encodeOptions(c.options)
		must(t, err)
		if got != c.want {
			t.Errorf("options_json of %v: got %s, want %s", c.options, got, c.want)
		}
		back, err := decodeOptions(c.want)
		must(t, err)
		if !reflect.DeepEqual(back, c.options) {
			t.Errorf("options_json %s read as %#v, want %#v", c.want, back, c.options)
		}
	}

	eachDB(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		p := seedPlaces(t, db)
		s := NewVoting(db).WithAudit(NewAuditLog(db, testHasher))
		m, err := s.CreateMotion(ctx, voting.Motion{CourtyardID: p.Courtyard, ScopeType: voting.ScopeCourtyard, ScopeID: p.Courtyard, Title: "表决",
			Rule: voting.MajorRule(), Options: voting.DecisionOptions(), Mode: voting.ModeNamed, Status: voting.StatusVoting,
			OpensAt: t0, ClosesAt: t0.Add(time.Hour), CreatedBy: "staff:1", CreatedAt: t0})
		must(t, err)
		var stored struct{ RuleJSON, OptionsJSON string }
		must(t, db.Raw("SELECT rule_json, options_json FROM motions WHERE id = ?", m.ID).Scan(&stored).Error)
		if stored.RuleJSON != majorRule || stored.OptionsJSON != decision {
			t.Errorf("stored %s / %s", stored.RuleJSON, stored.OptionsJSON)
		}
		// A row as an older version wrote it (keys in another order, no
		// seats) reads the same.
		must(t, db.Exec("UPDATE motions SET rule_json = ? WHERE id = ?",
			`{"participation_area":{"den":3,"num":2},"participation_head":{"num":2,"den":3},"approval_area":{"num":3,"den":4,"strict":false},"approval_head":{"num":3,"den":4},"kind":"major"}`, m.ID).Error)
		got, err := s.Motion(ctx, m.ID)
		must(t, err)
		if !reflect.DeepEqual(got.Rule, voting.MajorRule()) || !reflect.DeepEqual(got.Options, voting.DecisionOptions()) {
			t.Errorf("read back %+v %+v", got.Rule, got.Options)
		}
		must(t, s.InBallotTx(ctx, func(_ context.Context, tx voting.BallotTx) error {
			ms, _, err := tx.LockBallots([]int64{m.ID}, nil, nil, nil)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(ms[m.ID].Rule, voting.MajorRule()) || !reflect.DeepEqual(ms[m.ID].Options, voting.DecisionOptions()) {
				t.Errorf("ballot path read %+v %+v", ms[m.ID].Rule, ms[m.ID].Options)
			}
			return nil
		}))
	})
}
