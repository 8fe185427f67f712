package kraken

import (
	"errors"

	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// Errors of the decoders.
var (
	ErrShape    = errors.New("kraken: unexpected message shape")
	ErrOrderID  = errors.New("kraken: order id longer than 20 bytes")
	ErrTime     = errors.New("kraken: bad timestamp")
	ErrNumber   = errors.New("kraken: bad number")
	errNoResult = errors.New("kraken: response without result")
)

// maxInterned bounds the per-decoder table of texts (reasons, assets):
// past it a new text is copied per report (an allocation, counted).
const maxInterned = 256

// interner keeps one copy of each text a decoder hands out as a string,
// so that Report.Reason and FeeAsset stay valid and cost nothing after the
// first time a text is seen.
type interner struct {
	m      map[string]string
	copies uint64 // texts copied because the table was full
}

func newInterner() interner {
	m := make(map[string]string, 64)
	for _, s := range []string{postOnlyReason, selfTradeReason, "User requested", "Order expired",
		"Cancel all orders after timeout", restRateLimited, orderRateLimited, restInvalidNonce,
		"EOrder:Insufficient funds", "EOrder:Unknown order", "EService:Unavailable", "EAPI:Invalid key",
		"EAPI:Invalid signature", "EGeneral:Invalid arguments", "USD", "BTC", "EUR", "USDT", "ETH"} {
		m[s] = s
	}
	return interner{m: m}
}

func (in *interner) get(b []byte) string {
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in.m) < maxInterned {
		in.m[s] = s
	} else {
		in.copies++
	}
	return s
}

// Method is the method a WebSocket v2 response answers.
type Method uint8

const (
	MethodOther Method = iota
	MethodAddOrder
	MethodCancelOrder
	MethodCancelAll
	MethodCancelAfter
	MethodSubscribe
	MethodUnsubscribe
	MethodPong
)

func parseMethod(b []byte) Method {
	switch string(b) {
	case "add_order":
		return MethodAddOrder
	case "cancel_order":
		return MethodCancelOrder
	case "cancel_all":
		return MethodCancelAll
	case "cancel_all_orders_after":
		return MethodCancelAfter
	case "subscribe":
		return MethodSubscribe
	case "unsubscribe":
		return MethodUnsubscribe
	case "pong":
		return MethodPong
	}
	return MethodOther
}

// Response is a decoded WebSocket v2 method response. Error is interned
// (valid for the decoder's life).
type Response struct {
	Method   Method
	ReqID    int64
	HasReqID bool
	Success  bool
	Error    string
	OrderID  market.VenueOrderID // add_order, cancel_order
	ClientID market.ClientID     // add_order, cancel_order (when arbmm's)
	Count    int64               // cancel_all
	Trigger  int64               // cancel_all_orders_after: trigger time, Unix ns (0: disarmed)
}

// Decoder turns the authenticated WebSocket v2 messages and the REST
// results into market.Report values. Owned by one goroutine (the session's
// reader); it allocates nothing in steady state.
type Decoder struct {
	// OnReport receives each report; the pointer is valid during the call.
	OnReport func(*market.Report)
	// OnResponse receives each method response; valid during the call.
	OnResponse func(*Response)
	// Lookup finds the instrument of an arbmm order whose event carries no
	// symbol (Kraken's cancel and status events do not); may be nil.
	Lookup func(market.ClientID) *market.Instrument

	insts []*market.Instrument
	s     jscan.Scanner
	strs  interner
	r     market.Report
	resp  Response
	// Sequence is the last executions sequence number seen.
	Sequence int64
}

// NewDecoder returns a decoder for the given instruments (by WS v2 symbol).
func NewDecoder(insts []*market.Instrument) *Decoder {
	return &Decoder{insts: insts, strs: newInterner()}
}

// Interned reports how many texts were copied because the intern table
// was full (each an allocation).
func (d *Decoder) Interned() uint64 { return d.strs.copies }

func (d *Decoder) instBySymbol(b []byte) *market.Instrument {
	for _, in := range d.insts {
		if in.Symbol == string(b) {
			return in
		}
	}
	return nil
}

