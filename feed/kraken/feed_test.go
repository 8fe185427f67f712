package kraken

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/market"
)

// record is one line of a capture file (see testdata/README.md).
type record struct {
	T    string  `json:"t"`
	Ts   float64 `json:"ts"`
	Data string  `json:"data"`
}

// readCapture returns the frames received in a capture, in order, with
// their receive times in Unix ns. A missing file fails the test.
func readCapture(tb testing.TB, name string) (frames [][]byte, recv []int64) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatalf("capture: %v", err)
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r record
		if err := json.Unmarshal(line, &r); err != nil {
			tb.Fatalf("%s:%d: %v", name, i+1, err)
		}
		if r.T == "recv" {
			frames = append(frames, []byte(r.Data))
			recv = append(recv, int64(r.Ts*1e9))
		}
	}
	if len(frames) == 0 {
		tb.Fatalf("%s: no frames", name)
	}
	return frames, recv
}

// vector is one line of kraken-v2-vectors.jsonl; messages keep their exact
// wire text.
type vector struct {
	ID             string            `json:"id"`
	PricePrecision int               `json:"price_precision"`
	QtyPrecision   int               `json:"qty_precision"`
	Depth          int               `json:"depth"`
	Messages       []json.RawMessage `json:"messages"`
	ExpectedString string            `json:"expected_string"`
}

func readVectors(tb testing.TB) []vector {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "kraken-v2-vectors.jsonl"))
	if err != nil {
		tb.Fatalf("vectors: %v", err)
	}
	var out []vector
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var v vector
		if err := json.Unmarshal(line, &v); err != nil {
			tb.Fatalf("vectors: %v", err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		tb.Fatal("vectors: none")
	}
	return out
}

func assetPairs(tb testing.TB) []market.Instrument {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "kraken-assetpairs-subset.json"))
	if err != nil {
		tb.Fatalf("asset pairs: %v", err)
	}
	ins, err := ParseAssetPairs(data)
	if err != nil {
		tb.Fatalf("ParseAssetPairs: %v", err)
	}
	return ins
}

func newFeed(tb testing.TB, cfg Config) *Feed {
	tb.Helper()
	f, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return f
}

// replay hands every frame to f and fails on any error.
func replay(tb testing.TB, f *Feed, frames [][]byte, recv []int64) {
	tb.Helper()
	for i, fr := range frames {
		if err := f.Handle(fr, recv[i]); err != nil {
			cause, pos := f.LastError()
			tb.Fatalf("frame %d: %v (cause %v at %d): %.200s", i, err, cause, pos, fr)
		}
	}
}

// checksums sums the verified and failed checksums over f's books.
func checksums(f *Feed) (ok, fail uint64) {
	for _, s := range f.Symbols() {
		st := s.Book.Stats()
		ok += st.ChecksumOK
		fail += st.ChecksumFail
	}
	return ok, fail
}

func symbol(tb testing.TB, f *Feed, name string) *Symbol {
	tb.Helper()
	for _, s := range f.Symbols() {
		if s.Symbol == name {
			return s
		}
	}
	tb.Fatalf("no symbol %s", name)
	return nil
}

