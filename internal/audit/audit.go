// Package audit owns the append-only audit log: what every state change that
// matters (binding, representative change, ballot, delegation, signature,
// export, role change) records, and the hash chain that makes an edited or
// deleted entry detectable.
//
// Entries form one chain per stream (a courtyard; one household of a
// courtyard for ballots, delegations and signatures; or "global" for what
// belongs to none), so that writers of different streams never wait for
// each other. Each entry's hash covers the previous entry's hash and every
// field of the entry; with a key configured the hash is an HMAC, so that
// someone with write access to the database but not the key cannot forge a
// consistent chain.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Genesis is the "previous hash" of the first entry of every stream.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// GlobalStream is the stream of entries that belong to no courtyard.
const GlobalStream = "global"

// CourtyardStream is the stream of a courtyard's entries.
func CourtyardStream(courtyardID int64) string {
	return "courtyard:" + strconv.FormatInt(courtyardID, 10)
}

// HouseholdStream is the stream of one household's ballots, delegations and
// signatures within its courtyard: households never wait for each other's
// audit entries, and each household's history is one chain.
func HouseholdStream(courtyardID, householdID int64) string {
	return CourtyardStream(courtyardID) + ":household:" + strconv.FormatInt(householdID, 10)
}

// Entry is one audit record. Actor and Object are short typed references
// such as "user:12", "staff:3", "household:88", "system".
type Entry struct {
	Stream    string
	Seq       int64
	At        time.Time
	Actor     string
	Action    string
	Object    string
	IP        string
	RequestID string
	Detail    map[string]any
	PrevHash  string
	Hash      string
}

// Record is what a service says when something changes; the store fills in
// the stream position, the time and the hashes.
type Record struct {
	Stream string
	Actor  string
	Action string
	Object string
	Detail map[string]any
	// Origin is the request the change came from. When it is empty the
	// store takes the one the context carries (see WithOrigin); it is set
	// when one transaction records the changes of several requests.
	Origin Origin
}

// Origin is what the audit log records of the request behind a change.
type Origin struct {
	IP        string
	RequestID string
}

type originKey struct{}

