package kraken

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/market"
)

// guard bounds every wait; it is a failure guard, never a way to let
// something happen.
const guard = 5 * time.Second

// markers are frames the Feed ignores (heartbeats); the probe Session
// reports its state when it sees one.
const (
	markerV2 = `{"channel":"heartbeat"}`
	markerV1 = `{"event":"heartbeat"}`
)

type report struct {
	state book.State
	stats book.Stats
	ctr   feed.CounterValues
}

// probeSession wraps the Session under test and reports the book, read on
// the Run goroutine, whenever a marker frame arrives.
type probeSession struct {
	*Session
	reports chan report
	downs   chan error
}

func (p *probeSession) Frame(frame []byte, recvNs int64) {
	p.Session.Frame(frame, recvNs)
	if string(frame) != markerV1 && string(frame) != markerV2 {
		return
	}
	r := report{ctr: p.f.Counters().Load()}
	if syms := p.f.Symbols(); len(syms) == 1 {
		r.state, r.stats = syms[0].Book.State(), syms[0].Book.Stats()
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

// venue is a loopback Kraken v2 whose connections the test drives frame by
// frame. A reference Feed sees every true frame, so that the snapshot the
// venue answers a resubscribe with is the book as it stands.
type venue struct {
	t      *testing.T
	hs     *httptest.Server
	conns  chan *websocket.Conn
	msgs   chan string
	frames [][]byte
	cfg    Config
	ref    *Feed
	ws     *websocket.Conn
}

func newVenue(t *testing.T, frames [][]byte, cfg Config) *venue {
	v := &venue{t: t, conns: make(chan *websocket.Conn, 4), msgs: make(chan string, 64), frames: frames, cfg: cfg}
	up := websocket.Upgrader{}
	v.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	}))
	t.Cleanup(v.hs.Close)
	if !strings.HasPrefix(v.hs.Listener.Addr().String(), "127.0.0.1:") {
		t.Fatalf("server on %s, want 127.0.0.1", v.hs.Listener.Addr())
	}
	return v
}

func (v *venue) expect(want ...string) {
	v.t.Helper()
	for _, w := range want {
		select {
		case got := <-v.msgs:
			if got != w {
				v.t.Fatalf("client sent %s, want %s", got, w)
			}
		case <-time.After(guard):
			v.t.Fatalf("client sent nothing, want %s", w)
		}
	}
}

func (v *venue) accept(sub string) {
	v.t.Helper()
	select {
	case v.ws = <-v.conns:
	case <-time.After(guard):
		v.t.Fatal("client did not connect")
	}
	v.expect(sub)
}

func (v *venue) send(frame []byte) {
	v.t.Helper()
	if err := v.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		v.t.Fatalf("server write: %v", err)
	}
}

func (v *venue) marker() []byte {
	if v.cfg.Version == 1 {
		return []byte(markerV1)
	}
	return []byte(markerV2)
}

// snapshotV1 renders the reference book as a v1 snapshot (no checksum).
func (v *venue) snapshotV1() []byte {
	sym := v.ref.Symbols()[0]
	b := strconv.AppendInt([]byte{'['}, sym.chanID, 10)
	for _, side := range []market.Side{market.Ask, market.Bid} {
		if side == market.Ask {
			b = append(b, `,{"as":[`...)
		} else {
			b = append(b, `,"bs":[`...)
		}
		for i := range sym.Book.Depth(side) {
			if i > 0 {
				b = append(b, ',')
			}
			l := sym.Book.Level(side, i)
			b = append(b, `["`...)
			b = market.AppendFixed(b, int64(l.Price), sym.PriceExp)
			b = append(b, `","`...)
			b = market.AppendFixed(b, int64(l.Qty), sym.QtyExp)
			b = append(b, `","1693415329.704000"]`...)
		}
		b = append(b, ']')
	}
	b = append(b, `},"book-`...)
	b = strconv.AppendInt(b, int64(sym.Depth), 10)
	b = append(b, `","`...)
	b = append(b, sym.Symbol...)
	return append(b, `"]`...)
}

// snapshot renders the reference book as a snapshot: v2 with its checksum.
func (v *venue) snapshot() []byte {
	if v.cfg.Version == 1 {
		return v.snapshotV1()
	}
	sym := v.ref.Symbols()[0]
	b := []byte(`{"channel":"book","type":"snapshot","data":[{"symbol":"`)
	b = append(b, sym.Symbol...)
	b = append(b, '"')
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
			b = append(b, `{"price":`...)
			b = market.AppendFixed(b, int64(l.Price), sym.PriceExp)
			b = append(b, `,"qty":`...)
			b = market.AppendFixed(b, int64(l.Qty), sym.QtyExp)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	cs, ok := v.ref.checksum(sym)
	if !ok {
		v.t.Fatal("reference book has no checksum")
	}
	b = append(b, `,"checksum":`...)
	b = strconv.AppendUint(b, uint64(cs), 10)
	return append(b, `}]}`...)
}

