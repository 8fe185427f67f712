package binance

import (
	"errors"
	"strconv"

	"arbmm/exec"
	"arbmm/internal/market"
)

// RespType is newOrderRespType: how much a new order's response says.
type RespType uint8

const (
	// RespOmit leaves the parameter out (Binance answers FULL for LIMIT
	// and MARKET orders).
	RespOmit RespType = iota
	// RespACK: ids and time only; the order's fate comes from user data.
	RespACK
	// RespResult: the order's status and executed quantities (default of
	// Session and REST).
	RespResult
	// RespFull: RESULT plus the taker fills.
	RespFull
)

var respTypeNames = [...]string{"", "ACK", "RESULT", "FULL"}

func (r RespType) String() string {
	if int(r) < len(respTypeNames) {
		return respTypeNames[r]
	}
	return "resptype(" + strconv.Itoa(int(r)) + ")"
}

// Errors Send and the encoders return (preallocated: the hot path never
// builds an error).
var (
	ErrBadIntent   = errors.New("binance: intent has no instrument, an unknown action or type, or a non-positive quantity")
	ErrNoKey       = errors.New("binance: no usable key (KeySource.Current returned nil)")
	ErrRateLimited = errors.New("binance: request refused locally: it would exceed a venue rate limit, or a 429's Retry-After is pending")
	ErrClosed      = errors.New("binance: session closed")
	ErrTooMany     = errors.New("binance: too many requests awaiting an answer")
)

// maxParams bounds a request's parameters (cancelReplace has the most).
const maxParams = 24

// param is one request parameter: its name and its value's bytes in
// reqBuf.vals. quoted values are JSON strings in a WebSocket API request;
// the others (recvWindow, timestamp) are bare numbers.
type param struct {
	name     string
	off, end int32
	quoted   bool
}

// reqBuf collects one request's parameters, then writes them as a
// WebSocket API request (sorted by name, signed over the unencoded
// payload) or a REST query string (in the order added, percent-encoded,
// signed as sent). Owned by the session's encoding goroutine; its buffers
// are reused, so after warm-up nothing allocates.
type reqBuf struct {
	ps [maxParams]param
	n  int
	// The last sort's parameter names and order: a session sends the same
	// shapes of request over and over, so the sort is a check and a copy.
	lastNames [maxParams]string
	lastN     int
	perm      [maxParams]uint8
	tmp       [maxParams]param
	vals      []byte // parameter values, back to back
	pay       []byte // the signed payload
	sig       []byte // the signature text
}

func (q *reqBuf) reset() {
	q.n = 0
	q.vals = q.vals[:0]
}

func (q *reqBuf) open(name string, quoted bool) {
	q.ps[q.n] = param{name: name, off: int32(len(q.vals)), quoted: quoted}
}

func (q *reqBuf) close() {
	q.ps[q.n].end = int32(len(q.vals))
	q.n++
}

func (q *reqBuf) str(name, v string) {
	q.open(name, true)
	q.vals = append(q.vals, v...)
	q.close()
}

func (q *reqBuf) num(name string, v int64) {
	q.open(name, false)
	q.vals = strconv.AppendInt(q.vals, v, 10)
	q.close()
}

func (q *reqBuf) fixed(name string, v int64, exp int) {
	q.open(name, true)
	q.vals = market.AppendFixed(q.vals, v, exp)
	q.close()
}

func (q *reqBuf) cid(name string, id market.ClientID) {
	q.open(name, true)
	q.vals = id.AppendText(q.vals)
	q.close()
}

func (q *reqBuf) value(p *param) []byte { return q.vals[p.off:p.end] }

