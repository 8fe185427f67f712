package coinbase

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bytedance/sonic"

	"arbmm/book"
	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// Exponents the differential parses every product at: those of BTC-USD and
// ETH-USD.
const (
	fuzzPriceExp = 2
	fuzzQtyExp   = 8
)

// decoded is the comparable result of decoding one frame, by our decoder
// or by the sonic reference.
type decoded struct {
	book    bool // an l2_data frame accepted as book data
	hasSeq  bool
	seq     int64
	hasExch bool
	exch    int64
	events  []decodedEvent
}

type decodedEvent struct {
	snapshot bool
	product  string
	levels   [2][][2]int64 // per side, in wire order
}

func (d decoded) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "book %v seq %v/%d exch %v/%d", d.book, d.hasSeq, d.seq, d.hasExch, d.exch)
	for _, e := range d.events {
		fmt.Fprintf(&b, " {snap %v %q bids %v asks %v}", e.snapshot, e.product, e.levels[0], e.levels[1])
	}
	return b.String()
}

func equalDecoded(a, b decoded) bool {
	if a.book != b.book || a.hasSeq != b.hasSeq || a.seq != b.seq || len(a.events) != len(b.events) {
		return false
	}
	if a.hasExch && b.hasExch && a.exch != b.exch {
		return false
	}
	for i := range a.events {
		x, y := &a.events[i], &b.events[i]
		if x.snapshot != y.snapshot || x.product != y.product {
			return false
		}
		for s := range x.levels {
			if !slices.Equal(x.levels[s], y.levels[s]) {
				return false
			}
		}
	}
	return true
}

var refAPI = sonic.Config{UseNumber: true}.Froze()

// reference decodes frame with sonic into generic values and converts the
// numbers with market.ParseFixed at the fuzz exponents: an independent path
// to what our decoder must produce. It reports false for a frame that is
// not valid JSON, or an l2_data frame that is not valid book data:
// sequence_num missing or not a non-negative integer, events not an array
// of objects each with a type ("snapshot" or "update"), a string
// product_id and an updates array of objects each with a side ("bid" or
// "offer"), a positive price_level and a non-negative new_quantity (strings
// or numbers). For a frame of another channel it reports the sequence_num
// when there is a valid one, and book false.
func reference(frame []byte) (decoded, bool) {
	var top map[string]any
	if err := refAPI.Unmarshal(frame, &top); err != nil || top == nil {
		return decoded{}, false
	}
	var out decoded
	num := func(v any, exp int) (int64, bool) {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case interface{ String() string }: // json.Number
			s = x.String()
		default:
			return 0, false
		}
		n, err := market.ParseFixed([]byte(s), exp)
		return n, err == nil
	}
	if v, has := top["sequence_num"]; has {
		seq, ok := num(v, 0)
		if !ok || seq < 0 {
			return decoded{}, false
		}
		out.seq, out.hasSeq = seq, true
	}
	if v, ok := top["timestamp"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil && strings.HasSuffix(v, "Z") && t.Year() >= 1900 && t.Year() < 2200 {
			out.exch, out.hasExch = t.UnixNano(), true
		}
	}
	ch, has := top["channel"]
	if !has {
		return out, true
	}
	if c, ok := ch.(string); !ok {
		return decoded{}, false
	} else if c != "l2_data" {
		return out, true
	}
	events, ok := top["events"].([]any)
	if !ok || !out.hasSeq {
		return decoded{}, false
	}
	out.book = true
	for _, ev := range events {
		e, ok := ev.(map[string]any)
		if !ok {
			return decoded{}, false
		}
		var de decodedEvent
		typ, _ := e["type"].(string)
		switch typ {
		case "snapshot":
			de.snapshot = true
		case "update":
		default:
			return decoded{}, false
		}
		if de.product, ok = e["product_id"].(string); !ok {
			return decoded{}, false
		}
		updates, ok := e["updates"].([]any)
		if !ok {
			return decoded{}, false
		}
		for _, u := range updates {
			lv, ok := u.(map[string]any)
			if !ok {
				return decoded{}, false
			}
			side := -1
			switch lv["side"] {
			case "bid":
				side = int(market.Bid)
			case "offer":
				side = int(market.Ask)
			}
			px, okp := num(lv["price_level"], fuzzPriceExp)
			q, okq := num(lv["new_quantity"], fuzzQtyExp)
			if side < 0 || !okp || !okq || px <= 0 || q < 0 {
				return decoded{}, false
			}
			de.levels[side] = append(de.levels[side], [2]int64{px, q})
		}
		out.events = append(out.events, de)
	}
	return out, true
}

