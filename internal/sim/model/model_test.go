package model_test

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"arbmm/internal/market"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/model"
	"arbmm/internal/sim/venue"
)

func newLatent(t *testing.T, cfg model.LatentConfig, step time.Duration, maxLag int, seed uint64) *model.Latent {
	t.Helper()
	l, err := model.NewLatent(cfg, step, maxLag, seed)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var btcLatent = model.LatentConfig{Start: 60000, VolBps: 5, JumpsPerMin: 30, JumpBps: 10, MeanRevertPerMin: 1}

// path advances l n times and returns the prices, the start first.
func path(l *model.Latent, n int) []float64 {
	out := []float64{l.At(0)}
	for range n {
		l.Advance()
		out = append(out, l.At(0))
	}
	return out
}

func TestLatentDeterministic(t *testing.T) {
	a := path(newLatent(t, btcLatent, time.Millisecond, 10, 1), 5000)
	b := path(newLatent(t, btcLatent, time.Millisecond, 10, 1), 5000)
	c := path(newLatent(t, btcLatent, time.Millisecond, 10, 2), 5000)
	if !slices.Equal(a, b) {
		t.Error("same seed, different paths")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 1 and 2 gave the same path")
	}
	if a[0] != 60000 {
		t.Errorf("first price %v, want Start 60000", a[0])
	}
	moved := 0
	for i := 1; i < len(a); i++ {
		if a[i] != a[i-1] {
			moved++
		}
	}
	if moved < len(a)-10 {
		t.Errorf("price moved on %d of %d steps at VolBps 5", moved, len(a)-1)
	}
}

func TestLatentAt(t *testing.T) {
	const maxLag = 7
	l := newLatent(t, btcLatent, time.Millisecond, maxLag, 3)
	// Before any step every lag is the start.
	for _, lag := range []int{0, 1, maxLag, 100} {
		if got := l.At(lag); got != 60000 {
			t.Errorf("fresh At(%d) = %v, want 60000", lag, got)
		}
	}
	if got := l.Steps(); got != 1 {
		t.Errorf("fresh Steps = %d, want 1", got)
	}
	// Two steps in: lags past the start clamp to it.
	l.Advance()
	l.Advance()
	if got := l.At(2); got != 60000 {
		t.Errorf("At(2) after 2 steps = %v, want the start", got)
	}
	if got := l.At(5); got != 60000 {
		t.Errorf("At(5) after 2 steps = %v, want the start (clamped)", got)
	}
	rec := []float64{60000}
	l2 := newLatent(t, btcLatent, time.Millisecond, maxLag, 3)
	for range 100 {
		l2.Advance()
		rec = append(rec, l2.At(0))
		n := len(rec)
		for lag := 0; lag <= maxLag && lag < n; lag++ {
			if got, want := l2.At(lag), rec[n-1-lag]; got != want {
				t.Fatalf("step %d: At(%d) = %v, want %v", n-1, lag, got, want)
			}
		}
		// Beyond the history: the oldest value kept.
		oldest := rec[max(0, n-1-maxLag)]
		for _, lag := range []int{maxLag + 1, 1000} {
			if got := l2.At(lag); got != oldest {
				t.Fatalf("step %d: At(%d) = %v, want %v (clamped to %d)", n-1, lag, got, oldest, maxLag)
			}
		}
	}
	if got := l2.Steps(); got != 101 {
		t.Errorf("Steps = %d, want 101", got)
	}
}

func TestLatentConstant(t *testing.T) {
	l := newLatent(t, model.LatentConfig{Start: 3000, MeanRevertPerMin: 5, JumpBps: 100}, time.Millisecond, 0, 9)
	for i, p := range path(l, 10000) {
		if math.Abs(p-3000) > 3000*1e-12 {
			t.Fatalf("step %d: price %v, want 3000 without vol or jumps", i, p)
		}
	}
	if l.Jumps() != 0 {
		t.Errorf("Jumps = %d, want 0", l.Jumps())
	}
}

func TestLatentJumpRate(t *testing.T) {
	cfg := model.LatentConfig{Start: 100, JumpsPerMin: 60, JumpBps: 10}
	for _, seed := range []uint64{1, 2, 3} {
		l := newLatent(t, cfg, time.Millisecond, 0, seed)
		const steps = 10 * 60 * 1000 // ten model minutes
		jumps := 0
		prev := l.At(0)
		for range steps {
			l.Advance()
			// exp(log(Start)) may differ from Start in the last bit.
			if p := l.At(0); math.Abs(p/prev-1) > 1e-12 {
				jumps++
				prev = p
			}
		}
		if n := l.Jumps(); n < 420 || n > 780 {
			t.Errorf("seed %d: %d jumps in 10 minutes at 60/min, want 600 ± 30%%", seed, n)
		}
		if int64(jumps) != l.Jumps() {
			t.Errorf("seed %d: price changed on %d steps, Jumps = %d (no vol: only jumps move it)", seed, jumps, l.Jumps())
		}
	}
}

func TestLatentMeanReversion(t *testing.T) {
	// 1000 s at 20 bps/√s: a random walk's deviation is ~630 bps; with mean
	// reversion at 60/min (1/s) it stays within a few tens.
	const steps = 100000
	maxDev := func(mr float64) float64 {
		l := newLatent(t, model.LatentConfig{Start: 100, VolBps: 20, MeanRevertPerMin: mr}, 10*time.Millisecond, 0, 5)
		worst := 0.0
		for range steps {
			l.Advance()
			worst = max(worst, math.Abs(math.Log(l.At(0)/100))*1e4)
		}
		return worst
	}
	if got := maxDev(60); got > 100 {
		t.Errorf("with mean reversion the path strayed %.0f bps from Start, want < 100", got)
	}
	if got := maxDev(0); got < 100 {
		t.Errorf("without mean reversion the path stayed within %.0f bps (the bound above would not catch a broken reversion)", got)
	}
}

func TestLatentValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  model.LatentConfig
		want string
	}{
		{model.LatentConfig{}, "start price"},
		{model.LatentConfig{Start: -1}, "start price"},
		{model.LatentConfig{Start: math.NaN()}, "start price"},
		{model.LatentConfig{Start: math.Inf(1)}, "start price"},
		{model.LatentConfig{Start: 1, VolBps: -1}, ">= 0"},
		{model.LatentConfig{Start: 1, JumpsPerMin: -1}, ">= 0"},
		{model.LatentConfig{Start: 1, JumpBps: -1}, ">= 0"},
		{model.LatentConfig{Start: 1, MeanRevertPerMin: -1}, ">= 0"},
		{model.LatentConfig{Start: 1, JumpBps: 5001}, "not a market"},
		{model.LatentConfig{Start: 1, VolBps: 5001}, "not a market"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
		if _, err := model.NewLatent(tc.cfg, time.Millisecond, 1, 1); err == nil {
			t.Errorf("NewLatent(%+v) succeeded", tc.cfg)
		}
	}
	ok := model.LatentConfig{Start: 1, VolBps: 5000, JumpBps: 5000, JumpsPerMin: 1e6, MeanRevertPerMin: 1}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v, want nil", ok, err)
	}
	for _, step := range []time.Duration{0, -time.Millisecond} {
		if _, err := model.NewLatent(ok, step, 1, 1); err == nil || !strings.Contains(err.Error(), "step") {
			t.Errorf("NewLatent with step %v: %v, want a step error", step, err)
		}
	}
}

