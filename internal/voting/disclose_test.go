package voting

import (
	"strings"
	"testing"
)

// discloseFixture is an elevator vote of four households, one owner with
// two of them who split: 2 households (3/2 heads, 175.20 m²) agree.
func discloseFixture(mode string, status Status) (Motion, Tally) {
	m := Motion{ID: 7, Rule: MajorRule(), Options: DecisionOptions(), Mode: mode, Status: status}
	electorate := []Voter{{1, 1, 8520}, {2, 1, 6000}, {3, 3, 9000}, {4, 4, 10000}}
	votes := []Vote{{1, []string{OptionAgree}}, {2, []string{OptionOppose}}, {3, []string{OptionAgree}}}
	return m, Count(m.Rule, electorate, m.OptionKeys(), votes)
}

func TestDisclose(t *testing.T) {
	t.Run("named: everything", func(t *testing.T) {
		d := Disclose(discloseFixture(ModeNamed, StatusVoting))
		if d.Sealed || d.Options == nil || d.Passed == nil || d.SplitOwners == nil || *d.SplitOwners != 1 {
			t.Fatalf("named disclosure hides something: %+v", d)
		}
		agree := d.Options[0]
		if agree.Households == nil || *agree.Households != 2 || agree.Area == nil || *agree.Area != 17520 || agree.Heads.RatString() != "3/2" {
			t.Errorf("agree = %+v", agree)
		}
		aa, _ := d.Threshold(KeyApprovalArea)
		if aa.Met || aa.NeededArea == nil || *aa.NeededArea != 480 || aa.NeededHouseholds != nil {
			t.Errorf("approval by area: %+v", aa)
		}
		if aa.Summary != "还差 4.80 平方米同意（同意的专有面积须不少于参与表决的 3/4）" {
			t.Errorf("summary %q", aa.Summary)
		}
	})
	t.Run("secret, open: participation only", func(t *testing.T) {
		m, tl := discloseFixture(ModeSecret, StatusVoting)
		d := Disclose(m, tl)
		if !d.Sealed || d.Options != nil || d.Passed != nil || d.SplitOwners != nil || d.Elected != nil {
			t.Fatalf("open secret disclosure shows per-option figures: %+v", d)
		}
		for _, k := range []string{KeyApprovalArea, KeyApprovalHead} {
			v, _ := d.Threshold(k)
			if !v.Withheld || v.Met || v.NeededArea != nil || v.NeededHouseholds != nil || !strings.HasPrefix(v.Summary, "不记名投票，投票结束后公布") {
				t.Errorf("%s while open: %+v", k, v)
			}
		}
		// A household changing its mind changes nothing disclosed.
		electorate := []Voter{{1, 1, 8520}, {2, 1, 6000}, {3, 3, 9000}, {4, 4, 10000}}
		revoted := Count(m.Rule, electorate, m.OptionKeys(), []Vote{{1, []string{OptionOppose}}, {2, []string{OptionOppose}}, {3, []string{OptionAgree}}})
		if e := Disclose(m, revoted); e.Stamp != d.Stamp {
			t.Errorf("a re-vote changed the stamp of an open secret ballot")
		}
	})
	t.Run("secret, closed: heads, outcomes and the agreeing area's side of the threshold", func(t *testing.T) {
		d := Disclose(discloseFixture(ModeSecret, StatusObjection))
		if d.Options == nil || d.Passed == nil || *d.Passed || d.SplitOwners != nil {
			t.Fatalf("closed secret disclosure: %+v", d)
		}
		for _, o := range d.Options {
			if o.Households != nil || o.Area != nil {
				t.Errorf("%s shows exact figures: %+v", o.Option, o)
			}
			if (o.Option == OptionAgree) != (o.AreaShare != nil) {
				t.Errorf("%s area share = %+v", o.Option, o.AreaShare)
			}
		}
		if b := d.Options[0].AreaShare; b.Text() != "少于 3/4" {
			t.Errorf("agree band %q", b.Text())
		}
		aa, _ := d.Threshold(KeyApprovalArea)
		if aa.Met || !aa.OutcomeOnly || aa.NeededArea != nil || aa.Summary != "未达到：同意的专有面积须不少于参与表决的 3/4" {
			t.Errorf("approval by area after the close: %+v", aa)
		}
	})
	t.Run("bands at a strict threshold", func(t *testing.T) {
		th := Threshold{Num: 1, Den: 2, Strict: true}
		half := bandOf(th, areaRat(50), areaRat(100))
		if half.Text() != "不超过 1/2" {
			t.Errorf("exactly half: %q", half.Text())
		}
		if more := bandOf(th, areaRat(51), areaRat(100)); more.Text() != "超过 1/2" {
			t.Errorf("more than half: %q", more.Text())
		}
	})
}
