//go:build !race

package binance

import (
	"testing"

	"arbmm/internal/market"
)

func TestEncodeSignAllocs(t *testing.T) {
	var q reqBuf
	var g signer
	g.use(hmacCred(benchKey, benchSecret))
	buf := make([]byte, 0, 1024)
	ts := int64(1700000000000)
	check := func(name string, fn func()) {
		t.Helper()
		fn() // grow the buffers
		if n := testing.AllocsPerRun(200, fn); n != 0 {
			t.Errorf("%s: got %v allocs/op, want 0", name, n)
		}
	}
	check("ws place", func() { buf, _ = q.appendWSIntent(buf[:0], 1, &benchIntent, &benchOpts, &g, true, ts) })
	check("rest place", func() { buf, _ = q.appendRESTIntent(buf[:0], &benchIntent, &benchOpts, &g, ts) })
	check("ws status", func() { buf = q.appendWSStatus(buf[:0], 1, benchInst, 5, &benchOpts, &g, true, ts) })
	check("signer reuse", func() { g.use(g.cred) })
}

func TestDecodeAllocs(t *testing.T) {
	d := newDecoder(market.Binance, []*market.Instrument{benchInst})
	var resp wsResp
	place := []byte(`{"id":7,"status":200,"result":{"symbol":"BTCUSDT","orderId":12,"orderListId":-1,"clientOrderId":"x1234567890abcdef","transactTime":1700000000000,"price":"65432.10","origQty":"0.01000","executedQty":"0.00000","status":"NEW","timeInForce":"GTC","type":"LIMIT","side":"BUY"},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":3}]}`)
	run := func(name string, fn func()) {
		t.Helper()
		fn()
		if n := testing.AllocsPerRun(200, fn); n != 0 {
			t.Errorf("%s: got %v allocs/op, want 0", name, n)
		}
	}
	run("executionReport", func() {
		_, ev, _ := d.frame(benchExec, &resp)
		if ok, err := d.event(ev, 1); !ok || err != nil || d.r.FeeAsset != "BTC" {
			t.Fatalf("decode: %v %v %+v", ok, err, d.r)
		}
	})
	run("order.place result", func() {
		if _, _, err := d.frame(place, &resp); err != nil {
			t.Fatal(err)
		}
		d.sc.Reset(resp.result)
		if ok, err := d.orderObject(&d.sc); !ok || err != nil || d.buildOrder(market.ReportAck, 1) != nil {
			t.Fatalf("decode: %v %v", ok, err)
		}
	})
}
