package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// ConnConfig configures one websocket connection to a venue. Zero fields
// take the documented defaults; Validate fills them in.
type ConnConfig struct {
	// Name identifies the connection in errors and metrics, e.g.
	// "binance-spot-1". Required.
	Name string
	// URL is the ws:// or wss:// endpoint. Required.
	URL string
	// PingInterval is how often to send a ping (a websocket ping control
	// frame, or the Session's application-level ping). Default 20s;
	// negative: never ping.
	PingInterval time.Duration
	// IdleTimeout is how long the connection may go without receiving any
	// frame (data, ping or pong) before it is dropped and redialled.
	// Default 30s; negative: no idle limit. Must exceed PingInterval when
	// both are enabled, or a pong could never arrive in time.
	IdleTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the reconnect backoff. Defaults
	// 100ms and 30s.
	ReconnectMin, ReconnectMax time.Duration
	// DialTimeout bounds the TCP, TLS and websocket handshake. Default 10s.
	DialTimeout time.Duration
	// WriteTimeout bounds every write (subscribe requests, pings), so the
	// reader never blocks on a stuck socket for longer. Default 5s.
	WriteTimeout time.Duration
	// MaxFrame is the largest frame accepted; a larger one drops the
	// connection. Default 64 MiB.
	MaxFrame int
}

// Defaults for ConnConfig's zero fields.
const (
	DefaultPingInterval = 20 * time.Second
	DefaultIdleTimeout  = 30 * time.Second
	DefaultReconnectMin = 100 * time.Millisecond
	DefaultReconnectMax = 30 * time.Second
	DefaultDialTimeout  = 10 * time.Second
	DefaultWriteTimeout = 5 * time.Second
	DefaultMaxFrame     = 64 << 20
)

// Validate fills in defaults for zero fields and reports the first
// invalid setting. NewConn calls it; hot paths never do.
func (c *ConnConfig) Validate() error {
	if c.Name == "" {
		return errors.New("feed: ConnConfig.Name is empty")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("feed: %s: bad URL: %w", c.Name, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" || u.Host == "" {
		return fmt.Errorf("feed: %s: URL %q: want ws:// or wss:// with a host", c.Name, c.URL)
	}
	setDefault(&c.PingInterval, DefaultPingInterval)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.ReconnectMin, DefaultReconnectMin)
	setDefault(&c.ReconnectMax, DefaultReconnectMax)
	setDefault(&c.DialTimeout, DefaultDialTimeout)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	if c.MaxFrame == 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	switch {
	case c.ReconnectMin < 0 || c.ReconnectMax < c.ReconnectMin:
		return fmt.Errorf("feed: %s: reconnect backoff [%v, %v]: want 0 < min ≤ max", c.Name, c.ReconnectMin, c.ReconnectMax)
	case c.DialTimeout < 0 || c.WriteTimeout < 0:
		return fmt.Errorf("feed: %s: negative dial or write timeout", c.Name)
	case c.MaxFrame < 0:
		return fmt.Errorf("feed: %s: MaxFrame %d: want > 0", c.Name, c.MaxFrame)
	case c.PingInterval > 0 && c.IdleTimeout > 0 && c.PingInterval >= c.IdleTimeout:
		return fmt.Errorf("feed: %s: ping interval %v ≥ idle timeout %v", c.Name, c.PingInterval, c.IdleTimeout)
	}
	return nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// Session is what a venue plugs into a Conn. All its methods are called
// from the goroutine running Conn.Run, never concurrently, so a Session
// may own its books without locks.
type Session interface {
	// Subscribe appends to dst the frames to send, in order, after each
	// (re)connect (subscribe requests) and returns the extended slice.
	// The frames must stay unchanged until the next Subscribe call.
	Subscribe(dst [][]byte) [][]byte
	// Ping returns the application-level ping frame (Bybit {"op":"ping"},
	// OKX "ping"), sent as a text frame, or nil to send websocket ping
	// control frames. It is called once per connection; the frame is
	// copied.
	Ping() []byte
	// Frame handles one received data frame (text or binary), stamped at
	// receipt with one time.Now per frame (Unix ns). The slice is the
	// Conn's reused buffer: valid only during the call.
	Frame(frame []byte, recvNs int64)
	// Down is called once for every connection that was established, when
	// it ends: err is nil for a clean close by the venue (close code 1000
	// or 1001: Binance's 24-hour cut, maintenance), ErrIdleTimeout
	// (wrapped) when the venue went silent, the context's error when Run
	// is stopping, and the read or write error otherwise. The venue marks
	// its books Stale and resyncs them after the next Subscribe.
	Down(err error)
}

// ErrIdleTimeout is reported (wrapped) to Session.Down when no frame
// arrived within ConnConfig.IdleTimeout.
var ErrIdleTimeout = errors.New("feed: idle timeout")

// ConnStats is a plain copy of a Conn's counters.
type ConnStats struct {
	Dials        uint64 // dial attempts
	DialErrors   uint64 // dial attempts that failed
	Connects     uint64 // connections established (subscribe sent next)
	Reconnects   uint64 // connections established after the first
	Disconnects  uint64 // established connections that ended (Down calls)
	IdleTimeouts uint64 // connections dropped for silence
	Frames       uint64 // data frames handed to Session.Frame
	Bytes        uint64 // bytes of those frames
	LastRecv     int64  // receipt time of the last data frame, Unix ns; 0 before the first
	Pings        uint64 // pings sent (control or application-level)
	Pongs        uint64 // websocket pong control frames received
	Sends        uint64 // frames the Session sent with Send (resubscribes)
}

type connCounters struct {
	dials, dialErrors, connects, reconnects, disconnects, idleTimeouts atomic.Uint64
	frames, bytes, pings, pongs, sends                                 atomic.Uint64
	lastRecv                                                           atomic.Int64
}

// Conn keeps one websocket connection to a venue up: it dials, sends the
// Session's subscribe frames, pings, watches for silence, and on any loss
// tells the Session, waits out a jittered exponential backoff and starts
// again. Forced disconnects by the venue are routine, not errors.
//
// Run's goroutine is the connection's only reader and the only caller of
// the Session; a second goroutine per connection sends pings. Stats may be
// called from any goroutine.
type Conn struct {
	cfg    ConnConfig
	s      Session
	dialer websocket.Dialer

	// Owned by the Run goroutine.
	bo   Backoff
	rng  *rand.Rand
	buf  []byte          // frame buffer, grown to the largest frame seen
	subs [][]byte        // subscribe frames from the Session
	cur  *websocket.Conn // the live connection while serving, for Send

	wmu     sync.Mutex // serialises data-frame writes (subscribe, application pings)
	running atomic.Bool
	ctr     connCounters
}

// stableAfterData is how long a connection that delivered data must have
// stayed up for the backoff to reset; a venue that answers every
// subscribe with an error frame and a close is still backed off.
const stableAfterData = time.Second

// NewConn returns a Conn for cfg (validated, defaults applied) feeding s.
func NewConn(cfg ConnConfig, s Session) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("feed: %s: nil Session", cfg.Name)
	}
	return &Conn{
		cfg: cfg,
		s:   s,
		dialer: websocket.Dialer{
			HandshakeTimeout: cfg.DialTimeout,
			ReadBufferSize:   64 << 10,
			WriteBufferSize:  16 << 10,
		},
		bo:  Backoff{Min: cfg.ReconnectMin, Max: cfg.ReconnectMax},
		rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		buf: make([]byte, 0, 64<<10),
	}, nil
}

