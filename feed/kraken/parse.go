package kraken

import (
	"bytes"
	"errors"
	"math"

	"arbmm/book"
	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// Causes of a malformed frame, recorded by the decoder and reported by
// Feed.LastError; Handle returns ErrMalformed for all of them (and for the
// jscan and market sentinels).
var (
	errShape    = errors.New("kraken: JSON of an unexpected shape")
	errDup      = errors.New("kraken: duplicate key in a book object")
	errChannel  = errors.New("kraken: malformed book channel name")
	errDepth    = errors.New("kraken: book depth out of range or different from the pair's")
	errChecksum = errors.New("kraken: checksum is not an unsigned 32-bit integer")
	errTooMany  = errors.New("kraken: too many levels or entries in one frame")
	errPrice    = errors.New("kraken: price is not positive")
	errDecimals = errors.New("kraken: more than 18 decimals")
)

// Limits on one frame, so that hostile input cannot grow the scratch
// message without bound. Kraken's deepest book is 1000 levels a side.
const (
	maxChanDepth   = 1000    // deepest "book-N" accepted
	maxLevels      = 1 << 14 // levels per side in one frame
	maxEntries     = 64      // v2 data elements in one frame
	v1TimeExp      = 9       // v1 level times are Unix seconds; scanned to ns
	defaultLevels  = 64      // initial scratch capacity per side
	defaultEntries = 4
)

// msgKind classifies a decoded frame.
type msgKind uint8

const (
	msgBook    msgKind = iota + 1 // entries carry book data
	msgIgnored                    // well-formed, not book data: events, other channels, method responses
)

// rawLevel is one level as it was on the wire: the number text of price and
// quantity (quotes removed), borrowed from the frame or the message arena.
type rawLevel struct {
	px, qty []byte
}

// span is a range of message.levels[side].
type span struct{ lo, hi int32 }

// entry is one book message for one pair: a whole v1 frame, or one element
// of a v2 frame's data array.
type entry struct {
	sym   []byte // wire pair name, borrowed like rawLevel text
	depth int    // v1: N of the "book-N" channel; v2: 0 (the feed's depth)
	hasCS bool
	cs    uint32
	exch  int64   // exchange time, Unix ns; 0 when the frame has none
	lv    [2]span // levels of this entry per side (market.Bid, market.Ask), in wire order
}

// message is the decoder's scratch: everything one frame says, with numbers
// still as text (they are scanned to fixed point once the pair, and so its
// exponents, is known: v1 names the pair at the end of the frame). It is
// reused across frames and owned by the feed goroutine.
type message struct {
	kind     msgKind
	snapshot bool   // v1 "as"/"bs" or v2 type "snapshot"
	hasChan  bool   // v1: chanID was read
	chanID   int64  // v1 channel id
	badSym   []byte // pair named by a frame that failed to decode, for attribution
	entries  []entry
	levels   [2][]rawLevel // indexed by market.Side
	arena    []byte        // strings that had escapes, unescaped
}

// decoder turns one frame into a message. It owns a jscan.Scanner.
type decoder struct {
	s     jscan.Scanner
	buf   []byte // what s walks: the frame, or a part of it
	base  int    // offset of buf in the frame
	pos   int    // offset of the first error when the scanner no longer holds it, else -1
	lists uint8  // v1: 0 until the first level list, then listSnapshot or listUpdate
	ts    []byte // v1: latest level time text so far
	m     message
}

const (
	listSnapshot = 1
	listUpdate   = 2
)

func newDecoder() decoder {
	var d decoder
	d.m.entries = make([]entry, 0, defaultEntries)
	for i := range d.m.levels {
		d.m.levels[i] = make([]rawLevel, 0, defaultLevels)
	}
	d.m.arena = make([]byte, 0, 256)
	return d
}

func (d *decoder) reset(frame []byte) {
	d.s.Reset(frame)
	d.buf = frame
	d.base = 0
	d.pos = -1
	d.lists = 0
	d.ts = nil
	m := &d.m
	m.kind = 0
	m.snapshot = false
	m.hasChan = false
	m.chanID = 0
	m.badSym = nil
	m.entries = m.entries[:0]
	m.levels[0] = m.levels[0][:0]
	m.levels[1] = m.levels[1][:0]
	m.arena = m.arena[:0]
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

// newEntry appends an empty entry whose level spans start at the current
// ends of the level lists.
func (d *decoder) newEntry() *entry {
	m := &d.m
	if len(m.entries) >= maxEntries {
		return nil
	}
	lb, la := int32(len(m.levels[market.Bid])), int32(len(m.levels[market.Ask]))
	m.entries = append(m.entries, entry{lv: [2]span{{lb, lb}, {la, la}}})
	return &m.entries[len(m.entries)-1]
}

// closeEntry ends e's level spans at the current ends of the level lists.
func (d *decoder) closeEntry(e *entry) {
	e.lv[market.Bid].hi = int32(len(d.m.levels[market.Bid]))
	e.lv[market.Ask].hi = int32(len(d.m.levels[market.Ask]))
}

// str consumes a string and returns its contents. Unlike jscan's String,
// the result stays valid until the next frame: it is borrowed from the frame
// when the string had no escapes (and valid UTF-8), else copied unescaped
// into the message arena (cold: Kraken does not escape).
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
		return raw, true // borrowed from the frame (or empty)
	}
	a := len(d.m.arena)
	d.m.arena = append(d.m.arena, v...)
	return d.m.arena[a:len(d.m.arena):len(d.m.arena)], true
}

