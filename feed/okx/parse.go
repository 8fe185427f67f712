package okx

import (
	"errors"
	"math"
	"math/bits"

	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// Causes of a malformed frame, recorded by the decoder and reported by
// Feed.LastError; Handle returns ErrMalformed for all of them (and for the
// jscan and market sentinels).
var (
	errShape    = errors.New("okx: JSON of an unexpected shape")
	errDup      = errors.New("okx: duplicate key")
	errAction   = errors.New("okx: missing or unexpected action for the book channel")
	errData     = errors.New("okx: book data is not an array of exactly one object")
	errNumber   = errors.New("okx: price or size is not a plain decimal string")
	errDecimals = errors.New("okx: price or size has more than 18 decimals")
	errPrice    = errors.New("okx: price is not positive")
	errTooMany  = errors.New("okx: too many levels in one message")
	errChecksum = errors.New("okx: checksum is not a signed 32-bit integer")
	errTs       = errors.New("okx: ts is not a Unix time in milliseconds")
	errCode     = errors.New("okx: REST response code is not \"0\"")
	errNoExp    = errors.New("okx: update before the instrument's exponents are known")
)

// maxTsMs bounds "ts" so that it converts to Unix ns without overflow.
const maxTsMs = math.MaxInt64 / 1_000_000

// defaultLevels is the initial scratch capacity per side: a books snapshot.
const defaultLevels = 512

// chanKind is one of the book channels the feed keeps books for.
type chanKind uint8

const (
	chNone       chanKind = iota
	chBooks               // "books": 400 levels, snapshot then updates every 100 ms
	chBooksL2TBT          // "books-l2-tbt": 400 levels, tick by tick
	chBooks50TBT          // "books50-l2-tbt": 50 levels, tick by tick
	chBooks5              // "books5": every push a 5-level snapshot
	chBBO                 // "bbo-tbt": every push a 1-level snapshot
)

// chanDepth and chanName are indexed by chanKind.
var (
	chanDepth = [...]int{0, 400, 400, 50, 5, 1}
	chanName  = [...]string{"", "books", "books-l2-tbt", "books50-l2-tbt", "books5", "bbo-tbt"}
)

// incremental reports whether the channel sends a snapshot then updates
// (with an "action"), rather than a snapshot in every push.
func (c chanKind) incremental() bool { return c >= chBooks && c <= chBooks50TBT }

// bookChannel returns the book channel named name, or chNone.
func bookChannel(name []byte) chanKind {
	switch string(name) {
	case "books":
		return chBooks
	case "books-l2-tbt":
		return chBooksL2TBT
	case "books50-l2-tbt":
		return chBooks50TBT
	case "books5":
		return chBooks5
	case "bbo-tbt":
		return chBBO
	}
	return chNone
}

// msgKind classifies a decoded frame.
type msgKind uint8

const (
	msgBook    msgKind = iota + 1 // a book message for one instrument
	msgIgnored                    // well-formed, not book data: events, other channels, pong
)

// action is a book message's "action".
type action uint8

const (
	actNone     action = iota // absent
	actSnapshot               // "snapshot"
	actUpdate                 // "update"
	actOther                  // anything else
)

// level is one price level of a message, scanned to fixed point. pd and qd
// are the decimals of the price and size text when that text is not the
// shortest form of its value (it has trailing fractional zeros, "5.160"),
// else -1: the checksum is computed over the text as received, so such
// text must be reproduced exactly.
type level struct {
	px, qty int64
	pd, qd  int8
}

// message is the decoder's scratch: everything one frame says, numbers at
// the instrument's exponents. It is reused across frames and owned by the
// feed goroutine.
type message struct {
	kind    msgKind
	ch      chanKind
	action  action
	instID  []byte  // borrowed from the frame, or copied to arena if escaped
	sym     *Symbol // the instrument, when it was known before its data was scanned
	decoded bool    // levels and fields below are scanned (else raw holds the data)

	hasTs, hasCS, hasSeq, hasPrev bool
	ts                            int64 // exchange time, Unix ms
	cs                            int32 // checksum; 0 means absent
	seq, prev                     int64 // seqId, prevSeqId
	levels                        [2][]level
	arena                         []byte // instId text that had escapes
}

// isSnapshot reports whether the message replaces the book.
func (m *message) isSnapshot() bool { return m.action == actSnapshot || !m.ch.incremental() }

// decoder turns one frame into a message. It owns a jscan.Scanner.
type decoder struct {
	s         jscan.Scanner
	buf       []byte // what s walks: the frame, or its data value
	base      int    // offset of buf in the frame
	pos       int    // frame offset of the first error when s no longer holds it, else -1
	m         message
	maxLevels int
	// find resolves an instId to a known instrument without creating one;
	// nil when no instrument is known.
	find func(instID []byte) *Symbol
	// raw is the "data" value when it could not be decoded in place, and
	// rawOff its offset in the frame.
	raw    []byte
	rawOff int
	// cause and causePos record a failure inside "data" decoded in place:
	// the frame is still read to the end, since it may turn out to be an
	// event (which is ignored whatever its data holds).
	cause    error
	causePos int
}

func newDecoder(maxLevels int) decoder {
	var d decoder
	d.maxLevels = maxLevels
	for i := range d.m.levels {
		d.m.levels[i] = make([]level, 0, defaultLevels)
	}
	d.m.arena = make([]byte, 0, 64)
	return d
}

func (d *decoder) reset(frame []byte) {
	d.s.Reset(frame)
	d.buf, d.base, d.pos = frame, 0, -1
	d.raw, d.rawOff = nil, 0
	d.cause, d.causePos = nil, 0
	m := &d.m
	m.kind, m.ch, m.action = 0, chNone, actNone
	m.instID, m.sym, m.decoded = nil, nil, false
	m.resetData()
	m.arena = m.arena[:0]
}

// resetData clears what a data element sets.
func (m *message) resetData() {
	m.hasTs, m.hasCS, m.hasSeq, m.hasPrev = false, false, false, false
	m.ts, m.cs, m.seq, m.prev = 0, 0, 0, 0
	m.levels[0] = m.levels[0][:0]
	m.levels[1] = m.levels[1][:0]
}

// errPos returns the frame offset of the first error.
func (d *decoder) errPos() int {
	if d.pos >= 0 {
		return d.pos
	}
	return d.base + d.s.ErrPos()
}

// err returns the scanner's error, or errShape if the decoder gave up
// without recording one.
func (d *decoder) err() error {
	if err := d.s.Err(); err != nil {
		return err
	}
	return errShape
}

// fail records err unless an error is recorded, and returns false.
func (d *decoder) fail(err error) bool {
	d.s.Fail(err)
	return false
}

// failAt records err at frame offset pos and returns it.
func (d *decoder) failAt(err error, pos int) error {
	d.pos = pos
	return err
}

// str consumes a string and returns its contents, valid until the next
// frame: borrowed from the frame when it had no escapes, else copied
// unescaped into the message arena (cold: OKX does not escape).
func (d *decoder) str() ([]byte, bool) {
	s := &d.s
	if s.Peek() != '"' {
		return nil, d.fail(jscan.ErrType)
	}
	p0 := s.Pos()
	v, ok := s.String()
	if !ok {
		return nil, false
	}
	raw := d.buf[p0+1 : s.Pos()-1]
	if len(v) == 0 || len(v) == len(raw) && &v[0] == &raw[0] {
		return raw, true
	}
	a := len(d.m.arena)
	d.m.arena = append(d.m.arena, v...)
	return d.m.arena[a:len(d.m.arena):len(d.m.arena)], true
}

// decode decodes one WebSocket frame into d.m and returns nil or the cause
// of failure. The grammar it accepts:
//
//   - the text "pong" (OKX's answer to "ping"): msgIgnored;
//   - otherwise one JSON object. Its keys "event", "arg", "action" and
//     "data", and the keys "channel" and "instId" of "arg", must not repeat;
//     other keys are skipped.
//   - An object whose "event" is a string is an event (subscribe, error,
//     notice, ...): msgIgnored, whatever else it holds.
//   - Otherwise "arg" must be an object with a string "channel". A channel
//     other than books, books-l2-tbt, books50-l2-tbt, books5 or bbo-tbt
//     (tickers, trades, ...) is msgIgnored.
//   - A book channel needs a string "instId" in "arg", a "data" array of
//     exactly one object, and an "action": "snapshot" or "update" on
//     books, books-l2-tbt and books50-l2-tbt; absent or "snapshot" on
//     books5 and bbo-tbt, which push a whole book every time.
//   - The data object's keys "asks", "bids", "ts", "checksum", "seqId" and
//     "prevSeqId" must not repeat; others are skipped; all are optional.
//     "asks" and "bids" are arrays of levels; a level is an array of at
//     least two elements whose first two are strings holding plain
//     decimals (digits, an optional point followed by digits, no sign, no
//     exponent, no leading zero, at most 18 decimals), the price positive;
//     further elements (OKX's "0" and order count) are any JSON and
//     skipped. Prices and sizes must be exact at the instrument's
//     exponents (market.ParseFixed). "ts", "seqId" and "prevSeqId" are
//     integers, bare or quoted (market.ParseFixed at exponent 0), "ts"
//     non-negative and below 2^63 ns; "checksum" an integer in int32.
//
// The data is scanned in place when the instrument (and its exponents) is
// known by the time "data" is reached — OKX sends "arg" first — and
// otherwise kept as raw text for the feed to decode once it has resolved
// the instrument (decodeData). Frames in OKX's exact compact shape take
// fastFrame, which accepts a subset of this grammar with the same result.
func (d *decoder) decode(frame []byte) error {
	d.reset(frame)
	if string(frame) == "pong" {
		d.m.kind = msgIgnored
		return nil
	}
	if d.fastFrame(frame) {
		return nil
	}
	d.reset(frame)
	s := &d.s
	if s.Peek() != '{' {
		if !s.Failed() && s.Peek() == 0 {
			s.Fail(jscan.ErrEOF)
		}
		d.fail(errShape)
		return d.err()
	}
	const (
		fEvent = 1 << iota
		fArg
		fAction
		fData
	)
	m := &d.m
	var seen uint8
	isEvent, argOK, hasInst := false, false, false
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		var bit uint8
		switch string(k) {
		case "event":
			bit = fEvent
		case "arg":
			bit = fArg
		case "action":
			bit = fAction
		case "data":
			bit = fData
		default:
			s.Skip()
			continue
		}
		if seen&bit != 0 {
			d.fail(errDup)
			break
		}
		seen |= bit
		switch bit {
		case fEvent:
			isEvent = s.Peek() == '"'
			s.Skip()
		case fArg:
			if s.Peek() != '{' {
				s.Skip()
				break
			}
			argOK, hasInst = d.arg()
		case fAction:
			if s.Peek() != '"' {
				m.action = actOther
				s.Skip()
				break
			}
			v, _ := s.String()
			switch string(v) {
			case "snapshot":
				m.action = actSnapshot
			case "update":
				m.action = actUpdate
			default:
				m.action = actOther
			}
		case fData:
			d.dataField(isEvent)
		}
	}
	if !s.End() {
		return d.err()
	}
	switch {
	case isEvent:
		m.kind = msgIgnored
		return nil
	case !argOK:
		return d.failAt(errShape, 0)
	case m.ch == chNone:
		m.kind = msgIgnored
		return nil
	case !hasInst, seen&fData == 0:
		return d.failAt(errShape, 0)
	case m.ch.incremental() && m.action != actSnapshot && m.action != actUpdate,
		!m.ch.incremental() && m.action != actNone && m.action != actSnapshot:
		return d.failAt(errAction, 0)
	case d.cause != nil:
		return d.failAt(d.cause, d.causePos)
	}
	m.kind = msgBook
	return nil
}

