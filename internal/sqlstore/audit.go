package sqlstore

import (
	"context"
	"fmt"
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

// RequestMeta is what the API layer knows about a request and the audit log
// records: where it came from and its request ID.
type RequestMeta struct {
	IP        string
	RequestID string
}

type metaKey struct{}

// WithRequestMeta attaches m to ctx for audit entries written under it.
func WithRequestMeta(ctx context.Context, m RequestMeta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

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
	return l.db.InTx(ctx, func(ctx context.Context) error {
		conn := l.db.conn(ctx)
		if r.Stream == "" {
			r.Stream = audit.GlobalStream
		}
		// Plain SQL on this path: it runs in every ballot's transaction.
		// On MySQL the no-op update takes the row's exclusive lock at once;
		// INSERT IGNORE would take a shared one and deadlock the next step.
		createHead := "INSERT OR IGNORE INTO audit_heads (stream, seq, hash) VALUES (?, 0, ?)"
		if l.db.Dialect == MySQL {
			createHead = "INSERT INTO audit_heads (stream, seq, hash) VALUES (?, 0, ?) ON DUPLICATE KEY UPDATE stream = stream"
		}
		if err := conn.Exec(createHead, r.Stream, audit.Genesis).Error; err != nil {
			return fmt.Errorf("create audit head: %w", err)
		}
		var head auditHeadRow
		if err := conn.Raw("SELECT seq, hash FROM audit_heads WHERE stream = ?"+l.db.lockSuffix(" FOR UPDATE"), r.Stream).Row().Scan(&head.Seq, &head.Hash); err != nil {
			return fmt.Errorf("lock audit head: %w", err)
		}
		meta, _ := ctx.Value(metaKey{}).(RequestMeta)
		e := audit.Entry{
			Stream: r.Stream, Seq: head.Seq + 1, At: l.now().UTC().Truncate(time.Microsecond),
			Actor: r.Actor, Action: r.Action, Object: r.Object, IP: meta.IP, RequestID: meta.RequestID,
			Detail: r.Detail, PrevHash: head.Hash,
		}
		detail, err := audit.EncodeDetail(e.Detail)
		if err != nil {
			return err
		}
		// Hash what will be read back, so that verification sees the same.
		if e.Detail, err = audit.DecodeDetail(detail); err != nil {
			return err
		}
		if e.Hash, err = l.hasher.Hash(e); err != nil {
			return err
		}
		if err := conn.Exec("INSERT INTO audit_log (stream, seq, at, actor, action, object, ip, request_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			e.Stream, e.Seq, e.At, e.Actor, e.Action, e.Object, e.IP, e.RequestID, detail, e.PrevHash, e.Hash).Error; err != nil {
			return fmt.Errorf("insert audit entry: %w", err)
		}
		res := conn.Exec("UPDATE audit_heads SET seq = ?, hash = ? WHERE stream = ? AND seq = ?", e.Seq, e.Hash, e.Stream, head.Seq)
		if res.Error != nil {
			return fmt.Errorf("advance audit head: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("audit head of %s moved underneath us", e.Stream)
		}
		return nil
	})
}

// Verify walks every stream in order and reports each break in the chains.
func (l *AuditLog) Verify(ctx context.Context) (checked int, problems []audit.Problem, err error) {
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
