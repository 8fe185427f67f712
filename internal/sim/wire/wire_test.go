package wire

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// The tests are internal (package wire) only to read Frame.refs, the
// reference count; everything else goes through the API, over a real
// loopback websocket.

const waitLimit = 10 * time.Second

// server is a loopback websocket server whose connections run wire.Serve.
type server struct {
	addr   string
	n      atomic.Uint64
	opened chan *Conn // each connection, once open
	closed chan *Conn // each connection, once Serve's onClose ran
}

// startServer listens on 127.0.0.1:0; cfg gives connection n (from 1) its
// Config.
func startServer(t *testing.T, cfg func(n uint64) Config) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{addr: ln.Addr().String(), opened: make(chan *Conn, 16), closed: make(chan *Conn, 16)}
	up := websocket.FastHTTPUpgrader{CheckOrigin: func(*fasthttp.RequestCtx) bool { return true }}
	var (
		mu   sync.Mutex
		live []*Conn
	)
	srv := &fasthttp.Server{
		KeepHijackedConns: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			n := s.n.Add(1)
			_ = up.Upgrade(ctx, func(ws *websocket.Conn) {
				Serve(ws, cfg(n),
					func(c *Conn) {
						mu.Lock()
						live = append(live, c)
						mu.Unlock()
						s.opened <- c
					},
					func(c *Conn) { s.closed <- c },
					func(*Conn, []byte) {})
			})
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		mu.Lock()
		for _, c := range live {
			c.Close()
		}
		mu.Unlock()
		_ = srv.Shutdown()
	})
	return s
}

// client is the peer of one server connection: msgs receives a copy of
// every message and is closed when the connection ends.
type client struct {
	ws   *websocket.Conn
	c    *Conn // the server side
	msgs chan []byte
	end  chan error // the read error that closed msgs
}

func (s *server) dial(t *testing.T) *client {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitLimit}
	ws, _, err := d.Dial("ws://"+s.addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	cl := &client{ws: ws, msgs: make(chan []byte, 1<<16), end: make(chan error, 1)}
	go func() {
		defer close(cl.msgs)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				cl.end <- err
				return
			}
			cl.msgs <- b
		}
	}()
	select {
	case cl.c = <-s.opened:
	case <-time.After(waitLimit):
		t.Fatal("server connection did not open")
	}
	return cl
}

// next returns the next message, failing the test if none comes in time or
// the connection ends.
func (cl *client) next(t *testing.T) []byte {
	t.Helper()
	select {
	case b, ok := <-cl.msgs:
		if !ok {
			t.Fatalf("connection ended: %v", <-cl.end)
		}
		return b
	case <-time.After(waitLimit):
		t.Fatal("no message")
	}
	return nil
}

// until collects messages up to and including the first equal to end.
func (cl *client) until(t *testing.T, end string) [][]byte {
	t.Helper()
	var got [][]byte
	for {
		b := cl.next(t)
		if string(b) == end {
			return got
		}
		got = append(got, b)
	}
}

// waitEnd waits for the client's connection to end.
func (cl *client) waitEnd(t *testing.T) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case _, ok := <-cl.msgs:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("connection still open")
		}
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func payload(i int) string { return fmt.Sprintf(`{"i":%06d}`, i) }

func index(t *testing.T, b []byte) int {
	t.Helper()
	if len(b) != len(payload(0)) || !bytes.HasPrefix(b, []byte(`{"i":`)) {
		t.Fatalf("unexpected frame %q", b)
	}
	i, err := strconv.Atoi(string(b[5:11]))
	if err != nil {
		t.Fatalf("frame %q: %v", b, err)
	}
	return i
}

// sendMD sends frame i as market data.
func sendMD(t *testing.T, c *Conn, i int) {
	t.Helper()
	f := NewFrame()
	f.B = append(f.B, payload(i)...)
	if !c.Send(f, true) {
		t.Fatalf("Send %d: false", i)
	}
	f.Release()
}

const endMarker = "end"

