package feed

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffBoundsAndGrowth(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := Backoff{Min: 100 * time.Millisecond, Max: 30 * time.Second}
	ceils := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000}
	for i, c := range ceils {
		ceil := c * time.Millisecond
		d := b.Next(r)
		if d < b.Min || d > ceil {
			t.Fatalf("attempt %d: got %v, want in [%v, %v]", i, d, b.Min, ceil)
		}
	}
	if got := b.Next(r); got > b.Max {
		t.Fatalf("after many attempts: got %v, want ≤ %v", got, b.Max)
	}
	b.Reset()
	if got := b.Next(r); got != b.Min {
		t.Fatalf("first delay after Reset: got %v, want %v", got, b.Min)
	}
}

func TestBackoffDeterministicAndJittered(t *testing.T) {
	seq := func(seed uint64) []time.Duration {
		r := rand.New(rand.NewPCG(seed, 7))
		var out []time.Duration
		for range 50 {
			b := Backoff{Min: time.Millisecond, Max: time.Second}
			for range 8 {
				b.Next(r)
			}
			out = append(out, b.Next(r)) // window [1ms, 256ms]
		}
		return out
	}
	a, a2, c := seq(42), seq(42), seq(43)
	distinct := map[time.Duration]bool{}
	same := true
	for i := range a {
		if a[i] != a2[i] {
			t.Fatalf("seed 42 run %d: got %v then %v, want equal", i, a[i], a2[i])
		}
		if a[i] < time.Millisecond || a[i] > 256*time.Millisecond {
			t.Fatalf("run %d: got %v, want in [1ms, 256ms]", i, a[i])
		}
		distinct[a[i]] = true
		same = same && a[i] == c[i]
	}
	if len(distinct) < 40 {
		t.Fatalf("got %d distinct delays of 50, want jitter to spread them", len(distinct))
	}
	if same {
		t.Fatal("seeds 42 and 43 gave the same sequence")
	}
}

func TestBackoffEdges(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	check := func(b Backoff, lo, hi time.Duration) {
		t.Helper()
		for i := range 200 {
			if d := b.Next(r); d < lo || d > hi {
				t.Fatalf("%+v attempt %d: got %v, want in [%v, %v]", b, i, d, lo, hi)
			}
		}
	}
	check(Backoff{Min: 1, Max: math.MaxInt64}, 1, math.MaxInt64) // no overflow
	check(Backoff{Min: time.Second, Max: time.Second}, time.Second, time.Second)
	check(Backoff{}, 0, 0)
}