// --- Flow ---

const (
	lpAcct match.AccountID = 10
	tkAcct match.AccountID = 11
)

// BTCUSDT at 2 price decimals with a tick of 1.00 and 5 qty decimals: the
// ledger holds BTC at 5 decimals and USDT at 7.
var btcPair = venue.PairConfig{Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 5, Tick: 100, Step: 10}

// rig is one venue with one pair, a latent path and a flow following it.
type rig struct {
	v    *venue.Venue
	p    *venue.Pair
	l    *model.Latent
	f    *model.Flow
	m    *model.Market
	base int64 // the LP's initial base
}

func newRig(t *testing.T, lc model.LatentConfig, fc model.FlowConfig, seed uint64) *rig {
	t.Helper()
	const step = time.Millisecond
	v, err := venue.New(venue.Config{Name: "sim", Pairs: []venue.PairConfig{btcPair}, Clock: func() time.Time { return time.Unix(1700000000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := v.Pair("BTCUSDT")
	r := &rig{v: v, p: p, base: 1000e5}
	for _, d := range []struct {
		a     match.AccountID
		asset string
		amt   int64
	}{{lpAcct, "BTC", r.base}, {lpAcct, "USDT", 1e9 * 1e7}, {tkAcct, "BTC", 1000e5}, {tkAcct, "USDT", 1e9 * 1e7}} {
		if err := v.Deposit(d.a, d.asset, d.amt); err != nil {
			t.Fatal(err)
		}
	}
	r.l, err = model.NewLatent(lc, step, 1000, seed)
	if err != nil {
		t.Fatal(err)
	}
	r.f, err = model.NewFlow(fc, p, r.l, lpAcct, tkAcct, step, seed)
	if err != nil {
		t.Fatal(err)
	}
	v.Do(r.f.Seed)
	r.m = model.NewMarket(step)
	r.m.AddLatent(r.l)
	r.m.AddFlow(r.f)
	return r
}

func (r *rig) stats() (s model.Stats) {
	r.v.Do(func(*venue.Tx) { s = r.f.Stats() })
	return
}

func (r *rig) levels() (bids, asks []match.Level) {
	r.v.Do(func(*venue.Tx) {
		bids = r.p.Book.Levels(market.Bid, 0, nil)
		asks = r.p.Book.Levels(market.Ask, 0, nil)
	})
	return
}

// checkBook fails unless both sides hold orders and the book is uncrossed.
func (r *rig) checkBook(t *testing.T, when string) {
	t.Helper()
	r.v.Do(func(*venue.Tx) {
		bid, okb := r.p.Book.Best(market.Bid)
		ask, oka := r.p.Book.Best(market.Ask)
		if !okb || !oka {
			t.Fatalf("%s: a side is empty (bid %v, ask %v)", when, okb, oka)
		}
		if bid.Price >= ask.Price {
			t.Fatalf("%s: crossed: bid %d >= ask %d", when, bid.Price, ask.Price)
		}
	})
}

var quiet = model.LatentConfig{Start: 60000.5}

func TestFlowValidate(t *testing.T) {
	c := model.FlowConfig{LevelQty: 10}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.HalfSpreadTicks != 1 || c.Depth != 20 || c.Spacing != 1 || c.NoiseHalfLife != 5*time.Second {
		t.Errorf("defaults: half spread %d, depth %d, spacing %d, half-life %v; want 1, 20, 1, 5s",
			c.HalfSpreadTicks, c.Depth, c.Spacing, c.NoiseHalfLife)
	}
	for _, tc := range []struct {
		name string
		cfg  model.FlowConfig
		want string
	}{
		{"no level qty", model.FlowConfig{}, "level_qty"},
		{"negative level qty", model.FlowConfig{LevelQty: -1}, "level_qty"},
		{"negative lag", model.FlowConfig{LevelQty: 1, Lag: -1}, "lag"},
		{"negative noise", model.FlowConfig{LevelQty: 1, NoiseBps: -1}, "noise_bps"},
		{"negative half-life", model.FlowConfig{LevelQty: 1, NoiseHalfLife: -1}, "noise_half_life"},
		{"negative half spread", model.FlowConfig{LevelQty: 1, HalfSpreadTicks: -1}, "half_spread_ticks"},
		{"negative depth", model.FlowConfig{LevelQty: 1, Depth: -1}, "depth"},
		{"negative spacing", model.FlowConfig{LevelQty: 1, Spacing: -2}, "spacing"},
		{"deep", model.FlowConfig{LevelQty: 1, Depth: 5001}, "at most 5000"},
		{"negative updates", model.FlowConfig{LevelQty: 1, UpdatesPerSec: -1}, "updates_per_sec"},
		{"negative takers", model.FlowConfig{LevelQty: 1, TakersPerSec: -1}, "takers_per_sec"},
		{"negative taker qty", model.FlowConfig{LevelQty: 1, TakerQty: -1}, "taker_qty"},
		{"takers without qty", model.FlowConfig{LevelQty: 1, TakersPerSec: 1}, "needs taker_qty"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	deep := model.FlowConfig{LevelQty: 1, Depth: 5000}
	if err := deep.Validate(); err != nil {
		t.Errorf("depth 5000: %v, want ok", err)
	}
}

func TestNewFlow(t *testing.T) {
	v, err := venue.New(venue.Config{Name: "sim", Pairs: []venue.PairConfig{btcPair}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := v.Pair("BTCUSDT")
	l := newLatent(t, quiet, time.Millisecond, 10, 1)
	if _, err := model.NewFlow(model.FlowConfig{}, p, l, lpAcct, tkAcct, time.Millisecond, 1); err == nil {
		t.Error("NewFlow with an invalid config succeeded")
	}
	if _, err := model.NewFlow(model.FlowConfig{LevelQty: 10, TakersPerSec: 1001, TakerQty: 10}, p, l, lpAcct, tkAcct, time.Millisecond, 1); err == nil ||
		!strings.Contains(err.Error(), "more than one per step") {
		t.Errorf("NewFlow with 1001 takers/s at 1ms steps: %v, want an error", err)
	}
	f, err := model.NewFlow(model.FlowConfig{LevelQty: 10, Lag: 250 * time.Millisecond}, p, l, lpAcct, tkAcct, time.Millisecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.LagSteps(); got != 250 {
		t.Errorf("LagSteps = %d, want 250", got)
	}
	if f.Pair() != p {
		t.Error("Pair is not the flow's pair")
	}
	// No noise: the fair price is the latent price lagged, in mantissas.
	if got, want := f.Fair(), 6000050.0; math.Abs(got-want) > 1e-6 {
		t.Errorf("Fair = %v, want %v", got, want)
	}
}

func TestFlowFairLags(t *testing.T) {
	r := newRig(t, model.LatentConfig{Start: 60000, VolBps: 10}, model.FlowConfig{LevelQty: 10000, Lag: 5 * time.Millisecond}, 4)
	for range 20 {
		r.m.Step()
	}
	if got, want := r.f.Fair(), r.l.At(5)*100; math.Abs(got-want) > 1e-6*want {
		t.Errorf("Fair = %v, want the latent 5 steps ago ×100 = %v", got, want)
	}
	if got := r.l.At(0) * 100; got == r.f.Fair() {
		t.Errorf("Fair equals the current latent price %v, want the lagged one", got)
	}
}

func TestFlowSeed(t *testing.T) {
	fc := model.FlowConfig{LevelQty: 10000, Depth: 15, Spacing: 3, HalfSpreadTicks: 2}
	r := newRig(t, quiet, fc, 1)
	bids, asks := r.levels()
	if len(bids) != fc.Depth || len(asks) != fc.Depth {
		t.Fatalf("seeded %d bids and %d asks, want %d each", len(bids), len(asks), fc.Depth)
	}
	// Fair 60000.50 in ticks of 1.00: best bid ceil−2 = 59999, best ask
	// floor+2 = 60002, then 3 ticks apart.
	for k := range fc.Depth {
		if want := int64(5999900 - 300*k); bids[k].Price != want {
			t.Errorf("bid level %d at %d, want %d", k, bids[k].Price, want)
		}
		if want := int64(6000200 + 300*k); asks[k].Price != want {
			t.Errorf("ask level %d at %d, want %d", k, asks[k].Price, want)
		}
		for _, lv := range []match.Level{bids[k], asks[k]} {
			if lv.Qty < 2000 || lv.Qty > 20000 || lv.Qty%btcPair.Step != 0 {
				t.Errorf("level %d qty %d, want 0.2..2 × 10000 on the step %d", k, lv.Qty, btcPair.Step)
			}
		}
	}
	if s := r.stats(); s != (model.Stats{}) {
		t.Errorf("stats after Seed = %+v, want zero", s)
	}
}

func TestFlowOneActionPerStep(t *testing.T) {
	lc := model.LatentConfig{Start: 60000, VolBps: 20, JumpsPerMin: 120, JumpBps: 15, MeanRevertPerMin: 1}
	fc := model.FlowConfig{LevelQty: 5000, Depth: 30, UpdatesPerSec: 1000, NoiseBps: 2}
	r := newRig(t, lc, fc, 7)
	var md mdCount
	r.v.AddMDSink(&md)
	const n = 5000
	for i := range n {
		r.m.Step()
		if s := r.stats(); s.Actions != uint64(i+1) {
			t.Fatalf("after %d steps Actions = %d, want %d", i+1, s.Actions, i+1)
		}
		r.checkBook(t, "step "+strconv.Itoa(i))
	}
	s := r.stats()
	if s.Takers != 0 || s.Rejects != 0 {
		t.Errorf("stats %+v, want no takers and no rejects", s)
	}
	if md.batches != n {
		t.Errorf("%d market-data batches over %d actions, want one each", md.batches, n)
	}
	if r.m.Steps() != n || r.l.Steps() != n+1 {
		t.Errorf("Market.Steps %d, Latent.Steps %d; want %d, %d", r.m.Steps(), r.l.Steps(), n, n+1)
	}
	if r.l.Jumps() == 0 {
		t.Error("no jumps: the test did not move the price")
	}
}

func TestFlowFractionalRate(t *testing.T) {
	// 250 updates/s at 1 ms: one action every fourth step.
	r := newRig(t, quiet, model.FlowConfig{LevelQty: 5000, UpdatesPerSec: 250}, 1)
	for range 400 {
		r.m.Step()
	}
	if got := r.stats().Actions; got != 100 {
		t.Errorf("Actions = %d after 400 steps at 0.25 per step, want 100", got)
	}
}

type mdCount struct{ batches, changes int }

func (m *mdCount) Publish(_ *venue.Pair, first, last uint64, ch []venue.Change, _ time.Time) {
	m.batches++
	m.changes += int(last - first + 1)
}

// takerSides counts the taker's market orders by side.
type takerSides struct {
	buys, sells, fills int
}

func (s *takerSides) Deliver(evs []venue.Event) {
	for _, e := range evs {
		if e.Kind != venue.EventOrder || e.Account != tkAcct {
			continue
		}
		if e.HasFill {
			s.fills++
			continue
		}
		if e.Order.Status == match.StatusNew {
			if e.Order.Side == market.Buy {
				s.buys++
			} else {
				s.sells++
			}
		}
	}
}

func TestFlowTakers(t *testing.T) {
	fc := model.FlowConfig{LevelQty: 5000, Depth: 30, UpdatesPerSec: 1000, TakersPerSec: 100, TakerQty: 3000}
	r := newRig(t, model.LatentConfig{Start: 60000, VolBps: 5}, fc, 3)
	var sides takerSides
	r.v.AddPrivateSink(&sides)
	r.v.Track(tkAcct)
	const n = 5000
	for i := range n {
		r.m.Step()
		r.checkBook(t, "step "+strconv.Itoa(i))
	}
	s := r.stats()
	// 0.1 per step over 5000 steps: 500 expected.
	if s.Takers < 350 || s.Takers > 650 {
		t.Errorf("Takers = %d, want about 500", s.Takers)
	}
	if got := uint64(sides.buys + sides.sells); got != s.Takers {
		t.Errorf("taker orders seen %d, Stats.Takers %d", got, s.Takers)
	}
	if sides.fills < int(s.Takers) {
		t.Errorf("%d taker fills for %d market orders, want at least one each", sides.fills, s.Takers)
	}
	if s.Actions != n {
		t.Errorf("Actions = %d, want %d", s.Actions, n)
	}
	// No drift to lean against: both sides trade.
	if sides.buys < 100 || sides.sells < 100 {
		t.Errorf("buys %d, sells %d: want both sides", sides.buys, sides.sells)
	}
}

func TestFlowTakerLeansAgainstInventory(t *testing.T) {
	fc := model.FlowConfig{LevelQty: 5000, Depth: 30, UpdatesPerSec: 1000, TakersPerSec: 100, TakerQty: 3000}
	for _, tc := range []struct {
		name    string
		adjust  func(r *rig) error
		buyMost bool
	}{
		// The LP holds 10× its initial base: the taker buys it off them.
		{"long", func(r *rig) error { return r.v.Deposit(lpAcct, "BTC", 10*r.base) }, true},
		// The LP lost 90% of it: the taker sells to them.
		{"short", func(r *rig) (err error) {
			r.v.Do(func(*venue.Tx) { err = r.v.Ledger().Withdraw(lpAcct, r.p.Base, r.base*9/10) })
			return err
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, model.LatentConfig{Start: 60000, VolBps: 5}, fc, 3)
			if err := tc.adjust(r); err != nil {
				t.Fatal(err)
			}
			var sides takerSides
			r.v.AddPrivateSink(&sides)
			r.v.Track(tkAcct)
			for range 5000 {
				r.m.Step()
			}
			n := sides.buys + sides.sells
			if n < 300 {
				t.Fatalf("only %d taker orders", n)
			}
			frac := float64(sides.buys) / float64(n)
			if tc.buyMost && frac < 0.8 || !tc.buyMost && frac > 0.2 {
				t.Errorf("buys %d of %d (%.2f), want %s", sides.buys, n, frac, map[bool]string{true: "≥ 0.8 (p 0.9)", false: "≤ 0.2 (p 0.1)"}[tc.buyMost])
			}
		})
	}
}

func TestFlowDeterministic(t *testing.T) {
	lc := model.LatentConfig{Start: 60000, VolBps: 20, JumpsPerMin: 60, JumpBps: 10, MeanRevertPerMin: 1}
	fc := model.FlowConfig{LevelQty: 5000, Depth: 25, Spacing: 2, UpdatesPerSec: 2000, TakersPerSec: 50, TakerQty: 4000, NoiseBps: 3, Lag: 20 * time.Millisecond}
	run := func(seed uint64) (bids, asks []match.Level, s model.Stats) {
		r := newRig(t, lc, fc, seed)
		for range 3000 {
			r.m.Step()
		}
		bids, asks = r.levels()
		return bids, asks, r.stats()
	}
	b1, a1, s1 := run(11)
	b2, a2, s2 := run(11)
	if !slices.Equal(b1, b2) || !slices.Equal(a1, a2) || s1 != s2 {
		t.Errorf("same seed, different books:\n%v %v %+v\n%v %v %+v", b1, a1, s1, b2, a2, s2)
	}
	b3, a3, _ := run(12)
	if slices.Equal(b1, b3) && slices.Equal(a1, a3) {
		t.Error("seeds 11 and 12 gave the same book")
	}
	if s1.Takers == 0 || s1.Actions != 6000 {
		t.Errorf("stats %+v: want takers and 6000 actions", s1)
	}
}

func TestMarket(t *testing.T) {
	m := model.NewMarket(time.Millisecond)
	l1 := newLatent(t, btcLatent, time.Millisecond, 0, 1)
	l2 := newLatent(t, btcLatent, time.Millisecond, 0, 2)
	m.AddLatent(l1)
	m.AddLatent(l2)
	for range 10 {
		m.Step()
	}
	if m.Steps() != 10 || l1.Steps() != 11 || l2.Steps() != 11 {
		t.Errorf("Steps: market %d, latents %d %d; want 10, 11, 11", m.Steps(), l1.Steps(), l2.Steps())
	}
	if len(m.Flows()) != 0 {
		t.Errorf("Flows = %v, want none", m.Flows())
	}
}

// TestFlowTakerBuyShareFixed: a fixed share overrides the lean: 0 sells
// only, 1 buys only, even with the LP long (which would lean to buys).
func TestFlowTakerBuyShareFixed(t *testing.T) {
	for _, share := range []float64{0, 1} {
		fc := model.FlowConfig{LevelQty: 5000, Depth: 30, UpdatesPerSec: 1000, TakersPerSec: 100, TakerQty: 3000, TakerBuyShare: &share}
		r := newRig(t, model.LatentConfig{Start: 60000, VolBps: 5}, fc, 3)
		if err := r.v.Deposit(lpAcct, "BTC", 10*r.base); err != nil {
			t.Fatal(err)
		}
		var sides takerSides
		r.v.AddPrivateSink(&sides)
		r.v.Track(tkAcct)
		for range 3000 {
			r.m.Step()
		}
		if n := sides.buys + sides.sells; n < 150 {
			t.Fatalf("share %v: only %d taker orders", share, n)
		}
		if share == 0 && sides.buys != 0 || share == 1 && sides.sells != 0 {
			t.Errorf("share %v: buys %d, sells %d", share, sides.buys, sides.sells)
		}
	}
	bad := 1.5
	fc := model.FlowConfig{LevelQty: 10, TakerBuyShare: &bad}
	if err := fc.Validate(); err == nil {
		t.Error("taker_buy_share 1.5 accepted")
	}
}
