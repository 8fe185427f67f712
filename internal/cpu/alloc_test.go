//go:build !race

package cpu

import "testing"

func TestIdleZeroAlloc(t *testing.T) {
	for _, m := range []Idle{Spin, Yield, Park} {
		d := NewIdler(m)
		n := 0
		if a := testing.AllocsPerRun(100, func() { n++; d.Idle(n % (ParkSpins + ParkYields)) }); a != 0 {
			t.Errorf("%v Idle: got %v allocs/op, want 0", m, a)
		}
	}
	d := NewIdler(Park)
	if a := testing.AllocsPerRun(10, func() { d.Idle(ParkSpins + ParkYields + 1) }); a != 0 {
		t.Errorf("park sleep: got %v allocs/op, want 0", a)
	}
}
