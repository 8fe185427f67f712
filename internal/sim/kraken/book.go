package kraken

import (
	"encoding/json"
	"hash/crc32"
	"strconv"
	"time"

	"arbmm/internal/market"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
	"arbmm/internal/sim/wire"
)

// bookSink turns the venue's book changes into v2 book updates per
// subscribed depth: each depth class's new top-N is diffed against what its
// subscribers hold (levels gone are sent with qty 0, first; new and changed
// levels after), and the checksum of the new top 10 is attached. Publish
// runs under the venue lock.
type bookSink struct {
	s          *Server
	bids, asks []match.Level // scratch: the new top-N
	frame      []byte
	draws      wire.Draws // checksum-fault draws
	Updates    uint64     // updates sent (one per depth class)
	Corrupted  uint64     // updates sent with a wrong checksum
}

// Publish implements venue.MDSink.
func (bs *bookSink) Publish(p *venue.Pair, first, last uint64, ch []venue.Change, now time.Time) {
	s := bs.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, cl := range s.classes[p.Index] {
		if len(cl.conns) == 0 {
			continue
		}
		bs.bids = p.Book.Levels(market.Bid, cl.depth, bs.bids[:0])
		bs.asks = p.Book.Levels(market.Ask, cl.depth, bs.asks[:0])
		corrupt := s.cfg.WrongChecksum > 0 && bs.draws.Next() < s.cfg.WrongChecksum
		b, ok := cl.appendUpdate(bs.frame[:0], &p.Cfg, bs.bids, bs.asks, corrupt, now)
		bs.frame = b
		if !ok {
			continue // the change was deeper than this class holds
		}
		if corrupt {
			bs.Corrupted++
		}
		f := wire.NewFrame()
		f.B = append(f.B, b...)
		for _, pc := range cl.conns {
			pc.c.Send(f, true)
		}
		f.Release()
		bs.Updates++
	}
}

// appendUpdate appends the update message that takes the class's
// subscribers from the levels they hold to bids and asks (the new top-N,
// best first), with the checksum of the new top 10 (deliberately wrong when
// corrupt), and makes bids and asks the levels they hold. It reports false,
// sending nothing, when the top-N did not change.
func (cl *depthClass) appendUpdate(b []byte, pc *venue.PairConfig, bids, asks []match.Level, corrupt bool, now time.Time) ([]byte, bool) {
	b = append(b, `{"channel":"book","type":"update","data":[{"symbol":`...)
	b = strconv.AppendQuote(b, pc.Symbol)
	b = append(b, `,"bids":`...)
	b, nb := appendDiff(b, pc, cl.bids, bids, market.Bid)
	b = append(b, `,"asks":`...)
	b, na := appendDiff(b, pc, cl.asks, asks, market.Ask)
	cl.bids = append(cl.bids[:0], bids...)
	cl.asks = append(cl.asks[:0], asks...)
	if nb+na == 0 {
		return b, false
	}
	var sum uint32
	sum, cl.sum = appendChecksum(cl.sum, pc, cl.bids, cl.asks)
	if corrupt {
		sum ^= 0x5a5a5a5a
	}
	b = append(b, `,"checksum":`...)
	b = strconv.AppendUint(b, uint64(sum), 10)
	b = append(b, `,"timestamp":"`...)
	b = now.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	return append(b, `"}]}`...), true
}

// appendDiff appends the levels that turn old into cur (both best first):
// removals (qty 0) first, then new and changed levels. It returns the count.
func appendDiff(b []byte, pc *venue.PairConfig, old, cur []match.Level, side market.Side) ([]byte, int) {
	b = append(b, '[')
	n := 0
	emit := func(l match.Level) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendLevel(b, pc, l)
	}
	better := func(a, c int64) bool { // a is nearer the top than c
		if side == market.Bid {
			return a > c
		}
		return a < c
	}
	// Both lists are sorted best first: merge them.
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j == len(cur) || i < len(old) && better(old[i].Price, cur[j].Price):
			emit(match.Level{Price: old[i].Price})
			i++
		case i == len(old) || better(cur[j].Price, old[i].Price):
			j++
		default: // same price
			i++
			j++
		}
	}
	i, j = 0, 0
	for j < len(cur) {
		switch {
		case i < len(old) && better(old[i].Price, cur[j].Price):
			i++
		case i < len(old) && old[i].Price == cur[j].Price:
			if old[i].Qty != cur[j].Qty {
				emit(cur[j])
			}
			i++
			j++
		default:
			emit(cur[j])
			j++
		}
	}
	return append(b, ']'), n
}

// appendLevel appends {"price":p,"qty":q} as Kraken prints them: JSON
// numbers at the pair's precision without trailing zeros, but with at
// least one decimal ("4.0").
func appendLevel(b []byte, pc *venue.PairConfig, l match.Level) []byte {
	b = append(b, `{"price":`...)
	b = appendNumber(b, l.Price, pc.PriceExp)
	b = append(b, `,"qty":`...)
	b = appendNumber(b, l.Qty, pc.QtyExp)
	return append(b, '}')
}

