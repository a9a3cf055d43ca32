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
		heads := make(map[string]auditHeadRow, len(rs))
		var unlocked []string // streams whose heads this transaction has not locked yet
		for _, r := range rs {
			st := streamOf(r)
			if _, seen := heads[st]; seen {
				continue
			}
			h, locked := t.heads[st]
			heads[st] = h
			if !locked {
				unlocked = append(unlocked, st)
			}
		}
		streams := slices.Sorted(maps.Keys(heads))
		if len(unlocked) > 0 {
			slices.Sort(unlocked)
			if err := l.db.lockAuditHeads(ctx, unlocked, heads); err != nil {
				return err
			}
		}
		for _, st := range streams {
			if heads[st].Stream != st {
				return fmt.Errorf("audit head of %s was not created", st)
			}
		}
		at := l.now().UTC().Truncate(time.Microsecond)
		var q strings.Builder
		q.WriteString("INSERT INTO audit_log (stream, seq, at, actor, action, object, ip, request_id, detail, prev_hash, hash) VALUES ")
		args := make([]any, 0, 11*len(rs))
		for i, r := range rs {
			st := streamOf(r)
			head := heads[st]
			origin := r.Origin
			if origin == (audit.Origin{}) {
				origin = audit.OriginOf(ctx)
			}
			e := audit.Entry{
				Stream: st, Seq: head.Seq + 1, At: at,
				Actor: r.Actor, Action: r.Action, Object: r.Object, IP: origin.IP, RequestID: origin.RequestID,
				Detail: r.Detail, PrevHash: head.Hash,
			}
			detail, hash, err := l.hasher.Seal(e)
			if err != nil {
				return err
			}
			e.Hash = hash
			heads[st] = auditHeadRow{Stream: st, Seq: e.Seq, Hash: e.Hash}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, e.Stream, e.Seq, e.At, e.Actor, e.Action, e.Object, e.IP, e.RequestID, detail, e.PrevHash, e.Hash)
		}
		if err := l.db.execLater(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("insert audit entries: %w", err)
		}
		// The heads are locked: move each on to its stream's last entry.
		q.Reset()
		q.WriteString("INSERT INTO audit_heads (stream, seq, hash) VALUES ")
		args = args[:0]
		for i, st := range streams {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?)")
			args = append(args, st, heads[st].Seq, heads[st].Hash)
		}
		if l.db.Dialect == MySQL {
			q.WriteString(" ON DUPLICATE KEY UPDATE seq = VALUES(seq), hash = VALUES(hash)")
		} else {
			q.WriteString(" ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, hash = excluded.hash")
		}
		if err := l.db.execLater(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("advance audit heads: %w", err)
		}
		for _, st := range streams {
			t.heads[st] = heads[st]
		}
		return nil
	})
}

// lockAuditHeads locks the heads of streams (in order), creating the
// missing ones, and reads them into heads. Plain SQL: it runs in every
// ballot's transaction. A pipelined transaction creates and locks in one
// round trip; elsewhere, where a locking read of a missing head takes no gap
// lock, the heads are locked first and only the missing ones created (one
// statement in the usual case); otherwise they are created first.
func (db *DB) lockAuditHeads(ctx context.Context, streams []string, heads map[string]auditHeadRow) error {
	if t, ok := txOf(ctx); !ok || !t.pipelined {
		if db.noGapLocks(ctx) {
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
	p.query(func(rows *sql.Rows) error {
		for rows.Next() {
			var h auditHeadRow
			if err := rows.Scan(&h.Stream, &h.Seq, &h.Hash); err != nil {
				return fmt.Errorf("lock audit heads: %w", err)
			}
			heads[h.Stream] = h
		}
		return nil
	}, "SELECT stream, seq, hash FROM audit_heads WHERE stream IN ? ORDER BY stream"+p.lockSuffix(" FOR UPDATE"), streams)
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
