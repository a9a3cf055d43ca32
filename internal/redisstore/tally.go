package redisstore

import (
	"cmp"
	"context"
	"crypto/rand"
	_ "embed" // the Lua scripts
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/voting"
)

// Tally is the live tally of open motions in Redis (voting.LiveTally): every
// ballot change is applied by one Lua script, and reading a motion's totals
// costs the same with ten ballots or a million.
//
// # Key layout
//
// All keys of a motion share the Redis Cluster hash tag {m<id>}, so that
// they land in one slot and one script can touch them all. Under
// base = prefix+"tally:{m<id>}:" there are nine hashes:
//
//	meta   eh, ehd, ea   electorate households, heads (distinct owner groups), area
//	       vh, vhd, va   voted households, heads (groups with a voting household), area
//	       n             number of distinct options; option i is 1..n
//	       opts          the motion's options in order, as a JSON array
//	       o:<option>    the option's index i
//	hh     <household>   "<group>|<area>": the electorate (area in 0.01 m²)
//	cur    <household>   "<version>|<i>,<i>,…": the latest version applied and
//	                     its counted options (sorted indices, empty = no vote)
//	gv     <group>       v: how many of the group's households vote now
//	gopt   <group>|<i>   how many of them chose option i
//	oh     <i>           households that chose option i
//	oa     <i>           their area
//	ov     <i>|<v>       households that chose option i in groups with v voting
//	                     households; option i's head is Σ_v ov[i|v] / v
//	split  <group>       owner groups whose voting households chose differently
//
// Versions are stored as 16 hex digits of uint64(version) XOR 1<<63, which
// order like the int64 values; ids stay decimal strings. Lua numbers are
// doubles, so nothing that can exceed 2^53 is ever a Lua number: only
// counts and areas (Load caps an area at maxTallyArea).
//
// Heads are kept as per-turnout counts (ov) rather than as integer units of
// L = lcm(1..largest group): L passes 1e14 (where Lua's tostring, %.14g,
// stops being exact) once an owner holds 32 households and 2^53 (where Lua
// numbers stop being exact) at 41, and a developer holding dozens of
// unsold units is common. The counts stay small and exact whatever the
// group sizes; Totals turns them into a big.Rat.
//
// Every hash except meta also holds a placeholder field "_", so no key ever
// disappears by becoming empty. The scripts check that all nine keys exist
// and otherwise report the motion as not loaded: a state that was never
// loaded, was dropped, expired, or lost a key to eviction is rebuilt from
// the database rather than counted from half.
//
// # Expiry
//
// Load gives all the keys one absolute expiry, TTL (30 days by default)
// from the load; Apply does not extend it. A motion that is abandoned
// without Drop therefore vanishes by itself, and one that is still open
// after TTL reports voting.ErrNotLoaded and is reloaded from the database.
// A TTL of zero keeps the keys until Drop.
type Tally struct {
	rdb    redis.UniversalClient
	prefix string
	// TTL is how long a loaded state lives (see Expiry above); set it
	// before use.
	TTL time.Duration

	limits         tallyLoadLimits // of a Load; zero means defaultTallyLoadLimits
	afterLoadRound func(round int) // a test hook, called after each round of a Load
}

// DefaultTallyTTL is the expiry Load gives a motion's keys.
const DefaultTallyTTL = 30 * 24 * time.Hour

// maxTallyArea bounds a household's area (in 0.01 m²) so that areas stay
// exact integers inside Lua.
const maxTallyArea = louyuan.Area(1e12)

// tempTTL bounds the life of the temporary keys of a load that stalls or
// dies before swapping them in.
const tempTTL = 10 * time.Minute

var (
	//go:embed tally_apply.lua
	tallyApplySrc string
	//go:embed tally_totals.lua
	tallyTotalsSrc string
	//go:embed tally_swap.lua
	tallySwapSrc string

	tallyApply  = redis.NewScript(tallyApplySrc)
	tallyTotals = redis.NewScript(tallyTotalsSrc)
	tallySwap   = redis.NewScript(tallySwapSrc)
)

var _ voting.LiveTally = (*Tally)(nil)

// The keys of a motion, in the order the scripts expect them.
var tallyKeyNames = []string{"meta", "hh", "cur", "gv", "gopt", "oh", "oa", "ov", "split"}

