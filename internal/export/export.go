// Package export writes the signature lists and vote results staff download,
// as XLSX and as CSV, streaming so that memory does not grow with the list.
//
// Rows arrive through iterator functions (func(func(Row) error) error) that
// read them from the database one at a time; each row is turned into cells
// and written before the next is read. XLSX sheets go through excelize's
// StreamWriter, which spills to a temporary file past 16 MiB, and the
// finished workbook is zipped straight into the destination writer; CSV rows
// go straight to the destination writer. An error from an iterator is
// returned unchanged. For XLSX nothing reaches w before all rows have been
// read, so a failed export writes nothing; for CSV the rows before the error
// have already been written and the caller must abandon the response.
//
// Every file shows times in China time (UTC+8), areas in m² and amounts in
// yuan with exactly two decimals, computed from the integer hundredths the
// domain keeps, never from floating-point sums.
package export

import (
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// Time layouts: a stamp for when a file was made, and the exact moment of a
// signature or ballot.
const (
	stampLayout  = "2006-01-02 15:04"
	momentLayout = "2006-01-02 15:04:05"
)

// generatedStamp is the "made at" note of a file's title row.
func generatedStamp(at time.Time) string {
	return "生成时间：" + at.In(louyuan.China).Format(stampLayout) + "（北京时间）"
}

// moment formats a row's time in China time, or "" when it is unset.
func moment(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(louyuan.China).Format(momentLayout)
}

// kind says how a value is written: as text, a whole number, or a decimal
// with two places kept as an integer count of hundredths.
type kind uint8

const (
	blank kind = iota
	text
	integer
	hundredths
)

// value is one cell of a row, independent of the file format. The same row
// builders feed the XLSX and the CSV writers, so that both show the same
// columns with the same contents.
type value struct {
	kind kind
	s    string
	n    int64
}

func textValue(s string) value { return value{kind: text, s: s} }
func intValue(n int64) value   { return value{kind: integer, n: n} }
func centsValue(n int64) value { return value{kind: hundredths, n: n} }
func optionalCents(n *int64) value {
	if n == nil {
		return value{}
	}
	return centsValue(*n)
}

// decimal2 formats hundredths with exactly two decimals: 8520 → "85.20",
// 123456 → "1234.56".
func decimal2(n int64) string {
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign, u = "-", uint64(-n)
	}
	frac := strconv.FormatUint(u%100, 10)
	if len(frac) < 2 {
		frac = "0" + frac
	}
	return sign + strconv.FormatUint(u/100, 10) + "." + frac
}

// ratHundredths rounds r to hundredths, halves away from zero (as
// big.Rat.FloatString does), for showing a fractional headcount such as
// 151/2 as 75.50.
func ratHundredths(r *big.Rat) int64 {
	if r == nil {
		return 0
	}
	x := new(big.Rat).Mul(r, big.NewRat(100, 1))
	num, den := new(big.Int).Abs(x.Num()), x.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Lsh(m, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if x.Sign() < 0 {
		q.Neg(q)
	}
	return q.Int64()
}

// ratText is a headcount as an exact fraction ("151/2", or "75" when whole).
func ratText(r *big.Rat) string {
	if r == nil {
		return "0"
	}
	return r.RatString()
}

// csvText makes a text cell of a CSV file safe. Control characters and
// bidirectional overrides are removed (louyuan.StripUnsafe), whatever got
// past input checks before they existed, so that no name in the file reads
// differently from what is stored. Then the cell is guarded against formula
// injection: Excel and WPS run a cell that starts with = + - or @ (or a tab
// or carriage return before one) as a formula, and names, room numbers and
// labels come from residents and rosters. Such cells get a leading
// apostrophe, which the spreadsheet shows and does not execute. XLSX cells
// are typed strings and need no formula guard.
//
// A cell that Excel and WPS would take for a number or a date — a room
// number such as 0301 (the leading zero lost), 3/2 (read as 2 March), a
// long digit string (turned into 1.38E+10) — is written as ="0301": the
// spreadsheet evaluates the formula to the text itself and keeps it as
// text. Only cells that start with a digit and hold nothing but digits,
// spaces and . , - / : + e E % get this form, so the formula is never
// more than a quoted literal made of those characters. (A leading tab,
// the other common trick, stays in the cell's value and turns the cell
// into one the formula guard must escape.)
//
// A cell starting with an apostrophe gets one more, so that removing the
// guard's apostrophe always gives back the stored text.
func csvText(s string) string {
	s = louyuan.StripUnsafe(s)
	if s == "" {
		return s
	}
	if numberLike(s) {
		return `="` + s + `"`
	}
	return formulaGuard(s)
}

// formulaGuard puts an apostrophe before text that a spreadsheet would run
// as a formula (or that starts with an apostrophe).
func formulaGuard(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r'", rune(s[0])) {
		return "'" + s
	}
	return s
}

// numberLike reports whether a spreadsheet would read s as a number, a
// date or a time: it starts with a digit and holds only digits, spaces and
// . , - / : + e E %.
func numberLike(s string) bool {
	if s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && !strings.ContainsRune(" .,-/:+eE%", rune(c)) {
			return false
		}
	}
	return true
}

// csvString is how a value reads in a CSV file.
func (v value) csvString() string {
	switch v.kind {
	case text:
		return csvText(v.s)
	case integer:
		return strconv.FormatInt(v.n, 10)
	case hundredths:
		return decimal2(v.n)
	}
	return ""
}

// column is a table column: its header and its width in characters.
type column struct {
	header string
	width  float64
}

// headers lists the headers of columns.
func headers(cols []column) []string {
	h := make([]string, len(cols))
	for i, c := range cols {
		h[i] = c.header
	}
	return h
}
