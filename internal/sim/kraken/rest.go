package kraken

import (
	"bytes"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

// rest serves Kraken's REST API on the public listener: /0/public/Time and
// SystemStatus, and the private order-entry and account methods, signed
// with API-Key and API-Sign.
func (s *Server) rest(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json; charset=utf-8")
	path := ctx.Path()
	switch {
	case bytes.HasPrefix(path, []byte("/0/public/")):
		s.restPublic(ctx, string(path[len("/0/public/"):]))
	case bytes.HasPrefix(path, []byte("/0/private/")):
		s.restPrivate(ctx, string(path[len("/0/private/"):]))
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		restError(ctx, errUnknownMethod)
	}
}

func (s *Server) restPublic(ctx *fasthttp.RequestCtx, method string) {
	now := s.v.Now().UTC()
	b := append([]byte(nil), `{"error":[],"result":{`...)
	switch method {
	case "Time":
		b = append(b, `"unixtime":`...)
		b = strconv.AppendInt(b, now.Unix(), 10)
		b = append(b, `,"rfc1123":"`...)
		b = now.AppendFormat(b, "Mon, 02 Jan 06 15:04:05 -0700")
		b = append(b, '"')
	case "SystemStatus":
		b = append(b, `"status":"online","timestamp":"`...)
		b = now.AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		restError(ctx, errUnknownMethod)
		return
	}
	ctx.SetBody(append(b, "}}"...))
}

// restError writes Kraken's error body: {"error":["EAPI:Invalid key"]}.
// Kraken answers these with HTTP 200.
func restError(ctx *fasthttp.RequestCtx, text string) {
	b := append([]byte(nil), `{"error":[`...)
	b = strconv.AppendQuote(b, text)
	ctx.SetBody(append(b, "]}"...))
}

// restResult writes {"error":[],"result":<result>}.
func restResult(ctx *fasthttp.RequestCtx, result []byte) {
	b := make([]byte, 0, len(result)+24)
	b = append(b, `{"error":[],"result":`...)
	b = append(b, result...)
	ctx.SetBody(append(b, '}'))
}

// params are a private request's parameters: the urlencoded form body, or
// a JSON object body (Kraken takes both).
type params struct {
	form   *fasthttp.Args
	js     map[string]json.RawMessage
	isJSON bool
}

// parseParams parses body; contentType says whether it is JSON.
func parseParams(body []byte, contentType []byte, form *fasthttp.Args) (*params, bool) {
	p := &params{form: form}
	if bytes.HasPrefix(contentType, []byte("application/json")) {
		p.isJSON = true
		if err := json.Unmarshal(body, &p.js); err != nil {
			return nil, false
		}
		return p, true
	}
	form.ParseBytes(body)
	return p, true
}

// get returns the parameter's text (a JSON string unquoted, a JSON number
// or literal as written), or nil when absent.
func (p *params) get(name string) []byte {
	if !p.isJSON {
		if !p.form.Has(name) {
			return nil
		}
		v := p.form.Peek(name)
		if v == nil {
			v = []byte{}
		}
		return v
	}
	raw, ok := p.js[name]
	if !ok {
		return nil
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return []byte{}
		}
		return []byte(s)
	}
	return raw
}

// restMethod is one private method: the permission it needs, whether the
// REST call counter charges it (trading methods use the trading counter
// instead), and its handler.
type restMethod struct {
	perm    auth.Perm
	anyPerm bool // any of perm's bits suffices
	counted bool
	fn      func(s *Server, ctx *fasthttp.RequestCtx, key *auth.Key, p *params)
}

