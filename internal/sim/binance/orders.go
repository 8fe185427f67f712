package binance

import (
	"errors"
	"strconv"

	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

// Order entry shared by REST (routed from private) and the WebSocket API:
// each op parses Binance's parameters, runs one venue operation and
// appends Binance's response object.

// respType is newOrderRespType.
type respType uint8

const (
	respACK respType = iota
	respResult
	respFull
)

// newOrder is a parsed order placement.
type newOrder struct {
	p    *venue.Pair
	req  match.Request
	resp respType
}

// parseDecimal parses a price or quantity parameter at dec places.
func parseDecimal(name string, b []byte, dec int) (int64, *apiError) {
	dots := 0
	for _, c := range b {
		if c == '.' {
			dots++
		} else if c < '0' || c > '9' {
			return 0, errIllegal(name, legalDecimal)
		}
	}
	if dots > 1 {
		return 0, errIllegal(name, legalDecimal)
	}
	v, err := market.ParseFixed(b, dec)
	switch {
	case errors.Is(err, market.ErrPrecision):
		return 0, errPrecision(name)
	case err != nil || v < 0:
		return 0, errIllegal(name, legalDecimal)
	}
	return v, nil
}

// parseSymbol resolves the mandatory symbol parameter.
func (s *Server) parseSymbol(p *params) (*venue.Pair, *apiError) {
	sym := p.get("symbol")
	if sym == nil {
		return nil, errMandatory("symbol")
	}
	pair, ok := s.v.PairBytes(sym)
	if !ok {
		return nil, errInvalidSymbol
	}
	return pair, nil
}

// clientIDOK reports whether id matches ^[\.A-Z\:/a-z0-9_-]{1,36}$.
func clientIDOK(id []byte) bool {
	if len(id) == 0 || len(id) > 36 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == ':' || c == '/' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parseClientID reads an optional client order id parameter, generating
// one as Binance does when it is absent.
func (s *Server) parseClientID(p *params, name string) (string, *apiError) {
	b := p.get(name)
	if b == nil {
		var buf [22]byte
		return string(s.priv.genID(buf[:0], 22)), nil
	}
	if !clientIDOK(b) {
		return "", errIllegal(name, legalClientID)
	}
	return string(b), nil
}

// parseOrder reads a new order's parameters as POST /api/v3/order and
// order.place take them.
func (s *Server) parseOrder(p *params, key *auth.Key) (newOrder, *apiError) {
	var no newOrder
	pair, e := s.parseSymbol(p)
	if e != nil {
		return no, e
	}
	no.p = pair
	pc := &pair.Cfg
	r := &no.req
	r.Account = match.AccountID(key.Account)
	switch string(p.get("side")) {
	case "BUY":
		r.Side = market.Buy
	case "SELL":
		r.Side = market.Sell
	case "":
		return no, errMandatory("side")
	default:
		return no, errSide
	}
	typ := string(p.get("type"))
	switch typ {
	case "LIMIT":
		r.Type = match.Limit
	case "MARKET":
		r.Type = match.Market
	case "LIMIT_MAKER":
		r.Type, r.PostOnly = match.Limit, true
	case "":
		return no, errMandatory("type")
	case "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT":
		return no, errUnsupported
	default:
		return no, errOrderType
	}
	tif := p.get("timeInForce")
	if typ == "LIMIT" {
		switch string(tif) {
		case "GTC":
			r.TIF = match.GTC
		case "IOC":
			r.TIF = match.IOC
		case "FOK":
			r.TIF = match.FOK
		case "":
			return no, errMandatory("timeInForce")
		default:
			return no, errTIF
		}
	} else if tif != nil {
		return no, errNotRequired("timeInForce")
	}
	qty, quote := p.get("quantity"), p.get("quoteOrderQty")
	if r.Type == match.Market {
		switch {
		case qty == nil && quote == nil:
			return no, errNeedQty
		case qty != nil && quote != nil:
			return no, errNotRequired("quoteOrderQty")
		}
		if p.get("price") != nil {
			return no, errNotRequired("price")
		}
	} else {
		if quote != nil {
			return no, errNotRequired("quoteOrderQty")
		}
		if qty == nil {
			return no, errMandatory("quantity")
		}
		pr := p.get("price")
		if pr == nil {
			return no, errMandatory("price")
		}
		if r.Price, e = parseDecimal("price", pr, pc.PriceExp); e != nil {
			return no, e
		}
		if r.Price == 0 {
			return no, errInvalidPrice
		}
	}
	if qty != nil {
		if r.Qty, e = parseDecimal("quantity", qty, pc.QtyExp); e != nil {
			return no, e
		}
		if r.Qty == 0 {
			return no, errInvalidQty
		}
	} else {
		if r.QuoteQty, e = parseDecimal("quoteOrderQty", quote, s.priv.assets[pair.Quote].dec); e != nil {
			return no, e
		}
		if r.QuoteQty == 0 {
			return no, errInvalidQty
		}
	}
	if r.ClientID, e = s.parseClientID(p, "newClientOrderId"); e != nil {
		return no, e
	}
	no.resp = respFull
	switch string(p.get("newOrderRespType")) {
	case "", "FULL":
	case "ACK":
		no.resp = respACK
	case "RESULT":
		no.resp = respResult
	default:
		return no, errIllegal("newOrderRespType", "ACK, RESULT, FULL")
	}
	switch string(p.get("selfTradePreventionMode")) {
	case "":
	case "NONE":
		r.STP = match.STPNone
	case "EXPIRE_TAKER":
		r.STP = match.STPExpireTaker
	case "EXPIRE_MAKER":
		r.STP = match.STPExpireMaker
	case "EXPIRE_BOTH":
		r.STP = match.STPExpireBoth
	default:
		return no, errIllegal("selfTradePreventionMode", "NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH")
	}
	return no, nil
}

// filters applies the symbol's PRICE_FILTER, LOT_SIZE and NOTIONAL
// filters without the book (order/test; the book applies them itself).
func filters(pc *venue.PairConfig, r *match.Request) *apiError {
	tick, step := max(pc.Tick, 1), max(pc.Step, 1)
	if r.Type == match.Limit && r.Price%tick != 0 {
		return errPriceFilter
	}
	if r.Qty > 0 && (r.Qty%step != 0 || r.Qty < pc.MinQty) {
		return errLotSize
	}
	if r.Type == match.Limit && pc.MinNotional > 0 {
		hi, lo := mul64(r.Price, r.Qty)
		if hi == 0 && lo < uint64(pc.MinNotional) {
			return errNotional
		}
	}
	return nil
}

func mul64(a, b int64) (uint64, uint64) {
	ua, ub := uint64(a), uint64(b)
	lo := ua * ub
	if ua != 0 && lo/ua != ub {
		return 1, lo
	}
	return 0, lo
}

// submit places no on the venue and returns the order after matching with
// its taker fills.
func (s *Server) submit(no *newOrder) (match.Order, []match.Fill, *apiError) {
	capt := &fillCapture{}
	var o match.Order
	var err error
	s.v.Do(func(tx *venue.Tx) {
		o, err = tx.Submit(no.p, no.req)
		if err == nil {
			capt.id = o.ID
			s.priv.capture = capt
		}
	})
	if err != nil {
		return o, nil, matchError(err)
	}
	return o, capt.fills, nil
}

// opPlace is POST /api/v3/order and order.place, with the Reject and
// LostAck faults.
func (s *Server) opPlace(b []byte, key *auth.Key, p *params) ([]byte, *apiError, bool) {
	no, e := s.parseOrder(p, key)
	if e != nil {
		return b, e, false
	}
	f := &s.cfg.Orders
	if f.Reject > 0 && s.priv.draws.Next() < f.Reject {
		return b, errServerBusy, false
	}
	lost := f.LostAck > 0 && s.priv.draws.Next() < f.LostAck
	o, fills, e := s.submit(&no)
	if e != nil {
		return b, e, false
	}
	if lost {
		return b, nil, true
	}
	return s.appendPlaced(b, no.p, &o, no.resp, fills), nil, false
}

// opTest is POST /api/v3/order/test: validated, never placed.
func (s *Server) opTest(b []byte, key *auth.Key, p *params) ([]byte, *apiError, bool) {
	no, e := s.parseOrder(p, key)
	if e != nil {
		return b, e, false
	}
	if e := filters(&no.p.Cfg, &no.req); e != nil {
		return b, e, false
	}
	return append(b, "{}"...), nil, false
}

// orderRef reads orderId / origClientOrderId (names given).
func orderRef(p *params, idName, cidName string) (uint64, string, *apiError) {
	var id uint64
	if b := p.get(idName); b != nil {
		v, err := strconv.ParseUint(string(b), 10, 64)
		if err != nil {
			return 0, "", errIllegal(idName, legalInteger)
		}
		id = v
	}
	cid := string(p.get(cidName))
	if id == 0 && cid == "" {
		return 0, "", newErr(400, -1102, "Param '"+cidName+"' or '"+idName+"' must be sent, but both were empty/null!")
	}
	return id, cid, nil
}

// cancelIn cancels account a's order (id, or cid when id is 0; both must
// agree when both are given) inside a venue operation, recording the
// cancel's client id for the execution report.
func (s *Server) cancelIn(tx *venue.Tx, pair *venue.Pair, a match.AccountID, id uint64, cid, newCID string) (match.Order, error) {
	o, ok := tx.Lookup(pair, a, id, cid)
	if !ok || !o.Status.Open() || (id != 0 && cid != "" && o.ClientID != cid) {
		return match.Order{}, match.ErrUnknownOrder
	}
	s.priv.cancelCID[o.ID] = newCID
	return tx.Cancel(pair, a, o.ID, "")
}

// opCancel is DELETE /api/v3/order and order.cancel.
func (s *Server) opCancel(b []byte, key *auth.Key, p *params) ([]byte, *apiError, bool) {
	pair, e := s.parseSymbol(p)
	if e != nil {
		return b, e, false
	}
	id, cid, e := orderRef(p, "orderId", "origClientOrderId")
	if e != nil {
		return b, e, false
	}
	newCID, e := s.parseClientID(p, "newClientOrderId")
	if e != nil {
		return b, e, false
	}
	var o match.Order
	var err error
	s.v.Do(func(tx *venue.Tx) {
		o, err = s.cancelIn(tx, pair, match.AccountID(key.Account), id, cid, newCID)
	})
	if err != nil {
		return b, errCancelUnknown, false
	}
	return s.appendCanceled(b, pair, &o, newCID), nil, false
}

// opQuery is GET /api/v3/order and order.status.
func (s *Server) opQuery(b []byte, key *auth.Key, p *params) ([]byte, *apiError, bool) {
	pair, e := s.parseSymbol(p)
	if e != nil {
		return b, e, false
	}
	id, cid, e := orderRef(p, "orderId", "origClientOrderId")
	if e != nil {
		return b, e, false
	}
	var o match.Order
	var ok bool
	s.v.Do(func(tx *venue.Tx) {
		o, ok = tx.Lookup(pair, match.AccountID(key.Account), id, cid)
	})
	if !ok || (id != 0 && cid != "" && o.ClientID != cid) {
		return b, errNoSuchOrder, false
	}
	return s.appendQueried(b, pair, &o), nil, false
}

// opOpenOrders is GET /api/v3/openOrders and openOrders.status.
func (s *Server) opOpenOrders(b []byte, key *auth.Key, p *params) ([]byte, *apiError, bool) {
	var only *venue.Pair
	if p.get("symbol") != nil {
		var e *apiError
		if only, e = s.parseSymbol(p); e != nil {
			return b, e, false
		}
	}
	type pairOrders struct {
		p  *venue.Pair
		os []match.Order
	}
	var all []pairOrders
	s.v.Do(func(tx *venue.Tx) {
		for _, q := range s.v.Pairs() {
			if only != nil && q != only {
				continue
			}
			if os := tx.Open(q, match.AccountID(key.Account), nil); len(os) > 0 {
				all = append(all, pairOrders{q, os})
			}
		}
	})
	b = append(b, '[')
	n := 0
	for _, po := range all {
		for i := range po.os {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = s.appendQueried(b, po.p, &po.os[i])
		}
	}
	return append(b, ']'), nil, false
}

// opCancelAll is DELETE /api/v3/openOrders and openOrders.cancelAll.
func (s *Server) opCancelAll(b []byte, key *auth.Key, p *params) ([]byte, *apiError, bool) {
	pair, e := s.parseSymbol(p)
	if e != nil {
		return b, e, false
	}
	a := match.AccountID(key.Account)
	var os []match.Order
	var cids []string
	s.v.Do(func(tx *venue.Tx) {
		open := tx.Open(pair, a, nil)
		for i := range open {
			var buf [22]byte
			cid := string(s.priv.genID(buf[:0], 22))
			cids = append(cids, cid)
			s.priv.cancelCID[open[i].ID] = cid
		}
		os = tx.CancelAll(pair, a, nil)
	})
	if len(os) == 0 {
		return b, errCancelUnknown, false
	}
	b = append(b, '[')
	for i := range os {
		if i > 0 {
			b = append(b, ',')
		}
		cid := ""
		if i < len(cids) {
			cid = cids[i]
		}
		b = s.appendCanceled(b, pair, &os[i], cid)
	}
	return append(b, ']'), nil, false
}

// opCancelReplace is POST /api/v3/order/cancelReplace and
// order.cancelReplace: the cancel and the new order in one venue
// operation.
func (s *Server) opCancelReplace(b []byte, key *auth.Key, p *params) ([]byte, *apiError, bool) {
	var allow bool
	switch string(p.get("cancelReplaceMode")) {
	case "STOP_ON_FAILURE":
	case "ALLOW_FAILURE":
		allow = true
	case "":
		return b, errMandatory("cancelReplaceMode"), false
	default:
		return b, errIllegal("cancelReplaceMode", "STOP_ON_FAILURE, ALLOW_FAILURE"), false
	}
	no, e := s.parseOrder(p, key)
	if e != nil {
		return b, e, false
	}
	id, cid, e := orderRef(p, "cancelOrderId", "cancelOrigClientOrderId")
	if e != nil {
		return b, e, false
	}
	newCID, e := s.parseClientID(p, "cancelNewClientOrderId")
	if e != nil {
		return b, e, false
	}
	a := match.AccountID(key.Account)
	capt := &fillCapture{}
	var canceled, placed match.Order
	var cerr, perr error
	tried := false
	s.v.Do(func(tx *venue.Tx) {
		canceled, cerr = s.cancelIn(tx, no.p, a, id, cid, newCID)
		if cerr != nil && !allow {
			return
		}
		tried = true
		placed, perr = tx.Submit(no.p, no.req)
		if perr == nil {
			capt.id = placed.ID
			s.priv.capture = capt
		}
	})
	var cres, nres []byte
	if cerr == nil {
		cres = s.appendCanceled(nil, no.p, &canceled, newCID)
	} else {
		cres = appendErrorBody(nil, errCancelUnknown)
	}
	if perr == nil && tried {
		nres = s.appendPlaced(nil, no.p, &placed, no.resp, capt.fills)
	} else if tried {
		nres = appendErrorBody(nil, matchError(perr))
	}
	result := func(c, n string) []byte {
		d := append([]byte(`{"cancelResult":"`), c...)
		d = append(d, `","newOrderResult":"`...)
		d = append(d, n...)
		d = append(d, `","cancelResponse":`...)
		d = append(d, cres...)
		d = append(d, `,"newOrderResponse":`...)
		if nres == nil {
			d = append(d, "null"...)
		} else {
			d = append(d, nres...)
		}
		return append(d, '}')
	}
	switch {
	case cerr == nil && perr == nil:
		return append(b, result("SUCCESS", "SUCCESS")...), nil, false
	case cerr != nil && !tried:
		err := *errCancelReplace
		err.data = result("FAILURE", "NOT_ATTEMPTED")
		return b, &err, false
	case cerr != nil && perr != nil:
		err := *errCancelReplace
		err.data = result("FAILURE", "FAILURE")
		return b, &err, false
	default: // one half failed
		err := *errReplacePart
		if cerr != nil {
			err.data = result("FAILURE", "SUCCESS")
		} else {
			err.data = result("SUCCESS", "FAILURE")
		}
		return b, &err, false
	}
}

// opAccount is GET /api/v3/account and account.status.
func (s *Server) opAccount(b []byte, key *auth.Key, p *params) ([]byte, *apiError, bool) {
	omitZero := string(p.get("omitZeroBalances")) == "true"
	var bals []venue.Balance
	var now int64
	s.v.Do(func(tx *venue.Tx) {
		bals = tx.Balances(match.AccountID(key.Account), nil)
		now = tx.Now().UnixMilli()
	})
	pc := &s.v.Pairs()[0].Cfg
	b = append(b, `{"makerCommission":`...)
	b = strconv.AppendInt(b, pc.MakerFeeBps, 10)
	b = append(b, `,"takerCommission":`...)
	b = strconv.AppendInt(b, pc.TakerFeeBps, 10)
	b = append(b, `,"buyerCommission":0,"sellerCommission":0,"commissionRates":{"maker":"`...)
	b = market.AppendFixed(b, pc.MakerFeeBps, 4)
	b = append(b, `","taker":"`...)
	b = market.AppendFixed(b, pc.TakerFeeBps, 4)
	b = append(b, `","buyer":"0.0000","seller":"0.0000"},"canTrade":`...)
	b = strconv.AppendBool(b, key.Can(auth.PermTrade))
	b = append(b, `,"canWithdraw":`...)
	b = strconv.AppendBool(b, key.Can(auth.PermWithdraw))
	b = append(b, `,"canDeposit":true,"brokered":false,"requireSelfTradePrevention":false,"preventSor":false,"updateTime":`...)
	b = strconv.AppendInt(b, now, 10)
	b = append(b, `,"accountType":"SPOT","balances":[`...)
	n := 0
	for _, bl := range bals {
		if omitZero && bl.Free == 0 && bl.Locked == 0 {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"asset":"`...)
		b = append(b, bl.Asset...)
		b = append(b, `","free":"`...)
		b = market.AppendFixed(b, bl.Free, bl.Exp)
		b = append(b, `","locked":"`...)
		b = market.AppendFixed(b, bl.Locked, bl.Exp)
		b = append(b, `"}`...)
	}
	b = append(b, `],"permissions":["SPOT"],"uid":`...)
	b = strconv.AppendUint(b, uint64(key.Account), 10)
	return append(b, '}'), nil, false
}

// opRestrictions is GET /sapi/v1/account/apiRestrictions.
func (s *Server) opRestrictions(b []byte, key *auth.Key, p *params) ([]byte, *apiError, bool) {
	b = append(b, `{"ipRestrict":false,"createTime":`...)
	b = strconv.AppendInt(b, s.priv.start.UnixMilli(), 10)
	b = append(b, `,"enableReading":`...)
	b = strconv.AppendBool(b, key.Can(auth.PermRead))
	b = append(b, `,"enableWithdrawals":`...)
	b = strconv.AppendBool(b, key.Can(auth.PermWithdraw))
	b = append(b, `,"enableInternalTransfer":false,"enableMargin":false,"enableFutures":false,"permitsUniversalTransfer":false,"enableVanillaOptions":false,"enableFixApiTrade":false,"enableFixReadOnly":false,"enableSpotAndMarginTrading":`...)
	b = strconv.AppendBool(b, key.Can(auth.PermTrade))
	return append(b, `,"enablePortfolioMarginTrading":false}`...), nil, false
}

// Encoders.

func appendKV(b []byte, name, val string) []byte {
	b = append(b, ",\""...)
	b = append(b, name...)
	b = append(b, "\":\""...)
	b = append(b, val...)
	return append(b, '"')
}

// orderTypeName is Binance's type of o.
func orderTypeName(o *match.Order) string {
	switch {
	case o.Type == match.Market:
		return "MARKET"
	case o.PostOnly:
		return "LIMIT_MAKER"
	}
	return "LIMIT"
}

// stpName is o's selfTradePreventionMode as Binance reports it.
func (s *Server) stpName(p *venue.Pair, o *match.Order) string {
	if o.STP == match.STPDefault {
		return s.priv.stp[p.Index]
	}
	return o.STP.String()
}

func sideName(sd market.Side) string {
	if sd == market.Buy {
		return "BUY"
	}
	return "SELL"
}

// appendHead appends {"symbol":..,"orderId":..,"orderListId":-1,"clientOrderId":..
// (origClientOrderId before orderId for a cancel).
func appendHead(b []byte, p *venue.Pair, o *match.Order, origCID string, cancel bool) []byte {
	b = append(b, `{"symbol":"`...)
	b = append(b, p.Cfg.Symbol...)
	b = append(b, '"')
	if cancel {
		b = append(b, `,"origClientOrderId":`...)
		b = strconv.AppendQuote(b, origCID)
	}
	b = append(b, `,"orderId":`...)
	b = strconv.AppendUint(b, o.ID, 10)
	b = append(b, `,"orderListId":-1,"clientOrderId":`...)
	if cancel {
		return b
	}
	return strconv.AppendQuote(b, o.ClientID)
}

// appendCore appends price, quantities, status, timeInForce, type, side.
func (s *Server) appendCore(b []byte, p *venue.Pair, o *match.Order, query bool) []byte {
	pc := &p.Cfg
	qd := s.priv.assets[p.Quote].dec
	b = append(b, `,"price":"`...)
	b = market.AppendFixed(b, o.Price, pc.PriceExp)
	b = append(b, `","origQty":"`...)
	b = market.AppendFixed(b, o.Qty, pc.QtyExp)
	b = append(b, `","executedQty":"`...)
	b = market.AppendFixed(b, o.Filled, pc.QtyExp)
	if !query {
		b = append(b, `","origQuoteOrderQty":"`...)
		b = market.AppendFixed(b, o.QuoteQty, qd)
	}
	b = append(b, `","cummulativeQuoteQty":"`...)
	b = market.AppendFixed(b, o.QuoteFilled, qd)
	b = append(b, '"')
	b = appendKV(b, "status", o.Status.String())
	b = appendKV(b, "timeInForce", o.TIF.String())
	b = appendKV(b, "type", orderTypeName(o))
	return appendKV(b, "side", sideName(o.Side))
}

func nsToMs(ns int64) int64 { return ns / 1e6 }

// appendPlaced appends a new order's response in the requested type.
func (s *Server) appendPlaced(b []byte, p *venue.Pair, o *match.Order, rt respType, fills []match.Fill) []byte {
	b = appendHead(b, p, o, "", false)
	b = append(b, `,"transactTime":`...)
	b = strconv.AppendInt(b, nsToMs(o.Created), 10)
	if rt == respACK {
		return append(b, '}')
	}
	b = s.appendCore(b, p, o, false)
	b = append(b, `,"workingTime":`...)
	b = strconv.AppendInt(b, nsToMs(o.Created), 10)
	b = appendKV(b, "selfTradePreventionMode", s.stpName(p, o))
	if rt == respFull {
		b = append(b, `,"fills":[`...)
		for i := range fills {
			f := &fills[i]
			if i > 0 {
				b = append(b, ',')
			}
			a := s.priv.assets[f.TakerFeeAsset]
			b = append(b, `{"price":"`...)
			b = market.AppendFixed(b, f.Price, p.Cfg.PriceExp)
			b = append(b, `","qty":"`...)
			b = market.AppendFixed(b, f.Qty, p.Cfg.QtyExp)
			b = append(b, `","commission":"`...)
			b = market.AppendFixed(b, f.TakerFee, a.dec)
			b = append(b, `","commissionAsset":"`...)
			b = append(b, a.name...)
			b = append(b, `","tradeId":`...)
			b = strconv.AppendUint(b, f.TradeID, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendCanceled appends a cancel response; newCID is the cancel's own
// client order id.
func (s *Server) appendCanceled(b []byte, p *venue.Pair, o *match.Order, newCID string) []byte {
	b = appendHead(b, p, o, o.ClientID, true)
	b = strconv.AppendQuote(b, newCID)
	b = append(b, `,"transactTime":`...)
	b = strconv.AppendInt(b, nsToMs(o.Updated), 10)
	b = s.appendCore(b, p, o, false)
	b = appendKV(b, "selfTradePreventionMode", s.stpName(p, o))
	return append(b, '}')
}

// appendQueried appends an order as GET /api/v3/order shows it.
func (s *Server) appendQueried(b []byte, p *venue.Pair, o *match.Order) []byte {
	b = appendHead(b, p, o, "", false)
	b = s.appendCore(b, p, o, true)
	b = append(b, `,"stopPrice":"`...)
	b = market.AppendFixed(b, 0, p.Cfg.PriceExp)
	b = append(b, `","icebergQty":"`...)
	b = market.AppendFixed(b, 0, p.Cfg.QtyExp)
	b = append(b, `","time":`...)
	b = strconv.AppendInt(b, nsToMs(o.Created), 10)
	b = append(b, `,"updateTime":`...)
	b = strconv.AppendInt(b, nsToMs(o.Updated), 10)
	b = append(b, `,"isWorking":`...)
	b = strconv.AppendBool(b, o.Type == match.Limit && o.TIF == match.GTC)
	b = append(b, `,"workingTime":`...)
	b = strconv.AppendInt(b, nsToMs(o.Created), 10)
	b = append(b, `,"origQuoteOrderQty":"`...)
	b = market.AppendFixed(b, o.QuoteQty, s.priv.assets[p.Quote].dec)
	b = append(b, '"')
	b = appendKV(b, "selfTradePreventionMode", s.stpName(p, o))
	return append(b, '}')
}
