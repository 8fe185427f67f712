package coinbase

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"arbmm/book"
	"arbmm/internal/capture"
	"arbmm/internal/market"
)

// frame builds an l2_data frame in Coinbase's layout. Each event is
// "type product side:px:qty side:px:qty ...".
func frame(seq int64, events ...string) []byte {
	b := []byte(`{"channel":"l2_data","client_id":"","timestamp":"2026-08-09T21:05:48.483587501Z","sequence_num":`)
	b = fmt.Appendf(b, "%d", seq)
	b = append(b, `,"events":[`...)
	for i, ev := range events {
		if i > 0 {
			b = append(b, ',')
		}
		f := strings.Fields(ev)
		b = fmt.Appendf(b, `{"type":%q,"product_id":%q,"updates":[`, f[0], f[1])
		for j, lv := range f[2:] {
			if j > 0 {
				b = append(b, ',')
			}
			p := strings.Split(lv, ":")
			b = fmt.Appendf(b, `{"side":%q,"event_time":"2026-08-09T21:05:48.170326Z","price_level":%q,"new_quantity":%q}`, p[0], p[1], p[2])
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

func heartbeat(seq int64) []byte {
	return fmt.Appendf(nil, `{"channel":"heartbeats","client_id":"","timestamp":"2026-08-09T21:05:49.1Z","sequence_num":%d,"events":[{"current_time":"2026-08-09 21:05:49.1 +0000 UTC","heartbeat_counter":1}]}`, seq)
}

var testInstruments = []market.Instrument{
	{Venue: market.Coinbase, Symbol: "BTC-USD", Pair: market.Pair{Base: "BTC", Quote: "USD"}, PriceExp: 2, QtyExp: 8},
	{Venue: market.Coinbase, Symbol: "ETH-USD", Pair: market.Pair{Base: "ETH", Quote: "USD"}, PriceExp: 2, QtyExp: 8},
}

// top returns the best level of each side of sym's book as "px@qty".
func top(sym *Symbol) string {
	var t book.Top
	sym.Book.Read(&t)
	s := ""
	for _, lv := range [2][]book.Level{t.Side(market.Bid), t.Side(market.Ask)} {
		if len(lv) == 0 {
			s += "-/"
			continue
		}
		s += sym.Inst.FormatPrice(lv[0].Price) + "@" + sym.Inst.FormatQty(lv[0].Qty) + "/"
	}
	return strings.TrimSuffix(s, "/")
}

func TestHandleBasics(t *testing.T) {
	f := newFeed(t, Config{Instruments: testInstruments})
	btc, eth := f.Symbol("BTC-USD"), f.Symbol("ETH-USD")
	check := func(fr []byte, want error) {
		t.Helper()
		if err := f.Handle(fr, 7); err != want {
			t.Fatalf("Handle(%.120s) = %v, want %v", fr, err, want)
		}
	}
	// An update before any snapshot is dropped and asks for one.
	check(frame(0, "update BTC-USD bid:100.00:1"), nil)
	if btc.Dropped != 1 || btc.Book.State() != book.Stale {
		t.Fatalf("update before snapshot: dropped %d state %v", btc.Dropped, btc.Book.State())
	}
	if got := f.TakeResyncs(nil); !slices.Equal(got, []string{"BTC-USD"}) {
		t.Fatalf("resyncs %v", got)
	}
	check(frame(1, "snapshot BTC-USD bid:100.00:1 bid:99.5:2 offer:101:0.5 offer:102.25:3"), nil)
	if btc.Book.State() != book.Live || top(btc) != "100.00@1.00000000/101.00@0.50000000" {
		t.Fatalf("after snapshot: %v %s", btc.Book.State(), top(btc))
	}
	check(heartbeat(2), nil)
	check(frame(3, "update BTC-USD bid:100.00:0 offer:100.5:0.25"), nil)
	if top(btc) != "99.50@2.00000000/100.50@0.25000000" || btc.Updates != 1 {
		t.Fatalf("after update: %s updates %d", top(btc), btc.Updates)
	}
	var tp book.Top
	btc.Book.Read(&tp)
	if tp.Seq != 3 || tp.RecvTime != 7 || tp.ExchTime != time.Date(2026, 8, 9, 21, 5, 48, 483587501, time.UTC).UnixNano() {
		t.Fatalf("top seq %d recv %d exch %d", tp.Seq, tp.RecvTime, tp.ExchTime)
	}
	// Two events in one frame, one for another product; snapshot then
	// update of ETH in the same frame applies in order.
	check(frame(4, "snapshot ETH-USD bid:10:1 offer:11:1", "update ETH-USD bid:10.5:2"), nil)
	if eth.Book.State() != book.Live || top(eth) != "10.50@2.00000000/11.00@1.00000000" || eth.Snapshots != 1 || eth.Updates != 1 {
		t.Fatalf("eth: %v %s", eth.Book.State(), top(eth))
	}
	// Unknown product: counted, the rest of the frame applied.
	check(frame(5, "update SOL-USD bid:1:1", "update ETH-USD bid:10.5:3"), ErrUnknownSymbol)
	if top(eth) != "10.50@3.00000000/11.00@1.00000000" {
		t.Fatalf("eth after mixed frame: %s", top(eth))
	}
	// A crossing update: Stale, resync requested, ErrCrossed.
	check(frame(6, "update ETH-USD bid:11:1"), book.ErrCrossed)
	if eth.Book.State() != book.Stale || eth.Book.Stats().Crossed != 1 {
		t.Fatalf("crossed: %v %+v", eth.Book.State(), eth.Book.Stats())
	}
	if got := f.TakeResyncs(nil); !slices.Equal(got, []string{"ETH-USD"}) {
		t.Fatalf("resyncs %v", got)
	}
	// Updates to a stale book are dropped (and the frame Ignored).
	ign := f.Counters().Ignored.Load()
	check(frame(7, "update ETH-USD bid:9:1"), nil)
	if eth.Dropped != 1 || f.Counters().Ignored.Load() != ign+1 {
		t.Fatalf("dropped %d", eth.Dropped)
	}
	// A gap: every book Stale, one gap each, both queued.
	check(heartbeat(9), ErrGap)
	if c := f.Conn(); c.Gaps != 1 || c.LastSeq != 9 || c.FirstSeq != 0 || c.Sequenced != 9 {
		t.Fatalf("conn %+v", c)
	}
	for _, sym := range f.Symbols() {
		if sym.Book.State() != book.Stale || sym.Book.Stats().Gaps != 1 {
			t.Fatalf("%s after gap: %v %+v", sym.Name, sym.Book.State(), sym.Book.Stats())
		}
	}
	if got := f.TakeResyncs(nil); !slices.Equal(got, []string{"BTC-USD", "ETH-USD"}) {
		t.Fatalf("resyncs %v", got)
	}
	// The frame that shows a gap may itself be the snapshot that recovers.
	check(frame(11, "snapshot BTC-USD bid:100:1 offer:101:1"), ErrGap)
	if btc.Book.State() != book.Live || eth.Book.State() != book.Stale {
		t.Fatalf("states %v %v", btc.Book.State(), eth.Book.State())
	}
	if got := f.TakeResyncs(nil); !slices.Equal(got, []string{"ETH-USD"}) {
		t.Fatalf("resyncs %v, want the product still waiting", got)
	}
	cv := f.Counters().Load()
	if cv.Frames != 10 || cv.Unknown != 1 || cv.DecodeErrors != 0 || f.Conn().Gaps != 2 {
		t.Fatalf("counters %+v conn %+v", cv, f.Conn())
	}
	if cv.Resyncs != 1+1+2+2 { // BTC before its snapshot, ETH crossed, two gaps × two products
		t.Fatalf("resyncs %d", cv.Resyncs)
	}
}

// TestClassify: frames that are not book data are Ignored (their
// sequence_num still counts), broken ones are DecodeErrors.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		frame   string
		want    error
		seq     int64 // -1: none
		ignored bool
	}{
		{`{"channel":"heartbeats","client_id":"","timestamp":"2026-08-09T21:05:49Z","sequence_num":0,"events":[]}`, nil, 0, true},
		{`{"channel":"ticker","sequence_num":0,"events":[{"type":"update","tickers":[]}]}`, nil, 0, true},
		{`{"sequence_num":0,"channel":"market_trades","events":{"not":"an array"}}`, nil, 0, true},
		{`{"type":"error","message":"failure to subscribe"}`, nil, -1, true},
		{`{"channel":"subscriptions","events":[]}`, nil, -1, true},
		{`{"channel":"l2_data","sequence_num":0,"events":[]}`, nil, 0, true},
		{`{"events":[],"channel":"l2_data","sequence_num":0}`, nil, 0, true},
		{`{"channel":"l2_data","events":[]}`, ErrMalformed, -1, false},
		{`{"channel":"l2_data","sequence_num":-1,"events":[]}`, ErrMalformed, -1, false},
		{`{"channel":"l2_data","sequence_num":0}`, ErrMalformed, 0, false},
		{`{"channel":"l2_data","sequence_num":0,"sequence_num":1,"events":[]}`, ErrMalformed, 0, false},
		{`{"channel":"l2_data","sequence_num":0,"events":[{"type":"delta","product_id":"BTC-USD","updates":[]}]}`, ErrMalformed, 0, false},
		{`{"channel":"l2_data","sequence_num":0,"events":[{"type":"update","product_id":"BTC-USD"}]}`, ErrMalformed, 0, false},
		{`not json`, ErrMalformed, -1, false},
		{``, ErrMalformed, -1, false},
		{`{"channel":"heartbeats","sequence_num":"x"}`, ErrMalformed, -1, false},
	} {
		f := newFeed(t, Config{Instruments: testInstruments})
		err := f.Handle([]byte(tc.frame), 0)
		c, cv := f.Conn(), f.Counters().Load()
		if err != tc.want || c.LastSeq != tc.seq || (cv.Ignored == 1) != tc.ignored || (cv.DecodeErrors == 1) != (tc.want == ErrMalformed) {
			t.Errorf("%s: err %v seq %d counters %+v; want %v seq %d ignored %v", tc.frame, err, c.LastSeq, cv, tc.want, tc.seq, tc.ignored)
		}
	}
}

// TestCorruptedFrames: a real update frame with one bad level is rejected
// whole: the book is exactly as before, its product Stale and queued, the
// other product untouched.
func TestCorruptedFrames(t *testing.T) {
	frames, _ := recvFrames(t)
	// The first BTC-USD update with at least 4 levels after both snapshots.
	var idx int
	for i, fr := range frames {
		if i > 28 && bytes.Contains(fr, []byte(`"update","product_id":"BTC-USD"`)) && bytes.Count(fr, []byte(`"side"`)) >= 4 {
			idx = i
			break
		}
	}
	orig := frames[idx]
	// setValue replaces the string value of the n-th (0-based) key.
	setValue := func(key string, n int, v string) []byte {
		off := 0
		for ; n >= 0; n-- {
			i := bytes.Index(orig[off:], []byte(`"`+key+`":"`))
			if i < 0 {
				t.Fatalf("no %s #%d", key, n)
			}
			off += i + len(key) + 4
		}
		end := off + bytes.IndexByte(orig[off:], '"')
		return slices.Concat(orig[:off], []byte(v), orig[end:])
	}
	dupKey := bytes.Replace(orig, []byte(`"price_level":"`), []byte(`"price_level":"1","price_level":"`), 1)
	for _, tc := range []struct {
		name  string
		frame []byte
		cause error
	}{
		{"letter in price", setValue("price_level", 2, "6508x.66"), market.ErrSyntax},
		{"price finer than the tick", setValue("price_level", 2, "65083.661"), market.ErrPrecision},
		{"quantity finer than the step", setValue("new_quantity", 3, "0.000000001"), market.ErrPrecision},
		{"negative quantity", setValue("new_quantity", 2, "-1"), errLevel},
		{"zero price", setValue("price_level", 3, "0"), errLevel},
		{"bad side", setValue("side", 2, "ask"), errSide},
		{"quantity not a string or number", bytes.Replace(setValue("new_quantity", 1, "X"), []byte(`"X"`), []byte(`true`), 1), nil},
		{"truncated", orig[:len(orig)-3], nil},
		{"duplicate price key", dupKey, errDup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := replay(t, modeHTTP, func(i int, _ []byte) bool { return i < idx })
			btc, eth := f.Symbol("BTC-USD"), f.Symbol("ETH-USD")
			before, ethBefore := levelsOf(btc.Book), levelsOf(eth.Book)
			if err := f.Handle(tc.frame, 1); err != ErrMalformed {
				t.Fatalf("Handle = %v, want ErrMalformed", err)
			}
			cause, _ := f.LastError()
			if tc.cause != nil && !errors.Is(cause, tc.cause) {
				t.Errorf("cause %v, want %v", cause, tc.cause)
			}
			if got := levelsOf(btc.Book); !equalLevels(got, before) {
				t.Errorf("book changed by a rejected frame")
			}
			if btc.Book.State() != book.Stale || eth.Book.State() != book.Live || !equalLevels(levelsOf(eth.Book), ethBefore) {
				t.Errorf("states %v %v, want stale, live", btc.Book.State(), eth.Book.State())
			}
			if got := f.TakeResyncs(nil); !slices.Equal(got, []string{"BTC-USD"}) {
				t.Errorf("resyncs %v", got)
			}
			// The sequence_num was read: the next frame is not a gap.
			if err := f.Handle(frames[idx+1], 1); err != nil {
				t.Fatal(err)
			}
			if c := f.Conn(); c.Gaps != 0 {
				t.Errorf("gaps %d after a malformed frame whose sequence_num was read", c.Gaps)
			}
		})
	}
}

