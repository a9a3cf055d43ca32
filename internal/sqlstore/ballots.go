package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/louyuan/louyuan/internal/voting"
)

// The ballot path: one transaction records a batch of ballots in a fixed
// number of statements, whatever the batch's size. Every statement takes
// its row locks in key order, so that two batches never wait for each
// other in a cycle.

// InBallotTx runs fn in a READ COMMITTED transaction (see
// InTxReadCommitted): the ballots of a household are serialised on its
// locked electorate row, and locking reads of counted ballots that do not
// exist yet take no gap locks.
func (s *Voting) InBallotTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTxReadCommitted(ctx, fn)
}

// LockBallots reads, with a shared lock and in id order, what a ballot
// needs of the motions of ids (see shareMotions), and locks the ballot rows
// of keys (see lockBallotRows), in one round trip.
func (s *Voting) LockBallots(ctx context.Context, ids []int64, keys []voting.BallotKey) (map[int64]voting.Motion, map[voting.BallotKey]voting.BallotRow, error) {
	p := s.db.pipeline()
	motions := s.shareMotions(p, ids)
	rows := lockBallotRows(p, keys)
	if err := s.db.run(ctx, p); err != nil {
		return nil, nil, wrap(err, "lock motions and ballots")
	}
	return motions, rows, nil
}

// shareMotions adds to p the reading, with a shared lock and in id order,
// of what a ballot needs of its motions: status, closing time, courtyard,
// ballot mode, rule and options (not the text or the stored result). Rules
// and options do not change once voting is open, so their decoded form is
// reused while their stored text is the same.
func (s *Voting) shareMotions(p *pipeline, ids []int64) map[int64]voting.Motion {
	ids = slices.Sorted(slices.Values(ids))
	ids = slices.Compact(ids)
	out := make(map[int64]voting.Motion, len(ids))
	p.query(func(rows *sql.Rows) error {
		for rows.Next() {
			var (
				m             voting.Motion
				status        string
				rule, options string
			)
			if err := rows.Scan(&m.ID, &m.CourtyardID, &status, &m.ClosesAt, &m.Mode, &rule, &options); err != nil {
				return wrap(err, "read motions")
			}
			m.Status, m.ClosesAt = voting.Status(status), m.ClosesAt.UTC()
			var err error
			if m.Rule, m.Options, err = s.choices.decode(m.ID, rule, options); err != nil {
				return err
			}
			out[m.ID] = m
		}
		return nil
	}, "SELECT id, courtyard_id, status, closes_at, ballot_mode, rule_json, options_json FROM motions WHERE id IN ? ORDER BY id"+
		p.lockSuffix(" LOCK IN SHARE MODE"), ids)
	return out
}

// choiceCache keeps motions' decoded rules and options by their stored text.
type choiceCache struct {
	mu sync.Mutex
	m  map[int64]decodedChoices
}

type decodedChoices struct {
	rule, options string
	r             voting.Rule
	o             []voting.Option
}

