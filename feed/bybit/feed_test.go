package bybit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

func newFeed(tb testing.TB, cfg Config) *Feed {
	tb.Helper()
	if cfg.Category == CategoryUnknown {
		cfg.Category = Linear
	}
	f, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return f
}

// msg renders an orderbook message in Bybit's linear key order.
func msg(topic, typ string, u int64, bids, asks string) []byte {
	name := topic[strings.LastIndexByte(topic, '.')+1:]
	return fmt.Appendf(nil, `{"topic":%q,"type":%q,"ts":%d,"data":{"s":%q,"b":[%s],"a":[%s],"u":%d,"seq":%d},"cts":%d}`,
		topic, typ, 1000+u, name, bids, asks, u, 5000+u, 900+u)
}

const btc200 = "orderbook.200.BTCUSDT"

func readTop(b *book.Book) book.Top {
	var t book.Top
	b.Read(&t)
	return t
}

// TestSync walks one topic through Bybit's rules: deltas before the first
// snapshot are dropped; a snapshot makes the book Live; each delta must
// carry the next u, anything else is a gap (counted, Stale, resubscribe
// requested, later deltas dropped) until a snapshot; a snapshot or u == 1
// on a Live book resets it (counted as a reset).
func TestSync(t *testing.T) {
	f := newFeed(t, Config{})
	type step struct {
		frame    []byte
		err      error
		state    book.State
		bid, ask market.Price // best, at the learned exponent (1 decimal)
		resync   []string
	}
	steps := []step{
		{frame: msg(btc200, "delta", 99, `["100.0","1"]`, ``), state: book.Syncing},
		{frame: msg(btc200, "snapshot", 100, `["100.0","1"],["99.5","2"]`, `["101.0","1"],["101.5","3"]`), state: book.Live, bid: 1000, ask: 1010},
		{frame: msg(btc200, "delta", 101, `["100.0","0"]`, `["100.5","2"]`), state: book.Live, bid: 995, ask: 1005},
		{frame: msg(btc200, "delta", 101, `["99.0","1"]`, ``), err: ErrGap, state: book.Stale, bid: 995, ask: 1005, resync: []string{btc200}},
		{frame: msg(btc200, "delta", 102, `["99.9","1"]`, ``), state: book.Stale, bid: 995, ask: 1005},
		{frame: msg(btc200, "snapshot", 200, `["98.0","1"]`, `["99.0","1"]`), state: book.Live, bid: 980, ask: 990},
		{frame: msg(btc200, "delta", 201, `["98.5","1"]`, ``), state: book.Live, bid: 985, ask: 990},
		{frame: msg(btc200, "snapshot", 500, `["90.0","1"]`, `["91.0","1"]`), state: book.Live, bid: 900, ask: 910},
		{frame: msg(btc200, "delta", 1, `["80.0","1"]`, `["81.0","1"]`), state: book.Live, bid: 800, ask: 810},
		{frame: msg(btc200, "delta", 2, `["80.5","1"]`, ``), state: book.Live, bid: 805, ask: 810},
		{frame: msg(btc200, "delta", 4, `["80.6","1"]`, ``), err: ErrGap, state: book.Stale, bid: 805, ask: 810, resync: []string{btc200}},
		{frame: msg(btc200, "snapshot", 1, `["70.0","1"]`, `["71.0","1"]`), state: book.Live, bid: 700, ask: 710},
		{frame: msg(btc200, "delta", 3, `["70.5","1"]`, ``), err: ErrGap, state: book.Stale, bid: 700, ask: 710, resync: []string{btc200}},
		{frame: msg(btc200, "delta", 1, `["60.0","1"]`, `["61.0","1"]`), state: book.Live, bid: 600, ask: 610},
	}
	for i, st := range steps {
		err := f.Handle(st.frame, int64(i))
		if err != st.err {
			t.Fatalf("step %d: err %v, want %v", i, err, st.err)
		}
		sym := f.Symbol("btcusdt")
		top := readTop(sym.Book)
		if top.State != st.state || sym.Book.State() != st.state {
			t.Errorf("step %d: state %v (published %v), want %v", i, sym.Book.State(), top.State, st.state)
		}
		if st.bid != 0 && (top.Bids[0].Price != st.bid || top.Asks[0].Price != st.ask) {
			t.Errorf("step %d: top %v / %v, want %d / %d", i, top.Bids[0], top.Asks[0], st.bid, st.ask)
		}
		if got := f.TakeResyncs(nil); !slices.Equal(got, st.resync) {
			t.Errorf("step %d: resyncs %v, want %v", i, got, st.resync)
		}
	}
	sym := f.Symbol("BTCUSDT")
	if sym.Snapshots != 6 || sym.Resets != 2 || sym.Deltas != 3 || sym.Dropped != 2 || sym.Frames != uint64(len(steps)) {
		t.Errorf("snapshots %d resets %d deltas %d dropped %d frames %d; want 6, 2, 3, 2, %d", sym.Snapshots, sym.Resets, sym.Deltas, sym.Dropped, sym.Frames, len(steps))
	}
	if st := sym.Book.Stats(); st.Gaps != 3 || st.Resyncs != 3 {
		t.Errorf("gaps %d resyncs %d, want 3, 3", st.Gaps, st.Resyncs)
	}
	want := feed.CounterValues{Frames: uint64(len(steps)), Ignored: 2, Resyncs: 3}
	for _, st := range steps {
		want.Bytes += uint64(len(st.frame))
	}
	if got := f.Counters().Load(); got != want {
		t.Errorf("counters %+v, want %+v", got, want)
	}
	top := readTop(sym.Book)
	if top.Seq != 1 || top.ExchTime != 901*1e6 || top.RecvTime != int64(len(steps)-1) {
		t.Errorf("top seq %d exch %d recv %d; want 1, %d, %d", top.Seq, top.ExchTime, top.RecvTime, 901*int64(1e6), len(steps)-1)
	}
	// A reset replaced the book: nothing of the earlier levels is left.
	if lv := levelsOf(sym.Book); len(lv[0]) != 1 || len(lv[1]) != 1 {
		t.Errorf("levels after the last reset %v, want one a side", lv)
	}
}

