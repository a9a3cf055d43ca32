package spreadsheet

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/roster"
)

// CodeUnreadable is the louyuan.Error code ParseRoster returns for an upload
// that is not a readable XLSX workbook.
const CodeUnreadable = "roster_file_unreadable"

const (
	// maxUnzippedSize bounds how far an uploaded workbook may inflate, so
	// that a small zip bomb cannot exhaust memory. A roster of ten thousand
	// households is a few megabytes of XML.
	maxUnzippedSize = 64 << 20
	// maxTextLen is the longest building, unit, room or owner name, in runes.
	maxTextLen = 32
	// maxFloor is the highest floor a household may be on.
	maxFloor = 60
	// headerSearchRows is how many non-empty rows at the top of the sheet
	// are searched for the header row, so that a title such as
	// "和平里3号院业主名册" above the table is tolerated.
	headerSearchRows = 5
)

// ParseRoster reads a household roster from the first sheet of an XLSX
// workbook. The header row is the first non-empty row that names at least
// one known column (any title rows above it, at most a few, are ignored);
// columns are found by header text in any order, see the package's column
// table for the accepted names.
//
// Every problem in the file is reported as a RowError with the spreadsheet
// row number as Excel shows it, the column header as written in the file and
// a Chinese reason, so that a clerk can fix the whole file in one pass. A
// missing required column is reported on the header row; more than maxRows
// non-empty data rows (maxRows <= 0 means no limit) stops reading with a
// "too large" RowError, listed first; the sheet is streamed and reading
// stops there, so the time and memory spent on a file are bounded by
// maxRows whatever its size (see sheet.go). At most maxRowErrors problems
// are listed. The returned rows are those that passed every check;
// callers must reject the whole file when any RowError is returned.
//
// Empty cells inside a merged range take the value of the range's top-left
// cell, because clerks like to merge the 楼栋 and 单元 cells of a block.
//
// The error is non-nil only when r is not a readable XLSX workbook (or cannot
// be read); it is then a *louyuan.Error of kind KindInvalid and code
// CodeUnreadable. ParseRoster reads all of r into memory, so callers should
// limit the upload size.
func ParseRoster(r io.Reader, maxRows int) (rows []roster.ImportRow, rowErrs []roster.RowError, err error) {
	defer func() {
		// The workbook comes from an upload; a reader bug triggered by a
		// malformed file must become a 4xx, not take the server down.
		if p := recover(); p != nil {
			rows, rowErrs, err = nil, nil, unreadable(fmt.Errorf("roster reader panicked: %v", p))
		}
	}()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, unreadable(err)
	}
	// Stop reading once there are surely more data rows than allowed: the
	// header is among the first headerSearchRows non-blank rows, so
	// parseGrid still finds the first row too many and reports it.
	limit := 0
	if maxRows > 0 {
		limit = maxRows + headerSearchRows + 1
	}
	sheet, err := readFirstSheet(data, limit)
	if err != nil {
		return nil, nil, unreadable(err)
	}
	if !sheet.truncated {
		if err := fillMerged(sheet.rows, sheet.merges); err != nil {
			return nil, nil, unreadable(err)
		}
	}
	rows, rowErrs = parseGrid(sheet.rows, maxRows)
	return rows, rowErrs, nil
}

// unreadable is the error for an upload that is not a usable workbook.
func unreadable(err error) error {
	return &louyuan.Error{
		Kind:    louyuan.KindInvalid,
		Code:    CodeUnreadable,
		Message: "无法读取文件，请上传Excel（.xlsx）格式的名册；.xls或WPS文件请先另存为.xlsx",
		Err:     fmt.Errorf("read roster workbook: %w", err),
	}
}

// cell is one spreadsheet cell as ParseRoster sees it.
type cell struct {
	text    string // raw value: the string itself, or a number as stored in the file
	numeric bool   // stored as a number rather than as text
}

// maxMergeWork bounds the cells fillMerged visits: valid merged ranges
// never overlap, so a real roster needs at most its own size.
const maxMergeWork = 4 << 20

