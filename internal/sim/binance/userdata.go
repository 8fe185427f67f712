package binance

import (
	"strconv"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"arbmm/internal/market"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
	"arbmm/internal/sim/wire"
)

// User data: executionReport and outboundAccountPosition events of an
// account, to its legacy streams (/ws/<listenKey>) and to the WebSocket
// API sessions subscribed with userDataStream.subscribe (each event then
// wrapped as {"subscriptionId":n,"event":{...}}).

// udStream is one connection receiving an account's events.
type udStream struct {
	c     *wire.Conn
	subID int // WebSocket API subscription id; -1: a legacy stream (bare events)
}

// listenKey is a legacy user data stream key and its connections.
type listenKey struct {
	key     string
	account uint32
	conns   []*udStream
}

// addStream registers st for account a's events.
func (o *orderEntry) addStream(a uint32, st *udStream) {
	o.udMu.Lock()
	o.streams[a] = append(o.streams[a], st)
	o.udMu.Unlock()
}

// removeStream unregisters st.
func (o *orderEntry) removeStream(a uint32, st *udStream) {
	o.udMu.Lock()
	o.removeStreamLocked(a, st)
	o.udMu.Unlock()
}

func (o *orderEntry) removeStreamLocked(a uint32, st *udStream) {
	list := o.streams[a]
	for i, x := range list {
		if x == st {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(o.streams, a)
	} else {
		o.streams[a] = list
	}
}

// Deliver implements venue.PrivateSink: it captures the fills of the order
// being placed (for FULL responses), then encodes each event once and
// queues it to the account's streams. Runs under the venue lock.
func (o *orderEntry) Deliver(events []venue.Event) {
	if c := o.capture; c != nil {
		for i := range events {
			e := &events[i]
			if e.Kind == venue.EventOrder && e.HasFill && !e.Maker && e.Order.ID == c.id {
				c.fills = append(c.fills, e.Fill)
			}
		}
		o.capture = nil
	}
	defer clear(o.cancelCID)
	o.udMu.RLock()
	defer o.udMu.RUnlock()
	if len(o.streams) == 0 {
		return
	}
	for i := range events {
		e := &events[i]
		if e.Kind != venue.EventOrder {
			continue
		}
		subs := o.streams[uint32(e.Account)]
		if len(subs) == 0 {
			continue
		}
		o.ev = o.appendExecutionReport(o.ev[:0], e)
		o.fanout(subs, o.ev)
	}
	// One outboundAccountPosition per account, with every asset the
	// operation changed.
	for i := range events {
		e := &events[i]
		if e.Kind != venue.EventBalance || !o.firstBalance(events[:i], e.Account) {
			continue
		}
		subs := o.streams[uint32(e.Account)]
		if len(subs) == 0 {
			continue
		}
		b := append(o.ev[:0], `{"e":"outboundAccountPosition","E":`...)
		b = strconv.AppendInt(b, e.Time.UnixMilli(), 10)
		b = append(b, `,"u":`...)
		b = strconv.AppendInt(b, e.Time.UnixMilli(), 10)
		b = append(b, `,"B":[`...)
		n := 0
		for j := i; j < len(events); j++ {
			x := &events[j]
			if x.Kind != venue.EventBalance || x.Account != e.Account {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			a := o.assets[x.Asset]
			b = append(b, `{"a":"`...)
			b = append(b, a.name...)
			b = append(b, `","f":"`...)
			b = market.AppendFixed(b, x.Free, a.dec)
			b = append(b, `","l":"`...)
			b = market.AppendFixed(b, x.Locked, a.dec)
			b = append(b, `"}`...)
		}
		o.ev = append(b, "]}"...)
		o.fanout(subs, o.ev)
	}
}

// firstBalance reports whether no balance event of account a is in before.
func (o *orderEntry) firstBalance(before []venue.Event, a match.AccountID) bool {
	for i := range before {
		if before[i].Kind == venue.EventBalance && before[i].Account == a {
			return false
		}
	}
	return true
}

// fanout queues event to each stream, wrapped for WebSocket API ones.
func (o *orderEntry) fanout(subs []*udStream, event []byte) {
	for _, st := range subs {
		f := wire.NewFrame()
		if st.subID >= 0 {
			f.B = append(f.B, `{"subscriptionId":`...)
			f.B = strconv.AppendInt(f.B, int64(st.subID), 10)
			f.B = append(f.B, `,"event":`...)
			f.B = append(f.B, event...)
			f.B = append(f.B, '}')
		} else {
			f.B = append(f.B, event...)
		}
		st.c.Send(f, false)
		f.Release()
	}
}

// executionType is the "x" of an order event.
func executionType(e *venue.Event) string {
	if e.HasFill {
		return "TRADE"
	}
	switch e.Order.Status {
	case match.StatusCanceled:
		return "CANCELED"
	case match.StatusExpired:
		return "EXPIRED"
	case match.StatusExpiredInMatch:
		return "TRADE_PREVENTION"
	case match.StatusRejected:
		return "REJECTED"
	}
	return "NEW"
}

// appendExecutionReport encodes an order event as Binance's
// executionReport.
func (o *orderEntry) appendExecutionReport(b []byte, e *venue.Event) []byte {
	s := o.s
	p := e.Pair
	pc := &p.Cfg
	od := &e.Order
	qd := o.assets[p.Quote].dec
	ms := e.Time.UnixMilli()
	x := executionType(e)
	b = append(b, `{"e":"executionReport","E":`...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, `,"s":"`...)
	b = append(b, pc.Symbol...)
	b = append(b, `","c":`...)
	origCID := ""
	if x == "CANCELED" {
		cid, ok := o.cancelCID[od.ID]
		if !ok {
			var buf [22]byte
			cid = string(o.genID(buf[:0], 22))
		}
		b = strconv.AppendQuote(b, cid)
		origCID = od.ClientID
	} else {
		b = strconv.AppendQuote(b, od.ClientID)
	}
	b = appendKV(b, "S", sideName(od.Side))
	b = appendKV(b, "o", orderTypeName(od))
	b = appendKV(b, "f", od.TIF.String())
	b = append(b, `,"q":"`...)
	b = market.AppendFixed(b, od.Qty, pc.QtyExp)
	b = append(b, `","p":"`...)
	b = market.AppendFixed(b, od.Price, pc.PriceExp)
	b = append(b, `","P":"`...)
	b = market.AppendFixed(b, 0, pc.PriceExp)
	b = append(b, `","F":"`...)
	b = market.AppendFixed(b, 0, pc.QtyExp)
	b = append(b, `","g":-1,"C":`...)
	b = strconv.AppendQuote(b, origCID)
	b = appendKV(b, "x", x)
	b = appendKV(b, "X", od.Status.String())
	b = append(b, `,"r":"NONE","i":`...)
	b = strconv.AppendUint(b, od.ID, 10)
	var lq, lp, lquote, fee int64
	feeAsset := -1
	var tradeID int64 = -1
	if e.HasFill {
		f := &e.Fill
		lq, lp, lquote, tradeID = f.Qty, f.Price, f.Quote, int64(f.TradeID)
		if e.Maker {
			fee, feeAsset = f.MakerFee, int(f.MakerFeeAsset)
		} else {
			fee, feeAsset = f.TakerFee, int(f.TakerFeeAsset)
		}
	}
	b = append(b, `,"l":"`...)
	b = market.AppendFixed(b, lq, pc.QtyExp)
	b = append(b, `","z":"`...)
	b = market.AppendFixed(b, od.Filled, pc.QtyExp)
	b = append(b, `","L":"`...)
	b = market.AppendFixed(b, lp, pc.PriceExp)
	b = append(b, `","n":"`...)
	if feeAsset >= 0 {
		a := o.assets[feeAsset]
		b = market.AppendFixed(b, fee, a.dec)
		b = append(b, `","N":"`...)
		b = append(b, a.name...)
		b = append(b, '"')
	} else {
		b = append(b, `0","N":null`...)
	}
	b = append(b, `,"T":`...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, tradeID, 10)
	o.execID++
	b = append(b, `,"I":`...)
	b = strconv.AppendInt(b, o.execID, 10)
	b = append(b, `,"w":`...)
	b = strconv.AppendBool(b, od.Status.Open() && od.Type == match.Limit && od.TIF == match.GTC)
	b = append(b, `,"m":`...)
	b = strconv.AppendBool(b, e.HasFill && e.Maker)
	b = append(b, `,"M":false,"O":`...)
	b = strconv.AppendInt(b, nsToMs(od.Created), 10)
	b = append(b, `,"Z":"`...)
	b = market.AppendFixed(b, od.QuoteFilled, qd)
	b = append(b, `","Y":"`...)
	b = market.AppendFixed(b, lquote, qd)
	b = append(b, `","Q":"`...)
	b = market.AppendFixed(b, od.QuoteQty, qd)
	b = append(b, `","W":`...)
	b = strconv.AppendInt(b, nsToMs(od.Created), 10)
	b = appendKV(b, "V", s.stpName(p, od))
	return append(b, '}')
}

// listenKeyREST serves POST/PUT/DELETE /api/v3/userDataStream (USER_STREAM:
// the API key, no signature).
func (s *Server) listenKeyREST(ctx *fasthttp.RequestCtx, method string) {
	key, e := s.lookupKey(ctx.Request.Header.Peek("X-MBX-APIKEY"))
	if e != nil {
		if s.limit(ctx, 2, 0, false) {
			writeAPIError(ctx, e)
		}
		return
	}
	if !s.limit(ctx, 2, key.Account, false) {
		return
	}
	o := &s.priv
	ctx.SetContentType("application/json;charset=UTF-8")
	if method == fasthttp.MethodPost {
		o.udMu.Lock()
		var lk *listenKey
		for _, x := range o.keys {
			if x.account == key.Account {
				lk = x
				break
			}
		}
		if lk == nil {
			var buf [60]byte
			lk = &listenKey{key: string(o.genID(buf[:0], 60)), account: key.Account}
			o.keys[lk.key] = lk
		}
		o.udMu.Unlock()
		ctx.SetBodyString(`{"listenKey":"` + lk.key + `"}`)
		return
	}
	if method != fasthttp.MethodPut && method != fasthttp.MethodDelete {
		writeAPIError(ctx, errUnknownPath)
		return
	}
	name := ctx.QueryArgs().Peek("listenKey")
	if len(name) == 0 {
		var body fasthttp.Args
		body.ParseBytes(ctx.PostBody())
		name = body.Peek("listenKey")
	}
	if len(name) == 0 {
		writeAPIError(ctx, errMandatory("listenKey"))
		return
	}
	o.udMu.Lock()
	lk := o.keys[string(name)]
	if lk == nil || lk.account != key.Account {
		o.udMu.Unlock()
		writeAPIError(ctx, errListenKey)
		return
	}
	var closing []*udStream
	if method == fasthttp.MethodDelete {
		delete(o.keys, lk.key)
		closing = lk.conns
		for _, st := range closing {
			o.removeStreamLocked(lk.account, st)
		}
		lk.conns = nil
	}
	o.udMu.Unlock()
	for _, st := range closing {
		st.c.Close()
	}
	ctx.SetBodyString("{}")
}

// serveUserStream upgrades /ws/<listenKey>: the legacy user data stream.
func (s *Server) serveUserStream(ctx *fasthttp.RequestCtx, name string) {
	o := &s.priv
	o.udMu.RLock()
	lk := o.keys[name]
	o.udMu.RUnlock()
	if lk == nil {
		writeAPIError(ctx, errListenKey)
		return
	}
	n := s.conns.Add(1)
	_ = s.up.Upgrade(ctx, func(ws *websocket.Conn) {
		st := &udStream{subID: -1}
		wire.Serve(ws, wire.Config{Seed: wire.SeedFor(s.cfg.Seed, n)},
			func(c *wire.Conn) {
				st.c = c
				o.udMu.Lock()
				if o.keys[name] != lk { // deleted meanwhile
					o.udMu.Unlock()
					c.Close()
					return
				}
				lk.conns = append(lk.conns, st)
				o.streams[lk.account] = append(o.streams[lk.account], st)
				o.udMu.Unlock()
			},
			func(c *wire.Conn) {
				o.udMu.Lock()
				for i, x := range lk.conns {
					if x == st {
						lk.conns = append(lk.conns[:i], lk.conns[i+1:]...)
						break
					}
				}
				o.removeStreamLocked(lk.account, st)
				o.udMu.Unlock()
			},
			func(*wire.Conn, []byte) {})
	})
}
