package export

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// Distinctive ids, so that a test can tell whether any reached a file.
const (
	ownerA, ownerB, ownerC = 770001, 770002, 770003
	houseA1, houseA2       = 880001, 880002
	houseB, houseC         = 880003, 880004
)

// elevatorMotion is a major matter over four households, two of them one
// owner's who voted differently (so each counts half a head), counted by
// the real counting rules. Area and heads take part enough; 2 households
// with 3/2 heads and 175.20 m² agree: heads reach 3/4 of those who voted,
// area does not, and 4.80 m² more is needed.
func elevatorMotion(mode string) (voting.Motion, voting.Disclosure) {
	m := voting.Motion{ID: 9, Title: "加装电梯", Rule: voting.MajorRule(), Options: voting.DecisionOptions(), Mode: mode,
		Status:  voting.StatusObjection,
		OpensAt: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), ClosesAt: time.Date(2026, 5, 15, 12, 0, 0, 0, time.UTC)}
	electorate := []voting.Voter{
		{HouseholdID: houseA1, Group: ownerA, Area: 8520},
		{HouseholdID: houseA2, Group: ownerA, Area: 6000},
		{HouseholdID: houseB, Group: ownerB, Area: 9000},
		{HouseholdID: houseC, Group: ownerC, Area: 10000},
	}
	votes := []voting.Vote{
		{HouseholdID: houseA1, Options: []string{voting.OptionAgree}},
		{HouseholdID: houseA2, Options: []string{voting.OptionOppose}},
		{HouseholdID: houseB, Options: []string{voting.OptionAgree}},
	}
	return m, voting.Disclose(m, voting.Count(m.Rule, electorate, m.OptionKeys(), votes))
}

// elevatorRows are the per-household rows of elevatorMotion, with a
// withdrawn proxy ballot for the household that did not vote.
var elevatorRows = []voting.ResultRow{
	{HouseholdID: houseA1, Building: "1号楼", Unit: "1单元", Room: "101", Area: 8520, Representative: "张三", Phone: "138****5678",
		Voted: true, Options: []string{voting.OptionAgree}, Channel: voting.ChannelSelf, CastAt: time.Date(2026, 5, 2, 1, 2, 3, 0, time.UTC)},
	{HouseholdID: houseA2, Building: "1号楼", Unit: "1单元", Room: "102", Area: 6000, Representative: "张三", Phone: "138****5678",
		Voted: true, Options: []string{voting.OptionOppose}, Channel: voting.ChannelProxy, CastAt: time.Date(2026, 5, 2, 17, 0, 0, 0, time.UTC)},
	{HouseholdID: houseB, Building: "1号楼", Unit: "1单元", Room: "201", Area: 9000, Representative: "李四", Phone: "139****0001",
		Voted: true, Options: []string{voting.OptionAgree}, Channel: voting.ChannelPaper, CastAt: time.Date(2026, 5, 3, 4, 0, 0, 0, time.UTC)},
	{HouseholdID: houseC, Building: "1号楼", Unit: "1单元", Room: "202", Area: 10000, Representative: "王五", Phone: "137****4321",
		Channel: voting.ChannelWithdrawn},
}

var detailHeader = []string{"楼栋", "单元", "房号", "面积（㎡）", "户代表", "手机号", "是否投票", "选择", "方式", "投票时间"}

// byKey indexes rows by their first cell.
func byKey(rows [][]string) map[string][]string {
	m := map[string][]string{}
	for _, r := range rows {
		if len(r) > 0 && r[0] != "" {
			m[r[0]] = r
		}
	}
	return m
}

