package mm

import (
	"testing"

	"arbmm/book"
	"arbmm/internal/market"
)

// Kraken (A, maker 0 bps) quoted from Binance (B, taker 4 bps), BTC/USDT
// at 2 price and 5 quantity decimals.
var (
	xA = &market.Instrument{Venue: market.Kraken, Symbol: "BTC/USDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 5, Tick: 10, Step: 1, MakerFeeBps: 0, TakerFeeBps: 10}
	xB = &market.Instrument{Venue: market.Binance, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 5, Tick: 1, Step: 1, MakerFeeBps: 2, TakerFeeBps: 4}
)

func xTop(bids, asks [][2]int64) *book.Top {
	t := &book.Top{State: book.Live, NBids: len(bids), NAsks: len(asks)}
	for i, l := range bids {
		t.Bids[i] = book.Level{Price: market.Price(l[0]), Qty: market.Qty(l[1])}
	}
	for i, l := range asks {
		t.Asks[i] = book.Level{Price: market.Price(l[0]), Qty: market.Qty(l[1])}
	}
	return t
}

func newX(t *testing.T) *XEMM {
	t.Helper()
	x, err := NewXEMM(XConfig{MinProfitBps: 6, Qty: 20000, HedgeSlippageBps: 10, MaxUnhedgedQty: 50000, MaxUnhedgedNs: 2e9}, xA, xB)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// By hand: 0.2 BTC bought on B walks 0.1 at 60000.00 and 0.1 at 60001.00:
// 60000.50 average; with 0 + 4 + 6 = 10 bps: ask ≥ 60060.5005 → on A's
// 0.10 tick: 60060.60. Sold on B: 0.15 at 59999.00 and 0.05 at 59998.00:
// 59998.75; bid ≤ 59938.75125 → 59938.70.
func TestXEMMQuotes(t *testing.T) {
	x := newX(t)
	a := xTop([][2]int64{{5990000, 100000}}, [][2]int64{{6010000, 100000}})
	b := xTop([][2]int64{{5999900, 15000}, {5999800, 100000}}, [][2]int64{{6000000, 10000}, {6000100, 100000}})
	l, ok := x.Quote(a, b, 1)
	if !ok || l.NBids != 1 || l.NAsks != 1 {
		t.Fatalf("quote %+v %v", l, ok)
	}
	if l.Asks[0].Price != 6006060 || l.Bids[0].Price != 5993870 || l.Bids[0].Qty != 20000 {
		t.Fatalf("ask %d bid %d, want 6006060 and 5993870", l.Asks[0].Price, l.Bids[0].Price)
	}
	// B too thin for a side: that side is not quoted.
	thin := xTop([][2]int64{{5999900, 5000}}, [][2]int64{{6000000, 100000}})
	l, _ = x.Quote(a, thin, 1)
	if l.NBids != 0 || l.NAsks != 1 {
		t.Fatalf("thin B bids: %+v", l)
	}
	// Post-only against A: the bid stays below A's ask.
	tight := xTop([][2]int64{{5990000, 100000}}, [][2]int64{{5990010, 100000}})
	l, _ = x.Quote(tight, b, 1)
	if l.Bids[0].Price > 5990000 {
		t.Fatalf("bid %d at or through A's ask 5990010", l.Bids[0].Price)
	}
	b.State = book.Stale
	if _, ok := x.Quote(a, b, 1); ok {
		t.Fatal("quoted with B stale")
	}
}

func TestXEMMHedges(t *testing.T) {
	x := newX(t)
	a := xTop([][2]int64{{5990000, 100000}}, [][2]int64{{6010000, 100000}})
	b := xTop([][2]int64{{5999900, 100000}}, [][2]int64{{6000000, 100000}})
	// Our bid on A filled: sell 0.2 on B, IOC, at most 10 bps under its bid.
	h, ok := x.OnFill(market.Buy, 20000, b, 1e9, 7)
	if !ok || h.Venue != market.Binance || h.Side != market.Sell || h.Qty != 20000 || h.TIF != market.IOC || h.ClientID != 7 {
		t.Fatalf("hedge %+v %v", h, ok)
	}
	// 59999.00 × (1 − 0.001) = 59939.0010, rounded up to the 0.01 tick
	// (a sell limit never looser than the allowance): 59939.01.
	if h.Price != 5993901 {
		t.Fatalf("hedge price %d, want 5993901", h.Price)
	}
	// While long, only the ask is quoted.
	l, _ := x.Quote(a, b, 1e9+1)
	if l.NBids != 0 || l.NAsks != 1 {
		t.Fatalf("while unhedged: %+v", l)
	}
	// A second fill while the hedge is out: only the new 0.1 is hedged.
	h, ok = x.OnFill(market.Buy, 10000, b, 1e9+2, 8)
	if !ok || h.Qty != 10000 || h.Side != market.Sell || x.InFlight() != -30000 {
		t.Fatalf("second hedge %+v %v, in flight %d", h, ok, x.InFlight())
	}
	if _, ok := x.Retry(b, 9); ok {
		t.Fatal("retried while the whole exposure is being hedged")
	}
	// The first hedge fills half and expires; the rest is retried.
	x.OnHedgeFill(market.Sell, 10000, 1e9+3)
	x.OnHedgeDone(market.Sell, 10000)
	h, ok = x.Retry(b, 10)
	if !ok || h.Qty != 10000 || h.Side != market.Sell {
		t.Fatalf("retry %+v", h)
	}
	x.OnHedgeFill(market.Sell, 10000, 1e9+4)
	x.OnHedgeFill(market.Sell, 10000, 1e9+4)
	if x.Unhedged() != 0 || x.InFlight() != 0 {
		t.Fatalf("unhedged %d, in flight %d after every hedge filled", x.Unhedged(), x.InFlight())
	}
	if l, ok := x.Quote(a, b, 1e9+5); !ok || l.NBids != 1 || l.NAsks != 1 {
		t.Fatalf("not two-sided once hedged: %+v", l)
	}
	// Past the time cap with exposure: quotes pulled, the breach counted.
	x.OnFill(market.Sell, 20000, nil, 2e9, 11) // B unusable: no hedge
	if _, ok := x.Quote(a, b, 3e9); !ok {
		t.Fatal("pulled within the time cap")
	}
	if _, ok := x.Quote(a, b, 5e9); ok {
		t.Fatal("quoted with an exposure older than its cap")
	}
	if x.Stats.Breaches != 1 || !x.Check(5e9+1) || x.Stats.Breaches != 1 {
		t.Fatalf("breaches %d, want one per episode", x.Stats.Breaches)
	}
	// Hedged back to dust: the episode ends; a larger one breaches on
	// quantity at once.
	x.OnHedgeFill(market.Buy, 20000, 6e9)
	if x.Check(6e9) {
		t.Fatal("breached with nothing exposed")
	}
	x.OnFill(market.Sell, 60000, nil, 7e9, 12)
	if x.Stats.Breaches != 2 {
		t.Fatalf("breaches %d after an exposure beyond max_unhedged_qty", x.Stats.Breaches)
	}
}

func TestXEMMConfigRefused(t *testing.T) {
	good := XConfig{MinProfitBps: 6, Qty: 20000, HedgeSlippageBps: 10, MaxUnhedgedQty: 50000, MaxUnhedgedNs: 2e9}
	coarse := *xB
	coarse.Step = 30000
	other := *xB
	other.Pair = market.Pair{Base: "ETH", Quote: "USDT"}
	for name, c := range map[string]struct {
		cfg  func(*XConfig)
		a, b *market.Instrument
	}{
		"same venue":         {nil, xA, xA},
		"other pair":         {nil, xA, &other},
		"zero qty":           {func(c *XConfig) { c.Qty = 0 }, xA, xB},
		"no time cap":        {func(c *XConfig) { c.MaxUnhedgedNs = 0 }, xA, xB},
		"negative profit":    {func(c *XConfig) { c.MinProfitBps = -1 }, xA, xB},
		"no slippage":        {func(c *XConfig) { c.HedgeSlippageBps = 0 }, xA, xB},
		"qty off B's step":   {nil, xA, &coarse},
		"cap below one fill": {func(c *XConfig) { c.MaxUnhedgedQty = 10000 }, xA, xB},
	} {
		cfg := good
		if c.cfg != nil {
			c.cfg(&cfg)
		}
		if _, err := NewXEMM(cfg, c.a, c.b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewXEMM(good, xA, xB); err != nil {
		t.Fatal(err)
	}
}

// TestXEMMDust: an exposure smaller than B's step is not hedged, keeps
// both sides quoted and never breaches.
func TestXEMMDust(t *testing.T) {
	b2 := *xB
	b2.Step = 1000
	x, err := NewXEMM(XConfig{MinProfitBps: 6, Qty: 20000, HedgeSlippageBps: 10, MaxUnhedgedQty: 50000, MaxUnhedgedNs: 2e9}, xA, &b2)
	if err != nil {
		t.Fatal(err)
	}
	a := xTop([][2]int64{{5990000, 100000}}, [][2]int64{{6010000, 100000}})
	b := xTop([][2]int64{{5999900, 100000}}, [][2]int64{{6000000, 100000}})
	// A partial fill of 0.01234 on A: 0.01200 hedged, 0.00034 is dust.
	h, ok := x.OnFill(market.Buy, 1234, b, 1, 1)
	if !ok || h.Qty != 1000 {
		t.Fatalf("hedge %+v %v, want 1000 (B's step)", h, ok)
	}
	x.OnHedgeFill(market.Sell, 1000, 2)
	if x.Unhedged() != 234 {
		t.Fatalf("unhedged %d, want 234", x.Unhedged())
	}
	if _, ok := x.Retry(b, 2); ok {
		t.Fatal("hedged dust")
	}
	if l, ok := x.Quote(a, b, 10e9); !ok || l.NBids != 1 || l.NAsks != 1 || x.Stats.Breaches != 0 {
		t.Fatalf("dust pulled a side or breached: %+v %v %+v", l, ok, x.Stats)
	}
}
