package binance

import (
	"errors"

	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// Decoding: executionReport events (user data), the order objects of
// order.place / order.cancel / order.status / openOrders.cancelAll /
// order.cancelReplace responses (REST bodies are the same objects), error
// objects, and the WebSocket API's response envelope, with jscan and no
// allocation in steady state.
//
// Lifetimes: a decoded Report's FeeAsset and Reason are interned in the
// decoder (a bounded table of asset names and error texts, filled on
// first sight; past maxIntern entries a new text is copied, which
// allocates on that cold path). Interned strings stay valid for the
// decoder's life, longer than the Report contract's "until the next
// report of the session".

// Decode errors, counted by the session (never built per frame).
var (
	errNotObject     = errors.New("binance: frame is not a JSON object")
	errUnknownSymbol = errors.New("binance: report for a symbol not configured")
	errBadField      = errors.New("binance: report field malformed or missing")
)

// maxIntern bounds the interned asset names and error texts.
const maxIntern = 512

// maxFills bounds the fills kept from one FULL response.
const maxFills = 32

// Fields captured while scanning an object, as text copied out of the
// frame (jscan's unescaped strings share one scratch buffer, so a value
// kept past the next string must be copied).
const (
	fSymbol   = iota
	fCID      // c / clientOrderId
	fOrigCID  // C / origClientOrderId
	fSide     // S / side
	fExec     // x
	fStatus   // X / status
	fLastQty  // l
	fCumQty   // z / executedQty
	fLastPx   // L
	fFee      // n
	fFeeAsset // N
	fPrice    // p / price
	fReason   // r / msg
	fEvent    // e
	numFields
)

// fill is one fill of a FULL response, as text.
type fill struct {
	price, qty, fee, asset []byte
	tradeID                int64
}

// decoder turns frames into Reports. Owned by one goroutine (the session's
// reader, or the REST caller's).
type decoder struct {
	sc     jscan.Scanner
	sub    jscan.Scanner // nested values decoded from a captured raw slice
	venue  market.Venue
	insts  map[string]*market.Instrument
	intern map[string]string

	f      [numFields][]byte
	has    [numFields]bool
	ints   struct{ orderID, tradeID, eventTime, txTime, code int64 }
	maker  bool
	fills  [maxFills]fill
	nfills int
	data   []byte // an error object's "data", borrowed from the frame

	r market.Report // the report being built
}

func newDecoder(v market.Venue, insts []*market.Instrument) *decoder {
	d := &decoder{venue: v, insts: make(map[string]*market.Instrument, len(insts)), intern: make(map[string]string)}
	for _, in := range insts {
		d.insts[in.Symbol] = in
	}
	for i := range d.f {
		d.f[i] = make([]byte, 0, 64)
	}
	return d
}

// internString returns b as a string kept by the decoder.
func (d *decoder) internString(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.intern) < maxIntern {
		d.intern[s] = s
	}
	return s
}

func (d *decoder) clear() {
	d.has = [numFields]bool{}
	for i := range d.f {
		d.f[i] = d.f[i][:0] // a field absent from this object reads empty, not the last object's
	}
	d.ints.orderID, d.ints.tradeID, d.ints.eventTime, d.ints.txTime, d.ints.code = 0, -1, 0, 0, 0
	d.maker = false
	d.nfills = 0
	d.data = nil
}

// str copies the string value at the cursor into field i.
func (d *decoder) str(s *jscan.Scanner, i int) {
	d.f[i], _ = s.AppendString(d.f[i][:0])
	d.has[i] = true
}

// num copies a number, quoted or bare, as text into field i.
func (d *decoder) num(s *jscan.Scanner, i int) {
	if s.Peek() == '"' {
		d.str(s, i)
		return
	}
	raw, ok := s.Raw()
	if ok && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		d.f[i] = append(d.f[i][:0], raw...)
		d.has[i] = true
		return
	}
	s.Fail(jscan.ErrType)
}

