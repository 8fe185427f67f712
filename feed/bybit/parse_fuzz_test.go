package bybit

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bytedance/sonic"

	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// The decode differential: our decoder (fast path and general path, with
// known or learned exponents) against a reference written independently:
// sonic decodes the frame into map[string]any / []any with UseNumber (so
// numbers keep their text), the reference applies the grammar documented
// on decoder.decode to that tree, and numbers go through market.ParseFixed.
//
// Deliberate differences, excluded from the comparison:
//   - duplicate keys: a map keeps the last value; our decoder rejects a
//     repeated key it reads as ambiguous (TestBadMessageLeavesBookIntact
//     pins it), so frames with any repeated key are skipped;
//   - nesting deeper than jscan.MaxDepth: jscan refuses it, sonic does
//     not (Bybit nests four deep);
//   - invalid UTF-8: sonic keeps the bytes, jscan replaces them as
//     encoding/json does; such frames are skipped (topics and symbols are
//     ASCII, so no book message is lost by it).
//
// With learned exponents the decoder parses levels at the decimals the
// message itself prints (CountDecimals, which ignores exponent notation):
// whatever it accepts must equal the reference once rescaled, but it may
// refuse numbers in exponent form or with more than 18 decimals.

const fuzzExp = 8

// decoded is the comparable result of decoding one frame.
type decoded struct {
	kind       msgKind
	name       string
	depth      int
	snapshot   bool
	u, seq     int64
	hasSeq     bool
	exch       int64 // exchange time, ns: cts, else ts
	bids, asks []market.Price
	bidQ, askQ []market.Qty
}

func (a *decoded) equal(b *decoded) bool {
	if a.kind != b.kind {
		return false
	}
	if a.kind != msgBook {
		return true
	}
	return a.name == b.name && a.depth == b.depth && a.snapshot == b.snapshot && a.u == b.u && a.seq == b.seq &&
		a.hasSeq == b.hasSeq && a.exch == b.exch && slices.Equal(a.bids, b.bids) && slices.Equal(a.asks, b.asks) &&
		slices.Equal(a.bidQ, b.bidQ) && slices.Equal(a.askQ, b.askQ)
}

func (a decoded) String() string {
	return fmt.Sprintf("{kind %d %s depth %d snap %v u %d seq %d/%v exch %d bids %v %v asks %v %v}",
		a.kind, a.name, a.depth, a.snapshot, a.u, a.seq, a.hasSeq, a.exch, a.bids, a.bidQ, a.asks, a.askQ)
}

// fuzzDecoder returns a decoder whose lookup serves every topic with one
// symbol: at fuzzExp when known, else with exponents to learn.
func fuzzDecoder(known bool) *decoder {
	d := decoder{maxLevels: 10000} // scratch grows as needed: no 160 KB per call
	sym := &Symbol{Name: "FUZZ", hasExp: known, learned: !known, Inst: market.Instrument{PriceExp: fuzzExp, QtyExp: fuzzExp}}
	d.lookup = func([]byte, []byte, int) (*Symbol, error) { return sym, nil }
	return &d
}

// ours decodes with the decoder (general: without the fast path) and
// returns the result with levels at exponent fuzzExp; ok is false if the
// decoder refused the frame, or (learned) the levels do not fit fuzzExp.
func ours(frame []byte, known, general bool) (out decoded, accepted, fits bool) {
	d := fuzzDecoder(known)
	var ok bool
	if general {
		ok = d.general(frame)
	} else {
		ok = d.decode(frame)
	}
	if !ok {
		return decoded{}, false, false
	}
	m := &d.m
	out = decoded{kind: m.kind}
	if m.kind != msgBook {
		return out, true, true
	}
	out.name, out.depth, out.snapshot = string(m.name[:m.nameLen]), m.depth, m.snapshot
	out.u, out.seq, out.hasSeq, out.exch = m.u, m.seq, m.hasSeq, m.exchNs()
	for i, v := range m.vals {
		p, ok1 := market.Rescale(v[0], m.pexp, fuzzExp)
		q, ok2 := market.Rescale(v[1], m.qexp, fuzzExp)
		if !ok1 || !ok2 {
			return out, true, false
		}
		if i < m.nb {
			out.bids, out.bidQ = append(out.bids, market.Price(p)), append(out.bidQ, market.Qty(q))
		} else {
			out.asks, out.askQ = append(out.asks, market.Price(p)), append(out.askQ, market.Qty(q))
		}
	}
	return out, true, true
}