// Decode decodes one message of the authenticated WebSocket v2 endpoint
// received at recv (Unix ns): executions snapshots and updates become
// reports, method responses become Responses; status, heartbeat and
// balances messages are validated and skipped.
func (d *Decoder) Decode(frame []byte, recv int64) error {
	s := &d.s
	s.Reset(frame)
	const (
		chNone = iota
		chExec
		chOther
	)
	ch, snapshot := chNone, false
	dataPos, resultPos := -1, -1
	d.resp = Response{}
	isResp := false
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		switch string(key) {
		case "channel":
			v, _ := s.String()
			if string(v) == "executions" {
				ch = chExec
			} else {
				ch = chOther
			}
		case "type":
			v, _ := s.String()
			snapshot = string(v) == "snapshot"
		case "data":
			dataPos = s.Pos()
			s.Skip()
		case "sequence":
			d.Sequence, _ = s.Int()
		case "method":
			v, _ := s.String()
			d.resp.Method = parseMethod(v)
			isResp = true
		case "result":
			resultPos = s.Pos()
			s.Skip()
		case "success":
			d.resp.Success, _ = s.Bool()
		case "error":
			if s.Peek() == '"' {
				v, _ := s.String()
				d.resp.Error = d.strs.get(v)
			} else {
				s.Skip()
			}
		case "req_id":
			d.resp.ReqID, _ = s.Int()
			d.resp.HasReqID = true
		default:
			s.Skip()
		}
	}
	if s.Failed() || !s.End() {
		return s.Err()
	}
	switch {
	case isResp && ch == chNone:
		if resultPos >= 0 {
			s.ResetAt(frame, resultPos)
			if !d.result() {
				return s.Err()
			}
		}
		if d.OnResponse != nil {
			d.OnResponse(&d.resp)
		}
	case ch == chExec && dataPos >= 0:
		s.ResetAt(frame, dataPos)
		if s.Peek() != '[' {
			s.Fail(ErrShape)
			return s.Err()
		}
		for more := s.ArrayStart(); more; more = s.NextElem() {
			if !d.entry(snapshot, recv) {
				return s.Err()
			}
		}
		if s.Failed() {
			return s.Err()
		}
	}
	return nil
}

// result decodes a method response's result object (other shapes are
// skipped).
func (d *Decoder) result() bool {
	s := &d.s
	if s.Peek() != '{' {
		return s.Skip()
	}
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		switch string(key) {
		case "order_id":
			v, _ := s.String()
			if !setOrderID(&d.resp.OrderID, v) {
				s.Fail(ErrOrderID)
			}
		case "cl_ord_id":
			v, _ := s.String()
			d.resp.ClientID, _ = market.ParseClientID(v)
		case "count":
			d.resp.Count, _ = s.Int()
		case "triggerTime":
			v, _ := s.String()
			if string(v) != "0" {
				t, ok := parseTime(v)
				if !ok {
					s.Fail(ErrTime)
				}
				d.resp.Trigger = t
			}
		default:
			s.Skip()
		}
	}
	return !s.Failed()
}

func setOrderID(id *market.VenueOrderID, v []byte) bool {
	if len(v) > len(id.T) {
		return false
	}
	id.T = [20]byte{}
	id.TN = uint8(copy(id.T[:], v))
	return true
}

// exec types of the executions channel.
const (
	etOther = iota
	etPendingNew
	etNew
	etTrade
	etFilled
	etCanceled
	etExpired
)

func parseExecType(b []byte) int {
	switch string(b) {
	case "pending_new":
		return etPendingNew
	case "new":
		return etNew
	case "trade":
		return etTrade
	case "filled":
		return etFilled
	case "canceled":
		return etCanceled
	case "expired":
		return etExpired
	}
	return etOther
}

func parseStatus(b []byte) market.OrderStatus {
	switch string(b) {
	case "pending_new":
		return market.PendingNew
	case "new":
		return market.New
	case "partially_filled":
		return market.PartiallyFilled
	case "filled":
		return market.Filled
	case "canceled":
		return market.Canceled
	case "expired":
		return market.Expired
	}
	return market.Unknown
}

