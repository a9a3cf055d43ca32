package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/voting"
)

// The ballot path: one transaction records a batch of ballots in a fixed
// number of statements, whatever the batch's size. Every statement takes
// its row locks in key order, so that two batches never wait for each
// other in a cycle.

// WithAudit makes the ballot path append its audit entries to l (in the
// ballots' own transaction); the server calls it once when wiring.
func (s *Voting) WithAudit(l *AuditLog) *Voting {
	s.audit = l
	return s
}

// InBallotTx runs fn in a ballot transaction (see ballotTx): the ballots
// of a household are serialised on its locked electorate row, and locking
// reads of counted ballots that do not exist yet take no gap locks. The
// ballot path's statements go through tx; fn's ctx lets the checks of a
// proxy or paper ballot read (and claim) in the same transaction, before
// tx queues its writes (see inBallotTx).
func (s *Voting) InBallotTx(ctx context.Context, fn func(ctx context.Context, tx voting.BallotTx) error) error {
	if s.audit == nil {
		return errors.New("ballot store without an audit log (WithAudit)")
	}
	return s.db.inBallotTx(ctx, func(ctx context.Context, t *ballotTx) error { return fn(ctx, ballotWriter{s: s, t: t}) })
}

// ballotWriter is voting.BallotTx: the ballot path's statements in one
// ballot transaction.
type ballotWriter struct {
	s *Voting
	t *ballotTx
}

// LockBallots reads, with a shared lock and in id order, what a ballot
// needs of the motions of ids (see shareMotions), and locks the ballot rows
// of keys (see lockBallotRows); then, in the same round trip, inserts the
// ballots bs whose keys are in the electorate (setting their IDs; the
// others keep 0), and locks the audit heads of streams (see InsertBallots).
func (w ballotWriter) LockBallots(ids []int64, keys []voting.BallotKey, bs []voting.Ballot, streams []string) (map[int64]voting.Motion, map[voting.BallotKey]voting.BallotRow, error) {
	p := w.s.db.pipeline()
	motions := w.s.shareMotions(p, ids)
	rows := lockBallotRows(p, keys)
	inserted := w.s.insertElectorBallots(p, bs)
	streams = w.lockStreams(p, streams)
	if err := w.t.run(p); err != nil {
		return nil, nil, wrap(err, "lock motions and ballots")
	}
	w.missingHeads(streams)
	for i := range bs {
		bs[i].ID = inserted[bs[i].Receipt]
		if _, in := rows[voting.BallotKey{MotionID: bs[i].MotionID, HouseholdID: bs[i].HouseholdID}]; in && bs[i].ID == 0 {
			return nil, nil, errBallotSkipped
		}
	}
	return motions, rows, nil
}

// errBallotSkipped is a ballot of the electorate that the insert skipped:
// its receipt was taken (the batch runs again with new ones).
var errBallotSkipped = errors.New("ballot of the electorate not inserted (receipt taken)")

