package export

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/petition"
)

func pledge(fen int64) *int64 { return &fen }

var (
	testPetition = petition.Petition{ID: 7, Title: "铝厂小区加装电梯"}

	signedRows = []petition.HouseholdRow{
		{HouseholdID: 1, Building: "1号楼", Unit: "2单元", Room: "0301", Floor: 3, Area: 8520, Representative: "张三",
			Phone: "138****5678", Signed: true, SignerName: "张三", SignedAt: time.Date(2026, 5, 1, 6, 3, 5, 0, time.UTC),
			Channel: petition.ChannelSelf, PledgeFen: pledge(123456)},
		// Signed on paper at 00:30 on 1 May in China, still 30 April in UTC;
		// no pledge; a name that would be a formula in a CSV cell.
		{HouseholdID: 2, Building: "1号楼", Unit: "2单元", Room: "302", Floor: 3, Area: 10000, Representative: "=HYPERLINK(\"http://x\")",
			Phone: "139****0001", Signed: true, SignerName: "李四", SignedAt: time.Date(2026, 4, 30, 16, 30, 0, 0, time.UTC),
			Channel: petition.ChannelPaper},
	}
	notSignedRows = []petition.HouseholdRow{
		{HouseholdID: 3, Building: "2号楼", Unit: "1单元", Room: "101", Floor: 1, Area: 6005, Representative: "王五", Phone: "137****4321"},
		{HouseholdID: 4, Building: "2号楼", Unit: "1单元", Room: "102", Floor: 1, Area: 7000},
	}

	signedHeader    = []string{"楼栋", "单元", "房号", "楼层", "面积（㎡）", "户代表", "手机号", "签名人", "签名时间", "方式", "认缴金额（元）"}
	notSignedHeader = []string{"楼栋", "单元", "房号", "楼层", "面积（㎡）", "户代表", "手机号", "备注"}
)

func TestSignaturesXLSX(t *testing.T) {
	var buf bytes.Buffer
	before := time.Now()
	if err := SignaturesXLSX(&buf, testPetition, bothLists(households(signedRows...), households(notSignedRows...))); err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, buf.Bytes())
	if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{"已签名", "未签名"}) {
		t.Fatalf("sheets = %q", got)
	}

	rows := sheetRows(t, f, "已签名")
	if len(rows) != 2+len(signedRows) {
		t.Fatalf("已签名 has %d rows, want %d: %q", len(rows), 2+len(signedRows), rows)
	}
	if rows[0][0] != "铝厂小区加装电梯签名名单" {
		t.Errorf("title = %q", rows[0][0])
	}
	checkStamp(t, rows[0], before)
	if !reflect.DeepEqual(rows[1], signedHeader) {
		t.Errorf("header = %q", rows[1])
	}
	want := [][]string{
		{"1号楼", "2单元", "0301", "3", "85.20", "张三", "138****5678", "张三", "2026-05-01 14:03:05", "小程序", "1234.56"},
		{"1号楼", "2单元", "302", "3", "100.00", "=HYPERLINK(\"http://x\")", "139****0001", "李四", "2026-05-01 00:30:00", "纸质"},
	}
	if !reflect.DeepEqual(rows[2:], want) {
		t.Errorf("signed rows:\n got %q\nwant %q", rows[2:], want)
	}
	// Areas and pledges are numbers holding the exact decimal; the text is
	// the "0.00" format.
	for cell, raw := range map[string]string{"E3": "85.2", "K3": "1234.56", "E4": "100", "D3": "3"} {
		got, err := f.GetCellValue("已签名", cell, excelize.Options{RawCellValue: true})
		if err != nil || got != raw {
			t.Errorf("raw %s = %q, %v; want %q", cell, got, err, raw)
		}
	}
	if typ, _ := f.GetCellType("已签名", "C3"); typ != excelize.CellTypeInlineString {
		t.Errorf("room cell type = %v, want an inline string", typ)
	}
	if formula, _ := f.GetCellFormula("已签名", "F4"); formula != "" {
		t.Errorf("a name became formula %q", formula)
	}
	if v, _ := f.GetCellValue("已签名", "K4"); v != "" {
		t.Errorf("pledge without a pledge = %q", v)
	}

	rows = sheetRows(t, f, "未签名")
	if len(rows) != 2+len(notSignedRows) {
		t.Fatalf("未签名 has %d rows: %q", len(rows), rows)
	}
	if rows[0][0] != "铝厂小区加装电梯未签名住户" {
		t.Errorf("title = %q", rows[0][0])
	}
	checkStamp(t, rows[0], before)
	if !reflect.DeepEqual(rows[1], notSignedHeader) {
		t.Errorf("header = %q", rows[1])
	}
	want = [][]string{
		{"2号楼", "1单元", "101", "1", "60.05", "王五", "137****4321"},
		{"2号楼", "1单元", "102", "1", "70.00"},
	}
	if !reflect.DeepEqual(rows[2:], want) {
		t.Errorf("not-signed rows:\n got %q\nwant %q", rows[2:], want)
	}

	for _, sheet := range []string{"已签名", "未签名"} {
		panes, err := f.GetPanes(sheet)
		if err != nil || !panes.Freeze || panes.YSplit != 2 || panes.TopLeftCell != "A3" {
			t.Errorf("%s panes = %+v, %v; want the two header rows frozen", sheet, panes, err)
		}
	}
	for _, c := range []struct {
		sheet, col string
		width      float64
	}{{"已签名", "A", 10}, {"已签名", "I", 19}, {"已签名", "K", 14}, {"未签名", "H", 40}} {
		if w, err := f.GetColWidth(c.sheet, c.col); err != nil || w != c.width {
			t.Errorf("%s width of %s = %v, %v; want %v", c.sheet, c.col, w, err, c.width)
		}
	}
	checkColsAscending(t, buf.Bytes())
}

