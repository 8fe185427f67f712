package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"arbmm/book"
	"arbmm/exec"
	xbinance "arbmm/exec/binance"
	"arbmm/feed"
	fbinance "arbmm/feed/binance"
	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	simbinance "arbmm/internal/sim/binance"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

// Accounts on the simulated venue: ours, and the liquidity the test places.
const (
	acctUs match.AccountID = 100
	acctLP match.AccountID = 1
)

// answerTimeout bounds every wait for the venue (a failure, never a pace).
const answerTimeout = 5 * time.Second

// wireRig is the loopback wire-to-wire set-up: a simulated Binance venue
// (internal/sim/venue + internal/sim/binance) on 127.0.0.1, and the
// engine's own code against it: a feed.Conn running the feed/binance
// Session and Feed (depth stream + REST snapshot), the decision path of
// the tick-to-trade harness run on the feed goroutine after each frame
// (tops, arb.Cross, exec/risk, the Kraken leg encoded), and the Binance
// leg sent by an exec/binance Session over the WebSocket API, whose answer
// is the ack. The Kraken leg's book is the harness's static one.
type wireRig struct {
	v    *venue.Venue
	pair *venue.Pair
	srv  *simbinance.Server
	h    *t2t
	xb   *xbinance.Session
	eng  *engineSession

	frames chan struct{}   // a frame reached the engine (set-up only)
	sent   chan wireStamps // the engine sent an order
	acks   chan int64      // Now when the awaited order's first report arrived
	want   atomic.Uint64   // client id whose first report is awaited; 0: none
	armed  atomic.Bool     // the engine may act on the next frame that pays
}

// wireStamps are the engine-side stamps of one iteration.
type wireStamps struct {
	recv, sent int64 // Now at frame receipt (Session.Frame) and after Send returned
	err        error
}

// engineSession is the feed/binance Session with the engine core's work
// run after each frame, on the Conn's goroutine (in the engine the core is
// another goroutine fed by a ring; here it is the same one).
type engineSession struct {
	*fbinance.Session
	r *wireRig
}

// Frame hands the frame to the feed, then decides on the books.
func (e *engineSession) Frame(frame []byte, recvNs int64) {
	t := Now()
	e.Session.Frame(frame, recvNs)
	r := e.r
	select {
	case r.frames <- struct{}{}:
	default:
	}
	if !r.armed.Load() || r.h.bbook.State() != book.Live {
		return
	}
	h := r.h
	h.sentID, h.sendErr = 0, nil
	if !h.decideAndEncode(recvNs) {
		if h.sendErr != nil {
			r.armed.Store(false)
			r.sent <- wireStamps{recv: t, err: h.sendErr}
		}
		return // this frame does not pay (the fill's own update, say)
	}
	r.armed.Store(false)
	r.sent <- wireStamps{recv: t, sent: Now()}
}

