package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/louyuan/louyuan/internal/audit"
)

var lockingClause = clause.Locking{Strength: "UPDATE"}

type auditRow struct {
	ID        int64 `gorm:"primaryKey"`
	Stream    string
	Seq       int64
	At        time.Time
	Actor     string
	Action    string
	Object    string
	IP        string `gorm:"column:ip"`
	RequestID string
	Detail    string
	PrevHash  string
	Hash      string
}

func (auditRow) TableName() string { return "audit_log" }

type auditHeadRow struct {
	Stream string `gorm:"primaryKey"`
	Seq    int64
	Hash   string
	// fresh: missing when the transaction looked, to be inserted by it.
	fresh bool `gorm:"-"`
}

func (auditHeadRow) TableName() string { return "audit_heads" }

// AuditLog appends to and reads the hash-chained audit log.
type AuditLog struct {
	db     *DB
	hasher audit.Hasher
	now    func() time.Time
}

// NewAuditLog returns the audit log of db, hashing with h.
func NewAuditLog(db *DB, h audit.Hasher) *AuditLog {
	return &AuditLog{db: db, hasher: h, now: time.Now}
}

// Append writes r as the next entry of its stream, inside the transaction
// carried by ctx (or its own when there is none). Writers of one stream are
// serialised by a row lock on the stream's head.
func (l *AuditLog) Append(ctx context.Context, r audit.Record) error {
	return l.AppendAll(ctx, []audit.Record{r})
}

// AppendAll writes rs in order, each as the next entry of its stream, in
// three or four statements whatever their number: the heads of their streams are
// created when missing and locked (in stream order, so that two batches
// never wait for each other in a cycle), the entries inserted, the heads
// moved on.
func (l *AuditLog) AppendAll(ctx context.Context, rs []audit.Record) error {
	if len(rs) == 0 {
		return nil
	}
	return l.db.InTx(ctx, func(ctx context.Context) error {
		t, _ := txOf(ctx)
		if unlocked := unlockedStreams(rs, t.heads); len(unlocked) > 0 {
			if err := l.db.lockAuditHeads(ctx, unlocked, t.heads); err != nil {
				return err
			}
		}
		parts, err := l.appendParts(audit.OriginOf(ctx), rs, t.heads)
		if err != nil {
			return err
		}
		for _, part := range parts {
			if err := l.db.conn(ctx).Exec(part.sql, part.args...).Error; err != nil {
				return fmt.Errorf("append audit entries: %w", err)
			}
		}
		return nil
	})
}

