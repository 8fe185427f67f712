//go:build !race

package exec

import (
	"testing"
	"time"

	"arbmm/internal/market"
)

func TestOrdersNoAlloc(t *testing.T) {
	tb := NewOrders(64, 64)
	ids := NewIDs(time.Unix(1_800_000_000, 0))
	in := intent(0, 100)
	var due []market.ClientID
	due = make([]market.ClientID, 0, 256)
	allocs := testing.AllocsPerRun(1000, func() {
		in.ClientID = ids.Next(time.Time{})
		tb.New(in, 1)
		tb.Apply(rep(market.ReportAck, in.ClientID))
		tb.Apply(fill(in.ClientID, uint64(in.ClientID), 100, 100))
		due = tb.Overdue(10, 5, due[:0])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per order, want 0", allocs)
	}
	w := Window{Limit: 6000, Interval: time.Minute}
	var c Counter
	c.Max, c.DecayPerSec = 15, 0.33
	if a := testing.AllocsPerRun(1000, func() { w.Take(1, 1); w.Observe(2, 1); c.Take(1, 1) }); a != 0 {
		t.Errorf("limits: %v allocations, want 0", a)
	}
}
