package spreadsheet

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"

	"github.com/louyuan/louyuan/internal/roster"
)

const (
	// slipSheet is the name of the only sheet of an invite-slip workbook.
	slipSheet = "邀请码"
	// slipInstructions is printed on every slip.
	slipInstructions = "微信搜索小程序“楼院”，登录后点“绑定房屋”，输入邀请码。每个邀请码只能使用一次。"
	// slipHeaderRows is the title row plus the table header, repeated at the
	// top of every printed page.
	slipHeaderRows = 2
)

// slipColumns are the headers of the slip table and their widths, in
// characters; together they fit an A4 page across when scaled a little.
var slipColumns = []struct {
	header string
	width  float64
}{
	{"楼栋", 9}, {"单元", 8}, {"房号", 8}, {"身份", 9}, {"邀请码", 20}, {"有效期至", 12}, {"使用说明", 34},
}

// slipStyles are the cell styles of an invite-slip sheet.
type slipStyles struct {
	title, header, plain, code, note int
}

// WriteInviteSlips writes an XLSX workbook of invite slips for staff to print
// on A4, cut along the cell borders and hand out door to door: one sheet
// "邀请码" with a title row (courtyard + "住户绑定邀请码") and a table of one
// row per slip (楼栋, 单元, 房号, 身份, 邀请码 in large bold type, 有效期至
// and 使用说明). The title and table header repeat on every page, and the
// page is scaled to fit the width of A4. Rows are streamed, so thousands of
// slips are fine.
func WriteInviteSlips(w io.Writer, courtyard string, slips []roster.InviteSlip) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := buildSlipSheet(f, courtyard, slips); err != nil {
		return fmt.Errorf("build invite slips: %w", err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write invite slips: %w", err)
	}
	return nil
}

// buildSlipSheet fills a new workbook with the slip sheet.
func buildSlipSheet(f *excelize.File, courtyard string, slips []roster.InviteSlip) error {
	if err := f.SetSheetName(f.GetSheetName(0), slipSheet); err != nil {
		return err
	}
	// Page settings go on the worksheet before streaming starts: the stream
	// writer copies them into the sheet as it goes.
	if err := setSlipPage(f, len(slips)); err != nil {
		return err
	}
	styles, err := newSlipStyles(f)
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(slipSheet)
	if err != nil {
		return err
	}
	// The stream writer puts each new width before the earlier ones and
	// writes them unsorted; Excel wants <col> elements in ascending order,
	// so the widths are set right to left.
	for i := len(slipColumns) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, slipColumns[i].width); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: slipHeaderRows, TopLeftCell: fmt.Sprintf("A%d", slipHeaderRows+1), ActivePane: "bottomLeft",
	}); err != nil {
		return err
	}

	lastCol, _ := excelize.ColumnNumberToName(len(slipColumns))
	title := make([]any, len(slipColumns))
	title[0] = excelize.Cell{StyleID: styles.title, Value: courtyard + "住户绑定邀请码"}
	if err := sw.SetRow("A1", title, excelize.RowOpts{Height: 36}); err != nil {
		return err
	}
	if err := sw.MergeCell("A1", lastCol+"1"); err != nil {
		return err
	}
	header := make([]any, len(slipColumns))
	for i, c := range slipColumns {
		header[i] = excelize.Cell{StyleID: styles.header, Value: c.header}
	}
	if err := sw.SetRow("A2", header, excelize.RowOpts{Height: 24}); err != nil {
		return err
	}
	for i, s := range slips {
		row := []any{
			excelize.Cell{StyleID: styles.plain, Value: s.Building},
			excelize.Cell{StyleID: styles.plain, Value: s.Unit},
			excelize.Cell{StyleID: styles.plain, Value: s.Room},
			excelize.Cell{StyleID: styles.plain, Value: s.Role.Label()},
			excelize.Cell{StyleID: styles.code, Value: s.Code},
			excelize.Cell{StyleID: styles.plain, Value: s.ExpiresAt},
			excelize.Cell{StyleID: styles.note, Value: slipInstructions},
		}
		axis, _ := excelize.CoordinatesToCellName(1, slipHeaderRows+1+i)
		if err := sw.SetRow(axis, row, excelize.RowOpts{Height: 54}); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// setSlipPage sets up printing: A4 portrait scaled to one page wide, narrow
// margins, centred, page numbers in the footer, the title and header rows
// repeated on every page and the print area ending at the last slip.
func setSlipPage(f *excelize.File, n int) error {
	a4, portrait, oneWide, anyTall := 9, "portrait", 1, 0
	if err := f.SetPageLayout(slipSheet, &excelize.PageLayoutOptions{
		Size: &a4, Orientation: &portrait, FitToWidth: &oneWide, FitToHeight: &anyTall,
	}); err != nil {
		return err
	}
	fit := true
	if err := f.SetSheetProps(slipSheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	side, edge, centred := 0.4, 0.5, true
	if err := f.SetPageMargins(slipSheet, &excelize.PageLayoutMarginsOptions{
		Left: &side, Right: &side, Top: &edge, Bottom: &edge, Horizontally: &centred,
	}); err != nil {
		return err
	}
	if err := f.SetHeaderFooter(slipSheet, &excelize.HeaderFooterOptions{OddFooter: "&C第 &P 页，共 &N 页"}); err != nil {
		return err
	}
	lastCol, _ := excelize.ColumnNumberToName(len(slipColumns))
	if err := f.SetDefinedName(&excelize.DefinedName{
		Name:     "_xlnm.Print_Area",
		RefersTo: fmt.Sprintf("'%s'!$A$1:$%s$%d", slipSheet, lastCol, slipHeaderRows+n),
		Scope:    slipSheet,
	}); err != nil {
		return err
	}
	return f.SetDefinedName(&excelize.DefinedName{
		Name:     "_xlnm.Print_Titles",
		RefersTo: fmt.Sprintf("'%s'!$1:$%d", slipSheet, slipHeaderRows),
		Scope:    slipSheet,
	})
}

// newSlipStyles registers the cell styles of the slip sheet.
func newSlipStyles(f *excelize.File) (slipStyles, error) {
	var s slipStyles
	centre := &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}
	defs := []struct {
		id    *int
		style excelize.Style
	}{
		{&s.title, excelize.Style{Font: &excelize.Font{Bold: true, Size: 16}, Alignment: centre}},
		{&s.header, excelize.Style{
			Font: &excelize.Font{Bold: true, Size: 11}, Alignment: centre, Border: thinBorder(),
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E7E6E6"}},
		}},
		{&s.plain, excelize.Style{Font: &excelize.Font{Size: 12}, Alignment: centre, Border: thinBorder()}},
		// A large bold monospaced face makes 0 and O, 1 and I easy to tell apart on paper.
		{&s.code, excelize.Style{Font: &excelize.Font{Bold: true, Size: 20, Family: "Consolas"}, Alignment: centre, Border: thinBorder()}},
		{&s.note, excelize.Style{
			Font: &excelize.Font{Size: 9}, Border: thinBorder(),
			Alignment: &excelize.Alignment{Horizontal: "left", Vertical: "center", WrapText: true},
		}},
	}
	for _, d := range defs {
		id, err := f.NewStyle(&d.style)
		if err != nil {
			return s, err
		}
		*d.id = id
	}
	return s, nil
}