// fuzzTab returns a symbol table with the given products at the fuzz
// exponents, as configured instruments.
func fuzzTab(names ...string) *symtab {
	t := &symtab{byName: map[string]*Symbol{}}
	for _, n := range names {
		if t.byName[n] != nil {
			continue
		}
		sym := &Symbol{Name: n, hasExp: true, Inst: market.Instrument{Venue: market.Coinbase, Symbol: n, PriceExp: fuzzPriceExp, QtyExp: fuzzQtyExp}}
		t.list = append(t.list, sym)
		t.byName[n] = sym
	}
	return t
}

// decodeMode selects which of our decoding paths ours runs.
type decodeMode int

const (
	modeFast     decodeMode = iota // decode: the fast path, else the general one
	modeGeneral                    // the general path alone
	modeDeferred                   // no product known while scanning: every event resolved afterwards
)

// ours decodes frame with our decoder and resolves deferred events at the
// fuzz exponents. tab lists the products known while scanning.
func ours(frame []byte, mode decodeMode, tab *symtab) (decoded, error) {
	if mode == modeDeferred {
		tab = nil
	}
	d := newDecoder(len(frame)/40+64, tab) // a level object takes at least 47 bytes
	var err error
	switch mode {
	case modeFast:
		err = d.decode(frame)
	default:
		err = d.general(frame)
	}
	if err != nil {
		return decoded{}, err
	}
	m := &d.m
	out := decoded{book: m.channel == chL2, hasSeq: m.hasSeq, seq: m.seq, exch: m.exch, hasExch: m.exch != 0}
	if !out.book {
		return out, nil
	}
	for i := range m.events {
		e := &m.events[i]
		if err := d.resolve(e, fuzzPriceExp, fuzzQtyExp); err != nil {
			return decoded{}, err
		}
		if e.pexp != fuzzPriceExp || e.qexp != fuzzQtyExp {
			return decoded{}, fmt.Errorf("event parsed at exponents %d/%d", e.pexp, e.qexp)
		}
		de := decodedEvent{snapshot: e.snapshot, product: string(e.product)}
		for _, lv := range m.levels[e.lo:e.hi] {
			de.levels[lv.side] = append(de.levels[lv.side], [2]int64{lv.px, lv.qty})
		}
		out.events = append(out.events, de)
	}
	return out, nil
}

// hasDuplicateKeys reports whether any object in frame repeats a key.
func hasDuplicateKeys(frame []byte) bool {
	var s jscan.Scanner
	s.Reset(frame)
	dup := false
	var walk func(depth int)
	walk = func(depth int) {
		if depth > 32 || dup || s.Failed() {
			s.Fail(jscan.ErrDepth)
			return
		}
		switch s.Peek() {
		case '{':
			var keys []string
			for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
				if slices.Contains(keys, string(k)) {
					dup = true
					return
				}
				keys = append(keys, string(k))
				walk(depth + 1)
			}
		case '[':
			for ok := s.ArrayStart(); ok; ok = s.NextElem() {
				walk(depth + 1)
			}
		default:
			s.Skip()
		}
	}
	walk(0)
	return dup
}

// checkDecode runs the differential on one frame: whenever ours accepts an
// l2_data frame as book data, the reference accepts it with identical
// sequence_num, events, products, types and levels (per side, in order),
// and the timestamp where both parse it; whenever the reference accepts
// book data, ours does too. All of our paths agree with each other.
//
// Deliberate differences, skipped: frames that repeat a key (ours rejects
// a repeated key in the objects it reads; a map keeps the last), frames
// that are not valid UTF-8 (sonic keeps the bytes, ours replaces them as
// encoding/json does), and frames that encoding/json's Valid rejects but
// sonic accepts (raw control characters in strings; ours rejects them, and
// must never accept a book frame that is not valid JSON). Frames of other channels are not compared: ours
// stops reading them at their sequence_num.
func checkDecode(t *testing.T, frame []byte) {
	checkDecodeRef(t, frame)
}

