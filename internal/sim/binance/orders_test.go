package binance_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/binance"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

// The documented example keys (vectors.json) and the test's own.
const (
	docKey    = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
	docSecret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
	bobKey    = "bobKey0123456789"
	bobSecret = "bob-secret-generated-in-test"
	edKey     = "edKey0123456789"
	roKey     = "readOnlyKey0123"

	alice = 1 // docKey, edKey, roKey
	bob   = 2
)

// t0 is the vector's timestamp: the venue clock starts there.
const t0 = 1499827319559

type vector struct {
	ID, APIKey, Secret, Payload, Expected string
}

func loadVectors(t *testing.T) map[string]vector {
	t.Helper()
	b, err := os.ReadFile("/work/shared/fixtures/signing/vectors.json")
	if err != nil {
		t.Fatalf("vectors: %v", err)
	}
	var vs []struct {
		ID       string `json:"id"`
		APIKey   string `json:"api_key"`
		Secret   string `json:"secret"`
		Payload  string `json:"payload"`
		Expected string `json:"expected"`
	}
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	m := map[string]vector{}
	for _, v := range vs {
		m[v.ID] = vector{v.ID, v.APIKey, v.Secret, v.Payload, v.Expected}
	}
	return m
}

// env is a venue with BTCUSDT and LTCBTC, its Binance server on loopback,
// funded accounts alice and bob, and a settable clock.
type env struct {
	t    *testing.T
	v    *venue.Venue
	s    *binance.Server
	now  atomic.Int64 // venue clock, unix ms
	ed   ed25519.PrivateKey
	http *http.Client
}

func newEnv(t *testing.T, tweak func(*binance.Config)) *env {
	t.Helper()
	e := &env{t: t, http: &http.Client{Timeout: 10 * time.Second}}
	e.now.Store(t0)
	v, err := venue.New(venue.Config{
		Name: "binance",
		Pairs: []venue.PairConfig{
			{Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 5,
				Tick: 1, Step: 1, MakerFeeBps: 10, TakerFeeBps: 10},
			{Symbol: "LTCBTC", Pair: market.Pair{Base: "LTC", Quote: "BTC"}, PriceExp: 6, QtyExp: 2,
				Tick: 1, Step: 1, MakerFeeBps: 10, TakerFeeBps: 10},
		},
		Clock: func() time.Time { return time.UnixMilli(e.now.Load()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.v = v
	keys := auth.NewKeys()
	e.ed = ed25519.NewKeyFromSeed([]byte("arbmm-sim-binance-test-seed-0032"))
	for _, k := range []auth.Key{
		{APIKey: docKey, Type: auth.HMAC, Secret: []byte(docSecret), Account: alice, Perms: auth.PermRead | auth.PermTrade},
		{APIKey: bobKey, Type: auth.HMAC, Secret: []byte(bobSecret), Account: bob, Perms: auth.PermRead | auth.PermTrade},
		{APIKey: edKey, Type: auth.Ed25519, Public: e.ed.Public().(ed25519.PublicKey), Account: alice, Perms: auth.PermRead | auth.PermTrade},
		{APIKey: roKey, Type: auth.HMAC, Secret: []byte(bobSecret), Account: alice, Perms: auth.PermRead},
	} {
		if err := keys.Add(k); err != nil {
			t.Fatal(err)
		}
	}
	cfg := binance.Config{Venue: v, Seed: 7, Keys: keys}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := binance.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	e.s = s
	for _, a := range []match.AccountID{alice, bob} {
		e.deposit(a, "USDT", "1000000")
		e.deposit(a, "BTC", "100")
		e.deposit(a, "LTC", "1000")
	}
	return e
}

// deposit credits a decimal amount.
func (e *env) deposit(a match.AccountID, asset, amount string) {
	e.t.Helper()
	dec := e.decimals(asset)
	m, err := market.ParseFixed([]byte(amount), dec)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.v.Deposit(a, asset, m); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) decimals(asset string) int {
	var dec int
	e.v.Do(func(tx *venue.Tx) {
		for _, b := range tx.Balances(0, nil) {
			if b.Asset == asset {
				dec = b.Exp
			}
		}
	})
	return dec
}

// ledger returns account a's balances as Binance prints them.
func (e *env) ledger(a match.AccountID) map[string][2]string {
	m := map[string][2]string{}
	e.v.Do(func(tx *venue.Tx) {
		for _, b := range tx.Balances(a, nil) {
			m[b.Asset] = [2]string{string(market.AppendFixed(nil, b.Free, b.Exp)), string(market.AppendFixed(nil, b.Locked, b.Exp))}
		}
	})
	return m
}

func hmacHex(secret, payload string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}

// resp is a REST response.
type resp struct {
	status int
	body   []byte
	hdr    http.Header
}

func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return m
}

func (r resp) list(t *testing.T) []map[string]any {
	t.Helper()
	var m []map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return m
}

// raw sends a request with a ready query string and body.
func (e *env) raw(method, path, apiKey, query, body string) resp {
	e.t.Helper()
	u := e.s.RESTURL() + path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if apiKey != "" {
		req.Header.Set("X-MBX-APIKEY", apiKey)
	}
	r, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, b, r.Header}
}

// signed sends params (timestamp added unless present) in the query
// string, HMAC-signed with secret.
func (e *env) signed(method, path, apiKey, secret string, kv ...string) resp {
	e.t.Helper()
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	if q.Get("timestamp") == "" {
		q.Set("timestamp", strconv.FormatInt(e.now.Load(), 10))
	}
	payload := q.Encode()
	return e.raw(method, path, apiKey, payload+"&signature="+hmacHex(secret, payload), "")
}

func (e *env) alice(method, path string, kv ...string) resp {
	e.t.Helper()
	return e.signed(method, path, docKey, docSecret, kv...)
}

func (e *env) bob(method, path string, kv ...string) resp {
	e.t.Helper()
	return e.signed(method, path, bobKey, bobSecret, kv...)
}

// tick advances the clock by 1 ms, so that otherwise identical requests
// differ in timestamp (and signature).
func (e *env) tick() { e.now.Add(1) }

func wantOK(t *testing.T, r resp) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("got %d %s, want 200", r.status, r.body)
	}
}

