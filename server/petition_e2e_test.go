package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

type ptPetition struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

type ptMine struct {
	Petitions []struct {
		Petition    ptPetition `json:"petition"`
		HouseholdID int64      `json:"household_id"`
		ShareFen    *int64     `json:"share_fen"`
		PaidFen     int64      `json:"paid_fen"`
	} `json:"petitions"`
}

func (env *vtEnv) createPetition(t *testing.T, body map[string]any) ptPetition {
	t.Helper()
	for k, v := range map[string]any{"scope_type": "courtyard", "title": "加装电梯征求意见", "body": "为方便老人上下楼，拟在1号楼1单元加装电梯。",
		"deadline": time.Now().Add(24 * time.Hour), "target_households": map[string]any{"num": 2, "den": 3}, "target_area": map[string]any{"num": 2, "den": 3}} {
		if _, ok := body[k]; !ok {
			body[k] = v
		}
	}
	r := env.s.call(t, "POST", fmt.Sprintf("/api/v1/courtyards/%d/petitions", env.yard), env.staff, body)
	e2eWant(t, r, http.StatusCreated)
	var p ptPetition
	r.decode(t, &p)
	return p
}

// uploadFile sends a file of a purpose for the courtyard.
func (env *vtEnv) uploadFile(t *testing.T, token, purpose string, data []byte) e2eResponse {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("purpose", purpose)
	_ = w.WriteField("courtyard_id", fmt.Sprint(env.yard))
	fw, _ := w.CreateFormFile("file", "f.png")
	_, _ = fw.Write(data)
	_ = w.Close()
	return env.s.callWith(t, "POST", "/api/v1/files", token, body.Bytes(), http.Header{"Content-Type": {w.FormDataContentType()}})
}

func pngBytes(w, h int) []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)))
	return b.Bytes()
}

