package roster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// ErrBindRequestUsersOnly refuses a binding request from a staff account.
var ErrBindRequestUsersOnly = louyuan.Forbidden("users_only", "只有小程序用户可以申请绑定房屋")

// ErrBindUsersOnly refuses binding a staff account to a household.
var ErrBindUsersOnly = louyuan.Forbidden("users_only", "只有小程序用户可以绑定房屋")

// Courtyard is a residential compound (楼院/小区) with its place in the
// hierarchy.
type Courtyard struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Address       string `json:"address"`
	CommunityID   int64  `json:"community_id"`
	Community     string `json:"community"`
	SubdistrictID int64  `json:"subdistrict_id"`
	Subdistrict   string `json:"subdistrict"`
}

// Place is where the courtyard sits, for authorisation.
func (c Courtyard) Place() identity.Place {
	return identity.Place{SubdistrictID: c.SubdistrictID, CommunityID: c.CommunityID, CourtyardID: c.ID}
}

// Household is one dwelling.
type Household struct {
	ID          int64 `json:"id"`
	CourtyardID int64 `json:"courtyard_id"`
	// BuildingID and UnitID name the household's building and unit, e.g.
	// as the scope of a notice, motion or petition.
	BuildingID int64        `json:"building_id"`
	UnitID     int64        `json:"unit_id"`
	Building   string       `json:"building"`
	Unit       string       `json:"unit"`
	Room       string       `json:"room"`
	Floor      int          `json:"floor"`
	Area       louyuan.Area `json:"-"`
	Owners     []string     `json:"owners,omitempty"`
	// OwnerRefs are the owners with their ID tails, for the head rule; never
	// sent as they are.
	OwnerRefs []OwnerRef `json:"-"`
	// HeadID is the smallest household ID of the head this household counts
	// in (see CountHeads): households with the same HeadID are one owner in
	// the headcount of a vote. Set in the courtyard's household list only.
	HeadID int64 `json:"head_id,omitempty"`
	// OwnersWithOtherUnits are this household's owners who own other units
	// of the courtyard too. Set in the courtyard's household list only.
	OwnersWithOtherUnits []string `json:"owners_with_other_units,omitempty"`
	// Members is how many WeChat users are bound to the household. Set in
	// the courtyard's household list only.
	BoundMembers int `json:"bound_members,omitempty"`
}

// Label is the household's address inside its courtyard, e.g. "1号楼2单元301".
func (h Household) Label() string { return h.Building + h.Unit + h.Room }

// Member is a user bound to a household.
type Member struct {
	MembershipID   int64      `json:"membership_id"`
	UserID         int64      `json:"user_id"`
	HouseholdID    int64      `json:"household_id"`
	Role           MemberRole `json:"role"`
	Representative bool       `json:"representative"`
	RealName       string     `json:"real_name"`
	PhoneMasked    string     `json:"phone_masked"`
	Via            string     `json:"via"`
	CreatedAt      time.Time  `json:"created_at"`
}

// Invite is a stored invite code (only its hash is kept).
type Invite struct {
	ID          int64
	HouseholdID int64
	Role        MemberRole
	ExpiresAt   time.Time
	UsedAt      time.Time
	RevokedAt   time.Time // zero unless a newer code for the household replaced it
}

