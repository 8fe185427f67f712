package kraken_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"arbmm/internal/sim/kraken"
)

// wsClient is an authenticated WebSocket v2 client: a reader goroutine
// queues every message.
type wsClient struct {
	t     *testing.T
	c     *websocket.Conn
	msgs  chan map[string]any
	token string
	reqID int64
	seen  []map[string]any // read but not yet waited for
}

func (c *client) dialWS(t *testing.T) *wsClient {
	t.Helper()
	var tok struct {
		Token   string
		Expires int
	}
	c.ok(t, "GetWebSocketsToken", nil, &tok)
	if tok.Token == "" || tok.Expires != 900 {
		t.Fatalf("GetWebSocketsToken: got %+v", tok)
	}
	conn, _, err := websocket.DefaultDialer.Dial(c.e.s.AuthWSURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &wsClient{t: t, c: conn, msgs: make(chan map[string]any, 1024), token: tok.Token}
	go func() {
		defer close(w.msgs)
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Errorf("bad JSON from server: %q", b)
				return
			}
			w.msgs <- m
		}
	}()
	t.Cleanup(func() { conn.Close() })
	w.wait("status", func(m map[string]any) bool { return m["channel"] == "status" })
	return w
}

// send sends method with params (token added) and returns its req_id.
func (w *wsClient) send(method string, params map[string]any) int64 {
	w.t.Helper()
	w.reqID++
	if params == nil {
		params = map[string]any{}
	}
	if _, ok := params["token"]; !ok {
		params["token"] = w.token
	}
	if err := w.c.WriteJSON(map[string]any{"method": method, "params": params, "req_id": w.reqID}); err != nil {
		w.t.Fatal(err)
	}
	return w.reqID
}

// wait returns the next message satisfying pred, skipping others.
func (w *wsClient) wait(what string, pred func(map[string]any) bool) map[string]any {
	w.t.Helper()
	for i, m := range w.seen {
		if pred(m) {
			w.seen = append(w.seen[:i], w.seen[i+1:]...)
			return m
		}
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				w.t.Fatalf("waiting for %s: connection closed", what)
			}
			if testing.Verbose() {
				w.t.Logf("recv %v", m)
			}
			if pred(m) {
				return m
			}
			w.seen = append(w.seen, m)
		case <-deadline:
			w.t.Fatalf("waiting for %s: timed out", what)
		}
	}
}

// response waits for the response to reqID.
func (w *wsClient) response(reqID int64) map[string]any {
	w.t.Helper()
	return w.wait("response", func(m map[string]any) bool {
		id, ok := m["req_id"].(float64)
		return ok && int64(id) == reqID
	})
}

func (w *wsClient) ok(method string, params map[string]any) map[string]any {
	w.t.Helper()
	m := w.response(w.send(method, params))
	if m["success"] != true {
		w.t.Fatalf("%s %v: got %v, want success", method, params, m)
	}
	res, _ := m["result"].(map[string]any)
	return res
}

func (w *wsClient) fails(method string, params map[string]any, want string) {
	w.t.Helper()
	m := w.response(w.send(method, params))
	if m["success"] != false || m["error"] != want {
		w.t.Fatalf("%s %v: got %v, want error %q", method, params, m, want)
	}
}

