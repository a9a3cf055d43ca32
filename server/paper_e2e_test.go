package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/testenv"
)

// pdUpload uploads a photo of paper: purpose, courtyard ("" = none) and
// the households of a sheet.
func pdUpload(t *testing.T, s *e2eServer, token, purpose, courtyard string, households ...int64) e2eResponse {
	t.Helper()
	var img bytes.Buffer
	_ = png.Encode(&img, image.NewGray(image.Rect(0, 0, 40, 30)))
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("purpose", purpose)
	if courtyard != "" {
		_ = w.WriteField("courtyard_id", courtyard)
	}
	if len(households) > 0 {
		ids := make([]string, len(households))
		for i, h := range households {
			ids[i] = fmt.Sprint(h)
		}
		_ = w.WriteField("household_ids", strings.Join(ids, ","))
	}
	fw, _ := w.CreateFormFile("file", "paper.png")
	_, _ = fw.Write(img.Bytes())
	_ = w.Close()
	return s.callWith(t, "POST", "/api/v1/files", token, body.Bytes(), http.Header{"Content-Type": {w.FormDataContentType()}})
}

func pdKey(t *testing.T, r e2eResponse) string {
	t.Helper()
	e2eWant(t, r, http.StatusCreated)
	var meta struct {
		Key        string  `json:"key"`
		Households []int64 `json:"household_ids"`
	}
	r.decode(t, &meta)
	return meta.Key
}

// A photo of paper is evidence for one household's ballot or signature, or
// for the households a sheet lists: one photo could stand for every paper
// ballot of a motion before.
func TestPaperEvidence(t *testing.T) {
	for _, mode := range []string{"sqlite", "mariadb"} {
		t.Run(mode, func(t *testing.T) {
			cfg := vtConfig(e2eEmbeddedConfig(t))
			if mode == "mariadb" {
				rds := testenv.Redis(t)
				cfg = vtConfig(e2eProductionConfig(t, testenv.MySQL(t), "redis://"+testenv.RedisAddr(), rds.Prefix, e2eNewSecrets(t)))
			}
			s := e2eStart(t, cfg)
			staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
			env := &vtEnv{s: s, staff: staff, yard: 1}
			hs := s.courtyardHouseholds(t, staff, 1)
			h := func(i int) int64 { return hs[i].ID }
			m := env.openMotion(t, map[string]any{"rule": "ordinary"}, time.Hour)
			paper := func(motion int64, household int64, photo string) e2eResponse {
				return s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/paper-ballots", motion), staff,
					map[string]any{"household_id": household, "options": []string{"agree"}, "photo": photo})
			}

			// One household's paper: once, and again for the same household (a correction).
			one := pdKey(t, pdUpload(t, s, staff, "paper_ballot", "1"))
			e2eWant(t, paper(m.ID, h(0), one), http.StatusCreated)
			e2eWant(t, paper(m.ID, h(0), one), http.StatusCreated)
			// Not for a second household.
			e := e2eWantError(t, paper(m.ID, h(1), one), http.StatusConflict, "photo_reused")
			if !strings.Contains(e.Error.Message, "paper_sheet") || !strings.Contains(e.Error.Message, fmt.Sprint(h(0))) {
				t.Errorf("photo_reused message %q does not say how to upload a sheet or which household has it", e.Error.Message)
			}

			// Uploaded without courtyard_id: the error says so.
			noYard := pdKey(t, pdUpload(t, s, staff, "paper_ballot", ""))
			e = e2eWantError(t, paper(m.ID, h(1), noYard), http.StatusBadRequest, "photo_required")
			if !strings.Contains(e.Error.Message, "courtyard_id") || !strings.Contains(e.Error.Message, "没有填写楼院") {
				t.Errorf("photo_required message %q does not say the photo lacks courtyard_id", e.Error.Message)
			}
			e2eWantError(t, paper(m.ID, h(1), "paper_ballot-0123456789abcdef.png"), http.StatusBadRequest, "photo_not_found")
			sig := pdKey(t, pdUpload(t, s, staff, "signature", "1"))
			e2eWantError(t, paper(m.ID, h(1), sig), http.StatusBadRequest, "photo_wrong_purpose")

			// A sheet vouches for the households it lists, and no others.
			e2eWantError(t, pdUpload(t, s, staff, "paper_sheet", "1", h(2)), http.StatusBadRequest, "sheet_households_required")
			e2eWantError(t, pdUpload(t, s, staff, "paper_sheet", "1", h(2), h(2)), http.StatusBadRequest, "sheet_households_repeated")
			e2eWantError(t, pdUpload(t, s, staff, "paper_sheet", "1", h(2), 1<<40), http.StatusBadRequest, "sheet_household_not_in_courtyard")
			e2eWantError(t, pdUpload(t, s, staff, "paper_ballot", "1", h(2), h(3)), http.StatusBadRequest, "households_not_allowed")
			e2eWantError(t, pdUpload(t, s, staff, "paper_sheet", "", h(2), h(3)), http.StatusBadRequest, "courtyard_required")
			r := pdUpload(t, s, staff, "paper_sheet", "1", h(3), h(2))
			sheet := pdKey(t, r)
			if !bytes.Contains(r.Body, []byte(fmt.Sprintf(`"household_ids":[%d,%d]`, h(2), h(3)))) {
				t.Errorf("sheet upload does not list its households: %s", r)
			}
			e2eWant(t, paper(m.ID, h(2), sheet), http.StatusCreated)
			e2eWant(t, paper(m.ID, h(3), sheet), http.StatusCreated)
			e2eWantError(t, paper(m.ID, h(4), sheet), http.StatusBadRequest, "photo_not_on_sheet")

			// Evidence of one motion is not evidence of another, nor of a petition.
			m2 := env.openMotion(t, map[string]any{"rule": "ordinary", "title": "更换单元门禁"}, time.Hour)
			e2eWantError(t, paper(m2.ID, h(0), one), http.StatusConflict, "photo_used_elsewhere")
			e2eWantError(t, paper(m2.ID, h(2), sheet), http.StatusConflict, "photo_used_elsewhere")
			pt := env.createPetition(t, map[string]any{})
			base := fmt.Sprintf("/api/v1/petitions/%d", pt.ID)
			e2eWant(t, s.call(t, "POST", base+"/publish", staff, nil), http.StatusOK)
			sign := func(household int64, photo string) e2eResponse {
				return s.call(t, "POST", base+"/paper-signatures", staff, map[string]any{"household_id": household, "real_name": "纸质签名", "photo": photo})
			}
			e2eWantError(t, sign(h(0), one), http.StatusConflict, "photo_used_elsewhere")
			form := pdKey(t, pdUpload(t, s, staff, "paper_ballot", "1"))
			e2eWant(t, sign(h(5), form), http.StatusCreated)
			e2eWantError(t, sign(h(6), form), http.StatusConflict, "photo_reused")
			e2eWantError(t, sign(h(6), noYard), http.StatusBadRequest, "photo_required")

			// Nothing half-written: the refused ballots and signatures are not there.
			r = s.call(t, "GET", base, staff, nil)
			e2eWant(t, r, http.StatusOK)
			if !bytes.Contains(r.Body, []byte(`"signed_households":1`)) {
				t.Errorf("progress after one paper signature: %s", r)
			}
		})
	}
}
