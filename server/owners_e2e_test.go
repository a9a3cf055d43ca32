package main

// End-to-end tests of issue #10 §2 (owners counted once, and only the right
// owners merged) through the real server in the embedded default.

import (
	"encoding/json"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/testenv"
)

// ownersE2EHeadSummary is HeadSummary as the API shows it.
type ownersE2EHeadSummary struct {
	Households           int `json:"households"`
	Owners               int `json:"owners"`
	Heads                int `json:"heads"`
	OwnersOfSeveralUnits []struct {
		Name   string   `json:"name"`
		IDTail string   `json:"id_tail"`
		Units  []string `json:"units"`
	} `json:"owners_of_several_units"`
}

func (s ownersE2EHeadSummary) several() []string {
	var out []string
	for _, o := range s.OwnersOfSeveralUnits {
		out = append(out, o.Name+"/"+o.IDTail+":"+strings.Join(o.Units, ","))
	}
	return out
}

// ownersE2EList is the courtyard household list with its summary.
type ownersE2EList struct {
	Households []struct {
		e2eHousehold
		HeadID               int64    `json:"head_id"`
		OwnersWithOtherUnits []string `json:"owners_with_other_units"`
	} `json:"households"`
	Summary *ownersE2EHeadSummary `json:"summary"`
}

func ownersE2EHouseholds(t *testing.T, s *e2eServer, token string) ownersE2EList {
	t.Helper()
	r := s.call(t, "GET", "/api/v1/courtyards/1/households", token, nil)
	e2eWant(t, r, http.StatusOK)
	var out ownersE2EList
	r.decode(t, &out)
	if out.Summary == nil {
		t.Fatalf("the household list has no summary of owners and heads: %s", r)
	}
	return out
}

// ownersE2ERowErrors checks a roster_invalid answer and returns its rows.
func ownersE2ERowErrors(t *testing.T, r e2eResponse) []e2eRowError {
	t.Helper()
	e := e2eWantError(t, r, http.StatusBadRequest, "roster_invalid")
	var details []e2eRowError
	if err := json.Unmarshal(e.Error.Details, &details); err != nil {
		t.Fatalf("roster_invalid details: %v: %s", err, r)
	}
	return details
}