// TestCaptures replays each real capture and requires every checksum Kraken
// sent to verify, the exact counts from the fixtures' README.
func TestCaptures(t *testing.T) {
	ins := assetPairs(t)
	tests := []struct {
		name    string
		file    string
		cfg     Config
		wantOK  uint64
		pairs   int
		ignored uint64 // events
	}{
		{"v1 book1000", "kraken-v1-book1000-10pairs.jsonl", Config{Version: 1}, 4269, 10, 42},
		{"v1 book1000 instruments", "kraken-v1-book1000-10pairs.jsonl", Config{Version: 1, Instruments: ins}, 4269, 10, 42},
		{"v1 book10", "kraken-v1-book10-xbtusd.jsonl", Config{Version: 1}, 979, 1, 170},
		{"v1 book10 instruments", "kraken-v1-book10-xbtusd.jsonl", Config{Version: 1, Instruments: ins}, 979, 1, 170},
		{"v2 book10", "kraken-v2-book10-btcusd.jsonl", Config{Version: 2, Depth: 10, Instruments: ins}, 510, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames, recv := readCapture(t, tc.file)
			f := newFeed(t, tc.cfg)
			seen := map[*Symbol]uint64{}
			cached := 0
			for i, fr := range frames {
				if err := f.Handle(fr, recv[i]); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				// The checksum just verified was built partly from the
				// previous string; it must equal a full render.
				for _, s := range f.Symbols() {
					if s.Frames != seen[s] && s.cs.valid {
						if want := f.AppendChecksumString(nil, s); !bytes.Equal(s.cs.text, want) {
							t.Fatalf("frame %d: cached checksum string\n%s\nwant\n%s", i, s.cs.text, want)
						}
						cached++
					}
					seen[s] = s.Frames
				}
			}
			if cached < int(tc.wantOK)-len(f.Symbols()) {
				t.Errorf("cached checksum strings compared %d times, want about %d", cached, tc.wantOK)
			}
			ok, fail := checksums(f)
			if ok != tc.wantOK || fail != 0 {
				t.Errorf("checksums verified %d, failed %d; want %d of %d", ok, fail, tc.wantOK, tc.wantOK)
			}
			if n := len(f.Symbols()); n != tc.pairs {
				t.Errorf("pairs %d, want %d", n, tc.pairs)
			}
			want := feed.CounterValues{Frames: uint64(len(frames)), Ignored: tc.ignored}
			for _, fr := range frames {
				want.Bytes += uint64(len(fr))
			}
			if got := f.Counters().Load(); got != want {
				t.Errorf("counters %+v, want %+v", got, want)
			}
			for _, s := range f.Symbols() {
				if st := s.Book.State(); st != book.Live {
					t.Errorf("%s: state %v, want live", s.Symbol, st)
				}
				if st := s.Book.Stats(); st.Resyncs != 0 || st.Crossed != 0 {
					t.Errorf("%s: %d resyncs, %d crossed, want 0", s.Symbol, st.Resyncs, st.Crossed)
				}
			}
			if got := f.TakeResubscribe(nil); len(got) != 0 {
				t.Errorf("resubscribe requests %v, want none", got)
			}
		})
	}
}

// TestV1Exponents pins what the v1 feed learns about a pair: without
// instruments the book stores at the wire decimals; with them at the
// instrument's exponents, while the checksum renders at the wire decimals.
func TestV1Exponents(t *testing.T) {
	frames, recv := readCapture(t, "kraken-v1-book10-xbtusd.jsonl")
	f := newFeed(t, Config{Version: 1})
	replay(t, f, frames, recv)
	s := symbol(t, f, "XBT/USD")
	if s.PriceExp != 5 || s.QtyExp != 8 || s.PriceDec != 5 || s.QtyDec != 8 || s.Depth != 10 {
		t.Errorf("exp %d/%d dec %d/%d depth %d, want 5/8 5/8 10", s.PriceExp, s.QtyExp, s.PriceDec, s.QtyDec, s.Depth)
	}
	if s.Pair != (market.Pair{Base: "BTC", Quote: "USD"}) || s.Instrument != nil {
		t.Errorf("pair %v instrument %v, want BTC/USD, nil", s.Pair, s.Instrument)
	}
	if s.Frames != 980 {
		t.Errorf("frames %d, want 980", s.Frames)
	}

	g := newFeed(t, Config{Version: 1, Instruments: assetPairs(t)})
	replay(t, g, frames, recv)
	si := symbol(t, g, "XBT/USD")
	if si.PriceExp != 1 || si.QtyExp != 8 || si.PriceDec != 5 || si.QtyDec != 8 || si.Instrument == nil {
		t.Errorf("exp %d/%d dec %d/%d, want 1/8 5/8 with instrument", si.PriceExp, si.QtyExp, si.PriceDec, si.QtyDec)
	}
	// Same book, different exponents: prices differ by 10^4 exactly.
	for i := range 10 {
		a, b := s.Book.Level(market.Bid, i), si.Book.Level(market.Bid, i)
		if a.Price != b.Price*10000 || a.Qty != b.Qty {
			t.Fatalf("bid %d: %v at exp 5, %v at exp 1", i, a, b)
		}
	}
	if a, b := f.AppendChecksumString(nil, s), g.AppendChecksumString(nil, si); !bytes.Equal(a, b) {
		t.Errorf("checksum strings differ:\n%s\n%s", a, b)
	}
}

