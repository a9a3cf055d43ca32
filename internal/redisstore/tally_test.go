package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/louyuan/louyuan/internal/louyuan"
	"github.com/louyuan/louyuan/internal/testenv"
	"github.com/louyuan/louyuan/internal/voting"
)

type tallyBackend struct {
	name   string
	rdb    *redis.Client
	prefix string
}

// tallyBackends runs a test against real Redis (under a key prefix of its
// own, deleted afterwards) and the embedded miniredis.
func tallyBackends(t *testing.T) []tallyBackend {
	t.Helper()
	real := testenv.Redis(t)
	emb, stop, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return []tallyBackend{{"redis", real.Client, real.Prefix}, {"embedded", emb, "t:"}}
}

// tallyModel is what the database would hold: the latest counted vote of each
// household, kept by the same rule a LiveTally must follow.
type tallyModel struct {
	electorate []voting.Voter
	options    []string
	latest     map[int64]voting.CountedVote
}

func newTallyModel(electorate []voting.Voter, options []string) *tallyModel {
	return &tallyModel{electorate: electorate, options: options, latest: map[int64]voting.CountedVote{}}
}

func (m *tallyModel) apply(v voting.CountedVote) {
	if cur, ok := m.latest[v.HouseholdID]; ok && v.Version <= cur.Version {
		return
	}
	m.latest[v.HouseholdID] = v
}

func (m *tallyModel) counted() []voting.CountedVote {
	out := make([]voting.CountedVote, 0, len(m.latest))
	for _, v := range m.latest {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b voting.CountedVote) int { return cmp.Compare(a.HouseholdID, b.HouseholdID) })
	return out
}

// want is voting.Sum over the latest votes. Each vote's options are put in
// the motion's order first: Sum tells split owners apart by the printed
// option list, so ["a","b"] and ["b","a"] would look split to it, while the
// live tally (as specified) compares option sets.
func (m *tallyModel) want() voting.Totals {
	var votes []voting.Vote
	for _, v := range m.counted() {
		var opts []string
		for _, o := range m.options {
			if slices.Contains(v.Options, o) && !slices.Contains(opts, o) {
				opts = append(opts, o)
			}
		}
		votes = append(votes, voting.Vote{HouseholdID: v.HouseholdID, Options: opts})
	}
	return voting.Sum(m.electorate, m.options, votes)
}

func diffTallyTotals(got, want voting.Totals) string {
	var d []string
	add := func(what string, g, w any) {
		if fmt.Sprint(g) != fmt.Sprint(w) {
			d = append(d, fmt.Sprintf("%s = %v, want %v", what, g, w))
		}
	}
	add("ElectorateHouses", got.ElectorateHouses, want.ElectorateHouses)
	add("ElectorateHeads", got.ElectorateHeads, want.ElectorateHeads)
	add("ElectorateArea", int64(got.ElectorateArea), int64(want.ElectorateArea))
	add("VotedHouses", got.VotedHouses, want.VotedHouses)
	add("VotedHeads", got.VotedHeads, want.VotedHeads)
	add("VotedArea", int64(got.VotedArea), int64(want.VotedArea))
	if len(got.Options) != len(want.Options) {
		d = append(d, fmt.Sprintf("%d options, want %d", len(got.Options), len(want.Options)))
	} else {
		for i, g := range got.Options {
			w := want.Options[i]
			if g.Option != w.Option || g.Households != w.Households || g.Area != w.Area || g.Head == nil || g.Head.Cmp(w.Head) != 0 {
				d = append(d, fmt.Sprintf("option %d = {%s %d %d %v}, want {%s %d %d %v}", i, g.Option, g.Households, int64(g.Area), g.Head, w.Option, w.Households, int64(w.Area), w.Head))
			}
		}
	}
	if !slices.Equal(got.SplitOwners, want.SplitOwners) {
		d = append(d, fmt.Sprintf("SplitOwners = %v, want %v", got.SplitOwners, want.SplitOwners))
	}
	return strings.Join(d, "; ")
}