var refAPI = sonic.Config{UseNumber: true, ValidateString: true, CopyString: true}.Froze()

// refNum parses a number given as JSON number or string at exp.
func refNum(v any, exp int) (int64, bool) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	default:
		return 0, false
	}
	n, err := market.ParseFixed([]byte(s), exp)
	return n, err == nil
}

// refTopic parses "orderbook.N.SYMBOL": N 1..1000 without leading zeros,
// SYMBOL 1..32 of [A-Z0-9_-].
func refTopic(t string) (depth int, name string, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(t, "orderbook."), ".", 2)
	if len(parts) != 2 || parts[0] == "" || parts[0][0] == '0' || strings.Trim(parts[0], "0123456789") != "" || len(parts[0]) > 4 {
		return 0, "", false
	}
	depth, _ = strconv.Atoi(parts[0])
	name = parts[1]
	if depth < 1 || depth > 1000 || name == "" || len(name) > 32 || strings.Trim(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		return 0, "", false
	}
	return depth, name, true
}

// reference decodes frame per the documented grammar; ok false means
// malformed.
func reference(frame []byte) (out decoded, ok bool) {
	var v any
	if err := refAPI.Unmarshal(frame, &v); err != nil {
		return out, false
	}
	top, isObj := v.(map[string]any)
	if !isObj {
		return out, false
	}
	tv, has := top["topic"]
	if !has {
		if _, op := top["op"]; op {
			return decoded{kind: msgIgnored}, true
		}
		return out, false
	}
	t, isStr := tv.(string)
	if !isStr {
		return out, false
	}
	if !strings.HasPrefix(t, "orderbook.") || len(t) == len("orderbook.") || t[len("orderbook.")] < '0' || t[len("orderbook.")] > '9' {
		return decoded{kind: msgIgnored}, true
	}
	out.kind = msgBook
	if out.depth, out.name, ok = refTopic(t); !ok {
		return out, false
	}
	switch top["type"] {
	case "snapshot":
		out.snapshot = true
	case "delta":
	default:
		return out, false
	}
	var ts, cts int64
	if x, has := top["ts"]; has {
		if ts, ok = refNum(x, 0); !ok {
			return out, false
		}
	}
	if x, has := top["cts"]; has {
		if cts, ok = refNum(x, 0); !ok {
			return out, false
		}
		out.exch = cts * 1e6
	} else {
		out.exch = ts * 1e6
	}
	data, isObj := top["data"].(map[string]any)
	if !isObj {
		return out, false
	}
	if s, isStr := data["s"].(string); !isStr || s != out.name {
		return out, false
	}
	levels := func(x any) (px []market.Price, qty []market.Qty, ok bool) {
		arr, isArr := x.([]any)
		if !isArr {
			return nil, nil, false
		}
		for _, e := range arr {
			l, isArr := e.([]any)
			if !isArr || len(l) < 2 {
				return nil, nil, false
			}
			p, ok1 := refNum(l[0], fuzzExp)
			q, ok2 := refNum(l[1], fuzzExp)
			if !ok1 || !ok2 || p <= 0 || q < 0 {
				return nil, nil, false
			}
			px, qty = append(px, market.Price(p)), append(qty, market.Qty(q))
		}
		return px, qty, true
	}
	if out.bids, out.bidQ, ok = levels(data["b"]); !ok {
		return out, false
	}
	if out.asks, out.askQ, ok = levels(data["a"]); !ok {
		return out, false
	}
	u, has := data["u"]
	if !has {
		return out, false
	}
	if out.u, ok = refNum(u, 0); !ok || out.u < 1 {
		return out, false
	}
	if seq, has := data["seq"]; has {
		if out.seq, ok = refNum(seq, 0); !ok {
			return out, false
		}
		out.hasSeq = true
	}
	return out, true
}

