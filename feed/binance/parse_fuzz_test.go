package binance

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/bytedance/sonic"

	"arbmm/internal/market"
)

// decoded is the comparable result of decoding one depth or bookTicker
// frame, by our scanner or by the sonic reference.
type decoded struct {
	kind           kind
	symbol         string
	U, u, pu       int64
	hasPu          bool
	bids, asks     [][2]int64
	tb, tB, ta, tA int64
	tp, tq, tid    int64 // trade
	buyerMaker     bool
}

const fuzzExp = 8

// fuzzSym stands for any symbol in direct mode: exponents fuzzExp.
var fuzzSym = &Symbol{Name: "FUZZ", hasExp: true, Inst: market.Instrument{PriceExp: fuzzExp, QtyExp: fuzzExp}}

// ours decodes with the feed's scanner and parses every level at fuzzExp:
// in direct mode (levels parsed while scanning, as the live feed does once
// it knows the symbol) or in offset mode (parsed afterwards, as for a
// symbol whose exponents are not yet known).
func ours(frame []byte, direct bool) (decoded, bool) {
	d := newDecoder(10000)
	if direct {
		d.lookup = func([]byte) *Symbol { return fuzzSym }
	}
	if !d.decode(frame) {
		return decoded{}, false
	}
	m := &d.m
	out := decoded{kind: m.kind, symbol: string(m.symbol), U: m.U, u: m.u, pu: m.pu, hasPu: m.hasPu}
	switch m.kind {
	case kindDepth:
		for i := range m.count() {
			var p, q int64
			if m.direct {
				p, q = m.vals[i][0], m.vals[i][1]
			} else {
				var ok1, ok2 bool
				p, ok1 = d.fixedAt(m.refs[i].px, fuzzExp)
				q, ok2 = d.fixedAt(m.refs[i].qty, fuzzExp)
				if !ok1 || !ok2 {
					return decoded{}, false
				}
			}
			if i < m.nb {
				out.bids = append(out.bids, [2]int64{p, q})
			} else {
				out.asks = append(out.asks, [2]int64{p, q})
			}
		}
	case kindTicker:
		var ok [4]bool
		out.tb, ok[0] = d.fixedAt(m.tb, fuzzExp)
		out.tB, ok[1] = d.fixedAt(m.tB, fuzzExp)
		out.ta, ok[2] = d.fixedAt(m.ta, fuzzExp)
		out.tA, ok[3] = d.fixedAt(m.tA, fuzzExp)
		if ok != [4]bool{true, true, true, true} {
			return decoded{}, false
		}
	case kindTrade:
		var ok1, ok2 bool
		out.tp, ok1 = d.fixedAt(m.tp, fuzzExp)
		out.tq, ok2 = d.fixedAt(m.tq, fuzzExp)
		if !ok1 || !ok2 {
			return decoded{}, false
		}
		out.tid, out.buyerMaker = m.tradeID, m.buyerMaker
	}
	return out, true
}

var refAPI = sonic.Config{UseNumber: true}.Froze()

// reference decodes with sonic into generic values and converts with
// market.ParseFixed: an independent path to the same answer.
func reference(frame []byte) (decoded, bool) {
	var top map[string]any
	if err := refAPI.Unmarshal(frame, &top); err != nil {
		return decoded{}, false
	}
	ev := top
	if _, ok := top["data"]; ok {
		if _, ok := top["stream"]; ok || len(top) == 1 {
			m, ok := top["data"].(map[string]any)
			if !ok {
				return decoded{}, false
			}
			ev = m
		}
	}
	num := func(v any, exp int) (int64, bool) {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case interface{ String() string }:
			s = x.String()
		default:
			return 0, false
		}
		n, err := market.ParseFixed([]byte(s), exp)
		return n, err == nil
	}
	out := decoded{}
	var ok bool
	if sym, has := ev["s"]; has {
		s, isStr := sym.(string)
		if !isStr {
			return decoded{}, false
		}
		out.symbol = s
	}
	for _, f := range []struct {
		key string
		dst *int64
	}{{"U", &out.U}, {"u", &out.u}, {"pu", &out.pu}} {
		if v, has := ev[f.key]; has {
			if *f.dst, ok = num(v, 0); !ok {
				return decoded{}, false
			}
		}
	}
	_, out.hasPu = ev["pu"]
	levels := func(v any) ([][2]int64, bool) {
		arr, isArr := v.([]any)
		if !isArr {
			return nil, false
		}
		var lv [][2]int64
		for _, e := range arr {
			pair, isArr := e.([]any)
			if !isArr || len(pair) < 2 {
				return nil, false
			}
			p, ok1 := num(pair[0], fuzzExp)
			q, ok2 := num(pair[1], fuzzExp)
			if !ok1 || !ok2 {
				return nil, false
			}
			lv = append(lv, [2]int64{p, q})
		}
		return lv, true
	}
	e, _ := ev["e"].(string)
	switch {
	case e == "depthUpdate":
		out.kind = kindDepth
		for _, k := range []string{"b", "a"} {
			v, has := ev[k]
			if !has {
				continue
			}
			lv, ok := levels(v)
			if !ok {
				return decoded{}, false
			}
			if k == "b" {
				out.bids = lv
			} else {
				out.asks = lv
			}
		}
	case e == "trade":
		p, hp := ev["p"].(string)
		q, hq := ev["q"].(string)
		bm, hm := ev["m"].(bool)
		if !hp || !hq || !hm || out.symbol == "" {
			return decoded{}, false
		}
		out.kind = kindTrade
		var ok1, ok2, ok3 bool
		out.tp, ok1 = num(p, fuzzExp)
		out.tq, ok2 = num(q, fuzzExp)
		out.tid, ok3 = 0, true
		if t, has := ev["t"]; has {
			out.tid, ok3 = num(t, 0)
		}
		if !ok1 || !ok2 || !ok3 {
			return decoded{}, false
		}
		out.buyerMaker = bm
	case e == "bookTicker" || e == "":
		_, hb := ev["b"].(string)
		_, ha := ev["a"].(string)
		_, hB := ev["B"]
		_, hA := ev["A"]
		if !(hb && ha && hB && hA) {
			if e == "bookTicker" {
				return decoded{}, false
			}
			out.kind = kindOther
			return out, true
		}
		out.kind = kindTicker
		var oks [4]bool
		out.tb, oks[0] = num(ev["b"], fuzzExp)
		out.tB, oks[1] = num(ev["B"], fuzzExp)
		out.ta, oks[2] = num(ev["a"], fuzzExp)
		out.tA, oks[3] = num(ev["A"], fuzzExp)
		if oks != [4]bool{true, true, true, true} {
			return decoded{}, false
		}
	}
	return out, true
}

