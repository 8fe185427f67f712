package coinbase

import (
	"errors"

	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// Causes of a malformed frame, recorded by the decoder and reported by
// Feed.LastError; Handle returns ErrMalformed for all of them (and for the
// jscan and market sentinels).
var (
	errShape    = errors.New("coinbase: JSON of an unexpected shape")
	errDup      = errors.New("coinbase: duplicate key")
	errSeq      = errors.New("coinbase: l2_data frame without a non-negative integer sequence_num")
	errType     = errors.New("coinbase: l2_data event type is neither snapshot nor update")
	errSide     = errors.New("coinbase: side is neither bid nor offer")
	errLevel    = errors.New("coinbase: price not positive or quantity negative")
	errLevels   = errors.New("coinbase: more levels in one frame than Config.MaxLevels")
	errEvents   = errors.New("coinbase: more events in one frame than the decoder holds")
	errDecimals = errors.New("coinbase: number needs more than 18 decimals")
)

// maxEvents bounds the events of one frame (Coinbase sends one per l2_data
// frame), so that hostile input cannot grow the scratch.
const maxEvents = 64

// channel classifies a frame by its "channel".
type channel uint8

const (
	chNone  channel = iota // no channel key read (yet)
	chL2                   // "l2_data": book data
	chOther                // any other channel
)

// level is one decoded level. While its event is deferred, px and qty hold
// the frame offsets of the price and quantity values instead of mantissas.
type level struct {
	px, qty int64
	side    market.Side
}

// event is one element of an l2_data frame's events array.
type event struct {
	snapshot bool
	hasType  bool
	product  []byte  // borrowed from the frame, or from msg.arena if escaped
	sym      *Symbol // resolved while decoding (direct mode), else by the Feed
	lo, hi   int32   // levels[lo:hi]
	// direct: the levels hold mantissas at (pexp, qexp). Otherwise they
	// hold offsets and pdec, qdec are the most decimals any of their
	// prices and quantities needs (see wireDecimals).
	direct     bool
	pexp, qexp int
	pdec, qdec int
}

// msg is the decoder's scratch: everything one frame says. It is reused
// across frames and owned by the feed goroutine.
type msg struct {
	channel channel
	hasSeq  bool
	seq     int64
	exch    int64 // envelope timestamp, Unix ns; 0 if absent or unparsed
	events  []event
	levels  []level
	arena   []byte // product ids that had escapes, unescaped
	data    []byte // the frame the offsets refer to
}

// decoder turns one frame into a msg. It owns a jscan.Scanner.
type decoder struct {
	s   jscan.Scanner
	m   msg
	cap int     // Config.MaxLevels
	tab *symtab // resolves products while scanning; nil: never (all deferred)
	// deferAll makes every event deferred (re-decoding a frame to learn the
	// decimals its numbers need).
	deferAll bool
}

func newDecoder(maxLevels int, tab *symtab) decoder {
	return decoder{
		m: msg{
			events: make([]event, 0, maxEvents),
			levels: make([]level, 0, maxLevels),
			arena:  make([]byte, 0, 256),
		},
		cap: maxLevels,
		tab: tab,
	}
}

func (d *decoder) reset(frame []byte) {
	d.s.Reset(frame)
	m := &d.m
	m.channel = chNone
	m.hasSeq = false
	m.seq = 0
	m.exch = 0
	m.events = m.events[:0]
	m.levels = m.levels[:0]
	m.arena = m.arena[:0]
	m.data = frame
}

// decode scans one frame into d.m: the fast path for Coinbase's exact
// compact l2_data layout, else the general one. It returns nil or the cause
// of a malformed frame; on error d.m holds what was read before it (the
// channel, the sequence_num, the events begun) for attribution.
func (d *decoder) decode(frame []byte) error {
	if d.fast(frame) {
		return nil
	}
	return d.general(frame)
}

// general decodes any frame with the jscan cursor. Keys may come in any
// order and white space anywhere; the envelope, event and level objects
// must not repeat a key the decoder reads. For a frame of another channel
// it stops as soon as it has read the channel and the sequence_num.
func (d *decoder) general(frame []byte) error {
	d.reset(frame)
	s := &d.s
	m := &d.m
	eventsPos := -1
	var seen uint8
	k, ok := s.ObjectStart()
	for ; ok; k, ok = s.NextKey() {
		var bit uint8
		switch string(k) {
		case "channel":
			bit = 1
		case "sequence_num":
			bit = 2
		case "timestamp":
			bit = 4
		case "events":
			bit = 8
		default:
			if !s.Skip() {
				return d.err()
			}
			continue
		}
		if seen&bit != 0 {
			return d.fail(errDup)
		}
		seen |= bit
		switch bit {
		case 1:
			v, ok := s.String()
			if !ok {
				return d.err()
			}
			m.channel = chOther
			if string(v) == "l2_data" {
				m.channel = chL2
			}
		case 2:
			v, ok := s.Int()
			if !ok {
				return d.err()
			}
			if v < 0 {
				return d.fail(errSeq)
			}
			m.seq, m.hasSeq = v, true
		case 4:
			if s.Peek() != '"' {
				if !s.Skip() {
					return d.err()
				}
				continue
			}
			v, ok := s.String()
			if !ok {
				return d.err()
			}
			m.exch, _ = parseTime(v)
		case 8:
			if m.channel == chL2 {
				if !d.events() {
					return d.err()
				}
				continue
			}
			eventsPos = s.Pos()
			if !s.Skip() {
				return d.err()
			}
		}
		if m.channel == chOther && m.hasSeq {
			return nil // another channel: only its sequence_num matters
		}
	}
	if !s.End() {
		return d.err()
	}
	if m.channel != chL2 {
		return nil
	}
	if !m.hasSeq {
		return d.fail(errSeq)
	}
	if seen&8 == 0 {
		return d.fail(errShape)
	}
	if eventsPos >= 0 {
		// "events" came before "channel": scan it now.
		s.ResetAt(frame, eventsPos)
		if !d.events() {
			return d.err()
		}
	}
	return nil
}

// err returns the scanner's error, or errShape if the decoder gave up
// without recording one.
func (d *decoder) err() error {
	if err := d.s.Err(); err != nil {
		return err
	}
	return errShape
}

// fail records cause unless an error is recorded, and returns the first
// error.
func (d *decoder) fail(cause error) error {
	d.s.Fail(cause)
	return d.s.Err()
}

// events scans an l2_data events array.
func (d *decoder) events() bool {
	s := &d.s
	m := &d.m
	for more := s.ArrayStart(); more; more = s.NextElem() {
		if len(m.events) == maxEvents {
			d.fail(errEvents)
			return false
		}
		n := int32(len(m.levels))
		m.events = append(m.events, event{lo: n, hi: n})
		if !d.event(&m.events[len(m.events)-1]) {
			return false
		}
	}
	return !s.Failed()
}

// event scans one event object into e.
func (d *decoder) event(e *event) bool {
	s := &d.s
	var seen uint8
	k, ok := s.ObjectStart()
	for ; ok; k, ok = s.NextKey() {
		var bit uint8
		switch string(k) {
		case "type":
			bit = 1
		case "product_id":
			bit = 2
		case "updates":
			bit = 4
		default:
			if !s.Skip() {
				return false
			}
			continue
		}
		if seen&bit != 0 {
			d.fail(errDup)
			return false
		}
		seen |= bit
		switch bit {
		case 1:
			v, ok := s.String()
			if !ok {
				return false
			}
			switch string(v) {
			case "snapshot":
				e.snapshot = true
			case "update":
			default:
				d.fail(errType)
				return false
			}
			e.hasType = true
		case 2:
			v, ok := d.str()
			if !ok {
				return false
			}
			e.product = v
			if d.tab != nil && !d.deferAll {
				e.sym = d.tab.find(v)
			}
		case 4:
			if !d.updates(e) {
				return false
			}
		}
	}
	if s.Failed() {
		return false
	}
	if seen != 7 {
		d.fail(errShape)
		return false
	}
	return true
}

// str consumes a string and returns its contents, valid until the next
// frame: borrowed from the frame when it had no escapes, else copied
// unescaped into the message arena (cold: Coinbase does not escape).
func (d *decoder) str() ([]byte, bool) {
	s := &d.s
	if s.Peek() != '"' {
		d.fail(jscan.ErrType)
		return nil, false
	}
	p0 := s.Pos()
	v, ok := s.String()
	if !ok {
		return nil, false
	}
	raw := d.m.data[p0+1 : s.Pos()-1]
	if len(v) == 0 || len(v) == len(raw) && &v[0] == &raw[0] {
		return raw, true
	}
	a := len(d.m.arena)
	d.m.arena = append(d.m.arena, v...)
	return d.m.arena[a:len(d.m.arena):len(d.m.arena)], true
}

// updates scans an event's updates array. The levels are parsed to fixed
// point as they are scanned when the event's product and exponents are
// already known and cannot change at this event (direct mode); otherwise
// their offsets are recorded and the Feed resolves them once it knows the
// exponents.
func (d *decoder) updates(e *event) bool {
	s := &d.s
	m := &d.m
	e.direct = e.sym != nil && e.sym.directExp(e.snapshot, e.hasType)
	if e.direct {
		e.pexp, e.qexp = e.sym.Inst.PriceExp, e.sym.Inst.QtyExp
	}
	for more := s.ArrayStart(); more; more = s.NextElem() {
		if len(m.levels) == d.cap {
			d.fail(errLevels)
			return false
		}
		lv, ok := d.level(e)
		if !ok {
			return false
		}
		m.levels = append(m.levels, lv)
	}
	e.hi = int32(len(m.levels))
	return !s.Failed()
}

// level scans one level object.
func (d *decoder) level(e *event) (level, bool) {
	s := &d.s
	var lv level
	var seen uint8
	k, ok := s.ObjectStart()
	for ; ok; k, ok = s.NextKey() {
		var bit uint8
		switch string(k) {
		case "side":
			bit = 1
		case "price_level":
			bit = 2
		case "new_quantity":
			bit = 4
		default: // event_time and anything Coinbase adds
			if !s.Skip() {
				return lv, false
			}
			continue
		}
		if seen&bit != 0 {
			d.fail(errDup)
			return lv, false
		}
		seen |= bit
		switch bit {
		case 1:
			v, ok := s.String()
			if !ok {
				return lv, false
			}
			switch string(v) {
			case "bid":
				lv.side = market.Bid
			case "offer":
				lv.side = market.Ask
			default:
				d.fail(errSide)
				return lv, false
			}
		case 2:
			if e.direct {
				lv.px, _ = s.Fixed(e.pexp)
			} else {
				lv.px = d.deferred(&e.pdec)
			}
		case 4:
			if e.direct {
				lv.qty, _ = s.Fixed(e.qexp)
			} else {
				lv.qty = d.deferred(&e.qdec)
			}
		}
	}
	if s.Failed() {
		return lv, false
	}
	if seen != 7 {
		d.fail(errShape)
		return lv, false
	}
	if e.direct && (lv.px <= 0 || lv.qty < 0) {
		d.fail(errLevel)
		return lv, false
	}
	return lv, true
}

// deferred consumes a number (quoted or bare), raises *dec to the decimals
// it needs, and returns its offset in the frame.
func (d *decoder) deferred(dec *int) int64 {
	s := &d.s
	c := s.Peek()
	pos := s.Pos()
	var text []byte
	var ok bool
	switch {
	case c == '"':
		text, ok = s.String()
	case c == '-' || c >= '0' && c <= '9':
		text, ok = s.Raw() // validates JSON number grammar
	default:
		s.Fail(jscan.ErrType)
	}
	if !ok {
		return 0
	}
	n, err := wireDecimals(text)
	if err != nil {
		s.Fail(err)
		return 0
	}
	*dec = max(*dec, n)
	return int64(pos)
}

// resolveAt makes e's levels mantissas at (pexp, qexp): it parses the
// levels of a deferred event (see resolve), and rescales those of a direct
// event parsed at other exponents (a learned product whose exponents a
// snapshot earlier in the frame widened). It returns nil or the cause of
// the first bad level.
func (d *decoder) resolveAt(e *event, pexp, qexp int) error {
	if !e.direct {
		return d.resolve(e, pexp, qexp)
	}
	if e.pexp == pexp && e.qexp == qexp {
		return nil
	}
	for i := e.lo; i < e.hi; i++ {
		lv := &d.m.levels[i]
		p, ok1 := market.Rescale(lv.px, e.pexp, pexp)
		q, ok2 := market.Rescale(lv.qty, e.qexp, qexp)
		if !ok1 || !ok2 {
			return market.ErrRange
		}
		lv.px, lv.qty = p, q
	}
	e.pexp, e.qexp = pexp, qexp
	return nil
}

// resolve parses the levels of a deferred event at (pexp, qexp) and
// validates them; the event is direct afterwards. It returns nil or the
// cause of the first bad level.
func (d *decoder) resolve(e *event, pexp, qexp int) error {
	if e.direct {
		return nil
	}
	s := &d.s
	for i := e.lo; i < e.hi; i++ {
		lv := &d.m.levels[i]
		s.ResetAt(d.m.data, int(lv.px))
		p, _ := s.Fixed(pexp)
		s.ResetAt(d.m.data, int(lv.qty))
		q, ok := s.Fixed(qexp)
		if !ok {
			return s.Err()
		}
		if p <= 0 || q < 0 {
			return errLevel
		}
		lv.px, lv.qty = p, q
	}
	e.direct, e.pexp, e.qexp = true, pexp, qexp
	return nil
}

// wireDecimals returns the fewest decimals at which number text b parses
// exactly: for plain text ("0.10", "65086") the digits after the point
// without trailing zeros, for exponent forms the smallest exponent that
// market.ParseFixed accepts. It returns the market error for malformed or
// out-of-range text, errDecimals past 18 decimals.
func wireDecimals(b []byte) (int, error) {
	start, plain := 0, true
	for i, c := range b {
		switch {
		case c == '.':
			start = i + 1
		case c == 'e' || c == 'E':
			plain = false
		}
	}
	d := 0
	if plain && start > 0 {
		end := len(b)
		for end > start && b[end-1] == '0' {
			end--
		}
		d = end - start
	}
	if d > market.MaxExp {
		if _, err := market.ParseFixed(b, market.MaxExp); err != nil && err != market.ErrPrecision {
			return 0, err
		}
		return 0, errDecimals
	}
	for ; d <= market.MaxExp; d++ {
		_, err := market.ParseFixed(b, d)
		if err == nil {
			return d, nil
		}
		if err != market.ErrPrecision {
			return 0, err
		}
	}
	return 0, errDecimals
}