// NewTally returns the live tally keyed under prefix+"tally:".
func NewTally(rdb redis.UniversalClient, prefix string) *Tally {
	return &Tally{rdb: rdb, prefix: prefix, TTL: DefaultTallyTTL}
}

func (t *Tally) base(motionID int64) string {
	return t.prefix + "tally:{m" + strconv.FormatInt(motionID, 10) + "}:"
}

func tallyKeysUnder(base string) []string {
	keys := make([]string, len(tallyKeyNames))
	for i, n := range tallyKeyNames {
		keys[i] = base + n
	}
	return keys
}

func (t *Tally) keys(motionID int64) []string { return tallyKeysUnder(t.base(motionID)) }

// encodeTallyVersion writes v as 16 hex digits that sort like the int64 values.
func encodeTallyVersion(v int64) string {
	return string(appendTallyVersion(nil, v))
}

// Load replaces the motion's live state. The state is built under
// temporary keys of the same slot and swapped in by one script, so readers
// see the old state or the new one, never a part of either.
//
// A million households make some four million hash fields, so the
// temporary keys are written in rounds of bounded size (tallyLoadLimits):
// no single write, read or command takes long, whatever the electorate.
// Between rounds Load checks ctx; when it ends, or anything fails, Load
// deletes the temporary keys and leaves the live state as it was. Every
// round renews the expiry (tempTTL) of the keys it writes, so the keys of
// a load whose process dies midway vanish by themselves; and the swap
// checks each temporary key's field count, so a key that expired during a
// stall, and was partly recreated by a later round, is never swapped in.
func (t *Tally) Load(ctx context.Context, motionID int64, electorate []voting.Voter, options []string, counted []voting.CountedVote) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load live tally: %w", err)
	}
	st, err := buildTallyState(electorate, options, counted)
	if err != nil {
		return err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := tallyKeysUnder(t.base(motionID) + "load:" + hex.EncodeToString(rnd[:]) + ":")
	live := t.keys(motionID)

	fail := func(err error, what string) error {
		// UNLINK, not DEL: freeing a million fields would block the
		// server (and this client's read timeout) for a while.
		t.rdb.Unlink(context.WithoutCancel(ctx), tmp...)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s: %w", what, ctxErr)
		}
		return unavailable(err, what)
	}
	w := newTallyWriter(ctx, t.rdb, tmp, t.limits)
	w.afterRound = t.afterLoadRound
	lens, err := st.write(w)
	if err != nil {
		return fail(err, "load live tally")
	}
	if err := ctx.Err(); err != nil {
		return fail(err, "load live tally")
	}
	exp := "0"
	if t.TTL > 0 {
		exp = strconv.FormatInt(time.Now().Add(t.TTL).UnixMilli(), 10)
	}
	args := make([]any, 0, 1+len(lens))
	args = append(args, exp)
	for _, n := range lens {
		args = append(args, n)
	}
	ok, err := tallySwap.Run(ctx, t.rdb, append(tmp, live...), args...).Int()
	if err != nil {
		return fail(err, "swap in live tally")
	}
	if ok != 1 {
		return fail(errors.New("temporary keys expired or lost fields before the swap"), "swap in live tally")
	}
	return nil
}

// Apply records a household's counted vote if v.Version is newer than the
// one held. Households outside the electorate and options outside the
// motion are ignored; options are deduplicated and their order is
// irrelevant; no options means no counted vote.
func (t *Tally) Apply(ctx context.Context, motionID int64, v voting.CountedVote) error {
	args := make([]any, 0, 2+len(v.Options))
	args = append(args, strconv.FormatInt(v.HouseholdID, 10), encodeTallyVersion(v.Version))
	for _, o := range v.Options {
		args = append(args, o)
	}
	keys := t.keys(motionID)
	res, err := tallyApply.Run(ctx, t.rdb, keys, args...).Int()
	if err != nil {
		var reply redis.Error
		if errors.As(err, &reply) {
			// The server answered with an error. A script that fails
			// midway keeps the writes it made, so the state can no longer
			// be trusted: forget it, and the next call rebuilds it from
			// the database. (A network error is different: the script ran
			// whole or not at all, and repeating the Apply is harmless.)
			t.rdb.Unlink(context.WithoutCancel(ctx), keys...)
		}
		return unavailable(err, "apply vote to live tally")
	}
	if res < 0 {
		return voting.ErrNotLoaded
	}
	return nil
}

