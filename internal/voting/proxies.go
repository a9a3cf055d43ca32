package voting

import (
	"context"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// ErrProxyUsersOnly refuses proxy ballots from a staff account.
var ErrProxyUsersOnly = louyuan.Forbidden("users_only", "只有受托人可以代为投票")

// ErrDelegateUsersOnly refuses a delegation from a staff account.
var ErrDelegateUsersOnly = louyuan.Forbidden("users_only", "只有户代表可以委托投票")

// Delegation statuses. A delegation is made by the household's
// representative, accepted by the proxy, and (where the courtyard requires a
// signed authorisation) confirmed by the council with its photo.
const (
	DelegationPending  = "pending"  // waiting for the proxy to accept
	DelegationAccepted = "accepted" // accepted; waiting for the council's confirmation
	DelegationActive   = "active"   // the proxy may vote
	DelegationDeclined = "declined" // the proxy said no
	DelegationRevoked  = "revoked"  // the household took it back
	DelegationExpired  = "expired"  // its date or its motion is over
)

// Delegation hands a household's vote to a proxy for one motion, or for
// every motion of the courtyard until a time.
type Delegation struct {
	ID                int64     `json:"id"`
	CourtyardID       int64     `json:"courtyard_id"`
	HouseholdID       int64     `json:"household_id"`
	ProxyUserID       int64     `json:"proxy_user_id"`
	MotionID          int64     `json:"motion_id,omitempty"`
	Until             time.Time `json:"until,omitzero"`
	Status            string    `json:"status"`
	AuthorisationFile string    `json:"authorisation_file,omitempty"`
	CreatedBy         string    `json:"created_by"`
	CreatedAt         time.Time `json:"created_at"`
	AcceptedAt        time.Time `json:"accepted_at,omitzero"`
	ConfirmedAt       time.Time `json:"confirmed_at,omitzero"`
	EndedAt           time.Time `json:"ended_at,omitzero"`
}

// Covers reports whether d lets its proxy vote on m at now.
func (d Delegation) Covers(m Motion, now time.Time) bool {
	if d.Status != DelegationActive {
		return false
	}
	if d.MotionID != 0 {
		return d.MotionID == m.ID
	}
	return d.CourtyardID == m.CourtyardID && !now.After(d.Until)
}

// DelegationStore keeps delegations.
type DelegationStore interface {
	CreateDelegation(ctx context.Context, d Delegation) (Delegation, error)
	// Delegation reads a delegation without locking it.
	Delegation(ctx context.Context, id int64) (Delegation, error)
	LockDelegation(ctx context.Context, id int64) (Delegation, error)
	// LockDelegations reads and locks delegations in one statement, in id
	// order; one that does not exist is missing from the answer.
	LockDelegations(ctx context.Context, ids []int64) (map[int64]Delegation, error)
	UpdateDelegation(ctx context.Context, d Delegation) error
	// LockProxy locks the proxy's user row so that cap checks of one proxy
	// are serialised.
	LockProxy(ctx context.Context, userID int64) error
	// ProxyLoad counts the delegations in play (pending, accepted or
	// active) that a proxy holds in a courtyard.
	ProxyLoad(ctx context.Context, proxyUserID, courtyardID int64) (int, error)
	DelegationsOfHouseholds(ctx context.Context, householdIDs []int64) ([]Delegation, error)
	DelegationsOfProxy(ctx context.Context, proxyUserID int64) ([]Delegation, error)
	IsBound(ctx context.Context, userID int64) (bool, error)
	HouseholdCourtyard(ctx context.Context, householdID int64) (int64, error)
	// ExpireDelegations ends delegations in play whose date has passed or
	// whose motion is no longer under notice or voting: those of a
	// household and those held by a proxy (0 = any).
	ExpireDelegations(ctx context.Context, now time.Time, householdID, proxyUserID int64) error
	// WithdrawProxyBallots turns the counted ballots that a delegation cast
	// in motions still voting into "no vote", returning them.
	WithdrawProxyBallots(ctx context.Context, delegationID int64, now time.Time) ([]Counted, error)
}

// NewDelegation is what a representative asks for.
type NewDelegation struct {
	HouseholdID int64     `json:"household_id"`
	ProxyUserID int64     `json:"proxy_user_id"`
	MotionID    int64     `json:"motion_id,omitempty"`
	Until       time.Time `json:"until,omitzero"`
}

func (s *Service) recordDelegation(ctx context.Context, d Delegation, actor, action string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["household"], detail["proxy"], detail["status"] = d.HouseholdID, d.ProxyUserID, d.Status
	if err := s.audit.Append(ctx, audit.Record{Stream: audit.HouseholdStream(d.CourtyardID, d.HouseholdID), Actor: actor, Action: action,
		Object: "delegation:" + itoa(d.ID), Detail: detail}); err != nil {
		return err
	}
	return s.notify.DelegationChanged(ctx, d, action)
}

// Delegate hands the household's vote to a proxy. Only the representative
// may delegate (so a proxy can never pass a delegation on), a household has
// one delegation in play at a time, and a proxy holds at most the
// courtyard's cap of them.
func (s *Service) Delegate(ctx context.Context, p identity.Principal, nd NewDelegation) (Delegation, error) {
	ds := s.store
	if p.Kind != identity.KindUser {
		return Delegation{}, ErrDelegateUsersOnly
	}
	rep, err := s.store.IsRepresentative(ctx, p.ID, nd.HouseholdID)
	if err != nil {
		return Delegation{}, err
	}
	if !rep {
		held, err := ds.DelegationsOfProxy(ctx, p.ID)
		if err != nil {
			return Delegation{}, err
		}
		for _, d := range held {
			if d.HouseholdID == nd.HouseholdID && (d.Status == DelegationActive || d.Status == DelegationAccepted || d.Status == DelegationPending) {
				return Delegation{}, louyuan.Forbidden("delegation_chain", "受托人不能把委托再转给别人")
			}
		}
		return Delegation{}, louyuan.Forbidden("not_representative", "只有本户的户代表可以委托投票")
	}
	if nd.ProxyUserID == p.ID {
		return Delegation{}, louyuan.Invalid("self_delegation", "不能委托给自己")
	}
	bound, err := ds.IsBound(ctx, nd.ProxyUserID)
	if err != nil {
		return Delegation{}, err
	}
	if !bound {
		return Delegation{}, louyuan.NotFound("proxy_not_found", "受托人须是已在平台绑定房屋的用户")
	}
	yard, err := ds.HouseholdCourtyard(ctx, nd.HouseholdID)
	if err != nil {
		return Delegation{}, err
	}
	now := s.now().UTC()
	d := Delegation{CourtyardID: yard, HouseholdID: nd.HouseholdID, ProxyUserID: nd.ProxyUserID, Status: DelegationPending, CreatedBy: p.Ref(), CreatedAt: now}
	switch {
	case nd.MotionID != 0 && nd.Until.IsZero():
		m, err := s.store.Motion(ctx, nd.MotionID)
		if err != nil {
			return Delegation{}, err
		}
		if m.CourtyardID != yard {
			return Delegation{}, louyuan.Invalid("motion_elsewhere", "该表决不属于您房屋所在的楼院")
		}
		if m.Status != StatusNotice && m.Status != StatusVoting {
			return Delegation{}, louyuan.Conflict("voting_closed", "该表决不在公示或投票期内，不能委托")
		}
		d.MotionID = m.ID
	case nd.MotionID == 0 && !nd.Until.IsZero():
		if !nd.Until.After(now) || nd.Until.After(now.AddDate(1, 0, 0)) {
			return Delegation{}, louyuan.Invalid("bad_until", "委托截止时间须在今后一年之内")
		}
		d.Until = nd.Until.UTC()
	default:
		return Delegation{}, louyuan.Invalid("bad_delegation_scope", "请选择委托一项表决，或委托本楼院截至某日的全部表决（二选一）")
	}
	c, err := s.store.Courtyard(ctx, yard)
	if err != nil {
		return Delegation{}, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := ds.LockProxy(ctx, d.ProxyUserID); err != nil {
			return err
		}
		// Delegations past their date or their motion no longer count
		// against the household or the proxy.
		if err := ds.ExpireDelegations(ctx, now, d.HouseholdID, 0); err != nil {
			return err
		}
		if err := ds.ExpireDelegations(ctx, now, 0, d.ProxyUserID); err != nil {
			return err
		}
		n, err := ds.ProxyLoad(ctx, d.ProxyUserID, yard)
		if err != nil {
			return err
		}
		if n >= c.MaxDelegationsPerProxy {
			return louyuan.Errorf(louyuan.KindConflict, "proxy_cap_reached", "该受托人已接受%d户的委托，已达本楼院规定的上限", n)
		}
		if d, err = ds.CreateDelegation(ctx, d); err != nil {
			return err
		}
		return s.recordDelegation(ctx, d, p.Ref(), "delegation.create", map[string]any{"motion": d.MotionID, "until": d.Until})
	})
	return d, err
}

