package mm

import (
	"testing"

	"arbmm/book"
	"arbmm/internal/market"
)

var qInst = &market.Instrument{Venue: market.Binance, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"},
	PriceExp: 2, QtyExp: 5, Tick: 1, Step: 1, MinNotional: 500}

// qTop is a Live top: bid 99.90 × 1, ask 100.10 × 1 (microprice 100).
func qTop(recv int64) *book.Top {
	t := &book.Top{State: book.Live, NBids: 1, NAsks: 1, RecvTime: recv}
	t.Bids[0] = book.Level{Price: 9990, Qty: 100000}
	t.Asks[0] = book.Level{Price: 10010, Qty: 100000}
	return t
}

func newQ(t *testing.T, mod func(*QuoterConfig)) *Quoter {
	t.Helper()
	cfg := QuoterConfig{Gamma: 0.1, HorizonSec: 10, QMax: 5, Sigma2Prior: 4, KPrior: 1.5, Layers: 2, LayerSpacingBps: 10,
		LayerQty: []market.Qty{10000}, Fair: Microprice, StaleAfterNs: 2e9}
	if mod != nil {
		mod(&cfg)
	}
	q, err := NewQuoter(cfg, qInst)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func ladderPrices(n int, lv [MaxLayers]Level) []market.Price {
	var out []market.Price
	for i := 0; i < n; i++ {
		out = append(out, lv[i].Price)
	}
	return out
}

func samePrices(a []market.Price, b ...market.Price) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// By hand, at the start of a 10 s horizon, flat: r = 100, spread =
// 0.1·4·10 + 20·ln(16/15) = 5.2907704 → bid 97.3546 (floor: 97.35), ask
// 102.6454 (ceil: 102.65); layers 10 bps = 0.10 apart.
func TestQuoterFlat(t *testing.T) {
	q := newQ(t, nil)
	l, ok := q.Quote(qTop(1e9), 0, 0, 0, 1e9)
	if !ok {
		t.Fatal("pulled")
	}
	if b, a := ladderPrices(l.NBids, l.Bids), ladderPrices(l.NAsks, l.Asks); !samePrices(b, 9735, 9725) || !samePrices(a, 10265, 10275) {
		t.Fatalf("bids %v asks %v, want [9735 9725] and [10265 10275]", b, a)
	}
	if l.Bids[0].Qty != 10000 || l.Asks[1].Qty != 10000 {
		t.Errorf("sizes %+v", l)
	}
}

// Long 2: r = 100 − 2·0.1·4·10 = 92, ask 94.65 would cross the best bid:
// clamped to 99.91 (post-only); bid 89.35.
func TestQuoterSkewAndPostOnly(t *testing.T) {
	q := newQ(t, nil)
	l, _ := q.Quote(qTop(1e9), 2, 0, 0, 1e9)
	if l.Bids[0].Price != 8935 || l.Asks[0].Price != 9991 || q.Stats.Clamped != 1 {
		t.Fatalf("bid %d ask %d clamped %d, want 8935, 9991, 1", l.Bids[0].Price, l.Asks[0].Price, q.Stats.Clamped)
	}
	// At the bound, only the reducing side is quoted.
	l, _ = q.Quote(qTop(1e9), 5, 0, 0, 1e9)
	if l.NBids != 0 || l.NAsks == 0 {
		t.Fatalf("at q_max: %d bids, %d asks, want asks only", l.NBids, l.NAsks)
	}
	l, _ = q.Quote(qTop(1e9), -5, 0, 0, 1e9)
	if l.NAsks != 0 || l.NBids == 0 {
		t.Fatalf("at −q_max: %d bids, %d asks, want bids only", l.NBids, l.NAsks)
	}
}

func TestQuoterPulls(t *testing.T) {
	q := newQ(t, nil)
	st := qTop(1e9)
	st.State = book.Stale
	if _, ok := q.Quote(st, 0, 0, 0, 1e9); ok {
		t.Error("quoted on a stale book")
	}
	if _, ok := q.Quote(qTop(0), 0, 0, 0, 5e9); ok {
		t.Error("quoted on a book 5 s old with stale_after 2 s")
	}
	r := newQ(t, func(c *QuoterConfig) { c.Fair = Reference })
	if _, ok := r.Quote(qTop(1e9), 0, 0, 0, 1e9); ok {
		t.Error("quoted without a reference")
	}
	if _, ok := r.Quote(qTop(1e9), 0, 101, 3e9, 1e9); ok {
		t.Error("quoted on a stale reference")
	}
	l, ok := r.Quote(qTop(1e9), 0, 101, 1, 1e9)
	// Centred on 101: bid 98.3546 → 98.35.
	if !ok || l.Bids[0].Price != 9835 {
		t.Errorf("reference 101: ok %v bid %d, want 9835", ok, l.Bids[0].Price)
	}
}

// A tiny Avellaneda–Stoikov spread is widened to min_spread_bps.
func TestQuoterMinSpread(t *testing.T) {
	q := newQ(t, func(c *QuoterConfig) { c.Gamma, c.HorizonSec, c.KPrior, c.MinSpreadBps = 0.001, 1, 1000, 20 })
	l, _ := q.Quote(qTop(1e9), 0, 0, 0, 1e9)
	if l.Bids[0].Price != 9990 || l.Asks[0].Price != 10010 || q.Stats.Widened != 1 {
		t.Fatalf("bid %d ask %d widened %d, want 9990, 10010, 1", l.Bids[0].Price, l.Asks[0].Price, q.Stats.Widened)
	}
}