// TestExchTime: cts (matching engine time) when present, else ts.
func TestExchTime(t *testing.T) {
	f := newFeed(t, Config{})
	if err := f.Handle([]byte(`{"topic":"orderbook.1.X","type":"snapshot","ts":1786310818129,"data":{"s":"X","b":[["1","1"]],"a":[["2","1"]],"u":5}}`), 7); err != nil {
		t.Fatal(err)
	}
	if top := readTop(f.Symbol("X").Book); top.ExchTime != 1786310818129e6 || top.Seq != 5 || top.RecvTime != 7 {
		t.Errorf("top %+v, want exch from ts", top)
	}
}

// TestTruncate: each side keeps the topic's depth; Bybit sends no deletes
// for levels pushed out of range.
func TestTruncate(t *testing.T) {
	f := newFeed(t, Config{})
	topic := "orderbook.2.ETHUSDT"
	for _, fr := range [][]byte{
		msg(topic, "snapshot", 10, `["10.0","1"],["9.0","1"]`, `["11.0","1"],["12.0","1"]`),
		msg(topic, "delta", 11, `["10.5","1"],["8","4"]`, `["11.5","1"],["13","1"]`),
	} {
		if err := f.Handle(fr, 0); err != nil {
			t.Fatal(err)
		}
	}
	sym := f.Symbol("ETHUSDT")
	got := levelsOf(sym.Book)
	want := [2][]book.Level{{{Price: 105, Qty: 1}, {Price: 100, Qty: 1}}, {{Price: 110, Qty: 1}, {Price: 115, Qty: 1}}}
	if !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
		t.Errorf("levels %v, want %v", got, want)
	}
	if sym.Depth != 2 || sym.Book.Config().MaxDepth != 34 {
		t.Errorf("depth %d, max depth %d; want 2, 34", sym.Depth, sym.Book.Config().MaxDepth)
	}
}