// randomTallyElectorate makes 20–60 households; some owners hold 2–4 of them.
// Ids are large (beyond 2^53) to catch any rounding through Lua numbers.
func randomTallyElectorate(r *rand.Rand) []voting.Voter {
	n := 20 + r.IntN(41)
	var out []voting.Voter
	hid := int64(1)<<60 + r.Int64N(1000)
	for len(out) < n {
		group := int64(1)<<58 + r.Int64N(1<<40)
		size := 1
		if r.IntN(3) == 0 {
			size = 2 + r.IntN(3)
		}
		for k := 0; k < size && len(out) < n; k++ {
			hid += 1 + r.Int64N(3)
			area := louyuan.Area(3000 + r.Int64N(20000))
			if r.IntN(25) == 0 {
				area = 0
			}
			out = append(out, voting.Voter{HouseholdID: hid, Group: group, Area: area})
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func randomTallyOptions(r *rand.Rand) (opts []string, election bool) {
	if r.IntN(2) == 0 {
		return []string{voting.OptionAgree, voting.OptionOppose, voting.OptionAbstain}, false
	}
	n := 3 + r.IntN(6)
	for i := 0; i < n; i++ {
		opts = append(opts, fmt.Sprintf("cand-%d", i))
	}
	return opts, true
}

// randomTallyChoice is a ballot's options: usually valid, sometimes empty (a
// withdrawal), with duplicates, unknown options or in any order.
func randomTallyChoice(r *rand.Rand, options []string, election bool) []string {
	if r.IntN(8) == 0 {
		return nil
	}
	k := 1
	if election {
		k = 1 + r.IntN(min(4, len(options)))
	}
	var out []string
	for _, i := range r.Perm(len(options))[:k] {
		out = append(out, options[i])
	}
	if r.IntN(6) == 0 {
		out = append(out, out[r.IntN(len(out))]) // duplicate
	}
	if r.IntN(10) == 0 {
		out = append(out, "no-such-option")
	}
	if r.IntN(30) == 0 {
		out = []string{"no-such-option"} // counts as no vote
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestTallyMatchesSum(t *testing.T) {
	ctx := context.Background()
	for _, b := range tallyBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			tally := NewTally(b.rdb, b.prefix)
			for seed := uint64(1); seed <= 12; seed++ {
				r := rand.New(rand.NewPCG(seed, 278))
				motion := int64(seed)
				electorate := randomTallyElectorate(r)
				options, election := randomTallyOptions(r)
				m := newTallyModel(electorate, options)
				fail := func(step int, format string, args ...any) {
					t.Helper()
					t.Fatalf("seed %d, step %d: %s", seed, step, fmt.Sprintf(format, args...))
				}

				// Versions: per household, some of them huge so that
				// neighbouring versions differ below double precision.
				next := map[int64]int64{}
				for _, v := range electorate {
					next[v.HouseholdID] = r.Int64N(5)
					if r.IntN(3) == 0 {
						next[v.HouseholdID] = int64(1)<<62 + r.Int64N(1000)
					}
				}
				vote := func() voting.CountedVote {
					if r.IntN(40) == 0 { // outside the electorate
						return voting.CountedVote{HouseholdID: 7 + r.Int64N(100), Version: r.Int64N(1 << 62), Options: randomTallyChoice(r, options, election)}
					}
					h := electorate[r.IntN(len(electorate))].HouseholdID
					v := voting.CountedVote{HouseholdID: h, Options: randomTallyChoice(r, options, election)}
					switch cur, ok := m.latest[h]; {
					case ok && r.IntN(10) == 0: // the same version again, maybe with other options
						v.Version = cur.Version
					case ok && r.IntN(8) == 0: // a stale version arriving late
						v.Version = cur.Version - 1 - r.Int64N(3)
					default:
						next[h] += 1 + r.Int64N(2)
						v.Version = next[h]
					}
					return v
				}

				// Start from a database that already holds some ballots.
				var initial []voting.CountedVote
				for i := r.IntN(40); i > 0; i-- {
					v := vote()
					m.apply(v)
					initial = append(initial, v)
				}
				if err := tally.Load(ctx, motion, electorate, options, initial); err != nil {
					fail(0, "Load: %v", err)
				}
				check := func(step int) {
					t.Helper()
					got, err := tally.Totals(ctx, motion)
					if err != nil {
						fail(step, "Totals: %v", err)
					}
					if d := diffTallyTotals(got, m.want()); d != "" {
						fail(step, "%s", d)
					}
				}
				check(0)

				steps := 300 + r.IntN(701)
				every := 1 + r.IntN(7)
				for step := 1; step <= steps; step++ {
					v := vote()
					if err := tally.Apply(ctx, motion, v); err != nil {
						fail(step, "Apply(%+v): %v", v, err)
					}
					m.apply(v)
					if step%every == 0 || step == steps {
						check(step)
					}
					if r.IntN(150) == 0 { // rebuild from the database midway
						if err := tally.Load(ctx, motion, electorate, options, m.counted()); err != nil {
							fail(step, "reload: %v", err)
						}
						check(step)
					}
				}
				if err := tally.Drop(ctx, motion); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestTallyLifecycle(t *testing.T) {
	ctx := context.Background()
	for _, b := range tallyBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			tally := NewTally(b.rdb, b.prefix)
			const motion = 42
			if err := tally.Apply(ctx, motion, voting.CountedVote{HouseholdID: 1, Version: 1, Options: []string{"agree"}}); !errors.Is(err, voting.ErrNotLoaded) {
				t.Fatalf("Apply before Load = %v", err)
			}
			if _, err := tally.Totals(ctx, motion); !errors.Is(err, voting.ErrNotLoaded) {
				t.Fatalf("Totals before Load = %v", err)
			}
			if n := countTallyKeys(t, b, tally.base(motion)); n != 0 {
				t.Fatalf("Apply before Load left %d keys", n)
			}

			options := []string{voting.OptionAgree, voting.OptionOppose, voting.OptionAbstain}
			first := []voting.Voter{{HouseholdID: 1, Group: 10, Area: 8520}, {HouseholdID: 2, Group: 10, Area: 9000}, {HouseholdID: 3, Group: 30, Area: 10000}}
			m := newTallyModel(first, options)
			votes := []voting.CountedVote{{HouseholdID: 1, Version: 5, Options: []string{"agree"}}, {HouseholdID: 2, Version: 1, Options: []string{"oppose"}}, {HouseholdID: 3, Version: 2, Options: []string{"agree"}}}
			for _, v := range votes {
				m.apply(v)
			}
			if err := tally.Load(ctx, motion, first, options, votes); err != nil {
				t.Fatal(err)
			}
			expectTallyTotals(t, tally, motion, m)

			// A stale version of household 1 is ignored; a newer one counts.
			applyTallyVote(t, tally, motion, m, voting.CountedVote{HouseholdID: 1, Version: 4, Options: []string{"oppose"}})
			applyTallyVote(t, tally, motion, m, voting.CountedVote{HouseholdID: 2, Version: 2, Options: []string{"agree", "agree"}})
			expectTallyTotals(t, tally, motion, m)

			// Loading again replaces everything: household 3 is gone, 4 is
			// new, versions start over.
			second := []voting.Voter{{HouseholdID: 1, Group: 10, Area: 8520}, {HouseholdID: 4, Group: 40, Area: 7000}}
			m = newTallyModel(second, []string{"oppose", "agree"})
			if err := tally.Load(ctx, motion, second, m.options, nil); err != nil {
				t.Fatal(err)
			}
			expectTallyTotals(t, tally, motion, m)
			applyTallyVote(t, tally, motion, m, voting.CountedVote{HouseholdID: 3, Version: 9, Options: []string{"agree"}})
			applyTallyVote(t, tally, motion, m, voting.CountedVote{HouseholdID: 1, Version: 1, Options: []string{"agree"}})
			applyTallyVote(t, tally, motion, m, voting.CountedVote{HouseholdID: 4, Version: 1, Options: []string{"abstain"}}) // not an option any more
			expectTallyTotals(t, tally, motion, m)

			// One absolute expiry for all keys, about the TTL. (miniredis
			// keeps a TTL rather than an instant, so there the instants
			// read back may differ by the time between the reads.)
			var at []time.Duration
			for _, k := range tally.keys(motion) {
				ms, err := b.rdb.PExpireTime(ctx, k).Result()
				if err != nil {
					t.Fatal(err)
				}
				at = append(at, ms)
				left := time.Until(time.UnixMilli(int64(ms / time.Millisecond)))
				if left < DefaultTallyTTL-time.Hour || left > DefaultTallyTTL {
					t.Errorf("%s expires in %v", k, left)
				}
			}
			spread := slices.Max(at) - slices.Min(at)
			if b.name == "redis" && spread != 0 || spread > time.Second {
				t.Errorf("keys expire up to %v apart", spread)
			}
			if n := countTallyKeys(t, b, tally.base(motion)); n != len(tallyKeyNames) {
				t.Errorf("%d keys under the motion, want %d (temporary keys left?)", n, len(tallyKeyNames))
			}

			if err := tally.Drop(ctx, motion); err != nil {
				t.Fatal(err)
			}
			if _, err := tally.Totals(ctx, motion); !errors.Is(err, voting.ErrNotLoaded) {
				t.Fatalf("Totals after Drop = %v", err)
			}
			if err := tally.Apply(ctx, motion, voting.CountedVote{HouseholdID: 1, Version: 99, Options: []string{"agree"}}); !errors.Is(err, voting.ErrNotLoaded) {
				t.Fatalf("Apply after Drop = %v", err)
			}
			if n := countTallyKeys(t, b, tally.base(motion)); n != 0 {
				t.Fatalf("Drop left %d keys", n)
			}
		})
	}
}

// A state that lost a key (eviction, a partial expiry) is not counted from.
func TestTallyMissingKeyIsNotLoaded(t *testing.T) {
	ctx := context.Background()
	for _, b := range tallyBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			tally := NewTally(b.rdb, b.prefix)
			electorate := []voting.Voter{{HouseholdID: 1, Group: 1, Area: 100}}
			for i, name := range tallyKeyNames {
				motion := int64(100 + i)
				if err := tally.Load(ctx, motion, electorate, []string{"agree"}, nil); err != nil {
					t.Fatal(err)
				}
				b.rdb.Del(ctx, tally.base(motion)+name)
				if _, err := tally.Totals(ctx, motion); !errors.Is(err, voting.ErrNotLoaded) {
					t.Errorf("without %s: Totals = %v", name, err)
				}
				if err := tally.Apply(ctx, motion, voting.CountedVote{HouseholdID: 1, Version: 1, Options: []string{"agree"}}); !errors.Is(err, voting.ErrNotLoaded) {
					t.Errorf("without %s: Apply = %v", name, err)
				}
			}
		})
	}
}

// Edge cases: huge neighbouring versions, negative versions, one owner of
// many households (far beyond where lcm(1..n) head units would overflow),
// withdrawals emptying every hash, an empty option list.
func TestTallyEdges(t *testing.T) {
	ctx := context.Background()
	for _, b := range tallyBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			tally := NewTally(b.rdb, b.prefix)
			options := []string{"agree", "oppose", "abstain"}
			var electorate []voting.Voter
			for i := int64(1); i <= 120; i++ {
				electorate = append(electorate, voting.Voter{HouseholdID: i, Group: 7, Area: louyuan.Area(5000 + i)}) // the developer
			}
			electorate = append(electorate, voting.Voter{HouseholdID: 500, Group: 8, Area: maxTallyArea})
			m := newTallyModel(electorate, options)
			if err := tally.Load(ctx, 1, electorate, options, nil); err != nil {
				t.Fatal(err)
			}
			big := int64(1) << 62
			applyTallyVote(t, tally, 1, m, voting.CountedVote{HouseholdID: 500, Version: big + 1, Options: []string{"agree"}})
			applyTallyVote(t, tally, 1, m, voting.CountedVote{HouseholdID: 500, Version: big, Options: []string{"oppose"}}) // stale by 1 at 2^62
			applyTallyVote(t, tally, 1, m, voting.CountedVote{HouseholdID: 1, Version: -5, Options: []string{"oppose"}})
			applyTallyVote(t, tally, 1, m, voting.CountedVote{HouseholdID: 1, Version: -6, Options: []string{"agree"}})
			expectTallyTotals(t, tally, 1, m)
			for i := int64(1); i <= 120; i++ {
				applyTallyVote(t, tally, 1, m, voting.CountedVote{HouseholdID: i, Version: 10, Options: options[i%3 : i%3+1]})
			}
			expectTallyTotals(t, tally, 1, m)
			for i := int64(1); i <= 120; i++ {
				applyTallyVote(t, tally, 1, m, voting.CountedVote{HouseholdID: i, Version: 11})
			}
			applyTallyVote(t, tally, 1, m, voting.CountedVote{HouseholdID: 500, Version: big + 2, Options: []string{}})
			expectTallyTotals(t, tally, 1, m)

			if err := tally.Load(ctx, 2, electorate, nil, nil); err != nil {
				t.Fatal(err)
			}
			m2 := newTallyModel(electorate, nil)
			applyTallyVote(t, tally, 2, m2, voting.CountedVote{HouseholdID: 1, Version: 1, Options: []string{"agree"}})
			expectTallyTotals(t, tally, 2, m2)

			dup := append(slices.Clone(electorate[:2]), electorate[0])
			if err := tally.Load(ctx, 3, dup, options, nil); !louyuan.IsKind(err, louyuan.KindInvalid) {
				t.Errorf("Load with a duplicate household = %v", err)
			}
			if err := tally.Load(ctx, 3, []voting.Voter{{HouseholdID: 1, Group: 1, Area: -1}}, options, nil); !louyuan.IsKind(err, louyuan.KindInvalid) {
				t.Errorf("Load with a negative area = %v", err)
			}
		})
	}
}

