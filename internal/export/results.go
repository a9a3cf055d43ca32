package export

import (
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// Sheet names of a results workbook.
const (
	summarySheet = "结果汇总"
	detailSheet  = "逐户明细"
)

// errSecretRows refuses per-household rows for a secret ballot: whatever
// the caller passes, an export of a secret ballot holds totals only.
var errSecretRows = errors.New("export: a secret ballot has no per-household rows to export")

// detailColumns are the columns of the per-household results of a named
// ballot.
var detailColumns = []column{
	{"楼栋", 10}, {"单元", 8}, {"房号", 8}, {"面积（㎡）", 11}, {"户代表", 10}, {"手机号", 14},
	{"是否投票", 9}, {"选择", 22}, {"方式", 12}, {"投票时间", 19},
}

// summaryCSVColumns are the columns of the CSV summary; see ResultsCSV.
var summaryCSVColumns = []string{
	"类别", "项目", "户数", "人数", "人数（两位小数）", "面积（㎡）", "门槛", "是否达到", "还差（户）", "还差（㎡）",
}

// summaryWidths are the column widths of the summary sheet.
var summaryWidths = []float64{34, 14, 14, 18, 16}

func ruleLabel(r voting.Rule) string {
	switch r.Kind {
	case voting.RuleOrdinary:
		return "一般事项"
	case voting.RuleMajor:
		return "重大事项"
	case voting.RuleCustom:
		return "自定义"
	case voting.RuleElection:
		return fmt.Sprintf("选举（应选%d人）", r.Seats)
	}
	return string(r.Kind)
}

func modeLabel(mode string) string {
	switch mode {
	case voting.ModeNamed:
		return "记名"
	case voting.ModeSecret:
		return "不记名"
	}
	return mode
}

func statusLabel(s voting.Status) string {
	switch s {
	case voting.StatusDraft:
		return "草稿"
	case voting.StatusNotice:
		return "公示中"
	case voting.StatusVoting:
		return "投票中"
	case voting.StatusObjection:
		return "异议期（初步结果）"
	case voting.StatusFinal:
		return "最终结果"
	case voting.StatusCancelled:
		return "已取消"
	}
	return string(s)
}

func ballotChannelLabel(channel string) string {
	switch channel {
	case voting.ChannelSelf:
		return "小程序"
	case voting.ChannelProxy:
		return "委托投票"
	case voting.ChannelPaper:
		return "纸质"
	}
	return channel
}

// optionLabels maps a motion's option keys to the labels residents read.
func optionLabels(m voting.Motion) map[string]string {
	labels := make(map[string]string, len(m.Options))
	for _, o := range m.Options {
		labels[o.Key] = o.Label
	}
	return labels
}

// joinLabels joins the labels of option keys with "、"; a key the motion
// does not know shows as itself.
func joinLabels(labels map[string]string, keys []string) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("、")
		}
		if l, ok := labels[k]; ok {
			k = l
		}
		b.WriteString(k)
	}
	return b.String()
}

// detailCells is one household of a named ballot's results. A proxy ballot
// withdrawn by revoking the delegation counts as not voted: 否, no choice,
// and 方式 says why.
func detailCells(cells []value, labels map[string]string, r voting.ResultRow) []value {
	voted := r.Voted && r.Channel != voting.ChannelWithdrawn
	var votedText, choice, channel, at string
	switch {
	case voted:
		votedText, choice, channel, at = "是", joinLabels(labels, r.Options), ballotChannelLabel(r.Channel), moment(r.CastAt)
	case r.Channel == voting.ChannelWithdrawn:
		votedText, channel = "否", "委托已撤回"
	default:
		votedText = "否"
	}
	return append(cells[:0],
		textValue(r.Building), textValue(r.Unit), textValue(r.Room), centsValue(int64(r.Area)),
		textValue(r.Representative), textValue(r.Phone), textValue(votedText), textValue(choice),
		textValue(channel), textValue(at))
}