// entry decodes one executions entry and hands its report on.
func (d *Decoder) entry(snapshot bool, recv int64) bool {
	s := &d.s
	r := &d.r
	*r = market.Report{Venue: market.Kraken, RecvTime: recv, Status: market.Unknown}
	et := etOther
	var lastQty, lastPrice, cumQty, feeQty []byte
	reason, cancelReason := "", ""
	hasReason := false
	if s.Peek() != '{' {
		s.Fail(ErrShape)
		return false
	}
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		switch string(key) {
		case "order_id":
			v, _ := s.String()
			if !setOrderID(&r.OrderID, v) {
				s.Fail(ErrOrderID)
			}
		case "exec_type":
			v, _ := s.String()
			et = parseExecType(v)
		case "order_status":
			v, _ := s.String()
			r.Status = parseStatus(v)
		case "timestamp":
			v, _ := s.String()
			t, ok := parseTime(v)
			if !ok && !s.Failed() {
				s.Fail(ErrTime)
			}
			r.VenueTime = t
		case "cl_ord_id":
			v, _ := s.String()
			r.ClientID, _ = market.ParseClientID(v)
		case "symbol":
			v, _ := s.String()
			r.Inst = d.instBySymbol(v)
		case "side":
			v, _ := s.String()
			if string(v) == "sell" {
				r.Side = market.Sell
			}
		case "last_qty":
			lastQty, _ = s.Raw()
		case "last_price":
			lastPrice, _ = s.Raw()
		case "cum_qty":
			cumQty, _ = s.Raw()
		case "liquidity_ind":
			v, _ := s.String()
			r.Maker = string(v) == "m"
		case "trade_id":
			v, _ := s.Int()
			r.TradeID = uint64(v)
		case "fees":
			if s.Peek() != '[' {
				s.Fail(ErrShape)
				break
			}
			first := true
			for more := s.ArrayStart(); more; more = s.NextElem() {
				if !first {
					s.Skip()
					continue
				}
				first = false
				if s.Peek() != '{' {
					s.Fail(ErrShape)
					break
				}
				for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
					switch string(k) {
					case "asset":
						v, _ := s.String()
						r.FeeAsset = d.strs.get(v)
					case "qty":
						feeQty, _ = s.Raw()
					default:
						s.Skip()
					}
				}
			}
		case "reason":
			v, _ := s.String()
			if !s.Failed() {
				reason, hasReason = d.strs.get(v), true
			}
		case "cancel_reason":
			v, _ := s.String()
			if !s.Failed() {
				cancelReason = d.strs.get(v)
			}
		default:
			s.Skip()
		}
		if s.Failed() {
			return false
		}
	}
	if s.Failed() {
		return false
	}
	if r.Inst == nil && r.ClientID != 0 && d.Lookup != nil {
		r.Inst = d.Lookup(r.ClientID)
	}
	if hasReason {
		r.Reason = reason
	} else {
		r.Reason = cancelReason
	}
	if in := r.Inst; in != nil {
		var ok bool
		if r.Qty, ok = rawQty(lastQty, in.QtyExp); !ok {
			s.Fail(ErrNumber)
			return false
		}
		if p, ok := rawFixed(lastPrice, in.PriceExp); ok {
			r.Price = market.Price(p)
		} else {
			s.Fail(ErrNumber)
			return false
		}
		if r.CumQty, ok = rawQty(cumQty, in.QtyExp); !ok {
			s.Fail(ErrNumber)
			return false
		}
	}
	if feeQty != nil {
		v, ok := rawNumber(feeQty)
		if !ok {
			s.Fail(ErrNumber)
			return false
		}
		exp := min(market.CountDecimals(v), market.MaxExp)
		f, err := market.ParseFixed(v, exp)
		if err != nil {
			s.Fail(ErrNumber)
			return false
		}
		r.Fee, r.FeeExp = f, int8(exp)
	}
	switch et {
	case etPendingNew:
		return true // received, not yet accepted: the "new" follows
	case etNew:
		r.Kind = market.ReportAck
		if snapshot {
			r.Kind = market.ReportStatus
		}
	case etTrade:
		r.Kind = market.ReportFill
	case etCanceled:
		r.Kind = market.ReportCanceled
		if r.Reason == postOnlyReason || r.Reason == selfTradeReason {
			r.Kind = market.ReportExpired
		}
	case etExpired:
		r.Kind = market.ReportExpired
	default: // filled, amended, restated, status, iceberg_refill
		r.Kind = market.ReportStatus
	}
	if d.OnReport != nil {
		d.OnReport(r)
	}
	return true
}