func TestTallyConcurrent(t *testing.T) {
	ctx := context.Background()
	for _, b := range tallyBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			tally := NewTally(b.rdb, b.prefix)
			r := rand.New(rand.NewPCG(7, 7))
			var electorate []voting.Voter
			for len(electorate) < 150 {
				g := int64(len(electorate) + 1000)
				for k := 1 + r.IntN(4); k > 0; k-- {
					electorate = append(electorate, voting.Voter{HouseholdID: int64(len(electorate) + 1), Group: g, Area: louyuan.Area(4000 + r.IntN(9000))})
				}
			}
			options := []string{"a", "b", "c", "d"}
			m := newTallyModel(electorate, options)
			const motion = 9
			if err := tally.Load(ctx, motion, electorate, options, nil); err != nil {
				t.Fatal(err)
			}

			versions := make([]atomic.Int64, len(electorate)+1)
			var mu sync.Mutex
			var wg sync.WaitGroup
			errs := make(chan error, 32)
			for w := 0; w < 32; w++ {
				wg.Add(1)
				go func(seed uint64) {
					defer wg.Done()
					r := rand.New(rand.NewPCG(seed, 1))
					for i := 0; i < 150; i++ {
						h := int64(1 + r.IntN(len(electorate)))
						var opts []string
						for _, j := range r.Perm(len(options))[:r.IntN(3)] {
							opts = append(opts, options[j])
						}
						v := voting.CountedVote{HouseholdID: h, Version: versions[h].Add(1), Options: opts}
						mu.Lock()
						m.apply(v) // the model keeps the highest version, whatever the order
						mu.Unlock()
						if err := tally.Apply(ctx, motion, v); err != nil {
							errs <- err
							return
						}
					}
				}(uint64(w))
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			expectTallyTotals(t, tally, motion, m)
		})
	}
}

