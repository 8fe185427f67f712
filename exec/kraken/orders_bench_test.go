package kraken

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"testing"

	"arbmm/exec"
	"arbmm/internal/market"
)

// Frames as the simulated venue sends them.
const (
	benchTrade    = `{"channel":"executions","type":"update","data":[{"order_id":"OQCLML-BW3P3-BUCMWZ","exec_type":"trade","order_status":"partially_filled","timestamp":"2026-01-05T10:33:05.709950Z","cl_ord_id":"x0000000000001234","exec_id":"TXHFUV-AAAAA-BBBBBB","trade_id":365573,"symbol":"BTC/USD","side":"buy","order_type":"limit","last_qty":0.4,"last_price":30000.0,"liquidity_ind":"t","cost":12000.0,"fees":[{"asset":"USD","qty":31.2}],"cum_qty":0.4,"cum_cost":12000.0,"avg_price":30000.0}],"sequence":6}`
	benchCanceled = `{"channel":"executions","type":"update","data":[{"order_id":"OQCLML-BW3P3-BUCMWZ","exec_type":"canceled","order_status":"canceled","timestamp":"2026-01-05T10:33:05.709950Z","cl_ord_id":"x0000000000001234","cum_qty":0.0,"cum_cost":0.0,"avg_price":0.0,"reason":"User requested","cancel_reason":"User requested"}],"sequence":7}`
)

var benchSink []byte

func BenchmarkAddOrderSign(b *testing.B) {
	secret := make([]byte, 64)
	for i := range secret {
		secret[i] = byte(i * 7)
	}
	in := market.Intent{Inst: testInst, Side: market.Buy, Type: market.Limit, TIF: market.IOC, Price: 300000, Qty: 12500000, ClientID: 0x1234}
	b.Run("ours", func(b *testing.B) {
		s := newSigner()
		cred := &exec.Credential{Secret: secret}
		body := make([]byte, 0, 512)
		sig := make([]byte, 0, SignLen)
		path := []byte(pathAddOrder)
		n := uint64(1700000000000000)
		b.ReportAllocs()
		for b.Loop() {
			n++
			s.key(cred)
			body, _ = AppendAddOrder(body[:0], n, &in)
			sig = s.Sign(sig[:0], path, nonceOf(body), body)
		}
		benchSink = sig
	})
	b.Run("baseline", func(b *testing.B) {
		n := uint64(1700000000000000)
		b.ReportAllocs()
		for b.Loop() {
			n++
			nonce := strconv.FormatUint(n, 10)
			v := url.Values{}
			v.Set("nonce", nonce)
			v.Set("ordertype", "limit")
			v.Set("pair", "XBTUSD")
			v.Set("price", fmt.Sprintf("%.1f", float64(in.Price)/10))
			v.Set("type", "buy")
			v.Set("volume", fmt.Sprintf("%.8f", float64(in.Qty)/1e8))
			v.Set("timeinforce", "IOC")
			v.Set("cl_ord_id", in.ClientID.String())
			body := v.Encode()
			sum := sha256.Sum256([]byte(nonce + body))
			m := hmac.New(sha512.New, secret)
			m.Write([]byte(pathAddOrder))
			m.Write(sum[:])
			benchSink = []byte(base64.StdEncoding.EncodeToString(m.Sum(nil)))
		}
	})
}

func BenchmarkWSAddOrder(b *testing.B) {
	in := market.Intent{Inst: testInst, Side: market.Buy, Type: market.Limit, TIF: market.GTC, Price: 300000, Qty: 12500000, ClientID: 0x1234}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendWSAddOrder(buf[:0], "WW91ciBhdXRoZW50aWNhdGlvbiB0b2tlbiBnb2VzIGhlcmUu", 42, &in)
	}
	benchSink = buf
}

func BenchmarkDecodeExecutions(b *testing.B) {
	frame := []byte(benchTrade)
	b.Run("ours", func(b *testing.B) {
		d := NewDecoder([]*market.Instrument{testInst})
		var sink market.Report
		d.OnReport = func(r *market.Report) { sink = *r }
		b.SetBytes(int64(len(frame)))
		b.ReportAllocs()
		for b.Loop() {
			if err := d.Decode(frame, 1); err != nil {
				b.Fatal(err)
			}
		}
		_ = sink
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.SetBytes(int64(len(frame)))
		b.ReportAllocs()
		for b.Loop() {
			var m struct {
				Channel string `json:"channel"`
				Data    []struct {
					OrderID, ExecType, OrderStatus, Timestamp, ClOrdID, Symbol, Side, LiquidityInd string
					TradeID                                                                        int64
					LastQty, LastPrice, CumQty                                                     json.Number
					Fees                                                                           []struct {
						Asset string
						Qty   json.Number
					}
				} `json:"data"`
			}
			if err := json.Unmarshal(frame, &m); err != nil {
				b.Fatal(err)
			}
			for _, e := range m.Data {
				var r market.Report
				q, _ := market.ParseFixed([]byte(e.LastQty), testInst.QtyExp)
				p, _ := market.ParseFixed([]byte(e.LastPrice), testInst.PriceExp)
				r.Qty, r.Price = market.Qty(q), market.Price(p)
				_ = r
			}
		}
	})
}