// resultRows adapts a result iterator to a table's rows.
func resultRows(m voting.Motion, rows func(func(voting.ResultRow) error) error) func(rowSink) error {
	labels := optionLabels(m)
	return func(emit rowSink) error {
		var cells []value
		return rows(func(r voting.ResultRow) error {
			cells = detailCells(cells, labels, r)
			return emit(cells)
		})
	}
}

// summary is what a tally means, ready to be written: facts about the
// motion, the counts, the thresholds and the outcome. It holds totals only,
// never a household.
type summary struct {
	facts      []fact
	counts     []countLine
	thresholds []thresholdLine
	outcome    []fact
}

// fact is a labelled line of text.
type fact struct{ key, text string }

// countLine is the households, heads and area of the electorate, of those
// who voted, or of one option. Of a secret ballot's option only the heads
// and, for the agreeing option, the area as a share band are known.
type countLine struct {
	category, label string
	households      value
	heads           *big.Rat // nil: not disclosed
	area            value
}

// thresholdLine is one threshold of the rule and where the tally stands.
type thresholdLine struct {
	label, rule string
	met         string // 是 / 否, or 投票结束后公布 while a secret ballot is open
	households  value  // still needed, for a headcount threshold
	area        value  // still needed, for an area threshold
}

// summarize reads what may be shown of a tally under its motion.
func summarize(m voting.Motion, t voting.Disclosure) summary {
	var s summary
	s.facts = []fact{
		{"事项", m.Title},
		{"表决规则", ruleLabel(m.Rule)},
		{"投票方式", modeLabel(m.Mode)},
		{"状态", statusLabel(m.Status)},
	}
	if !m.OpensAt.IsZero() && !m.ClosesAt.IsZero() {
		s.facts = append(s.facts, fact{"投票期", m.OpensAt.In(louyuan.China).Format(stampLayout) + " 至 " + m.ClosesAt.In(louyuan.China).Format(stampLayout)})
	}

	s.counts = []countLine{
		{"统计", "全体业主（表决范围）", intValue(int64(t.Electorate.Households)), big.NewRat(t.Electorate.Heads, 1), centsValue(int64(t.Electorate.Area))},
		{"统计", "已投票", intValue(int64(t.Voted.Households)), big.NewRat(t.Voted.Heads, 1), centsValue(int64(t.Voted.Area))},
	}
	category := "选项"
	if m.Rule.Kind == voting.RuleElection {
		category = "候选人"
	}
	labels := optionLabels(m)
	for _, o := range t.Options {
		c := countLine{category: category, label: joinLabels(labels, []string{o.Option}), heads: o.Heads}
		if o.Households != nil {
			c.households = intValue(int64(*o.Households))
		}
		switch {
		case o.Area != nil:
			c.area = centsValue(int64(*o.Area))
		case o.AreaShare != nil:
			c.area = textValue("占参与表决面积" + o.AreaShare.Text())
		}
		s.counts = append(s.counts, c)
	}
	if t.Options == nil && m.Mode == voting.ModeSecret {
		s.facts = append(s.facts, fact{"说明", "不记名投票：投票结束前只公布参与情况，各选项的票数在投票结束后公布"})
	}

	for _, th := range t.Thresholds {
		s.thresholds = append(s.thresholds, threshold(th))
	}
	if m.Rule.Kind == voting.RuleElection {
		s.outcome = electionOutcome(labels, t)
	} else if t.Passed != nil {
		result := "未通过"
		if *t.Passed {
			result = "通过"
		}
		s.outcome = []fact{{"表决结果", result}}
	}
	switch m.Status {
	case voting.StatusVoting:
		s.outcome = append(s.outcome, fact{"说明", "投票尚未截止，以上为截至生成时间的统计"})
	case voting.StatusObjection:
		s.outcome = append(s.outcome, fact{"说明", "异议期内，以上为初步结果"})
	}
	if t.Sealed && t.Options != nil {
		s.outcome = append(s.outcome, fact{"不记名", "各选项的面积只公布占参与表决面积的区间，足以核对门槛；精确数字封存，仅供法院或重新计票时依法调取"})
	}
	return s
}

