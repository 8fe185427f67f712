package binance

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/wire"
)

// The WebSocket API (/ws-api/v3): requests {"id":..,"method":..,"params":{..}},
// responses {"id":..,"status":200,"result":..,"rateLimits":[..]} or
// {"id":..,"status":4xx,"error":{"code":..,"msg":..},"rateLimits":[..]}.
// A request is signed by its own apiKey/timestamp/signature params (payload:
// auth.BinanceWSPayload), or, after session.logon with an Ed25519 key, sent
// unsigned on the authenticated session.

// wsSession is one WebSocket API connection. Its fields are used only by
// the connection's reader goroutine (onMessage), except through udMu.
type wsSession struct {
	c          *wire.Conn
	ip         string
	connected  time.Time
	key        *auth.Key // set by session.logon
	authorized time.Time
	ud         *udStream // the user data subscription; nil: none
	subN       int       // subscription ids handed out
}

// wsRequest is a WebSocket API request.
type wsRequest struct {
	ID     json.RawMessage            `json:"id"`
	Method string                     `json:"method"`
	Params map[string]json.RawMessage `json:"params"`
}

// serveWSAPI upgrades a WebSocket API connection.
func (s *Server) serveWSAPI(ctx *fasthttp.RequestCtx) {
	ss := &wsSession{ip: ctx.RemoteIP().String(), connected: s.v.Now()}
	n := s.conns.Add(1)
	_ = s.up.Upgrade(ctx, func(ws *websocket.Conn) {
		o := &s.priv
		wire.Serve(ws, wire.Config{Seed: wire.SeedFor(s.cfg.Seed, n)},
			func(c *wire.Conn) {
				ss.c = c
				o.udMu.Lock()
				o.sessions[c] = ss
				o.udMu.Unlock()
			},
			func(c *wire.Conn) {
				o.udMu.Lock()
				delete(o.sessions, c)
				if ss.ud != nil {
					o.removeStreamLocked(ss.key.Account, ss.ud)
					ss.ud = nil
				}
				o.udMu.Unlock()
			},
			func(c *wire.Conn, msg []byte) { s.onWSAPI(ss, msg) })
	})
}

// parseWSParams turns a params object into name/value text: strings
// unquoted, numbers and booleans as written.
func parseWSParams(m map[string]json.RawMessage) (params, bool) {
	var p params
	for k, v := range m {
		val := []byte(v)
		if len(v) > 0 && v[0] == '"' {
			var str string
			if json.Unmarshal(v, &str) != nil {
				return p, false
			}
			val = []byte(str)
		}
		p.kv = append(p.kv, auth.Param{Name: []byte(k), Value: val})
	}
	return p, true
}

// wsMethod describes a signed WebSocket API method.
type wsMethod struct {
	weight    int
	order     bool
	perm      auth.Perm
	replayErr *apiError
	fn        op
}

