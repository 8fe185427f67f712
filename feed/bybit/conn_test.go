package bybit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"arbmm/book"
	"arbmm/feed"
)

const guard = 5 * time.Second

// eor is the frame a replay server sends after the last capture frame: a
// pong the Feed ignores, which the probe recognises.
const eor = `{"success":true,"ret_msg":"pong","conn_id":"arbmm-eor","op":"pong"}`

// script is what a replay server does on one connection; the zero script
// replays the capture cleanly.
type script struct {
	dropAt   int    // close the socket before this frame (0: never)
	silentAt int    // stop sending (pongs too) before this frame (0: never)
	badAt    int    // send a malformed frame before this frame (0: never)
	gapTopic string // delete the gapNth delta of this topic, then wait for its resubscribe
	gapNth   int
}

// replayServer is a Bybit websocket endpoint on loopback that replays one
// connection of the capture, frame by frame, to each client that subscribes
// to every topic, following a script per connection. It keeps a reference
// Feed of what it sent (deleted frames included: the venue's own book) and
// answers a subscribe that arrives mid-stream with a snapshot rendered
// from it, as Bybit does.
type replayServer struct {
	t       *testing.T
	hs      *httptest.Server
	frames  [][]byte
	topics  []string
	scripts []script
	n       atomic.Int32

	release chan struct{} // closed by the test to let a dropAt go ahead

	mu   sync.Mutex
	reqs [][]string // per connection: the requests received, pings excepted
}

func newReplayServer(t *testing.T, frames [][]byte, topics []string, scripts ...script) *replayServer {
	srv := &replayServer{t: t, release: make(chan struct{}), frames: frames, topics: topics, scripts: scripts}
	up := websocket.Upgrader{}
	srv.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		srv.serve(ws, int(srv.n.Add(1)-1))
	}))
	t.Cleanup(srv.hs.Close)
	if !strings.HasPrefix(srv.hs.Listener.Addr().String(), "127.0.0.1:") {
		t.Fatalf("server on %s, want 127.0.0.1", srv.hs.Listener.Addr())
	}
	return srv
}

func (srv *replayServer) url() string {
	return "ws" + strings.TrimPrefix(srv.hs.URL, "http") + "/v5/public/spot"
}

func (srv *replayServer) requests(conn int) []string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if conn >= len(srv.reqs) {
		return nil
	}
	return slices.Clone(srv.reqs[conn])
}

type request struct {
	Op   string   `json:"op"`
	Args []string `json:"args"`
}

func (srv *replayServer) serve(ws *websocket.Conn, n int) {
	var sc script
	if n < len(srv.scripts) {
		sc = srv.scripts[n]
	}
	srv.mu.Lock()
	for len(srv.reqs) <= n {
		srv.reqs = append(srv.reqs, nil)
	}
	srv.mu.Unlock()

	var wmu sync.Mutex
	write := func(b []byte) bool {
		wmu.Lock()
		defer wmu.Unlock()
		ws.SetWriteDeadline(time.Now().Add(guard))
		return ws.WriteMessage(websocket.TextMessage, b) == nil
	}
	var silent atomic.Bool
	in := make(chan request, 256)
	go func() {
		defer close(in)
		for {
			_, p, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var req request
			if err := json.Unmarshal(p, &req); err != nil {
				srv.t.Errorf("server: bad request %q", p)
				return
			}
			if req.Op == "ping" {
				if !silent.Load() {
					write([]byte(`{"success":true,"ret_msg":"pong","conn_id":"x","op":"pong"}`))
				}
				continue
			}
			srv.mu.Lock()
			srv.reqs[n] = append(srv.reqs[n], string(p))
			srv.mu.Unlock()
			in <- req
		}
	}()
	next := func() (request, bool) {
		select {
		case req, ok := <-in:
			return req, ok
		case <-time.After(guard):
			srv.t.Errorf("server conn %d: no request", n)
			return request{}, false
		}
	}
	waitClose := func() {
		for range in {
		}
	}

	// The initial subscribes.
	want := map[string]bool{}
	for _, t := range srv.topics {
		want[t] = true
	}
	for len(want) > 0 {
		req, ok := next()
		if !ok {
			return
		}
		if req.Op != "subscribe" {
			srv.t.Errorf("server conn %d: %q before subscribing", n, req.Op)
		}
		for _, a := range req.Args {
			delete(want, a)
		}
	}

	ref, err := New(Config{Category: Spot})
	if err != nil {
		srv.t.Error(err)
		return
	}
	// answer serves a mid-stream request: a subscribe gets a snapshot of
	// each topic from the reference book. It reports the topics subscribed.
	answer := func(req request) (subscribed []string) {
		if req.Op != "subscribe" {
			return nil
		}
		for _, topic := range req.Args {
			sym := ref.Symbol(topic[strings.LastIndexByte(topic, '.')+1:])
			if sym == nil {
				srv.t.Errorf("server: subscribe to %q before its first snapshot", topic)
				continue
			}
			write(snapshotFrame(sym, sym.lastU))
			subscribed = append(subscribed, topic)
		}
		return subscribed
	}

	seen, awaiting := 0, false
	for i, fr := range srv.frames {
		for drained := false; !drained; {
			select {
			case req, ok := <-in:
				if !ok {
					return
				}
				answer(req)
			default:
				drained = true
			}
		}
		switch {
		case i > 0 && i == sc.dropAt:
			// Wait until the client's books are Live, so that the drop
			// (which also fails the client's next ping write, losing
			// what it has not read) finds them so.
			select {
			case <-srv.release:
			case <-time.After(guard):
				srv.t.Errorf("server conn %d: not released", n)
			}
			ws.UnderlyingConn().Close() // abrupt: no close frame
			return
		case i > 0 && i == sc.silentAt:
			silent.Store(true)
			waitClose() // until the client gives up on us
			return
		case i > 0 && i == sc.badAt:
			write([]byte(`{"op":"subscribe","success":tru`))
		}
		delta := sc.gapTopic != "" && bytes.Contains(fr, []byte(`"topic":"`+sc.gapTopic+`"`)) && bytes.Contains(fr, []byte(`"type":"delta"`))
		if err := ref.Handle(fr, 1); err != nil {
			srv.t.Errorf("server reference, frame %d: %v", i, err)
		}
		if delta {
			seen++
			if seen == sc.gapNth {
				awaiting = true
				continue // deleted
			}
		}
		if !write(fr) {
			return
		}
		if delta && awaiting {
			// The client saw the gap on this frame: it must resubscribe
			// the topic on this connection.
			for awaiting {
				req, ok := next()
				if !ok {
					return
				}
				if slices.Contains(answer(req), sc.gapTopic) {
					awaiting = false
				}
			}
		}
	}
	write([]byte(eor))
	for req := range in {
		answer(req)
	}
}