func TestTallyUnavailable(t *testing.T) {
	ctx := context.Background()
	rdb, stop, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	tally := NewTally(rdb, "t:")
	if err := tally.Load(ctx, 1, []voting.Voter{{HouseholdID: 1, Group: 1, Area: 1}}, []string{"agree"}, nil); err != nil {
		t.Fatal(err)
	}
	stop() // closes the client and the server
	checks := map[string]error{
		"Load":  tally.Load(ctx, 1, []voting.Voter{{HouseholdID: 1, Group: 1, Area: 1}}, []string{"agree"}, nil),
		"Apply": tally.Apply(ctx, 1, voting.CountedVote{HouseholdID: 1, Version: 1, Options: []string{"agree"}}),
		"Drop":  tally.Drop(ctx, 1),
	}
	_, checks["Totals"] = tally.Totals(ctx, 1)
	for name, err := range checks {
		var le *louyuan.Error
		if !errors.As(err, &le) || le.Kind != louyuan.KindUnavailable {
			t.Errorf("%s on a closed client = %v; want a *louyuan.Error of kind unavailable", name, err)
		}
		if errors.Is(err, voting.ErrNotLoaded) {
			t.Errorf("%s on a closed client reads as not loaded", name)
		}
	}

	// A server that went away (the client still open) is unavailable too.
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer down.Close()
	if _, err := NewTally(down, "t:").Totals(ctx, 1); !louyuan.IsKind(err, louyuan.KindUnavailable) {
		t.Errorf("Totals on an unreachable server = %v", err)
	}
}