// ErrDelegationNotFound is a delegation that does not exist, and the
// answer to those who may not act on one: it is not shown to them.
var ErrDelegationNotFound = louyuan.NotFound("delegation_not_found", "没有这项委托")

// mayAccept: only the proxy answers a delegation.
func mayAccept(p identity.Principal, d Delegation) bool {
	return p.Kind == identity.KindUser && d.ProxyUserID == p.ID
}

// AcceptVisible tells whether p may answer the delegation: nil, or the 404
// Accept gives them (the API checks it before reading a request's body).
func (s *Service) AcceptVisible(ctx context.Context, p identity.Principal, id int64) error {
	d, err := s.store.Delegation(ctx, id)
	if err == nil && !mayAccept(p, d) {
		err = ErrDelegationNotFound
	}
	return err
}

// ConfirmVisible tells whether p may confirm the delegation (council and
// staff of its courtyard): nil, or the 404 Confirm gives them.
func (s *Service) ConfirmVisible(ctx context.Context, p identity.Principal, id int64) error {
	d, err := s.store.Delegation(ctx, id)
	if err == nil && !s.mayConfirm(ctx, p, d) {
		err = ErrDelegationNotFound
	}
	return err
}

// mayConfirm: the council and staff of its courtyard confirm a delegation.
func (s *Service) mayConfirm(ctx context.Context, p identity.Principal, d Delegation) bool {
	return s.canManage(ctx, p, d.CourtyardID) == nil
}