func newWireRig(tb testing.TB) *wireRig {
	tb.Helper()
	r := &wireRig{
		frames: make(chan struct{}, 1),
		sent:   make(chan wireStamps, 1),
		acks:   make(chan int64, 1),
	}
	keys := auth.NewKeys()
	v, err := venue.New(venue.Config{Name: "binance", Pairs: []venue.PairConfig{{
		Symbol: binInst.Symbol, Pair: btcusdt, PriceExp: 2, QtyExp: 5, Tick: 1, Step: 1,
		MinQty: 1, MinNotional: 500, MakerFeeBps: 10, TakerFeeBps: 10,
	}}})
	if err != nil {
		tb.Fatal(err)
	}
	r.v = v
	r.pair, _ = v.Pair(binInst.Symbol)
	const huge = 1 << 30
	r.srv, err = simbinance.New(simbinance.Config{Venue: v, Seed: 1, Keys: keys,
		Limits: auth.BinanceLimits{WeightPerMinute: huge, OrdersPer10s: huge, OrdersPerDay: huge}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.srv.Listen("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.srv.Close() })
	secret := []byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")
	apiKey := "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
	if err := keys.Add(auth.Key{APIKey: apiKey, Type: auth.HMAC, Secret: secret, Account: uint32(acctUs), Perms: auth.PermRead | auth.PermTrade}); err != nil {
		tb.Fatal(err)
	}
	v.Track(acctUs)
	for _, a := range []match.AccountID{acctUs, acctLP} {
		must(tb, v.Deposit(a, "BTC", 1_000_000_00000))          // 1M BTC at 5 decimals
		must(tb, v.Deposit(a, "USDT", 100_000_000_000_0000000)) // 100bn USDT at 7 decimals
	}
	// The resting ladder, as the in-process scenario's snapshot.
	v.Do(func(tx *venue.Tx) {
		for i := range int64(10) {
			_, err = tx.Submit(r.pair, match.Request{Account: acctLP, Side: market.Bid, Type: match.Limit, TIF: match.GTC, Price: binBestBid - i*10_00, Qty: 1_00000})
			if err == nil {
				_, err = tx.Submit(r.pair, match.Request{Account: acctLP, Side: market.Ask, Type: match.Limit, TIF: match.GTC, Price: binBestAsk + i*10_00, Qty: 1_00000})
			}
			if err != nil {
				return
			}
		}
	})
	must(tb, err)

	// The engine: the harness's decision path, the Binance book from the
	// feed below, the Kraken book static.
	r.h = newT2T(tb)
	f, err := fbinance.New(fbinance.Config{Venue: market.Binance, Instruments: []market.Instrument{binInst}, MaxDepth: 1000, TopN: 20})
	if err != nil {
		tb.Fatal(err)
	}
	r.h.bbook = f.Symbol(binInst.Symbol).Book
	fs, err := fbinance.NewSession(f, fbinance.SessionConfig{Symbols: []string{binInst.Symbol}, REST: r.srv.RESTURL(), Limit: 100, RetryDelay: 5 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	r.eng = &engineSession{Session: fs, r: r}
	conn, err := feed.NewConn(feed.ConnConfig{Name: "binance-sim", URL: r.srv.StreamURL(), PingInterval: -1, IdleTimeout: -1,
		ReconnectMin: time.Millisecond, ReconnectMax: 20 * time.Millisecond}, r.eng)
	if err != nil {
		tb.Fatal(err)
	}
	fs.Conn = conn
	r.xb, err = xbinance.Dial(xbinance.Config{
		WSURL: r.srv.WSAPIURL(), Keys: exec.StaticKey{C: &exec.Credential{ID: "bench", APIKey: apiKey, Kind: exec.HMAC, Secret: secret}},
		Instruments: []*market.Instrument{&r.h.insts[0]}, NoUserData: true,
		WeightPerMinute: huge, OrdersPer10s: huge, OrdersPerDay: huge,
		OnReport: r.onReport,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.xb.Close() })
	r.h.xb, r.h.want = r.xb, &r.want

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = conn.Run(ctx)
	}()
	tb.Cleanup(func() { cancel(); <-done; _ = fs.Close() })

	// Sync: the subscribe answer is the first frame; then every book change
	// is a frame, and the snapshot (fetched after the first depth frame)
	// is loaded at the frame after it arrives. Deep bids at 500.00 are
	// added until the book is Live.
	r.waitFrame(tb)
	for i := 0; r.h.bbook.State() != book.Live; i++ {
		if i == 10000 {
			tb.Fatal("the engine's book never went live")
		}
		v.Do(func(tx *venue.Tx) {
			_, err = tx.Submit(r.pair, match.Request{Account: acctLP, Side: market.Bid, Type: match.Limit, TIF: match.GTC, Price: 500_00, Qty: 1})
		})
		must(tb, err)
		r.waitFrame(tb)
	}
	return r
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func (r *wireRig) waitFrame(tb testing.TB) {
	tb.Helper()
	select {
	case <-r.frames:
	case <-time.After(answerTimeout):
		tb.Fatal("no frame from the simulated venue")
	}
}

// onReport sees every report of the order session (its reader goroutine)
// and passes on the arrival of the first one of the awaited order.
func (r *wireRig) onReport(rep *market.Report) {
	t := Now()
	id := r.want.Load()
	if id != 0 && uint64(rep.ClientID) == id && r.want.CompareAndSwap(id, 0) {
		r.acks <- t
	}
}

// wireSample is one wire-to-wire iteration's stamps (Now).
type wireSample struct {
	start, recv, sent, ack int64
}

// once runs one wire-to-wire iteration: the venue gets a fresh ask at a
// price that pays against Kraken (placed by the liquidity account, so the
// venue matches, encodes the depth update and queues it to the stream),
// and the engine's order must come back acknowledged. start is taken just
// before the venue changes its book: the sim's send time.
func (r *wireRig) once(i int) (wireSample, error) {
	r.armed.Store(true)
	var s wireSample
	var err error
	s.start = Now()
	r.v.Do(func(tx *venue.Tx) {
		_, err = tx.Submit(r.pair, match.Request{Account: acctLP, Side: market.Ask, Type: match.Limit, TIF: match.GTC, Price: dipAsk + int64(i%8)*1_00, Qty: maxQty})
	})
	if err != nil {
		return s, err
	}
	select {
	case ws := <-r.sent:
		if ws.err != nil {
			return s, ws.err
		}
		s.recv, s.sent = ws.recv, ws.sent
	case <-time.After(answerTimeout):
		return s, errors.New("the engine sent no order")
	}
	select {
	case s.ack = <-r.acks:
	case <-time.After(answerTimeout):
		return s, errors.New("no answer to the order")
	}
	return s, nil
}

// echoServer is a fasthttp/websocket echo server on 127.0.0.1: the bare
// round-trip floor.
func echoServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	up := websocket.FastHTTPUpgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		_ = up.Upgrade(ctx, func(c *websocket.Conn) {
			buf := make([]byte, 0, 4096)
			for {
				mt, rd, err := c.NextReader()
				if err != nil {
					return
				}
				if buf, err = readAll(rd, buf[:0]); err != nil {
					return
				}
				if c.WriteMessage(mt, buf) != nil {
					return
				}
			}
		})
	}}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Shutdown() })
	return "ws://" + ln.Addr().String() + "/"
}

