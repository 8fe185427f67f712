package kraken

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
	"arbmm/internal/sim/wire"
)

// authConn is one authenticated WebSocket v2 connection. acct and bound
// belong to its read goroutine; the subscription fields are guarded by the
// venue lock.
type authConn struct {
	c     *wire.Conn
	acct  uint32
	bound bool // acct is set: the first valid token bound the connection

	// venue lock
	execs, bals     bool
	execSeq, balSeq uint64
}

// handleAuth serves the authenticated websocket listener: /v2.
func (s *Server) handleAuth(ctx *fasthttp.RequestCtx) {
	if string(ctx.Path()) != "/v2" {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		return
	}
	e := &s.priv
	_ = s.up.Upgrade(ctx, func(ws *websocket.Conn) {
		ac := &authConn{}
		wire.Serve(ws, wire.Config{},
			func(c *wire.Conn) {
				ac.c = c
				e.connMu.Lock()
				e.conns[ac] = true
				e.connMu.Unlock()
				c.SendBytes(appendStatus(nil, s.conns.Add(1)))
			},
			func(c *wire.Conn) { e.dropConn(ac) },
			func(c *wire.Conn, msg []byte) { e.onAuthMessage(ac, msg) })
	})
}

func (e *orderEntry) dropConn(ac *authConn) {
	e.connMu.Lock()
	delete(e.conns, ac)
	e.connMu.Unlock()
	if !ac.bound {
		return
	}
	e.s.v.Do(func(*venue.Tx) {
		e.execSubs[ac.acct] = removeConn(e.execSubs[ac.acct], ac)
		e.balSubs[ac.acct] = removeConn(e.balSubs[ac.acct], ac)
	})
}

func removeConn(l []*authConn, ac *authConn) []*authConn {
	for i, x := range l {
		if x == ac {
			return append(l[:i], l[i+1:]...)
		}
	}
	return l
}

// wsRequest is a request on the authenticated websocket.
type wsRequest struct {
	Method string   `json:"method"`
	Params wsParams `json:"params"`
	ReqID  *int64   `json:"req_id"`
}

// wsParams holds the params of every method; each reads its own.
type wsParams struct {
	Token        string          `json:"token"`
	Channel      string          `json:"channel"`
	Snapshot     *bool           `json:"snapshot"`
	SnapOrders   *bool           `json:"snap_orders"`
	SnapTrades   *bool           `json:"snap_trades"`
	OrderType    string          `json:"order_type"`
	Side         string          `json:"side"`
	OrderQty     json.Number     `json:"order_qty"`
	CashOrderQty json.Number     `json:"cash_order_qty"`
	Symbol       string          `json:"symbol"`
	LimitPrice   json.Number     `json:"limit_price"`
	TimeInForce  string          `json:"time_in_force"`
	PostOnly     bool            `json:"post_only"`
	ClOrdID      json.RawMessage `json:"cl_ord_id"`     // add_order: string; cancel_order: array
	OrderUserref json.RawMessage `json:"order_userref"` // add_order: int; cancel_order: array
	OrderID      []string        `json:"order_id"`
	STPType      string          `json:"stp_type"`
	Validate     bool            `json:"validate"`
	Timeout      *int64          `json:"timeout"`
	Orders       []wsParams      `json:"orders"`
}

