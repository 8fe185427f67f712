package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// guard bounds every wait in these tests; it is a failure guard only,
// never a way to let something happen.
const guard = 5 * time.Second

// recvd is one frame as the Session saw it.
type recvd struct {
	data   string
	recvNs int64
}

// testSession records what the Conn does to it on buffered channels.
type testSession struct {
	subs   []string
	ping   []byte
	frames chan recvd
	downs  chan error
}

func newTestSession(subs ...string) *testSession {
	return &testSession{subs: subs, frames: make(chan recvd, 4096), downs: make(chan error, 64)}
}

func (s *testSession) Subscribe(dst [][]byte) [][]byte {
	for _, f := range s.subs {
		dst = append(dst, []byte(f))
	}
	return dst
}
func (s *testSession) Ping() []byte { return s.ping }
func (s *testSession) Frame(frame []byte, recvNs int64) {
	s.frames <- recvd{string(frame), recvNs} // string copies: frame is borrowed
}
func (s *testSession) Down(err error) { s.downs <- err }

func (s *testSession) frame(t *testing.T) recvd {
	t.Helper()
	select {
	case f := <-s.frames:
		return f
	case <-time.After(guard):
		t.Fatal("no frame reached the Session")
		return recvd{}
	}
}

func (s *testSession) down(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.downs:
		return err
	case <-time.After(guard):
		t.Fatal("Session.Down was not called")
		return nil
	}
}

// wsServer is a loopback websocket server handing each accepted
// connection to the test.
type wsServer struct {
	t     *testing.T
	hs    *httptest.Server
	conns chan *srvConn
}

// srvConn is the server end of one connection. A goroutine reads it
// (so control frames are processed) and forwards data and pings.
type srvConn struct {
	ws    *websocket.Conn
	msgs  chan string // data frames from the client
	pings chan string // websocket pings from the client, after any pong was written
}

func newWSServer(t *testing.T, answerPings bool) *wsServer {
	srv := &wsServer{t: t, conns: make(chan *srvConn, 16)}
	up := websocket.Upgrader{}
	srv.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		sc := &srvConn{ws: ws, msgs: make(chan string, 4096), pings: make(chan string, 4096)}
		ws.SetPingHandler(func(data string) error {
			if answerPings {
				ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(guard))
			}
			sc.pings <- data
			return nil
		})
		srv.conns <- sc
		for {
			_, p, err := ws.ReadMessage()
			if err != nil {
				close(sc.msgs)
				return
			}
			sc.msgs <- string(p)
		}
	}))
	t.Cleanup(srv.hs.Close)
	if !strings.HasPrefix(srv.hs.Listener.Addr().String(), "127.0.0.1:") {
		t.Fatalf("server on %s, want 127.0.0.1", srv.hs.Listener.Addr())
	}
	return srv
}

func (srv *wsServer) url() string { return "ws" + strings.TrimPrefix(srv.hs.URL, "http") + "/ws" }

func (srv *wsServer) accept() *srvConn {
	srv.t.Helper()
	select {
	case sc := <-srv.conns:
		return sc
	case <-time.After(guard):
		srv.t.Fatal("client did not connect")
		return nil
	}
}

func (sc *srvConn) expect(t *testing.T, want ...string) {
	t.Helper()
	for i, w := range want {
		select {
		case got, ok := <-sc.msgs:
			if !ok {
				t.Fatalf("message %d: connection closed, want %q", i, w)
			}
			if got != w {
				t.Fatalf("message %d: got %q, want %q", i, got, w)
			}
		case <-time.After(guard):
			t.Fatalf("message %d: nothing received, want %q", i, w)
		}
	}
}

func (sc *srvConn) send(t *testing.T, frames ...string) {
	t.Helper()
	for _, f := range frames {
		if err := sc.ws.WriteMessage(websocket.TextMessage, []byte(f)); err != nil {
			t.Fatalf("server write: %v", err)
		}
	}
}