// TestUnattributedMalformed: a bad l2_data frame whose product was not
// read resyncs every product.
func TestUnattributedMalformed(t *testing.T) {
	f := newFeed(t, Config{Instruments: testInstruments})
	f.Handle(frame(0, "snapshot BTC-USD bid:1:1 offer:2:1"), 0)
	f.Handle(frame(1, "snapshot ETH-USD bid:1:1 offer:2:1"), 0)
	bad := []byte(`{"channel":"l2_data","sequence_num":2,"events":[{"type":"update","updates":[{"side":"bid","price_level":"x","new_quantity":"1"}],"product_id":"BTC-USD"}]}`)
	if err := f.Handle(bad, 0); err != ErrMalformed {
		t.Fatalf("Handle = %v", err)
	}
	if got := f.TakeResyncs(nil); !slices.Equal(got, []string{"BTC-USD", "ETH-USD"}) {
		t.Fatalf("resyncs %v, want both", got)
	}
	// A garbage frame without a readable sequence_num touches nothing; the
	// next sequenced frame shows the gap.
	f = newFeed(t, Config{Instruments: testInstruments})
	f.Handle(frame(0, "snapshot BTC-USD bid:1:1 offer:2:1"), 0)
	if err := f.Handle([]byte(`{"sequence_num":1,`), 0); err != ErrMalformed {
		t.Fatalf("Handle = %v", err)
	}
	if f.Symbol("BTC-USD").Book.State() != book.Stale {
		t.Fatalf("a truncated frame whose sequence_num was read must resync (it may have been book data)")
	}
	f = newFeed(t, Config{Instruments: testInstruments})
	f.Handle(frame(0, "snapshot BTC-USD bid:1:1 offer:2:1"), 0)
	f.Handle([]byte(`{"sequence_nu`), 0)
	if f.Symbol("BTC-USD").Book.State() != book.Live {
		t.Fatalf("garbage without a sequence_num resynced")
	}
	if err := f.Handle(heartbeat(2), 0); err != ErrGap || f.Symbol("BTC-USD").Book.State() != book.Stale {
		t.Fatalf("Handle = %v: the lost frame must show as a gap", err)
	}
}

