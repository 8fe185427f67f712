package kraken

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"testing"

	"github.com/bytedance/sonic"

	"arbmm/book"
	"arbmm/internal/market"
)

// The benchmarks run over real update frames. A stream (every book update
// of a capture after its last snapshot, in order) keeps every checksum
// verifying; when it wraps, the snapshots are handled again with the timer
// stopped, so that the books are back where the stream expects them.
//
//	ours          decode (jscan → text → market.ParseFixed) and book.Book
//	sonic, stdlib baselines: sonic / encoding/json into []any or structs
//	              (json.Number for v2 so that numbers stay exact), the
//	              same market.ParseFixed, a naive map book (truncation by
//	              scanning for the worst level), no checksum
//
// Sub-benchmarks: decode (frame → fixed-point levels), apply (levels →
// book, truncate, commit), decode+apply, and handle (Handle: decode, apply,
// checksum, commit).

// stream is a capture split for benchmarks: the frames up to the last
// snapshot, and the book frames after it.
type stream struct {
	head, updates [][]byte
	bytes         int64 // average update frame size
}

func loadStream(b *testing.B, file string, v2 bool) stream {
	frames, _ := readCapture(b, file)
	last := -1
	for i, fr := range frames {
		if bytes.Contains(fr, []byte(`"as":[`)) || bytes.Contains(fr, []byte(`"type":"snapshot"`)) {
			last = i
		}
	}
	if last < 0 {
		b.Fatal("no snapshot")
	}
	s := stream{head: frames[:last+1]}
	var n int64
	for _, fr := range frames[last+1:] {
		if !v2 && bytes.HasPrefix(fr, []byte("[")) || v2 && bytes.Contains(fr, []byte(`"channel":"book"`)) {
			s.updates = append(s.updates, fr)
			n += int64(len(fr))
		}
	}
	s.bytes = n / int64(len(s.updates))
	return s
}

func (s *stream) load(b *testing.B, f *Feed) {
	for _, fr := range s.head {
		f.Handle(fr, 0)
	}
	for _, sym := range f.Symbols() {
		if sym.Book.State() != book.Live {
			b.Fatalf("%s not live after the snapshots", sym.Symbol)
		}
	}
}

// next returns the index of the next update, reloading at the wrap.
func (s *stream) next(b *testing.B, i *int, reload func()) []byte {
	if *i == len(s.updates) {
		b.StopTimer()
		reload()
		*i = 0
		b.StartTimer()
	}
	fr := s.updates[*i]
	*i++
	return fr
}

func benchFeeds(b *testing.B) []struct {
	name, file string
	cfg        Config
	v2         bool
} {
	ins := assetPairs(b)
	return []struct {
		name, file string
		cfg        Config
		v2         bool
	}{
		{"v1-book10", "kraken-v1-book10-xbtusd.jsonl", Config{Version: 1}, false},
		{"v1-book1000", "kraken-v1-book1000-10pairs.jsonl", Config{Version: 1}, false},
		{"v2-book10", "kraken-v2-book10-btcusd.jsonl", Config{Version: 2, Instruments: ins}, true},
	}
}

var sinkInt int64