// num consumes a bare JSON number and returns its text, borrowed.
func (d *decoder) num() ([]byte, bool) {
	if c := d.s.Peek(); c != '-' && (c < '0' || c > '9') {
		return nil, d.fail(jscan.ErrType)
	}
	return d.s.Raw()
}

// uint32Text parses digits (nothing else: no sign, point or exponent) as
// an unsigned 32-bit integer.
func uint32Text(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > math.MaxUint32 {
		return 0, false
	}
	return uint32(v), true
}

// laterTime reports whether v1 level time text a is later than b; both
// are Unix seconds with a fraction ("1693415479.752899"). Text of equal
// length compares as bytes; otherwise (rare) both are scanned.
func laterTime(a, b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if len(a) == len(b) {
		return string(a) > string(b)
	}
	ta, erra := market.ParseFixed(a, v1TimeExp)
	tb, errb := market.ParseFixed(b, v1TimeExp)
	return erra == nil && (errb != nil || ta > tb)
}

// ---- WebSocket v1 ----------------------------------------------------------

// decodeV1 decodes one Kraken WebSocket v1 frame into d.m and returns nil or
// the cause of failure. The grammar it accepts:
//
//   - an object with an "event" key whose value is a string: an event
//     (heartbeat, systemStatus, subscriptionStatus, pong), msgIgnored;
//   - an array of at least three elements whose last two are strings (the
//     channel name and the pair): a channel message. A channel name that does
//     not begin with "book" is another channel (trade, ticker, ...),
//     msgIgnored. A book message must be exactly
//     [chanID, obj, ..., "book-N", "PAIR"]: an integer channel id, one or
//     more objects, N in 1..1000. Each object may hold "as"/"bs" (snapshot
//     levels) or "a"/"b" (update levels), not both kinds in one frame, and
//     there is at most one "c" in the whole frame (the checksum: a string of
//     digits, at most 2^32-1); other keys are skipped, a repeated key within
//     an object is an error. A level
//     is [price, qty, time] or [price, qty, time, flag], all strings (the
//     flag is "r", a republish, applied like any other level; its value is
//     not checked); the time is read best-effort for the exchange time.
//   - anything else is malformed.
//
// The levels of all objects are collected per side in wire order.
func (d *decoder) decodeV1(frame []byte) error {
	d.reset(frame)
	s := &d.s
	switch s.Peek() {
	case '{':
		return d.eventV1()
	case '[':
	default:
		if !s.Failed() && s.Peek() == 0 {
			s.Fail(jscan.ErrEOF)
		}
		d.fail(errShape)
		return d.err()
	}
	if !s.ArrayStart() {
		d.fail(errShape)
		return d.err()
	}
	if c := s.Peek(); c == '-' || ('0' <= c && c <= '9') {
		if id, ok := s.Int(); ok {
			d.m.chanID, d.m.hasChan = id, true
		}
	} else {
		d.fail(errShape)
	}
	if s.Failed() {
		return d.slowV1()
	}
	e := d.newEntry()
	var name, pair []byte
	nstr, nobj := 0, 0
	for s.NextElem() {
		switch c := s.Peek(); {
		case c == '"':
			v, ok := d.str()
			if !ok {
				return d.slowV1()
			}
			switch nstr {
			case 0:
				name = v
			case 1:
				pair = v
			default:
				return d.slowV1()
			}
			nstr++
		case c == '{' && nstr == 0:
			if !d.bookObjectV1(e) {
				return d.slowV1()
			}
			nobj++
		default:
			return d.slowV1()
		}
	}
	if !s.End() || nstr != 2 || nobj == 0 {
		return d.slowV1()
	}
	d.closeEntry(e)
	depth, isBook, ok := bookChannel(name)
	if !isBook {
		d.m.kind = msgIgnored
		return nil
	}
	if !ok {
		d.m.badSym = pair
		d.fail(errChannel)
		return d.err()
	}
	e.sym = pair
	e.depth = depth
	if t, err := market.ParseFixed(d.ts, v1TimeExp); err == nil {
		e.exch = t // best effort: the latest level time
	}
	d.m.kind = msgBook
	return nil
}

