package spreadsheet

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/testenv"
)

const fuzzMaxRows = 50

// FuzzParseRoster feeds the roster importer two kinds of input: any bytes
// as the upload, and any text as the rows of a well-formed workbook (so
// that the fuzzer reaches the sheet reader and the row rules instead of
// stopping at the zip checksum). No panic (the importer's recover would
// hide one: its message is checked), at most the row limit, every row
// complete and clean, every problem a row error with a Chinese reason.
func FuzzParseRoster(f *testing.F) {
	text := func(s string) string { return `<c t="inlineStr"><is><t>` + s + `</t></is></c>` }
	header := "<row>" + text("楼栋") + text("单元") + text("房号") + text("楼层") + text("专有面积") + text("业主姓名") + "</row>"
	good := header + `<row>` + text("1号楼") + text("1单元") + text("101") + `<c><v>1</v></c><c><v>85.2</v></c>` + text("王春芬") + `</row>`
	f.Add([]byte("PK\x03\x04"), good)
	f.Add([]byte{}, header+`<row r="3"><c r="C3" t="s"><v>7</v></c><c r="E3"><v>1e308</v></c></row>`)
	f.Add([]byte("not a workbook"), header+`<row><c r="XFD1048576"><v>1</v></c></row>`)
	f.Add([]byte{}, header+`<row>`+text("1号楼")+text("")+text("０１")+`<c><v>-3</v></c><c t="str"><v>12.345</v></c>`+text("甲、乙,丙")+`</row>`)
	if b, err := testenv.RefLessRosterXLSX(3); err == nil {
		f.Add(b, "")
	}
	f.Fuzz(func(t *testing.T, raw []byte, rowsXML string) {
		fuzzCheckRoster(t, raw)
		book, err := testenv.RawXLSX(func(w io.Writer) error { _, err := io.WriteString(w, rowsXML); return err })
		if err != nil {
			t.Fatal(err)
		}
		fuzzCheckRoster(t, book)
	})
}

func fuzzCheckRoster(t *testing.T, data []byte) {
	t.Helper()
	rows, rowErrs, err := ParseRoster(bytes.NewReader(data), fuzzMaxRows)
	if err != nil {
		var e *louyuan.Error
		if !louyuan.AsError(err, &e) || e.Kind != louyuan.KindInvalid || e.Code != CodeUnreadable {
			t.Fatalf("unreadable file: not the coded error: %#v", err)
		}
		if strings.Contains(err.Error(), "panicked") {
			t.Fatalf("the reader panicked: %v", err)
		}
		if rows != nil || rowErrs != nil {
			t.Fatalf("an error with rows")
		}
		return
	}
	if len(rows) > fuzzMaxRows {
		t.Fatalf("%d rows, limit %d", len(rows), fuzzMaxRows)
	}
	for _, re := range rowErrs {
		if re.Row < 1 || !fuzzHasHan(re.Reason) {
			t.Fatalf("row error %+v: no row or no Chinese reason", re)
		}
	}
	if len(rowErrs) > 0 {
		return
	}
	for _, r := range rows {
		if r.Building == "" || r.Room == "" || r.Area <= 0 || len(r.Owners) == 0 || r.Line < 1 {
			t.Fatalf("incomplete row accepted: %+v", r)
		}
		for _, s := range []string{r.Building, r.Unit, r.Room} {
			if err := louyuan.CheckText("cell", s, false); err != nil || s != strings.TrimSpace(s) {
				t.Fatalf("row %d keeps unsafe text %q: %v", r.Line, s, err)
			}
		}
		for _, o := range r.Owners {
			if o.Name == "" || louyuan.CheckText("业主姓名", o.Name, false) != nil {
				t.Fatalf("row %d: owner %q", r.Line, o.Name)
			}
		}
	}
}

func fuzzHasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
