package keys

import (
	"sync"
	"testing"

	"arbmm/exec"
)

var sinkCred *exec.Credential

// BenchmarkCurrent is the ring's cost per request (one atomic load),
// beside the obvious alternative, a mutex around the current key.
func BenchmarkCurrent(b *testing.B) {
	clk := newClock()
	r := NewRing("binance", "main", Config{Now: clk.Now})
	k, _ := testKey(b, "k1", exec.HMAC, clk.Now())
	r.Add(k)
	b.Run("ring", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkCred = r.Current()
		}
	})
	b.Run("baseline-mutex", func(b *testing.B) {
		var mu sync.Mutex
		c := r.Current()
		b.ReportAllocs()
		for b.Loop() {
			mu.Lock()
			sinkCred = c
			mu.Unlock()
		}
	})
}
