package export

import (
	"fmt"
	"io"
	"time"

	"github.com/louyuan/louyuan/internal/voting"
)

// paperTrailSheet is the sheet of the reconciliation sheet.
const paperTrailSheet = "纸质与电子核对"

var paperTrailColumns = []column{
	{"楼栋", 10}, {"单元", 8}, {"房号", 8}, {"纸质票", 8}, {"电子票（含委托）", 14}, {"两种都有", 9}, {"计入的方式", 11}, {"核对备注", 30},
}

// PaperTrailXLSX writes a motion's printable reconciliation sheet: one row
// per household that voted on paper, electronically or both (是 / empty),
// the channel that counts, an empty 核对备注 column; then the totals and
// lines for the counting staff to sign (计票人, 监票人, 日期). It never shows
// a choice, so it is the same for a secret ballot. With a seal it gets the
// "校验信息" sheet, whose digest covers the household rows.
func PaperTrailXLSX(w io.Writer, m voting.Motion, rows []voting.TrailRow, seal *Seal) error {
	generated := time.Now()
	if seal != nil {
		seal.At = generated
	}
	f, st, err := newWorkbook(paperTrailSheet)
	if err != nil {
		return fmt.Errorf("start paper-trail workbook: %w", err)
	}
	defer f.Close()
	d := newDigester(seal, paperTrailSheet)
	yes := func(b bool) value {
		if b {
			return textValue("是")
		}
		return value{}
	}
	var paper, electronic, both int64
	err = streamTables(f, st, []table{{sheet: paperTrailSheet, title: m.Title + " 纸质票与电子票核对表", columns: paperTrailColumns, rowHeight: visitRowHeight}},
		generated, func(emit func(int, []value) error) error {
			cells := make([]value, 0, len(paperTrailColumns))
			for _, r := range rows {
				if r.Paper {
					paper++
				}
				if r.Electronic {
					electronic++
				}
				if r.Paper && r.Electronic {
					both++
				}
				counted := ""
				if r.Counted != "" {
					counted = ballotChannelLabel(r.Counted)
				}
				cells = append(cells[:0], textValue(r.Building), textValue(r.Unit), textValue(r.Room), yes(r.Paper), yes(r.Electronic),
					yes(r.Paper && r.Electronic), textValue(counted), value{})
				d.row(0, cells)
				if err := emit(0, cells); err != nil {
					return err
				}
			}
			// Totals and the counting staff's signatures, after the rows.
			for _, line := range [][]value{
				{},
				{textValue("合计"), value{}, value{}, intValue(paper), intValue(electronic), intValue(both)},
				{},
				{textValue("计票人（签字）"), value{}, value{}, textValue("监票人（签字）"), value{}, value{}, textValue("日期"), value{}},
				{},
				{textValue("说明"), textValue("本表只列投票方式，不含任何选择；两种都有的住户以“计入的方式”为准。")},
			} {
				full := make([]value, len(paperTrailColumns))
				copy(full, line)
				if err := emit(0, full); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	d.finish()
	if err := writeSealSheet(f, st, seal); err != nil {
		return fmt.Errorf("write sheet %s: %w", SealSheet, err)
	}
	if err := writeWorkbook(f, w); err != nil {
		return fmt.Errorf("write paper-trail workbook: %w", err)
	}
	return nil
}