func BenchmarkKraken(b *testing.B) {
	for _, bf := range benchFeeds(b) {
		b.Run(bf.name, func(b *testing.B) {
			s := loadStream(b, bf.file, bf.v2)
			b.Run("decode/ours", func(b *testing.B) { benchDecode(b, s, bf.cfg) })
			b.Run("apply/ours", func(b *testing.B) { benchApply(b, s, bf.cfg) })
			b.Run("decode+apply/ours", func(b *testing.B) { benchDecodeApply(b, s, bf.cfg) })
			b.Run("handle/ours", func(b *testing.B) { benchHandle(b, s, bf.cfg) })
			if bf.v2 {
				b.Run("decode/sonic-struct", func(b *testing.B) { benchBaseline(b, s, bf.cfg, sonicV2Struct, false) })
				b.Run("decode/sonic-any", func(b *testing.B) { benchBaseline(b, s, bf.cfg, sonicV2Any, false) })
				b.Run("decode/stdlib-struct", func(b *testing.B) { benchBaseline(b, s, bf.cfg, stdV2Struct, false) })
				b.Run("decode+apply/sonic-struct", func(b *testing.B) { benchBaseline(b, s, bf.cfg, sonicV2Struct, true) })
				b.Run("decode+apply/stdlib-struct", func(b *testing.B) { benchBaseline(b, s, bf.cfg, stdV2Struct, true) })
			} else {
				b.Run("decode/sonic-any", func(b *testing.B) { benchBaseline(b, s, bf.cfg, sonicV1Any, false) })
				b.Run("decode/stdlib-any", func(b *testing.B) { benchBaseline(b, s, bf.cfg, stdV1Any, false) })
				b.Run("decode+apply/sonic-any", func(b *testing.B) { benchBaseline(b, s, bf.cfg, sonicV1Any, true) })
				b.Run("decode+apply/stdlib-any", func(b *testing.B) { benchBaseline(b, s, bf.cfg, stdV1Any, true) })
			}
		})
	}
}

// benchDecode: frame → message → levels at the pair's exponents.
func benchDecode(b *testing.B, s stream, cfg Config) {
	f := newFeed(b, cfg)
	s.load(b, f)
	b.SetBytes(s.bytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		fr := s.updates[i%len(s.updates)]
		i++
		if err := f.decodeOnly(fr); err != nil {
			b.Fatal(err)
		}
		sinkInt += int64(len(f.conv[0]) + len(f.conv[1]))
	}
}

// decodeOnly decodes fr and scans its levels at the pair's exponents into
// f.conv, without touching the book.
func (f *Feed) decodeOnly(fr []byte) error {
	var err error
	if f.v2 {
		err = f.dec.decodeV2(fr)
	} else {
		err = f.dec.decodeV1(fr)
	}
	if err != nil {
		return err
	}
	m := &f.dec.m
	for i := range m.entries {
		e := &m.entries[i]
		sym := f.find(e.sym)
		if sym == nil {
			return ErrUnknownSymbol
		}
		if err := m.convert(e, sym.PriceExp, sym.QtyExp, &f.conv); err != nil {
			return err
		}
	}
	return nil
}

// applyMsg is one decoded update, ready to apply.
type applyMsg struct {
	sym    *Symbol
	levels [2][]book.Level
}

// benchApply: levels → Set, Truncate, Commit (no decode, no checksum).
func benchApply(b *testing.B, s stream, cfg Config) {
	f := newFeed(b, cfg)
	s.load(b, f)
	msgs := make([]applyMsg, 0, len(s.updates))
	for _, fr := range s.updates {
		if err := f.decodeOnly(fr); err != nil {
			b.Fatal(err)
		}
		m := &f.dec.m
		for i := range m.entries {
			e := &m.entries[i]
			sym := f.find(e.sym)
			m.convert(e, sym.PriceExp, sym.QtyExp, &f.conv)
			msgs = append(msgs, applyMsg{sym, [2][]book.Level{append([]book.Level(nil), f.conv[0]...), append([]book.Level(nil), f.conv[1]...)}})
		}
	}
	b.SetBytes(s.bytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(msgs) {
			b.StopTimer()
			s.load(b, f)
			i = 0
			b.StartTimer()
		}
		m := &msgs[i]
		i++
		bk := m.sym.Book
		for side := range m.levels {
			for _, l := range m.levels[side] {
				bk.Set(market.Side(side), l.Price, l.Qty)
			}
		}
		bk.Truncate(m.sym.Depth)
		bk.Commit(int64(i), 0, 0)
	}
}

// benchDecodeApply: decode and apply without the checksum, the work the
// baselines do.
func benchDecodeApply(b *testing.B, s stream, cfg Config) {
	f := newFeed(b, cfg)
	s.load(b, f)
	b.SetBytes(s.bytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		fr := s.next(b, &i, func() { s.load(b, f) })
		if err := f.decodeOnly(fr); err != nil {
			b.Fatal(err)
		}
		sym := f.find(f.dec.m.entries[0].sym)
		bk := sym.Book
		for side := range f.conv {
			for _, l := range f.conv[side] {
				bk.Set(market.Side(side), l.Price, l.Qty)
			}
		}
		bk.Truncate(sym.Depth)
		bk.Commit(int64(i), 0, 0)
	}
}