// Request is a bind request or a representative-change request.
type Request struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"` // "bind" or "representative"
	HouseholdID int64      `json:"household_id"`
	UserID      int64      `json:"user_id"` // who asks to bind, or the proposed representative
	Role        MemberRole `json:"role,omitempty"`
	RealName    string     `json:"real_name,omitempty"`
	Note        string     `json:"note"`
	Status      string     `json:"status"` // pending, approved, rejected
	RequestedBy string     `json:"requested_by,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// Request statuses.
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusRejected = "rejected"
)

// ImportResult counts what an import changed.
type ImportResult struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// NotInFile counts households of the courtyard the file did not list;
	// they are kept (they may have members and history).
	NotInFile int `json:"not_in_file"`
	// Summary is the courtyard's owners and headcount after the import
	// (set by the service, not the store).
	Summary *HeadSummary `json:"summary,omitempty"`
}

// HeadSummary tells a clerk how the courtyard's households count as heads
// (CountHeads), to check the headcount before a vote.
type HeadSummary struct {
	Households int `json:"households"`
	// Owners is the number of distinct owners.
	Owners int `json:"owners"`
	// Heads is the courtyard's headcount: a household is one head however
	// many owners it has, and households sharing an owner are one.
	Heads int `json:"heads"`
	// OwnersOfSeveralUnits lists every owner registered for more than one
	// household, with those households.
	OwnersOfSeveralUnits []Owner `json:"owners_of_several_units"`
}

// Store keeps places, households, memberships, invites and requests. All
// methods join the transaction carried by ctx.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	AddressStore
	Courtyard(ctx context.Context, id int64) (Courtyard, error)
	// Courtyards lists every courtyard with its community and subdistrict.
	Courtyards(ctx context.Context) ([]Courtyard, error)
	SetCourtyardSettings(ctx context.Context, id int64, st Settings) error
	Household(ctx context.Context, id int64) (Household, error)
	Households(ctx context.Context, courtyardID int64) ([]Household, error)
	ImportHouseholds(ctx context.Context, courtyardID int64, rows []ImportRow, now time.Time) (ImportResult, error)

	// HouseholdsByID reads the households of ids in one go (missing ones
	// are absent).
	HouseholdsByID(ctx context.Context, ids []int64) ([]Household, error)
	Members(ctx context.Context, householdID int64) ([]Member, error)
	// MembersOfHouseholds lists the members of the households of ids in
	// one go.
	MembersOfHouseholds(ctx context.Context, householdIDs []int64) ([]Member, error)
	MembershipsOf(ctx context.Context, userID int64) ([]Member, error)
	AddMember(ctx context.Context, m Member) (Member, error)
	// SetRealNameIfEmpty records the name a user gave when none is known.
	SetRealNameIfEmpty(ctx context.Context, userID int64, name string) error
	RemoveMember(ctx context.Context, userID, householdID int64) (Member, error)
	// SetRepresentative makes userID the household's only representative.
	SetRepresentative(ctx context.Context, householdID, userID int64) error

	CreateInvites(ctx context.Context, invites []Invite, hashes []string, by string, now time.Time) error
	// TakeInvite locks the invite with that hash for the caller's transaction.
	TakeInvite(ctx context.Context, hash string) (Invite, error)
	MarkInviteUsed(ctx context.Context, id, userID int64, now time.Time) error
	// RevokeUnusedInvites revokes the unused invites of households and
	// says how many.
	RevokeUnusedInvites(ctx context.Context, householdIDs []int64, now time.Time) (int64, error)

	CreateRequest(ctx context.Context, r Request) (Request, error)
	// LockRequest reads a request and locks it for the caller's transaction.
	LockRequest(ctx context.Context, kind string, id int64) (Request, error)
	DecideRequest(ctx context.Context, kind string, id int64, status, by, reason string, now time.Time) error
	PendingRequests(ctx context.Context, courtyardID int64) ([]Request, error)
	// MemberCounts counts the users bound to each household of a courtyard
	// (households with none are absent).
	MemberCounts(ctx context.Context, courtyardID int64) (map[int64]int, error)
}

// Limiter counts attempts per key within a window.
type Limiter = louyuan.Limiter

// Service runs households, bindings and rosters.
type Service struct {
	store Store
	// Places creates and renames places; nil refuses those calls.
	Places  PlaceStore
	audit   audit.Appender
	limiter Limiter
	now     func() time.Time
	// InviteValidity is how long a new invite code works.
	InviteValidity time.Duration
	// InviteTriesPerHour caps wrong and right code entries per user.
	InviteTriesPerHour int
	// InviteTriesPerIPPerHour caps them per client IP (0: no limit).
	InviteTriesPerIPPerHour int
	// LookupsPerHour and LookupsPerIPPerHour cap address lookups
	// (FindHousehold) per user and per client IP (0: no limit).
	LookupsPerHour, LookupsPerIPPerHour int
}

// NewService wires the roster service.
func NewService(store Store, al audit.Appender, limiter Limiter) *Service {
	return &Service{store: store, audit: al, limiter: limiter, now: time.Now, InviteValidity: 30 * 24 * time.Hour, InviteTriesPerHour: 10, InviteTriesPerIPPerHour: 60,
		LookupsPerHour: LookupsPerUserHour, LookupsPerIPPerHour: LookupsPerIPHour}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func ref(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }

// courtyardFor loads the courtyard and checks that p holds one of roles there.
func (s *Service) courtyardFor(ctx context.Context, p identity.Principal, courtyardID int64, roles ...identity.Role) (Courtyard, error) {
	c, err := s.store.Courtyard(ctx, courtyardID)
	if err != nil {
		return Courtyard{}, err
	}
	if !p.Can(c.Place(), roles...) {
		return Courtyard{}, louyuan.Forbidden("not_in_scope", "您无权管理该楼院")
	}
	return c, nil
}

// MyHousehold is a household as one of its members sees it.
type MyHousehold struct {
	Household
	Courtyard      string     `json:"courtyard"`
	Role           MemberRole `json:"role"`
	Representative bool       `json:"representative"`
	Members        []Member   `json:"members"`
}

// MyHouseholds lists the households user is bound to, with their members
// (names and masked phones only).
func (s *Service) MyHouseholds(ctx context.Context, p identity.Principal) ([]MyHousehold, error) {
	if p.Kind != identity.KindUser {
		return nil, louyuan.Forbidden("users_only", "只有小程序用户有房屋")
	}
	ms, err := s.store.MembershipsOf(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	out := make([]MyHousehold, 0, len(ms))
	for _, m := range ms {
		h, err := s.store.Household(ctx, m.HouseholdID)
		if err != nil {
			return nil, err
		}
		c, err := s.store.Courtyard(ctx, h.CourtyardID)
		if err != nil {
			return nil, err
		}
		members, err := s.store.Members(ctx, h.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, MyHousehold{Household: h, Courtyard: c.Name, Role: m.Role, Representative: m.Representative, Members: members})
	}
	return out, nil
}

// HashInviteCode is how invite codes are stored.
func HashInviteCode(code string) string {
	s := sha256.Sum256([]byte(NormalizeInviteCode(code)))
	return hex.EncodeToString(s[:])
}

// NormalizeInviteCode upper-cases and drops spaces and dashes, so that
// "abcd-2345" and "ABCD 2345" are the same code.
func NormalizeInviteCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u3000' {
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// inviteAlphabet leaves out letters and digits that old eyes confuse
// (0/O, 1/I/L, 2/Z, 5/S, 8/B).
const inviteAlphabet = "34679ACDEFGHJKMNPQRTUVWXY"

func newInviteCode() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Errorf("read random invite code: %w", err))
	}
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, inviteAlphabet[int(c)%len(inviteAlphabet)])
	}
	return string(out)
}

// allowPerHour counts one try of kind (e.g. "invite") against the caller's
// client IP (perIP an hour) and account (perUser an hour); a limit of 0 is
// none. Past a limit it answers Limited with code and what ("邀请码输入次数
// 过多"), saying when to try again.
func (s *Service) allowPerHour(ctx context.Context, p identity.Principal, kind string, perIP, perUser int, code, what string) error {
	return louyuan.AllowHourly(ctx, s.limiter, code, what+"，请%d分钟后再试，或联系社区工作人员",
		louyuan.HourlyLimit{Key: kind + ":ip:" + audit.OriginOf(ctx).IP, Limit: perIP},
		louyuan.HourlyLimit{Key: kind + ":user:" + strconv.FormatInt(p.ID, 10), Limit: perUser})
}

// BindWithInvite binds the calling user to the household of an invite
// code. The code works once. The first owner bound to a household with no
// representative becomes its representative (the code was issued to that
// household by staff or the council).
func (s *Service) BindWithInvite(ctx context.Context, p identity.Principal, code string) (Member, error) {
	if p.Kind != identity.KindUser {
		return Member{}, ErrBindUsersOnly
	}
	code = NormalizeInviteCode(code)
	if len(code) != 8 {
		return Member{}, louyuan.Invalid("invite_code_format", "邀请码应为8位字母和数字，请核对纸条上的邀请码")
	}
	// Guessing is limited per client IP (many accounts from one place;
	// every try counts, refused ones too) and per account, both counted in
	// Redis across instances.
	if err := s.allowPerHour(ctx, p, "invite", s.InviteTriesPerIPPerHour, s.InviteTriesPerHour, "too_many_invite_tries", "邀请码输入次数过多"); err != nil {
		return Member{}, err
	}
	var m Member
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		inv, err := s.store.TakeInvite(ctx, HashInviteCode(code))
		if louyuan.IsKind(err, louyuan.KindNotFound) {
			return louyuan.NotFound("invite_code_unknown", "邀请码不正确，请核对后重新输入")
		}
		if err != nil {
			return err
		}
		now := s.now()
		if !inv.UsedAt.IsZero() {
			return louyuan.Conflict("invite_code_used", "该邀请码已被使用，请联系社区或理事会重新领取")
		}
		if !inv.RevokedAt.IsZero() {
			return louyuan.Conflict("invite_code_revoked", "该邀请码已作废：已为该户发放了新的邀请码，请使用最新的邀请码，或联系社区或理事会")
		}
		if !now.Before(inv.ExpiresAt) {
			return louyuan.Conflict("invite_code_expired", "该邀请码已过期，请联系社区或理事会重新领取")
		}
		members, err := s.store.Members(ctx, inv.HouseholdID)
		if err != nil {
			return err
		}
		hasRep := false
		for _, x := range members {
			if x.UserID == p.ID {
				return louyuan.Conflict("already_bound", "您已绑定该房屋")
			}
			hasRep = hasRep || x.Representative
		}
		m, err = s.store.AddMember(ctx, Member{UserID: p.ID, HouseholdID: inv.HouseholdID, Role: inv.Role, Via: "invite", CreatedAt: now})
		if err != nil {
			return err
		}
		if inv.Role == RoleOwner && !hasRep {
			if err := s.store.SetRepresentative(ctx, inv.HouseholdID, p.ID); err != nil {
				return err
			}
			m.Representative = true
		}
		if err := s.store.MarkInviteUsed(ctx, inv.ID, p.ID, now); err != nil {
			return err
		}
		return s.audit2(ctx, inv.HouseholdID, p.Ref(), "household.bind", map[string]any{
			"user": p.ID, "role": string(inv.Role), "via": "invite", "invite": inv.ID, "representative": m.Representative})
	})
	return m, err
}

func hasRepresentative(members []Member) bool {
	for _, m := range members {
		if m.Representative {
			return true
		}
	}
	return false
}

// audit2 writes an entry about a household into its courtyard's stream.
func (s *Service) audit2(ctx context.Context, householdID int64, actor, action string, detail map[string]any) error {
	h, err := s.store.Household(ctx, householdID)
	if err != nil {
		return err
	}
	return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(h.CourtyardID), Actor: actor, Action: action,
		Object: ref("household", householdID), Detail: detail})
}

// IssueInvites makes one fresh code per household (all households of the
// courtyard when householdIDs is empty) for members of the given role.
// The codes are returned once, for printing; only their hashes are kept.
func (s *Service) IssueInvites(ctx context.Context, p identity.Principal, courtyardID int64, householdIDs []int64, role MemberRole) ([]InviteSlip, error) {
	c, err := s.courtyardFor(ctx, p, courtyardID, identity.CouncilOrStaff...)
	if err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, louyuan.Invalid("bad_role", "身份只能是业主、家庭成员或租户")
	}
	all, err := s.store.Households(ctx, courtyardID)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]Household, len(all))
	for _, h := range all {
		byID[h.ID] = h
	}
	chosen := all
	if len(householdIDs) > 0 {
		chosen = chosen[:0:0]
		seen := make(map[int64]bool, len(householdIDs))
		for _, id := range householdIDs {
			h, ok := byID[id]
			if !ok {
				return nil, louyuan.NotFound("household_not_found", fmt.Sprintf("房屋 %d 不在该楼院", id))
			}
			if !seen[id] { // one code per household, however often it is listed
				seen[id] = true
				chosen = append(chosen, h)
			}
		}
	}
	ids := make([]int64, len(chosen))
	for i, h := range chosen {
		ids[i] = h.ID
	}
	now := s.now()
	expires := now.Add(s.InviteValidity)
	invites := make([]Invite, len(chosen))
	hashes := make([]string, len(chosen))
	slips := make([]InviteSlip, len(chosen))
	for i, h := range chosen {
		code := newInviteCode()
		invites[i] = Invite{HouseholdID: h.ID, Role: role, ExpiresAt: expires}
		hashes[i] = HashInviteCode(code)
		slips[i] = InviteSlip{Courtyard: c.Name, Building: h.Building, Unit: h.Unit, Room: h.Room, Role: role, Code: code,
			ExpiresAt: expires.In(louyuan.China).Format("2006-01-02")}
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		// A new slip replaces the household's unused ones: a lost or
		// superseded slip stops working.
		revoked, err := s.store.RevokeUnusedInvites(ctx, ids, now)
		if err != nil {
			return err
		}
		if err := s.store.CreateInvites(ctx, invites, hashes, p.Ref(), now); err != nil {
			return err
		}
		return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(courtyardID), Actor: p.Ref(), Action: "invite.issue",
			Object: ref("courtyard", courtyardID), Detail: map[string]any{"count": len(invites), "role": string(role), "revoked": revoked}})
	})
	if err != nil {
		return nil, err
	}
	return slips, nil
}

// RequestBind asks staff to bind the caller to a household without a code.
func (s *Service) RequestBind(ctx context.Context, p identity.Principal, householdID int64, role MemberRole, realName, note string) (Request, error) {
	if p.Kind != identity.KindUser {
		return Request{}, ErrBindRequestUsersOnly
	}
	if !role.Valid() {
		return Request{}, louyuan.Invalid("bad_role", "身份只能是业主、家庭成员或租户")
	}
	realName = strings.TrimSpace(realName)
	if err := louyuan.CheckTexts(louyuan.TextField{Name: "真实姓名", Value: realName}, louyuan.TextField{Name: "备注", Value: note, Multiline: true}); err != nil {
		return Request{}, err
	}
	if n := utf8.RuneCountInString(realName); n < 2 || n > 32 {
		return Request{}, louyuan.Invalid("bad_real_name", "请填写真实姓名（2到32个字）")
	}
	if utf8.RuneCountInString(note) > 200 {
		return Request{}, louyuan.Invalid("note_too_long", "备注不能超过200个字")
	}
	var r Request
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.Household(ctx, householdID); err != nil {
			return err
		}
		members, err := s.store.Members(ctx, householdID)
		if err != nil {
			return err
		}
		for _, m := range members {
			if m.UserID == p.ID {
				return louyuan.Conflict("already_bound", "您已绑定该房屋")
			}
		}
		r, err = s.store.CreateRequest(ctx, Request{Kind: "bind", HouseholdID: householdID, UserID: p.ID, Role: role, RealName: realName,
			Note: note, Status: StatusPending, RequestedBy: p.Ref(), CreatedAt: s.now()})
		if err != nil {
			return err
		}
		return s.audit2(ctx, householdID, p.Ref(), "household.bind_requested", map[string]any{"request": r.ID, "role": string(role)})
	})
	return r, err
}

// RequestRepresentative proposes candidateUserID (a member who is an owner
// or family member) as the household's representative. Any non-tenant
// member may ask; the council or staff decide.
func (s *Service) RequestRepresentative(ctx context.Context, p identity.Principal, householdID, candidateUserID int64, note string) (Request, error) {
	if err := louyuan.CheckText("备注", note, true); err != nil {
		return Request{}, err
	}
	if utf8.RuneCountInString(note) > 200 {
		return Request{}, louyuan.Invalid("note_too_long", "备注不能超过200个字")
	}
	var r Request
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.Household(ctx, householdID); err != nil {
			return err
		}
		members, err := s.store.Members(ctx, householdID)
		if err != nil {
			return err
		}
		var asker, candidate *Member
		for i := range members {
			if members[i].UserID == p.ID && p.Kind == identity.KindUser {
				asker = &members[i]
			}
			if members[i].UserID == candidateUserID {
				candidate = &members[i]
			}
		}
		if asker == nil || !asker.Role.CanRepresent() {
			return louyuan.Forbidden("not_household_member", "只有本户的业主或家庭成员可以申请更换户代表")
		}
		if candidate == nil {
			return louyuan.NotFound("candidate_not_member", "被推举的人还没有绑定本户，请先让其绑定")
		}
		if !candidate.Role.CanRepresent() {
			return louyuan.Invalid("tenant_cannot_represent", "租户不能担任户代表")
		}
		if candidate.Representative {
			return louyuan.Conflict("already_representative", "此人已经是本户的户代表")
		}
		r, err = s.store.CreateRequest(ctx, Request{Kind: "representative", HouseholdID: householdID, UserID: candidateUserID,
			Note: note, Status: StatusPending, RequestedBy: p.Ref(), CreatedAt: s.now()})
		if err != nil {
			return err
		}
		return s.audit2(ctx, householdID, p.Ref(), "representative.requested", map[string]any{"request": r.ID, "candidate": candidateUserID})
	})
	return r, err
}

// Decide approves or rejects a pending request. Bind requests are for staff;
// representative changes for the council or staff of the courtyard.
func (s *Service) Decide(ctx context.Context, p identity.Principal, kind string, id int64, approve bool, reason string) (Request, error) {
	if kind != "bind" && kind != "representative" {
		return Request{}, louyuan.NotFound("request_not_found", "没有这条申请")
	}
	if utf8.RuneCountInString(reason) > 200 {
		return Request{}, louyuan.Invalid("reason_too_long", "理由不能超过200个字")
	}
	if err := louyuan.CheckText("理由", reason, true); err != nil {
		return Request{}, err
	}
	var out Request
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		r, err := s.store.LockRequest(ctx, kind, id)
		if err != nil {
			return err
		}
		h, err := s.store.Household(ctx, r.HouseholdID)
		if err != nil {
			return err
		}
		roles := identity.CouncilOrStaff
		if kind == "bind" {
			roles = identity.StaffRoles
		}
		if _, err := s.courtyardFor(ctx, p, h.CourtyardID, roles...); err != nil {
			return err
		}
		if r.Status != StatusPending {
			return louyuan.Conflict("request_decided", "这条申请已经处理过了")
		}
		status, action := StatusRejected, kind+".rejected"
		now := s.now()
		if approve {
			status, action = StatusApproved, kind+".approved"
			switch kind {
			case "bind":
				members, err := s.store.Members(ctx, r.HouseholdID)
				if err != nil {
					return err
				}
				if _, err := s.store.AddMember(ctx, Member{UserID: r.UserID, HouseholdID: r.HouseholdID, Role: r.Role, Via: "request", CreatedAt: now}); err != nil {
					return err
				}
				if err := s.store.SetRealNameIfEmpty(ctx, r.UserID, r.RealName); err != nil {
					return err
				}
				// As with an invite code: the first owner of a household
				// without a representative becomes it.
				if r.Role == RoleOwner && !hasRepresentative(members) {
					if err := s.store.SetRepresentative(ctx, r.HouseholdID, r.UserID); err != nil {
						return err
					}
				}
			case "representative":
				members, err := s.store.Members(ctx, r.HouseholdID)
				if err != nil {
					return err
				}
				still := false
				for _, m := range members {
					still = still || (m.UserID == r.UserID && m.Role.CanRepresent())
				}
				if !still {
					return louyuan.Conflict("candidate_not_member", "被推举的人已不是本户成员，无法批准")
				}
				if err := s.store.SetRepresentative(ctx, r.HouseholdID, r.UserID); err != nil {
					return err
				}
			}
		}
		if err := s.store.DecideRequest(ctx, kind, id, status, p.Ref(), reason, now); err != nil {
			return err
		}
		r.Status, r.Reason = status, reason
		out = r
		return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(h.CourtyardID), Actor: p.Ref(), Action: action,
			Object: ref("household", h.ID), Detail: map[string]any{"request": id, "user": r.UserID, "reason": reason}})
	})
	return out, err
}

// PendingRequests lists undecided requests of a courtyard for its council
// and staff.
func (s *Service) PendingRequests(ctx context.Context, p identity.Principal, courtyardID int64) ([]Request, error) {
	if _, err := s.courtyardFor(ctx, p, courtyardID, identity.CouncilOrStaff...); err != nil {
		return nil, err
	}
	return s.store.PendingRequests(ctx, courtyardID)
}

// Unbind removes userID from the household. Users may unbind themselves;
// staff of the courtyard may unbind anyone. A representative who leaves
// leaves the household without one until the council designates another.
func (s *Service) Unbind(ctx context.Context, p identity.Principal, householdID, userID int64) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		h, err := s.store.Household(ctx, householdID)
		if err != nil {
			return err
		}
		self := p.Kind == identity.KindUser && p.ID == userID
		if !self {
			if _, err := s.courtyardFor(ctx, p, h.CourtyardID, identity.StaffRoles...); err != nil {
				return s.hideHousehold(ctx, p, h, err)
			}
		}
		m, err := s.store.RemoveMember(ctx, userID, householdID)
		if err != nil {
			return err
		}
		return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(h.CourtyardID), Actor: p.Ref(), Action: "household.unbind",
			Object: ref("household", householdID), Detail: map[string]any{"user": userID, "role": string(m.Role), "was_representative": m.Representative}})
	})
}

// hideHousehold turns a refusal about household h into "no such household"
// for a caller who has no business with it: neither council or staff of
// its courtyard nor one of its members. Those who know it keep the 403.
func (s *Service) hideHousehold(ctx context.Context, p identity.Principal, h Household, refusal error) error {
	if _, err := s.courtyardFor(ctx, p, h.CourtyardID, identity.CouncilOrStaff...); err == nil {
		return refusal
	}
	if p.Kind == identity.KindUser {
		ms, err := s.store.Members(ctx, h.ID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.UserID == p.ID {
				return refusal
			}
		}
	}
	return louyuan.NotFound("household_not_found", "房屋不存在")
}

// Households lists a courtyard's households for its council and staff.
func (s *Service) Households(ctx context.Context, p identity.Principal, courtyardID int64) ([]Household, error) {
	hs, _, err := s.HouseholdsWithHeads(ctx, p, courtyardID)
	return hs, err
}

// HouseholdsWithHeads lists a courtyard's households for its council and
// staff, each with its head (HeadID) and the owners who own other units,
// and the courtyard's head summary. ID tails are shown to staff only.
func (s *Service) HouseholdsWithHeads(ctx context.Context, p identity.Principal, courtyardID int64) ([]Household, HeadSummary, error) {
	c, err := s.courtyardFor(ctx, p, courtyardID, identity.CouncilOrStaff...)
	if err != nil {
		return nil, HeadSummary{}, err
	}
	hs, err := s.store.Households(ctx, courtyardID)
	if err != nil {
		return nil, HeadSummary{}, err
	}
	units := make([]Holding, len(hs))
	for i, h := range hs {
		units[i] = Holding{Label: h.Label(), Owners: h.OwnerRefs, SameNamesakes: true}
	}
	heads := CountHeads(units)
	several := map[OwnerKey]bool{}
	for _, o := range heads.SeveralUnits() {
		several[OwnerRef{Name: o.Name, IDTail: o.IDTail}.Key()] = true
	}
	headID := make(map[int]int64, heads.Count)
	for i, h := range hs {
		if id, ok := headID[heads.Head[i]]; !ok || h.ID < id {
			headID[heads.Head[i]] = h.ID
		}
	}
	bound, err := s.store.MemberCounts(ctx, courtyardID)
	if err != nil {
		return nil, HeadSummary{}, err
	}
	for i := range hs {
		hs[i].BoundMembers = bound[hs[i].ID]
		hs[i].HeadID = headID[heads.Head[i]]
		for _, o := range hs[i].OwnerRefs {
			if several[o.Key()] {
				hs[i].OwnersWithOtherUnits = append(hs[i].OwnersWithOtherUnits, o.Name)
			}
		}
	}
	return hs, summarize(len(hs), heads, p.Can(c.Place(), identity.StaffRoles...)), nil
}

// summarize turns a head count into what a clerk reads; ID tails are kept
// only for staff.
func summarize(households int, heads Heads, withTails bool) HeadSummary {
	several := heads.SeveralUnits()
	if !withTails {
		for i := range several {
			several[i].IDTail = ""
		}
	}
	return HeadSummary{Households: households, Owners: len(heads.Owners), Heads: heads.Count, OwnersOfSeveralUnits: several}
}

// Settings are a courtyard's voting rules for proxies (SPEC §5).
type Settings struct {
	MaxDelegationsPerProxy int  `json:"max_delegations_per_proxy"`
	ProxyPhotoRequired     bool `json:"proxy_photo_required"`
}

// SetSettings changes a courtyard's proxy rules; staff only, audited.
// They apply to delegations made afterwards.
func (s *Service) SetSettings(ctx context.Context, p identity.Principal, courtyardID int64, st Settings) error {
	if st.MaxDelegationsPerProxy < 1 || st.MaxDelegationsPerProxy > 20 {
		return louyuan.Invalid("bad_proxy_cap", "每位受托人可接受的委托户数须在1到20之间")
	}
	if _, err := s.courtyardFor(ctx, p, courtyardID, identity.StaffRoles...); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.SetCourtyardSettings(ctx, courtyardID, st); err != nil {
			return err
		}
		return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(courtyardID), Actor: p.Ref(), Action: "courtyard.settings",
			Object: ref("courtyard", courtyardID), Detail: map[string]any{"max_delegations_per_proxy": st.MaxDelegationsPerProxy,
				"proxy_photo_required": st.ProxyPhotoRequired}})
	})
}

// CourtyardForStaff loads a courtyard the caller may administer as staff.
func (s *Service) CourtyardForStaff(ctx context.Context, p identity.Principal, courtyardID int64) (Courtyard, error) {
	return s.courtyardFor(ctx, p, courtyardID, identity.StaffRoles...)
}

// Import applies a parsed roster to a courtyard, all or nothing: households
// are matched by building, unit and room, updated in place when they exist
// and created when they do not; owners are replaced by the file's.
func (s *Service) Import(ctx context.Context, p identity.Principal, courtyardID int64, rows []ImportRow) (ImportResult, error) {
	if _, err := s.courtyardFor(ctx, p, courtyardID, identity.StaffRoles...); err != nil {
		return ImportResult{}, err
	}
	if len(rows) == 0 {
		return ImportResult{}, louyuan.Invalid("roster_empty", "名册中没有任何房屋")
	}
	var res ImportResult
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if res, err = s.store.ImportHouseholds(ctx, courtyardID, rows, s.now()); err != nil {
			return err
		}
		// The head rule over the courtyard as the import leaves it: the
		// file's rows and the households it did not list. Names it cannot
		// tell apart refuse the whole file (the transaction rolls back).
		heads, n, err := s.courtyardHeads(ctx, courtyardID, rows)
		if err != nil {
			return err
		}
		if len(heads.Problems) > 0 {
			e := louyuan.Invalid("roster_invalid", "名册有错误，整个文件未导入。请按错误清单修改后重新上传")
			e.Details = heads.Problems
			return e
		}
		sum := summarize(n, heads, true)
		res.Summary = &sum
		return s.audit.Append(ctx, audit.Record{Stream: audit.CourtyardStream(courtyardID), Actor: p.Ref(), Action: "roster.import",
			Object: ref("courtyard", courtyardID), Detail: map[string]any{"rows": len(rows), "created": res.Created, "updated": res.Updated,
				"unchanged": res.Unchanged, "not_in_file": res.NotInFile, "owners": sum.Owners, "heads": sum.Heads,
				"owners_of_several_units": len(sum.OwnersOfSeveralUnits)}})
	})
	return res, err
}

// courtyardHeads applies the head rule to the courtyard's stored households,
// those the file listed carrying their row and 同名是同一人 mark, and
// returns it with the number of households.
func (s *Service) courtyardHeads(ctx context.Context, courtyardID int64, rows []ImportRow) (Heads, int, error) {
	hs, err := s.store.Households(ctx, courtyardID)
	if err != nil {
		return Heads{}, 0, err
	}
	byPlace := make(map[string]ImportRow, len(rows))
	for _, r := range rows {
		byPlace[r.Building+"\x00"+r.Unit+"\x00"+r.Room] = r
	}
	units := make([]Holding, len(hs))
	for i, h := range hs {
		units[i] = Holding{Label: h.Label(), Owners: h.OwnerRefs, SameNamesakes: true}
		if r, ok := byPlace[h.Building+"\x00"+h.Unit+"\x00"+h.Room]; ok {
			units[i].Line, units[i].SameNamesakes = r.Line, r.SameNamesakes
		}
	}
	return CountHeads(units), len(hs), nil
}
