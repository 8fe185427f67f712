package kraken

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bytedance/sonic"

	"arbmm/book"
	"arbmm/internal/market"
)

// The fuzz targets check, on any input, that Handle does not panic, and
// compare the decoder and the whole Handle path against a reference written
// independently: sonic decodes the frame into []any / map[string]any (with
// UseNumber, so JSON numbers keep their text), the reference applies the
// package's documented grammar (decodeV1, decodeV2) to that tree, numbers go
// through math/big, and a map book replays the sync rules and Kraken's
// checksum.
//
// Deliberate differences, excluded from the comparison:
//   - duplicate keys: a map keeps the last value; our decoder rejects a
//     repeated key in a book object as ambiguous (TestClassify pins it);
//   - numbers with exponents of more than 6 digits ("1e9999999"): math/big
//     will not evaluate them; ParseFixed reports them out of range (or 0
//     for a zero mantissa), which FuzzParseFixed in internal/market covers.

// refAPI is the reference JSON decoder: sonic, numbers as json.Number,
// invalid UTF-8 replaced as encoding/json (and jscan) do.
var refAPI = sonic.Config{UseNumber: true, ValidateString: true}.Froze()

// refKind classifies a frame.
type refKind int

const (
	refMalformed refKind = iota
	refIgnored
	refBook
)

func (k refKind) String() string { return [...]string{"malformed", "ignored", "book"}[k] }

type refLevel struct{ px, qty string }

type refEntry struct {
	sym    string
	depth  int
	hasCS  bool
	cs     uint32
	levels [2][]refLevel // by market.Side
}

type refMsg struct {
	kind     refKind
	snapshot bool
	chanID   int64
	entries  []refEntry
	// badPair is, for a malformed v1 frame that is a JSON array ending in a
	// "book..." channel name and a pair, that pair.
	badPair string
}

// refDigits parses a string of digits as a uint32.
func refDigits(s string) (uint32, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err == nil
}

// refDecodeV1 classifies and decodes a v1 frame per decodeV1's grammar.
func refDecodeV1(frame []byte) refMsg {
	var v any
	if err := refAPI.Unmarshal(frame, &v); err != nil {
		return refMsg{}
	}
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["event"].(string); ok {
			return refMsg{kind: refIgnored}
		}
		return refMsg{}
	case []any:
		if len(x) < 3 {
			return refMsg{}
		}
		name, ok1 := x[len(x)-2].(string)
		pair, ok2 := x[len(x)-1].(string)
		if !ok1 || !ok2 {
			return refMsg{}
		}
		if !strings.HasPrefix(name, "book") {
			return refMsg{kind: refIgnored}
		}
		bad := refMsg{badPair: pair}
		n, ok := strings.CutPrefix(name, "book-")
		depth, err := strconv.Atoi(n)
		if !ok || err != nil || strings.Trim(n, "0123456789") != "" || n[0] == '0' || depth < 1 || depth > 1000 {
			return bad
		}
		id, ok := x[0].(json.Number)
		if !ok {
			return bad
		}
		r, ok := new(big.Rat).SetString(string(id))
		if !ok || !r.IsInt() || !r.Num().IsInt64() {
			return bad
		}
		m := refMsg{kind: refBook, chanID: r.Num().Int64(), entries: []refEntry{{sym: pair, depth: depth}}}
		e := &m.entries[0]
		kinds := map[bool]bool{}
		for _, o := range x[1 : len(x)-2] {
			obj, ok := o.(map[string]any)
			if !ok {
				return bad
			}
			for k, val := range obj {
				side, snap := market.Bid, false
				switch k {
				case "a":
					side = market.Ask
				case "b":
				case "as":
					side, snap = market.Ask, true
				case "bs":
					snap = true
				case "c":
					s, ok := val.(string)
					if !ok || e.hasCS {
						return bad
					}
					if e.cs, e.hasCS = refDigits(s); !e.hasCS {
						return bad
					}
					continue
				default:
					continue
				}
				kinds[snap] = true
				list, ok := val.([]any)
				if !ok {
					return bad
				}
				for _, l := range list {
					lv, ok := l.([]any)
					if !ok || len(lv) < 3 || len(lv) > 4 {
						return bad
					}
					for _, s := range lv {
						if _, ok := s.(string); !ok {
							return bad
						}
					}
					e.levels[side] = append(e.levels[side], refLevel{lv[0].(string), lv[1].(string)})
				}
			}
		}
		if len(x) < 4 || len(kinds) > 1 {
			return bad
		}
		m.snapshot = kinds[true]
		return m
	}
	return refMsg{}
}

