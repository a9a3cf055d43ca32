package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/louyuan/louyuan/internal/audit"
)

// likeEscaper escapes LIKE's wildcards with '!', the escape character
// declared in each LIKE below (the same on MySQL and SQLite).
var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// Search returns one page of a courtyard's audit entries (the courtyard's
// stream and its households') matching q, newest first, and how many match.
func (l *AuditLog) Search(ctx context.Context, q audit.Query) ([]audit.Entry, int64, error) {
	stream := audit.CourtyardStream(q.CourtyardID)
	filtered := func() *gorm.DB {
		db := l.db.conn(ctx).Model(&auditRow{}).
			Where("(stream = ? OR stream LIKE ? ESCAPE '!')", stream, likeEscaper.Replace(stream+":")+"%")
		if q.Actor != "" {
			db = db.Where("actor = ?", q.Actor)
		}
		if q.Action != "" {
			db = db.Where("action LIKE ? ESCAPE '!'", likeEscaper.Replace(q.Action)+"%")
		}
		if q.Object != "" {
			db = db.Where("object = ?", q.Object)
		}
		if !q.From.IsZero() {
			db = db.Where("at >= ?", q.From.UTC())
		}
		if !q.To.IsZero() {
			db = db.Where("at < ?", q.To.UTC())
		}
		return db
	}
	var total int64
	if err := filtered().Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count audit entries: %w", err)
	}
	var rows []auditRow
	if err := filtered().Order("at DESC, id DESC").Offset(q.Offset).Limit(q.Limit).Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("search audit entries: %w", err)
	}
	out := make([]audit.Entry, len(rows))
	for i, r := range rows {
		d, _ := audit.DecodeDetail(r.Detail)
		out[i] = audit.Entry{Stream: r.Stream, Seq: r.Seq, At: r.At.UTC(), Actor: r.Actor, Action: r.Action, Object: r.Object,
			IP: r.IP, RequestID: r.RequestID, Detail: d, PrevHash: r.PrevHash, Hash: r.Hash}
	}
	return out, total, nil
}