// start runs a Conn on cfg in the background and returns it with a
// function that stops it and checks Run returned ctx's error promptly.
func start(t *testing.T, cfg ConnConfig, s Session) (*Conn, func()) {
	t.Helper()
	c, err := NewConn(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop := func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(guard):
			t.Error("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return c, stop
}

func fastConfig(url string) ConnConfig {
	return ConnConfig{
		Name:         "test",
		URL:          url,
		PingInterval: -1,
		IdleTimeout:  -1,
		ReconnectMin: time.Millisecond,
		ReconnectMax: 5 * time.Millisecond,
	}
}

func TestConnSubscribeAndFrames(t *testing.T) {
	srv := newWSServer(t, true)
	s := newTestSession(`{"sub":"a"}`, `{"sub":"b"}`)
	c, _ := start(t, fastConfig(srv.url()), s)

	sc := srv.accept()
	sc.expect(t, `{"sub":"a"}`, `{"sub":"b"}`)

	// A large frame first, then small ones: the reused buffer must not
	// leak the big frame's tail into the later ones.
	big := strings.Repeat("x", 1<<20)
	want := []string{big}
	for i := range 200 {
		want = append(want, fmt.Sprintf(`{"u":%d}`, i))
	}
	sc.send(t, want...)
	var last int64
	var total uint64
	for i, w := range want {
		f := s.frame(t)
		if f.data != w {
			t.Fatalf("frame %d: got %.40q (len %d), want %.40q (len %d)", i, f.data, len(f.data), w, len(w))
		}
		if f.recvNs <= 0 || f.recvNs < last {
			t.Fatalf("frame %d: recvNs %d after %d, want non-decreasing and positive", i, f.recvNs, last)
		}
		last = f.recvNs
		total += uint64(len(w))
	}
	st := c.Stats()
	if st.Frames != uint64(len(want)) || st.Bytes != total || st.LastRecv != last {
		t.Fatalf("stats %+v: want Frames %d, Bytes %d, LastRecv %d", st, len(want), total, last)
	}
	if st.Dials != 1 || st.Connects != 1 || st.Reconnects != 0 || st.Disconnects != 0 {
		t.Fatalf("stats %+v: want one dial and connect, no reconnect", st)
	}
}

func TestConnReconnectResubscribes(t *testing.T) {
	srv := newWSServer(t, true)
	s := newTestSession(`{"sub":"a"}`)
	c, stop := start(t, fastConfig(srv.url()), s)

	// 1: the venue closes cleanly (Binance's 24-hour cut): Down(nil).
	sc := srv.accept()
	sc.expect(t, `{"sub":"a"}`)
	sc.send(t, "one")
	if f := s.frame(t); f.data != "one" {
		t.Fatalf("got %q, want one", f.data)
	}
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "24h")
	if err := sc.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(guard)); err != nil {
		t.Fatal(err)
	}
	sc.ws.Close()
	if err := s.down(t); err != nil {
		t.Fatalf("clean close: Down(%v), want Down(nil)", err)
	}

	// 2: resubscribed; frames flow; then the TCP connection just drops.
	sc = srv.accept()
	sc.expect(t, `{"sub":"a"}`)
	sc.send(t, "two")
	if f := s.frame(t); f.data != "two" {
		t.Fatalf("got %q, want two", f.data)
	}
	sc.ws.NetConn().Close()
	if err := s.down(t); err == nil {
		t.Fatal("dropped connection: Down(nil), want an error")
	}

	// 3: and again.
	sc = srv.accept()
	sc.expect(t, `{"sub":"a"}`)
	sc.send(t, "three")
	if f := s.frame(t); f.data != "three" {
		t.Fatalf("got %q, want three", f.data)
	}
	st := c.Stats()
	if st.Connects != 3 || st.Reconnects != 2 || st.Disconnects != 2 || st.Frames != 3 {
		t.Fatalf("stats %+v: want Connects 3, Reconnects 2, Disconnects 2, Frames 3", st)
	}

	// Stopping Run reports the final loss as the context's error.
	stop()
	if err := s.down(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("on stop: Down(%v), want context.Canceled", err)
	}
}

func TestConnIdleTimeout(t *testing.T) {
	srv := newWSServer(t, false)
	s := newTestSession(`sub`)
	cfg := fastConfig(srv.url())
	cfg.IdleTimeout = 200 * time.Millisecond
	cfg.PingInterval = 50 * time.Millisecond // unanswered: must not keep it alive
	c, _ := start(t, cfg, s)

	sc := srv.accept()
	sc.expect(t, `sub`)
	// Silent server: no frames, no pongs.
	if err := s.down(t); !errors.Is(err, ErrIdleTimeout) {
		t.Fatalf("Down(%v), want ErrIdleTimeout", err)
	}
	sc = srv.accept()
	sc.expect(t, `sub`)
	st := c.Stats()
	if st.IdleTimeouts != 1 || st.Reconnects != 1 || st.Pongs != 0 {
		t.Fatalf("stats %+v: want IdleTimeouts 1, Reconnects 1, Pongs 0", st)
	}
	if st.Pings == 0 {
		t.Fatalf("stats %+v: want pings sent while silent", st)
	}
}