// TestLearnedExponents: without metadata the exponents come from the
// snapshot's decimals; a finer value later is an error that resyncs, and
// the next snapshot widens the exponents even if it no longer has the
// finer value.
func TestLearnedExponents(t *testing.T) {
	f := newFeed(t, Config{})
	check := func(fr []byte, want error) {
		t.Helper()
		if err := f.Handle(fr, 0); err != want {
			t.Fatalf("Handle(%.150s) = %v, want %v", fr, err, want)
		}
	}
	check(frame(0, "snapshot BTC-USD bid:100.5:1.25 bid:99:2 offer:101.25:0.5"), nil)
	btc := f.Symbol("BTC-USD")
	if btc.Inst.PriceExp != 2 || btc.Inst.QtyExp != 2 || top(btc) != "100.50@1.25/101.25@0.50" {
		t.Fatalf("learned %d/%d %s", btc.Inst.PriceExp, btc.Inst.QtyExp, top(btc))
	}
	check(frame(1, "update BTC-USD bid:100.5:1.5"), nil)
	check(frame(2, "update BTC-USD bid:100.125:1"), ErrMalformed)
	if btc.Book.State() != book.Stale || btc.wantPD != 3 {
		t.Fatalf("state %v want %d", btc.Book.State(), btc.wantPD)
	}
	check(frame(3, "snapshot BTC-USD bid:100.5:1.5 offer:101.25:0.5"), nil)
	if btc.Inst.PriceExp != 3 || btc.Inst.QtyExp != 2 || top(btc) != "100.500@1.50/101.250@0.50" {
		t.Fatalf("widened %d/%d %s", btc.Inst.PriceExp, btc.Inst.QtyExp, top(btc))
	}
	check(frame(4, "update BTC-USD bid:100.125:1"), nil)
	// A snapshot widening the exponents and an update in the same frame:
	// the update is rescaled to the new exponents.
	check(frame(5, "snapshot BTC-USD bid:100.5:1.125 offer:101.25:0.5", "update BTC-USD bid:100.25:1.5"), nil)
	if btc.Inst.QtyExp != 3 || top(btc) != "100.500@1.125/101.250@0.500" || btc.Book.Find(market.Bid, 100250) != 1500 {
		t.Fatalf("same-frame widening %d %s", btc.Inst.QtyExp, top(btc))
	}
	// Exponents never shrink.
	check(frame(6, "snapshot BTC-USD bid:100:1 offer:101:1"), nil)
	if btc.Inst.PriceExp != 3 || btc.Inst.QtyExp != 3 {
		t.Fatalf("shrank to %d/%d", btc.Inst.PriceExp, btc.Inst.QtyExp)
	}
	// A products response arriving later is adopted at the next snapshot.
	if err := f.HandleProducts([]byte(`{"products":[{"product_id":"BTC-USD","quote_increment":"0.01","base_increment":"0.00000001","base_currency_id":"BTC","quote_currency_id":"USD"}]}`)); err != nil {
		t.Fatal(err)
	}
	if btc.Inst.PriceExp != 3 {
		t.Fatalf("exponents changed before a snapshot")
	}
	check(frame(7, "snapshot BTC-USD bid:100:1 offer:101:1"), nil)
	if btc.Inst.PriceExp != 2 || btc.Inst.QtyExp != 8 || btc.Inst.Pair.Base != "BTC" || top(btc) != "100.00@1.00000000/101.00@1.00000000" {
		t.Fatalf("adopted %+v %s", btc.Inst, top(btc))
	}
	if f.Counters().Load().DecodeErrors != 1 {
		t.Fatalf("decode errors %d", f.Counters().Load().DecodeErrors)
	}
}