// ApplyAll applies votes in one pipelined round trip.
func (t *Tally) ApplyAll(ctx context.Context, votes []voting.MotionVote) []error {
	errs := make([]error, len(votes))
	if len(votes) == 0 {
		return errs
	}
	run := func() ([]*redis.Cmd, error) {
		pipe := t.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(votes))
		for i, mv := range votes {
			args := make([]any, 0, 2+len(mv.Vote.Options))
			args = append(args, strconv.FormatInt(mv.Vote.HouseholdID, 10), encodeTallyVersion(mv.Vote.Version))
			for _, o := range mv.Vote.Options {
				args = append(args, o)
			}
			cmds[i] = tallyApply.EvalSha(ctx, pipe, t.keys(mv.MotionID), args...)
		}
		_, err := pipe.Exec(ctx)
		return cmds, err
	}
	cmds, err := run()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if lerr := tallyApply.Load(ctx, t.rdb).Err(); lerr == nil {
			cmds, _ = run()
		}
	}
	for i, cmd := range cmds {
		res, err := cmd.Int()
		switch {
		case err != nil:
			var reply redis.Error
			if errors.As(err, &reply) {
				// As in Apply: a script that failed midway leaves a state
				// that can no longer be trusted.
				t.rdb.Unlink(context.WithoutCancel(ctx), t.keys(votes[i].MotionID)...)
			}
			errs[i] = unavailable(err, "apply vote to live tally")
		case res < 0:
			errs[i] = voting.ErrNotLoaded
		}
	}
	return errs
}

// Totals returns the motion's current totals in one round trip.
func (t *Tally) Totals(ctx context.Context, motionID int64) (voting.Totals, error) {
	res, err := tallyTotals.Run(ctx, t.rdb, t.keys(motionID)).Slice()
	if errors.Is(err, redis.Nil) {
		return voting.Totals{}, voting.ErrNotLoaded
	}
	if err != nil {
		return voting.Totals{}, unavailable(err, "read live tally")
	}
	tot, err := decodeTallyTotals(res)
	if err != nil {
		// A state this code did not write: rebuild it from the database.
		return voting.Totals{}, fmt.Errorf("%w: motion %d: %v", voting.ErrNotLoaded, motionID, err)
	}
	return tot, nil
}

// Drop deletes the motion's live state.
func (t *Tally) Drop(ctx context.Context, motionID int64) error {
	// UNLINK frees a big state in the background instead of blocking the
	// server.
	if err := t.rdb.Unlink(ctx, t.keys(motionID)...).Err(); err != nil {
		return unavailable(err, "drop live tally")
	}
	return nil
}

// tallyLoadLimits bounds the commands and round trips of a Load.
type tallyLoadLimits struct {
	pairs    int // field/value pairs per HSET
	commands int // commands per round trip (pipeline)
	bytes    int // bytes of fields and values per round trip
}

// defaultTallyLoadLimits keeps a round trip around a megabyte and well
// under 100 ms of server time, far inside a one-second client timeout.
var defaultTallyLoadLimits = tallyLoadLimits{pairs: 5000, commands: 32, bytes: 1 << 20}

// The keys' positions in tallyKeyNames.
const (
	tallyMeta = iota
	tallyHH
	tallyCur
	tallyGV
	tallyGopt
	tallyOH
	tallyOA
	tallyOV
	tallySplit
)

// tallyWriter writes hash fields to the temporary keys of a Load in
// rounds: HSETs of at most lim.pairs pairs, pipelined at most
// lim.commands (or lim.bytes) to a round trip. Fields and values are
// formatted into buf and handed to the client as slices of it, so a round
// allocates little besides the client's own argument boxes; buf and the
// argument slices are reused once the round has been answered.
type tallyWriter struct {
	ctx  context.Context
	rdb  redis.UniversalClient
	keys []string
	lim  tallyLoadLimits

	buf   []byte
	key   int   // the key of the command being built, -1 for none
	args  []any // "hset", key, field, value, …
	cmds  [][]any
	cmdOf []int // the key of each of cmds
	spare [][]any
	round int

	afterRound func(round int) // a test hook
}

