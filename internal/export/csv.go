package export

import (
	"encoding/csv"
	"io"
)

// bom is the UTF-8 byte order mark. Excel on Windows reads a CSV file
// without it in the system's ANSI code page (GBK on Chinese Windows) and
// shows the Chinese as mojibake; WPS honours it too.
const bom = "\xEF\xBB\xBF"

// csvFlushEvery is how many rows a CSV writer buffers at most before it
// flushes to the destination and checks for a write error.
const csvFlushEvery = 256

// writeCSV writes a BOM, the header and the rows fill produces to w, with
// CRLF line endings, each row as it arrives.
func writeCSV(w io.Writer, header []string, fill func(emit rowSink) error) error {
	return writeSealedCSV(w, header, fill, nil)
}

// writeSealedCSV is writeCSV that, with a seal, digests the rows and ends
// the file with the seal's lines.
func writeSealedCSV(w io.Writer, header []string, fill func(emit rowSink) error, seal *Seal) error {
	d := newDigester(seal, "")
	if _, err := io.WriteString(w, bom); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(header); err != nil {
		return err
	}
	record := make([]string, len(header))
	n := 0
	err := fill(func(cells []value) error {
		d.row(0, cells)
		for i, v := range cells {
			record[i] = v.csvString()
		}
		if err := cw.Write(record[:len(cells)]); err != nil {
			return err
		}
		if n++; n%csvFlushEvery == 0 {
			cw.Flush()
			return cw.Error()
		}
		return nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	d.finish()
	return writeCSVSeal(w, seal)
}