// benchHandle: Handle, the whole path including the checksum.
func benchHandle(b *testing.B, s stream, cfg Config) {
	f := newFeed(b, cfg)
	s.load(b, f)
	b.SetBytes(s.bytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		fr := s.next(b, &i, func() { s.load(b, f) })
		if err := f.Handle(fr, 0); err != nil {
			b.Fatalf("update %d: %v", i-1, err)
		}
	}
	b.StopTimer()
	if _, fail := checksums(f); fail != 0 {
		b.Fatalf("%d checksum failures", fail)
	}
}

// ---- baselines ----------------------------------------------------------

// naiveBook is the baseline book: a map per side, truncated by repeatedly
// scanning for the worst level.
type naiveBook struct {
	side  [2]map[int64]int64
	depth int
}

func (nb *naiveBook) set(side int, px, q int64) {
	if q == 0 {
		delete(nb.side[side], px)
	} else {
		nb.side[side][px] = q
	}
}

func (nb *naiveBook) truncate() {
	for side, m := range nb.side {
		for len(m) > nb.depth {
			var worst int64
			first := true
			for px := range m {
				if first || (side == int(market.Bid) && px < worst) || (side == int(market.Ask) && px > worst) {
					worst, first = px, false
				}
			}
			delete(m, worst)
		}
	}
}

// baseLevel is a level the baselines decoded.
type baseLevel struct {
	side    int
	px, qty int64
}

// baselineDecoder decodes one frame into the pair name and levels.
type baselineDecoder func(fr []byte, exps func(sym string) (int, int), out []baseLevel) (string, []baseLevel, error)

func benchBaseline(b *testing.B, s stream, cfg Config, dec baselineDecoder, apply bool) {
	f := newFeed(b, cfg)
	s.load(b, f)
	books := map[string]*naiveBook{}
	exps := map[string][2]int{}
	reload := func() {
		for _, sym := range f.Symbols() {
			nb := &naiveBook{depth: sym.Depth, side: [2]map[int64]int64{{}, {}}}
			for side := range nb.side {
				for i := range sym.Book.Depth(market.Side(side)) {
					l := sym.Book.Level(market.Side(side), i)
					nb.side[side][int64(l.Price)] = int64(l.Qty)
				}
			}
			books[sym.Symbol] = nb
			exps[sym.Symbol] = [2]int{sym.PriceExp, sym.QtyExp}
		}
	}
	reload()
	expf := func(sym string) (int, int) { e := exps[sym]; return e[0], e[1] }
	var lv []baseLevel
	b.SetBytes(s.bytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var fr []byte
		if apply {
			fr = s.next(b, &i, reload)
		} else {
			fr = s.updates[i%len(s.updates)]
			i++
		}
		sym, out, err := dec(fr, expf, lv[:0])
		if err != nil {
			b.Fatal(err)
		}
		lv = out
		if apply {
			nb := books[sym]
			for _, l := range lv {
				nb.set(l.side, l.px, l.qty)
			}
			nb.truncate()
		}
		sinkInt += int64(len(lv))
	}
}

var sonicUseNumber = sonic.Config{UseNumber: true}.Froze()

func sonicV1Any(fr []byte, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	var v []any
	if err := sonic.Unmarshal(fr, &v); err != nil {
		return "", nil, err
	}
	return walkV1Any(v, exps, out)
}

func stdV1Any(fr []byte, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	var v []any
	if err := json.Unmarshal(fr, &v); err != nil {
		return "", nil, err
	}
	return walkV1Any(v, exps, out)
}