// fillMerged fills the empty cells of merged ranges from their top-left
// cell, in the rows that are there (a wholly blank row stays out).
func fillMerged(rows []sheetRow, merges []string) error {
	if len(rows) == 0 {
		return nil
	}
	index := make(map[int]int, len(rows))
	width := 0
	for i, r := range rows {
		index[r.line] = i
		width = max(width, len(r.cells))
	}
	work := 0
	for _, m := range merges {
		first, last, ok := strings.Cut(m, ":")
		if !ok {
			continue
		}
		c1, r1, err1 := excelize.CellNameToCoordinates(first)
		c2, r2, err2 := excelize.CellNameToCoordinates(last)
		if err1 != nil || err2 != nil || c1 > width || c2 < c1 || r2 < r1 {
			continue
		}
		i, ok := index[r1]
		if !ok {
			continue // the top-left cell's row is blank: nothing to copy
		}
		top := cellAt(rows[i].cells, c1-1)
		// Rows are in line order: walk from the top row down the range.
		for ; i < len(rows) && rows[i].line <= r2; i++ {
			for c := c1; c <= min(c2, width); c++ {
				if work++; work > maxMergeWork {
					return errors.New("merged ranges cover more cells than a roster has")
				}
				if cellAt(rows[i].cells, c-1).text != "" {
					continue
				}
				for len(rows[i].cells) < c {
					rows[i].cells = append(rows[i].cells, cell{})
				}
				rows[i].cells[c-1] = top
			}
		}
	}
	return nil
}

// cellAt returns the cell in column j of a row, or an empty cell past its end.
func cellAt(row []cell, j int) cell {
	if j < 0 || j >= len(row) {
		return cell{}
	}
	return row[j]
}

// isBlank reports whether a row has nothing but whitespace in it.
func isBlank(row []cell) bool {
	for _, c := range row {
		if cleanText(c.text) != "" {
			return false
		}
	}
	return true
}

// rosterParser holds what is known about the file while its rows are read.
type rosterParser struct {
	col    [fieldCount]int    // index of each field's column; -1 when absent
	header [fieldCount]string // header as written in the file, or the canonical name
	errs   []roster.RowError
	seen   map[string]int // household key → line where it first appeared
}

// maxRowErrors is how many problems are listed at most; a file with more
// gets a last line saying so.
const maxRowErrors = 1000

// parseGrid finds the header, then reads and checks every data row. rows
// are the sheet's non-blank rows in order.
func parseGrid(grid []sheetRow, maxRows int) ([]roster.ImportRow, []roster.RowError) {
	p := &rosterParser{seen: make(map[string]int)}
	h := findHeader(grid)
	if h < 0 {
		return nil, []roster.RowError{{Row: 1, Column: "", Reason: "表格是空的，请按模板填写房屋名册后再上传"}}
	}
	p.readHeader(grid[h].line, grid[h].cells)
	headerOK := len(p.errs) == 0

	var rows []roster.ImportRow
	var tooLarge []roster.RowError
	count := 0
	for _, r := range grid[h+1:] {
		count++
		if maxRows > 0 && count > maxRows {
			tooLarge = []roster.RowError{{Row: r.line, Reason: fmt.Sprintf("文件太大：房屋数据超过%d行，请拆分成几个文件分批导入", maxRows)}}
			break
		}
		if row, ok := p.readRow(r.line, r.cells); ok && headerOK {
			rows = append(rows, row)
		}
	}
	if count == 0 {
		p.fail(grid[h].line+1, "", "表格中没有房屋数据：请在表头下面逐行填写每户的楼栋、单元、房号等")
	}
	errs := p.errs
	if len(errs) > maxRowErrors {
		more := len(errs) - maxRowErrors
		errs = append(errs[:maxRowErrors:maxRowErrors], roster.RowError{Row: errs[maxRowErrors].Row,
			Reason: fmt.Sprintf("还有%d处问题没有列出：请先改正上面的问题再上传", more)})
	}
	// A file too large is the problem to read first.
	return rows, append(tooLarge, errs...)
}