// arg decodes the "arg" object: ok reports a string "channel", inst a
// string "instId" (recorded only for book channels). A book channel's
// instrument is resolved at once, so that its data scans in place.
func (d *decoder) arg() (ok, inst bool) {
	s := &d.s
	m := &d.m
	var seen uint8
	var id []byte
	for k, more := s.ObjectStart(); more; k, more = s.NextKey() {
		switch string(k) {
		case "channel":
			if seen&1 != 0 {
				d.fail(errDup)
				return false, false
			}
			seen |= 1
			if s.Peek() != '"' {
				s.Skip()
				continue
			}
			v, _ := s.String()
			m.ch = bookChannel(v)
			ok = true
		case "instId":
			if seen&2 != 0 {
				d.fail(errDup)
				return false, false
			}
			seen |= 2
			if s.Peek() != '"' {
				s.Skip()
				continue
			}
			id, inst = d.str()
		default:
			s.Skip()
		}
	}
	if s.Failed() {
		return false, false
	}
	if !ok {
		m.ch = chNone
	}
	if m.ch != chNone && inst {
		m.instID = id
		if d.find != nil {
			m.sym = d.find(id)
		}
	}
	return ok, inst
}

// dataField handles the value of "data": scanned in place when the
// frame is a book message whose instrument has exponents, else kept raw.
// A failure inside data scanned in place is recorded (d.cause) and the
// value skipped, so that the rest of the frame is still read.
func (d *decoder) dataField(isEvent bool) {
	s := &d.s
	m := &d.m
	s.Peek()
	start := s.Pos()
	if !isEvent && m.ch != chNone && m.sym != nil && m.sym.hasExp && m.sym.ch == m.ch {
		if d.data(m.sym.Inst.PriceExp, m.sym.Inst.QtyExp) {
			m.decoded = true
			return
		}
		d.cause, d.causePos = d.s.Err(), d.s.ErrPos()
		s.ResetAt(d.buf, start)
		m.resetData()
	}
	d.raw, _ = s.Raw()
	d.rawOff = start
}

