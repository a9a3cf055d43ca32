// Package share owns a courtyard's WeChat group: the council links the
// group once (relinking is audited), and a notice shared into it as a card
// counts the residents who open it from there, once per person.
//
// Which group a card was opened from comes from WeChat only: the
// mini-program passes wx.getShareInfo's encryptedData and iv, which the
// server decrypts with the WeChat session key of the caller's login (kept
// server-side with the session) and which name the group by its openGId.
// The session key is used for that one decryption and goes nowhere else.
package share

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// MaxAge is how old share info may be: the mini-program asks WeChat for it
// right before calling the server.
const MaxAge = time.Hour

// Data is what wx.getShareInfo answered.
type Data struct {
	EncryptedData string `json:"encrypted_data"`
	IV            string `json:"iv"`
}

// ErrOtherApp is what a Decrypter returns, wrapped, for share info made for
// another mini-program; any other error means it could not be decrypted.
var ErrOtherApp = errors.New("share info of another app")

// Decrypter opens share info with a user's WeChat session key.
type Decrypter interface {
	// ShareGroup returns the openGId the share info names and when WeChat
	// made it.
	ShareGroup(sessionKey, encryptedData, iv string) (openGID string, at time.Time, err error)
}

// Group is a courtyard's linked WeChat group. The openGId stays on the
// server.
type Group struct {
	CourtyardID int64     `json:"courtyard_id"`
	OpenGID     string    `json:"-"`
	LinkedBy    string    `json:"linked_by"`
	LinkedAt    time.Time `json:"linked_at"`
}

// Store keeps the links and the opens. Methods join the transaction ctx
// carries.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	CourtyardPlace(ctx context.Context, courtyardID int64) (identity.Place, error)
	// NoticeCourtyard is the courtyard a notice belongs to and whether it
	// has been sent.
	NoticeCourtyard(ctx context.Context, noticeID int64) (courtyardID int64, sent bool, err error)
	// LockGroup locks the courtyard's link (its courtyard row) for the
	// transaction and reads it.
	LockGroup(ctx context.Context, courtyardID int64) (Group, bool, error)
	CourtyardGroup(ctx context.Context, courtyardID int64) (Group, bool, error)
	// GroupCourtyard finds the courtyard a group is linked to.
	GroupCourtyard(ctx context.Context, openGID string) (int64, bool, error)
	// SetGroup writes the courtyard's link, replacing any; a group linked
	// to another courtyard answers wechat_group_taken.
	SetGroup(ctx context.Context, g Group) error
	// AddOpen records that a user opened a notice from its group; false
	// when that open was counted already.
	AddOpen(ctx context.Context, noticeID, userID int64, at time.Time) (bool, error)
}

// Service links groups and counts opens.
type Service struct {
	store Store
	dec   Decrypter
	audit audit.Appender
	log   *slog.Logger
	now   func() time.Time
}

