package arb

import (
	"math"
	"testing"

	"arbmm/book"
	"arbmm/internal/market"
)

func triInsts() (aq, ba, bq *market.Instrument) {
	aq = &market.Instrument{Venue: market.Binance, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 5, Tick: 1, Step: 1, TakerFeeBps: 10}
	ba = &market.Instrument{Venue: market.Binance, Symbol: "ETHBTC", Pair: market.Pair{Base: "ETH", Quote: "BTC"}, PriceExp: 5, QtyExp: 4, Tick: 1, Step: 1, TakerFeeBps: 10}
	bq = &market.Instrument{Venue: market.Binance, Symbol: "ETHUSDT", Pair: market.Pair{Base: "ETH", Quote: "USDT"}, PriceExp: 2, QtyExp: 4, Tick: 1, Step: 1, TakerFeeBps: 10}
	return
}

// ltop is a one-level Live top in mantissas.
func ltop(bid, bidQ, ask, askQ int64) *book.Top {
	t := &book.Top{State: book.Live, NBids: 1, NAsks: 1}
	t.Bids[0] = book.Level{Price: market.Price(bid), Qty: market.Qty(bidQ)}
	t.Asks[0] = book.Level{Price: market.Price(ask), Qty: market.Qty(askQ)}
	return t
}

func newTri(t *testing.T) *Tri {
	t.Helper()
	aq, ba, bq := triInsts()
	tr, err := NewTri(TriConfig{MinProfitBps: 5, MaxQty: 20000}, aq, ba, bq)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTriForward(t *testing.T) {
	tr := newTri(t)
	// BTC 60000, ETH/BTC 0.05 imply ETH at 3000; ETH/USDT bids 3015.
	aq := ltop(5999900, 1e5, 6000000, 1e5) // 1 BTC at 60000
	ba := ltop(4999, 10e4, 5000, 10e4)     // 10 ETH at 0.05000
	bq := ltop(301500, 5e4, 301600, 5e4)   // 5 ETH bid at 3015
	op, ok := tr.Best(aq, ba, bq, 1e6*1e6) // 1e6 USDT at 6 decimals
	if !ok || !op.Forward {
		t.Fatalf("got %+v %v, want the forward cycle", op, ok)
	}
	// 3015 / (60000 · 0.05) · 0.999³ − 1 = 19.9 bps.
	if want := (3015.0/3000*math.Pow(0.999, 3) - 1) * 1e4; math.Abs(op.EdgeBps-want) > 1e-9 {
		t.Errorf("edge %.4f bps, want %.4f", op.EdgeBps, want)
	}
	// 2 ETH (the cap): buy 0.1 BTC, buy 2 ETH with it, sell 2 ETH.
	want := TriOpportunity{Forward: true, Side: [3]market.Side{market.Buy, market.Buy, market.Sell}, Qty: [3]market.Qty{10000, 20000, 20000}, Price: [3]market.Price{6000000, 5000, 301500}}
	if op.Side != want.Side || op.Qty != want.Qty || op.Price != want.Price {
		t.Fatalf("got %+v, want %+v", op, want)
	}
	in := op.Intents(tr, [3]market.ClientID{1, 2, 3}, nil)
	if len(in) != 3 || in[0].Inst.Symbol != "BTCUSDT" || in[1].Inst.Symbol != "ETHBTC" || in[2].Inst.Symbol != "ETHUSDT" || in[2].TIF != market.IOC || in[2].ClientID != 3 {
		t.Errorf("intents %+v", in)
	}
	// Less quote than the cycle wants: sized down to what it can pay.
	op, ok = tr.Best(aq, ba, bq, 1500*1e6) // 1500 USDT: 0.4989 ETH after two fees
	if !ok || op.Qty[1] != 4990 || op.Qty[2] != 4990 {
		t.Errorf("with 1500 USDT: got %+v %v, want 0.4990 ETH", op, ok)
	}
}

func TestTriReverseAndNone(t *testing.T) {
	tr := newTri(t)
	aq := ltop(6000000, 1e5, 6000100, 1e5)
	ba := ltop(5000, 10e4, 5001, 10e4)
	bq := ltop(297900, 5e4, 298000, 3e4) // ETH offered at 2980 < 3000
	op, ok := tr.Best(aq, ba, bq, 1e12)
	if !ok || op.Forward || op.Side != [3]market.Side{market.Sell, market.Sell, market.Buy} || op.Qty[2] != 20000 || op.Qty[0] != 10000 {
		t.Fatalf("reverse: got %+v %v", op, ok)
	}
	bq = ltop(299900, 5e4, 300100, 5e4) // no dislocation
	if op, ok := tr.Best(aq, ba, bq, 1e12); ok {
		t.Fatalf("found %+v without a dislocation", op)
	}
	bq = ltop(301500, 5e4, 301600, 5e4)
	bq.State = book.Syncing
	if _, ok := tr.Best(aq, ba, bq, 1e12); ok {
		t.Fatal("traded on a book that is not Live")
	}
	a, b, c := triInsts()
	if _, err := NewTri(TriConfig{MinProfitBps: 5, MaxQty: 1}, a, c, b); err == nil {
		t.Error("NewTri accepted pairs that do not form a cycle")
	}
}
