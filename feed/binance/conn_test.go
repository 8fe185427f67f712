package binance

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/capture"
	"arbmm/internal/market"
)

// guard bounds every wait; it is a failure guard, never a way to let
// something happen.
const guard = 5 * time.Second

// marker is a well-formed frame the Feed ignores (a SUBSCRIBE answer); the
// probe Session reports its state when it sees it.
const marker = `{"result":null,"id":4242}`

// symReport is one symbol as the Run goroutine saw it.
type symReport struct {
	state              book.State
	lastU              int64
	inSync             bool
	tickerOK, tickFail uint64
	stats              book.Stats
}

type report struct {
	syms map[string]symReport
	ctr  feed.CounterValues
}

// probeSession wraps the Session under test and reports the Feed's state,
// read on the Run goroutine, whenever a marker frame arrives.
type probeSession struct {
	*Session
	reports chan report
	downs   chan error
}

func (p *probeSession) Frame(frame []byte, recvNs int64) {
	p.Session.Frame(frame, recvNs)
	if string(frame) != marker {
		return
	}
	r := report{syms: map[string]symReport{}, ctr: p.f.Counters().Load()}
	for _, s := range p.f.Symbols() {
		sr := symReport{lastU: s.lastU, inSync: s.state == inSync, tickerOK: s.TickerOK, tickFail: s.TickerFail}
		if s.Book != nil {
			sr.state = s.Book.State()
			sr.stats = s.Book.Stats()
		}
		r.syms[s.Name] = sr
	}
	select {
	case p.reports <- r:
	default: // the test stopped listening
	}
}

func (p *probeSession) Down(err error) {
	p.Session.Down(err)
	p.downs <- err
}

// step is one record of the capture: a frame to send, or the point where
// the recorder fetched a snapshot.
type step struct {
	frame  string
	symbol string // set for a snapshot
}

func loadSteps(t *testing.T, path string) []step {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var steps []step
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return steps
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec.Kind {
		case capture.KindRecv:
			steps = append(steps, step{frame: string(rec.Data)})
		case capture.KindHTTP:
			u, err := url.Parse(rec.URL)
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, step{frame: string(rec.Data), symbol: u.Query().Get("symbol")})
		}
	}
}

// snapAsk is one REST snapshot request, answered by the venue driver.
type snapAsk struct {
	symbol string
	reply  chan []byte
}

// venue is a loopback Binance: a websocket endpoint whose connections the
// test drives frame by frame, and /api/v3/depth, whose answers come from a
// reference Feed that sees every frame the venue sends (skipped ones too),
// so a snapshot is always consistent with the stream. A request for a
// symbol whose capture snapshot point has not been replayed yet is held
// until it is: then the answer is exactly the captured snapshot.
type venue struct {
	t     *testing.T
	hs    *httptest.Server
	conns chan *websocket.Conn
	msgs  chan string // data frames from clients
	asks  chan snapAsk
	quit  chan struct{} // closed at the end: unblocks pending requests
	steps []step

	mkt   market.Venue
	ref   *Feed
	held  []snapAsk
	asked map[string]bool // symbols the client asked a snapshot of, this replay
	ws    *websocket.Conn
}

func newVenue(t *testing.T, steps []step, mkt market.Venue) *venue {
	v := &venue{t: t, mkt: mkt, conns: make(chan *websocket.Conn, 4), msgs: make(chan string, 64), asks: make(chan snapAsk, 64), quit: make(chan struct{}), steps: steps}
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		v.conns <- ws
		for {
			_, p, err := ws.ReadMessage()
			if err != nil {
				return
			}
			v.msgs <- string(p)
		}
	})
	depth := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("limit") != "1000" {
			http.Error(w, "bad limit", http.StatusBadRequest)
			return
		}
		a := snapAsk{symbol: r.URL.Query().Get("symbol"), reply: make(chan []byte, 1)}
		select {
		case v.asks <- a:
		case <-v.quit:
			return
		}
		select {
		case body := <-a.reply:
			w.Write(body)
		case <-r.Context().Done():
		case <-v.quit:
		}
	}
	if mkt == market.BinanceUSDM {
		mux.HandleFunc("/fapi/v1/depth", depth)
	} else {
		mux.HandleFunc("/api/v3/depth", depth)
	}
	v.hs = httptest.NewServer(mux)
	t.Cleanup(v.hs.Close)
	if !strings.HasPrefix(v.hs.Listener.Addr().String(), "127.0.0.1:") {
		t.Fatalf("server on %s, want 127.0.0.1", v.hs.Listener.Addr())
	}
	return v
}

func (v *venue) wsURL() string {
	return "ws" + strings.TrimPrefix(v.hs.URL, "http") + "/stream?streams=nknusdt@depth@100ms/nknusdt@bookTicker"
}

