package binance

import (
	"strings"
	"testing"

	"arbmm/exec"
	"arbmm/internal/market"
)

// TestEncoderDocumentedExample: the exported encoder writes Binance's
// documented WebSocket API example (binance-ws-api-hmac-ascii in
// ../shared/fixtures/signing/vectors.json) with its documented signature.
func TestEncoderDocumentedExample(t *testing.T) {
	const apiKey = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
	const secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
	inst := &market.Instrument{Venue: market.Binance, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 8, Tick: 1, Step: 1}
	e := NewEncoder(OrderOpts{RecvWindow: 100})
	in := market.Intent{Action: market.ActNew, Venue: market.Binance, Inst: inst, Side: market.Sell, Type: market.Limit, TIF: market.GTC, Price: 5200000, Qty: 1000000}
	b, err := e.AppendRequest(nil, &in, &exec.Credential{ID: "doc", APIKey: apiKey, Kind: exec.HMAC, Secret: []byte(secret)}, 1645423376532)
	if err != nil {
		t.Fatal(err)
	}
	const want = `"signature":"aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"`
	if !strings.Contains(string(b), want) || !strings.Contains(string(b), `"method":"order.place"`) {
		t.Fatalf("got %s\nwant it to carry %s", b, want)
	}
	if _, err := e.AppendRequest(nil, &in, nil, 1); err != ErrNoKey {
		t.Errorf("no credential: got %v, want ErrNoKey", err)
	}
}