// threshold describes one threshold: met, or how much is still needed, or
// that the rest of the electorate cannot reach it.
func threshold(th voting.ThresholdView) thresholdLine {
	label := map[string]string{
		voting.KeyParticipationArea: "参与表决：专有面积占全体",
		voting.KeyParticipationHead: "参与表决：人数占全体",
		voting.KeyApprovalArea:      "同意：专有面积占参与表决",
		voting.KeyApprovalHead:      "同意：人数占参与表决",
	}[th.Key]
	l := thresholdLine{label: label, rule: th.Threshold.String(), met: yesNo(th.Met)}
	if th.Withheld {
		l.met = "投票结束后公布"
		return l
	}
	if th.Met {
		return l
	}
	var short value
	switch {
	case th.NeededArea != nil:
		short = centsValue(int64(*th.NeededArea))
	case th.NeededHouseholds != nil:
		short = intValue(*th.NeededHouseholds)
	case !th.Reachable && !th.OutcomeOnly:
		short = textValue("无法达到")
	}
	if th.Measure == voting.MeasureArea {
		l.area = short
	} else {
		l.households = short
	}
	return l
}

// electionOutcome is who is elected, who ties for the last seat, and
// whether the election stands; nothing while a secret ballot is open.
func electionOutcome(labels map[string]string, t voting.Disclosure) []fact {
	if t.Passed == nil {
		return nil
	}
	pa, _ := t.Threshold(voting.KeyParticipationArea)
	ph, _ := t.Threshold(voting.KeyParticipationHead)
	if !pa.Met || !ph.Met {
		return []fact{{"选举结果", "未通过：参与表决未达到门槛"}}
	}
	elected := joinLabels(labels, t.Elected)
	if elected == "" {
		elected = "无"
	}
	out := []fact{{"当选", elected}}
	if len(t.TieAtLastSeat) > 0 {
		out = append(out, fact{"末位并列", joinLabels(labels, t.TieAtLastSeat) + "（得票相同，须按选举办法决出）"})
	}
	result := "有效"
	if !*t.Passed {
		result = "末位并列，尚未决出"
	}
	return append(out, fact{"选举结果", result})
}

// yesNo is 是 or 否.
func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// ResultsXLSX writes a motion's results as an XLSX workbook to w.
//
// Sheet "结果汇总" holds totals only: a title row (the motion title +
// "表决结果") and when the file was made; the motion (事项, 表决规则 一般事项 /
// 重大事项 / 自定义 / 选举, 投票方式 记名 / 不记名, 状态, 投票期); a table of
// households, heads and area (m²) for the electorate, those who voted and
// each option by its label — heads as the exact fraction the count uses
// ("151/2") and as a number with two decimals (75.50) for reading; a table
// of the thresholds (participation by area and by heads, and for decisions
// approval by area and by heads) with the rule (≥ 2/3, > 1/2, ...), 是/否 and
// what is still missing (还差 households or m², or 无法达到); and the result,
// 通过 / 未通过, or for an election who is elected and who ties for the last
// seat.
//
// Sheet "逐户明细" exists only when rows is not nil (a named ballot): 楼栋,
// 单元, 房号, 面积（㎡）, 户代表, 手机号, 是否投票, 选择 (option labels joined
// with "、"), 方式 (小程序 / 委托投票 / 纸质; a withdrawn proxy ballot counts
// as not voted) and 投票时间 in China time, streamed row by row. For a secret
// ballot rows must be nil, and the workbook then holds no household at all;
// rows for a secret ballot are refused.
func ResultsXLSX(w io.Writer, m voting.Motion, t voting.Disclosure, rows func(func(voting.ResultRow) error) error) error {
	return ResultsXLSXSealed(w, m, t, rows, nil)
}