// Accept is the proxy's yes (or no, with accept false).
func (s *Service) Accept(ctx context.Context, p identity.Principal, id int64, accept bool) (Delegation, error) {
	return s.changeDelegation(ctx, p, id, func(ctx context.Context, d *Delegation) (string, error) {
		if !mayAccept(p, *d) {
			return "", ErrDelegationNotFound
		}
		if d.Status != DelegationPending {
			return "", louyuan.Conflict("delegation_not_pending", "这项委托已经处理过了")
		}
		now := s.now().UTC()
		if !accept {
			d.Status, d.EndedAt = DelegationDeclined, now
			return "delegation.decline", nil
		}
		c, err := s.store.Courtyard(ctx, d.CourtyardID)
		if err != nil {
			return "", err
		}
		d.AcceptedAt, d.Status = now, DelegationActive
		if c.ProxyPhotoRequired {
			d.Status = DelegationAccepted
		}
		return "delegation.accept", nil
	})
}

// Confirm is the council's confirmation, with the photo of the signed
// authorisation (委托书), where the courtyard requires one.
func (s *Service) Confirm(ctx context.Context, p identity.Principal, id int64, photo string) (Delegation, error) {
	return s.changeDelegation(ctx, p, id, func(ctx context.Context, d *Delegation) (string, error) {
		if !s.mayConfirm(ctx, p, *d) {
			return "", ErrDelegationNotFound // as for Accept and Revoke
		}
		if d.Status != DelegationAccepted {
			return "", louyuan.Conflict("delegation_not_accepted", "只有受托人已接受、待确认的委托可以确认")
		}
		ok, err := s.store.FileExists(ctx, photo, "proxy_authorisation", d.CourtyardID)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", louyuan.Invalid("photo_required", "请先上传签字委托书的照片（用途 proxy_authorisation）")
		}
		d.Status, d.ConfirmedAt, d.AuthorisationFile = DelegationActive, s.now().UTC(), photo
		return "delegation.confirm", nil
	})
}

// Revoke ends a delegation; the household's representative (or staff) may
// revoke at any time. A ballot the proxy cast for the household in a motion
// still voting is withdrawn.
func (s *Service) Revoke(ctx context.Context, p identity.Principal, id int64) (Delegation, error) {
	var withdrawn []Counted
	d, err := s.changeDelegation(ctx, p, id, func(ctx context.Context, d *Delegation) (string, error) {
		rep := false
		if p.Kind == identity.KindUser {
			var err error
			if rep, err = s.store.IsRepresentative(ctx, p.ID, d.HouseholdID); err != nil {
				return "", err
			}
		}
		if !rep && s.canManage(ctx, p, d.CourtyardID, identity.StaffRoles...) != nil {
			return "", ErrDelegationNotFound
		}
		if d.Status != DelegationPending && d.Status != DelegationAccepted && d.Status != DelegationActive {
			return "", louyuan.Conflict("delegation_ended", "这项委托已经结束")
		}
		now := s.now().UTC()
		d.Status, d.EndedAt = DelegationRevoked, now
		var err error
		withdrawn, err = s.store.WithdrawProxyBallots(ctx, d.ID, now)
		return "delegation.revoke", err
	})
	if err != nil {
		return Delegation{}, err
	}
	for _, c := range withdrawn {
		s.applyLive(ctx, c)
	}
	return d, nil
}