// unlockedStreams lists, in order, the streams of rs whose heads are not
// in heads (not locked yet by the transaction).
func unlockedStreams(rs []audit.Record, heads map[string]auditHeadRow) []string {
	var out []string
	for _, r := range rs {
		if _, locked := heads[streamOf(r)]; !locked {
			out = append(out, streamOf(r))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// appendParts returns the statements that write rs, each as the next entry
// of its stream, and move the heads on: the insert of the entries, then the
// heads' new positions (an upsert for heads that existed, an insert for
// fresh ones, which fails on a duplicate key if another transaction created
// the same head meanwhile). Every head must be locked already (in heads);
// heads is updated to where the statements leave the streams. A record
// without an origin gets origin.
func (l *AuditLog) appendParts(origin audit.Origin, rs []audit.Record, heads map[string]auditHeadRow) ([]pipePart, error) {
	at := l.now().UTC().Truncate(time.Microsecond)
	var q strings.Builder
	q.WriteString("INSERT INTO audit_log (stream, seq, at, actor, action, object, ip, request_id, detail, prev_hash, hash) VALUES ")
	args := make([]any, 0, 11*len(rs))
	moved := map[string]bool{}
	for i, r := range rs {
		st := streamOf(r)
		head, ok := heads[st]
		if !ok || head.Stream != st {
			return nil, fmt.Errorf("audit head of %s was not locked", st)
		}
		o := r.Origin
		if o == (audit.Origin{}) {
			o = origin
		}
		e := audit.Entry{
			Stream: st, Seq: head.Seq + 1, At: at,
			Actor: r.Actor, Action: r.Action, Object: r.Object, IP: o.IP, RequestID: o.RequestID,
			Detail: r.Detail, PrevHash: head.Hash,
		}
		detail, hash, err := l.hasher.Seal(e)
		if err != nil {
			return nil, err
		}
		e.Hash = hash
		head.Seq, head.Hash = e.Seq, e.Hash
		heads[st] = head
		moved[st] = true
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, e.Stream, e.Seq, e.At, e.Actor, e.Action, e.Object, e.IP, e.RequestID, detail, e.PrevHash, e.Hash)
	}
	parts := []pipePart{{sql: q.String(), args: args}}
	// The heads are locked (or new to this transaction): move each on to
	// its stream's last entry.
	var existing, fresh []auditHeadRow
	for _, st := range slices.Sorted(maps.Keys(moved)) {
		if h := heads[st]; h.fresh {
			fresh = append(fresh, h)
		} else {
			existing = append(existing, h)
		}
	}
	for _, hs := range [][]auditHeadRow{existing, fresh} {
		if len(hs) == 0 {
			continue
		}
		q.Reset()
		q.WriteString("INSERT INTO audit_heads (stream, seq, hash) VALUES ")
		args := make([]any, 0, 3*len(hs))
		for i, h := range hs {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?)")
			args = append(args, h.Stream, h.Seq, h.Hash)
		}
		if !hs[0].fresh {
			if l.db.Dialect == MySQL {
				q.WriteString(" ON DUPLICATE KEY UPDATE seq = VALUES(seq), hash = VALUES(hash)")
			} else {
				q.WriteString(" ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, hash = excluded.hash")
			}
		}
		parts = append(parts, pipePart{sql: q.String(), args: args})
	}
	// Written by this transaction: no longer fresh.
	for _, h := range fresh {
		h.fresh = false
		heads[h.Stream] = h
	}
	return parts, nil
}

// lockAuditHeads locks the heads of streams (in order), creating the
// missing ones, and reads them into heads. On SQLite, whose single writer
// takes no gap locks, the heads are read first and only the missing ones
// created (one statement in the usual case); on MySQL they are created
// first (a locking read of a missing row at REPEATABLE READ would take a
// gap lock).
func (db *DB) lockAuditHeads(ctx context.Context, streams []string, heads map[string]auditHeadRow) error {
	if db.Dialect == SQLite {
		if err := db.run(ctx, lockHeads(db.pipeline(), streams, heads)); err != nil {
			return fmt.Errorf("lock audit heads: %w", err)
		}
		var missing []string
		for _, st := range streams {
			if heads[st].Stream != st {
				missing = append(missing, st)
			}
		}
		if streams = missing; len(streams) == 0 {
			return nil
		}
	}
	if err := db.run(ctx, lockHeads(createHeads(db.pipeline(), streams), streams, heads)); err != nil {
		return fmt.Errorf("create and lock audit heads: %w", err)
	}
	return nil
}

// createHeads adds to p the creation of the heads of streams that have
// none. On MySQL the no-op update takes each row's exclusive lock at once;
// INSERT IGNORE would take a shared one and deadlock the next step.
func createHeads(p *pipeline, streams []string) *pipeline {
	var q strings.Builder
	args := make([]any, 0, 2*len(streams))
	if p.dialect == MySQL {
		q.WriteString("INSERT INTO audit_heads (stream, seq, hash) VALUES ")
	} else {
		q.WriteString("INSERT OR IGNORE INTO audit_heads (stream, seq, hash) VALUES ")
	}
	for i, st := range streams {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, 0, ?)")
		args = append(args, st, audit.Genesis)
	}
	if p.dialect == MySQL {
		q.WriteString(" ON DUPLICATE KEY UPDATE stream = stream")
	}
	p.exec(q.String(), args...)
	return p
}

