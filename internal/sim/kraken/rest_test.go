package kraken_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/kraken"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

// env is a venue with BTC/USD (1 price decimal, 8 qty decimals, fees
// 16/26 bps) behind a Kraken server on loopback, with two funded keys.
type env struct {
	v    *venue.Venue
	s    *kraken.Server
	keys *auth.Keys
	a, b *client // accounts 1 and 2
}

type client struct {
	e      *env
	key    string
	secret []byte
	acct   uint32
	http   *http.Client
}

var nonceSeq atomic.Uint64

func newEnv(t *testing.T, tweak func(*kraken.Config)) *env {
	t.Helper()
	v, err := venue.New(venue.Config{
		Name:    "kraken",
		FeeMode: match.FeeInQuote,
		Pairs: []venue.PairConfig{{
			Symbol: "BTC/USD", Pair: market.Pair{Base: "BTC", Quote: "USD"},
			PriceExp: 1, QtyExp: 8, MinQty: 10000, // 0.0001 BTC
			MakerFeeBps: 16, TakerFeeBps: 26,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{v: v, keys: auth.NewKeys()}
	cfg := kraken.Config{Venue: v, Keys: e.keys, Seed: 7}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := kraken.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e.s = s
	e.a = e.newClient(t, "key-a", 1, auth.PermRead|auth.PermTrade)
	e.b = e.newClient(t, "key-b", 2, auth.PermRead|auth.PermTrade)
	return e
}

func (e *env) newClient(t *testing.T, apiKey string, acct uint32, perms auth.Perm) *client {
	t.Helper()
	secret := sha512.Sum512([]byte(apiKey)) // a test secret
	if err := e.keys.Add(auth.Key{APIKey: apiKey, Type: auth.HMAC, Secret: secret[:], Account: acct, Perms: perms}); err != nil {
		t.Fatal(err)
	}
	e.fund(t, acct)
	return &client{e: e, key: apiKey, secret: secret[:], acct: acct, http: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
}

// fund deposits 100000 USD and 10 BTC.
func (e *env) fund(t *testing.T, acct uint32) {
	t.Helper()
	if err := e.v.Deposit(match.AccountID(acct), "USD", 100000*1e9); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Deposit(match.AccountID(acct), "BTC", 10*1e8); err != nil {
		t.Fatal(err)
	}
}

// sign is Kraken's API-Sign, computed here independently of sim/auth.
func sign(secret []byte, path, nonce, body string) string {
	sum := sha256.Sum256([]byte(nonce + body))
	m := hmac.New(sha512.New, secret)
	m.Write([]byte(path))
	m.Write(sum[:])
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

type restResp struct {
	Error  []string        `json:"error"`
	Result json.RawMessage `json:"result"`
}

// post sends a raw private request and decodes the answer.
func (c *client) post(t *testing.T, method, body, apiSign string) (restResp, error) {
	t.Helper()
	req, err := http.NewRequest("POST", c.e.s.RESTURL()+"/0/private/"+method, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("API-Key", c.key)
	req.Header.Set("API-Sign", apiSign)
	resp, err := c.http.Do(req)
	if err != nil {
		return restResp{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return restResp{}, err
	}
	var r restResp
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s: bad JSON %q: %v", method, raw, err)
	}
	return r, nil
}

// call signs and sends a private request with a fresh nonce.
func (c *client) call(t *testing.T, method string, form url.Values) restResp {
	t.Helper()
	r, err := c.try(t, method, form)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return r
}

func (c *client) try(t *testing.T, method string, form url.Values) (restResp, error) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	nonce := strconv.FormatUint(1700000000000+nonceSeq.Add(1), 10)
	form.Set("nonce", nonce)
	body := form.Encode()
	return c.post(t, method, body, sign(c.secret, "/0/private/"+method, nonce, body))
}

// ok calls and fails the test on a Kraken error, decoding the result.
func (c *client) ok(t *testing.T, method string, form url.Values, into any) {
	t.Helper()
	r := c.call(t, method, form)
	if len(r.Error) != 0 {
		t.Fatalf("%s %v: error %v", method, form, r.Error)
	}
	if into != nil {
		if err := json.Unmarshal(r.Result, into); err != nil {
			t.Fatalf("%s: %v in %s", method, err, r.Result)
		}
	}
}

// fails calls and checks the error is want.
func (c *client) fails(t *testing.T, method string, form url.Values, want string) {
	t.Helper()
	r := c.call(t, method, form)
	if len(r.Error) != 1 || r.Error[0] != want {
		t.Fatalf("%s %v: got error %v (result %s), want [%s]", method, form, r.Error, r.Result, want)
	}
}

type addResult struct {
	Descr struct{ Order string } `json:"descr"`
	TxID  []string               `json:"txid"`
}

func (c *client) add(t *testing.T, kv ...string) string {
	t.Helper()
	form := url.Values{"pair": {"XBTUSD"}}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	var r addResult
	c.ok(t, "AddOrder", form, &r)
	if len(r.TxID) != 1 {
		t.Fatalf("AddOrder: got txid %v, want one", r.TxID)
	}
	return r.TxID[0]
}

type orderInfo struct {
	Status   string `json:"status"`
	Vol      string `json:"vol"`
	VolExec  string `json:"vol_exec"`
	Cost     string `json:"cost"`
	Fee      string `json:"fee"`
	Price    string `json:"price"`
	ClOrdID  string `json:"cl_ord_id"`
	Userref  *int64 `json:"userref"`
	Reason   string `json:"reason"`
	Opentm   float64
	Descr    struct{ Pair, Type, Ordertype, Price, Order string }
	Oflags   string `json:"oflags"`
	Closetm  float64
	Timeinfo string `json:"timeinforce"`
}

func (c *client) query(t *testing.T, txid string) orderInfo {
	t.Helper()
	var m map[string]orderInfo
	c.ok(t, "QueryOrders", url.Values{"txid": {txid}}, &m)
	o, ok := m[txid]
	if !ok {
		t.Fatalf("QueryOrders %s: got %v", txid, m)
	}
	return o
}

func (c *client) open(t *testing.T) map[string]orderInfo {
	t.Helper()
	var r struct{ Open map[string]orderInfo }
	c.ok(t, "OpenOrders", nil, &r)
	return r.Open
}

func (c *client) balance(t *testing.T) map[string]string {
	t.Helper()
	var m map[string]string
	c.ok(t, "Balance", nil, &m)
	return m
}

// ledger is the venue's view of acct's totals, in Kraken's REST form.
func (e *env) ledger(acct uint32) map[string]string {
	m := map[string]string{}
	e.v.Do(func(tx *venue.Tx) {
		for _, b := range tx.Balances(match.AccountID(acct), nil) {
			name := map[string]string{"BTC": "XXBT", "USD": "ZUSD"}[b.Asset]
			m[name] = string(market.AppendFixed(nil, b.Free+b.Locked, b.Exp))
		}
	})
	return m
}

func checkEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// The documented example of Kraken's authentication guide: its API-Sign
// is accepted, the replay and a lower nonce are refused, as are a wrong
// signature and an unknown key.
func TestDocumentedSignature(t *testing.T) {
	raw, err := os.ReadFile("/work/shared/fixtures/signing/vectors.json")
	if err != nil {
		t.Fatal("no signing vectors:", err)
	}
	var vecs []struct {
		ID, Secret, Nonce, Postdata, Expected string
		URIPath                               string `json:"uri_path"`
	}
	if err := json.Unmarshal(raw, &vecs); err != nil {
		var wrapped struct{ Vectors json.RawMessage }
		if json.Unmarshal(raw, &wrapped) != nil || json.Unmarshal(wrapped.Vectors, &vecs) != nil {
			t.Fatal(err)
		}
	}
	var vec = vecs[0]
	found := false
	for _, v := range vecs {
		if v.ID == "kraken-rest-api-sign" {
			vec, found = v, true
		}
	}
	if !found {
		t.Fatal("vector kraken-rest-api-sign not found")
	}
	e := newEnv(t, nil)
	secret, err := base64.StdEncoding.DecodeString(vec.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Add(auth.Key{APIKey: "doc-key", Type: auth.HMAC, Secret: secret, Account: 9, Perms: auth.PermRead | auth.PermTrade}); err != nil {
		t.Fatal(err)
	}
	e.fund(t, 9)
	c := &client{e: e, key: "doc-key", secret: secret, acct: 9, http: http.DefaultClient}
	checkEq(t, "our signer on the example", sign(secret, vec.URIPath, vec.Nonce, vec.Postdata), vec.Expected)

	r, err := c.post(t, "AddOrder", vec.Postdata, vec.Expected)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Error) != 0 {
		t.Fatalf("documented request: got error %v, want success", r.Error)
	}
	var res addResult
	if err := json.Unmarshal(r.Result, &res); err != nil {
		t.Fatal(err)
	}
	checkEq(t, "descr", res.Descr.Order, "buy 1.25000000 XBTUSD @ limit 37500.0")
	if len(res.TxID) != 1 || len(res.TxID[0]) != 19 || res.TxID[0][0] != 'O' || res.TxID[0][6] != '-' || res.TxID[0][12] != '-' {
		t.Fatalf("txid: got %v, want one like OU22CG-KLAF2-FWUDD7", res.TxID)
	}

	expectErr := func(what string, r restResp, err error, want string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Error) != 1 || r.Error[0] != want {
			t.Fatalf("%s: got %v, want [%s]", what, r.Error, want)
		}
	}
	r, err = c.post(t, "AddOrder", vec.Postdata, vec.Expected)
	expectErr("replay", r, err, "EAPI:Invalid nonce")

	body := strings.Replace(vec.Postdata, vec.Nonce, "1616492376595", 1)
	bad := []byte(sign(secret, vec.URIPath, "1616492376595", body))
	bad[3] ^= 1
	r, err = c.post(t, "AddOrder", body, string(bad))
	expectErr("wrong signature", r, err, "EAPI:Invalid signature")

	body = strings.Replace(vec.Postdata, vec.Nonce, "1616492376000", 1)
	r, err = c.post(t, "AddOrder", body, sign(secret, vec.URIPath, "1616492376000", body))
	expectErr("lower nonce", r, err, "EAPI:Invalid nonce")

	c.key = "no-such-key"
	body = strings.Replace(vec.Postdata, vec.Nonce, "1616492377000", 1)
	r, err = c.post(t, "AddOrder", body, sign(secret, vec.URIPath, "1616492377000", body))
	expectErr("unknown key", r, err, "EAPI:Invalid key")
}

func TestRESTLimitRestAndCancel(t *testing.T) {
	e := newEnv(t, nil)
	a := e.a
	id := a.add(t, "type", "buy", "ordertype", "limit", "price", "20000.5", "volume", "0.5", "cl_ord_id", "my-order-1")
	open := a.open(t)
	o, ok := open[id]
	if !ok || len(open) != 1 {
		t.Fatalf("OpenOrders: got %v, want %s", open, id)
	}
	checkEq(t, "status", o.Status, "open")
	checkEq(t, "vol", o.Vol, "0.50000000")
	checkEq(t, "price", o.Descr.Price, "20000.5")
	checkEq(t, "cl_ord_id", o.ClOrdID, "my-order-1")
	checkEq(t, "descr.order", o.Descr.Order, "buy 0.50000000 XBTUSD @ limit 20000.5")

	var cnt struct{ Count int }
	a.ok(t, "CancelOrder", url.Values{"txid": {id}}, &cnt)
	checkEq(t, "count", cnt.Count, 1)
	q := a.query(t, id)
	checkEq(t, "status after cancel", q.Status, "canceled")
	checkEq(t, "reason", q.Reason, "User requested")
	a.fails(t, "CancelOrder", url.Values{"txid": {id}}, "EOrder:Unknown order")

	id2 := a.add(t, "type", "sell", "ordertype", "limit", "price", "40000", "volume", "0.25", "cl_ord_id", "my-order-2")
	_ = id2
	a.ok(t, "CancelOrder", url.Values{"cl_ord_id": {"my-order-2"}}, &cnt)
	checkEq(t, "count by cl_ord_id", cnt.Count, 1)
	checkEq(t, "status by cl_ord_id", a.query(t, id2).Status, "canceled")

	// userref: CancelOrder's txid may name it.
	id3 := a.add(t, "type", "sell", "ordertype", "limit", "price", "41000", "volume", "0.25", "userref", "77")
	checkEq(t, "userref", *a.query(t, id3).Userref, int64(77))
	a.ok(t, "CancelOrder", url.Values{"txid": {"77"}}, &cnt)
	checkEq(t, "count by userref", cnt.Count, 1)

	// CancelAll.
	a.add(t, "type", "buy", "ordertype", "limit", "price", "100", "volume", "1")
	a.add(t, "type", "buy", "ordertype", "limit", "price", "101", "volume", "1")
	a.ok(t, "CancelAll", nil, &cnt)
	checkEq(t, "CancelAll count", cnt.Count, 2)
	checkEq(t, "open after CancelAll", len(a.open(t)), 0)
	checkBalances(t, e)
}

func checkBalances(t *testing.T, e *env) {
	t.Helper()
	for _, c := range []*client{e.a, e.b} {
		got, want := c.balance(t), e.ledger(c.acct)
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("account %d Balance %s: got %s, want %s (ledger)", c.acct, k, got[k], v)
			}
		}
	}
}

func TestRESTCrossPartialFillAndFees(t *testing.T) {
	e := newEnv(t, nil)
	sell := e.b.add(t, "type", "sell", "ordertype", "limit", "price", "30000", "volume", "1")
	buy := e.a.add(t, "type", "buy", "ordertype", "limit", "price", "30000", "volume", "0.4")
	qb := e.a.query(t, buy)
	checkEq(t, "taker status", qb.Status, "closed")
	checkEq(t, "taker vol_exec", qb.VolExec, "0.40000000")
	checkEq(t, "taker cost", qb.Cost, "12000.000000000")
	checkEq(t, "taker fee (26 bps in USD)", qb.Fee, "31.200000000")
	checkEq(t, "taker avg price", qb.Price, "30000.0")
	qs := e.b.query(t, sell)
	checkEq(t, "maker status", qs.Status, "open")
	checkEq(t, "maker vol_exec", qs.VolExec, "0.40000000")
	checkEq(t, "maker fee (16 bps)", qs.Fee, "19.200000000")
	ba := e.a.balance(t)
	checkEq(t, "buyer USD", ba["ZUSD"], "87968.800000000")
	checkEq(t, "buyer BTC", ba["XXBT"], "10.40000000")
	bb := e.b.balance(t)
	checkEq(t, "seller USD", bb["ZUSD"], "111980.800000000")
	checkEq(t, "seller BTC (0.6 still on hold)", bb["XXBT"], "9.60000000")
	var ex map[string]struct {
		Balance   string `json:"balance"`
		HoldTrade string `json:"hold_trade"`
	}
	e.b.ok(t, "BalanceEx", nil, &ex)
	checkEq(t, "seller BTC hold", ex["XXBT"].HoldTrade, "0.60000000")
	checkBalances(t, e)
}

func TestRESTIOCMarketPostOnly(t *testing.T) {
	e := newEnv(t, nil)
	e.b.add(t, "type", "sell", "ordertype", "limit", "price", "30000", "volume", "0.5")
	ioc := e.a.add(t, "type", "buy", "ordertype", "limit", "price", "30000", "volume", "1", "timeinforce", "IOC")
	q := e.a.query(t, ioc)
	checkEq(t, "IOC status", q.Status, "expired")
	checkEq(t, "IOC vol_exec", q.VolExec, "0.50000000")

	e.b.add(t, "type", "sell", "ordertype", "limit", "price", "31000", "volume", "1")
	mkt := e.a.add(t, "type", "buy", "ordertype", "market", "volume", "0.1")
	q = e.a.query(t, mkt)
	checkEq(t, "market status", q.Status, "closed")
	checkEq(t, "market vol_exec", q.VolExec, "0.10000000")
	checkEq(t, "market price", q.Price, "31000.0")
	viqc := e.a.add(t, "type", "buy", "ordertype", "market", "volume", "3100", "oflags", "viqc")
	q = e.a.query(t, viqc)
	checkEq(t, "viqc vol_exec", q.VolExec, "0.10000000")

	// Post-only: resting is accepted; crossing is accepted then canceled.
	po := e.a.add(t, "type", "buy", "ordertype", "limit", "price", "29000", "volume", "0.1", "oflags", "post")
	checkEq(t, "post-only resting", e.a.query(t, po).Status, "open")
	rej := e.a.add(t, "type", "buy", "ordertype", "limit", "price", "31000", "volume", "0.1", "oflags", "post")
	q = e.a.query(t, rej)
	checkEq(t, "post-only crossing status", q.Status, "canceled")
	checkEq(t, "post-only crossing reason", q.Reason, "Post only order")
	if _, ok := e.a.open(t)[rej]; ok {
		t.Fatal("crossing post-only order is open")
	}
	checkBalances(t, e)
}

func TestRESTErrors(t *testing.T) {
	e := newEnv(t, nil)
	a := e.a
	lim := func(kv ...string) url.Values {
		f := url.Values{"pair": {"XBTUSD"}, "type": {"buy"}, "ordertype": {"limit"}, "price": {"100"}, "volume": {"1"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	a.fails(t, "AddOrder", lim("volume", "5000"), "EOrder:Insufficient funds")
	a.fails(t, "AddOrder", lim("volume", "0.00001"), "EOrder:Order minimum not met")
	a.fails(t, "AddOrder", lim("price", "100.25"), "EOrder:Invalid price:XBTUSD price can only be specified up to 1 decimals.")
	a.fails(t, "AddOrder", lim("volume", "0.000000001"), "EGeneral:Invalid arguments:volume")
	a.fails(t, "AddOrder", lim("pair", "FOOBAR"), "EQuery:Unknown asset pair")
	a.fails(t, "AddOrder", lim("type", "hold"), "EGeneral:Invalid arguments:type")
	a.fails(t, "AddOrder", lim("ordertype", "iceberg"), "EGeneral:Invalid arguments:ordertype")
	a.fails(t, "AddOrder", lim("timeinforce", "XYZ"), "EGeneral:Invalid arguments:timeinforce")
	a.fails(t, "CancelOrder", url.Values{"txid": {"OU22CG-KLAF2-FWUDD7"}}, "EOrder:Unknown order")
	// Pair spellings.
	for _, p := range []string{"XBTUSD", "BTCUSD", "XXBTZUSD", "BTC/USD", "XBT/USD"} {
		var r addResult
		a.ok(t, "AddOrder", lim("pair", p, "validate", "true"), &r)
		checkEq(t, "validate txid count for "+p, len(r.TxID), 0)
	}
	ro := e.newClient(t, "read-only", 3, auth.PermRead)
	ro.fails(t, "AddOrder", lim(), "EGeneral:Permission denied")
	ro.ok(t, "Balance", nil, nil)
}

func TestRESTRateLimits(t *testing.T) {
	e := newEnv(t, func(c *kraken.Config) {
		c.Limits = auth.KrakenLimits{Max: 2, DecayPerSec: 0.001, TradingMax: 2, TradingDecayPerSec: 0.001}
	})
	e.a.ok(t, "Balance", nil, nil)
	e.a.ok(t, "Balance", nil, nil)
	e.a.fails(t, "Balance", nil, "EAPI:Rate limit exceeded")
	e.b.add(t, "type", "buy", "ordertype", "limit", "price", "100", "volume", "1")
	e.b.add(t, "type", "buy", "ordertype", "limit", "price", "100", "volume", "1")
	e.b.fails(t, "AddOrder", url.Values{"pair": {"XBTUSD"}, "type": {"buy"}, "ordertype": {"limit"}, "price": {"100"}, "volume": {"1"}}, "EOrder:Rate limit exceeded")
}

func TestRESTFaults(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		e := newEnv(t, func(c *kraken.Config) { c.Orders.Reject = 1 })
		e.a.fails(t, "AddOrder", url.Values{"pair": {"XBTUSD"}, "type": {"buy"}, "ordertype": {"limit"}, "price": {"100"}, "volume": {"1"}}, "EService:Unavailable")
		checkEq(t, "open orders after reject", len(e.a.open(t)), 0)
	})
	t.Run("lost ack", func(t *testing.T) {
		e := newEnv(t, func(c *kraken.Config) { c.Orders.LostAck = 1 })
		r, err := e.a.try(t, "AddOrder", url.Values{"pair": {"XBTUSD"}, "type": {"buy"}, "ordertype": {"limit"}, "price": {"100"}, "volume": {"1"}, "cl_ord_id": {"lost-1"}})
		if err == nil {
			t.Fatalf("lost ack: got response %+v, want the connection closed", r)
		}
		open := e.a.open(t)
		if len(open) != 1 {
			t.Fatalf("open orders after lost ack: got %d, want 1", len(open))
		}
		for id, o := range open {
			checkEq(t, "cl_ord_id", o.ClOrdID, "lost-1")
			checkEq(t, "QueryOrders status", e.a.query(t, id).Status, "open")
		}
	})
}

func TestPublicTime(t *testing.T) {
	e := newEnv(t, nil)
	for _, m := range []string{"Time", "SystemStatus"} {
		resp, err := http.Get(e.s.RESTURL() + "/0/public/" + m)
		if err != nil {
			t.Fatal(err)
		}
		var r restResp
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if len(r.Error) != 0 || len(r.Result) < 10 {
			t.Fatalf("%s: got %+v", m, r)
		}
	}
}