// TestV2Vectors replays Kraken's documented example and the ETH/USD stream:
// every checksum matches, and the string after the docs' snapshot is the
// documented one.
func TestV2Vectors(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			var head struct {
				Data []struct {
					Symbol string `json:"symbol"`
				} `json:"data"`
			}
			if err := json.Unmarshal(v.Messages[0], &head); err != nil || len(head.Data) == 0 {
				t.Fatalf("first message: %v", err)
			}
			name := head.Data[0].Symbol
			pair, err := market.ParsePair(name)
			if err != nil {
				t.Fatal(err)
			}
			in := market.Instrument{Venue: market.Kraken, Symbol: name, Pair: pair, PriceExp: v.PricePrecision, QtyExp: v.QtyPrecision}
			f := newFeed(t, Config{Version: 2, Depth: v.Depth, Instruments: []market.Instrument{in}})
			for i, msg := range v.Messages {
				if err := f.Handle(msg, 0); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if i == 0 && v.ExpectedString != "" {
					got := f.AppendChecksumString(nil, symbol(t, f, name))
					if string(got) != v.ExpectedString {
						t.Errorf("checksum string\n got %s\nwant %s", got, v.ExpectedString)
					}
				}
			}
			ok, fail := checksums(f)
			if ok != uint64(len(v.Messages)) || fail != 0 {
				t.Errorf("checksums verified %d, failed %d; want %d of %d", ok, fail, len(v.Messages), len(v.Messages))
			}
			if st := symbol(t, f, name).Book.State(); st != book.Live {
				t.Errorf("state %v, want live", st)
			}
		})
	}
}

// corruptQty changes the first significant digit of the first non-zero
// quantity in a v1 (["27130.2","0.01237956","1693415479.75"]) or v2
// ("qty":0.01237956) book update frame, and reports whether it found one.
func corruptQty(frame []byte, v2 bool) ([]byte, bool) {
	out := slices.Clone(frame)
	start, sep := []byte(`"qty":`), []byte(nil)
	if !v2 {
		start, sep = []byte(`["`), []byte(`","`) // a level, then price text ends
	}
	for i := 0; ; {
		j := bytes.Index(out[i:], start)
		if j < 0 {
			return nil, false
		}
		k := i + j + len(start)
		i = k
		if !v2 {
			e := bytes.Index(out[k:], sep)
			if e < 0 {
				return nil, false
			}
			k += e + len(sep)
		}
		for ; k < len(out) && (out[k] == '0' || out[k] == '.'); k++ {
		}
		if k < len(out) && out[k] >= '1' && out[k] <= '9' {
			if out[k] == '9' {
				out[k] = '1'
			} else {
				out[k]++
			}
			return out, true
		}
	}
}

// corruptUpdate returns the first update frame at or after from that
// carries a checksum and a non-zero quantity, corrupted by corruptQty.
func corruptUpdate(tb testing.TB, frames [][]byte, from int, v2 bool) (int, []byte) {
	tb.Helper()
	for i := from; i < len(frames); i++ {
		fr := frames[i]
		if v2 && !bytes.Contains(fr, []byte(`"type":"update"`)) || !v2 && !bytes.Contains(fr, []byte(`"c":"`)) {
			continue
		}
		if out, ok := corruptQty(fr, v2); ok {
			return i, out
		}
	}
	tb.Fatal("no update frame to corrupt")
	return 0, nil
}

