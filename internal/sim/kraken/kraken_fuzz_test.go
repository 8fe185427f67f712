package kraken

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"

	"arbmm/internal/market"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

func fuzzPairs(f *testing.F) *pairTable {
	v, err := venue.New(venue.Config{
		Name: "kraken", FeeMode: match.FeeInQuote,
		Pairs: []venue.PairConfig{{Symbol: "BTC/USD", Pair: market.Pair{Base: "BTC", Quote: "USD"}, PriceExp: 1, QtyExp: 8}},
	})
	if err != nil {
		f.Fatal(err)
	}
	return newPairTable(v)
}

// checkOrderReq checks what a parser accepted is a well-formed request.
func checkOrderReq(t *testing.T, rq *orderReq) {
	r := &rq.r
	if rq.pi == nil {
		t.Fatal("accepted without a pair")
	}
	if (r.Qty > 0) == (r.QuoteQty > 0) {
		t.Fatalf("accepted with qty %d and quote qty %d", r.Qty, r.QuoteQty)
	}
	if r.Type == match.Limit && (r.Price <= 0 || r.QuoteQty != 0) {
		t.Fatalf("limit accepted with price %d, quote qty %d", r.Price, r.QuoteQty)
	}
	if r.PostOnly && (r.Type != match.Limit || r.TIF != match.GTC) {
		t.Fatal("post-only accepted on a non-GTC or non-limit order")
	}
	if r.Type == match.Market && r.TIF != match.IOC {
		t.Fatal("market order not IOC")
	}
	if len(r.ClientID) > 36 {
		t.Fatalf("client id of %d bytes accepted", len(r.ClientID))
	}
}

// FuzzAddOrderREST feeds AddOrder form bodies to the REST parser: it must
// not panic, and what it accepts must be a well-formed order.
func FuzzAddOrderREST(f *testing.F) {
	pt := fuzzPairs(f)
	f.Add([]byte("nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"))
	f.Add([]byte("nonce=1&ordertype=market&pair=XXBTZUSD&type=sell&volume=0.1&oflags=viqc,fciq"))
	f.Add([]byte("nonce=2&ordertype=limit&pair=BTC%2FUSD&price=1.05&type=buy&volume=1&oflags=post&timeinforce=IOC"))
	f.Add([]byte("nonce=3&ordertype=limit&pair=BTCUSD&price=10&type=buy&volume=1&userref=-5&stptype=cancel-both&validate=true"))
	f.Add([]byte("nonce=4&ordertype=limit&pair=XBTUSD&price=1e3&type=sell&volume=1E-4&cl_ord_id=6d1b345e-2821-40e2-ad83-4ecb18a06876"))
	f.Fuzz(func(t *testing.T, body []byte) {
		args := fasthttp.AcquireArgs()
		defer fasthttp.ReleaseArgs(args)
		p, ok := parseParams(body, []byte("application/x-www-form-urlencoded"), args)
		if !ok {
			return
		}
		rq, bad := parseAddOrderREST(p, pt)
		if bad != "" {
			return
		}
		checkOrderReq(t, &rq)
		_ = appendDescr(nil, rq.pi, &match.Order{Side: rq.r.Side, Type: rq.r.Type, Price: rq.r.Price, Qty: rq.r.Qty, QuoteQty: rq.r.QuoteQty})
	})
}

// FuzzAuthRequest feeds messages to the authenticated websocket's request
// decoding and add_order parser.
func FuzzAuthRequest(f *testing.F) {
	pt := fuzzPairs(f)
	f.Add([]byte(`{"method":"add_order","params":{"order_type":"limit","side":"buy","order_qty":1.25,"symbol":"BTC/USD","limit_price":37500.0,"token":"x"},"req_id":1}`))
	f.Add([]byte(`{"method":"add_order","params":{"order_type":"market","side":"buy","cash_order_qty":"100.5","symbol":"BTC/USD","token":"x"}}`))
	f.Add([]byte(`{"method":"add_order","params":{"order_type":"limit","side":"sell","order_qty":0.1,"symbol":"XBTUSD","limit_price":1,"post_only":true,"time_in_force":"ioc","order_userref":7}}`))
	f.Add([]byte(`{"method":"cancel_order","params":{"order_id":["OU22CG-KLAF2-FWUDD7"],"cl_ord_id":["a"],"token":"x"},"req_id":2}`))
	f.Add([]byte(`{"method":"batch_add","params":{"symbol":"BTC/USD","orders":[{"order_type":"limit","side":"buy","order_qty":1,"limit_price":2},{"order_type":"market","side":"sell","order_qty":1}]}}`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var req wsRequest
		if json.Unmarshal(msg, &req) != nil {
			return
		}
		ps := append([]wsParams{req.Params}, req.Params.Orders...)
		for i := range ps {
			if rq, bad := parseAddOrderWS(&ps[i], pt); bad == "" {
				checkOrderReq(t, &rq)
			}
		}
		for _, id := range req.Params.OrderID {
			if n, ok := parseTxID([]byte(id), 'O'); ok && txid(n) != id {
				t.Fatalf("txid %q decodes to %d, which encodes as %q", id, n, txid(n))
			}
		}
	})
}

// FuzzTxID checks the order id encoding round-trips.
func FuzzTxID(f *testing.F) {
	f.Add(uint64(1))
	f.Add(uint64(1<<63 | 5))
	f.Fuzz(func(t *testing.T, id uint64) {
		s := txid(id)
		got, ok := parseTxID([]byte(s), 'O')
		if !ok || got != id {
			t.Fatalf("txid(%d) = %q parses to %d, %v", id, s, got, ok)
		}
	})
}