// nullOr reports whether a null was consumed.
func nullOr(s *jscan.Scanner) bool { return s.Peek() == 'n' && s.Null() }

func parseStatus(b []byte) market.OrderStatus {
	switch string(b) {
	case "NEW":
		return market.New
	case "PARTIALLY_FILLED":
		return market.PartiallyFilled
	case "FILLED":
		return market.Filled
	case "CANCELED":
		return market.Canceled
	case "PENDING_CANCEL":
		return market.PendingCancel
	case "REJECTED":
		return market.Rejected
	case "EXPIRED", "EXPIRED_IN_MATCH":
		return market.Expired
	case "PENDING_NEW":
		return market.PendingNew
	}
	return market.Unknown
}

// event decodes a user-data event (bare, as on a listenKey stream). It
// reports exec true when it was an executionReport, decoded into d.r; other
// events (outboundAccountPosition, balanceUpdate, ...) are validated and
// ignored.
func (d *decoder) event(b []byte, recv int64) (exec bool, err error) {
	d.sc.Reset(b)
	exec, err = d.eventAt(&d.sc, recv)
	if err == nil && !d.sc.End() {
		err = d.sc.Err()
	}
	return exec, err
}

func (d *decoder) eventAt(s *jscan.Scanner, recv int64) (bool, error) {
	d.clear()
	if s.Peek() != '{' {
		s.Fail(jscan.ErrType)
		return false, errNotObject
	}
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		if len(k) != 1 {
			s.Skip()
			continue
		}
		switch k[0] {
		case 'e':
			d.str(s, fEvent)
		case 'E':
			d.ints.eventTime, _ = s.Int()
		case 's':
			d.str(s, fSymbol)
		case 'c':
			d.str(s, fCID)
		case 'C':
			if !nullOr(s) {
				d.str(s, fOrigCID)
			}
		case 'S':
			d.str(s, fSide)
		case 'x':
			d.str(s, fExec)
		case 'X':
			d.str(s, fStatus)
		case 'i':
			d.ints.orderID, _ = s.Int()
		case 'l':
			d.num(s, fLastQty)
		case 'z':
			d.num(s, fCumQty)
		case 'L':
			d.num(s, fLastPx)
		case 'n':
			d.num(s, fFee)
		case 'N':
			if !nullOr(s) {
				d.str(s, fFeeAsset)
			}
		case 't':
			d.ints.tradeID, _ = s.Int()
		case 'T':
			d.ints.txTime, _ = s.Int()
		case 'm':
			d.maker, _ = s.Bool()
		case 'r':
			d.str(s, fReason)
		default:
			s.Skip()
		}
	}
	if s.Failed() {
		return false, s.Err()
	}
	if string(d.f[fEvent]) != "executionReport" || !d.has[fEvent] {
		return false, nil
	}
	return true, d.buildExec(recv)
}