// rawString unquotes a raw JSON string without escapes.
func rawString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	v := raw[1 : len(raw)-1]
	for _, c := range v {
		if c == '\\' {
			return nil, false
		}
	}
	return v, true
}

// rawNumber returns a raw number's text, bare or quoted (without escapes).
func rawNumber(raw []byte) ([]byte, bool) {
	if len(raw) > 0 && raw[0] == '"' {
		return rawString(raw)
	}
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return nil, false
	}
	return raw, true
}

// rawFixed parses a raw number at exp decimals; an absent one is 0.
func rawFixed(raw []byte, exp int) (int64, bool) {
	if raw == nil {
		return 0, true
	}
	v, ok := rawNumber(raw)
	if !ok {
		return 0, false
	}
	f, err := market.ParseFixed(v, exp)
	return f, err == nil
}

func rawQty(raw []byte, exp int) (market.Qty, bool) {
	v, ok := rawFixed(raw, exp)
	return market.Qty(v), ok
}

// parseTime reads Kraken's RFC 3339 UTC time ("2023-09-22T10:33:05.709950Z")
// as Unix ns, without allocating.
func parseTime(b []byte) (int64, bool) {
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	dd, ok3 := num(8, 2)
	hh, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	ss, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || dd < 1 || dd > daysIn(mo, y) || hh > 23 || mi > 59 || ss > 59 {
		return 0, false
	}
	var frac int64
	rest := b[19 : len(b)-1]
	if len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return 0, false
		}
		scale := int64(1e8)
		for _, c := range rest[1:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			frac += int64(c-'0') * scale
			scale /= 10
		}
	}
	days := daysFromCivil(y, mo, dd)
	return ((days*24+int64(hh))*60+int64(mi))*60*1e9 + int64(ss)*1e9 + frac, true
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
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

// restEnvelope decodes Kraken's REST answer {"error":[...],"result":...}:
// the first error text (interned; "" when none) and the offset of the
// result (-1 when absent). The scanner is left on the body.
func (d *Decoder) restEnvelope(body []byte) (errText string, resultPos int, err error) {
	s := &d.s
	s.Reset(body)
	resultPos = -1
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		switch string(key) {
		case "error":
			if s.Peek() != '[' {
				s.Skip()
				break
			}
			for more := s.ArrayStart(); more; more = s.NextElem() {
				v, _ := s.String()
				if errText == "" && !s.Failed() {
					errText = d.strs.get(v)
				}
			}
		case "result":
			resultPos = s.Pos()
			s.Skip()
		default:
			s.Skip()
		}
	}
	if s.Failed() || !s.End() {
		return "", -1, s.Err()
	}
	return errText, resultPos, nil
}

// addOrderResult reads AddOrder's result: the first txid.
func (d *Decoder) addOrderResult(body []byte, pos int, oid *market.VenueOrderID) error {
	s := &d.s
	s.ResetAt(body, pos)
	if s.Peek() != '{' {
		return ErrShape
	}
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		if string(key) != "txid" || s.Peek() != '[' {
			s.Skip()
			continue
		}
		for more := s.ArrayStart(); more; more = s.NextElem() {
			v, _ := s.String()
			if oid.TN == 0 && !s.Failed() && !setOrderID(oid, v) {
				s.Fail(ErrOrderID)
			}
		}
	}
	if s.Failed() {
		return s.Err()
	}
	if oid.TN == 0 {
		return errNoResult
	}
	return nil
}

