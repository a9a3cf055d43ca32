package petition

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/louyuan/louyuan/internal/identity"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// Target says how one target stands: met, and how many more households or
// m² would meet it.
type Target struct {
	Rule       string       `json:"rule"`
	Met        bool         `json:"met"`
	Households int64        `json:"needed_households"`
	Area       louyuan.Area `json:"needed_area"`
}

// Progress is a petition's live count.
type Progress struct {
	Households       int          `json:"households"`
	Area             louyuan.Area `json:"area"`
	SignedHouseholds int          `json:"signed_households"`
	SignedArea       louyuan.Area `json:"signed_area"`
	TargetHouseholds *Target      `json:"target_households,omitempty"`
	TargetArea       *Target      `json:"target_area,omitempty"`
	Reached          bool         `json:"reached"`
}

// canSee allows council and staff of the courtyard, and representatives of
// households in scope.
func (s *Service) canSee(ctx context.Context, p identity.Principal, pt Petition) error {
	if _, err := s.canManage(ctx, p, pt.CourtyardID); err == nil {
		return nil
	}
	if p.Kind == identity.KindUser && pt.Status != StatusDraft {
		hs, err := s.store.RepresentedHouseholds(ctx, p.ID)
		if err != nil {
			return err
		}
		for _, h := range hs {
			if _, ok, err := s.store.Resident(ctx, pt, h); err != nil {
				return err
			} else if ok {
				return nil
			}
		}
	}
	return louyuan.NotFound("petition_not_found", "没有这项征求")
}

// Visible tells whether p may see the petition: nil, or the 404 a read
// of it gives them (the API checks it before reading a request's body).
func (s *Service) Visible(ctx context.Context, p identity.Principal, id int64) error {
	pt, err := s.store.Petition(ctx, id)
	if err != nil {
		return err
	}
	return s.canSee(ctx, p, pt)
}

// Get returns a petition with its progress.
func (s *Service) Get(ctx context.Context, p identity.Principal, id int64) (Petition, Progress, error) {
	pt, err := s.store.Petition(ctx, id)
	if err != nil {
		return Petition{}, Progress{}, err
	}
	if err := s.canSee(ctx, p, pt); err != nil {
		return Petition{}, Progress{}, err
	}
	pr, err := s.progress(ctx, pt)
	return pt, pr, err
}

func (s *Service) progress(ctx context.Context, pt Petition) (Progress, error) {
	pr, err := s.store.ProgressCounts(ctx, pt)
	if err != nil {
		return Progress{}, err
	}
	pr.Reached = true
	if t := pt.TargetHouseholds; t != nil {
		k := needed(*t, int64(pr.SignedHouseholds), int64(pr.Households))
		pr.TargetHouseholds = &Target{Rule: t.String(), Met: k == 0 && pr.Households > 0, Households: k}
		pr.Reached = pr.Reached && pr.TargetHouseholds.Met
	}
	if t := pt.TargetArea; t != nil {
		k := needed(*t, int64(pr.SignedArea), int64(pr.Area))
		pr.TargetArea = &Target{Rule: t.String(), Met: k == 0 && pr.Area > 0, Area: louyuan.Area(k)}
		pr.Reached = pr.Reached && pr.TargetArea.Met
	}
	return pr, nil
}

