package spreadsheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/roster"
)

// rawNumber is a number cell written to the file exactly as given, the way
// Excel stores the result of a sum: 85.2 may be stored as "85.200000000000003".
type rawNumber string

// buildXLSX makes a one-sheet workbook; rows[i] is spreadsheet row i+1. A nil
// value leaves the cell empty, a string is a text cell, a rawNumber is stored
// verbatim as a number and anything else goes through SetCellValue (so Go
// numbers become number cells).
func buildXLSX(t *testing.T, rows ...[]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		for j, v := range row {
			if v == nil {
				continue
			}
			axis, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				t.Fatal(err)
			}
			switch v := v.(type) {
			case rawNumber:
				err = f.SetCellDefault("Sheet1", axis, string(v))
			case string:
				err = f.SetCellStr("Sheet1", axis, v)
			default:
				err = f.SetCellValue("Sheet1", axis, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// parse runs ParseRoster with a generous row limit and fails on a read error.
func parse(t *testing.T, file []byte) ([]roster.ImportRow, []roster.RowError) {
	t.Helper()
	rows, errs, err := ParseRoster(bytes.NewReader(file), 1000)
	if err != nil {
		t.Fatalf("ParseRoster: %v", err)
	}
	return rows, errs
}

// owners builds an owner list from name, tail pairs.
func owners(nameTail ...string) []roster.OwnerRef {
	var out []roster.OwnerRef
	for i := 0; i < len(nameTail); i += 2 {
		out = append(out, roster.OwnerRef{Name: nameTail[i], IDTail: nameTail[i+1]})
	}
	return out
}

// sumOf adds at run time, so that the float artefact really happens.
func sumOf(a, b float64) float64 { return a + b }

var canonicalHeader = []any{"楼栋", "单元", "房号", "楼层", "专有面积", "业主姓名", "证件后四位"}

func TestParseRosterGoodFile(t *testing.T) {
	artefact := sumOf(85.1, 0.1)
	if fmt.Sprint(artefact) == "85.2" {
		t.Fatalf("85.1+0.1 = %v; the test needs a float artefact", artefact)
	}
	file := buildXLSX(t,
		canonicalHeader,
		[]any{"1号楼", "2单元", "301", "3", "85.20", "张三", "123x"},
		[]any{1, 2, 302, 3, artefact, "李四、王五", "0456、7890"},
		[]any{"1号楼", "2单元", 1201.0, 12, rawNumber("85.200000000000003"), " 赵六 , 钱七 ", nil},
		[]any{" 3号楼 ", "１单元", "０１０１", "1层", "120.5㎡", "孙八/周九；吴十", "1234/5678;0012"},
		[]any{"2号楼", "1单元", "601室", rawNumber("6.0"), 99.99, "冯二", 12},
		[]any{"2号楼", "1单元", "602", 6, "100", "陈三\n褚四", "111X 2222"},
	)
	rows, errs := parse(t, file)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %+v", errs)
	}
	want := []roster.ImportRow{
		{Line: 2, Building: "1号楼", Unit: "2单元", Room: "301", Floor: 3, Area: 8520, Owners: owners("张三", "123X")},
		{Line: 3, Building: "1号楼", Unit: "2单元", Room: "302", Floor: 3, Area: 8520, Owners: owners("李四", "0456", "王五", "7890")},
		{Line: 4, Building: "1号楼", Unit: "2单元", Room: "1201", Floor: 12, Area: 8520, Owners: owners("赵六", "", "钱七", "")},
		{Line: 5, Building: "3号楼", Unit: "1单元", Room: "0101", Floor: 1, Area: 12050, Owners: owners("孙八", "1234", "周九", "5678", "吴十", "0012")},
		{Line: 6, Building: "2号楼", Unit: "1单元", Room: "601室", Floor: 6, Area: 9999, Owners: owners("冯二", "0012")},
		{Line: 7, Building: "2号楼", Unit: "1单元", Room: "602", Floor: 6, Area: 10000, Owners: owners("陈三", "111X", "褚四", "2222")},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", rows, want)
	}
}

func TestParseRosterMissingFloorColumn(t *testing.T) {
	file := buildXLSX(t,
		[]any{"楼栋", "单元", "房号", "专有面积", "业主姓名"},
		[]any{"1号楼", "1单元", 301, 85.5, "张三"},
		[]any{"1号楼", "1单元", "1201", 90, "李四"},
		[]any{"1号楼", "2单元", "2-502室", 90, "王五"},
	)
	rows, errs := parse(t, file)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %+v", errs)
	}
	var floors []int
	for _, r := range rows {
		floors = append(floors, r.Floor)
	}
	if want := []int{3, 12, 5}; !reflect.DeepEqual(floors, want) {
		t.Errorf("floors = %v, want %v", floors, want)
	}

	// A room number that says nothing about the floor is reported.
	_, errs = parse(t, buildXLSX(t,
		[]any{"楼栋", "单元", "房号", "专有面积", "业主姓名"},
		[]any{"1号楼", "1单元", "A1", 85.5, "张三"},
	))
	if len(errs) != 1 || errs[0].Row != 2 || errs[0].Column != "楼层" || !strings.Contains(errs[0].Reason, "楼层") {
		t.Errorf("errors = %+v, want one about the floor on row 2", errs)
	}
}

// wantError is an expected RowError; Reason need only be part of the reason.
type wantError struct {
	row    int
	column string
	reason string
}

// checkErrors compares RowErrors with expectations, in order.
func checkErrors(t *testing.T, got []roster.RowError, want []wantError) {
	t.Helper()
	n := max(len(got), len(want))
	for i := range n {
		switch {
		case i >= len(got):
			t.Errorf("missing error %d: %+v", i, want[i])
		case i >= len(want):
			t.Errorf("unexpected error %d: %+v", i, got[i])
		case got[i].Row != want[i].row || got[i].Column != want[i].column || !strings.Contains(got[i].Reason, want[i].reason):
			t.Errorf("error %d = %+v, want row %d column %q reason containing %q", i, got[i], want[i].row, want[i].column, want[i].reason)
		}
	}
}

func TestParseRosterReportsEveryProblem(t *testing.T) {
	longName := strings.Repeat("名", 33)
	file := buildXLSX(t,
		[]any{"楼栋", "单元", "房号", "楼层", "面积(㎡)", "业主", "身份证后四位"},
		[]any{"1号楼", "1单元", "101", 1, 80, "甲", nil},
		[]any{"1号楼", "1单元", "102", 1, "abc", "乙", nil},
		[]any{"1号楼", "1单元", "103", 1, 85.123, "丙", nil},
		[]any{"1号楼", "1单元", "104", 1, 0, "丁", nil},
		[]any{"1号楼", "1单元", "105", 0, 80, "戊", nil},
		[]any{"1号楼", "1单元", "106", "abc", 80, "己", nil},
		[]any{"1号楼", "1单元", "107", 1, 80, nil, nil},
		[]any{"1号楼", "1单元", 101, 1, 80, "庚", nil},
		[]any{"1号楼", "1单元", "108", 1, 80, "辛、壬", "1234"},
		[]any{nil, "1单元", "109", 61, -5, "癸", "12345"},
		[]any{"1号楼", "1单元", "110", 1, 80, longName, nil},
		[]any{"1号楼", "1单元", "111", 1, "85.19999999999999", "子", "12A4"},
		[]any{"1号楼", "1单元", "112", 2.5, "100000", "丑、丑", nil},
		[]any{"1号楼", "1单元", nil, nil, nil, "寅", nil},
	)
	rows, errs := parse(t, file)
	checkErrors(t, errs, []wantError{
		{3, "面积(㎡)", "面积必须是大于0的数字，最多两位小数（现在是“abc”）"},
		{4, "面积(㎡)", "面积必须是大于0的数字，最多两位小数（现在是“85.123”）"},
		{5, "面积(㎡)", "面积必须是大于0的数字"},
		{6, "楼层", "楼层必须是1到60之间的整数"},
		{7, "楼层", "楼层必须是1到60之间的整数（现在是“abc”）"},
		{8, "业主", "业主姓名不能为空"},
		{9, "房号", "同一房屋在第2行已出现（1号楼 1单元 101）"},
		{10, "身份证后四位", "填了1个证件后四位，但有2位业主"},
		{11, "楼栋", "楼栋不能为空"},
		{11, "楼层", "楼层必须是1到60之间的整数"},
		{11, "面积(㎡)", "面积必须是大于0的数字"},
		{11, "身份证后四位", "证件后四位“12345”不对"},
		{12, "业主", "业主姓名“" + longName + "”太长"},
		{13, "面积(㎡)", "最多两位小数"}, // a text cell is taken as typed: no rounding
		{13, "身份证后四位", "证件后四位“12A4”不对"},
		{14, "楼层", "楼层必须是1到60之间的整数（现在是“2.5”）"},
		{14, "面积(㎡)", "面积必须是大于0的数字"},
		{14, "业主", "业主“丑”填了两次"},
		{15, "房号", "房号不能为空"},
		{15, "楼层", "楼层不能为空"},
		{15, "面积(㎡)", "面积不能为空"},
	})
	if len(rows) != 1 || rows[0].Line != 2 {
		t.Errorf("rows = %+v, want only the good row 2", rows)
	}
}

func TestParseRosterMissingColumns(t *testing.T) {
	tests := []struct {
		name   string
		header []any
		want   []wantError
	}{
		{"no building", []any{"单元", "房号", "楼层", "专有面积", "业主姓名"},
			[]wantError{{1, "楼栋", "缺少“楼栋”列"}}},
		{"no unit", []any{"楼栋", "房号", "楼层", "专有面积", "业主姓名"},
			[]wantError{{1, "单元", "缺少“单元”列"}}},
		{"no room", []any{"楼栋", "单元", "楼层", "专有面积", "业主姓名"},
			[]wantError{{1, "房号", "缺少“房号”列"}}},
		{"no area", []any{"楼栋", "单元", "房号", "楼层", "业主姓名"},
			[]wantError{{1, "专有面积", "缺少“专有面积”列"}}},
		{"no owner", []any{"楼栋", "单元", "房号", "楼层", "专有面积"},
			[]wantError{{1, "业主姓名", "缺少“业主姓名”列"}}},
		{"several", []any{"楼栋", "备注", "楼层", "专有面积"},
			[]wantError{{1, "单元", "缺少“单元”列"}, {1, "房号", "缺少“房号”列"}, {1, "业主姓名", "缺少“业主姓名”列"}}},
		{"same header twice", []any{"楼栋", "单元", "房号", "楼层", "专有面积", "业主姓名", " 楼栋 "},
			[]wantError{{1, "楼栋", "与A列“楼栋”重复"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := make([]any, len(tt.header))
			for i := range row {
				row[i] = "1"
			}
			rows, errs := parse(t, buildXLSX(t, tt.header, row))
			checkErrors(t, errs, tt.want)
			if len(rows) != 0 {
				t.Errorf("rows = %+v, want none from a file with a bad header", rows)
			}
		})
	}
}

func TestParseRosterHeaderAliasesAndOrder(t *testing.T) {
	want := roster.ImportRow{Line: 2, Building: "5号楼", Unit: "3单元", Room: "402", Floor: 4, Area: 7788, Owners: owners("张三", "9876")}
	tests := []struct {
		name   string
		header []any
		row    []any
	}{
		{"canonical", canonicalHeader,
			[]any{"5号楼", "3单元", "402", 4, 77.88, "张三", "9876"}},
		{"aliases reordered", []any{"房间号", "楼号", "单元号", "产权人", "建筑面积（平方米）", "楼层", "业主证件后四位"},
			[]any{"402", "5", "3", "张三", "77.88", "4", "9876"}},
		{"aliases with spaces and brackets", []any{" 门牌号 ", "楼栋号", "单元 ", "业主", "专有部分面积(㎡)", "楼层（层）", "身份证后四位"},
			[]any{"402", "5号楼", "3单元", "张三", 77.88, 4, "9876"}},
		{"required stars and remarks", []any{"楼栋*", "单元*", "房号*", "楼层*", "面积 （m²）", "业主姓名（多人用顿号隔开）", "证件后四位【选填】", "联系电话"},
			[]any{"5号楼", "3单元", "402", 4, 77.88, "张三", "9876", "13800000000"}},
		{"full-width brackets in header", []any{"楼栋（幢）", "单元", "房号", "楼层", "专有面积（㎡）", "业主姓名", "证件后四位"},
			[]any{"5号楼", "3单元", "402", 4, 77.88, "张三", "9876"}},
		{"exclusive area beats building area", []any{"楼栋", "单元", "房号", "楼层", "建筑面积", "专有面积", "业主姓名", "证件后四位"},
			[]any{"5号楼", "3单元", "402", 4, 99.5, 77.88, "张三", "9876"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, errs := parse(t, buildXLSX(t, tt.header, tt.row))
			if len(errs) > 0 {
				t.Fatalf("unexpected errors: %+v", errs)
			}
			if len(rows) != 1 || !reflect.DeepEqual(rows[0], want) {
				t.Errorf("rows = %+v, want [%+v]", rows, want)
			}
		})
	}
}

func TestParseRosterErrorNamesHeaderAsWritten(t *testing.T) {
	_, errs := parse(t, buildXLSX(t,
		[]any{"楼号", "单元号", "门牌号", "楼层", "建筑面积（平方米）", "产权人"},
		[]any{"1", "1", "101", 1, "八十", "张三"},
	))
	checkErrors(t, errs, []wantError{{2, "建筑面积（平方米）", "面积必须是大于0的数字"}})
}

func TestParseRosterSkipsEmptyRows(t *testing.T) {
	file := buildXLSX(t,
		nil,
		[]any{"  ", nil},
		canonicalHeader,
		[]any{"1号楼", "1单元", "101", 1, 80, "张三", nil},
		nil,
		[]any{nil, " ", "", "\u3000", nil, nil, nil},
		[]any{"1号楼", "1单元", "102", 1, 80, "李四", nil},
		nil,
	)
	rows, errs := parse(t, file)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %+v", errs)
	}
	if len(rows) != 2 || rows[0].Line != 4 || rows[1].Line != 7 {
		t.Errorf("rows = %+v, want lines 4 and 7", rows)
	}
}

func TestParseRosterTitleRowAndMergedCells(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	data := [][]any{
		{"和平里3号院业主名册"},
		{"楼栋", "单元", "房号", "楼层", "专有面积", "业主姓名"},
		{"1号楼", "1单元", "101", 1, 80, "张三"},
		{nil, nil, "102", 1, 81, "李四"},
		{nil, "2单元", "201", 2, 82, "王五"},
	}
	for i, row := range data {
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &row); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range [][2]string{{"A1", "F1"}, {"A3", "A5"}, {"B3", "B4"}} {
		if err := f.MergeCell("Sheet1", r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	rows, errs := parse(t, buf.Bytes())
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %+v", errs)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%d %s %s %s", r.Line, r.Building, r.Unit, r.Room))
	}
	want := []string{"3 1号楼 1单元 101", "4 1号楼 1单元 102", "5 1号楼 2单元 201"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
}

func TestParseRosterEmptyFiles(t *testing.T) {
	tests := []struct {
		name string
		file []byte
		want []wantError
	}{
		{"no cells", buildXLSX(t), []wantError{{1, "", "表格是空的"}}},
		{"header only", buildXLSX(t, canonicalHeader), []wantError{{2, "", "没有房屋数据"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, errs := parse(t, tt.file)
			checkErrors(t, errs, tt.want)
			if len(rows) != 0 {
				t.Errorf("rows = %+v", rows)
			}
		})
	}
}

func TestParseRosterTooManyRows(t *testing.T) {
	lines := [][]any{canonicalHeader}
	for i := range 4 {
		lines = append(lines, []any{"1号楼", "1单元", fmt.Sprint(101 + i), 1, 80, "张三", nil}, nil)
	}
	file := buildXLSX(t, lines...)
	tests := []struct {
		maxRows int
		want    []wantError
	}{
		{3, []wantError{{8, "", "文件太大：房屋数据超过3行"}}},
		{4, nil},
		{0, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.maxRows), func(t *testing.T) {
			rows, errs, err := ParseRoster(bytes.NewReader(file), tt.maxRows)
			if err != nil {
				t.Fatal(err)
			}
			checkErrors(t, errs, tt.want)
			if tt.want == nil && len(rows) != 4 {
				t.Errorf("got %d rows, want 4", len(rows))
			}
		})
	}
}

func TestParseRosterUnreadable(t *testing.T) {
	var notWorkbook bytes.Buffer
	zw := zip.NewWriter(&notWorkbook)
	w, _ := zw.Create("hello.txt")
	_, _ = w.Write([]byte("not a workbook"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	good := buildXLSX(t, canonicalHeader)
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"csv", []byte("楼栋,单元,房号\n1号楼,1单元,101\n")},
		{"zip without a workbook", notWorkbook.Bytes()},
		{"truncated xlsx", good[:len(good)/2]},
		{"old xls (OLE) header", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, errs, err := ParseRoster(bytes.NewReader(tt.in), 100)
			if err == nil {
				t.Fatalf("ParseRoster = %v, %v, nil; want an error", rows, errs)
			}
			var le *louyuan.Error
			if !errors.As(err, &le) || le.Kind != louyuan.KindInvalid || le.Code != CodeUnreadable {
				t.Errorf("error = %#v, want a louyuan.Error of kind invalid and code %s", err, CodeUnreadable)
			}
		})
	}
}