// buildExec fills d.r from an executionReport's captured fields.
func (d *decoder) buildExec(recv int64) error {
	r := &d.r
	*r = market.Report{Venue: d.venue, RecvTime: recv, VenueTime: d.ints.eventTime * 1e6}
	inst := d.insts[string(d.f[fSymbol])]
	if inst == nil {
		return errUnknownSymbol
	}
	r.Inst = inst
	if !d.has[fSide] || !d.has[fExec] || !d.has[fStatus] || !d.has[fCID] {
		return errBadField
	}
	var ok bool
	if r.Side, ok = parseSide(d.f[fSide]); !ok {
		return errBadField
	}
	r.Status = parseStatus(d.f[fStatus])
	r.OrderID.N = uint64(d.ints.orderID)
	cid := d.f[fCID]
	x := string(d.f[fExec])
	if x == "CANCELED" && d.has[fOrigCID] && len(d.f[fOrigCID]) > 0 {
		cid = d.f[fOrigCID] // c is the cancel request's own id
	}
	r.ClientID, _ = market.ParseClientID(cid)
	if d.has[fCumQty] {
		q, err := market.ParseQty(d.f[fCumQty], inst.QtyExp)
		if err != nil {
			return errBadField
		}
		r.CumQty = q
	}
	switch x {
	case "NEW":
		r.Kind = market.ReportAck
	case "TRADE":
		r.Kind = market.ReportFill
		if err := d.buildFill(r, inst, d.f[fLastPx], d.f[fLastQty], d.f[fFee], d.has[fFee]); err != nil {
			return err
		}
		r.TradeID = uint64(d.ints.tradeID)
		if d.has[fFeeAsset] {
			r.FeeAsset = d.internString(d.f[fFeeAsset])
		}
		r.Maker = d.maker
	case "CANCELED":
		r.Kind = market.ReportCanceled
	case "EXPIRED", "TRADE_PREVENTION":
		r.Kind = market.ReportExpired
	case "REJECTED":
		r.Kind = market.ReportReject
		if d.has[fReason] {
			r.Reason = d.internString(d.f[fReason])
		}
	default: // REPLACED, AMENDMENT, ...: where the order is
		r.Kind = market.ReportStatus
	}
	return nil
}

// buildFill parses a fill's price, quantity and fee into r.
func (d *decoder) buildFill(r *market.Report, inst *market.Instrument, px, qty, fee []byte, hasFee bool) error {
	p, err := market.ParsePrice(px, inst.PriceExp)
	if err != nil {
		return errBadField
	}
	q, err := market.ParseQty(qty, inst.QtyExp)
	if err != nil {
		return errBadField
	}
	r.Price, r.Qty = p, q
	if hasFee {
		dec := min(market.CountDecimals(fee), market.MaxExp)
		v, err := market.ParseFixed(fee, dec)
		if err != nil {
			return errBadField
		}
		r.Fee, r.FeeExp = v, int8(dec)
	}
	return nil
}

func parseSide(b []byte) (market.Side, bool) {
	switch string(b) {
	case "BUY":
		return market.Buy, true
	case "SELL":
		return market.Sell, true
	}
	return 0, false
}

// orderObject scans an order object of a response (order.place,
// order.cancel, order.status, an element of openOrders.cancelAll) or an
// error object {"code":..,"msg":..} into the captured fields. It returns
// true for an order object, false for an error object (d.ints.code set).
func (d *decoder) orderObject(s *jscan.Scanner) (bool, error) {
	d.clear()
	if s.Peek() != '{' {
		s.Fail(jscan.ErrType)
		return false, errNotObject
	}
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		switch string(k) {
		case "symbol":
			d.str(s, fSymbol)
		case "orderId":
			d.ints.orderID, _ = s.Int()
		case "clientOrderId":
			d.str(s, fCID)
		case "origClientOrderId":
			d.str(s, fOrigCID)
		case "price":
			d.num(s, fPrice)
		case "executedQty":
			d.num(s, fCumQty)
		case "status":
			d.str(s, fStatus)
		case "side":
			d.str(s, fSide)
		case "transactTime", "updateTime":
			d.ints.txTime, _ = s.Int()
		case "code":
			d.ints.code, _ = s.Int()
			d.has[fExec] = true // marks an error object
		case "msg":
			d.str(s, fReason)
		case "fills":
			d.scanFills(s)
		case "data":
			d.data, _ = s.Raw()
		default:
			s.Skip()
		}
	}
	if s.Failed() {
		return false, s.Err()
	}
	return !d.has[fExec], nil
}

