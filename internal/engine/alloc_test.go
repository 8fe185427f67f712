//go:build !race

package engine

import (
	"testing"

	"arbmm/internal/market"
)

func TestPositionsApplyNoAlloc(t *testing.T) {
	ins := engInsts()
	p, _ := NewPositions(ins)
	buy := fillOf(&ins[0], market.Buy, 6000000, 100, 5, 8, "BTC")
	sell := fillOf(&ins[1], market.Sell, 6001000, 100, 6000, 7, "USDT")
	allocs := testing.AllocsPerRun(1000, func() {
		_ = p.Apply(buy)
		_ = p.Apply(sell)
		_ = p.Pair(0, 6000500)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per fill pair, want 0", allocs)
	}
}
