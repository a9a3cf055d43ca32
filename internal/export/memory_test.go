package export

import (
	"io"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/petition"
	"github.com/louyuan/louyuan/internal/voting"
)

// bigList is the size of the lists the memory tests stream: a very large
// subdistrict's worth of households.
const bigList = 100_000

// heapProbe records the live heap (after a full collection) at points of
// a run.
type heapProbe struct {
	base, peak uint64
	samples    []uint64
}

func newHeapProbe() *heapProbe {
	p := &heapProbe{}
	p.base = p.live()
	return p
}

func (p *heapProbe) live() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// sample records the live heap above the base.
func (p *heapProbe) sample() uint64 {
	h := p.live()
	grown := uint64(0)
	if h > p.base {
		grown = h - p.base
	}
	p.samples = append(p.samples, grown)
	p.peak = max(p.peak, grown)
	return grown
}

// generatedHouseholds yields n made-up households, building each row when
// it is asked for, and samples the heap every sampleEvery rows unless probe
// is nil.
func generatedHouseholds(n int, signed bool, probe *heapProbe, sampleEvery int) func(func(petition.HouseholdRow) error) error {
	return func(fn func(petition.HouseholdRow) error) error {
		at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			if probe != nil && i%sampleEvery == 0 {
				probe.sample()
			}
			r := petition.HouseholdRow{
				HouseholdID: int64(i + 1), Building: strconv.Itoa(i/600+1) + "号楼", Unit: strconv.Itoa(i/100%6+1) + "单元",
				Room: strconv.Itoa(i/4%25+1) + "0" + strconv.Itoa(i%4+1), Floor: i/4%25 + 1, Area: louyuan.Area(6000 + i%5000),
				Representative: "住户" + strconv.Itoa(i), Phone: "138****" + strconv.Itoa(1000+i%9000),
			}
			if signed {
				fen := int64(100000 + i)
				r.Signed, r.SignerName, r.SignedAt, r.Channel, r.PledgeFen = true, r.Representative, at.Add(time.Duration(i)*time.Second), petition.ChannelSelf, &fen
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// probingWriter discards what it is given and samples the heap every
// sampleBytes written, to see the heap while the workbook is zipped.
type probingWriter struct {
	probe       *heapProbe
	sampleBytes int64
	written     int64
}

func (w *probingWriter) Write(b []byte) (int, error) {
	before := w.written / w.sampleBytes
	w.written += int64(len(b))
	if w.written/w.sampleBytes != before {
		w.probe.sample()
	}
	return len(b), nil
}

// TestSignaturesXLSXMemory streams 100,000 signed and 100,000 not-signed
// households into a workbook and checks that the live heap stays under a
// fixed bound, stops growing once excelize's stream buffers are full, and
// does not grow while the workbook is zipped into the writer.
func TestSignaturesXLSXMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200,000 rows")
	}
	// excelize spills to os.TempDir; a directory of the test's own shows
	// that it does, and that the files are gone afterwards.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	spilled := -1
	const every = 10_000
	signedProbe := newHeapProbe()
	notSignedProbe := &heapProbe{base: signedProbe.base}
	zipProbe := &heapProbe{base: signedProbe.base}
	out := &probingWriter{probe: zipProbe, sampleBytes: 1 << 20}
	notSigned := generatedHouseholds(bigList, false, notSignedProbe, every)
	start := time.Now()
	err := SignaturesXLSX(out, testPetition, bothLists(generatedHouseholds(bigList, true, signedProbe, every),
		func(fn func(petition.HouseholdRow) error) error {
			err := notSigned(fn)
			spilled = countFiles(t, tmp)
			return err
		}))
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if spilled < 1 {
		t.Errorf("%d temporary files while streaming; the sheets should have spilled to disk", spilled)
	}
	if n := countFiles(t, tmp); n != 0 {
		t.Errorf("%d temporary files left behind", n)
	}
	after := zipProbe.sample()
	peak := max(signedProbe.peak, notSignedProbe.peak, zipProbe.peak)
	t.Logf("%d signed + %d not-signed rows: %.1f MiB of XLSX in %v; live heap above the start: peak %.1f MiB, after %.1f MiB",
		bigList, bigList, mib(out.written), elapsed.Round(time.Millisecond), mib(int64(peak)), mib(int64(after)))
	t.Logf("heap every %d rows of 已签名 %v, of 未签名 %v, every MiB zipped %v (MiB)",
		every, mibs(signedProbe.samples), mibs(notSignedProbe.samples), mibs(zipProbe.samples))

	// Each sheet's stream buffer holds up to 16 MiB (its backing array
	// about 20 MiB) before it spills to a temporary file, and the first
	// sheet's buffer stays allocated until the workbook is written: about
	// 40 MiB measured, whatever the number of rows. The rows themselves are
	// 160 MiB of sheet XML; kept in memory they would be far over.
	const bound = 64 << 20
	if peak > bound {
		t.Errorf("live heap grew by %.1f MiB; bound %.0f MiB", mib(int64(peak)), mib(bound))
	}
	// Not growing with the rows: in each sheet the heap at the last sample
	// is no larger than at half the rows, give or take a little.
	const slack = 4 << 20
	for sheet, p := range map[string]*heapProbe{"已签名": signedProbe, "未签名": notSignedProbe} {
		mid, end := p.samples[len(p.samples)/2], p.samples[len(p.samples)-1]
		if end > mid+slack {
			t.Errorf("%s: heap grew from %.1f MiB at half the rows to %.1f MiB near the end", sheet, mib(int64(mid)), mib(int64(end)))
		}
	}
	// Zipping copies the sheets from their temporary files through the
	// deflater into w; it must not build the file in memory (as
	// excelize's own Write does).
	if streamed := notSignedProbe.samples[len(notSignedProbe.samples)-1]; zipProbe.peak > streamed+slack {
		t.Errorf("heap grew from %.1f MiB to %.1f MiB while the workbook was zipped", mib(int64(streamed)), mib(int64(zipProbe.peak)))
	}
	if out.written < 1<<20 {
		t.Errorf("only %d bytes written", out.written)
	}
}

// TestSignaturesCSVMemory streams 100,000 households as CSV: the heap must
// not grow beyond the csv.Writer's buffer.
func TestSignaturesCSVMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 100,000 rows")
	}
	probe := newHeapProbe()
	out := &probingWriter{probe: probe, sampleBytes: 2 << 20}
	start := time.Now()
	if err := SignaturesCSV(out, generatedHouseholds(bigList, true, probe, 10_000), true); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	t.Logf("%d signed rows: %.1f MiB of CSV in %v; live heap above the start: peak %.2f MiB",
		bigList, mib(out.written), elapsed.Round(time.Millisecond), mib(int64(probe.peak)))
	const bound = 1 << 20
	if probe.peak > bound {
		t.Errorf("live heap grew by %.2f MiB; bound %.0f MiB", mib(int64(probe.peak)), mib(bound))
	}
}

