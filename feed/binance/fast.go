package binance

import (
	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// fastDepth decodes a depth event in exactly the compact shape Binance
// sends, with the keys in Binance's order:
//
//	{"stream":"<name>","data":{"e":"depthUpdate","E":1,"T":2,"s":"SYM","U":3,"u":4,"pu":5,"b":[["p","q"],...],"a":[...]}}
//
// (the envelope is optional; "T" and "pu" appear on USD-M). Matching fixed
// byte sequences keeps its branches predictable frame after frame, which a
// general cursor cannot. It handles only symbols whose exponents are known,
// and reports false for anything else — white space, another key order,
// escapes, an unknown symbol — leaving the frame to the general decoder,
// which accepts everything this accepts (FuzzDecode checks both against
// sonic).
func (d *decoder) fastDepth(b []byte) bool {
	m := &d.m
	i := 0
	envelope := false
	if lit(b, 0, `{"stream":"`) {
		j, ok := plainString(b, len(`{"stream":"`))
		if !ok || !lit(b, j, `","data":`) {
			return false
		}
		i = j + len(`","data":`)
		envelope = true
	}
	if !lit(b, i, `{"e":"depthUpdate","E":`) {
		return false
	}
	m.evType = b[i+len(`{"e":"`) : i+len(`{"e":"depthUpdate`)]
	i += len(`{"e":"depthUpdate","E":`)
	var ok bool
	if m.E, i, ok = uintAt(b, i); !ok {
		return false
	}
	if lit(b, i, `,"T":`) {
		if m.T, i, ok = uintAt(b, i+len(`,"T":`)); !ok {
			return false
		}
	}
	if !lit(b, i, `,"s":"`) {
		return false
	}
	i += len(`,"s":"`)
	j, ok := plainString(b, i)
	if !ok || d.lookup == nil {
		return false
	}
	m.symbol = b[i:j]
	sym := d.lookup(m.symbol)
	if sym == nil || !sym.hasExp {
		return false
	}
	i = j
	if !lit(b, i, `","U":`) {
		return false
	}
	if m.U, i, ok = uintAt(b, i+len(`","U":`)); !ok || !lit(b, i, `,"u":`) {
		return false
	}
	if m.u, i, ok = uintAt(b, i+len(`,"u":`)); !ok {
		return false
	}
	if lit(b, i, `,"pu":`) {
		if m.pu, i, ok = uintAt(b, i+len(`,"pu":`)); !ok {
			return false
		}
		m.hasPu = true
	}
	if !lit(b, i, `,"b":`) {
		return false
	}
	pexp, qexp := sym.Inst.PriceExp, sym.Inst.QtyExp
	if m.vals, i, ok = jscan.FastPairs(b, i+len(`,"b":`), m.vals[:0], pexp, qexp, d.cap); !ok || !lit(b, i, `,"a":`) {
		return false
	}
	m.nb = len(m.vals)
	if m.vals, i, ok = jscan.FastPairs(b, i+len(`,"a":`), m.vals, pexp, qexp, d.cap); !ok {
		return false
	}
	end := "}"
	if envelope {
		end = "}}"
	}
	if i+len(end) != len(b) || !lit(b, i, end) {
		return false
	}
	m.kind, m.sym, m.direct, m.data = kindDepth, sym, true, b
	return true
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

// uintAt parses the unsigned JSON integer at b[i:] (no sign, no fraction,
// no exponent, no leading zero) and returns it with the index after it.
func uintAt(b []byte, i int) (int64, int, bool) {
	if i >= len(b) || b[i] < '0' || b[i] > '9' || (b[i] == '0' && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '9') {
		return 0, 0, false
	}
	v, n, err := market.ScanFixed(b[i:], 0)
	if err != nil {
		return 0, 0, false
	}
	i += n
	if i < len(b) && (b[i] == '.' || b[i]|0x20 == 'e') {
		return 0, 0, false // a fraction or exponent: the general path decides
	}
	return v, i, true
}
