package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/louyuan/louyuan/internal/audit"
	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/sqlstore"
)

// TestAnchoredAuditChains: the scheduler publishes every stream head (a
// notice to the council); someone with database access cuts a courtyard's
// stream back and rewrites its head; plain verify cannot tell, verify
// against the anchors can, and a forged anchor file is refused.
func TestAnchoredAuditChains(t *testing.T) {
	cfg := e2eEmbeddedConfig(t)
	s := e2eStart(t, cfg)

	// The first tick published the anchors: the council's chair has the
	// digest in the inbox, staff see the notice in the courtyard's list.
	chair := s.wechatLogin(t, e2eCode("lizhang"))
	var inbox struct {
		Notices []struct {
			Notice struct {
				Kind, Title, Body string
			} `json:"notice"`
		} `json:"notices"`
	}
	deadline := time.Now().Add(20 * time.Second)
	var anchorBody string
	for anchorBody == "" && time.Now().Before(deadline) {
		r := s.call(t, "GET", "/api/v1/me/notices", chair.AccessToken, nil)
		e2eWant(t, r, 200)
		r.decode(t, &inbox)
		for _, it := range inbox.Notices {
			if it.Notice.Kind == "audit_anchor" {
				anchorBody = it.Notice.Body
			}
		}
		if anchorBody == "" {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if !strings.Contains(anchorBody, "摘要（SHA-256）") {
		t.Fatalf("the chair's inbox has no audit anchor notice with a digest: %+v", inbox.Notices)
	}

	// Something worth recording: a household binds.
	invites := e2eDemoInvites(t, cfg.DataDir)
	wang := s.wechatLogin(t, e2eCode("wang"))
	e2eWant(t, s.call(t, "POST", "/api/v1/me/households", wang.AccessToken, map[string]any{"invite_code": invites[0].Code}), 201)

	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	e2eRunEnv(t, cfg, true)
	anchors := filepath.Join(t.TempDir(), "anchors.jsonl")
	if out, err := e2eRun("audit", "anchor", "-o", anchors); err != nil {
		t.Fatalf("audit anchor: %v %s", err, out)
	}
	if out, err := e2eRun("audit", "verify", "-anchors", anchors); err != nil || !strings.Contains(out, "anchors hold") {
		t.Fatalf("verify against fresh anchors: %v\n%s", err, out)
	}
	if out, err := e2eRun("audit", "anchor", "-published"); err != nil || !strings.Contains(out, `"scope":"courtyard:1"`) {
		t.Fatalf("published anchors: %v\n%s", err, out)
	}
	published := filepath.Join(t.TempDir(), "published.jsonl")
	if _, err := e2eRun("audit", "anchor", "-published", "-o", published); err != nil {
		t.Fatal(err)
	}
	// The notice's digest is the published anchor's.
	pa, err := readAnchorsFile(published)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range pa {
		found = found || (a.Scope == "courtyard:1" && strings.Contains(anchorBody, a.Digest))
	}
	if !found {
		t.Errorf("no published anchor of courtyard:1 has the digest of the notice %q", anchorBody)
	}

	// Cut courtyard 1's stream back by its last two entries and move its
	// head onto what is left: every remaining link still holds.
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(cfg.DataDir, "louyuan.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var head struct {
		Seq  int64
		Hash string
	}
	if err := db.Raw("SELECT seq, hash FROM audit_heads WHERE stream = 'courtyard:1'").Scan(&head).Error; err != nil || head.Seq < 3 {
		t.Fatalf("head of courtyard:1: %+v %v", head, err)
	}
	if err := db.Exec("DELETE FROM audit_log WHERE stream = 'courtyard:1' AND seq > ?", head.Seq-2).Error; err != nil {
		t.Fatal(err)
	}
	var prev string
	if err := db.Raw("SELECT hash FROM audit_log WHERE stream = 'courtyard:1' AND seq = ?", head.Seq-2).Scan(&prev).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE audit_heads SET seq = ?, hash = ? WHERE stream = 'courtyard:1'", head.Seq-2, prev).Error; err != nil {
		t.Fatal(err)
	}
	if out, err := e2eRun("audit", "verify"); err != nil || !strings.Contains(out, "audit log intact") {
		t.Fatalf("plain verify after a clean truncation: %v\n%s (today's weakness: it should not notice)", err, out)
	}
	out, err := e2eRun("audit", "verify", "-anchors", anchors)
	if err == nil || !strings.Contains(out, "BROKEN courtyard:1 #") || !strings.Contains(out, "cut back") {
		t.Errorf("verify against the anchors after the truncation: %v\n%s; want the cut found", err, out)
	}

	// A forged anchor file: heads moved back to the cut stream, digest
	// recomputed — but without the audit key the MAC cannot follow.
	as, err := readAnchorsFile(anchors)
	if err != nil {
		t.Fatal(err)
	}
	for i := range as {
		if as[i].Scope != "courtyard:1" {
			continue
		}
		for j := range as[i].Heads {
			if as[i].Heads[j].Stream == "courtyard:1" {
				as[i].Entries -= as[i].Heads[j].Seq - (head.Seq - 2)
				as[i].Heads[j].Seq, as[i].Heads[j].Hash = head.Seq-2, prev
			}
		}
		as[i].Digest = audit.AnchorDigest(as[i].Scope, as[i].Heads)
	}
	var buf bytes.Buffer
	if err := audit.WriteAnchors(&buf, as); err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(t.TempDir(), "forged.jsonl")
	if err := os.WriteFile(forged, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = e2eRun("audit", "verify", "-anchors", forged)
	if err == nil || !strings.Contains(out, "MAC does not match") {
		t.Errorf("verify against a forged anchor file: %v\n%s; want the forgery found", err, out)
	}
	// A log line carrying the anchor is read as the anchor.
	line, _ := json.Marshal(map[string]any{"msg": "audit anchor", "anchor": as[0]})
	if got, err := audit.ReadAnchors(bytes.NewReader(line)); err != nil || len(got) != 1 || got[0].Digest != as[0].Digest {
		t.Errorf("anchor from a log line: %v %+v", err, got)
	}
}

func readAnchorsFile(path string) ([]audit.Anchor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return audit.ReadAnchors(f)
}

// clerkDigestCSV is what a clerk's tool does with a CSV export (README,
// "Exports that can be checked"): the data rows are the lines after the
// header up to the empty line before the "#校验信息" footer; each cell's
// guard is undone (="0301" → 0301, a leading ' before = + - @ TAB CR ' is
// dropped); cells are escaped, joined by TAB and ended by LF; SHA-256.
func clerkDigestCSV(t *testing.T, body []byte) (digest string, footer map[string]string) {
	t.Helper()
	body = bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF"))
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v", err)
	}
	h := sha256.New()
	footer = map[string]string{}
	for _, rec := range recs[1:] {
		if rec[0] == "#校验信息" {
			footer[rec[1]] = rec[2]
			continue
		}
		for i, f := range rec {
			if in, ok := strings.CutPrefix(f, `="`); ok && strings.HasSuffix(in, `"`) {
				f = strings.TrimSuffix(in, `"`)
			} else if len(f) > 1 && f[0] == '\'' && strings.ContainsRune("=+-@\t\r'", rune(f[1])) {
				f = f[1:]
			}
			if i > 0 {
				h.Write([]byte{'\t'})
			}
			h.Write([]byte(clerkEscape(f)))
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)), footer
}

// clerkDigestXLSX does the same with the data sheets of a workbook: rows
// from the third (after the title and the header), cells as shown.
// resultsVoted reads a results XLSX's summary count of voted households and
// counts the rows of its household list marked as voted.
func resultsVoted(t *testing.T, body []byte) (summary string, rows int) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("open XLSX: %v", err)
	}
	defer f.Close()
	sum, err := f.GetRows("结果汇总")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range sum {
		if len(row) > 1 && row[0] == "已投票" {
			summary = row[1]
		}
	}
	detail, err := f.GetRows("逐户明细")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range detail {
		if len(row) > 6 && row[6] == "是" {
			rows++
		}
	}
	return summary, rows
}