// symResult is one book as the probe saw it on the Run goroutine.
type symResult struct {
	state             book.State
	stats             book.Stats
	deltas, snapshots uint64
	levels            [2][]book.Level
}

type result struct {
	ctr  feed.CounterValues
	syms map[string]symResult
}

type downEvent struct {
	err    error
	states []book.State
}

// probe wraps a Session to observe it from the Run goroutine: at the end of
// a replay it reports the books, and after each Down their states.
type probe struct {
	*Session
	results chan result
	downs   chan downEvent
	live    chan struct{} // closed when every book is first Live
	isLive  bool
}

func (p *probe) Frame(frame []byte, recvNs int64) {
	p.Session.Frame(frame, recvNs)
	if !p.isLive && len(p.f.Symbols()) == 2 {
		p.isLive = true
		for _, s := range p.f.Symbols() {
			p.isLive = p.isLive && s.Book.State() == book.Live
		}
		if p.isLive {
			close(p.live)
		}
	}
	if !bytes.Contains(frame, []byte("arbmm-eor")) {
		return
	}
	r := result{ctr: p.f.Counters().Load(), syms: map[string]symResult{}}
	for _, s := range p.f.Symbols() {
		r.syms[s.Name] = symResult{s.Book.State(), s.Book.Stats(), s.Deltas, s.Snapshots, levelsOf(s.Book)}
	}
	select {
	case p.results <- r:
	default:
	}
}

func (p *probe) Down(err error) {
	p.Session.Down(err)
	ev := downEvent{err: err}
	for _, s := range p.f.Symbols() {
		ev.states = append(ev.states, s.Book.State())
	}
	select {
	case p.downs <- ev:
	default:
	}
}

func (p *probe) result(t *testing.T) result {
	t.Helper()
	select {
	case r := <-p.results:
		return r
	case <-time.After(guard):
		t.Fatal("no end of replay")
		return result{}
	}
}

func (p *probe) down(t *testing.T) downEvent {
	t.Helper()
	select {
	case ev := <-p.downs:
		return ev
	case <-time.After(guard):
		t.Fatal("no Down")
		return downEvent{}
	}
}