// scanFills captures a FULL response's fills.
func (d *decoder) scanFills(s *jscan.Scanner) {
	for more := s.ArrayStart(); more; more = s.NextElem() {
		var f *fill
		if d.nfills < maxFills {
			f = &d.fills[d.nfills]
			f.price, f.qty, f.fee, f.asset, f.tradeID = f.price[:0], f.qty[:0], f.fee[:0], f.asset[:0], -1
			d.nfills++
		}
		for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
			if f == nil {
				s.Skip()
				continue
			}
			switch string(k) {
			case "price":
				f.price = appendNumText(s, f.price)
			case "qty":
				f.qty = appendNumText(s, f.qty)
			case "commission":
				f.fee = appendNumText(s, f.fee)
			case "commissionAsset":
				f.asset, _ = s.AppendString(f.asset)
			case "tradeId":
				f.tradeID, _ = s.Int()
			default:
				s.Skip()
			}
		}
	}
}

func appendNumText(s *jscan.Scanner, dst []byte) []byte {
	if s.Peek() == '"' {
		dst, _ = s.AppendString(dst)
		return dst
	}
	raw, ok := s.Raw()
	if ok && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return append(dst, raw...)
	}
	s.Fail(jscan.ErrType)
	return dst
}

// buildOrder fills d.r from a scanned order object: kind is the report's
// kind when the object says nothing more specific (ReportStatus for a
// status query; for a placement the order's status decides; ReportCanceled
// for a cancel). An order object's clientOrderId is the order's, except in
// a cancel response, where origClientOrderId is the order's and
// clientOrderId the cancel's own.
func (d *decoder) buildOrder(kind market.ReportKind, recv int64) error {
	r := &d.r
	*r = market.Report{Venue: d.venue, RecvTime: recv, VenueTime: d.ints.txTime * 1e6, Kind: kind}
	inst := d.insts[string(d.f[fSymbol])]
	if inst == nil {
		return errUnknownSymbol
	}
	r.Inst = inst
	r.OrderID.N = uint64(d.ints.orderID)
	cid := d.f[fCID]
	if d.has[fOrigCID] {
		cid = d.f[fOrigCID]
	}
	r.ClientID, _ = market.ParseClientID(cid)
	if d.has[fSide] {
		var ok bool
		if r.Side, ok = parseSide(d.f[fSide]); !ok {
			return errBadField
		}
	}
	if !d.has[fStatus] {
		r.Status = market.New // an ACK response: accepted, nothing more known
	} else {
		r.Status = parseStatus(d.f[fStatus])
	}
	if d.has[fCumQty] {
		q, err := market.ParseQty(d.f[fCumQty], inst.QtyExp)
		if err != nil {
			return errBadField
		}
		r.CumQty = q
	}
	if d.has[fPrice] {
		p, err := market.ParsePrice(d.f[fPrice], inst.PriceExp)
		if err != nil {
			return errBadField
		}
		r.Price = p
	}
	if kind == market.ReportAck {
		switch r.Status {
		case market.Canceled:
			r.Kind = market.ReportCanceled
		case market.Expired:
			r.Kind = market.ReportExpired
		case market.Rejected:
			r.Kind = market.ReportReject
		}
	}
	return nil
}

// buildFillReport fills d.r with fill i of a FULL response to the order
// in base (the placement's report).
func (d *decoder) buildFillReport(base *market.Report, i int) error {
	f := &d.fills[i]
	r := &d.r
	*r = *base
	r.Kind = market.ReportFill
	if err := d.buildFill(r, base.Inst, f.price, f.qty, f.fee, len(f.fee) > 0); err != nil {
		return err
	}
	r.TradeID = uint64(f.tradeID)
	r.FeeAsset = d.internString(f.asset)
	return nil
}

// buildError fills d.r with a reject from an error object.
func (d *decoder) buildError(recv int64) {
	d.r = market.Report{Venue: d.venue, Kind: market.ReportReject, Status: market.Rejected, RecvTime: recv,
		Code: int(d.ints.code)}
	if d.has[fReason] {
		d.r.Reason = d.internString(d.f[fReason])
	}
}

