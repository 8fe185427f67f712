package bench

import (
	"crypto/ed25519"
	"hash/crc32"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"arbmm/arb"
	"arbmm/book"
	"arbmm/exec"
	xbinance "arbmm/exec/binance"
	xkraken "arbmm/exec/kraken"
	"arbmm/exec/risk"
	fbinance "arbmm/feed/binance"
	fkraken "arbmm/feed/kraken"
	"arbmm/internal/market"
)

// The instruments of the pair on both venues: BTC/USDT at the exponents
// shared by every venue that lists it (prices to 0.01, quantities to
// 0.00001), with Binance's and Kraken's taker fees.
var (
	btcusdt = market.Pair{Base: "BTC", Quote: "USDT"}
	binInst = market.Instrument{
		Venue: market.Binance, Symbol: "BTCUSDT", Pair: btcusdt, PriceExp: 2, QtyExp: 5,
		Tick: 1, Step: 1, MinQty: 1, MinNotional: 500, TakerFeeBps: 10, MakerFeeBps: 10,
	}
	krkInst = market.Instrument{
		Venue: market.Kraken, Symbol: "BTC/USDT", Pair: btcusdt, PriceExp: 2, QtyExp: 5,
		Tick: 10, Step: 1, MinQty: 5, MinNotional: 500, TakerFeeBps: 10, MakerFeeBps: 10,
	}
)

// Prices of the scenario, at PriceExp 2. Binance's resting book spans
// bids 59940.00 down and asks 60010.00 up; every frame places a fresh ask
// at one of eight prices 59950.00..59957.00 (and deletes the previous
// one), while Kraken bids 60120.00: after both 10 bps taker fees and the 3 bps
// of margin and minimum profit, only the fresh ask pays, so the strategy
// decides on what the frame just changed.
const (
	binBestBid = 59940_00
	binBestAsk = 60010_00
	dipAsk     = 59950_00 // + (i%8) × 1.00
	krkBestBid = 60120_00
	krkBestAsk = 60130_00
	maxQty     = 1000  // 0.01 BTC
	dipQty     = 50000 // 0.5 BTC: the walk stops at maxQty

	freeBase  market.Qty   = 10_00000     // 10 BTC free on each venue
	freeQuote market.Price = 1_000_000_00 // 1M USDT free on each venue
)

// t2t is the in-process tick-to-trade harness: the engine core's work for
// one market-data frame, run synchronously on the caller's goroutine
// exactly as the core runs it, with no I/O (the socket write is the only
// step left out).
type t2t struct {
	bf    *fbinance.Feed
	bbook *book.Book
	kbook *book.Book

	insts   []market.Instrument // risk's; legs and intents point into it
	tops    [2]book.Top         // 0 Binance, 1 Kraken
	legs    [2]arb.Leg
	cross   *arb.Cross
	risk    *risk.Checker
	intents [2]market.Intent

	bin   binanceOrderEncoder
	xb    *xbinance.Session // when set, the Binance leg goes out through it (wire-to-wire)
	want  *atomic.Uint64    // with xb: set to the id of the order sent
	kbuf  []byte            // the Kraken add_order request
	token string            // the Kraken WebSocket token (the session's auth)
	reqID int64

	frame  []byte // the frame of the current iteration
	u      int64  // last update id sent
	i      int    // frames built
	evNs   int64  // event time of the current frame, Unix ns
	nextID market.ClientID

	// Results of the last iteration, checked by the tests.
	op      arb.Opportunity
	binReq  []byte
	krkReq  []byte
	sentID  market.ClientID // the Binance order sent through xb
	sendErr error           // xb.Send's refusal
}

