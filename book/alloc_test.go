//go:build !race

package book

import (
	"testing"

	"arbmm/internal/market"
)

func TestZeroAlloc(t *testing.T) {
	b := newBook(t, 1000, 20)
	for i := 0; i < 1000; i++ {
		b.Set(market.Bid, market.Price(100000-i), 1)
		b.Set(market.Ask, market.Price(100001+i), 1)
	}
	var top Top
	i := 0
	n := testing.AllocsPerRun(1000, func() {
		i++
		b.Set(market.Bid, market.Price(100000-i%50), market.Qty(i%3))
		b.Set(market.Ask, market.Price(100001+i%70), market.Qty(i%2))
		b.Truncate(1000)
		b.Commit(int64(i), 0, 0)
		b.Read(&top)
		_ = b.Stats()
	})
	if n != 0 {
		t.Errorf("book apply/commit/read allocates %v times per run, want 0", n)
	}
}