// onWSAPI answers one request.
func (s *Server) onWSAPI(ss *wsSession, msg []byte) {
	var req wsRequest
	if err := json.Unmarshal(msg, &req); err != nil || req.Method == "" {
		ss.c.SendBytes(s.wsReply(nil, json.RawMessage("null"), nil, errInvalidJSON, auth.Decision{}, false))
		return
	}
	id := req.ID
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	p, ok := parseWSParams(req.Params)
	if !ok {
		ss.c.SendBytes(s.wsReply(nil, id, nil, errInvalidJSON, auth.Decision{}, false))
		return
	}
	var m wsMethod
	switch req.Method {
	case "ping", "time":
		d := s.limiter.Request(ss.ip, 0, 1, false, s.v.Now())
		res := []byte("{}")
		if req.Method == "time" {
			res = strconv.AppendInt([]byte(`{"serverTime":`), s.v.Now().UnixMilli(), 10)
			res = append(res, '}')
		}
		ss.c.SendBytes(s.wsReply(nil, id, res, nil, d, false))
		return
	case "session.logon":
		s.wsLogon(ss, id, &p)
		return
	case "session.status", "session.logout":
		d := s.limiter.Request(ss.ip, 0, 2, false, s.v.Now())
		if req.Method == "session.logout" {
			s.wsUnsubscribe(ss)
			ss.key = nil
		}
		ss.c.SendBytes(s.wsReply(nil, id, s.sessionResult(ss), nil, d, false))
		return
	case "userDataStream.subscribe", "userDataStream.subscribe.signature":
		m = wsMethod{weight: 2, fn: s.wsSubscribeOp(ss)}
	case "userDataStream.unsubscribe":
		d := s.limiter.Request(ss.ip, 0, 2, false, s.v.Now())
		s.wsUnsubscribe(ss)
		ss.c.SendBytes(s.wsReply(nil, id, []byte("{}"), nil, d, false))
		return
	case "order.place":
		m = wsMethod{1, true, auth.PermTrade, errDuplicate, s.opPlace}
	case "order.test":
		m = wsMethod{1, false, auth.PermTrade, errDuplicate, s.opTest}
	case "order.cancel":
		m = wsMethod{1, false, auth.PermTrade, errBadSignature, s.opCancel}
	case "order.cancelReplace":
		m = wsMethod{1, true, auth.PermTrade, errDuplicate, s.opCancelReplace}
	case "order.status":
		m = wsMethod{4, false, auth.PermRead, readOnly, s.opQuery}
	case "openOrders.status":
		m = wsMethod{6, false, auth.PermRead, readOnly, s.opOpenOrders}
		if p.get("symbol") == nil {
			m.weight = 80
		}
	case "openOrders.cancelAll":
		m = wsMethod{1, false, auth.PermTrade, errBadSignature, s.opCancelAll}
	case "account.status":
		m = wsMethod{20, false, auth.PermRead, readOnly, s.opAccount}
	default:
		d := s.limiter.Request(ss.ip, 0, 1, false, s.v.Now())
		ss.c.SendBytes(s.wsReply(nil, id, nil, errUnknownMethod, d, false))
		return
	}
	if m.replayErr == nil {
		m.replayErr = errBadSignature
	}
	key, e := s.wsAuth(ss, req.Method, &p, m.replayErr)
	if e != nil {
		d := s.limiter.Request(ss.ip, 0, m.weight, false, s.v.Now())
		ss.c.SendBytes(s.wsReply(nil, id, nil, e, d, false))
		return
	}
	d := s.limiter.Request(ss.ip, key.Account, m.weight, m.order, s.v.Now())
	if d.Status != fasthttp.StatusOK {
		ss.c.SendBytes(s.wsReply(nil, id, nil, limitError(d, s.v.Now()), d, m.order))
		return
	}
	if m.perm != 0 && !key.Can(m.perm) {
		ss.c.SendBytes(s.wsReply(nil, id, nil, errKeyRejected, d, m.order))
		return
	}
	res, e, lost := m.fn(nil, key, &p)
	if lost {
		return // placed; the response is lost
	}
	ss.c.SendBytes(s.wsReply(nil, id, res, e, d, m.order))
}

// limitError is the WebSocket API's 429/418 error, with retryAfter.
func limitError(d auth.Decision, now time.Time) *apiError {
	e := newErr(d.Status, d.Code, d.Msg)
	data := strconv.AppendInt([]byte(`{"serverTime":`), now.UnixMilli(), 10)
	data = append(data, `,"retryAfter":`...)
	data = strconv.AppendInt(data, now.UnixMilli()+int64(d.RetryAfter)*1000, 10)
	e.data = append(data, '}')
	return e
}

// wsAuth authenticates a signed method: by its own signature, or by the
// session's logon.
func (s *Server) wsAuth(ss *wsSession, method string, p *params, replayErr *apiError) (*auth.Key, *apiError) {
	sig := p.get("signature")
	if sig == nil {
		if ss.key == nil {
			if p.get("apiKey") == nil {
				return nil, errMandatory("apiKey")
			}
			return nil, errMandatory("signature")
		}
		if ss.key.Expired(s.v.Now()) {
			return nil, errKeyRejected
		}
		if e := s.checkTimestamp(p); e != nil {
			return nil, e
		}
		return ss.key, nil
	}
	ak := p.get("apiKey")
	if ak == nil {
		return nil, errMandatory("apiKey")
	}
	key, e := s.lookupKey(ak)
	if e != nil {
		return nil, e
	}
	if e := s.checkTimestamp(p); e != nil {
		return nil, e
	}
	var buf [1024]byte
	payload := auth.BinanceWSPayload(buf[:0], p.kv)
	return key, s.verify(key, payload, sig, p, replayErr, []byte(method))
}

