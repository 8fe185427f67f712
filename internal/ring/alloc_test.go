//go:build !race

package ring

import "testing"

func TestZeroAlloc(t *testing.T) {
	r := mustNew[event](t, 64)
	e := makeEvent(1)
	var out event
	batch := make([]event, 8)
	idle := func(int) {}
	check := func(name string, f func()) {
		t.Helper()
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: got %v allocs/op, want 0", name, n)
		}
	}
	check("TryPush+TryPop", func() {
		r.TryPush(&e)
		r.TryPop(&out)
	})
	check("Push+PopBatch", func() {
		for range 4 {
			r.Push(&e, idle)
		}
		r.PopBatch(batch)
	})
	check("full and empty", func() {
		for i := 0; i <= r.Cap() && r.TryPush(&e); i++ {
		}
		for i := 0; i <= r.Cap() && r.TryPop(&out); i++ {
		}
		r.PopBatch(batch)
	})
	check("Len/Cap", func() { _ = r.Len() + r.Cap() })
}
