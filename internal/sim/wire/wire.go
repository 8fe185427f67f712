// Package wire carries the simulated venues' websocket traffic: one writer
// goroutine per connection with a bounded queue, shared reference-counted
// frames (a market-data message is encoded once and queued to every
// subscriber), and the faults a real venue's connection shows: latency with
// jitter, dropped, duplicated, reordered and malformed frames, silent stalls
// and disconnects. Faults are drawn from a generator seeded per
// connection, so a run with the same seed and the same connection order
// injects the same faults.
package wire

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// Faults are the injected faults of a venue's websocket connections. The
// probabilities apply to each market-data frame; latency to every frame.
type Faults struct {
	// Latency delays every frame by Latency plus a uniform draw in
	// [0, Jitter), keeping the order of frames.
	Latency time.Duration `yaml:"latency"`
	Jitter  time.Duration `yaml:"jitter"`
	// Drop, Duplicate, Reorder and Malformed are per-frame probabilities:
	// the frame is not sent (a sequence gap), sent twice, swapped with the
	// next one, or replaced by a truncated copy that is not valid JSON.
	Drop      float64 `yaml:"drop"`
	Duplicate float64 `yaml:"duplicate"`
	Reorder   float64 `yaml:"reorder"`
	Malformed float64 `yaml:"malformed"`
	// DisconnectEvery is the mean time between forced disconnects of a
	// connection (exponential; 0: never).
	DisconnectEvery time.Duration `yaml:"disconnect_every"`
	// StallEvery is the mean time between silent stalls (0: never): for
	// StallFor the connection stays open and sends nothing, its market
	// data discarded.
	StallEvery time.Duration `yaml:"stall_every"`
	StallFor   time.Duration `yaml:"stall_for"`
}

// Switch holds a venue's current faults; connections read it for every
// frame, so faults can be turned on and off while they run (tests do, to
// check recovery once a fault stops).
type Switch struct{ p atomic.Pointer[Faults] }

// NewSwitch returns a switch holding f.
func NewSwitch(f Faults) *Switch {
	s := new(Switch)
	s.Set(f)
	return s
}

// Set replaces the faults.
func (s *Switch) Set(f Faults) { s.p.Store(&f) }

// Get returns the current faults (nil switch: none).
func (s *Switch) Get() *Faults {
	if s == nil {
		return &noFaults
	}
	if f := s.p.Load(); f != nil {
		return f
	}
	return &noFaults // a zero Switch
}

var noFaults Faults

// Active reports whether any fault is configured.
func (f *Faults) Active() bool { return *f != Faults{} }

// Validate reports the first bad setting.
func (f *Faults) Validate() error {
	for _, p := range []float64{f.Drop, f.Duplicate, f.Reorder, f.Malformed} {
		if !(p >= 0 && p <= 1) {
			return errProb
		}
	}
	if f.Latency < 0 || f.Jitter < 0 || f.DisconnectEvery < 0 || f.StallEvery < 0 || f.StallFor < 0 {
		return errNegative
	}
	if f.StallEvery > 0 && f.StallFor == 0 {
		return errStall
	}
	return nil
}

type wireError string

func (e wireError) Error() string { return string(e) }

const (
	errProb     = wireError("wire: fault probabilities must be within [0, 1]")
	errNegative = wireError("wire: fault durations must be >= 0")
	errStall    = wireError("wire: stall_every needs stall_for")
)

// Frame is an encoded message shared by every connection it is queued to.
// Get one from NewFrame, append to B, then Send it (each Send takes a
// reference, each written or discarded copy releases one); the creator
// releases its own reference with Release.
type Frame struct {
	B    []byte
	refs atomic.Int32
}

var framePool = sync.Pool{New: func() any { return &Frame{B: make([]byte, 0, 512)} }}

// NewFrame returns an empty frame holding one reference (the caller's).
func NewFrame() *Frame {
	f := framePool.Get().(*Frame)
	f.B = f.B[:0]
	f.refs.Store(1)
	return f
}

