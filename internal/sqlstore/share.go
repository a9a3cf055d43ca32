package sqlstore

import (
	"context"
	"time"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/share"
)

// Shares is the share.Store on SQL.
type Shares struct{ db *DB }

// NewShares returns the share store of db.
func NewShares(db *DB) *Shares { return &Shares{db: db} }

var _ share.Store = (*Shares)(nil)

type wechatGroupRow struct {
	CourtyardID int64  `gorm:"primaryKey;autoIncrement:false"`
	OpenGID     string `gorm:"column:open_gid"`
	LinkedBy    string
	LinkedAt    time.Time
}

func (wechatGroupRow) TableName() string { return "courtyard_wechat_groups" }

func (r wechatGroupRow) group() share.Group {
	return share.Group{CourtyardID: r.CourtyardID, OpenGID: r.OpenGID, LinkedBy: r.LinkedBy, LinkedAt: r.LinkedAt.UTC()}
}

type groupOpenRow struct {
	ID       int64 `gorm:"primaryKey"`
	NoticeID int64
	UserID   int64
	OpenedAt time.Time
}

func (groupOpenRow) TableName() string { return "notice_group_opens" }

// InTx runs fn in a transaction.
func (s *Shares) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// CourtyardPlace returns where a courtyard lies.
func (s *Shares) CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error) {
	c, err := NewVoting(s.db).Courtyard(ctx, courtyardID)
	return c.Place, err
}

// NoticeCourtyard is a notice's courtyard and whether it was sent.
func (s *Shares) NoticeCourtyard(ctx context.Context, noticeID int64) (int64, bool, error) {
	var row struct {
		CourtyardID int64
		Status      string
	}
	err := s.db.conn(ctx).Table("notices").Select("courtyard_id, status").Where("id = ?", noticeID).Take(&row).Error
	if missing, err := notFound(err); missing {
		return 0, false, louyuan.NotFound("notice_not_found", "没有这条通知")
	} else if err != nil {
		return 0, false, wrap(err, "read notice")
	}
	return row.CourtyardID, row.Status == "sent", nil
}

// LockGroup locks the courtyard row and reads its link.
func (s *Shares) LockGroup(ctx context.Context, courtyardID int64) (share.Group, bool, error) {
	conn := s.db.conn(ctx)
	var ids []int64
	if err := s.db.forUpdate(conn.Table("courtyards").Select("id").Where("id = ?", courtyardID)).Pluck("id", &ids).Error; err != nil {
		return share.Group{}, false, wrap(err, "lock courtyard")
	}
	if len(ids) == 0 {
		return share.Group{}, false, louyuan.NotFound("courtyard_not_found", "楼院不存在")
	}
	return s.CourtyardGroup(ctx, courtyardID)
}

// CourtyardGroup reads a courtyard's link.
func (s *Shares) CourtyardGroup(ctx context.Context, courtyardID int64) (share.Group, bool, error) {
	var rows []wechatGroupRow
	if err := s.db.conn(ctx).Where("courtyard_id = ?", courtyardID).Limit(1).Find(&rows).Error; err != nil {
		return share.Group{}, false, wrap(err, "read wechat group")
	}
	if len(rows) == 0 {
		return share.Group{}, false, nil
	}
	return rows[0].group(), true, nil
}

// GroupCourtyard finds the courtyard a group is linked to.
func (s *Shares) GroupCourtyard(ctx context.Context, openGID string) (int64, bool, error) {
	var ids []int64
	if err := s.db.conn(ctx).Table("courtyard_wechat_groups").Where("open_gid = ?", openGID).Pluck("courtyard_id", &ids).Error; err != nil {
		return 0, false, wrap(err, "read wechat group")
	}
	if len(ids) == 0 {
		return 0, false, nil
	}
	return ids[0], true, nil
}

var errGroupTaken = louyuan.Conflict("wechat_group_taken", "这个微信群已关联到另一个楼院，一个群只能关联一个楼院。请在本楼院自己的群里关联")

// SetGroup writes a courtyard's link, replacing the one it had.
func (s *Shares) SetGroup(ctx context.Context, g share.Group) error {
	conn := s.db.conn(ctx)
	row := wechatGroupRow{CourtyardID: g.CourtyardID, OpenGID: g.OpenGID, LinkedBy: g.LinkedBy, LinkedAt: g.LinkedAt}
	// Delete and insert, in the caller's transaction: an update that
	// changes nothing would look like a missing row on MySQL.
	if err := conn.Where("courtyard_id = ?", g.CourtyardID).Delete(&wechatGroupRow{}).Error; err != nil {
		return wrap(err, "replace wechat group")
	}
	res := conn.Create(&row)
	if isDuplicate(res.Error) {
		return errGroupTaken
	}
	return wrap(res.Error, "write wechat group")
}

// AddOpen records a user's first open of a notice from its group.
func (s *Shares) AddOpen(ctx context.Context, noticeID, userID int64, at time.Time) (bool, error) {
	err := s.db.conn(ctx).Create(&groupOpenRow{NoticeID: noticeID, UserID: userID, OpenedAt: at}).Error
	if isDuplicate(err) {
		return false, nil
	}
	return err == nil, wrap(err, "record group open")
}
