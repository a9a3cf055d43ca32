package export

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// headerRows is the title row plus the column headers at the top of every
// table sheet: frozen on screen and repeated on every printed page.
const headerRows = 2

// styles are the cell styles of an export workbook.
type styles struct {
	title, stamp, header, text, integer, decimal, key, emphasis int
}

// newStyles registers the cell styles in f.
func newStyles(f *excelize.File) (styles, error) {
	var s styles
	left := &excelize.Alignment{Horizontal: "left", Vertical: "center"}
	centre := &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}
	grey := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E7E6E6"}}
	defs := []struct {
		id    *int
		style excelize.Style
	}{
		{&s.title, excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}, Alignment: left}},
		{&s.stamp, excelize.Style{Font: &excelize.Font{Size: 9, Color: "595959"},
			Alignment: &excelize.Alignment{Horizontal: "right", Vertical: "center"}}},
		{&s.header, excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: centre, Border: thinBorder(), Fill: grey}},
		{&s.text, excelize.Style{Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}, Border: thinBorder()}},
		{&s.integer, excelize.Style{Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}, Border: thinBorder()}},
		// Built-in format 2 is "0.00": areas, amounts and headcounts always
		// show two decimals and stay numbers that SUM and sort.
		{&s.decimal, excelize.Style{NumFmt: 2, Alignment: &excelize.Alignment{Vertical: "center"}, Border: thinBorder()}},
		{&s.key, excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: left, Border: thinBorder(), Fill: grey}},
		{&s.emphasis, excelize.Style{Font: &excelize.Font{Bold: true, Size: 12}, Alignment: left, Border: thinBorder()}},
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

func thinBorder() []excelize.Border {
	return []excelize.Border{
		{Type: "left", Color: "808080", Style: 1}, {Type: "right", Color: "808080", Style: 1},
		{Type: "top", Color: "808080", Style: 1}, {Type: "bottom", Color: "808080", Style: 1},
	}
}

// cell turns a value into an excelize cell. An area or amount is written as
// a number from its exact hundredths: float64(n)/100 is the double nearest
// to the decimal, excelize writes it back in its shortest form ("85.2"),
// and the "0.00" format shows "85.20". Clerks can sum and sort it, which a
// text cell would not allow.
func (s styles) cell(v value) excelize.Cell {
	switch v.kind {
	case text:
		if v.s == "" {
			return excelize.Cell{StyleID: s.text}
		}
		return excelize.Cell{StyleID: s.text, Value: louyuan.StripUnsafe(v.s)}
	case integer:
		return excelize.Cell{StyleID: s.integer, Value: v.n}
	case hundredths:
		return excelize.Cell{StyleID: s.decimal, Value: float64(v.n) / 100}
	}
	return excelize.Cell{StyleID: s.text}
}

// table describes a streamed table sheet: a title row (title on the left,
// the time the file was made on the right), the column headers, then one
// row per item.
type table struct {
	sheet     string
	title     string
	columns   []column
	rowHeight float64 // 0 for the default
}

// rowSink receives a table's rows one at a time.
type rowSink func(cells []value) error

// streamTable writes t into the sheet of that name, which must exist, with
// the rows that fill produces. Each row is written as soon as it arrives.
func streamTable(f *excelize.File, st styles, t table, generated time.Time, fill func(emit rowSink) error) error {
	return streamTables(f, st, []table{t}, generated, func(emit func(int, []value) error) error {
		return fill(func(cells []value) error { return emit(0, cells) })
	})
}

// streamTables writes several tables at once, each into its sheet (which
// must exist): fill emits each row with the index of its table, in any
// order, so that one pass over the data can fill them all. Each row is
// written as soon as it arrives; every sheet is finished at the end.
func streamTables(f *excelize.File, st styles, ts []table, generated time.Time, fill func(emit func(table int, cells []value) error) error) error {
	type open struct {
		sw   *excelize.StreamWriter
		opts []excelize.RowOpts
		row  []any
		next int
	}
	sheets := make([]open, len(ts))
	for i, t := range ts {
		sw, err := startTable(f, st, t, generated)
		if err != nil {
			return fmt.Errorf("start sheet %s: %w", t.sheet, err)
		}
		sheets[i] = open{sw: sw, row: make([]any, len(t.columns)), next: headerRows + 1}
		if t.rowHeight > 0 {
			sheets[i].opts = []excelize.RowOpts{{Height: t.rowHeight}}
		}
	}
	// fill's own errors (those of the row iterator) are returned unchanged.
	if err := fill(func(i int, cells []value) error {
		o := &sheets[i]
		for j, v := range cells {
			o.row[j] = st.cell(v)
		}
		if err := o.sw.SetRow(cellName(1, o.next), o.row[:len(cells)], o.opts...); err != nil {
			return fmt.Errorf("write row %d of sheet %s: %w", o.next, ts[i].sheet, err)
		}
		o.next++
		return nil
	}); err != nil {
		return err
	}
	for i, o := range sheets {
		if err := o.sw.Flush(); err != nil {
			return fmt.Errorf("finish sheet %s: %w", ts[i].sheet, err)
		}
	}
	return nil
}