// orderInfos reads the result of QueryOrders or OpenOrders ({"TXID":{order
// info}} or {"open":{...}}) into ReportStatus reports for in's orders.
func (d *Decoder) orderInfos(body []byte, pos int, in *market.Instrument, recv int64, fn func(*market.Report)) error {
	s := &d.s
	s.ResetAt(body, pos)
	if s.Peek() != '{' {
		return ErrShape
	}
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		if string(key) == "open" || string(key) == "closed" {
			if s.Peek() != '{' {
				return ErrShape
			}
			for k2, ok2 := s.ObjectStart(); ok2; k2, ok2 = s.NextKey() {
				if !d.orderInfo(k2, in, recv, fn) {
					return s.Err()
				}
			}
			continue
		}
		if !d.orderInfo(key, in, recv, fn) {
			return s.Err()
		}
	}
	if s.Failed() {
		return s.Err()
	}
	return nil
}

// orderInfo decodes one order info object keyed by its txid.
func (d *Decoder) orderInfo(txid []byte, in *market.Instrument, recv int64, fn func(*market.Report)) bool {
	s := &d.s
	r := &d.r
	*r = market.Report{Kind: market.ReportStatus, Venue: market.Kraken, Inst: in, RecvTime: recv, Status: market.Unknown}
	if !setOrderID(&r.OrderID, txid) {
		s.Fail(ErrOrderID)
		return false
	}
	var volExec, reason []byte
	if s.Peek() != '{' {
		s.Fail(ErrShape)
		return false
	}
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		switch string(key) {
		case "cl_ord_id":
			v, _ := s.String()
			r.ClientID, _ = market.ParseClientID(v)
		case "status":
			v, _ := s.String()
			switch string(v) {
			case "pending":
				r.Status = market.PendingNew
			case "open":
				r.Status = market.New
			case "closed":
				r.Status = market.Filled
			case "canceled":
				r.Status = market.Canceled
			case "expired":
				r.Status = market.Expired
			}
		case "vol_exec":
			volExec, _ = s.Raw()
		case "reason":
			reason, _ = s.Raw()
		case "descr":
			if s.Peek() != '{' {
				s.Skip()
				break
			}
			for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
				if string(k) == "type" {
					v, _ := s.String()
					if string(v) == "sell" {
						r.Side = market.Sell
					}
					continue
				}
				s.Skip()
			}
		default:
			s.Skip()
		}
	}
	if s.Failed() {
		return false
	}
	if in != nil {
		var ok bool
		if r.CumQty, ok = rawQty(volExec, in.QtyExp); !ok {
			s.Fail(ErrNumber)
			return false
		}
		if r.Status == market.New && r.CumQty > 0 {
			r.Status = market.PartiallyFilled
		}
	}
	if v, ok := rawString(reason); ok {
		r.Reason = d.strs.get(v)
	}
	fn(r)
	return true
}

// tokenResult reads GetWebSocketsToken's token (cold: allocates it).
func (d *Decoder) tokenResult(body []byte, pos int) (string, error) {
	s := &d.s
	s.ResetAt(body, pos)
	tok := ""
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		if string(key) == "token" {
			v, _ := s.String()
			tok = string(v)
			continue
		}
		s.Skip()
	}
	if s.Failed() {
		return "", s.Err()
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c < 0x20 || c == '"' || c == '\\' || c > 0x7e {
			return "", errors.New("kraken: websocket token is not plain text")
		}
	}
	if tok == "" {
		return "", errNoResult
	}
	return tok, nil
}

// intResult reads an integer member of a result object ("unixtime",
// "count").
func (d *Decoder) intResult(body []byte, pos int, name string) (int64, error) {
	s := &d.s
	s.ResetAt(body, pos)
	var v int64
	found := false
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		if string(key) == name {
			v, _ = s.Int()
			found = true
			continue
		}
		s.Skip()
	}
	if s.Failed() {
		return 0, s.Err()
	}
	if !found {
		return 0, errNoResult
	}
	return v, nil
}
