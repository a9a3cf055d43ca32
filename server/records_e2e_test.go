package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/audit"
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