// checkDecodeRef is checkDecode returning the reference's result.
func checkDecodeRef(t *testing.T, frame []byte) (decoded, bool) {
	want, rok := reference(frame)
	names := []string{"BTC-USD", "ETH-USD"}
	for _, e := range want.events {
		names = append(names, e.product)
	}
	tab := fuzzTab(names...)
	got, err := ours(frame, modeFast, tab)
	gen, gerr := ours(frame, modeGeneral, tab)
	def, derr := ours(frame, modeDeferred, nil)
	if (err == nil) != (gerr == nil) || err == nil && !equalDecoded(got, gen) {
		t.Fatalf("fast and general paths disagree on %q:\n%v %v\n%v %v", frame, err, got, gerr, gen)
	}
	if (gerr == nil) != (derr == nil) || gerr == nil && !equalDecoded(gen, def) {
		t.Fatalf("direct and deferred modes disagree on %q:\n%v %v\n%v %v", frame, gerr, gen, derr, def)
	}
	valid := json.Valid(frame)
	if err == nil && got.book && !valid {
		t.Fatalf("ours accepted invalid JSON %q", frame)
	}
	if !valid || !utf8.Valid(frame) || hasDuplicateKeys(frame) {
		return want, rok
	}
	if err == nil && got.book && (!rok || !equalDecoded(got, want)) {
		t.Fatalf("ours accepted %q as\n%v\nreference %v\n%v", frame, got, rok, want)
	}
	if rok && want.book && (err != nil || !equalDecoded(got, want)) {
		t.Fatalf("reference accepted %q as\n%v\nours %v\n%v", frame, want, err, got)
	}
	if rok && want.book && want.hasExch && got.exch != want.exch {
		t.Fatalf("timestamp of %q: ours %d, reference %d", frame, got.exch, want.exch)
	}
	return want, rok
}

// FuzzDecode feeds the same frame to our decoder (fast path, general path,
// deferred mode) and to the sonic reference; see checkDecode.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzDecode/*")
	if len(seeds) == 0 {
		f.Fatal("no seed corpus in testdata/fuzz/FuzzDecode")
	}
	f.Fuzz(checkDecode)
}

// TestDecodeCaptureFrames runs the differential over every frame of the
// real capture, and requires both decoders to accept every l2_data frame.
func TestDecodeCaptureFrames(t *testing.T) {
	frames, _ := recvFrames(t)
	n := 0
	for _, fr := range frames {
		want, ok := checkDecodeRef(t, fr)
		if !ok || !want.hasSeq {
			t.Fatalf("reference rejects a real frame: %.200s", fr)
		}
		if want.book {
			if !want.hasExch {
				t.Fatalf("real frame without a timestamp: %.200s", fr)
			}
			n++
		}
	}
	if n != captureL2 {
		t.Fatalf("%d l2_data frames, want %d", n, captureL2)
	}
}

// TestFastPathTakesRealFrames: every real l2_data frame of a known product
// goes through the fast path (a change in Coinbase's layout would silently
// fall back to the general path; this says so).
func TestFastPathTakesRealFrames(t *testing.T) {
	frames, _ := recvFrames(t)
	d := newDecoder(DefaultMaxLevels, fuzzTab("BTC-USD", "ETH-USD"))
	for _, fr := range frames {
		if strings.HasPrefix(string(fr), `{"channel":"l2_data"`) && !d.fast(fr) {
			t.Fatalf("fast path declined a real frame: %.200s", fr)
		}
	}
}

// TestFuzzSeeds keeps the seed corpus honest: it exists, and its l2_data
// seeds are real frames both decoders accept.
func TestFuzzSeeds(t *testing.T) {
	for _, target := range []string{"FuzzDecode", "FuzzFeed"} {
		seeds, _ := filepath.Glob("testdata/fuzz/" + target + "/*")
		if len(seeds) < 5 {
			t.Fatalf("%s: %d seeds, want at least 5", target, len(seeds))
		}
		for _, s := range seeds {
			b, err := os.ReadFile(s)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), "go test fuzz v1\n") || len(b) > 16<<10 {
				t.Fatalf("%s: not a small Go fuzz corpus file", s)
			}
		}
	}
}

// refSnapshotBook returns the book the reference expects after a snapshot
// frame: its levels sorted best first, the best maxDepth of each side.
func refSnapshotBook(tb testing.TB, frame []byte, maxDepth int) [2][]book.Level {
	want, ok := reference(frame)
	if !ok || len(want.events) != 1 || !want.events[0].snapshot {
		tb.Fatalf("not a snapshot: %.100s", frame)
	}
	m := newModelBook()
	m.apply(&want.events[0])
	return m.levels(maxDepth)
}

// modelBook is a naive reference book: a map per side.
type modelBook struct {
	side [2]map[int64]int64
}

func newModelBook() *modelBook {
	return &modelBook{side: [2]map[int64]int64{{}, {}}}
}

func (mb *modelBook) apply(e *decodedEvent) {
	if e.snapshot {
		mb.side = [2]map[int64]int64{{}, {}}
	}
	for s := range e.levels {
		for _, l := range e.levels[s] {
			if l[1] == 0 {
				delete(mb.side[s], l[0])
			} else {
				mb.side[s][l[0]] = l[1]
			}
		}
	}
}

