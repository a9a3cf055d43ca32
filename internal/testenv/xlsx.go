package testenv

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
)

// RefLessRosterXLSX builds, without excelize, a roster workbook of a header
// and n household rows whose <row> and <c> elements carry no r= references
// (legal OOXML: positions follow from order), as some exporters write them.
// Rows are written straight into the deflate stream, so 300,000 rows (about
// 55 MB of sheet XML) make a zip of a few hundred KB without building the XML
// in memory: the file of issue #10 §6 that took the parser minutes and
// gigabytes.
func RefLessRosterXLSX(n int) ([]byte, error) {
	text := func(s string) string { return `<c t="inlineStr"><is><t>` + s + `</t></is></c>` }
	header := "<row>" + text("楼栋") + text("单元") + text("房号") + text("楼层") + text("专有面积") + text("业主姓名") + "</row>"
	// The rows repeat with a period of 30, as a copy-pasted block would: the
	// sheet compresses several hundred times.
	var block [30][]byte
	for i := range block {
		block[i] = fmt.Appendf(nil, `<row>%s%s%s<c><v>%d</v></c><c><v>85.2</v></c>%s</row>`,
			text("1号楼"), text("1单元"), text(fmt.Sprint(101+100*i)), 1+i, text("业主张某某"))
	}
	return RawXLSX(func(w io.Writer) error {
		if _, err := io.WriteString(w, header); err != nil {
			return err
		}
		for i := range n {
			if _, err := w.Write(block[i%len(block)]); err != nil {
				return err
			}
		}
		return nil
	})
}

// RawXLSX builds a one-sheet workbook whose <sheetData> content rows writes
// as raw XML (inline strings, no shared-string table), for files excelize
// would not write.
func RawXLSX(rows func(w io.Writer) error) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`},
	}
	for _, p := range parts {
		w, err := zw.Create(p.name)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, p.body); err != nil {
			return nil, err
		}
	}
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`); err != nil {
		return nil, err
	}
	if err := rows(w); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, `</sheetData></worksheet>`); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