func applyTallyVote(t *testing.T, tally *Tally, motion int64, m *tallyModel, v voting.CountedVote) {
	t.Helper()
	if err := tally.Apply(context.Background(), motion, v); err != nil {
		t.Fatalf("Apply(%+v): %v", v, err)
	}
	m.apply(v)
}

func expectTallyTotals(t *testing.T, tally *Tally, motion int64, m *tallyModel) {
	t.Helper()
	got, err := tally.Totals(context.Background(), motion)
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	if d := diffTallyTotals(got, m.want()); d != "" {
		t.Fatal(d)
	}
}

func countTallyKeys(t *testing.T, b tallyBackend, prefix string) int {
	t.Helper()
	keys, err := b.rdb.Keys(context.Background(), strings.ReplaceAll(strings.ReplaceAll(prefix, "{", `\{`), "}", `\}`)+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

// tallyFixture makes an electorate of n households, most owned one each
// and about one owner in 25 holding 2–6, with one counted vote per
// household (about 2% withdrawn, some with duplicate or unknown options),
// plus extra stale, repeated and outsider votes, all shuffled. Ids are
// beyond 2^53.
func tallyFixture(r *rand.Rand, n int, options []string, election bool, extra int) ([]voting.Voter, []voting.CountedVote) {
	electorate := make([]voting.Voter, 0, n)
	hid, group := int64(1)<<60, int64(1)<<58
	for len(electorate) < n {
		group += 1 + r.Int64N(5)
		size := 1
		if r.IntN(25) == 0 {
			size = 2 + r.IntN(5)
		}
		for k := 0; k < size && len(electorate) < n; k++ {
			hid += 1 + r.Int64N(3)
			electorate = append(electorate, voting.Voter{HouseholdID: hid, Group: group, Area: louyuan.Area(3000 + r.Int64N(20000))})
		}
	}
	choice := func() []string {
		if r.IntN(50) == 0 {
			return nil
		}
		var out []string
		if election {
			for _, i := range r.Perm(len(options))[:1+r.IntN(min(3, len(options)))] {
				out = append(out, options[i])
			}
		} else {
			out = []string{options[r.IntN(len(options))]}
		}
		if r.IntN(50) == 0 {
			out = append(out, out[0])
		}
		if r.IntN(100) == 0 {
			out = append(out, "no-such-option")
		}
		return out
	}
	counted := make([]voting.CountedVote, 0, n+extra)
	for _, v := range electorate {
		counted = append(counted, voting.CountedVote{HouseholdID: v.HouseholdID, Version: 10 + r.Int64N(1<<40), Options: choice()})
	}
	for range extra {
		c := counted[r.IntN(n)]
		switch r.IntN(3) {
		case 0: // stale
			c.Version -= 1 + r.Int64N(5)
		case 1: // the same version again, with other options: the first one counts
			c.Options = choice()
		default: // outside the electorate
			c.HouseholdID = 7 + r.Int64N(1000)
		}
		counted = append(counted, voting.CountedVote{HouseholdID: c.HouseholdID, Version: c.Version, Options: c.Options})
	}
	r.Shuffle(len(counted), func(i, j int) { counted[i], counted[j] = counted[j], counted[i] })
	return electorate, counted
}

// modelOf is the tally model after applying counted in order.
func modelOf(electorate []voting.Voter, options []string, counted []voting.CountedVote) *tallyModel {
	m := newTallyModel(electorate, options)
	for _, v := range counted {
		m.apply(v)
	}
	return m
}

// tightClient is a client with the one-second timeouts of Connect that
// records the largest command (in arguments), the largest pipeline and the
// slowest round trip.
type tightClient struct {
	*redis.Client
	maxArgs, maxPipeline, pipelines int
	slowest                         time.Duration
}

func newTightClient(t *testing.T, addr string) *tightClient {
	c := &tightClient{Client: redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: time.Second, WriteTimeout: time.Second, DialTimeout: 2 * time.Second})}
	t.Cleanup(func() { c.Client.Close() })
	c.AddHook(c)
	return c
}

