package binance

import (
	"errors"

	"arbmm/internal/jscan"
)

// Errors returned by Handle; preallocated.
var (
	ErrDecode        = errors.New("binance: malformed frame")
	ErrUnknownSymbol = errors.New("binance: unknown symbol")
	ErrLevels        = errors.New("binance: too many levels in one message")
	ErrNumber        = errors.New("binance: price or quantity not representable at the instrument's exponents")
	ErrDuplicate     = errors.New("binance: duplicate key in event")
	ErrMissingField  = errors.New("binance: trade event without p, q, m or s")
)

type kind uint8

const (
	kindOther kind = iota
	kindDepth
	kindTicker
	kindSnapshot
	kindTrade
)

// levelRef is where one level's price and quantity values start in the frame.
type levelRef struct{ px, qty int32 }

// msg is the scratch result of one decode: scalar fields, and levels
// parsed to fixed point (or, if the exponents were not known while the
// levels were scanned, located for parsing afterwards).
type msg struct {
	kind         kind
	symbol       []byte // borrowed from the frame (or the scanner's scratch)
	evType       []byte
	E, T         int64 // event and transaction time, ms
	U, u, pu     int64
	hasPu        bool
	lastUpdateID int64
	hasID        bool       // lastUpdateId present (snapshot)
	refs         []levelRef // offsets, when the exponents were unknown while scanning
	vals         [][2]int64 // parsed (price, qty), when they were known (direct mode)
	direct       bool       // levels are in vals, not refs
	sym          *Symbol    // resolved from "s" (nil for snapshots, unknown symbols)
	nb           int        // levels[:nb] are bids, the rest asks
	tb, tB       int32      // bookTicker value offsets: b, B, a, A
	ta, tA       int32
	tp, tq       int32 // trade value offsets: p, q
	tradeID      int64 // trade "t"
	buyerMaker   bool  // trade "m": the buyer was the maker (a seller aggressed)
	hasM         bool
	data         []byte // the frame the offsets refer to
	dataStart    int    // offset of the event object (for buffering)
	dataEnd      int
}

// decoder holds the scanner and scratch for one Feed.
type decoder struct {
	s   jscan.Scanner
	m   msg
	cap int // max levels per message

	// lookup resolves the symbol of an event as soon as "s" is scanned, so
	// that levels parse straight into fixed point in one pass (Binance
	// sends "s" before "b" and "a"). Nil: always record offsets.
	lookup func([]byte) *Symbol
	// Exponents for levels scanned before any symbol is known (snapshots,
	// whose symbol comes from the URL); valid when haveExp.
	pexp, qexp int
	haveExp    bool
}

func newDecoder(maxLevels int) decoder {
	return decoder{m: msg{refs: make([]levelRef, 0, maxLevels), vals: make([][2]int64, 0, maxLevels)}, cap: maxLevels}
}

// reset prepares the scratch message for a new frame.
func (d *decoder) reset(frame []byte) {
	d.s.Reset(frame)
	d.m = msg{refs: d.m.refs[:0], vals: d.m.vals[:0], data: frame}
}

// decode scans a websocket frame: a combined-stream envelope
// {"stream":..., "data":{...}} or a bare event object.
func (d *decoder) decode(frame []byte) bool {
	s := &d.s
	d.reset(frame)
	d.haveExp = false
	if d.fastDepth(frame) {
		return true
	}
	d.reset(frame)
	k, ok := s.ObjectStart()
	if !ok {
		return false
	}
	if string(k) != "stream" && string(k) != "data" {
		return d.event(k) && s.End()
	}
	seenData := false
	for ; ok; k, ok = s.NextKey() {
		if string(k) == "data" {
			if seenData {
				s.Fail(ErrDuplicate)
				return false
			}
			seenData = true
			if !d.object() {
				return false
			}
			continue
		}
		if !s.Skip() {
			return false
		}
	}
	return s.End() && seenData
}