// findHeader returns the index of the header row, or -1 for an empty sheet.
// It is the first of the top few rows that names a known column; failing
// that, the first row (whose missing columns are then reported).
func findHeader(grid []sheetRow) int {
	for i, row := range grid {
		if i >= headerSearchRows {
			break
		}
		for _, c := range row.cells {
			if _, _, ok := matchHeader(c.text); ok {
				return i
			}
		}
	}
	if len(grid) == 0 {
		return -1
	}
	return 0
}

// readHeader maps the header row's cells to fields and reports missing or
// repeated columns on that row.
func (p *rosterParser) readHeader(line int, row []cell) {
	var rank [fieldCount]int
	for f := range fieldCount {
		p.col[f] = -1
		p.header[f] = columns[f].name
	}
	for j, c := range row {
		f, r, ok := matchHeader(c.text)
		if !ok {
			continue // an extra column such as 备注 or 联系电话
		}
		text := strings.Join(strings.Fields(c.text), " ") // as written, for error reports
		switch {
		case p.col[f] < 0 || r < rank[f]:
			p.col[f], p.header[f], rank[f] = j, text, r
		case r == rank[f]:
			letter, _ := excelize.ColumnNumberToName(p.col[f] + 1)
			p.fail(line, text, fmt.Sprintf("与%s列“%s”重复，请删除其中一列", letter, p.header[f]))
		}
	}
	for f := range fieldCount {
		// A missing 楼层 column is no error: the floor comes from the room number.
		if p.col[f] >= 0 || !columns[f].required || f == fieldFloor {
			continue
		}
		p.fail(line, columns[f].name, fmt.Sprintf("缺少“%s”列（表头可写：%s）",
			columns[f].name, strings.Join(columns[f].aliases, "、")))
	}
}

// fail records a problem.
func (p *rosterParser) fail(line int, column, reason string) {
	p.errs = append(p.errs, roster.RowError{Row: line, Column: column, Reason: reason})
}

// failField records a problem with one field of a row.
func (p *rosterParser) failField(line int, f field, reason string) {
	p.fail(line, p.header[f], reason)
}

// cell returns a row's cell for a field, and whether the file has that column.
func (p *rosterParser) cell(row []cell, f field) (cell, bool) {
	if p.col[f] < 0 {
		return cell{}, false
	}
	return cellAt(row, p.col[f]), true
}

// readRow reads and checks one data row. ok is false when the row had any
// problem (all of which have been recorded).
func (p *rosterParser) readRow(line int, row []cell) (out roster.ImportRow, ok bool) {
	before := len(p.errs)
	out.Line = line
	building, okBuilding := p.readPlace(line, row, fieldBuilding, "号楼")
	unit, okUnit := p.readPlace(line, row, fieldUnit, "单元")
	room, okRoom := p.readPlace(line, row, fieldRoom, "")
	out.Building, out.Unit, out.Room = building, unit, room

	if c, present := p.cell(row, fieldFloor); present {
		out.Floor = p.readFloor(line, c)
	} else if okRoom {
		var derived bool
		if out.Floor, derived = floorFromRoom(room); !derived {
			p.failField(line, fieldFloor, fmt.Sprintf("表格没有“楼层”列，无法从房号“%s”看出楼层，请加一列“楼层”", room))
		}
	}
	if c, present := p.cell(row, fieldArea); present {
		out.Area = p.readArea(line, c)
	}
	out.Owners = p.readOwners(line, row)
	out.SameNamesakes = p.readSamePerson(line, row)

	if okBuilding && okUnit && okRoom {
		key := building + "\x00" + unit + "\x00" + room
		if first, dup := p.seen[key]; dup {
			p.failField(line, fieldRoom, fmt.Sprintf("同一房屋在第%d行已出现（%s %s %s）", first, building, unit, room))
		} else {
			p.seen[key] = line
		}
	}
	return out, len(p.errs) == before
}

