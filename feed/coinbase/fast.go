package coinbase

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"arbmm/internal/market"
)

// fast decodes an l2_data frame in exactly the compact layout Coinbase
// sends, keys in Coinbase's order:
//
//	{"channel":"l2_data","client_id":"","timestamp":"…","sequence_num":N,"events":[
//	  {"type":"update","product_id":"BTC-USD","updates":[
//	    {"side":"bid","event_time":"…","price_level":"65086.18","new_quantity":"0.1"},…]},…]}
//
// ("client_id" is optional). Matching fixed byte sequences keeps its
// branches predictable frame after frame, which a general cursor cannot.
// It handles only events whose product is known with exponents that this
// event cannot change, and reports false for anything else — white space,
// another key order, escapes, a bad number, an unknown product — leaving the
// frame to the general decoder, which accepts everything this accepts and
// decodes it identically (FuzzDecode checks both against sonic).
func (d *decoder) fast(b []byte) bool {
	const head = `{"channel":"l2_data","`
	if d.tab == nil || d.deferAll || !lit(b, 0, head) {
		return false
	}
	d.reset(b)
	m := &d.m
	i := len(head)
	if lit(b, i, `client_id":"`) {
		j, ok := strEnd(b, i+len(`client_id":"`))
		if !ok || !lit(b, j, `","`) {
			return false
		}
		i = j + len(`","`)
	}
	if !lit(b, i, `timestamp":"`) {
		return false
	}
	i += len(`timestamp":"`)
	j, ok := strEnd(b, i)
	if !ok {
		return false
	}
	m.exch, _ = parseTime(b[i:j])
	i = j
	if !lit(b, i, `","sequence_num":`) {
		return false
	}
	if m.seq, i, ok = uintAt(b, i+len(`","sequence_num":`)); !ok {
		return false
	}
	m.channel, m.hasSeq = chL2, true
	if !lit(b, i, `,"events":[{"type":"`) {
		return false
	}
	i += len(`,"events":[{"type":"`)
	for {
		if len(m.events) == maxEvents {
			return false
		}
		snap := false
		switch {
		case lit(b, i, `update","product_id":"`):
			i += len(`update","product_id":"`)
		case lit(b, i, `snapshot","product_id":"`):
			snap = true
			i += len(`snapshot","product_id":"`)
		default:
			return false
		}
		j, ok := strEnd(b, i)
		if !ok {
			return false
		}
		product := b[i:j]
		sym := d.tab.find(product)
		if sym == nil || !sym.directExp(snap, true) || !lit(b, j, `","updates":[`) {
			return false
		}
		pexp, qexp := sym.Inst.PriceExp, sym.Inst.QtyExp
		lo := int32(len(m.levels))
		if i, ok = d.fastLevels(b, j+len(`","updates":[`), pexp, qexp); !ok {
			return false
		}
		m.events = append(m.events, event{
			snapshot: snap, hasType: true, product: product, sym: sym,
			lo: lo, hi: int32(len(m.levels)), direct: true, pexp: pexp, qexp: qexp,
		})
		if lit(b, i, `},{"type":"`) {
			i += len(`},{"type":"`)
			continue
		}
		return i+len(`}]}`) == len(b) && lit(b, i, `}]}`)
	}
}