// startTable prepares a table sheet and writes its title and header rows.
func startTable(f *excelize.File, st styles, t table, generated time.Time) (*excelize.StreamWriter, error) {
	if err := setPrintLayout(f, t.sheet, "landscape", headerRows); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(t.sheet)
	if err != nil {
		return nil, err
	}
	// The stream writer puts each new width before the earlier ones and
	// writes them unsorted; Excel wants <col> elements in ascending order,
	// so the widths are set right to left.
	for i := len(t.columns) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, t.columns[i].width); err != nil {
			return nil, err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: headerRows, TopLeftCell: fmt.Sprintf("A%d", headerRows+1), ActivePane: "bottomLeft",
	}); err != nil {
		return nil, err
	}

	// Title row: the title across all but the last three columns, the
	// stamp across those three.
	n := len(t.columns)
	row := make([]any, n)
	row[0] = excelize.Cell{StyleID: st.title, Value: louyuan.StripUnsafe(t.title)}
	row[n-3] = excelize.Cell{StyleID: st.stamp, Value: generatedStamp(generated)}
	if err := sw.SetRow("A1", row, excelize.RowOpts{Height: 30}); err != nil {
		return nil, err
	}
	if err := sw.MergeCell("A1", cellName(n-3, 1)); err != nil {
		return nil, err
	}
	if err := sw.MergeCell(cellName(n-2, 1), cellName(n, 1)); err != nil {
		return nil, err
	}
	for i, c := range t.columns {
		row[i] = excelize.Cell{StyleID: st.header, Value: c.header}
	}
	if err := sw.SetRow("A2", row, excelize.RowOpts{Height: 22}); err != nil {
		return nil, err
	}
	return sw, nil
}

// cellName is the A1 reference of a column and row, both from 1.
func cellName(col, row int) string {
	name, _ := excelize.CoordinatesToCellName(col, row)
	return name
}

// setPrintLayout prints a sheet on A4 in the given orientation, scaled to
// one page wide, with the first repeatRows rows (if any) repeated on every
// page and page numbers in the footer. It must run before the sheet's
// stream writer is created.
func setPrintLayout(f *excelize.File, sheet, orientation string, repeatRows int) error {
	a4, oneWide, anyTall := 9, 1, 0
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{
		Size: &a4, Orientation: &orientation, FitToWidth: &oneWide, FitToHeight: &anyTall,
	}); err != nil {
		return err
	}
	fit := true
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	side, edge, centred := 0.4, 0.5, true
	if err := f.SetPageMargins(sheet, &excelize.PageLayoutMarginsOptions{
		Left: &side, Right: &side, Top: &edge, Bottom: &edge, Horizontally: &centred,
	}); err != nil {
		return err
	}
	if err := f.SetHeaderFooter(sheet, &excelize.HeaderFooterOptions{OddFooter: "&C第 &P 页，共 &N 页"}); err != nil {
		return err
	}
	if repeatRows == 0 {
		return nil
	}
	return f.SetDefinedName(&excelize.DefinedName{
		Name:     "_xlnm.Print_Titles",
		RefersTo: fmt.Sprintf("'%s'!$1:$%d", sheet, repeatRows),
		Scope:    sheet,
	})
}

// writeWorkbook zips f straight into w. excelize's Write and WriteTo first
// build the whole zip in a bytes.Buffer, which would make memory grow with
// the rows after all; its ZipWriter hook is handed that buffer, and here it
// ignores it and zips into w instead, so the streamed sheets are copied from
// their temporary files to w through the deflater. The check on the buffer
// turns a change of this behaviour in a future excelize into an error rather
// than a corrupt file.
func writeWorkbook(f *excelize.File, w io.Writer) error {
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	buf, err := f.WriteToBuffer()
	if err != nil {
		return err
	}
	if buf.Len() != 0 {
		return errors.New("excelize wrote the workbook to its own buffer instead of the zip writer")
	}
	return nil
}

// newWorkbook starts a workbook whose first sheet is named first.
func newWorkbook(first string) (*excelize.File, styles, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName(f.GetSheetName(0), first); err != nil {
		f.Close()
		return nil, styles{}, err
	}
	st, err := newStyles(f)
	if err != nil {
		f.Close()
		return nil, styles{}, err
	}
	return f, st, nil
}
