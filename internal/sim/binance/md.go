package binance

import (
	"encoding/json"
	"strconv"
	"time"

	"arbmm/internal/market"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
	"arbmm/internal/sim/wire"
)

// mdSink encodes the venue's book changes as Binance depthUpdate and
// bookTicker events and queues them to the subscribed connections. Its
// Publish runs under the venue lock.
type mdSink struct {
	s     *Server
	top   []topOfBook // per pair: the best bid and ask last published
	frame []byte      // scratch: the bare event
}

type topOfBook struct {
	bid, ask match.Level
	okb, oka bool
}

// Publish implements venue.MDSink.
func (m *mdSink) Publish(p *venue.Pair, first, last uint64, ch []venue.Change, now time.Time) {
	s := m.s
	if m.top == nil {
		m.top = make([]topOfBook, len(s.v.Pairs()))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ps := &s.subs[p.Index]
	if len(ps.depth) > 0 {
		m.frame = appendDepthUpdate(m.frame[:0], p, first, last, ch, now)
		m.fanout(ps.depth, m.frame)
	}
	var t topOfBook
	t.bid, t.okb = p.Book.Best(market.Bid)
	t.ask, t.oka = p.Book.Best(market.Ask)
	if t != m.top[p.Index] {
		m.top[p.Index] = t
		if len(ps.ticker) > 0 && t.okb && t.oka {
			m.frame = appendBookTicker(m.frame[:0], p, last, &t)
			m.fanout(ps.ticker, m.frame)
		}
	}
}

// fanout queues event to every subscriber: one shared frame for the raw
// connections, one per stream name for the combined ones.
func (m *mdSink) fanout(subs []sub, event []byte) {
	var raw *wire.Frame
	var named [4]struct {
		name string
		f    *wire.Frame
	}
	nNamed := 0
	for _, su := range subs {
		if !su.mc.combined {
			if raw == nil {
				raw = wire.NewFrame()
				raw.B = append(raw.B, event...)
			}
			su.mc.c.Send(raw, true)
			continue
		}
		var f *wire.Frame
		for i := 0; i < nNamed; i++ {
			if named[i].name == su.name {
				f = named[i].f
			}
		}
		if f == nil {
			f = wire.NewFrame()
			f.B = append(f.B, `{"stream":`...)
			f.B = strconv.AppendQuote(f.B, su.name)
			f.B = append(f.B, `,"data":`...)
			f.B = append(f.B, event...)
			f.B = append(f.B, '}')
			if nNamed < len(named) {
				named[nNamed].name, named[nNamed].f = su.name, f
				nNamed++
			} else {
				su.mc.c.Send(f, true)
				f.Release()
				continue
			}
		}
		su.mc.c.Send(f, true)
	}
	if raw != nil {
		raw.Release()
	}
	for i := 0; i < nNamed; i++ {
		named[i].f.Release()
	}
}

// appendDepthUpdate appends a diff-depth event:
// {"e":"depthUpdate","E":ms,"s":"BTCUSDT","U":first,"u":last,"b":[[p,q]...],"a":[...]}.
func appendDepthUpdate(b []byte, p *venue.Pair, first, last uint64, ch []venue.Change, now time.Time) []byte {
	pc := &p.Cfg
	b = append(b, `{"e":"depthUpdate","E":`...)
	b = strconv.AppendInt(b, now.UnixMilli(), 10)
	b = append(b, `,"s":"`...)
	b = append(b, pc.Symbol...)
	b = append(b, `","U":`...)
	b = strconv.AppendUint(b, first, 10)
	b = append(b, `,"u":`...)
	b = strconv.AppendUint(b, last, 10)
	for side := market.Bid; side <= market.Ask; side++ {
		if side == market.Bid {
			b = append(b, `,"b":[`...)
		} else {
			b = append(b, `,"a":[`...)
		}
		n := 0
		for _, c := range ch {
			if c.Side != side {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, `["`...)
			b = market.AppendFixed(b, c.Price, pc.PriceExp)
			b = append(b, `","`...)
			b = market.AppendFixed(b, c.Qty, pc.QtyExp)
			b = append(b, `"]`...)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendBookTicker appends {"u":id,"s":"BTCUSDT","b":p,"B":q,"a":p,"A":q}.
func appendBookTicker(b []byte, p *venue.Pair, id uint64, t *topOfBook) []byte {
	pc := &p.Cfg
	b = append(b, `{"u":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"s":"`...)
	b = append(b, pc.Symbol...)
	b = append(b, `","b":"`...)
	b = market.AppendFixed(b, t.bid.Price, pc.PriceExp)
	b = append(b, `","B":"`...)
	b = market.AppendFixed(b, t.bid.Qty, pc.QtyExp)
	b = append(b, `","a":"`...)
	b = market.AppendFixed(b, t.ask.Price, pc.PriceExp)
	b = append(b, `","A":"`...)
	b = market.AppendFixed(b, t.ask.Qty, pc.QtyExp)
	return append(b, `"}`...)
}

// streamRequest is a market-stream control request.
type streamRequest struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	ID     json.RawMessage `json:"id"`
}

// onMDMessage answers SUBSCRIBE, UNSUBSCRIBE and LIST_SUBSCRIPTIONS as
// Binance does: {"result":null,"id":1}, or an error object.
func (s *Server) onMDMessage(mc *mdConn, msg []byte) {
	var req streamRequest
	if err := json.Unmarshal(msg, &req); err != nil {
		mc.c.SendBytes([]byte(`{"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"},"id":null}`))
		return
	}
	id := req.ID
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	reply := func(body string) {
		mc.c.SendBytes([]byte(`{` + body + `,"id":` + string(id) + `}`))
	}
	var params []string
	if len(req.Params) > 0 && string(req.Params) != "null" {
		if err := json.Unmarshal(req.Params, &params); err != nil {
			reply(`"error":{"code":2,"msg":"Invalid request: params must be an array of stream names"}`)
			return
		}
	}
	switch req.Method {
	case "SUBSCRIBE", "UNSUBSCRIBE":
		s.mu.Lock()
		for _, st := range params {
			if req.Method == "SUBSCRIBE" {
				s.subscribeLocked(mc, st)
			} else {
				s.unsubscribeLocked(mc, st)
			}
		}
		s.mu.Unlock()
		reply(`"result":null`)
	case "LIST_SUBSCRIPTIONS":
		s.mu.RLock()
		names := make([]string, 0, len(mc.streams))
		for st := range mc.streams {
			names = append(names, st)
		}
		s.mu.RUnlock()
		b, _ := json.Marshal(names)
		reply(`"result":` + string(b))
	default:
		reply(`"error":{"code":2,"msg":"Invalid request: unknown variant ` + strconv.Quote(req.Method) + `"}`)
	}
}
