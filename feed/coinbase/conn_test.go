package coinbase

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/market"
)

const guard = 5 * time.Second

// sessionDepth holds the capture's whole books (46,000 BTC-USD levels), so
// that a book reloaded from a mid-stream snapshot equals a clean replay's
// level for level.
const sessionDepth = 1 << 16

const stamp = `"timestamp":"2026-08-09T21:05:48.483587501Z"`

// script is what a replay server does on one connection; the zero script
// replays the capture cleanly.
type script struct {
	dropAt   int // close the socket before this frame (0: never)
	silentAt int // stop sending (pongs too) before this frame (0: never)
	badAt    int // send a malformed frame (no sequence_num) before this frame (0: never)
	gapAt    int // delete this frame (its sequence_num is used up), then wait for the level2 resubscribe (0: never)
}

type request struct {
	Type     string   `json:"type"`
	Products []string `json:"product_ids"`
	Channel  string   `json:"channel"`
}

// replayServer is a Coinbase Advanced Trade websocket endpoint on loopback
// that replays the capture, every frame renumbered with the connection's
// own sequence_num from 0, to each client that subscribes level2 and
// heartbeats, following a script per connection. It keeps a reference Feed
// of the venue's books (deleted frames included) and answers a level2
// subscribe that arrives mid-stream with a snapshot of each product
// rendered from it, as Coinbase does.
type replayServer struct {
	t        *testing.T
	hs       *httptest.Server
	frames   [][]byte
	products []string
	ins      []market.Instrument
	scripts  []script
	n        atomic.Int32

	release chan struct{} // closed by the test to let a dropAt go ahead

	mu   sync.Mutex
	reqs [][]string // per connection: the requests received
}

func newReplayServer(t *testing.T, frames [][]byte, ins []market.Instrument, scripts ...script) *replayServer {
	srv := &replayServer{t: t, release: make(chan struct{}), frames: frames, products: []string{"BTC-USD", "ETH-USD"}, ins: ins, scripts: scripts}
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

func (srv *replayServer) url() string { return "ws" + strings.TrimPrefix(srv.hs.URL, "http") }

func (srv *replayServer) requests(conn int) []string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if conn >= len(srv.reqs) {
		return nil
	}
	return slices.Clone(srv.reqs[conn])
}

// reseq returns frame with its sequence_num replaced by seq.
func reseq(frame []byte, seq int64) []byte {
	const key = `"sequence_num":`
	i := bytes.Index(frame, []byte(key))
	if i < 0 {
		return frame
	}
	i += len(key)
	j := i
	for j < len(frame) && frame[j] >= '0' && frame[j] <= '9' {
		j++
	}
	out := append([]byte(nil), frame[:i]...)
	out = strconv.AppendInt(out, seq, 10)
	return append(out, frame[j:]...)
}

// snapshotFrame renders sym's whole book as an l2_data snapshot with
// sequence_num seq: what Coinbase sends after a level2 subscribe.
func snapshotFrame(sym *Symbol, seq int64) []byte {
	b := []byte(`{"channel":"l2_data","client_id":"",` + stamp + `,"sequence_num":`)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"events":[{"type":"snapshot","product_id":"`+sym.Name+`","updates":[`...)
	first := true
	for s, name := range [2]string{"bid", "offer"} {
		for i := range sym.Book.Depth(market.Side(s)) {
			l := sym.Book.Level(market.Side(s), i)
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, `{"side":"`+name+`","event_time":"2026-08-09T21:05:48.170326Z","price_level":"`...)
			b = market.AppendFixedTrim(b, int64(l.Price), sym.Inst.PriceExp)
			b = append(b, `","new_quantity":"`...)
			b = market.AppendFixedTrim(b, int64(l.Qty), sym.Inst.QtyExp)
			b = append(b, `"}`...)
		}
	}
	return append(b, "]}]}"...)
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
	ws.SetPingHandler(func(data string) error {
		if !silent.Load() {
			ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(guard))
		}
		return nil
	})
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

	// The initial subscribes: level2 and heartbeats.
	for want := map[string]bool{ChannelLevel2: true, ChannelHeartbeats: true}; len(want) > 0; {
		req, ok := next()
		if !ok {
			return
		}
		if req.Type != "subscribe" || !slices.Equal(req.Products, srv.products) {
			srv.t.Errorf("server conn %d: %+v before subscribing", n, req)
		}
		delete(want, req.Channel)
	}

	ref, err := New(Config{Instruments: srv.ins, MaxDepth: sessionDepth})
	if err != nil {
		srv.t.Error(err)
		return
	}
	var seq int64
	// answer serves a mid-stream request: a level2 subscribe gets a
	// snapshot of each product from the reference books. It reports
	// whether it was one.
	answer := func(req request) bool {
		if req.Type != "subscribe" || req.Channel != ChannelLevel2 {
			return false
		}
		for _, p := range req.Products {
			write(snapshotFrame(ref.Symbol(p), seq))
			seq++
		}
		return true
	}

	awaiting := false
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
			for range in { // until the client gives up on us
			}
			return
		case i > 0 && i == sc.badAt:
			write([]byte(`{"channel":"heartbeats","events":[{"current_time":`)) // no sequence_num: no gap
		}
		if err := ref.Handle(fr, 1); err != nil {
			srv.t.Errorf("server reference, frame %d: %v", i, err)
		}
		if i > 0 && i == sc.gapAt {
			seq++ // used up, never sent
			awaiting = true
			continue
		}
		if !write(reseq(fr, seq)) {
			return
		}
		seq++
		for awaiting { // the client saw the gap on this frame
			req, ok := next()
			if !ok {
				return
			}
			if answer(req) {
				awaiting = false
			}
		}
	}
	write([]byte(`{"channel":"heartbeats","client_id":"arbmm-eor",` + stamp + `,"sequence_num":` + strconv.FormatInt(seq, 10) +
		`,"events":[{"current_time":"2026-08-09 21:05:48.48 +0000 UTC","heartbeat_counter":1}]}`))
	for req := range in {
		answer(req)
	}
}

