package okx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"hash/crc32"
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
	"arbmm/internal/market"
)

const guard = 5 * time.Second

// eor is the frame a replay server sends after the last capture frame: an
// event the Feed ignores, which the probe recognises.
const eor = `{"event":"notice","msg":"arbmm-eor","code":"0"}`

var sessionInsts = []string{"BTC-USD-220527", "UNI-USD-SWAP", "BTC-USDT"}

// script is what a replay server does on one connection; the zero script
// replays the capture cleanly.
type script struct {
	dropAt    int // close the socket before this frame, once released (0: never)
	silentAt  int // stop sending (pongs too) before this frame (0: never)
	badAt     int // send a malformed frame before this frame (0: never)
	gapAt     int // delete this book update, then wait for its instrument's resubscribe (0: never)
	corruptAt int // send this book update with a wrong checksum, then wait for the resubscribe (0: never)
}

type request struct {
	Op   string `json:"op"`
	Args []struct {
		Channel string `json:"channel"`
		InstID  string `json:"instId"`
	} `json:"args"`
}

// replayServer is an OKX public websocket endpoint on loopback that replays
// the capture's frames (with OKX's seqId/prevSeqId, as it sends them since
// 2022) to each client that subscribes to the books of every instrument,
// following a script per connection. It keeps a reference Feed of the
// venue's books (deleted and corrupted frames as they were) and answers a
// books subscribe that arrives mid-stream with a snapshot rendered from it,
// checksum and seqId included, as OKX does.
type replayServer struct {
	t       *testing.T
	hs      *httptest.Server
	frames  [][]byte
	ins     []market.Instrument
	scripts []script
	n       atomic.Int32
	release chan struct{} // closed by the test to let a dropAt go ahead

	mu   sync.Mutex
	reqs [][]string // per connection: the requests received, pings excepted
}

func newReplayServer(t *testing.T, frames [][]byte, ins []market.Instrument, scripts ...script) *replayServer {
	srv := &replayServer{t: t, frames: frames, ins: ins, scripts: scripts, release: make(chan struct{})}
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
	return "ws" + strings.TrimPrefix(srv.hs.URL, "http") + "/ws/v5/public"
}

