package bybit

import "arbmm/internal/jscan"

// fastBook decodes an orderbook message in exactly the compact shape Bybit
// sends, in either of the key orders its endpoints use:
//
//	{"topic":"orderbook.N.SYM","type":"delta","ts":1,"data":{"s":"SYM","b":[["p","q"],...],"a":[...],"u":2,"seq":3},"cts":4}   (linear)
//	{"topic":"orderbook.N.SYM","ts":1,"type":"delta","data":{...},"cts":4}                                                    (spot)
//
// Matching fixed byte sequences keeps its branches predictable frame after
// frame, which a general cursor cannot. It handles only symbols whose
// exponents are known, and reports false for anything else (white space,
// another key order, escapes, an unknown symbol, a bad level), leaving the
// frame to the general decoder, which accepts everything this accepts with
// the same result (FuzzDecode checks both against sonic).
func (d *decoder) fastBook(b []byte) bool {
	const head = `{"topic":"orderbook.`
	if !lit(b, 0, head) || d.lookup == nil {
		return false
	}
	m := &d.m
	i := len(`{"topic":"`)
	j, ok := plainString(b, i)
	if !ok || j == len(head) {
		return false
	}
	topic := b[i:j]
	depth, name, ok := parseTopic(topic)
	if !ok {
		return false
	}
	sym, _ := d.lookup(topic, name, depth)
	if sym == nil || !sym.hasExp {
		return false
	}
	i = j + 1
	switch {
	case lit(b, i, `,"type":"`):
		if i, ok = d.fastType(b, i+len(`,"type":"`)); !ok || !lit(b, i, `,"ts":`) {
			return false
		}
		if m.ts, i, ok = uintAt(b, i+len(`,"ts":`)); !ok {
			return false
		}
	case lit(b, i, `,"ts":`):
		if m.ts, i, ok = uintAt(b, i+len(`,"ts":`)); !ok || !lit(b, i, `,"type":"`) {
			return false
		}
		if i, ok = d.fastType(b, i+len(`,"type":"`)); !ok {
			return false
		}
	default:
		return false
	}
	if !lit(b, i, `,"data":{"s":"`) {
		return false
	}
	i += len(`,"data":{"s":"`)
	if len(b)-i < len(name) || string(b[i:i+len(name)]) != string(name) || !lit(b, i+len(name), `","b":`) {
		return false
	}
	m.dataPos = i - len(`{"s":"`)
	i += len(name) + len(`","b":`)
	pe, qe := sym.Inst.PriceExp, sym.Inst.QtyExp
	if m.vals, i, ok = jscan.FastPairs(b, i, m.vals[:0], pe, qe, d.maxLevels); !ok || !lit(b, i, `,"a":`) {
		return false
	}
	m.nb = len(m.vals)
	if m.vals, i, ok = jscan.FastPairs(b, i+len(`,"a":`), m.vals, pe, qe, d.maxLevels-m.nb); !ok || !lit(b, i, `,"u":`) {
		return false
	}
	if m.u, i, ok = uintAt(b, i+len(`,"u":`)); !ok || m.u < 1 || !lit(b, i, `,"seq":`) {
		return false
	}
	if m.seq, i, ok = uintAt(b, i+len(`,"seq":`)); !ok || !lit(b, i, `},"cts":`) {
		return false
	}
	if m.cts, i, ok = uintAt(b, i+len(`},"cts":`)); !ok || i+1 != len(b) || b[i] != '}' {
		return false
	}
	for _, v := range m.vals {
		if v[0] <= 0 || v[1] < 0 {
			return false
		}
	}
	m.kind, m.sym, m.depth = msgBook, sym, depth
	m.nameLen = copy(m.name[:], name)
	m.hasTS, m.hasSeq, m.hasCTS = true, true, true
	m.pexp, m.qexp = pe, qe
	return true
}

// fastType matches "snapshot" or "delta" and the closing quote at b[i:].
func (d *decoder) fastType(b []byte, i int) (int, bool) {
	switch {
	case lit(b, i, `delta"`):
		return i + len(`delta"`), true
	case lit(b, i, `snapshot"`):
		d.m.snapshot = true
		return i + len(`snapshot"`), true
	}
	return 0, false
}

// lit reports whether b holds s at i.
func lit(b []byte, i int, s string) bool {
	return i >= 0 && len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

// plainString returns the index of the quote closing the string whose
// contents start at i, if the contents are printable ASCII without escapes.
func plainString(b []byte, i int) (int, bool) {
	for ; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			return i, true
		}
		if c < 0x20 || c == '\\' || c >= 0x80 {
			return 0, false
		}
	}
	return 0, false
}

// uintAt parses the unsigned JSON integer at b[i:] (no sign, fraction,
// exponent or leading zero; at most 18 digits, so that it fits an int64)
// and returns it with the index after it. Anything else is left to the
// general path.
func uintAt(b []byte, i int) (int64, int, bool) {
	start := i
	var v uint64
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		v = v*10 + uint64(c)
	}
	n := i - start
	if n == 0 || n > 18 || (n > 1 && b[start] == '0') {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i]|0x20 == 'e') {
		return 0, 0, false
	}
	return int64(v), i, true
}