// readPlace reads a building, unit or room. A bare number gets suffix
// appended, so that 1 in the 楼栋 column reads "1号楼".
func (p *rosterParser) readPlace(line int, row []cell, f field, suffix string) (string, bool) {
	c, present := p.cell(row, f)
	if !present {
		return "", false
	}
	s := cellText(c)
	if s == "" {
		p.failField(line, f, columns[f].name+"不能为空")
		return "", false
	}
	if suffix != "" && isDigits(s) {
		s += suffix
	}
	if utf8.RuneCountInString(s) > maxTextLen {
		p.failField(line, f, fmt.Sprintf("%s太长，最多%d个字", columns[f].name, maxTextLen))
		return "", false
	}
	return s, true
}

// readFloor reads the 楼层 cell: an integer from 1 to maxFloor, "3" or "3层".
func (p *rosterParser) readFloor(line int, c cell) int {
	s := cellText(c)
	if s == "" {
		p.failField(line, fieldFloor, "楼层不能为空")
		return 0
	}
	n, ok := 0, false
	if c.numeric {
		v, err := strconv.ParseFloat(strings.TrimSpace(c.text), 64)
		if ok = err == nil && v == math.Trunc(v) && v >= 1 && v <= maxFloor; ok {
			n = int(v)
		}
	} else {
		digits := strings.TrimSpace(strings.TrimRight(s, "层楼Ff"))
		if isDigits(digits) && len(digits) <= 2 {
			n, _ = strconv.Atoi(digits)
			ok = n >= 1 && n <= maxFloor
		}
	}
	if !ok {
		p.failField(line, fieldFloor, fmt.Sprintf("楼层必须是1到%d之间的整数（现在是“%s”）", maxFloor, s))
		return 0
	}
	return n
}

// floorFromRoom derives the floor from a room number of three or four digits,
// as Chinese flats are numbered: 301 is on floor 3, 1201 on floor 12. A
// prefix such as "2-" and a suffix such as "室" are ignored.
func floorFromRoom(room string) (int, bool) {
	s := strings.TrimRightFunc(room, func(r rune) bool { return r < '0' || r > '9' })
	start := len(s)
	for start > 0 && s[start-1] >= '0' && s[start-1] <= '9' {
		start--
	}
	digits := s[start:]
	if len(digits) != 3 && len(digits) != 4 {
		return 0, false
	}
	n, _ := strconv.Atoi(digits)
	floor := n / 100
	return floor, floor >= 1 && floor <= maxFloor
}

// readArea reads the 专有面积 cell with louyuan.ParseArea.
func (p *rosterParser) readArea(line int, c cell) louyuan.Area {
	s := areaText(c)
	if s == "" {
		p.failField(line, fieldArea, "面积不能为空")
		return 0
	}
	a, err := louyuan.ParseArea(s)
	if err != nil {
		p.failField(line, fieldArea, fmt.Sprintf("面积必须是大于0的数字，最多两位小数（现在是“%s”）", s))
		return 0
	}
	return a
}

// areaText is the decimal text of an area cell. A text cell is taken as
// typed, less a unit ("85.2㎡", "85.2平方米"). A number cell has passed
// through binary floating point, so 85.2 may be stored as 85.19999999999999,
// 85.200000000000003 or, truncated to 15 digits by some writers,
// 85.1999999999999: a number that close to a whole number of hundredths reads
// as that (here "85.20"), while a real third decimal such as 85.123 or
// 85.19999 is kept and rejected by ParseArea.
func areaText(c cell) string {
	if !c.numeric {
		return trimAreaUnit(cleanText(c.text))
	}
	raw := strings.TrimSpace(c.text)
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return raw
	}
	hundredths := math.Round(v * 100)
	// Float noise is a few units in the 15th significant digit; a decimal
	// anyone typed differs from the nearest hundredth far more.
	if hundredths >= 0 && hundredths < 1e15 && math.Abs(v-hundredths/100) <= 1e-12*math.Max(1, math.Abs(v)) {
		h := int64(hundredths)
		return fmt.Sprintf("%d.%02d", h/100, h%100)
	}
	return excelNumber(raw)
}

