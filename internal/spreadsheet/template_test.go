package spreadsheet

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/louyuan/louyuan/internal/roster"
)

func TestRosterTemplateParsesBack(t *testing.T) {
	var buf bytes.Buffer
	if err := RosterTemplate(&buf); err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, buf.Bytes())
	if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{templateSheet, templateNotesSheet}) {
		t.Errorf("sheets = %q", got)
	}
	rows, err := f.GetRows(templateSheet)
	if err != nil {
		t.Fatal(err)
	}
	var header []string
	for _, c := range columns {
		header = append(header, c.name)
	}
	if len(rows) != 3 || !reflect.DeepEqual(rows[0], header) {
		t.Fatalf("template rows = %q, want header %q and two examples", rows, header)
	}

	parsed, errs, err := ParseRoster(bytes.NewReader(buf.Bytes()), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Fatalf("template has errors: %+v", errs)
	}
	want := []roster.ImportRow{
		{Line: 2, Building: "1号楼", Unit: "1单元", Room: "101", Floor: 1, Area: 8520, Owners: owners("张三", "123X")},
		{Line: 3, Building: "1号楼", Unit: "1单元", Room: "102", Floor: 1, Area: 9235, Owners: owners("李四", "0456", "王五", "7890")},
	}
	if !reflect.DeepEqual(parsed, want) {
		t.Errorf("template parses to %+v, want %+v", parsed, want)
	}
}