func (srv *replayServer) requests(conn int) []string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if conn >= len(srv.reqs) {
		return nil
	}
	return slices.Clone(srv.reqs[conn])
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
			if string(p) == "ping" {
				if !silent.Load() {
					write([]byte("pong"))
				}
				continue
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

	// The initial subscribe.
	want := map[string]bool{}
	for _, id := range sessionInsts {
		want[id] = true
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
			if a.Channel == "books" {
				delete(want, a.InstID)
			}
		}
	}

	ref, err := New(Config{Instruments: srv.ins})
	if err != nil {
		srv.t.Error(err)
		return
	}
	// answer serves a mid-stream request: a books subscribe gets a
	// snapshot of each instrument from the reference books. It reports the
	// instruments subscribed.
	answer := func(req request) (subscribed []string) {
		if req.Op != "subscribe" {
			return nil
		}
		for _, a := range req.Args {
			sym := ref.Symbol(a.InstID)
			if a.Channel != "books" || sym == nil {
				srv.t.Errorf("server: subscribe to %+v", a)
				continue
			}
			cs := int64(int32(crc32.ChecksumIEEE(ref.AppendChecksumString(nil, sym))))
			write(bookFrame(sym.Name, sym.Book, sym.Inst, sym.lastTs, sym.lastSeq, cs, false))
			subscribed = append(subscribed, a.InstID)
		}
		return subscribed
	}

	await := "" // instrument whose resubscribe the client owes after its next book frame
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
			write([]byte(`{"event":"subscribe","arg":{"chan`))
		}
		if err := ref.Handle(fr, 1); err != nil {
			srv.t.Errorf("server reference, frame %d: %v", i, err)
		}
		send := fr
		switch {
		case i > 0 && i == sc.gapAt:
			await = instOf(fr)
			continue // deleted
		case i > 0 && i == sc.corruptAt:
			await = instOf(fr)
			send = reCS.ReplaceAll(fr, []byte(`"checksum":12345`))
		}
		if !write(send) {
			return
		}
		if await != "" && isBook(fr) && instOf(fr) == await {
			// The client found the fault on this frame: it must
			// resubscribe the instrument on this connection.
			for await != "" {
				req, ok := next()
				if !ok {
					return
				}
				if slices.Contains(answer(req), await) {
					await = ""
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
	state                    book.State
	stats                    book.Stats
	updates, snapshots       uint64
	checksumOK, checksumFail uint64
	seqGaps                  uint64
	levels                   [2][]book.Level
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
	if !p.isLive {
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
		r.syms[s.Name] = symResult{s.Book.State(), s.Book.Stats(), s.Updates, s.Snapshots, s.ChecksumOK, s.ChecksumFail, s.SeqGaps, levelsOf(s.Book)}
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

// levelsOf returns every level of b, best first, per side.
func levelsOf(b *book.Book) [2][]book.Level {
	return [2][]book.Level{b.AppendLevels(nil, market.Bid), b.AppendLevels(nil, market.Ask)}
}

// runSession starts feed.Conn with an OKX Session and a probe against url.
func runSession(t *testing.T, url string, ins []market.Instrument) (*probe, *feed.Conn) {
	t.Helper()
	f := newFeed(t, Config{Instruments: ins})
	s, err := NewSession(f, SessionConfig{InstIDs: sessionInsts})
	if err != nil {
		t.Fatal(err)
	}
	p := &probe{Session: s, results: make(chan result, 4), downs: make(chan downEvent, 16), live: make(chan struct{})}
	c, err := feed.NewConn(feed.ConnConfig{
		Name:         "okx-test",
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
		w := levelsOf(want.Book)
		if !slices.Equal(got.levels[0], w[0]) || !slices.Equal(got.levels[1], w[1]) || len(w[0]) == 0 {
			t.Errorf("%s: book differs from the clean replay", want.Name)
		}
	}
}

func TestSessionRequests(t *testing.T) {
	f := newFeed(t, Config{})
	s, err := NewSession(f, SessionConfig{InstIDs: []string{"BTC-USDT", "ETH-USDT"}})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Subscribe(nil)
	want := `{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},{"channel":"books","instId":"ETH-USDT"}]}`
	if len(got) != 1 || string(got[0]) != want {
		t.Errorf("subscribe %q, want %q", got, want)
	}
	if string(s.Ping()) != "ping" {
		t.Errorf("ping %q", s.Ping())
	}
	for _, bad := range []SessionConfig{{}, {InstIDs: []string{"BTC-USDT"}, Channel: "tickers"}, {InstIDs: []string{"A-B", "A-B"}}, {InstIDs: []string{`a"b`}}} {
		if _, err := NewSession(f, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := NewSession(nil, SessionConfig{InstIDs: []string{"BTC-USDT"}}); err == nil {
		t.Error("nil feed accepted")
	}
}

// TestSession runs feed.Conn and a Session against a websocket server on
// loopback replaying the capture (with seqIds), cleanly and with each
// fault the connection layer must recover from.
func TestSession(t *testing.T) {
	raw, recv := readCapture(t, captureFile)
	frames, _ := sequenced(raw, false)
	ins := instruments(t)
	clean := newFeed(t, Config{Instruments: ins})
	replay(t, clean, frames, recv)
	subscribe := `{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USD-220527"},{"channel":"books","instId":"UNI-USD-SWAP"},{"channel":"books","instId":"BTC-USDT"}]}`
	resub := []string{`{"op":"unsubscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`, `{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`}
	waitLive := func(t *testing.T, p *probe) {
		t.Helper()
		select {
		case <-p.live:
		case <-time.After(guard):
			t.Fatal("books never live")
		}
	}

	t.Run("clean", func(t *testing.T) {
		srv := newReplayServer(t, frames, ins)
		p, c := runSession(t, srv.url(), ins)
		r := p.result(t)
		checkBooks(t, r, clean)
		var total uint64
		for name, s := range r.syms {
			total += s.checksumOK
			if s.checksumOK != wantChecksums[name] || s.checksumFail != 0 || s.snapshots != 1 || s.stats.Gaps != 0 || s.stats.Resyncs != 0 {
				t.Errorf("%s: checksums %d ok %d failed, snapshots %d gaps %d resyncs %d; want %d, 0, 1, 0, 0", name, s.checksumOK, s.checksumFail, s.snapshots, s.stats.Gaps, s.stats.Resyncs, wantChecksums[name])
			}
		}
		if total != 290 || r.ctr.DecodeErrors != 0 || r.ctr.Resyncs != 0 {
			t.Errorf("%d checksums verified, counters %+v; want 290, no errors", total, r.ctr)
		}
		if st := c.Stats(); st.Reconnects != 0 || st.Sends != 0 {
			t.Errorf("conn stats %+v", st)
		}
		if got := srv.requests(0); !slices.Equal(got, []string{subscribe}) {
			t.Errorf("server got %q", got)
		}
	})

	t.Run("drop", func(t *testing.T) {
		srv := newReplayServer(t, frames, ins, script{dropAt: len(frames) / 2})
		p, c := runSession(t, srv.url(), ins)
		waitLive(t, p)
		close(srv.release)
		ev := p.down(t)
		if ev.err == nil || len(ev.states) != 3 || slices.ContainsFunc(ev.states, func(s book.State) bool { return s != book.Stale }) {
			t.Errorf("down: %v, states %v; want an error and every book stale", ev.err, ev.states)
		}
		r := p.result(t)
		checkBooks(t, r, clean)
		for name, s := range r.syms {
			if s.snapshots != 2 || s.stats.Resyncs != 1 || s.stats.Gaps != 0 || s.checksumFail != 0 {
				t.Errorf("%s: snapshots %d resyncs %d gaps %d checksum failures %d; want 2, 1, 0, 0", name, s.snapshots, s.stats.Resyncs, s.stats.Gaps, s.checksumFail)
			}
		}
		if st := c.Stats(); st.Reconnects != 1 || st.Disconnects != 1 {
			t.Errorf("conn stats %+v", st)
		}
		if got := srv.requests(1); !slices.Equal(got, []string{subscribe}) {
			t.Errorf("server, second connection, got %q", got)
		}
	})

	for _, tc := range []struct {
		name string
		sc   script
	}{
		{"gap", script{gapAt: nthUpdate(t, frames, "BTC-USDT", 30)}},
		{"corrupt", script{corruptAt: nthUpdate(t, frames, "BTC-USDT", 40)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newReplayServer(t, frames, ins, tc.sc)
			p, c := runSession(t, srv.url(), ins)
			r := p.result(t)
			checkBooks(t, r, clean)
			for name, s := range r.syms {
				wantGaps, wantFail, wantSnaps := uint64(0), uint64(0), uint64(1)
				if name == "BTC-USDT" {
					wantSnaps = 2
					if tc.sc.gapAt > 0 {
						wantGaps = 1
					} else {
						wantFail = 1
					}
				}
				if s.stats.Gaps != wantGaps || s.seqGaps != wantGaps || s.checksumFail != wantFail || s.snapshots != wantSnaps || s.stats.Resyncs != wantSnaps-1 {
					t.Errorf("%s: gaps %d/%d checksum failures %d snapshots %d resyncs %d; want %d, %d, %d, %d", name, s.stats.Gaps, s.seqGaps, s.checksumFail, s.snapshots, s.stats.Resyncs, wantGaps, wantFail, wantSnaps, wantSnaps-1)
				}
			}
			if r.ctr.Resyncs != 1 || p.Resubscribes() != 1 || p.SendErrors() != 0 {
				t.Errorf("counters %+v, resubscribes %d, send errors %d", r.ctr, p.Resubscribes(), p.SendErrors())
			}
			if st := c.Stats(); st.Reconnects != 0 || st.Sends != 2 {
				t.Errorf("conn stats %+v", st)
			}
			if got, want := srv.requests(0), append([]string{subscribe}, resub...); !slices.Equal(got, want) {
				t.Errorf("server got %q, want %q", got, want)
			}
		})
	}

	t.Run("malformed", func(t *testing.T) {
		srv := newReplayServer(t, frames, ins, script{badAt: len(frames) / 3})
		p, c := runSession(t, srv.url(), ins)
		r := p.result(t)
		checkBooks(t, r, clean)
		if r.ctr.DecodeErrors != 1 || r.ctr.Resyncs != 0 {
			t.Errorf("counters %+v, want 1 decode error, 0 resyncs", r.ctr)
		}
		for name, s := range r.syms {
			if s.checksumOK != wantChecksums[name] || s.stats.Resyncs != 0 {
				t.Errorf("%s: checksums %d resyncs %d", name, s.checksumOK, s.stats.Resyncs)
			}
		}
		if st := c.Stats(); st.Reconnects != 0 {
			t.Errorf("conn stats %+v", st)
		}
	})

	t.Run("silent", func(t *testing.T) {
		srv := newReplayServer(t, frames, ins, script{silentAt: len(frames) / 2})
		p, c := runSession(t, srv.url(), ins)
		ev := p.down(t)
		if !errors.Is(ev.err, feed.ErrIdleTimeout) || len(ev.states) != 3 || slices.ContainsFunc(ev.states, func(s book.State) bool { return s != book.Stale }) {
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
