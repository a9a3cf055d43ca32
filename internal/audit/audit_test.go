package audit

import (
	"testing"
	"time"
)

func chain(t *testing.T, h Hasher, n int) []Entry {
	t.Helper()
	prev := Genesis
	var out []Entry
	for i := 1; i <= n; i++ {
		e := Entry{Stream: "courtyard:1", Seq: int64(i), At: time.Date(2026, 11, 25, 10, 0, i, 123456000, time.UTC),
			Actor: "user:1", Action: "household.bind", Object: "household:7", Detail: map[string]any{"role": "owner", "n": i}, PrevHash: prev}
		s, hash, err := h.Seal(e)
		if err != nil {
			t.Fatal(err)
		}
		// Store and reload the detail as the database would.
		e.Hash = hash
		e.Detail, _ = DecodeDetail(s)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func verify(h Hasher, entries []Entry, head Head) []Problem {
	v := NewVerifier(h)
	for _, e := range entries {
		v.Check(e)
	}
	v.Finish([]Head{head})
	return v.Problems
}

func TestVerifier(t *testing.T) {
	h := NewHasher([]byte("k"))
	good := chain(t, h, 5)
	head := Head{"courtyard:1", 5, good[4].Hash}
	if p := verify(h, good, head); len(p) != 0 {
		t.Fatalf("intact chain reported %v", p)
	}
	edited := append([]Entry(nil), good...)
	edited[2].Detail = map[string]any{"role": "tenant", "n": 3}
	if p := verify(h, edited, head); len(p) != 1 || p[0].Seq != 3 {
		t.Errorf("edited entry: %v", p)
	}
	deleted := append(append([]Entry(nil), good[:2]...), good[3:]...)
	if p := verify(h, deleted, head); len(p) == 0 {
		t.Error("deleted middle entry not detected")
	}
	if p := verify(h, good[:4], head); len(p) != 1 {
		t.Errorf("deleted last entry: %v", p)
	}
	if p := verify(NewHasher([]byte("other key")), good, head); len(p) != 5 {
		t.Errorf("wrong key should fail every entry, got %v", p)
	}
}

// What Seal stores and hashes is what verification recomputes from the
// stored text read back, whatever the detail holds.
func TestSealMatchesVerification(t *testing.T) {
	type ref struct {
		Zeta  int    `json:"zeta"`
		Alpha string `json:"alpha"`
	}
	h := NewHasher([]byte("k"))
	for name, d := range map[string]map[string]any{
		"ballot":       {"household": int64(12), "channel": "self", "ballot": int64(99), "version": int64(2), "choice": []string{"agree"}},
		"empty":        {},
		"nil":          nil,
		"html and cjk": {"title": "<b>加装电梯</b> & 公示", "ok": true, "n": nil},
		"big numbers":  {"id": int64(1) << 60, "ratio": 0.1, "huge": 1e21},
		"struct":       {"ref": ref{Zeta: 1, Alpha: "a"}},
		"nested":       {"outer": map[string]any{"b": 1, "a": []any{"x", 2}}},
		"bad utf-8":    {"name": "王\xff五", "list": []string{"ok", "\xfe"}},
	} {
		e := Entry{Stream: "courtyard:1:household:12", Seq: 1, At: time.Date(2026, 11, 26, 8, 0, 0, 1000, time.UTC),
			Actor: "user:5", Action: "ballot.cast", Object: "motion:7", IP: "10.0.0.1", RequestID: "r1", Detail: d, PrevHash: Genesis}
		stored, hash, err := h.Seal(e)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back, err := DecodeDetail(stored)
		if err != nil {
			t.Fatalf("%s: stored detail %q does not read back: %v", name, stored, err)
		}
		if again, _ := canonicalDetail(back); again != stored {
			t.Errorf("%s: stored %q reads back as %q", name, stored, again)
		}
		e.Detail, e.Hash = back, hash
		if p := verify(h, []Entry{e}, Head{e.Stream, 1, hash}); len(p) != 0 {
			t.Errorf("%s: verification of the sealed entry: %v", name, p)
		}
	}
}