// refDecodeV2 classifies and decodes a v2 frame per decodeV2's grammar.
func refDecodeV2(frame []byte) refMsg {
	var v any
	if err := refAPI.Unmarshal(frame, &v); err != nil {
		return refMsg{}
	}
	x, ok := v.(map[string]any)
	if !ok {
		return refMsg{}
	}
	ch, hasCh := x["channel"]
	if !hasCh {
		if _, ok := x["method"]; ok {
			return refMsg{kind: refIgnored}
		}
		return refMsg{}
	}
	if s, ok := ch.(string); !ok {
		return refMsg{}
	} else if s != "book" {
		return refMsg{kind: refIgnored}
	}
	typ, _ := x["type"].(string)
	data, ok := x["data"].([]any)
	if typ != "snapshot" && typ != "update" || !ok || len(data) == 0 {
		return refMsg{}
	}
	m := refMsg{kind: refBook, snapshot: typ == "snapshot"}
	for _, d := range data {
		dm, ok := d.(map[string]any)
		if !ok {
			return refMsg{}
		}
		sym, ok := dm["symbol"].(string)
		if !ok {
			return refMsg{}
		}
		e := refEntry{sym: sym}
		for side, key := range [2]string{"bids", "asks"} {
			val, present := dm[key]
			if !present {
				continue
			}
			list, ok := val.([]any)
			if !ok {
				return refMsg{}
			}
			for _, l := range list {
				lm, ok := l.(map[string]any)
				if !ok {
					return refMsg{}
				}
				px, ok1 := lm["price"].(json.Number)
				q, ok2 := lm["qty"].(json.Number)
				if !ok1 || !ok2 {
					return refMsg{}
				}
				e.levels[side] = append(e.levels[side], refLevel{string(px), string(q)})
			}
		}
		if val, present := dm["checksum"]; present {
			n, ok := val.(json.Number)
			if !ok {
				return refMsg{}
			}
			if e.cs, e.hasCS = refDigits(string(n)); !e.hasCS {
				return refMsg{}
			}
		}
		if val, present := dm["timestamp"]; present {
			if _, ok := val.(string); !ok {
				return refMsg{}
			}
		}
		m.entries = append(m.entries, e)
	}
	return m
}

// refNumber returns the exact value of decimal text: v1 strings follow
// -?digits(.digits)?([eE][+-]?digits)? (leading zeros allowed), v2 JSON
// numbers are a subset. ok is false for any other text; huge reports an
// exponent math/big will not evaluate.
func refNumber(s string) (r *big.Rat, ok, huge bool) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	digits := func(t string) bool { return t != "" && strings.Trim(t, "0123456789") == "" }
	m := strings.TrimPrefix(mant, "-")
	ip, fp, hasPoint := strings.Cut(m, ".")
	if !digits(ip) || hasPoint && !digits(fp) {
		return nil, false, false
	}
	if hasExp {
		e := strings.TrimLeft(exp, "+-")
		if len(exp)-len(e) > 1 || !digits(e) {
			return nil, false, false
		}
		if len(strings.TrimLeft(e, "0")) > 6 {
			return nil, true, true
		}
	}
	r, ok = new(big.Rat).SetString(s)
	return r, ok, false
}