var restMethods = map[string]restMethod{
	"AddOrder":             {perm: auth.PermTrade, fn: (*Server).restAddOrder},
	"CancelOrder":          {perm: auth.PermTrade, fn: (*Server).restCancelOrder},
	"CancelAll":            {perm: auth.PermTrade, counted: true, fn: (*Server).restCancelAll},
	"CancelAllOrdersAfter": {perm: auth.PermTrade, counted: true, fn: (*Server).restCancelAfter},
	"OpenOrders":           {perm: auth.PermRead, counted: true, fn: (*Server).restOpenOrders},
	"QueryOrders":          {perm: auth.PermRead, counted: true, fn: (*Server).restQueryOrders},
	"Balance":              {perm: auth.PermRead, counted: true, fn: (*Server).restBalance},
	"BalanceEx":            {perm: auth.PermRead, counted: true, fn: (*Server).restBalanceEx},
	"GetWebSocketsToken":   {perm: auth.PermRead | auth.PermTrade, anyPerm: true, counted: true, fn: (*Server).restToken},
}

// restPrivate authenticates a private call (key, signature, nonce,
// permission, call counter, in that order) and runs it.
func (s *Server) restPrivate(ctx *fasthttp.RequestCtx, method string) {
	m, ok := restMethods[method]
	if !ok || !ctx.IsPost() {
		restError(ctx, errUnknownMethod)
		return
	}
	e := &s.priv
	now := s.v.Now()
	key, ok := e.keys.Lookup(ctx.Request.Header.Peek("API-Key"))
	if !ok || key.Type != auth.HMAC || key.Expired(now) {
		restError(ctx, errInvalidKey)
		return
	}
	form := fasthttp.AcquireArgs()
	defer fasthttp.ReleaseArgs(form)
	body := ctx.PostBody()
	p, ok := parseParams(body, ctx.Request.Header.ContentType(), form)
	if !ok {
		restError(ctx, errInvalidArgs)
		return
	}
	nonceText := p.get("nonce")
	nonce, ok := auth.ParseNonce(nonceText)
	if !ok {
		restError(ctx, auth.ErrNonce.Error())
		return
	}
	if !auth.VerifyKraken(key.Secret, ctx.Path(), nonceText, body, ctx.Request.Header.Peek("API-Sign")) {
		restError(ctx, errInvalidSig)
		return
	}
	if err := e.nonces.Check([]byte(key.APIKey), nonce); err != nil {
		restError(ctx, err.Error())
		return
	}
	if m.anyPerm && key.Perms&m.perm == 0 || !m.anyPerm && !key.Can(m.perm) {
		restError(ctx, errPermission)
		return
	}
	if m.counted {
		if err := e.limiter.Call([]byte(key.APIKey), 1, now); err != nil {
			restError(ctx, err.Error())
			return
		}
	}
	e.track(key.Account)
	m.fn(s, ctx, key, p)
}

// loseResponse closes the connection without answering (the LostAck fault).
func loseResponse(ctx *fasthttp.RequestCtx) {
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) { _ = c.Close() })
}