func TestConnDataKeepsAlive(t *testing.T) {
	srv := newWSServer(t, true)
	s := newTestSession(`sub`)
	cfg := fastConfig(srv.url())
	cfg.IdleTimeout = 100 * time.Millisecond
	c, _ := start(t, cfg, s)

	sc := srv.accept()
	sc.expect(t, `sub`)
	// Frames spaced by the client's own receipt, each well inside the
	// idle limit; the whole run spans several idle periods.
	deadline := time.Now().Add(400 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		sc.send(t, "tick")
		s.frame(t)
		time.Sleep(20 * time.Millisecond) // pacing the venue, not synchronisation
	}
	if st := c.Stats(); st.IdleTimeouts != 0 || st.Connects != 1 {
		t.Fatalf("stats %+v: want no idle timeout while frames flow", st)
	}
}

func TestConnControlPings(t *testing.T) {
	srv := newWSServer(t, true)
	s := newTestSession(`sub`)
	cfg := fastConfig(srv.url())
	cfg.PingInterval = 10 * time.Millisecond
	cfg.IdleTimeout = 2 * time.Second
	c, _ := start(t, cfg, s)

	sc := srv.accept()
	sc.expect(t, `sub`)
	// Pings is counted after each write, so once the server has the
	// fourth, the third is counted.
	for i := range 4 {
		select {
		case <-sc.pings:
		case <-time.After(guard):
			t.Fatalf("ping %d: server saw none", i)
		}
	}
	// The server wrote four pongs before the marker, so by the time the
	// marker reaches the Session the Conn has read them.
	sc.send(t, "marker")
	if f := s.frame(t); f.data != "marker" {
		t.Fatalf("got %q, want marker", f.data)
	}
	if st := c.Stats(); st.Pongs < 3 || st.Pings < 3 {
		t.Fatalf("stats %+v: want ≥ 3 pings and pongs", st)
	}
}

func TestConnAppPings(t *testing.T) {
	srv := newWSServer(t, true)
	s := newTestSession(`sub`)
	s.ping = []byte(`{"op":"ping"}`)
	cfg := fastConfig(srv.url())
	cfg.PingInterval = 10 * time.Millisecond
	c, _ := start(t, cfg, s)

	sc := srv.accept()
	// Four pings seen by the server means three were counted.
	sc.expect(t, `sub`, `{"op":"ping"}`, `{"op":"ping"}`, `{"op":"ping"}`, `{"op":"ping"}`)
	select {
	case p := <-sc.pings:
		t.Fatalf("server got a control ping %q, want only application pings", p)
	default:
	}
	if st := c.Stats(); st.Pings < 3 {
		t.Fatalf("stats %+v: want ≥ 3 pings", st)
	}
}

func TestConnCancelPrompt(t *testing.T) {
	t.Run("connected", func(t *testing.T) {
		srv := newWSServer(t, true)
		s := newTestSession(`sub`)
		_, stop := start(t, fastConfig(srv.url()), s)
		sc := srv.accept()
		sc.expect(t, `sub`)
		began := time.Now()
		stop()
		if d := time.Since(began); d > time.Second {
			t.Fatalf("Run took %v to return, want prompt", d)
		}
		// The socket was closed: the server's read ends.
		select {
		case _, ok := <-sc.msgs:
			if ok {
				t.Fatal("unexpected message after cancel")
			}
		case <-time.After(guard):
			t.Fatal("server connection still open after cancel")
		}
	})
	t.Run("backing off", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens: every dial is refused
		cfg := fastConfig("ws://" + addr + "/ws")
		cfg.ReconnectMin, cfg.ReconnectMax = time.Minute, time.Minute
		c, stop := start(t, cfg, newTestSession())
		for end := time.Now().Add(guard); c.Stats().DialErrors == 0; {
			if time.Now().After(end) {
				t.Fatal("no dial error")
			}
			time.Sleep(time.Millisecond) // polling a counter, with a guard
		}
		began := time.Now()
		stop()
		if d := time.Since(began); d > time.Second {
			t.Fatalf("Run took %v to return from backoff, want prompt", d)
		}
	})
}