func (c *choiceCache) decode(id int64, rule, options string) (voting.Rule, []voting.Option, error) {
	c.mu.Lock()
	d, ok := c.m[id]
	c.mu.Unlock()
	if ok && d.rule == rule && d.options == options {
		return d.r, d.o, nil
	}
	d = decodedChoices{rule: rule, options: options}
	if err := json.Unmarshal([]byte(rule), &d.r); err != nil {
		return d.r, nil, fmt.Errorf("decode rule of motion %d: %w", id, err)
	}
	if err := json.Unmarshal([]byte(options), &d.o); err != nil {
		return d.r, nil, fmt.Errorf("decode options of motion %d: %w", id, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10_000 {
		c.m = map[int64]decodedChoices{} // bounded: start afresh
	}
	c.m[id] = d
	c.mu.Unlock()
	return d.r, d.o, nil
}

// keyWhere is a WHERE clause matching keys, grouped by motion so that
// MySQL reads them as primary-key ranges, and its arguments.
func keyWhere(keys []voting.BallotKey) (string, []any) {
	byMotion := map[int64][]int64{}
	for _, k := range keys {
		byMotion[k.MotionID] = append(byMotion[k.MotionID], k.HouseholdID)
	}
	var (
		b    strings.Builder
		args []any
	)
	for i, m := range slices.Sorted(maps.Keys(byMotion)) {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(motion_id = ? AND household_id IN ?)")
		hs := byMotion[m]
		slices.Sort(hs)
		args = append(args, m, slices.Compact(hs))
	}
	return b.String(), args
}

// lockBallotRows adds to p the locking, in one statement and in key order,
// for each key in the electorate, of the electorate row, the counted ballot
// (if any) and the representative's membership (if any).
func lockBallotRows(p *pipeline, keys []voting.BallotKey) map[voting.BallotKey]voting.BallotRow {
	out := make(map[voting.BallotKey]voting.BallotRow, len(keys))
	if len(keys) == 0 {
		return out
	}
	where, args := keyWhere(keys)
	where = strings.NewReplacer("motion_id", "e.motion_id", "household_id", "e.household_id").Replace(where)
	p.query(func(rows *sql.Rows) error {
		for rows.Next() {
			var (
				k       voting.BallotKey
				rep     sql.NullInt64
				ballot  sql.NullInt64
				choice  sql.NullString
				channel sql.NullString
				deleg   sql.NullInt64
				version sql.NullInt64
			)
			if err := rows.Scan(&k.MotionID, &k.HouseholdID, &rep, &ballot, &choice, &channel, &deleg, &version); err != nil {
				return wrap(err, "lock ballot rows")
			}
			r := voting.BallotRow{Representative: rep.Int64}
			if version.Valid {
				r.HasCounted = true
				r.Counted = voting.Counted{MotionID: k.MotionID, HouseholdID: k.HouseholdID, BallotID: ballot.Int64, Options: decodeChoice(choice.String),
					Channel: channel.String, DelegationID: deleg.Int64, Version: version.Int64}
			}
			out[k] = r
		}
		return nil
	}, `SELECT e.motion_id, e.household_id, m.user_id, c.ballot_id, c.choice, c.channel, c.delegation_id, c.version
FROM motion_electorate e
LEFT JOIN counted_ballots c ON c.motion_id = e.motion_id AND c.household_id = e.household_id
LEFT JOIN memberships m ON m.household_id = e.household_id AND m.representative = 1
WHERE `+where+` ORDER BY e.motion_id, e.household_id`+p.lockSuffix(" FOR UPDATE"), args...)
	return out
}

// InsertBallots appends ballots to the history in one statement and sets
// their IDs: returned by the insert where the database can, otherwise read
// back by their unique receipts (auto-increment values of one multi-row
// insert need not be consecutive). In the same round trip it locks the
// heads of the audit streams the transaction will append to (creating
// missing ones), after the rows it has locked already.
func (s *Voting) InsertBallots(ctx context.Context, bs []voting.Ballot, streams []string) error {
	if len(bs) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO ballots (motion_id, household_id, choice, channel, cast_by, delegation_id, paper_file, receipt, created_at) VALUES ")
	args := make([]any, 0, 9*len(bs))
	receipts := make([]string, len(bs))
	for i, b := range bs {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, b.MotionID, b.HouseholdID, encodeChoice(b.Options), b.Channel, b.CastBy, nullInt(b.DelegationID), nullString(b.PaperFile), b.Receipt, b.CreatedAt)
		receipts[i] = b.Receipt
	}
	ids := make(map[string]int64, len(bs))
	readIDs := func(rows *sql.Rows) error {
		for rows.Next() {
			var (
				id      int64
				receipt string
			)
			if err := rows.Scan(&id, &receipt); err != nil {
				return wrap(err, "read ballot ids")
			}
			ids[receipt] = id
		}
		return nil
	}
	p := s.db.pipeline()
	if s.db.Returning {
		q.WriteString(" RETURNING id, receipt")
		p.query(readIDs, q.String(), args...)
	} else {
		p.exec(q.String(), args...)
		p.query(readIDs, "SELECT id, receipt FROM ballots WHERE receipt IN ?", receipts)
	}
	if t, ok := txOf(ctx); ok && len(streams) > 0 {
		streams = slices.Sorted(slices.Values(streams))
		streams = slices.Compact(streams)
		lockHeads(createHeads(p, streams), streams, t.heads)
	}
	if err := s.db.run(ctx, p); err != nil {
		return wrap(err, "insert ballots")
	}
	for i := range bs {
		if bs[i].ID = ids[bs[i].Receipt]; bs[i].ID == 0 {
			return fmt.Errorf("ballot with receipt %s not read back", bs[i].Receipt)
		}
	}
	return nil
}

// SupersedeBallots marks ballots as replaced.
func (s *Voting) SupersedeBallots(ctx context.Context, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return wrap(s.db.execLater(ctx, "UPDATE ballots SET superseded_at = ? WHERE id IN ? AND superseded_at IS NULL", at, ids), "supersede ballots")
}

// PutCountedAll creates or replaces counted ballots in one statement. The
// caller holds the locks of their households (electorate rows and counted
// rows), so the versions it computed are the next ones.
func (s *Voting) PutCountedAll(ctx context.Context, cs []voting.Counted) error {
	if len(cs) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO counted_ballots (motion_id, household_id, ballot_id, choice, channel, delegation_id, version, updated_at) VALUES ")
	args := make([]any, 0, 8*len(cs))
	now := time.Now().UTC()
	for i, c := range cs {
		if c.Version < 1 {
			return errors.New("counted ballot without a version")
		}
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, c.MotionID, c.HouseholdID, c.BallotID, encodeChoice(c.Options), c.Channel, nullInt(c.DelegationID), c.Version, now)
	}
	if s.db.Dialect == MySQL {
		q.WriteString(` ON DUPLICATE KEY UPDATE ballot_id = VALUES(ballot_id), choice = VALUES(choice), channel = VALUES(channel),
 delegation_id = VALUES(delegation_id), version = VALUES(version), updated_at = VALUES(updated_at)`)
	} else {
		q.WriteString(` ON CONFLICT (motion_id, household_id) DO UPDATE SET ballot_id = excluded.ballot_id, choice = excluded.choice,
 channel = excluded.channel, delegation_id = excluded.delegation_id, version = excluded.version, updated_at = excluded.updated_at`)
	}
	return wrap(s.db.execLater(ctx, q.String(), args...), "count ballots")
}
