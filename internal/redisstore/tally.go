package redisstore

import (
	"context"
	"crypto/rand"
	_ "embed" // the Lua scripts
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	return fmt.Sprintf("%016x", uint64(v)^(1<<63))
}

// Load replaces the motion's live state. The state is built under
// temporary keys of the same slot and swapped in by one script, so readers
// see the old state or the new one, never a part of either.
func (t *Tally) Load(ctx context.Context, motionID int64, electorate []voting.Voter, options []string, counted []voting.CountedVote) error {
	st, err := buildTallyState(electorate, options, counted)
	if err != nil {
		return err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := tallyKeysUnder(t.base(motionID) + "load:" + hex.EncodeToString(rnd[:]) + ":")
	live := t.keys(motionID)

	_, err = t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, fields := range st.hashes() {
			for len(fields) > 0 {
				n := min(len(fields), 2000)
				p.HSet(ctx, tmp[i], fields[:n]...)
				fields = fields[n:]
			}
			p.PExpire(ctx, tmp[i], tempTTL)
		}
		return nil
	})
	if err != nil {
		t.rdb.Del(context.WithoutCancel(ctx), tmp...)
		return unavailable(err, "load live tally")
	}
	exp := "0"
	if t.TTL > 0 {
		exp = strconv.FormatInt(time.Now().Add(t.TTL).UnixMilli(), 10)
	}
	ok, err := tallySwap.Run(ctx, t.rdb, append(tmp, live...), exp).Int()
	if err != nil {
		t.rdb.Del(context.WithoutCancel(ctx), tmp...)
		return unavailable(err, "swap in live tally")
	}
	if ok != 1 {
		t.rdb.Del(context.WithoutCancel(ctx), tmp...)
		return unavailable(errors.New("temporary keys vanished before the swap"), "swap in live tally")
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
			t.rdb.Del(context.WithoutCancel(ctx), keys...)
		}
		return unavailable(err, "apply vote to live tally")
	}
	if res < 0 {
		return voting.ErrNotLoaded
	}
	return nil
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
	if err := t.rdb.Del(ctx, t.keys(motionID)...).Err(); err != nil {
		return unavailable(err, "drop live tally")
	}
	return nil
}

// tallyState is a motion's state as Load writes it: the same figures the
// Apply script maintains, computed at once.
type tallyState struct {
	options []string
	index   map[string]int // option → 1-based index among distinct options
	n       int

	hh, cur, gv, gopt, oh, oa, ov, split []any // field, value, field, value…

	eh, ehd, ea, vh, vhd, va int64
}

func buildTallyState(electorate []voting.Voter, options []string, counted []voting.CountedVote) (*tallyState, error) {
	st := &tallyState{options: slices.Clone(options), index: map[string]int{}}
	if st.options == nil {
		st.options = []string{}
	}
	for _, o := range options {
		if _, ok := st.index[o]; !ok {
			st.n++
			st.index[o] = st.n
		}
	}
	type house struct {
		group int64
		area  louyuan.Area
	}
	houses := make(map[int64]house, len(electorate))
	groups := map[int64]bool{}
	for _, v := range electorate {
		if _, dup := houses[v.HouseholdID]; dup {
			return nil, louyuan.Invalid("tally_duplicate_household", fmt.Sprintf("选民名册中户 %d 重复", v.HouseholdID))
		}
		if v.Area < 0 || v.Area > maxTallyArea {
			return nil, louyuan.Invalid("tally_bad_area", fmt.Sprintf("户 %d 的面积 %s 超出范围", v.HouseholdID, v.Area))
		}
		houses[v.HouseholdID] = house{v.Group, v.Area}
		groups[v.Group] = true
		st.ea += int64(v.Area)
		st.hh = append(st.hh, strconv.FormatInt(v.HouseholdID, 10), strconv.FormatInt(v.Group, 10)+"|"+strconv.FormatInt(int64(v.Area), 10))
	}
	st.eh, st.ehd = int64(len(electorate)), int64(len(groups))

	// The latest version of each household, as Apply would keep it: a
	// later entry replaces an earlier one only with a greater version.
	type choice struct {
		version int64
		opts    []int
	}
	latest := map[int64]choice{}
	for _, cv := range counted {
		if _, ok := houses[cv.HouseholdID]; !ok {
			continue
		}
		if c, ok := latest[cv.HouseholdID]; ok && cv.Version <= c.version {
			continue
		}
		var opts []int
		for _, o := range cv.Options {
			if i, ok := st.index[o]; ok && !slices.Contains(opts, i) {
				opts = append(opts, i)
			}
		}
		slices.Sort(opts)
		latest[cv.HouseholdID] = choice{cv.Version, opts}
	}

	voters := map[int64]int64{}         // group → voting households
	chose := map[int64]map[int]int64{}  // group → option → households
	perOption := make([]int64, st.n+1)  // households
	areaOption := make([]int64, st.n+1) // area
	for hid, c := range latest {
		st.cur = append(st.cur, strconv.FormatInt(hid, 10), encodeTallyVersion(c.version)+"|"+joinTallyInts(c.opts))
		if len(c.opts) == 0 {
			continue
		}
		h := houses[hid]
		st.vh++
		st.va += int64(h.area)
		voters[h.group]++
		if chose[h.group] == nil {
			chose[h.group] = map[int]int64{}
		}
		for _, i := range c.opts {
			chose[h.group][i]++
			perOption[i]++
			areaOption[i] += int64(h.area)
		}
	}
	st.vhd = int64(len(voters))
	byTurnout := map[[2]int64]int64{} // {option, v} → households
	for g, v := range voters {
		gs := strconv.FormatInt(g, 10)
		st.gv = append(st.gv, gs, v)
		split := false
		for i, c := range chose[g] {
			st.gopt = append(st.gopt, gs+"|"+strconv.Itoa(i), c)
			byTurnout[[2]int64{int64(i), v}] += c
			if c < v {
				split = true
			}
		}
		if split {
			st.split = append(st.split, gs, "1")
		}
	}
	for i := 1; i <= st.n; i++ {
		if perOption[i] > 0 {
			st.oh = append(st.oh, i, perOption[i])
			st.oa = append(st.oa, i, areaOption[i])
		}
	}
	for k, c := range byTurnout {
		st.ov = append(st.ov, strconv.FormatInt(k[0], 10)+"|"+strconv.FormatInt(k[1], 10), c)
	}
	return st, nil
}

// hashes returns the field-value lists of the keys in tallyKeyNames order.
func (st *tallyState) hashes() [][]any {
	opts, _ := json.Marshal(st.options)
	meta := []any{"eh", st.eh, "ehd", st.ehd, "ea", st.ea, "vh", st.vh, "vhd", st.vhd, "va", st.va, "n", st.n, "opts", string(opts)}
	for o, i := range st.index {
		meta = append(meta, "o:"+o, i)
	}
	out := [][]any{meta}
	for _, h := range [][]any{st.hh, st.cur, st.gv, st.gopt, st.oh, st.oa, st.ov, st.split} {
		out = append(out, append([]any{"_", "1"}, h...))
	}
	return out
}

func joinTallyInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
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
