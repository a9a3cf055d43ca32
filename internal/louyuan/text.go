package louyuan

import (
	"fmt"
	"strings"
	"unicode"
)

// Names and titles are shown to residents, printed on slips, exported to
// spreadsheets and handed to the subdistrict office. Characters nobody can
// see must not ride along: NUL and other control characters (they break
// exports and logs and can hide text) and the bidirectional overrides and
// isolates U+202A–U+202E and U+2066–U+2069, which make "张三" display as
// something else than what is stored (a name or title that reads differently
// from what is counted). Input through the API is refused with a message
// naming the field (CheckText); rosters and exports strip them (StripUnsafe).

// unsafeRune reports a control character or a bidirectional override or
// isolate. Line breaks and tabs are allowed when multiline is true.
func unsafeRune(r rune, multiline bool) bool {
	switch {
	case multiline && (r == '\n' || r == '\r' || r == '\t'):
		return false
	case unicode.IsControl(r): // C0, DEL and C1
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// CodeUnsafeText is the error code of CheckText.
const CodeUnsafeText = "text_invisible_characters"

// CheckText refuses a name or title (multiline false) or a body text
// (multiline true: line breaks and tabs allowed) that holds a control
// character or a bidirectional override. field is the field's Chinese name,
// as the person filling the form knows it ("标题", "真实姓名").
func CheckText(field, s string, multiline bool) error {
	for _, r := range s {
		if unsafeRune(r, multiline) {
			e := Invalid(CodeUnsafeText, fmt.Sprintf("%s中有看不见的控制字符或文字方向控制符（常见于从网页、文档或聊天记录复制的文字），请删除后重新输入", field))
			e.Details = map[string]string{"field": field, "character": fmt.Sprintf("U+%04X", r)}
			return e
		}
	}
	return nil
}

// TextField is one field for CheckTexts.
type TextField struct {
	Name      string // Chinese, as the person knows the field
	Value     string
	Multiline bool
}

// CheckTexts is CheckText over several fields; the first failure is
// returned.
func CheckTexts(fields ...TextField) error {
	for _, f := range fields {
		if err := CheckText(f.Name, f.Value, f.Multiline); err != nil {
			return err
		}
	}
	return nil
}

// StripUnsafe removes control characters (except line breaks and tabs) and
// bidirectional overrides from s: the defence of exports and imports.
func StripUnsafe(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return unsafeRune(r, true) }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unsafeRune(r, true) {
			return -1
		}
		return r
	}, s)
}
