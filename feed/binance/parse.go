package binance

import (
	"errors"

	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// Errors returned by Handle; preallocated.
var (
	ErrDecode        = errors.New("binance: malformed frame")
	ErrUnknownSymbol = errors.New("binance: unknown symbol")
	ErrLevels        = errors.New("binance: too many levels in one message")
	ErrNumber        = errors.New("binance: price or quantity not representable at the instrument's exponents")
)

type kind uint8

const (
	kindOther kind = iota
	kindDepth
	kindTicker
	kindSnapshot
)

// levelRef is where one level's price and quantity values start in the frame.
type levelRef struct{ px, qty int32 }

// msg is the scratch result of one decode: scalar fields decoded, levels
// located (parsed to fixed point once the symbol, hence the exponents, is
// known).
type msg struct {
	kind         kind
	symbol       []byte // borrowed from the frame (or the scanner's scratch)
	evType       []byte
	E, T         int64 // event and transaction time, ms
	U, u, pu     int64
	hasPu        bool
	lastUpdateID int64
	hasID        bool // lastUpdateId present (snapshot)
	refs         []levelRef
	nb           int   // refs[:nb] bids, refs[nb:] asks
	tb, tB       int32 // bookTicker value offsets: b, B, a, A
	ta, tA       int32
	data         []byte // the frame the offsets refer to
	dataStart    int    // offset of the event object (for buffering)
	dataEnd      int
}

// decoder holds the scanner and scratch for one Feed.
type decoder struct {
	s   jscan.Scanner
	m   msg
	cap int // max levels per message
}

func newDecoder(maxLevels int) decoder {
	return decoder{m: msg{refs: make([]levelRef, 0, maxLevels)}, cap: maxLevels}
}

// decode scans a websocket frame: a combined-stream envelope
// {"stream":..., "data":{...}} or a bare event object.
func (d *decoder) decode(frame []byte) bool {
	s := &d.s
	s.Reset(frame)
	d.m = msg{refs: d.m.refs[:0], data: frame}
	k, ok := s.ObjectStart()
	if !ok {
		return false
	}
	if string(k) != "stream" && string(k) != "data" {
		return d.event(k) && s.End()
	}
	seenData := false
	for ; ok; k, ok = s.NextKey() {
		if string(k) == "data" && !seenData {
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

// decodeSnapshot scans a REST depth snapshot body.
func (d *decoder) decodeSnapshot(body []byte) bool {
	s := &d.s
	s.Reset(body)
	d.m = msg{refs: d.m.refs[:0], data: body}
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
	for ok := true; ok; k, ok = s.NextKey() {
		switch string(k) {
		case "e":
			m.evType, _ = s.String()
		case "E":
			m.E, _ = s.Int()
		case "T":
			m.T, _ = s.Int()
		case "s":
			m.symbol, _ = s.String()
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
			start := len(m.refs)
			if !d.levels() {
				return false
			}
			if isBid {
				bids, haveB = [2]int{start, len(m.refs)}, true
			} else {
				asks, haveA = [2]int{start, len(m.refs)}, true
			}
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
		rotate(m.refs, asks[0], bids[0], bids[1])
	}
	m.nb = 0
	if haveB {
		m.nb = bids[1] - bids[0]
	}
	switch {
	case string(m.evType) == "depthUpdate":
		m.kind = kindDepth
	case string(m.evType) == "bookTicker" || (len(m.evType) == 0 && m.tb > 0 && m.ta > 0 && m.tB > 0 && m.tA > 0):
		m.kind = kindTicker
	}
	return true
}

// rotate moves r[mid:end] before r[start:mid].
func rotate(r []levelRef, start, mid, end int) {
	reverse(r[start:mid])
	reverse(r[mid:end])
	reverse(r[start:end])
}

func reverse(r []levelRef) {
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
}

// levels records the offsets of an array of [price, qty] pairs.
func (d *decoder) levels() bool {
	s := &d.s
	m := &d.m
	for more := s.ArrayStart(); more; more = s.NextElem() {
		if !s.ArrayStart() {
			s.Fail(jscan.ErrType)
			return false
		}
		p := int32(s.Pos())
		if !s.Skip() || !s.NextElem() {
			s.Fail(jscan.ErrType)
			return false
		}
		q := int32(s.Pos())
		if !s.Skip() {
			return false
		}
		// Binance may append fields to a level; skip them.
		for s.NextElem() {
			if !s.Skip() {
				return false
			}
		}
		if s.Failed() {
			return false
		}
		if len(m.refs) == d.cap {
			s.Fail(ErrLevels)
			return false
		}
		m.refs = append(m.refs, levelRef{p, q})
	}
	return !s.Failed()
}

// fixedAt parses the value (quoted or bare) at offset pos of the frame.
func (d *decoder) fixedAt(pos int32, exp int) (int64, bool) {
	d.s.ResetAt(d.m.data, int(pos))
	return d.s.Fixed(exp)
}

// level parses level i of the current message at the given exponents.
func (d *decoder) level(i int, pexp, qexp int) (market.Price, market.Qty, bool) {
	r := d.m.refs[i]
	p, ok1 := d.fixedAt(r.px, pexp)
	q, ok2 := d.fixedAt(r.qty, qexp)
	if !ok1 || !ok2 || p <= 0 || q < 0 {
		return 0, 0, false
	}
	return market.Price(p), market.Qty(q), true
}
