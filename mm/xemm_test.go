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
	// Half the hedge fills; the rest is retried.
	x.OnHedgeFill(market.Sell, 10000)
	h, ok = x.Retry(b, 8)
	if !ok || h.Qty != 10000 || h.Side != market.Sell {
		t.Fatalf("retry %+v", h)
	}
	x.OnHedgeFill(market.Sell, 10000)
	if x.Unhedged() != 0 {
		t.Fatalf("unhedged %d after both hedges", x.Unhedged())
	}
	// Past the time cap with exposure: quotes pulled, the breach counted.
	x.OnFill(market.Sell, 20000, nil, 2e9, 9) // B unusable: no hedge
	if _, ok := x.Quote(a, b, 5e9); ok {
		t.Fatal("quoted with an exposure older than its cap")
	}
	x.OnFill(market.Sell, 40000, nil, 5e9, 10) // beyond the quantity cap
	if x.Stats.Breaches == 0 {
		t.Fatal("no breach counted")
	}
}