func newTallyWriter(ctx context.Context, rdb redis.UniversalClient, keys []string, lim tallyLoadLimits) *tallyWriter {
	if lim == (tallyLoadLimits{}) {
		lim = defaultTallyLoadLimits
	}
	return &tallyWriter{ctx: ctx, rdb: rdb, keys: keys, lim: lim, key: -1, buf: make([]byte, 0, lim.bytes+lim.bytes/8)}
}

// mark returns where the next field or value starts in w.buf.
func (w *tallyWriter) mark() int { return len(w.buf) }

// pair adds the field w.buf[field:value] with the value w.buf[value:] to
// key k, and sends the round once it is full.
func (w *tallyWriter) pair(k, field, value int) error {
	if k != w.key {
		w.endCommand()
		w.key = k
	}
	if w.args == nil {
		if n := len(w.spare); n > 0 {
			w.args, w.spare = w.spare[n-1][:0], w.spare[:n-1]
		} else {
			w.args = make([]any, 0, 2+2*w.lim.pairs)
		}
		w.args = append(w.args, "hset", w.keys[k])
	}
	end := len(w.buf)
	w.args = append(w.args, w.buf[field:value:value], w.buf[value:end:end])
	if len(w.args) >= 2+2*w.lim.pairs {
		w.endCommand()
	}
	if len(w.cmds) >= w.lim.commands || len(w.buf) >= w.lim.bytes {
		return w.send()
	}
	return nil
}

func (w *tallyWriter) endCommand() {
	if w.args != nil {
		w.cmds = append(w.cmds, w.args)
		w.cmdOf = append(w.cmdOf, w.key)
		w.args = nil
	}
}

// send sends the commands built so far as one round trip, with a PEXPIRE
// of every key they write.
func (w *tallyWriter) send() error {
	w.endCommand()
	if len(w.cmds) == 0 {
		return nil
	}
	if err := w.ctx.Err(); err != nil {
		return err
	}
	pipe := w.rdb.Pipeline()
	wrote := make([]bool, len(w.keys))
	for i, c := range w.cmds {
		pipe.Do(w.ctx, c...)
		wrote[w.cmdOf[i]] = true
	}
	for k, ok := range wrote {
		if ok {
			pipe.PExpire(w.ctx, w.keys[k], tempTTL)
		}
	}
	_, err := pipe.Exec(w.ctx)
	for _, c := range w.cmds {
		clear(c) // drop the references into buf
		w.spare = append(w.spare, c)
	}
	w.cmds, w.cmdOf, w.buf = w.cmds[:0], w.cmdOf[:0], w.buf[:0]
	w.round++
	if err != nil {
		return err
	}
	if w.afterRound != nil {
		w.afterRound(w.round)
	}
	return nil
}

// tallyState is a motion's state as Load writes it: the same figures the
// Apply script maintains, computed at once in O(households + ballots ×
// options) and kept compact. Hash fields are only formatted by write, a
// round at a time, so memory stays proportional to the input.
type tallyState struct {
	options []string
	index   map[string]int // option → 1-based index among distinct options
	n       int

	electorate []voting.Voter       // the caller's, not copied
	counted    []voting.CountedVote // the caller's, not copied

	latest   []int32 // per household (index in electorate): index in counted of its latest vote, or -1
	optStart []int   // per household: its counted options are opts[optStart[h]:optStart[h+1]]
	opts     []int32 // sorted distinct option indices

	groups []int64             // distinct owner groups
	gv     []int32             // per group: its voting households
	gopt   []tallyGroupOption  // per group and chosen option
	split  []int32             // groups whose voting households chose differently
	oh, oa []int64             // per option index: households, area
	ov     []tallyTurnoutCount // per option and group turnout

	eh, ehd, ea, vh, vhd, va int64
}

type tallyGroupOption struct{ group, option, households int32 }

type tallyTurnoutCount struct {
	option, turnout int32
	households      int64
}