// hasChecksum reports whether frame carries a checksum (v2 or v1).
func hasChecksum(frame []byte) bool {
	s := string(frame)
	return strings.Contains(s, `"checksum":`) || strings.Contains(s, `"c":"`)
}

// corrupt returns frame with its checksum changed.
func corrupt(t *testing.T, frame []byte) []byte {
	s := string(frame)
	key := `"checksum":`
	if !strings.Contains(s, key) {
		key = `"c":"`
	}
	k := strings.Index(s, key) + len(key)
	e := k + strings.IndexFunc(s[k:], func(r rune) bool { return r < '0' || r > '9' })
	n, err := strconv.ParseUint(s[k:e], 10, 32)
	if err != nil {
		t.Fatalf("no checksum in %.100s", s)
	}
	return []byte(s[:k] + strconv.FormatUint(n^1, 10) + s[e:])
}

// replay starts the stream over (Kraken's answer to a subscribe is a
// snapshot, the capture's first frame) and sends the capture in order. At
// the first frame from bad on that has a checksum, a corrupted one: the venue then waits for the client's
// unsubscribe and subscribe and answers with a snapshot of the true book.
func (v *venue) replay(p *probeSession, bad int, unsub, sub string) {
	v.t.Helper()
	ref, err := New(v.cfg)
	if err != nil {
		v.t.Fatal(err)
	}
	v.ref = ref
	for i, fr := range v.frames {
		if err := ref.Handle(fr, 0); err != nil {
			v.t.Fatalf("reference, frame %d: %v", i, err)
		}
		if bad < 0 || i < bad || !hasChecksum(fr) {
			v.send(fr)
			continue
		}
		bad = -1
		v.send(corrupt(v.t, fr))
		r := v.probe(p, "checksum mismatch", func(r report) bool { return r.stats.ChecksumFail > 0 })
		if r.state != book.Stale {
			v.t.Errorf("after a checksum mismatch: %v, want stale", r.state)
		}
		v.expect(unsub, sub)
		v.send(v.snapshot())
	}
}

// probe asks for reports until cond holds.
func (v *venue) probe(p *probeSession, what string, cond func(r report) bool) report {
	v.t.Helper()
	timeout := time.After(guard)
	v.send(v.marker())
	var last report
	for {
		select {
		case r := <-p.reports:
			last = r
			if cond(r) {
				return r
			}
			v.send(v.marker())
		case <-timeout:
			v.t.Fatalf("%s: not reached: %+v", what, last)
		}
	}
}

// TestSessionEndToEnd runs feed.Conn and a Session against a loopback
// Kraken replaying the real captures (v2 BTC/USD, v1 XBT/USD), then sends
// garbage, drops the connection, corrupts a checksum and goes silent.
func TestSessionEndToEnd(t *testing.T) {
	ins := assetPairs(t)
	for _, tc := range []struct {
		name, file, symbol string
		cfg                Config
		perReplay          uint64 // the capture's oracle: checksums that verify
		snapshotCS         uint64 // 1 when a snapshot carries a checksum (v2)
	}{
		{"v2", "kraken-v2-book10-btcusd.jsonl", "BTC/USD", Config{Version: 2, Depth: 10, Instruments: ins}, 510, 1},
		{"v1", "kraken-v1-book10-xbtusd.jsonl", "XBT/USD", Config{Version: 1}, 979, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, _ := readCapture(t, tc.file)
			testEndToEnd(t, frames, tc.cfg, tc.symbol, tc.perReplay, tc.snapshotCS)
		})
	}
}