func wantErr(t *testing.T, r resp, status, code int, msg string) {
	t.Helper()
	var m struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}
	_ = json.Unmarshal(r.body, &m)
	if r.status != status || m.Code != code || m.Msg != msg {
		t.Fatalf("got %d %s, want %d {code %d, msg %q}", r.status, r.body, status, code, msg)
	}
}

func field(t *testing.T, m map[string]any, name, want string) {
	t.Helper()
	got := m[name]
	var s string
	switch x := got.(type) {
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	case nil:
		s = "null"
	default:
		b, _ := json.Marshal(x)
		s = string(b)
	}
	if s != want {
		t.Fatalf("%s: got %q, want %q (in %v)", name, s, want, m)
	}
}

func TestRESTDocumentedExample(t *testing.T) {
	vs := loadVectors(t)
	v := vs["binance-rest-hmac-ascii"]
	e := newEnv(t, nil)
	if got := hmacHex(v.Secret, v.Payload); got != v.Expected {
		t.Fatalf("test signer: got %s, want %s", got, v.Expected)
	}
	body := v.Payload + "&signature=" + v.Expected
	r := e.raw("POST", "/api/v3/order", v.APIKey, "", body)
	wantOK(t, r)
	m := r.obj(t)
	field(t, m, "symbol", "LTCBTC")
	field(t, m, "status", "NEW")
	field(t, m, "price", "0.100000")
	field(t, m, "origQty", "1.00")
	field(t, m, "transactTime", "1499827319559")
	if cid, _ := m["clientOrderId"].(string); len(cid) != 22 {
		t.Fatalf("generated clientOrderId: got %q, want 22 characters", cid)
	}
	// The same request again is a replay.
	wantErr(t, e.raw("POST", "/api/v3/order", v.APIKey, "", body), 400, -2010, "Duplicate order sent.")
	// Also as a query string: the same signature.
	wantErr(t, e.raw("POST", "/api/v3/order", v.APIKey, body, ""), 400, -2010, "Duplicate order sent.")
	// Past the window the venue's clock refuses it first.
	e.now.Add(5001)
	wantErr(t, e.raw("POST", "/api/v3/order", v.APIKey, "", body), 400, -1021, "Timestamp for this request is outside of the recvWindow.")
}