// decodeSnapshot scans a REST depth snapshot body; levels parse straight to
// fixed point at (pexp, qexp) when known, else their offsets are recorded.
func (d *decoder) decodeSnapshot(body []byte, pexp, qexp int, known bool) bool {
	s := &d.s
	d.reset(body)
	d.pexp, d.qexp, d.haveExp = pexp, qexp, known
	k, ok := s.ObjectStart()
	if !ok {
		return false
	}
	if !d.event(k) || !s.End() {
		return false
	}
	if !d.m.hasID {
		s.Fail(jscan.ErrType)
		return false
	}
	d.m.kind = kindSnapshot
	return true
}

// object scans the event object at the cursor.
func (d *decoder) object() bool {
	k, ok := d.s.ObjectStart()
	if !ok {
		return d.s.Err() == nil // {} is an event we ignore
	}
	return d.event(k)
}

// event scans the members of an event object whose opening brace and first
// key have been consumed. Keys are matched exactly: Binance uses keys that
// differ only by case (e/E, u/U, b/B, a/A).
func (d *decoder) event(k []byte) bool {
	s := &d.s
	m := &d.m
	m.dataStart = s.Pos()
	var bids, asks [2]int // start and end index in refs, by position seen
	haveB, haveA := false, false
	otherBA := false // "b" or "a" held something other than levels
	var seen uint16
	for ok := true; ok; k, ok = s.NextKey() {
		// A repeated field is rejected: which copy counts would be a guess.
		if bit := keyBit(k); bit != 0 {
			if seen&bit != 0 {
				s.Fail(ErrDuplicate)
				return false
			}
			seen |= bit
		}
		switch string(k) {
		case "e":
			m.evType, _ = s.String()
		case "E":
			m.E, _ = s.Int()
		case "T":
			m.T, _ = s.Int()
		case "s":
			m.symbol, _ = s.String()
			if d.lookup != nil && !d.haveExp && s.Err() == nil {
				if m.sym = d.lookup(m.symbol); m.sym != nil && m.sym.hasExp {
					d.pexp, d.qexp, d.haveExp = m.sym.Inst.PriceExp, m.sym.Inst.QtyExp, true
				}
			}
		case "U":
			m.U, _ = s.Int()
		case "u":
			m.u, _ = s.Int()
		case "pu":
			m.pu, _ = s.Int()
			m.hasPu = true
		case "lastUpdateId":
			m.lastUpdateID, _ = s.Int()
			m.hasID = true
		case "b", "bids", "a", "asks":
			isBid := k[0] == 'b'
			if c := s.Peek(); c != '"' && c != '[' {
				// Another event's field of the same name (aggTrade's "a").
				if !s.Skip() {
					return false
				}
				otherBA = true
				continue
			}
			if s.Peek() == '"' { // bookTicker best price
				p := int32(s.Pos())
				if !s.Skip() {
					return false
				}
				if isBid {
					m.tb = p
				} else {
					m.ta = p
				}
				continue
			}
			if len(m.refs)+len(m.vals) == 0 {
				m.direct = d.haveExp // one mode per message
			}
			start := m.count()
			if !d.levels() {
				return false
			}
			if isBid {
				bids, haveB = [2]int{start, m.count()}, true
			} else {
				asks, haveA = [2]int{start, m.count()}, true
			}
		case "p", "q":
			p := int32(s.Pos())
			str := s.Peek() == '"' // a trade's price and quantity are strings; other events' are not read
			if !s.Skip() {
				return false
			}
			if str && k[0] == 'p' {
				m.tp = p
			} else if str {
				m.tq = p
			}
		case "t":
			m.tradeID, _ = s.Int()
		case "m":
			m.buyerMaker, _ = s.Bool()
			m.hasM = true
		case "B", "A":
			p := int32(s.Pos())
			if !s.Skip() {
				return false
			}
			if k[0] == 'B' {
				m.tB = p
			} else {
				m.tA = p
			}
		default:
			if !s.Skip() {
				return false
			}
		}
	}
	if s.Failed() {
		return false
	}
	m.dataEnd = s.Pos()
	// Put bids first: refs[:nb] bids, refs[nb:] asks.
	if haveB && haveA && bids[0] > asks[0] {
		if m.direct {
			rotate(m.vals, asks[0], bids[0], bids[1])
		} else {
			rotate(m.refs, asks[0], bids[0], bids[1])
		}
	}
	m.nb = 0
	if haveB {
		m.nb = bids[1] - bids[0]
	}
	switch {
	case string(m.evType) == "depthUpdate":
		if otherBA || m.tb > 0 || m.ta > 0 {
			s.Fail(jscan.ErrType) // a depth event's "b" and "a" are level arrays
			return false
		}
		m.kind = kindDepth
	case string(m.evType) == "bookTicker" || (len(m.evType) == 0 && m.tb > 0 && m.ta > 0 && m.tB > 0 && m.tA > 0):
		m.kind = kindTicker
	case string(m.evType) == "trade":
		if m.tp == 0 || m.tq == 0 || !m.hasM || len(m.symbol) == 0 {
			s.Fail(ErrMissingField)
			return false
		}
		m.kind = kindTrade
	}
	return true
}

