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
}
