package binance_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"arbmm/internal/sim/binance"
)

// wsc is a test websocket client: a reader goroutine queues messages.
type wsc struct {
	t      *testing.T
	c      *websocket.Conn
	msgs   chan []byte
	pong   chan struct{}
	events []map[string]any // messages without an "id" seen while waiting for a response
	n      int
}

func dial(t *testing.T, url string) *wsc {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	w := &wsc{t: t, c: c, msgs: make(chan []byte, 1024), pong: make(chan struct{}, 1)}
	c.SetPongHandler(func(string) error {
		w.pong <- struct{}{}
		return nil
	})
	go func() {
		defer close(w.msgs)
		for {
			_, m, err := c.ReadMessage()
			if err != nil {
				return
			}
			w.msgs <- m
		}
	}()
	t.Cleanup(func() { _ = c.Close() })
	return w
}

// sync returns once the server has read a ping sent now: everything it
// set up on accepting the connection is in place.
func (w *wsc) sync() {
	w.t.Helper()
	if err := w.c.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
		w.t.Fatal(err)
	}
	select {
	case <-w.pong:
	case <-time.After(5 * time.Second):
		w.t.Fatal("no pong")
	}
}

// next returns the next message.
func (w *wsc) next() map[string]any {
	w.t.Helper()
	select {
	case m, ok := <-w.msgs:
		if !ok {
			w.t.Fatal("connection closed")
		}
		var v map[string]any
		if err := json.Unmarshal(m, &v); err != nil {
			w.t.Fatalf("%s: %v", m, err)
		}
		return v
	case <-time.After(5 * time.Second):
		w.t.Fatal("timed out waiting for a message")
	}
	return nil
}

// call sends a request and returns its response; events received
// meanwhile are kept in w.events.
func (w *wsc) call(method string, params map[string]any) map[string]any {
	w.t.Helper()
	w.n++
	id := "r" + strconv.Itoa(w.n)
	w.send(id, method, params)
	return w.await(id)
}

func (w *wsc) send(id, method string, params map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err := w.c.WriteMessage(websocket.TextMessage, b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsc) await(id string) map[string]any {
	w.t.Helper()
	for {
		m := w.next()
		if m["id"] == id {
			return m
		}
		w.events = append(w.events, m)
	}
}

// wsPayload is the WebSocket API's signed payload of params.
func wsPayload(params map[string]any) string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var sb strings.Builder
	for i, k := range names {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(k)
		sb.WriteByte('=')
		switch v := params[k].(type) {
		case string:
			sb.WriteString(v)
		case int64:
			sb.WriteString(strconv.FormatInt(v, 10))
		case int:
			sb.WriteString(strconv.Itoa(v))
		}
	}
	return sb.String()
}

// signHMAC adds apiKey, timestamp and an HMAC signature to params.
func (e *env) signHMAC(apiKey, secret string, params map[string]any) map[string]any {
	params["apiKey"] = apiKey
	if _, ok := params["timestamp"]; !ok {
		params["timestamp"] = e.now.Load()
	}
	params["signature"] = hmacHex(secret, wsPayload(params))
	return params
}

func kvs(kv ...string) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func wsOK(t *testing.T, r map[string]any) map[string]any {
	t.Helper()
	if r["status"] != float64(200) {
		t.Fatalf("got %v, want status 200", r)
	}
	if _, ok := r["rateLimits"]; !ok {
		t.Fatalf("no rateLimits in %v", r)
	}
	res, _ := r["result"].(map[string]any)
	return res
}

func wsErr(t *testing.T, r map[string]any, status, code int, msg string) {
	t.Helper()
	e, _ := r["error"].(map[string]any)
	if r["status"] != float64(status) || e == nil || e["code"] != float64(code) || e["msg"] != msg {
		t.Fatalf("got %v, want status %d {code %d, msg %q}", r, status, code, msg)
	}
}

func TestWSAPIDocumentedExample(t *testing.T) {
	vs := loadVectors(t)
	v := vs["binance-ws-api-hmac-ascii"]
	e := newEnv(t, nil)
	e.now.Store(1645423376532)
	params := map[string]any{
		"apiKey": docKey, "price": "52000.00", "quantity": "0.01000000", "recvWindow": 100,
		"side": "SELL", "symbol": "BTCUSDT", "timeInForce": "GTC", "timestamp": int64(1645423376532), "type": "LIMIT",
	}
	if got := wsPayload(params); got != v.Payload {
		t.Fatalf("test payload: got %s, want %s", got, v.Payload)
	}
	params["signature"] = v.Expected
	w := dial(t, e.s.WSAPIURL())
	res := wsOK(t, w.call("order.place", params))
	field(t, res, "symbol", "BTCUSDT")
	field(t, res, "status", "NEW")
	field(t, res, "price", "52000.00")
	field(t, res, "origQty", "0.01000")
	wsErr(t, w.call("order.place", params), 400, -2010, "Duplicate order sent.")
	e.now.Add(101)
	wsErr(t, w.call("order.place", params), 400, -1021, "Timestamp for this request is outside of the recvWindow.")
}