func TestRESTAuthErrors(t *testing.T) {
	e := newEnv(t, nil)
	order := []string{"symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.001", "price", "20000"}
	ts := func(d int64) string { return strconv.FormatInt(e.now.Load()+d, 10) }

	q := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=20000&timestamp=" + ts(0)
	wantErr(t, e.raw("POST", "/api/v3/order", docKey, q+"&signature="+hmacHex("wrong", q), ""), 400, -1022, "Signature for this request is not valid.")
	wantErr(t, e.raw("POST", "/api/v3/order", docKey, q, ""), 400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
	wantErr(t, e.alice("POST", "/api/v3/order", append(order, "timestamp", ts(-5001))...), 400, -1021, "Timestamp for this request is outside of the recvWindow.")
	wantErr(t, e.alice("POST", "/api/v3/order", append(order, "timestamp", ts(-1001), "recvWindow", "1000")...), 400, -1021, "Timestamp for this request is outside of the recvWindow.")
	wantErr(t, e.alice("POST", "/api/v3/order", append(order, "timestamp", ts(1001))...), 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
	wantErr(t, e.alice("POST", "/api/v3/order", append(order, "recvWindow", "60001")...), 400, -1131, "recvWindow must be less than 60000")
	wantErr(t, e.signed("POST", "/api/v3/order", "unknownKey1", "x", order...), 401, -2015, "Invalid API-key, IP, or permissions for action.")
	wantErr(t, e.signed("POST", "/api/v3/order", "bad key!", "x", order...), 401, -2014, "API-key format invalid.")
	wantErr(t, e.signed("POST", "/api/v3/order", "", "x", order...), 401, -2014, "API-key format invalid.")
	wantErr(t, e.signed("POST", "/api/v3/order", roKey, bobSecret, order...), 401, -2015, "Invalid API-key, IP, or permissions for action.")
	wantErr(t, e.alice("POST", "/api/v3/order", "side", "BUY", "type", "MARKET", "quantity", "1"), 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
	wantErr(t, e.alice("POST", "/api/v3/order", "symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "quantity", "1", "price", "1"), 400, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.")
	wantErr(t, e.alice("POST", "/api/v3/order", "symbol", "BTCUSDT", "side", "BUY", "type", "MARKET"), 400, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
	wantErr(t, e.alice("POST", "/api/v3/order", "symbol", "XXXYYY", "side", "BUY", "type", "MARKET", "quantity", "1"), 400, -1121, "Invalid symbol.")
	e.tick()
	wantErr(t, e.alice("POST", "/api/v3/order", "symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.000001", "price", "20000"), 400, -1111, "Parameter 'quantity' has too much precision.")
	wantErr(t, e.alice("POST", "/api/v3/order", "symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.001", "price", "20000.001"), 400, -1111, "Parameter 'price' has too much precision.")
	wantErr(t, e.alice("POST", "/api/v3/order", "symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "1e3", "price", "20000"), 400, -1100, "Illegal characters found in parameter 'quantity'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")
	wantErr(t, e.alice("POST", "/api/v3/order", "symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "1000", "price", "20000"), 400, -2010, "Account has insufficient balance for requested action.")
	wantErr(t, e.alice("GET", "/api/v3/order", "symbol", "BTCUSDT", "orderId", "999"), 400, -2013, "Order does not exist.")
	wantErr(t, e.alice("DELETE", "/api/v3/order", "symbol", "BTCUSDT", "orderId", "999"), 400, -2011, "Unknown order sent.")
	wantErr(t, e.alice("DELETE", "/api/v3/order", "symbol", "BTCUSDT"), 400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
	// Nothing reached the book.
	if r := e.alice("GET", "/api/v3/openOrders"); string(r.body) != "[]" {
		t.Fatalf("open orders: got %s, want []", r.body)
	}
}

func TestRESTOrderTypes(t *testing.T) {
	e := newEnv(t, nil)
	place := func(who func(string, string, ...string) resp, kv ...string) map[string]any {
		t.Helper()
		e.tick()
		r := who("POST", "/api/v3/order", append([]string{"symbol", "BTCUSDT"}, kv...)...)
		wantOK(t, r)
		return r.obj(t)
	}
	id := func(m map[string]any) string { return strconv.FormatFloat(m["orderId"].(float64), 'f', 0, 64) }

	// LIMIT GTC rests, then is canceled by orderId.
	o := place(e.alice, "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.5", "price", "20000")
	field(t, o, "status", "NEW")
	field(t, o, "fills", "[]")
	field(t, o, "selfTradePreventionMode", "EXPIRE_MAKER")
	q := e.alice("GET", "/api/v3/order", "symbol", "BTCUSDT", "orderId", id(o)).obj(t)
	field(t, q, "status", "NEW")
	field(t, q, "isWorking", "true")
	if got := e.ledger(alice)["USDT"][1]; got != "10000.0000000" {
		t.Fatalf("locked USDT: got %s, want 10000.0000000", got)
	}
	e.tick()
	c := e.alice("DELETE", "/api/v3/order", "symbol", "BTCUSDT", "orderId", id(o), "newClientOrderId", "myCancel")
	wantOK(t, c)
	cm := c.obj(t)
	field(t, cm, "status", "CANCELED")
	field(t, cm, "clientOrderId", "myCancel")
	field(t, cm, "origClientOrderId", o["clientOrderId"].(string))

	// Cancel by origClientOrderId.
	place(e.alice, "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.5", "price", "20000", "newClientOrderId", "mine-1")
	e.tick()
	wantOK(t, e.alice("DELETE", "/api/v3/order", "symbol", "BTCUSDT", "origClientOrderId", "mine-1"))
	q = e.alice("GET", "/api/v3/order", "symbol", "BTCUSDT", "origClientOrderId", "mine-1").obj(t)
	field(t, q, "status", "CANCELED")

	// A crossing LIMIT partially fills against bob's resting ask.
	ask := place(e.bob, "side", "SELL", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.3", "price", "30000")
	o = place(e.alice, "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.5", "price", "30100")
	field(t, o, "status", "PARTIALLY_FILLED")
	field(t, o, "executedQty", "0.30000")
	field(t, o, "cummulativeQuoteQty", "9000.0000000")
	fills := o["fills"].([]any)
	if len(fills) != 1 {
		t.Fatalf("fills: got %v, want one", fills)
	}
	f := fills[0].(map[string]any)
	field(t, f, "price", "30000.00")
	field(t, f, "qty", "0.30000")
	field(t, f, "commission", "0.00030000") // 10 bps of 0.3 BTC, in BTC (received)
	field(t, f, "commissionAsset", "BTC")
	field(t, e.bob("GET", "/api/v3/order", "symbol", "BTCUSDT", "orderId", id(ask)).obj(t), "status", "FILLED")
	e.tick()
	wantOK(t, e.alice("DELETE", "/api/v3/order", "symbol", "BTCUSDT", "orderId", id(o)))

	// IOC: partial fill, rest expires.
	place(e.bob, "side", "SELL", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.2", "price", "30000")
	o = place(e.alice, "side", "BUY", "type", "LIMIT", "timeInForce", "IOC", "quantity", "0.5", "price", "30000")
	field(t, o, "status", "EXPIRED")
	field(t, o, "executedQty", "0.20000")
	// FOK: cannot fill completely, expires without trading.
	place(e.bob, "side", "SELL", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.2", "price", "30000")
	o = place(e.alice, "side", "BUY", "type", "LIMIT", "timeInForce", "FOK", "quantity", "0.5", "price", "30000")
	field(t, o, "status", "EXPIRED")
	field(t, o, "executedQty", "0.00000")
	// MARKET by quantity, then by quoteOrderQty.
	place(e.bob, "side", "SELL", "type", "LIMIT", "timeInForce", "GTC", "quantity", "1", "price", "30000")
	o = place(e.alice, "side", "BUY", "type", "MARKET", "quantity", "0.1")
	field(t, o, "status", "FILLED")
	field(t, o, "type", "MARKET")
	field(t, o, "executedQty", "0.10000")
	o = place(e.alice, "side", "BUY", "type", "MARKET", "quoteOrderQty", "600", "newOrderRespType", "RESULT")
	field(t, o, "status", "FILLED")
	field(t, o, "executedQty", "0.02000")
	field(t, o, "cummulativeQuoteQty", "600.0000000")
	field(t, o, "origQuoteOrderQty", "600.0000000")
	if _, ok := o["fills"]; ok {
		t.Fatalf("RESULT response has fills: %v", o)
	}
	o = place(e.alice, "side", "SELL", "type", "MARKET", "quantity", "0.01", "newOrderRespType", "ACK")
	if _, ok := o["status"]; ok || o["orderId"] == nil {
		t.Fatalf("ACK response: got %v, want symbol/orderId/clientOrderId/transactTime only", o)
	}
	// LIMIT_MAKER: rests below the ask, is refused at it.
	o = place(e.alice, "side", "BUY", "type", "LIMIT_MAKER", "quantity", "0.1", "price", "29000")
	field(t, o, "type", "LIMIT_MAKER")
	field(t, o, "status", "NEW")
	e.tick()
	wantErr(t, e.alice("POST", "/api/v3/order", "symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT_MAKER", "quantity", "0.1", "price", "30000"), 400, -2010, "Order would immediately match and take.")

	// cancelReplace: the LIMIT_MAKER becomes a lower bid.
	e.tick()
	r := e.alice("POST", "/api/v3/order/cancelReplace", "symbol", "BTCUSDT", "cancelReplaceMode", "STOP_ON_FAILURE", "cancelOrderId", id(o),
		"side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.2", "price", "28000")
	wantOK(t, r)
	cr := r.obj(t)
	field(t, cr, "cancelResult", "SUCCESS")
	field(t, cr, "newOrderResult", "SUCCESS")
	field(t, cr["cancelResponse"].(map[string]any), "status", "CANCELED")
	field(t, cr["newOrderResponse"].(map[string]any), "price", "28000.00")
	e.tick()
	r = e.alice("POST", "/api/v3/order/cancelReplace", "symbol", "BTCUSDT", "cancelReplaceMode", "STOP_ON_FAILURE", "cancelOrderId", "424242",
		"side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.2", "price", "28000")
	wantErr(t, r, 400, -2022, "Order cancel-replace failed.")
	field(t, r.obj(t)["data"].(map[string]any), "newOrderResult", "NOT_ATTEMPTED")

	// Open orders and cancelAll.
	place(e.alice, "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.1", "price", "27000")
	if got := len(e.alice("GET", "/api/v3/openOrders", "symbol", "BTCUSDT").list(t)); got != 2 {
		t.Fatalf("open orders: got %d, want 2", got)
	}
	e.tick()
	all := e.alice("DELETE", "/api/v3/openOrders", "symbol", "BTCUSDT")
	wantOK(t, all)
	if l := all.list(t); len(l) != 2 || l[0]["status"] != "CANCELED" {
		t.Fatalf("cancelAll: got %s", all.body)
	}
	e.tick()
	wantErr(t, e.alice("DELETE", "/api/v3/openOrders", "symbol", "BTCUSDT"), 400, -2011, "Unknown order sent.")

	// Test order: validated, not placed.
	e.tick()
	r = e.alice("POST", "/api/v3/order/test", "symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.1", "price", "27000")
	if r.status != 200 || string(r.body) != "{}" {
		t.Fatalf("order/test: got %d %s, want 200 {}", r.status, r.body)
	}

	// The account's balances are the ledger's, fees included.
	checkAccount(t, e, alice, e.alice("GET", "/api/v3/account"))
	checkAccount(t, e, bob, e.bob("GET", "/api/v3/account"))

	ar := e.alice("GET", "/sapi/v1/account/apiRestrictions").obj(t)
	field(t, ar, "enableReading", "true")
	field(t, ar, "enableSpotAndMarginTrading", "true")
	field(t, ar, "enableWithdrawals", "false")
	field(t, e.signed("GET", "/sapi/v1/account/apiRestrictions", roKey, bobSecret).obj(t), "enableSpotAndMarginTrading", "false")
}

// checkAccount compares a GET /api/v3/account response with the ledger.
func checkAccount(t *testing.T, e *env, a match.AccountID, r resp) {
	t.Helper()
	wantOK(t, r)
	var acc struct {
		Balances []struct{ Asset, Free, Locked string }
	}
	if err := json.Unmarshal(r.body, &acc); err != nil {
		t.Fatal(err)
	}
	want := e.ledger(a)
	if len(acc.Balances) != len(want) {
		t.Fatalf("balances: got %d, want %d", len(acc.Balances), len(want))
	}
	for _, b := range acc.Balances {
		if w := want[b.Asset]; w != [2]string{b.Free, b.Locked} {
			t.Fatalf("%s: got free %s locked %s, want %s %s", b.Asset, b.Free, b.Locked, w[0], w[1])
		}
	}
}

func TestRESTRateLimits(t *testing.T) {
	e := newEnv(t, func(c *binance.Config) {
		c.Limits = auth.BinanceLimits{WeightPerMinute: 100, OrdersPer10s: 3, BanAfter: 2}
	})
	order := func() resp {
		e.tick()
		return e.alice("POST", "/api/v3/order", "symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "1000")
	}
	for i := 1; i <= 3; i++ {
		r := order()
		wantOK(t, r)
		if got := r.hdr.Get("X-MBX-ORDER-COUNT-10S"); got != strconv.Itoa(i) {
			t.Fatalf("order %d: X-MBX-ORDER-COUNT-10S got %q, want %d", i, got, i)
		}
	}
	r := order()
	wantErr(t, r, 429, -1015, "Too many new orders; current limit is 3 orders per 10 SECOND.")
	if r.hdr.Get("Retry-After") == "" || r.hdr.Get("X-MBX-ORDER-COUNT-10S") != "3" {
		t.Fatalf("429 headers: got %v", r.hdr)
	}
	// Weight: account is 20 a call; the sixth call of this minute is over 100.
	var last resp
	for i := 0; i < 10; i++ {
		e.tick()
		last = e.alice("GET", "/api/v3/account")
		if last.status != 200 {
			break
		}
	}
	if last.status != 429 || last.hdr.Get("Retry-After") == "" || last.hdr.Get("X-MBX-USED-WEIGHT-1M") == "" {
		t.Fatalf("got %d %v, want 429 with Retry-After and X-MBX-USED-WEIGHT-1M", last.status, last.hdr)
	}
	for i := 0; i < 5 && last.status == 429; i++ {
		e.tick()
		last = e.alice("GET", "/api/v3/account")
	}
	if last.status != 418 || last.hdr.Get("Retry-After") == "" {
		t.Fatalf("got %d %s, want 418 after continuing", last.status, last.body)
	}
}

func TestRESTFaults(t *testing.T) {
	e := newEnv(t, func(c *binance.Config) { c.Orders.LostAck = 1 })
	q := url.Values{}
	for _, kv := range [][2]string{{"symbol", "BTCUSDT"}, {"side", "BUY"}, {"type", "LIMIT"}, {"timeInForce", "GTC"}, {"quantity", "0.1"}, {"price", "20000"}, {"newClientOrderId", "lost-1"}} {
		q.Set(kv[0], kv[1])
	}
	q.Set("timestamp", strconv.FormatInt(e.now.Load(), 10))
	payload := q.Encode()
	req, _ := http.NewRequest("POST", e.s.RESTURL()+"/api/v3/order?"+payload+"&signature="+hmacHex(docSecret, payload), nil)
	req.Header.Set("X-MBX-APIKEY", docKey)
	tr := &http.Transport{DisableKeepAlives: true, MaxIdleConns: 0}
	if r, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req); err == nil {
		r.Body.Close()
		t.Fatalf("lost ack: got a response %d, want the connection closed", r.StatusCode)
	}
	e.tick()
	q2 := e.alice("GET", "/api/v3/order", "symbol", "BTCUSDT", "origClientOrderId", "lost-1")
	wantOK(t, q2)
	field(t, q2.obj(t), "status", "NEW")

	e2 := newEnv(t, func(c *binance.Config) { c.Orders.Reject = 1 })
	r := e2.alice("POST", "/api/v3/order", "symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.1", "price", "20000", "newClientOrderId", "rej-1")
	wantErr(t, r, 503, -1008, "Server is currently overloaded with other requests. Please try again in a few minutes.")
	e2.tick()
	wantErr(t, e2.alice("GET", "/api/v3/order", "symbol", "BTCUSDT", "origClientOrderId", "rej-1"), 400, -2013, "Order does not exist.")
}

var _ = net.Dial