// fastLevels parses the level objects of an updates array whose '[' ends
// before b[i], through its ']', and returns the index after it.
func (d *decoder) fastLevels(b []byte, i, pexp, qexp int) (int, bool) {
	const (
		bidKey   = `{"side":"bid","event_time":"`
		offerKey = `{"side":"offer","event_time":"`
		pxKey    = `","price_level":"`
		qtyKey   = `","new_quantity":"`
	)
	m := &d.m
	if lit(b, i, `]`) {
		return i + 1, true
	}
	var et []byte // the last event_time's contents and pxKey
	for {
		side := market.Bid
		switch {
		case lit(b, i, bidKey):
			i += len(bidKey)
		case lit(b, i, offerKey):
			side = market.Ask
			i += len(offerKey)
		default:
			return 0, false
		}
		// event_time is not used. The levels of a message share one, so
		// a string already validated in this array, with the key after
		// it, is matched whole instead of scanned again.
		if len(et) > 0 && len(b)-i >= len(et) && bytes.Equal(b[i:i+len(et)], et) {
			i += len(et)
		} else {
			j, ok := strEnd(b, i)
			if !ok || !lit(b, j, pxKey) {
				return 0, false
			}
			et = b[i : j+len(pxKey)]
			i = j + len(pxKey)
		}
		p, n, err := market.ScanFixed(b[i:], pexp)
		i += n
		if err != nil || n == 0 || !lit(b, i, qtyKey) {
			return 0, false
		}
		i += len(qtyKey)
		q, n, err := market.ScanFixed(b[i:], qexp)
		i += n
		if err != nil || n == 0 || !lit(b, i, `"}`) || p <= 0 || q < 0 || len(m.levels) == d.cap {
			return 0, false
		}
		m.levels = append(m.levels, level{px: p, qty: q, side: side})
		i += len(`"}`)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// lit reports whether b holds s at i.
func lit(b []byte, i int, s string) bool {
	return i >= 0 && len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

// SWAR constants: one byte value repeated in every byte of a word.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// strEnd returns the index of the quote that closes the JSON string whose
// contents start at b[i], if the contents are printable ASCII without
// escapes; false otherwise (the general decoder then decides). It looks at
// eight bytes at a time.
func strEnd(b []byte, i int) (int, bool) {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ ('"' * ones)
		e := x ^ ('\\' * ones)
		// High bit of a byte set where it is '"', '\\', below 0x20 or not
		// ASCII. Borrows run only towards later bytes, past the first
		// flagged byte, so the lowest flagged byte is exact.
		t := ((q - ones) &^ q) | ((e - ones) &^ e) | ((x - 0x20*ones) &^ x) | x
		if t &= highs; t != 0 {
			j := i + bits.TrailingZeros64(t)>>3
			return j, b[j] == '"'
		}
	}
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

// parseTime parses an RFC 3339 UTC time with an optional fraction of 1 to 9
// digits ("2026-08-09T21:05:48.483587501Z") into Unix nanoseconds. It
// reports false for anything else, and for times outside int64 nanoseconds
// (years 1678 to 2262). It does not allocate.
func parseTime(b []byte) (int64, bool) {
	n := len(b)
	if n < 20 || n > 30 || b[n-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	y, ok1 := digitsAt(b, 0, 4)
	mo, ok2 := digitsAt(b, 5, 2)
	d, ok3 := digitsAt(b, 8, 2)
	h, ok4 := digitsAt(b, 11, 2)
	mi, ok5 := digitsAt(b, 14, 2)
	s, ok6 := digitsAt(b, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59 {
		return 0, false
	}
	var ns int64
	if n > 20 {
		if b[19] != '.' || n == 21 {
			return 0, false
		}
		k := n - 21 // fraction digits, 1..9
		f, ok := digitsAt(b, 20, k)
		if !ok {
			return 0, false
		}
		ns = f * market.Pow10(9-k)
	}
	secs := daysFromCivil(y, mo, d)*86400 + h*3600 + mi*60 + s
	const maxSecs = (1<<63 - 1 - 999_999_999) / 1_000_000_000
	if secs < -maxSecs || secs > maxSecs {
		return 0, false
	}
	return secs*1e9 + ns, true
}

// digitsAt parses the n decimal digits at b[i:].
func digitsAt(b []byte, i, n int) (int64, bool) {
	var v int64
	for _, c := range b[i : i+n] {
		c -= '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + int64(c)
	}
	return v, true
}

// daysIn returns the number of days in month m of year y.
func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (H. Hinnant's algorithm); y is 0..9999 here.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