func TestMaxSymbolsAndLevels(t *testing.T) {
	f := newFeed(t, Config{MaxSymbols: 1, MaxLevels: 3})
	if err := f.Handle(frame(0, "snapshot A-USD bid:1:1 offer:2:1"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Handle(frame(1, "snapshot B-USD bid:1:1 offer:2:1"), 0); err != ErrUnknownSymbol {
		t.Fatalf("past MaxSymbols: %v", err)
	}
	if err := f.Handle(frame(2, "snapshot A-USD bid:1:1 bid:0.5:1 offer:2:1 offer:3:1"), 0); err != ErrMalformed {
		t.Fatalf("past MaxLevels: %v", err)
	}
	if cause, _ := f.LastError(); cause != errLevels {
		t.Fatalf("cause %v", cause)
	}
}

func TestReset(t *testing.T) {
	f := newFeed(t, Config{Instruments: testInstruments})
	f.Handle(frame(5, "snapshot BTC-USD bid:1:1 offer:2:1"), 0)
	f.Handle(frame(7, "update BTC-USD bid:1:2"), 0) // gap: both queued
	f.Reset()
	if got := f.TakeResyncs(nil); len(got) != 0 {
		t.Fatalf("resyncs %v after Reset", got)
	}
	if c := f.Conn(); c.FirstSeq != -1 || c.LastSeq != -1 || c.Sequenced != 0 || c.Gaps != 1 {
		t.Fatalf("conn %+v", c)
	}
	// A new connection starts at any sequence_num.
	if err := f.Handle(frame(0, "snapshot BTC-USD bid:1:1 offer:2:1"), 0); err != nil {
		t.Fatal(err)
	}
	if f.Symbol("BTC-USD").Book.State() != book.Live || f.Symbol("ETH-USD").Book.State() != book.Stale {
		t.Fatalf("states after Reset and a snapshot")
	}
}

func TestConfig(t *testing.T) {
	bad := []Config{
		{MaxDepth: -1},
		{TopN: book.MaxTop + 1},
		{MaxLevels: -1},
		{MaxLevels: maxMaxLevels + 1},
		{MaxSymbols: -1},
		{Instruments: []market.Instrument{{Venue: market.Kraken, Symbol: "BTC-USD", Pair: market.Pair{Base: "BTC", Quote: "USD"}}}},
		{Instruments: []market.Instrument{testInstruments[0], testInstruments[0]}},
		{Instruments: []market.Instrument{{Venue: market.Coinbase, Symbol: "BTC-USD"}}},
	}
	for _, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	f := newFeed(t, Config{})
	if f.cfg.MaxLevels != DefaultMaxLevels || f.cfg.MaxSymbols != DefaultMaxSymbols || cap(f.dec.m.levels) != DefaultMaxLevels {
		t.Errorf("defaults %+v", f.cfg)
	}
}

func TestParseProducts(t *testing.T) {
	ins := captureInstruments(t)
	want := []market.Instrument{
		{Venue: market.Coinbase, Symbol: "BTC-USD", Pair: market.Pair{Base: "BTC", Quote: "USD"}, PriceExp: 2, QtyExp: 8, Tick: 1, Step: 1, MinQty: 1, MinNotional: 100},
		{Venue: market.Coinbase, Symbol: "ETH-USD", Pair: market.Pair{Base: "ETH", Quote: "USD"}, PriceExp: 2, QtyExp: 8, Tick: 1, Step: 1, MinQty: 1, MinNotional: 100},
	}
	if !slices.Equal(ins, want) {
		t.Fatalf("got %+v\nwant %+v", ins, want)
	}
	for _, tc := range []struct {
		body string
		want market.Instrument
	}{
		// A single product; display symbols when the currency ids are
		// missing; a coarser tick than quote_increment; minimums rounded up.
		{`{"product_id":"SHIB-USD","price_increment":"0.0000010","quote_increment":"0.00000001","base_increment":"1","base_min_size":"1.5","quote_min_size":"0.000000015","base_display_symbol":"SHIB","quote_display_symbol":"USD"}`,
			market.Instrument{Venue: market.Coinbase, Symbol: "SHIB-USD", Pair: market.Pair{Base: "SHIB", Quote: "USD"}, PriceExp: 8, QtyExp: 0, Tick: 100, Step: 1, MinQty: 2, MinNotional: 2}},
		{`{"products":[{"product_id":"X-Y","quote_increment":"5","base_increment":"10","base_currency_id":"X","quote_currency_id":"Y"}]}`,
			market.Instrument{Venue: market.Coinbase, Symbol: "X-Y", Pair: market.Pair{Base: "X", Quote: "Y"}, Tick: 5, Step: 10}},
	} {
		got, err := ParseProducts([]byte(tc.body))
		if err != nil || len(got) != 1 || got[0] != tc.want {
			t.Errorf("ParseProducts(%s) = %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
	}
	for _, body := range []string{
		`[]`, `{}`, `{"products":[{"quote_increment":"0.01","base_increment":"1"}]}`,
		`{"products":[{"product_id":"A-B","base_increment":"1","base_currency_id":"A","quote_currency_id":"B"}]}`,
		`{"products":[{"product_id":"A-B","quote_increment":"0","base_increment":"1","base_currency_id":"A","quote_currency_id":"B"}]}`,
		`{"products":[{"product_id":"A-B","quote_increment":"x","base_increment":"1","base_currency_id":"A","quote_currency_id":"B"}]}`,
		`{"products":[{"product_id":"A-B","quote_increment":"1","base_increment":"1"}]}`,
		`{"products":[{"product_id":"A-B","quote_increment":"1","base_increment":"1","base_currency_id":"A","quote_currency_id":"B"},{"product_id":"A-B","quote_increment":"1","base_increment":"1","base_currency_id":"A","quote_currency_id":"B"}]}`,
	} {
		if _, err := ParseProducts([]byte(body)); err == nil {
			t.Errorf("ParseProducts(%s) accepted", body)
		}
	}
}

// TestAppendSubscribe: the requests are byte for byte those the capture's
// recorder sent, and valid JSON with any product name.
func TestAppendSubscribe(t *testing.T) {
	var sent [][]byte
	for _, r := range readCapture(t) {
		if r.kind == capture.KindSend {
			sent = append(sent, r.data)
		}
	}
	products := []string{"BTC-USD", "ETH-USD"}
	for _, ch := range []string{ChannelLevel2, ChannelHeartbeats} {
		got := AppendSubscribe(nil, products, ch)
		if !slices.ContainsFunc(sent, func(s []byte) bool { return bytes.Equal(s, got) }) {
			t.Errorf("AppendSubscribe(%s) = %s, not among the capture's requests", ch, got)
		}
	}
	if got := string(AppendUnsubscribe([]byte("x"), nil, ChannelHeartbeats)); got != `x{"type":"unsubscribe","channel":"heartbeats"}` {
		t.Errorf("AppendUnsubscribe = %s", got)
	}
	odd := []string{"a\"b", "c\\d", "\x00\x1f", "é", "\xff", ""}
	b := AppendSubscribe(nil, odd, "level2")
	var req struct {
		Type     string   `json:"type"`
		Products []string `json:"product_ids"`
		Channel  string   `json:"channel"`
	}
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	want := slices.Clone(odd)
	want[4] = "\ufffd"
	if req.Type != "subscribe" || req.Channel != "level2" || !slices.Equal(req.Products, want) {
		t.Errorf("round trip %+v", req)
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{
		"2026-08-09T21:05:48.483587501Z", "2026-08-09T21:05:48Z", "2026-08-09T21:05:48.1Z",
		"1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z", "2000-02-29T12:00:00.5Z",
		"2262-04-11T23:47:16.854775807Z", "1677-09-21T00:12:43.145224192Z", "0001-01-01T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-08-09T24:00:00Z", "2026-08-09T21:05:60Z",
		"2026-08-09T21:05:48.Z", "2026-08-09T21:05:48.1234567890Z", "2026-08-09 21:05:48Z",
		"2026-08-09T21:05:48+00:00", "2026-08-09T21:05:48.48z", "2026-8-09T21:05:48Z", "", "Z",
	} {
		got, ok := parseTime([]byte(s))
		ref, err := time.Parse(time.RFC3339Nano, s)
		want := err == nil && strings.HasSuffix(s, "Z") && len(s) <= 30 && ref.Year() > 1677 && ref.Year() < 2262
		if ok != want || ok && got != ref.UnixNano() {
			t.Errorf("parseTime(%q) = %d %v, want %d %v (%v)", s, got, ok, ref.UnixNano(), want, err)
		}
	}
}

func TestWireDecimals(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		err  bool
	}{
		{"65086.18", 2, false}, {"0.10", 1, false}, {"7", 0, false}, {"100.000", 0, false},
		{"1.5e-3", 4, false}, {"15E+2", 0, false}, {"-0.25", 2, false},
		{"0.0000000000000000001", 0, true}, {"x", 0, true}, {"1e30", 0, true}, {"", 0, true},
	} {
		got, err := wireDecimals([]byte(tc.in))
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("wireDecimals(%q) = %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestStrEnd checks the word-at-a-time string scanner against a byte loop
// at every alignment.
func TestStrEnd(t *testing.T) {
	ref := func(b []byte, i int) (int, bool) {
		for ; i < len(b); i++ {
			switch c := b[i]; {
			case c == '"':
				return i, true
			case c < 0x20 || c == '\\' || c >= 0x80:
				return 0, false
			}
		}
		return 0, false
	}
	for _, s := range []string{`abc"`, `2026-08-09T21:05:48.170326Z",`, `abcdefgh\"x"`, "abcdefghij\x1f\"", "abcdefghijk\x80\"", `abcdefghijklmnop`, `"`, `!#$%&'()*+,-./0123456789:;<=>?@[]^_{|}~"`, "\x7f\x20\"", ""} {
		for pad := 0; pad < 9; pad++ {
			b := append(bytes.Repeat([]byte{'a'}, pad), s...)
			gi, gok := strEnd(b, pad)
			wi, wok := ref(b, pad)
			if gi != wi || gok != wok {
				t.Errorf("strEnd(%q, %d) = %d %v, want %d %v", b, pad, gi, gok, wi, wok)
			}
		}
	}
}

// TestCaptureAgainstModel replays the capture and, after every l2_data
// frame, compares each book's published top-N with a naive map book built
// from the sonic reference decoder.
func TestCaptureAgainstModel(t *testing.T) {
	frames, ts := recvFrames(t)
	f := newFeed(t, Config{Instruments: captureInstruments(t)})
	models := map[string]*modelBook{}
	var tp book.Top
	for i, fr := range frames {
		if err := f.Handle(fr, ts[i]); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		ref, ok := reference(fr)
		if !ok {
			t.Fatalf("frame %d: reference rejects it", i)
		}
		for k := range ref.events {
			e := &ref.events[k]
			mb := models[e.product]
			if mb == nil {
				mb = newModelBook()
				models[e.product] = mb
			}
			mb.apply(e)
			sym := f.Symbol(e.product)
			sym.Book.Read(&tp)
			want := mb.levels(book.DefaultTopN)
			got := [2][]book.Level{tp.Side(market.Bid), tp.Side(market.Ask)}
			if !equalLevels(got, want) || sym.Book.Seq() != ref.seq {
				t.Fatalf("frame %d %s: top\n got %v\nwant %v", i, e.product, got, want)
			}
		}
	}
}

// TestConcurrentReaders: the feed goroutine replays the capture while
// another goroutine reads the books' snapshots; every snapshot read is
// uncrossed and its sequence never goes back (run with -race).
func TestConcurrentReaders(t *testing.T) {
	frames, _ := recvFrames(t)
	f := newFeed(t, Config{Instruments: captureInstruments(t)})
	syms := f.Symbols()
	done := make(chan struct{})
	var wg sync.WaitGroup
	reads := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		var tp book.Top
		last := [2]int64{-1, -1}
		for {
			select {
			case <-done:
				return
			default:
			}
			for k, sym := range syms {
				sym.Book.Read(&tp)
				reads++
				if tp.Seq < last[k] {
					t.Errorf("%s: seq went back %d → %d", sym.Name, last[k], tp.Seq)
					return
				}
				last[k] = tp.Seq
				if tp.State == book.Live && tp.NBids > 0 && tp.NAsks > 0 && tp.Bids[0].Price >= tp.Asks[0].Price {
					t.Errorf("%s: live snapshot crossed", sym.Name)
					return
				}
			}
		}
	}()
	for _, fr := range frames {
		if err := f.Handle(fr, 1); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if reads == 0 {
		t.Fatal("the reader never read")
	}
}