func TestAreaText(t *testing.T) {
	tests := []struct {
		in   cell
		want string
	}{
		{cell{text: "85.2", numeric: true}, "85.20"},
		{cell{text: "85.19999999999999", numeric: true}, "85.20"},
		{cell{text: "85.200000000000003", numeric: true}, "85.20"},
		{cell{text: "85.1999999999999", numeric: true}, "85.20"},
		{cell{text: "120.04999999999998", numeric: true}, "120.05"},
		{cell{text: "99999.9899999999", numeric: true}, "99999.99"},
		{cell{text: "0.01", numeric: true}, "0.01"},
		{cell{text: "0", numeric: true}, "0.00"},
		{cell{text: "1.2E2", numeric: true}, "120.00"},
		{cell{text: "85.123", numeric: true}, "85.123"},
		{cell{text: "85.19999", numeric: true}, "85.19999"},
		{cell{text: "85.2000001", numeric: true}, "85.2000001"},
		{cell{text: "-5", numeric: true}, "-5"},
		{cell{text: "85.19999999999999"}, "85.19999999999999"},
		{cell{text: " 85.2 ㎡"}, "85.2"},
		{cell{text: "85.2平方米"}, "85.2"},
		{cell{text: "８５．２"}, "85.2"},
	}
	for _, tt := range tests {
		if got := areaText(tt.in); got != tt.want {
			t.Errorf("areaText(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFloorFromRoom(t *testing.T) {
	tests := []struct {
		room  string
		floor int
		ok    bool
	}{
		{"301", 3, true}, {"1201", 12, true}, {"0101", 1, true}, {"2-502", 5, true}, {"601室", 6, true},
		{"A1", 0, false}, {"12", 0, false}, {"12345", 0, false}, {"6101", 61, false}, {"001", 0, false},
	}
	for _, tt := range tests {
		floor, ok := floorFromRoom(tt.room)
		if ok != tt.ok || (ok && floor != tt.floor) {
			t.Errorf("floorFromRoom(%q) = %d, %v; want %d, %v", tt.room, floor, ok, tt.floor, tt.ok)
		}
	}
}

func TestParseRosterSamePersonColumn(t *testing.T) {
	header := []any{"楼栋", "单元", "房号", "楼层", "面积", "业主姓名", "同名是同一人"}
	rows, errs := parse(t, buildXLSX(t, header,
		[]any{"1号楼", "1单元", "101", 1, 80, "王春芬", "是"},
		[]any{"1号楼", "1单元", "102", 1, 80, "李四", nil},
		[]any{"2号楼", "1单元", "101", 1, 80, "王春芬", " 是 "},
		[]any{"2号楼", "1单元", "102", 1, 80, "赵六", "否"},
	))
	if len(errs) != 0 {
		t.Fatalf("errors: %+v", errs)
	}
	var marks []bool
	for _, r := range rows {
		marks = append(marks, r.SameNamesakes)
	}
	if want := []bool{true, false, true, false}; !reflect.DeepEqual(marks, want) {
		t.Errorf("marks = %v, want %v", marks, want)
	}

	_, errs = parse(t, buildXLSX(t, []any{"楼栋", "单元", "房号", "楼层", "面积", "业主姓名", "同一人"},
		[]any{"1号楼", "1单元", "101", 1, 80, "王春芬", "可能"}))
	checkErrors(t, errs, []wantError{{2, "同一人", "只能填“是”或留空（现在是“可能”）"}})
}