// data decodes a book data array ([{...}]) at the cursor into d.m, prices
// and sizes at exponents pexp and qexp.
func (d *decoder) data(pexp, qexp int) bool {
	s := &d.s
	if s.Peek() != '[' {
		return d.fail(errData)
	}
	if !s.ArrayStart() {
		return d.fail(errData) // empty, or an error
	}
	if s.Peek() != '{' {
		return d.fail(errData)
	}
	if !d.element(pexp, qexp) {
		return false
	}
	if s.NextElem() {
		return d.fail(errData)
	}
	return !s.Failed()
}

// element decodes the one object of a data array.
func (d *decoder) element(pexp, qexp int) bool {
	s := &d.s
	m := &d.m
	const (
		fAsks = 1 << iota
		fBids
		fTs
		fCS
		fSeq
		fPrev
	)
	var seen uint8
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		var bit uint8
		switch string(k) {
		case "asks":
			bit = fAsks
		case "bids":
			bit = fBids
		case "ts":
			bit = fTs
		case "checksum":
			bit = fCS
		case "seqId":
			bit = fSeq
		case "prevSeqId":
			bit = fPrev
		default:
			s.Skip()
			continue
		}
		if seen&bit != 0 {
			return d.fail(errDup)
		}
		seen |= bit
		switch bit {
		case fAsks, fBids:
			side := market.Ask
			if bit == fBids {
				side = market.Bid
			}
			if pexp < 0 {
				s.Skip() // exponents unknown: the other fields only
				break
			}
			d.levels(side, pexp, qexp)
		case fTs:
			if v, ok := s.Int(); ok {
				if v < 0 || v > maxTsMs {
					return d.fail(errTs)
				}
				m.ts, m.hasTs = v, true
			}
		case fCS:
			if v, ok := s.Int(); ok {
				if v < math.MinInt32 || v > math.MaxInt32 {
					return d.fail(errChecksum)
				}
				m.cs, m.hasCS = int32(v), true
			}
		case fSeq:
			m.seq, m.hasSeq = s.Int()
		case fPrev:
			m.prev, m.hasPrev = s.Int()
		}
	}
	return !s.Failed()
}