func (c *tightClient) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *tightClient) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.maxArgs = max(c.maxArgs, len(cmd.Args()))
		start := time.Now()
		defer func() { c.slowest = max(c.slowest, time.Since(start)) }()
		return next(ctx, cmd)
	}
}

func (c *tightClient) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.pipelines++
		c.maxPipeline = max(c.maxPipeline, len(cmds))
		for _, cmd := range cmds {
			c.maxArgs = max(c.maxArgs, len(cmd.Args()))
		}
		start := time.Now()
		defer func() { c.slowest = max(c.slowest, time.Since(start)) }()
		return next(ctx, cmds)
	}
}

// A load of 20,000 households goes through a client with one-second
// timeouts in bounded commands and round trips, and counts exactly as Sum.
func TestTallyLoadChunked(t *testing.T) {
	ctx := context.Background()
	env := testenv.Redis(t)
	rdb := newTightClient(t, testenv.RedisAddr())
	tally := NewTally(rdb, env.Prefix)
	b := tallyBackend{"redis", rdb.Client, env.Prefix}
	r := rand.New(rand.NewPCG(20000, 1))
	options := []string{"cand-0", "cand-1", "cand-2", "cand-3", "cand-4"}
	const motion = 77
	for round := range 2 { // the second load replaces a state as big
		electorate, counted := tallyFixture(r, 20000, options, true, 2000)
		m := modelOf(electorate, options, counted)
		start := time.Now()
		if err := tally.Load(ctx, motion, electorate, options, counted); err != nil {
			t.Fatalf("load %d: %v", round, err)
		}
		t.Logf("load %d of %d households, %d votes: %v", round, len(electorate), len(counted), time.Since(start))
		expectTallyTotals(t, tally, motion, m)
		if n := countTallyKeys(t, b, tally.base(motion)); n != len(tallyKeyNames) {
			t.Fatalf("%d keys under the motion, want %d", n, len(tallyKeyNames))
		}
		if round == 1 {
			for range 200 {
				c := counted[r.IntN(len(counted))]
				applyTallyVote(t, tally, motion, m, voting.CountedVote{HouseholdID: c.HouseholdID, Version: c.Version + r.Int64N(3) - 1, Options: options[:1+r.IntN(3)]})
			}
			expectTallyTotals(t, tally, motion, m)
		}
	}
	lim := defaultTallyLoadLimits
	if rdb.maxArgs > 2+2*lim.pairs {
		t.Errorf("a command of %d arguments; want at most %d", rdb.maxArgs, 2+2*lim.pairs)
	}
	if rdb.maxPipeline > lim.commands+len(tallyKeyNames) {
		t.Errorf("a pipeline of %d commands; want at most %d", rdb.maxPipeline, lim.commands+len(tallyKeyNames))
	}
	if rdb.pipelines < 4 {
		t.Errorf("two loads took %d round trips; not chunked?", rdb.pipelines)
	}
	t.Logf("%d round trips, largest %d commands, largest command %d arguments, slowest %v", rdb.pipelines, rdb.maxPipeline, rdb.maxArgs, rdb.slowest)
}