// checkStamp checks the "made at" note of a title row: China time, within
// the test's run.
func checkStamp(t *testing.T, title []string, before time.Time) {
	t.Helper()
	stamp := title[len(title)-1]
	m := regexp.MustCompile(`^生成时间：(\d{4}-\d\d-\d\d \d\d:\d\d)（北京时间）$`).FindStringSubmatch(stamp)
	if m == nil {
		t.Fatalf("stamp = %q", stamp)
	}
	at, err := time.ParseInLocation(stampLayout, m[1], time.FixedZone("UTC+8", 8*3600))
	if err != nil {
		t.Fatal(err)
	}
	if at.Before(before.Truncate(time.Minute)) || at.After(time.Now()) {
		t.Errorf("stamp %s is not the time the file was made (%s, China time)", m[1], before.In(louyuan.China).Format(stampLayout))
	}
}

// checkColsAscending checks that every sheet's <col> elements are in
// ascending order, which Excel requires.
func checkColsAscending(t *testing.T, b []byte) {
	t.Helper()
	colMin := regexp.MustCompile(`<col min="(\d+)"`)
	for name, data := range zipEntries(t, b) {
		if !strings.HasPrefix(name, "xl/worksheets/") {
			continue
		}
		prev := 0
		for _, m := range colMin.FindAllStringSubmatch(data, -1) {
			n := 0
			for _, d := range m[1] {
				n = n*10 + int(d-'0')
			}
			if n <= prev {
				t.Errorf("%s: <col min=%d> after <col min=%d>", name, n, prev)
			}
			prev = n
		}
		if prev == 0 {
			t.Errorf("%s has no column widths", name)
		}
	}
}

func TestSignaturesCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := SignaturesCSV(&buf, households(signedRows...), true); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		signedHeader,
		{"1号楼", "2单元", "0301", "3", "85.20", "张三", "138****5678", "张三", "2026-05-01 14:03:05", "小程序", "1234.56"},
		{"1号楼", "2单元", "302", "3", "100.00", "'=HYPERLINK(\"http://x\")", "139****0001", "李四", "2026-05-01 00:30:00", "纸质", ""},
	}
	if got := readCSV(t, buf.Bytes()); !reflect.DeepEqual(got, want) {
		t.Errorf("signed CSV:\n got %q\nwant %q", got, want)
	}

	buf.Reset()
	if err := SignaturesCSV(&buf, households(notSignedRows...), false); err != nil {
		t.Fatal(err)
	}
	want = [][]string{
		notSignedHeader,
		{"2号楼", "1单元", "101", "1", "60.05", "王五", "137****4321", ""},
		{"2号楼", "1单元", "102", "1", "70.00", "", "", ""},
	}
	if got := readCSV(t, buf.Bytes()); !reflect.DeepEqual(got, want) {
		t.Errorf("not-signed CSV:\n got %q\nwant %q", got, want)
	}

	buf.Reset()
	if err := SignaturesCSV(&buf, households(), true); err != nil {
		t.Fatal(err)
	}
	if got := readCSV(t, buf.Bytes()); !reflect.DeepEqual(got, [][]string{signedHeader}) {
		t.Errorf("empty list = %q", got)
	}
}

