package okx

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"testing"

	"github.com/bytedance/sonic"

	"arbmm/book"
	"arbmm/internal/market"
)

// The benchmarks run over the real update frames of the capture, with
// OKX's sequence fields added (sequenced), in order: all three instruments
// (~1.1 KB and ~28 levels a message on average), BTC-USDT alone (large
// messages: ~1.3 KB, ~43 levels) and UNI-USD-SWAP alone (small: ~350 B,
// ~7 levels). When a stream wraps, its snapshots are handled again with
// the timer stopped, so the books are where the stream expects them and
// the seqId chain restarts.
//
//	ours            jscan cursor + OKX level loop → fixed point; book.Book
//	sonic, stdlib   baselines: sonic / encoding/json into structs or
//	                map[string]any (UseNumber), the same market.ParseFixed,
//	                and a naive map book; no sequence check, no checksum
//
// Sub-benchmarks: decode (frame → fixed-point levels), apply (levels →
// book, truncate, commit), decode+apply, and handle (Handle: decode,
// sequence check, apply, checksum, commit).

type benchStream struct {
	head, updates [][]byte
	bytes         int64 // average update frame size
	levels        float64
}

func loadBenchStream(b *testing.B, inst string) benchStream {
	frames, _ := readCapture(b, captureFile)
	frames, _ = sequenced(frames, false)
	last := -1
	for i, fr := range frames {
		if isBook(fr) && bytes.Contains(fr, []byte(`"action":"snapshot"`)) {
			last = i
		}
	}
	s := benchStream{head: frames[:last+1]}
	var n, lv int64
	for _, fr := range frames[last+1:] {
		if isBook(fr) && (inst == "" || instOf(fr) == inst) {
			s.updates = append(s.updates, fr)
			n += int64(len(fr))
			lv += int64(bytes.Count(fr, []byte(`],[`)) + 2)
		}
	}
	s.bytes = n / int64(len(s.updates))
	s.levels = float64(lv) / float64(len(s.updates))
	return s
}

func (s *benchStream) load(b *testing.B, f *Feed) {
	for _, fr := range s.head {
		f.Handle(fr, 0)
	}
	for _, sym := range f.Symbols() {
		if sym.Book.State() != book.Live {
			b.Fatalf("%s not live after the snapshots", sym.Name)
		}
	}
}

