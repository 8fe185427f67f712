package coinbase

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/bytedance/sonic"

	"arbmm/book"
	"arbmm/internal/market"
)

// The benchmarks run over the capture's 773 real level2 update messages
// (829 B and 6.3 levels on average), in order. The stream starts from the
// books as the two snapshots left them; when it wraps, those books are
// restored with the timer stopped (Clear and re-Set of the levels the books
// kept: cheap, unlike re-handling the 5 MB snapshot), so that every
// message meets the book the venue sent it for.
//
//	ours      decode: jscan fast path (or the general path) straight to
//	          fixed point; apply: book.Book.Set per level + Commit;
//	          decode+apply: Feed.Handle (decode, sequence check, apply,
//	          commit and publish)
//	baselines sonic / encoding/json into structs; with apply, the levels
//	          ParseFloat'ed into a naive map book — what a Go trading bot
//	          typically does

// benchStream is the update stream and what restores its starting point.
type benchStream struct {
	f       *Feed
	updates [][]byte // renumbered to follow the snapshots without gaps
	start   [][2][]book.Level
	seq0    int64 // sequence_num before the first update
	bytes   int64 // average update size
	levels  float64
}

func loadBenchStream(b *testing.B) *benchStream {
	f, updates := updateStream(b, modeHTTP)
	s := &benchStream{f: f, updates: updates, seq0: f.Conn().LastSeq}
	for _, sym := range f.Symbols() {
		s.start = append(s.start, levelsOf(sym.Book))
	}
	n := 0
	for _, fr := range updates {
		s.bytes += int64(len(fr))
		n += bytes.Count(fr, []byte(`"side"`))
	}
	s.bytes /= int64(len(updates))
	s.levels = float64(n) / float64(len(updates))
	return s
}

// restore puts the books and the sequence back where the stream starts.
func (s *benchStream) restore() {
	for k, sym := range s.f.Symbols() {
		sym.Book.Clear()
		for side, lv := range s.start[k] {
			for _, l := range lv {
				sym.Book.Set(market.Side(side), l.Price, l.Qty)
			}
		}
		sym.state = stLive
		sym.Book.SetState(book.Live)
		sym.Book.Commit(s.seq0, 0, 0)
	}
	s.f.conn.LastSeq = s.seq0
}

// next returns the next update, restoring the start at the wrap.
func (s *benchStream) next(b *testing.B, i *int) []byte {
	if *i == len(s.updates) {
		b.StopTimer()
		s.restore()
		*i = 0
		b.StartTimer()
	}
	fr := s.updates[*i]
	*i++
	return fr
}

var sinkInt int64

func BenchmarkCoinbase(b *testing.B) {
	s := loadBenchStream(b)
	b.Run("decode/ours", func(b *testing.B) { benchDecode(b, s, false) })
	b.Run("decode/ours-general", func(b *testing.B) { benchDecode(b, s, true) })
	b.Run("decode/sonic-struct", func(b *testing.B) { benchBaseline(b, s, sonic.Unmarshal, false) })
	b.Run("decode/stdlib-struct", func(b *testing.B) { benchBaseline(b, s, json.Unmarshal, false) })
	b.Run("apply/ours", func(b *testing.B) { benchApply(b, s) })
	b.Run("decode+apply/ours", func(b *testing.B) { benchHandle(b, s) })
	b.Run("decode+apply/sonic-struct", func(b *testing.B) { benchBaseline(b, s, sonic.Unmarshal, true) })
	b.Run("decode+apply/stdlib-struct", func(b *testing.B) { benchBaseline(b, s, json.Unmarshal, true) })
	b.Run("snapshot/ours", func(b *testing.B) { benchSnapshot(b, s) })
}

// benchSnapshot: Feed.Handle on the real BTC-USD snapshot (5 MB, 46,000
// levels; the book keeps the best 1000 a side): cold, once per subscribe,
// but it holds up the connection's goroutine while it runs.
func benchSnapshot(b *testing.B, s *benchStream) {
	snaps, _ := snapshotFrames(b)
	fr := snaps["BTC-USD"]
	seq := setSeq(b, fr, s.seq0+1)
	b.SetBytes(int64(len(seq)))
	b.ReportAllocs()
	for b.Loop() {
		s.f.conn.LastSeq = s.seq0
		if err := s.f.Handle(seq, 0); err != nil {
			b.Fatal(err)
		}
	}
	s.restore()
}

