package binance

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"

	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/venue"
)

func fuzzServer(t testing.TB) *Server {
	v, err := venue.New(venue.Config{Name: "binance", Pairs: []venue.PairConfig{
		{Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 5, Tick: 1, Step: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Venue: v, Keys: auth.NewKeys()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzParseOrder feeds REST form/query strings to the order parser (seeds
// in testdata/fuzz/FuzzParseOrder): no panic, and an accepted order is one
// the book could take (positive amounts, LIMIT with a price).
func FuzzParseOrder(f *testing.F) {
	f.Add("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=20000")
	f.Add("symbol=BTCUSDT&side=SELL&type=MARKET&quoteOrderQty=100.5")
	s := fuzzServer(f)
	key := &auth.Key{Account: 1}
	f.Fuzz(func(t *testing.T, q string) {
		var a fasthttp.Args
		a.Parse(q)
		var p params
		a.VisitAll(func(k, v []byte) { p.kv = append(p.kv, auth.Param{Name: k, Value: v}) })
		no, e := s.parseOrder(&p, key)
		if e != nil {
			if e.code >= 0 || e.msg == "" {
				t.Fatalf("%q: bad error %+v", q, e)
			}
			return
		}
		r := no.req
		if r.Qty < 0 || r.QuoteQty < 0 || (r.Qty == 0) == (r.QuoteQty == 0) {
			t.Fatalf("%q: accepted with qty %d quoteQty %d", q, r.Qty, r.QuoteQty)
		}
		if no.p == nil || (r.Type == 0 && r.Price <= 0) || !clientIDOK([]byte(r.ClientID)) {
			t.Fatalf("%q: accepted %+v", q, r)
		}
	})
}

// FuzzWSAPIParams feeds WebSocket API requests to the request decoding and
// the order parser: no panic.
func FuzzWSAPIParams(f *testing.F) {
	f.Add([]byte(`{"id":1,"method":"order.place","params":{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.01","price":"20000","timestamp":1}}`))
	s := fuzzServer(f)
	key := &auth.Key{Account: 1}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var req wsRequest
		if json.Unmarshal(msg, &req) != nil {
			return
		}
		p, ok := parseWSParams(req.Params)
		if !ok {
			return
		}
		var buf [256]byte
		_ = auth.BinanceWSPayload(buf[:0], p.kv)
		_, _ = s.parseOrder(&p, key)
	})
}
