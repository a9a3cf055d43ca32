package spreadsheet

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/testenv"
)

// TestParseRosterRefusesHugeRefLessSheetQuickly is issue #10 §6: a 300,000-row
// sheet without r= references (a few hundred KB zipped, about 55 MB of XML)
// took 245 s and 2.4 GB. It must be refused as too large, within 2 s and
// 100 MB of heap, as reading stops at the row limit. The bounds are loose
// for a busy 2-core machine (the work itself is well under a second and a
// few tens of MB) and still a thousand times tighter than before.
func TestParseRosterRefusesHugeRefLessSheetQuickly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 55 MB sheet")
	}
	file, err := testenv.RefLessRosterXLSX(300_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(file) > 1<<20 {
		t.Fatalf("test file is %d KB zipped, want a small upload", len(file)>>10)
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // sample the heap while parsing
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
	rows, errs, err := ParseRoster(bytes.NewReader(file), 20000)
	took, used := time.Since(start), testenv.ProcessCPU()-cpu
	close(stop)
	<-done
	grew := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("%d KB zipped, refused in %v (%v of CPU), heap grew by at most %d MB", len(file)>>10, took, used, grew>>20)
	if err != nil {
		t.Fatalf("ParseRoster: %v", err)
	}
	if len(errs) == 0 || !strings.Contains(errs[0].Reason, "文件太大：房屋数据超过20000行") || errs[0].Row != 20002 {
		t.Fatalf("first error = %+v, want the size error on row 20002", errs[:min(len(errs), 1)])
	}
	if len(errs) > maxRowErrors+2 {
		t.Errorf("%d errors listed, want at most %d", len(errs), maxRowErrors+2)
	}
	_ = rows
	// The work is bounded by CPU time (the wall clock of a shared 2-core
	// machine is not the parser's), and the wall clock only loosely.
	if used > 2*time.Second || took > 30*time.Second {
		t.Errorf("refusing the file took %v of CPU (%v in all), want under 2 s", used, took)
	}
	if grew > 100<<20 {
		t.Errorf("the heap grew by %d MB, want under 100 MB", grew>>20)
	}
}

// TestParseRosterRefLessCells reads rows and cells without r= references by
// their order, with references where some have them, and typed cells.
func TestParseRosterRefLessCells(t *testing.T) {
	file, err := testenv.RefLessRosterXLSX(3)
	if err != nil {
		t.Fatal(err)
	}
	rows, errs := parse(t, file)
	if len(errs) != 0 || len(rows) != 3 {
		t.Fatalf("rows %+v, errors %+v", rows, errs)
	}
	if r := rows[2]; r.Line != 4 || r.Building != "1号楼" || r.Room != "301" || r.Floor != 3 || r.Area.String() != "85.20" || r.Owners[0].Name != "业主张某某" {
		t.Errorf("third row = %+v", r)
	}
}

// TestParseRosterStripsInvisibleCharacters: control characters (which
// Excel writes as _xHHHH_), NUL and bidirectional overrides are dropped
// from every cell, so no owner's name reads differently from what is
// stored; _x005F_ is a literal underscore.
func TestParseRosterStripsInvisibleCharacters(t *testing.T) {
	file, err := testenv.RawXLSX(func(w io.Writer) error {
		text := func(s string) string { return `<c t="inlineStr"><is><t>` + s + `</t></is></c>` }
		_, err := io.WriteString(w, "<row>"+text("楼栋")+text("单元")+text("房号")+text("楼层")+text("专有面积")+text("业主姓名")+"</row>"+
			"<row>"+text("1号楼\u202E")+text("1单元")+text("_x0000_101")+"<c><v>1</v></c><c><v>80</v></c>"+
			text("张_x0007_\u202E三\u2066、李_x005F_x0007_四")+"</row>")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, errs := parse(t, file)
	if len(errs) != 0 || len(rows) != 1 {
		t.Fatalf("rows %+v, errors %+v", rows, errs)
	}
	r := rows[0]
	if r.Building != "1号楼" || r.Room != "101" || len(r.Owners) != 2 || r.Owners[0].Name != "张三" || r.Owners[1].Name != "李_x0007_四" {
		t.Errorf("row = %+v, want 1号楼 101 owners 张三 and 李_x0007_四", r)
	}
}

func TestDecodeXString(t *testing.T) {
	for in, want := range map[string]string{
		"张三": "张三", "_x0007_": "\x07", "a_x000D_b": "a\rb", "_x005F_x0007_": "_x0007_", "_x00G1_": "_x00G1_", "_x12": "_x12", "x_x4E09_": "x三",
	} {
		if got := decodeXString(in); got != want {
			t.Errorf("decodeXString(%q) = %q, want %q", in, got, want)
		}
	}
}