// TestCorruptedLevel flips a digit of one level's quantity in a real update:
// the mismatch is counted, the book goes Stale, updates are dropped, a
// resubscribe is requested once, and the next snapshot makes the book Live.
func TestCorruptedLevel(t *testing.T) {
	for _, tc := range []struct {
		name, file, sym string
		cfg             Config
		v2              bool
	}{
		{"v1", "kraken-v1-book10-xbtusd.jsonl", "XBT/USD", Config{Version: 1}, false},
		{"v2", "kraken-v2-book10-btcusd.jsonl", "BTC/USD", Config{Version: 2, Instruments: assetPairs(t)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, recv := readCapture(t, tc.file)
			snap := -1
			for i, fr := range frames {
				if bytes.Contains(fr, []byte(`"as":`)) || bytes.Contains(fr, []byte(`"type":"snapshot"`)) {
					snap = i
					break
				}
			}
			if snap < 0 {
				t.Fatal("no snapshot")
			}
			bad, corrupted := corruptUpdate(t, frames, snap+1+50, tc.v2)
			f := newFeed(t, tc.cfg)
			replay(t, f, frames[:bad], recv[:bad])
			s := symbol(t, f, tc.sym)
			before := s.Book.Stats()
			if s.Book.State() != book.Live {
				t.Fatalf("state %v before corruption, want live", s.Book.State())
			}

			if err := f.Handle(corrupted, recv[bad]); !errors.Is(err, ErrChecksum) {
				t.Fatalf("corrupted frame: err %v, want ErrChecksum", err)
			}
			st := s.Book.Stats()
			if st.ChecksumFail != before.ChecksumFail+1 || st.ChecksumOK != before.ChecksumOK || st.Resyncs != before.Resyncs+1 {
				t.Errorf("stats after corruption %+v, before %+v", st, before)
			}
			if s.Book.State() != book.Stale {
				t.Errorf("state %v, want stale", s.Book.State())
			}
			var top book.Top
			s.Book.Read(&top)
			if top.State != book.Stale {
				t.Errorf("published state %v, want stale", top.State)
			}
			// Later updates are dropped (no further mismatches, no second
			// request), counted Ignored.
			ign := f.Counters().Ignored.Load()
			for i := bad + 1; i < bad+20; i++ {
				if err := f.Handle(frames[i], recv[i]); err != nil {
					t.Fatalf("frame %d while stale: %v", i, err)
				}
			}
			if got := s.Book.Stats(); got.ChecksumFail != st.ChecksumFail || got.ChecksumOK != st.ChecksumOK {
				t.Errorf("updates applied while stale: %+v", got)
			}
			if f.Counters().Ignored.Load() == ign {
				t.Error("dropped updates not counted as ignored")
			}
			if got := f.TakeResubscribe(nil); !slices.Equal(got, []string{tc.sym}) {
				t.Errorf("TakeResubscribe = %v, want [%s]", got, tc.sym)
			}
			if got := f.TakeResubscribe(nil); len(got) != 0 {
				t.Errorf("second TakeResubscribe = %v, want none", got)
			}
			if r := f.Counters().Resyncs.Load(); r != 1 {
				t.Errorf("resyncs counted %d, want 1", r)
			}

			// A fresh snapshot brings it back.
			if err := f.Handle(frames[snap], recv[snap]); err != nil {
				t.Fatalf("snapshot: %v", err)
			}
			if s.Book.State() != book.Live {
				t.Errorf("state after snapshot %v, want live", s.Book.State())
			}
			s.Book.Read(&top)
			if top.State != book.Live || top.NBids != 10 || top.NAsks != 10 {
				t.Errorf("published after snapshot: state %v, %d bids, %d asks", top.State, top.NBids, top.NAsks)
			}
			// And updates are applied again: the capture continues after the
			// snapshot with matching checksums.
			ok0 := s.Book.Stats().ChecksumOK
			replay(t, f, frames[snap+1:snap+30], recv[snap+1:snap+30])
			if got := s.Book.Stats(); got.ChecksumOK <= ok0 || got.ChecksumFail != st.ChecksumFail {
				t.Errorf("after resync: %+v", got)
			}
		})
	}
}