// levels decodes a level array onto side: the compact form OKX sends
// through fastLevels, anything else through the general cursor (which
// accepts everything fastLevels accepts, with the same result).
func (d *decoder) levels(side market.Side, pexp, qexp int) bool {
	s := &d.s
	m := &d.m
	s.Peek()
	start := s.Pos()
	lv := m.levels[side][:0]
	if out, end, ok := fastLevels(d.buf, start, lv, pexp, qexp, d.maxLevels); ok {
		m.levels[side] = out
		s.ResetAt(d.buf, end)
		return true
	}
	for more := s.ArrayStart(); more; more = s.NextElem() {
		if s.Peek() != '[' {
			return d.fail(errShape)
		}
		if !s.ArrayStart() {
			return d.fail(errShape)
		}
		px, pd, ok := d.number(pexp)
		if !ok || !s.NextElem() {
			return d.fail(errShape)
		}
		q, qd, ok := d.number(qexp)
		if !ok {
			return false
		}
		for s.NextElem() {
			s.Skip()
		}
		if s.Failed() {
			return false
		}
		if px <= 0 {
			return d.fail(errPrice)
		}
		if len(lv) >= d.maxLevels {
			return d.fail(errTooMany)
		}
		lv = append(lv, level{px: px, qty: q, pd: pd, qd: qd})
	}
	m.levels[side] = lv
	return !s.Failed()
}