// TestResultsMemory streams 100,000 named results as XLSX and CSV.
func TestResultsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 100,000 rows twice")
	}
	m, tally := elevatorMotion(voting.ModeNamed)
	rows := func(probe *heapProbe) func(func(voting.ResultRow) error) error {
		return func(fn func(voting.ResultRow) error) error {
			return generatedHouseholds(bigList, true, probe, 10_000)(func(h petition.HouseholdRow) error {
				return fn(voting.ResultRow{HouseholdID: h.HouseholdID, Building: h.Building, Unit: h.Unit, Room: h.Room, Area: h.Area,
					Representative: h.Representative, Phone: h.Phone, Voted: true, Options: []string{voting.OptionAgree},
					Channel: voting.ChannelSelf, CastAt: h.SignedAt})
			})
		}
	}
	for _, c := range []struct {
		name  string
		write func(io.Writer, voting.Motion, voting.Disclosure, func(func(voting.ResultRow) error) error) error
		bound uint64
	}{{"XLSX", ResultsXLSX, 40 << 20}, {"CSV", ResultsCSV, 1 << 20}} {
		probe := newHeapProbe()
		out := &probingWriter{probe: probe, sampleBytes: 1 << 20}
		start := time.Now()
		if err := c.write(out, m, tally, rows(probe)); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s, %d rows: %.1f MiB in %v; live heap above the start: peak %.2f MiB",
			c.name, bigList, mib(out.written), time.Since(start).Round(time.Millisecond), mib(int64(probe.peak)))
		if probe.peak > c.bound {
			t.Errorf("%s: live heap grew by %.1f MiB; bound %.0f MiB", c.name, mib(int64(probe.peak)), mib(int64(c.bound)))
		}
	}
}

// BenchmarkSignaturesXLSX times a 100,000-row signed list plus a
// 100,000-row not-signed list, with no heap probes.
func BenchmarkSignaturesXLSX(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		err := SignaturesXLSX(io.Discard, testPetition, bothLists(generatedHouseholds(bigList, true, nil, 1), generatedHouseholds(bigList, false, nil, 1)))
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignaturesCSV times a 100,000-row signed list as CSV.
func BenchmarkSignaturesCSV(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := SignaturesCSV(io.Discard, generatedHouseholds(bigList, true, nil, 1), true); err != nil {
			b.Fatal(err)
		}
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func mibs(ns []uint64) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.FormatFloat(mib(int64(n)), 'f', 1, 64)
	}
	return out
}