// Tiny limits put chunk and round boundaries everywhere, also inside the
// small hashes; the state must come out the same.
func TestTallyLoadSmallChunks(t *testing.T) {
	ctx := context.Background()
	for _, b := range tallyBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			tally := NewTally(b.rdb, b.prefix)
			rounds := 0
			tally.afterLoadRound = func(int) { rounds++ }
			for seed := uint64(1); seed <= 6; seed++ {
				r := rand.New(rand.NewPCG(seed, 3))
				tally.limits = tallyLoadLimits{pairs: 1 + r.IntN(7), commands: 1 + r.IntN(4), bytes: 50 + r.IntN(400)}
				options, election := randomTallyOptions(r)
				electorate, counted := tallyFixture(r, 100+r.IntN(300), options, election, r.IntN(100))
				m := modelOf(electorate, options, counted)
				if err := tally.Load(ctx, int64(seed), electorate, options, counted); err != nil {
					t.Fatal(err)
				}
				expectTallyTotals(t, tally, int64(seed), m)
				for range 50 {
					c := counted[r.IntN(len(counted))]
					applyTallyVote(t, tally, int64(seed), m, voting.CountedVote{HouseholdID: c.HouseholdID, Version: c.Version + r.Int64N(3) - 1, Options: randomTallyChoice(r, options, election)})
				}
				expectTallyTotals(t, tally, int64(seed), m)
				if n := countTallyKeys(t, b, tally.base(int64(seed))); n != len(tallyKeyNames) {
					t.Fatalf("%d keys under the motion, want %d", n, len(tallyKeyNames))
				}
			}
			if rounds < 100 {
				t.Errorf("only %d rounds", rounds)
			}
		})
	}
}

// A load that is cancelled, or whose temporary keys vanish midway, leaves
// the old state in place and no temporary keys behind; while it runs, every
// temporary key expires by itself.
func TestTallyLoadInterrupted(t *testing.T) {
	for _, b := range tallyBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			tally := NewTally(b.rdb, b.prefix)
			tally.limits = tallyLoadLimits{pairs: 50, commands: 2, bytes: 4096}
			r := rand.New(rand.NewPCG(5, 5))
			options := []string{voting.OptionAgree, voting.OptionOppose, voting.OptionAbstain}
			const motion = 3
			electorate, counted := tallyFixture(r, 500, options, false, 50)
			old := modelOf(electorate, options, counted)
			if err := tally.Load(context.Background(), motion, electorate, options, counted); err != nil {
				t.Fatal(err)
			}
			electorate2, counted2 := tallyFixture(r, 800, options, false, 50)
			tempKeys := func() []string {
				t.Helper()
				pattern := strings.ReplaceAll(strings.ReplaceAll(tally.base(motion), "{", `\{`), "}", `\}`) + "load:*"
				keys, err := b.rdb.Keys(context.Background(), pattern).Result()
				if err != nil {
					t.Fatal(err)
				}
				return keys
			}

			for _, how := range []string{"cancel", "deadline", "lose a key", "lose all keys", "lose a field"} {
				ctx, cancel := context.WithCancel(context.Background())
				if how == "deadline" {
					ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
				}
				rounds := 0
				tally.afterLoadRound = func(round int) {
					rounds = round
					keys := tempKeys()
					if round <= 4 && (len(keys) == 0 || len(keys) > len(tallyKeyNames)) {
						t.Errorf("%s, round %d: %d temporary keys", how, round, len(keys))
					}
					for _, k := range keys {
						if ttl := b.rdb.PTTL(context.Background(), k).Val(); ttl <= 0 || ttl > tempTTL {
							t.Errorf("%s, round %d: %s expires in %v", how, round, k, ttl)
						}
					}
					if round != 4 {
						return
					}
					switch how {
					case "cancel", "deadline":
						cancel()
					case "lose a key": // e.g. evicted
						b.rdb.Del(context.Background(), keys[r.IntN(len(keys))])
					case "lose all keys": // e.g. expired in a stall; later rounds recreate some
						b.rdb.Del(context.Background(), keys...)
					case "lose a field":
						for _, k := range keys {
							if strings.HasSuffix(k, ":hh") {
								b.rdb.HDel(context.Background(), k, "_")
							}
						}
					}
				}
				err := tally.Load(ctx, motion, electorate2, options, counted2)
				cancel()
				switch how {
				case "cancel", "deadline":
					if !errors.Is(err, context.Canceled) {
						t.Errorf("%s: Load = %v, want context.Canceled", how, err)
					}
					if rounds != 4 {
						t.Errorf("%s: Load went on for %d rounds", how, rounds)
					}
				default:
					if !louyuan.IsKind(err, louyuan.KindUnavailable) {
						t.Errorf("%s: Load = %v, want unavailable", how, err)
					}
				}
				if keys := tempKeys(); len(keys) != 0 {
					t.Errorf("%s: temporary keys left: %v", how, keys)
				}
				expectTallyTotals(t, tally, motion, old)
			}

			tally.afterLoadRound = nil
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := tally.Load(ctx, motion, electorate2, options, counted2); !errors.Is(err, context.Canceled) {
				t.Errorf("Load with a cancelled context = %v", err)
			}
			expectTallyTotals(t, tally, motion, old)
		})
	}
}