// parseAddOrderWS parses add_order's params (or one order of batch_add,
// with its symbol given by the batch). It returns Kraken's error text on
// failure.
func parseAddOrderWS(p *wsParams, pt *pairTable) (orderReq, string) {
	var rq orderReq
	pi, ok := pt.lookup([]byte(p.Symbol))
	if !ok {
		if p.Symbol == "" {
			return rq, invalidArg("symbol")
		}
		return rq, "Currency pair not supported " + p.Symbol
	}
	rq.pi = pi
	r := &rq.r
	switch p.Side {
	case "buy":
		r.Side = market.Buy
	case "sell":
		r.Side = market.Sell
	default:
		return rq, invalidArg("side")
	}
	switch p.OrderType {
	case "limit":
		r.Type = match.Limit
	case "market":
		r.Type = match.Market
	default:
		return rq, invalidArg("order_type")
	}
	switch strings.ToLower(p.TimeInForce) {
	case "", "gtc":
		r.TIF = match.GTC
	case "ioc":
		r.TIF = match.IOC
	case "fok":
		r.TIF = match.FOK
	default:
		return rq, invalidArg("time_in_force")
	}
	r.PostOnly = p.PostOnly
	if r.PostOnly && (r.Type != match.Limit || r.TIF != match.GTC) {
		return rq, invalidArg("post_only")
	}
	if r.Type == match.Market {
		r.TIF = match.IOC
	}
	switch {
	case p.OrderQty != "" && p.CashOrderQty != "":
		return rq, invalidArg("order_qty")
	case p.CashOrderQty != "":
		if r.Type != match.Market {
			return rq, invalidArg("cash_order_qty")
		}
		v, err := market.ParseFixed([]byte(p.CashOrderQty), pi.quoteExp)
		if err != nil || v <= 0 {
			return rq, invalidArg("cash_order_qty")
		}
		r.QuoteQty, rq.viqc = v, true
	default:
		v, err := market.ParseFixed([]byte(p.OrderQty), pi.p.Cfg.QtyExp)
		if err != nil || v <= 0 {
			return rq, invalidArg("order_qty")
		}
		r.Qty = v
	}
	if r.Type == match.Limit {
		if p.LimitPrice == "" {
			return rq, invalidArg("limit_price")
		}
		v, err := market.ParseFixed([]byte(p.LimitPrice), pi.p.Cfg.PriceExp)
		switch {
		case err == market.ErrPrecision:
			return rq, invalidPrice(pi.alt, pi.p.Cfg.PriceExp)
		case err != nil || v <= 0:
			return rq, invalidArg("limit_price")
		}
		r.Price = v
	}
	if len(p.ClOrdID) > 0 && string(p.ClOrdID) != "null" {
		var c string
		if json.Unmarshal(p.ClOrdID, &c) != nil || !validClientID([]byte(c)) {
			return rq, invalidArg("cl_ord_id")
		}
		r.ClientID = c
	}
	if len(p.OrderUserref) > 0 && string(p.OrderUserref) != "null" {
		v, err := strconv.ParseInt(string(p.OrderUserref), 10, 32)
		if err != nil {
			return rq, invalidArg("order_userref")
		}
		if r.ClientID != "" {
			return rq, invalidArg("cl_ord_id and order_userref are mutually exclusive")
		}
		rq.userref, rq.hasUserref = int32(v), true
	}
	switch p.STPType {
	case "", "cancel_newest":
		r.STP = match.STPExpireTaker
	case "cancel_oldest":
		r.STP = match.STPExpireMaker
	case "cancel_both":
		r.STP = match.STPExpireBoth
	default:
		return rq, invalidArg("stp_type")
	}
	rq.validate = p.Validate
	return rq, ""
}