// keyBit maps the event keys the decoder reads to distinct bits.
func keyBit(k []byte) uint16 {
	switch string(k) {
	case "e":
		return 1 << 0
	case "E":
		return 1 << 1
	case "T":
		return 1 << 2
	case "s":
		return 1 << 3
	case "U":
		return 1 << 4
	case "u":
		return 1 << 5
	case "pu":
		return 1 << 6
	case "lastUpdateId":
		return 1 << 7
	case "b", "bids":
		return 1 << 8
	case "a", "asks":
		return 1 << 9
	case "B":
		return 1 << 10
	case "A":
		return 1 << 11
	case "p":
		return 1 << 12
	case "q":
		return 1 << 13
	case "t":
		return 1 << 14
	case "m":
		return 1 << 15
	}
	return 0
}

// count returns the number of levels scanned so far.
func (m *msg) count() int { return len(m.refs) + len(m.vals) }

// rotate moves r[mid:end] before r[start:mid].
func rotate[T any](r []T, start, mid, end int) {
	reverse(r[start:mid])
	reverse(r[mid:end])
	reverse(r[start:end])
}

func reverse[T any](r []T) {
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
}

// levels scans an array of [price, qty] pairs: parsed to fixed point in
// direct mode, else their offsets recorded.
func (d *decoder) levels() bool {
	s := &d.s
	m := &d.m
	if m.direct {
		var ok bool
		m.vals, ok = s.AppendFixedPairs(m.vals, d.pexp, d.qexp, d.cap-m.count())
		if errors.Is(s.Err(), jscan.ErrTooMany) {
			s.Fail(ErrLevels)
		}
		return ok
	}
	for more := s.ArrayStart(); more; more = s.NextElem() {
		if !s.ArrayStart() {
			s.Fail(jscan.ErrType)
			return false
		}
		if m.count() == d.cap {
			s.Fail(ErrLevels)
			return false
		}
		p := int32(s.Pos())
		if !s.Skip() || !s.NextElem() {
			s.Fail(jscan.ErrType)
			return false
		}
		q := int32(s.Pos())
		s.Skip()
		m.refs = append(m.refs, levelRef{p, q})
		// Binance may append fields to a level; skip them.
		for s.NextElem() {
			if !s.Skip() {
				return false
			}
		}
		if s.Failed() {
			return false
		}
	}
	return !s.Failed()
}

// fixedAt parses the value (quoted or bare) at offset pos of the frame.
func (d *decoder) fixedAt(pos int32, exp int) (int64, bool) {
	d.s.ResetAt(d.m.data, int(pos))
	return d.s.Fixed(exp)
}

// resolve makes m.vals hold every level of the current message at the
// given exponents (which must be the ones the message was scanned with in
// direct mode), parsing recorded offsets if needed, and validates them all.
// It returns the index of the first level that does not parse or has a
// non-positive price or a negative quantity, or -1.
func (d *decoder) resolve(pexp, qexp int) int {
	m := &d.m
	if !m.direct {
		m.vals = m.vals[:0]
		for i, r := range m.refs {
			p, ok1 := d.fixedAt(r.px, pexp)
			q, ok2 := d.fixedAt(r.qty, qexp)
			if !ok1 || !ok2 {
				return i
			}
			m.vals = append(m.vals, [2]int64{p, q})
		}
		m.direct = true
	}
	for i, v := range m.vals {
		if v[0] <= 0 || v[1] < 0 {
			return i
		}
	}
	return -1
}
