package council

import "github.com/louyuan/louyuan/internal/louyuan"

// Criterion kinds: a positive statement the candidate must meet, or an item
// of the negative list that must not apply.
const (
	Positive = "positive"
	Negative = "negative"
)

// Criterion is one line of the eligibility checklist: configuration, with
// its legal basis and an on/off switch.
type Criterion struct {
	Code       string `json:"code" yaml:"code"`
	Kind       string `json:"kind" yaml:"kind"`
	Label      string `json:"label" yaml:"label"`
	LegalBasis string `json:"legal_basis" yaml:"legal_basis"`
	Enabled    bool   `json:"enabled" yaml:"enabled"`
}

// CriterionOwesFees is the criterion that is off unless a community
// switches it on: it has been found to lack a legal basis.
const CriterionOwesFees = "owes_fees"

// DefaultCriteria is the checklist of the seed's councils: three positive
// statements and a negative list.
func DefaultCriteria() []Criterion {
	return []Criterion{
		{"public_spirited", Positive, "热心公益", "《中华人民共和国城市居民委员会组织法》第二条、第三条：居民自我管理、自我服务；街道楼院理事会人选条件", true},
		{"dedicated", Positive, "乐于奉献", "街道楼院理事会人选条件（热心公益、乐于奉献、敢于担当）", true},
		{"responsible", Positive, "敢于担当", "街道楼院理事会人选条件（热心公益、乐于奉献、敢于担当）", true},
		{"cult", Negative, "参加邪教组织", "全国人民代表大会常务委员会《关于取缔邪教组织、防范和惩治邪教活动的决定》；《中华人民共和国刑法》第三百条", true},
		{"criminal_record", Negative, "有犯罪前科", "《中华人民共和国刑法》第一百条（前科报告）；参照村（居）民委员会成员候选人资格审查的规定", true},
		{"dishonest_debtor", Negative, "被列入失信被执行人名单", "《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条、第八条", true},
		{CriterionOwesFees, Negative, "欠缴物业费", "缺乏法律依据：《中华人民共和国民法典》第九百四十四条只规定物业费的催交与诉讼，未限制欠费业主参与自治；默认关闭，社区确有依据时方可开启", false},
	}
}

// ValidCriteria checks a configured checklist.
func ValidCriteria(cs []Criterion) error {
	seen := map[string]bool{}
	for _, c := range cs {
		if c.Code == "" || seen[c.Code] || (c.Kind != Positive && c.Kind != Negative) || c.Label == "" || c.LegalBasis == "" {
			return louyuan.Invalid("bad_criteria", "资格条件配置有误：每项须有唯一代码、类型（positive/negative）、名称和法律依据")
		}
		seen[c.Code] = true
	}
	return nil
}

// Checklist is the configured criteria with a community's switches
// applied: every criterion, each saying whether it is on.
func Checklist(configured []Criterion, switches map[string]bool) []Criterion {
	out := make([]Criterion, len(configured))
	for i, c := range configured {
		if on, ok := switches[c.Code]; ok {
			c.Enabled = on
		}
		out[i] = c
	}
	return out
}

// Eligibility judges a candidate on the criteria that are on: ineligible
// when any finding fails, eligible when every one passes, pending while
// some are not yet found. It also lists the criteria still to check.
func Eligibility(checklist []Criterion, findings []Finding) (string, []string) {
	byCode := map[string]Finding{}
	for _, f := range findings {
		byCode[f.Criterion] = f
	}
	failed := false
	var missing []string
	for _, c := range checklist {
		if !c.Enabled {
			continue
		}
		f, ok := byCode[c.Code]
		switch {
		case !ok:
			missing = append(missing, c.Code)
		case !f.Pass:
			failed = true
		}
	}
	switch {
	case failed:
		return Ineligible, missing
	case len(missing) > 0:
		return Pending, missing
	}
	return Eligible, nil
}

// checkNominators applies the rule of residents' nominations to one
// nominator: a household representative (tenants never are) of a
// household in the election unit.
func checkNominator(represented, inScope []int64) error {
	if len(represented) == 0 {
		return louyuan.Forbidden("nominator_not_representative", "推选人须是户代表；租户和非本单元住户不能推选候选人")
	}
	if len(inScope) == 0 {
		return louyuan.Forbidden("nominator_outside_unit", "推选人须是本选举单元内住户的户代表")
	}
	return nil
}

// appealDecider checks that the staff member deciding an appeal recorded
// none of the failed findings it is against.
func appealDecider(decider string, findings []Finding) error {
	for _, f := range findings {
		if !f.Pass && (f.FoundBy == decider || f.UpdatedBy == decider) {
			return louyuan.Forbidden("appeal_same_staff", "申诉须由作出原审查结论以外的工作人员复核")
		}
	}
	return nil
}
