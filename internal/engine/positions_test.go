package engine

import (
	"math/rand/v2"
	"testing"

	"arbmm/internal/market"
)

func engInsts() []market.Instrument {
	p := market.Pair{Base: "BTC", Quote: "USDT"}
	return []market.Instrument{
		{Venue: market.Binance, Symbol: "BTCUSDT", Pair: p, PriceExp: 2, QtyExp: 5},
		{Venue: market.Kraken, Symbol: "BTC/USDT", Pair: p, PriceExp: 2, QtyExp: 5},
	}
}

func fillOf(in *market.Instrument, side market.Side, price, qty int64, fee int64, feeExp int8, feeAsset string) *market.Report {
	return &market.Report{Kind: market.ReportFill, Venue: in.Venue, Inst: in, Side: side, Price: market.Price(price), Qty: market.Qty(qty), Fee: fee, FeeExp: feeExp, FeeAsset: feeAsset}
}

func TestPositionsRoundTrip(t *testing.T) {
	ins := engInsts()
	p, err := NewPositions(ins)
	if err != nil {
		t.Fatal(err)
	}
	usdt, dec, _ := p.Asset("USDT")
	btc, bdec, _ := p.Asset("BTC")
	if dec != 7 || bdec != 5 {
		t.Fatalf("decimals USDT %d BTC %d, want 7 and 5", dec, bdec)
	}
	if err := p.SetBalance(market.Binance, "USDT", 100000_00, 2); err != nil { // 100000 USDT
		t.Fatal(err)
	}
	p.SetBalance(market.Kraken, "BTC", 1_00000000, 8) // 1 BTC
	// Buy 0.5 BTC on Binance at 60000 paying 3 USDT; sell 0.5 on Kraken
	// at 60300 paying 0.00001 BTC... no: Kraken charges quote, 3.015 USDT.
	if err := p.Apply(fillOf(&ins[0], market.Buy, 6000000, 50000, 3_000000, 6, "USDT")); err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(fillOf(&ins[1], market.Sell, 6030000, 50000, 3_015000, 6, "USDT")); err != nil {
		t.Fatal(err)
	}
	// Binance: −30000 − 3 USDT, +0.5 BTC. Kraken: +30150 − 3.015 USDT, −0.5 BTC.
	if got := p.Change(market.Binance, usdt); got != -30003_0000000 {
		t.Errorf("Binance USDT change %d, want %d", got, int64(-30003_0000000))
	}
	if got := p.Change(market.Kraken, usdt); got != 30146_9850000 {
		t.Errorf("Kraken USDT change %d, want %d", got, int64(30146_9850000))
	}
	if p.Change(market.Binance, btc) != 50000 || p.Change(market.Kraken, btc) != -50000 {
		t.Errorf("BTC changes %d, %d", p.Change(market.Binance, btc), p.Change(market.Kraken, btc))
	}
	pnl := p.Pair(0, 6010000)
	// Flat across venues: realised = 30150 − 30000 − 6.015 = 143.985 USDT.
	if pnl.Qty != 0 || pnl.Realised != 143_9850000 || pnl.Unrealised != 0 || pnl.Fees != 6_0150000 || pnl.Fills != 2 {
		t.Errorf("pnl %+v", pnl)
	}
}

func TestPositionsBaseFeeAndFlip(t *testing.T) {
	ins := engInsts()
	p, _ := NewPositions(ins)
	btc, _, _ := p.Asset("BTC")
	// A Binance buy pays its fee in BTC: 0.00050 BTC of 0.5.
	p.Apply(fillOf(&ins[0], market.Buy, 6000000, 50000, 50000, 8, "BTC"))
	if got := p.Change(market.Binance, btc); got != 49950 {
		t.Errorf("BTC after a buy with a BTC fee: %d, want 49950", got)
	}
	pnl := p.Pair(0, 6000000)
	// The fee counts at the fill's price: 0.0005 · 60000 = 30 USDT.
	if pnl.Fees != 30_0000000 || pnl.Realised != -30_0000000 || pnl.Unrealised != 0 {
		t.Errorf("pnl %+v", pnl)
	}
	// Sell 0.8 at 61000: closes 0.5 (+500 USDT) and opens 0.3 short.
	p.Apply(fillOf(&ins[1], market.Sell, 6100000, 80000, 0, 0, ""))
	pnl = p.Pair(0, 6100000)
	if pnl.Qty != -30000 || pnl.Realised != 470_0000000 || pnl.Unrealised != 0 {
		t.Errorf("after the flip: %+v", pnl)
	}
	pnl = p.Pair(0, 6000000) // the short gains 0.3 · 1000
	if pnl.Unrealised != 300_0000000 {
		t.Errorf("unrealised %d, want 300 USDT", pnl.Unrealised)
	}
	if err := p.Apply(fillOf(&ins[0], market.Buy, 1, 1, 1, 0, "DOGE")); err != ErrUnknownAsset {
		t.Errorf("fee in an unknown asset: %v", err)
	}
}

// TestPositionsValuation: over random fills with fees in quote, the P&L
// (realised + unrealised at a mark) equals the change in the holdings
// valued at that mark, to within the rounding of the cost basis.
func TestPositionsValuation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	ins := engInsts()
	p, _ := NewPositions(ins)
	usdt, _, _ := p.Asset("USDT")
	btc, _, _ := p.Asset("BTC")
	n := 5000
	for i := 0; i < n; i++ {
		in := &ins[rng.IntN(2)]
		side := market.Side(rng.IntN(2))
		price := int64(5900000 + rng.IntN(200000))
		qty := int64(1 + rng.IntN(100000))
		fee := price * qty / 1000 / 100 // ~10 bps, at 7 decimals... in USDT mantissa at 7
		if err := p.Apply(fillOf(in, side, price, qty, fee, 7, "USDT")); err != nil {
			t.Fatal(err)
		}
	}
	mark := market.Price(6000000)
	pnl := p.Pair(0, mark)
	var dq, db int64
	for _, v := range []market.Venue{market.Binance, market.Kraken} {
		dq += p.Change(v, usdt)
		db += p.Change(v, btc)
	}
	value := dq + db*int64(mark) // USDT at 7 decimals = PriceExp+QtyExp
	if got := pnl.Realised + pnl.Unrealised; abs64(got-value) > int64(n) {
		t.Fatalf("P&L %d, holdings value change %d: differ by %d over %d fills", got, value, got-value, n)
	}
	if db != pnl.Qty {
		t.Fatalf("inventory %d, BTC holdings change %d", pnl.Qty, db)
	}
}
