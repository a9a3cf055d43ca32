package export

import (
	"mime"
	"strings"
	"testing"
)

func TestContentDisposition(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"铝厂小区签名名单.xlsx",
			`attachment; filename="________.xlsx"; filename*=UTF-8''%E9%93%9D%E5%8E%82%E5%B0%8F%E5%8C%BA%E7%AD%BE%E5%90%8D%E5%90%8D%E5%8D%95.xlsx`},
		{"results.csv", `attachment; filename="results.csv"; filename*=UTF-8''results.csv`},
		{`a "b"\c (1).csv`, `attachment; filename="a _b__c (1).csv"; filename*=UTF-8''a%20%22b%22%5Cc%20%281%29.csv`},
		{"!#$&+-.^_`|~", "attachment; filename=\"!#$&+-.^_`|~\"; filename*=UTF-8''!#$&+-.^_`|~"},
		{"x\r\nSet-Cookie: a=b.csv", `attachment; filename="x__Set-Cookie: a=b.csv"; filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db.csv`},
		{"", `attachment; filename="download"; filename*=UTF-8''download`},
	} {
		if got := ContentDisposition(c.name); got != c.want {
			t.Errorf("ContentDisposition(%q)\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

// TestContentDispositionDecodes checks the header with an independent
// RFC 2231/5987 decoder: the standard library's.
func TestContentDispositionDecodes(t *testing.T) {
	for _, name := range []string{"铝厂小区签名名单.xlsx", "加装电梯 表决结果（2026年5月）.csv", "plain.xlsx", "100% 同意;=.xlsx"} {
		h := ContentDisposition(name)
		if strings.ContainsAny(h, "\r\n") {
			t.Errorf("header for %q contains a line break", name)
		}
		disp, params, err := mime.ParseMediaType(h)
		if err != nil {
			t.Errorf("parse %s: %v", h, err)
			continue
		}
		if disp != "attachment" || params["filename"] != name {
			t.Errorf("%q decodes as %s, %q", name, disp, params["filename"])
		}
		if ext := name[strings.LastIndex(name, "."):]; !strings.HasSuffix(asciiFallback(name), ext) {
			t.Errorf("fallback %q lost the extension %s", asciiFallback(name), ext)
		}
	}
}