func TestConnConfigValidate(t *testing.T) {
	ok := ConnConfig{Name: "x", URL: "wss://stream.example.com:9443/ws"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if ok.PingInterval != DefaultPingInterval || ok.IdleTimeout != DefaultIdleTimeout ||
		ok.ReconnectMin != DefaultReconnectMin || ok.ReconnectMax != DefaultReconnectMax ||
		ok.DialTimeout != DefaultDialTimeout || ok.WriteTimeout != DefaultWriteTimeout || ok.MaxFrame != DefaultMaxFrame {
		t.Fatalf("defaults not applied: %+v", ok)
	}
	bad := []ConnConfig{
		{URL: "ws://h/"},
		{Name: "x"},
		{Name: "x", URL: "http://h/"},
		{Name: "x", URL: "ws:///path"},
		{Name: "x", URL: "ws://h/", ReconnectMin: time.Second, ReconnectMax: time.Millisecond},
		{Name: "x", URL: "ws://h/", PingInterval: time.Minute, IdleTimeout: time.Second},
		{Name: "x", URL: "ws://h/", MaxFrame: -1},
	}
	for i, cfg := range bad {
		if err := cfg.Validate(); err == nil {
			t.Errorf("case %d %+v: got nil, want an error", i, cfg)
		}
	}
	if _, err := NewConn(ok, nil); err == nil {
		t.Error("NewConn with nil Session: got nil error")
	}
}

func TestReadFrameGrowsAndReuses(t *testing.T) {
	buf := make([]byte, 0, 4)
	b, err := readFrame(bytes.NewReader([]byte("hello, world")), buf[:0])
	if err != nil || string(b) != "hello, world" {
		t.Fatalf("got %q, %v; want hello, world", b, err)
	}
	c := cap(b)
	b, err = readFrame(bytes.NewReader([]byte("hi")), b[:0])
	if err != nil || string(b) != "hi" || cap(b) != c {
		t.Fatalf("got %q (cap %d), %v; want hi in the same buffer (cap %d)", b, cap(b), err, c)
	}
}

// signalSession counts frames on a channel without copying them, so the
// only allocations in its steady state are the Conn's and the library's.
type signalSession struct {
	got chan struct{}
}

func (s *signalSession) Subscribe(dst [][]byte) [][]byte { return append(dst, []byte("sub")) }
func (s *signalSession) Ping() []byte                    { return nil }
func (s *signalSession) Frame([]byte, int64)             { s.got <- struct{}{} }
func (s *signalSession) Down(error)                      {}

func TestConnMaxFrame(t *testing.T) {
	srv := newWSServer(t, true)
	s := newTestSession(`sub`)
	cfg := fastConfig(srv.url())
	cfg.MaxFrame = 1024
	c, _ := start(t, cfg, s)
	sc := srv.accept()
	sc.expect(t, `sub`)
	sc.send(t, strings.Repeat("y", 1024), strings.Repeat("z", 1025))
	if f := s.frame(t); len(f.data) != 1024 {
		t.Fatalf("got a %d-byte frame, want the 1024-byte one", len(f.data))
	}
	if err := s.down(t); !errors.Is(err, websocket.ErrReadLimit) {
		t.Fatalf("Down(%v), want ErrReadLimit", err)
	}
	sc = srv.accept() // and it comes back
	sc.expect(t, `sub`)
	if st := c.Stats(); st.Frames != 1 || st.Reconnects != 1 {
		t.Fatalf("stats %+v: want Frames 1, Reconnects 1", st)
	}
}

// sendSession sends a frame with Conn.Send from inside Frame, as a venue
// resubscribing one symbol does.
type sendSession struct {
	c    *Conn
	sent chan error
}

func (s *sendSession) Subscribe(dst [][]byte) [][]byte { return append(dst, []byte("sub")) }
func (s *sendSession) Ping() []byte                    { return nil }
func (s *sendSession) Down(error)                      {}
func (s *sendSession) Frame(frame []byte, _ int64) {
	if string(frame) == "resync please" {
		s.sent <- s.c.Send([]byte("resub"))
	}
}

func TestConnSendFromSession(t *testing.T) {
	srv := newWSServer(t, true)
	s := &sendSession{sent: make(chan error, 1)}
	cfg := fastConfig(srv.url())
	c, err := NewConn(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send([]byte("x")); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Send before Run: %v, want ErrNotConnected", err)
	}
	s.c = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	sc := srv.accept()
	sc.expect(t, "sub")
	if err := sc.ws.WriteMessage(websocket.TextMessage, []byte("resync please")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.sent:
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	case <-time.After(guard):
		t.Fatal("Frame never ran")
	}
	sc.expect(t, "resub")
	if got := c.Stats().Sends; got != 1 {
		t.Errorf("Sends = %d, want 1", got)
	}
}
