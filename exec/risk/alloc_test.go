//go:build !race

package risk

import (
	"testing"
	"time"

	"arbmm/internal/market"
)

func TestCheckNoAlloc(t *testing.T) {
	c, ins := newTestChecker(t)
	in, v := buy(ins)
	cp := ins[0] // found by value
	byValue := in
	byValue.Inst = &cp
	cancel := market.Intent{Action: market.ActCancel, Venue: market.Binance, Inst: &ins[0], ClientID: 1}
	now := int64(1_800_000_000e9)
	var bad int
	allocs := testing.AllocsPerRun(1000, func() {
		now += int64(time.Second)
		if c.Check(&in, &v, now) != OK {
			bad++
		}
		if c.Check(&byValue, &v, now+int64(500*time.Millisecond)) != OK {
			bad++
		}
		in.Price++ // off the tick: a reject
		if c.Check(&in, &v, now) != Tick {
			bad++
		}
		in.Price--
		c.Check(&cancel, &v, now)
	})
	if allocs != 0 {
		t.Errorf("Check: %v allocations per run, want 0", allocs)
	}
	if bad != 0 {
		t.Errorf("%d checks gave an unexpected verdict", bad)
	}
}

func TestKillEvalNoAlloc(t *testing.T) {
	k := newTestKill(t)
	now := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		now += int64(time.Second)
		k.OnPnL(10, now)
		k.OnReject(now)
		k.OnVenueState(market.Kraken, false, now)
		k.OnVenueState(market.Kraken, true, now)
		_ = k.Active()
	})
	if allocs != 0 {
		t.Errorf("kill switch evaluations: %v allocations per run, want 0", allocs)
	}
	if k.Active() {
		t.Errorf("switch tripped (%s: %s) on calm inputs", k.Reason(), k.Detail())
	}
}
