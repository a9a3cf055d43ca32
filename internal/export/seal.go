package export

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"hash"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// SealSheet is the name of the sheet that says what an XLSX export is and
// carries its digest.
const SealSheet = "校验信息"

// csvSealMark starts each footer line of a CSV export.
const csvSealMark = "#校验信息"

// Seal is what an export says about itself, so that a printed or
// forwarded file can be matched to the server's record (the export's audit
// entry holds the same digest). The caller fills what the file is; the
// export fills the row counts and the digest.
type Seal struct {
	What    string    // 签名名单, 表决结果, …
	Subject string    // "联名 #3 1号楼加装电梯", "表决 #5 …"
	Scope   string    // the petition's or motion's scope
	At      time.Time // when the file was made
	Tables  []SealTable
	Digest  string // SHA-256 (hex) of the data rows in canonical form
}

// SealTable is one table of an export and its number of data rows.
type SealTable struct {
	Name string
	Rows int
}

// Rows is the number of data rows in all tables.
func (s *Seal) Rows() int {
	n := 0
	for _, t := range s.Tables {
		n += t.Rows
	}
	return n
}

// digester hashes data rows in the canonical form (see README, "Exports
// that can be checked"): each cell as its text — text as stored (invisible
// characters removed), whole numbers in decimal, areas and amounts with
// exactly two decimals, empty cells empty — with \ → \\, TAB → \t,
// LF → \n and CR → \r; the cells of a row joined by TAB and ended by LF;
// the rows of every table in file order.
type digester struct {
	h    hash.Hash
	buf  []byte
	seal *Seal
}

func newDigester(s *Seal, tables ...string) *digester {
	if s == nil {
		return nil
	}
	s.Tables = s.Tables[:0]
	for _, t := range tables {
		s.Tables = append(s.Tables, SealTable{Name: t})
	}
	return &digester{h: sha256.New(), seal: s}
}

// row adds one data row of table i.
func (d *digester) row(i int, cells []value) {
	if d == nil {
		return
	}
	d.buf = d.buf[:0]
	for j, v := range cells {
		if j > 0 {
			d.buf = append(d.buf, '\t')
		}
		d.buf = appendCanonical(d.buf, canonicalText(v))
	}
	d.buf = append(d.buf, '\n')
	d.h.Write(d.buf)
	d.seal.Tables[i].Rows++
}

func (d *digester) finish() {
	if d != nil {
		d.seal.Digest = hex.EncodeToString(d.h.Sum(nil))
	}
}

// canonicalText is a cell's text as the digest reads it.
func canonicalText(v value) string {
	switch v.kind {
	case text:
		return louyuan.StripUnsafe(v.s)
	case integer:
		return strconv.FormatInt(v.n, 10)
	case hundredths:
		return decimal2(v.n)
	}
	return ""
}

func appendCanonical(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, c)
		}
	}
	return b
}

// sealFacts are the lines of a seal: key and value.
func (s *Seal) facts() [][2]string {
	out := [][2]string{
		{"文件", s.What}, {"对象", s.Subject}, {"范围", s.Scope},
		{"生成时间", s.At.In(louyuan.China).Format(momentLayout) + "（北京时间）"},
	}
	for _, t := range s.Tables {
		key := "数据行数"
		if t.Name != "" {
			key += "（" + t.Name + "）"
		}
		out = append(out, [2]string{key, strconv.Itoa(t.Rows)})
	}
	out = append(out,
		[2]string{"摘要算法", "SHA-256，按行规范文本（单元格以制表符分隔、每行以换行结束，面积和金额保留两位小数），依文件中的顺序"},
		[2]string{"摘要", s.Digest},
		[2]string{"核对", "与服务器审计日志中本次导出的摘要相同即为原件；任何一处改动都会使摘要不同"})
	return out
}

// writeSealSheet adds the seal's sheet to an XLSX workbook.
func writeSealSheet(f *excelize.File, st styles, s *Seal) error {
	if s == nil {
		return nil
	}
	if _, err := f.NewSheet(SealSheet); err != nil {
		return err
	}
	if err := f.SetColWidth(SealSheet, "A", "A", 22); err != nil {
		return err
	}
	if err := f.SetColWidth(SealSheet, "B", "B", 80); err != nil {
		return err
	}
	for i, fc := range s.facts() {
		for j, v := range fc {
			cell := cellName(j+1, i+1)
			if err := f.SetCellStr(SealSheet, cell, louyuan.StripUnsafe(v)); err != nil {
				return err
			}
			style := st.text
			if j == 0 {
				style = st.key
			}
			if err := f.SetCellStyle(SealSheet, cell, cell, style); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeCSVSeal ends a CSV export with an empty line and the seal's lines,
// each starting with "#校验信息".
func writeCSVSeal(w io.Writer, s *Seal) error {
	if s == nil {
		return nil
	}
	if _, err := io.WriteString(w, "\r\n"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	for _, fc := range s.facts() {
		if err := cw.Write([]string{csvSealMark, formulaGuard(louyuan.StripUnsafe(fc[0])), formulaGuard(louyuan.StripUnsafe(fc[1]))}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// SealDetail is what an export's audit entry records of its seal.
func (s *Seal) SealDetail() map[string]any {
	return map[string]any{"digest": s.Digest, "digest_rows": s.Rows(), "generated_at": s.At.UTC().Format(time.RFC3339)}
}
