package spreadsheet

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// The roster's first sheet is read by a streaming reader of the workbook's
// XML rather than by excelize's GetRows and GetCellType: those load the whole
// sheet into memory and, for a sheet whose rows and cells carry no r=
// references (legal OOXML, written by some exporters), spend time
// quadratic in the rows; a 216 KB upload of 300,000 such rows took minutes
// and gigabytes. Here every row costs the same, rows are counted as they are
// read, and reading stops as soon as the file is too large for a roster.

const (
	// maxSharedStrings bounds the unzipped shared-string table: a roster
	// of twenty thousand households has well under a megabyte of text.
	maxSharedStrings = 16 << 20
	// maxPartSize bounds the other small parts (workbook, relationships).
	maxPartSize = 1 << 20
	// maxColumns is how many columns of a row are kept; cells further
	// right are read past (a roster has eight columns).
	maxColumns = 256
)

// errUnzippedTooLarge is returned when a part inflates past its bound.
var errUnzippedTooLarge = errors.New("part inflates past its size limit")

// sheetRow is one non-blank row of the sheet: its 1-based row number and its
// cells, cells[j] being column j+1.
type sheetRow struct {
	line  int
	cells []cell
}

// sheetData is the part of a sheet ParseRoster reads: its non-blank rows in
// order and its merged ranges.
type sheetData struct {
	rows   []sheetRow
	merges []string // "A3:A5"
	// truncated is set when reading stopped at maxNonBlank non-blank rows;
	// the rows read so far are kept, merges are not read.
	truncated bool
}

// readFirstSheet opens an XLSX workbook held in data and reads its first
// sheet, stopping after maxNonBlank non-blank rows (<= 0: no limit).
func readFirstSheet(data []byte, maxNonBlank int) (sheetData, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return sheetData{}, fmt.Errorf("open zip: %w", err)
	}
	parts := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		parts[strings.TrimPrefix(f.Name, "/")] = f
	}
	sheetPath, stringsPath, err := firstSheetPath(parts)
	if err != nil {
		return sheetData{}, err
	}
	var sst []string
	if f, ok := parts[stringsPath]; ok {
		if sst, err = readSharedStrings(f); err != nil {
			return sheetData{}, fmt.Errorf("read shared strings: %w", err)
		}
	}
	f, ok := parts[sheetPath]
	if !ok {
		return sheetData{}, fmt.Errorf("workbook names sheet %s, which is not in the file", sheetPath)
	}
	return readSheet(f, sst, maxNonBlank)
}

// limitedPart opens a zip part that may inflate to at most limit bytes.
func limitedPart(f *zip.File, limit int64) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	return &limitedReader{rc: rc, left: limit}, nil
}

// limitedReader fails with errUnzippedTooLarge past its limit, where
// io.LimitReader would end quietly and leave truncated XML.
type limitedReader struct {
	rc   io.ReadCloser
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errUnzippedTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedReader) Close() error { return l.rc.Close() }