// next returns the next update, reloading the snapshots at the wrap.
func (s *benchStream) next(b *testing.B, i *int, reload func()) []byte {
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

var sinkInt int64

func BenchmarkOKX(b *testing.B) {
	for _, st := range []struct{ name, inst string }{{"all", ""}, {"btcusdt", "BTC-USDT"}, {"uniswap", "UNI-USD-SWAP"}} {
		b.Run(st.name, func(b *testing.B) {
			s := loadBenchStream(b, st.inst)
			cfg := Config{Instruments: instruments(b)}
			b.Run("decode/ours", func(b *testing.B) { benchDecode(b, s, cfg) })
			b.Run("apply/ours", func(b *testing.B) { benchApply(b, s, cfg) })
			b.Run("decode+apply/ours", func(b *testing.B) { benchDecodeApply(b, s, cfg) })
			b.Run("handle/ours", func(b *testing.B) { benchHandle(b, s, cfg) })
			b.Run("decode/sonic-struct", func(b *testing.B) { benchBaseline(b, s, cfg, sonicStruct, false) })
			b.Run("decode/sonic-any", func(b *testing.B) { benchBaseline(b, s, cfg, sonicAny, false) })
			b.Run("decode/stdlib-struct", func(b *testing.B) { benchBaseline(b, s, cfg, stdStruct, false) })
			b.Run("decode/stdlib-any", func(b *testing.B) { benchBaseline(b, s, cfg, stdAny, false) })
			b.Run("decode+apply/sonic-struct", func(b *testing.B) { benchBaseline(b, s, cfg, sonicStruct, true) })
			b.Run("decode+apply/sonic-any", func(b *testing.B) { benchBaseline(b, s, cfg, sonicAny, true) })
			b.Run("decode+apply/stdlib-struct", func(b *testing.B) { benchBaseline(b, s, cfg, stdStruct, true) })
			b.Run("decode+apply/stdlib-any", func(b *testing.B) { benchBaseline(b, s, cfg, stdAny, true) })
		})
	}
}

// benchDecode: frame → message with fixed-point levels (the instrument is
// known, so levels scan in place, as on the live path).
func benchDecode(b *testing.B, s benchStream, cfg Config) {
	f := newFeed(b, cfg)
	s.load(b, f)
	b.SetBytes(s.bytes)
	b.ReportAllocs()
	b.ReportMetric(s.levels, "levels/msg")
	i := 0
	for b.Loop() {
		fr := s.updates[i%len(s.updates)]
		i++
		if err := f.dec.decode(fr); err != nil || !f.dec.m.decoded {
			b.Fatalf("decode: %v", err)
		}
		sinkInt += int64(len(f.dec.m.levels[0]) + len(f.dec.m.levels[1]))
	}
}

// applyMsg is one decoded update, ready to apply.
type applyMsg struct {
	sym    *Symbol
	levels [2][]level
}

// benchApply: levels → Set, Truncate, Commit (no decode, no checksum).
func benchApply(b *testing.B, s benchStream, cfg Config) {
	f := newFeed(b, cfg)
	s.load(b, f)
	msgs := make([]applyMsg, 0, len(s.updates))
	for _, fr := range s.updates {
		if err := f.dec.decode(fr); err != nil {
			b.Fatal(err)
		}
		m := &f.dec.m
		msgs = append(msgs, applyMsg{m.sym, [2][]level{append([]level(nil), m.levels[0]...), append([]level(nil), m.levels[1]...)}})
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
				bk.Set(market.Side(side), market.Price(l.px), market.Qty(l.qty))
			}
		}
		bk.Truncate(m.sym.Depth)
		bk.Commit(int64(i), 0, 0)
	}
}

// benchDecodeApply: decode and apply without the sequence check and the
// checksum: the work the baselines do.
func benchDecodeApply(b *testing.B, s benchStream, cfg Config) {
	f := newFeed(b, cfg)
	s.load(b, f)
	b.SetBytes(s.bytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		fr := s.next(b, &i, func() { s.load(b, f) })
		if err := f.dec.decode(fr); err != nil {
			b.Fatal(err)
		}
		sym := f.dec.m.sym
		f.setLevels(sym)
		sym.Book.Truncate(sym.Depth)
		sym.Book.Commit(int64(i), 0, 0)
	}
}

// benchHandle: Handle, the whole path.
func benchHandle(b *testing.B, s benchStream, cfg Config) {
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
	for _, sym := range f.Symbols() {
		if sym.ChecksumFail != 0 || sym.SeqGaps != 0 {
			b.Fatalf("%s: %d checksum failures, %d gaps", sym.Name, sym.ChecksumFail, sym.SeqGaps)
		}
	}
}

// ---- baselines ----------------------------------------------------------

// naiveBook is the baseline book: a map per side (OKX sends the deletes of
// levels leaving its 400, so no truncation).
type naiveBook struct{ side [2]map[int64]int64 }

func (nb *naiveBook) set(side int, px, q int64) {
	if q == 0 {
		delete(nb.side[side], px)
	} else {
		nb.side[side][px] = q
	}
}

// baseLevel is a level a baseline decoded.
type baseLevel struct {
	side    int
	px, qty int64
}

// baselineDecoder decodes one frame into the instId and its levels.
type baselineDecoder func(fr []byte, exps func(inst string) (int, int), out []baseLevel) (string, []baseLevel, error)