// excelNumber formats a stored number as Excel shows it in a General cell:
// at most 15 significant digits, no exponent, no trailing zeros.
func excelNumber(raw string) string {
	raw = strings.TrimSpace(raw)
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return raw
	}
	v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 15, 64), 64)
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// cellText is a cell as text: cleaned, and a number as Excel shows it, so
// that a room stored as the number 301 (or 301.0) reads "301".
func cellText(c cell) string {
	if c.numeric {
		return excelNumber(c.text)
	}
	return cleanText(c.text)
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// splitOwners splits a cell listing co-owners or their ID tails:
// "张三、李四", "张三,李四", "张三；李四", "张三/李四" or "张三 李四".
func splitOwners(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return strings.ContainsRune("、,;/", r) || unicode.IsSpace(r)
	})
}

// readOwners reads the owner names and, when the column is there, the last
// four characters of their ID cards, one per name in the same order.
func (p *rosterParser) readOwners(line int, row []cell) []roster.OwnerRef {
	c, present := p.cell(row, fieldOwner)
	if !present {
		return nil
	}
	names := splitOwners(cellText(c))
	if len(names) == 0 {
		p.failField(line, fieldOwner, "业主姓名不能为空")
		return nil
	}
	owners := make([]roster.OwnerRef, len(names))
	example := false
	for i, name := range names {
		if strings.HasPrefix(name, "示例") && !example {
			p.failField(line, fieldOwner, "这是模板里的示例行，请改成真实数据或删除")
			example = true
		}
		if utf8.RuneCountInString(name) > maxTextLen {
			p.failField(line, fieldOwner, fmt.Sprintf("业主姓名“%s”太长，最多%d个字", name, maxTextLen))
		}
		owners[i].Name = name
	}

	if c, present := p.cell(row, fieldIDTail); present {
		tails := splitOwners(idTailText(c))
		switch {
		case len(tails) == 0:
		case len(tails) != len(names):
			p.failField(line, fieldIDTail, fmt.Sprintf("填了%d个证件后四位，但有%d位业主：要么每位业主各填一个（顺序与姓名一致），要么都不填", len(tails), len(names)))
		default:
			for i, tail := range tails {
				tail = strings.ToUpper(tail)
				if !isIDTail(tail) {
					p.failField(line, fieldIDTail, fmt.Sprintf("证件后四位“%s”不对：应是证件号码的最后4位，数字或X", tail))
				}
				owners[i].IDTail = tail
			}
		}
	}

	seen := make(map[roster.OwnerRef]bool, len(owners))
	for _, o := range owners {
		if seen[o] {
			p.failField(line, fieldOwner, fmt.Sprintf("业主“%s”填了两次", o.Name))
		}
		seen[o] = true
	}
	return owners
}

// idTailText is the text of an ID-tail cell. A tail such as 0012 typed into
// a number cell is stored as 12; its leading zeros are put back.
func idTailText(c cell) string {
	s := cellText(c)
	if c.numeric && isDigits(s) && len(s) < 4 {
		s = strings.Repeat("0", 4-len(s)) + s
	}
	return s
}

// isIDTail reports whether s is four characters of an ID number: digits, or
// an X (upper case) as the check character.
func isIDTail(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != 'X' {
			return false
		}
	}
	return true
}

// readSamePerson reads the 同名是同一人 cell: 是 (or yes, Y, 1, √) marks the
// row; empty, 否 (no, N, 0) does not.
func (p *rosterParser) readSamePerson(line int, row []cell) bool {
	c, present := p.cell(row, fieldSamePerson)
	if !present {
		return false
	}
	switch strings.ToLower(cellText(c)) {
	case "是", "是同一人", "同一人", "yes", "y", "1", "√", "✓", "true":
		return true
	case "", "否", "不是", "no", "n", "0", "×", "false":
		return false
	}
	p.failField(line, fieldSamePerson, fmt.Sprintf("只能填“是”或留空（现在是“%s”）：同一位业主有几套房又没有证件后四位时，在这几行都填“是”", cellText(c)))
	return false
}
