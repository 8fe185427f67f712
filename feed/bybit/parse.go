package bybit

import (
	"errors"

	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// Causes of a malformed frame, recorded by the decoder and reported by
// Feed.LastError; Handle returns ErrMalformed for all of them (and for the
// jscan and market sentinels the scanner records).
var (
	errShape    = errors.New("bybit: JSON of an unexpected shape")
	errDup      = errors.New("bybit: duplicate key")
	errTopic    = errors.New("bybit: malformed orderbook topic")
	errType     = errors.New("bybit: orderbook type is neither snapshot nor delta")
	errSymbol   = errors.New("bybit: data.s differs from the topic's symbol")
	errUpdate   = errors.New("bybit: update id u is not positive")
	errLevel    = errors.New("bybit: level with a non-positive price or a negative size")
	errDecimals = errors.New("bybit: more than 18 decimals")
)

// Limits on what a frame may name.
const (
	topicPrefix   = "orderbook."
	maxTopicDepth = 1000 // Bybit's deepest orderbook topic
	maxSymbolLen  = 32   // bytes of a symbol in a topic
)

// msgKind classifies a decoded frame.
type msgKind uint8

const (
	msgBook    msgKind = iota + 1 // an orderbook.N.SYMBOL message
	msgIgnored                    // well-formed, not book data: other topics, op responses
)

// message is the decoder's scratch: what one frame says, its levels already
// in fixed point. It is reused across frames and owned by the feed
// goroutine.
type message struct {
	kind     msgKind
	snapshot bool // "type":"snapshot" (else "delta")
	depth    int  // N of the topic
	nameLen  int
	name     [maxSymbolLen]byte // the topic's symbol, copied (String may return scratch)
	sym      *Symbol            // the topic's symbol on this feed, or nil
	symErr   error              // why sym is nil: ErrUnknownSymbol or ErrDepth
	u, seq   int64              // data.u, data.seq
	hasSeq   bool
	ts, cts  int64 // ms; zero when absent
	hasTS    bool
	hasCTS   bool
	pexp     int        // exponents vals are at
	qexp     int        //
	vals     [][2]int64 // (price, size): bids[:nb], then asks
	nb       int
	dataPos  int // offset of the data value in the frame; -1 if none
}

// exchNs returns the message's exchange time in Unix ns: the matching
// engine's cts when present, else the system's ts.
func (m *message) exchNs() int64 {
	if m.hasCTS {
		return m.cts * 1e6
	}
	return m.ts * 1e6
}

// decoder turns one frame into a message. It owns a jscan.Scanner.
type decoder struct {
	s         jscan.Scanner
	m         message
	frame     []byte
	maxLevels int // levels per message, both sides
	// lookup resolves an orderbook topic to the feed's symbol as soon as
	// the topic is read, so that levels parse straight into fixed point at
	// its exponents. It returns nil and the reason for a symbol the feed
	// does not serve. It may create the symbol (cold).
	lookup func(topic, name []byte, depth int) (*Symbol, error)
}

func newDecoder(maxLevels int) decoder {
	return decoder{m: message{vals: make([][2]int64, 0, maxLevels)}, maxLevels: maxLevels}
}

// fail records err unless an error is recorded, and returns false.
func (d *decoder) fail(err error) bool {
	d.s.Fail(err)
	return false
}

// Top-level and data keys the decoder reads, as bits for duplicate checks.
const (
	kTopic = 1 << iota
	kType
	kTS
	kCTS
	kData
)

const (
	dS = 1 << iota
	dB
	dA
	dU
	dSeq
	dRequired = dS | dB | dA | dU
)

func topKey(k []byte) uint8 {
	switch string(k) {
	case "topic":
		return kTopic
	case "type":
		return kType
	case "ts":
		return kTS
	case "cts":
		return kCTS
	case "data":
		return kData
	}
	return 0
}

func dataKey(k []byte) uint8 {
	switch string(k) {
	case "s":
		return dS
	case "b":
		return dB
	case "a":
		return dA
	case "u":
		return dU
	case "seq":
		return dSeq
	}
	return 0
}

// decode scans one frame. The grammar it accepts:
//
//   - the frame is a JSON object; without "topic" it must have "op" (a
//     subscribe acknowledgement, a pong) and is ignored;
//   - "topic" is a string; a topic that is not "orderbook." followed by a
//     digit is another channel and the frame is ignored (it must still be
//     valid JSON);
//   - an orderbook topic is "orderbook.N.SYMBOL", N in 1..1000 without
//     leading zeros, SYMBOL 1..32 bytes of [A-Z0-9_-]; then "type" is
//     "snapshot" or "delta", "ts" and "cts" are optional integers, and
//     "data" is an object with "s" (equal to SYMBOL), "b" and "a" (arrays
//     of [price, size, ...] with numbers quoted or bare), "u" (an integer
//     >= 1) and optionally "seq" (an integer). Prices must be positive and
//     sizes non-negative, exact at the exponents;
//   - a key the decoder reads may appear once; other keys are skipped
//     (validated as JSON).
//
// Keys may come in any order: values read before the topic is known are
// located, skipped, and read once it is. Frames in Bybit's own compact
// shape take fastBook, which accepts a subset of this grammar.
func (d *decoder) decode(frame []byte) bool {
	d.frame = frame
	d.m = message{vals: d.m.vals[:0], dataPos: -1}
	if d.fastBook(frame) {
		return true
	}
	return d.general(frame)
}

// general is decode without the fast path.
func (d *decoder) general(frame []byte) bool {
	s := &d.s
	m := &d.m
	d.frame = frame
	*m = message{vals: m.vals[:0], dataPos: -1}
	s.Reset(frame)
	k, ok := s.ObjectStart()
	if !ok {
		return d.fail(errShape) // not an object (ErrType recorded first), or {}
	}
	var seen uint8
	haveTopic, hasOp, dataDone := false, false, false
	typePos, tsPos, ctsPos := -1, -1, -1
	for ; ok; k, ok = s.NextKey() {
		bit := topKey(k)
		if bit != 0 {
			if seen&bit != 0 {
				return d.fail(errDup)
			}
			seen |= bit
		}
		book := haveTopic && m.kind == msgBook
		switch {
		case bit == kTopic:
			if !d.topic() {
				return false
			}
			haveTopic = true
		case bit == 0 || (haveTopic && !book):
			if string(k) == "op" {
				hasOp = true
			}
			s.Skip()
		case bit == kData:
			m.dataPos = s.Pos()
			if book && m.sym != nil && m.sym.hasExp {
				if !d.data(m.sym.Inst.PriceExp, m.sym.Inst.QtyExp) {
					return false
				}
				dataDone = true
			} else {
				s.Skip()
			}
		case !haveTopic: // type, ts or cts before the topic: read later
			switch bit {
			case kType:
				typePos = s.Pos()
			case kTS:
				tsPos = s.Pos()
			case kCTS:
				ctsPos = s.Pos()
			}
			s.Skip()
		case bit == kType:
			d.typ()
		case bit == kTS:
			m.ts, m.hasTS = s.Int()
		case bit == kCTS:
			m.cts, m.hasCTS = s.Int()
		}
	}
	if !s.End() {
		return false
	}
	if !haveTopic {
		if hasOp {
			m.kind = msgIgnored
			return true
		}
		return d.fail(errShape)
	}
	if m.kind != msgBook {
		return true
	}
	if seen&kType == 0 || m.dataPos < 0 {
		return d.fail(errShape)
	}
	return d.late(typePos, tsPos, ctsPos, dataDone)
}

// late reads the values of a book message that preceded its topic, and its
// data if that was not read in the first pass (unusual key order, or a
// symbol whose exponents are not known yet). Cold.
func (d *decoder) late(typePos, tsPos, ctsPos int, dataDone bool) bool {
	s := &d.s
	m := &d.m
	if typePos >= 0 {
		s.ResetAt(d.frame, typePos)
		if !d.typ() {
			return false
		}
	}
	if tsPos >= 0 {
		s.ResetAt(d.frame, tsPos)
		if m.ts, m.hasTS = s.Int(); !m.hasTS {
			return false
		}
	}
	if ctsPos >= 0 {
		s.ResetAt(d.frame, ctsPos)
		if m.cts, m.hasCTS = s.Int(); !m.hasCTS {
			return false
		}
	}
	if dataDone {
		return true
	}
	var pe, qe int
	if sym := m.sym; sym != nil && sym.hasExp {
		pe, qe = sym.Inst.PriceExp, sym.Inst.QtyExp
	} else {
		// Exponents not known (learned mode, or a symbol this feed does
		// not serve): the finest decimals in the message, so that every
		// level parses exactly.
		pe, qe = d.decimals(m.dataPos)
		if pe > market.MaxExp || qe > market.MaxExp {
			s.ResetAt(d.frame, m.dataPos)
			return d.fail(errDecimals)
		}
	}
	s.ResetAt(d.frame, m.dataPos)
	return d.data(pe, qe)
}

// topic reads the topic string and, for an orderbook topic, its depth and
// symbol, and resolves the symbol.
func (d *decoder) topic() bool {
	s := &d.s
	m := &d.m
	v, ok := s.String()
	if !ok {
		return false
	}
	n := len(topicPrefix)
	if len(v) <= n || string(v[:n]) != topicPrefix || v[n] < '0' || v[n] > '9' {
		m.kind = msgIgnored
		return true
	}
	m.kind = msgBook
	depth, name, ok := parseTopic(v)
	if !ok {
		return d.fail(errTopic)
	}
	m.depth = depth
	m.nameLen = copy(m.name[:], name)
	if d.lookup != nil {
		m.sym, m.symErr = d.lookup(v, name, depth)
	} else {
		m.symErr = ErrUnknownSymbol
	}
	return true
}

// parseTopic splits an orderbook topic, "orderbook." followed by a digit,
// into its depth and symbol, and reports whether both are well formed.
func parseTopic(v []byte) (depth int, name []byte, ok bool) {
	i := len(topicPrefix)
	if len(v) <= i || v[i] < '1' || v[i] > '9' {
		return 0, nil, false
	}
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		depth = depth*10 + int(v[i]-'0')
		if depth > maxTopicDepth {
			return 0, nil, false
		}
	}
	if i >= len(v) || v[i] != '.' {
		return 0, nil, false
	}
	name = v[i+1:]
	if len(name) == 0 || len(name) > maxSymbolLen {
		return 0, nil, false
	}
	for _, c := range name {
		if !symbolByte[c] {
			return 0, nil, false
		}
	}
	return depth, name, true
}