// onAuthMessage answers one request of an authenticated connection.
func (e *orderEntry) onAuthMessage(ac *authConn, msg []byte) {
	s := e.s
	timeIn := s.v.Now()
	var req wsRequest
	if err := json.Unmarshal(msg, &req); err != nil {
		ac.c.SendBytes(appendAck(nil, "", nil, "", false, errInvalidArgs, timeIn, s.v.Now()))
		return
	}
	fail := func(text string) {
		ac.c.SendBytes(appendAck(nil, req.Method, req.ReqID, "", false, text, timeIn, s.v.Now()))
	}
	switch req.Method {
	case "ping":
		ac.c.SendBytes(appendAck(nil, "pong", req.ReqID, "", true, "", timeIn, s.v.Now()))
		return
	case "add_order", "batch_add", "cancel_order", "cancel_all", "cancel_all_orders_after", "subscribe", "unsubscribe":
	default:
		fail(errMethodNotFound)
		return
	}
	a, err := e.tokens.Use([]byte(req.Params.Token), timeIn)
	if err != nil || ac.bound && a != ac.acct {
		fail(auth.ErrToken.Error())
		return
	}
	if !ac.bound {
		e.track(a)
		ac.acct, ac.bound = a, true
	}
	switch req.Method {
	case "add_order":
		e.wsAddOrder(ac, &req, timeIn)
	case "batch_add":
		e.wsBatchAdd(ac, &req, timeIn)
	case "cancel_order":
		e.wsCancelOrder(ac, &req, timeIn)
	case "cancel_all":
		var n int
		s.v.Do(func(tx *venue.Tx) { n = e.cancelAll(tx, a, errUserRequested) })
		b := append([]byte(nil), `{"method":"cancel_all","result":{"count":`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, `},"success":true`...)
		ac.c.SendBytes(appendTail(b, req.ReqID, timeIn, s.v.Now()))
	case "cancel_all_orders_after":
		if req.Params.Timeout == nil || *req.Params.Timeout < 0 || *req.Params.Timeout > 86400 {
			fail(invalidArg("timeout"))
			return
		}
		trigger := e.cancelAfter(a, *req.Params.Timeout, timeIn)
		b := append([]byte(nil), `{"method":"cancel_all_orders_after","result":`...)
		b = appendCancelAfter(b, timeIn, trigger, true)
		b = append(b, `,"success":true`...)
		ac.c.SendBytes(appendTail(b, req.ReqID, timeIn, s.v.Now()))
	case "subscribe":
		e.wsSubscribe(ac, &req, timeIn)
	case "unsubscribe":
		e.wsUnsubscribe(ac, &req, timeIn)
	}
}

// appendAddResult appends add_order's result object.
func appendAddResult(b []byte, o *match.Order, rq *orderReq) []byte {
	b = append(b, `{"order_id":"`...)
	b = appendTxID(b, 'O', o.ID)
	b = append(b, '"')
	if rq.r.ClientID != "" {
		b = append(b, `,"cl_ord_id":`...)
		b = strconv.AppendQuote(b, rq.r.ClientID)
	}
	if rq.hasUserref {
		b = append(b, `,"order_userref":`...)
		b = strconv.AppendInt(b, int64(rq.userref), 10)
	}
	return append(b, '}')
}

func (e *orderEntry) wsAddOrder(ac *authConn, req *wsRequest, timeIn time.Time) {
	s := e.s
	rq, bad := parseAddOrderWS(&req.Params, e.pairs)
	if bad == "" && rq.validate {
		b := append([]byte(nil), `{"method":"add_order","result":{"order_id":""},"success":true`...)
		ac.c.SendBytes(appendTail(b, req.ReqID, timeIn, s.v.Now()))
		return
	}
	var res placeResult
	if bad == "" {
		res = e.place(ac.acct, &rq)
		bad = res.err
	}
	if bad != "" {
		ac.c.SendBytes(appendAck(nil, "add_order", req.ReqID, "", false, bad, timeIn, s.v.Now()))
		return
	}
	if res.lost {
		return
	}
	b := append([]byte(nil), `{"method":"add_order","result":`...)
	b = appendAddResult(b, &res.o, &rq)
	b = append(b, `,"success":true`...)
	ac.c.SendBytes(appendTail(b, req.ReqID, timeIn, s.v.Now()))
}

// wsBatchAdd places 2 to 15 orders of one symbol; every order is validated
// before any is placed, as Kraken does. The faults apply per order.
func (e *orderEntry) wsBatchAdd(ac *authConn, req *wsRequest, timeIn time.Time) {
	s := e.s
	fail := func(text string) {
		ac.c.SendBytes(appendAck(nil, "batch_add", req.ReqID, "", false, text, timeIn, s.v.Now()))
	}
	if n := len(req.Params.Orders); n < 2 || n > 15 {
		fail(invalidArg("orders"))
		return
	}
	rqs := make([]orderReq, len(req.Params.Orders))
	for i := range req.Params.Orders {
		p := &req.Params.Orders[i]
		p.Symbol = req.Params.Symbol
		var bad string
		if rqs[i], bad = parseAddOrderWS(p, e.pairs); bad != "" {
			fail(bad)
			return
		}
	}
	b := append([]byte(nil), `{"method":"batch_add","result":[`...)
	lost := false
	for i := range rqs {
		if i > 0 {
			b = append(b, ',')
		}
		if req.Params.Validate {
			b = append(b, `{"order_id":""}`...)
			continue
		}
		res := e.place(ac.acct, &rqs[i])
		if res.err != "" {
			b = append(b, `{"error":`...)
			b = strconv.AppendQuote(b, res.err)
			b = append(b, '}')
			continue
		}
		lost = lost || res.lost
		b = appendAddResult(b, &res.o, &rqs[i])
	}
	if lost {
		return
	}
	b = append(b, `],"success":true`...)
	ac.c.SendBytes(appendTail(b, req.ReqID, timeIn, s.v.Now()))
}