func TestWSAPIAuth(t *testing.T) {
	e := newEnv(t, nil)
	w := dial(t, e.s.WSAPIURL())
	order := func() map[string]any {
		return kvs("symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "20000")
	}
	// Unsigned without logon.
	p := order()
	p["timestamp"] = e.now.Load()
	wsErr(t, w.call("order.place", p), 400, -1102, "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.")
	// Bad signature, unknown key, stale and future timestamps.
	p = e.signHMAC(docKey, "wrong", order())
	wsErr(t, w.call("order.place", p), 400, -1022, "Signature for this request is not valid.")
	wsErr(t, w.call("order.place", e.signHMAC("nobody", "x", order())), 401, -2015, "Invalid API-key, IP, or permissions for action.")
	p = order()
	p["timestamp"] = e.now.Load() - 6000
	wsErr(t, w.call("order.place", e.signHMAC(docKey, docSecret, p)), 400, -1021, "Timestamp for this request is outside of the recvWindow.")
	p = order()
	p["timestamp"] = e.now.Load() + 1500
	wsErr(t, w.call("order.place", e.signHMAC(docKey, docSecret, p)), 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
	p = order()
	p["quantity"] = "0.000001"
	wsErr(t, w.call("order.place", e.signHMAC(docKey, docSecret, p)), 400, -1111, "Parameter 'quantity' has too much precision.")
	// HMAC keys cannot log on.
	wsErr(t, w.call("session.logon", e.signHMAC(docKey, docSecret, map[string]any{})), 400, -4056, "HMAC_SHA256 API key is not supported.")

	// Ed25519 logon, then unsigned requests.
	lp := map[string]any{"apiKey": edKey, "timestamp": e.now.Load()}
	lp["signature"] = base64.StdEncoding.EncodeToString(ed25519.Sign(e.ed, []byte(wsPayload(lp))))
	res := wsOK(t, w.call("session.logon", lp))
	field(t, res, "apiKey", edKey)
	p = order()
	p["timestamp"] = e.now.Load()
	res = wsOK(t, w.call("order.place", p))
	field(t, res, "status", "NEW")
	field(t, wsOK(t, w.call("session.status", nil)), "apiKey", edKey)
	field(t, wsOK(t, w.call("session.logout", nil)), "apiKey", "null")
	e.tick()
	p = order()
	p["timestamp"] = e.now.Load()
	wsErr(t, w.call("order.place", p), 400, -1102, "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.")
	// A bad Ed25519 logon signature.
	lp = map[string]any{"apiKey": edKey, "timestamp": e.now.Load()}
	lp["signature"] = base64.StdEncoding.EncodeToString(ed25519.Sign(e.ed, []byte("something else")))
	wsErr(t, w.call("session.logon", lp), 400, -1022, "Signature for this request is not valid.")
	wsOK(t, w.call("ping", nil))
	field(t, wsOK(t, w.call("time", nil)), "serverTime", strconv.FormatInt(e.now.Load(), 10))
}

func TestWSAPIOrderTypes(t *testing.T) {
	e := newEnv(t, nil)
	w := dial(t, e.s.WSAPIURL())
	wb := dial(t, e.s.WSAPIURL())
	a := func(method string, kv ...string) map[string]any {
		t.Helper()
		e.tick()
		return w.call(method, e.signHMAC(docKey, docSecret, kvs(kv...)))
	}
	b := func(method string, kv ...string) map[string]any {
		t.Helper()
		e.tick()
		return wb.call(method, e.signHMAC(bobKey, bobSecret, kvs(kv...)))
	}
	id := func(m map[string]any) string { return strconv.FormatFloat(m["orderId"].(float64), 'f', 0, 64) }
	sym := []string{"symbol", "BTCUSDT"}
	with := func(kv ...string) []string { return append(append([]string{}, sym...), kv...) }

	o := wsOK(t, a("order.place", with("side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.5", "price", "20000")...))
	field(t, o, "status", "NEW")
	field(t, wsOK(t, a("order.status", with("orderId", id(o))...)), "status", "NEW")
	c := wsOK(t, a("order.cancel", with("orderId", id(o))...))
	field(t, c, "status", "CANCELED")
	wsOK(t, a("order.place", with("side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.5", "price", "20000", "newClientOrderId", "ws-1")...))
	field(t, wsOK(t, a("order.cancel", with("origClientOrderId", "ws-1")...)), "origClientOrderId", "ws-1")
	wsErr(t, a("order.cancel", with("origClientOrderId", "ws-1")...), 400, -2011, "Unknown order sent.")
	wsErr(t, a("order.status", with("orderId", "987654")...), 400, -2013, "Order does not exist.")

	// Partial fill against bob.
	wsOK(t, b("order.place", with("side", "SELL", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.3", "price", "30000")...))
	o = wsOK(t, a("order.place", with("side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.5", "price", "30000")...))
	field(t, o, "status", "PARTIALLY_FILLED")
	field(t, o, "executedQty", "0.30000")
	wsOK(t, a("order.cancel", with("orderId", id(o))...))
	// IOC, FOK, MARKET by qty and by quote.
	wsOK(t, b("order.place", with("side", "SELL", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.2", "price", "30000")...))
	field(t, wsOK(t, a("order.place", with("side", "BUY", "type", "LIMIT", "timeInForce", "IOC", "quantity", "0.5", "price", "30000")...)), "status", "EXPIRED")
	wsOK(t, b("order.place", with("side", "SELL", "type", "LIMIT", "timeInForce", "GTC", "quantity", "1", "price", "30000")...))
	o = wsOK(t, a("order.place", with("side", "BUY", "type", "LIMIT", "timeInForce", "FOK", "quantity", "2", "price", "30000")...))
	field(t, o, "status", "EXPIRED")
	field(t, o, "executedQty", "0.00000")
	field(t, wsOK(t, a("order.place", with("side", "BUY", "type", "MARKET", "quantity", "0.1")...)), "status", "FILLED")
	field(t, wsOK(t, a("order.place", with("side", "BUY", "type", "MARKET", "quoteOrderQty", "300")...)), "executedQty", "0.01000")
	// LIMIT_MAKER.
	mk := wsOK(t, a("order.place", with("side", "BUY", "type", "LIMIT_MAKER", "quantity", "0.1", "price", "29000")...))
	wsErr(t, a("order.place", with("side", "BUY", "type", "LIMIT_MAKER", "quantity", "0.1", "price", "30000")...), 400, -2010, "Order would immediately match and take.")
	// cancelReplace, openOrders, cancelAll.
	cr := wsOK(t, a("order.cancelReplace", with("cancelReplaceMode", "STOP_ON_FAILURE", "cancelOrderId", id(mk),
		"side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.2", "price", "28000")...))
	field(t, cr, "cancelResult", "SUCCESS")
	field(t, cr, "newOrderResult", "SUCCESS")
	wsOK(t, a("order.place", with("side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.1", "price", "27000")...))
	open := a("openOrders.status", sym...)
	if l, _ := open["result"].([]any); len(l) != 2 {
		t.Fatalf("openOrders.status: got %v, want 2 orders", open)
	}
	all := a("openOrders.cancelAll", sym...)
	if l, _ := all["result"].([]any); len(l) != 2 {
		t.Fatalf("openOrders.cancelAll: got %v, want 2 orders", all)
	}
	// account.status equals the ledger.
	res := wsOK(t, a("account.status"))
	raw, _ := json.Marshal(res)
	checkAccount(t, e, alice, resp{status: 200, body: raw})
}

func TestWSAPILostAck(t *testing.T) {
	e := newEnv(t, func(c *binance.Config) { c.Orders.LostAck = 1 })
	w := dial(t, e.s.WSAPIURL())
	w.send("lost", "order.place", e.signHMAC(docKey, docSecret, kvs("symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT",
		"timeInForce", "GTC", "quantity", "0.1", "price", "20000", "newClientOrderId", "lost-ws")))
	e.tick()
	res := wsOK(t, w.call("order.status", e.signHMAC(docKey, docSecret, kvs("symbol", "BTCUSDT", "origClientOrderId", "lost-ws"))))
	field(t, res, "status", "NEW")
	for _, m := range w.events {
		if m["id"] == "lost" {
			t.Fatalf("lost ack: got a response %v, want none", m)
		}
	}
}

// signEd is the base64 Ed25519 signature of params' payload.
func signEd(e *env, params map[string]any) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(e.ed, []byte(wsPayload(params))))
}
