package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/testenv"
)

type opView struct {
	Opinion struct {
		ID         int64    `json:"id"`
		Status     string   `json:"status"`
		AssigneeID int64    `json:"assignee_id"`
		Rating     int      `json:"rating"`
		Reopened   bool     `json:"reopened"`
		Public     bool     `json:"public"`
		Photos     []string `json:"photos"`
		DraftRef   string   `json:"draft_ref"`
	} `json:"opinion"`
	Replies []struct {
		Author string `json:"author"`
		Status string `json:"status"`
	} `json:"replies"`
}

type opList struct {
	Opinions []struct {
		ID int64 `json:"id"`
	} `json:"opinions"`
}

func (l opList) ids() []int64 {
	var out []int64
	for _, o := range l.Opinions {
		out = append(out, o.ID)
	}
	return out
}

// TestOpinionLifecycle raises a private and a public opinion and runs the
// private one through assignment, replies, resolution, a rating, one
// reopen (a second refused), with who may see what: a neighbour and a
// resident of another courtyard get 404 on the private one.
func TestOpinionLifecycle(t *testing.T) {
	cfg := vtConfig(e2eEmbeddedConfig(t))
	s := e2eStart(t, cfg)
	env := vtSetup(t, s)
	call := func(method, path, token string, body any) e2eResponse {
		t.Helper()
		return s.call(t, method, "/api/v1"+path, token, body)
	}
	raiser, neighbour := env.reps[0], env.reps[1]
	chair := s.wechatLogin(t, e2eCode("lizhang"))
	member := s.wechatLogin(t, e2eCode("lishi"))

	// Another courtyard with one bound resident.
	e2eRunEnv(t, cfg, true)
	if out, err := e2eRun("admin", "add-courtyard", "-subdistrict", "新华路街道", "-community", "桐本北路社区", "-courtyard", "东风小区"); err != nil {
		t.Fatalf("add courtyard: %v (%s)", err, out)
	}
	e2eWant(t, call("POST", "/courtyards/2/roster", env.staff, e2eMultipart{Field: "file", FileName: "名册.xlsx", Data: e2eXLSX(t, [][]any{
		e2eRosterHeader, {"1号楼", "1单元", "101", 1, "60.00", "外院甲"}})}), http.StatusOK)
	hs2 := s.courtyardHouseholds(t, env.staff, 2)
	r := call("POST", "/courtyards/2/invites?format=json", env.staff, map[string]any{"household_ids": []int64{hs2[0].ID}})
	e2eWant(t, r, http.StatusCreated)
	outsider := s.wechatLogin(t, e2eCode("outsider"))
	e2eWant(t, call("POST", "/me/households", outsider.AccessToken, map[string]string{"invite_code": e2eInviteCodes(t, r)[0]}), http.StatusCreated)

	// A tenant of household 3 may raise an opinion; a stranger may not.
	r = call("POST", "/courtyards/1/invites?format=json", env.staff, map[string]any{"household_ids": []int64{env.reps[3].householdID}, "role": "tenant"})
	e2eWant(t, r, http.StatusCreated)
	tenant := s.wechatLogin(t, e2eCode("optenant"))
	e2eWant(t, call("POST", "/me/households", tenant.AccessToken, map[string]string{"invite_code": e2eInviteCodes(t, r)[0]}), http.StatusCreated)
	stranger := s.wechatLogin(t, e2eCode("stranger"))
	e2eWantError(t, call("POST", "/courtyards/1/opinions", stranger.AccessToken, map[string]any{"category": "repair", "body": "楼道灯坏了很久了"}),
		http.StatusForbidden, "not_resident")
	e2eWantError(t, call("POST", "/courtyards/1/opinions", outsider.AccessToken, map[string]any{"category": "repair", "body": "楼道灯坏了很久了"}),
		http.StatusForbidden, "not_resident")
	e2eWantError(t, call("POST", "/courtyards/1/opinions", raiser.token, map[string]any{"category": "gossip", "body": "楼道灯坏了很久了"}),
		http.StatusBadRequest, "bad_category")

	// The private opinion, with a photo the raiser uploaded.
	photo := pdKey(t, pdUpload(t, s, raiser.token, "opinion_photo", "1"))
	otherPhoto := pdKey(t, pdUpload(t, s, neighbour.token, "opinion_photo", "1"))
	e2eWantError(t, call("POST", "/courtyards/1/opinions", raiser.token, map[string]any{"category": "repair", "body": "1单元楼道灯坏了两个月",
		"photos": []string{otherPhoto}}), http.StatusBadRequest, "bad_photo")
	r = call("POST", "/courtyards/1/opinions", raiser.token, map[string]any{"category": "repair", "body": "1单元楼道灯坏了两个月，晚上看不见台阶",
		"photos": []string{photo}, "building_id": 0})
	e2eWant(t, r, http.StatusCreated)
	var priv struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	r.decode(t, &priv)
	if priv.Status != "received" {
		t.Fatalf("new opinion: %s", r)
	}
	r = call("POST", "/courtyards/1/opinions", neighbour.token, map[string]any{"category": "suggestion", "body": "建议在院子里加几把长椅", "public": true})
	e2eWant(t, r, http.StatusCreated)
	var pub struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &pub)
	e2eWant(t, call("POST", "/courtyards/1/opinions", tenant.AccessToken, map[string]any{"category": "parking", "body": "电动车乱停挡住了单元门"}), http.StatusCreated)

	op := func(suffix string) string { return fmt.Sprintf("/opinions/%d%s", priv.ID, suffix) }
	// Who sees the private one.
	for _, who := range []struct {
		name, token string
		status      int
	}{
		{"raiser", raiser.token, http.StatusOK}, {"chair", chair.AccessToken, http.StatusOK}, {"member", member.AccessToken, http.StatusOK},
		{"staff", env.staff, http.StatusOK}, {"neighbour", neighbour.token, http.StatusNotFound}, {"tenant", tenant.AccessToken, http.StatusNotFound},
		{"another courtyard's resident", outsider.AccessToken, http.StatusNotFound}, {"stranger", stranger.AccessToken, http.StatusNotFound},
	} {
		r := call("GET", op(""), who.token, nil)
		if r.Status != who.status {
			t.Errorf("%s reading the private opinion: %s, want %d", who.name, r, who.status)
		}
		if who.status == http.StatusNotFound {
			e2eWantError(t, r, http.StatusNotFound, "opinion_not_found")
			e2eWantError(t, call("GET", op("/photos/"+photo), who.token, nil), http.StatusNotFound, "opinion_not_found")
			e2eWantError(t, call("POST", op("/replies"), who.token, map[string]any{"body": "收到"}), http.StatusNotFound, "opinion_not_found")
		}
	}
	e2eWant(t, call("GET", op("/photos/"+photo), chair.AccessToken, nil), http.StatusOK)
	// The public one: the courtyard's residents, not another courtyard's.
	e2eWant(t, call("GET", fmt.Sprintf("/opinions/%d", pub.ID), raiser.token, nil), http.StatusOK)
	e2eWant(t, call("GET", fmt.Sprintf("/opinions/%d", pub.ID), tenant.AccessToken, nil), http.StatusOK)
	e2eWantError(t, call("GET", fmt.Sprintf("/opinions/%d", pub.ID), outsider.AccessToken, nil), http.StatusNotFound, "opinion_not_found")
	// Lists: a resident sees their own and the public ones.
	var l opList
	r = call("GET", "/courtyards/1/opinions", raiser.token, nil)
	e2eWant(t, r, http.StatusOK)
	r.decode(t, &l)
	if got := l.ids(); len(got) != 2 || got[0] != pub.ID || got[1] != priv.ID {
		t.Errorf("the raiser's list: %v, want [%d %d]", got, pub.ID, priv.ID)
	}
	r = call("GET", "/courtyards/1/opinions", neighbour.token, nil)
	r.decode(t, &l)
	if got := l.ids(); len(got) != 1 || got[0] != pub.ID {
		t.Errorf("a neighbour's list: %v, want only the public %d", got, pub.ID)
	}
	r = call("GET", "/courtyards/1/opinions", chair.AccessToken, nil)
	r.decode(t, &l)
	if len(l.Opinions) != 3 {
		t.Errorf("the council's list: %s", r)
	}
	e2eWantError(t, call("GET", "/courtyards/1/opinions", outsider.AccessToken, nil), http.StatusForbidden, "not_in_scope")
	r = call("GET", "/me/opinions", raiser.token, nil)
	r.decode(t, &l)
	if got := l.ids(); len(got) != 1 || got[0] != priv.ID {
		t.Errorf("my opinions: %v", got)
	}

	// The council assigns, replies, resolves; residents cannot.
	e2eWantError(t, call("POST", fmt.Sprintf("/opinions/%d/replies", pub.ID), raiser.token, map[string]any{"body": "我来答复"}), http.StatusForbidden, "not_council")
	e2eWantError(t, call("POST", op("/assign"), chair.AccessToken, map[string]any{"assignee_id": raiser.userID}), http.StatusBadRequest, "assignee_not_council")
	r = call("POST", op("/assign"), chair.AccessToken, map[string]any{"assignee_id": member.User.ID})
	e2eWant(t, r, http.StatusOK)
	e2eWantError(t, call("POST", op("/rating"), raiser.token, map[string]any{"rating": 5}), http.StatusConflict, "not_resolved")
	e2eWant(t, call("POST", op("/replies"), member.AccessToken, map[string]any{"body": "已联系物业，本周内更换灯泡", "status": "in_progress"}), http.StatusCreated)
	e2eWantError(t, call("POST", op("/replies"), member.AccessToken, map[string]any{"body": "退回", "status": "received"}), http.StatusConflict, "status_backwards")
	r = call("POST", op("/replies"), member.AccessToken, map[string]any{"body": "灯已换好", "status": "resolved"})
	e2eWant(t, r, http.StatusCreated)
	var v opView
	r.decode(t, &v)
	if v.Opinion.Status != "resolved" || v.Opinion.AssigneeID != member.User.ID || len(v.Replies) != 2 {
		t.Errorf("after resolving: %s", r)
	}
	// The raiser was told, through the notice pipeline.
	r = call("GET", "/me/notices", raiser.token, nil)
	e2eWant(t, r, http.StatusOK)
	if !strings.Contains(r.String(), "您的意见已处理完毕") {
		t.Errorf("the raiser's notices lack the answer: %s", r)
	}

	// The raiser rates (others may not), reopens once; a second reopen is refused.
	e2eWantError(t, call("POST", op("/rating"), chair.AccessToken, map[string]any{"rating": 5}), http.StatusForbidden, "not_raiser")
	e2eWantError(t, call("POST", op("/rating"), raiser.token, map[string]any{"rating": 6}), http.StatusBadRequest, "bad_rating")
	r = call("POST", op("/rating"), raiser.token, map[string]any{"rating": 2})
	e2eWant(t, r, http.StatusOK)
	e2eWantError(t, call("POST", op("/rating"), raiser.token, map[string]any{"rating": 3}), http.StatusConflict, "already_rated")
	r = call("POST", op("/reopen"), raiser.token, map[string]any{"reason": "另一个灯还是坏的"})
	e2eWant(t, r, http.StatusOK)
	r.decode(t, &v)
	if v.Opinion.Status != "in_progress" || !v.Opinion.Reopened || v.Opinion.Rating != 0 {
		t.Errorf("after reopening: %s", r)
	}
	e2eWant(t, call("POST", op("/replies"), chair.AccessToken, map[string]any{"body": "两个灯都换好了", "status": "resolved"}), http.StatusCreated)
	e2eWant(t, call("POST", op("/rating"), raiser.token, map[string]any{"rating": 5}), http.StatusOK)
	e2eWantError(t, call("POST", op("/reopen"), raiser.token, map[string]any{"reason": "还想再开"}), http.StatusConflict, "already_reopened")

	// The public suggestion becomes a petition draft, once.
	pp := fmt.Sprintf("/opinions/%d/petition-draft", pub.ID)
	petition := map[string]any{"scope_type": "courtyard", "title": "院内加装长椅", "deadline": time.Now().Add(72 * time.Hour),
		"target_households": map[string]any{"num": 1, "den": 2}}
	e2eWantError(t, call("POST", pp, neighbour.token, petition), http.StatusForbidden, "not_council")
	r = call("POST", pp, chair.AccessToken, petition)
	e2eWant(t, r, http.StatusCreated)
	var drafted struct {
		Opinion struct {
			DraftRef string `json:"draft_ref"`
			Status   string `json:"status"`
		} `json:"opinion"`
		Petition struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
			Body   string `json:"body"`
		} `json:"petition"`
	}
	r.decode(t, &drafted)
	if drafted.Petition.Status != "draft" || drafted.Opinion.DraftRef != fmt.Sprintf("petition:%d", drafted.Petition.ID) || drafted.Petition.Body != "建议在院子里加几把长椅" {
		t.Errorf("petition draft: %s", r)
	}
	e2eWantError(t, call("POST", pp, chair.AccessToken, petition), http.StatusConflict, "already_drafted")
}

