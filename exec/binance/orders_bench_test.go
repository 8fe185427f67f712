package binance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"arbmm/internal/market"
)

var (
	benchInst   = &market.Instrument{Venue: market.Binance, Symbol: "BTCUSDT", PriceExp: 2, QtyExp: 5}
	benchIntent = market.Intent{Action: market.ActNew, Inst: benchInst, Side: market.Buy, Type: market.Limit, TIF: market.GTC,
		Price: 6543210, Qty: 1234, ClientID: 0x1234567890abcdef}
	benchOpts = OrderOpts{RecvWindow: 5000, RespType: RespResult}
	sink      []byte
	sinkS     string
)

const (
	benchKey    = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
	benchSecret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
)

// BenchmarkWSPlaceHMAC: encode+sign of a WebSocket API LIMIT order into a
// reused buffer with reused HMAC state.
func BenchmarkWSPlaceHMAC(b *testing.B) {
	var q reqBuf
	var g signer
	g.use(hmacCred(benchKey, benchSecret))
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	ts := int64(1700000000000)
	for i := 0; i < b.N; i++ {
		buf, _ = q.appendWSIntent(buf[:0], uint64(i), &benchIntent, &benchOpts, &g, true, ts+int64(i))
	}
	b.SetBytes(int64(len(buf)))
	sink = buf
}

// BenchmarkWSPlaceBaseline: the obvious way: url.Values-style map, sort,
// fmt for the numbers, hmac.New per request, JSON by Sprintf.
func BenchmarkWSPlaceBaseline(b *testing.B) {
	b.ReportAllocs()
	ts := int64(1700000000000)
	for i := 0; i < b.N; i++ {
		sinkS = baselineWS(uint64(i), &benchIntent, ts+int64(i))
	}
}

func baselineWS(id uint64, in *market.Intent, ts int64) string {
	params := map[string]string{
		"apiKey":           benchKey,
		"symbol":           in.Inst.Symbol,
		"side":             "BUY",
		"type":             "LIMIT",
		"timeInForce":      "GTC",
		"quantity":         fmt.Sprintf("%.5f", float64(in.Qty)/1e5),
		"price":            fmt.Sprintf("%.2f", float64(in.Price)/1e2),
		"newClientOrderId": in.ClientID.String(),
		"newOrderRespType": "RESULT",
		"recvWindow":       "5000",
		"timestamp":        fmt.Sprint(ts),
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + params[k]
	}
	mac := hmac.New(sha256.New, []byte(benchSecret))
	mac.Write([]byte(strings.Join(parts, "&")))
	params["signature"] = hex.EncodeToString(mac.Sum(nil))
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"id":%d,"method":"order.place","params":{`, id)
	for i, k := range append(names, "signature") {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "%q:%q", k, params[k])
	}
	sb.WriteString("}}")
	return sb.String()
}

// BenchmarkRESTPlaceHMAC: the signed query string of POST /api/v3/order.
func BenchmarkRESTPlaceHMAC(b *testing.B) {
	var q reqBuf
	var g signer
	g.use(hmacCred(benchKey, benchSecret))
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	ts := int64(1700000000000)
	for i := 0; i < b.N; i++ {
		buf, _ = q.appendRESTIntent(buf[:0], &benchIntent, &benchOpts, &g, ts+int64(i))
	}
	b.SetBytes(int64(len(buf)))
	sink = buf
}

// BenchmarkRESTPlaceBaseline: url.Values, fmt, hmac.New per request.
func BenchmarkRESTPlaceBaseline(b *testing.B) {
	b.ReportAllocs()
	ts := int64(1700000000000)
	for i := 0; i < b.N; i++ {
		in := &benchIntent
		v := url.Values{}
		v.Set("symbol", in.Inst.Symbol)
		v.Set("side", "BUY")
		v.Set("type", "LIMIT")
		v.Set("timeInForce", "GTC")
		v.Set("quantity", fmt.Sprintf("%.5f", float64(in.Qty)/1e5))
		v.Set("price", fmt.Sprintf("%.2f", float64(in.Price)/1e2))
		v.Set("newClientOrderId", in.ClientID.String())
		v.Set("newOrderRespType", "RESULT")
		v.Set("recvWindow", "5000")
		v.Set("timestamp", fmt.Sprint(ts+int64(i)))
		q := v.Encode()
		mac := hmac.New(sha256.New, []byte(benchSecret))
		mac.Write([]byte(q))
		sinkS = q + "&signature=" + hex.EncodeToString(mac.Sum(nil))
	}
}
