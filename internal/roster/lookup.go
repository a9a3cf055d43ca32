package roster

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
)

// A resident without an invite code finds their household by its address
// (courtyard, building, unit, room — what is written on the door) and asks
// to be bound to it (RequestBind). The lookup answers only an exact address:
// it never lists a courtyard's households, never says who lives there, and
// is counted per account and per client IP like invite codes.

// AddressQuery is what a resident types.
type AddressQuery struct {
	Courtyard, Building, Unit, Room string
}

// Address is a household found by its address.
type Address struct {
	HouseholdID int64  `json:"household_id"`
	Community   string `json:"community"`
	Courtyard   string `json:"courtyard"`
	Building    string `json:"building"`
	Unit        string `json:"unit"`
	Room        string `json:"room"`
}

// BindRequestStatus is one of the caller's own bind requests with the
// household's address.
type BindRequestStatus struct {
	Request
	Address Address `json:"address"`
}

// AddressStore finds households by address and a user's bind requests.
type AddressStore interface {
	// FindByAddress returns the households whose courtyard, building, unit
	// and room names are among the given spellings (at most limit).
	FindByAddress(ctx context.Context, courtyard string, buildings, units, rooms []string, limit int) ([]Address, error)
	// BindRequestsOf lists a user's bind requests, newest first.
	BindRequestsOf(ctx context.Context, userID int64) ([]BindRequestStatus, error)
}

// Lookup limits: per account and per client IP, per hour.
const (
	LookupsPerUserHour = 30
	LookupsPerIPHour   = 300
	maxLookupAnswers   = 5
)

// FindHousehold finds the household at an address. Several courtyards may
// share a name (in different communities): each is answered with its
// community. Nothing found is an empty list, not an error.
func (s *Service) FindHousehold(ctx context.Context, p identity.Principal, q AddressQuery) ([]Address, error) {
	if p.Kind != identity.KindUser {
		return nil, louyuan.Forbidden("users_only", "只有小程序用户可以查找要绑定的房屋")
	}
	q = AddressQuery{Courtyard: strings.TrimSpace(q.Courtyard), Building: strings.TrimSpace(q.Building),
		Unit: strings.TrimSpace(q.Unit), Room: strings.TrimSpace(q.Room)}
	for _, f := range []struct{ name, v string }{{"小区（楼院）名称", q.Courtyard}, {"楼号", q.Building}, {"单元", q.Unit}, {"门牌号", q.Room}} {
		if f.v == "" || utf8.RuneCountInString(f.v) > 64 {
			return nil, louyuan.Invalid("bad_address", "请把"+f.name+"填完整（64个字以内）")
		}
		if err := louyuan.CheckText(f.name, f.v, false); err != nil {
			return nil, err
		}
	}
	if err := s.allowPerHour(ctx, p, "lookup", s.LookupsPerIPPerHour, s.LookupsPerHour, "too_many_lookups", "查找次数过多"); err != nil {
		return nil, err
	}
	return s.store.FindByAddress(ctx, q.Courtyard, spellings(q.Building, "号楼", "栋", "幢"), spellings(q.Unit, "单元"),
		spellings(q.Room, "室", "号"), maxLookupAnswers)
}

// spellings lists how a name may be written: as typed, without its usual
// suffix, and with each usual suffix ("2栋" → "2", "2号楼", "2幢").
func spellings(v string, suffixes ...string) []string {
	base := v
	for _, s := range suffixes {
		if t, ok := strings.CutSuffix(v, s); ok && t != "" {
			base = t
			break
		}
	}
	out := []string{v, base}
	for _, s := range suffixes {
		out = append(out, base+s)
	}
	return out
}

// MyBindRequests lists the caller's bind requests and what became of them.
func (s *Service) MyBindRequests(ctx context.Context, p identity.Principal) ([]BindRequestStatus, error) {
	if p.Kind != identity.KindUser {
		return nil, louyuan.Forbidden("users_only", "只有小程序用户有绑定申请")
	}
	return s.store.BindRequestsOf(ctx, p.ID)
}
