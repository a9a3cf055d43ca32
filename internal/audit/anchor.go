package audit

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AnchorVersion is the version of the anchor format and digest.
const AnchorVersion = 1

// Anchor is the published state of the audit chains of one scope (a
// courtyard with its households' streams, or the global stream) at one
// moment: every stream's head. Its Digest is what is published where the
// database's writer has no hand (a notice to the council, a log line);
// its MAC, under a key derived from the audit key, lets a verifier tell a
// genuine anchor file from a forged one.
//
// Someone with write access to the database can cut off the end of a
// stream and move its head back (the chain still verifies); an anchor
// published before the cut names an entry that is no longer there, or
// there with another hash.
type Anchor struct {
	V       int       `json:"v"`
	Scope   string    `json:"scope"`
	At      time.Time `json:"at"`
	Streams int       `json:"streams"`
	Entries int64     `json:"entries"`
	Digest  string    `json:"digest"`
	MAC     string    `json:"mac"`
	Heads   []Head    `json:"heads"`
}

// ScopeOf is the anchor scope of a stream: "courtyard:N" for a courtyard's
// streams (its households' included), "global" for the rest.
func ScopeOf(stream string) string {
	if rest, ok := strings.CutPrefix(stream, "courtyard:"); ok {
		id, _, _ := strings.Cut(rest, ":")
		if _, err := strconv.ParseInt(id, 10, 64); err == nil {
			return "courtyard:" + id
		}
	}
	return GlobalStream
}

// AnchorDigest is the SHA-256 (hex) of a scope's heads in their canonical
// form: the line "louyuan-anchor-v1", the scope on a line, then one line
// "stream<TAB>seq<TAB>hash" per stream in byte order of the stream names,
// every line ending in LF.
func AnchorDigest(scope string, heads []Head) string {
	hs := slices.Clone(heads)
	slices.SortFunc(hs, func(a, b Head) int { return strings.Compare(a.Stream, b.Stream) })
	m := sha256.New()
	fmt.Fprintf(m, "louyuan-anchor-v%d\n%s\n", AnchorVersion, scope)
	for _, h := range hs {
		fmt.Fprintf(m, "%s\t%d\t%s\n", h.Stream, h.Seq, h.Hash)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Anchors groups heads by scope into sealed anchors made at at.
func (h Hasher) Anchors(heads []Head, at time.Time) []Anchor {
	by := map[string][]Head{}
	for _, hd := range heads {
		if hd.Seq == 0 {
			continue // created, never written
		}
		s := ScopeOf(hd.Stream)
		by[s] = append(by[s], hd)
	}
	scopes := make([]string, 0, len(by))
	for s := range by {
		scopes = append(scopes, s)
	}
	slices.Sort(scopes)
	out := make([]Anchor, 0, len(scopes))
	for _, s := range scopes {
		hs := by[s]
		slices.SortFunc(hs, func(a, b Head) int { return strings.Compare(a.Stream, b.Stream) })
		a := Anchor{V: AnchorVersion, Scope: s, At: at.UTC().Truncate(time.Second), Streams: len(hs), Heads: hs}
		for _, hd := range hs {
			a.Entries += hd.Seq
		}
		a.Digest = AnchorDigest(s, hs)
		a.MAC = h.AnchorMAC(a)
		out = append(out, a)
	}
	return out
}

// AnchorMAC seals an anchor's version, scope, time, counts and digest.
// Keyed by HMAC(audit key, "louyuan audit anchor"), so that the audit key
// itself never keys two kinds of message.
func (h Hasher) AnchorMAC(a Anchor) string {
	msg := fmt.Sprintf("v%d\n%s\n%s\n%d\n%d\n%s\n", a.V, a.Scope, a.At.UTC().Format(time.RFC3339Nano), a.Streams, a.Entries, a.Digest)
	if len(h.key) == 0 {
		s := sha256.Sum256([]byte(msg))
		return hex.EncodeToString(s[:])
	}
	k := hmac.New(sha256.New, h.key)
	k.Write([]byte("louyuan audit anchor"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// CheckAnchor says what is wrong with an anchor itself: a MAC that is not
// the server's, or heads that do not give its digest and counts.
func (h Hasher) CheckAnchor(a Anchor) []Problem {
	var out []Problem
	bad := func(reason string) {
		out = append(out, Problem{Stream: "anchor " + a.Scope + " " + a.At.UTC().Format(time.RFC3339), Reason: reason})
	}
	if a.V != AnchorVersion {
		bad(fmt.Sprintf("unknown anchor version %d", a.V))
		return out
	}
	if !hmac.Equal([]byte(h.AnchorMAC(a)), []byte(a.MAC)) {
		bad("anchor MAC does not match: the anchor was not made with this audit key, or was edited")
	}
	var entries int64
	for _, hd := range a.Heads {
		entries += hd.Seq
		if ScopeOf(hd.Stream) != a.Scope {
			bad("anchor lists stream " + hd.Stream + " outside its scope")
		}
	}
	if AnchorDigest(a.Scope, a.Heads) != a.Digest || len(a.Heads) != a.Streams || entries != a.Entries {
		bad("anchor's heads do not give its digest and counts: the anchor was edited")
	}
	return out
}

// ReadAnchors reads anchors from JSON lines: each non-empty line is an
// anchor, or a JSON log line carrying one under the key "anchor". Lines
// starting with # are comments.
func ReadAnchors(r io.Reader) ([]Anchor, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var out []Anchor
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var probe struct {
			Anchor *Anchor `json:"anchor"`
		}
		if err := json.Unmarshal([]byte(line), &probe); err == nil && probe.Anchor != nil {
			out = append(out, *probe.Anchor)
			continue
		}
		var a Anchor
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			return nil, fmt.Errorf("anchors line %d: %w", n, err)
		}
		if a.Scope == "" {
			return nil, fmt.Errorf("anchors line %d: not an anchor", n)
		}
		out = append(out, a)
	}
	return out, sc.Err()
}

// WriteAnchors writes anchors as JSON lines.
func WriteAnchors(w io.Writer, as []Anchor) error {
	enc := json.NewEncoder(w)
	for _, a := range as {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return nil
}