func readAll(rd io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// echoClient is the client side of the bare round trip.
type echoClient struct {
	c   *websocket.Conn
	msg []byte
	buf []byte
}

func newEchoClient(tb testing.TB, url string) *echoClient {
	tb.Helper()
	d := websocket.Dialer{ReadBufferSize: 4096, WriteBufferSize: 4096}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	// ~200 B: the size of an order request.
	msg := []byte(`{"id":1,"method":"order.place","params":{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"IOC","quantity":"0.01000","price":"59950.00","newClientOrderId":"x0000000000001000","timestamp":1767323045300}}`)
	return &echoClient{c: c, msg: msg, buf: make([]byte, 0, 4096)}
}

// roundTrip writes the message and reads the echo; it returns the time
// taken (Now).
func (e *echoClient) roundTrip() (int64, error) {
	t0 := Now()
	if err := e.c.WriteMessage(websocket.TextMessage, e.msg); err != nil {
		return 0, err
	}
	_, rd, err := e.c.NextReader()
	if err != nil {
		return 0, err
	}
	if e.buf, err = readAll(rd, e.buf[:0]); err != nil {
		return 0, err
	}
	t1 := Now()
	if len(e.buf) != len(e.msg) {
		return 0, errors.New("echo: short answer")
	}
	return t1 - t0, nil
}

// Stage-like rows of the wire report.
const (
	rowBare   = iota // bare websocket round trip
	rowW2W           // venue book change → order acknowledged
	rowIn            // venue book change → frame at the engine (venue encode + one way)
	rowEngine        // frame at the engine → order handed to the socket
	rowAck           // order handed to the socket → its answer read
	numRows
)

var rowNames = [numRows]string{"bare_rtt", "wire_to_wire", "venue_to_engine", "engine", "send_to_ack"}

// wireRun interleaves n bare round trips with n wire-to-wire iterations
// (one of each per step, so both see the same machine state) and records
// them in one Stages-sized set of histograms.
func wireRun(tb testing.TB, r *wireRig, e *echoClient, n int, rows *[numRows]*Stages) {
	tb.Helper()
	for i := range n {
		d, err := e.roundTrip()
		if err != nil {
			tb.Fatal(err)
		}
		rows[rowBare].Record(TickToTrade, d)
		s, err := r.once(i)
		if err != nil {
			tb.Fatalf("iteration %d: %v", i, err)
		}
		rows[rowW2W].Record(TickToTrade, s.ack-s.start)
		rows[rowIn].Record(TickToTrade, s.recv-s.start)
		rows[rowEngine].Record(TickToTrade, s.sent-s.recv)
		rows[rowAck].Record(TickToTrade, s.ack-s.sent)
	}
}

func newRows() *[numRows]*Stages {
	var rows [numRows]*Stages
	for i := range rows {
		rows[i] = New()
	}
	return &rows
}

func rowsReport(rows *[numRows]*Stages) Report {
	var rep Report
	for i, st := range rows {
		rep.Stages = append(rep.Stages, Summarize(rowNames[i], st.Histogram(TickToTrade)))
	}
	return rep
}

// TestWireToWire runs a few iterations of both measurements: the engine's
// order answers every fresh ask, filled at that ask.
func TestWireToWire(t *testing.T) {
	r := newWireRig(t)
	e := newEchoClient(t, echoServer(t))
	rows := newRows()
	wireRun(t, r, e, 50, rows)
	var sb strings.Builder
	_ = rowsReport(rows).WriteText(&sb)
	t.Logf("50 iterations:\n%s", sb.String())
	if got := r.xb.Stats(); got.Sent != 50 {
		t.Errorf("orders sent %d, want 50", got.Sent)
	}
	// Each iteration already waited for its order's answer (wireRun
	// fails on a timeout). Whether every fresh ask was the one taken
	// depends on which frame the decision saw first, which a slowed
	// (-race) run changes: it is logged, not asserted.
	var best match.Level
	r.v.Do(func(*venue.Tx) { best, _ = r.pair.Book.Best(market.Ask) })
	t.Logf("venue's best ask after the run: %d (resting ladder from %d)", best.Price, binBestAsk)
}

// BenchmarkWireToWire measures, in the same run and interleaved step by
// step, (a) the bare loopback websocket round trip of a ~200 B message
// between a fasthttp/websocket server and client, and (b) wire to wire
// against the simulated Binance venue: from just before the venue changes
// its book (a fresh ask that pays against the Kraken book), through the
// venue's depth frame over the stream websocket, the engine's feed.Conn
// and feed/binance decode and apply, the decision (tops, arb.Cross,
// exec/risk for both legs, the Kraken leg encoded), the Binance leg sent
// by exec/binance's Session over the WebSocket API, the venue's matching
// (the IOC fills against the fresh ask), to the venue's answer decoded by
// the session (its OnReport). Reported: p50/p99/p99.9 of both (ns) and
// the p50 difference; the breakdown table is logged.
func BenchmarkWireToWire(b *testing.B) {
	r := newWireRig(b)
	e := newEchoClient(b, echoServer(b))
	warmRows := newRows()
	wireRun(b, r, e, 500, warmRows)
	rows := newRows()
	b.ReportAllocs()
	b.ResetTimer()
	wireRun(b, r, e, b.N, rows)
	b.StopTimer()
	reportPercentiles(b, rows[rowW2W], TickToTrade, "w2w-")
	reportPercentiles(b, rows[rowBare], TickToTrade, "rtt-")
	b.ReportMetric(float64(rows[rowW2W].Histogram(TickToTrade).ValueAtQuantile(50)-rows[rowBare].Histogram(TickToTrade).ValueAtQuantile(50)), "w2w-minus-rtt-p50-ns")
	if b.N >= 1000 {
		var sb strings.Builder
		_ = rowsReport(rows).WriteText(&sb)
		b.Logf("%d iterations of each:\n%s", b.N, sb.String())
	}
}

// TestBinanceStandInAccepted: the tick-to-trade benchmark's stand-in for
// exec/binance's encoder writes requests the simulated venue accepts
// (signature verified, parameters parsed, order placed): sent as is over a
// WebSocket API connection, the answer has status 200.
func TestBinanceStandInAccepted(t *testing.T) {
	r := newWireRig(t)
	c, _, err := websocket.DefaultDialer.Dial(r.srv.WSAPIURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := market.Intent{Action: market.ActNew, Venue: market.Binance, Inst: &r.h.insts[0], Side: market.Buy,
		Type: market.Limit, TIF: market.IOC, Price: binBestAsk, Qty: maxQty, ClientID: 0xfeed}
	req := r.h.bin.appendPlace(&in, time.Now().UnixMilli())
	if err := c.WriteMessage(websocket.TextMessage, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(answerTimeout))
	_, resp, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(resp), `"status":200`) || !strings.Contains(string(resp), `"status":"FILLED"`) {
		t.Errorf("request\n%s\nanswered\n%s", req, resp)
	}
}