// TestMalformedMidFrame: a frame whose second level has a bad number is
// rejected whole; the book keeps its levels but is not left Live.
func TestMalformedMidFrame(t *testing.T) {
	frames, recv := readCapture(t, "kraken-v1-book10-xbtusd.jsonl")
	f := newFeed(t, Config{Version: 1})
	replay(t, f, frames[:100], recv[:100])
	s := symbol(t, f, "XBT/USD")
	var before book.Top
	s.Book.Read(&before)

	cases := map[string]string{
		"bad number":   `[336,{"a":[["27130.20000","0.01237956","1693415479.752899"],["27131.x0000","0.5","1693415479.752996"]],"c":"1"},"book-10","XBT/USD"]`,
		"too precise":  `[336,{"b":[["27110.000001","1.0","1693415479.752899"]],"c":"1"},"book-10","XBT/USD"]`,
		"truncated":    `[336,{"a":[["27130.20000","0.01237956","1693415479.752899"],["27131.`,
		"bad checksum": `[336,{"a":[["27130.20000","0.01237956","1693415479.752899"]],"c":"x"},"book-10","XBT/USD"]`,
		"depth change": `[336,{"a":[["27130.20000","0.01237956","1693415479.752899"]],"c":"1"},"book-25","XBT/USD"]`,
	}
	for name, fr := range cases {
		t.Run(name, func(t *testing.T) {
			f.TakeResubscribe(nil)
			if err := f.Handle(frames[1], 0); err != nil { // any valid frame; then reload
				t.Fatal(err)
			}
			replay(t, f, frames[3:100], recv[3:100]) // snapshot is frame 3
			if s.Book.State() != book.Live {
				t.Fatalf("state %v, want live", s.Book.State())
			}
			dec := f.Counters().DecodeErrors.Load()
			if err := f.Handle([]byte(fr), 0); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
			if f.Counters().DecodeErrors.Load() != dec+1 {
				t.Error("decode error not counted")
			}
			if s.Book.State() != book.Stale {
				t.Errorf("state %v, want stale", s.Book.State())
			}
			var after book.Top
			s.Book.Read(&after)
			if after.Bids != before.Bids || after.Asks != before.Asks {
				t.Error("book changed by a rejected frame")
			}
			if got := f.TakeResubscribe(nil); !slices.Equal(got, []string{"XBT/USD"}) {
				t.Errorf("TakeResubscribe = %v, want [XBT/USD]", got)
			}
			if cause, _ := f.LastError(); cause == nil {
				t.Error("LastError gives no cause")
			}
		})
	}
}