// insertElectorBallots adds to p the insert of those of bs whose keys are
// in the motion's electorate (the others may be left out, so that a ballot
// of an unknown motion or household cannot fail the statement), and the
// reading of their IDs by receipt into the map it returns.
//
// On MySQL it is a plain multi-row INSERT IGNORE: a row whose motion or
// household does not exist is skipped (its foreign key fails as a warning)
// and one of a household outside the electorate is inserted and refused
// like any other (DeleteBallots). A row skipped for any other reason (a
// receipt taken already) is caught by LockBallots, which finds it in the
// electorate without an ID, and the batch runs again. SQLite's OR IGNORE
// does not cover foreign keys, so there the rows are joined with the
// electorate (a statement MySQL would plan arm by arm, through a temporary
// table).
func (s *Voting) insertElectorBallots(p *pipeline, bs []voting.Ballot) map[string]int64 {
	if len(bs) == 0 {
		return nil
	}
	if s.db.Dialect == MySQL {
		return s.insertBallotValues(p, "INSERT IGNORE", bs)
	}
	var q strings.Builder
	args := make([]any, 0, 9*len(bs))
	q.WriteString("INSERT INTO ballots (motion_id, household_id, choice, channel, cast_by, delegation_id, paper_file, receipt, created_at)\n" +
		"SELECT v.motion_id, v.household_id, v.choice, v.channel, v.cast_by, v.delegation_id, v.paper_file, v.receipt, v.created_at FROM (")
	for i, b := range bs {
		if i == 0 {
			q.WriteString("SELECT ? AS motion_id, ? AS household_id, ? AS choice, ? AS channel, ? AS cast_by, ? AS delegation_id, ? AS paper_file, ? AS receipt, ? AS created_at")
		} else {
			q.WriteString(" UNION ALL SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?")
		}
		args = append(args, b.MotionID, b.HouseholdID, encodeChoice(b.Options), b.Channel, b.CastBy, nullInt(b.DelegationID), nullString(b.PaperFile), b.Receipt, b.CreatedAt)
	}
	q.WriteString(") v JOIN motion_electorate e ON e.motion_id = v.motion_id AND e.household_id = v.household_id")
	return s.readBallotIDs(p, q.String(), args, bs)
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
	var q strings.Builder
	q.WriteString("SELECT id, courtyard_id, status, closes_at, ballot_mode, rule_json, options_json FROM motions WHERE id IN ")
	args := in(&q, nil, ids)
	q.WriteString(" ORDER BY id" + p.lockSuffix(" LOCK IN SHARE MODE"))
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
	}, q.String(), args...)
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
	var err error
	if d.r, err = decodeRule(rule); err != nil {
		return d.r, nil, fmt.Errorf("decode rule of motion %d: %w", id, err)
	}
	if d.o, err = decodeOptions(options); err != nil {
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

// keyWhere is a WHERE clause matching keys on the columns of table t,
// grouped by motion so that MySQL reads them as primary-key ranges, and its
// arguments.
func keyWhere(t string, keys []voting.BallotKey) (string, []any) {
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
		b.WriteString("(" + t + ".motion_id = ? AND " + t + ".household_id IN ")
		hs := byMotion[m]
		slices.Sort(hs)
		args = in(&b, append(args, m), slices.Compact(hs))
		b.WriteByte(')')
	}
	return b.String(), args
}

// lockBallotRows adds to p the locking, in one statement and in key order,
// for each key in the electorate, of the electorate row, the counted ballot
// (if any) and the representative's membership (if any).
//
// On MySQL the electorate is read through its primary key, named: left to
// itself MariaDB weighs the household index too (an index dive per
// household) and often scans it, locking each row twice and in household
// rather than key order; named, the statement costs ~11% less (replayed
// alone, 8 households) and the lock order is the key order whatever the
// statistics say.
func lockBallotRows(p *pipeline, keys []voting.BallotKey) map[voting.BallotKey]voting.BallotRow {
	out := make(map[voting.BallotKey]voting.BallotRow, len(keys))
	if len(keys) == 0 {
		return out
	}
	where, args := keyWhere("e", keys)
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
FROM motion_electorate e`+p.onMySQL(" FORCE INDEX (PRIMARY)")+`
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
func (w ballotWriter) InsertBallots(bs []voting.Ballot, streams []string) error {
	p := w.s.db.pipeline()
	ids := w.s.insertBallots(p, bs)
	streams = w.lockStreams(p, streams)
	if len(p.parts) == 0 {
		return nil
	}
	if err := w.t.run(p); err != nil {
		return wrap(err, "insert ballots")
	}
	w.missingHeads(streams)
	for i := range bs {
		if bs[i].ID = ids[bs[i].Receipt]; bs[i].ID == 0 {
			return fmt.Errorf("ballot with receipt %s not read back", bs[i].Receipt)
		}
	}
	return nil
}

// lockStreams adds to p the locking of the audit heads of streams not
// locked yet, after the rows locked already, and returns them (sorted). A
// missing head takes no gap lock (READ COMMITTED; SQLite's single writer):
// it is inserted with the commit, and a transaction that created it
// meanwhile makes that insert fail on its key (the batch runs again).
func (w ballotWriter) lockStreams(p *pipeline, streams []string) []string {
	var todo []string
	for _, st := range streams {
		if _, ok := w.t.heads[st]; !ok {
			todo = append(todo, st)
		}
	}
	slices.Sort(todo)
	todo = slices.Compact(todo)
	if len(todo) > 0 {
		lockHeads(p, todo, w.t.heads)
	}
	return todo
}

// missingHeads records the heads of streams that the locking read did not
// find as fresh ones, to be inserted.
func (w ballotWriter) missingHeads(streams []string) {
	for _, st := range streams {
		if _, ok := w.t.heads[st]; !ok {
			w.t.heads[st] = auditHeadRow{Stream: st, Hash: audit.Genesis, fresh: true}
		}
	}
}

// insertBallots adds to p the insert of bs and the reading of their IDs,
// by receipt, into the map it returns.
func (s *Voting) insertBallots(p *pipeline, bs []voting.Ballot) map[string]int64 {
	if len(bs) == 0 {
		return nil
	}
	return s.insertBallotValues(p, "INSERT", bs)
}

// insertBallotValues adds to p a multi-row insert of bs (verb is INSERT
// or INSERT IGNORE) and the reading of their IDs, by receipt, into the map
// it returns.
func (s *Voting) insertBallotValues(p *pipeline, verb string, bs []voting.Ballot) map[string]int64 {
	var q strings.Builder
	q.WriteString(verb + " INTO ballots (motion_id, household_id, choice, channel, cast_by, delegation_id, paper_file, receipt, created_at) VALUES ")
	args := make([]any, 0, 9*len(bs))
	for i, b := range bs {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, b.MotionID, b.HouseholdID, encodeChoice(b.Options), b.Channel, b.CastBy, nullInt(b.DelegationID), nullString(b.PaperFile), b.Receipt, b.CreatedAt)
	}
	return s.readBallotIDs(p, q.String(), args, bs)
}