// bookChannel parses a v1 channel name: isBook reports whether it begins
// with "book"; ok whether it is "book-N" with N in 1..maxChanDepth.
func bookChannel(name []byte) (depth int, isBook, ok bool) {
	if !bytes.HasPrefix(name, []byte("book")) {
		return 0, false, false
	}
	if len(name) < 6 || len(name) > 9 || name[4] != '-' || name[5] == '0' {
		return 0, true, false
	}
	n := 0
	for _, c := range name[5:] {
		if c < '0' || c > '9' {
			return 0, true, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true, n >= 1 && n <= maxChanDepth
}

// eventV1 decodes a v1 event object: valid JSON with a string "event".
func (d *decoder) eventV1() error {
	s := &d.s
	event := false
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		if string(k) == "event" {
			event = s.Peek() == '"' // the last "event" counts, as in a map
		}
		s.Skip()
	}
	if !s.End() || !event {
		d.fail(errShape)
		return d.err()
	}
	d.m.kind = msgIgnored
	return nil
}

// bookObjectV1 decodes one book object of a v1 frame into e.
func (d *decoder) bookObjectV1(e *entry) bool {
	s := &d.s
	m := &d.m
	var seen uint8
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		var bit uint8
		side := market.Bid
		snap := false
		switch string(k) {
		case "a":
			bit, side = 1, market.Ask
		case "b":
			bit, side = 2, market.Bid
		case "as":
			bit, side, snap = 4, market.Ask, true
		case "bs":
			bit, side, snap = 8, market.Bid, true
		case "c":
			bit = 16
		default:
			if !s.Skip() {
				return false
			}
			continue
		}
		if seen&bit != 0 {
			return d.fail(errDup)
		}
		seen |= bit
		if bit == 16 {
			if e.hasCS {
				return d.fail(errDup)
			}
			v, ok := d.str()
			if !ok {
				return false
			}
			if e.cs, e.hasCS = uint32Text(v); !e.hasCS {
				return d.fail(errChecksum)
			}
			continue
		}
		// The first level list fixes the kind of the frame.
		list := uint8(listUpdate)
		if snap {
			list = listSnapshot
		}
		if d.lists == 0 {
			d.lists = list
			m.snapshot = snap
		} else if d.lists != list {
			return d.fail(errShape)
		}
		if !d.levelsV1(e, side) {
			return false
		}
	}
	return !s.Failed()
}

// levelsV1 decodes a v1 level list onto side.
func (d *decoder) levelsV1(e *entry, side market.Side) bool {
	s := &d.s
	lv := d.m.levels[side]
	for more := s.ArrayStart(); more; more = s.NextElem() {
		if len(lv) >= maxLevels {
			return d.fail(errTooMany)
		}
		if !s.ArrayStart() {
			return d.fail(errShape)
		}
		px, _ := d.str()
		if !s.NextElem() {
			return d.fail(errShape)
		}
		qty, _ := d.str()
		if !s.NextElem() {
			return d.fail(errShape)
		}
		ts, _ := d.str()
		if s.NextElem() {
			d.str() // flag: "r"
			if s.NextElem() {
				return d.fail(errShape)
			}
		}
		if s.Failed() {
			return false
		}
		if laterTime(ts, d.ts) {
			d.ts = ts
		}
		lv = append(lv, rawLevel{px: px, qty: qty})
	}
	d.m.levels[side] = lv
	return !s.Failed()
}

