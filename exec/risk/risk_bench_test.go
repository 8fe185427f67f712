package risk

import (
	"testing"

	"arbmm/internal/market"
)

var sink Verdict

// BenchmarkCheck is Check of a passing new order (every check runs),
// its instrument found by pointer, as the engine calls it.
func BenchmarkCheck(b *testing.B) {
	c, ins := newTestChecker(b)
	in, v := buy(ins)
	now := int64(1_800_000_000e9)
	b.ReportAllocs()
	for b.Loop() {
		now += 100e6 // one order slot per 100 ms at 10/s
		sink = c.Check(&in, &v, now)
	}
	if sink != OK {
		b.Fatalf("got %s, want ok", sink)
	}
}

// BenchmarkCheckByValue is the same with an Intent.Inst pointer New did not
// see: found by (venue, symbol).
func BenchmarkCheckByValue(b *testing.B) {
	c, ins := newTestChecker(b)
	in, v := buy(ins)
	cp := ins[0]
	in.Inst = &cp
	now := int64(1_800_000_000e9)
	b.ReportAllocs()
	for b.Loop() {
		now += 100e6
		sink = c.Check(&in, &v, now)
	}
	if sink != OK {
		b.Fatalf("got %s, want ok", sink)
	}
}

// BenchmarkCheckCancel is the floor: a cancel passes without any check.
func BenchmarkCheckCancel(b *testing.B) {
	c, ins := newTestChecker(b)
	in := market.Intent{Action: market.ActCancel, Venue: market.Binance, Inst: &ins[0], ClientID: 1}
	var v View
	b.ReportAllocs()
	for b.Loop() {
		sink = c.Check(&in, &v, 1)
	}
}

// BenchmarkKillActive is what every check pays for the kill switch.
func BenchmarkKillActive(b *testing.B) {
	c, _ := newTestChecker(b)
	k := c.Kill()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if k.Active() {
			n++
		}
	}
	sink = Verdict(n)
}