func newT2T(tb testing.TB) *t2t {
	tb.Helper()
	h := &t2t{
		insts:  []market.Instrument{binInst, krkInst},
		frame:  make([]byte, 0, 1024),
		kbuf:   make([]byte, 0, 512),
		token:  "WW91ciBhdXRoZW50aWNhdGlvbiB0b2tlbiBnb2VzIGhlcmUu",
		evNs:   time.Now().UnixNano(),
		nextID: 0x1000,
	}
	var err error
	// Binance: a REST snapshot first, so that the book is Live and the
	// first diff straddles it.
	h.bf, err = fbinance.New(fbinance.Config{Venue: market.Binance, Instruments: []market.Instrument{binInst}, MaxDepth: 1000, TopN: 20})
	if err != nil {
		tb.Fatal(err)
	}
	h.u = 1_000_000
	if err := h.bf.HandleSnapshot("BTCUSDT", binanceSnapshot(h.u), h.evNs); err != nil {
		tb.Fatal(err)
	}
	h.bbook = h.bf.Symbol("BTCUSDT").Book
	// Kraken v2: a checksummed book snapshot. The checksum is computed by
	// the feed's own rendering: the first attempt (checksum 0) loads the
	// levels and fails; the second carries the right CRC32.
	kf, err := fkraken.New(fkraken.Config{Version: 2, Depth: 10, Instruments: []market.Instrument{krkInst}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := kf.Handle(krakenSnapshot(0), h.evNs); err == nil {
		tb.Fatal("kraken snapshot with checksum 0 accepted")
	}
	ks := kf.Symbols()[0]
	sum := crc32.ChecksumIEEE(kf.AppendChecksumString(nil, ks))
	if err := kf.Handle(krakenSnapshot(sum), h.evNs); err != nil {
		tb.Fatal(err)
	}
	h.kbook = ks.Book
	if st := h.kbook.State(); st != book.Live {
		tb.Fatalf("kraken book %v, want live", st)
	}

	h.cross, err = arb.NewCross(arb.CrossConfig{MinProfitBps: 2, SafetyMarginBps: 1, MaxOrderQty: maxQty, Levels: 10})
	if err != nil {
		tb.Fatal(err)
	}
	h.risk, err = risk.New(riskConfig(), h.insts)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range h.legs {
		h.legs[i] = arb.Leg{Inst: &h.insts[i], Top: &h.tops[i], BaseFree: int64(freeBase), QuoteFree: int64(freeQuote) * 1_00000}
	}
	h.bin.init("vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A", []byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"))
	return h
}

// riskConfig are limits every intent of the scenario passes. The Kraken
// book is loaded once and never updated, so its age grows with the event
// time (1 ms a frame): stale_after is an hour rather than the default 5 s,
// and every check is still computed.
func riskConfig() risk.Config {
	return risk.Config{
		Defaults: risk.Limits{
			MaxOrderQty: "1", MaxOrderNotional: "100000", PriceBandBps: 200,
			MaxOpenOrders: 100, MaxOrdersPerSec: 100_000, OrderBurst: 100_000,
			StaleAfter: time.Hour,
		},
		Assets: []risk.AssetLimits{{Asset: "BTC", MaxPosition: "10", MaxTotalPosition: "10"}},
		Kill:   risk.KillConfig{MaxLoss: 1e6, MaxDrawdown: 1e6},
	}
}

// binanceSnapshot is a /api/v3/depth body: ten levels a side around the
// scenario's prices, at Binance's eight printed decimals.
func binanceSnapshot(lastID int64) []byte {
	b := []byte(`{"lastUpdateId":`)
	b = strconv.AppendInt(b, lastID, 10)
	b = append(b, `,"bids":[`...)
	for i := range 10 {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLevel8(b, binBestBid-int64(i)*10_00, 1_00000+int64(i)*37_000)
	}
	b = append(b, `],"asks":[`...)
	for i := range 10 {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLevel8(b, binBestAsk+int64(i)*10_00, 1_00000+int64(i)*29_000)
	}
	return append(b, "]}"...)
}

// krakenSnapshot is a WebSocket v2 book snapshot of BTC/USDT with the
// given checksum.
func krakenSnapshot(checksum uint32) []byte {
	b := []byte(`{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USDT","bids":[`)
	for i := range 10 {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKrakenLevel(b, krkBestBid-int64(i)*10, 2_00000+int64(i)*1000)
	}
	b = append(b, `],"asks":[`...)
	for i := range 10 {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKrakenLevel(b, krkBestAsk+int64(i)*10, 1_50000+int64(i)*1000)
	}
	b = append(b, `],"checksum":`...)
	b = strconv.AppendUint(b, uint64(checksum), 10)
	return append(b, "}]}"...)
}

func appendKrakenLevel(b []byte, px, qty int64) []byte {
	b = append(b, `{"price":`...)
	b = market.AppendFixedTrim(b, px, 2)
	b = append(b, `,"qty":`...)
	b = market.AppendFixedTrim(b, qty, 5)
	return append(b, '}')
}

// appendLevel8 appends ["price","qty"] as Binance prints them: eight
// decimals (from mantissas at PriceExp 2 and QtyExp 5).
func appendLevel8(b []byte, px, qty int64) []byte {
	b = append(b, `["`...)
	b = market.AppendFixed(b, px*1_000000, 8)
	b = append(b, `","`...)
	b = market.AppendFixed(b, qty*1_000, 8)
	return append(b, `"]`...)
}

// nextFrame builds the next depth frame (combined-stream form, ~350 B,
// eight level changes like a busy BTCUSDT 100 ms diff) into the reused
// buffer and advances the event time by 1 ms. Every frame re-sizes three
// bids and two deeper asks, places the fresh ask of this frame and deletes
// the previous frame's, so the book really changes and stays bounded.
func (h *t2t) nextFrame() []byte {
	i := int64(h.i)
	h.i++
	h.evNs += 1e6
	first := h.u + 1
	h.u += 8
	b := h.frame[:0]
	b = append(b, `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":`...)
	b = strconv.AppendInt(b, h.evNs/1e6, 10)
	b = append(b, `,"s":"BTCUSDT","U":`...)
	b = strconv.AppendInt(b, first, 10)
	b = append(b, `,"u":`...)
	b = strconv.AppendInt(b, h.u, 10)
	b = append(b, `,"b":[`...)
	for k := range int64(3) {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendLevel8(b, binBestBid-k*10_00, 1_00000+(i+k)%7*13_000)
	}
	b = append(b, `],"a":[`...)
	b = appendLevel8(b, dipAsk+i%8*1_00, dipQty)
	b = append(b, ',')
	b = appendLevel8(b, dipAsk+(i+7)%8*1_00, 0)
	b = append(b, ',')
	b = appendLevel8(b, binBestAsk, 1_00000+i%5*21_000)
	b = append(b, ',')
	b = appendLevel8(b, binBestAsk+10_00, 1_00000+i%3*17_000)
	b = append(b, ',')
	b = appendLevel8(b, binBestAsk+20_00, 2_00000+i%4*9_000)
	b = append(b, "]}}"...)
	h.frame = b
	return b
}

// run is the tick-to-trade path for one received frame: decode and apply
// (Feed.Handle), read both venues' tops, decide (Cross.Best), check both
// intents (Checker.Check), encode and sign both orders. recvNs is the
// frame's event time (the strategy's and risk's clock). It reports whether
// both orders are ready; the bytes are in h.binReq and h.krkReq.
func (h *t2t) run(frame []byte, recvNs int64) bool {
	if err := h.bf.Handle(frame, recvNs); err != nil {
		return false
	}
	return h.decideAndEncode(recvNs)
}

// decideAndEncode is the path after the book is applied (shared with the
// wire-to-wire benchmark, whose feed applies the frame on its own
// goroutine).
func (h *t2t) decideAndEncode(now int64) bool {
	h.bbook.Read(&h.tops[0])
	h.kbook.Read(&h.tops[1])
	op, ok := h.cross.Best(h.legs[:])
	if !ok {
		return false
	}
	h.op = op
	ids := h.nextID
	h.nextID += 2
	in := op.Intents(h.legs[:], ids, ids+1, h.intents[:0])
	for k := range in {
		t := &h.tops[0]
		if in[k].Venue == market.Kraken {
			t = &h.tops[1]
		}
		v := risk.View{
			Book: t.State, BookAge: now - t.RecvTime, RefPrice: (t.Bids[0].Price + t.Asks[0].Price) / 2,
			FreeBase: freeBase, FreeQuote: freeQuote,
		}
		if r := h.risk.Check(&in[k], &v, now); r != risk.OK {
			return false
		}
	}
	for k := range in {
		switch in[k].Venue {
		case market.Binance:
			if h.xb != nil {
				h.sentID = in[k].ClientID
				if h.want != nil {
					h.want.Store(uint64(in[k].ClientID)) // before the answer can come
				}
				if err := h.xb.Send(&in[k]); err != nil {
					h.sendErr = err
					return false
				}
				continue
			}
			h.binReq = h.bin.appendPlace(&in[k], now/1e6)
		case market.Kraken:
			h.reqID++
			var err error
			if h.kbuf, err = xkraken.AppendWSAddOrder(h.kbuf[:0], h.token, h.reqID, &in[k]); err != nil {
				return false
			}
			h.krkReq = h.kbuf
		}
	}
	return true
}

// binanceOrderEncoder writes the Binance leg as exec/binance's Session
// does (its exported Encoder: parameters sorted by name, HMAC-SHA256 over
// a reused keyed state, hex signature), without the socket.
type binanceOrderEncoder struct {
	enc  *xbinance.Encoder
	cred *exec.Credential
	out  []byte
}

func (e *binanceOrderEncoder) init(apiKey string, secret []byte) {
	e.enc = xbinance.NewEncoder(xbinance.OrderOpts{RecvWindow: 5000, RespType: xbinance.RespResult})
	e.cred = &exec.Credential{ID: "bench", APIKey: apiKey, Kind: exec.HMAC, Secret: secret}
	e.out = make([]byte, 0, 1024)
}

// appendPlace encodes and signs order.place for in with recvWindow 5000
// and newOrderRespType RESULT, as the session's defaults.
func (e *binanceOrderEncoder) appendPlace(in *market.Intent, tsMs int64) []byte {
	b, err := e.enc.AppendRequest(e.out[:0], in, e.cred, tsMs)
	if err != nil {
		return nil
	}
	e.out = b
	return b
}

// TestTickToTrade runs the path over a few hundred frames and checks what
// it decides and writes: a buy of 0.01 BTC on Binance at the frame's fresh
// ask, a sell on Kraken at its bid, both requests well formed.
func TestTickToTrade(t *testing.T) {
	h := newT2T(t)
	for i := range 300 {
		f := h.nextFrame()
		if !h.run(f, h.evNs) {
			t.Fatalf("frame %d: no orders (opportunities %+v, risk ok %d)", i, h.cross.Stats, h.risk.Count(risk.OK))
		}
		want := market.Price(dipAsk + i%8*1_00)
		if h.op.Buy != 0 || h.op.Sell != 1 || h.op.BuyPrice != want || h.op.SellPrice != krkBestBid || h.op.Qty != maxQty {
			t.Fatalf("frame %d: got %+v, want buy 1000 on binance at %d, sell on kraken at %d", i, h.op, want, krkBestBid)
		}
	}
	if st := h.bbook.Stats(); st.Gaps != 0 || h.bbook.State() != book.Live {
		t.Fatalf("binance book: %+v, state %v", st, h.bbook.State())
	}
	if got := h.bbook.Depth(market.Ask); got != 11 {
		t.Errorf("binance asks %d, want 11 (ten resting and the fresh one)", got)
	}
	if got := h.risk.Count(risk.OK); got != 600 {
		t.Errorf("risk passed %d intents, want 600", got)
	}
	t.Logf("binance: %s", h.binReq)
	t.Logf("kraken:  %s", h.krkReq)
	for _, want := range []string{`"method":"order.place"`, `"side":"BUY"`, `"timeInForce":"IOC"`, `"quantity":"0.01000"`, `"price":"59953.00"`} {
		if !contains(h.binReq, want) {
			t.Errorf("binance request lacks %s: %s", want, h.binReq)
		}
	}
	for _, want := range []string{`"method":"add_order"`, `"side":"sell"`, `"time_in_force":"ioc"`, `"limit_price":60120.00`, `"order_qty":0.01000`} {
		if !contains(h.krkReq, want) {
			t.Errorf("kraken request lacks %s: %s", want, h.krkReq)
		}
	}
}

func contains(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}

// BenchmarkTickToTrade is the in-process tick-to-trade path: a Binance
// depth frame's bytes → decode and book apply → both venues' tops →
// arbitrage decision → risk checks of both intents → the Binance order
// encoded and HMAC-signed and the Kraken order encoded, ready for the
// socket. Each iteration's frame is new (built outside the timed span);
// the span is timed with Now around one iteration and recorded in an HDR
// histogram, whose p50, p99 and p99.9 are reported beside ns/op.
//
//   - path: two stamps per iteration (the figure to quote);
//   - stages: a stamp at every stage boundary, the per-stage table logged
//     (each stamp adds ~25 ns to the whole).
func BenchmarkTickToTrade(b *testing.B) {
	b.Run("path", func(b *testing.B) { benchPath(b, false) })
	// The same with the Binance leg on a WebSocket API session logged on
	// with an Ed25519 key: orders carry no per-request signature.
	b.Run("path-ed25519-session", func(b *testing.B) { benchPath(b, true) })
	b.Run("stages", func(b *testing.B) {
		h := newT2T(b)
		st := New()
		warm(h)
		b.ReportAllocs()
		b.ResetTimer()
		var s Stamps
		for range b.N {
			f := h.nextFrame()
			s[AtReceipt] = Now()
			if h.bf.Handle(f, h.evNs) != nil {
				b.Fatal("handle")
			}
			s[AtApplied] = Now()
			if !h.stagedDecide(&s) {
				b.Fatal("no orders")
			}
			s[AtSent] = s[AtReady] // nothing is written in process
			st.RecordStamps(&s)
		}
		b.StopTimer()
		reportPercentiles(b, st, TickToTrade, "")
		if b.N < 1000 {
			return // the calibration runs
		}
		var sb strings.Builder
		_ = st.Report().WriteText(&sb)
		b.Logf("stages (ns resolution, µs shown):\n%s", sb.String())
	})
}

// stagedDecide is decideAndEncode with a stamp after the decision, the
// risk checks and the encoding.
func (h *t2t) stagedDecide(s *Stamps) bool {
	now := h.evNs
	h.bbook.Read(&h.tops[0])
	h.kbook.Read(&h.tops[1])
	op, ok := h.cross.Best(h.legs[:])
	if !ok {
		return false
	}
	ids := h.nextID
	h.nextID += 2
	in := op.Intents(h.legs[:], ids, ids+1, h.intents[:0])
	s[AtDecided] = Now()
	for k := range in {
		t := &h.tops[0]
		if in[k].Venue == market.Kraken {
			t = &h.tops[1]
		}
		v := risk.View{Book: t.State, BookAge: now - t.RecvTime, RefPrice: (t.Bids[0].Price + t.Asks[0].Price) / 2,
			FreeBase: freeBase, FreeQuote: freeQuote}
		if h.risk.Check(&in[k], &v, now) != risk.OK {
			return false
		}
	}
	s[AtChecked] = Now()
	h.binReq = h.bin.appendPlace(&in[0], now/1e6)
	h.reqID++
	h.kbuf, _ = xkraken.AppendWSAddOrder(h.kbuf[:0], h.token, h.reqID, &in[1])
	s[AtReady] = Now()
	return true
}

// warm runs the path until every buffer has reached its size.
func warm(h *t2t) {
	for range 2000 {
		h.run(h.nextFrame(), h.evNs)
	}
}

// reportPercentiles reports p50, p99 and p99.9 of stage st as benchmark
// metrics (ns), with prefix before each unit.
func reportPercentiles(b *testing.B, st *Stages, s Stage, prefix string) {
	hg := st.Histogram(s)
	if hg.TotalCount() == 0 {
		return
	}
	b.ReportMetric(float64(hg.ValueAtQuantile(50)), prefix+"p50-ns")
	b.ReportMetric(float64(hg.ValueAtQuantile(99)), prefix+"p99-ns")
	b.ReportMetric(float64(hg.ValueAtQuantile(99.9)), prefix+"p99.9-ns")
}

// benchPath times the whole path, frame bytes to both orders ready; with
// edSession the Binance leg goes out on an Ed25519-logged-on session.
func benchPath(b *testing.B, edSession bool) {
	h := newT2T(b)
	if edSession {
		priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
		cred := &exec.Credential{ID: "bench-ed", APIKey: h.bin.cred.APIKey, Kind: exec.Ed25519, Private: priv}
		h.bin.cred = cred
		h.bin.enc.LoggedOn(cred)
	}
	st := New()
	warm(h)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f := h.nextFrame()
		t0 := Now()
		ok := h.run(f, h.evNs)
		t1 := Now()
		if !ok {
			b.Fatal("no orders")
		}
		st.Record(TickToTrade, t1-t0)
	}
	b.StopTimer()
	reportPercentiles(b, st, TickToTrade, "")
}
