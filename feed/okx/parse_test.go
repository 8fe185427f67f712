package okx

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"arbmm/book"
	"arbmm/internal/market"
)

// TestClassify checks how frames are counted and what Handle returns.
func TestClassify(t *testing.T) {
	type want struct {
		err                         error
		ignored, unknown, decodeErr uint64
	}
	const snap = `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["30001.1","1","0","1"]],"bids":[["30000","2","0","1"]],"ts":"1","checksum":0}]}`
	cases := map[string]want{
		`pong`: {nil, 1, 0, 0},
		`{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}`:                               {nil, 1, 0, 0},
		`{"event":"error","code":"60012","msg":"Invalid request","connId":"a4d3ae55"}`:                                          {nil, 1, 0, 0},
		`{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"last":"1"}]}`:                                               {nil, 1, 0, 0},
		`{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[1,2]}`:                                                         {nil, 1, 0, 0},
		`{"data":[{"x":1}],"arg":{"channel":"books-elp","instId":"BTC-USDT"}}`:                                                  {nil, 1, 0, 0},
		`{"arg":{"channel":"books","instId":"DOGE-ZZZ"},"action":"snapshot","data":[{"asks":[],"bids":[]}]}`:                    {nil, 0, 0, 0}, // created
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1"}]}`:             {nil, 0, 0, 0}, // applied
		`{"data":[{"asks":[],"bids":[],"ts":"1"}],"action":"update","arg":{"instId":"BTC-USDT","channel":"books"}}`:             {nil, 0, 0, 0},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["1","1"]],"bids":[]}],"event":"x"}`: {nil, 1, 0, 0},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["x"]]}],"event":"x"}`:               {nil, 1, 0, 0},
		``:                {ErrMalformed, 0, 0, 1},
		`ping`:            {ErrMalformed, 0, 0, 1},
		`[1]`:             {ErrMalformed, 0, 0, 1},
		`{}`:              {ErrMalformed, 0, 0, 1},
		`{"event":1}`:     {ErrMalformed, 0, 0, 1},
		`{"arg":"books"}`: {ErrMalformed, 0, 0, 1},
		`{"arg":{"instId":"BTC-USDT"},"data":[]}`:                                                              {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books"},"action":"update","data":[{}]}`:                                            {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update"}`:                                    {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[]}`:                          {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"partial","data":[{}]}`:                       {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","action":"update","data":[{}]}`:      {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","channel":"books","instId":"BTC-USDT"},"action":"update","data":[{}]}`:      {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"asks":[]}]}`:     {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[[30001,"1"]]}]}`:    {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["030001","1"]]}]}`: {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["30001.","1"]]}]}`: {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["-1","1"]]}]}`:     {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["1"]]}]}`:          {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[[]]}]}`:             {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"ts":"-1"}]}`:               {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"checksum":2147483648}]}`:   {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"seqId":"x"}]}`:             {ErrMalformed, 0, 0, 1},
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{}]} x`:                      {ErrMalformed, 0, 0, 1},
	}
	for fr, w := range cases {
		f := newFeed(t, Config{})
		if err := f.Handle([]byte(snap), 0); err != nil {
			t.Fatal(err)
		}
		before := f.Counters().Load()
		err := f.Handle([]byte(fr), 0)
		c := f.Counters().Load()
		got := want{err, c.Ignored - before.Ignored, c.Unknown - before.Unknown, c.DecodeErrors - before.DecodeErrors}
		if !errors.Is(err, w.err) || err == nil && w.err != nil || got.ignored != w.ignored || got.unknown != w.unknown || got.decodeErr != w.decodeErr {
			t.Errorf("%s: err %v ignored %d unknown %d decode %d; want %v %d %d %d", fr, err, got.ignored, got.unknown, got.decodeErr, w.err, w.ignored, w.unknown, w.decodeErr)
		}
		if c.Frames != 2 {
			t.Errorf("%s: %d frames counted", fr, c.Frames)
		}
	}
	// With instruments configured, other instruments are unknown.
	f := newFeed(t, Config{Instruments: instruments(t)})
	if err := f.Handle([]byte(`{"arg":{"channel":"books","instId":"ETH-USDT"},"action":"snapshot","data":[{"asks":[],"bids":[]}]}`), 0); !errors.Is(err, ErrUnknownSymbol) {
		t.Errorf("unconfigured instrument: %v", err)
	}
	if len(f.Symbols()) != 3 {
		t.Errorf("%d symbols", len(f.Symbols()))
	}
}

// TestMaxSymbols: a connection without instruments stops creating books
// at MaxSymbols.
func TestMaxSymbols(t *testing.T) {
	f := newFeed(t, Config{MaxSymbols: 2})
	for i, p := range []string{"A-B", "C-D", "E-F"} {
		err := f.Handle([]byte(`{"arg":{"channel":"books","instId":"`+p+`"},"action":"snapshot","data":[{"asks":[],"bids":[]}]}`), 0)
		if (i < 2) != (err == nil) {
			t.Errorf("%s: %v", p, err)
		}
	}
	if len(f.Symbols()) != 2 || f.Counters().Unknown.Load() != 1 {
		t.Errorf("%d symbols, %d unknown", len(f.Symbols()), f.Counters().Unknown.Load())
	}
	// A name that is not an instId is not made a book of.
	if err := f.Handle([]byte(`{"arg":{"channel":"books","instId":"a b"},"action":"snapshot","data":[{}]}`), 0); !errors.Is(err, ErrUnknownSymbol) {
		t.Errorf("bad instId: %v", err)
	}
}

// TestScanDec checks the plain-decimal scanner against market.ParseFixed
// and its grammar, on edge cases and random text.
func TestScanDec(t *testing.T) {
	check := func(text string, exp int) {
		t.Helper()
		v, dec, end, err := scanDec([]byte(text), 0, exp)
		if end != len(text) && err == nil {
			err = errNumber
		}
		wantErr := refGrammar(text)
		var want int64
		if wantErr == nil {
			want, wantErr = market.ParseFixed([]byte(text), exp)
		}
		if (err == nil) != (wantErr == nil) || err == nil && v != want {
			t.Fatalf("scanDec(%q, %d) = %d, %v; want %d, %v", text, exp, v, err, want, wantErr)
		}
		if err == nil && dec != refDec(text) {
			t.Fatalf("scanDec(%q) decimals %d, want %d", text, dec, refDec(text))
		}
	}
	for _, s := range []string{"0", "1", "10", "0.5", "5.160", "0.0", "30243.5", "0.00000001", "00", "01", "1.", ".5", "", "-1", "1e5",
		"9223372036854775807", "9223372036854775808", "922337203685477580.7", "123456789012345678", "1234567890123456789",
		"0.000000000000000001", "0.0000000000000000001", "1.000000000000000000", "99999999999999999999", "1.2.3", "0.10000"} {
		for _, exp := range []int{0, 1, 2, 8, 18} {
			check(s, exp)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "0123456789.0"
	for range 20000 {
		n := 1 + r.IntN(22)
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		check(string(b), r.IntN(19))
	}
}

// refGrammar is the grammar of a level's price and size, written
// independently of scanDec.
func refGrammar(s string) error {
	ip, fp, hasPoint := strings.Cut(s, ".")
	digits := func(t string) bool { return t != "" && strings.Trim(t, "0123456789") == "" }
	switch {
	case !digits(ip), hasPoint && !digits(fp), len(ip) > 1 && ip[0] == '0':
		return errNumber
	case len(fp) > 18:
		return errDecimals
	}
	return nil
}

// refDec is the non-canonical decimals of text that passed refGrammar.
func refDec(s string) int8 {
	_, fp, ok := strings.Cut(s, ".")
	if ok && strings.HasSuffix(fp, "0") {
		return int8(len(fp))
	}
	return -1
}

// TestExcTable checks the wire-decimals table against a map over random
// puts and deletes, with pruning against a book.
func TestExcTable(t *testing.T) {
	const maxDepth = 40
	b, err := book.New(book.Config{MaxDepth: maxDepth})
	if err != nil {
		t.Fatal(err)
	}
	var tbl excTable
	model := map[int64]excVal{}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 200000 {
		px := 1 + r.Int64N(200)
		switch op := r.IntN(10); {
		case op < 6:
			v := excVal{int8(r.IntN(3)) - 1, int8(r.IntN(3)) - 1}
			b.Set(market.Bid, market.Price(px), 1)
			tbl.put(px, v, market.Bid, b, maxDepth)
			model[px] = v
		case op < 9:
			b.Set(market.Bid, market.Price(px), 0)
			had := tbl.n > 0 && tbl.del(px)
			_, want := model[px]
			if had != want {
				t.Fatalf("op %d: del(%d) = %v, want %v", i, px, had, want)
			}
			delete(model, px)
		default:
			b.Clear()
			tbl.clear()
			clear(model)
		}
		// Pruning may drop prices the book no longer holds (evicted).
		for px := range model {
			if b.Find(market.Bid, market.Price(px)) == 0 {
				if _, ok := tbl.get(px); !ok {
					delete(model, px)
				}
			}
		}
		if tbl.n != len(model) {
			t.Fatalf("op %d: %d entries, model %d", i, tbl.n, len(model))
		}
		if tbl.keys != nil && i%97 == 0 {
			for px, v := range model {
				if got, ok := tbl.get(px); !ok || got != v {
					t.Fatalf("op %d: get(%d) = %v %v, want %v", i, px, got, ok, v)
				}
			}
		}
	}
}

func TestParseInstruments(t *testing.T) {
	ins := instruments(t)
	want := []market.Instrument{
		{Venue: market.OKX, Symbol: "BTC-USD-220527", Pair: market.Pair{Base: "BTC", Quote: "USD"}, PriceExp: 1, QtyExp: 0, Tick: 1, Step: 1, MinQty: 1},
		{Venue: market.OKX, Symbol: "BTC-USDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 1, QtyExp: 8, Tick: 1, Step: 1, MinQty: 1000},
		{Venue: market.OKX, Symbol: "UNI-USD-SWAP", Pair: market.Pair{Base: "UNI", Quote: "USD"}, PriceExp: 3, QtyExp: 0, Tick: 1, Step: 1, MinQty: 1},
	}
	if !slices.Equal(ins, want) {
		t.Errorf("ParseInstruments =\n%+v\nwant\n%+v", ins, want)
	}
	// The REST envelope, a linear swap, an option, instFamily, a tick of 5.
	got, err := ParseInstruments([]byte(`{"code":"0","msg":"","data":[
		{"instId":"ETH-USDT-SWAP","instType":"SWAP","uly":"","instFamily":"ETH-USDT","settleCcy":"USDT","tickSz":"0.01","lotSz":"0.1","minSz":"0.15"},
		{"instId":"BTC-USD-220527-30000-C","instType":"OPTION","uly":"BTC-USD","tickSz":"0.0005","lotSz":"1","minSz":"1"},
		{"instId":"SHIB-USDT","instType":"SPOT","baseCcy":"SHIB","quoteCcy":"USDT","tickSz":"0.000000001","lotSz":"100","minSz":"10000"},
		{"instId":"XX-USD","instType":"SPOT","baseCcy":"XX","quoteCcy":"USD","tickSz":"5","lotSz":"0.10","minSz":""}]}`))
	if err != nil {
		t.Fatal(err)
	}
	wantMore := []market.Instrument{
		{Venue: market.OKX, Symbol: "ETH-USDT-SWAP", Pair: market.Pair{Base: "ETH", Quote: "USDT"}, PriceExp: 2, QtyExp: 1, Tick: 1, Step: 1, MinQty: 2},
		{Venue: market.OKX, Symbol: "SHIB-USDT", Pair: market.Pair{Base: "SHIB", Quote: "USDT"}, PriceExp: 9, QtyExp: 0, Tick: 1, Step: 100, MinQty: 10000},
		{Venue: market.OKX, Symbol: "XX-USD", Pair: market.Pair{Base: "XX", Quote: "USD"}, PriceExp: 0, QtyExp: 1, Tick: 5, Step: 1},
	}
	if !slices.Equal(got, wantMore) {
		t.Errorf("ParseInstruments =\n%+v\nwant\n%+v", got, wantMore)
	}
	for _, bad := range []string{
		`{"code":"51001","msg":"Instrument ID does not exist","data":[]}`,
		`{"code":"0","msg":""}`,
		`not json`,
		`[{"instType":"SPOT","baseCcy":"A","quoteCcy":"B","tickSz":"1","lotSz":"1"}]`,
		`[{"instId":"A-B","instType":"SPOT","baseCcy":"A","quoteCcy":"B","tickSz":"0","lotSz":"1"}]`,
		`[{"instId":"A-B","instType":"SPOT","baseCcy":"A","quoteCcy":"B","tickSz":"x","lotSz":"1"}]`,
		`[{"instId":"A-B","instType":"SPOT","baseCcy":"","quoteCcy":"B","tickSz":"1","lotSz":"1"}]`,
		`[{"instId":"A-B-SWAP","instType":"SWAP","uly":"AB","tickSz":"1","lotSz":"1"}]`,
		`[{"instId":"A-B","instType":"WEIRD","tickSz":"1","lotSz":"1"}]`,
		`[{"instId":"A-B","instType":"SPOT","baseCcy":"A","quoteCcy":"B","tickSz":"1","lotSz":"1"},{"instId":"A-B","instType":"SPOT","baseCcy":"A","quoteCcy":"B","tickSz":"0.1","lotSz":"1"}]`,
	} {
		if _, err := ParseInstruments([]byte(bad)); err == nil {
			t.Errorf("ParseInstruments(%s) succeeded", bad)
		}
	}
}

func TestConfig(t *testing.T) {
	in := market.Instrument{Venue: market.OKX, Symbol: "BTC-USDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 1, QtyExp: 8}
	bin := in
	bin.Venue = market.Binance
	for name, cfg := range map[string]Config{
		"top":          {TopN: 33},
		"max depth":    {MaxDepth: -1},
		"max symbols":  {MaxSymbols: -1},
		"max levels":   {MaxLevels: -5},
		"max buffered": {MaxBuffered: -1},
		"venue":        {Instruments: []market.Instrument{bin}},
		"invalid inst": {Instruments: []market.Instrument{{Venue: market.OKX}}},
		"duplicate":    {Instruments: []market.Instrument{in, in}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	f := newFeed(t, Config{MaxDepth: 100})
	err := f.Handle([]byte(`{"arg":{"channel":"books","instId":"A-B"},"action":"snapshot","data":[{"asks":[],"bids":[]}]}`), 0)
	if !errors.Is(err, ErrChannel) {
		t.Errorf("a 400-level channel into 100-level books: %v", err)
	}
	if err := f.Handle([]byte(`{"arg":{"channel":"books50-l2-tbt","instId":"A-B"},"action":"snapshot","data":[{"asks":[],"bids":[]}]}`), 0); err != nil {
		t.Errorf("a 50-level channel: %v", err)
	}
}

// TestPairOf pins the pair of an unconfigured instId.
func TestPairOf(t *testing.T) {
	for in, want := range map[string]string{"BTC-USDT": "BTC/USDT", "UNI-USD-SWAP": "UNI/USD", "BTC-USD-220527": "BTC/USD", "X": "/", "a-b": "A/B"} {
		if got := pairOf(in).String(); got != want {
			t.Errorf("pairOf(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestAppendDec checks the checksum's number formatting against
// market.AppendFixedTrim (shortest form) and market.AppendFixed (given
// decimals) on edge cases and random values.
func TestAppendDec(t *testing.T) {
	check := func(v int64, exp int, dec int8) {
		t.Helper()
		got := string(appendDec([]byte("x"), v, exp, dec))
		want := "x" + string(market.AppendFixedTrim(nil, v, exp))
		if dec >= 0 {
			w, ok := market.Rescale(v, exp, int(dec))
			if !ok {
				return
			}
			want = "x" + string(market.AppendFixed(nil, w, int(dec)))
		}
		if got != want {
			t.Fatalf("appendDec(%d, %d, %d) = %s, want %s", v, exp, dec, got, want)
		}
	}
	for _, v := range []int64{0, 1, 9, 10, 99, 100, 302435, 8000000, 1<<63 - 1, 1e18, 1e18 - 1, 123456789012345678} {
		for exp := 0; exp <= 18; exp++ {
			for _, dec := range []int8{-1, 0, 1, 3, 8, 18} {
				check(v, exp, dec)
			}
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		v := r.Int64N(1 << uint(1+r.IntN(62)))
		check(v, r.IntN(19), int8(r.IntN(20))-1)
	}
	// From an empty buffer the append grows it.
	if got := string(appendDec(nil, 302435, 1, -1)); got != "30243.5" {
		t.Errorf("appendDec(nil) = %s", got)
	}
}

// TestFastFrame: every book frame of the capture (as recorded, with OKX's
// sequence fields, with checksum 0) takes the fast path once its
// instrument is known, with the same result as the general decoder (which
// TestDifferentialCapture and FuzzDecode also compare with the reference).
func TestFastFrame(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	f := newFeed(t, Config{Instruments: instruments(t)})
	replay(t, f, frames, recv)
	seqFrames, _ := sequenced(frames, false)
	zeroFrames, _ := sequenced(frames, true)
	n := 0
	for _, set := range [][][]byte{frames, seqFrames, zeroFrames} {
		for _, fr := range set {
			if !isBook(fr) {
				continue
			}
			d := &f.dec
			d.reset(fr)
			if !d.fastFrame(fr) {
				t.Fatalf("fast path declined %.120s", fr)
			}
			fast := d.m
			fast.levels = [2][]level{slices.Clone(d.m.levels[0]), slices.Clone(d.m.levels[1])}
			// The general decoder, on the same frame.
			g := newDecoder(DefaultMaxLevels)
			g.find = f.find
			if err := decodeGeneral(&g, fr); err != nil {
				t.Fatalf("general decoder: %v", err)
			}
			gm := g.m
			if fast.kind != gm.kind || fast.ch != gm.ch || fast.action != gm.action || string(fast.instID) != string(gm.instID) || fast.sym != gm.sym ||
				fast.hasTs != gm.hasTs || fast.ts != gm.ts || fast.hasCS != gm.hasCS || fast.cs != gm.cs ||
				fast.hasSeq != gm.hasSeq || fast.seq != gm.seq || fast.hasPrev != gm.hasPrev || fast.prev != gm.prev ||
				!slices.Equal(fast.levels[0], gm.levels[0]) || !slices.Equal(fast.levels[1], gm.levels[1]) || !gm.decoded {
				t.Fatalf("fast and general paths differ on %.120s", fr)
			}
			n++
		}
	}
	if n != 3*290 {
		t.Errorf("%d frames compared, want %d", n, 3*290)
	}
}

// decodeGeneral runs decode with the fast path declined: a copy of the
// frame with a space after its opening brace takes the general cursor.
func decodeGeneral(d *decoder, fr []byte) error {
	spaced := append([]byte("{ "), fr[1:]...)
	return d.decode(spaced)
}
