package okx

import "math"

// fastFrame decodes a book message in exactly the compact shape OKX sends,
// with the keys in OKX's order:
//
//	{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[...],"bids":[...],"ts":"1652459225464","checksum":-914047754,"prevSeqId":1,"seqId":2}]}
//
// ("action" is absent on books5 and bbo-tbt; "checksum", "prevSeqId" and
// "seqId" are optional and may come in any order after "ts"). Matching
// fixed byte sequences keeps its branches predictable frame after frame,
// which the general cursor cannot. It handles only instruments the feed
// knows, with exponents, on the channel their book is bound to, and
// reports false for anything else — white space, another key order,
// escapes, numbers outside the plain forms, a value the general decoder
// would reject — leaving the frame to decode, which accepts everything
// this accepts with the same result (FuzzDecode checks both against
// sonic). On false d.m is left partly written: the caller resets it.
func (d *decoder) fastFrame(b []byte) bool {
	m := &d.m
	const argCh = `{"arg":{"channel":"`
	if !lit(b, 0, argCh) || d.find == nil {
		return false
	}
	i := len(argCh)
	j, ok := plainString(b, i)
	if !ok {
		return false
	}
	if m.ch = bookChannel(b[i:j]); m.ch == chNone || !lit(b, j, `","instId":"`) {
		return false
	}
	i = j + len(`","instId":"`)
	if j, ok = plainString(b, i); !ok || !lit(b, j, `"},`) {
		return false
	}
	m.instID = b[i:j]
	sym := d.find(m.instID)
	if sym == nil || !sym.hasExp || sym.ch != m.ch {
		return false
	}
	i = j + len(`"},`)
	switch {
	case lit(b, i, `"action":"update","data":[{"asks":`):
		m.action = actUpdate
		i += len(`"action":"update","data":[{"asks":`)
	case lit(b, i, `"action":"snapshot","data":[{"asks":`):
		m.action = actSnapshot
		i += len(`"action":"snapshot","data":[{"asks":`)
	case lit(b, i, `"data":[{"asks":`):
		m.action = actNone
		i += len(`"data":[{"asks":`)
	default:
		return false
	}
	if m.ch.incremental() == (m.action == actNone) {
		return false // the general decoder reports errAction
	}
	pexp, qexp := sym.Inst.PriceExp, sym.Inst.QtyExp
	var lv []level
	if lv, i, ok = fastLevels(b, i, m.levels[1][:0], pexp, qexp, d.maxLevels); !ok || !lit(b, i, `,"bids":`) {
		return false
	}
	m.levels[1] = lv
	if lv, i, ok = fastLevels(b, i+len(`,"bids":`), m.levels[0][:0], pexp, qexp, d.maxLevels); !ok || !lit(b, i, `,"ts":"`) {
		return false
	}
	m.levels[0] = lv
	i += len(`,"ts":"`)
	if m.ts, i, ok = intAt(b, i, 0, maxTsMs); !ok || i >= len(b) || b[i] != '"' {
		return false
	}
	m.hasTs = true
	i++
	for i < len(b) && b[i] == ',' {
		var v int64
		switch {
		case lit(b, i, `,"checksum":`) && !m.hasCS:
			if v, i, ok = intAt(b, i+len(`,"checksum":`), math.MinInt32, math.MaxInt32); !ok {
				return false
			}
			m.cs, m.hasCS = int32(v), true
		case lit(b, i, `,"prevSeqId":`) && !m.hasPrev:
			if m.prev, i, ok = intAt(b, i+len(`,"prevSeqId":`), math.MinInt64, math.MaxInt64); !ok {
				return false
			}
			m.hasPrev = true
		case lit(b, i, `,"seqId":`) && !m.hasSeq:
			if m.seq, i, ok = intAt(b, i+len(`,"seqId":`), math.MinInt64, math.MaxInt64); !ok {
				return false
			}
			m.hasSeq = true
		default:
			return false
		}
	}
	if i+3 != len(b) || !lit(b, i, `}]}`) {
		return false
	}
	m.kind, m.sym, m.decoded = msgBook, sym, true
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

// intAt parses the JSON integer at b[i:] (an optional '-', then "0" or a
// digit 1-9 and at most 17 more digits; no fraction, no exponent) and
// returns it with the index after it, if it lies in [lo, hi]. Anything
// else reports false: the general decoder decides.
func intAt(b []byte, i int, lo, hi int64) (int64, int, bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	var v int64
	for ; i < len(b) && b[i]-'0' <= 9; i++ {
		v = v*10 + int64(b[i]-'0')
	}
	n := i - start
	if n == 0 || n > 18 || n > 1 && b[start] == '0' {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i]|0x20 == 'e') {
		return 0, 0, false
	}
	if neg {
		v = -v
	}
	if v < lo || v > hi {
		return 0, 0, false
	}
	return v, i, true
}