// failAfter yields n rows and then fails with err.
func failAfter(n int, err error) func(func(petition.HouseholdRow) error) error {
	return func(fn func(petition.HouseholdRow) error) error {
		for i := range n {
			if e := fn(petition.HouseholdRow{Building: "1号楼", Room: string(rune('1' + i)), Area: 5000}); e != nil {
				return e
			}
		}
		return err
	}
}

func TestSignaturesIteratorError(t *testing.T) {
	boom := louyuan.Internalf(errors.New("connection reset"), "read signature list")
	var buf bytes.Buffer
	err := SignaturesXLSX(&buf, testPetition, bothLists(failAfter(2, boom), households(notSignedRows...)))
	if !errors.Is(err, boom) {
		t.Errorf("signed iterator error: got %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("a failed workbook wrote %d bytes", buf.Len())
	}
	err = SignaturesXLSX(&buf, testPetition, bothLists(households(signedRows...), failAfter(1, boom)))
	if !errors.Is(err, boom) {
		t.Errorf("not-signed iterator error: got %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("a failed workbook wrote %d bytes", buf.Len())
	}
	if err := SignaturesCSV(&buf, failAfter(3, boom), true); !errors.Is(err, boom) {
		t.Errorf("CSV iterator error: got %v", err)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

var errDisk = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDisk }

func TestSignaturesWriteError(t *testing.T) {
	if err := SignaturesXLSX(failingWriter{}, testPetition, bothLists(households(signedRows...), households(notSignedRows...))); !errors.Is(err, errDisk) {
		t.Errorf("XLSX to a failing writer: %v", err)
	}
	if err := SignaturesCSV(failingWriter{}, households(signedRows...), true); !errors.Is(err, errDisk) {
		t.Errorf("CSV to a failing writer: %v", err)
	}
}

// bothLists is the one-pass iterator over a signed and a not-signed list,
// each row marked as the list it comes from.
func bothLists(signed, notSigned func(func(petition.HouseholdRow) error) error) func(func(petition.HouseholdRow) error) error {
	return func(fn func(petition.HouseholdRow) error) error {
		for _, list := range []struct {
			rows   func(func(petition.HouseholdRow) error) error
			signed bool
		}{{signed, true}, {notSigned, false}} {
			if err := list.rows(func(r petition.HouseholdRow) error { r.Signed = list.signed; return fn(r) }); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestExportsCarryNoInvisibleCharacters feeds names with NUL, control
// characters and bidirectional overrides (stored before input was checked)
// to both writers: neither file may carry them.
func TestExportsCarryNoInvisibleCharacters(t *testing.T) {
	evil := petition.HouseholdRow{HouseholdID: 9, Building: "1号楼\u202E", Unit: "2单元", Room: "\x00301", Floor: 3, Area: 8520,
		Representative: "\u202E=1+1三张", Phone: "138****5678", Signed: true, SignerName: "张\u2066三\u2069\x07",
		SignedAt: time.Date(2026, 5, 1, 6, 3, 5, 0, time.UTC), Channel: petition.ChannelSelf}
	var buf bytes.Buffer
	if err := SignaturesCSV(&buf, households(evil), true); err != nil {
		t.Fatal(err)
	}
	got := readCSV(t, buf.Bytes())
	if want := []string{"1号楼", "2单元", "301", "3", "85.20", "'=1+1三张", "138****5678", "张三", "2026-05-01 14:03:05", "小程序", ""}; !reflect.DeepEqual(got[1], want) {
		t.Errorf("CSV row = %q, want %q", got[1], want)
	}
	buf.Reset()
	if err := SignaturesXLSX(&buf, petition.Petition{ID: 7, Title: "加装\u202E电梯\x00"}, households(evil)); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		for _, bad := range []string{"\u202E", "\u2066", "\u2069", "\x00", "\x07", "&#x0;", "&#x7;", "_x0007_", "_x0000_"} {
			if strings.Contains(string(data), bad) {
				t.Errorf("%s carries %q", f.Name, bad)
			}
		}
	}
}