// levels returns the best n levels of each side, best first. It keeps the
// best n in a sorted slice while it scans the map: O(levels) for small n.
func (mb *modelBook) levels(n int) [2][]book.Level {
	var out [2][]book.Level
	for s := range mb.side {
		better := func(a, b int64) bool { return a > b } // bids: higher first
		if s == int(market.Ask) {
			better = func(a, b int64) bool { return a < b }
		}
		lv := make([]book.Level, 0, min(n, len(mb.side[s])))
		for p, q := range mb.side[s] {
			if len(lv) == n && !better(p, int64(lv[n-1].Price)) {
				continue
			}
			i, _ := slices.BinarySearchFunc(lv, p, func(l book.Level, p int64) int {
				switch {
				case better(int64(l.Price), p):
					return -1
				case int64(l.Price) == p:
					return 0
				}
				return 1
			})
			if len(lv) == n {
				lv = lv[:n-1]
			}
			lv = slices.Insert(lv, i, book.Level{Price: market.Price(p), Qty: market.Qty(q)})
		}
		out[s] = lv
	}
	return out
}

func (mb *modelBook) crossed() bool {
	l := mb.levels(1)
	return len(l[0]) > 0 && len(l[1]) > 0 && l[0][0].Price >= l[1][0].Price
}

// TestDecodeShapes runs the differential on frames in shapes Coinbase does
// not send but JSON allows, and requires all of them to decode as book
// data: the fast path must decline what it does not handle and the general
// path take it.
func TestDecodeShapes(t *testing.T) {
	const lv = `{"side":"bid","event_time":"2026-08-09T21:05:48.170326Z","price_level":"65083.66","new_quantity":"0.2"}`
	for _, fr := range []string{
		// Levels with different event_time strings (the fast path matches a
		// repeated one whole).
		`{"channel":"l2_data","timestamp":"2026-08-09T21:05:48Z","sequence_num":1,"events":[{"type":"update","product_id":"BTC-USD","updates":[` +
			lv + `,{"side":"offer","event_time":"2026-08-09T21:05:48.170327Z","price_level":"65083.67","new_quantity":"1"},` +
			`{"side":"offer","event_time":"2026-08-09T21:05:48.170327Z","price_level":"65083.68","new_quantity":"0"},` +
			`{"side":"bid","event_time":"x","price_level":"65083.5","new_quantity":"3"},` +
			`{"side":"bid","event_time":"2026-08-09T21:05:48.1703\u00327Z","price_level":"65083.4","new_quantity":"3"}]}]}`,
		`{"channel":"l2_data","client_id":"abc","timestamp":"","sequence_num":0,"events":[{"type":"snapshot","product_id":"ETH-USD","updates":[]}]}`,
		`{"channel":"l2_data","sequence_num":2,"events":[{"type":"update","product_id":"BTC\u002dUSD","updates":[` + lv + `]}]}`,
		`{"channel":"l2_data","sequence_num":3,"events":[{"updates":[` + lv + `],"type":"update","product_id":"BTC-USD"}]}`,
		`{"events":[{"type":"update","product_id":"BTC-USD","updates":[` + lv + `]}],"sequence_num":4,"channel":"l2_data"}`,
		` { "channel" : "l2_data" , "sequence_num" : 5 , "events" : [ { "type" : "update" , "product_id" : "BTC-USD" , "updates" : [ { "side" : "offer" , "price_level" : "1.5" , "new_quantity" : "2" } ] } ] } `,
		`{"channel":"l2_data","sequence_num":6,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":0,"price_level":65083.66,"new_quantity":2e-1}]}]}`,
		`{"channel":"l2_data","sequence_num":"7","events":[{"type":"snapshot","product_id":"BTC-USD","updates":[` + lv + `]},{"type":"update","product_id":"ETH-USD","updates":[` + lv + `]}]}`,
		`{"channel":"l2_data","x":[1,{"y":null}],"sequence_num":8,"events":[{"type":"update","z":true,"product_id":"BTC-USD","updates":[{"extra":{},"side":"bid","price_level":"1","new_quantity":"1"}]}]}`,
		`{"channel":"l2_data","timestamp":"2026-08-09T21:05:48.483587501Z","sequence_num":9,"events":[{"type":"update","product_id":"SOL-USD","updates":[` + lv + `]}]}`,
	} {
		checkDecode(t, []byte(fr))
		got, err := ours([]byte(fr), modeFast, fuzzTab("BTC-USD", "ETH-USD"))
		if err != nil || !got.book || len(got.events) == 0 {
			t.Errorf("%s: %v %v", fr, err, got)
		}
	}
}