// TestClassify checks how frames that are not book data are counted.
func TestClassify(t *testing.T) {
	ins := assetPairs(t)
	type want struct {
		err                         error
		ignored, unknown, decodeErr uint64
	}
	v1 := map[string]want{
		`{"event":"heartbeat"}`: {nil, 1, 0, 0},
		`{"connectionID":1,"event":"systemStatus","status":"online","version":"1.9.1"}`:                                        {nil, 1, 0, 0},
		`[0,[["5541.20000","0.15850568","1534614057.321597","s","l",""]],"trade","XBT/USD"]`:                                   {nil, 1, 0, 0},
		`[340,{"a":["5525.40000",1,"1.000"],"b":["5525.10000",1,"1.000"],"c":["5525.10000","0.00398963"]},"ticker","XBT/USD"]`: {nil, 1, 0, 0},
		`[1,{"a":[["1.0","1.0","1.0"]]},"book-10","DOGE/ZZZ"]`:                                                                 {ErrUnknownSymbol, 0, 1, 0},
		`{"status":"ok"}`: {ErrMalformed, 0, 0, 1},
		`[1,{"a":[["1.0","1.0"]]},"book-10","XBT/USD"]`:               {ErrMalformed, 0, 0, 1},
		`[1,{"a":[],"as":[]},"book-10","XBT/USD"]`:                    {ErrMalformed, 0, 0, 1},
		`[1,{"a":[],"a":[]},"book-10","XBT/USD"]`:                     {ErrMalformed, 0, 0, 1},
		`[1,{"a":[]},"book-0","XBT/USD"]`:                             {ErrMalformed, 0, 0, 1},
		`[1,{"a":[]},"book-1001","XBT/USD"]`:                          {ErrMalformed, 0, 0, 1},
		`[1,{"a":[]},"book","XBT/USD"]`:                               {ErrMalformed, 0, 0, 1},
		`[1,"book-10","XBT/USD"]`:                                     {ErrMalformed, 0, 0, 1},
		`[1,{"a":[]},"book-10","XBT/USD"] x`:                          {ErrMalformed, 0, 0, 1},
		``:                                                            {ErrMalformed, 0, 0, 1},
		`[1,{"a":[["1.0","1.0","1.0","r","x"]]},"book-10","XBT/USD"]`: {ErrMalformed, 0, 0, 1},
		`[1,{"a":[["1.0","1.0","1.0","r"]]},"book-10","XBT/USD"]`:     {nil, 1, 0, 0}, // before its snapshot: dropped
	}
	for fr, w := range v1 {
		f := newFeed(t, Config{Version: 1, Instruments: ins})
		err := f.Handle([]byte(fr), 0)
		c := f.Counters().Load()
		if !errors.Is(err, w.err) || err == nil && w.err != nil || c.Ignored != w.ignored || c.Unknown != w.unknown || c.DecodeErrors != w.decodeErr {
			t.Errorf("v1 %s: err %v ignored %d unknown %d decode %d; want %v %d %d %d", fr, err, c.Ignored, c.Unknown, c.DecodeErrors, w.err, w.ignored, w.unknown, w.decodeErr)
		}
	}
	v2 := map[string]want{
		`{"channel":"heartbeat"}`: {nil, 1, 0, 0},
		`{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":1,"system":"online","version":"2.0.0"}]}`:                                                                   {nil, 1, 0, 0},
		`{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol":"BTC/USD"},"success":true,"time_in":"2023-07-30T15:29:58.123Z","time_out":"2023-07-30T15:29:58.124Z"}`: {nil, 1, 0, 0},
		`{"data":[{"x":1}],"channel":"instrument","type":"snapshot"}`:                                                                                                                                {nil, 1, 0, 0},
		`{"channel":"book","type":"update","data":[{"symbol":"FOO/BAR","bids":[],"asks":[]}]}`:                                                                                                       {ErrUnknownSymbol, 0, 1, 0},
		`{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[]}]}`:                                                                                                       {nil, 1, 0, 0},
		`{"data":[{"symbol":"BTC/USD","bids":[],"asks":[]}],"type":"update","channel":"book"}`:                                                                                                       {nil, 1, 0, 0},
		`{"channel":"book","type":"update","data":[]}`:                                                                                                                                               {ErrMalformed, 0, 0, 1},
		`{"channel":"book","type":"weird","data":[{"symbol":"BTC/USD"}]}`:                                                                                                                            {ErrMalformed, 0, 0, 1},
		`{"channel":"book","type":"update","data":[{"bids":[]}]}`:                                                                                                                                    {ErrMalformed, 0, 0, 1},
		`{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"1.0","qty":1}]}]}`:                                                                                          {ErrMalformed, 0, 0, 1},
		`{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1.0}]}]}`:                                                                                                    {ErrMalformed, 0, 0, 1},
		`{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":4294967296}]}`:                                                                                                     {ErrMalformed, 0, 0, 1},
		`{"channel":"book","channel":"book","type":"update","data":[{"symbol":"BTC/USD"}]}`:                                                                                                          {ErrMalformed, 0, 0, 1},
		`{"result":1}`: {ErrMalformed, 0, 0, 1},
		`[1]`:          {ErrMalformed, 0, 0, 1},
	}
	for fr, w := range v2 {
		f := newFeed(t, Config{Version: 2, Instruments: ins})
		err := f.Handle([]byte(fr), 0)
		c := f.Counters().Load()
		if !errors.Is(err, w.err) || err == nil && w.err != nil || c.Ignored != w.ignored || c.Unknown != w.unknown || c.DecodeErrors != w.decodeErr {
			t.Errorf("v2 %s: err %v ignored %d unknown %d decode %d; want %v %d %d %d", fr, err, c.Ignored, c.Unknown, c.DecodeErrors, w.err, w.ignored, w.unknown, w.decodeErr)
		}
	}
}

// TestV2SnapshotChecksumFails: a v2 snapshot whose checksum does not verify
// leaves the book out of Live and requests a resubscribe.
func TestV2SnapshotChecksumFails(t *testing.T) {
	frames, _ := readCapture(t, "kraken-v2-book10-btcusd.jsonl")
	f := newFeed(t, Config{Version: 2, Instruments: assetPairs(t)})
	bad := bytes.Replace(frames[0], []byte(`"checksum":2785033588`), []byte(`"checksum":2785033589`), 1)
	if bytes.Equal(bad, frames[0]) {
		t.Fatal("snapshot checksum not found")
	}
	if err := f.Handle(bad, 0); !errors.Is(err, ErrChecksum) {
		t.Fatalf("err %v, want ErrChecksum", err)
	}
	s := symbol(t, f, "BTC/USD")
	if s.Book.State() == book.Live {
		t.Error("book live after a failed snapshot checksum")
	}
	if got := f.TakeResubscribe(nil); !slices.Equal(got, []string{"BTC/USD"}) {
		t.Errorf("TakeResubscribe = %v", got)
	}
	if err := f.Handle(frames[0], 0); err != nil || s.Book.State() != book.Live {
		t.Errorf("good snapshot: err %v, state %v", err, s.Book.State())
	}
}

