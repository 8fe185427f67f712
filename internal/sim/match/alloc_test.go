//go:build !race

package match

import (
	"testing"

	"arbmm/internal/market"
)

// TestZeroAllocSteadyState: once warm, an untracked account's crossing
// submit and add+cancel allocate nothing (recycled orders and levels).
func TestZeroAllocSteadyState(t *testing.T) {
	l, err := NewLedger([]Asset{{Name: "BTC", Exp: -8}, {Name: "USD", Exp: -10}})
	if err != nil {
		t.Fatal(err)
	}
	bk, err := NewBook(BookConfig{Symbol: "BTCUSD", Base: 0, Quote: 1, PriceExp: -2, QtyExp: -8, TakerFeeBps: 10, FeeMode: FeeInQuote}, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []AccountID{1, 2} {
		_ = l.Deposit(a, 0, 1<<60)
		_ = l.Deposit(a, 1, 1<<61)
	}
	var now int64
	run := func() {
		now++
		_, _ = bk.Submit(Request{Account: 1, Side: market.Sell, Type: Limit, Price: 10_000, Qty: 1e6}, now)
		_, _ = bk.Submit(Request{Account: 2, Side: market.Buy, Type: Limit, Price: 10_000, Qty: 1e6}, now)
		o, _ := bk.Submit(Request{Account: 1, Side: market.Buy, Type: Limit, Price: 9_990, Qty: 1e6}, now)
		_, _ = bk.Cancel(1, o.ID, now)
	}
	for range 100 {
		run()
	}
	if n := testing.AllocsPerRun(1000, run); n != 0 {
		t.Errorf("crossing submit and add+cancel: got %v allocations per run, want 0", n)
	}
}
