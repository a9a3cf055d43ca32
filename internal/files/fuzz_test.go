package files

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"slices"
	"testing"
	"unicode"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// FuzzCheck feeds any bytes to the image checks of every purpose: no
// panic, an accepted file is an allowed type whose header decodes within
// the purpose's limits, a refused one gets a coded client error with a
// Chinese message.
func FuzzCheck(f *testing.F) {
	var p, j bytes.Buffer
	_ = png.Encode(&p, image.NewGray(image.Rect(0, 0, 3, 2)))
	_ = jpeg.Encode(&j, image.NewRGBA(image.Rect(0, 0, 4, 4)), nil)
	f.Add(p.Bytes())
	f.Add(j.Bytes())
	f.Add([]byte("GIF89a\x01\x00\x01\x00"))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x7f\xff\xff\xff\x00\x00\x00\x01\x08\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for purpose, r := range rules {
			ct, err := Check(purpose, data)
			if err != nil {
				var e *louyuan.Error
				if !louyuan.AsError(err, &e) || (e.Kind != louyuan.KindInvalid && e.Kind != louyuan.KindTooLarge) || e.Code == "" {
					t.Fatalf("%s: refusal is not a coded client error: %#v", purpose, err)
				}
				if !slices.ContainsFunc([]rune(e.Message), func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
					t.Fatalf("%s: refusal without a Chinese message: %q", purpose, e.Message)
				}
				continue
			}
			if !slices.Contains(r.types, ct) {
				t.Fatalf("%s: accepted as %q, not an allowed type", purpose, ct)
			}
			cfg, _, derr := image.DecodeConfig(bytes.NewReader(data))
			if derr != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > r.maxSide || cfg.Height > r.maxSide || int64(len(data)) > r.maxBytes {
				t.Fatalf("%s: accepted an image of %dx%d, %d bytes (%v)", purpose, cfg.Width, cfg.Height, len(data), derr)
			}
		}
	})
}