// runSession starts feed.Conn with a Bybit Session and a probe against url.
func runSession(t *testing.T, url string, symbols []string) (*probe, *feed.Conn) {
	t.Helper()
	f, err := New(Config{Category: Spot})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(f, SessionConfig{Symbols: symbols})
	if err != nil {
		t.Fatal(err)
	}
	p := &probe{Session: s, results: make(chan result, 4), downs: make(chan downEvent, 16), live: make(chan struct{})}
	c, err := feed.NewConn(feed.ConnConfig{
		Name:         "bybit-test",
		URL:          url,
		PingInterval: 50 * time.Millisecond,
		IdleTimeout:  400 * time.Millisecond,
		ReconnectMin: time.Millisecond,
		ReconnectMax: 10 * time.Millisecond,
		DialTimeout:  guard,
		WriteTimeout: guard,
	}, p)
	if err != nil {
		t.Fatal(err)
	}
	s.Conn = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(guard):
			t.Error("Run did not stop")
		}
	})
	return p, c
}

// spotReplay is the capture's spot connection: its frames, and the books a
// clean replay ends with.
func spotReplay(t *testing.T) (frames [][]byte, clean *Feed) {
	t.Helper()
	cd := loadCapture(t)
	clean, err := New(Config{Category: Spot})
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range cd.frames {
		if cd.category[fr.conn] != Spot {
			continue
		}
		frames = append(frames, fr.data)
		if err := clean.Handle(fr.data, fr.recv); err != nil {
			t.Fatal(err)
		}
	}
	return frames, clean
}

// checkBooks requires every book Live and equal to the clean replay's.
func checkBooks(t *testing.T, r result, clean *Feed) {
	t.Helper()
	if len(r.syms) != len(clean.Symbols()) {
		t.Errorf("%d books, want %d", len(r.syms), len(clean.Symbols()))
	}
	for _, want := range clean.Symbols() {
		got, ok := r.syms[want.Name]
		if !ok {
			t.Errorf("%s: no book", want.Name)
			continue
		}
		if got.state != book.Live {
			t.Errorf("%s: state %v, want live", want.Name, got.state)
		}
		w := levelsOf(want.Book)
		if !slices.Equal(got.levels[0], w[0]) || !slices.Equal(got.levels[1], w[1]) || len(w[0]) != 200 {
			t.Errorf("%s: book differs from the clean replay", want.Name)
		}
	}
}

