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
	// Uploaded unchanged, the template's example rows are refused (and
	// nothing else in it is wrong), so they can never become households.
	wantErrs := []roster.RowError{
		{Row: 2, Column: "业主姓名", Reason: "这是模板里的示例行，请改成真实数据或删除"},
		{Row: 3, Column: "业主姓名", Reason: "这是模板里的示例行，请改成真实数据或删除"},
	}
	if !reflect.DeepEqual(errs, wantErrs) || len(parsed) != 0 {
		t.Fatalf("template parses to %+v with errors %+v, want only %+v", parsed, errs, wantErrs)
	}
}