// readBallotIDs adds to p the insert q (of bs, or of some of them) and the
// reading of the IDs it gave, by receipt, into the map it returns:
// returned by the insert where the database can, otherwise read back by
// their unique receipts.
func (s *Voting) readBallotIDs(p *pipeline, q string, args []any, bs []voting.Ballot) map[string]int64 {
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
	if s.db.Returning {
		p.query(readIDs, q+" RETURNING id, receipt", args...)
		return ids
	}
	p.exec(q, args...)
	var rq strings.Builder
	rq.WriteString("SELECT id, receipt FROM ballots WHERE receipt IN ")
	receipts := make([]string, len(bs))
	for i, b := range bs {
		receipts[i] = b.Receipt
	}
	rargs := in(&rq, nil, receipts)
	p.query(readIDs, rq.String(), rargs...)
	return ids
}

// DeleteBallots removes ballots this transaction inserted and then
// refused (queued).
func (w ballotWriter) DeleteBallots(ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("DELETE FROM ballots WHERE id IN ")
	args := in(&q, nil, ids)
	w.t.queue(q.String(), args...)
	return nil
}

// SupersedeBallots marks ballots as replaced.
func (w ballotWriter) SupersedeBallots(ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("UPDATE ballots SET superseded_at = ? WHERE id IN ")
	args := in(&q, []any{at}, ids)
	q.WriteString(" AND superseded_at IS NULL")
	w.t.queue(q.String(), args...)
	return nil
}

// PutCountedAll creates or replaces counted ballots in one statement. The
// caller holds the locks of their households (electorate rows and counted
// rows), so the versions it computed are the next ones.
func (w ballotWriter) PutCountedAll(cs []voting.Counted) error {
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
	if w.s.db.Dialect == MySQL {
		q.WriteString(` ON DUPLICATE KEY UPDATE ballot_id = VALUES(ballot_id), choice = VALUES(choice), channel = VALUES(channel),
 delegation_id = VALUES(delegation_id), version = VALUES(version), updated_at = VALUES(updated_at)`)
	} else {
		q.WriteString(` ON CONFLICT (motion_id, household_id) DO UPDATE SET ballot_id = excluded.ballot_id, choice = excluded.choice,
 channel = excluded.channel, delegation_id = excluded.delegation_id, version = excluded.version, updated_at = excluded.updated_at`)
	}
	w.t.queue(q.String(), args...)
	return nil
}

// AppendAudit queues rs as the next entries of their streams, whose heads
// InsertBallots locked; a stream it did not lock is an error, not a read
// after the queued writes.
func (w ballotWriter) AppendAudit(rs []audit.Record) error {
	if len(rs) == 0 {
		return nil
	}
	parts, err := w.s.audit.appendParts(audit.OriginOf(w.t.ctx), rs, w.t.heads)
	if err != nil {
		return err
	}
	w.t.later = append(w.t.later, parts...)
	return nil
}