// Retain takes another reference.
func (f *Frame) Retain() { f.refs.Add(1) }

// Release drops a reference; the last one returns the frame to the pool.
func (f *Frame) Release() {
	if f.refs.Add(-1) == 0 {
		if cap(f.B) <= 64<<10 {
			framePool.Put(f)
		}
	}
}

// Stats are a connection's counters (atomics, read any time).
type Stats struct {
	Sent, Dropped, Duplicated, Reordered, Malformed, Stalled, Overflows atomic.Uint64
	Disconnects                                                         atomic.Uint64
}

type item struct {
	f  *Frame
	md bool
	at time.Time // when it may be written
}

// Config configures a Conn.
type Config struct {
	// Faults are read for every frame; nil injects none.
	Faults *Switch
	// Seed seeds the connection's fault draws.
	Seed uint64
	// Queue is the number of frames that may wait to be written; a
	// connection whose queue overflows is closed (a slow consumer), as
	// venues do. Default 4096.
	Queue int
	// WriteTimeout bounds one write. Default 5s.
	WriteTimeout time.Duration
	// Stats, when set, accumulates this connection's counters (shared by
	// a venue's connections).
	Stats *Stats
}

// Conn is one server-side websocket connection of a simulated venue.
type Conn struct {
	ws    *websocket.Conn
	cfg   Config
	q     chan item
	done  chan struct{}
	once  sync.Once
	stats *Stats
	rng   *rand.Rand // writer goroutine only
	mu    sync.Mutex // serialises Send's enqueue with Close
	shut  bool
}

// Serve runs a connection: it starts the writer goroutine, calls onOpen
// (nil: none), and reads messages on the calling goroutine (the upgrade
// handler's), handing each to onMessage (msg valid only during the call),
// until the peer closes, a read fails or Close is called. onClose runs once
// after that.
func Serve(ws *websocket.Conn, cfg Config, onOpen, onClose func(c *Conn), onMessage func(c *Conn, msg []byte)) {
	if cfg.Queue <= 0 {
		cfg.Queue = 4096
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	c := &Conn{ws: ws, cfg: cfg, q: make(chan item, cfg.Queue), done: make(chan struct{}), stats: cfg.Stats}
	if c.stats == nil {
		c.stats = new(Stats)
	}
	c.rng = rand.New(rand.NewPCG(cfg.Seed, 0x77697265))
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writer()
	}()
	if onOpen != nil {
		onOpen(c)
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			break
		}
		onMessage(c, msg)
	}
	c.Close()
	<-writerDone
	if onClose != nil {
		onClose(c)
	}
}

