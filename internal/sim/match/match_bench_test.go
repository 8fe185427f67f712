package match

import (
	"testing"

	"arbmm/internal/market"
)

// benchBook is a book with depth levels of resting orders of an untracked
// account on each side around 100.00, and a taker account with ample
// funds.
func benchBook(b *testing.B, depth int) *Book {
	b.Helper()
	l, err := NewLedger([]Asset{{Name: "BTC", Exp: -8}, {Name: "USD", Exp: -10}})
	if err != nil {
		b.Fatal(err)
	}
	bk, err := NewBook(BookConfig{Symbol: "BTCUSD", Base: 0, Quote: 1, PriceExp: -2, QtyExp: -8, MakerFeeBps: 2, TakerFeeBps: 10}, l, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range []AccountID{1, 2} {
		if err := l.Deposit(a, 0, 1<<60); err != nil {
			b.Fatal(err)
		}
		if err := l.Deposit(a, 1, 1<<61); err != nil {
			b.Fatal(err)
		}
	}
	for i := range depth {
		if _, err := bk.Submit(Request{Account: 1, Side: market.Buy, Type: Limit, Price: 9_999 - int64(i), Qty: 1e8}, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := bk.Submit(Request{Account: 1, Side: market.Sell, Type: Limit, Price: 10_001 + int64(i), Qty: 1e8}, 0); err != nil {
			b.Fatal(err)
		}
	}
	return bk
}

// BenchmarkSubmitCross: a maker rests at the best ask, a taker crosses and
// fills it completely; two submits, one trade per iteration.
func BenchmarkSubmitCross(b *testing.B) {
	bk := benchBook(b, 100)
	b.ReportAllocs()
	var now int64
	for b.Loop() {
		now++
		if _, err := bk.Submit(Request{Account: 1, Side: market.Sell, Type: Limit, Price: 10_000, Qty: 1e6}, now); err != nil {
			b.Fatal(err)
		}
		o, err := bk.Submit(Request{Account: 2, Side: market.Buy, Type: Limit, Price: 10_000, Qty: 1e6}, now)
		if err != nil || o.Status != StatusFilled {
			b.Fatalf("taker: %v %v", o.Status, err)
		}
	}
}

// BenchmarkAddCancel: a limit order rests inside the spread and is
// canceled.
func BenchmarkAddCancel(b *testing.B) {
	bk := benchBook(b, 100)
	b.ReportAllocs()
	var now int64
	for b.Loop() {
		now++
		o, err := bk.Submit(Request{Account: 1, Side: market.Buy, Type: Limit, Price: 9_990, Qty: 1e6}, now)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bk.Cancel(1, o.ID, now); err != nil {
			b.Fatal(err)
		}
	}
}