func benchBaseline(b *testing.B, s benchStream, cfg Config, dec baselineDecoder, apply bool) {
	f := newFeed(b, cfg)
	s.load(b, f)
	books := map[string]*naiveBook{}
	exps := map[string][2]int{}
	reload := func() {
		for _, sym := range f.Symbols() {
			nb := &naiveBook{side: [2]map[int64]int64{{}, {}}}
			for side := range nb.side {
				for i := range sym.Book.Depth(market.Side(side)) {
					l := sym.Book.Level(market.Side(side), i)
					nb.side[side][int64(l.Price)] = int64(l.Qty)
				}
			}
			books[sym.Name] = nb
			exps[sym.Name] = [2]int{sym.Inst.PriceExp, sym.Inst.QtyExp}
		}
	}
	reload()
	expf := func(inst string) (int, int) { e := exps[inst]; return e[0], e[1] }
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
		inst, out, err := dec(fr, expf, lv[:0])
		if err != nil {
			b.Fatal(err)
		}
		lv = out
		if apply {
			nb := books[inst]
			for _, l := range lv {
				nb.set(l.side, l.px, l.qty)
			}
		}
		sinkInt += int64(len(lv))
	}
}

type baseMsg struct {
	Arg struct {
		Channel string `json:"channel"`
		InstID  string `json:"instId"`
	} `json:"arg"`
	Action string `json:"action"`
	Data   []struct {
		Asks      [][]string `json:"asks"`
		Bids      [][]string `json:"bids"`
		Ts        string     `json:"ts"`
		Checksum  int32      `json:"checksum"`
		SeqID     int64      `json:"seqId"`
		PrevSeqID int64      `json:"prevSeqId"`
	} `json:"data"`
}

func sonicStruct(fr []byte, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	var m baseMsg
	if err := sonic.Unmarshal(fr, &m); err != nil {
		return "", nil, err
	}
	return walkStruct(&m, exps, out)
}

func stdStruct(fr []byte, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	var m baseMsg
	if err := json.Unmarshal(fr, &m); err != nil {
		return "", nil, err
	}
	return walkStruct(&m, exps, out)
}

func walkStruct(m *baseMsg, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	pe, qe := exps(m.Arg.InstID)
	for _, d := range m.Data {
		for side, list := range [2][][]string{d.Bids, d.Asks} {
			for _, l := range list {
				px, err := market.ParseFixed([]byte(l[0]), pe)
				if err != nil {
					return "", nil, err
				}
				q, err := market.ParseFixed([]byte(l[1]), qe)
				if err != nil {
					return "", nil, err
				}
				out = append(out, baseLevel{side, px, q})
			}
		}
	}
	return m.Arg.InstID, out, nil
}

var sonicUseNumber = sonic.Config{UseNumber: true}.Froze()

func sonicAny(fr []byte, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	var v map[string]any
	if err := sonicUseNumber.Unmarshal(fr, &v); err != nil {
		return "", nil, err
	}
	return walkAny(v, exps, out)
}

func stdAny(fr []byte, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	var v map[string]any
	d := json.NewDecoder(bytes.NewReader(fr))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", nil, err
	}
	return walkAny(v, exps, out)
}

func walkAny(v map[string]any, exps func(string) (int, int), out []baseLevel) (string, []baseLevel, error) {
	inst := v["arg"].(map[string]any)["instId"].(string)
	pe, qe := exps(inst)
	for _, d := range v["data"].([]any) {
		dm := d.(map[string]any)
		for side, key := range [2]string{"bids", "asks"} {
			list, _ := dm[key].([]any)
			for _, l := range list {
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
	return inst, out, nil
}

// BenchmarkChecksum: OKX's checksum of BTC-USDT's book at the end of the
// capture (25 levels a side, ~700 B of text), rendering all 100 numbers
// (render) or copying the text of levels unchanged since the previous
// checksum (cached: here all of them; the handle benchmarks measure the
// mix on the real stream).
func BenchmarkChecksum(b *testing.B) {
	frames, recv := readCapture(b, captureFile)
	f := newFeed(b, Config{Instruments: instruments(b)})
	replay(b, f, frames, recv)
	sym := symbol(b, f, "BTC-USDT")
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
			sinkInt += int64(f.checksum(sym))
		}
	})
}