// sendEnd sends a non-market-data marker: faults leave it alone, and it is
// written after every frame queued before it has been dealt with.
func sendEnd(t *testing.T, c *Conn) {
	t.Helper()
	if !c.SendBytes([]byte(endMarker)) {
		t.Fatal("SendBytes(end): false")
	}
}

func indices(t *testing.T, msgs [][]byte) []int {
	t.Helper()
	out := make([]int, len(msgs))
	for i, b := range msgs {
		out[i] = index(t, b)
	}
	return out
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func fixed(f Faults, st *Stats) func(uint64) Config {
	sw := NewSwitch(f)
	return func(n uint64) Config { return Config{Faults: sw, Seed: SeedFor(1, n), Stats: st} }
}

func TestInOrderWithoutFaults(t *testing.T) {
	var st Stats
	s := startServer(t, fixed(Faults{}, &st))
	cl := s.dial(t)
	const n = 500
	for i := range n {
		sendMD(t, cl.c, i)
	}
	if !cl.c.SendBytes([]byte("reply")) {
		t.Fatal("SendBytes: false")
	}
	sendEnd(t, cl.c)
	got := cl.until(t, endMarker)
	if len(got) != n+1 || string(got[n]) != "reply" {
		t.Fatalf("got %d messages (last %q), want %d then \"reply\"", len(got), got[len(got)-1], n)
	}
	if idx := indices(t, got[:n]); !slices.Equal(idx, seq(n)) {
		t.Errorf("frames out of order: got %v", idx)
	}
	waitFor(t, "Sent", func() bool { return st.Sent.Load() == n+2 })
	for name, v := range map[string]uint64{"Dropped": st.Dropped.Load(), "Duplicated": st.Duplicated.Load(), "Reordered": st.Reordered.Load(),
		"Malformed": st.Malformed.Load(), "Stalled": st.Stalled.Load(), "Overflows": st.Overflows.Load(), "Disconnects": st.Disconnects.Load()} {
		if v != 0 {
			t.Errorf("Stats.%s = %d, want 0", name, v)
		}
	}
}

func TestSendAfterClose(t *testing.T) {
	s := startServer(t, fixed(Faults{}, nil))
	cl := s.dial(t)
	cl.c.Close()
	select {
	case <-cl.c.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	f := NewFrame()
	f.B = append(f.B, payload(1)...)
	if cl.c.Send(f, true) {
		t.Error("Send after Close = true, want false")
	}
	if got := f.refs.Load(); got != 1 {
		t.Errorf("refs after a refused Send = %d, want 1 (the caller's)", got)
	}
	f.Release()
	if cl.c.SendBytes([]byte("x")) {
		t.Error("SendBytes after Close = true, want false")
	}
	cl.c.Close() // idempotent
	cl.waitEnd(t)
	select {
	case c := <-s.closed:
		if c != cl.c {
			t.Error("onClose got another connection")
		}
	case <-time.After(waitLimit):
		t.Fatal("onClose not called")
	}
}

func TestPeerCloseEndsServe(t *testing.T) {
	s := startServer(t, fixed(Faults{}, nil))
	cl := s.dial(t)
	cl.ws.Close()
	select {
	case c := <-s.closed:
		if c != cl.c {
			t.Error("onClose got another connection")
		}
	case <-time.After(waitLimit):
		t.Fatal("onClose not called after the peer closed")
	}
	select {
	case <-cl.c.Done():
	default:
		t.Error("Done not closed after the peer closed")
	}
	if cl.c.SendBytes([]byte("x")) {
		t.Error("SendBytes on a closed connection = true, want false")
	}
}

func TestQueueOverflowCloses(t *testing.T) {
	var st Stats
	// Latency holds the writer on its first frame, so the queue (of 2)
	// fills behind it.
	sw := NewSwitch(Faults{Latency: 200 * time.Millisecond})
	s := startServer(t, func(uint64) Config { return Config{Faults: sw, Queue: 2, Stats: &st} })
	cl := s.dial(t)
	var frames []*Frame
	ok := true
	for i := 0; i < 10 && ok; i++ {
		f := NewFrame()
		f.B = append(f.B, payload(i)...)
		frames = append(frames, f)
		ok = cl.c.Send(f, true)
	}
	if ok {
		t.Fatal("10 Sends into a queue of 2 behind a stalled writer all succeeded")
	}
	if n := len(frames); n < 3 {
		t.Errorf("Send failed at frame %d with a queue of 2 and the writer busy, want the 3rd or later", n)
	}
	if got := st.Overflows.Load(); got != 1 {
		t.Errorf("Overflows = %d, want 1", got)
	}
	select {
	case <-cl.c.Done():
	default:
		t.Error("Done not closed after an overflow")
	}
	if cl.c.SendBytes([]byte("x")) {
		t.Error("SendBytes after an overflow = true, want false")
	}
	cl.waitEnd(t)
	select {
	case <-s.closed:
	case <-time.After(waitLimit):
		t.Fatal("onClose not called after an overflow")
	}
	// Serve returned: the writer is gone and every queued copy released.
	for i, f := range frames {
		if got := f.refs.Load(); got != 1 {
			t.Errorf("frame %d: refs = %d after the connection closed, want 1", i, got)
		}
		f.Release()
	}
}

func TestFrameSharedByConns(t *testing.T) {
	s := startServer(t, fixed(Faults{}, nil))
	cls := []*client{s.dial(t), s.dial(t), s.dial(t)}
	f := NewFrame()
	f.B = append(f.B, payload(7)...)
	for i, cl := range cls {
		if !cl.c.Send(f, true) {
			t.Fatalf("Send to conn %d: false", i)
		}
	}
	if got := f.refs.Load(); got < 1 || got > 4 {
		t.Fatalf("refs after 3 Sends = %d, want 1..4", got)
	}
	for i, cl := range cls {
		if got := cl.next(t); string(got) != payload(7) {
			t.Errorf("conn %d: got %q, want %q", i, got, payload(7))
		}
	}
	// Each writer releases its copy after writing it.
	waitFor(t, "the writers' releases", func() bool { return f.refs.Load() == 1 })
	f.Release()
	if got := f.refs.Load(); got != 0 {
		t.Errorf("refs after the creator's Release = %d, want 0", got)
	}
}

func TestFrameReleasedWhenFaultsDiscard(t *testing.T) {
	for _, fl := range []Faults{{Drop: 1}, {Malformed: 1}, {Duplicate: 1}} {
		t.Run(fmt.Sprintf("%+v", fl), func(t *testing.T) {
			s := startServer(t, fixed(fl, nil))
			cl := s.dial(t)
			f := NewFrame()
			f.B = append(f.B, payload(3)...)
			f.Retain() // a second holder
			if !cl.c.Send(f, true) {
				t.Fatal("Send: false")
			}
			sendEnd(t, cl.c)
			cl.until(t, endMarker)
			waitFor(t, "release", func() bool { return f.refs.Load() == 2 })
			f.Release()
			f.Release()
			if got := f.refs.Load(); got != 0 {
				t.Errorf("refs = %d, want 0", got)
			}
		})
	}
}

func TestRetainRelease(t *testing.T) {
	f := NewFrame()
	if got := f.refs.Load(); got != 1 {
		t.Fatalf("NewFrame refs = %d, want 1", got)
	}
	if len(f.B) != 0 {
		t.Fatalf("NewFrame B = %q, want empty", f.B)
	}
	f.Retain()
	f.Retain()
	if got := f.refs.Load(); got != 3 {
		t.Fatalf("refs after 2 Retains = %d, want 3", got)
	}
	f.Release()
	f.Release()
	if got := f.refs.Load(); got != 1 {
		t.Fatalf("refs after 2 Releases = %d, want 1", got)
	}
	f.Release()
	// A recycled frame comes back empty with one reference.
	g := NewFrame()
	if len(g.B) != 0 || g.refs.Load() != 1 {
		t.Errorf("NewFrame after recycling: B %q refs %d, want empty and 1", g.B, g.refs.Load())
	}
	g.Release()
}

func TestDrop(t *testing.T) {
	var st Stats
	s := startServer(t, fixed(Faults{Drop: 0.3}, &st))
	cl := s.dial(t)
	const n = 2000
	for i := range n {
		sendMD(t, cl.c, i)
	}
	sendEnd(t, cl.c)
	got := indices(t, cl.until(t, endMarker))
	dropped := int(st.Dropped.Load())
	if len(got)+dropped != n {
		t.Errorf("received %d + Dropped %d = %d, want %d", len(got), dropped, len(got)+dropped, n)
	}
	if dropped < n/5 || dropped > n*2/5 {
		t.Errorf("Dropped = %d of %d at p=0.3, want within [%d, %d]", dropped, n, n/5, n*2/5)
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("survivors not strictly increasing: %v", got)
	}
}

func TestDropAll(t *testing.T) {
	var st Stats
	s := startServer(t, fixed(Faults{Drop: 1}, &st))
	cl := s.dial(t)
	const n = 100
	for i := range n {
		sendMD(t, cl.c, i)
	}
	sendEnd(t, cl.c)
	if got := cl.until(t, endMarker); len(got) != 0 {
		t.Errorf("got %d frames at Drop=1, want 0", len(got))
	}
	if got := st.Dropped.Load(); got != n {
		t.Errorf("Dropped = %d, want %d", got, n)
	}
	// Sent is counted just after the write: wait for the marker's.
	waitFor(t, "Sent = 1 (the marker)", func() bool { return st.Sent.Load() >= 1 })
	if got := st.Sent.Load(); got != 1 {
		t.Errorf("Sent = %d, want 1 (the marker)", got)
	}
}

func TestDuplicateAll(t *testing.T) {
	var st Stats
	s := startServer(t, fixed(Faults{Duplicate: 1}, &st))
	cl := s.dial(t)
	const n = 50
	for i := range n {
		sendMD(t, cl.c, i)
	}
	sendEnd(t, cl.c)
	got := indices(t, cl.until(t, endMarker))
	want := make([]int, 0, 2*n)
	for i := range n {
		want = append(want, i, i)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want every frame twice: %v", got, want)
	}
	if got := st.Duplicated.Load(); got != n {
		t.Errorf("Duplicated = %d, want %d", got, n)
	}
	waitFor(t, "Sent", func() bool { return st.Sent.Load() >= 2*n+1 })
	if got := st.Sent.Load(); got != 2*n+1 {
		t.Errorf("Sent = %d, want %d", got, 2*n+1)
	}
}

func TestReorderAll(t *testing.T) {
	var st Stats
	s := startServer(t, fixed(Faults{Reorder: 1}, &st))
	cl := s.dial(t)
	const n = 50
	for i := range n {
		sendMD(t, cl.c, i)
	}
	sendEnd(t, cl.c)
	got := indices(t, cl.until(t, endMarker))
	want := make([]int, 0, n)
	for i := 0; i < n; i += 2 {
		want = append(want, i+1, i)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want pairs swapped: %v", got, want)
	}
	if got := st.Reordered.Load(); got != n/2 {
		t.Errorf("Reordered = %d, want %d", got, n/2)
	}
}

func TestMalformedAll(t *testing.T) {
	var st Stats
	s := startServer(t, fixed(Faults{Malformed: 1}, &st))
	cl := s.dial(t)
	const n = 20
	for i := range n {
		sendMD(t, cl.c, i)
	}
	sendEnd(t, cl.c)
	got := cl.until(t, endMarker)
	if len(got) != n {
		t.Fatalf("got %d frames, want %d", len(got), n)
	}
	for i, b := range got {
		full := payload(i)
		if want := full[:len(full)/2]; string(b) != want {
			t.Errorf("frame %d: got %q, want the truncated prefix %q", i, b, want)
		}
	}
	if got := st.Malformed.Load(); got != n {
		t.Errorf("Malformed = %d, want %d", got, n)
	}
}

func TestFaultsSpareNonMarketData(t *testing.T) {
	var st Stats
	s := startServer(t, fixed(Faults{Drop: 1}, &st))
	cl := s.dial(t)
	for i := range 10 {
		if !cl.c.SendBytes([]byte(payload(i))) {
			t.Fatal("SendBytes: false")
		}
	}
	sendEnd(t, cl.c)
	if got := indices(t, cl.until(t, endMarker)); !slices.Equal(got, seq(10)) {
		t.Errorf("non-market-data frames at Drop=1: got %v, want %v", got, seq(10))
	}
	if got := st.Dropped.Load(); got != 0 {
		t.Errorf("Dropped = %d, want 0", got)
	}
}

func TestLatency(t *testing.T) {
	const lat = 40 * time.Millisecond
	s := startServer(t, fixed(Faults{Latency: lat, Jitter: 10 * time.Millisecond}, nil))
	cl := s.dial(t)
	const n = 20
	sent := make([]time.Time, n)
	for i := range n {
		sent[i] = time.Now()
		sendMD(t, cl.c, i)
	}
	for i := range n {
		b := cl.next(t)
		if el := time.Since(sent[i]); el < lat {
			t.Errorf("frame %d delivered after %v, want >= %v", i, el, lat)
		}
		if got := index(t, b); got != i {
			t.Fatalf("frame %d: got index %d, want in order", i, got)
		}
	}
}

func TestDisconnectEvery(t *testing.T) {
	var st Stats
	s := startServer(t, fixed(Faults{DisconnectEvery: 5 * time.Millisecond}, &st))
	cl := s.dial(t)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitLimit)
	for i := 0; ; i++ {
		select {
		case <-cl.c.Done():
			cl.waitEnd(t)
			if got := st.Disconnects.Load(); got != 1 {
				t.Errorf("Disconnects = %d, want 1", got)
			}
			return
		case <-deadline:
			t.Fatal("connection not disconnected")
		case <-tick.C:
			f := NewFrame()
			f.B = append(f.B, payload(i)...)
			cl.c.Send(f, true)
			f.Release()
		}
	}
}

func TestStall(t *testing.T) {
	var st Stats
	s := startServer(t, fixed(Faults{StallEvery: time.Millisecond, StallFor: time.Hour}, &st))
	cl := s.dial(t)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitLimit)
	// Feed market data until the stall starts.
	sent := 0
	for st.Stalled.Load() == 0 {
		select {
		case <-deadline:
			t.Fatal("no stall")
		case <-tick.C:
			sendMD(t, cl.c, sent)
			sent++
		}
	}
	// The frames written before the stall are a prefix of those sent; the
	// rest were discarded.
	sendEnd(t, cl.c)
	before := indices(t, cl.until(t, endMarker))
	stalled := st.Stalled.Load()
	if !slices.Equal(before, seq(len(before))) || len(before)+int(stalled) != sent {
		t.Fatalf("before the stall got %v and Stalled = %d, want a prefix of the %d frames sent and the rest stalled", before, stalled, sent)
	}
	// During the stall market data is discarded and counted; responses
	// still go out.
	const n = 50
	for i := range n {
		sendMD(t, cl.c, 100000+i)
	}
	if !cl.c.SendBytes([]byte("reply")) {
		t.Fatal("SendBytes: false")
	}
	sendEnd(t, cl.c)
	got := cl.until(t, endMarker)
	if len(got) != 1 || string(got[0]) != "reply" {
		t.Errorf("during the stall got %q, want only \"reply\"", got)
	}
	if got := st.Stalled.Load(); got != stalled+n {
		t.Errorf("Stalled = %d, want %d", got, stalled+n)
	}
	if got := st.Disconnects.Load(); got != 0 {
		t.Errorf("Disconnects = %d during a stall, want 0", got)
	}
}

