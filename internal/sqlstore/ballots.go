package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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

// ShareMotions reads motions with a shared lock, in id order.
func (s *Voting) ShareMotions(ctx context.Context, ids []int64) (map[int64]voting.Motion, error) {
	ids = slices.Sorted(slices.Values(ids))
	ids = slices.Compact(ids)
	var rows []motionRow
	if err := s.db.conn(ctx).Raw("SELECT * FROM motions WHERE id IN ? ORDER BY id"+s.db.lockSuffix(" LOCK IN SHARE MODE"), ids).Scan(&rows).Error; err != nil {
		return nil, wrap(err, "read motions")
	}
	out := make(map[int64]voting.Motion, len(rows))
	for _, r := range rows {
		m, err := r.toMotion()
		if err != nil {
			return nil, err
		}
		out[m.ID] = m
	}
	return out, nil
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

// LockElectors locks the electorate rows of keys and reports which exist.
func (s *Voting) LockElectors(ctx context.Context, keys []voting.BallotKey) (map[voting.BallotKey]bool, error) {
	out := make(map[voting.BallotKey]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	where, args := keyWhere(keys)
	rows, err := s.db.conn(ctx).Raw("SELECT motion_id, household_id FROM motion_electorate WHERE "+where+" ORDER BY motion_id, household_id"+s.db.lockSuffix(" FOR UPDATE"), args...).Rows()
	if err != nil {
		return nil, wrap(err, "lock electors")
	}
	defer rows.Close()
	for rows.Next() {
		var k voting.BallotKey
		if err := rows.Scan(&k.MotionID, &k.HouseholdID); err != nil {
			return nil, wrap(err, "lock electors")
		}
		out[k] = true
	}
	return out, wrap(rows.Err(), "lock electors")
}

// LockRepresentatives reports which of the pairs are a household and its
// representative, share-locking their memberships until the transaction
// ends (a representative replaced a moment ago can no longer vote).
func (s *Voting) LockRepresentatives(ctx context.Context, pairs []voting.RepresentativeOf) (map[voting.RepresentativeOf]bool, error) {
	out := make(map[voting.RepresentativeOf]bool, len(pairs))
	if len(pairs) == 0 {
		return out, nil
	}
	households := make([]int64, len(pairs))
	for i, p := range pairs {
		households[i] = p.HouseholdID
	}
	slices.Sort(households)
	rows, err := s.db.conn(ctx).Raw("SELECT user_id, household_id FROM memberships WHERE household_id IN ? AND representative = 1 ORDER BY household_id"+
		s.db.lockSuffix(" LOCK IN SHARE MODE"), slices.Compact(households)).Rows()
	if err != nil {
		return nil, wrap(err, "check representatives")
	}
	defer rows.Close()
	for rows.Next() {
		var p voting.RepresentativeOf
		if err := rows.Scan(&p.UserID, &p.HouseholdID); err != nil {
			return nil, wrap(err, "check representatives")
		}
		out[p] = true
	}
	return out, wrap(rows.Err(), "check representatives")
}

// LockCounted reads the counted ballots of keys that exist, locked.
func (s *Voting) LockCounted(ctx context.Context, keys []voting.BallotKey) (map[voting.BallotKey]voting.Counted, error) {
	out := make(map[voting.BallotKey]voting.Counted, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	where, args := keyWhere(keys)
	var rows []countedRow
	if err := s.db.conn(ctx).Raw("SELECT * FROM counted_ballots WHERE "+where+" ORDER BY motion_id, household_id"+s.db.lockSuffix(" FOR UPDATE"), args...).Scan(&rows).Error; err != nil {
		return nil, wrap(err, "read counted ballots")
	}
	for _, r := range rows {
		out[voting.BallotKey{MotionID: r.MotionID, HouseholdID: r.HouseholdID}] = r.toCounted()
	}
	return out, nil
}

// InsertBallots appends ballots to the history in one statement and sets
// their IDs (read back by their unique receipts: auto-increment values of
// one multi-row insert need not be consecutive).
func (s *Voting) InsertBallots(ctx context.Context, bs []voting.Ballot) error {
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
	conn := s.db.conn(ctx)
	if err := conn.Exec(q.String(), args...).Error; err != nil {
		return wrap(err, "insert ballots")
	}
	rows, err := conn.Raw("SELECT id, receipt FROM ballots WHERE receipt IN ?", receipts).Rows()
	if err != nil {
		return wrap(err, "read ballot ids")
	}
	defer rows.Close()
	ids := make(map[string]int64, len(bs))
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
	if err := rows.Err(); err != nil {
		return wrap(err, "read ballot ids")
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
	return wrap(s.db.conn(ctx).Exec("UPDATE ballots SET superseded_at = ? WHERE id IN ? AND superseded_at IS NULL", at, ids).Error, "supersede ballots")
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
	return wrap(s.db.conn(ctx).Exec(q.String(), args...).Error, "count ballots")
}
