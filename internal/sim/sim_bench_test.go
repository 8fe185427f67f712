package sim

import (
	"encoding/json"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// benchConfig lists four pairs on each venue; every model step makes one
// book action per pair (1000 updates/s at a 1ms step), one message each
// (Binance adds a bookTicker when the top changes).
const benchConfig = `
seed: 11
step: 1ms
pairs:
  - {pair: BTC/USDT, start: "60000", vol_bps: 1.5, jumps_per_min: 4, jump_bps: 20}
  - {pair: ETH/USDT, start: "3000", vol_bps: 2}
  - {pair: SOL/USDT, start: "150", vol_bps: 2}
  - {pair: XRP/USDT, start: "0.6", vol_bps: 2}
venues:
  - name: binance
    instruments:
      - {symbol: BTCUSDT, pair: BTC/USDT, tick: "0.01", step: "0.00001", flow: {depth: 40, spacing: 10, level_qty: "0.4", updates_per_sec: 1000, takers_per_sec: 10, taker_qty: "0.2"}}
      - {symbol: ETHUSDT, pair: ETH/USDT, tick: "0.01", step: "0.0001", flow: {depth: 40, spacing: 5, level_qty: "4", updates_per_sec: 1000, takers_per_sec: 10, taker_qty: "2"}}
      - {symbol: SOLUSDT, pair: SOL/USDT, tick: "0.01", step: "0.001", flow: {depth: 40, level_qty: "50", updates_per_sec: 1000, takers_per_sec: 10, taker_qty: "20"}}
      - {symbol: XRPUSDT, pair: XRP/USDT, tick: "0.0001", step: "0.1", flow: {depth: 40, level_qty: "5000", updates_per_sec: 1000, takers_per_sec: 10, taker_qty: "2000"}}
  - name: kraken
    instruments:
      - {symbol: BTC/USDT, pair: BTC/USDT, tick: "0.1", step: "0.00000001", flow: {lag: 150ms, depth: 40, spacing: 2, level_qty: "0.3", updates_per_sec: 1000, takers_per_sec: 10, taker_qty: "0.15"}}
      - {symbol: ETH/USDT, pair: ETH/USDT, tick: "0.01", step: "0.00000001", flow: {lag: 150ms, depth: 40, spacing: 10, level_qty: "3", updates_per_sec: 1000, takers_per_sec: 10, taker_qty: "1.5"}}
      - {symbol: SOL/USDT, pair: SOL/USDT, tick: "0.01", step: "0.00000001", flow: {lag: 150ms, depth: 40, level_qty: "40", updates_per_sec: 1000, takers_per_sec: 10, taker_qty: "20"}}
      - {symbol: XRP/USDT, pair: XRP/USDT, tick: "0.0001", step: "0.01", flow: {lag: 150ms, depth: 40, spacing: 10, level_qty: "4000", updates_per_sec: 1000, takers_per_sec: 10, taker_qty: "2000"}}
`

// reader counts the frames one websocket client receives.
type reader struct {
	ws     *websocket.Conn
	frames atomic.Uint64
	done   chan struct{}
}

func dialReader(tb testing.TB, u string, subscribe ...[]byte) *reader {
	tb.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range subscribe {
		if err := ws.WriteMessage(websocket.TextMessage, m); err != nil {
			tb.Fatal(err)
		}
	}
	r := &reader{ws: ws, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			if _, _, err := ws.NextReader(); err != nil {
				return
			}
			r.frames.Add(1)
		}
	}()
	tb.Cleanup(func() { ws.Close(); <-r.done })
	return r
}

// BenchmarkMarketDataThroughput drives the model as fast as the venues
// can publish (one model step per iteration: 8 book actions over 8 pairs)
// to one Binance combined-stream client (depth and bookTicker of every
// pair) and one Kraken client (book depth 10 of every pair) over loopback,
// and reports the market-data messages delivered per second. The
// generator waits whenever the clients fall more than a few thousand
// messages behind, so the figure is what the simulator sustains, not what
// it can queue.
func BenchmarkMarketDataThroughput(b *testing.B) {
	cfg, err := Parse([]byte(benchConfig), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Listen(); err != nil {
		b.Fatal(err)
	}
	bn, _ := s.Venue("binance")
	kr, _ := s.Venue("kraken")
	var streams, ksyms []string
	for _, p := range bn.State.Pairs() {
		sym := strings.ToLower(p.Cfg.Symbol)
		streams = append(streams, sym+"@depth@100ms", sym+"@bookTicker")
	}
	for _, p := range kr.State.Pairs() {
		ksyms = append(ksyms, p.Cfg.Symbol)
	}
	rb := dialReader(b, bn.Binance.StreamURL()+"?streams="+url.QueryEscape(strings.Join(streams, "/")))
	sub, _ := json.Marshal(map[string]any{"method": "subscribe", "params": map[string]any{"channel": "book", "symbol": ksyms, "depth": 10}})
	rk := dialReader(b, kr.Kraken.WSURL(), sub)
	received := func() uint64 { return rb.frames.Load() + rk.frames.Load() }
	sent := func() uint64 { return bn.Binance.Stats.Sent.Load() + kr.Kraken.Stats.Sent.Load() }
	// Wait for the subscriptions (Kraken answers with snapshots).
	for kr.Kraken.Subscribers("BTC/USDT") == 0 || bn.Binance.StreamSubscribers("BTCUSDT") == 0 {
		runtime.Gosched()
	}
	for received() < sent() {
		runtime.Gosched()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	r0 := received()
	for i := 0; i < b.N; i++ {
		s.Step(1)
		if i%32 == 0 {
			for sent()-received() > 4000 {
				runtime.Gosched()
			}
		}
	}
	for received() < sent() {
		runtime.Gosched()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	n := received() - r0
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(n)/float64(b.N), "msgs/step")
	if o := bn.Binance.Stats.Overflows.Load() + kr.Kraken.Stats.Overflows.Load(); o != 0 {
		b.Fatalf("%d connections overflowed", o)
	}
}