// ResultsXLSXSealed is ResultsXLSX with the sheet "校验信息" when seal is not
// nil. Its digest covers the rows of "逐户明细" (a named ballot) or, with no
// household rows, the summary's lines as ResultsCSV writes them.
func ResultsXLSXSealed(w io.Writer, m voting.Motion, t voting.Disclosure, rows func(func(voting.ResultRow) error) error, seal *Seal) error {
	if m.Mode == voting.ModeSecret && rows != nil {
		return errSecretRows
	}
	generated := time.Now()
	if seal != nil {
		seal.At = generated
	}
	f, st, err := newWorkbook(summarySheet)
	if err != nil {
		return fmt.Errorf("start results workbook: %w", err)
	}
	defer f.Close()
	if err := writeSummarySheet(f, st, m, summarize(m, t), generated); err != nil {
		return fmt.Errorf("write sheet %s: %w", summarySheet, err)
	}
	if rows != nil {
		if _, err := f.NewSheet(detailSheet); err != nil {
			return fmt.Errorf("add sheet %s: %w", detailSheet, err)
		}
		d := newDigester(seal, detailSheet)
		fill := resultRows(m, rows)
		err := streamTable(f, st, table{sheet: detailSheet, title: m.Title + "逐户明细", columns: detailColumns},
			generated, func(emit rowSink) error {
				return fill(func(cells []value) error { d.row(0, cells); return emit(cells) })
			})
		if err != nil {
			return err
		}
		d.finish()
	} else if seal != nil {
		d := newDigester(seal, summarySheet)
		if err := summaryCSVRows(summarize(m, t))(func(cells []value) error { d.row(0, cells); return nil }); err != nil {
			return err
		}
		d.finish()
	}
	if err := writeSealSheet(f, st, seal); err != nil {
		return fmt.Errorf("write sheet %s: %w", SealSheet, err)
	}
	if err := writeWorkbook(f, w); err != nil {
		return fmt.Errorf("write results workbook: %w", err)
	}
	return nil
}