func clerkDigestXLSX(t *testing.T, body []byte, sheets ...string) (digest string, footer map[string]string) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("open XLSX: %v", err)
	}
	defer f.Close()
	h := sha256.New()
	for _, sh := range sheets {
		rows, err := f.GetRows(sh)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := f.GetCols(sh)
		for _, row := range rows[min(2, len(rows)):] {
			for i := 0; i < len(cols); i++ {
				if i > 0 {
					h.Write([]byte{'\t'})
				}
				if i < len(row) {
					h.Write([]byte(clerkEscape(row[i])))
				}
			}
			h.Write([]byte{'\n'})
		}
	}
	footer = map[string]string{}
	rows, err := f.GetRows("校验信息")
	if err != nil {
		t.Fatalf("no 校验信息 sheet: %v", err)
	}
	for _, r := range rows {
		if len(r) == 2 {
			footer[r[0]] = r[1]
		}
	}
	return hex.EncodeToString(h.Sum(nil)), footer
}

func clerkEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(s)
}

// auditDigests lists the digests of a courtyard's export entries of action.
func auditDigests(t *testing.T, dataDir, action string) []string {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(dataDir, "louyuan.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var details []string
	if err := db.Raw("SELECT detail FROM audit_log WHERE action = ? ORDER BY id", action).Scan(&details).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range details {
		var m map[string]any
		if err := json.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		if s, ok := m["digest"].(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// TestExportsCanBeChecked: each export carries what it is and a digest of
// its rows; the export's audit entry holds the same digest; a clerk
// recomputes it from the file; one changed byte gives another digest.
func TestExportsCanBeChecked(t *testing.T) {
	cfg := vtConfig(e2eEmbeddedConfig(t))
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)

	pt := env.createPetition(t, map[string]any{})
	base := fmt.Sprintf("/api/v1/petitions/%d", pt.ID)
	e2eWant(t, s.call(t, "POST", base+"/publish", env.staff, nil), http.StatusOK)
	for _, rep := range env.reps[:3] {
		e2eWant(t, s.call(t, "POST", base+"/signatures", rep.token, map[string]any{"household_id": rep.householdID, "real_name": "张三"}), http.StatusCreated)
	}

	r := s.call(t, "GET", base+"/export.csv?list=signed", env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	csvBody := r.Body
	got, footer := clerkDigestCSV(t, csvBody)
	if footer["摘要"] != got || footer["数据行数"] != "3" || !strings.Contains(footer["对象"], fmt.Sprintf("联名 #%d", pt.ID)) || footer["生成时间"] == "" || footer["范围"] == "" {
		t.Errorf("CSV footer %v; clerk's digest %s", footer, got)
	}
	// Room numbers stay text in Excel and WPS.
	if !bytes.Contains(csvBody, []byte(`"=""101"""`)) {
		t.Errorf("CSV room numbers are not written as =\"101\": %s", csvBody)
	}

	r = s.call(t, "GET", base+"/export.xlsx", env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	xlsxDigest, xfooter := clerkDigestXLSX(t, r.Body, "已签名", "未签名")
	if xfooter["摘要"] != xlsxDigest || xfooter["数据行数（已签名）"] != "3" || xfooter["数据行数（未签名）"] != "53" {
		t.Errorf("XLSX 校验信息 %v; clerk's digest %s", xfooter, xlsxDigest)
	}
	if ds := auditDigests(t, cfg.DataDir, "export.signatures"); len(ds) != 2 || ds[0] != got || ds[1] != xlsxDigest {
		t.Errorf("audit digests of the signature exports %v; want [%s %s]", ds, got, xlsxDigest)
	}

	// A changed byte in a data row: the clerk's digest no longer matches.
	changed := bytes.Replace(csvBody, []byte("张三"), []byte("张王"), 1)
	if d, _ := clerkDigestCSV(t, changed); d == got {
		t.Errorf("a changed name gives the same digest")
	}

	// Results of a named motion, CSV and XLSX.
	m := env.openMotion(t, map[string]any{"rule": "ordinary"}, time.Hour)
	for _, rep := range env.reps[:4] {
		e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/ballots", m.ID), rep.token, map[string]any{"household_id": rep.householdID, "options": []string{"agree"}}), http.StatusCreated)
	}
	r = s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d/results.csv", m.ID), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	resCSV, rfooter := clerkDigestCSV(t, r.Body)
	r = s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d/results.xlsx", m.ID), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	resXLSX, _ := clerkDigestXLSX(t, r.Body, "逐户明细")
	// Exported while voting goes on: the summary's voted households are
	// the rows' own (one snapshot), here the four ballots cast.
	if voted, rows := resultsVoted(t, r.Body); voted != "4" || rows != 4 {
		t.Errorf("results XLSX while voting: summary says %s voted, %d rows say so; want 4 and 4", voted, rows)
	}
	if rfooter["摘要"] != resCSV || rfooter["数据行数"] != "56" {
		t.Errorf("results CSV footer %v, clerk's digest %s", rfooter, resCSV)
	}
	if ds := auditDigests(t, cfg.DataDir, "export.results"); len(ds) != 2 || ds[0] != resCSV || ds[1] != resXLSX {
		t.Errorf("audit digests of the results exports %v; want [%s %s]", ds, resCSV, resXLSX)
	}
}

type costTableVersion struct {
	ID      int64 `json:"id"`
	Version int   `json:"version"`
	Latest  bool  `json:"latest"`
	Rows    []struct {
		HouseholdID int64  `json:"household_id"`
		Area        string `json:"area"`
		ShareFen    int64  `json:"share_fen"`
	} `json:"rows"`
	Changes []struct {
		HouseholdID int64  `json:"household_id"`
		Field       string `json:"field"`
		Old, New    string
		Text        string `json:"text"`
	} `json:"changes"`
	Pledges []struct {
		HouseholdID int64 `json:"household_id"`
		PledgeFen   int64 `json:"pledge_fen"`
	} `json:"pledges"`
}

func (v costTableVersion) share(household int64) int64 {
	for _, r := range v.Rows {
		if r.HouseholdID == household {
			return r.ShareFen
		}
	}
	return -1
}

// TestCostTablesAreFrozen: a unit's cost table is frozen when the petition
// is published; a roster edit after pledges moves neither the published
// table nor the pledges; a new version is a new table with the differences
// listed, and the pledges stay with the old one.
func TestCostTablesAreFrozen(t *testing.T) {
	cfg := vtConfig(e2eEmbeddedConfig(t))
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)

	pt := env.createPetition(t, map[string]any{"cost_sharing": true})
	base := fmt.Sprintf("/api/v1/petitions/%d", pt.ID)
	e2eWant(t, s.call(t, "PUT", base+"/cost-plan", env.staff, map[string]any{"unit_id": 1, "total_fen": 45000000,
		"coefficients": map[string]int64{"1": 0, "2": 0, "3": 600, "4": 800, "5": 1000, "6": 1200, "7": 1400}}), http.StatusOK)
	e2eWant(t, s.call(t, "POST", base+"/publish", env.staff, nil), http.StatusOK)

	versions := func(token string) []costTableVersion {
		t.Helper()
		r := s.call(t, "GET", base+"/cost-tables?unit_id=1", token, nil)
		e2eWant(t, r, http.StatusOK)
		var out struct {
			Versions []costTableVersion `json:"versions"`
		}
		r.decode(t, &out)
		return out.Versions
	}
	v := versions(env.staff)
	if len(v) != 1 || v[0].Version != 1 || !v[0].Latest || len(v[0].Rows) == 0 {
		t.Fatalf("after publishing: %+v; want version 1 frozen", v)
	}
	v1 := v[0]

	// Two households of unit 1 pledge their shares.
	var unit1 []e2eHousehold
	for _, h := range env.households {
		if h.Building+h.Unit == "1号楼1单元" {
			unit1 = append(unit1, h)
		}
	}
	top, other := unit1[len(unit1)-1], unit1[len(unit1)-2]
	for _, h := range []e2eHousehold{top, other} {
		rep := env.byHouse[h.ID]
		e2eWant(t, s.call(t, "POST", base+"/signatures", rep.token, map[string]any{"household_id": h.ID, "real_name": "张三", "pledge_fen": v1.share(h.ID)}), http.StatusCreated)
	}

	// The roster is edited: the top household's area grows by 10 m².
	area, err := louyuan.ParseArea(top.Area)
	if err != nil || len(top.Owners) != 1 {
		t.Fatalf("top household %+v: %v", top, err)
	}
	file := e2eXLSX(t, [][]any{e2eRosterHeader, {top.Building, top.Unit, top.Room, top.Floor, (area + 1000).String(), top.Owners[0]}})
	e2eWant(t, s.call(t, "POST", "/api/v1/courtyards/1/roster", env.staff, e2eMultipart{Field: "file", FileName: "名册.xlsx", Data: file}), http.StatusOK)

	// The published table, the residents' shares and the pledges do not move.
	v = versions(env.byHouse[top.ID].token)
	if len(v) != 1 || !reflect.DeepEqual(v[0].Rows, v1.Rows) {
		t.Fatalf("after the roster edit the published table moved: %+v", v)
	}
	if len(v[0].Pledges) != 2 || v[0].Pledges[0].PledgeFen+v[0].Pledges[1].PledgeFen != v1.share(top.ID)+v1.share(other.ID) {
		t.Errorf("pledges of version 1: %+v", v[0].Pledges)
	}
	r := s.call(t, "GET", "/api/v1/me/petitions", env.byHouse[top.ID].token, nil)
	var mine ptMine
	r.decode(t, &mine)
	for _, p := range mine.Petitions {
		if p.Petition.ID == pt.ID && (p.ShareFen == nil || *p.ShareFen != v1.share(top.ID)) {
			t.Errorf("the resident's share after the roster edit: %v, want the frozen %d", p.ShareFen, v1.share(top.ID))
		}
	}

	// A new version: the differences are listed; the pledges stay with version 1.
	r = s.call(t, "POST", base+"/cost-tables", env.staff, map[string]any{"unit_id": 1})
	e2eWant(t, r, http.StatusCreated)
	var v2 costTableVersion
	r.decode(t, &v2)
	if v2.Version != 2 || !v2.Latest || len(v2.Pledges) != 0 {
		t.Errorf("version 2: %+v", v2)
	}
	var areaChange, shareChange bool
	for _, c := range v2.Changes {
		areaChange = areaChange || (c.HouseholdID == top.ID && c.Field == "area" && c.Old == area.String() && c.New == (area+1000).String() && strings.Contains(c.Text, "面积"))
		shareChange = shareChange || (c.HouseholdID == top.ID && c.Field == "share_fen")
	}
	if !areaChange || !shareChange || v2.share(top.ID) <= v1.share(top.ID) {
		t.Errorf("version 2 changes %+v; want the top household's area and share (%d → %d)", v2.Changes, v1.share(top.ID), v2.share(top.ID))
	}
	v = versions(env.staff)
	if len(v) != 2 || v[0].Latest || !reflect.DeepEqual(v[0].Rows, v1.Rows) || len(v[0].Pledges) != 2 {
		t.Errorf("version 1 after version 2: %+v", v[0])
	}
	e2eWantError(t, s.call(t, "POST", base+"/cost-tables", env.staff, map[string]any{"unit_id": 1}), http.StatusConflict, "cost_table_unchanged")
	e2eWantError(t, s.call(t, "POST", base+"/cost-tables", env.byHouse[top.ID].token, map[string]any{"unit_id": 1}), http.StatusForbidden, "not_in_scope")
}

// TestPaperTrailSheet: the printable reconciliation sheet of a secret
// motion lists households and channels (paper, electronic, both) with the
// counting staff's signature lines, never a choice; its digest is audited.
func TestPaperTrailSheet(t *testing.T) {
	cfg := vtConfig(e2eEmbeddedConfig(t))
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)
	m := env.openMotion(t, map[string]any{"rule": "ordinary", "ballot_mode": "secret"}, time.Hour)
	ballots := fmt.Sprintf("/api/v1/motions/%d/ballots", m.ID)
	paper := func(household int64, option string) {
		t.Helper()
		photo := pdKey(t, pdUpload(t, s, env.staff, "paper_ballot", "1"))
		e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/motions/%d/paper-ballots", m.ID), env.staff,
			map[string]any{"household_id": household, "options": []string{option}, "photo": photo}), http.StatusCreated)
	}
	// reps[0]: electronic only; reps[1]: paper only; reps[2]: both.
	e2eWant(t, s.call(t, "POST", ballots, env.reps[0].token, map[string]any{"household_id": env.reps[0].householdID, "options": []string{"agree"}}), http.StatusCreated)
	paper(env.reps[1].householdID, "oppose")
	e2eWant(t, s.call(t, "POST", ballots, env.reps[2].token, map[string]any{"household_id": env.reps[2].householdID, "options": []string{"agree"}}), http.StatusCreated)
	paper(env.reps[2].householdID, "abstain")

	e2eWantError(t, s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d/paper-trail.xlsx", m.ID), env.reps[0].token, nil), http.StatusForbidden, "not_in_scope")
	r := s.call(t, "GET", fmt.Sprintf("/api/v1/motions/%d/paper-trail.xlsx", m.ID), env.staff, nil)
	e2eWant(t, r, http.StatusOK)
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("纸质与电子核对")
	byRoom := map[string][]string{}
	var all strings.Builder
	for _, row := range rows {
		all.WriteString(strings.Join(row, "|") + "\n")
		if len(row) >= 3 {
			byRoom[strings.Join(row[:3], "")] = row
		}
	}
	label := func(id int64) string {
		for _, h := range env.households {
			if h.ID == id {
				return h.label()
			}
		}
		return ""
	}
	check := func(i int, paper, electronic, both string) {
		t.Helper()
		row := append(byRoom[label(env.reps[i].householdID)], "", "", "", "", "", "")
		if row[3] != paper || row[4] != electronic || row[5] != both {
			t.Errorf("household %d: row %q; want 纸质 %q 电子 %q 两者 %q", env.reps[i].householdID, row, paper, electronic, both)
		}
	}
	check(0, "", "是", "")
	check(1, "是", "", "")
	check(2, "是", "是", "是")
	for _, want := range []string{"计票人（签字）", "监票人（签字）", "合计"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("the sheet has no %q:\n%s", want, all.String())
		}
	}
	for _, leak := range []string{"同意", "反对", "弃权"} {
		if strings.Contains(all.String(), leak) {
			t.Errorf("the secret motion's sheet shows a choice (%q):\n%s", leak, all.String())
		}
	}
	// The digest: the household rows (up to the first empty row), as a clerk recomputes it.
	n := 2
	for n < len(rows) && len(rows[n]) > 0 {
		n++
	}
	h := sha256.New()
	for _, row := range rows[2:n] {
		row = append(row, make([]string, 8-len(row))...)
		h.Write([]byte(strings.Join(row, "\t") + "\n"))
	}
	digest := hex.EncodeToString(h.Sum(nil))
	seal, _ := f.GetRows("校验信息")
	var sealDigest string
	for _, r := range seal {
		if len(r) == 2 && r[0] == "摘要" {
			sealDigest = r[1]
		}
	}
	if ds := auditDigests(t, cfg.DataDir, "export.paper_trail"); n-2 != 3 || sealDigest != digest || len(ds) != 1 || ds[0] != digest {
		t.Errorf("%d household rows; digest %s, 校验信息 %s, audited %v", n-2, digest, sealDigest, ds)
	}
}