// parseAddOrderREST parses AddOrder's parameters. It returns Kraken's error
// text on failure.
func parseAddOrderREST(p *params, pt *pairTable) (orderReq, string) {
	var rq orderReq
	name := p.get("pair")
	if len(name) == 0 {
		return rq, invalidArg("pair")
	}
	pi, ok := pt.lookup(name)
	if !ok {
		return rq, errUnknownPair
	}
	rq.pi = pi
	r := &rq.r
	switch string(p.get("type")) {
	case "buy":
		r.Side = market.Buy
	case "sell":
		r.Side = market.Sell
	default:
		return rq, invalidArg("type")
	}
	switch string(p.get("ordertype")) {
	case "limit":
		r.Type = match.Limit
	case "market":
		r.Type = match.Market
	default:
		return rq, invalidArg("ordertype")
	}
	if fl := p.get("oflags"); len(fl) > 0 {
		for f := range strings.SplitSeq(string(fl), ",") {
			switch f {
			case "post":
				r.PostOnly = true
			case "viqc":
				rq.viqc = true
			case "fcib", "fciq", "nompp":
				// Fees are always charged in quote here; market price
				// protection is not simulated.
			default:
				return rq, invalidArg("oflags")
			}
		}
	}
	if r.PostOnly && r.Type != match.Limit || rq.viqc && r.Type != match.Market {
		return rq, invalidArg("oflags")
	}
	tif := p.get("timeinforce")
	switch string(tif) {
	case "", "GTC":
		r.TIF = match.GTC
	case "IOC":
		r.TIF = match.IOC
	case "FOK":
		r.TIF = match.FOK
	default: // GTD is not simulated
		return rq, invalidArg("timeinforce")
	}
	if r.PostOnly && r.TIF != match.GTC {
		return rq, invalidArg("timeinforce")
	}
	if r.Type == match.Market {
		r.TIF = match.IOC
	}
	vol := p.get("volume")
	if len(vol) == 0 {
		return rq, invalidArg("volume")
	}
	if rq.viqc {
		v, err := market.ParseFixed(vol, pi.quoteExp)
		if err != nil || v <= 0 {
			return rq, invalidArg("volume")
		}
		r.QuoteQty = v
	} else {
		v, err := market.ParseFixed(vol, pi.p.Cfg.QtyExp)
		if err != nil || v <= 0 {
			return rq, invalidArg("volume")
		}
		r.Qty = v
	}
	if r.Type == match.Limit {
		pr := p.get("price")
		if len(pr) == 0 {
			return rq, invalidArg("price")
		}
		v, err := market.ParseFixed(pr, pi.p.Cfg.PriceExp)
		switch {
		case err == market.ErrPrecision:
			return rq, invalidPrice(pi.alt, pi.p.Cfg.PriceExp)
		case err != nil || v <= 0:
			return rq, invalidArg("price")
		}
		r.Price = v
	}
	if c := p.get("cl_ord_id"); c != nil {
		if !validClientID(c) {
			return rq, invalidArg("cl_ord_id")
		}
		r.ClientID = string(c)
	}
	if u := p.get("userref"); u != nil {
		v, err := strconv.ParseInt(string(u), 10, 32)
		if err != nil {
			return rq, invalidArg("userref")
		}
		if r.ClientID != "" {
			return rq, invalidArg("cl_ord_id and userref are mutually exclusive")
		}
		rq.userref, rq.hasUserref = int32(v), true
	}
	switch string(p.get("stptype")) {
	case "", "cancel-newest":
		r.STP = match.STPExpireTaker
	case "cancel-oldest":
		r.STP = match.STPExpireMaker
	case "cancel-both":
		r.STP = match.STPExpireBoth
	default:
		return rq, invalidArg("stptype")
	}
	switch string(p.get("validate")) {
	case "", "false", "0":
	case "true", "1":
		rq.validate = true
	default:
		return rq, invalidArg("validate")
	}
	return rq, ""
}

// validClientID accepts Kraken's cl_ord_id forms: a UUID (with or without
// dashes) or free text of up to 18 printable ASCII characters; here, up to
// 36 printable characters.
func validClientID(c []byte) bool {
	if len(c) == 0 || len(c) > 36 {
		return false
	}
	for _, ch := range c {
		if ch < 0x21 || ch > 0x7e {
			return false
		}
	}
	return true
}

// appendDescr appends AddOrder's order description: "buy 1.25000000 XBTUSD
// @ limit 27500.0".
func appendDescr(b []byte, pi *pairInfo, o *match.Order) []byte {
	if o.Side == market.Buy {
		b = append(b, "buy "...)
	} else {
		b = append(b, "sell "...)
	}
	if o.Qty > 0 || o.QuoteQty == 0 {
		b = appendFixed(b, o.Qty, pi.p.Cfg.QtyExp)
	} else {
		b = appendFixed(b, o.QuoteQty, pi.quoteExp)
	}
	b = append(b, ' ')
	b = append(b, pi.alt...)
	if o.Type == match.Market {
		return append(b, " @ market"...)
	}
	b = append(b, " @ limit "...)
	return appendFixed(b, o.Price, pi.p.Cfg.PriceExp)
}