func buildTallyState(electorate []voting.Voter, options []string, counted []voting.CountedVote) (*tallyState, error) {
	if len(electorate) >= math.MaxInt32 || len(counted) >= math.MaxInt32 {
		return nil, louyuan.Invalid("tally_too_large", "选民名册或选票过多")
	}
	st := &tallyState{options: slices.Clone(options), index: map[string]int{}, electorate: electorate, counted: counted}
	if st.options == nil {
		st.options = []string{}
	}
	for _, o := range options {
		if _, ok := st.index[o]; !ok {
			st.n++
			st.index[o] = st.n
		}
	}

	// The electorate: households and their owner groups, numbered.
	nh := len(electorate)
	house := make(map[int64]int32, nh)
	groupOf := make(map[int64]int32)
	hg := make([]int32, nh) // household → group number
	for h, v := range electorate {
		if _, dup := house[v.HouseholdID]; dup {
			return nil, louyuan.Invalid("tally_duplicate_household", fmt.Sprintf("选民名册中户 %d 重复", v.HouseholdID))
		}
		if v.Area < 0 || v.Area > maxTallyArea {
			return nil, louyuan.Invalid("tally_bad_area", fmt.Sprintf("户 %d 的面积 %s 超出范围", v.HouseholdID, v.Area))
		}
		house[v.HouseholdID] = int32(h)
		g, ok := groupOf[v.Group]
		if !ok {
			g = int32(len(st.groups))
			groupOf[v.Group] = g
			st.groups = append(st.groups, v.Group)
		}
		hg[h] = g
		st.ea += int64(v.Area)
	}
	st.eh, st.ehd = int64(nh), int64(len(st.groups))

	// The latest version of each household, as Apply would keep it: a
	// later entry replaces an earlier one only with a greater version.
	st.latest = make([]int32, nh)
	for h := range st.latest {
		st.latest[h] = -1
	}
	for i, cv := range counted {
		h, ok := house[cv.HouseholdID]
		if !ok {
			continue
		}
		if j := st.latest[h]; j >= 0 && cv.Version <= counted[j].Version {
			continue
		}
		st.latest[h] = int32(i)
	}

	// Each household's counted options, and the per-option totals.
	st.optStart = make([]int, nh+1)
	st.opts = make([]int32, 0, nh)
	st.oh, st.oa = make([]int64, st.n+1), make([]int64, st.n+1)
	seen := make([]int32, st.n+1)            // option → 1 + the household that last chose it
	first := make([]int32, len(st.groups)+1) // group → its first voting household in members, after the sums below
	for h, v := range electorate {
		st.optStart[h] = len(st.opts)
		j := st.latest[h]
		if j < 0 {
			continue
		}
		for _, o := range counted[j].Options {
			if i, ok := st.index[o]; ok && seen[i] != int32(h+1) {
				seen[i] = int32(h + 1)
				st.opts = append(st.opts, int32(i))
			}
		}
		mine := st.opts[st.optStart[h]:]
		if len(mine) == 0 {
			continue
		}
		slices.Sort(mine)
		st.vh++
		st.va += int64(v.Area)
		first[hg[h]+1]++
		for _, i := range mine {
			st.oh[i]++
			st.oa[i] += int64(v.Area)
		}
	}
	st.optStart[nh] = len(st.opts)

	// The voting households of each group, grouped by a counting sort.
	for g := range len(st.groups) {
		first[g+1] += first[g]
	}
	members := make([]int32, first[len(st.groups)])
	next := slices.Clone(first[:len(st.groups)])
	for h := range electorate {
		if st.optStart[h+1] > st.optStart[h] {
			members[next[hg[h]]] = int32(h)
			next[hg[h]]++
		}
	}

	// Per group: voting households, households per option, split.
	st.gv = make([]int32, len(st.groups))
	count := make([]int32, st.n+1)
	var chosen []int32
	byTurnout := map[[2]int32]int64{}
	single := make([]int64, st.n+1) // byTurnout of turnout 1, the common case
	for g := range st.groups {
		ms := members[first[g]:first[g+1]]
		if len(ms) == 0 {
			continue
		}
		st.vhd++
		v := int32(len(ms))
		st.gv[g] = v
		if v == 1 {
			h := ms[0]
			for _, i := range st.opts[st.optStart[h]:st.optStart[h+1]] {
				st.gopt = append(st.gopt, tallyGroupOption{int32(g), i, 1})
				single[i]++
			}
			continue
		}
		chosen = chosen[:0]
		for _, h := range ms {
			for _, i := range st.opts[st.optStart[h]:st.optStart[h+1]] {
				if count[i] == 0 {
					chosen = append(chosen, i)
				}
				count[i]++
			}
		}
		split := false
		for _, i := range chosen {
			c := count[i]
			st.gopt = append(st.gopt, tallyGroupOption{int32(g), i, c})
			byTurnout[[2]int32{i, v}] += int64(c)
			split = split || c < v
			count[i] = 0
		}
		if split {
			st.split = append(st.split, int32(g))
		}
	}
	for i, c := range single {
		if c > 0 {
			byTurnout[[2]int32{int32(i), 1}] += c
		}
	}
	for k, c := range byTurnout {
		st.ov = append(st.ov, tallyTurnoutCount{k[0], k[1], c})
	}
	slices.SortFunc(st.ov, func(a, b tallyTurnoutCount) int {
		return cmp.Or(cmp.Compare(a.option, b.option), cmp.Compare(a.turnout, b.turnout))
	})
	return st, nil
}