// TestPetitionsAndExports runs an elevator petition through the real API:
// cost table, pledges, signatures (one per household even under 64
// concurrent requests), withdrawal, paper entry, payments, progress and
// the staff's exports.
func TestPetitionsAndExports(t *testing.T) {
	cfg := vtConfig(e2eEmbeddedConfig(t))
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)
	ctx := context.Background()

	// A deadline in the past is refused; risky text is refused at publishing.
	e2eWantError(t, s.call(t, "POST", "/api/v1/courtyards/1/petitions", env.staff, map[string]any{"scope_type": "courtyard", "title": "过期的征求",
		"deadline": time.Now().Add(-time.Hour), "target_households": map[string]any{"num": 2, "den": 3}}), http.StatusBadRequest, "deadline_past")
	fake.SetRiskyWords("违禁测试词")
	risky := env.createPetition(t, map[string]any{"title": "违禁测试词征求"})
	e2eWantError(t, s.call(t, "POST", fmt.Sprintf("/api/v1/petitions/%d/publish", risky.ID), env.staff, nil), http.StatusBadRequest, "content_risky")

	pt := env.createPetition(t, map[string]any{"cost_sharing": true})
	base := fmt.Sprintf("/api/v1/petitions/%d", pt.ID)
	// Unit 1 (1号楼1单元) of the fresh demo: floors 1–2 pay nothing.
	r := s.call(t, "PUT", base+"/cost-plan", env.staff, map[string]any{"unit_id": 1, "total_fen": 45000000,
		"coefficients": map[string]int64{"1": 0, "2": 0, "3": 600, "4": 800, "5": 1000, "6": 1200, "7": 1400}})
	e2eWant(t, r, http.StatusOK)
	e2eWant(t, s.call(t, "POST", base+"/publish", env.staff, nil), http.StatusOK)

	// Households of unit 1 above floor 2 pledge their share; a wrong pledge is refused.
	var unit1 []vtRep
	for _, h := range env.households {
		if h.Building+h.Unit == "1号楼1单元" {
			unit1 = append(unit1, env.byHouse[h.ID])
		}
	}
	share := func(rep vtRep) *int64 {
		r := s.call(t, "GET", "/api/v1/me/petitions", rep.token, nil)
		e2eWant(t, r, http.StatusOK)
		var mine ptMine
		r.decode(t, &mine)
		for _, p := range mine.Petitions {
			if p.Petition.ID == pt.ID && p.HouseholdID == rep.householdID {
				return p.ShareFen
			}
		}
		t.Fatalf("petition %d not among household %d's petitions: %s", pt.ID, rep.householdID, r)
		return nil
	}
	top := unit1[len(unit1)-1]
	topShare := share(top)
	if topShare == nil || *topShare <= 0 {
		t.Fatalf("top-floor household has share %v", topShare)
	}
	wrong := *topShare + 1
	e2eWantError(t, s.call(t, "POST", base+"/signatures", top.token, map[string]any{"household_id": top.householdID, "real_name": "王春芬", "pledge_fen": wrong}),
		http.StatusBadRequest, "pledge_mismatch")
	if r := s.call(t, "GET", base, top.token, nil); !bytes.Contains(r.Body, []byte(`"signed_households":0`)) {
		t.Fatalf("a refused signature left something behind: %s", r)
	}
	e2eWant(t, s.call(t, "POST", base+"/signatures", top.token, map[string]any{"household_id": top.householdID, "real_name": "王春芬", "pledge_fen": *topShare}), http.StatusCreated)
	if low := share(unit1[0]); low == nil || *low != 0 {
		t.Errorf("first-floor share %v, want 0", low)
	}

	// A handwritten signature must be a PNG of sane size.
	e2eWantError(t, env.uploadFile(t, unit1[1].token, "signature", []byte("GIF89a not a png at all")), http.StatusBadRequest, "file_type")
	e2eWantError(t, env.uploadFile(t, unit1[1].token, "signature", pngBytes(4000, 100)), http.StatusBadRequest, "image_too_big")
	big := append(pngBytes(10, 10), make([]byte, 600<<10)...)
	if r := env.uploadFile(t, unit1[1].token, "signature", big); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize signature image: %s", r)
	}
	r = env.uploadFile(t, unit1[1].token, "signature", pngBytes(600, 240))
	e2eWant(t, r, http.StatusCreated)
	var sigFile struct {
		Key string `json:"key"`
	}
	r.decode(t, &sigFile)

	// 64 concurrent signatures for one household: exactly one is taken.
	rep := unit1[1]
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.call(t, "POST", base+"/signatures", rep.token, map[string]any{"household_id": rep.householdID, "real_name": "刘宗敏", "signature_file": sigFile.Key})
			mu.Lock()
			codes[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[http.StatusCreated] != 1 || codes[http.StatusConflict] != 63 {
		t.Fatalf("64 concurrent signatures gave %v, want one 201 and 63 409", codes)
	}
	// Withdraw and sign again.
	e2eWant(t, s.call(t, "DELETE", fmt.Sprintf("%s/signatures/%d", base, rep.householdID), rep.token, nil), http.StatusNoContent)
	e2eWantError(t, s.call(t, "DELETE", fmt.Sprintf("%s/signatures/%d", base, rep.householdID), rep.token, nil), http.StatusNotFound, "not_signed")
	e2eWant(t, s.call(t, "POST", base+"/signatures", rep.token, map[string]any{"household_id": rep.householdID, "real_name": "刘宗敏"}), http.StatusCreated)

	// Only the household's own representative signs; paper signatures come with a photo.
	e2eWantError(t, s.call(t, "POST", base+"/signatures", env.reps[5].token, map[string]any{"household_id": env.reps[6].householdID, "real_name": "张三"}),
		http.StatusForbidden, "not_representative")
	// One page of the paper form signed by 20 households, photographed once.
	var sheet []int64
	for _, p := range env.reps[20:40] {
		sheet = append(sheet, p.householdID)
	}
	photo := env.uploadPhoto(t, env.staff, "paper_sheet", sheet...)
	for _, p := range env.reps[20:40] {
		e2eWant(t, s.call(t, "POST", base+"/paper-signatures", env.staff, map[string]any{"household_id": p.householdID, "real_name": "纸质签名", "photo": photo}), http.StatusCreated)
	}

	// The treasurer (here staff) records a payment; totals add up.
	e2eWant(t, s.call(t, "POST", base+"/payments", env.staff, map[string]any{"household_id": top.householdID, "amount_fen": 100000, "receipt_no": "SJ-0001", "paid_on": time.Now().Format("2006-01-02")}), http.StatusCreated)
	e2eWantError(t, s.call(t, "POST", base+"/payments", env.staff, map[string]any{"household_id": top.householdID, "amount_fen": 100, "receipt_no": "SJ-0001", "paid_on": time.Now().Format("2006-01-02")}),
		http.StatusConflict, "receipt_used")
	e2eWantError(t, s.call(t, "POST", base+"/payments", top.token, map[string]any{"household_id": top.householdID, "amount_fen": 100, "receipt_no": "SJ-0002", "paid_on": time.Now().Format("2006-01-02")}),
		http.StatusForbidden, "treasurer_only")
	r = s.call(t, "GET", base+"/totals", env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	if !bytes.Contains(r.Body, []byte(`"planned_fen":45000000`)) || !bytes.Contains(r.Body, []byte(fmt.Sprintf(`"pledged_fen":%d`, *topShare))) || !bytes.Contains(r.Body, []byte(`"paid_fen":100000`)) {
		t.Errorf("totals: %s", r)
	}

	// Progress: 22 of 56 signed.
	r = s.call(t, "GET", base, top.token, nil)
	e2eWant(t, r, http.StatusOK)
	if !bytes.Contains(r.Body, []byte(`"signed_households":22`)) || !bytes.Contains(r.Body, []byte(`"needed_households":16`)) {
		t.Errorf("progress: %s", r)
	}

	// Exports: the staff's XLSX with both sheets; CSVs with a BOM.
	r = s.call(t, "GET", base+"/export.xlsx", env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''") {
		t.Errorf("Content-Disposition %q", cd)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("export is not an XLSX: %v", err)
	}
	signedRows, _ := f.GetRows("已签名")
	notSignedRows, _ := f.GetRows("未签名")
	if n := countDataRows(signedRows); n != 22 {
		t.Errorf("已签名 has %d household rows, want 22", n)
	}
	if n := countDataRows(notSignedRows); n != 34 {
		t.Errorf("未签名 has %d household rows, want 34", n)
	}
	for _, kind := range []string{"signed", "not_signed"} {
		r = s.call(t, "GET", base+"/export.csv?list="+kind, env.staff, nil)
		e2eWant(t, r, http.StatusOK)
		if !bytes.HasPrefix(r.Body, []byte("\xEF\xBB\xBF")) {
			t.Fatalf("CSV without a UTF-8 BOM")
		}
		// The data, then an empty line and the "#校验信息" footer.
		data, _, _ := bytes.Cut(r.Body[3:], []byte("\r\n\r\n"))
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"signed": 22, "not_signed": 34}[kind]
		if len(recs)-1 != want || recs[0][0] != "楼栋" {
			t.Errorf("%s CSV: %d rows, header %v; want %d", kind, len(recs)-1, recs[0], want)
		}
	}
	// Who may not export, and full phones without the permission.
	e2eWantError(t, s.call(t, "GET", base+"/export.xlsx", top.token, nil), http.StatusForbidden, "export_forbidden")
	e2eWantError(t, s.call(t, "GET", base+"/export.xlsx?phones=full", env.staff, nil), http.StatusForbidden, "phone_permission_required")
	// A tenant of a household here.
	r = s.call(t, "POST", "/api/v1/courtyards/1/invites?format=json", env.staff, map[string]any{"household_ids": []int64{top.householdID}, "role": "tenant"})
	e2eWant(t, r, http.StatusCreated)
	tenant := s.wechatLogin(t, e2eCode("ptenant"))
	e2eWant(t, s.call(t, "POST", "/api/v1/me/households", tenant.AccessToken, map[string]string{"invite_code": e2eInviteCodes(t, r)[0]}), http.StatusCreated)
	// A tenant does not see petitions (only representatives sign): to them
	// it does not exist.
	e2eWantError(t, s.call(t, "GET", base+"/export.csv", tenant.AccessToken, nil), http.StatusNotFound, "petition_not_found")
	e2eWantError(t, s.call(t, "POST", base+"/signatures", tenant.AccessToken, map[string]any{"household_id": top.householdID, "real_name": "租户甲"}), http.StatusForbidden, "not_representative")
	// The council member of another courtyard.
	e2eRunEnv(t, cfg, true)
	var out bytes.Buffer
	if err := run(ctx, []string{"admin", "add-courtyard", "-subdistrict", "新华路街道", "-community", "桐本北路社区", "-courtyard", "东风小区"}, &out, io.Discard, strings.NewReader("")); err != nil {
		t.Fatalf("add courtyard: %v", err)
	}
	other := s.wechatLogin(t, e2eCode("otherchair"))
	if err := run(ctx, []string{"admin", "council-member", "-user", fmt.Sprint(other.User.ID), "-seat", "chair", "-courtyard", "2"}, &out, io.Discard, strings.NewReader("")); err != nil {
		t.Fatalf("grant council chair of courtyard 2: %v", err)
	}
	other = s.wechatLogin(t, e2eCode("otherchair"))
	// A petition of another courtyard answers as if it did not exist.
	e2eWantError(t, s.call(t, "GET", base+"/export.xlsx", other.AccessToken, nil), http.StatusNotFound, "petition_not_found")
	// The council chair of this courtyard may export.
	chair := s.wechatLogin(t, e2eCode("lizhang"))
	e2eWant(t, s.call(t, "GET", base+"/export.xlsx", chair.AccessToken, nil), http.StatusOK)
	out.Reset()
	if err := run(ctx, []string{"admin", "grant", "-staff", "1", "-role", "phone_viewer", "-scope", "1"}, &out, io.Discard, strings.NewReader("")); err != nil {
		t.Fatalf("grant phone_viewer: %v", err)
	}
	// A new grant shows on the next login at once (and within seconds on a
	// token already in use: principals are cached briefly per instance).
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	e2eWant(t, s.call(t, "GET", base+"/export.csv?phones=full", staff, nil), http.StatusOK)
}

// countDataRows counts the rows after the header (the row starting 楼栋).
func countDataRows(rows [][]string) int {
	for i, r := range rows {
		if len(r) > 0 && r[0] == "楼栋" {
			n := 0
			for _, rr := range rows[i+1:] {
				if len(rr) > 0 && rr[0] != "" {
					n++
				}
			}
			return n
		}
	}
	return -1
}
