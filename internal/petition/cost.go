package petition

import (
	"math/big"
	"sort"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// CostPlan is an elevator's cost table for one unit (stairwell): the total
// cost in fen and, per floor, a coefficient in thousandths (1000 = 1.0; 0 =
// the floor pays nothing). A household's share is total × coefficient ×
// area / Σ(coefficient × area) over the unit.
type CostPlan struct {
	UnitID       int64         `json:"unit_id"`
	TotalFen     int64         `json:"total_fen"`
	Coefficients map[int]int64 `json:"coefficients"` // floor → thousandths
}

// Dwelling is a household as cost-sharing sees it.
type Dwelling struct {
	HouseholdID int64
	Floor       int
	Area        louyuan.Area
}

// Share is what one household owes under a plan, in fen.
type Share struct {
	HouseholdID int64 `json:"household_id"`
	Floor       int   `json:"floor"`
	ShareFen    int64 `json:"share_fen"`
}

// Validate checks a plan: a positive total below 100 million yuan and
// coefficients between 0 and 10 for floors 1 to 60.
func (p CostPlan) Validate() error {
	if p.TotalFen <= 0 || p.TotalFen > 100_000_000_00 {
		return louyuan.Invalid("bad_total", "总费用须大于0元且不超过1亿元")
	}
	if len(p.Coefficients) == 0 {
		return louyuan.Invalid("no_coefficients", "请填写各楼层的分摊系数")
	}
	for floor, c := range p.Coefficients {
		if floor < 1 || floor > 60 || c < 0 || c > 10_000 {
			return louyuan.Invalid("bad_coefficient", "楼层须在1到60之间，系数须在0到10之间")
		}
	}
	return nil
}

// Shares splits the plan's total over the dwellings exactly: every share
// is rounded down to the fen, and the fen left over go one each to the
// largest remainders (ties to the lower household ID), so the shares add up
// to the total. Dwellings on floors with no coefficient or a zero one pay
// nothing.
func Shares(p CostPlan, dwellings []Dwelling) ([]Share, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	weights := make([]*big.Int, len(dwellings))
	sum := new(big.Int)
	for i, d := range dwellings {
		weights[i] = new(big.Int).Mul(big.NewInt(p.Coefficients[d.Floor]), big.NewInt(int64(d.Area)))
		sum.Add(sum, weights[i])
	}
	if sum.Sign() == 0 {
		return nil, louyuan.Invalid("nobody_pays", "按这张分摊表没有任何住户需要分摊，请检查系数")
	}
	type rem struct {
		i int
		r *big.Int
	}
	total := big.NewInt(p.TotalFen)
	out := make([]Share, len(dwellings))
	var rems []rem
	assigned := int64(0)
	for i, d := range dwellings {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(total, weights[i]), sum, new(big.Int))
		out[i] = Share{HouseholdID: d.HouseholdID, Floor: d.Floor, ShareFen: q.Int64()}
		assigned += q.Int64()
		if weights[i].Sign() > 0 {
			rems = append(rems, rem{i, r})
		}
	}
	sort.Slice(rems, func(a, b int) bool {
		if c := rems[a].r.Cmp(rems[b].r); c != 0 {
			return c > 0
		}
		return out[rems[a].i].HouseholdID < out[rems[b].i].HouseholdID
	})
	for k := int64(0); k < p.TotalFen-assigned; k++ {
		out[rems[k].i].ShareFen++
	}
	return out, nil
}