// excluded reports whether frame falls under a deliberate difference:
// an object repeats a key (after unescaping), or values nest deeper than
// jscan follows (jscan.MaxDepth; sonic goes deeper), or frame is not
// valid JSON to encoding/json.
func excluded(frame []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(frame))
	type level struct {
		obj     bool
		keys    map[string]bool
		wantKey bool
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return true
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, isDelim := tok.(json.Delim); isDelim {
			switch d {
			case '{', '[':
				if top != nil && top.obj {
					top.wantKey = true // this value ends the member
				}
				stack = append(stack, &level{obj: d == '{', keys: map[string]bool{}, wantKey: true})
				if len(stack) > jscan.MaxDepth-4 {
					return true
				}
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top != nil && top.obj {
			if top.wantKey {
				k := tok.(string)
				if top.keys[k] {
					return true
				}
				top.keys[k] = true
				top.wantKey = false
			} else {
				top.wantKey = true
			}
		}
	}
}

// checkDecode is the differential on one frame.
func checkDecode(t *testing.T, frame []byte) {
	fast, fok, _ := ours(frame, true, false)
	gen, gok, _ := ours(frame, true, true)
	if fok != gok || fok && !fast.equal(&gen) {
		t.Fatalf("fast and general paths disagree on %q:\n%v %v\n%v %v", frame, fok, fast, gok, gen)
	}
	if !utf8.Valid(frame) || excluded(frame) {
		return
	}
	want, rok := reference(frame)
	if fok != rok || fok && !fast.equal(&want) {
		t.Fatalf("decoder and reference disagree on %q:\nours      %v %v\nreference %v %v", frame, fok, fast, rok, want)
	}
	learned, lok, fits := ours(frame, false, false)
	if lok && fits && (!rok || !learned.equal(&want)) {
		t.Fatalf("learned exponents: %q gives %v; reference %v %v", frame, learned, rok, want)
	}
	if lok && !fits && rok && learned.kind == msgBook {
		// Learned exponents finer than fuzzExp: the reference, at
		// fuzzExp, must then have refused a level.
		t.Fatalf("learned exponents accepted %q that does not fit %d decimals; reference accepted it", frame, fuzzExp)
	}
	if !lok && rok && want.kind != msgBook {
		t.Fatalf("learned decoder refused %q, which is not book data", frame)
	}
}

// FuzzDecode is the decode differential (see the comment at the top of
// this file), seeded from the capture's frames.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzDecode/*")
	if len(seeds) < 10 {
		f.Fatalf("%d seeds in testdata/fuzz/FuzzDecode, want at least 10 (go test -run TestFuzzSeeds -update)", len(seeds))
	}
	f.Fuzz(checkDecode)
}

// TestDecodeCapture runs the differential on every frame of the capture
// and on each book frame reordered with white space (the general path).
func TestDecodeCapture(t *testing.T) {
	cd := loadCapture(t)
	books := 0
	for _, fr := range cd.frames {
		checkDecode(t, fr.data)
		if got, ok, _ := ours(fr.data, true, false); ok && got.kind == msgBook {
			books++
			re := reorder(t, fr.data)
			checkDecode(t, re)
			if again, _, _ := ours(re, true, false); !again.equal(&got) {
				t.Fatalf("reordered frame decodes differently: %.200s", re)
			}
		}
	}
	if books != captureDeltas+6 {
		t.Errorf("%d book frames, want %d", books, captureDeltas+6)
	}
}

var update = flag.Bool("update", false, "rewrite the fuzz seed corpora from the capture")

