package arb

import (
	"math"
	"math/rand/v2"
	"testing"

	"arbmm/book"
	"arbmm/internal/market"
)

// Prices at 2 decimals, quantities at 5 (BTC/USDT).
func inst(v market.Venue, feeBps float64) *market.Instrument {
	return &market.Instrument{Venue: v, Symbol: v.String() + "-BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"},
		PriceExp: 2, QtyExp: 5, Tick: 1, Step: 1, TakerFeeBps: feeBps}
}

// top builds a Live snapshot from (price, qty) in real units.
func top(bids, asks [][2]float64) *book.Top {
	t := &book.Top{State: book.Live, NBids: len(bids), NAsks: len(asks)}
	for i, l := range bids {
		t.Bids[i] = book.Level{Price: market.Price(math.Round(l[0] * 100)), Qty: market.Qty(math.Round(l[1] * 1e5))}
	}
	for i, l := range asks {
		t.Asks[i] = book.Level{Price: market.Price(math.Round(l[0] * 100)), Qty: market.Qty(math.Round(l[1] * 1e5))}
	}
	return t
}

const rich = int64(1) << 60 // a balance that never binds

func newCross(t *testing.T, minBps float64) *Cross {
	t.Helper()
	c, err := NewCross(CrossConfig{MinProfitBps: minBps, SafetyMarginBps: 1, MaxOrderQty: 10e5})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCrossNoEdge(t *testing.T) {
	c := newCross(t, 5)
	legs := []Leg{
		{Inst: inst(market.Binance, 10), Top: top([][2]float64{{59999, 1}}, [][2]float64{{60000, 1}}), BaseFree: rich, QuoteFree: rich},
		// Kraken's bid is 1.7 bps above Binance's ask: less than the fees.
		{Inst: inst(market.Kraken, 10), Top: top([][2]float64{{60010, 1}}, [][2]float64{{60011, 1}}), BaseFree: rich, QuoteFree: rich},
	}
	if op, ok := c.Best(legs); ok {
		t.Fatalf("found %+v in a 1.7 bps dislocation with 20 bps of fees", op)
	}
}

func TestCrossWalk(t *testing.T) {
	c := newCross(t, 5)
	legs := []Leg{
		{Inst: inst(market.Binance, 10), Top: top([][2]float64{{59990, 3}}, [][2]float64{{60000, 0.5}, {60010, 1}, {60100, 2}}), BaseFree: rich, QuoteFree: rich},
		{Inst: inst(market.Kraken, 10), Top: top([][2]float64{{60300, 0.3}, {60250, 1}, {60000, 5}}, [][2]float64{{60400, 1}}), BaseFree: rich, QuoteFree: rich},
	}
	op, ok := c.Best(legs)
	if !ok {
		t.Fatal("no opportunity")
	}
	// By hand: the threshold is bid ≥ ask·1.0016/0.999. 0.5 at 60000 goes
	// against 0.3 at 60300 and 0.2 at 60250; 0.8 at 60010 against the
	// rest of 60250; 60010 against 60000 does not pay. Qty 1.3, cost
	// 78008, proceeds 78340, profit 78340·0.999 − 78008·1.001 = 175.652.
	if op.Buy != 0 || op.Sell != 1 || op.Qty != 130000 || op.BuyPrice != 6001000 || op.SellPrice != 6025000 {
		t.Fatalf("got %+v, want buy 0 sell 1 qty 130000 at 6001000 / 6025000", op)
	}
	if op.Cost != 78008*1e7 || op.Proceeds != 78340*1e7 {
		t.Errorf("cost %d proceeds %d, want %d and %d", op.Cost, op.Proceeds, int64(78008e7), int64(78340e7))
	}
	if want := int64(175.652 * 1e7); op.Profit != want {
		t.Errorf("profit %d, want %d", op.Profit, want)
	}
	in := op.Intents(legs, 1, 2, nil)
	if len(in) != 2 || in[0].Side != market.Buy || in[0].TIF != market.IOC || in[0].Venue != market.Binance || in[0].Price != 6001000 ||
		in[1].Side != market.Sell || in[1].Venue != market.Kraken || in[1].Price != 6025000 || in[1].Qty != 130000 || in[1].ClientID != 2 {
		t.Errorf("intents %+v", in)
	}
}

func TestCrossBounds(t *testing.T) {
	mk := func() []Leg {
		return []Leg{
			{Inst: inst(market.Binance, 10), Top: top([][2]float64{{59990, 3}}, [][2]float64{{60000, 50}}), BaseFree: rich, QuoteFree: rich},
			{Inst: inst(market.Kraken, 10), Top: top([][2]float64{{60500, 50}}, [][2]float64{{60600, 5}}), BaseFree: rich, QuoteFree: rich},
		}
	}
	c := newCross(t, 5)
	check := func(name string, legs []Leg, want market.Qty) {
		t.Helper()
		op, ok := c.Best(legs)
		if want == 0 {
			if ok {
				t.Errorf("%s: got %+v, want none", name, op)
			}
			return
		}
		if !ok || op.Qty != want {
			t.Errorf("%s: got %d (ok %v), want %d", name, op.Qty, ok, want)
		}
	}
	check("max order qty", mk(), 10e5)
	legs := mk()
	legs[1].BaseFree = 40000 // 0.4 BTC to sell on Kraken
	check("sell venue base", legs, 40000)
	legs = mk()
	legs[0].QuoteFree = 12000 * 1e7 // 12000 USDT: 0.19980 BTC with the 10 bps fee
	check("buy venue quote", legs, 19980)
	legs = mk()
	legs[0].Inst.Step = 1000 // 0.01 on Binance, 0.00001 on Kraken
	legs[1].BaseFree = 12345
	check("common step", legs, 12000)
	legs = mk()
	legs[1].BaseFree = 5           // 0.00005 BTC: about 3 USDT
	legs[1].Inst.MinNotional = 500 // 5 USDT at 2 decimals
	check("min notional", legs, 0)
	legs = mk()
	legs[1].Top.State = book.Stale
	check("stale book", legs, 0)
	// The other direction: Binance dearer than Kraken.
	legs = mk()
	legs[0].Top = top([][2]float64{{61000, 2}}, [][2]float64{{61010, 1}})
	op, ok := c.Best(legs)
	if !ok || op.Buy != 1 || op.Sell != 0 || op.Qty != 2e5 {
		t.Errorf("reverse: got %+v %v, want buy on Kraken, sell 2 on Binance", op, ok)
	}
}

// TestCrossRandom checks every opportunity found on random books against
// an independent float recomputation: within the bounds, on the steps, and
// paying at least the minimum edge after fees.
func TestCrossRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	found := 0
	for n := 0; n < 20000; n++ {
		c, _ := NewCross(CrossConfig{MinProfitBps: float64(rng.IntN(20)), SafetyMarginBps: 1, MaxOrderQty: market.Qty(1 + rng.IntN(5e5))})
		var legs []Leg
		for v := 0; v < 2+rng.IntN(2); v++ {
			in := inst(market.Venue(1+v), float64(rng.IntN(30)))
			in.Step = market.Qty([]int{1, 10, 100, 1000}[rng.IntN(4)])
			mid := 6000000 + rng.IntN(40000) - 20000
			var bids, asks [][2]float64
			for k := 0; k < 1+rng.IntN(8); k++ {
				bids = append(bids, [2]float64{float64(mid-1-k*(1+rng.IntN(500))) / 100, float64(1+rng.IntN(100000)) / 1e5})
				asks = append(asks, [2]float64{float64(mid+1+k*(1+rng.IntN(500))) / 100, float64(1+rng.IntN(100000)) / 1e5})
			}
			legs = append(legs, Leg{Inst: in, Top: top(bids, asks), BaseFree: int64(rng.IntN(200000)), QuoteFree: int64(rng.IntN(120000)) * 1e7})
		}
		op, ok := c.Best(legs)
		if !ok {
			continue
		}
		found++
		b, s := legs[op.Buy], legs[op.Sell]
		if op.Qty <= 0 || op.Qty > c.cfg.MaxOrderQty || int64(op.Qty) > s.BaseFree || op.Qty%b.Inst.Step != 0 || op.Qty%s.Inst.Step != 0 {
			t.Fatalf("case %d: qty %d out of bounds (max %d, base %d, steps %d %d)", n, op.Qty, c.cfg.MaxOrderQty, s.BaseFree, b.Inst.Step, s.Inst.Step)
		}
		// Fill the quantity from the books at each level's price, in floats.
		cost, proceeds := walkFloat(b.Top.Asks[:b.Top.NAsks], op.Qty, op.BuyPrice, true), walkFloat(s.Top.Bids[:s.Top.NBids], op.Qty, op.SellPrice, false)
		fb, fs := b.Inst.TakerFeeBps/1e4, s.Inst.TakerFeeBps/1e4
		if cost*(1+fb) > float64(b.QuoteFree)*(1+1e-12) {
			t.Fatalf("case %d: cost with fee %.0f exceeds the buy venue's quote %d", n, cost*(1+fb), b.QuoteFree)
		}
		edge := (proceeds*(1-fs) - cost*(1+fb)) / cost * 1e4
		if edge < c.cfg.MinProfitBps+c.cfg.SafetyMarginBps-0.01 {
			t.Fatalf("case %d: edge %.3f bps, want >= %.1f", n, edge, c.cfg.MinProfitBps+c.cfg.SafetyMarginBps)
		}
	}
	if found < 100 {
		t.Fatalf("only %d opportunities in 20000 random cases: the test is not testing", found)
	}
}

// walkFloat is the cost (asks) or proceeds (bids) of qty taken from the
// levels best first, none beyond the protective price.
func walkFloat(levels []book.Level, qty market.Qty, limit market.Price, buy bool) float64 {
	var sum float64
	left := qty
	for _, l := range levels {
		if left == 0 || buy && l.Price > limit || !buy && l.Price < limit {
			break
		}
		q := min(left, l.Qty)
		sum += float64(l.Price) * float64(q)
		left -= q
	}
	if left > 0 {
		return math.NaN()
	}
	return sum
}