func TestSessionRequests(t *testing.T) {
	f, _ := New(Config{Category: Linear})
	syms := []string{"btcusdt", "ETHUSDT", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9"}
	s, err := NewSession(f, SessionConfig{Symbols: syms, Depth: 50})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Subscribe(nil)
	if len(got) != 2 || !strings.HasPrefix(string(got[0]), `{"op":"subscribe","args":["orderbook.50.BTCUSDT","orderbook.50.ETHUSDT",`) ||
		string(got[1]) != `{"op":"subscribe","args":["orderbook.50.A9"]}` {
		t.Errorf("subscribe %q", got)
	}
	if string(s.Ping()) != `{"op":"ping"}` {
		t.Errorf("ping %q", s.Ping())
	}
	for _, bad := range []SessionConfig{{}, {Symbols: []string{"X"}, Depth: 7}, {Symbols: []string{"X", "x"}}, {Symbols: []string{`a"b`}}} {
		if _, err := NewSession(f, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := NewSession(nil, SessionConfig{Symbols: syms}); err == nil {
		t.Error("nil feed accepted")
	}
}

// TestSession runs feed.Conn and a Session against a websocket server on
// loopback replaying the capture's spot connection, cleanly and with each
// fault the connection layer must recover from.
func TestSession(t *testing.T) {
	frames, clean := spotReplay(t)
	symbols := []string{"BTCUSDT", "ETHUSDT"}
	topics := []string{"orderbook.200.BTCUSDT", "orderbook.200.ETHUSDT"}
	subscribe := `{"op":"subscribe","args":["orderbook.200.BTCUSDT","orderbook.200.ETHUSDT"]}`

	t.Run("clean", func(t *testing.T) {
		srv := newReplayServer(t, frames, topics)
		p, c := runSession(t, srv.url(), symbols)
		r := p.result(t)
		checkBooks(t, r, clean)
		var deltas uint64
		for name, s := range r.syms {
			deltas += s.deltas
			if s.deltas != wantDeltas[Spot][name] || s.snapshots != 1 || s.stats.Gaps != 0 || s.stats.Resyncs != 0 {
				t.Errorf("%s: deltas %d snapshots %d gaps %d resyncs %d; want %d, 1, 0, 0", name, s.deltas, s.snapshots, s.stats.Gaps, s.stats.Resyncs, wantDeltas[Spot][name])
			}
		}
		if deltas != 299+249 || r.ctr.DecodeErrors != 0 || r.ctr.Resyncs != 0 {
			t.Errorf("deltas %d, counters %+v", deltas, r.ctr)
		}
		if st := c.Stats(); st.Reconnects != 0 || st.Sends != 0 || st.Frames < uint64(len(frames)) {
			t.Errorf("conn stats %+v", st)
		}
		if got := srv.requests(0); !slices.Equal(got, []string{subscribe}) {
			t.Errorf("server got %q", got)
		}
	})

	t.Run("drop", func(t *testing.T) {
		srv := newReplayServer(t, frames, topics, script{dropAt: 300})
		p, c := runSession(t, srv.url(), symbols)
		select {
		case <-p.live:
		case <-time.After(guard):
			t.Fatal("books never live")
		}
		close(srv.release)
		ev := p.down(t)
		if ev.err == nil || len(ev.states) != 2 || ev.states[0] != book.Stale || ev.states[1] != book.Stale {
			t.Errorf("down: %v, states %v; want an error and every book stale", ev.err, ev.states)
		}
		r := p.result(t)
		checkBooks(t, r, clean)
		for name, s := range r.syms {
			if s.snapshots != 2 || s.stats.Resyncs != 1 || s.stats.Gaps != 0 {
				t.Errorf("%s: snapshots %d resyncs %d gaps %d; want 2, 1, 0", name, s.snapshots, s.stats.Resyncs, s.stats.Gaps)
			}
		}
		if st := c.Stats(); st.Reconnects != 1 || st.Disconnects != 1 {
			t.Errorf("conn stats %+v", st)
		}
		if got := srv.requests(1); !slices.Equal(got, []string{subscribe}) {
			t.Errorf("server, second connection, got %q", got)
		}
	})

	t.Run("gap", func(t *testing.T) {
		srv := newReplayServer(t, frames, topics, script{gapTopic: "orderbook.200.BTCUSDT", gapNth: 150})
		p, c := runSession(t, srv.url(), symbols)
		r := p.result(t)
		checkBooks(t, r, clean)
		btc, eth := r.syms["BTCUSDT"], r.syms["ETHUSDT"]
		if btc.stats.Gaps != 1 || btc.stats.Resyncs != 1 || btc.snapshots != 2 || eth.stats.Gaps != 0 || eth.snapshots != 1 {
			t.Errorf("BTC gaps %d resyncs %d snapshots %d; ETH gaps %d snapshots %d", btc.stats.Gaps, btc.stats.Resyncs, btc.snapshots, eth.stats.Gaps, eth.snapshots)
		}
		if r.ctr.Resyncs != 1 || p.Resubscribes() != 1 || p.SendErrors() != 0 {
			t.Errorf("counters %+v, resubscribes %d, send errors %d", r.ctr, p.Resubscribes(), p.SendErrors())
		}
		if st := c.Stats(); st.Reconnects != 0 || st.Sends != 2 {
			t.Errorf("conn stats %+v", st)
		}
		want := []string{subscribe, `{"op":"unsubscribe","args":["orderbook.200.BTCUSDT"]}`, `{"op":"subscribe","args":["orderbook.200.BTCUSDT"]}`}
		if got := srv.requests(0); !slices.Equal(got, want) {
			t.Errorf("server got %q, want %q", got, want)
		}
	})

	t.Run("malformed", func(t *testing.T) {
		srv := newReplayServer(t, frames, topics, script{badAt: 200})
		p, c := runSession(t, srv.url(), symbols)
		r := p.result(t)
		checkBooks(t, r, clean)
		if r.ctr.DecodeErrors != 1 || r.ctr.Resyncs != 0 {
			t.Errorf("counters %+v, want 1 decode error, 0 resyncs", r.ctr)
		}
		for name, s := range r.syms {
			if s.deltas != wantDeltas[Spot][name] || s.stats.Gaps != 0 || s.stats.Resyncs != 0 {
				t.Errorf("%s: deltas %d gaps %d resyncs %d", name, s.deltas, s.stats.Gaps, s.stats.Resyncs)
			}
		}
		if st := c.Stats(); st.Reconnects != 0 {
			t.Errorf("conn stats %+v", st)
		}
	})

	t.Run("silent", func(t *testing.T) {
		srv := newReplayServer(t, frames, topics, script{silentAt: 250})
		p, c := runSession(t, srv.url(), symbols)
		ev := p.down(t)
		if !errors.Is(ev.err, feed.ErrIdleTimeout) || ev.states[0] != book.Stale || ev.states[1] != book.Stale {
			t.Errorf("down: %v, states %v; want idle timeout, every book stale", ev.err, ev.states)
		}
		r := p.result(t)
		checkBooks(t, r, clean)
		if st := c.Stats(); st.Reconnects != 1 || st.IdleTimeouts != 1 {
			t.Errorf("conn stats %+v", st)
		}
		if got := srv.requests(1); !slices.Equal(got, []string{subscribe}) {
			t.Errorf("server, second connection, got %q", got)
		}
	})
}