// number consumes a string holding a plain decimal and returns it at exp
// with its non-canonical decimals (see level).
func (d *decoder) number(exp int) (int64, int8, bool) {
	s := &d.s
	if s.Peek() != '"' {
		return 0, 0, d.fail(errNumber)
	}
	t, ok := s.String()
	if !ok {
		return 0, 0, false
	}
	v, dec, end, err := scanDec(t, 0, exp)
	if err == nil && end != len(t) {
		err = errNumber
	}
	if err != nil {
		return 0, 0, d.fail(err)
	}
	return v, dec, true
}

// fastLevels parses b[i:] as a compact array of levels of plain string
// elements (["px","sz","0","n"],...: no white space, no escapes), appending
// them to lv and returning the index after the array. It reports false on
// anything else, so that the caller falls back to the general cursor, which
// accepts everything fastLevels accepts with the same result.
func fastLevels(b []byte, i int, lv []level, pexp, qexp, max int) ([]level, int, bool) {
	if i+1 >= len(b) || b[i] != '[' {
		return lv, 0, false
	}
	i++
	if b[i] == ']' {
		return lv, i + 1, true
	}
	n0 := len(lv)
	for {
		if i+1 >= len(b) || b[i] != '[' || b[i+1] != '"' {
			return lv, 0, false
		}
		px, pd, j, err := scanDec(b, i+2, pexp)
		if err != nil || px <= 0 || j+1 >= len(b) || b[j] != '"' || b[j+1] != ',' {
			return lv, 0, false
		}
		if j+2 >= len(b) || b[j+2] != '"' {
			return lv, 0, false
		}
		q, qd, j, err := scanDec(b, j+3, qexp)
		if err != nil || j >= len(b) || b[j] != '"' {
			return lv, 0, false
		}
		i = j + 1
		// Further elements: plain strings.
		for i < len(b) && b[i] == ',' {
			if i+1 >= len(b) || b[i+1] != '"' {
				return lv, 0, false
			}
			i += 2
			for i < len(b) && b[i] != '"' {
				if c := b[i]; c < 0x20 || c == '\\' || c >= 0x80 {
					return lv, 0, false
				}
				i++
			}
			i++ // closing quote (checked by the loop's end test below)
		}
		if i+1 >= len(b) || b[i] != ']' || len(lv)-n0 >= max {
			return lv, 0, false
		}
		lv = append(lv, level{px: px, qty: q, pd: pd, qd: qd})
		switch b[i+1] {
		case ',':
			i += 2
		case ']':
			return lv, i + 2, true
		default:
			return lv, 0, false
		}
	}
}

// pow10 holds 10^0 .. 10^19.
var pow10 = [20]uint64{
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// scanDec scans the plain decimal at b[i:] (digits, optionally a point and
// digits; no sign, no exponent, no leading zero, at most 18 decimals) up
// to the first byte that is neither, and returns its value at exp
// (market.ParseFixed's result for the same text), its non-canonical
// decimals (the number of decimals when the text has trailing fractional
// zeros, else -1) and the index after it.
func scanDec(b []byte, i, exp int) (v int64, dec int8, end int, err error) {
	start := i
	var m uint64
	dot := -1
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c <= 9 {
			m = m*10 + uint64(c)
			continue
		}
		if b[i] != '.' || dot >= 0 {
			break
		}
		dot = i
	}
	whole, frac := i-start, 0
	if dot >= 0 {
		whole, frac = dot-start, i-dot-1
		if frac == 0 {
			return 0, 0, i, errNumber
		}
	}
	if whole == 0 || whole > 1 && b[start] == '0' {
		return 0, 0, i, errNumber
	}
	if frac > market.MaxExp {
		return 0, 0, i, errDecimals
	}
	dec = -1
	if frac > 0 && b[i-1] == '0' {
		dec = int8(frac)
	}
	if whole+frac > 18 || uint(exp) > market.MaxExp {
		v, err := market.ParseFixed(b[start:i], exp) // m may have wrapped
		return v, dec, i, err
	}
	if frac <= exp {
		hi, lo := bits.Mul64(m, pow10[exp-frac])
		if hi != 0 || lo > math.MaxInt64 {
			return 0, 0, i, market.ErrRange
		}
		return int64(lo), dec, i, nil
	}
	p := pow10[frac-exp]
	if m%p != 0 {
		return 0, 0, i, market.ErrPrecision
	}
	return int64(m / p), dec, i, nil
}