func equalDecoded(a, b decoded) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case kindDepth:
		return a.symbol == b.symbol && a.U == b.U && a.u == b.u && a.pu == b.pu && a.hasPu == b.hasPu &&
			equalLv(a.bids, b.bids) && equalLv(a.asks, b.asks)
	case kindTicker:
		return a.symbol == b.symbol && a.u == b.u && a.tb == b.tb && a.tB == b.tB && a.ta == b.ta && a.tA == b.tA
	case kindTrade:
		return a.symbol == b.symbol && a.tp == b.tp && a.tq == b.tq && a.tid == b.tid && a.buyerMaker == b.buyerMaker
	}
	return true
}

func equalLv(a, b [][2]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzDecode feeds the same frame to the scanner and to the sonic
// reference. Whenever ours accepts a depth, bookTicker or trade frame, the
// reference must accept it with identical fields; whenever the reference
// accepts a depth or bookTicker frame, ours must too. Deliberate
// differences, skipped: frames with a repeated field (ours rejects them; a
// map keeps the last), symbols that are not valid UTF-8 (sonic keeps
// the bytes, ours replaces them as encoding/json does), and frames whose
// other fields ours declines to read as integers (out of range).
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzDecode/*")
	if len(seeds) == 0 {
		f.Fatal("no seed corpus in testdata/fuzz/FuzzDecode")
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		got, ok := ours(frame, true)
		off, ook := ours(frame, false)
		if ok && ook && !equalDecoded(got, off) || ok && !ook && got.kind != kindOther {
			t.Fatalf("direct and offset modes disagree on %q: %v %+v / %v %+v", frame, ok, got, ook, off)
		}
		want, rok := reference(frame)
		d := newDecoder(10000)
		d.decode(frame)
		if errors.Is(d.s.Err(), ErrDuplicate) || !utf8.Valid(frame) {
			return
		}
		if ok && (got.kind == kindDepth || got.kind == kindTicker || got.kind == kindTrade) {
			if !rok || !equalDecoded(got, want) {
				t.Fatalf("ours accepted %q as %+v; reference %v %+v", frame, got, rok, want)
			}
		}
		if rok && (want.kind == kindDepth || want.kind == kindTicker || want.kind == kindTrade) && ok && !equalDecoded(got, want) {
			t.Fatalf("reference accepted %q as %+v; ours %+v", frame, want, got)
		}
		if rok && want.kind == kindDepth && !ok && d.s.Err() == nil {
			t.Fatalf("reference accepted depth frame %q; ours rejected it without a scanner error", frame)
		}
	})
}

// TestFuzzSeedsAreRealFrames keeps the seed corpus honest: every seed is
// decoded identically by both decoders.
func TestFuzzSeedsAreRealFrames(t *testing.T) {
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzDecode/*")
	if len(seeds) < 5 {
		t.Fatalf("%d seeds, want at least 5", len(seeds))
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Fatalf("%s empty", s)
		}
	}
	for _, fr := range depthFrames(t, "testdata/binance-usdm-depth.jsonl")[:50] {
		got, ok := ours(fr, true)
		want, rok := reference(fr)
		if !ok || !rok || !equalDecoded(got, want) {
			t.Fatalf("real frame %q: ours %v %+v, reference %v %+v", fr, ok, got, rok, want)
		}
	}
}
