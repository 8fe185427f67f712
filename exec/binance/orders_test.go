package binance

import (
	"encoding/json"
	"strings"
	"testing"

	"arbmm/exec"
	"arbmm/internal/market"
)

func hmacCred(apiKey, secret string) *exec.Credential {
	return &exec.Credential{ID: "test", APIKey: apiKey, Kind: exec.HMAC, Secret: []byte(secret)}
}

// TestRESTVector: POST /api/v3/order's documented HMAC example, byte for
// byte, from an Intent.
func TestRESTVector(t *testing.T) {
	v := loadVectors(t)["binance-rest-hmac-ascii"]
	inst := &market.Instrument{Venue: market.Binance, Symbol: "LTCBTC", PriceExp: 1, QtyExp: 0}
	in := market.Intent{Action: market.ActNew, Inst: inst, Side: market.Buy, Type: market.Limit, TIF: market.GTC, Price: 1, Qty: 1}
	var q reqBuf
	var g signer
	g.use(hmacCred(v.APIKey, v.Secret))
	got, err := q.appendRESTIntent(nil, &in, &OrderOpts{RecvWindow: 5000}, &g, 1499827319559)
	if err != nil {
		t.Fatal(err)
	}
	if want := v.Payload + "&signature=" + v.Expected; string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if m, p := restRoute(in.Action); m != "POST" || p != "/api/v3/order" {
		t.Fatalf("got %s %s, want POST /api/v3/order", m, p)
	}
}

// TestWSVector: the WebSocket API's documented HMAC example: the payload
// and signature byte for byte, and the request carries the parameters.
func TestWSVector(t *testing.T) {
	v := loadVectors(t)["binance-ws-api-hmac-ascii"]
	apiKey := "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
	inst := &market.Instrument{Venue: market.Binance, Symbol: "BTCUSDT", PriceExp: 2, QtyExp: 8}
	in := market.Intent{Action: market.ActNew, Inst: inst, Side: market.Sell, Type: market.Limit, TIF: market.GTC, Price: 5200000, Qty: 1000000}
	var q reqBuf
	var g signer
	g.use(hmacCred(apiKey, v.Secret))
	got, err := q.appendWSIntent(nil, 7, &in, &OrderOpts{RecvWindow: 100}, &g, true, 1645423376532)
	if err != nil {
		t.Fatal(err)
	}
	if string(q.pay) != v.Payload {
		t.Fatalf("payload: got  %s\nwant %s", q.pay, v.Payload)
	}
	if string(q.sig) != v.Expected {
		t.Fatalf("signature: got %s, want %s", q.sig, v.Expected)
	}
	var req struct {
		ID     int            `json:"id"`
		Method string         `json:"method"`
		Params map[string]any `json:"params"`
	}
	if err := json.Unmarshal(got, &req); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if req.ID != 7 || req.Method != "order.place" || req.Params["signature"] != v.Expected ||
		req.Params["price"] != "52000.00" || req.Params["recvWindow"] != float64(100) || req.Params["apiKey"] != apiKey {
		t.Fatalf("got %s", got)
	}
}

// TestWSEncodings: every action's method and parameters.
func TestWSEncodings(t *testing.T) {
	inst := &market.Instrument{Venue: market.Binance, Symbol: "BTCUSDT", PriceExp: 2, QtyExp: 5}
	opts := &OrderOpts{RecvWindow: 5000, RespType: RespResult, STP: "EXPIRE_MAKER"}
	var g signer
	g.use(hmacCred("key", "secret"))
	check := func(in market.Intent, sign bool, method string, want map[string]any) {
		t.Helper()
		var q reqBuf
		b, err := q.appendWSIntent(nil, 1, &in, opts, &g, sign, 1700000000000)
		if err != nil {
			t.Fatal(err)
		}
		var req struct {
			Method string         `json:"method"`
			Params map[string]any `json:"params"`
		}
		if err := json.Unmarshal(b, &req); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if req.Method != method {
			t.Errorf("got method %s, want %s", req.Method, method)
		}
		_, signed := req.Params["signature"]
		_, hasKey := req.Params["apiKey"]
		if signed != sign || hasKey != sign {
			t.Errorf("%s: signature %v apiKey %v, want %v", b, signed, hasKey, sign)
		}
		for k, v := range want {
			if v == nil {
				if _, ok := req.Params[k]; ok {
					t.Errorf("%s: has %s, want none", b, k)
				}
			} else if req.Params[k] != v {
				t.Errorf("%s: %s = %v, want %v", b, k, req.Params[k], v)
			}
		}
	}
	id := market.ClientID(0xabc)
	check(market.Intent{Action: market.ActNew, Inst: inst, Side: market.Buy, Type: market.Limit, TIF: market.IOC, Price: 123456, Qty: 1500, ClientID: id}, true, "order.place",
		map[string]any{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "IOC", "price": "1234.56", "quantity": "0.01500",
			"newClientOrderId": id.String(), "newOrderRespType": "RESULT", "selfTradePreventionMode": "EXPIRE_MAKER", "recvWindow": float64(5000), "timestamp": float64(1700000000000)})
	check(market.Intent{Action: market.ActNew, Inst: inst, Side: market.Sell, Type: market.Market, Qty: 1, ClientID: id}, false, "order.place",
		map[string]any{"type": "MARKET", "side": "SELL", "price": nil, "timeInForce": nil, "quantity": "0.00001"})
	check(market.Intent{Action: market.ActNew, Inst: inst, Side: market.Sell, Type: market.LimitMaker, Price: 1, Qty: 1, ClientID: id}, true, "order.place",
		map[string]any{"type": "LIMIT_MAKER", "timeInForce": nil, "price": "0.01"})
	check(market.Intent{Action: market.ActCancel, Inst: inst, ClientID: id}, true, "order.cancel",
		map[string]any{"symbol": "BTCUSDT", "origClientOrderId": id.String()})
	check(market.Intent{Action: market.ActCancelAll, Inst: inst}, true, "openOrders.cancelAll", map[string]any{"symbol": "BTCUSDT"})
	check(market.Intent{Action: market.ActReplace, Inst: inst, Side: market.Buy, Type: market.Limit, Price: 100, Qty: 2, ClientID: id, NewID: id + 1}, true, "order.cancelReplace",
		map[string]any{"cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrigClientOrderId": id.String(), "newClientOrderId": (id + 1).String(), "price": "1.00"})

	var q reqBuf
	for _, bad := range []market.Intent{
		{Action: market.ActNew, Side: market.Buy, Qty: 1},
		{Action: market.ActNew, Inst: inst, Qty: 0, Price: 1},
		{Action: market.ActNew, Inst: inst, Qty: 1, Price: 0},
		{Action: market.ActCancel, Inst: inst},
		{Action: 9, Inst: inst, Qty: 1, Price: 1},
	} {
		if _, err := q.appendWSIntent(nil, 1, &bad, opts, &g, true, 1); err != ErrBadIntent {
			t.Errorf("%+v: got %v, want ErrBadIntent", bad, err)
		}
	}
}

func TestJSONStringEscape(t *testing.T) {
	got := string(appendJSONString(nil, []byte("a\"b\\c\x01")))
	var s string
	if err := json.Unmarshal([]byte(got), &s); err != nil || s != "a\"b\\c\x01" {
		t.Fatalf("got %s (%q, %v)", got, s, err)
	}
	if strings.Contains(got, "\x01") {
		t.Fatalf("control character not escaped: %q", got)
	}
}