// Config returns the validated configuration, defaults filled in.
func (c *Conn) Config() ConnConfig { return c.cfg }

// Stats returns a copy of the counters; safe from any goroutine.
func (c *Conn) Stats() ConnStats {
	return ConnStats{
		Dials:        c.ctr.dials.Load(),
		DialErrors:   c.ctr.dialErrors.Load(),
		Connects:     c.ctr.connects.Load(),
		Reconnects:   c.ctr.reconnects.Load(),
		Disconnects:  c.ctr.disconnects.Load(),
		IdleTimeouts: c.ctr.idleTimeouts.Load(),
		Frames:       c.ctr.frames.Load(),
		Bytes:        c.ctr.bytes.Load(),
		LastRecv:     c.ctr.lastRecv.Load(),
		Pings:        c.ctr.pings.Load(),
		Pongs:        c.ctr.pongs.Load(),
		Sends:        c.ctr.sends.Load(),
	}
}

// Run keeps the connection up until ctx is done, then closes the socket
// and returns ctx.Err(). The first dial is immediate; after a failed dial
// or a lost connection it waits Backoff.Next, resetting the backoff after
// a connection that stayed up for ReconnectMax, or for a second while
// delivering data. Run must not be called concurrently with itself.
func (c *Conn) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return fmt.Errorf("feed: %s: Run called concurrently", c.cfg.Name)
	}
	defer c.running.Store(false)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ws, err := c.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.ctr.dialErrors.Add(1)
			if !sleepCtx(ctx, c.bo.Next(c.rng)) {
				return ctx.Err()
			}
			continue
		}
		if c.ctr.connects.Add(1) > 1 {
			c.ctr.reconnects.Add(1)
		}
		start := time.Now()
		frames, err := c.serve(ctx, ws)
		ws.Close()
		up := time.Since(start)
		c.ctr.disconnects.Add(1)
		if ctx.Err() != nil {
			c.s.Down(ctx.Err())
			return ctx.Err()
		}
		c.s.Down(err)
		if up >= c.cfg.ReconnectMax || frames > 0 && up >= min(c.cfg.ReconnectMax, stableAfterData) {
			c.bo.Reset()
		}
		if !sleepCtx(ctx, c.bo.Next(c.rng)) {
			return ctx.Err()
		}
	}
}