// TestFuzzSeeds keeps the seed corpora honest: they exist, are in Go's
// corpus format, and (with -update) are rewritten from the capture.
func TestFuzzSeeds(t *testing.T) {
	if *update {
		writeSeeds(t)
	}
	for _, target := range []string{"FuzzDecode", "FuzzFeed"} {
		seeds, _ := filepath.Glob(filepath.Join("testdata/fuzz", target, "*"))
		if len(seeds) < 10 {
			t.Fatalf("%s: %d seeds, want at least 10", target, len(seeds))
		}
		for _, s := range seeds {
			b, err := os.ReadFile(s)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("go test fuzz v1\n")) {
				t.Errorf("%s: not a Go fuzz corpus file", s)
			}
		}
	}
}

// seedFrames picks real frames of each kind from the capture.
func seedFrames(t *testing.T) map[string][]byte {
	cd := loadCapture(t)
	out := map[string][]byte{}
	pick := func(name string, match func(capFrame) bool) {
		for _, fr := range cd.frames {
			if match(fr) {
				out[name] = fr.data
				return
			}
		}
		t.Fatalf("no frame for seed %s", name)
	}
	has := func(conn, s string) func(capFrame) bool {
		return func(fr capFrame) bool { return fr.conn == conn && bytes.Contains(fr.data, []byte(s)) }
	}
	pick("linear-delta-btcusdt", has("BYBIT.ws.2", `"topic":"orderbook.200.BTCUSDT","type":"delta"`))
	pick("linear-delta-dogeusdt", has("BYBIT.ws.2", `"topic":"orderbook.200.DOGEUSDT","type":"delta"`))
	pick("linear-delta-solusdt", has("BYBIT.ws.2", `"topic":"orderbook.200.SOLUSDT","type":"delta"`))
	pick("spot-delta-btcusdt", has("BYBIT.ws.3", `"topic":"orderbook.200.BTCUSDT","ts"`))
	pick("spot-delta-ethusdt", has("BYBIT.ws.3", `"topic":"orderbook.200.ETHUSDT","ts"`))
	pick("linear-tickers", has("BYBIT.ws.2", `"topic":"tickers.`))
	pick("spot-tickers", has("BYBIT.ws.3", `"topic":"tickers.`))
	pick("linear-kline", has("BYBIT.ws.2", `"topic":"kline.`))
	pick("spot-trade", has("BYBIT.ws.3", `"topic":"publicTrade.`))
	pick("linear-subscribe", has("BYBIT.ws.2", `"op":"subscribe"`))
	pick("spot-subscribe", has("BYBIT.ws.3", `"op":"subscribe"`))
	// A small snapshot: the first levels of the real spot ETHUSDT one.
	pick("spot-snapshot-ethusdt", func(fr capFrame) bool {
		return has("BYBIT.ws.3", `"topic":"orderbook.200.ETHUSDT"`)(fr) && bytes.Contains(fr.data, []byte(`"type":"snapshot"`))
	})
	out["spot-snapshot-ethusdt"] = shortSnapshot(t, out["spot-snapshot-ethusdt"], 3)
	out["linear-delta-reordered"] = reorder(t, out["linear-delta-btcusdt"])
	return out
}

// shortSnapshot keeps the first n levels a side of a snapshot frame.
func shortSnapshot(t *testing.T, frame []byte, n int) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(frame, &m); err != nil {
		t.Fatal(err)
	}
	var d map[string]json.RawMessage
	json.Unmarshal(m["data"], &d)
	var b, a [][]string
	json.Unmarshal(d["b"], &b)
	json.Unmarshal(d["a"], &a)
	bj, _ := json.Marshal(b[:n])
	aj, _ := json.Marshal(a[:n])
	return fmt.Appendf(nil, `{"topic":%s,"ts":%s,"type":"snapshot","data":{"s":%s,"b":%s,"a":%s,"u":%s,"seq":%s},"cts":%s}`,
		m["topic"], m["ts"], d["s"], bj, aj, d["u"], d["seq"], m["cts"])
}