func TestSameSeedSameDrops(t *testing.T) {
	sw := NewSwitch(Faults{Drop: 0.5})
	seeds := []uint64{42, 42, 43}
	s := startServer(t, func(n uint64) Config { return Config{Faults: sw, Seed: seeds[n-1]} })
	const n = 500
	var got [3][]int
	for k := range seeds {
		cl := s.dial(t)
		for i := range n {
			sendMD(t, cl.c, i)
		}
		sendEnd(t, cl.c)
		got[k] = indices(t, cl.until(t, endMarker))
	}
	if !slices.Equal(got[0], got[1]) {
		t.Errorf("same seed, different survivors:\n%v\n%v", got[0], got[1])
	}
	if slices.Equal(got[0], got[2]) {
		t.Errorf("seeds 42 and 43 dropped the same frames: %v", got[0])
	}
}

func TestSwitchSetOnLiveConn(t *testing.T) {
	var st Stats
	sw := NewSwitch(Faults{})
	s := startServer(t, func(uint64) Config { return Config{Faults: sw, Stats: &st} })
	cl := s.dial(t)
	sendMD(t, cl.c, 0)
	if got := index(t, cl.next(t)); got != 0 {
		t.Fatalf("got frame %d, want 0", got)
	}
	sw.Set(Faults{Drop: 1})
	for i := 1; i <= 10; i++ {
		sendMD(t, cl.c, i)
	}
	waitFor(t, "10 drops", func() bool { return st.Dropped.Load() == 10 })
	sw.Set(Faults{})
	sendMD(t, cl.c, 11)
	if got := index(t, cl.next(t)); got != 11 {
		t.Errorf("after turning Drop off got frame %d, want 11", got)
	}
	if got := st.Dropped.Load(); got != 10 {
		t.Errorf("Dropped = %d, want 10", got)
	}
}

