package sim

import (
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

// testConfig is a two-venue simulator: Binance with two pairs, Kraken with
// one, both following the same BTC latent price.
const testConfig = `
seed: 7
step: 1ms
pairs:
  - pair: BTC/USDT
    start: "60000"
    vol_bps: 2
    jumps_per_min: 30
    jump_bps: 20
    mean_revert_per_min: 1
  - pair: ETH/USDT
    start: "3000"
    vol_bps: 3
venues:
  - name: binance
    maker_fee_bps: 10
    taker_fee_bps: 10
    instruments:
      - symbol: BTCUSDT
        pair: BTC/USDT
        tick: "0.01"
        step: "0.00001"
        min_qty: "0.00001"
        min_notional: "5"
        flow: {depth: 30, spacing: 10, level_qty: "0.5", updates_per_sec: 2000, takers_per_sec: 20, taker_qty: "0.3", noise_bps: 2}
      - symbol: ETHUSDT
        pair: ETH/USDT
        tick: "0.01"
        step: "0.0001"
        min_notional: "5"
        flow: {depth: 20, spacing: 5, level_qty: "5", updates_per_sec: 1000, takers_per_sec: 5, taker_qty: "2"}
  - name: kraken
    maker_fee_bps: 16
    taker_fee_bps: 26
    instruments:
      - symbol: BTC/USDT
        pair: BTC/USDT
        tick: "0.1"
        step: "0.00000001"
        min_qty: "0.0001"
        flow: {depth: 30, level_qty: "0.5", updates_per_sec: 1000, takers_per_sec: 10, taker_qty: "0.2", lag: 200ms}
`

func newTestSim(t *testing.T, yaml string) *Sim {
	t.Helper()
	cfg, err := Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// recorder is a market-data sink that hashes every batch it sees.
type recorder struct {
	h       uint64
	batches int
	changes int
	lastID  map[string]uint64
	gaps    int
}

func (r *recorder) Publish(p *venue.Pair, first, last uint64, ch []venue.Change, now time.Time) {
	if r.lastID == nil {
		r.lastID = map[string]uint64{}
	}
	if first != r.lastID[p.Cfg.Symbol]+1 || last < first {
		r.gaps++
	}
	r.lastID[p.Cfg.Symbol] = last
	h := fnv.New64a()
	h.Write([]byte(p.Cfg.Symbol))
	for _, c := range ch {
		h.Write([]byte(strconv.FormatInt(int64(c.Side), 10) + ":" + strconv.FormatInt(c.Price, 10) + ":" + strconv.FormatInt(c.Qty, 10) + ";"))
	}
	r.h = r.h*31 + h.Sum64()
	r.batches++
	r.changes += len(ch)
}

func TestDeterministic(t *testing.T) {
	run := func(seed string) (uint64, string, *recorder) {
		s := newTestSim(t, strings.Replace(testConfig, "seed: 7", "seed: "+seed, 1))
		rec := &recorder{}
		for _, v := range s.Venues() {
			v.State.AddMDSink(rec)
		}
		s.Step(3000)
		var sb strings.Builder
		for _, v := range s.Venues() {
			for _, p := range v.State.Pairs() {
				id, bids, asks := p.Snapshot(10, nil, nil)
				sb.WriteString(p.Cfg.Symbol + " " + strconv.FormatUint(id, 10))
				for _, l := range append(bids, asks...) {
					sb.WriteString(" " + strconv.FormatInt(l.Price, 10) + "x" + strconv.FormatInt(l.Qty, 10))
				}
				sb.WriteString("\n")
			}
		}
		return rec.h, sb.String(), rec
	}
	h1, b1, rec := run("7")
	h2, b2, _ := run("7")
	if h1 != h2 || b1 != b2 {
		t.Fatalf("same seed, different runs:\n%s\nvs\n%s", b1, b2)
	}
	if rec.gaps != 0 {
		t.Errorf("update ids: %d gaps, want 0", rec.gaps)
	}
	// 3 s of model time at 2000+1000+1000 actions/s, each a batch.
	if rec.batches < 10000 {
		t.Errorf("batches = %d, want >= 10000 (3s at 4000 actions/s)", rec.batches)
	}
	h3, b3, _ := run("8")
	if h3 == h1 || b3 == b1 {
		t.Error("a different seed gave the same market")
	}
}

// TestBooksStayDeepAndUncrossed runs the model for a while and checks
// that every book is two-sided, uncrossed and near its latent price, and
// that the background flow traded.
func TestBooksStayDeepAndUncrossed(t *testing.T) {
	s := newTestSim(t, testConfig)
	s.Step(1)
	levels := map[string]int{}
	const samples = 20
	for i := 0; i < samples; i++ {
		s.Step(500)
		for _, v := range s.Venues() {
			for _, p := range v.State.Pairs() {
				_, bids, asks := p.Snapshot(1000, nil, nil)
				if len(bids) < 5 || len(asks) < 5 {
					t.Fatalf("%s %s after %d steps: %d bids, %d asks, want >= 5 each", v.Name, p.Cfg.Symbol, s.Market().Steps(), len(bids), len(asks))
				}
				levels[p.Cfg.Symbol] += len(bids) + len(asks)
				if bids[0].Price >= asks[0].Price {
					t.Fatalf("%s %s crossed: bid %d >= ask %d", v.Name, p.Cfg.Symbol, bids[0].Price, asks[0].Price)
				}
			}
		}
	}
	for sym, n := range levels {
		if avg := n / samples / 2; avg < 15 {
			t.Errorf("%s: %d levels per side on average, want >= 15", sym, avg)
		}
	}
	for _, f := range s.Market().Flows() {
		st := f.Stats()
		if st.Actions == 0 || st.Takers == 0 {
			t.Errorf("%s: flow stats %+v: want actions and takers", f.Pair().Cfg.Symbol, st)
		}
		// Rejections are rare: orders below min notional only.
		if st.Rejects > st.Actions/10 {
			t.Errorf("%s: %d of %d background actions rejected", f.Pair().Cfg.Symbol, st.Rejects, st.Actions)
		}
	}
	// Assets are conserved by the background trading.
	for _, v := range s.Venues() {
		v.State.Do(func(tx *venue.Tx) {
			l := tx.Venue().Ledger()
			for id := range l.Assets() {
				var sum int64
				for _, a := range l.Accounts() {
					free, locked := l.Balance(a, match.AssetID(id))
					if free < 0 || locked < 0 {
						t.Errorf("%s account %d asset %d: free %d locked %d", v.Name, a, id, free, locked)
					}
					sum += free + locked
				}
				if sum != l.Total(match.AssetID(id)) {
					t.Errorf("%s asset %d: accounts sum %d, total %d", v.Name, id, sum, l.Total(match.AssetID(id)))
				}
			}
		})
	}
}

// TestLaggingVenueDislocates checks the market model's point: Kraken
// follows the shared BTC/USDT latent price 200ms late, so its mid is
// closer to Binance's mid of 200ms ago than to Binance's mid now (prices
// dislocate after moves), and the two stay within a few spreads on
// average (they re-converge).
func TestLaggingVenueDislocates(t *testing.T) {
	cfg := strings.Replace(testConfig, "jumps_per_min: 30\n    jump_bps: 20", "jumps_per_min: 120\n    jump_bps: 40", 1)
	s := newTestSim(t, cfg)
	bn, _ := s.Venue("binance")
	kr, _ := s.Venue("kraken")
	pb, _ := bn.State.Pair("BTCUSDT")
	pk, _ := kr.State.Pair("BTC/USDT")
	mid := func(p *venue.Pair) float64 {
		_, b, a := p.Snapshot(1, nil, nil)
		return float64(b[0].Price+a[0].Price) / 2 / pow10f(p.Cfg.PriceExp)
	}
	const every, lag = 10, 200 / 10 // samples every 10 steps (10ms); Kraken's lag is 20 samples
	var bin, krk []float64
	for i := 0; i < 1500; i++ {
		s.Step(every)
		bin = append(bin, mid(pb))
		krk = append(krk, mid(pk))
	}
	var now, lagged, maxDiff float64
	n := 0
	for i := lag; i < len(bin); i++ {
		d := krk[i] - bin[i]
		dl := krk[i] - bin[i-lag]
		now += d * d
		lagged += dl * dl
		maxDiff = max(maxDiff, abs(d)/bin[i]*1e4)
		n++
	}
	now, lagged = now/float64(n), lagged/float64(n)
	t.Logf("mean squared mid difference: now %.2f, vs Binance %dms earlier %.2f; largest dislocation %.1f bps", now, lag*every, lagged, maxDiff)
	if !(lagged < now) {
		t.Errorf("Kraken's mid is not closer to Binance's lagged mid (%.2f) than to its current mid (%.2f)", lagged, now)
	}
	if maxDiff < 10 {
		t.Errorf("largest dislocation %.1f bps, want >= 10 with 40bps jumps twice a second", maxDiff)
	}
	if rms := math.Sqrt(lagged) / bin[len(bin)-1] * 1e4; rms > 3 {
		t.Errorf("rms difference from Binance's lagged mid %.1f bps: the venues do not follow the same price", rms)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