func appendNumber(b []byte, v int64, exp int) []byte {
	start := len(b)
	b = market.AppendFixedTrim(b, v, exp)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

// Checksum is Kraken's book checksum, written here independently of the
// engine's feed: CRC32 (IEEE) of the top 10 asks (best first) then the
// top 10 bids (best first), each level's price then quantity printed at
// the pair's precision with the decimal point and leading zeros removed.
func Checksum(pc *venue.PairConfig, bids, asks []match.Level) uint32 {
	sum, _ := appendChecksum(nil, pc, bids, asks)
	return sum
}

// appendChecksum is Checksum rendering its text into scratch (returned for
// reuse), so the publisher computes it without allocating.
func appendChecksum(scratch []byte, pc *venue.PairConfig, bids, asks []match.Level) (uint32, []byte) {
	b := scratch[:0]
	for i := 0; i < len(asks) && i < 10; i++ {
		b = appendChecksumNumber(b, asks[i].Price)
		b = appendChecksumNumber(b, asks[i].Qty)
	}
	for i := 0; i < len(bids) && i < 10; i++ {
		b = appendChecksumNumber(b, bids[i].Price)
		b = appendChecksumNumber(b, bids[i].Qty)
	}
	return crc32.ChecksumIEEE(b), b
}

// appendChecksumNumber prints v at exp decimals, drops the point, then the
// leading zeros: 0.00100000 → "100000", 45283.5 → "452835".
//
// The mantissa at the pair's decimals is exactly those digits, so printing
// the mantissa does both steps (strconv prints no leading zeros).
func appendChecksumNumber(b []byte, v int64) []byte {
	return strconv.AppendInt(b, v, 10)
}

// publicRequest is a request on the public websocket.
type publicRequest struct {
	Method string `json:"method"`
	Params struct {
		Channel  string   `json:"channel"`
		Symbol   []string `json:"symbol"`
		Depth    int      `json:"depth"`
		Snapshot *bool    `json:"snapshot"`
	} `json:"params"`
	ReqID *int64 `json:"req_id"`
}

// onPublicMessage answers ping, subscribe and unsubscribe of the book
// channel.
func (s *Server) onPublicMessage(pc *pubConn, msg []byte) {
	timeIn := s.v.Now()
	var req publicRequest
	if err := json.Unmarshal(msg, &req); err != nil {
		pc.c.SendBytes(appendAck(nil, "", nil, "", false, "EGeneral:Invalid arguments", timeIn, s.v.Now()))
		return
	}
	switch req.Method {
	case "ping":
		pc.c.SendBytes(appendAck(nil, "pong", req.ReqID, "", true, "", timeIn, s.v.Now()))
	case "subscribe", "unsubscribe":
		if req.Params.Channel != "book" {
			pc.c.SendBytes(appendAck(nil, req.Method, req.ReqID, "", false, "Channel "+strconv.Quote(req.Params.Channel)+" is not supported by this simulator", timeIn, s.v.Now()))
			return
		}
		depth := req.Params.Depth
		if depth == 0 {
			depth = 10
		}
		if !validDepth(depth) {
			pc.c.SendBytes(appendAck(nil, req.Method, req.ReqID, "", false, "EGeneral:Invalid arguments:depth", timeIn, s.v.Now()))
			return
		}
		if len(req.Params.Symbol) == 0 {
			pc.c.SendBytes(appendAck(nil, req.Method, req.ReqID, "", false, "EGeneral:Invalid arguments:no symbols", timeIn, s.v.Now()))
			return
		}
		snapshot := req.Params.Snapshot == nil || *req.Params.Snapshot
		for _, sym := range req.Params.Symbol {
			p, ok := s.v.Pair(sym)
			if !ok {
				pc.c.SendBytes(appendAck(nil, req.Method, req.ReqID, sym, false, "Currency pair not supported "+sym, timeIn, s.v.Now()))
				continue
			}
			if req.Method == "subscribe" {
				s.subscribe(pc, p, depth, snapshot, req.ReqID, timeIn)
			} else {
				s.unsubscribe(pc, p, depth, req.ReqID, timeIn)
			}
		}
	default:
		pc.c.SendBytes(appendAck(nil, req.Method, req.ReqID, "", false, "Method not found", timeIn, s.v.Now()))
	}
}

func validDepth(d int) bool {
	for _, x := range Depths {
		if x == d {
			return true
		}
	}
	return false
}

// subscribe adds pc to the pair's depth class and sends the acknowledgement
// and the snapshot, all under the venue lock, so that no update of the pair
// falls between the snapshot and the stream.
func (s *Server) subscribe(pc *pubConn, p *venue.Pair, depth int, snapshot bool, reqID *int64, timeIn time.Time) {
	s.v.Do(func(tx *venue.Tx) {
		p.Flush() // publish what is pending to the existing subscribers first
		s.mu.Lock()
		defer s.mu.Unlock()
		cl := s.classes[p.Index][depth]
		if cl == nil {
			cl = &depthClass{depth: depth}
			cl.bids = p.Book.Levels(market.Bid, depth, nil)
			cl.asks = p.Book.Levels(market.Ask, depth, nil)
			s.classes[p.Index][depth] = cl
		} else if len(cl.conns) == 0 {
			cl.bids = p.Book.Levels(market.Bid, depth, cl.bids[:0])
			cl.asks = p.Book.Levels(market.Ask, depth, cl.asks[:0])
		}
		if pc.subs[cl] {
			pc.c.SendBytes(appendAck(nil, "subscribe", reqID, p.Cfg.Symbol, false, "Already subscribed", timeIn, tx.Now()))
			return
		}
		pc.subs[cl] = true
		cl.conns = append(cl.conns, pc)
		pc.c.SendBytes(appendSubscribeResult(nil, reqID, p.Cfg.Symbol, depth, snapshot, timeIn, tx.Now()))
		if snapshot {
			pc.c.SendBytes(appendSnapshot(nil, &p.Cfg, cl.bids, cl.asks))
		}
	})
}

func (s *Server) unsubscribe(pc *pubConn, p *venue.Pair, depth int, reqID *int64, timeIn time.Time) {
	s.mu.Lock()
	cl := s.classes[p.Index][depth]
	ok := cl != nil && pc.subs[cl]
	if ok {
		delete(pc.subs, cl)
		cl.remove(pc)
	}
	s.mu.Unlock()
	if !ok {
		pc.c.SendBytes(appendAck(nil, "unsubscribe", reqID, p.Cfg.Symbol, false, "Subscription Not Found", timeIn, s.v.Now()))
		return
	}
	b := []byte(`{"method":"unsubscribe","result":{"channel":"book","depth":`)
	b = strconv.AppendInt(b, int64(depth), 10)
	b = append(b, `,"symbol":`...)
	b = strconv.AppendQuote(b, p.Cfg.Symbol)
	b = append(b, `},"success":true`...)
	b = appendTail(b, reqID, timeIn, s.v.Now())
	pc.c.SendBytes(b)
}

// appendSnapshot appends a book snapshot message with its checksum.
func appendSnapshot(b []byte, pc *venue.PairConfig, bids, asks []match.Level) []byte {
	b = append(b, `{"channel":"book","type":"snapshot","data":[{"symbol":`...)
	b = strconv.AppendQuote(b, pc.Symbol)
	b = append(b, `,"bids":[`...)
	for i, l := range bids {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLevel(b, pc, l)
	}
	b = append(b, `],"asks":[`...)
	for i, l := range asks {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLevel(b, pc, l)
	}
	b = append(b, `],"checksum":`...)
	b = strconv.AppendUint(b, uint64(Checksum(pc, bids, asks)), 10)
	return append(b, `}]}`...)
}

func appendSubscribeResult(b []byte, reqID *int64, sym string, depth int, snapshot bool, in, out time.Time) []byte {
	b = append(b, `{"method":"subscribe","result":{"channel":"book","depth":`...)
	b = strconv.AppendInt(b, int64(depth), 10)
	b = append(b, `,"snapshot":`...)
	b = strconv.AppendBool(b, snapshot)
	b = append(b, `,"symbol":`...)
	b = strconv.AppendQuote(b, sym)
	b = append(b, `},"success":true`...)
	return appendTail(b, reqID, in, out)
}

// appendAck appends a method response: success, or an error with its
// text (and the symbol it concerns, if any).
func appendAck(b []byte, method string, reqID *int64, sym string, ok bool, errText string, in, out time.Time) []byte {
	b = append(b, `{`...)
	if !ok {
		b = append(b, `"error":`...)
		b = strconv.AppendQuote(b, errText)
		b = append(b, ',')
	}
	b = append(b, `"method":`...)
	b = strconv.AppendQuote(b, method)
	if sym != "" {
		b = append(b, `,"symbol":`...)
		b = strconv.AppendQuote(b, sym)
	}
	b = append(b, `,"success":`...)
	b = strconv.AppendBool(b, ok)
	return appendTail(b, reqID, in, out)
}

// appendTail appends ,"req_id":n,"time_in":"...","time_out":"..."}.
func appendTail(b []byte, reqID *int64, in, out time.Time) []byte {
	if reqID != nil {
		b = append(b, `,"req_id":`...)
		b = strconv.AppendInt(b, *reqID, 10)
	}
	b = append(b, `,"time_in":"`...)
	b = in.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, `","time_out":"`...)
	b = out.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	return append(b, `"}`...)
}

// appendStatus appends the status message Kraken sends on connect.
func appendStatus(b []byte, connID uint64) []byte {
	b = append(b, `{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":`...)
	b = strconv.AppendUint(b, connID, 10)
	return append(b, `,"system":"online","version":"2.0.0"}]}`...)
}