func TestResultsXLSXNamed(t *testing.T) {
	m, tally := elevatorMotion(voting.ModeNamed)
	ah, _ := tally.Threshold(voting.KeyApprovalHead)
	aa, _ := tally.Threshold(voting.KeyApprovalArea)
	if *tally.Passed || !ah.Met || aa.Met || aa.NeededArea == nil || *aa.NeededArea != 480 {
		t.Fatalf("the fixture is not what the test expects: %+v", tally)
	}
	var buf bytes.Buffer
	if err := ResultsXLSX(&buf, m, tally, results(elevatorRows...)); err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, buf.Bytes())
	if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{"结果汇总", "逐户明细"}) {
		t.Fatalf("sheets = %q", got)
	}

	summary := sheetRows(t, f, "结果汇总")
	if summary[0][0] != "加装电梯表决结果" {
		t.Errorf("title = %q", summary[0][0])
	}
	rows := byKey(summary)
	for key, want := range map[string][]string{
		"事项":           {"事项", "加装电梯"},
		"表决规则":         {"表决规则", "重大事项"},
		"投票方式":         {"投票方式", "记名"},
		"状态":           {"状态", "异议期（初步结果）"},
		"投票期":          {"投票期", "2026-05-01 08:00 至 2026-05-15 20:00"},
		"统计":           {"统计", "户数", "人数", "人数（两位小数）", "面积（㎡）"},
		"全体业主（表决范围）":   {"全体业主（表决范围）", "4", "3", "3.00", "335.20"},
		"已投票":          {"已投票", "3", "2", "2.00", "235.20"},
		"同意":           {"同意", "2", "3/2", "1.50", "175.20"},
		"反对":           {"反对", "1", "1/2", "0.50", "60.00"},
		"弃权":           {"弃权", "0", "0", "0.00", "0.00"},
		"门槛":           {"门槛", "规则", "是否达到", "还差（户）", "还差（㎡）"},
		"参与表决：专有面积占全体": {"参与表决：专有面积占全体", "≥ 2/3", "是"},
		"参与表决：人数占全体":   {"参与表决：人数占全体", "≥ 2/3", "是"},
		"同意：专有面积占参与表决": {"同意：专有面积占参与表决", "≥ 3/4", "否", "", "4.80"},
		"同意：人数占参与表决":   {"同意：人数占参与表决", "≥ 3/4", "是"},
		"表决结果":         {"表决结果", "未通过"},
		"说明":           {"说明", "异议期内，以上为初步结果"},
	} {
		if got := rows[key]; !reflect.DeepEqual(got, want) {
			t.Errorf("summary line %s = %q, want %q", key, got, want)
		}
	}
	// Heads to two decimals are numbers, fractions are text.
	if raw, _ := f.GetCellValue("结果汇总", cellOf(t, f, "结果汇总", "1.50"), excelize.Options{RawCellValue: true}); raw != "1.5" {
		t.Errorf("raw heads = %q", raw)
	}

	detail := sheetRows(t, f, "逐户明细")
	if detail[0][0] != "加装电梯逐户明细" {
		t.Errorf("detail title = %q", detail[0][0])
	}
	if !reflect.DeepEqual(detail[1], detailHeader) {
		t.Errorf("detail header = %q", detail[1])
	}
	want := [][]string{
		{"1号楼", "1单元", "101", "85.20", "张三", "138****5678", "是", "同意", "小程序", "2026-05-02 09:02:03"},
		{"1号楼", "1单元", "102", "60.00", "张三", "138****5678", "是", "反对", "委托投票", "2026-05-03 01:00:00"},
		{"1号楼", "1单元", "201", "90.00", "李四", "139****0001", "是", "同意", "纸质", "2026-05-03 12:00:00"},
		{"1号楼", "1单元", "202", "100.00", "王五", "137****4321", "否", "", "委托已撤回"},
	}
	if !reflect.DeepEqual(detail[2:], want) {
		t.Errorf("detail rows:\n got %q\nwant %q", detail[2:], want)
	}
	if panes, err := f.GetPanes("逐户明细"); err != nil || !panes.Freeze || panes.YSplit != 2 {
		t.Errorf("detail panes = %+v, %v", panes, err)
	}
	checkColsAscending(t, buf.Bytes())
}

// cellOf finds the cell of a sheet whose formatted value is text.
func cellOf(t *testing.T, f *excelize.File, sheet, text string) string {
	t.Helper()
	for r, row := range sheetRows(t, f, sheet) {
		for c, v := range row {
			if v == text {
				return cellName(c+1, r+1)
			}
		}
	}
	t.Fatalf("%s has no cell %q", sheet, text)
	return ""
}

