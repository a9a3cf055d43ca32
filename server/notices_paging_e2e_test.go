package main

// A courtyard's notices page and filter in the database (they grow for
// years): past the 200 the unpaged list shows, every page is reachable,
// newest first, with the status and title filters counted in the total
// and LIKE's wildcards taken as plain characters.

import (
	"fmt"
	"net/http"
	"testing"
)

func TestE2ENoticesPageInTheDatabase(t *testing.T) {
	s := e2eStart(t, e2eEmbeddedConfig(t))
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	type page struct {
		Notices []struct {
			ID     int64  `json:"id"`
			Title  string `json:"title"`
			Status string `json:"status"`
		} `json:"notices"`
		Total    int `json:"total"`
		Page     int `json:"page"`
		PageSize int `json:"page_size"`
	}
	list := func(query string) page {
		t.Helper()
		r := s.call(t, "GET", "/api/v1/courtyards/1/notices"+query, staff, nil)
		e2eWant(t, r, http.StatusOK)
		var p page
		r.decode(t, &p)
		return p
	}
	before, sentBefore, draftsBefore := list("").Total, list("?status=sent").Total, list("?status=draft").Total
	const n = 205
	for i := 1; i <= n; i++ {
		title := fmt.Sprintf("楼道清扫安排第%d期", i)
		switch {
		case i%50 == 0:
			title = fmt.Sprintf("停水通知第%d期", i)
		case i == 7:
			title = "维修进度100%完成"
		}
		r := s.call(t, "POST", "/api/v1/notices", staff, map[string]any{
			"targets": []map[string]any{{"scope_type": "courtyard", "scope_id": 1}}, "title": title, "body": "请各位邻居留意。"})
		e2eWant(t, r, http.StatusCreated)
	}

	all := list("")
	if len(all.Notices) != 200 {
		t.Errorf("unpaged list: %d notices, want the 200 newest", len(all.Notices))
	}
	first := list("?page=1&page_size=100")
	if first.Total != before+n || len(first.Notices) != 100 || first.Notices[0].Title != fmt.Sprintf("楼道清扫安排第%d期", n) {
		t.Fatalf("page 1: total %d, %d rows, first %q; want %d, 100, the newest", first.Total, len(first.Notices), first.Notices[0].Title, before+n)
	}
	last := list("?page=3&page_size=100")
	if len(last.Notices) != before+n-200 || last.Notices[len(last.Notices)-1].ID >= first.Notices[99].ID {
		t.Errorf("page 3: %d rows, want %d, older than page 1", len(last.Notices), before+n-200)
	}
	seen := map[int64]bool{}
	for p := 1; p <= 3; p++ {
		for _, x := range list(fmt.Sprintf("?page=%d&page_size=100", p)).Notices {
			if seen[x.ID] {
				t.Errorf("notice %d on two pages", x.ID)
			}
			seen[x.ID] = true
		}
	}
	if len(seen) != before+n {
		t.Errorf("pages hold %d notices, want %d", len(seen), before+n)
	}

	if q := list("?q=停水&page=1&page_size=2"); q.Total != 4 || len(q.Notices) != 2 || q.Notices[0].Title != "停水通知第200期" {
		t.Errorf("title filter 停水: total %d, %d rows; want 4 in all, the newest first", q.Total, len(q.Notices))
	}
	if q := list("?q=100%25&page=1"); q.Total != 1 || q.Notices[0].Title != "维修进度100%完成" {
		t.Errorf("title filter 100%%: total %d; want only the notice that says 100%%", q.Total)
	}
	if q := list("?q=_&page=1"); q.Total != 0 {
		t.Errorf("title filter _: total %d; want none (no title holds an underscore)", q.Total)
	}
	sent := list("?status=sent&page=1")
	if sent.Total != sentBefore {
		t.Errorf("status filter sent: total %d, want %d (the new notices are drafts)", sent.Total, sentBefore)
	}
	for _, x := range sent.Notices {
		if x.Status != "sent" {
			t.Errorf("status filter sent lists %q (%s)", x.Title, x.Status)
		}
	}
	if q := list("?status=draft&page=2&page_size=100"); q.Total != draftsBefore+n || len(q.Notices) != 100 {
		t.Errorf("status filter draft: total %d, page 2 has %d rows; want %d and 100", q.Total, len(q.Notices), draftsBefore+n)
	}
}
