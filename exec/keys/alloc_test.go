//go:build !race

package keys

import (
	"testing"

	"arbmm/exec"
)

// TestCurrentAllocs: a session calls Current on every request.
func TestCurrentAllocs(t *testing.T) {
	clk := newClock()
	r := NewRing("binance", "main", Config{Now: clk.Now})
	k, _ := testKey(t, "k1", exec.HMAC, clk.Now())
	r.Add(k)
	var src exec.KeySource = r
	if n := testing.AllocsPerRun(1000, func() {
		if src.Current() == nil {
			t.Fatal("no key")
		}
	}); n != 0 {
		t.Fatalf("Current: %v allocs, want 0", n)
	}
}