// writeSeeds rewrites testdata/fuzz/FuzzDecode (one frame per file) and
// testdata/fuzz/FuzzFeed (short streams: a snapshot and the deltas that
// follow it, one frame per line).
func writeSeeds(t *testing.T) {
	frames := seedFrames(t)
	write := func(target, name string, args ...any) {
		dir := filepath.Join("testdata/fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch x := a.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", x)
			case bool:
				fmt.Fprintf(&b, "bool(%v)\n", x)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, fr := range frames {
		write("FuzzDecode", name, fr)
	}
	// Streams for FuzzFeed: the capture's spot ETHUSDT snapshot (cut to 3
	// levels) and the next deltas, which refer to levels beyond those
	// three as well, plus ignored frames and a service-restart reset.
	cd := loadCapture(t)
	var stream [][]byte
	for _, fr := range cd.frames {
		if fr.conn != "BYBIT.ws.3" {
			continue
		}
		if bytes.Contains(fr.data, []byte(`"topic":"orderbook.200.ETHUSDT"`)) || bytes.Contains(fr.data, []byte(`"topic":"tickers.ETHUSDT"`)) {
			book := bytes.Contains(fr.data, []byte(`"topic":"orderbook.`))
			if len(stream) == 0 && !(book && bytes.Contains(fr.data, []byte(`"type":"snapshot"`))) {
				continue
			}
			if len(stream) == 0 {
				stream = append(stream, shortSnapshot(t, fr.data, 3))
			} else {
				stream = append(stream, fr.data)
			}
		}
		if len(stream) == 8 {
			break
		}
	}
	for i := 2; i <= len(stream); i += 2 {
		write("FuzzFeed", fmt.Sprintf("spot-ethusdt-%d-frames", i), bytes.Join(stream[:i], []byte("\n")), i%4 == 0)
	}
	restart := append(bytes.Clone(stream[0]), '\n')
	restart = append(restart, msg("orderbook.200.ETHUSDT", "delta", 1, `["1900.00","1.5"]`, `["1900.50","2"]`)...)
	write("FuzzFeed", "service-restart", restart, false)
	gap := bytes.Join([][]byte{stream[0], stream[2], stream[3]}, []byte("\n"))
	write("FuzzFeed", "gap", gap, false)
	// Compact messages (see compactFrame): a snapshot then deltas that
	// continue, repeat, skip, restart, cross, and overflow a depth of 3.
	for name, ops := range map[string][]string{
		"compact-sequence": {"\x01\x02\x10\x01\xa0\x02", "\x00\x02\x11\x03", "\x00\x02\x12\x81\xa1\x00", "\x00\x01\x12\x01", "\x01\x02\x10\x01\xa0\x02", "\x00\x03\x13\x02", "\x00\x80\x13\x02\xa3\x02"},
		"compact-truncate": {"\x05\x02\x10\x01\x11\x01\x12\x01\xa0\x01\xa1\x01\xa2\x01", "\x04\x02\x13\x02\x14\x02\x0f\x01\x9f\x01", "\x04\x02\x13\x00\xa2\x00"},
		"compact-cross":    {"\x03\x02\x10\x01\xa0\x02", "\x02\x02\x20\x01", "\x02\x02\x21\x01", "\x03\x02\x10\x01\xa0\x02"},
		"compact-topics":   {"\x01\x02\x10\x01\xa0\x02", "\x05\x02\x10\x01\xa0\x02", "\x03\x02\x10\x01\xa0\x02", "\x00\x02\x11\x01", "\x02\x02\x11\x01"},
	} {
		var b []byte
		for i, op := range ops {
			if i > 0 {
				b = append(b, '\n')
			}
			b = append(append(b, '!'), op...)
		}
		write("FuzzFeed", name, b, name == "compact-topics")
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range frames {
			if !yield(k) {
				return
			}
		}
	})
	for i, name := range names {
		if i < 4 {
			write("FuzzFeed", "single-"+name, frames[name], i%2 == 0)
		}
	}
}