// refFixed is the mantissa of r at exp, if it is an exact int64.
func refFixed(r *big.Rat, exp int) (int64, bool) {
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	if !x.IsInt() || !x.Num().IsInt64() {
		return 0, false
	}
	return x.Num().Int64(), true
}

// refDecimals counts the digits after the point of decimal text.
func refDecimals(s string) int {
	_, f, ok := strings.Cut(s, ".")
	if !ok {
		return 0
	}
	n := 0
	for n < len(f) && f[n] >= '0' && f[n] <= '9' {
		n++
	}
	return n
}

// compareDecode checks that our decoder classifies frame as ref does and,
// for book messages, yields the same entries, level text and checksums,
// and the same fixed-point values (or errors) at a few exponents.
func compareDecode(t *testing.T, frame []byte, v2 bool, ref refMsg) (skip bool) {
	var d decoder = newDecoder()
	var err error
	if v2 {
		err = d.decodeV2(frame)
	} else {
		err = d.decodeV1(frame)
	}
	got := refMalformed
	if err == nil {
		got = refIgnored
		if d.m.kind == msgBook {
			got = refBook
		}
	}
	if got != ref.kind {
		if hasDuplicateKeys(frame) {
			return true // deliberate: a map keeps the last value, we reject
		}
		t.Fatalf("decode: %v (err %v), reference: %v\nframe %q", got, err, ref.kind, frame)
	}
	if got == refMalformed && !v2 && string(d.m.badSym) != ref.badPair {
		t.Fatalf("malformed frame names pair %q, reference %q\nframe %q", d.m.badSym, ref.badPair, frame)
	}
	if got != refBook {
		return false
	}
	m := &d.m
	if m.snapshot != ref.snapshot || len(m.entries) != len(ref.entries) || (!v2 && m.chanID != ref.chanID) {
		t.Fatalf("decode: snapshot %v, %d entries, chan %d; reference %v, %d, %d\nframe %q",
			m.snapshot, len(m.entries), m.chanID, ref.snapshot, len(ref.entries), ref.chanID, frame)
	}
	var conv [2][]book.Level
	for i := range m.entries {
		e, re := &m.entries[i], &ref.entries[i]
		if string(e.sym) != re.sym || e.depth != re.depth || e.hasCS != re.hasCS || e.cs != re.cs {
			t.Fatalf("entry %d: %q depth %d cs %v %d; reference %q %d %v %d\nframe %q",
				i, e.sym, e.depth, e.hasCS, e.cs, re.sym, re.depth, re.hasCS, re.cs, frame)
		}
		for side := range re.levels {
			sp := e.lv[side]
			lv := m.levels[side][sp.lo:sp.hi]
			if len(lv) != len(re.levels[side]) {
				t.Fatalf("entry %d side %d: %d levels, reference %d\nframe %q", i, side, len(lv), len(re.levels[side]), frame)
			}
			for j, l := range lv {
				if r := re.levels[side][j]; string(l.px) != r.px || string(l.qty) != r.qty {
					t.Fatalf("entry %d side %d level %d: %q %q, reference %q %q", i, side, j, l.px, l.qty, r.px, r.qty)
				}
			}
		}
		for _, exps := range [][2]int{{5, 8}, {1, 8}, {0, 0}, {18, 18}} {
			cerr := m.convert(e, exps[0], exps[1], &conv)
			want, ok, huge := refConvert(re, exps[0], exps[1])
			if huge {
				return true
			}
			if (cerr == nil) != ok {
				t.Fatalf("entry %d at %v: convert err %v, reference ok %v\nframe %q", i, exps, cerr, ok, frame)
			}
			if ok && (!slices.Equal(conv[0], want[0]) || !slices.Equal(conv[1], want[1])) {
				t.Fatalf("entry %d at %v: levels %v, reference %v\nframe %q", i, exps, conv, want, frame)
			}
		}
	}
	return false
}