// WithOrigin attaches the request's origin to ctx for the entries written
// under it.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginOf returns the origin ctx carries, if any.
func OriginOf(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// Appender writes records inside the caller's transaction (carried by ctx).
type Appender interface {
	Append(ctx context.Context, r Record) error
}

// BatchAppender also writes several records at once, in order, inside the
// caller's transaction: records of one stream are chained in the order
// given.
type BatchAppender interface {
	Appender
	AppendAll(ctx context.Context, rs []Record) error
}

// Hasher computes entry hashes, keyed or not.
type Hasher struct{ key []byte }

// NewHasher returns a Hasher; an empty key gives plain SHA-256.
func NewHasher(key []byte) Hasher { return Hasher{key: key} }

// Hash returns the hash of e chained to e.PrevHash. e.At must already be
// truncated to microseconds (what the database keeps).
func (h Hasher) Hash(e Entry) (string, error) {
	detail, err := canonicalDetail(e.Detail)
	if err != nil {
		return "", err
	}
	return h.hash(e, detail), nil
}

// Seal returns e's detail in its stored form and e's hash, as verification
// will recompute it from the stored form read back.
func (h Hasher) Seal(e Entry) (detail, hash string, err error) {
	if detail, err = canonicalDetail(e.Detail); err != nil {
		return "", "", err
	}
	if !plain(e.Detail) {
		// Structs, nested maps, odd strings: read back, they may encode
		// differently; hash (and store) what reading back gives.
		d, err := DecodeDetail(detail)
		if err != nil {
			return "", "", err
		}
		if detail, err = canonicalDetail(d); err != nil {
			return "", "", err
		}
	}
	return detail, h.hash(e, detail), nil
}

// plain reports whether d's encoding reads back and encodes again to the
// same text: its values are valid UTF-8 strings, numbers, booleans, nil, or
// lists of strings or integers.
func plain(d map[string]any) bool {
	for k, v := range d {
		if !utf8.ValidString(k) {
			return false
		}
		switch v := v.(type) {
		case nil, bool, int, int32, int64, uint32, uint64, float64, json.Number, []int64:
		case string:
			if !utf8.ValidString(v) {
				return false
			}
		case []string:
			for _, s := range v {
				if !utf8.ValidString(s) {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

func (h Hasher) hash(e Entry, detail string) string {
	var b strings.Builder
	for _, f := range []string{e.PrevHash, e.Stream, strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Object, e.IP, e.RequestID, detail} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte('\n')
	}
	var sum []byte
	if len(h.key) > 0 {
		m := hmac.New(sha256.New, h.key)
		m.Write([]byte(b.String()))
		sum = m.Sum(nil)
	} else {
		s := sha256.Sum256([]byte(b.String()))
		sum = s[:]
	}
	return hex.EncodeToString(sum)
}

// canonicalDetail encodes detail as JSON with sorted keys (encoding/json
// sorts map keys), "{}" when empty.
func canonicalDetail(d map[string]any) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode audit detail: %w", err)
	}
	return string(b), nil
}

// DecodeDetail reads the stored form back. Numbers come back as json.Number
// so that re-encoding gives the same text.
func DecodeDetail(s string) (map[string]any, error) {
	d := map[string]any{}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	return d, nil
}

// Problem is one break found by Verify.
type Problem struct {
	Stream string
	Seq    int64
	Reason string
}

func (p Problem) String() string { return fmt.Sprintf("%s #%d: %s", p.Stream, p.Seq, p.Reason) }

// Head is the last link of a stream as recorded in the head table.
type Head struct {
	Stream string `json:"stream"`
	Seq    int64  `json:"seq"`
	Hash   string `json:"hash"`
}

// Verifier checks streams entry by entry. Feed it each stream's entries in
// sequence order, then call Finish with the recorded heads.
type Verifier struct {
	h        Hasher
	last     map[string]Entry
	Problems []Problem
	Checked  int
}

// NewVerifier returns a Verifier using h.
func NewVerifier(h Hasher) *Verifier { return &Verifier{h: h, last: map[string]Entry{}} }

// Check verifies one entry against the one before it in its stream.
func (v *Verifier) Check(e Entry) {
	v.Checked++
	prev, seen := v.last[e.Stream]
	wantSeq, wantPrev := int64(1), Genesis
	if seen {
		wantSeq, wantPrev = prev.Seq+1, prev.Hash
	}
	if e.Seq != wantSeq {
		v.Problems = append(v.Problems, Problem{e.Stream, e.Seq, fmt.Sprintf("expected entry #%d here: entries deleted", wantSeq)})
	} else if e.PrevHash != wantPrev {
		v.Problems = append(v.Problems, Problem{e.Stream, e.Seq, "previous-hash link broken"})
	}
	if got, err := v.h.Hash(e); err != nil || got != e.Hash {
		v.Problems = append(v.Problems, Problem{e.Stream, e.Seq, "hash does not match the entry: entry edited"})
	}
	v.last[e.Stream] = e
}

// Finish compares each stream's last entry with its recorded head, which
// catches deleted entries at the end of a stream.
func (v *Verifier) Finish(heads []Head) {
	for _, h := range heads {
		last, ok := v.last[h.Stream]
		switch {
		case !ok && h.Seq > 0:
			v.Problems = append(v.Problems, Problem{h.Stream, h.Seq, "stream is empty but its head says otherwise: entries deleted"})
		case ok && (last.Seq != h.Seq || last.Hash != h.Hash):
			v.Problems = append(v.Problems, Problem{h.Stream, h.Seq, fmt.Sprintf("head is #%d but the last entry is #%d: entries deleted or head edited", h.Seq, last.Seq)})
		}
		delete(v.last, h.Stream)
	}
	for s, last := range v.last {
		v.Problems = append(v.Problems, Problem{s, last.Seq, "stream has no head record"})
	}
}

// Attachment carries what a caller learns while a change is being made —
// an export's digest, known only once the file is written — into the audit
// entry the service writes for that change.
type Attachment struct{ Detail map[string]any }

type attachmentKey struct{}

// WithAttachment returns ctx carrying at.
func WithAttachment(ctx context.Context, at *Attachment) context.Context {
	return context.WithValue(ctx, attachmentKey{}, at)
}

// Attach adds the attachment's fields (if ctx carries one) to detail.
func Attach(ctx context.Context, detail map[string]any) map[string]any {
	if at, ok := ctx.Value(attachmentKey{}).(*Attachment); ok && at != nil {
		for k, v := range at.Detail {
			detail[k] = v
		}
	}
	return detail
}