// sortByName sorts the parameters by name (insertion sort: a request has
// a dozen, and sort.Slice would allocate).
func (q *reqBuf) sortByName() {
	ps := q.ps[:q.n]
	same := q.n == q.lastN
	for i := 0; same && i < q.n; i++ {
		same = ps[i].name == q.lastNames[i]
	}
	if same {
		copy(q.tmp[:q.n], ps)
		for i := range ps {
			ps[i] = q.tmp[q.perm[i]]
		}
		return
	}
	q.lastN = q.n
	var idx [maxParams]uint8
	for i := range ps {
		q.lastNames[i] = ps[i].name
		idx[i] = uint8(i)
	}
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].name < ps[j-1].name; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	q.perm = idx
}

// wsPayload writes the WebSocket API's signed payload: every parameter,
// sorted by name (the caller has sorted), name=value joined by '&', not
// percent-encoded.
func (q *reqBuf) wsPayload() []byte {
	b := q.pay[:0]
	for i := range q.ps[:q.n] {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, q.ps[i].name...)
		b = append(b, '=')
		b = append(b, q.value(&q.ps[i])...)
	}
	q.pay = b
	return b
}

// appendWS appends the request {"id":id,"method":method,"params":{...}}.
// With sign set it adds the signature of the sorted payload under g's
// credential (which must be set) as the "signature" parameter.
func (q *reqBuf) appendWS(dst []byte, id uint64, method string, g *signer, sign bool) []byte {
	q.sortByName()
	if sign {
		q.sig = g.appendSignature(q.sig[:0], q.wsPayload(), false)
	}
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `,"method":"`...)
	dst = append(dst, method...)
	dst = append(dst, `","params":{`...)
	for i := range q.ps[:q.n] {
		p := &q.ps[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, p.name...)
		dst = append(dst, `":`...)
		if p.quoted {
			dst = appendJSONString(dst, q.value(p))
		} else {
			dst = append(dst, q.value(p)...)
		}
	}
	if sign {
		if q.n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `"signature":"`...)
		dst = append(dst, q.sig...)
		dst = append(dst, '"')
	}
	return append(dst, "}}"...)
}

// appendQuery appends the parameters as a query string in the order
// added, values percent-encoded, then, with sign set, &signature= and the
// signature of exactly the bytes written (Binance signs the query string
// as sent).
func (q *reqBuf) appendQuery(dst []byte, g *signer, sign bool) []byte {
	start := len(dst)
	for i := range q.ps[:q.n] {
		p := &q.ps[i]
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.name...)
		dst = append(dst, '=')
		dst = appendQueryEscape(dst, q.value(p))
	}
	if !sign {
		return dst
	}
	// The payload is dst[start:]; the signature is computed before the
	// append so that a grown dst cannot move the payload under it.
	q.sig = g.appendSignature(q.sig[:0], dst[start:], true)
	dst = append(dst, "&signature="...)
	return append(dst, q.sig...)
}