func walkV1Any(v []any, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	if len(v) < 4 {
		return "", nil, errShape
	}
	sym, _ := v[len(v)-1].(string)
	pe, qe := exps(sym)
	for _, o := range v[1 : len(v)-2] {
		obj, _ := o.(map[string]any)
		for k, list := range obj {
			side := int(market.Bid)
			switch k {
			case "a", "as":
				side = int(market.Ask)
			case "b", "bs":
			default:
				continue
			}
			for _, l := range list.([]any) {
				lv := l.([]any)
				px, err := market.ParseFixed([]byte(lv[0].(string)), pe)
				if err != nil {
					return "", nil, err
				}
				q, err := market.ParseFixed([]byte(lv[1].(string)), qe)
				if err != nil {
					return "", nil, err
				}
				out = append(out, baseLevel{side, px, q})
			}
		}
	}
	return sym, out, nil
}

type baseV2Level struct {
	Price json.Number `json:"price"`
	Qty   json.Number `json:"qty"`
}

type baseV2Msg struct {
	Channel string `json:"channel"`
	Type    string `json:"type"`
	Data    []struct {
		Symbol    string        `json:"symbol"`
		Bids      []baseV2Level `json:"bids"`
		Asks      []baseV2Level `json:"asks"`
		Checksum  uint32        `json:"checksum"`
		Timestamp string        `json:"timestamp"`
	} `json:"data"`
}

func sonicV2Struct(fr []byte, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	var m baseV2Msg
	if err := sonic.Unmarshal(fr, &m); err != nil {
		return "", nil, err
	}
	return walkV2Struct(&m, exps, out)
}

func stdV2Struct(fr []byte, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	var m baseV2Msg
	if err := json.Unmarshal(fr, &m); err != nil {
		return "", nil, err
	}
	return walkV2Struct(&m, exps, out)
}

func walkV2Struct(m *baseV2Msg, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	sym := ""
	for _, d := range m.Data {
		sym = d.Symbol
		pe, qe := exps(sym)
		for side, list := range [2][]baseV2Level{d.Bids, d.Asks} {
			for _, l := range list {
				px, err := market.ParseFixed([]byte(l.Price), pe)
				if err != nil {
					return "", nil, err
				}
				q, err := market.ParseFixed([]byte(l.Qty), qe)
				if err != nil {
					return "", nil, err
				}
				out = append(out, baseLevel{side, px, q})
			}
		}
	}
	return sym, out, nil
}

func sonicV2Any(fr []byte, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	var v map[string]any
	if err := sonicUseNumber.Unmarshal(fr, &v); err != nil {
		return "", nil, err
	}
	sym := ""
	for _, d := range v["data"].([]any) {
		dm := d.(map[string]any)
		sym = dm["symbol"].(string)
		pe, qe := exps(sym)
		for side, key := range [2]string{"bids", "asks"} {
			list, _ := dm[key].([]any)
			for _, l := range list {
				lm := l.(map[string]any)
				px, err := market.ParseFixed([]byte(lm["price"].(json.Number)), pe)
				if err != nil {
					return "", nil, err
				}
				q, err := market.ParseFixed([]byte(lm["qty"].(json.Number)), qe)
				if err != nil {
					return "", nil, err
				}
				out = append(out, baseLevel{side, px, q})
			}
		}
	}
	return sym, out, nil
}

// BenchmarkChecksum: the checksum of a 10-level-a-side book, rendering all
// 40 numbers (render) or copying the text of levels unchanged since the
// previous checksum (cached, the common case after a one-level update; the
// handle benchmarks measure the mix on real streams).
func BenchmarkChecksum(b *testing.B) {
	frames, recv := readCapture(b, "kraken-v1-book10-xbtusd.jsonl")
	f := newFeed(b, Config{Version: 1})
	replay(b, f, frames, recv)
	sym := f.Symbols()[0]
	n := int64(len(f.AppendChecksumString(nil, sym)))
	b.Run("render", func(b *testing.B) {
		buf := make([]byte, 0, checksumCap)
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			buf = f.AppendChecksumString(buf[:0], sym)
			sinkInt += int64(crc32.ChecksumIEEE(buf))
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			c, _ := f.checksum(sym)
			sinkInt += int64(c)
		}
	})
}