// symbolByte marks the bytes a symbol may hold: Bybit symbols are upper
// case letters and digits ("1000PEPEUSDT"); dated futures add '-'
// ("BTC-26DEC25").
var symbolByte = func() (t [256]bool) {
	for c := range t {
		t[c] = 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	}
	return t
}()

// typ reads "type".
func (d *decoder) typ() bool {
	v, ok := d.s.String()
	if !ok {
		return false
	}
	switch string(v) {
	case "snapshot":
		d.m.snapshot = true
	case "delta":
	default:
		return d.fail(errType)
	}
	return true
}

// data reads the data object of a book message, parsing levels at
// exponents pe and qe, and checks them all.
func (d *decoder) data(pe, qe int) bool {
	s := &d.s
	m := &d.m
	m.pexp, m.qexp = pe, qe
	m.vals = m.vals[:0]
	k, ok := s.ObjectStart()
	if !ok {
		return d.fail(errShape)
	}
	var seen uint8
	var bids, asks [2]int // ranges of vals
	for ; ok; k, ok = s.NextKey() {
		bit := dataKey(k)
		if bit != 0 {
			if seen&bit != 0 {
				return d.fail(errDup)
			}
			seen |= bit
		}
		switch bit {
		case dS:
			v, ok := s.String()
			if ok && string(v) != string(m.name[:m.nameLen]) {
				return d.fail(errSymbol)
			}
		case dB, dA:
			start := len(m.vals)
			var lv bool
			if m.vals, lv = s.AppendFixedPairs(m.vals, pe, qe, d.maxLevels-start); !lv {
				return false
			}
			if bit == dB {
				bids = [2]int{start, len(m.vals)}
			} else {
				asks = [2]int{start, len(m.vals)}
			}
		case dU:
			m.u, _ = s.Int()
		case dSeq:
			m.seq, m.hasSeq = s.Int()
		default:
			s.Skip()
		}
	}
	if s.Failed() {
		return false
	}
	if seen&dRequired != dRequired {
		return d.fail(errShape)
	}
	if m.u < 1 {
		return d.fail(errUpdate)
	}
	if asks[0] < bids[0] {
		rotate(m.vals, asks[0], bids[0], bids[1]) // bids first
	}
	m.nb = bids[1] - bids[0]
	for _, v := range m.vals {
		if v[0] <= 0 || v[1] < 0 {
			return d.fail(errLevel)
		}
	}
	return true
}

// decimals returns the most decimals of any price and of any size in the
// level arrays of the data object at pos, ignoring anything malformed (the
// parse that follows reports it). Cold: for symbols whose exponents are
// learned.
func (d *decoder) decimals(pos int) (pd, qd int) {
	s := &d.s
	s.ResetAt(d.frame, pos)
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		if string(k) != "b" && string(k) != "a" {
			if !s.Skip() {
				return
			}
			continue
		}
		for more := s.ArrayStart(); more; more = s.NextElem() {
			if !s.ArrayStart() {
				return
			}
			pd = max(pd, d.numDecimals())
			if !s.NextElem() {
				return
			}
			qd = max(qd, d.numDecimals())
			for s.NextElem() {
				s.Skip()
			}
		}
	}
	return pd, qd
}

// numDecimals consumes a number, quoted or bare, and returns its decimals.
func (d *decoder) numDecimals() int {
	var v []byte
	if d.s.Peek() == '"' {
		v, _ = d.s.String()
	} else {
		v, _ = d.s.Raw()
	}
	return market.CountDecimals(v)
}

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