// appendJSONString appends v as a JSON string.
func appendJSONString(dst, v []byte) []byte {
	dst = append(dst, '"')
	clean := true
	for _, c := range v {
		if c == '"' || c == '\\' || c < 0x20 {
			clean = false
			break
		}
	}
	if clean { // numbers, symbols, ids: one copy
		dst = append(dst, v...)
		return append(dst, '"')
	}
	for _, c := range v {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// OrderOpts are the parameters every order request carries beside the
// intent's.
type OrderOpts struct {
	// RecvWindow is recvWindow in ms; 0 leaves it out (Binance then uses
	// 5000).
	RecvWindow int64
	// RespType is newOrderRespType; RespOmit leaves it out.
	RespType RespType
	// STP is selfTradePreventionMode ("EXPIRE_TAKER", "EXPIRE_MAKER",
	// "EXPIRE_BOTH", "NONE"); empty leaves it out (the symbol's default).
	STP string
}

func sideName(s market.Side) string {
	if s == market.Buy {
		return "BUY"
	}
	return "SELL"
}

// addOrder adds a new order's parameters in Binance's documented order:
// symbol, side, type, timeInForce, quantity, price, newClientOrderId
// (left out when the id is zero: the venue makes one),
// newOrderRespType, selfTradePreventionMode.
func (q *reqBuf) addOrder(in *market.Intent, id market.ClientID, o *OrderOpts) error {
	inst := in.Inst
	if inst == nil || in.Qty <= 0 {
		return ErrBadIntent
	}
	q.str("symbol", inst.Symbol)
	q.str("side", sideName(in.Side))
	switch in.Type {
	case market.Limit:
		q.str("type", "LIMIT")
		switch in.TIF {
		case market.GTC:
			q.str("timeInForce", "GTC")
		case market.IOC:
			q.str("timeInForce", "IOC")
		case market.FOK:
			q.str("timeInForce", "FOK")
		default:
			return ErrBadIntent
		}
	case market.LimitMaker:
		q.str("type", "LIMIT_MAKER")
	case market.Market:
		q.str("type", "MARKET")
	default:
		return ErrBadIntent
	}
	q.fixed("quantity", int64(in.Qty), inst.QtyExp)
	if in.Type != market.Market {
		if in.Price <= 0 {
			return ErrBadIntent
		}
		q.fixed("price", int64(in.Price), inst.PriceExp)
	}
	if id != 0 {
		q.cid("newClientOrderId", id)
	}
	if o.RespType != RespOmit {
		q.str("newOrderRespType", o.RespType.String())
	}
	if o.STP != "" {
		q.str("selfTradePreventionMode", o.STP)
	}
	return nil
}

// addAuth adds recvWindow and timestamp, and apiKey when the request is
// signed on the WebSocket API.
func (q *reqBuf) addAuth(o *OrderOpts, tsMs int64) {
	if o.RecvWindow > 0 {
		q.num("recvWindow", o.RecvWindow)
	}
	q.num("timestamp", tsMs)
}

// WebSocket API methods of an Intent, and the parameters each takes.
const (
	mPlace         = "order.place"
	mCancel        = "order.cancel"
	mCancelAll     = "openOrders.cancelAll"
	mCancelReplace = "order.cancelReplace"
	mStatus        = "order.status"
	mLogon         = "session.logon"
	mSubscribe     = "userDataStream.subscribe"
	mSubscribeSig  = "userDataStream.subscribe.signature"
	mTime          = "time"
)

// addIntent adds the parameters of in (not the auth ones) and returns the
// WebSocket API method that carries it.
func (q *reqBuf) addIntent(in *market.Intent, o *OrderOpts) (string, error) {
	switch in.Action {
	case market.ActNew:
		return mPlace, q.addOrder(in, in.ClientID, o)
	case market.ActCancel:
		if in.Inst == nil || in.ClientID == 0 {
			return "", ErrBadIntent
		}
		q.str("symbol", in.Inst.Symbol)
		q.cid("origClientOrderId", in.ClientID)
		return mCancel, nil
	case market.ActCancelAll:
		if in.Inst == nil {
			return "", ErrBadIntent // Binance cancels per symbol: the session loops
		}
		q.str("symbol", in.Inst.Symbol)
		return mCancelAll, nil
	case market.ActReplace:
		if in.ClientID == 0 {
			return "", ErrBadIntent
		}
		if err := q.addOrder(in, in.NewID, o); err != nil {
			return "", err
		}
		q.str("cancelReplaceMode", "STOP_ON_FAILURE")
		q.cid("cancelOrigClientOrderId", in.ClientID)
		return mCancelReplace, nil
	}
	return "", ErrBadIntent
}

// appendWSIntent appends the WebSocket API request for in with request
// id id and timestamp tsMs. With sign set (HMAC keys, or an Ed25519 key on
// a session not logged on) it carries apiKey and signature under g's
// credential; otherwise it relies on the session's logon.
func (q *reqBuf) appendWSIntent(dst []byte, id uint64, in *market.Intent, o *OrderOpts, g *signer, sign bool, tsMs int64) ([]byte, error) {
	q.reset()
	method, err := q.addIntent(in, o)
	if err != nil {
		return dst, err
	}
	q.addAuth(o, tsMs)
	if sign {
		q.str("apiKey", g.cred.APIKey)
	}
	return q.appendWS(dst, id, method, g, sign), nil
}

// appendWSStatus appends order.status for the order with client id cid.
func (q *reqBuf) appendWSStatus(dst []byte, id uint64, inst *market.Instrument, cid market.ClientID, o *OrderOpts, g *signer, sign bool, tsMs int64) []byte {
	q.reset()
	q.str("symbol", inst.Symbol)
	q.cid("origClientOrderId", cid)
	q.addAuth(o, tsMs)
	if sign {
		q.str("apiKey", g.cred.APIKey)
	}
	return q.appendWS(dst, id, mStatus, g, sign)
}

// appendWSLogon appends session.logon, signed with g's Ed25519 key.
func (q *reqBuf) appendWSLogon(dst []byte, id uint64, o *OrderOpts, g *signer, tsMs int64) []byte {
	q.reset()
	q.str("apiKey", g.cred.APIKey)
	q.addAuth(o, tsMs)
	return q.appendWS(dst, id, mLogon, g, true)
}

// appendWSSubscribe appends the user-data subscription: unsigned on a
// logged-on session, else the signed form with apiKey and timestamp.
func (q *reqBuf) appendWSSubscribe(dst []byte, id uint64, o *OrderOpts, g *signer, sign bool, tsMs int64) []byte {
	q.reset()
	if !sign {
		// Binance documents no parameters for the session form; the
		// simulated venue requires a timestamp on every request of a
		// logged-on session, and a timestamp is harmless.
		q.addAuth(o, tsMs)
		return q.appendWS(dst, id, mSubscribe, g, false)
	}
	q.str("apiKey", g.cred.APIKey)
	q.addAuth(o, tsMs)
	return q.appendWS(dst, id, mSubscribeSig, g, true)
}

// appendWSTime appends the time request.
func (q *reqBuf) appendWSTime(dst []byte, id uint64) []byte {
	q.reset()
	return q.appendWS(dst, id, mTime, nil, false)
}

// REST: an Intent's method and path, and its signed query string.

// restRoute is the HTTP method and path of an intent's REST request.
func restRoute(a market.Action) (method, path string) {
	switch a {
	case market.ActNew:
		return "POST", "/api/v3/order"
	case market.ActCancel:
		return "DELETE", "/api/v3/order"
	case market.ActCancelAll:
		return "DELETE", "/api/v3/openOrders"
	case market.ActReplace:
		return "POST", "/api/v3/order/cancelReplace"
	}
	return "", ""
}

// appendRESTIntent appends the signed query string of in's REST request.
func (q *reqBuf) appendRESTIntent(dst []byte, in *market.Intent, o *OrderOpts, g *signer, tsMs int64) ([]byte, error) {
	q.reset()
	if _, err := q.addIntent(in, o); err != nil {
		return dst, err
	}
	q.addAuth(o, tsMs)
	return q.appendQuery(dst, g, true), nil
}

// appendRESTStatus appends GET /api/v3/order's signed query for cid.
func (q *reqBuf) appendRESTStatus(dst []byte, inst *market.Instrument, cid market.ClientID, o *OrderOpts, g *signer, tsMs int64) []byte {
	q.reset()
	q.str("symbol", inst.Symbol)
	q.cid("origClientOrderId", cid)
	q.addAuth(o, tsMs)
	return q.appendQuery(dst, g, true)
}

// appendRESTSigned appends a signed query with only recvWindow and
// timestamp (GET /api/v3/account, /sapi/v1/account/apiRestrictions).
func (q *reqBuf) appendRESTSigned(dst []byte, o *OrderOpts, g *signer, tsMs int64) []byte {
	q.reset()
	q.addAuth(o, tsMs)
	return q.appendQuery(dst, g, true)
}

// credSigns reports whether requests under c carry their own signature on
// a session whose logon is for logged (nil: none).
func credSigns(c, logged *exec.Credential) bool {
	return c.Kind == exec.HMAC || c != logged
}
