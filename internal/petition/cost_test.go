package petition

import (
	"math/rand/v2"
	"testing"
)

func TestSharesAddUpExactly(t *testing.T) {
	// A 7-floor unit, two flats a floor; floors 1–2 pay nothing.
	var ds []Dwelling
	for f := 1; f <= 7; f++ {
		ds = append(ds, Dwelling{int64(f*10 + 1), f, 6235}, Dwelling{int64(f*10 + 2), f, 7355})
	}
	plan := CostPlan{UnitID: 1, TotalFen: 45_000_000, Coefficients: map[int]int64{1: 0, 2: 0, 3: 600, 4: 800, 5: 1000, 6: 1200, 7: 1400}}
	shares, err := Shares(plan, ds)
	if err != nil {
		t.Fatal(err)
	}
	sum := int64(0)
	for _, s := range shares {
		sum += s.ShareFen
		if s.Floor <= 2 && s.ShareFen != 0 {
			t.Errorf("floor %d pays %d, want 0", s.Floor, s.ShareFen)
		}
	}
	if sum != plan.TotalFen {
		t.Fatalf("shares add up to %d, want %d", sum, plan.TotalFen)
	}
	// Higher floors pay more for the same area.
	if !(shares[4].ShareFen < shares[6].ShareFen && shares[6].ShareFen < shares[12].ShareFen) {
		t.Errorf("shares do not grow with the floor: %v", shares)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		plan.TotalFen = rng.Int64N(1_000_000_00) + 1
		shares, err := Shares(plan, ds)
		if err != nil {
			t.Fatal(err)
		}
		sum := int64(0)
		for _, s := range shares {
			sum += s.ShareFen
		}
		if sum != plan.TotalFen {
			t.Fatalf("total %d: shares add up to %d", plan.TotalFen, sum)
		}
	}
}

func TestSharesRefuseBadPlans(t *testing.T) {
	ds := []Dwelling{{1, 1, 6000}}
	for _, p := range []CostPlan{
		{TotalFen: 0, Coefficients: map[int]int64{1: 1000}},
		{TotalFen: 100, Coefficients: map[int]int64{}},
		{TotalFen: 100, Coefficients: map[int]int64{0: 1000}},
		{TotalFen: 100, Coefficients: map[int]int64{1: -1}},
		{TotalFen: 100, Coefficients: map[int]int64{1: 0}},
	} {
		if _, err := Shares(p, ds); err == nil {
			t.Errorf("plan %+v accepted", p)
		}
	}
}