// readPart reads a small part whole.
func readPart(f *zip.File) ([]byte, error) {
	rc, err := limitedPart(f, maxPartSize)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// firstSheetPath finds the first sheet's part and the shared-string table's
// part through xl/workbook.xml and its relationships.
func firstSheetPath(parts map[string]*zip.File) (sheet, sharedStrings string, err error) {
	wb, ok := parts["xl/workbook.xml"]
	if !ok {
		return "", "", errors.New("no xl/workbook.xml: not an XLSX workbook")
	}
	data, err := readPart(wb)
	if err != nil {
		return "", "", fmt.Errorf("read workbook: %w", err)
	}
	var workbook struct {
		Sheets []struct {
			Name string     `xml:"name,attr"`
			Attr []xml.Attr `xml:",any,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := xml.Unmarshal(data, &workbook); err != nil {
		return "", "", fmt.Errorf("parse workbook: %w", err)
	}
	if len(workbook.Sheets) == 0 {
		return "", "", errors.New("workbook has no sheets")
	}
	relID := ""
	for _, a := range workbook.Sheets[0].Attr {
		if a.Name.Local == "id" {
			relID = a.Value
		}
	}
	targets := map[string]string{}
	sharedStrings = "xl/sharedStrings.xml"
	if rels, ok := parts["xl/_rels/workbook.xml.rels"]; ok {
		data, err := readPart(rels)
		if err != nil {
			return "", "", fmt.Errorf("read workbook relationships: %w", err)
		}
		var r struct {
			Rels []struct {
				ID     string `xml:"Id,attr"`
				Type   string `xml:"Type,attr"`
				Target string `xml:"Target,attr"`
			} `xml:"Relationship"`
		}
		if err := xml.Unmarshal(data, &r); err != nil {
			return "", "", fmt.Errorf("parse workbook relationships: %w", err)
		}
		for _, rel := range r.Rels {
			target := rel.Target
			if strings.HasPrefix(target, "/") {
				target = strings.TrimPrefix(target, "/")
			} else {
				target = path.Join("xl", target)
			}
			targets[rel.ID] = target
			if strings.HasSuffix(rel.Type, "/sharedStrings") {
				sharedStrings = target
			}
		}
	}
	sheet, ok = targets[relID]
	if !ok {
		sheet = "xl/worksheets/sheet1.xml"
	}
	return sheet, sharedStrings, nil
}

// readSharedStrings reads the shared-string table: each <si> is the text of
// its <t> elements (plain, or the runs of rich text), phonetic guides left out.
func readSharedStrings(f *zip.File) ([]string, error) {
	rc, err := limitedPart(f, maxSharedStrings)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	var out []string
	var b strings.Builder
	inT, inPhonetic := false, 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				b.Reset()
			case "t":
				inT = true
			case "rPh":
				inPhonetic++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				out = append(out, decodeXString(b.String()))
			case "t":
				inT = false
			case "rPh":
				inPhonetic--
			}
		case xml.CharData:
			if inT && inPhonetic == 0 {
				b.Write(t)
			}
		}
	}
}

// readSheet streams a worksheet part: rows and cells are placed by their r=
// references or, without them, by their order; blank rows are not kept;
// merged ranges are collected from <mergeCell>. A sheet of more rows than
// Excel allows is refused; the part's inflated size is bounded by
// maxUnzippedSize.
func readSheet(f *zip.File, sst []string, maxNonBlank int) (sheetData, error) {
	rc, err := limitedPart(f, maxUnzippedSize)
	if err != nil {
		return sheetData{}, err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	var (
		out        sheetData
		line       int // current row number
		nonBlank   int
		row        []cell
		col        int // current cell's column, 1-based
		cellType   string
		value      strings.Builder
		inValue    bool // inside <v>, or <t> of an inline string
		inInline   bool // inside <is>
		inPhonetic int
		inRow      bool
	)
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return sheetData{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				next := line + 1
				if r, ok := attr(t, "r"); ok {
					if n, err := strconv.Atoi(r); err == nil && n > line {
						next = n
					}
				}
				if next > excelize.TotalRows {
					return sheetData{}, fmt.Errorf("row %d is past the last row a sheet may have", next)
				}
				line, row, col, inRow = next, nil, 0, true
			case "c":
				if !inRow {
					continue
				}
				col++
				if r, ok := attr(t, "r"); ok {
					if c, _, err := excelize.CellNameToCoordinates(r); err == nil && c >= col {
						col = c
					}
				}
				cellType, _ = attr(t, "t")
				value.Reset()
			case "v":
				inValue = true
			case "is":
				inInline = true
			case "t":
				inValue = inInline
			case "rPh":
				inPhonetic++
			case "mergeCell":
				if ref, ok := attr(t, "ref"); ok {
					out.merges = append(out.merges, ref)
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v", "t":
				inValue = false
			case "is":
				inInline = false
			case "rPh":
				inPhonetic--
			case "c":
				if !inRow || col > maxColumns {
					continue
				}
				c, ok := cellValue(cellType, value.String(), sst)
				if !ok {
					continue
				}
				for len(row) < col-1 {
					row = append(row, cell{})
				}
				row = append(row, c)
			case "row":
				inRow = false
				if isBlank(row) {
					continue
				}
				out.rows = append(out.rows, sheetRow{line: line, cells: row})
				if nonBlank++; maxNonBlank > 0 && nonBlank >= maxNonBlank {
					out.truncated = true
					return out, nil
				}
			}
		case xml.CharData:
			if inValue && inPhonetic == 0 {
				value.Write(t)
			}
		}
	}
}

// cellValue is a cell as ParseRoster sees it, from its type attribute and
// the text of its <v> (or inline string); ok is false for an empty cell.
func cellValue(typ, v string, sst []string) (cell, bool) {
	switch typ {
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 || i >= len(sst) {
			return cell{}, false
		}
		v = sst[i]
	case "inlineStr", "str":
		v = decodeXString(v)
	case "b":
		if strings.TrimSpace(v) == "1" {
			v = "TRUE"
		} else if v != "" {
			v = "FALSE"
		}
	case "", "n":
		// A cell without a type attribute holds a number.
		_, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return cell{text: v, numeric: err == nil}, v != ""
	}
	return cell{text: v}, v != ""
}

// attr returns the value of an element's attribute by local name.
func attr(e xml.StartElement, name string) (string, bool) {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// decodeXString undoes the escape OOXML uses for characters XML cannot
// carry: _xHHHH_ is the character U+HHHH (Excel writes a control character
// typed or pasted into a cell that way) and _x005F_ a literal underscore.
// The characters come back so that cleanText can drop them like any other.
func decodeXString(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(n))
				i += 7
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