func (s *Server) restAddOrder(ctx *fasthttp.RequestCtx, key *auth.Key, p *params) {
	e := &s.priv
	rq, bad := parseAddOrderREST(p, e.pairs)
	if bad != "" {
		restError(ctx, bad)
		return
	}
	o := match.Order{Side: rq.r.Side, Type: rq.r.Type, Price: rq.r.Price, Qty: rq.r.Qty, QuoteQty: rq.r.QuoteQty}
	b := append([]byte(nil), `{"descr":{"order":"`...)
	b = appendDescr(b, rq.pi, &o)
	b = append(b, `"}`...)
	if rq.validate {
		restResult(ctx, append(b, '}'))
		return
	}
	res := e.place(key.Account, &rq)
	if res.err != "" {
		restError(ctx, res.err)
		return
	}
	if res.lost {
		loseResponse(ctx)
		return
	}
	b = append(b, `,"txid":["`...)
	b = appendTxID(b, 'O', res.o.ID)
	restResult(ctx, append(b, `"]}`...))
}

// orderRef resolves a txid parameter: an order id, a userref (all open
// orders with it) or a cl_ord_id.
type orderRef struct {
	id       uint64
	clientID string
	userref  int32
	byRef    bool
}

func parseOrderRef(v []byte) (orderRef, bool) {
	if id, ok := parseTxID(v, 'O'); ok {
		return orderRef{id: id}, true
	}
	if u, err := strconv.ParseInt(string(v), 10, 32); err == nil {
		return orderRef{userref: int32(u), byRef: true}, true
	}
	if validClientID(v) {
		return orderRef{clientID: string(v)}, true
	}
	return orderRef{}, false
}

func (s *Server) restCancelOrder(ctx *fasthttp.RequestCtx, key *auth.Key, p *params) {
	e := &s.priv
	var ref orderRef
	switch t, c := p.get("txid"), p.get("cl_ord_id"); {
	case len(t) > 0:
		var ok bool
		if ref, ok = parseOrderRef(t); !ok {
			restError(ctx, invalidArg("txid"))
			return
		}
	case len(c) > 0:
		ref.clientID = string(c)
	default:
		restError(ctx, invalidArg("txid"))
		return
	}
	a := key.Account
	count, bad := 0, ""
	s.v.Do(func(tx *venue.Tx) {
		if !ref.byRef {
			if _, _, bad = e.cancel(tx, a, ref.id, ref.clientID); bad == "" {
				count = 1
			}
			return
		}
		for _, o := range tx.Open(nil, match.AccountID(a), nil) {
			if u, ok := e.userrefs[o.ID]; ok && u == ref.userref {
				if _, _, bad = e.cancel(tx, a, o.ID, ""); bad != "" {
					return
				}
				count++
			}
		}
		if count == 0 {
			bad = errUnknownOrder
		}
	})
	if bad != "" {
		restError(ctx, bad)
		return
	}
	b := append([]byte(nil), `{"count":`...)
	b = strconv.AppendInt(b, int64(count), 10)
	restResult(ctx, append(b, '}'))
}