func TestSwitch(t *testing.T) {
	var nilSwitch *Switch
	if got := nilSwitch.Get(); got == nil || got.Active() {
		t.Errorf("nil Switch Get = %+v, want no faults", got)
	}
	sw := NewSwitch(Faults{Drop: 0.25})
	if got := sw.Get().Drop; got != 0.25 {
		t.Errorf("Get().Drop = %v, want 0.25", got)
	}
	f := Faults{Latency: time.Second}
	sw.Set(f)
	f.Latency = 0 // Set keeps its own copy
	if got := sw.Get().Latency; got != time.Second {
		t.Errorf("Get().Latency = %v, want 1s", got)
	}
}

func TestActive(t *testing.T) {
	if (&Faults{}).Active() {
		t.Error("zero Faults active")
	}
	for _, f := range []Faults{{Latency: 1}, {Jitter: 1}, {Drop: 0.1}, {Duplicate: 0.1}, {Reorder: 0.1}, {Malformed: 0.1},
		{DisconnectEvery: 1}, {StallEvery: 1, StallFor: 1}} {
		if !f.Active() {
			t.Errorf("%+v not active", f)
		}
	}
}

func TestValidate(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	for _, tc := range []struct {
		f    Faults
		want error
	}{
		{Faults{}, nil},
		{Faults{Drop: 1, Duplicate: 1, Reorder: 1, Malformed: 1, Latency: 1, Jitter: 1, DisconnectEvery: 1, StallEvery: 1, StallFor: 1}, nil},
		{Faults{Drop: -0.1}, errProb},
		{Faults{Drop: 1.1}, errProb},
		{Faults{Duplicate: 2}, errProb},
		{Faults{Reorder: -1}, errProb},
		{Faults{Malformed: 1.0001}, errProb},
		{Faults{Drop: nan}, errProb},
		{Faults{Latency: -1}, errNegative},
		{Faults{Jitter: -1}, errNegative},
		{Faults{DisconnectEvery: -1}, errNegative},
		{Faults{StallEvery: -1}, errNegative},
		{Faults{StallFor: -1}, errNegative},
		{Faults{StallEvery: time.Second}, errStall},
		{Faults{StallFor: time.Second}, nil},
	} {
		if got := tc.f.Validate(); got != tc.want {
			t.Errorf("Validate(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}

func TestSeedFor(t *testing.T) {
	seen := map[uint64]uint64{}
	for n := range uint64(10000) {
		s := SeedFor(7, n)
		if s != SeedFor(7, n) {
			t.Fatalf("SeedFor(7, %d) not deterministic", n)
		}
		if m, dup := seen[s]; dup {
			t.Fatalf("SeedFor(7, %d) = SeedFor(7, %d) = %#x", n, m, s)
		}
		seen[s] = n
	}
	if SeedFor(7, 1) == SeedFor(8, 1) {
		t.Error("SeedFor(7, 1) = SeedFor(8, 1)")
	}
}