func testEndToEnd(t *testing.T, frames [][]byte, cfg Config, symbol string, per, snapCS uint64) {
	v := newVenue(t, frames, cfg)
	f := newFeed(t, cfg)
	s, err := NewSession(f, SessionConfig{Symbols: []string{symbol}})
	if err != nil {
		t.Fatal(err)
	}
	p := &probeSession{Session: s, reports: make(chan report, 1), downs: make(chan error, 8)}
	c, err := feed.NewConn(feed.ConnConfig{
		Name: "kraken-test", URL: "ws" + strings.TrimPrefix(v.hs.URL, "http") + "/ws",
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
		cancel()
		select {
		case <-done:
		case <-time.After(guard):
			t.Error("Run did not return")
		}
	}()
	sub := string(AppendSubscribe(nil, cfg.Version, true, 10, symbol))
	unsub := string(AppendSubscribe(nil, cfg.Version, false, 10, symbol))

	// The capture's oracle: every checksum verifies.
	v.accept(sub)
	v.replay(p, -1, "", "")
	r := v.probe(p, "first replay", func(r report) bool { return r.stats.ChecksumOK >= per })
	if r.stats.ChecksumOK != per || r.stats.ChecksumFail != 0 || r.state != book.Live || r.ctr.DecodeErrors != 0 {
		t.Fatalf("first replay: %+v, want %d checksums, 0 failed, live", r, per)
	}

	// (c) A malformed frame is counted; the book stays live.
	v.send([]byte(`{"channel":"book","type":"upd`))
	r = v.probe(p, "malformed frame", func(r report) bool { return r.ctr.DecodeErrors == 1 })
	if r.state != book.Live {
		t.Fatalf("after a malformed frame: %v, want live", r.state)
	}

	// (a) The venue drops the connection: Down, the book Stale, a
	// reconnect and subscribe, a snapshot and the stream, checked
	// throughout. (b) On it, one checksum is corrupted: a mismatch, the
	// book Stale, an unsubscribe and subscribe on the live connection, and
	// the venue's fresh snapshot brings it back.
	v.ws.Close()
	select {
	case <-p.downs:
	case <-time.After(guard):
		t.Fatal("no Down after the drop")
	}
	if st := f.Symbols()[0].Book.State(); st != book.Stale {
		t.Fatalf("after Down: %v, want stale", st)
	}
	v.accept(sub)
	v.replay(p, 200, unsub, sub)
	want := 2*per - 1 + snapCS
	r = v.probe(p, "replay after drop", func(r report) bool { return r.stats.ChecksumOK >= want })
	if r.stats.ChecksumOK != want || r.stats.ChecksumFail != 1 || r.state != book.Live {
		t.Fatalf("after drop: %+v, want %d checksums, 1 failed, live", r, want)
	}
	if r.stats.Resyncs != 2 {
		t.Errorf("resyncs %d, want 2 (the drop and the mismatch)", r.stats.Resyncs)
	}
	if st := c.Stats(); st.Reconnects != 1 || st.Sends != 2 {
		t.Errorf("reconnects %d sends %d, want 1, 2", st.Reconnects, st.Sends)
	}
	if st := s.Stats(); st.Resubscribes != 1 || st.SendErrors != 0 {
		t.Errorf("session %+v, want 1 resubscribe, 0 send errors", st)
	}

	// (d) The venue goes silent: idle timeout, Down, reconnect, live again.
	select {
	case err := <-p.downs:
		if !errors.Is(err, feed.ErrIdleTimeout) {
			t.Fatalf("Down(%v), want idle timeout", err)
		}
	case <-time.After(guard):
		t.Fatal("no idle timeout")
	}
	v.accept(sub)
	v.replay(p, -1, "", "")
	want += per
	r = v.probe(p, "replay after silence", func(r report) bool { return r.stats.ChecksumOK >= want })
	if r.stats.ChecksumOK != want || r.stats.ChecksumFail != 1 || r.state != book.Live {
		t.Fatalf("after silence: %+v, want %d checksums, 1 failed, live", r, want)
	}
	if st := c.Stats(); st.IdleTimeouts != 1 || st.Reconnects != 2 {
		t.Errorf("idle timeouts %d reconnects %d, want 1, 2", st.IdleTimeouts, st.Reconnects)
	}
}

func TestSessionRequests(t *testing.T) {
	for _, tc := range []struct {
		version int
		subs    bool
		want    string
	}{
		{2, true, `{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD","ETH/USD"],"depth":10}}`},
		{2, false, `{"method":"unsubscribe","params":{"channel":"book","symbol":["BTC/USD","ETH/USD"],"depth":10}}`},
		{1, true, `{"event":"subscribe","pair":["BTC/USD","ETH/USD"],"subscription":{"name":"book","depth":10}}`},
		{1, false, `{"event":"unsubscribe","pair":["BTC/USD","ETH/USD"],"subscription":{"name":"book","depth":10}}`},
	} {
		if got := string(AppendSubscribe(nil, tc.version, tc.subs, 10, "BTC/USD", "ETH/USD")); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
	f := newFeed(t, Config{Version: 1})
	if _, err := NewSession(f, SessionConfig{}); err == nil {
		t.Error("no symbols accepted")
	}
	if _, err := NewSession(f, SessionConfig{Symbols: []string{"XBT/USD"}, Depth: 7}); err == nil {
		t.Error("depth 7 accepted")
	}
	s, err := NewSession(f, SessionConfig{Symbols: []string{"XBT/USD"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"book","depth":10}}`
	if got := s.Subscribe(nil); len(got) != 1 || string(got[0]) != want {
		t.Errorf("Subscribe = %q, want %s", got, want)
	}
}