// symResult is one book as the probe saw it on the Run goroutine.
type symResult struct {
	state                       book.State
	stats                       book.Stats
	updates, snapshots, dropped uint64
	levels                      [2][]book.Level
}

type result struct {
	ctr  feed.CounterValues
	conn ConnStats
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
	r := result{ctr: p.f.Counters().Load(), conn: p.f.Conn(), syms: map[string]symResult{}}
	for _, s := range p.f.Symbols() {
		r.syms[s.Name] = symResult{s.Book.State(), s.Book.Stats(), s.Updates, s.Snapshots, s.Dropped, levelsOf(s.Book)}
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

// runSession starts feed.Conn with a Coinbase Session and a probe against
// url.
func runSession(t *testing.T, url string, ins []market.Instrument) (*probe, *feed.Conn) {
	t.Helper()
	f, err := New(Config{Instruments: ins, MaxDepth: sessionDepth})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(f, SessionConfig{Products: []string{"BTC-USD", "ETH-USD"}})
	if err != nil {
		t.Fatal(err)
	}
	p := &probe{Session: s, results: make(chan result, 4), downs: make(chan downEvent, 16), live: make(chan struct{})}
	c, err := feed.NewConn(feed.ConnConfig{
		Name:         "coinbase-test",
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
		if !equalLevels(got.levels, levelsOf(want.Book)) {
			t.Errorf("%s: book differs from the clean replay", want.Name)
		}
	}
}

func TestSessionRequests(t *testing.T) {
	f := newFeed(t, Config{})
	s, err := NewSession(f, SessionConfig{Products: []string{"BTC-USD", "ETH-USD"}})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Subscribe(nil)
	want := []string{
		`{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"level2"}`,
		`{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"heartbeats"}`,
	}
	if len(got) != 2 || string(got[0]) != want[0] || string(got[1]) != want[1] {
		t.Errorf("subscribe %q, want %q", got, want)
	}
	if s.Ping() != nil {
		t.Errorf("ping %q, want nil", s.Ping())
	}
	s, _ = NewSession(f, SessionConfig{Products: []string{"BTC-USD"}, NoHeartbeats: true})
	if got := s.Subscribe(nil); len(got) != 1 {
		t.Errorf("subscribe without heartbeats: %q", got)
	}
	for _, bad := range []SessionConfig{{}, {Products: []string{""}}, {Products: []string{"A", "A"}}} {
		if _, err := NewSession(f, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := NewSession(nil, SessionConfig{Products: []string{"BTC-USD"}}); err == nil {
		t.Error("nil feed accepted")
	}
}

// TestSession runs feed.Conn and a Session against a websocket server on
// loopback replaying the capture, cleanly and with each fault the
// connection layer must recover from.
func TestSession(t *testing.T) {
	frames, ts := recvFrames(t)
	ins := captureInstruments(t)
	clean := newFeed(t, Config{Instruments: ins, MaxDepth: sessionDepth})
	for i, fr := range frames {
		if err := clean.Handle(fr, ts[i]); err != nil {
			t.Fatalf("clean replay, frame %d: %v", i, err)
		}
	}
	level2 := `{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"level2"}`
	subscribe := []string{level2, `{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"heartbeats"}`}
	wantUpdates := map[string]uint64{"BTC-USD": captureBTCUpdate, "ETH-USD": captureETHUpdate}

	t.Run("clean", func(t *testing.T) {
		srv := newReplayServer(t, frames, ins)
		p, c := runSession(t, srv.url(), ins)
		r := p.result(t)
		checkBooks(t, r, clean)
		for name, s := range r.syms {
			if s.updates != wantUpdates[name] || s.snapshots != 1 || s.dropped != 0 || s.stats.Gaps != 0 || s.stats.Resyncs != 0 {
				t.Errorf("%s: updates %d snapshots %d dropped %d gaps %d resyncs %d; want %d, 1, 0, 0, 0", name, s.updates, s.snapshots, s.dropped, s.stats.Gaps, s.stats.Resyncs, wantUpdates[name])
			}
		}
		if r.conn.Gaps != 0 || r.conn.L2 != captureL2 || r.conn.FirstSeq != 0 || r.conn.Sequenced != captureRecv+1 {
			t.Errorf("sequence figures %+v; want 0 gaps over %d l2_data, %d frames from 0", r.conn, captureL2, captureRecv+1)
		}
		if r.ctr.DecodeErrors != 0 || r.ctr.Resyncs != 0 {
			t.Errorf("counters %+v", r.ctr)
		}
		if st := c.Stats(); st.Reconnects != 0 || st.Sends != 0 || st.Frames != captureRecv+1 {
			t.Errorf("conn stats %+v", st)
		}
		if got := srv.requests(0); !slices.Equal(got, subscribe) {
			t.Errorf("server got %q", got)
		}
	})

	t.Run("drop", func(t *testing.T) {
		srv := newReplayServer(t, frames, ins, script{dropAt: 400})
		p, c := runSession(t, srv.url(), ins)
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
		if r.conn.Gaps != 0 || r.conn.FirstSeq != 0 || r.conn.Sequenced != captureRecv+1 {
			t.Errorf("sequence figures %+v: want the second connection's, from 0, without gaps", r.conn)
		}
		if st := c.Stats(); st.Reconnects != 1 || st.Disconnects != 1 {
			t.Errorf("conn stats %+v", st)
		}
		if got := srv.requests(1); !slices.Equal(got, subscribe) {
			t.Errorf("server, second connection, got %q", got)
		}
	})

	t.Run("gap", func(t *testing.T) {
		// Frame 100 is an l2_data update: the server's books have it, the
		// client's snapshot after the resubscribe brings it.
		if !bytes.HasPrefix(frames[100], []byte(`{"channel":"l2_data"`)) || !bytes.Contains(frames[100], []byte(`"type":"update"`)) {
			t.Fatalf("frame 100 is not an l2_data update: %.100s", frames[100])
		}
		srv := newReplayServer(t, frames, ins, script{gapAt: 100})
		p, c := runSession(t, srv.url(), ins)
		r := p.result(t)
		checkBooks(t, r, clean)
		for name, s := range r.syms {
			if s.stats.Gaps != 1 || s.stats.Resyncs != 1 || s.snapshots != 2 {
				t.Errorf("%s: gaps %d resyncs %d snapshots %d; want 1, 1, 2", name, s.stats.Gaps, s.stats.Resyncs, s.snapshots)
			}
		}
		if r.conn.Gaps != 1 || r.ctr.Resyncs != 2 || p.Resubscribes() != 1 || p.SendErrors() != 0 {
			t.Errorf("sequence %+v, counters %+v, resubscribes %d, send errors %d", r.conn, r.ctr, p.Resubscribes(), p.SendErrors())
		}
		if st := c.Stats(); st.Reconnects != 0 || st.Sends != 2 {
			t.Errorf("conn stats %+v", st)
		}
		want := append(slices.Clone(subscribe), `{"type":"unsubscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"level2"}`, level2)
		if got := srv.requests(0); !slices.Equal(got, want) {
			t.Errorf("server got %q, want %q", got, want)
		}
	})

	t.Run("malformed", func(t *testing.T) {
		srv := newReplayServer(t, frames, ins, script{badAt: 300})
		p, c := runSession(t, srv.url(), ins)
		r := p.result(t)
		checkBooks(t, r, clean)
		if r.ctr.DecodeErrors != 1 || r.ctr.Resyncs != 0 || r.conn.Gaps != 0 {
			t.Errorf("counters %+v, sequence %+v; want 1 decode error, no resync or gap", r.ctr, r.conn)
		}
		for name, s := range r.syms {
			if s.updates != wantUpdates[name] || s.stats.Resyncs != 0 {
				t.Errorf("%s: updates %d resyncs %d", name, s.updates, s.stats.Resyncs)
			}
		}
		if st := c.Stats(); st.Reconnects != 0 {
			t.Errorf("conn stats %+v", st)
		}
	})

	t.Run("silent", func(t *testing.T) {
		srv := newReplayServer(t, frames, ins, script{silentAt: 500})
		p, c := runSession(t, srv.url(), ins)
		ev := p.down(t)
		if !errors.Is(ev.err, feed.ErrIdleTimeout) || len(ev.states) != 2 || ev.states[0] != book.Stale || ev.states[1] != book.Stale {
			t.Errorf("down: %v, states %v; want idle timeout, every book stale", ev.err, ev.states)
		}
		r := p.result(t)
		checkBooks(t, r, clean)
		if st := c.Stats(); st.Reconnects != 1 || st.IdleTimeouts != 1 {
			t.Errorf("conn stats %+v", st)
		}
		if got := srv.requests(1); !slices.Equal(got, subscribe) {
			t.Errorf("server, second connection, got %q", got)
		}
	})
}