// NewService wires the share service.
func NewService(store Store, dec Decrypter, al audit.Appender, log *slog.Logger) *Service {
	return &Service{store: store, dec: dec, audit: al, log: log, now: time.Now}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

var (
	// ErrUsersOnly refuses a staff account: a group card is opened with a
	// mini-program user's WeChat login.
	ErrUsersOnly   = louyuan.Forbidden("users_only", "请在微信小程序里操作：群信息要用您的微信登录才能识别")
	errNotInScope  = louyuan.Forbidden("not_in_scope", "只有本楼院的理事会成员或社区工作人员可以关联微信群")
	errDataInvalid = louyuan.Invalid("share_data_invalid", "没能识别这个微信群，可能是登录已更新。请回到微信群，重新点开这张卡片再试")
	errDataExpired = louyuan.Invalid("share_data_expired", "群信息已过期，请回到微信群，重新点开这张卡片再试")
	errNotLinked   = louyuan.Invalid("group_not_linked", "本楼院还没有关联微信群，这次打开没有计数。请理事会成员从本楼院的微信群打开小程序，在“理事会”页面点“关联本群”")
	errOtherGroup  = louyuan.Invalid("group_not_courtyard", "这个微信群不是本楼院关联的群，从这里打开不计数。如需更换，请理事会成员在本楼院的群里重新关联")
	errNoNotice    = louyuan.NotFound("notice_not_found", "没有这条通知")
)

// Link makes the group the share info names the courtyard's group. Linking
// the group already linked changes nothing (changed is false); linking
// another replaces it, audited as a relink with both groups.
func (s *Service) Link(ctx context.Context, p identity.Principal, courtyardID int64, sessionKey string, d Data) (g Group, changed bool, err error) {
	if p.Kind != identity.KindUser {
		return Group{}, false, ErrUsersOnly
	}
	place, err := s.store.CourtyardPlace(ctx, courtyardID)
	if err != nil {
		return Group{}, false, err
	}
	if !p.Can(place, identity.CouncilOrStaff...) {
		return Group{}, false, errNotInScope
	}
	gid, err := s.group(ctx, sessionKey, d)
	if err != nil {
		return Group{}, false, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		cur, linked, err := s.store.LockGroup(ctx, courtyardID)
		if err != nil {
			return err
		}
		if linked && cur.OpenGID == gid {
			g = cur
			return nil
		}
		if other, found, err := s.store.GroupCourtyard(ctx, gid); err != nil {
			return err
		} else if found && other != courtyardID {
			return louyuan.Conflict("wechat_group_taken", "这个微信群已关联到另一个楼院，一个群只能关联一个楼院。请在本楼院自己的群里关联")
		}
		g = Group{CourtyardID: courtyardID, OpenGID: gid, LinkedBy: p.Ref(), LinkedAt: s.now().UTC().Truncate(time.Microsecond)}
		if err := s.store.SetGroup(ctx, g); err != nil {
			return err
		}
		changed = true
		rec := audit.Record{Stream: audit.CourtyardStream(courtyardID), Actor: p.Ref(), Action: "courtyard.wechat_group_linked",
			Object: "courtyard:" + strconv.FormatInt(courtyardID, 10), Detail: map[string]any{"group": gid}}
		if linked {
			rec.Action = "courtyard.wechat_group_relinked"
			rec.Detail = map[string]any{"group": gid, "previous_group": cur.OpenGID, "previous_linked_by": cur.LinkedBy,
				"previous_linked_at": cur.LinkedAt.UTC().Format(time.RFC3339)}
		}
		return s.audit.Append(ctx, rec)
	})
	return g, changed, err
}

// GroupOf shows the courtyard's link to its council and staff.
func (s *Service) GroupOf(ctx context.Context, p identity.Principal, courtyardID int64) (Group, bool, error) {
	place, err := s.store.CourtyardPlace(ctx, courtyardID)
	if err != nil {
		return Group{}, false, err
	}
	if !p.Can(place, identity.CouncilOrStaff...) {
		return Group{}, false, louyuan.Forbidden("not_in_scope", "只有本楼院的理事会成员或社区工作人员可以查看")
	}
	return s.store.CourtyardGroup(ctx, courtyardID)
}

// Open counts a user's opening of a sent notice from a group card: once per
// user and notice, and only from the notice's courtyard's linked group.
// counted is false when this user's open was counted before.
func (s *Service) Open(ctx context.Context, p identity.Principal, noticeID int64, sessionKey string, d Data) (counted bool, err error) {
	if p.Kind != identity.KindUser {
		return false, ErrUsersOnly
	}
	yard, sent, err := s.store.NoticeCourtyard(ctx, noticeID)
	if louyuan.IsKind(err, louyuan.KindNotFound) || (err == nil && !sent) {
		return false, errNoNotice
	} else if err != nil {
		return false, err
	}
	gid, err := s.group(ctx, sessionKey, d)
	if err != nil {
		return false, err
	}
	g, linked, err := s.store.CourtyardGroup(ctx, yard)
	switch {
	case err != nil:
		return false, err
	case !linked:
		return false, errNotLinked
	case g.OpenGID != gid:
		return false, errOtherGroup
	}
	return s.store.AddOpen(ctx, noticeID, p.ID, s.now().UTC().Truncate(time.Microsecond))
}

// group decrypts share info to its openGId. Nothing of the key or the data
// reaches the log.
func (s *Service) group(ctx context.Context, sessionKey string, d Data) (string, error) {
	enc, iv := strings.TrimSpace(d.EncryptedData), strings.TrimSpace(d.IV)
	if enc == "" || iv == "" {
		return "", louyuan.Invalid("share_data_required", "缺少群信息（encrypted_data 和 iv），请从微信群里的卡片打开")
	}
	gid, at, err := s.dec.ShareGroup(sessionKey, enc, iv)
	if errors.Is(err, ErrOtherApp) {
		s.log.WarnContext(ctx, "share info watermarked for another app")
		return "", errDataInvalid
	} else if err != nil {
		return "", errDataInvalid
	}
	if age := s.now().Sub(at); age > MaxAge || age < -MaxAge {
		return "", errDataExpired
	}
	return gid, nil
}