// TestBadMessageLeavesBookIntact: a delta that cannot be decoded, at the
// next u, is a lost message: ErrMalformed, counted, the book's levels
// untouched but Stale (and published so), one resubscribe requested however
// many bad frames follow, and the cause reported.
func TestBadMessageLeavesBookIntact(t *testing.T) {
	ins := []market.Instrument{{Venue: market.Bybit, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 3}}
	good := msg(btc200, "snapshot", 100, `["100.00","1.000"],["99.50","2.000"]`, `["101.00","1.000"]`)
	for _, tc := range []struct {
		name  string
		frame string
		cause error
	}{
		{"price not a number", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"],["abc","1"]],"a":[],"u":101,"seq":1},"cts":1}`, market.ErrSyntax},
		{"negative size", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"]],"a":[["102.00","-1"]],"u":101,"seq":1},"cts":1}`, errLevel},
		{"zero price", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"],["0","1"]],"a":[],"u":101,"seq":1},"cts":1}`, errLevel},
		{"finer than the tick", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"],["99.001","1"]],"a":[],"u":101,"seq":1},"cts":1}`, market.ErrPrecision},
		{"size out of range", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","99999999999999999999"]],"a":[],"u":101,"seq":1},"cts":1}`, market.ErrRange},
		{"level too short", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"],["98.00"]],"a":[],"u":101,"seq":1},"cts":1}`, jscan.ErrType},
		{"b not an array", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":{},"a":[],"u":101,"seq":1},"cts":1}`, jscan.ErrType},
		{"u missing", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"]],"a":[],"seq":1},"cts":1}`, errShape},
		{"a missing", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"]],"u":101,"seq":1},"cts":1}`, errShape},
		{"u zero", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"]],"a":[],"u":0,"seq":1},"cts":1}`, errUpdate},
		{"u fractional", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"]],"a":[],"u":101.5,"seq":1},"cts":1}`, market.ErrPrecision},
		{"symbol differs", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"ETHUSDT","b":[["99.00","1"]],"a":[],"u":101,"seq":1},"cts":1}`, errSymbol},
		{"unknown type", `{"topic":"orderbook.200.BTCUSDT","type":"update","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"]],"a":[],"u":101,"seq":1},"cts":1}`, errType},
		{"type missing", `{"topic":"orderbook.200.BTCUSDT","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"]],"a":[],"u":101,"seq":1},"cts":1}`, errShape},
		{"data missing", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"cts":1}`, errShape},
		{"duplicate b", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"]],"b":[],"a":[],"u":101,"seq":1},"cts":1}`, errDup},
		{"duplicate data", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"]],"a":[],"u":101,"seq":1},"data":{},"cts":1}`, errDup},
		{"ts not a number", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":"x","data":{"s":"BTCUSDT","b":[["99.00","1"]],"a":[],"u":101,"seq":1},"cts":1}`, market.ErrSyntax},
		{"trailing bytes", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"]],"a":[],"u":101,"seq":1},"cts":1}}`, jscan.ErrSyntax},
		{"cut short", `{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["99.00","1"]],"a":[],"u":101`, jscan.ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeed(t, Config{Instruments: ins})
			if err := f.Handle(good, 1); err != nil {
				t.Fatal(err)
			}
			sym := f.Symbol("BTCUSDT")
			before := levelsOf(sym.Book)
			for range 3 {
				if err := f.Handle([]byte(tc.frame), 2); err != ErrMalformed {
					t.Fatalf("err %v, want ErrMalformed", err)
				}
				if cause, _ := f.LastError(); cause != tc.cause && !(tc.cause == jscan.ErrSyntax && cause == jscan.ErrEOF) {
					t.Errorf("cause %v, want %v", cause, tc.cause)
				}
			}
			if after := levelsOf(sym.Book); !slices.Equal(after[0], before[0]) || !slices.Equal(after[1], before[1]) {
				t.Errorf("levels changed: %v, was %v", after, before)
			}
			if top := readTop(sym.Book); top.State != book.Stale || sym.Book.State() != book.Stale {
				t.Errorf("state %v (published %v), want stale", sym.Book.State(), top.State)
			}
			if got := f.TakeResyncs(nil); !slices.Equal(got, []string{btc200}) {
				t.Errorf("resyncs %v, want [%s]", got, btc200)
			}
			if c := f.Counters().Load(); c.DecodeErrors != 3 || c.Resyncs != 1 {
				t.Errorf("decode errors %d resyncs %d, want 3, 1", c.DecodeErrors, c.Resyncs)
			}
			// The next bad frame, after the request was taken, asks again.
			f.Handle([]byte(tc.frame), 3)
			if got := f.TakeResyncs(nil); !slices.Equal(got, []string{btc200}) {
				t.Errorf("resyncs after a new failure %v, want [%s]", got, btc200)
			}
			// A snapshot recovers the book.
			if err := f.Handle(good, 4); err != nil || sym.Book.State() != book.Live {
				t.Errorf("snapshot: %v, state %v", err, sym.Book.State())
			}
		})
	}
}

// TestFramesNotBookData: op responses (subscribe, pongs) and other topics
// are Ignored; frames of no known shape are malformed without touching any
// book.
func TestFramesNotBookData(t *testing.T) {
	cd := loadCapture(t)
	ignored := []string{
		`{"success":true,"ret_msg":"","conn_id":"d8bu1olkndm7crnfs1e0-j6akw","req_id":"","op":"subscribe"}`,
		`{"success":false,"ret_msg":"error:handler not found","conn_id":"x","req_id":"","op":"subscribe"}`,
		`{"success":true,"ret_msg":"pong","conn_id":"465772b1-7630-4fdc-a492-e003e6f0f260","req_id":"","op":"ping"}`,
		`{"req_id":"test","op":"pong","args":["1675418560633"],"conn_id":"cfcb4ocsvfriu23r3er0-1b"}`,
		`{"topic":"orderbook.rpi.BTCUSDT","type":"snapshot","data":{"s":"BTCUSDT"}}`,
		`{"topic":"orderbook","data":[]}`,
		`{"topic":"","op":1}`,
	}
	for _, prefix := range []string{`{"topic":"tickers.`, `{"topic":"kline.`, `{"topic":"publicTrade.`, `{"type":"snapshot","topic":"kline.`} {
		for _, fr := range cd.frames {
			if bytes.HasPrefix(fr.data, []byte(prefix)) {
				ignored = append(ignored, string(fr.data))
				break
			}
		}
	}
	if len(ignored) != 11 {
		t.Fatalf("found %d ignored frames, want 11", len(ignored))
	}
	malformed := []string{``, `[]`, `{}`, `null`, `{"foo":1}`, `{"topic":5}`, `{"topic":"tickers.BTCUSDT","data":{`, `{"op":"pong"} x`,
		`{"topic":"orderbook.0.BTCUSDT","type":"delta","data":{}}`, `{"topic":"orderbook.1001.BTCUSDT","type":"delta","data":{}}`,
		`{"topic":"orderbook.200.","type":"delta","data":{}}`, `{"topic":"orderbook.200.btcusdt","type":"delta","data":{}}`,
		`{"topic":"orderbook.200","type":"delta","data":{}}`, `{"topic":"orderbook.050.BTCUSDT","type":"delta","data":{}}`,
		`{"topic":"tickers.BTCUSDT","topic":"orderbook.1.BTCUSDT"}`,
	}
	f := newFeed(t, Config{})
	for _, fr := range ignored {
		if err := f.Handle([]byte(fr), 0); err != nil {
			t.Errorf("%.80s: %v, want nil", fr, err)
		}
	}
	for _, fr := range malformed {
		if err := f.Handle([]byte(fr), 0); err != ErrMalformed {
			t.Errorf("%.80s: %v, want ErrMalformed", fr, err)
		}
	}
	want := feed.CounterValues{Frames: uint64(len(ignored) + len(malformed)), Ignored: uint64(len(ignored)), DecodeErrors: uint64(len(malformed))}
	for _, fr := range append(ignored, malformed...) {
		want.Bytes += uint64(len(fr))
	}
	if got := f.Counters().Load(); got != want {
		t.Errorf("counters %+v, want %+v", got, want)
	}
	if len(f.Symbols()) != 0 {
		t.Errorf("symbols created: %d", len(f.Symbols()))
	}
}

// TestUnknownSymbols: with instruments, other symbols are Unknown; a
// second depth of a followed symbol, or a depth past MaxDepth, is ErrDepth;
// without instruments, MaxSymbols bounds the books.
func TestUnknownSymbols(t *testing.T) {
	ins := []market.Instrument{{Venue: market.Bybit, Symbol: "btcusdt", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 1, QtyExp: 3}}
	f := newFeed(t, Config{Instruments: ins, MaxDepth: 300})
	check := func(fr []byte, want error) {
		t.Helper()
		if err := f.Handle(fr, 0); err != want {
			t.Errorf("%.60s: %v, want %v", fr, err, want)
		}
	}
	check(msg("orderbook.200.ETHUSDT", "snapshot", 1, `["1","1"]`, `["2","1"]`), ErrUnknownSymbol)
	check(msg("orderbook.1000.BTCUSDT", "snapshot", 1, `["1","1"]`, `["2","1"]`), ErrDepth)
	check(msg(btc200, "snapshot", 1, `["1","1"]`, `["2","1"]`), nil)
	check(msg("orderbook.50.BTCUSDT", "snapshot", 1, `["1","1"]`, `["2","1"]`), ErrDepth)
	check(msg(btc200, "delta", 2, `["1.5","1"]`, ``), nil)
	if c := f.Counters().Load(); c.Unknown != 3 || c.DecodeErrors != 0 {
		t.Errorf("unknown %d decode errors %d, want 3, 0", c.Unknown, c.DecodeErrors)
	}
	if n := len(f.Symbols()); n != 1 || f.Symbol("BTCUSDT").Inst.Symbol != "btcusdt" || f.Symbol("BTCUSDT").Book.Config().MaxDepth != 300 {
		t.Errorf("symbols %d, %+v", n, f.Symbol("BTCUSDT"))
	}

	f = newFeed(t, Config{MaxSymbols: 1})
	check(msg(btc200, "snapshot", 1, `["1","1"]`, `["2","1"]`), nil)
	check(msg("orderbook.200.ETHUSDT", "snapshot", 1, `["1","1"]`, `["2","1"]`), ErrUnknownSymbol)
}

// TestCrossedBook: a message that crosses the book leaves it Stale with a
// resubscribe requested.
func TestCrossedBook(t *testing.T) {
	f := newFeed(t, Config{})
	if err := f.Handle(msg(btc200, "snapshot", 1, `["10","1"]`, `["11","1"]`), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Handle(msg(btc200, "delta", 2, `["12","1"]`, ``), 0); err != book.ErrCrossed {
		t.Fatalf("err %v, want book.ErrCrossed", err)
	}
	sym := f.Symbol("BTCUSDT")
	if readTop(sym.Book).State != book.Stale || sym.Book.Stats().Crossed != 1 {
		t.Errorf("state %v crossed %d, want stale, 1", readTop(sym.Book).State, sym.Book.Stats().Crossed)
	}
	if got := f.TakeResyncs(nil); !slices.Equal(got, []string{btc200}) {
		t.Errorf("resyncs %v", got)
	}
	if err := f.Handle(msg(btc200, "delta", 3, `["9","1"]`, ``), 0); err != nil || sym.Dropped != 1 {
		t.Errorf("delta after crossing: %v, dropped %d", err, sym.Dropped)
	}
}

// reorder rewrites a frame with its top-level and data keys in reverse
// order and white space between tokens: what a decoder must accept as
// the same message.
func reorder(tb testing.TB, frame []byte) []byte {
	tb.Helper()
	obj := func(b []byte) ([]string, map[string]json.RawMessage) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			tb.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.Token()
		var keys []string
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var skip json.RawMessage
			dec.Decode(&skip)
		}
		slices.Reverse(keys)
		return keys, m
	}
	keys, m := obj(frame)
	dkeys, dm := obj(m["data"])
	var out bytes.Buffer
	write := func(keys []string, m map[string]json.RawMessage, inner func()) {
		out.WriteString("{ ")
		for i, k := range keys {
			if i > 0 {
				out.WriteString(" ,\n")
			}
			fmt.Fprintf(&out, "%q : ", k)
			if k == "data" && inner != nil {
				inner()
				continue
			}
			json.Indent(&out, m[k], "", "\t")
		}
		out.WriteString(" }")
	}
	write(keys, m, func() { write(dkeys, dm, nil) })
	return out.Bytes()
}

// TestKeyOrder: the same messages with their keys in another order and
// white space added build the same books, learned or configured.
func TestKeyOrder(t *testing.T) {
	cd := loadCapture(t)
	for _, configured := range []bool{false, true} {
		plain := cd.newFeeds(t, configured)
		shuffled := cd.newFeeds(t, configured)
		n := 0
		for i, fr := range cd.frames {
			if !bytes.HasPrefix(fr.data, []byte(`{"topic":"orderbook.`)) {
				continue
			}
			if err := plain[fr.conn].Handle(fr.data, fr.recv); err != nil {
				t.Fatal(err)
			}
			re := reorder(t, fr.data)
			if i < 200 && bytes.HasPrefix(re, fr.data[:10]) {
				t.Fatalf("frame not reordered: %.100s", re)
			}
			if err := shuffled[fr.conn].Handle(re, fr.recv); err != nil {
				cause, pos := shuffled[fr.conn].LastError()
				t.Fatalf("reordered frame %d: %v (%v at %d): %.300s", i, err, cause, pos, re)
			}
			n++
		}
		for conn, f := range plain {
			for _, s := range f.Symbols() {
				o := shuffled[conn].Symbol(s.Name)
				got, want := levelsOf(o.Book), levelsOf(s.Book)
				if !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) || o.Deltas != s.Deltas || o.Inst != s.Inst {
					t.Errorf("%s %s: reordered frames built another book", conn, s.Name)
				}
				if readTop(o.Book) != readTop(s.Book) {
					t.Errorf("%s %s: published tops differ", conn, s.Name)
				}
			}
		}
		if n != captureDeltas+6 {
			t.Errorf("%d orderbook frames, want %d", n, captureDeltas+6)
		}
	}
}

// TestLearnedExponentsWiden: without instruments, a message with finer
// decimals than the first snapshot had is malformed and resyncs the book;
// the exponents widen so that the next snapshot loads.
func TestLearnedExponentsWiden(t *testing.T) {
	f := newFeed(t, Config{})
	steps := []struct {
		frame []byte
		err   error
	}{
		{msg(btc200, "snapshot", 1, `["100.5","1"]`, `["101","2"]`), nil},
		{msg(btc200, "delta", 2, `["100.25","1.5"]`, ``), ErrMalformed},
		{msg(btc200, "delta", 3, `["100.1","1"]`, ``), nil}, // dropped
		{msg(btc200, "snapshot", 10, `["100.25","1.5"]`, `["101","2"]`), nil},
		{msg(btc200, "delta", 11, `["100.5","0.5"]`, ``), nil},
	}
	for i, st := range steps {
		if err := f.Handle(st.frame, 0); err != st.err {
			t.Fatalf("step %d: %v, want %v", i, err, st.err)
		}
	}
	sym := f.Symbol("BTCUSDT")
	if sym.Inst.PriceExp != 2 || sym.Inst.QtyExp != 1 || sym.Book.State() != book.Live {
		t.Errorf("exponents %d, %d state %v; want 2, 1, live", sym.Inst.PriceExp, sym.Inst.QtyExp, sym.Book.State())
	}
	want := [2][]book.Level{{{Price: 10050, Qty: 5}, {Price: 10025, Qty: 15}}, {{Price: 10100, Qty: 20}}}
	if got := levelsOf(sym.Book); !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
		t.Errorf("levels %v, want %v", got, want)
	}
	// Configured exponents never change.
	ins := []market.Instrument{{Venue: market.Bybit, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 1, QtyExp: 0}}
	f = newFeed(t, Config{Instruments: ins})
	f.Handle(steps[0].frame, 0)
	f.Handle(steps[1].frame, 0)
	if sym := f.Symbol("BTCUSDT"); sym.Inst.PriceExp != 1 || sym.Inst.QtyExp != 0 {
		t.Errorf("configured exponents changed to %d, %d", sym.Inst.PriceExp, sym.Inst.QtyExp)
	}
}

// TestMaxLevels: a message with more levels than Config.MaxLevels is
// malformed.
func TestMaxLevels(t *testing.T) {
	f := newFeed(t, Config{MaxLevels: 3})
	if err := f.Handle(msg(btc200, "snapshot", 1, `["1","1"],["0.9","1"]`, `["2","1"]`), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Handle(msg(btc200, "delta", 2, `["1","1"],["0.9","1"]`, `["2","1"],["3","1"]`), 0); err != ErrMalformed {
		t.Fatalf("err %v, want ErrMalformed", err)
	}
	if cause, _ := f.LastError(); cause != jscan.ErrTooMany {
		t.Errorf("cause %v, want %v", cause, jscan.ErrTooMany)
	}
}

func TestConfig(t *testing.T) {
	in := market.Instrument{Venue: market.Bybit, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 1, QtyExp: 3}
	other := in
	other.Venue = market.OKX
	dup := in
	dup.Symbol = "btcusdt"
	bad := in
	bad.PriceExp = 19
	for _, tc := range []struct {
		cfg  Config
		want string // substring of the error; "" for none
	}{
		{Config{Category: Spot}, ""},
		{Config{Category: Linear, Instruments: []market.Instrument{in}, TopN: 32, MaxDepth: 1000, MaxLevels: 10, MaxSymbols: 1}, ""},
		{Config{}, "category"},
		{Config{Category: 9}, "category"},
		{Config{Category: Spot, TopN: 33}, "top-n"},
		{Config{Category: Spot, MaxDepth: -1}, "max depth"},
		{Config{Category: Spot, MaxLevels: -1}, "max levels"},
		{Config{Category: Spot, MaxSymbols: -1}, "max symbols"},
		{Config{Category: Spot, Instruments: []market.Instrument{other}}, "venue okx"},
		{Config{Category: Spot, Instruments: []market.Instrument{in, dup}}, "duplicate"},
		{Config{Category: Spot, Instruments: []market.Instrument{bad}}, "exponent"},
	} {
		_, err := New(tc.cfg)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("New(%+v): %v, want %q", tc.cfg, err, tc.want)
		}
	}
	f := newFeed(t, Config{Category: Spot})
	if c := f.Config(); c.MaxLevels != DefaultMaxLevels || c.MaxSymbols != DefaultMaxSymbols {
		t.Errorf("defaults %+v", c)
	}
}

func TestCategory(t *testing.T) {
	for _, c := range []Category{Spot, Linear} {
		p, err := ParseCategory(strings.ToUpper(c.String()))
		if err != nil || p != c {
			t.Errorf("ParseCategory(%q) = %v, %v", c, p, err)
		}
		if !strings.HasSuffix(c.URL(), "/v5/public/"+c.String()) {
			t.Errorf("%v: URL %s", c, c.URL())
		}
	}
	if _, err := ParseCategory("inverse"); err == nil {
		t.Error("ParseCategory(inverse): no error")
	}
	if CategoryUnknown.URL() != "" || Category(7).String() != "category(7)" {
		t.Error("unknown category")
	}
}

// TestTakeResyncs: a topic whose snapshot arrived before the request was
// taken is not returned; the queue has room for every symbol.
func TestTakeResyncs(t *testing.T) {
	f := newFeed(t, Config{})
	eth := "orderbook.50.ETHUSDT"
	for _, fr := range [][]byte{
		msg(btc200, "snapshot", 1, `["1","1"]`, `["2","1"]`),
		msg(eth, "snapshot", 1, `["1","1"]`, `["2","1"]`),
		msg(btc200, "delta", 5, ``, ``),
		msg(eth, "delta", 5, ``, ``),
		msg(btc200, "snapshot", 9, `["1","1"]`, `["2","1"]`),
	} {
		f.Handle(fr, 0)
	}
	if got := f.TakeResyncs(make([]string, 0, 4)); !slices.Equal(got, []string{eth}) {
		t.Errorf("resyncs %v, want [%s]", got, eth)
	}
	if got := f.TakeResyncs(nil); got != nil {
		t.Errorf("resyncs taken twice: %v", got)
	}
	if cap(f.resync) < len(f.syms) {
		t.Errorf("resync queue cap %d < %d symbols", cap(f.resync), len(f.syms))
	}
}