// needed is the least k ≥ 0 with (part + k) / whole meeting t.
func needed(t voting.Threshold, part, whole int64) int64 {
	if whole <= 0 {
		return 0
	}
	if t.Met(big.NewRat(part, 1), big.NewRat(whole, 1)) {
		return 0
	}
	// (part+k)·den ≥ num·whole  →  k ≥ (num·whole − part·den) / den
	lhs := new(big.Int).Sub(new(big.Int).Mul(big.NewInt(t.Num), big.NewInt(whole)), new(big.Int).Mul(big.NewInt(part), big.NewInt(t.Den)))
	q, m := new(big.Int).DivMod(lhs, big.NewInt(t.Den), new(big.Int))
	if m.Sign() != 0 || t.Strict {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}

// List lists a courtyard's petitions for council and staff.
func (s *Service) List(ctx context.Context, p identity.Principal, courtyardID int64) ([]Petition, error) {
	if _, err := s.canManage(ctx, p, courtyardID); err != nil {
		return nil, err
	}
	return s.store.Petitions(ctx, courtyardID)
}

// MyPetition is a petition as one of the caller's households sees it.
type MyPetition struct {
	Petition    Petition   `json:"petition"`
	HouseholdID int64      `json:"household_id"`
	Signed      *Signature `json:"signature,omitempty"`
	ShareFen    *int64     `json:"share_fen,omitempty"`
	PaidFen     int64      `json:"paid_fen"`
}

// Mine lists, for each household the caller represents, the petitions in
// whose scope it lies, with its signature, share and payments.
func (s *Service) Mine(ctx context.Context, p identity.Principal) ([]MyPetition, error) {
	out := []MyPetition{}
	if p.Kind != identity.KindUser {
		return out, nil
	}
	hs, err := s.store.RepresentedHouseholds(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	seen := map[int64][]Petition{}
	for _, h := range hs {
		yard, err := s.store.ScopeCourtyard(ctx, "household", h)
		if err != nil {
			return nil, err
		}
		pts, ok := seen[yard]
		if !ok {
			if pts, err = s.store.Petitions(ctx, yard); err != nil {
				return nil, err
			}
			seen[yard] = pts
		}
		for _, pt := range pts {
			if pt.Status == StatusDraft || pt.Status == StatusCancelled {
				continue
			}
			r, ok, err := s.store.Resident(ctx, pt, h)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			mp := MyPetition{Petition: pt, HouseholdID: h}
			if sg, ok, err := s.store.Signature(ctx, pt.ID, h); err != nil {
				return nil, err
			} else if ok {
				mp.Signed = &sg
			}
			if pt.CostSharing {
				if share, planned, err := s.shareOf(ctx, pt, r); err != nil {
					return nil, err
				} else if planned {
					mp.ShareFen = &share
				}
				pays, err := s.store.Payments(ctx, pt.ID)
				if err != nil {
					return nil, err
				}
				for _, pay := range pays {
					if pay.HouseholdID == h {
						mp.PaidFen += pay.AmountFen
					}
				}
			}
			out = append(out, mp)
		}
	}
	return out, nil
}

// RecordPayment records money a household paid towards its share, with the
// receipt number (unique within the petition). The council's treasurer or
// staff record payments.
func (s *Service) RecordPayment(ctx context.Context, p identity.Principal, id int64, pay Payment) (Payment, error) {
	pay.ReceiptNo = strings.TrimSpace(pay.ReceiptNo)
	if pay.AmountFen <= 0 || pay.AmountFen > 100_000_000_00 {
		return Payment{}, louyuan.Invalid("bad_amount", "金额须大于0元")
	}
	if n := utf8.RuneCountInString(pay.ReceiptNo); n < 1 || n > 64 {
		return Payment{}, louyuan.Invalid("bad_receipt_no", "请填写收据编号（不超过64个字符）")
	}
	if _, err := checkPaidOn(pay.PaidOn, s.now()); err != nil {
		return Payment{}, err
	}
	var out Payment
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		pt, err := s.store.SharePetition(ctx, id)
		if err != nil {
			return err
		}
		if _, err := s.canManage(ctx, p, pt.CourtyardID, identity.RoleCouncilTreasurer, identity.RoleSubdistrictAdmin, identity.RoleCommunityStaff); err != nil {
			if err := s.canSee(ctx, p, pt); err != nil {
				return err
			}
			return louyuan.Forbidden("treasurer_only", "只有理事会财务或社区工作人员可以登记缴款")
		}
		if !pt.CostSharing {
			return louyuan.Conflict("no_cost_sharing", "这项征求没有费用分摊")
		}
		if _, ok, err := s.store.Resident(ctx, pt, pay.HouseholdID); err != nil {
			return err
		} else if !ok {
			return louyuan.NotFound("household_not_in_scope", "该房屋不在征求范围内")
		}
		if pay.ReceiptFile != "" {
			ok, err := s.store.FileExists(ctx, pay.ReceiptFile, "paper_ballot", pt.CourtyardID)
			if err != nil {
				return err
			}
			if !ok {
				return louyuan.Invalid("bad_receipt_file", "收据照片无效，请重新上传")
			}
		}
		pay.PetitionID, pay.RecordedBy, pay.CreatedAt = id, p.Ref(), s.now().UTC()
		if out, err = s.store.AddPayment(ctx, pay); err != nil {
			return err
		}
		return s.record(ctx, pt, p.Ref(), "payment.record", map[string]any{"household": pay.HouseholdID, "amount_fen": pay.AmountFen, "receipt_no": pay.ReceiptNo})
	})
	return out, err
}