// hasDuplicateKeys reports whether any object in the JSON text repeats a
// key (after unescaping), using encoding/json's tokenizer.
func hasDuplicateKeys(frame []byte) bool {
	type level struct {
		keys      map[string]bool
		expectKey bool
	}
	var stack []*level
	dec := json.NewDecoder(bytes.NewReader(frame))
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := (*level)(nil)
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				if top != nil && top.keys != nil {
					top.expectKey = false
				}
				stack = append(stack, &level{keys: map[string]bool{}, expectKey: true})
			case '[':
				if top != nil && top.keys != nil {
					top.expectKey = false
				}
				stack = append(stack, &level{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if top != nil && top.keys != nil && top.expectKey {
				if top.keys[tok] {
					return true
				}
				top.keys[tok] = true
				top.expectKey = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// refConvert scans an entry's levels at exps: prices positive, quantities
// non-negative, exact.
func refConvert(e *refEntry, pe, qe int) (out [2][]book.Level, ok, huge bool) {
	for side, list := range e.levels {
		for _, l := range list {
			pr, okp, hp := refNumber(l.px)
			qr, okq, hq := refNumber(l.qty)
			if hp || hq {
				return out, false, true
			}
			if !okp || !okq {
				return out, false, false
			}
			p, okp := refFixed(pr, pe)
			q, okq := refFixed(qr, qe)
			if !okp || !okq || p <= 0 || q < 0 {
				return out, false, false
			}
			out[side] = append(out[side], book.Level{Price: market.Price(p), Qty: market.Qty(q)})
		}
	}
	return out, true, false
}

// modelBook is the reference model of one pair: a map book with the sync
// rules of apply.
type modelBook struct {
	side             [2]map[market.Price]market.Qty
	live             bool
	depth, maxDepth  int
	pe, qe, pd, qd   int // storage exponents, wire decimals
	fails            int // resubscribes requested
	checkOK, checkNO int
}

func (rb *modelBook) clone() *modelBook {
	c := *rb
	for i := range c.side {
		c.side[i] = maps(rb.side[i])
	}
	return &c
}

func maps(m map[market.Price]market.Qty) map[market.Price]market.Qty {
	c := make(map[market.Price]market.Qty, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// sorted returns side s best first.
func (rb *modelBook) sorted(s market.Side) []book.Level {
	var out []book.Level
	for p, q := range rb.side[s] {
		out = append(out, book.Level{Price: p, Qty: q})
	}
	slices.SortFunc(out, func(a, b book.Level) int {
		if s == market.Bid {
			return cmpInt(b.Price, a.Price)
		}
		return cmpInt(a.Price, b.Price)
	})
	return out
}

func cmpInt(a, b market.Price) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checksumString renders the top 10 of each side at the wire decimals
// with math/big; ok is false if a level cannot be rendered exactly.
func (rb *modelBook) checksumString() (string, bool) {
	var sb strings.Builder
	ok := true
	render := func(v int64, exp, dec int) {
		r := new(big.Rat).SetFrac(big.NewInt(v), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
		x := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(dec)), nil)))
		if !x.IsInt() || !x.Num().IsInt64() {
			ok = false
			return
		}
		sb.WriteString(x.Num().String())
	}
	for _, s := range [2]market.Side{market.Ask, market.Bid} {
		for i, l := range rb.sorted(s) {
			if i == 10 {
				break
			}
			render(int64(l.Price), rb.pe, rb.pd)
			render(int64(l.Qty), rb.qe, rb.qd)
		}
	}
	return sb.String(), ok
}

func (rb *modelBook) fail() {
	if !rb.live && rb.fails > 0 {
		return
	}
	rb.live = false
	rb.fails++
}

// apply runs one entry through the sync rules and returns the error Handle
// should report for it (errDropped for a dropped update).
func (rb *modelBook) apply(e *refEntry, snapshot, v2 bool, depth int) error {
	if !snapshot && !rb.live {
		return errDropped
	}
	if snapshot {
		if depth > rb.maxDepth {
			rb.fail()
			return ErrMalformed
		}
		if !v2 {
			pd, qd := -1, -1
			for _, list := range e.levels {
				for _, l := range list {
					pd, qd = max(pd, refDecimals(l.px)), max(qd, refDecimals(l.qty))
				}
			}
			if pd > 18 || qd > 18 {
				rb.fail()
				return ErrMalformed
			}
			if pd >= 0 {
				rb.pd = pd
			}
			if qd >= 0 {
				rb.qd = qd
			}
		}
	} else if depth != rb.depth {
		rb.fail()
		return ErrMalformed
	}
	levels, ok, _ := refConvert(e, rb.pe, rb.qe)
	if !ok {
		rb.fail()
		return ErrMalformed
	}
	if snapshot {
		rb.side = [2]map[market.Price]market.Qty{{}, {}}
		rb.depth = depth
	}
	for s, list := range levels {
		for _, l := range list {
			if l.Qty == 0 {
				delete(rb.side[s], l.Price)
			} else {
				rb.side[s][l.Price] = l.Qty
			}
		}
	}
	for s := range rb.side {
		for i, l := range rb.sorted(market.Side(s)) {
			if i >= rb.depth {
				delete(rb.side[s], l.Price)
			}
		}
	}
	var ret error
	good := true
	if e.hasCS {
		str, renderable := rb.checksumString()
		good = renderable && crc32.ChecksumIEEE([]byte(str)) == e.cs
		if good {
			rb.checkOK++
		} else {
			rb.checkNO++
			rb.fail()
			ret = ErrChecksum
		}
	}
	if snapshot && good {
		rb.live = true
		rb.fails = 0
	}
	bids, asks := rb.sorted(market.Bid), rb.sorted(market.Ask)
	if len(bids) > 0 && len(asks) > 0 && bids[0].Price >= asks[0].Price {
		rb.fail()
		if ret == nil {
			ret = book.ErrCrossed
		}
	}
	return ret
}

// fuzzSetup is what both targets need: a feed made Live on one pair by a
// real snapshot, and the reference model of that pair.
type fuzzSetup struct {
	cfg   Config
	snap  []byte
	names []string // wire names of the modelled pair
	model *modelBook
	v2    bool
}

func (fs *fuzzSetup) run(t *testing.T, data []byte) {
	fd, err := New(fs.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := fd.Handle(fs.snap, 0); err != nil {
		t.Fatalf("seed snapshot: %v", err)
	}
	sym := fd.Symbols()[0]
	fd.TakeResubscribe(nil)

	var ref refMsg
	if fs.v2 {
		ref = refDecodeV2(data)
	} else {
		ref = refDecodeV1(data)
	}
	before := levelsOf(sym.Book)
	herr := fd.Handle(data, 0) // must not panic, whatever the input
	if skip := compareDecode(t, data, fs.v2, ref); skip {
		return
	}

	// Predict Handle's result for the modelled pair.
	rb := fs.model.clone()
	var want error
	touched := false // the frame has book data for the modelled pair
	switch ref.kind {
	case refMalformed:
		want = ErrMalformed
		if slices.Contains(fs.names, ref.badPair) {
			rb.fail()
		}
	case refIgnored:
	case refBook:
		bad, unknown := false, false
		var ret error
		for i := range ref.entries {
			e := &ref.entries[i]
			if !slices.Contains(fs.names, e.sym) {
				if !fs.v2 {
					return // v1: another pair gets its own book; not modelled
				}
				unknown = true
				continue
			}
			touched = true
			depth := fs.cfg.Depth
			if !fs.v2 {
				depth = e.depth
			}
			switch err := rb.apply(e, ref.snapshot, fs.v2, depth); err {
			case nil, errDropped:
			case ErrMalformed:
				bad = true
			default:
				if ret == nil {
					ret = err
				}
			}
		}
		switch {
		case bad:
			want = ErrMalformed
		case unknown && ret == nil:
			want = ErrUnknownSymbol
		default:
			want = ret
		}
	}
	if herr != want {
		t.Fatalf("Handle = %v, want %v\nframe %q", herr, want, data)
	}
	if ref.kind != refBook || !touched {
		// Nothing for the pair was applied: the book must be as it was.
		if got := levelsOf(sym.Book); !slices.Equal(got[0], before[0]) || !slices.Equal(got[1], before[1]) {
			t.Fatalf("book changed by a frame that applied nothing to it\nframe %q", data)
		}
		if ref.kind == refMalformed && rb.live {
			// Attribution by channel id (v1) or by a partly decoded entry
			// (v2) may also resync the pair; either way it is consistent.
			if st := sym.Book.State(); st == book.Stale {
				rb.fail()
			}
		}
	}
	if live := sym.Book.State() == book.Live; live != rb.live {
		t.Fatalf("book live %v, reference %v\nframe %q", live, rb.live, data)
	}
	if got := fd.TakeResubscribe(nil); (len(got) == 1) != (rb.fails > fs.model.fails) || len(got) > 1 {
		t.Fatalf("resubscribe %v, reference requested %d\nframe %q", got, rb.fails-fs.model.fails, data)
	}
	st := sym.Book.Stats()
	if int(st.ChecksumOK) != rb.checkOK || int(st.ChecksumFail) != rb.checkNO {
		t.Fatalf("checksums ok %d fail %d, reference %d %d\nframe %q", st.ChecksumOK, st.ChecksumFail, rb.checkOK, rb.checkNO, data)
	}
	got := levelsOf(sym.Book) // also after ErrMalformed: nothing half-applied

	if w := [2][]book.Level{rb.sorted(market.Bid), rb.sorted(market.Ask)}; !slices.Equal(got[0], w[0]) || !slices.Equal(got[1], w[1]) {
		t.Fatalf("book\n got %v\nwant %v\nframe %q", got, w, data)
	}
	if sym.PriceDec != rb.pd || sym.QtyDec != rb.qd {
		t.Fatalf("wire decimals %d/%d, reference %d/%d", sym.PriceDec, sym.QtyDec, rb.pd, rb.qd)
	}
	if str, ok := rb.checksumString(); ok {
		if got := fd.AppendChecksumString(nil, sym); string(got) != str {
			t.Fatalf("checksum string\n got %s\nwant %s\nframe %q", got, str, data)
		}
		// The cached path (copying levels of the previous string) agrees.
		if crc, ok := fd.checksum(sym); !ok || crc != crc32.ChecksumIEEE([]byte(str)) || string(sym.cs.text) != str {
			t.Fatalf("cached checksum string\n got %s\nwant %s\nframe %q", sym.cs.text, str, data)
		}
	}
}

// levelsOf returns every level of b, best first, bids then asks.
func levelsOf(b *book.Book) [2][]book.Level {
	return [2][]book.Level{b.AppendLevels(nil, market.Bid), b.AppendLevels(nil, market.Ask)}
}

// newFuzzSetup builds the feed config and the reference model from the
// first snapshot of a capture.
func newFuzzSetup(f testing.TB, file string, v2 bool) *fuzzSetup {
	frames, _ := readCapture(f, file)
	fs := &fuzzSetup{v2: v2}
	for _, fr := range frames {
		if bytes.Contains(fr, []byte(`"as":[`)) || bytes.Contains(fr, []byte(`"type":"snapshot"`)) {
			fs.snap = fr
			break
		}
	}
	if fs.snap == nil {
		f.Fatal("no snapshot")
	}
	var ref refMsg
	rb := &modelBook{side: [2]map[market.Price]market.Qty{{}, {}}}
	if v2 {
		var in market.Instrument
		for _, i := range assetPairs(f) {
			if i.Symbol == "XBT/USD" {
				in = i
			}
		}
		fs.cfg = Config{Version: 2, Depth: 10, Instruments: []market.Instrument{in}}
		fs.names = []string{"BTC/USD", "XBT/USD"}
		rb.pe, rb.qe, rb.pd, rb.qd = in.PriceExp, in.QtyExp, in.PriceExp, in.QtyExp
		ref = refDecodeV2(fs.snap)
	} else {
		fs.cfg = Config{Version: 1}
		fs.names = []string{"XBT/USD"}
		ref = refDecodeV1(fs.snap)
		rb.pe, rb.qe = 5, 8 // learned from the first snapshot's text
	}
	if ref.kind != refBook {
		f.Fatal("reference cannot decode the seed snapshot")
	}
	depth := ref.entries[0].depth
	if v2 {
		depth = 10
	}
	rb.maxDepth = max(2*depth, depth+32)
	if err := rb.apply(&ref.entries[0], true, v2, depth); err != nil || !rb.live {
		f.Fatalf("reference seed snapshot: %v", err)
	}
	rb.fails = 0
	fs.model = rb
	// Check the feed agrees on the seed.
	fd, err := New(fs.cfg)
	if err != nil {
		f.Fatal(err)
	}
	if err := fd.Handle(fs.snap, 0); err != nil {
		f.Fatal(err)
	}
	sym := fd.Symbols()[0]
	if !v2 && (sym.PriceExp != rb.pe || sym.QtyExp != rb.qe) {
		f.Fatalf("seed exponents %d/%d, model %d/%d", sym.PriceExp, sym.QtyExp, rb.pe, rb.qe)
	}
	return fs
}

// TestDifferentialCaptures runs the fuzz targets' comparison on every real
// frame, each applied to the seed state: the first update after the
// snapshot verifies, later ones mostly do not (the book has moved on), so
// the matching, mismatching and dropped paths of both sides are compared.
func TestDifferentialCaptures(t *testing.T) {
	for _, tc := range []struct {
		file, other string
		v2          bool
	}{
		{"kraken-v1-book10-xbtusd.jsonl", "kraken-v1-book1000-10pairs.jsonl", false},
		{"kraken-v2-book10-btcusd.jsonl", "", true},
	} {
		fs := newFuzzSetup(t, tc.file, tc.v2)
		frames, _ := readCapture(t, tc.file)
		if tc.other != "" {
			more, _ := readCapture(t, tc.other)
			frames = append(frames, more...)
		}
		for _, fr := range frames {
			fs.run(t, fr)
		}
	}
}

// FuzzHandleV1: no panic on any input, and agreement with the sonic + big
// reference on classification, decoded levels, the book after the frame,
// its state, resubscribe requests and the checksum.
func FuzzHandleV1(f *testing.F) {
	fs := newFuzzSetup(f, "kraken-v1-book10-xbtusd.jsonl", false)
	f.Add([]byte(`[336,{"a":[["27130.20000","0.01237956","1693415479.752899","r"]]},{"b":[["27110.00000","0.00000000","1693415479.752899"]],"c":"1"},"book-10","XBT/USD"]`))
	f.Fuzz(func(t *testing.T, data []byte) { fs.run(t, data) })
}

// FuzzHandleV2 is FuzzHandleV1 for v2 frames, on BTC/USD at its AssetPairs
// precision (1, 8).
func FuzzHandleV2(f *testing.F) {
	fs := newFuzzSetup(f, "kraken-v2-book10-btcusd.jsonl", true)
	f.Add([]byte(`{"data":[{"symbol":"BTC/USD","bids":[{"price":29430.2,"qty":0.0}],"asks":[{"qty":1,"price":29431.1}],"checksum":1}],"type":"update","channel":"book"}`))
	f.Fuzz(func(t *testing.T, data []byte) { fs.run(t, data) })
}