// writeSummarySheet writes the summary sheet, section after section.
func writeSummarySheet(f *excelize.File, st styles, m voting.Motion, s summary, generated time.Time) error {
	if err := setPrintLayout(f, summarySheet, "portrait", 0); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(summarySheet)
	if err != nil {
		return err
	}
	for i := len(summaryWidths) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, summaryWidths[i]); err != nil {
			return err
		}
	}
	last := len(summaryWidths)
	next := 1
	// put writes a row; with merge, its last cell spans the remaining
	// columns, each styled like it so that borders run all along.
	put := func(cells []any, merge bool, height float64) error {
		from := len(cells)
		if merge {
			for len(cells) < last {
				cells = append(cells, excelize.Cell{StyleID: cells[from-1].(excelize.Cell).StyleID})
			}
		}
		if err := sw.SetRow(cellName(1, next), cells, excelize.RowOpts{Height: height}); err != nil {
			return err
		}
		if merge {
			if err := sw.MergeCell(cellName(from, next), cellName(last, next)); err != nil {
				return err
			}
		}
		next++
		return nil
	}
	// line writes a labelled line of text, the text across the remaining
	// columns.
	line := func(key, text string, textStyle int) error {
		return put([]any{excelize.Cell{StyleID: st.key, Value: key}, excelize.Cell{StyleID: textStyle, Value: text}}, true, 20)
	}
	skip := func() { next++ }
	header := func(titles ...string) error {
		cells := make([]any, len(titles))
		for i, t := range titles {
			cells[i] = excelize.Cell{StyleID: st.header, Value: t}
		}
		return put(cells, false, 20)
	}

	if err := put([]any{excelize.Cell{StyleID: st.title, Value: m.Title + "表决结果"}}, true, 30); err != nil {
		return err
	}
	if err := put([]any{excelize.Cell{StyleID: st.stamp, Value: generatedStamp(generated)}}, true, 16); err != nil {
		return err
	}
	skip()
	for _, fc := range s.facts {
		if err := line(fc.key, fc.text, st.text); err != nil {
			return err
		}
	}
	skip()
	if err := header("统计", "户数", "人数", "人数（两位小数）", "面积（㎡）"); err != nil {
		return err
	}
	for _, c := range s.counts {
		if err := put(cellsOf(st, countValues(c)[1:]), false, 0); err != nil {
			return err
		}
	}
	skip()
	if err := header("门槛", "规则", "是否达到", "还差（户）", "还差（㎡）"); err != nil {
		return err
	}
	for _, th := range s.thresholds {
		cells := cellsOf(st, []value{textValue(th.label), textValue(th.rule), textValue(th.met), th.households, th.area})
		if err := put(cells, false, 0); err != nil {
			return err
		}
	}
	skip()
	for _, fc := range s.outcome {
		if err := line(fc.key, fc.text, st.emphasis); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// cellsOf turns values into styled cells.
func cellsOf(st styles, vs []value) []any {
	cells := make([]any, len(vs))
	for i, v := range vs {
		cells[i] = st.cell(v)
	}
	return cells
}

// countValues is a count line as values: category, label, households,
// heads as a fraction, heads to two decimals, area.
func countValues(c countLine) []value {
	heads, hundredths := value{}, value{}
	if c.heads != nil {
		heads, hundredths = textValue(ratText(c.heads)), centsValue(ratHundredths(c.heads))
	}
	return []value{textValue(c.category), textValue(c.label), c.households, heads, hundredths, c.area}
}

// ResultsCSV writes a motion's results as CSV to w, starting with a UTF-8
// BOM and ending lines with CRLF.
//
// When rows is not nil (a named ballot) the file is the per-household list
// with the columns of sheet "逐户明细" of ResultsXLSX, one line per
// household, written as the rows are read.
//
// When rows is nil (a secret ballot, or totals only) the file is the
// summary as one table whose first column says what each line is:
//
//	类别,项目,户数,人数,人数（两位小数）,面积（㎡）,门槛,是否达到,还差（户）,还差（㎡）
//	事项,<motion title>            (then 表决规则, 投票方式, 状态, 投票期 alike)
//	统计,全体业主（表决范围）,120,118,118.00,9876.50
//	统计,已投票,100,99,99.00,8123.40
//	选项,同意,80,159/2,79.50,6500.00  (候选人 for an election; one line per option)
//	门槛,参与表决：专有面积占全体,,,,,≥ 2/3,是,,
//	门槛,同意：人数占参与表决,,,,,> 1/2,否,3,   (还差 households or m², or 无法达到)
//	表决结果,通过                    (or 当选 / 末位并列 / 选举结果; 说明 while not final)
//
// Every line has all ten fields, empty where they do not apply.
func ResultsCSV(w io.Writer, m voting.Motion, t voting.Disclosure, rows func(func(voting.ResultRow) error) error) error {
	return ResultsCSVSealed(w, m, t, rows, nil)
}

// ResultsCSVSealed is ResultsCSV that, with a seal, ends the file with an
// empty line and the seal's lines ("#校验信息,key,value").
func ResultsCSVSealed(w io.Writer, m voting.Motion, t voting.Disclosure, rows func(func(voting.ResultRow) error) error, seal *Seal) error {
	if m.Mode == voting.ModeSecret && rows != nil {
		return errSecretRows
	}
	if seal != nil {
		seal.At = time.Now()
	}
	if rows != nil {
		return writeSealedCSV(w, headers(detailColumns), resultRows(m, rows), seal)
	}
	return writeSealedCSV(w, summaryCSVColumns, summaryCSVRows(summarize(m, t)), seal)
}

// summaryCSVRows are the lines of a results summary as ResultsCSV writes
// them.
func summaryCSVRows(s summary) func(emit rowSink) error {
	return func(emit rowSink) error {
		line := make([]value, len(summaryCSVColumns))
		put := func(vs ...value) error {
			clear(line)
			copy(line, vs)
			return emit(line)
		}
		for _, fc := range s.facts {
			if err := put(textValue(fc.key), textValue(fc.text)); err != nil {
				return err
			}
		}
		for _, c := range s.counts {
			if err := put(countValues(c)...); err != nil {
				return err
			}
		}
		for _, th := range s.thresholds {
			if err := put(textValue("门槛"), textValue(th.label), value{}, value{}, value{}, value{},
				textValue(th.rule), textValue(th.met), th.households, th.area); err != nil {
				return err
			}
		}
		for _, fc := range s.outcome {
			if err := put(textValue(fc.key), textValue(fc.text)); err != nil {
				return err
			}
		}
		return nil
	}
}
