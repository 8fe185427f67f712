package binance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// A fill as the simulated venue sends it on the WebSocket API.
var benchExec = []byte(`{"subscriptionId":0,"event":{"e":"executionReport","E":1700000000123,"s":"BTCUSDT","c":"x1234567890abcdef","S":"BUY","o":"LIMIT","f":"GTC","q":"0.01000","p":"65432.10","P":"0.00","F":"0.00000","g":-1,"C":"","x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":4293153,"l":"0.00400","z":"0.00400","L":"65432.10","n":"0.00000400","N":"BTC","T":1700000000122,"t":88123,"I":8641984,"w":true,"m":true,"M":false,"O":1700000000001,"Z":"261.7284000","Y":"261.7284000","Q":"0.0000000","W":1700000000001,"V":"EXPIRE_MAKER"}}`)

var sinkR market.Report

// BenchmarkDecodeExecutionReport: frame envelope + executionReport into a
// Report with jscan.
func BenchmarkDecodeExecutionReport(b *testing.B) {
	d := newDecoder(market.Binance, []*market.Instrument{benchInst})
	var resp wsResp
	b.ReportAllocs()
	b.SetBytes(int64(len(benchExec)))
	for i := 0; i < b.N; i++ {
		_, ev, err := d.frame(benchExec, &resp)
		if err != nil {
			b.Fatal(err)
		}
		if ok, err := d.event(ev, 1); !ok || err != nil {
			b.Fatal(err)
		}
	}
	sinkR = d.r
}

// BenchmarkDecodeExecutionReportBaseline: encoding/json into a struct,
// then the same conversions.
func BenchmarkDecodeExecutionReportBaseline(b *testing.B) {
	type execReport struct {
		E  string `json:"e"`
		ET int64  `json:"E"`
		S  string `json:"s"`
		C  string `json:"c"`
		Sd string `json:"S"`
		X  string `json:"x"`
		XS string `json:"X"`
		I  int64  `json:"i"`
		L  string `json:"l"`
		Z  string `json:"z"`
		LP string `json:"L"`
		N  string `json:"n"`
		NA string `json:"N"`
		T  int64  `json:"t"`
		M  bool   `json:"m"`
	}
	var env struct {
		Event execReport `json:"event"`
	}
	insts := map[string]*market.Instrument{benchInst.Symbol: benchInst}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchExec)))
	for i := 0; i < b.N; i++ {
		env = struct {
			Event execReport `json:"event"`
		}{}
		if err := json.Unmarshal(benchExec, &env); err != nil {
			b.Fatal(err)
		}
		e := &env.Event
		in := insts[e.S]
		var r market.Report
		r.Inst = in
		r.Kind = market.ReportFill
		r.ClientID, _ = market.ParseClientID([]byte(e.C))
		p, _ := market.ParsePrice([]byte(e.LP), in.PriceExp)
		q, _ := market.ParseQty([]byte(e.L), in.QtyExp)
		z, _ := market.ParseQty([]byte(e.Z), in.QtyExp)
		r.Price, r.Qty, r.CumQty = p, q, z
		r.Fee, _ = market.ParseFixed([]byte(e.N), 8)
		r.FeeAsset, r.Maker, r.TradeID = e.NA, e.M, uint64(e.T)
		sinkR = r
	}
}
