package main

// End-to-end test of issue #10 §6 (names and texts): NUL, other control
// characters and bidirectional overrides never get into a name or title
// through the API, and a roster's names are stored without them.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestE2EInvisibleCharactersInNamesAndTitles(t *testing.T) {
	s := e2eStart(t, vtConfig(e2eEmbeddedConfig(t)))
	env := vtSetup(t, s)
	// refused checks a text_invisible_characters answer that names field.
	refused := func(t *testing.T, r e2eResponse, field string) {
		t.Helper()
		e := e2eWantError(t, r, http.StatusBadRequest, "text_invisible_characters")
		if !strings.HasPrefix(e.Error.Message, field+"中有看不见的") {
			t.Errorf("message %q does not name the field %s", e.Error.Message, field)
		}
	}
	const rlo, nul, bel, lri = "\u202E", "\x00", "\x07", "\u2066"

	t.Run("motion", func(t *testing.T) {
		motion := func(title, body string, candidates []string) e2eResponse {
			m := map[string]any{"scope_type": "courtyard", "title": title, "body": body, "rule": "ordinary", "ballot_mode": "named",
				"notice_days": 0, "objection_days": 0, "opens_at": time.Now().Add(time.Hour), "closes_at": time.Now().Add(48 * time.Hour)}
			if candidates != nil {
				m["rule"], m["seats"], m["candidates"] = "election", 1, candidates
			}
			return s.call(t, "POST", "/api/v1/courtyards/1/motions", env.staff, m)
		}
		refused(t, motion("1号楼加装电梯"+rlo+"意同不", "", nil), "标题")
		refused(t, motion("1号楼加装电梯", "正文"+nul, nil), "正文")
		refused(t, motion("理事会选举", "", []string{"张三", "李" + lri + "四"}), "候选人姓名")
		// Line breaks in a body are text, not control characters.
		e2eWant(t, motion("1号楼加装电梯", "第一条\n第二条", nil), http.StatusCreated)
	})

	t.Run("petition and signature", func(t *testing.T) {
		body := map[string]any{"scope_type": "courtyard", "title": "加装电梯" + bel, "deadline": time.Now().Add(24 * time.Hour),
			"target_households": map[string]any{"num": 2, "den": 3}}
		refused(t, s.call(t, "POST", "/api/v1/courtyards/1/petitions", env.staff, body), "标题")
		pt := env.createPetition(t, map[string]any{})
		e2eWant(t, s.call(t, "POST", fmt.Sprintf("/api/v1/petitions/%d/publish", pt.ID), env.staff, nil), http.StatusOK)
		rep := env.reps[0]
		r := s.call(t, "POST", fmt.Sprintf("/api/v1/petitions/%d/signatures", pt.ID), rep.token,
			map[string]any{"household_id": rep.householdID, "real_name": "王" + rlo + "春芬"})
		refused(t, r, "真实姓名")
	})

	t.Run("notice", func(t *testing.T) {
		targets := []map[string]any{{"scope_type": "courtyard", "scope_id": 1}}
		refused(t, s.call(t, "POST", "/api/v1/notices", env.staff, map[string]any{"targets": targets, "title": "停水" + rlo, "body": "周六停水"}), "通知标题")
		refused(t, s.call(t, "POST", "/api/v1/notices", env.staff, map[string]any{"targets": targets, "title": "停水", "body": "周六\x1b[31m停水"}), "通知正文")
	})

	t.Run("bind request", func(t *testing.T) {
		zhao := s.wechatLogin(t, e2eCode("zhaoxx")).AccessToken
		r := s.call(t, "POST", fmt.Sprintf("/api/v1/households/%d/bind-requests", env.households[3].ID), zhao,
			map[string]any{"role": "owner", "real_name": "赵" + nul + "六"})
		refused(t, r, "真实姓名")
	})

	t.Run("roster names are stored without them", func(t *testing.T) {
		// (excelize writes only characters XML allows; Excel's _xHHHH_ form of
		// control characters is covered by the spreadsheet package's tests.)
		file := e2eXLSX(t, [][]any{e2eRosterHeader, {"3号楼", "1单元", "101", 1, "88.50", "张" + rlo + "三" + lri}})
		r := s.call(t, "POST", "/api/v1/courtyards/1/roster", env.staff, e2eMultipart{Field: "file", FileName: "r.xlsx", Data: file})
		e2eWant(t, r, http.StatusOK)
		h, ok := e2eFind(s.courtyardHouseholds(t, env.staff, 1), "3号楼", "1单元", "101")
		if !ok || len(h.Owners) != 1 || h.Owners[0] != "张三" {
			raw, _ := json.Marshal(h.Owners)
			t.Errorf("imported owners %s (found %v), want [\"张三\"]", raw, ok)
		}
	})
}