// write writes the state's fields to the writer's keys (in tallyKeyNames
// order) and returns how many fields each key holds then.
func (st *tallyState) write(w *tallyWriter) ([]int64, error) {
	lens := make([]int64, len(tallyKeyNames))
	num := strconv.AppendInt
	// put writes one field; field and value append their bytes to a buffer.
	put := func(k int, field, value func([]byte) []byte) error {
		f := w.mark()
		w.buf = field(w.buf)
		v := w.mark()
		w.buf = value(w.buf)
		lens[k]++
		return w.pair(k, f, v)
	}
	str := func(s string) func([]byte) []byte { return func(b []byte) []byte { return append(b, s...) } }
	i64 := func(x int64) func([]byte) []byte { return func(b []byte) []byte { return num(b, x, 10) } }

	// The small hashes first.
	opts, _ := json.Marshal(st.options)
	for _, f := range []struct {
		name  string
		value int64
	}{{"eh", st.eh}, {"ehd", st.ehd}, {"ea", st.ea}, {"vh", st.vh}, {"vhd", st.vhd}, {"va", st.va}, {"n", int64(st.n)}} {
		if err := put(tallyMeta, str(f.name), i64(f.value)); err != nil {
			return nil, err
		}
	}
	if err := put(tallyMeta, str("opts"), str(string(opts))); err != nil {
		return nil, err
	}
	for o, i := range st.index {
		if err := put(tallyMeta, str("o:"+o), i64(int64(i))); err != nil {
			return nil, err
		}
	}
	for k := tallyHH; k < len(tallyKeyNames); k++ {
		if err := put(k, str("_"), str("1")); err != nil {
			return nil, err
		}
	}
	for i := 1; i <= st.n; i++ {
		if st.oh[i] > 0 {
			if err := put(tallyOH, i64(int64(i)), i64(st.oh[i])); err != nil {
				return nil, err
			}
			if err := put(tallyOA, i64(int64(i)), i64(st.oa[i])); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range st.ov {
		f := func(b []byte) []byte { return num(append(num(b, int64(c.option), 10), '|'), int64(c.turnout), 10) }
		if err := put(tallyOV, f, i64(c.households)); err != nil {
			return nil, err
		}
	}
	for _, g := range st.split {
		if err := put(tallySplit, i64(st.groups[g]), str("1")); err != nil {
			return nil, err
		}
	}

	// The big ones, formatted inline.
	for _, v := range st.electorate {
		f := w.mark()
		w.buf = num(w.buf, v.HouseholdID, 10)
		m := w.mark()
		w.buf = num(append(num(w.buf, v.Group, 10), '|'), int64(v.Area), 10)
		lens[tallyHH]++
		if err := w.pair(tallyHH, f, m); err != nil {
			return nil, err
		}
	}
	for h, v := range st.electorate {
		j := st.latest[h]
		if j < 0 {
			continue
		}
		f := w.mark()
		w.buf = num(w.buf, v.HouseholdID, 10)
		m := w.mark()
		w.buf = append(appendTallyVersion(w.buf, st.counted[j].Version), '|')
		for k, i := range st.opts[st.optStart[h]:st.optStart[h+1]] {
			if k > 0 {
				w.buf = append(w.buf, ',')
			}
			w.buf = num(w.buf, int64(i), 10)
		}
		lens[tallyCur]++
		if err := w.pair(tallyCur, f, m); err != nil {
			return nil, err
		}
	}
	for g, v := range st.gv {
		if v == 0 {
			continue
		}
		f := w.mark()
		w.buf = num(w.buf, st.groups[g], 10)
		m := w.mark()
		w.buf = num(w.buf, int64(v), 10)
		lens[tallyGV]++
		if err := w.pair(tallyGV, f, m); err != nil {
			return nil, err
		}
	}
	for _, c := range st.gopt {
		f := w.mark()
		w.buf = num(append(num(w.buf, st.groups[c.group], 10), '|'), int64(c.option), 10)
		m := w.mark()
		w.buf = num(w.buf, int64(c.households), 10)
		lens[tallyGopt]++
		if err := w.pair(tallyGopt, f, m); err != nil {
			return nil, err
		}
	}
	return lens, w.send()
}

// appendTallyVersion appends encodeTallyVersion(v).
func appendTallyVersion(b []byte, v int64) []byte {
	const digits = "0123456789abcdef"
	u := uint64(v) ^ (1 << 63)
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[u>>shift&15])
	}
	return b
}

