package louyuan

import (
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	cases := []struct {
		in        string
		multiline bool
		ok        bool
	}{
		{"张三", false, true},
		{"1号楼加装电梯", false, true},
		{"Zhang San-李", false, true},
		{"全角　空格", false, true},
		{"第一行\n第二行\t表", true, true},
		{"第一行\r\n第二行", true, true},
		{"第一行\n第二行", false, false}, // a title is one line
		{"张\x00三", false, false},
		{"张\x00三", true, false},
		{"张三\x07", true, false},
		{"张三\x1b[31m", true, false},
		{"张三\x7f", false, false},
		{"张三\u0085", true, false}, // C1
		{"\u202E三张", false, false},
		{"张\u202A三", true, false},
		{"张\u202B三", false, false},
		{"张\u202C三", false, false},
		{"张\u202D三", false, false},
		{"张\u2066三", false, false},
		{"张\u2067三", false, false},
		{"张\u2068三", false, false},
		{"张\u2069三", true, false},
		{"张\u2065三", false, true}, // unassigned neighbour, not an isolate
		{"张\u202F三", false, true}, // narrow no-break space
	}
	for _, c := range cases {
		err := CheckText("标题", c.in, c.multiline)
		if (err == nil) != c.ok {
			t.Errorf("CheckText(%q, multiline %v) = %v, want ok %v", c.in, c.multiline, err, c.ok)
			continue
		}
		if err != nil {
			var e *Error
			if !AsError(err, &e) || e.Kind != KindInvalid || e.Code != CodeUnsafeText || !strings.HasPrefix(e.Message, "标题中有") {
				t.Errorf("CheckText(%q) error = %#v, want invalid %s naming the field", c.in, err, CodeUnsafeText)
			}
		}
	}
}

func TestCheckTexts(t *testing.T) {
	err := CheckTexts(TextField{"标题", "停水通知", false}, TextField{"正文", "周六\n停水", true}, TextField{"事项", "a\u202Eb", false})
	var e *Error
	if !AsError(err, &e) || !strings.HasPrefix(e.Message, "事项中有") {
		t.Errorf("CheckTexts = %v, want the third field named", err)
	}
	if err := CheckTexts(TextField{"标题", "停水通知", false}); err != nil {
		t.Errorf("CheckTexts of a clean field = %v", err)
	}
}

func TestStripUnsafe(t *testing.T) {
	for in, want := range map[string]string{
		"张三":                  "张三",
		"张\x00三":              "张三",
		"\u202E=1+1":          "=1+1",
		"张\u2066三\u2069":      "张三",
		"第一行\n第二行\t":          "第一行\n第二行\t",
		"\x1b[31m红\x1b[0m":    "[31m红[0m",
		"a\u0085b\u009fc\x7f": "abc",
	} {
		if got := StripUnsafe(in); got != want {
			t.Errorf("StripUnsafe(%q) = %q, want %q", in, got, want)
		}
	}
}