// TestTallyLoadMillion measures a load of a million households and votes
// through a client with one-second timeouts. It runs only with
// LOUYUAN_TALLY_BIG=1 (LOUYUAN_TALLY_BIG_N sets another size), never under
// -short.
func TestTallyLoadMillion(t *testing.T) {
	if testing.Short() || os.Getenv("LOUYUAN_TALLY_BIG") != "1" {
		t.Skip("set LOUYUAN_TALLY_BIG=1 to load a million households")
	}
	n := 1_000_000
	if s := os.Getenv("LOUYUAN_TALLY_BIG_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	env := testenv.Redis(t)
	rdb := newTightClient(t, testenv.RedisAddr())
	tally := NewTally(rdb, env.Prefix)
	r := rand.New(rand.NewPCG(1e6, 1))
	options := []string{voting.OptionAgree, voting.OptionOppose, voting.OptionAbstain}
	const motion = 1

	for round := range 2 { // the second load replaces the first
		electorate, counted := tallyFixture(r, n, options, false, 0)
		groups := map[int64]bool{}
		for _, v := range electorate {
			groups[v.Group] = true
		}
		start := time.Now()
		if _, err := buildTallyState(electorate, options, counted); err != nil {
			t.Fatal(err)
		}
		built := time.Since(start)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start = time.Now()
		if err := tally.Load(ctx, motion, electorate, options, counted); err != nil {
			t.Fatalf("load %d: %v", round, err)
		}
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		t.Logf("load %d: %d households in %d owner groups, %d votes: Load %v (of which about %v computing in Go); Load allocated %d MB in all, heap %d MB before and %d MB after",
			round, len(electorate), len(groups), len(counted), took, built, (after.TotalAlloc-before.TotalAlloc)>>20, before.HeapAlloc>>20, after.HeapAlloc>>20)
		if took > 30*time.Second {
			t.Errorf("Load took %v", took)
		}

		start = time.Now()
		m := modelOf(electorate, options, counted)
		want := m.want()
		got, err := tally.Totals(ctx, motion)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffTallyTotals(got, want); d != "" {
			t.Fatal(d)
		}
		t.Logf("Totals match voting.Sum (checked in %v): %d voted households, %d split owners", time.Since(start), got.VotedHouses, len(got.SplitOwners))
	}
	start := time.Now()
	if err := tally.Drop(ctx, motion); err != nil {
		t.Fatal(err)
	}
	t.Logf("Drop %v; %d round trips, largest %d commands, largest command %d arguments, slowest %v", time.Since(start), rdb.pipelines, rdb.maxPipeline, rdb.maxArgs, rdb.slowest)
}

// ApplyAll applies a batch in one round trip with Apply's rules per vote,
// and tells which motions are not loaded; a script flushed from the server
// is loaded again.
func TestTallyApplyAll(t *testing.T) {
	ctx := context.Background()
	for _, b := range tallyBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			tally := NewTally(b.rdb, b.prefix)
			options := []string{voting.OptionAgree, voting.OptionOppose, voting.OptionAbstain}
			voters := []voting.Voter{{HouseholdID: 1, Group: 1, Area: 5000}, {HouseholdID: 2, Group: 2, Area: 6000}, {HouseholdID: 3, Group: 3, Area: 7000}}
			m := newTallyModel(voters, options)
			if err := tally.Load(ctx, 7, voters, options, nil); err != nil {
				t.Fatal(err)
			}
			if err := b.rdb.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			batch := []voting.MotionVote{
				{MotionID: 7, Vote: voting.CountedVote{HouseholdID: 1, Version: 1, Options: []string{"agree"}}},
				{MotionID: 8, Vote: voting.CountedVote{HouseholdID: 1, Version: 1, Options: []string{"agree"}}}, // not loaded
				{MotionID: 7, Vote: voting.CountedVote{HouseholdID: 2, Version: 2, Options: []string{"oppose"}}},
				{MotionID: 7, Vote: voting.CountedVote{HouseholdID: 2, Version: 1, Options: []string{"agree"}}}, // older: ignored
			}
			errs := tally.ApplyAll(ctx, batch)
			for i, err := range errs {
				want := error(nil)
				if batch[i].MotionID == 8 {
					want = voting.ErrNotLoaded
				}
				if !errors.Is(err, want) && err != want {
					t.Errorf("vote %d: %v, want %v", i, err, want)
				}
				if batch[i].MotionID == 7 {
					m.apply(batch[i].Vote)
				}
			}
			expectTallyTotals(t, tally, 7, m)
		})
	}
}