// rateLimit is one entry of a WebSocket API response's rateLimits.
type rateLimit struct {
	typ      byte // 'W' REQUEST_WEIGHT, 'O' ORDERS, 'R' RAW_REQUESTS, 0 other
	interval byte // 'S' SECOND, 'M' MINUTE, 'H' HOUR, 'D' DAY
	num      int64
	limit    int64
	count    int64
}

// wsResp is a WebSocket API response's envelope: result and error are
// borrowed from the frame (valid until the reader's next frame).
type wsResp struct {
	id         uint64
	hasID      bool
	status     int64
	result     []byte
	errCode    int64
	errMsg     []byte // copied into the decoder's fReason buffer
	errData    []byte
	retryAfter int64 // error data's retryAfter, venue Unix ms (429/418)
	limits     [6]rateLimit
	nlimits    int
}

// frameKind says what a frame of the WebSocket API connection is.
type frameKind uint8

const (
	frameResponse frameKind = iota
	frameEvent              // a user-data event (wrapped {"subscriptionId","event"} or bare)
	frameOther
)

// frame classifies and scans a frame's envelope. For a response it fills
// resp; for an event it returns its bytes (borrowed).
func (d *decoder) frame(b []byte, resp *wsResp) (frameKind, []byte, error) {
	s := &d.sc
	s.Reset(b)
	*resp = wsResp{}
	kind := frameOther
	var event []byte
	if s.Peek() != '{' {
		return frameOther, nil, errNotObject
	}
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		switch string(k) {
		case "id":
			if s.Peek() == 'n' {
				s.Null()
				break
			}
			v, ok := s.Int()
			resp.id, resp.hasID = uint64(v), ok
			kind = frameResponse
		case "status":
			resp.status, _ = s.Int()
			kind = frameResponse
		case "result":
			resp.result, _ = s.Raw()
		case "error":
			d.scanError(s, resp)
		case "rateLimits":
			d.scanLimits(s, resp)
		case "event":
			event, _ = s.Raw()
			kind = frameEvent
		case "e":
			kind = frameEvent
			s.Skip()
		default:
			s.Skip()
		}
	}
	if !s.End() {
		return frameOther, nil, s.Err()
	}
	if kind == frameEvent && event == nil {
		event = b // a bare event
	}
	return kind, event, nil
}

func (d *decoder) scanError(s *jscan.Scanner, resp *wsResp) {
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		switch string(k) {
		case "code":
			resp.errCode, _ = s.Int()
		case "msg":
			d.f[fReason], _ = s.AppendString(d.f[fReason][:0])
			resp.errMsg = d.f[fReason]
		case "data":
			resp.errData, _ = s.Raw()
		default:
			s.Skip()
		}
	}
	if resp.errData != nil && resp.errData[0] == '{' {
		sub := &d.sub
		sub.Reset(resp.errData)
		for k, ok := sub.ObjectStart(); ok; k, ok = sub.NextKey() {
			if string(k) == "retryAfter" {
				resp.retryAfter, _ = sub.Int()
			} else {
				sub.Skip()
			}
		}
	}
}

func (d *decoder) scanLimits(s *jscan.Scanner, resp *wsResp) {
	for more := s.ArrayStart(); more; more = s.NextElem() {
		var l rateLimit
		for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
			switch string(k) {
			case "rateLimitType":
				v, _ := s.String()
				switch string(v) {
				case "REQUEST_WEIGHT":
					l.typ = 'W'
				case "ORDERS":
					l.typ = 'O'
				case "RAW_REQUESTS":
					l.typ = 'R'
				}
			case "interval":
				v, _ := s.String()
				if len(v) > 0 {
					l.interval = v[0]
				}
			case "intervalNum":
				l.num, _ = s.Int()
			case "limit":
				l.limit, _ = s.Int()
			case "count":
				l.count, _ = s.Int()
			default:
				s.Skip()
			}
		}
		if resp.nlimits < len(resp.limits) {
			resp.limits[resp.nlimits] = l
			resp.nlimits++
		}
	}
}