// slowV1 classifies a v1 frame the fast path could not decode as a book
// message: a well-formed channel message whose channel is not a book is
// msgIgnored; anything else is malformed, and the pair it names, if it can
// be read, is kept for attribution. The first error found stays the cause.
func (d *decoder) slowV1() error {
	cause, pos := d.err(), d.errPos()
	s := &d.s
	s.Reset(d.buf)
	d.m.arena = d.m.arena[:0]
	var last [2][]byte // the last two elements, when strings
	var isStr [2]bool
	n := 0
	for more := s.ArrayStart(); more; more = s.NextElem() {
		last[0], isStr[0] = last[1], isStr[1]
		if s.Peek() == '"' {
			last[1], isStr[1] = d.str()
		} else {
			last[1], isStr[1] = nil, false
			s.Skip()
		}
		n++
	}
	if s.End() && n >= 3 && isStr[0] && isStr[1] {
		if _, isBook, _ := bookChannel(last[0]); !isBook {
			d.m.kind = msgIgnored
			return nil
		}
		d.m.badSym = last[1]
	}
	d.pos = pos
	return cause
}

// ---- WebSocket v2 ----------------------------------------------------------

// decodeV2 decodes one Kraken WebSocket v2 frame into d.m and returns nil or
// the cause of failure. The grammar it accepts:
//
//   - an object with a string "channel" other than "book" (heartbeat,
//     status, instrument, trade, ...) or, without "channel", with a
//     "method" key (method responses): msgIgnored;
//   - an object with "channel":"book", "type" "snapshot" or "update" (a
//     string; "type" is not checked on other channels), and
//     "data" a non-empty array of objects, each with a string "symbol",
//     optional "bids" and "asks" (arrays of objects with JSON-number "price"
//     and "qty"; other keys skipped), an optional "checksum" (a JSON
//     integer of digits only, at most 2^32-1) and an optional "timestamp" (RFC 3339, read best-effort).
//     Keys may come in any order; a repeated key is an error; other keys are
//     skipped;
//   - anything else is malformed.
func (d *decoder) decodeV2(frame []byte) error {
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
		fChannel = 1 << iota
		fType
		fData
	)
	var seen uint8
	isBook, hasMethod, dataDone := false, false, false
	typ := 0 // 1 snapshot, 2 update, 3 other
	var dataRaw []byte
	dataOff := 0
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		var bit uint8
		switch string(k) {
		case "channel":
			bit = fChannel
		case "type":
			bit = fType
		case "data":
			bit = fData
		case "method":
			hasMethod = true
			s.Skip()
			continue
		default:
			s.Skip()
			continue
		}
		if seen&bit != 0 {
			d.fail(errDup)
			continue // NextKey reports the failure
		}
		seen |= bit
		switch bit {
		case fChannel:
			v, _ := s.String()
			isBook = string(v) == "book"
		case fType:
			if s.Peek() != '"' {
				typ = 3
				s.Skip()
				break
			}
			v, _ := s.String()
			switch string(v) {
			case "snapshot":
				typ = 1
			case "update":
				typ = 2
			default:
				typ = 3
			}
		case fData:
			if seen&fChannel != 0 && isBook {
				dataDone = d.dataV2()
			} else {
				s.Peek()
				dataOff = s.Pos()
				dataRaw, _ = s.Raw()
			}
		}
	}
	if !s.End() {
		return d.err()
	}
	switch {
	case seen&fChannel == 0 && hasMethod, seen&fChannel != 0 && !isBook:
		d.m.kind = msgIgnored
		return nil
	case seen&fChannel == 0, typ != 1 && typ != 2, seen&fData == 0:
		d.fail(errShape)
		return d.err()
	}
	d.m.snapshot = typ == 1
	if !dataDone {
		// "data" came before "channel": decode it now.
		d.buf, d.base = dataRaw, dataOff
		s.Reset(dataRaw)
		if !d.dataV2() || !s.End() {
			return d.err()
		}
	}
	d.m.kind = msgBook
	return nil
}

// dataV2 decodes a v2 book data array into entries.
func (d *decoder) dataV2() bool {
	s := &d.s
	if !s.ArrayStart() {
		return d.fail(errShape)
	}
	for more := true; more; more = s.NextElem() {
		e := d.newEntry()
		if e == nil {
			return d.fail(errTooMany)
		}
		const (
			fSymbol = 1 << iota
			fBids
			fAsks
			fChecksum
			fTime
		)
		var seen uint8
		for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
			var bit uint8
			switch string(k) {
			case "symbol":
				bit = fSymbol
			case "bids":
				bit = fBids
			case "asks":
				bit = fAsks
			case "checksum":
				bit = fChecksum
			case "timestamp":
				bit = fTime
			default:
				s.Skip()
				continue
			}
			if seen&bit != 0 {
				return d.fail(errDup)
			}
			seen |= bit
			switch bit {
			case fSymbol:
				e.sym, _ = d.str()
			case fBids:
				d.levelsV2(market.Bid)
			case fAsks:
				d.levelsV2(market.Ask)
			case fChecksum:
				v, ok := d.num()
				if !ok {
					return false
				}
				if e.cs, e.hasCS = uint32Text(v); !e.hasCS {
					return d.fail(errChecksum)
				}
			case fTime:
				if v, ok := d.str(); ok {
					e.exch, _ = parseTime(v)
				}
			}
		}
		if s.Failed() {
			return false
		}
		if seen&fSymbol == 0 {
			return d.fail(errShape)
		}
		d.closeEntry(e)
	}
	return !s.Failed()
}

