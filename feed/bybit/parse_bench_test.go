package bybit

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/bytedance/sonic"

	"arbmm/internal/market"
)

// benchStream is the capture's order-book traffic: the feeds (configured
// with the capture's instruments), each topic's snapshot, and every delta
// in capture order (linear and spot interleaved, 327 B and 8.6 levels on
// average).
type benchStream struct {
	feeds  map[string]*Feed
	snaps  []benchFrame
	deltas []benchFrame
	bytes  int64 // average delta size
	levels float64
}

type benchFrame struct {
	f    *Feed
	data []byte
}

func loadBench(b *testing.B) *benchStream {
	b.Helper()
	cd := loadCapture(b)
	bs := &benchStream{feeds: cd.newFeeds(b, true)}
	var total, levels int
	for _, fr := range cd.frames {
		f := bs.feeds[fr.conn]
		switch {
		case bytes.HasPrefix(fr.data, []byte(`{"topic":"orderbook.`)) && bytes.Contains(fr.data, []byte(`"type":"snapshot"`)):
			bs.snaps = append(bs.snaps, benchFrame{f, fr.data})
		case bytes.HasPrefix(fr.data, []byte(`{"topic":"orderbook.`)):
			bs.deltas = append(bs.deltas, benchFrame{f, fr.data})
			total += len(fr.data)
		}
	}
	if len(bs.deltas) != captureDeltas {
		b.Fatalf("%d deltas, want %d", len(bs.deltas), captureDeltas)
	}
	bs.load(b)
	for _, d := range bs.deltas {
		if !d.f.dec.decode(d.data) {
			b.Fatal(d.f.dec.s.ErrorString())
		}
		levels += len(d.f.dec.m.vals)
	}
	bs.bytes = int64(total / len(bs.deltas))
	bs.levels = float64(levels) / float64(len(bs.deltas))
	return bs
}

// load (re)loads every book from its snapshot, so that the deltas follow
// in sequence from the first.
func (bs *benchStream) load(b *testing.B) {
	for _, s := range bs.snaps {
		if err := s.f.Handle(s.data, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode: scanning one real delta into the scratch message:
// topic lookup, scalars, levels straight to fixed point, checks.
func BenchmarkDecode(b *testing.B) {
	bs := loadBench(b)
	b.SetBytes(bs.bytes)
	b.ReportAllocs()
	i := 0
	var sink int64
	for b.Loop() {
		d := bs.deltas[i%len(bs.deltas)]
		i++
		if !d.f.dec.decode(d.data) {
			b.Fatal("decode failed")
		}
		sink += d.f.dec.m.u
	}
	b.ReportMetric(bs.levels, "levels/msg")
	_ = sink
}

// BenchmarkDecodeGeneral: BenchmarkDecode without the fast path (the
// general cursor, which any key order or white space takes).
func BenchmarkDecodeGeneral(b *testing.B) {
	bs := loadBench(b)
	b.SetBytes(bs.bytes)
	b.ReportAllocs()
	i := 0
	var sink int64
	for b.Loop() {
		d := bs.deltas[i%len(bs.deltas)]
		i++
		if !d.f.dec.general(d.data) {
			b.Fatal("decode failed")
		}
		sink += d.f.dec.m.u
	}
	_ = sink
}

// BenchmarkApply: applying the already-decoded levels of one real delta
// to its book (a 400-level store, 200 per side kept), truncating, and
// committing (publishing the top 20 when it changed). No decode, no
// sequence check.
func BenchmarkApply(b *testing.B) {
	bs := loadBench(b)
	type decoded struct {
		sym  *Symbol
		vals [][2]int64
		nb   int
		u    int64
	}
	msgs := make([]decoded, len(bs.deltas))
	for k, d := range bs.deltas {
		d.f.dec.decode(d.data)
		m := &d.f.dec.m
		msgs[k] = decoded{m.sym, append([][2]int64(nil), m.vals...), m.nb, m.u}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m := &msgs[i%len(msgs)]
		i++
		bk := m.sym.Book
		for _, v := range m.vals[:m.nb] {
			bk.Set(market.Bid, market.Price(v[0]), market.Qty(v[1]))
		}
		for _, v := range m.vals[m.nb:] {
			bk.Set(market.Ask, market.Price(v[0]), market.Qty(v[1]))
		}
		bk.Truncate(m.sym.Depth)
		bk.Commit(m.u, 0, 0)
	}
}

// BenchmarkDecodeApply: the feed's hot path for one real delta, Handle:
// decode, sequence check, apply, truncate, commit. After the last delta
// the books are reloaded from their snapshots (outside the timing).
func BenchmarkDecodeApply(b *testing.B) {
	bs := loadBench(b)
	b.SetBytes(bs.bytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(bs.deltas) {
			b.StopTimer()
			bs.load(b)
			i = 0
			b.StartTimer()
		}
		d := bs.deltas[i]
		i++
		if err := d.f.Handle(d.data, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// The baselines: what a Go trading bot typically does with a library
// decoder: unmarshal into structs, ParseFloat the strings, and apply them
// to a map book per topic (without truncation, which a map book would pay
// for with a sort).

type baseMsg struct {
	Topic string   `json:"topic"`
	Type  string   `json:"type"`
	TS    int64    `json:"ts"`
	CTS   int64    `json:"cts"`
	Data  baseData `json:"data"`
}

type baseData struct {
	S   string      `json:"s"`
	B   [][2]string `json:"b"`
	A   [][2]string `json:"a"`
	U   int64       `json:"u"`
	Seq int64       `json:"seq"`
}

type mapBook struct {
	bids, asks map[float64]float64
	u          int64
}

func (mb *mapBook) apply(d *baseData) {
	for side, lv := range [2][][2]string{d.B, d.A} {
		m := mb.bids
		if side == 1 {
			m = mb.asks
		}
		for _, l := range lv {
			p, _ := strconv.ParseFloat(l[0], 64)
			q, _ := strconv.ParseFloat(l[1], 64)
			if q == 0 {
				delete(m, p)
			} else {
				m[p] = q
			}
		}
	}
	mb.u = d.U
}

func benchBaseline(b *testing.B, unmarshal func([]byte, any) error, apply bool) {
	bs := loadBench(b)
	books := map[string]*mapBook{}
	for _, s := range bs.snaps {
		var m baseMsg
		if err := unmarshal(s.data, &m); err != nil {
			b.Fatal(err)
		}
		mb := &mapBook{map[float64]float64{}, map[float64]float64{}, 0}
		mb.apply(&m.Data)
		books[m.Topic] = mb
	}
	b.SetBytes(bs.bytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var m baseMsg
		if err := unmarshal(bs.deltas[i%len(bs.deltas)].data, &m); err != nil {
			b.Fatal(err)
		}
		i++
		if apply {
			books[m.Topic].apply(&m.Data)
		}
	}
}

func BenchmarkDecodeApplySonicBaseline(b *testing.B)  { benchBaseline(b, sonic.Unmarshal, true) }
func BenchmarkDecodeApplyStdlibBaseline(b *testing.B) { benchBaseline(b, json.Unmarshal, true) }
func BenchmarkDecodeSonicBaseline(b *testing.B)       { benchBaseline(b, sonic.Unmarshal, false) }
func BenchmarkDecodeStdlibBaseline(b *testing.B)      { benchBaseline(b, json.Unmarshal, false) }