func TestParseAssetPairs(t *testing.T) {
	ins := assetPairs(t)
	if len(ins) != 12 {
		t.Fatalf("%d instruments, want 12", len(ins))
	}
	if !slices.IsSortedFunc(ins, func(a, b market.Instrument) int { return strings.Compare(a.Symbol, b.Symbol) }) {
		t.Error("not sorted by symbol")
	}
	i := slices.IndexFunc(ins, func(in market.Instrument) bool { return in.Symbol == "XBT/USD" })
	if i < 0 {
		t.Fatal("no XBT/USD")
	}
	want := market.Instrument{
		Venue: market.Kraken, Symbol: "XBT/USD", Pair: market.Pair{Base: "BTC", Quote: "USD"},
		PriceExp: 1, QtyExp: 8, Tick: 1, Step: 1, MinQty: 20000,
		MakerFeeBps: 16, TakerFeeBps: 26,
	}
	if ins[i] != want {
		t.Errorf("XBT/USD = %+v\nwant %+v", ins[i], want)
	}
	for _, bad := range []string{`{"error":["EGeneral:Invalid arguments"]}`, `{"error":[]}`, `not json`,
		`{"error":[],"result":{"X":{"wsname":"A/B","pair_decimals":1}}}`} {
		if _, err := ParseAssetPairs([]byte(bad)); err == nil {
			t.Errorf("ParseAssetPairs(%s) succeeded", bad)
		}
	}
	got, err := ParseAssetPairs([]byte(`{"error":[],"result":{"X.d":{"pair_decimals":1,"lot_decimals":8},"Y":{"wsname":"XDG/USD","pair_decimals":7,"lot_decimals":8,"ordermin":"0.000000001","costmin":"0.45","tick_size":"0.0000001"}}}`))
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if g := got[0]; g.Pair.String() != "DOGE/USD" || g.MinQty != 1 || g.MinNotional != 4500000 || g.Tick != 1 {
		t.Errorf("XDG/USD = %+v", g)
	}
}