// levelsV2 decodes a v2 level list onto side.
func (d *decoder) levelsV2(side market.Side) bool {
	s := &d.s
	lv := d.m.levels[side]
	for more := s.ArrayStart(); more; more = s.NextElem() {
		if len(lv) >= maxLevels {
			return d.fail(errTooMany)
		}
		var l rawLevel
		var seen uint8
		for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
			switch string(k) {
			case "price":
				if seen&1 != 0 {
					return d.fail(errDup)
				}
				seen |= 1
				l.px, _ = d.num()
			case "qty":
				if seen&2 != 0 {
					return d.fail(errDup)
				}
				seen |= 2
				l.qty, _ = d.num()
			default:
				s.Skip()
			}
		}
		if s.Failed() {
			return false
		}
		if seen != 3 {
			return d.fail(errShape)
		}
		lv = append(lv, l)
	}
	d.m.levels[side] = lv
	return !s.Failed()
}

// parseTime parses RFC 3339 UTC time text ("2023-07-30T15:29:58.343415Z",
// up to nanoseconds) as Unix ns. It does not allocate.
func parseTime(b []byte) (int64, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return 0, false
	}
	num := func(p []byte) int {
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, dd := num(b[0:4]), num(b[5:7]), num(b[8:10])
	h, mi, sec := num(b[11:13]), num(b[14:16]), num(b[17:19])
	if y < 1970 || mo < 1 || mo > 12 || dd < 1 || dd > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60 {
		return 0, false
	}
	var ns int64
	if i := 19; b[i] == '.' {
		i++
		digits := 0
		for ; i < len(b)-1; i++ {
			c := b[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			if digits < 9 {
				ns = ns*10 + int64(c-'0')
				digits++
			}
		}
		if digits == 0 {
			return 0, false
		}
		for ; digits < 9; digits++ {
			ns *= 10
		}
	} else if len(b) != 20 {
		return 0, false
	}
	return (daysFromCivil(y, mo, dd)*86400+int64(h*3600+mi*60+sec))*1e9 + ns, true
}

// daysFromCivil returns the days from 1970-01-01 to y-m-d (proleptic
// Gregorian; H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// ---- numbers ---------------------------------------------------------------

// convert scans the level text of e at the given exponents into dst, one
// list per side in wire order. A price must be positive and a quantity
// non-negative; text finer than the exponent, out of range or malformed is
// an error (never a rounding). It does not allocate once dst has grown to
// the largest message.
func (m *message) convert(e *entry, pxExp, qtyExp int, dst *[2][]book.Level) error {
	for side := range dst {
		out := dst[side][:0]
		sp := e.lv[side]
		for _, l := range m.levels[side][sp.lo:sp.hi] {
			p, err := market.ParseFixed(l.px, pxExp)
			if err != nil {
				return err
			}
			if p <= 0 {
				return errPrice
			}
			q, err := market.ParseFixed(l.qty, qtyExp)
			if err != nil {
				return err
			}
			if q < 0 {
				return market.ErrNegative
			}
			out = append(out, book.Level{Price: market.Price(p), Qty: market.Qty(q)})
		}
		dst[side] = out
	}
	return nil
}

// wireDecimals returns the largest number of decimals among the price and
// the quantity texts of e (v1 sends fixed-decimal strings), or -1 for a side
// of numbers with none.
func (m *message) wireDecimals(e *entry) (px, qty int) {
	px, qty = -1, -1
	for side := range m.levels {
		sp := e.lv[side]
		for _, l := range m.levels[side][sp.lo:sp.hi] {
			px = max(px, market.CountDecimals(l.px))
			qty = max(qty, market.CountDecimals(l.qty))
		}
	}
	return px, qty
}