// wsLogon is session.logon: Ed25519 keys only.
func (s *Server) wsLogon(ss *wsSession, id json.RawMessage, p *params) {
	d := s.limiter.Request(ss.ip, 0, 2, false, s.v.Now())
	if d.Status != fasthttp.StatusOK {
		ss.c.SendBytes(s.wsReply(nil, id, nil, limitError(d, s.v.Now()), d, false))
		return
	}
	fail := func(e *apiError) { ss.c.SendBytes(s.wsReply(nil, id, nil, e, d, false)) }
	ak := p.get("apiKey")
	if ak == nil {
		fail(errMandatory("apiKey"))
		return
	}
	key, e := s.lookupKey(ak)
	if e != nil {
		fail(e)
		return
	}
	if key.Type != auth.Ed25519 {
		fail(errHMACLogon)
		return
	}
	sig := p.get("signature")
	if sig == nil {
		fail(errMandatory("signature"))
		return
	}
	if e := s.checkTimestamp(p); e != nil {
		fail(e)
		return
	}
	var buf [512]byte
	payload := auth.BinanceWSPayload(buf[:0], p.kv)
	if e := s.verify(key, payload, sig, p, errBadSignature, []byte("session.logon")); e != nil {
		fail(e)
		return
	}
	if ss.ud != nil && ss.key != nil && ss.key.Account != key.Account {
		s.wsUnsubscribe(ss)
	}
	ss.key, ss.authorized = key, s.v.Now()
	ss.c.SendBytes(s.wsReply(nil, id, s.sessionResult(ss), nil, d, false))
}

// sessionResult is the result of session.logon/status/logout.
func (s *Server) sessionResult(ss *wsSession) []byte {
	b := []byte(`{"apiKey":`)
	if ss.key != nil {
		b = strconv.AppendQuote(b, ss.key.APIKey)
		b = append(b, `,"authorizedSince":`...)
		b = strconv.AppendInt(b, ss.authorized.UnixMilli(), 10)
	} else {
		b = append(b, `null,"authorizedSince":null`...)
	}
	b = append(b, `,"connectedSince":`...)
	b = strconv.AppendInt(b, ss.connected.UnixMilli(), 10)
	b = append(b, `,"returnRateLimits":true,"serverTime":`...)
	b = strconv.AppendInt(b, s.v.Now().UnixMilli(), 10)
	b = append(b, `,"userDataStream":`...)
	b = strconv.AppendBool(b, ss.ud != nil)
	return append(b, '}')
}

// wsSubscribeOp is userDataStream.subscribe: the session's account's
// events on this connection.
func (s *Server) wsSubscribeOp(ss *wsSession) op {
	return func(b []byte, key *auth.Key, p *params) ([]byte, *apiError, bool) {
		o := &s.priv
		o.udMu.Lock()
		if ss.ud != nil {
			o.removeStreamLocked(ss.key.Account, ss.ud)
		}
		if ss.key == nil || ss.key.Account != key.Account {
			ss.key = key // a signed subscription binds the session's stream to its key
		}
		ss.ud = &udStream{c: ss.c, subID: ss.subN}
		ss.subN++
		o.streams[key.Account] = append(o.streams[key.Account], ss.ud)
		o.udMu.Unlock()
		b = append(b, `{"subscriptionId":`...)
		b = strconv.AppendInt(b, int64(ss.ud.subID), 10)
		return append(b, '}'), nil, false
	}
}

// wsUnsubscribe drops the session's user data subscription.
func (s *Server) wsUnsubscribe(ss *wsSession) {
	o := &s.priv
	o.udMu.Lock()
	if ss.ud != nil {
		o.removeStreamLocked(ss.key.Account, ss.ud)
		ss.ud = nil
	}
	o.udMu.Unlock()
}

// wsReply appends a response: result, or the error e.
func (s *Server) wsReply(b []byte, id json.RawMessage, result []byte, e *apiError, d auth.Decision, order bool) []byte {
	b = append(b, `{"id":`...)
	b = append(b, id...)
	b = append(b, `,"status":`...)
	if e != nil {
		b = strconv.AppendInt(b, int64(e.status), 10)
		b = append(b, `,"error":`...)
		b = appendErrorBody(b, e)
	} else {
		b = append(b, `200,"result":`...)
		b = append(b, result...)
	}
	if d.Status != 0 {
		l := s.limiter.Limits()
		b = append(b, `,"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":`...)
		b = strconv.AppendInt(b, int64(l.WeightPerMinute), 10)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(d.UsedWeight1m), 10)
		b = append(b, '}')
		if order {
			b = append(b, `,{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":`...)
			b = strconv.AppendInt(b, int64(l.OrdersPer10s), 10)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, int64(d.OrderCount10s), 10)
			b = append(b, `},{"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":`...)
			b = strconv.AppendInt(b, int64(l.OrdersPerDay), 10)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, int64(d.OrderCount1d), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
