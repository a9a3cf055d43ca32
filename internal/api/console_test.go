package api

import (
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/louyuan/louyuan/internal/console"
)

func TestConsoleServesFilesAndFallsBackToIndex(t *testing.T) {
	assets := fstest.MapFS{
		"index.html":        {Data: []byte("<!doctype html><title>console</title>")},
		"assets/app-1a.js":  {Data: []byte("console.log(1)")},
		"assets/app-1a.css": {Data: []byte("body{}")},
	}
	h := (&Server{Log: slog.New(slog.DiscardHandler), Console: assets}).Handler()
	for _, tc := range []struct {
		path, status, typ, body string
	}{
		{"/console/", "200", "text/html; charset=utf-8", "<title>console</title>"},
		{"/console/motions/3", "200", "text/html; charset=utf-8", "<title>console</title>"},
		{"/console/assets/app-1a.js", "200", "text/javascript; charset=utf-8", "console.log(1)"},
		{"/console/assets/app-1a.css", "200", "text/css; charset=utf-8", "body{}"},
		{"/console/assets/missing.js", "404", "application/json; charset=utf-8", "no_route"},
		{"/console/motions/assets/x.js", "404", "application/json; charset=utf-8", "no_route"},
		{"/console", "301", "", ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != atoi(tc.status) {
			t.Errorf("GET %s: status %d, want %s", tc.path, rec.Code, tc.status)
			continue
		}
		if tc.typ != "" && rec.Header().Get("Content-Type") != tc.typ {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, rec.Header().Get("Content-Type"), tc.typ)
		}
		if !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("GET %s: body %q, want it to contain %q", tc.path, rec.Body.String(), tc.body)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/assets/app-1a.js", nil))
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("hashed asset Cache-Control %q, want immutable", cc)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func TestEmbeddedConsoleHasItsBuild(t *testing.T) {
	index, err := fs.ReadFile(console.Assets(), "index.html")
	if err != nil {
		t.Fatalf("the embedded console has no index.html (run the build in internal/console): %v", err)
	}
	if !strings.Contains(string(index), "/console/assets/") {
		t.Errorf("index.html does not load its assets from /console/assets/:\n%s", index)
	}
}