// accept takes the next connection and checks its SUBSCRIBE request.
func (v *venue) accept(want string) {
	v.t.Helper()
	select {
	case v.ws = <-v.conns:
	case <-time.After(guard):
		v.t.Fatal("client did not connect")
	}
	select {
	case got := <-v.msgs:
		if got != want {
			v.t.Fatalf("subscribe: got %s, want %s", got, want)
		}
	case <-time.After(guard):
		v.t.Fatal("no SUBSCRIBE request")
	}
	v.held = v.held[:0]
}

func (v *venue) send(frame string) {
	v.t.Helper()
	if err := v.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		v.t.Fatalf("server write: %v", err)
	}
}

// answer serves one snapshot request, or holds it until the symbol's
// capture snapshot point.
func (v *venue) answer(a snapAsk) {
	v.asked[a.symbol] = true
	sym := v.ref.Symbol(a.symbol)
	if sym == nil || sym.Book == nil || sym.Snapshots == 0 {
		v.held = append(v.held, a)
		return
	}
	b := []byte(`{"lastUpdateId":`)
	b = strconv.AppendInt(b, sym.lastU, 10)
	for _, side := range []market.Side{market.Bid, market.Ask} {
		if side == market.Bid {
			b = append(b, `,"bids":[`...)
		} else {
			b = append(b, `,"asks":[`...)
		}
		for i := range sym.Book.Depth(side) {
			if i > 0 {
				b = append(b, ',')
			}
			l := sym.Book.Level(side, i)
			b = append(b, `["`...)
			b = market.AppendFixed(b, int64(l.Price), sym.Inst.PriceExp)
			b = append(b, `","`...)
			b = market.AppendFixed(b, int64(l.Qty), sym.Inst.QtyExp)
			b = append(b, `"]`...)
		}
		b = append(b, ']')
	}
	a.reply <- append(b, '}')
}

func (v *venue) serveAsks() {
	for {
		select {
		case a := <-v.asks:
			v.answer(a)
		default:
			return
		}
	}
}

// replay starts the venue's stream over (a fresh reference book) and sends
// the capture's frames in order; skip, if set, drops a frame from the wire
// (the reference still applies it), and after, if set, runs after each
// frame sent.
func (v *venue) replay(p *probeSession, skip func(i int, frame string) bool, after func(i int)) {
	v.t.Helper()
	ref, err := New(Config{Venue: v.mkt})
	if err != nil {
		v.t.Fatal(err)
	}
	v.ref = ref
	v.asked = map[string]bool{}
	for i, s := range v.steps {
		v.serveAsks()
		if s.symbol != "" {
			// A client that has seen the symbol's frames asks for its
			// snapshot; one that has not cannot yet.
			known := ref.Symbol(s.symbol) != nil
			if err := ref.HandleSnapshot(s.symbol, []byte(s.frame), 0); err != nil {
				v.t.Fatal(err)
			}
			held := v.held
			v.held = nil
			for _, a := range held {
				v.answer(a)
			}
			// The recorder's client loaded the snapshot here: so does
			// ours (if it knows the symbol yet), before the stream goes
			// on, so that the bookTicker checks fall where the capture's
			// oracle counts them.
			if !known && !v.asked[s.symbol] {
				continue
			}
			id := ref.Symbol(s.symbol).lastU
			v.probe(p, "snapshot "+s.symbol, func(r report) bool { return r.syms[s.symbol].lastU >= id })
			continue
		}
		ref.Handle([]byte(s.frame), 0)
		if skip != nil && skip(i, s.frame) {
			continue
		}
		v.send(s.frame)
		if after != nil {
			after(i)
		}
	}
}

// probe asks for reports until cond holds, serving snapshot requests
// meanwhile (holding them all when hold is set).
func (v *venue) probe(p *probeSession, what string, cond func(r report) bool) report {
	return v.probeHold(p, what, false, cond)
}

func (v *venue) probeHold(p *probeSession, what string, hold bool, cond func(r report) bool) report {
	v.t.Helper()
	timeout := time.After(guard)
	v.send(marker)
	var last report
	for {
		select {
		case a := <-v.asks:
			if hold {
				v.held = append(v.held, a)
			} else {
				v.answer(a)
			}
		case r := <-p.reports:
			last = r
			if cond(r) {
				return r
			}
			v.send(marker)
		case <-timeout:
			for _, s := range v.ref.Symbols() {
				v.t.Logf("%s: ref lastU %d; got %+v", s.Name, s.lastU, last.syms[s.Name])
			}
			v.t.Fatalf("%s: not reached: %+v", what, last.ctr)
		}
	}
}