func TestE2EOwnersCountedOnce(t *testing.T) {
	s := e2eStart(t, e2eEmbeddedConfig(t))
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	upload := func(rows ...[]any) e2eResponse {
		t.Helper()
		file := e2eXLSX(t, rows)
		return s.call(t, "POST", "/api/v1/courtyards/1/roster", staff, e2eMultipart{Field: "file", FileName: "名册.xlsx", Data: file})
	}
	header := []any{"楼栋", "单元", "房号", "楼层", "专有面积", "业主姓名", "证件后四位", "同名是同一人"}

	// The demo: 56 households; 王春芬 owns two (marked as one person), 刘宗敏
	// and 李秀英 own one together: 56 distinct owners, 55 heads.
	before := ownersE2EHouseholds(t, s, staff)
	if got := *before.Summary; got.Households != 56 || got.Owners != 56 || got.Heads != 55 ||
		!slices.Equal(got.several(), []string{"王春芬/:1号楼1单元101,2号楼2单元702"}) {
		t.Errorf("demo summary = %+v, want 56 households, 56 owners, 55 heads, 王春芬 of 101 and 702", got)
	}
	heads := map[int64]bool{}
	for _, h := range before.Households {
		heads[h.HeadID] = true
		if h.label() == "2号楼2单元702" && (h.HeadID != before.Households[0].ID || !slices.Equal(h.OwnersWithOtherUnits, []string{"王春芬"})) {
			t.Errorf("2号楼2单元702 head %d, owners with other units %v; want head %d (1号楼1单元101) and [王春芬]", h.HeadID, h.OwnersWithOtherUnits, before.Households[0].ID)
		}
	}
	if len(heads) != 55 {
		t.Errorf("the household list shows %d distinct head_id, want 55", len(heads))
	}

	t.Run("same name without ID digits is refused, rows named", func(t *testing.T) {
		r := upload(header,
			[]any{"3号楼", "1单元", "101", 1, "88.50", "张三"},
			[]any{"3号楼", "1单元", "102", 1, "88.50", "李四"},
			[]any{"3号楼", "1单元", "201", 2, "88.50", "张三"},
		)
		details := ownersE2ERowErrors(t, r)
		var rows []int
		for _, d := range details {
			rows = append(rows, d.Row)
			if d.Column != "业主姓名" || !strings.Contains(d.Reason, "“张三”") || !strings.Contains(d.Reason, "第2行、第4行") ||
				!strings.Contains(d.Reason, "证件后四位") || !strings.Contains(d.Reason, "同名是同一人") {
				t.Errorf("row error %+v: want the name, both rows, a request for ID digits and the 同名是同一人 column", d)
			}
		}
		if !slices.Equal(rows, []int{2, 4}) {
			t.Errorf("rows %v, want [2 4]: %s", rows, r)
		}
		if n := len(s.courtyardHouseholds(t, staff, 1)); n != 56 {
			t.Errorf("a refused roster changed the household count to %d", n)
		}
	})

	t.Run("a name with ID digits on some rows only is refused", func(t *testing.T) {
		r := upload(header,
			[]any{"3号楼", "1单元", "101", 1, "88.50", "张三", "1234"},
			[]any{"3号楼", "1单元", "201", 2, "88.50", "张三"},
		)
		details := ownersE2ERowErrors(t, r)
		if len(details) != 1 || details[0].Row != 3 || !strings.Contains(details[0].Reason, "有的填了证件后四位，有的没有填") {
			t.Errorf("row errors %+v, want one on row 3 about the missing digits", details)
		}
	})

	t.Run("a namesake of a stored owner not in the file is refused", func(t *testing.T) {
		r := upload(header, []any{"3号楼", "1单元", "101", 1, "88.50", "王春芬"})
		details := ownersE2ERowErrors(t, r)
		if len(details) != 1 || details[0].Row != 2 || !strings.Contains(details[0].Reason, "1号楼1单元101（已导入，不在本文件中）") {
			t.Errorf("row errors %+v, want one on row 2 naming the stored households", details)
		}
	})

	t.Run("rows marked as the same person import as one owner", func(t *testing.T) {
		r := upload(header,
			[]any{"3号楼", "1单元", "101", 1, "88.50", "张三", nil, "是"},
			[]any{"3号楼", "1单元", "102", 1, "88.50", "李四", "1234"},
			[]any{"3号楼", "1单元", "201", 2, "88.50", "张三", nil, "是"},
			[]any{"3号楼", "1单元", "202", 2, "88.50", "李四", "567X"}, // another 李四
			[]any{"3号楼", "1单元", "301", 3, "88.50", "王春芬", nil, "是"},
			[]any{"3号楼", "1单元", "302", 3, "88.50", "李四", "1234"},
		)
		e2eWant(t, r, http.StatusOK)
		var res struct {
			Created int                   `json:"created"`
			Summary *ownersE2EHeadSummary `json:"summary"`
		}
		r.decode(t, &res)
		if res.Created != 6 || res.Summary == nil {
			t.Fatalf("import: %s", r)
		}
		// 62 households; owners: the demo's 56, 张三, two 李四; heads: 55 +
		// 张三 + 2 李四 (王春芬's third unit joins her head, 李四/1234's
		// second joins his).
		want := []string{"王春芬/:1号楼1单元101,2号楼2单元702,3号楼1单元301", "张三/:3号楼1单元101,3号楼1单元201", "李四/1234:3号楼1单元102,3号楼1单元302"}
		if got := *res.Summary; got.Households != 62 || got.Owners != 59 || got.Heads != 58 || !slices.Equal(got.several(), want) {
			t.Errorf("import summary = %+v, want 61 households, 59 owners, 58 heads, several %v", got, want)
		}
		list := ownersE2EHouseholds(t, s, staff)
		if got := *list.Summary; got.Heads != 58 || got.Owners != 59 {
			t.Errorf("household list summary after import = %+v, want 59 owners, 58 heads", got)
		}
		head := map[string]int64{}
		for _, h := range list.Households {
			head[h.label()] = h.HeadID
		}
		if head["3号楼1单元101"] != head["3号楼1单元201"] || head["3号楼1单元102"] == head["3号楼1单元202"] || head["3号楼1单元102"] != head["3号楼1单元302"] || head["3号楼1单元301"] != head["1号楼1单元101"] {
			t.Errorf("heads: %v", head)
		}

		// The council sees the same list without ID tails.
		chair := s.wechatLogin(t, e2eCode("lizhang")).AccessToken
		r = s.call(t, "GET", "/api/v1/courtyards/1/households", chair, nil)
		e2eWant(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), `"heads":58`) {
			t.Errorf("the council's household list lacks the headcount: %s", r)
		}
		var cl ownersE2EList
		r.decode(t, &cl)
		if len(cl.Summary.OwnersOfSeveralUnits) != 3 {
			t.Errorf("the council's list of owners of several units: %+v", cl.Summary.OwnersOfSeveralUnits)
		}
		for _, o := range cl.Summary.OwnersOfSeveralUnits {
			if o.IDTail != "" {
				t.Errorf("the council sees an ID tail: %+v", o)
			}
		}
	})
}

// TestE2EHugeRefLessRosterRefusedQuickly uploads the roster of issue #10 §6
// (300,000 rows without r= references: a few hundred KB zipped, about 55 MB
// of sheet XML), which used to take minutes and gigabytes, and wants it
// refused as too large within 2 s and 100 MB of heap, nothing imported.
func TestE2EHugeRefLessRosterRefusedQuickly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 55 MB sheet")
	}
	s := e2eStart(t, e2eEmbeddedConfig(t))
	staff := s.staffLogin(t, demoStaffUser, s.demoPassword()).AccessToken
	file, err := testenv.RefLessRosterXLSX(300_000)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	start, cpu := time.Now(), testenv.ProcessCPU()
	r := s.call(t, "POST", "/api/v1/courtyards/1/roster", staff, e2eMultipart{Field: "file", FileName: "名册.xlsx", Data: file})
	took, used := time.Since(start), testenv.ProcessCPU()-cpu
	close(stop)
	<-done
	grew := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("%d KB upload refused in %v (%v of CPU, server and client); heap grew by at most %d MB", len(file)>>10, took, used, grew>>20)
	details := ownersE2ERowErrors(t, r)
	if len(details) == 0 || !strings.Contains(details[0].Reason, "文件太大") {
		t.Errorf("first row error %+v, want the size error", details[:min(len(details), 1)])
	}
	// CPU time, not the wall clock of a busy shared machine (which only
	// gets a loose bound); it includes the test's client, so it overstates.
	if used > 2*time.Second || took > 30*time.Second {
		t.Errorf("the server took %v of CPU (%v in all) to refuse the file, want under 2 s", used, took)
	}
	if grew > 100<<20 {
		t.Errorf("the heap grew by %d MB, want under 100 MB", grew>>20)
	}
	if n := len(s.courtyardHouseholds(t, staff, 1)); n != 56 {
		t.Errorf("the refused roster changed the household count to %d", n)
	}
}
