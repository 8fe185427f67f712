package seqlock

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestStoreWords(t *testing.T) {
	for _, n := range []int{0, 1, 7, 64} {
		dst := make([]atomic.Int64, n+1)
		src := make([]int64, n)
		for i := range src {
			src[i] = int64(i*i) - 5
		}
		StoreWords(dst[:n], src)
		for i := 0; i < n; i++ {
			if dst[i].Load() != src[i] {
				t.Fatalf("n=%d: dst[%d] = %d, want %d", n, i, dst[i].Load(), src[i])
			}
		}
		if dst[n].Load() != 0 {
			t.Fatalf("n=%d: wrote past the end", n)
		}
	}
}

// TestSeqlockProtocol: a writer publishes blocks whose words all equal the
// version; readers that validate with the sequence word never see a mixed
// block.
func TestSeqlockProtocol(t *testing.T) {
	var seq atomic.Uint64
	words := make([]atomic.Int64, 32)
	src := make([]int64, 32)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad, good atomic.Int64
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() || good.Load() < 1000 {
				s1 := seq.Load()
				if s1&1 != 0 {
					continue
				}
				first := words[0].Load()
				mixed := false
				for i := range words {
					if words[i].Load() != first {
						mixed = true
					}
				}
				if seq.Load() != s1 {
					continue
				}
				if mixed {
					bad.Add(1)
				} else {
					good.Add(1)
				}
			}
		}()
	}
	for v := int64(1); v <= 200000; v++ {
		for i := range src {
			src[i] = v
		}
		s := seq.Load()
		StoreUint64(&seq, s+1)
		StoreWords(words, src)
		StoreUint64(&seq, s+2)
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d validated reads saw a mixed block", bad.Load())
	}
}

var sink [128]atomic.Int64

func BenchmarkStoreWords87(b *testing.B) {
	src := make([]int64, 87)
	for b.Loop() {
		StoreWords(sink[:87], src)
	}
}

// BenchmarkAtomicStore87 is the sync/atomic baseline.
func BenchmarkAtomicStore87(b *testing.B) {
	for b.Loop() {
		for i := 0; i < 87; i++ {
			sink[i].Store(0)
		}
	}
}

func TestStoreWord(t *testing.T) {
	var u atomic.Uint64
	var i atomic.Int64
	StoreUint64(&u, 1<<63+5)
	StoreInt64(&i, -7)
	if u.Load() != 1<<63+5 || i.Load() != -7 {
		t.Fatalf("got %d %d, want %d -7", u.Load(), i.Load(), uint64(1<<63+5))
	}
}
