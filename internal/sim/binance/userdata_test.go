package binance_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// unwrap returns a user data event: bare (legacy stream) or inside the
// WebSocket API's {"subscriptionId":n,"event":{...}}.
func unwrap(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	if ev, ok := m["event"].(map[string]any); ok {
		if _, ok := m["subscriptionId"]; !ok {
			t.Fatalf("event without subscriptionId: %v", m)
		}
		return ev
	}
	return m
}

// userDataScenario: alice rests a bid, bob's sell partially fills it,
// alice cancels the rest. It checks alice's events in order, and returns.
func userDataScenario(t *testing.T, e *env, next func() map[string]any) {
	t.Helper()
	e.tick()
	wantOK(t, e.alice("POST", "/api/v3/order", "symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC",
		"quantity", "0.5", "price", "30000", "newClientOrderId", "ud-1"))
	e.tick()
	wantOK(t, e.bob("POST", "/api/v3/order", "symbol", "BTCUSDT", "side", "SELL", "type", "LIMIT", "timeInForce", "GTC",
		"quantity", "0.2", "price", "30000", "newClientOrderId", "bob-1"))
	e.tick()
	wantOK(t, e.alice("DELETE", "/api/v3/order", "symbol", "BTCUSDT", "origClientOrderId", "ud-1", "newClientOrderId", "ud-cancel"))

	type want struct{ x, X, c, C, l, z, n, N string }
	wants := []want{
		{"NEW", "NEW", "ud-1", "", "0.00000", "0.00000", "0", "null"},
		{"TRADE", "PARTIALLY_FILLED", "ud-1", "", "0.20000", "0.20000", "0.00020000", "BTC"},
		{"CANCELED", "CANCELED", "ud-cancel", "ud-1", "0.00000", "0.20000", "0", "null"},
	}
	var last map[string]any // the last outboundAccountPosition
	positions := 0
	for i := 0; i < len(wants); {
		ev := unwrap(t, next())
		switch ev["e"] {
		case "executionReport":
			w := wants[i]
			for _, kv := range [][2]string{{"x", w.x}, {"X", w.X}, {"c", w.c}, {"C", w.C}, {"l", w.l}, {"z", w.z}, {"n", w.n}, {"N", w.N}, {"s", "BTCUSDT"}, {"S", "BUY"}, {"o", "LIMIT"}, {"f", "GTC"}, {"q", "0.50000"}, {"p", "30000.00"}} {
				field(t, ev, kv[0], kv[1])
			}
			for _, k := range []string{"E", "i", "T", "t", "I", "w", "m", "O", "Z", "Y", "Q", "W", "V", "L", "P", "F", "g", "r"} {
				if _, ok := ev[k]; !ok {
					t.Fatalf("executionReport without %q: %v", k, ev)
				}
			}
			if i == 1 {
				field(t, ev, "m", "true")
				field(t, ev, "L", "30000.00")
			}
			i++
		case "outboundAccountPosition":
			positions++
			last = ev
		default:
			t.Fatalf("unexpected event %v", ev)
		}
		if c, _ := ev["c"].(string); strings.HasPrefix(c, "bob") {
			t.Fatalf("alice's stream got bob's event %v", ev)
		}
	}
	// The cancel's balance update follows its report.
	if ev := unwrap(t, next()); ev["e"] == "outboundAccountPosition" {
		last = ev
		positions++
	} else {
		t.Fatalf("got %v, want outboundAccountPosition", ev)
	}
	if positions < 3 {
		t.Fatalf("got %d outboundAccountPosition events, want one per operation (3)", positions)
	}
	// Its balances equal GET /api/v3/account.
	e.tick()
	r := e.alice("GET", "/api/v3/account")
	var acc struct {
		Balances []struct{ Asset, Free, Locked string }
	}
	if err := json.Unmarshal(r.body, &acc); err != nil {
		t.Fatal(err)
	}
	bs := last["B"].([]any)
	if len(bs) == 0 {
		t.Fatalf("outboundAccountPosition without balances: %v", last)
	}
	for _, x := range bs {
		b := x.(map[string]any)
		found := false
		for _, a := range acc.Balances {
			if a.Asset == b["a"] {
				found = true
				if a.Free != b["f"] || a.Locked != b["l"] {
					t.Fatalf("%s: stream free %v locked %v, account %s %s", a.Asset, b["f"], b["l"], a.Free, a.Locked)
				}
			}
		}
		if !found {
			t.Fatalf("asset %v not in the account", b["a"])
		}
	}
	checkAccount(t, e, alice, r)
}

func TestUserDataListenKey(t *testing.T) {
	e := newEnv(t, nil)
	r := e.raw("POST", "/api/v3/userDataStream", docKey, "", "")
	wantOK(t, r)
	lk, _ := r.obj(t)["listenKey"].(string)
	if len(lk) != 60 {
		t.Fatalf("listenKey: got %q, want 60 characters", lk)
	}
	if again, _ := e.raw("POST", "/api/v3/userDataStream", docKey, "", "").obj(t)["listenKey"].(string); again != lk {
		t.Fatalf("second POST: got %q, want the same key %q", again, lk)
	}
	wantOK(t, e.raw("PUT", "/api/v3/userDataStream", docKey, "listenKey="+lk, ""))
	wantErr(t, e.raw("PUT", "/api/v3/userDataStream", docKey, "listenKey=nope", ""), 400, -1125, "This listenKey does not exist.")
	wantErr(t, e.raw("PUT", "/api/v3/userDataStream", bobKey, "listenKey="+lk, ""), 400, -1125, "This listenKey does not exist.")

	w := dial(t, "ws://"+e.s.Addr()+"/ws/"+lk)
	w.sync()
	userDataScenario(t, e, w.next)

	wantOK(t, e.raw("DELETE", "/api/v3/userDataStream", docKey, "listenKey="+lk, ""))
	deadline := time.After(5 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-w.msgs:
		case <-deadline:
			t.Fatal("stream still open after DELETE of its listenKey")
		}
	}
}

func TestUserDataWSAPISubscribe(t *testing.T) {
	e := newEnv(t, nil)
	w := dial(t, e.s.WSAPIURL())
	wsErr(t, w.call("userDataStream.subscribe", nil), 400, -1102, "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.")
	lp := map[string]any{"apiKey": edKey, "timestamp": e.now.Load()}
	lp["signature"] = signEd(e, lp)
	wsOK(t, w.call("session.logon", lp))
	e.tick()
	res := wsOK(t, w.call("userDataStream.subscribe", map[string]any{"timestamp": e.now.Load()}))
	if _, ok := res["subscriptionId"]; !ok {
		t.Fatalf("subscribe: got %v, want a subscriptionId", res)
	}
	field(t, wsOK(t, w.call("session.status", nil)), "userDataStream", "true")
	i := 0
	next := func() map[string]any {
		if i < len(w.events) {
			i++
			return w.events[i-1]
		}
		return w.next()
	}
	userDataScenario(t, e, next)
	wsOK(t, w.call("userDataStream.unsubscribe", nil))
	field(t, wsOK(t, w.call("session.status", nil)), "userDataStream", "false")
}