// benchDecode: frame → events and levels at the products' exponents.
func benchDecode(b *testing.B, s *benchStream, general bool) {
	d := &s.f.dec
	b.SetBytes(s.bytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		fr := s.updates[i%len(s.updates)]
		i++
		var err error
		if general {
			err = d.general(fr)
		} else {
			err = d.decode(fr)
		}
		if err != nil || !d.m.events[0].direct {
			b.Fatal("not decoded directly", err)
		}
		for _, lv := range d.m.levels {
			sinkInt += lv.px + lv.qty
		}
	}
	b.ReportMetric(s.levels, "levels/msg")
}

// benchApply: the decoded levels of one message → book.Set each, Commit.
func benchApply(b *testing.B, s *benchStream) {
	type msg struct {
		sym    *Symbol
		seq    int64
		levels []level
	}
	msgs := make([]msg, len(s.updates))
	for k, fr := range s.updates {
		if err := s.f.dec.decode(fr); err != nil {
			b.Fatal(err)
		}
		m := &s.f.dec.m
		msgs[k] = msg{m.events[0].sym, m.seq, append([]level(nil), m.levels...)}
	}
	s.restore()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(msgs) {
			b.StopTimer()
			s.restore()
			i = 0
			b.StartTimer()
		}
		m := &msgs[i]
		i++
		bk := m.sym.Book
		for _, l := range m.levels {
			bk.Set(l.side, market.Price(l.px), market.Qty(l.qty))
		}
		bk.Commit(m.seq, 0, 0)
	}
}

// benchHandle: Feed.Handle on each message in order.
func benchHandle(b *testing.B, s *benchStream) {
	s.restore()
	applied := s.f.Symbols()[0].Updates + s.f.Symbols()[1].Updates
	b.SetBytes(s.bytes)
	b.ReportAllocs()
	i, n := 0, 0
	for b.Loop() {
		if err := s.f.Handle(s.next(b, &i), 0); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if got := s.f.Symbols()[0].Updates + s.f.Symbols()[1].Updates - applied; got != uint64(n) {
		b.Fatalf("%d of %d messages applied", got, n)
	}
}

// The baselines' message: the whole envelope as structs.
type baseMsg struct {
	Channel   string      `json:"channel"`
	ClientID  string      `json:"client_id"`
	Timestamp string      `json:"timestamp"`
	Sequence  int64       `json:"sequence_num"`
	Events    []baseEvent `json:"events"`
}

type baseEvent struct {
	Type      string      `json:"type"`
	ProductID string      `json:"product_id"`
	Updates   []baseLevel `json:"updates"`
}

type baseLevel struct {
	Side        string `json:"side"`
	EventTime   string `json:"event_time"`
	PriceLevel  string `json:"price_level"`
	NewQuantity string `json:"new_quantity"`
}

// mapBook is the naive book of the baselines.
type mapBook struct{ bids, asks map[float64]float64 }

func (mb *mapBook) apply(ev *baseEvent) error {
	for k := range ev.Updates {
		l := &ev.Updates[k]
		p, err := strconv.ParseFloat(l.PriceLevel, 64)
		if err != nil {
			return err
		}
		q, err := strconv.ParseFloat(l.NewQuantity, 64)
		if err != nil {
			return err
		}
		side := mb.bids
		if l.Side == "offer" {
			side = mb.asks
		}
		if q == 0 {
			delete(side, p)
		} else {
			side[p] = q
		}
	}
	return nil
}

func benchBaseline(b *testing.B, s *benchStream, unmarshal func([]byte, any) error, apply bool) {
	// The map books start from the levels ours start from.
	books := map[string]*mapBook{}
	for k, sym := range s.f.Symbols() {
		mb := &mapBook{map[float64]float64{}, map[float64]float64{}}
		for side, lv := range s.start[k] {
			m := mb.bids
			if side == int(market.Ask) {
				m = mb.asks
			}
			for _, l := range lv {
				p, _ := strconv.ParseFloat(sym.Inst.FormatPrice(l.Price), 64)
				q, _ := strconv.ParseFloat(sym.Inst.FormatQty(l.Qty), 64)
				m[p] = q
			}
		}
		books[sym.Name] = mb
	}
	b.SetBytes(s.bytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var m baseMsg
		if err := unmarshal(s.updates[i%len(s.updates)], &m); err != nil {
			b.Fatal(err)
		}
		i++
		if !apply {
			sinkInt += int64(len(m.Events[0].Updates))
			continue
		}
		for k := range m.Events {
			ev := &m.Events[k]
			mb := books[ev.ProductID]
			if err := mb.apply(ev); err != nil {
				b.Fatal(err)
			}
		}
	}
}