// TestSurveyOneResponsePerHousehold opens a survey of the demo council's
// term, answers it from three households (a second answer, and two
// parallel answers of one household, give one response), and checks the
// averages, the anonymous texts and the community comparison.
func TestSurveyOneResponsePerHousehold(t *testing.T) {
	for _, mode := range []string{"sqlite", "mariadb"} {
		t.Run(mode, func(t *testing.T) {
			cfg := vtConfig(e2eEmbeddedConfig(t))
			if mode == "mariadb" {
				rds := testenv.Redis(t)
				cfg = vtConfig(e2eProductionConfig(t, testenv.MySQL(t), "redis://"+testenv.RedisAddr(), rds.Prefix, e2eNewSecrets(t)))
			}
			s := e2eStart(t, cfg)
			env := vtSetup(t, s)
			call := func(method, path, token string, body any) e2eResponse {
				t.Helper()
				return s.call(t, method, "/api/v1"+path, token, body)
			}
			chair := s.wechatLogin(t, e2eCode("lizhang"))
			r := call("GET", "/courtyards/1/councils", env.staff, nil)
			var cs struct {
				Councils []struct {
					ID int64 `json:"id"`
				} `json:"councils"`
			}
			r.decode(t, &cs)
			councilID := cs.Councils[0].ID
			body := map[string]any{"title": "2026年度理事会满意度测评", "closes_at": time.Now().Add(48 * time.Hour), "questions": []map[string]string{
				{"text": "总体满意度", "kind": "rating"}, {"text": "办事公开透明", "kind": "rating"}, {"text": "意见和建议", "kind": "text"}}}
			e2eWantError(t, call("POST", fmt.Sprintf("/councils/%d/surveys", councilID), env.reps[0].token, body), http.StatusForbidden, "not_in_scope")
			r = call("POST", fmt.Sprintf("/councils/%d/surveys", councilID), chair.AccessToken, body)
			e2eWant(t, r, http.StatusCreated)
			var sv struct {
				ID     int64 `json:"id"`
				TermID int64 `json:"term_id"`
			}
			r.decode(t, &sv)
			sp := func(suffix string) string { return fmt.Sprintf("/surveys/%d%s", sv.ID, suffix) }
			answer := func(rep vtRep, a, b int, text string) e2eResponse {
				return call("POST", sp("/responses"), rep.token, map[string]any{"household_id": rep.householdID,
					"answers": []map[string]any{{"rating": a}, {"rating": b}, {"text": text}}})
			}
			e2eWant(t, answer(env.reps[0], 5, 4, "楼道干净多了"), http.StatusCreated)
			e2eWant(t, answer(env.reps[1], 4, 2, ""), http.StatusCreated)
			e := e2eWantError(t, answer(env.reps[0], 1, 1, "再答一次"), http.StatusConflict, "already_answered")
			if !e2eHasHan(e.Error.Message) {
				t.Errorf("the second answer's message is not Chinese: %q", e.Error.Message)
			}
			// Another household's representative cannot answer for household 0.
			e2eWantError(t, call("POST", sp("/responses"), env.reps[2].token, map[string]any{"household_id": env.reps[0].householdID,
				"answers": []map[string]any{{"rating": 1}, {"rating": 1}, {"text": ""}}}), http.StatusForbidden, "not_representative")
			e2eWantError(t, answer(env.reps[2], 6, 1, ""), http.StatusBadRequest, "bad_answers")
			// Two parallel answers of one household: one counts.
			var wg sync.WaitGroup
			statuses := make([]int, 2)
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i] = answer(env.reps[2], 3, 3, "希望多开居民会").Status
				}()
			}
			wg.Wait()
			if !(statuses[0] == http.StatusCreated && statuses[1] == http.StatusConflict || statuses[0] == http.StatusConflict && statuses[1] == http.StatusCreated) {
				t.Errorf("two parallel answers of one household: %v, want one 201 and one 409", statuses)
			}
			r = call("GET", sp(""), env.reps[2].token, nil)
			e2eWant(t, r, http.StatusOK)

			r = call("GET", sp("/results"), env.reps[5].token, nil)
			e2eWant(t, r, http.StatusOK)
			var res struct {
				Responses int `json:"responses"`
				Questions []struct {
					Average *float64 `json:"average"`
					Texts   []string `json:"texts"`
				} `json:"questions"`
				Average *float64 `json:"average"`
			}
			r.decode(t, &res)
			if res.Responses != 3 || *res.Questions[0].Average != 4 || *res.Questions[1].Average != 3 || *res.Average != 3.5 {
				t.Errorf("results: %s; want 3 responses, averages 4 and 3, overall 3.5", r)
			}
			if len(res.Questions[2].Texts) != 2 || strings.Contains(r.String(), "household") || strings.Contains(r.String(), "user_id") {
				t.Errorf("free texts must be listed without who wrote them: %s", r)
			}
			// The community comparison: staff only.
			e2eWantError(t, call("GET", "/communities/1/survey-comparison", chair.AccessToken, nil), http.StatusForbidden, "not_in_scope")
			r = call("GET", "/communities/1/survey-comparison", env.staff, nil)
			e2eWant(t, r, http.StatusOK)
			var cmp struct {
				Councils []struct {
					CouncilID int64 `json:"council_id"`
					Latest    *struct {
						Responses int      `json:"responses"`
						Average   *float64 `json:"average"`
					} `json:"latest"`
				} `json:"councils"`
			}
			r.decode(t, &cmp)
			if len(cmp.Councils) != 1 || cmp.Councils[0].Latest == nil || cmp.Councils[0].Latest.Responses != 3 || *cmp.Councils[0].Latest.Average != 3.5 {
				t.Errorf("comparison: %s", r)
			}
			// Closed: no more answers.
			e2eWant(t, call("POST", sp("/close"), env.staff, nil), http.StatusOK)
			e2eWantError(t, answer(env.reps[4], 3, 3, ""), http.StatusConflict, "survey_closed")
		})
	}
}
