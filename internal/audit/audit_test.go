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
		var err error
		if e.Hash, err = h.Hash(e); err != nil {
			t.Fatal(err)
		}
		// Store and reload the detail as the database would.
		s, _ := EncodeDetail(e.Detail)
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
