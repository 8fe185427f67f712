package binance

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/bytedance/sonic"

	"arbmm/internal/market"
)

// benchFeed returns a feed in sync on the capture's symbols and the capture's
// depth frames, for benchmarks that run decode and apply without the
// sequence checks (replaying the same frames would otherwise be dropped as
// stale after the first pass).
func benchFeed(b *testing.B, c benchCapture) (*Feed, [][]byte) {
	path := c.path
	f, err := New(Config{Venue: c.venue})
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range captureRecords(b, path) {
		if r.symbol != "" {
			if err := f.HandleSnapshot(r.symbol, r.frame, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
	return f, depthFrames(b, path)
}

func frameStats(frames [][]byte) (bytes int64, levels float64) {
	var d decoder = newDecoder(10000)
	n := 0
	for _, fr := range frames {
		bytes += int64(len(fr))
		d.decode(fr)
		n += d.m.count()
	}
	return bytes / int64(len(frames)), float64(n) / float64(len(frames))
}

// benchCapture is a real capture the benchmarks replay: spot frames are
// small (~200 B, ~2 levels); USD-M frames are the typical ~300 B, ~8 level
// message.
type benchCapture struct {
	name  string
	path  string
	venue market.Venue
}

var benchCaptures = []benchCapture{
	{"spot", "testdata/binance-spot-depth-4sym.jsonl", market.Binance},
	{"usdm", "testdata/binance-usdm-depth.jsonl", market.BinanceUSDM},
}

// perCapture runs fn as one sub-benchmark per capture.
func perCapture(b *testing.B, fn func(*testing.B, benchCapture)) {
	for _, c := range benchCaptures {
		b.Run(c.name, func(b *testing.B) { fn(b, c) })
	}
}

// BenchmarkDecode: scanning one real depth frame into the scratch message
// (offsets and scalars) and parsing its levels to fixed point.
func BenchmarkDecode(b *testing.B) { perCapture(b, benchDecode) }

func benchDecode(b *testing.B, c benchCapture) {
	f, frames := benchFeed(b, c)
	avg, lv := frameStats(frames)
	b.SetBytes(avg)
	b.ReportAllocs()
	i := 0
	var sink int64
	for b.Loop() {
		fr := frames[i%len(frames)]
		i++
		f.dec.decode(fr)
		in := &f.dec.m.sym.Inst
		f.dec.resolve(in.PriceExp, in.QtyExp)
		for _, v := range f.dec.m.vals {
			sink += v[0] + v[1]
		}
	}
	b.ReportMetric(lv, "levels/msg")
	_ = sink
}

// BenchmarkApply: applying the already-decoded levels of one message to a
// 1000-level book and committing it (publishing the top 20 when it changed).
func BenchmarkApply(b *testing.B) { perCapture(b, benchApply) }

func benchApply(b *testing.B, c benchCapture) {
	f, frames := benchFeed(b, c)
	type lvl struct {
		side int
		p    market.Price
		q    market.Qty
	}
	msgs := make([][]lvl, len(frames))
	syms := make([]*Symbol, len(frames))
	for k, fr := range frames {
		f.dec.decode(fr)
		syms[k] = f.lookup(f.dec.m.symbol)
		f.dec.resolve(syms[k].Inst.PriceExp, syms[k].Inst.QtyExp)
		for j, v := range f.dec.m.vals {
			side := 0
			if j >= f.dec.m.nb {
				side = 1
			}
			msgs[k] = append(msgs[k], lvl{side, market.Price(v[0]), market.Qty(v[1])})
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(msgs)
		i++
		bk := syms[k].Book
		for _, l := range msgs[k] {
			bk.Set(market.Side(l.side), l.p, l.q)
		}
		bk.Commit(int64(i), 0, 0)
	}
}

// BenchmarkDecodeApply: the feed's hot path for one real depth frame:
// decode, symbol lookup, fixed-point parse, book apply, commit.
func BenchmarkDecodeApply(b *testing.B) { perCapture(b, benchDecodeApply) }

func benchDecodeApply(b *testing.B, c benchCapture) {
	f, frames := benchFeed(b, c)
	avg, _ := frameStats(frames)
	b.SetBytes(avg)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		fr := frames[i%len(frames)]
		i++
		f.dec.decode(fr)
		sym := f.lookup(f.dec.m.symbol)
		f.apply(sym, 0)
	}
}

// The baselines: what a Go trading bot typically does with a library
// decoder: unmarshal into structs, ParseFloat the strings, and apply them to
// a map book.

type depthEnvelope struct {
	Stream string     `json:"stream"`
	Data   depthEvent `json:"data"`
}

type depthEvent struct {
	Event  string      `json:"e"`
	Time   int64       `json:"E"`
	Symbol string      `json:"s"`
	First  int64       `json:"U"`
	Last   int64       `json:"u"`
	Prev   int64       `json:"pu"`
	Bids   [][2]string `json:"b"`
	Asks   [][2]string `json:"a"`
}

type mapBook struct{ bids, asks map[float64]float64 }

func (m *mapBook) apply(ev *depthEvent) {
	for _, l := range ev.Bids {
		p, _ := strconv.ParseFloat(l[0], 64)
		q, _ := strconv.ParseFloat(l[1], 64)
		if q == 0 {
			delete(m.bids, p)
		} else {
			m.bids[p] = q
		}
	}
	for _, l := range ev.Asks {
		p, _ := strconv.ParseFloat(l[0], 64)
		q, _ := strconv.ParseFloat(l[1], 64)
		if q == 0 {
			delete(m.asks, p)
		} else {
			m.asks[p] = q
		}
	}
}

func benchBaseline(b *testing.B, c benchCapture, unmarshal func([]byte, any) error) {
	_, frames := benchFeed(b, c)
	avg, _ := frameStats(frames)
	books := map[string]*mapBook{}
	b.SetBytes(avg)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var env depthEnvelope
		if err := unmarshal(frames[i%len(frames)], &env); err != nil {
			b.Fatal(err)
		}
		i++
		bk := books[env.Data.Symbol]
		if bk == nil {
			bk = &mapBook{map[float64]float64{}, map[float64]float64{}}
			books[env.Data.Symbol] = bk
		}
		bk.apply(&env.Data)
	}
}

func BenchmarkDecodeApplySonicBaseline(b *testing.B) {
	perCapture(b, func(b *testing.B, c benchCapture) { benchBaseline(b, c, sonic.Unmarshal) })
}

func BenchmarkDecodeApplyStdlibBaseline(b *testing.B) {
	perCapture(b, func(b *testing.B, c benchCapture) { benchBaseline(b, c, json.Unmarshal) })
}

// BenchmarkDecodeSonicBaseline: sonic's decode alone into the structs.
func BenchmarkDecodeSonicBaseline(b *testing.B) { perCapture(b, benchDecodeSonic) }

func benchDecodeSonic(b *testing.B, c benchCapture) {
	_, frames := benchFeed(b, c)
	avg, _ := frameStats(frames)
	b.SetBytes(avg)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var env depthEnvelope
		if err := sonic.Unmarshal(frames[i%len(frames)], &env); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