// synced reports whether every symbol follows the reference to its end.
func (v *venue) synced(r report) bool {
	if len(r.syms) != len(v.ref.Symbols()) {
		return false
	}
	for _, s := range v.ref.Symbols() {
		got := r.syms[s.Name]
		if got.state != book.Live || got.lastU != s.lastU {
			return false
		}
	}
	return true
}

func sum(r report, f func(symReport) uint64) uint64 {
	var n uint64
	for _, s := range r.syms {
		n += f(s)
	}
	return n
}

// TestSessionEndToEnd runs feed.Conn and a Session against a loopback
// Binance replaying the real spot capture, then drops the connection, goes
// silent, skips an event and sends garbage, and checks the books follow.
func TestSessionEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		file     string
		venue    market.Venue
		tickerOK uint64
	}{
		{"testdata/binance-spot-depth-4sym.jsonl", market.Binance, 26},
		{"testdata/binanceus-spot-depth-4sym.jsonl", market.BinanceUS, 56},
		{"testdata/binance-usdm-depth.jsonl", market.BinanceUSDM, 50},
	} {
		t.Run(tc.file, func(t *testing.T) { testEndToEnd(t, tc.file, tc.venue, tc.tickerOK) })
	}
}

func testEndToEnd(t *testing.T, file string, mkt market.Venue, per uint64) {
	steps := loadSteps(t, file)
	v := newVenue(t, steps, mkt)

	f, err := New(Config{Venue: mkt})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(f, SessionConfig{Symbols: []string{"NKNUSDT"}, REST: v.hs.URL, HTTPTimeout: guard, RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p := &probeSession{Session: s, reports: make(chan report, 1), downs: make(chan error, 8)}
	c, err := feed.NewConn(feed.ConnConfig{
		Name: "binance-test", URL: v.wsURL(),
		PingInterval: -1, IdleTimeout: 300 * time.Millisecond,
		ReconnectMin: time.Millisecond, ReconnectMax: 5 * time.Millisecond,
	}, p)
	if err != nil {
		t.Fatal(err)
	}
	s.Conn = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		close(v.quit)
		cancel()
		select {
		case <-done:
		case <-time.After(guard):
			t.Error("Run did not return")
		}
		s.Close()
	}()
	sub := `{"method":"SUBSCRIBE","params":["nknusdt@depth@100ms","nknusdt@bookTicker"],"id":1}`

	// The capture's oracle: every symbol in sync, 0 gaps, every
	// bookTicker check passed.
	v.accept(sub)
	v.replay(p, nil, nil)
	r := v.probe(p, "first replay", func(r report) bool {
		return v.synced(r) && sum(r, func(s symReport) uint64 { return s.tickerOK }) >= 26
	})
	if ok, fail, gaps := sum(r, func(s symReport) uint64 { return s.tickerOK }), sum(r, func(s symReport) uint64 { return s.tickFail }), sum(r, func(s symReport) uint64 { return s.stats.Gaps }); ok != per || fail != 0 || gaps != 0 {
		t.Fatalf("first replay: bookTicker ok %d fail %d gaps %d, want %d, 0, 0", ok, fail, gaps, per)
	}
	if r.ctr.DecodeErrors != 0 || r.ctr.Unknown != 0 || len(r.syms) != 4 {
		t.Fatalf("first replay: decode errors %d unknown %d symbols %d, want 0, 0, 4", r.ctr.DecodeErrors, r.ctr.Unknown, len(r.syms))
	}

	// (c) A malformed frame is counted and the stream goes on.
	v.send(`{"stream":"nknusdt@depth@100ms","data":{"e":"depthUpd`)
	r = v.probe(p, "malformed frame", func(r report) bool { return r.ctr.DecodeErrors == 1 })
	if !v.synced(r) {
		t.Fatal("a malformed frame unsynced a book")
	}

	// (a) The venue drops the connection: Down, every book Stale, a
	// reconnect with SUBSCRIBE, a fresh snapshot per symbol, and the
	// replayed stream reproduces the oracle again.
	v.ws.Close()
	select {
	case <-p.downs:
	case <-time.After(guard):
		t.Fatal("no Down after the drop")
	}
	// The Run goroutine last changed the symbol list before the last
	// report; it waits for the reconnect now.
	for _, sym := range f.Symbols() {
		if st := sym.Book.State(); st != book.Stale {
			t.Errorf("%s after Down: %v, want stale", sym.Name, st)
		}
	}
	fetches := s.Stats().Fetches
	v.accept(sub)
	v.replay(p, nil, nil)
	r = v.probe(p, "replay after drop", func(r report) bool {
		return v.synced(r) && sum(r, func(s symReport) uint64 { return s.tickerOK }) >= 52
	})
	if ok, fail, gaps := sum(r, func(s symReport) uint64 { return s.tickerOK }), sum(r, func(s symReport) uint64 { return s.tickFail }), sum(r, func(s symReport) uint64 { return s.stats.Gaps }); ok != 2*per || fail != 0 || gaps != 0 {
		t.Fatalf("after drop: bookTicker ok %d fail %d gaps %d, want %d, 0, 0", ok, fail, gaps, 2*per)
	}
	if st := c.Stats(); st.Reconnects != 1 || st.Disconnects != 1 {
		t.Errorf("after drop: reconnects %d disconnects %d, want 1, 1", st.Reconnects, st.Disconnects)
	}
	if n := s.Stats().Fetches - fetches; n < 4 {
		t.Errorf("after drop: %d snapshot fetches, want ≥ 4", n)
	}
	for name, sr := range r.syms {
		if sr.stats.Resyncs < 1 {
			t.Errorf("%s: resyncs %d after the drop, want ≥ 1", name, sr.stats.Resyncs)
		}
	}

	// (d) The venue goes silent: idle timeout, Down, reconnect; (b) on the
	// new connection one depth event is skipped: a gap, the book Stale
	// until a new REST snapshot brings it back in line with the venue.
	select {
	case err := <-p.downs:
		if !errors.Is(err, feed.ErrIdleTimeout) {
			t.Fatalf("Down(%v), want idle timeout", err)
		}
	case <-time.After(guard):
		t.Fatal("no idle timeout")
	}
	v.accept(sub)
	depth, victim, gapAt := 0, "", -1
	stale := false
	before := r.syms
	v.replay(p, func(i int, frame string) bool {
		if victim != "" || !strings.Contains(frame, "depthUpdate") {
			return false
		}
		if depth++; depth < 120 {
			return false
		}
		k := strings.Index(frame, `"s":"`) + 5
		victim = frame[k : k+strings.Index(frame[k:], `"`)]
		return true
	}, func(i int) {
		// At the victim's next depth event the gap is seen; the
		// venue holds no snapshot request, so the book must be stale.
		if victim == "" || stale || gapAt >= 0 || !strings.Contains(v.steps[i].frame, `"s":"`+victim+`"`) || !strings.Contains(v.steps[i].frame, "depthUpdate") {
			return
		}
		gapAt = i
		r := v.probeHold(p, "gap", true, func(r report) bool { return r.syms[victim].stats.Gaps > before[victim].stats.Gaps })
		stale = r.syms[victim].state == book.Stale
		held := v.held
		v.held = nil
		for _, a := range held {
			v.answer(a)
		}
	})
	if victim == "" || gapAt < 0 {
		t.Fatal("no event skipped")
	}
	if !stale {
		t.Errorf("%s: not stale after the gap", victim)
	}
	r = v.probe(p, "recovery from the gap", v.synced)
	for name, sr := range r.syms {
		wantGaps := before[name].stats.Gaps
		if name == victim {
			wantGaps++
		}
		if sr.stats.Gaps != wantGaps || sr.tickFail != 0 {
			t.Errorf("%s: gaps %d bookTicker fails %d, want %d, 0", name, sr.stats.Gaps, sr.tickFail, wantGaps)
		}
	}
	if got, want := r.syms[victim].stats.Resyncs, before[victim].stats.Resyncs+2; got != want {
		t.Errorf("%s: resyncs %d, want %d (the idle reconnect and the gap)", victim, got, want)
	}
	if st := c.Stats(); st.IdleTimeouts != 1 || st.Reconnects != 2 {
		t.Errorf("idle timeouts %d reconnects %d, want 1, 2", st.IdleTimeouts, st.Reconnects)
	}
	if st := s.Stats(); st.FetchErrors != 0 {
		t.Errorf("fetch errors %d, want 0", st.FetchErrors)
	}
}

func TestSessionConfig(t *testing.T) {
	f, err := New(Config{Venue: market.BinanceUSDM})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSession(f, SessionConfig{REST: "ftp://x"}); err == nil {
		t.Error("ftp REST accepted")
	}
	s, err := NewSession(f, SessionConfig{REST: "https://fapi.binance.com/", Symbols: []string{"BTCUSDT", "ethusdt"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.path != "/fapi/v1/depth" {
		t.Errorf("path %s, want /fapi/v1/depth", s.path)
	}
	got := s.Subscribe(nil)
	want := `{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","btcusdt@bookTicker","ethusdt@depth@100ms","ethusdt@bookTicker"],"id":1}`
	if len(got) != 1 || string(got[0]) != want {
		t.Errorf("Subscribe = %q, want %s", got, want)
	}
	if s.Ping() != nil {
		t.Error("Ping != nil")
	}
}