func TestResultsXLSXSecret(t *testing.T) {
	m, tally := elevatorMotion(voting.ModeSecret)
	if _, named := elevatorMotion(voting.ModeNamed); named.SplitOwners == nil || *named.SplitOwners == 0 {
		t.Fatal("the fixture should have an owner whose households split")
	}
	var buf bytes.Buffer
	if err := ResultsXLSX(&buf, m, tally, nil); err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, buf.Bytes())
	if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{"结果汇总"}) {
		t.Fatalf("sheets = %q", got)
	}
	rows := byKey(sheetRows(t, f, "结果汇总"))
	if got := rows["投票方式"]; !reflect.DeepEqual(got, []string{"投票方式", "不记名"}) {
		t.Errorf("mode line = %q", got)
	}
	// Heads only, and the agreeing area as the side of the 3/4 threshold
	// it lies on: no household count, no exact area.
	if got := rows["同意"]; !reflect.DeepEqual(got, []string{"同意", "", "3/2", "1.50", "占参与表决面积少于 3/4"}) {
		t.Errorf("agree line = %q", got)
	}
	if got := rows["反对"]; !reflect.DeepEqual(got, []string{"反对", "", "1/2", "0.50"}) {
		t.Errorf("oppose line = %q", got)
	}
	// No household, owner or per-household column anywhere in the file.
	for name, data := range zipEntries(t, buf.Bytes()) {
		for _, leak := range []string{"逐户明细", "户代表", "手机号", "是否投票", "880001", "880004", "770001", "张三", "138****"} {
			if strings.Contains(data, leak) {
				t.Errorf("%s of a secret ballot's workbook contains %q", name, leak)
			}
		}
	}

	// Per-household rows are refused for a secret ballot, whatever the caller.
	if err := ResultsXLSX(&buf, m, tally, results(elevatorRows...)); !errors.Is(err, errSecretRows) {
		t.Errorf("secret ballot with rows: %v", err)
	}
	if err := ResultsCSV(&buf, m, tally, results(elevatorRows...)); !errors.Is(err, errSecretRows) {
		t.Errorf("secret ballot with rows, CSV: %v", err)
	}
}

func TestResultsXLSXElection(t *testing.T) {
	m := voting.Motion{Title: "第二届院落理事会选举", Rule: voting.ElectionRule(2), Mode: voting.ModeSecret, Status: voting.StatusFinal,
		Options: []voting.Option{{Key: "c1", Label: "张桂芳"}, {Key: "c2", Label: "李建国"}, {Key: "c3", Label: "王秀英"}}}
	electorate := []voting.Voter{{HouseholdID: 1, Group: 1, Area: 8000}, {HouseholdID: 2, Group: 2, Area: 8000}, {HouseholdID: 3, Group: 3, Area: 8000}}
	votes := []voting.Vote{{HouseholdID: 1, Options: []string{"c1", "c2"}}, {HouseholdID: 2, Options: []string{"c1", "c3"}}, {HouseholdID: 3, Options: []string{"c1"}}}
	tally := voting.Disclose(m, voting.Count(m.Rule, electorate, m.OptionKeys(), votes))

	var buf bytes.Buffer
	if err := ResultsXLSX(&buf, m, tally, nil); err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, buf.Bytes())
	summary := sheetRows(t, f, "结果汇总")
	rows := byKey(summary)
	for key, want := range map[string][]string{
		"表决规则": {"表决规则", "选举（应选2人）"},
		"张桂芳":  {"张桂芳", "", "3", "3.00"}, // secret: heads only
		"当选":   {"当选", "张桂芳"},
		"末位并列": {"末位并列", "李建国、王秀英（得票相同，须按选举办法决出）"},
		"选举结果": {"选举结果", "末位并列，尚未决出"},
	} {
		if got := rows[key]; !reflect.DeepEqual(got, want) {
			t.Errorf("election line %s = %q, want %q", key, got, want)
		}
	}
	for _, r := range summary {
		if len(r) > 0 && strings.HasPrefix(r[0], "同意") {
			t.Errorf("an election shows an approval threshold: %q", r)
		}
	}
	if _, ok := rows["参与表决：人数占全体"]; !ok {
		t.Error("an election shows no participation threshold")
	}
}