func TestConfig(t *testing.T) {
	in := market.Instrument{Venue: market.Kraken, Symbol: "XBT/USD", Pair: market.Pair{Base: "BTC", Quote: "USD"}, PriceExp: 1, QtyExp: 8}
	bin := in
	bin.Venue = market.Binance
	for name, cfg := range map[string]Config{
		"no version":    {},
		"version 3":     {Version: 3},
		"v2 no inst":    {Version: 2},
		"depth":         {Version: 1, Depth: 1001},
		"max depth":     {Version: 2, Depth: 100, MaxDepth: 50, Instruments: []market.Instrument{in}},
		"top":           {Version: 1, TopN: 33},
		"venue":         {Version: 1, Instruments: []market.Instrument{bin}},
		"invalid inst":  {Version: 1, Instruments: []market.Instrument{{Venue: market.Kraken}}},
		"duplicate":     {Version: 1, Instruments: []market.Instrument{in, in}},
		"neg maxsymbol": {Version: 1, MaxSymbols: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := New(Config{Version: 2, Instruments: []market.Instrument{in}}); err != nil {
		t.Errorf("minimal v2: %v", err)
	}
}

// TestMaxSymbols: a v1 connection without instruments stops creating books
// at MaxSymbols.
func TestMaxSymbols(t *testing.T) {
	f := newFeed(t, Config{Version: 1, MaxSymbols: 2})
	for i, p := range []string{"A/B", "C/D", "E/F"} {
		err := f.Handle([]byte(`[1,{"a":[]},"book-10","`+p+`"]`), 0)
		if (i < 2) != (err == nil) {
			t.Errorf("%s: %v", p, err)
		}
	}
	if len(f.Symbols()) != 2 || f.Counters().Unknown.Load() != 1 {
		t.Errorf("%d symbols, %d unknown", len(f.Symbols()), f.Counters().Unknown.Load())
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]int64{
		"2023-07-30T15:29:58.343415Z":    1690730998343415000,
		"1970-01-01T00:00:00Z":           0,
		"2024-02-29T23:59:59.123456789Z": 1709251199123456789,
		"2000-03-01T00:00:00.5Z":         951868800500000000,
	} {
		if got, ok := parseTime([]byte(in)); !ok || got != want {
			t.Errorf("parseTime(%s) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "2023-07-30 15:29:58Z", "2023-07-30T15:29:58", "2023-13-30T15:29:58Z", "2023-07-30T15:29:58.Z", "2023-07-30T15:29:58.1x2Z", "2023-07-30T15:29:58+00:00"} {
		if _, ok := parseTime([]byte(bad)); ok {
			t.Errorf("parseTime(%s) succeeded", bad)
		}
	}
}

func TestAppendUint(t *testing.T) {
	check := func(v uint64) {
		t.Helper()
		if got, want := string(appendUint([]byte("x"), v)), "x"+strconv.FormatUint(v, 10); got != want {
			t.Errorf("appendUint(%d) = %s, want %s", v, got, want)
		}
	}
	for p := uint64(1); p < 1e19; p *= 10 {
		check(p - 1)
		check(p)
		check(p + 1)
	}
	for _, v := range []uint64{0, 1e19, 1<<64 - 1, 1<<63 - 1, 2712000000, 428732553} {
		check(v)
	}
	// From an empty buffer the append grows it.
	if got := string(appendUint(nil, 12345)); got != "12345" {
		t.Errorf("appendUint(nil) = %s", got)
	}
}

// TestConcurrentReaders: the feed goroutine replays a capture while another
// goroutine reads the book's published top, state and stats, as strategies
// do; run with -race.
func TestConcurrentReaders(t *testing.T) {
	frames, recv := readCapture(t, "kraken-v1-book10-xbtusd.jsonl")
	f := newFeed(t, Config{Version: 1})
	replay(t, f, frames[:5], recv[:5])
	b := symbol(t, f, "XBT/USD").Book
	done := make(chan struct{})
	started := make(chan struct{})
	reads := make(chan int)
	go func() {
		var top book.Top
		n := 0
		for {
			if n == 1 {
				close(started) // the replay below starts once a read has run
			}
			select {
			case <-done:
				reads <- n
				return
			default:
			}
			b.Read(&top)
			if top.NBids > 0 && top.NAsks > 0 && top.State == book.Live && top.Bids[0].Price >= top.Asks[0].Price {
				t.Errorf("published a crossed live book: %v / %v", top.Bids[0], top.Asks[0])
			}
			_ = b.State()
			_ = b.Stats()
			_ = f.Counters().Load()
			n++
		}
	}()
	<-started
	replay(t, f, frames[5:], recv[5:])
	close(done)
	if n := <-reads; n == 0 {
		t.Error("reader never ran")
	}
	if ok, fail := checksums(f); ok != 979 || fail != 0 {
		t.Errorf("checksums %d, %d failed", ok, fail)
	}
}

// TestV2SharedExponents: a pair configured at exponents finer than Kraken's
// own precision (shared with other venues: BTC/USD prices at 2 decimals,
// Kraken's at 1) verifies every checksum when Precision gives Kraken's
// decimals, and fails them when it does not.
func TestV2SharedExponents(t *testing.T) {
	frames, recv := readCapture(t, "kraken-v2-book10-btcusd.jsonl")
	in := market.Instrument{Venue: market.Kraken, Symbol: "BTC/USD", Pair: market.Pair{Base: "BTC", Quote: "USD"}, PriceExp: 2, QtyExp: 8}
	f := newFeed(t, Config{Version: 2, Instruments: []market.Instrument{in}, Precision: map[string][2]int{"BTC/USD": {1, 8}}})
	replay(t, f, frames, recv)
	if ok, fail := checksums(f); ok != 510 || fail != 0 {
		t.Errorf("with Kraken's precision: %d verified, %d failed; want 510, 0", ok, fail)
	}
	if b := symbol(t, f, "BTC/USD").Book; b.State() != book.Live {
		t.Errorf("book %v, want live", b.State())
	}
	g := newFeed(t, Config{Version: 2, Instruments: []market.Instrument{in}})
	for i, fr := range frames {
		_ = g.Handle(fr, recv[i])
	}
	if _, fail := checksums(g); fail == 0 {
		t.Error("without Kraken's precision the checksums rendered at 2 decimals still verified")
	}
}
