package book

import (
	"math/rand/v2"
	"testing"

	"arbmm/internal/market"
)

type change struct {
	s market.Side
	p market.Price
	q market.Qty
}

// changes returns n level changes on a book of the given depth around mid:
// distances from the best drawn from dist, a third of them deletes.
func changes(n, depth int, dist func(*rand.Rand) int) []change {
	rng := rand.New(rand.NewPCG(3, 4))
	out := make([]change, n)
	for i := range out {
		s := market.Side(rng.IntN(2))
		d := dist(rng) % (depth + depth/10)
		p := market.Price(100000 - 1 - d)
		if s == market.Ask {
			p = market.Price(100000 + 1 + d)
		}
		q := market.Qty(rng.IntN(3) * rng.IntN(100))
		out[i] = change{s, p, q}
	}
	return out
}

func fullBook(b testing.TB, depth int) *Book {
	bk := newBook(b, depth, 20)
	for i := 0; i < depth; i++ {
		bk.Set(market.Bid, market.Price(100000-1-i), 1)
		bk.Set(market.Ask, market.Price(100000+1+i), 1)
	}
	return bk
}

func benchSet(b *testing.B, bk *Book, ch []change) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := &ch[i&(len(ch)-1)]
		bk.Set(c.s, c.p, c.q)
		i++
	}
}

// BenchmarkSetNearTop: one level change per op on a 1000-level book, at
// distances from the best that fall off geometrically (mean ~8), as in real
// diff streams.
func BenchmarkSetNearTop(b *testing.B) {
	ch := changes(1<<16, 1000, func(r *rand.Rand) int { return int(r.ExpFloat64() * 8) })
	benchSet(b, fullBook(b, 1000), ch)
}

// BenchmarkSetUniform: changes uniform over all 1000 levels, the worst case
// for an array book.
func BenchmarkSetUniform(b *testing.B) {
	ch := changes(1<<16, 1000, func(r *rand.Rand) int { return r.IntN(1000) })
	benchSet(b, fullBook(b, 1000), ch)
}

// BenchmarkSetNearTopRefBook is the naive baseline: the map-based reference
// book on the same changes.
func BenchmarkSetNearTopRefBook(b *testing.B) {
	ch := changes(1<<16, 1000, func(r *rand.Rand) int { return int(r.ExpFloat64() * 8) })
	ref := newRefBook(1 << 30) // no capacity rule: it would sort on every insert
	for i := 0; i < 1000; i++ {
		ref.set(market.Bid, market.Price(100000-1-i), 1)
		ref.set(market.Ask, market.Price(100000+1+i), 1)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := &ch[i&(len(ch)-1)]
		ref.set(c.s, c.p, c.q)
		i++
	}
}

// BenchmarkCommitPublish: a message of 8 near-top changes followed by a
// commit that publishes the top 20.
func BenchmarkCommitPublish(b *testing.B) {
	ch := changes(1<<16, 1000, func(r *rand.Rand) int { return int(r.ExpFloat64() * 4) })
	bk := fullBook(b, 1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		for k := 0; k < 8; k++ {
			c := &ch[i&(len(ch)-1)]
			bk.Set(c.s, c.p, c.q)
			i++
		}
		bk.Commit(int64(i), 0, 0)
	}
}

func BenchmarkRead(b *testing.B) {
	bk := fullBook(b, 1000)
	bk.Commit(1, 0, 0)
	var top Top
	b.ReportAllocs()
	for b.Loop() {
		bk.Read(&top)
	}
}

// BenchmarkReadContended: Read while another goroutine publishes back to
// back; reports retries per read.
func BenchmarkReadContended(b *testing.B) {
	bk := fullBook(b, 1000)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			bk.Set(market.Bid, market.Price(100000-1-i%5), market.Qty(1+i%7))
			bk.Commit(i, 0, 0)
		}
	}()
	var top Top
	retries := 0
	b.ReportAllocs()
	for b.Loop() {
		retries += bk.Read(&top)
	}
	b.StopTimer()
	close(stop)
	<-done
	b.ReportMetric(float64(retries)/float64(b.N), "retries/op")
}