// lockHeads adds to p the locking read of the heads of streams, into heads.
func lockHeads(p *pipeline, streams []string, heads map[string]auditHeadRow) *pipeline {
	var q strings.Builder
	q.WriteString("SELECT stream, seq, hash FROM audit_heads WHERE stream IN ")
	args := in(&q, nil, streams)
	q.WriteString(" ORDER BY stream" + p.lockSuffix(" FOR UPDATE"))
	p.query(func(rows *sql.Rows) error {
		for rows.Next() {
			var h auditHeadRow
			if err := rows.Scan(&h.Stream, &h.Seq, &h.Hash); err != nil {
				return fmt.Errorf("lock audit heads: %w", err)
			}
			heads[h.Stream] = h
		}
		return nil
	}, q.String(), args...)
	return p
}

func streamOf(r audit.Record) string {
	if r.Stream == "" {
		return audit.GlobalStream
	}
	return r.Stream
}

// Verify walks every stream in order and reports each break in the chains.
// It reads the entries and the heads as of one moment (a read-only
// snapshot), so that appends committed meanwhile are not taken for
// deleted entries.
func (l *AuditLog) Verify(ctx context.Context) (checked int, problems []audit.Problem, err error) {
	err = l.db.inSnapshot(ctx, func(ctx context.Context) error {
		checked, problems, err = l.verify(ctx)
		return err
	})
	return checked, problems, err
}

func (l *AuditLog) verify(ctx context.Context) (checked int, problems []audit.Problem, err error) {
	v := audit.NewVerifier(l.hasher)
	// Keyset pagination in (stream, seq) order: the order the chains need.
	var last auditRow
	for first := true; ; first = false {
		var rows []auditRow
		q := l.db.conn(ctx).Order("stream, seq").Limit(1000)
		if !first {
			q = q.Where("stream > ? OR (stream = ? AND seq > ?)", last.Stream, last.Stream, last.Seq)
		}
		if err := q.Find(&rows).Error; err != nil {
			return 0, nil, fmt.Errorf("read audit log: %w", err)
		}
		for _, r := range rows {
			d, err := audit.DecodeDetail(r.Detail)
			if err != nil {
				v.Problems = append(v.Problems, audit.Problem{Stream: r.Stream, Seq: r.Seq, Reason: "detail is not valid JSON: entry edited"})
				continue
			}
			v.Check(audit.Entry{Stream: r.Stream, Seq: r.Seq, At: r.At.UTC(), Actor: r.Actor, Action: r.Action, Object: r.Object,
				IP: r.IP, RequestID: r.RequestID, Detail: d, PrevHash: r.PrevHash, Hash: r.Hash})
		}
		if len(rows) < 1000 {
			break
		}
		last = rows[len(rows)-1]
	}
	var heads []auditHeadRow
	if err := l.db.conn(ctx).Find(&heads).Error; err != nil {
		return 0, nil, fmt.Errorf("read audit heads: %w", err)
	}
	hs := make([]audit.Head, len(heads))
	for i, h := range heads {
		hs[i] = audit.Head{Stream: h.Stream, Seq: h.Seq, Hash: h.Hash}
	}
	v.Finish(hs)
	return v.Checked, v.Problems, nil
}

// Entries returns the latest entries of a stream, newest first.
func (l *AuditLog) Entries(ctx context.Context, stream string, limit int) ([]audit.Entry, error) {
	var rows []auditRow
	if err := l.db.conn(ctx).Where("stream = ?", stream).Order("seq DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	out := make([]audit.Entry, len(rows))
	for i, r := range rows {
		d, _ := audit.DecodeDetail(r.Detail)
		out[i] = audit.Entry{Stream: r.Stream, Seq: r.Seq, At: r.At.UTC(), Actor: r.Actor, Action: r.Action, Object: r.Object,
			IP: r.IP, RequestID: r.RequestID, Detail: d, PrevHash: r.PrevHash, Hash: r.Hash}
	}
	return out, nil
}
