package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode"

	"github.com/gin-gonic/gin"
)

// fuzzRequests makes a fresh value of every JSON request type the API
// binds.
var fuzzRequests = []func() any{
	func() any { return &loginRequest{} }, func() any { return &staffLoginRequest{} }, func() any { return &refreshRequest{} },
	func() any { return &bindRequest{} }, func() any { return &bindAskRequest{} }, func() any { return &representativeAskRequest{} },
	func() any { return &decisionRequest{} }, func() any { return &invitesRequest{} }, func() any { return &settingsRequest{} },
	func() any { return &grantRequest{} }, func() any { return &noticeRequest{} }, func() any { return &previewRequest{} },
	func() any { return &subscribeRequest{} }, func() any { return &petitionRequest{} }, func() any { return &costPlanRequest{} },
	func() any { return &signRequest{} }, func() any { return &paperSignRequest{} }, func() any { return &paymentRequest{} },
	func() any { return &ruleRequest{} }, func() any { return &motionRequest{} }, func() any { return &extendRequest{} },
	func() any { return &ballotRequest{} }, func() any { return &paperRequest{} }, func() any { return &proxyBallotRequest{} },
	func() any { return &delegationRequest{} }, func() any { return &acceptRequest{} }, func() any { return &confirmRequest{} },
}

// FuzzBindJSON sends any body to the JSON binding of every request type,
// behind the same body limit as the server: no panic; a refusal is a 400
// or 413 with the error body (a code and a Chinese message); an accepted
// body is one JSON value.
func FuzzBindJSON(f *testing.F) {
	gin.SetMode(gin.TestMode)
	for _, s := range []string{`{"code":"wang.1"}`, `{"household_id":1,"options":["agree"]}`, `{"real_name":"王春芬","household_id":3,"pledge_fen":0}`,
		`{"targets":[{"scope_type":"courtyard","scope_id":1}],"title":"停水","body":"x"}`, `{"rule":{"kind":"custom","participation":{"num":2,"den":3}}}`,
		`{"household_id":1e400}`, `{"options":[` + string(bytes.Repeat([]byte(`"a",`), 50)) + `"b"]}`, `{} {}`, `[`, "\ufeff{}", `{"title":"\u202e"}`} {
		f.Add(uint8(0), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		for i, mk := range fuzzRequests {
			if which != 0 && int(which)%len(fuzzRequests) != i {
				continue
			}
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			c.Request.Header.Set("Content-Type", "application/json")
			c.Request.Body = http.MaxBytesReader(w, c.Request.Body, 4<<10)
			c.Set(requestIDKey, "fuzz")
			v := mk()
			if bindJSON(c, v) {
				if w.Code != http.StatusOK || c.IsAborted() {
					t.Fatalf("%T: accepted but answered %d", v, w.Code)
				}
				if !json.Valid(bytes.TrimSpace(body)) {
					t.Fatalf("%T: accepted a body that is not one JSON value: %q", v, body)
				}
				continue
			}
			if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%T: refused with %d: %s", v, w.Code, w.Body)
			}
			var e ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.RequestID != "fuzz" {
				t.Fatalf("%T: refusal is not the error body: %s", v, w.Body)
			}
			han := false
			for _, r := range e.Error.Message {
				han = han || unicode.Is(unicode.Han, r)
			}
			if !han {
				t.Fatalf("%T: refusal without a Chinese message: %s", v, w.Body)
			}
		}
	})
}