// decodeTallyTotals turns the reply of tally_totals.lua into voting.Totals.
func decodeTallyTotals(res []any) (voting.Totals, error) {
	var t voting.Totals
	if len(res) != 5 {
		return t, fmt.Errorf("reply has %d parts", len(res))
	}
	var maps [5]map[string]string
	for i, part := range res {
		arr, ok := part.([]any)
		if !ok || len(arr)%2 != 0 {
			return t, fmt.Errorf("reply part %d is %T", i, part)
		}
		m := make(map[string]string, len(arr)/2)
		for j := 0; j < len(arr); j += 2 {
			f, _ := arr[j].(string)
			v, _ := arr[j+1].(string)
			if f != "_" {
				m[f] = v
			}
		}
		maps[i] = m
	}
	meta, oh, oa, ov, split := maps[0], maps[1], maps[2], maps[3], maps[4]

	var err error
	num := func(m map[string]string, f string) int64 {
		s, ok := m[f]
		if !ok {
			return 0
		}
		x, e := strconv.ParseInt(s, 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("field %q: %v", f, e)
		}
		return x
	}
	var options []string
	if e := json.Unmarshal([]byte(meta["opts"]), &options); e != nil {
		return t, fmt.Errorf("options: %v", e)
	}
	t.ElectorateHouses = int(num(meta, "eh"))
	t.ElectorateHeads = num(meta, "ehd")
	t.ElectorateArea = louyuan.Area(num(meta, "ea"))
	t.VotedHouses = int(num(meta, "vh"))
	t.VotedHeads = num(meta, "vhd")
	t.VotedArea = louyuan.Area(num(meta, "va"))

	heads := map[string]*big.Rat{}
	for f, s := range ov {
		i, v, ok := strings.Cut(f, "|")
		turnout, e1 := strconv.ParseInt(v, 10, 64)
		c, e2 := strconv.ParseInt(s, 10, 64)
		if !ok || e1 != nil || e2 != nil || turnout <= 0 {
			return t, fmt.Errorf("head field %q = %q", f, s)
		}
		if heads[i] == nil {
			heads[i] = new(big.Rat)
		}
		heads[i].Add(heads[i], big.NewRat(c, turnout))
	}
	for _, o := range options {
		i := num(meta, "o:"+o)
		is := strconv.FormatInt(i, 10)
		head := new(big.Rat)
		if h := heads[is]; h != nil {
			head.Set(h)
		}
		t.Options = append(t.Options, voting.OptionCount{Option: o, Households: int(num(oh, is)), Area: louyuan.Area(num(oa, is)), Head: head})
	}
	for f := range split {
		g, e := strconv.ParseInt(f, 10, 64)
		if e != nil {
			return t, fmt.Errorf("split group %q", f)
		}
		t.SplitOwners = append(t.SplitOwners, g)
	}
	slices.Sort(t.SplitOwners)
	return t, err
}