func (s *Service) changeDelegation(ctx context.Context, p identity.Principal, id int64, change func(ctx context.Context, d *Delegation) (string, error)) (Delegation, error) {
	var out Delegation
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		d, err := s.store.LockDelegation(ctx, id)
		if err != nil {
			return err
		}
		action, err := change(ctx, &d)
		if err != nil {
			return err
		}
		if err := s.store.UpdateDelegation(ctx, d); err != nil {
			return err
		}
		out = d
		return s.recordDelegation(ctx, d, p.Ref(), action, nil)
	})
	return out, err
}

// ProxyResult is the outcome of a proxy ballot for one household.
type ProxyResult struct {
	HouseholdID int64    `json:"household_id"`
	Receipt     *Receipt `json:"receipt,omitempty"`
	Error       *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// CastAsProxy casts the same choice for each household the proxy holds an
// active delegation of, all in one transaction; each household gets its
// own result (a refusal of one does not stop the others). A household that
// voted itself keeps its own ballot.
func (s *Service) CastAsProxy(ctx context.Context, p identity.Principal, motionID int64, householdIDs []int64, options []string) ([]ProxyResult, error) {
	if p.Kind != identity.KindUser {
		return nil, ErrProxyUsersOnly
	}
	if len(householdIDs) == 0 || len(householdIDs) > 100 {
		return nil, louyuan.Invalid("bad_households", "请选择1到100户")
	}
	seen := make(map[int64]bool, len(householdIDs))
	for _, hid := range householdIDs {
		if seen[hid] {
			return nil, louyuan.Invalid("duplicate_households", "同一户只能选一次")
		}
		seen[hid] = true
	}
	held, err := s.store.DelegationsOfProxy(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	results := make([]ProxyResult, len(householdIDs))
	var (
		cs  []cast
		pos []int // cs[k] is the ballot of householdIDs[pos[k]]
	)
	origin := audit.OriginOf(ctx)
	for i, hid := range householdIDs {
		results[i].HouseholdID = hid
		c, ok := s.proxyCast(p, motionID, hid, options, held)
		if !ok {
			results[i].Error = proxyError(louyuan.Forbidden("no_delegation", "您没有这户的有效委托"))
			continue
		}
		c.origin = origin
		cs, pos = append(cs, c), append(pos, i)
	}
	if len(cs) > 0 {
		rs, err := s.castBatch(ctx, cs)
		if err != nil {
			return nil, err
		}
		for k, r := range rs {
			i := pos[k]
			if r.err != nil {
				var e *louyuan.Error
				if !louyuan.AsError(r.err, &e) || e.Kind == louyuan.KindInternal || e.Kind == louyuan.KindUnavailable {
					return nil, r.err
				}
				results[i].Error = proxyError(e)
				continue
			}
			rc := r.receipt
			results[i].Receipt = &rc
		}
	}
	return results, nil
}

func proxyError(e *louyuan.Error) *struct {
	Code    string `json:"code"`
	Message string `json:"message"`
} {
	return &struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{e.Code, e.Message}
}

// proxyCast is the proxy's ballot for one household, if the proxy holds an
// active delegation of it; the delegation is checked again, locked, inside
// the ballot's transaction (castAll, proxyAllowed).
func (s *Service) proxyCast(p identity.Principal, motionID, hid int64, options []string, held []Delegation) (cast, bool) {
	var candidate *Delegation
	for i := range held {
		if held[i].HouseholdID == hid && held[i].Status == DelegationActive {
			candidate = &held[i]
		}
	}
	if candidate == nil {
		return cast{}, false
	}
	return cast{motionID: motionID, householdID: hid, options: options, channel: ChannelProxy, castBy: p.Ref(), delegationID: candidate.ID}, true
}

// proxyAllowed checks a proxy ballot against its delegation d (found
// false when it no longer exists), locked in the ballot's transaction, and
// against the household's counted ballot.
func proxyAllowed(d Delegation, found bool, m Motion, now time.Time, current Counted, exists bool) error {
	if !found {
		return ErrDelegationNotFound
	}
	if !d.Covers(m, now) {
		if d.Status == DelegationActive {
			return louyuan.Forbidden("delegation_expired", "这项委托已过期或不适用于本次表决")
		}
		return louyuan.Forbidden("no_delegation", "您没有这户的有效委托")
	}
	if exists && (current.Channel == ChannelSelf || current.Channel == ChannelPaper) {
		return louyuan.Conflict("household_voted_itself", "该户已自行投票，以本户的投票为准")
	}
	return nil
}