// checkPaidOn reads a payment date: a day of the calendar no later than
// today in China (at 20:00 in Beijing it is already tomorrow in no sense,
// whatever the UTC date says).
func checkPaidOn(s string, now time.Time) (louyuan.Date, error) {
	today := louyuan.DateOf(now)
	d, err := louyuan.ParseDate(s)
	if err != nil {
		return d, louyuan.Invalid("bad_paid_on", fmt.Sprintf("缴款日期格式应为 %s（年-月-日）", today))
	}
	if d.After(today) {
		return d, louyuan.Invalid("bad_paid_on", fmt.Sprintf("缴款日期 %s 晚于今天（北京时间 %s），请填写实际缴款的日期", d.Label(), today.Label()))
	}
	return d, nil
}

// UnitTotals sums one unit's cost sharing.
type UnitTotals struct {
	UnitID     int64  `json:"unit_id"`
	Building   string `json:"building"`
	Unit       string `json:"unit"`
	PlannedFen int64  `json:"planned_fen"`
	PledgedFen int64  `json:"pledged_fen"`
	PaidFen    int64  `json:"paid_fen"`
	Households int    `json:"households"`
	Pledged    int    `json:"pledged_households"`
}

// Totals sums planned, pledged and paid money per unit and for the whole
// scope. Residents see their own unit's totals; council and staff see all.
func (s *Service) Totals(ctx context.Context, p identity.Principal, id int64) ([]UnitTotals, UnitTotals, error) {
	pt, err := s.store.Petition(ctx, id)
	if err != nil {
		return nil, UnitTotals{}, err
	}
	if err := s.canSee(ctx, p, pt); err != nil {
		return nil, UnitTotals{}, err
	}
	mine := map[int64]bool{} // units of the caller, when a resident
	_, manageErr := s.canManage(ctx, p, pt.CourtyardID)
	rs, err := s.store.Residents(ctx, pt)
	if err != nil {
		return nil, UnitTotals{}, err
	}
	if manageErr != nil {
		hs, err := s.store.RepresentedHouseholds(ctx, p.ID)
		if err != nil {
			return nil, UnitTotals{}, err
		}
		isMine := map[int64]bool{}
		for _, h := range hs {
			isMine[h] = true
		}
		for _, r := range rs {
			if isMine[r.HouseholdID] {
				mine[r.UnitID] = true
			}
		}
	}
	plans, err := s.store.CostPlans(ctx, id)
	if err != nil {
		return nil, UnitTotals{}, err
	}
	sigs, err := s.store.Signatures(ctx, id)
	if err != nil {
		return nil, UnitTotals{}, err
	}
	pays, err := s.store.Payments(ctx, id)
	if err != nil {
		return nil, UnitTotals{}, err
	}
	unitOf := map[int64]int64{}
	units := map[int64]*UnitTotals{}
	var order []int64
	for _, r := range rs {
		unitOf[r.HouseholdID] = r.UnitID
		u, ok := units[r.UnitID]
		if !ok {
			u = &UnitTotals{UnitID: r.UnitID, Building: r.Building, Unit: r.Unit}
			units[r.UnitID] = u
			order = append(order, r.UnitID)
		}
		u.Households++
	}
	for _, plan := range plans {
		if u, ok := units[plan.UnitID]; ok {
			u.PlannedFen = plan.TotalFen
		}
	}
	for _, sg := range sigs {
		if sg.PledgeFen != nil {
			if u, ok := units[unitOf[sg.HouseholdID]]; ok {
				u.PledgedFen += *sg.PledgeFen
				u.Pledged++
			}
		}
	}
	for _, pay := range pays {
		if u, ok := units[unitOf[pay.HouseholdID]]; ok {
			u.PaidFen += pay.AmountFen
		}
	}
	var out []UnitTotals
	var all UnitTotals
	for _, uid := range order {
		u := *units[uid]
		all.PlannedFen += u.PlannedFen
		all.PledgedFen += u.PledgedFen
		all.PaidFen += u.PaidFen
		all.Households += u.Households
		all.Pledged += u.Pledged
		if manageErr == nil || mine[uid] {
			out = append(out, u)
		}
	}
	if manageErr != nil {
		all = UnitTotals{} // residents see their units only
	}
	return out, all, nil
}