// wsCancelOrder cancels the orders named by order_id, cl_ord_id and
// order_userref, answering once per order as Kraken does.
func (e *orderEntry) wsCancelOrder(ac *authConn, req *wsRequest, timeIn time.Time) {
	s := e.s
	p := &req.Params
	var cids []string
	var refs []int32
	if len(p.ClOrdID) > 0 && json.Unmarshal(p.ClOrdID, &cids) != nil {
		ac.c.SendBytes(appendAck(nil, "cancel_order", req.ReqID, "", false, invalidArg("cl_ord_id"), timeIn, s.v.Now()))
		return
	}
	if len(p.OrderUserref) > 0 && json.Unmarshal(p.OrderUserref, &refs) != nil {
		ac.c.SendBytes(appendAck(nil, "cancel_order", req.ReqID, "", false, invalidArg("order_userref"), timeIn, s.v.Now()))
		return
	}
	if len(p.OrderID)+len(cids)+len(refs) == 0 {
		ac.c.SendBytes(appendAck(nil, "cancel_order", req.ReqID, "", false, invalidArg("order_id"), timeIn, s.v.Now()))
		return
	}
	var out [][]byte
	reply := func(o *match.Order, bad string) {
		if bad != "" {
			out = append(out, appendAck(nil, "cancel_order", req.ReqID, "", false, bad, timeIn, s.v.Now()))
			return
		}
		b := append([]byte(nil), `{"method":"cancel_order","result":{"order_id":"`...)
		b = appendTxID(b, 'O', o.ID)
		b = append(b, '"')
		if o.ClientID != "" {
			b = append(b, `,"cl_ord_id":`...)
			b = strconv.AppendQuote(b, o.ClientID)
		}
		b = append(b, `},"success":true`...)
		out = append(out, appendTail(b, req.ReqID, timeIn, s.v.Now()))
	}
	a := ac.acct
	s.v.Do(func(tx *venue.Tx) {
		for _, id := range p.OrderID {
			n, ok := parseTxID([]byte(id), 'O')
			if !ok {
				reply(nil, errUnknownOrder)
				continue
			}
			o, _, bad := e.cancel(tx, a, n, "")
			reply(&o, bad)
		}
		for _, c := range cids {
			o, _, bad := e.cancel(tx, a, 0, c)
			reply(&o, bad)
		}
		for _, u := range refs {
			found := false
			for _, o := range tx.Open(nil, match.AccountID(a), nil) {
				if r, ok := e.userrefs[o.ID]; ok && r == u {
					found = true
					c, _, bad := e.cancel(tx, a, o.ID, "")
					reply(&c, bad)
				}
			}
			if !found {
				reply(nil, errUnknownOrder)
			}
		}
	})
	for _, b := range out {
		ac.c.SendBytes(b)
	}
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// wsSubscribe subscribes to executions or balances; the acknowledgement,
// the snapshot and the registration happen under the venue lock, so that no
// event falls between the snapshot and the stream.
func (e *orderEntry) wsSubscribe(ac *authConn, req *wsRequest, timeIn time.Time) {
	s := e.s
	p := &req.Params
	a := ac.acct
	switch p.Channel {
	case "executions":
		s.v.Do(func(tx *venue.Tx) {
			if ac.execs {
				ac.c.SendBytes(appendAck(nil, "subscribe", req.ReqID, "", false, "Already subscribed", timeIn, tx.Now()))
				return
			}
			snapOrders := boolOr(p.SnapOrders, true)
			b := append([]byte(nil), `{"method":"subscribe","result":{"channel":"executions","maxratecount":`...)
			b = strconv.AppendInt(b, int64(e.limiter.Limits().TradingMax), 10)
			b = append(b, `,"snapshot":`...)
			b = strconv.AppendBool(b, snapOrders)
			b = append(b, `},"success":true`...)
			ac.c.SendBytes(appendTail(b, req.ReqID, timeIn, tx.Now()))
			ac.execs = true
			e.execSubs[a] = append(e.execSubs[a], ac)
			if !snapOrders {
				return
			}
			ac.execSeq++
			b = append(b[:0], `{"channel":"executions","type":"snapshot","data":[`...)
			for i, o := range tx.Open(nil, match.AccountID(a), nil) {
				if i > 0 {
					b = append(b, ',')
				}
				pi := e.pairs.list[e.pairIndex(tx, a, o.ID)]
				b = e.appendExecOrder(b, pi, &o, "new", tx.Now())
			}
			b = append(b, `],"sequence":`...)
			b = strconv.AppendUint(b, ac.execSeq, 10)
			ac.c.SendBytes(append(b, '}'))
		})
	case "balances":
		s.v.Do(func(tx *venue.Tx) {
			if ac.bals {
				ac.c.SendBytes(appendAck(nil, "subscribe", req.ReqID, "", false, "Already subscribed", timeIn, tx.Now()))
				return
			}
			snap := boolOr(p.Snapshot, true)
			b := append([]byte(nil), `{"method":"subscribe","result":{"channel":"balances","snapshot":`...)
			b = strconv.AppendBool(b, snap)
			b = append(b, `},"success":true`...)
			ac.c.SendBytes(appendTail(b, req.ReqID, timeIn, tx.Now()))
			ac.bals = true
			e.balSubs[a] = append(e.balSubs[a], ac)
			if !snap {
				return
			}
			ac.balSeq++
			b = append(b[:0], `{"channel":"balances","type":"snapshot","data":[`...)
			for i, bal := range tx.Balances(match.AccountID(a), nil) {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"asset":`...)
				b = strconv.AppendQuote(b, bal.Asset)
				b = append(b, `,"asset_class":"currency","balance":`...)
				b = appendNumber(b, bal.Free+bal.Locked, bal.Exp)
				b = append(b, `,"wallets":[{"type":"spot","id":"main","balance":`...)
				b = appendNumber(b, bal.Free+bal.Locked, bal.Exp)
				b = append(b, `}]}`...)
			}
			b = append(b, `],"sequence":`...)
			b = strconv.AppendUint(b, ac.balSeq, 10)
			ac.c.SendBytes(append(b, '}'))
		})
	default:
		ac.c.SendBytes(appendAck(nil, "subscribe", req.ReqID, "", false, "Channel "+strconv.Quote(p.Channel)+" is not supported on the authenticated endpoint", timeIn, s.v.Now()))
	}
}

// pairIndex finds the pair of account a's open order id. Venue lock held.
func (e *orderEntry) pairIndex(tx *venue.Tx, a uint32, id uint64) int {
	_, pi, ok := e.lookup(tx, a, id, "")
	if !ok {
		return 0
	}
	return pi.p.Index
}

func (e *orderEntry) wsUnsubscribe(ac *authConn, req *wsRequest, timeIn time.Time) {
	s := e.s
	ch := req.Params.Channel
	ok := false
	s.v.Do(func(*venue.Tx) {
		switch ch {
		case "executions":
			ok, ac.execs = ac.execs, false
			e.execSubs[ac.acct] = removeConn(e.execSubs[ac.acct], ac)
		case "balances":
			ok, ac.bals = ac.bals, false
			e.balSubs[ac.acct] = removeConn(e.balSubs[ac.acct], ac)
		}
	})
	if !ok {
		ac.c.SendBytes(appendAck(nil, "unsubscribe", req.ReqID, "", false, "Subscription Not Found", timeIn, s.v.Now()))
		return
	}
	b := append([]byte(nil), `{"method":"unsubscribe","result":{"channel":`...)
	b = strconv.AppendQuote(b, ch)
	b = append(b, `},"success":true`...)
	ac.c.SendBytes(appendTail(b, req.ReqID, timeIn, s.v.Now()))
}

const tsLayout = "2006-01-02T15:04:05.000000Z"

// wsStatus is the v2 order_status of o.
func wsStatus(st match.Status) string {
	switch st {
	case match.StatusNew:
		return "new"
	case match.StatusPartiallyFilled:
		return "partially_filled"
	case match.StatusFilled:
		return "filled"
	case match.StatusCanceled, match.StatusExpiredInMatch, match.StatusRejected:
		return "canceled"
	case match.StatusExpired:
		return "expired"
	}
	return "pending_new"
}

// appendExecHead appends the fields every executions entry starts with.
func (e *orderEntry) appendExecHead(b []byte, o *match.Order, execType string, status string, at time.Time) []byte {
	b = append(b, `{"order_id":"`...)
	b = appendTxID(b, 'O', o.ID)
	b = append(b, `","exec_type":"`...)
	b = append(b, execType...)
	b = append(b, `","order_status":"`...)
	b = append(b, status...)
	b = append(b, `","timestamp":"`...)
	b = at.UTC().AppendFormat(b, tsLayout)
	b = append(b, '"')
	if o.ClientID != "" {
		b = append(b, `,"cl_ord_id":`...)
		b = strconv.AppendQuote(b, o.ClientID)
	}
	if u, ok := e.userrefs[o.ID]; ok {
		b = append(b, `,"order_userref":`...)
		b = strconv.AppendInt(b, int64(u), 10)
	}
	return b
}

// appendCum appends the cumulative fill fields.
func appendCum(b []byte, pi *pairInfo, o *match.Order) []byte {
	b = append(b, `,"cum_qty":`...)
	b = appendNumber(b, o.Filled, pi.p.Cfg.QtyExp)
	b = append(b, `,"cum_cost":`...)
	b = appendNumber(b, o.QuoteFilled, pi.quoteExp)
	b = append(b, `,"avg_price":`...)
	return appendNumber(b, avgPrice(pi, o), pi.p.Cfg.PriceExp)
}

// appendExecOrder appends a full order entry (pending_new, and the open
// orders of a snapshot).
func (e *orderEntry) appendExecOrder(b []byte, pi *pairInfo, o *match.Order, execType string, at time.Time) []byte {
	status := execType
	if execType != "pending_new" {
		status = wsStatus(o.Status)
	}
	b = e.appendExecHead(b, o, execType, status, at)
	b = append(b, `,"symbol":`...)
	b = strconv.AppendQuote(b, pi.ws)
	b = append(b, `,"side":"`...)
	if o.Side == market.Buy {
		b = append(b, "buy"...)
	} else {
		b = append(b, "sell"...)
	}
	b = append(b, `","order_type":"`...)
	if o.Type == match.Market {
		b = append(b, `market"`...)
	} else {
		b = append(b, `limit","limit_price":`...)
		b = appendNumber(b, o.Price, pi.p.Cfg.PriceExp)
	}
	if o.Qty > 0 || o.QuoteQty == 0 {
		b = append(b, `,"order_qty":`...)
		b = appendNumber(b, o.Qty, pi.p.Cfg.QtyExp)
	} else {
		b = append(b, `,"cash_order_qty":`...)
		b = appendNumber(b, o.QuoteQty, pi.quoteExp)
	}
	b = append(b, `,"time_in_force":"`...)
	b = append(b, o.TIF.String()...)
	b = append(b, `","post_only":`...)
	b = strconv.AppendBool(b, o.PostOnly)
	b = append(b, `,"fee_ccy_pref":"fciq"`...)
	b = appendCum(b, pi, o)
	return append(b, '}')
}

// Deliver implements venue.PrivateSink: it keeps the close reasons and
// balance totals, and streams executions and balances to the account's
// subscribed connections. Venue lock held.
func (e *orderEntry) Deliver(events []venue.Event) {
	// Fees and the last trade of this batch, per account: the balance
	// updates that follow the order events carry them.
	for i := range events {
		ev := &events[i]
		if ev.Kind != venue.EventOrder || !ev.HasFill {
			continue
		}
		a := uint32(ev.Account)
		fee, asset := ev.Fill.TakerFee, ev.Fill.TakerFeeAsset
		if ev.Maker {
			fee, asset = ev.Fill.MakerFee, ev.Fill.MakerFeeAsset
		}
		e.fees[acctAsset{a, asset}] += fee
		e.refs[a] = ev.Fill.TradeID
	}
	for i := range events {
		ev := &events[i]
		a := uint32(ev.Account)
		if ev.Kind == venue.EventBalance {
			e.deliverBalance(ev)
			continue
		}
		o := &ev.Order
		if (o.Status == match.StatusCanceled || o.Status == match.StatusExpiredInMatch) && e.reasons[o.ID] == "" {
			if o.Status == match.StatusExpiredInMatch {
				e.reasons[o.ID] = errSelfTrade
			} else {
				e.reasons[o.ID] = errUserRequested
			}
		}
		subs := e.execSubs[a]
		if len(subs) == 0 {
			continue
		}
		pi := e.pairs.list[ev.Pair.Index]
		e.ent = e.ent[:0]
		switch {
		case ev.HasFill:
			e.ent = e.appendTrade(e.ent, pi, ev)
			if o.Status == match.StatusFilled {
				e.sendExec(subs, e.ent)
				e.ent = e.appendExecHead(e.ent[:0], o, "filled", "filled", ev.Time)
				e.ent = append(appendCum(e.ent, pi, o), '}')
			}
		case o.Status == match.StatusNew && o.Filled == 0:
			e.ent = e.appendExecOrder(e.ent, pi, o, "pending_new", ev.Time)
			e.sendExec(subs, e.ent)
			e.ent = append(e.appendExecHead(e.ent[:0], o, "new", "new", ev.Time), '}')
		case o.Status == match.StatusFilled:
			e.ent = e.appendExecHead(e.ent, o, "filled", "filled", ev.Time)
			e.ent = append(appendCum(e.ent, pi, o), '}')
		case !o.Status.Open():
			st := wsStatus(o.Status)
			e.ent = e.appendExecHead(e.ent, o, st, st, ev.Time)
			e.ent = appendCum(e.ent, pi, o)
			e.ent = append(e.ent, `,"reason":`...)
			r := e.reasons[o.ID]
			if r == "" {
				r = "Order expired"
			}
			e.ent = strconv.AppendQuote(e.ent, r)
			if o.Status != match.StatusExpired {
				e.ent = append(e.ent, `,"cancel_reason":`...)
				e.ent = strconv.AppendQuote(e.ent, r)
			}
			e.ent = append(e.ent, '}')
		default:
			continue
		}
		e.sendExec(subs, e.ent)
	}
	clear(e.fees)
	clear(e.refs)
}

// sendExec sends one executions update holding entry to subs, each with its
// own sequence number. Venue lock held.
func (e *orderEntry) sendExec(subs []*authConn, entry []byte) {
	for _, ac := range subs {
		ac.execSeq++
		b := append(e.buf[:0], `{"channel":"executions","type":"update","data":[`...)
		b = append(b, entry...)
		b = append(b, `],"sequence":`...)
		b = strconv.AppendUint(b, ac.execSeq, 10)
		b = append(b, '}')
		ac.c.SendBytes(b)
		e.buf = b
	}
}

// appendTrade appends a trade entry.
func (e *orderEntry) appendTrade(b []byte, pi *pairInfo, ev *venue.Event) []byte {
	o, f := &ev.Order, &ev.Fill
	b = e.appendExecHead(b, o, "trade", wsStatus(o.Status), ev.Time)
	b = append(b, `,"exec_id":"`...)
	b = appendTxID(b, 'T', f.TradeID)
	b = append(b, `","trade_id":`...)
	b = strconv.AppendUint(b, f.TradeID, 10)
	b = append(b, `,"symbol":`...)
	b = strconv.AppendQuote(b, pi.ws)
	b = append(b, `,"side":"`...)
	if o.Side == market.Buy {
		b = append(b, "buy"...)
	} else {
		b = append(b, "sell"...)
	}
	b = append(b, `","order_type":"`...)
	if o.Type == match.Market {
		b = append(b, "market"...)
	} else {
		b = append(b, "limit"...)
	}
	b = append(b, `","last_qty":`...)
	b = appendNumber(b, f.Qty, pi.p.Cfg.QtyExp)
	b = append(b, `,"last_price":`...)
	b = appendNumber(b, f.Price, pi.p.Cfg.PriceExp)
	b = append(b, `,"liquidity_ind":"`...)
	fee, asset := f.TakerFee, f.TakerFeeAsset
	if ev.Maker {
		b = append(b, 'm')
		fee, asset = f.MakerFee, f.MakerFeeAsset
	} else {
		b = append(b, 't')
	}
	b = append(b, `","cost":`...)
	b = appendNumber(b, f.Quote, pi.quoteExp)
	b = append(b, `,"fees":[{"asset":`...)
	name := pi.quote
	exp := pi.quoteExp
	if asset == pi.p.Base {
		name, exp = pi.base, pi.baseExp
	}
	b = strconv.AppendQuote(b, name)
	b = append(b, `,"qty":`...)
	b = appendNumber(b, fee, exp)
	b = append(b, `}]`...)
	b = appendCum(b, pi, o)
	return append(b, '}')
}

// deliverBalance streams a change of an account's total of an asset as a
// balances update (the ledger entry Kraken would write); changes of the
// amount on hold alone are not ledger entries and are not sent.
func (e *orderEntry) deliverBalance(ev *venue.Event) {
	a := uint32(ev.Account)
	k := acctAsset{a, ev.Asset}
	total := ev.Free + ev.Locked
	last := e.totals[k]
	e.totals[k] = total
	subs := e.balSubs[a]
	if total == last || len(subs) == 0 {
		return
	}
	as := e.s.v.Ledger().Assets()[ev.Asset]
	exp := -int(as.Exp)
	fee := e.fees[k]
	kind := "deposit"
	ref, traded := e.refs[a]
	if traded {
		kind = "trade"
	}
	e.ledgerSeq++
	e.ent = append(e.ent[:0], `{"ledger_id":"`...)
	e.ent = appendTxID(e.ent, 'L', e.ledgerSeq)
	e.ent = append(e.ent, `","ref_id":"`...)
	if traded {
		e.ent = appendTxID(e.ent, 'T', ref)
	}
	e.ent = append(e.ent, `","timestamp":"`...)
	e.ent = ev.Time.UTC().AppendFormat(e.ent, tsLayout)
	e.ent = append(e.ent, `","type":"`...)
	e.ent = append(e.ent, kind...)
	e.ent = append(e.ent, `","asset":`...)
	e.ent = strconv.AppendQuote(e.ent, as.Name)
	e.ent = append(e.ent, `,"asset_class":"currency","category":"`...)
	e.ent = append(e.ent, kind...)
	e.ent = append(e.ent, `","wallet_type":"spot","wallet_id":"main","amount":`...)
	e.ent = appendNumber(e.ent, total-last+fee, exp)
	e.ent = append(e.ent, `,"fee":`...)
	e.ent = appendNumber(e.ent, fee, exp)
	e.ent = append(e.ent, `,"balance":`...)
	e.ent = appendNumber(e.ent, total, exp)
	e.ent = append(e.ent, '}')
	for _, ac := range subs {
		ac.balSeq++
		b := append(e.buf[:0], `{"channel":"balances","type":"update","data":[`...)
		b = append(b, e.ent...)
		b = append(b, `],"sequence":`...)
		b = strconv.AppendUint(b, ac.balSeq, 10)
		b = append(b, '}')
		ac.c.SendBytes(b)
		e.buf = b
	}
}
