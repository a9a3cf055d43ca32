package export

import (
	"strings"
	"unicode/utf8"
)

// ContentDisposition is the Content-Disposition header value that makes a
// browser (or WeChat's download view) save a response as filename:
//
//	attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>
//
// filename* (RFC 6266 with RFC 5987 encoding) carries the real name; every
// byte of its UTF-8 outside attr-char (ALPHA, DIGIT and !#$&+-.^_`|~) is
// percent-encoded, so "铝厂小区签名名单.xlsx" becomes
// %E9%93%9D%E5%8E%82...%E5%8D%95.xlsx. The quoted filename is for clients
// that do not read filename*: each non-ASCII character, control character,
// double quote and backslash becomes "_", which keeps the extension (so
// "________.xlsx") and keeps the header safe to send. An empty name is sent
// as "download".
func ContentDisposition(filename string) string {
	if filename == "" {
		filename = "download"
	}
	var b strings.Builder
	b.WriteString(`attachment; filename="`)
	b.WriteString(asciiFallback(filename))
	b.WriteString(`"; filename*=UTF-8''`)
	b.WriteString(encodeRFC5987(filename))
	return b.String()
}

// asciiFallback replaces what may not or cannot stand in a quoted ASCII
// filename with "_".
func asciiFallback(filename string) string {
	var b strings.Builder
	for _, r := range filename {
		if r < 0x20 || r >= 0x7f || r == '"' || r == '\\' {
			b.WriteByte('_')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// encodeRFC5987 percent-encodes the UTF-8 bytes of s outside attr-char
// (RFC 5987 §3.2.1). Invalid UTF-8 is first replaced by U+FFFD, so the value
// always decodes as UTF-8.
func encodeRFC5987(s string) string {
	const hex = "0123456789ABCDEF"
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAttrChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}

// isAttrChar reports whether c is an attr-char of RFC 5987.
func isAttrChar(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
