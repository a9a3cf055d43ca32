package files

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/louyuan/louyuan/internal/louyuan"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCheck(t *testing.T) {
	var jpg bytes.Buffer
	_ = jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 40, 30)), nil)
	cases := []struct {
		name    string
		purpose Purpose
		data    []byte
		code    string
	}{
		{"png signature", PurposeSignature, pngOf(t, 600, 300), ""},
		{"jpeg ballot photo", PurposePaperBallot, jpg.Bytes(), ""},
		{"jpeg signature refused", PurposeSignature, jpg.Bytes(), "file_type"},
		{"text pretending to be png", PurposeSignature, []byte("not an image at all"), "file_type"},
		{"png header only", PurposeSignature, pngOf(t, 10, 10)[:20], "file_corrupt"},
		{"signature too wide", PurposeSignature, pngOf(t, 2500, 10), "image_too_big"},
		{"too large", PurposeSignature, append(pngOf(t, 10, 10), make([]byte, 600<<10)...), "file_too_large"},
		{"empty", PurposeSignature, nil, "file_empty"},
		{"unknown purpose", Purpose("selfie"), pngOf(t, 10, 10), "bad_purpose"},
	}
	for _, c := range cases {
		_, err := Check(c.purpose, c.data)
		if got := ""; err != nil {
			got = louyuan.ErrorCode(err)
			if got != c.code {
				t.Errorf("%s: code %q, want %q", c.name, got, c.code)
			}
		} else if c.code != "" {
			t.Errorf("%s: accepted, want %q", c.name, c.code)
		}
	}
}

func TestDir(t *testing.T) {
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := newKey(PurposeSignature, "image/png")
	if !ValidKey(key) {
		t.Fatalf("newKey made an invalid key %q", key)
	}
	if err := d.Put(ctx, key, []byte("abc"), "image/png"); err != nil {
		t.Fatal(err)
	}
	if b, err := d.Get(ctx, key); err != nil || string(b) != "abc" {
		t.Fatalf("Get = %q, %v", b, err)
	}
	for _, bad := range []string{"../etc/passwd", "a/b", "", "UPPER.png"} {
		if ValidKey(bad) {
			t.Errorf("ValidKey(%q) = true", bad)
		}
		if _, err := d.Get(ctx, bad); err == nil {
			t.Errorf("Get(%q) succeeded", bad)
		}
	}
}