func (c *Conn) dial(ctx context.Context) (*websocket.Conn, error) {
	c.ctr.dials.Add(1)
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	ws, _, err := c.dialer.DialContext(dctx, c.cfg.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("feed: %s: dial: %w", c.cfg.Name, err)
	}
	return ws, nil
}

// serve runs one established connection until it fails or ctx is done,
// returning the number of data frames it delivered and why it ended (nil
// for a clean close by the venue).
func (c *Conn) serve(ctx context.Context, ws *websocket.Conn) (frames uint64, err error) {
	stop := context.AfterFunc(ctx, func() { ws.Close() }) // unblocks the read promptly
	defer stop()
	c.cur = ws
	defer func() { c.cur = nil }()

	ws.SetReadLimit(int64(c.cfg.MaxFrame))
	idle, wt := c.cfg.IdleTimeout, c.cfg.WriteTimeout
	extend := func(now time.Time) {
		if idle > 0 {
			ws.SetReadDeadline(now.Add(idle))
		}
	}
	// Control-frame handlers run on this goroutine, inside NextReader.
	ws.SetPongHandler(func(string) error {
		c.ctr.pongs.Add(1)
		extend(time.Now())
		return nil
	})
	ws.SetPingHandler(func(data string) error {
		now := time.Now()
		extend(now)
		_ = ws.WriteControl(websocket.PongMessage, []byte(data), now.Add(wt)) // best effort; a dead socket shows in the read
		return nil
	})

	extend(time.Now()) // the subscribe answers count against the idle limit too
	c.subs = c.s.Subscribe(c.subs[:0])
	for _, f := range c.subs {
		if err := c.writeData(ws, f); err != nil {
			return 0, fmt.Errorf("feed: %s: subscribe: %w", c.cfg.Name, err)
		}
	}

	// The pinger is stopped and waited for before serve returns, so it
	// never writes to a closed or later connection.
	var pingErr atomic.Pointer[error]
	if c.cfg.PingInterval > 0 {
		var ping []byte
		if p := c.s.Ping(); p != nil {
			ping = append([]byte{}, p...)
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := c.pinger(ws, ping, done); err != nil {
				pingErr.Store(&err)
				ws.Close()
			}
		})
		defer wg.Wait()
		defer close(done)
	}

	for {
		_, r, err := ws.NextReader()
		if err == nil {
			c.buf, err = readFrame(r, c.buf[:0])
		}
		if err != nil {
			if p := pingErr.Load(); p != nil {
				return frames, fmt.Errorf("feed: %s: ping: %w", c.cfg.Name, *p)
			}
			return frames, c.readError(err)
		}
		now := time.Now()
		ns := now.UnixNano()
		extend(now)
		frames++
		c.ctr.frames.Add(1)
		c.ctr.bytes.Add(uint64(len(c.buf)))
		c.ctr.lastRecv.Store(ns)
		c.s.Frame(c.buf, ns)
	}
}

// readError classifies a read failure.
func (c *Conn) readError(err error) error {
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.ctr.idleTimeouts.Add(1)
		return fmt.Errorf("feed: %s: no frame for %v: %w", c.cfg.Name, c.cfg.IdleTimeout, ErrIdleTimeout)
	}
	return fmt.Errorf("feed: %s: read: %w", c.cfg.Name, err)
}

// pinger sends a ping every PingInterval until done is closed: a control
// frame when ping is nil, else ping as a text frame.
func (c *Conn) pinger(ws *websocket.Conn, ping []byte, done <-chan struct{}) error {
	t := time.NewTicker(c.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case now := <-t.C:
			var err error
			if ping == nil {
				err = ws.WriteControl(websocket.PingMessage, nil, now.Add(c.cfg.WriteTimeout))
			} else {
				err = c.writeData(ws, ping)
			}
			if err != nil {
				select {
				case <-done: // the connection ended first; not the ping's fault
					return nil
				default:
					return err
				}
			}
			c.ctr.pings.Add(1)
		}
	}
}

// ErrNotConnected is returned by Send when there is no live connection.
var ErrNotConnected = errors.New("feed: not connected")

// Send writes one text frame on the live connection, under the write lock
// and deadline. It is for the Session, called from its methods on the Run
// goroutine: a venue that must resubscribe one symbol after a gap or a
// checksum mismatch sends the unsubscribe/subscribe requests here without
// dropping the connection. A write error also ends the connection's read
// loop, which then reconnects as usual.
func (c *Conn) Send(frame []byte) error {
	ws := c.cur
	if ws == nil {
		return ErrNotConnected
	}
	c.ctr.sends.Add(1)
	return c.writeData(ws, frame)
}

// writeData sends one text frame under the write lock and deadline.
func (c *Conn) writeData(ws *websocket.Conn, f []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return err
	}
	return ws.WriteMessage(websocket.TextMessage, f)
}

// readFrame reads r to EOF, appending to b and growing it as needed; in
// steady state b already has room and nothing is allocated.
func readFrame(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// sleepCtx waits for d or ctx, reporting whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