func (s *Server) restCancelAll(ctx *fasthttp.RequestCtx, key *auth.Key, p *params) {
	var n int
	s.v.Do(func(tx *venue.Tx) { n = s.priv.cancelAll(tx, key.Account, errUserRequested) })
	b := append([]byte(nil), `{"count":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	restResult(ctx, append(b, '}'))
}

func (s *Server) restCancelAfter(ctx *fasthttp.RequestCtx, key *auth.Key, p *params) {
	t, err := strconv.ParseInt(string(p.get("timeout")), 10, 32)
	if err != nil || t < 0 || t > 86400 {
		restError(ctx, invalidArg("timeout"))
		return
	}
	now := s.v.Now().UTC()
	trigger := s.priv.cancelAfter(key.Account, t, now)
	restResult(ctx, appendCancelAfter(nil, now, trigger, false))
}

// appendCancelAfter appends {"currentTime":"...","triggerTime":"..."}
// ("0" when disarmed); ws uses the v2 timestamp form.
func appendCancelAfter(b []byte, now, trigger time.Time, ws bool) []byte {
	layout := time.RFC3339
	if ws {
		layout = "2006-01-02T15:04:05.000000Z"
	}
	b = append(b, `{"currentTime":"`...)
	b = now.UTC().AppendFormat(b, layout)
	b = append(b, `","triggerTime":"`...)
	if trigger.IsZero() {
		b = append(b, '0')
	} else {
		b = trigger.UTC().AppendFormat(b, layout)
	}
	return append(b, `"}`...)
}

// orderStatus is the REST status of an order.
func orderStatus(st match.Status) string {
	switch st {
	case match.StatusNew, match.StatusPartiallyFilled:
		return "open"
	case match.StatusFilled:
		return "closed"
	case match.StatusCanceled, match.StatusExpiredInMatch, match.StatusRejected:
		return "canceled"
	case match.StatusExpired:
		return "expired"
	}
	return "pending"
}

// appendUnixSec appends ns as Kraken's fractional unix seconds
// (1688666559.8974).
func appendUnixSec(b []byte, ns int64) []byte {
	return market.AppendFixed(b, ns/100000, 4)
}

// appendOrderInfo appends the order info object of OpenOrders and
// QueryOrders. Venue lock held (it reads userrefs and reasons).
func (e *orderEntry) appendOrderInfo(b []byte, pi *pairInfo, o *match.Order) []byte {
	pc := &pi.p.Cfg
	b = append(b, `{"refid":null,"userref":`...)
	if u, ok := e.userrefs[o.ID]; ok {
		b = strconv.AppendInt(b, int64(u), 10)
	} else {
		b = append(b, "null"...)
	}
	if o.ClientID != "" {
		b = append(b, `,"cl_ord_id":`...)
		b = strconv.AppendQuote(b, o.ClientID)
	}
	b = append(b, `,"status":"`...)
	b = append(b, orderStatus(o.Status)...)
	b = append(b, `","opentm":`...)
	b = appendUnixSec(b, o.Created)
	b = append(b, `,"starttm":0,"expiretm":0,"descr":{"pair":"`...)
	b = append(b, pi.alt...)
	b = append(b, `","type":"`...)
	if o.Side == market.Buy {
		b = append(b, "buy"...)
	} else {
		b = append(b, "sell"...)
	}
	b = append(b, `","ordertype":"`...)
	if o.Type == match.Market {
		b = append(b, "market"...)
	} else {
		b = append(b, "limit"...)
	}
	b = append(b, `","price":"`...)
	b = appendFixed(b, o.Price, pc.PriceExp)
	b = append(b, `","price2":"0","leverage":"none","order":"`...)
	b = appendDescr(b, pi, o)
	b = append(b, `","close":""},"vol":"`...)
	if o.Qty > 0 || o.QuoteQty == 0 {
		b = appendFixed(b, o.Qty, pc.QtyExp)
	} else {
		b = appendFixed(b, o.QuoteQty, pi.quoteExp)
	}
	b = append(b, `","vol_exec":"`...)
	b = appendFixed(b, o.Filled, pc.QtyExp)
	b = append(b, `","cost":"`...)
	b = appendFixed(b, o.QuoteFilled, pi.quoteExp)
	b = append(b, `","fee":"`...)
	b = appendFixed(b, o.Fee, pi.quoteExp)
	b = append(b, `","price":"`...)
	b = appendFixed(b, avgPrice(pi, o), pc.PriceExp)
	b = append(b, `","stopprice":"0","limitprice":"0","misc":"","oflags":"fciq`...)
	if o.PostOnly {
		b = append(b, ",post"...)
	}
	if o.Type == match.Market && o.QuoteQty > 0 {
		b = append(b, ",viqc"...)
	}
	b = append(b, `","timeinforce":"`...)
	b = append(b, o.TIF.String()...)
	b = append(b, '"')
	if !o.Status.Open() {
		b = append(b, `,"closetm":`...)
		b = appendUnixSec(b, o.Updated)
		b = append(b, `,"reason":`...)
		if r, ok := e.reasons[o.ID]; ok {
			b = strconv.AppendQuote(b, r)
		} else if o.Status == match.StatusExpiredInMatch {
			b = strconv.AppendQuote(b, errSelfTrade)
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, '}')
}

func (s *Server) restOpenOrders(ctx *fasthttp.RequestCtx, key *auth.Key, p *params) {
	e := &s.priv
	var ref orderRef
	var filter bool
	if u := p.get("userref"); len(u) > 0 {
		v, err := strconv.ParseInt(string(u), 10, 32)
		if err != nil {
			restError(ctx, invalidArg("userref"))
			return
		}
		ref.userref, ref.byRef, filter = int32(v), true, true
	}
	if c := p.get("cl_ord_id"); len(c) > 0 {
		ref.clientID, filter = string(c), true
	}
	b := append([]byte(nil), `{"open":{`...)
	s.v.Do(func(tx *venue.Tx) {
		n := 0
		for _, pi := range e.pairs.list {
			for _, o := range tx.Open(pi.p, match.AccountID(key.Account), nil) {
				if filter {
					if ref.byRef {
						if u, ok := e.userrefs[o.ID]; !ok || u != ref.userref {
							continue
						}
					}
					if ref.clientID != "" && o.ClientID != ref.clientID {
						continue
					}
				}
				if n > 0 {
					b = append(b, ',')
				}
				n++
				b = append(b, '"')
				b = appendTxID(b, 'O', o.ID)
				b = append(b, `":`...)
				b = e.appendOrderInfo(b, pi, &o)
			}
		}
	})
	restResult(ctx, append(b, "}}"...))
}

func (s *Server) restQueryOrders(ctx *fasthttp.RequestCtx, key *auth.Key, p *params) {
	e := &s.priv
	t := p.get("txid")
	if len(t) == 0 {
		restError(ctx, invalidArg("txid"))
		return
	}
	var ids []uint64
	for part := range strings.SplitSeq(string(t), ",") {
		id, ok := parseTxID([]byte(strings.TrimSpace(part)), 'O')
		if !ok {
			restError(ctx, invalidArg("txid"))
			return
		}
		ids = append(ids, id)
	}
	if len(ids) > 50 {
		restError(ctx, invalidArg("txid"))
		return
	}
	b := append([]byte(nil), '{')
	bad := ""
	s.v.Do(func(tx *venue.Tx) {
		for i, id := range ids {
			o, pi, ok := e.lookup(tx, key.Account, id, "")
			if !ok {
				bad = errUnknownOrder
				return
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = appendTxID(b, 'O', id)
			b = append(b, `":`...)
			b = e.appendOrderInfo(b, pi, &o)
		}
	})
	if bad != "" {
		restError(ctx, bad)
		return
	}
	restResult(ctx, append(b, '}'))
}

func (s *Server) balances(a uint32) []venue.Balance {
	var bs []venue.Balance
	s.v.Do(func(tx *venue.Tx) { bs = tx.Balances(match.AccountID(a), nil) })
	return bs
}

func (s *Server) restBalance(ctx *fasthttp.RequestCtx, key *auth.Key, p *params) {
	b := append([]byte(nil), '{')
	for i, bal := range s.balances(key.Account) {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, restAsset(bal.Asset))
		b = append(b, `:"`...)
		b = appendFixed(b, bal.Free+bal.Locked, bal.Exp)
		b = append(b, '"')
	}
	restResult(ctx, append(b, '}'))
}

func (s *Server) restBalanceEx(ctx *fasthttp.RequestCtx, key *auth.Key, p *params) {
	b := append([]byte(nil), '{')
	for i, bal := range s.balances(key.Account) {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, restAsset(bal.Asset))
		b = append(b, `:{"balance":"`...)
		b = appendFixed(b, bal.Free+bal.Locked, bal.Exp)
		b = append(b, `","hold_trade":"`...)
		b = appendFixed(b, bal.Locked, bal.Exp)
		b = append(b, `"}`...)
	}
	restResult(ctx, append(b, '}'))
}

func (s *Server) restToken(ctx *fasthttp.RequestCtx, key *auth.Key, p *params) {
	tok := s.priv.tokens.Issue(key.Account, s.v.Now())
	b := append([]byte(nil), `{"token":`...)
	b = strconv.AppendQuote(b, tok)
	b = append(b, `,"expires":`...)
	b = strconv.AppendInt(b, int64(auth.DefaultTokenTTL/time.Second), 10)
	restResult(ctx, append(b, '}'))
}