// decodeData decodes a book data value kept raw by decode (at frame offset
// off) at the given exponents, into d.m. With pexp < 0 the level arrays
// are only validated as JSON, and the other fields read.
func (d *decoder) decodeData(raw []byte, off, pexp, qexp int) error {
	d.s.Reset(raw)
	d.buf, d.base = raw, off
	d.m.resetData()
	if !d.data(pexp, qexp) || !d.s.End() {
		return d.err()
	}
	d.m.decoded = true
	return nil
}

// learnDecimals walks a book data value and returns the most decimals
// among its prices and among its sizes: the exponents of an instrument
// learned from its first snapshot. ok is false if the value is not a data
// array of levels of plain decimals (decodeData then reports why).
func (d *decoder) learnDecimals(raw []byte) (pd, qd int, ok bool) {
	s := &d.s
	s.Reset(raw)
	d.buf, d.base = raw, d.rawOff
	if s.Peek() != '[' || !s.ArrayStart() || s.Peek() != '{' {
		return 0, 0, d.fail(errData)
	}
	for k, more := s.ObjectStart(); more; k, more = s.NextKey() {
		if string(k) != "asks" && string(k) != "bids" {
			s.Skip()
			continue
		}
		for more := s.ArrayStart(); more; more = s.NextElem() {
			if !s.ArrayStart() {
				return 0, 0, d.fail(errShape)
			}
			for i := 0; ; i++ {
				if i < 2 {
					t, ok := s.String()
					if !ok {
						return 0, 0, false
					}
					n := fracDigits(t)
					if i == 0 {
						pd = max(pd, n)
					} else {
						qd = max(qd, n)
					}
				} else if !s.Skip() {
					return 0, 0, false
				}
				if !s.NextElem() {
					break
				}
			}
		}
	}
	if s.Failed() {
		return 0, 0, false
	}
	return min(pd, market.MaxExp), min(qd, market.MaxExp), true
}

// fracDigits returns the number of digits after the point of decimal text.
func fracDigits(t []byte) int {
	for i, c := range t {
		if c == '.' {
			return len(t) - i - 1
		}
	}
	return 0
}

// decodeREST decodes the body of GET /api/v5/market/books:
// {"code":"0","msg":"","data":[{"asks":[...],"bids":[...],"ts":"..."}]}.
// "code" (a string or a number) must be "0"; "data" is kept raw for
// decodeData, since the exponents may have to be learned from it first.
// "code" and "data" must not repeat; other keys are skipped.
func (d *decoder) decodeREST(body []byte) error {
	d.reset(body)
	s := &d.s
	var seen uint8
	codeOK := false
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		switch string(k) {
		case "code":
			if seen&1 != 0 {
				d.fail(errDup)
				break
			}
			seen |= 1
			if s.Peek() == '"' {
				v, _ := s.String()
				codeOK = string(v) == "0"
			} else {
				v, _ := s.Raw()
				codeOK = string(v) == "0"
			}
		case "data":
			if seen&2 != 0 {
				d.fail(errDup)
				break
			}
			seen |= 2
			s.Peek()
			d.rawOff = s.Pos()
			d.raw, _ = s.Raw()
		default:
			s.Skip()
		}
	}
	if !s.End() {
		return d.err()
	}
	if !codeOK {
		return d.failAt(errCode, 0)
	}
	if seen&2 == 0 {
		return d.failAt(errShape, 0)
	}
	return nil
}