func TestResultsCSV(t *testing.T) {
	m, tally := elevatorMotion(voting.ModeNamed)
	var buf bytes.Buffer
	if err := ResultsCSV(&buf, m, tally, results(elevatorRows...)); err != nil {
		t.Fatal(err)
	}
	got := readCSV(t, buf.Bytes())
	want := [][]string{
		detailHeader,
		{"1号楼", "1单元", "101", "85.20", "张三", "138****5678", "是", "同意", "小程序", "2026-05-02 09:02:03"},
		{"1号楼", "1单元", "102", "60.00", "张三", "138****5678", "是", "反对", "委托投票", "2026-05-03 01:00:00"},
		{"1号楼", "1单元", "201", "90.00", "李四", "139****0001", "是", "同意", "纸质", "2026-05-03 12:00:00"},
		{"1号楼", "1单元", "202", "100.00", "王五", "137****4321", "否", "", "委托已撤回", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("detail CSV:\n got %q\nwant %q", got, want)
	}

	m, tally = elevatorMotion(voting.ModeSecret)
	buf.Reset()
	if err := ResultsCSV(&buf, m, tally, nil); err != nil {
		t.Fatal(err)
	}
	got = readCSV(t, buf.Bytes())
	want = [][]string{
		{"类别", "项目", "户数", "人数", "人数（两位小数）", "面积（㎡）", "门槛", "是否达到", "还差（户）", "还差（㎡）"},
		{"事项", "加装电梯", "", "", "", "", "", "", "", ""},
		{"表决规则", "重大事项", "", "", "", "", "", "", "", ""},
		{"投票方式", "不记名", "", "", "", "", "", "", "", ""},
		{"状态", "异议期（初步结果）", "", "", "", "", "", "", "", ""},
		{"投票期", "2026-05-01 08:00 至 2026-05-15 20:00", "", "", "", "", "", "", "", ""},
		{"统计", "全体业主（表决范围）", "4", "3", "3.00", "335.20", "", "", "", ""},
		{"统计", "已投票", "3", "2", "2.00", "235.20", "", "", "", ""},
		{"选项", "同意", "", "3/2", "1.50", "占参与表决面积少于 3/4", "", "", "", ""},
		{"选项", "反对", "", "1/2", "0.50", "", "", "", "", ""},
		{"选项", "弃权", "", "0", "0.00", "", "", "", "", ""},
		{"门槛", "参与表决：专有面积占全体", "", "", "", "", "≥ 2/3", "是", "", ""},
		{"门槛", "参与表决：人数占全体", "", "", "", "", "≥ 2/3", "是", "", ""},
		{"门槛", "同意：专有面积占参与表决", "", "", "", "", "≥ 3/4", "否", "", ""}, // no "4.80": it would give the exact area
		{"门槛", "同意：人数占参与表决", "", "", "", "", "≥ 3/4", "是", "", ""},
		{"表决结果", "未通过", "", "", "", "", "", "", "", ""},
		{"说明", "异议期内，以上为初步结果", "", "", "", "", "", "", "", ""},
		{"不记名", "各选项的面积只公布占参与表决面积的区间，足以核对门槛；精确数字封存，仅供法院或重新计票时依法调取", "", "", "", "", "", "", "", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summary CSV:\n got %q\nwant %q", got, want)
	}
	for _, leak := range []string{"880001", "770001", "户代表"} {
		if strings.Contains(buf.String(), leak) {
			t.Errorf("secret summary CSV contains %q", leak)
		}
	}
}

func TestThresholdShortfall(t *testing.T) {
	th := voting.Threshold{Num: 2, Den: 3}
	area, three := louyuan.Area(12345), int64(3)
	for _, c := range []struct {
		name        string
		v           voting.ThresholdView
		met         string
		house, area value
	}{
		{"met", voting.ThresholdView{Measure: voting.MeasureArea, Met: true, Reachable: true}, "是", value{}, value{}},
		{"area short", voting.ThresholdView{Measure: voting.MeasureArea, NeededArea: &area, Reachable: true}, "否", value{}, centsValue(12345)},
		{"heads short", voting.ThresholdView{Measure: voting.MeasureHeads, NeededHouseholds: &three, Reachable: true}, "否", intValue(3), value{}},
		{"out of reach", voting.ThresholdView{Measure: voting.MeasureHeads}, "否", textValue("无法达到"), value{}},
		{"secret, closed", voting.ThresholdView{Measure: voting.MeasureArea, OutcomeOnly: true}, "否", value{}, value{}},
		{"secret, open", voting.ThresholdView{Measure: voting.MeasureArea, Withheld: true}, "投票结束后公布", value{}, value{}},
	} {
		c.v.Threshold = th
		l := threshold(c.v)
		if l.households != c.house || l.area != c.area || l.met != c.met || l.rule != "≥ 2/3" {
			t.Errorf("%s: %+v", c.name, l)
		}
	}
}

func TestResultsIteratorError(t *testing.T) {
	m, tally := elevatorMotion(voting.ModeNamed)
	boom := errors.New("result rows interrupted")
	rows := func(fn func(voting.ResultRow) error) error {
		if err := fn(elevatorRows[0]); err != nil {
			return err
		}
		return boom
	}
	var buf bytes.Buffer
	if err := ResultsXLSX(&buf, m, tally, rows); !errors.Is(err, boom) {
		t.Errorf("XLSX: %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("a failed workbook wrote %d bytes", buf.Len())
	}
	if err := ResultsCSV(&buf, m, tally, rows); !errors.Is(err, boom) {
		t.Errorf("CSV: %v", err)
	}
}
