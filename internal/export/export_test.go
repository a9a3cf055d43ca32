package export

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"math/big"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/louyuan/louyuan/internal/petition"
	"github.com/louyuan/louyuan/internal/voting"
)

// households is an iterator over rows held by the test.
func households(rows ...petition.HouseholdRow) func(func(petition.HouseholdRow) error) error {
	return func(fn func(petition.HouseholdRow) error) error {
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// results is an iterator over result rows held by the test.
func results(rows ...voting.ResultRow) func(func(voting.ResultRow) error) error {
	return func(fn func(voting.ResultRow) error) error {
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
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

// sheetRows reads a sheet's rows as formatted text.
func sheetRows(t *testing.T, f *excelize.File, sheet string) [][]string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatalf("rows of %s: %v", sheet, err)
	}
	return rows
}

// zipEntries returns every file of a written workbook.
func zipEntries(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[zf.Name] = string(data)
	}
	return out
}

// readCSV checks the BOM and the CRLF line endings of a CSV file and parses
// it into the texts a spreadsheet shows: ="0301" reads as 0301 (see
// TestCSVKeepsNumberLikeTextAsText for the raw form).
func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	s, ok := strings.CutPrefix(string(b), "\xEF\xBB\xBF")
	if !ok {
		t.Fatalf("CSV does not start with a UTF-8 BOM: %q", b[:min(len(b), 8)])
	}
	if n, crlf := strings.Count(s, "\n"), strings.Count(s, "\r\n"); n == 0 || n != crlf {
		t.Errorf("CSV has %d line feeds, %d of them after a carriage return", n, crlf)
	}
	r := csv.NewReader(strings.NewReader(s))
	records, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v", err)
	}
	for _, rec := range records {
		for i, f := range rec {
			if in, ok := strings.CutPrefix(f, `="`); ok && strings.HasSuffix(in, `"`) {
				rec[i] = strings.TrimSuffix(in, `"`)
			}
		}
	}
	return records
}

func TestDecimal2(t *testing.T) {
	for n, want := range map[int64]string{0: "0.00", 5: "0.05", 8520: "85.20", 123456: "1234.56", -7: "-0.07", -12345: "-123.45"} {
		if got := decimal2(n); got != want {
			t.Errorf("decimal2(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRatHundredths(t *testing.T) {
	for _, c := range []struct {
		r    *big.Rat
		want int64
	}{
		{big.NewRat(3, 2), 150}, {big.NewRat(1, 3), 33}, {big.NewRat(2, 3), 67}, {big.NewRat(1, 200), 1},
		{big.NewRat(1, 201), 0}, {big.NewRat(151, 2), 7550}, {big.NewRat(-1, 200), -1}, {nil, 0},
	} {
		if got := ratHundredths(c.r); got != c.want {
			t.Errorf("ratHundredths(%v) = %d, want %d", c.r, got, c.want)
		}
		if c.r != nil {
			if fs := c.r.FloatString(2); fs != decimal2(c.want) {
				t.Errorf("ratHundredths(%v) = %s, FloatString(2) = %s", c.r, decimal2(c.want), fs)
			}
		}
	}
}

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{
		"张三": "张三", "=1+1": "'=1+1", "+8613800138000": "'+8613800138000", "-3": "'-3", "@SUM(A1)": "'@SUM(A1)",
		"\t=1": "'\t=1", "138****5678": "138****5678", "": "", "a=b": "a=b",
		// Number-like text stays text; an apostrophe is doubled so the guard can be undone.
		"0301": `="0301"`, "3/2": `="3/2"`, "2026-05-01 14:03:05": `="2026-05-01 14:03:05"`, "13812345678": `="13812345678"`,
		"1号楼": "1号楼", "'x": "''x", "3-1\"+cmd": `3-1"+cmd`,
		// Invisible characters are removed first, so they cannot hide a formula.
		"张\x00三": "张三", "\u202E三张": "三张", "\u202E=1+1": "'=1+1", "\x00=cmd": "'=cmd", "王\u2066五\u2069": "王五", "\x1b@x": "'@x",
	} {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q, want %q", in, got, want)
		}
	}
}
