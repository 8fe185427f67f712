//go:build !race

package arb

import (
	"testing"

	"arbmm/internal/market"
)

func TestCrossNoAlloc(t *testing.T) {
	c := newCross(t, 5)
	legs := walkLegs()
	out := make([]market.Intent, 0, 4)
	allocs := testing.AllocsPerRun(1000, func() {
		if op, ok := c.Best(legs); ok {
			out = op.Intents(legs, 1, 2, out[:0])
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per decision, want 0", allocs)
	}
	tr := newTri(t)
	aq, ba, bq := ltop(5999900, 1e5, 6000000, 1e5), ltop(4999, 10e4, 5000, 10e4), ltop(301500, 5e4, 301600, 5e4)
	allocs = testing.AllocsPerRun(1000, func() {
		if op, ok := tr.Best(aq, ba, bq, 1e12); ok {
			out = op.Intents(tr, [3]market.ClientID{1, 2, 3}, out[:0])
		}
	})
	if allocs != 0 {
		t.Errorf("triangular: %v allocations per decision, want 0", allocs)
	}
}
