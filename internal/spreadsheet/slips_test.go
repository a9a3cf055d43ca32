package spreadsheet

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/louyuan/louyuan/internal/roster"
)

// zipEntry returns one file of a written workbook.
func zipEntry(t *testing.T, b []byte, name string) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// openXLSX reopens a written workbook.
func openXLSX(t *testing.T, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestWriteInviteSlips(t *testing.T) {
	slips := []roster.InviteSlip{
		{Courtyard: "和平里3号院", Building: "1号楼", Unit: "2单元", Room: "301", Role: roster.RoleOwner, Code: "K7QM-2XPA", ExpiresAt: "2026-12-31"},
		{Courtyard: "和平里3号院", Building: "1号楼", Unit: "2单元", Room: "0302", Role: roster.RoleFamily, Code: "00012345", ExpiresAt: "2026-12-31"},
		{Courtyard: "和平里3号院", Building: "2号楼", Unit: "1单元", Room: "101", Role: roster.RoleTenant, Code: "ZZ99-AB12", ExpiresAt: "2027-01-15"},
	}
	var buf bytes.Buffer
	if err := WriteInviteSlips(&buf, "和平里3号院", slips); err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, buf.Bytes())

	if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{"邀请码"}) {
		t.Fatalf("sheets = %q", got)
	}
	rows, err := f.GetRows("邀请码")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"和平里3号院住户绑定邀请码"},
		{"楼栋", "单元", "房号", "身份", "邀请码", "有效期至", "使用说明"},
		{"1号楼", "2单元", "301", "业主", "K7QM-2XPA", "2026-12-31", slipInstructions},
		{"1号楼", "2单元", "0302", "家庭成员", "00012345", "2026-12-31", slipInstructions},
		{"2号楼", "1单元", "101", "租户", "ZZ99-AB12", "2027-01-15", slipInstructions},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows:\n got %q\nwant %q", rows, want)
	}
	if !strings.Contains(slipInstructions, "微信搜索小程序“楼院”") || !strings.Contains(slipInstructions, "只能使用一次") {
		t.Errorf("instructions = %q", slipInstructions)
	}

	// The code is large and bold.
	styleID, err := f.GetCellStyle("邀请码", "E3")
	if err != nil {
		t.Fatal(err)
	}
	style, err := f.GetStyle(styleID)
	if err != nil {
		t.Fatal(err)
	}
	if style.Font == nil || !style.Font.Bold || style.Font.Size < 16 {
		t.Errorf("code font = %+v, want large and bold", style.Font)
	}

	// The title spans the table.
	merges, err := f.GetMergeCells("邀请码")
	if err != nil {
		t.Fatal(err)
	}
	if len(merges) != 1 || merges[0].GetStartAxis() != "A1" || merges[0].GetEndAxis() != "G1" {
		t.Errorf("merged cells = %+v, want A1:G1", merges)
	}

	// The column widths were set.
	if w, err := f.GetColWidth("邀请码", "E"); err != nil || w != 20 {
		t.Errorf("code column width = %v, %v; want 20", w, err)
	}
	// Excel reports a damaged file when <col> elements are out of order.
	sheetXML := zipEntry(t, buf.Bytes(), "xl/worksheets/sheet1.xml")
	var mins []int
	for _, m := range regexp.MustCompile(`<col min="(\d+)"`).FindAllStringSubmatch(sheetXML, -1) {
		n, _ := strconv.Atoi(m[1])
		mins = append(mins, n)
	}
	if len(mins) != len(slipColumns) || !slices.IsSorted(mins) {
		t.Errorf("<col> elements start at columns %v, want %d in ascending order", mins, len(slipColumns))
	}

	// It prints on A4, one page wide, repeating the title and header.
	layout, err := f.GetPageLayout("邀请码")
	if err != nil {
		t.Fatal(err)
	}
	if layout.Size == nil || *layout.Size != 9 || layout.FitToWidth == nil || *layout.FitToWidth != 1 {
		t.Errorf("page layout = %+v, want A4 fitted to one page wide", layout)
	}
	props, err := f.GetSheetProps("邀请码")
	if err != nil {
		t.Fatal(err)
	}
	if props.FitToPage == nil || !*props.FitToPage {
		t.Errorf("FitToPage = %v, want true", props.FitToPage)
	}
	names := map[string]string{}
	for _, dn := range f.GetDefinedName() {
		names[dn.Name] = dn.RefersTo
	}
	if got := names["_xlnm.Print_Area"]; got != "'邀请码'!$A$1:$G$5" {
		t.Errorf("print area = %q", got)
	}
	if got := names["_xlnm.Print_Titles"]; got != "'邀请码'!$1:$2" {
		t.Errorf("print titles = %q", got)
	}
}

func TestWriteInviteSlipsManyAndNone(t *testing.T) {
	for _, n := range []int{0, 3000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			slips := make([]roster.InviteSlip, n)
			for i := range slips {
				slips[i] = roster.InviteSlip{
					Building: fmt.Sprintf("%d号楼", i/100+1), Unit: "1单元", Room: fmt.Sprint(101 + i%100),
					Role: roster.RoleOwner, Code: fmt.Sprintf("CODE%05d", i), ExpiresAt: "2026-12-31",
				}
			}
			var buf bytes.Buffer
			if err := WriteInviteSlips(&buf, "大院", slips); err != nil {
				t.Fatal(err)
			}
			f := openXLSX(t, buf.Bytes())
			rows, err := f.GetRows("邀请码")
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != n+2 {
				t.Fatalf("got %d rows, want %d", len(rows), n+2)
			}
			for i, s := range slips {
				if got := rows[i+2][4]; got != s.Code {
					t.Fatalf("row %d code = %q, want %q", i+3, got, s.Code)
				}
			}
			if rows[0][0] != "大院住户绑定邀请码" {
				t.Errorf("title = %q", rows[0][0])
			}
		})
	}
}