// Send queues f (taking a reference) to be written; md marks market data,
// which the faults apply to. It never blocks: on a full queue the
// connection is closed and Send reports false.
func (c *Conn) Send(f *Frame, md bool) bool {
	at := time.Time{}
	if fl := c.cfg.Faults.Get(); fl.Latency > 0 || fl.Jitter > 0 {
		at = time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shut {
		return false
	}
	f.Retain()
	select {
	case c.q <- item{f: f, md: md, at: at}:
		return true
	default:
		f.Release()
		c.stats.Overflows.Add(1)
		c.closeLocked()
		return false
	}
}

// SendBytes queues a copy of b (a response, not market data).
func (c *Conn) SendBytes(b []byte) bool {
	f := NewFrame()
	f.B = append(f.B, b...)
	ok := c.Send(f, false)
	f.Release()
	return ok
}

// Close closes the connection; queued frames are discarded.
func (c *Conn) Close() {
	c.mu.Lock()
	c.closeLocked()
	c.mu.Unlock()
}

func (c *Conn) closeLocked() {
	c.once.Do(func() {
		c.shut = true
		close(c.done)
		_ = c.ws.Close()
	})
}

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// expDur draws an exponential duration with mean m.
func (c *Conn) expDur(m time.Duration) time.Time {
	return time.Now().Add(time.Duration(c.rng.ExpFloat64() * float64(m)))
}

// writer writes queued frames, applying the faults.
func (c *Conn) writer() {
	var held *item // a frame held back to be reordered after the next
	var disconnectAt, stallAt, stallEnd time.Time
	var lastAt time.Time
	defer func() {
		if held != nil {
			held.f.Release()
		}
		for {
			select {
			case it := <-c.q:
				it.f.Release()
			default:
				return
			}
		}
	}()
	for {
		var it item
		select {
		case <-c.done:
			return
		case it = <-c.q:
		}
		fl := c.cfg.Faults.Get()
		if !it.at.IsZero() {
			d := fl.Latency
			if fl.Jitter > 0 {
				d += time.Duration(c.rng.Int64N(int64(fl.Jitter)))
			}
			due := it.at.Add(d)
			if due.Before(lastAt) {
				due = lastAt // keep frames in order
			}
			lastAt = due
			if w := time.Until(due); w > 0 {
				time.Sleep(w)
			}
		}
		now := time.Now()
		// Disconnects and stalls are scheduled from when they are enabled.
		switch {
		case fl.DisconnectEvery == 0:
			disconnectAt = time.Time{}
		case disconnectAt.IsZero():
			disconnectAt = c.expDur(fl.DisconnectEvery)
		case now.After(disconnectAt):
			c.stats.Disconnects.Add(1)
			it.f.Release()
			c.Close()
			return
		}
		switch {
		case fl.StallEvery == 0:
			stallAt, stallEnd = time.Time{}, time.Time{} // switched off: a stall under way ends
		case stallAt.IsZero():
			stallAt = c.expDur(fl.StallEvery)
		case now.After(stallAt):
			stallEnd = now.Add(fl.StallFor)
			stallAt = stallEnd.Add(time.Duration(c.rng.ExpFloat64() * float64(fl.StallEvery)))
		}
		if it.md && now.Before(stallEnd) {
			c.stats.Stalled.Add(1)
			it.f.Release()
			continue
		}
		if it.md && fl.Active() {
			switch r := c.rng.Float64(); {
			case r < fl.Drop:
				c.stats.Dropped.Add(1)
				it.f.Release()
				continue
			case r < fl.Drop+fl.Malformed:
				c.stats.Malformed.Add(1)
				n := len(it.f.B) / 2
				err := c.write(it.f.B[:n])
				it.f.Release()
				if err != nil {
					return
				}
				continue
			case r < fl.Drop+fl.Malformed+fl.Duplicate:
				c.stats.Duplicated.Add(1)
				if c.write(it.f.B) != nil {
					it.f.Release()
					return
				}
			case r < fl.Drop+fl.Malformed+fl.Duplicate+fl.Reorder && held == nil:
				c.stats.Reordered.Add(1)
				h := it
				held = &h
				continue
			}
		}
		err := c.write(it.f.B)
		it.f.Release()
		if err == nil && held != nil {
			err = c.write(held.f.B)
			held.f.Release()
			held = nil
		}
		if err != nil {
			return
		}
	}
}

func (c *Conn) write(b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.Close()
		return err
	}
	c.stats.Sent.Add(1)
	return nil
}

// Draws is a deterministic sequence of uniform draws in [0, 1): the n-th
// draw is a function of Seed and n only, whatever goroutine takes it. The
// simulator's non-connection faults (stale snapshots, wrong checksums,
// rejected and lost order acknowledgements) draw from one each.
type Draws struct {
	Seed uint64
	n    atomic.Uint64
}

// Next returns the next draw.
func (d *Draws) Next() float64 {
	return float64(SeedFor(d.Seed, d.n.Add(1))>>11) / (1 << 53)
}

// SeedFor derives a per-connection seed from a venue seed and the
// connection's number, so connections draw independent faults.
func SeedFor(seed uint64, n uint64) uint64 {
	x := seed ^ (n+1)*0x9e3779b97f4a7c15
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	return x ^ uint64(math.MaxUint32)
}
