// Package spreadsheet is the excelize adapter for the XLSX files street-office
// clerks exchange with Louyuan: the household roster they upload
// (ParseRoster), the blank roster template they download (RosterTemplate) and
// the invite slips they print and hand out door to door (WriteInviteSlips).
// It turns cells into roster types and roster types into cells; what a
// roster means is decided in package roster.
package spreadsheet

import (
	"strings"
	"unicode"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// field is one column of a roster spreadsheet, in template order.
type field int

const (
	fieldBuilding field = iota
	fieldUnit
	fieldRoom
	fieldFloor
	fieldArea
	fieldOwner
	fieldIDTail
	fieldSamePerson
	fieldCount
)

// column describes how a field is headed in a roster spreadsheet.
type column struct {
	name     string   // canonical header: used in the template and when the column is missing
	aliases  []string // accepted headers after normalizeHeader, most specific first
	required bool
}

// columns lists the roster fields. When a file has two columns for the same
// field under different aliases (say both 专有面积 and 建筑面积, which real
// rosters often carry side by side), the alias listed first wins: votes are
// weighted by exclusive area, so 专有面积 must beat 建筑面积.
var columns = [fieldCount]column{
	fieldBuilding: {name: "楼栋", aliases: []string{"楼栋", "楼栋号", "楼号"}, required: true},
	fieldUnit:     {name: "单元", aliases: []string{"单元", "单元号"}, required: true},
	fieldRoom:     {name: "房号", aliases: []string{"房号", "房间号", "门牌号"}, required: true},
	fieldFloor:    {name: "楼层", aliases: []string{"楼层"}, required: true},
	fieldArea:     {name: "专有面积", aliases: []string{"专有面积", "专有部分面积", "面积", "建筑面积"}, required: true},
	fieldOwner:    {name: "业主姓名", aliases: []string{"业主姓名", "业主", "产权人"}, required: true},
	fieldIDTail:   {name: "证件后四位", aliases: []string{"证件后四位", "身份证后四位", "业主证件后四位"}},
	// 是 on every row of an owner without ID digits who owns several units:
	// without it two rows with the same name and no digits are refused,
	// because they may be two people (roster.CountHeads).
	fieldSamePerson: {name: "同名是同一人", aliases: []string{"同名是同一人", "同名同一人", "同一人"}},
}

// matchHeader reports which field a header cell names and how good the match
// is (the alias's position in its list, 0 best).
func matchHeader(text string) (field, int, bool) {
	key := normalizeHeader(text)
	if key == "" {
		return 0, 0, false
	}
	for f := range fieldCount {
		for rank, alias := range columns[f].aliases {
			if key == alias {
				return f, rank, true
			}
		}
	}
	return 0, 0, false
}

// normalizeHeader reduces a header cell to the form the aliases are written
// in: half-width, without spaces, without bracketed remarks such as
// "(㎡)" or "（必填）", without required-field stars and without a trailing
// unit, so that " 专有面积（平方米）* " reads as "专有面积".
func normalizeHeader(text string) string {
	var b strings.Builder
	depth := 0
	for _, r := range cleanText(text) {
		switch {
		case strings.ContainsRune("([【〔〖", r):
			depth++
		case strings.ContainsRune(")]】〕〗", r):
			if depth > 0 {
				depth--
			}
		case depth > 0, r == '*', unicode.IsSpace(r):
		default:
			b.WriteRune(r)
		}
	}
	return trimAreaUnit(b.String())
}

// areaUnits are the ways clerks write "square metres" after a number or a
// header. Longer spellings come first so that "平方米" is not cut to "平方".
var areaUnits = []string{"平方米", "平米", "㎡", "m²", "M²", "m2", "M2"}

// trimAreaUnit removes one trailing square-metre unit and the spaces before it.
func trimAreaUnit(s string) string {
	for _, unit := range areaUnits {
		if rest, ok := strings.CutSuffix(s, unit); ok {
			return strings.TrimSpace(rest)
		}
	}
	return s
}

// cleanText is what every cell goes through before it is read: full-width
// ASCII letters, digits and punctuation become half-width (Chinese input
// methods produce "１２０１" and "，"), invisible characters pasted from web
// pages and chats are dropped — zero-width spaces, and (louyuan.StripUnsafe)
// NUL and other control characters and bidirectional overrides, so that no
// owner's name reads differently from what is stored — and runs of
// whitespace (including the ideographic space and line breaks inside a
// cell) become one space, trimmed at both ends.
func cleanText(s string) string {
	var b strings.Builder
	for _, r := range louyuan.StripUnsafe(s) {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		case r == 0x200B, r == 0x200C, r == 0x200D, r == 0x2060, r == 0xFEFF:
			continue
		}
		b.WriteRune(r)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