// exec waits for the executions entry of order id with exec_type typ.
func (w *wsClient) exec(id, typ string) map[string]any {
	w.t.Helper()
	var found map[string]any
	w.wait("executions "+typ+" of "+id, func(m map[string]any) bool {
		if m["channel"] != "executions" || m["type"] != "update" {
			return false
		}
		for _, d := range m["data"].([]any) {
			e := d.(map[string]any)
			if e["order_id"] == id && e["exec_type"] == typ {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

func subscribeAll(t *testing.T, w *wsClient) {
	t.Helper()
	res := w.ok("subscribe", map[string]any{"channel": "executions", "snap_orders": true})
	checkEq(t, "subscribe channel", res["channel"], any("executions"))
	w.wait("executions snapshot", func(m map[string]any) bool { return m["channel"] == "executions" && m["type"] == "snapshot" })
	w.ok("subscribe", map[string]any{"channel": "balances"})
	w.wait("balances snapshot", func(m map[string]any) bool { return m["channel"] == "balances" && m["type"] == "snapshot" })
}

func TestWSOrderFlowAndStreams(t *testing.T) {
	e := newEnv(t, nil)
	w := e.a.dialWS(t)
	subscribeAll(t, w)

	res := w.ok("add_order", map[string]any{"order_type": "limit", "side": "buy", "order_qty": 1.0, "symbol": "BTC/USD", "limit_price": 30000.0, "cl_ord_id": "ws-1"})
	id, _ := res["order_id"].(string)
	checkEq(t, "cl_ord_id echoed", res["cl_ord_id"], any("ws-1"))
	pn := w.exec(id, "pending_new")
	checkEq(t, "pending_new symbol", pn["symbol"], any("BTC/USD"))
	w.exec(id, "new")

	// Another account sells into it: a maker fill of 0.4 with a 16 bps fee.
	e.b.add(t, "type", "sell", "ordertype", "limit", "price", "30000", "volume", "0.4")
	tr := w.exec(id, "trade")
	checkEq(t, "last_qty", tr["last_qty"], any(0.4))
	checkEq(t, "liquidity_ind", tr["liquidity_ind"], any("m"))
	checkEq(t, "order_status", tr["order_status"], any("partially_filled"))
	fees := tr["fees"].([]any)
	fee := fees[0].(map[string]any)
	checkEq(t, "fee asset", fee["asset"], any("USD"))
	checkEq(t, "fee qty", fee["qty"], any(19.2))

	// The balances channel's last USD update equals Balance.
	var usd float64
	w.wait("USD balance update", func(m map[string]any) bool {
		if m["channel"] != "balances" || m["type"] != "update" {
			return false
		}
		d := m["data"].([]any)[0].(map[string]any)
		if d["asset"] == "USD" {
			usd = d["balance"].(float64)
			checkEq(t, "update fee", d["fee"], any(19.2))
			return true
		}
		return false
	})
	checkEq(t, "balances USD vs Balance", strings.TrimRight(strings.TrimRight(e.a.balance(t)["ZUSD"], "0"), "."), "87980.8")
	checkEq(t, "balances USD", usd, 87980.8)

	res = w.ok("cancel_order", map[string]any{"order_id": []string{id}})
	checkEq(t, "cancel result", res["order_id"], any(id))
	c := w.exec(id, "canceled")
	checkEq(t, "cancel reason", c["reason"], any("User requested"))
	checkEq(t, "cum_qty", c["cum_qty"], any(0.4))

	// By cl_ord_id; unknown order.
	w.ok("add_order", map[string]any{"order_type": "limit", "side": "sell", "order_qty": 0.1, "symbol": "BTC/USD", "limit_price": 40000, "cl_ord_id": "ws-2"})
	res = w.ok("cancel_order", map[string]any{"cl_ord_id": []string{"ws-2"}})
	checkEq(t, "cancel by cl_ord_id", res["cl_ord_id"], any("ws-2"))
	w.fails("cancel_order", map[string]any{"cl_ord_id": []string{"ws-2"}}, "EOrder:Unknown order")
	checkBalances(t, e)
}

func TestWSOrderTypes(t *testing.T) {
	e := newEnv(t, nil)
	w := e.a.dialWS(t)
	subscribeAll(t, w)
	e.b.add(t, "type", "sell", "ordertype", "limit", "price", "30000", "volume", "0.5")

	res := w.ok("add_order", map[string]any{"order_type": "limit", "side": "buy", "order_qty": "1", "symbol": "BTC/USD", "limit_price": "30000", "time_in_force": "ioc"})
	id := res["order_id"].(string)
	tr := w.exec(id, "trade")
	checkEq(t, "IOC trade liquidity", tr["liquidity_ind"], any("t"))
	ex := w.exec(id, "expired")
	checkEq(t, "IOC cum_qty", ex["cum_qty"], any(0.5))

	e.b.add(t, "type", "sell", "ordertype", "limit", "price", "31000", "volume", "1")
	res = w.ok("add_order", map[string]any{"order_type": "market", "side": "buy", "order_qty": 0.2, "symbol": "BTC/USD"})
	id = res["order_id"].(string)
	f := w.exec(id, "filled")
	checkEq(t, "market avg_price", f["avg_price"], any(31000.0))

	res = w.ok("add_order", map[string]any{"order_type": "limit", "side": "buy", "order_qty": 0.1, "symbol": "BTC/USD", "limit_price": 29000, "post_only": true})
	w.exec(res["order_id"].(string), "new")
	res = w.ok("add_order", map[string]any{"order_type": "limit", "side": "buy", "order_qty": 0.1, "symbol": "BTC/USD", "limit_price": 31000, "post_only": true})
	c := w.exec(res["order_id"].(string), "canceled")
	checkEq(t, "post-only reason", c["reason"], any("Post only order"))

	w.fails("add_order", map[string]any{"order_type": "limit", "side": "buy", "order_qty": 5000, "symbol": "BTC/USD", "limit_price": 29000}, "EOrder:Insufficient funds")
	w.fails("add_order", map[string]any{"order_type": "limit", "side": "buy", "order_qty": 1, "symbol": "BTC/USD", "limit_price": 29000, "token": "bogus"}, "ESession:Invalid session")

	res = w.ok("cancel_all", nil)
	checkEq(t, "cancel_all count", res["count"], any(1.0))
	checkBalances(t, e)
}

func TestCancelAllOrdersAfterFires(t *testing.T) {
	e := newEnv(t, nil)
	w := e.a.dialWS(t)
	subscribeAll(t, w)
	rest := e.a.add(t, "type", "buy", "ordertype", "limit", "price", "100", "volume", "1")
	res := w.ok("add_order", map[string]any{"order_type": "limit", "side": "buy", "order_qty": 1, "symbol": "BTC/USD", "limit_price": 101})
	ws := res["order_id"].(string)

	// Arming and disarming: nothing fires.
	var r struct{ CurrentTime, TriggerTime string }
	e.a.ok(t, "CancelAllOrdersAfter", url.Values{"timeout": {"60"}}, &r)
	if r.TriggerTime == "0" || r.CurrentTime == "" {
		t.Fatalf("armed: got %+v", r)
	}
	e.a.ok(t, "CancelAllOrdersAfter", url.Values{"timeout": {"0"}}, &r)
	checkEq(t, "disarmed triggerTime", r.TriggerTime, "0")

	wr := w.ok("cancel_all_orders_after", map[string]any{"timeout": 1})
	if wr["triggerTime"] == "0" {
		t.Fatalf("ws arm: got %v", wr)
	}
	w.exec(rest, "canceled")
	w.exec(ws, "canceled")
	checkEq(t, "open after the switch", len(e.a.open(t)), 0)
}

func TestWSLostAckAndReject(t *testing.T) {
	t.Run("lost", func(t *testing.T) {
		e := newEnv(t, func(c *kraken.Config) { c.Orders.LostAck = 1 })
		w := e.a.dialWS(t)
		id := w.send("add_order", map[string]any{"order_type": "limit", "side": "buy", "order_qty": 1, "symbol": "BTC/USD", "limit_price": 100, "cl_ord_id": "lost"})
		ping := w.send("ping", nil)
		m := w.wait("any", func(map[string]any) bool { return true })
		if rid, _ := m["req_id"].(float64); int64(rid) == id || m["method"] != "pong" || int64(rid) != ping {
			t.Fatalf("after a lost ack: got %v, want the pong", m)
		}
		open := e.a.open(t)
		if len(open) != 1 {
			t.Fatalf("open after lost ack: got %v, want 1", open)
		}
	})
	t.Run("reject", func(t *testing.T) {
		e := newEnv(t, func(c *kraken.Config) { c.Orders.Reject = 1 })
		w := e.a.dialWS(t)
		w.fails("add_order", map[string]any{"order_type": "limit", "side": "buy", "order_qty": 1, "symbol": "BTC/USD", "limit_price": 100}, "EService:Unavailable")
		checkEq(t, "open after reject", len(e.a.open(t)), 0)
	})
}
