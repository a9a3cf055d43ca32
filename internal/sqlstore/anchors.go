package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
)

// Anchors returns the sealed anchors of every scope as of now: the heads
// of every stream, read in one snapshot.
func (l *AuditLog) Anchors(ctx context.Context) ([]audit.Anchor, error) {
	var heads []auditHeadRow
	at := l.now()
	err := l.db.inSnapshot(ctx, func(ctx context.Context) error {
		return l.db.conn(ctx).Order("stream").Find(&heads).Error
	})
	if err != nil {
		return nil, fmt.Errorf("read audit heads: %w", err)
	}
	hs := make([]audit.Head, len(heads))
	for i, h := range heads {
		hs[i] = audit.Head{Stream: h.Stream, Seq: h.Seq, Hash: h.Hash}
	}
	return l.hasher.Anchors(hs, at), nil
}

// CheckAnchors checks each anchor itself (MAC, digest) and then that every
// entry it names is still in the log with the hash it had: an anchored
// entry that is gone means the stream was cut back after the anchor, one
// with another hash that the stream was rewritten.
func (l *AuditLog) CheckAnchors(ctx context.Context, anchors []audit.Anchor) ([]audit.Problem, error) {
	var problems []audit.Problem
	for _, a := range anchors {
		if ps := l.hasher.CheckAnchor(a); len(ps) > 0 {
			problems = append(problems, ps...)
			continue
		}
		when := a.At.UTC().Format(time.RFC3339)
		for start := 0; start < len(a.Heads); start += 500 {
			chunk := a.Heads[start:min(start+500, len(a.Heads))]
			var q strings.Builder
			args := make([]any, 0, 2*len(chunk))
			for i, h := range chunk {
				if i > 0 {
					q.WriteString(" OR ")
				}
				q.WriteString("(stream = ? AND seq = ?)")
				args = append(args, h.Stream, h.Seq)
			}
			var rows []auditHeadRow
			if err := l.db.conn(ctx).Table("audit_log").Select("stream, seq, hash").Where(q.String(), args...).Find(&rows).Error; err != nil {
				return nil, fmt.Errorf("read anchored entries: %w", err)
			}
			found := make(map[string]auditHeadRow, len(rows))
			for _, r := range rows {
				found[r.Stream] = r
			}
			for _, h := range chunk {
				r, ok := found[h.Stream]
				switch {
				case !ok:
					problems = append(problems, audit.Problem{Stream: h.Stream, Seq: h.Seq,
						Reason: "entry anchored at " + when + " (digest " + a.Digest[:16] + "…) is missing: the stream was cut back"})
				case r.Hash != h.Hash:
					problems = append(problems, audit.Problem{Stream: h.Stream, Seq: h.Seq,
						Reason: "entry differs from the one anchored at " + when + " (digest " + a.Digest[:16] + "…): the stream was rewritten"})
				}
			}
		}
	}
	return problems, nil
}

// anchorRow is one published anchor.
type anchorRow struct {
	ID          int64 `gorm:"primaryKey"`
	Scope       string
	PeriodStart time.Time
	At          time.Time
	Digest      string
	Body        string
}

func (anchorRow) TableName() string { return "audit_anchors" }

// PublishAnchor keeps an anchor as the one of its scope for the period
// starting at period. It reports false when that period's anchor of the
// scope exists already (another instance published it).
func (l *AuditLog) PublishAnchor(ctx context.Context, a audit.Anchor, period time.Time) (bool, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	var n int64
	if err := l.db.conn(ctx).Model(&anchorRow{}).Where("scope = ? AND period_start = ?", a.Scope, period.UTC()).Count(&n).Error; err != nil {
		return false, fmt.Errorf("read published anchors: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	err = l.db.conn(ctx).Create(&anchorRow{Scope: a.Scope, PeriodStart: period.UTC(), At: a.At.UTC(), Digest: a.Digest, Body: string(body)}).Error
	if err != nil {
		if isDuplicate(err) {
			return false, nil
		}
		return false, fmt.Errorf("publish anchor: %w", err)
	}
	return true, nil
}

// PublishedAnchors lists the published anchors, oldest first.
func (l *AuditLog) PublishedAnchors(ctx context.Context, scope string) ([]audit.Anchor, error) {
	var rows []anchorRow
	q := l.db.conn(ctx).Order("id")
	if scope != "" {
		q = q.Where("scope = ?", scope)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read published anchors: %w", err)
	}
	out := make([]audit.Anchor, 0, len(rows))
	for _, r := range rows {
		var a audit.Anchor
		if err := json.Unmarshal([]byte(r.Body), &a); err != nil {
			return nil, errors.Join(fmt.Errorf("published anchor %d is damaged", r.ID), err)
		}
		out = append(out, a)
	}
	return out, nil
}

// CouncilUsers lists the users sitting on a running term (on day, a China
// date "2006-01-02") of a council that serves the courtyard.
func (l *AuditLog) CouncilUsers(ctx context.Context, courtyardID int64, day string) ([]int64, error) {
	var ids []int64
	err := l.db.conn(ctx).Raw(`SELECT DISTINCT m.user_id FROM council_members m
		JOIN council_terms t ON t.id = m.term_id
		JOIN council_courtyards cc ON cc.council_id = t.council_id
		WHERE cc.courtyard_id = ? AND t.starts_on <= ? AND t.ends_on >= ? ORDER BY m.user_id`, courtyardID, day, day).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("list council members: %w", err)
	}
	return ids, nil
}
