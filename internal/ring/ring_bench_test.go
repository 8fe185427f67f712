package ring

import (
	"runtime"
	"testing"
)

// The benchmarks pass a 64-byte event from one producer goroutine to one
// consumer goroutine (the benchmark's own) and report ns per event, beside
// a buffered channel of the same capacity as the baseline. Both sides
// busy-poll and yield only every 1024 empty or full polls, as the engine's
// core does with the spin idle strategy.

const benchCap = 1024

var sink uint64

func spinIdle(n int) {
	if n&1023 == 0 {
		runtime.Gosched()
	}
}

func BenchmarkThroughput(b *testing.B) {
	b.Run("ring/TryPop", func(b *testing.B) {
		r := mustNew[event](b, benchCap)
		b.ReportAllocs()
		b.SetBytes(64)
		go func() {
			var e event
			for i := range uint64(b.N) {
				e.seq = i
				r.Push(&e, spinIdle)
			}
		}()
		var e event
		var sum uint64
		for i, n := 0, 0; i < b.N; {
			if !r.TryPop(&e) {
				n++
				spinIdle(n)
				continue
			}
			n = 0
			sum += e.seq
			i++
		}
		sink = sum
	})
	b.Run("ring/PopBatch", func(b *testing.B) {
		r := mustNew[event](b, benchCap)
		b.ReportAllocs()
		b.SetBytes(64)
		go func() {
			var e event
			for i := range uint64(b.N) {
				e.seq = i
				r.Push(&e, spinIdle)
			}
		}()
		batch := make([]event, 64)
		var sum uint64
		for i, n := 0, 0; i < b.N; {
			k := r.PopBatch(batch)
			if k == 0 {
				n++
				spinIdle(n)
				continue
			}
			n = 0
			for j := range batch[:k] {
				sum += batch[j].seq
			}
			i += k
		}
		sink = sum
	})
	b.Run("chan", func(b *testing.B) {
		c := make(chan event, benchCap)
		b.ReportAllocs()
		b.SetBytes(64)
		go func() {
			var e event
			for i := range uint64(b.N) {
				e.seq = i
				c <- e
			}
		}()
		var sum uint64
		for range b.N {
			e := <-c
			sum += e.seq
		}
		sink = sum
	})
}

// BenchmarkPingPong measures a round trip: the benchmark goroutine sends an
// event and waits for it to come back from an echo goroutine over a second
// ring (or channel). ns/op is two one-way hand-offs on an otherwise idle
// pair of queues, the latency a lone market-data event sees.
func BenchmarkPingPong(b *testing.B) {
	b.Run("ring", func(b *testing.B) {
		req, resp := mustNew[event](b, benchCap), mustNew[event](b, benchCap)
		b.ReportAllocs()
		go func() {
			var e event
			for range b.N {
				for n := 1; !req.TryPop(&e); n++ {
					spinIdle(n)
				}
				resp.Push(&e, spinIdle)
			}
		}()
		var e event
		for i := range uint64(b.N) {
			e.seq = i
			req.Push(&e, spinIdle)
			for n := 1; !resp.TryPop(&e); n++ {
				spinIdle(n)
			}
			if e.seq != i {
				b.Fatalf("got seq %d, want %d", e.seq, i)
			}
		}
	})
	b.Run("chan", func(b *testing.B) {
		req, resp := make(chan event, benchCap), make(chan event, benchCap)
		b.ReportAllocs()
		go func() {
			for range b.N {
				resp <- <-req
			}
		}()
		var e event
		for i := range uint64(b.N) {
			e.seq = i
			req <- e
			e = <-resp
			if e.seq != i {
				b.Fatalf("got seq %d, want %d", e.seq, i)
			}
		}
	})
}
