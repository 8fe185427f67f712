//go:build !race

package wire

import "testing"

func TestFrameAllocs(t *testing.T) {
	msg := []byte(`{"e":"depthUpdate","U":1,"u":2}`)
	for range 10 { // warm the pool
		f := NewFrame()
		f.B = append(f.B, msg...)
		f.Release()
	}
	if n := testing.AllocsPerRun(1000, func() {
		f := NewFrame()
		f.B = append(f.B, msg...)
		f.Retain()
		f.Release()
		f.Release()
	}); n != 0 {
		t.Errorf("NewFrame/append/Retain/Release: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = SeedFor(7, 3) }); n != 0 {
		t.Errorf("SeedFor: %v allocs, want 0", n)
	}
}
