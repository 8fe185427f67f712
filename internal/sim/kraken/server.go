// Package kraken is a simulated Kraken spot venue on loopback: the public
// WebSocket v2 `book` channel with CRC32 checksums (snapshot on subscribe,
// updates that keep a subscriber's book at its depth), REST private order
// entry signed with API-Sign (rest.go), and the authenticated WebSocket v2
// endpoint with add_order, cancel_order and the executions and balances
// channels (wsauth.go), in Kraken's wire formats. Like Kraken, it listens
// twice: the public endpoint and REST on one listener (ws.kraken.com and
// api.kraken.com), the authenticated websocket on another
// (ws-auth.kraken.com).
//
// State lives in a venue.Venue; this package is its Kraken-speaking front
// end.
package kraken

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
	"arbmm/internal/sim/wire"
)

// Config configures a Server.
type Config struct {
	// Venue is the venue state this server fronts. Required. Its pair
	// symbols are the WebSocket v2 names ("BTC/USD"), and their decimals
	// are the precision prices and quantities are rendered (and
	// checksummed) at.
	Venue *venue.Venue
	// Seed seeds the per-connection fault draws and the checksum faults.
	Seed uint64
	// Faults are injected into the public websocket connections.
	Faults wire.Faults
	// WrongChecksum is the probability that a book update carries a
	// wrong checksum (every subscriber of that depth sees the same one).
	WrongChecksum float64
	// Heartbeat is the interval of the heartbeat messages sent to
	// subscribed connections; default 1s, as Kraken.
	Heartbeat time.Duration
	// Limits are the REST rate limits (zero: Kraken's starter tier).
	Limits auth.KrakenLimits
	// Keys are the API keys order entry accepts (nil: none).
	Keys *auth.Keys
	// Orders are the order-entry faults.
	Orders venue.OrderFaults
}

// Server is a simulated Kraken venue. Safe for concurrent use.
type Server struct {
	cfg    Config
	v      *venue.Venue
	pub    *fasthttp.Server
	auth   *fasthttp.Server
	ln     net.Listener
	authLn net.Listener
	up     websocket.FastHTTPUpgrader
	conns  atomic.Uint64
	faults *wire.Switch
	Stats  wire.Stats // public connection counters

	mu      sync.RWMutex
	classes []map[int]*depthClass // per pair: subscribed depth → its state
	all     map[*wire.Conn]*pubConn

	book bookSink
	priv orderEntry
	stop chan struct{}
	wg   sync.WaitGroup
}

// pubConn is one public websocket connection.
type pubConn struct {
	c    *wire.Conn
	subs map[*depthClass]bool
}

// depthClass is the book of one pair at one subscribed depth as its
// subscribers hold it: the levels last sent, and who subscribed.
type depthClass struct {
	depth      int
	bids, asks []match.Level
	conns      []*pubConn
	sum        []byte // checksum text scratch
}

// Depths are the book depths Kraken offers.
var Depths = []int{10, 25, 100, 500, 1000}

// New builds a server for cfg.Venue; Listen starts it.
func New(cfg Config) (*Server, error) {
	if cfg.Venue == nil {
		return nil, errors.New("sim/kraken: Config.Venue is required")
	}
	if err := cfg.Faults.Validate(); err != nil {
		return nil, err
	}
	if !(cfg.WrongChecksum >= 0 && cfg.WrongChecksum <= 1) {
		return nil, errors.New("sim/kraken: wrong_checksum must be within [0, 1]")
	}
	if err := cfg.Orders.Validate(); err != nil {
		return nil, err
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = time.Second
	}
	s := &Server{
		cfg:     cfg,
		v:       cfg.Venue,
		classes: make([]map[int]*depthClass, len(cfg.Venue.Pairs())),
		all:     map[*wire.Conn]*pubConn{},
		stop:    make(chan struct{}),
	}
	for i := range s.classes {
		s.classes[i] = map[int]*depthClass{}
	}
	s.book.s = s
	s.book.draws.Seed = cfg.Seed ^ 0x636b73
	s.faults = wire.NewSwitch(cfg.Faults)
	s.up.CheckOrigin = func(*fasthttp.RequestCtx) bool { return true }
	// KeepHijackedConns: websockets are hijacked connections, and without it
	// fasthttp ignores their Close until the upgrade handler returns.
	s.pub = &fasthttp.Server{Handler: s.handlePublic, Name: "arbmm-simex", NoDefaultDate: true, IdleTimeout: 2 * time.Minute, KeepHijackedConns: true}
	s.auth = &fasthttp.Server{Handler: s.handleAuth, Name: "arbmm-simex", NoDefaultDate: true, IdleTimeout: 2 * time.Minute, KeepHijackedConns: true}
	if err := s.initPrivate(); err != nil {
		return nil, err
	}
	cfg.Venue.AddMDSink(&s.book)
	return s, nil
}

// Listen starts the public endpoint (websocket and REST) on addr and the
// authenticated websocket on authAddr ("127.0.0.1:0" picks a port).
func (s *Server) Listen(addr, authAddr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sim/kraken: %w", err)
	}
	aln, err := net.Listen("tcp", authAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("sim/kraken: %w", err)
	}
	s.ln, s.authLn = ln, aln
	go func() { _ = s.pub.Serve(ln) }()
	go func() { _ = s.auth.Serve(aln) }()
	s.wg.Add(1)
	go s.heartbeats()
	return nil
}

// Addr and AuthAddr are the listening addresses.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// AuthAddr is the authenticated websocket's listening address.
func (s *Server) AuthAddr() string { return s.authLn.Addr().String() }

// WSURL is the public WebSocket v2 endpoint (the engine's ws_url).
func (s *Server) WSURL() string { return "ws://" + s.Addr() + "/v2" }

// RESTURL is the REST base URL (the engine's rest_url).
func (s *Server) RESTURL() string { return "http://" + s.Addr() }

// AuthWSURL is the authenticated WebSocket v2 endpoint.
func (s *Server) AuthWSURL() string { return "ws://" + s.AuthAddr() + "/v2" }

// Close stops the server and closes every connection.
func (s *Server) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	s.wg.Wait()
	s.mu.Lock()
	conns := make([]*wire.Conn, 0, len(s.all))
	for c := range s.all {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	s.closePrivate()
	var err error
	if s.ln != nil {
		err = errors.Join(s.pub.Shutdown(), s.auth.Shutdown())
	}
	return err
}

// handlePublic routes the public listener: the v2 websocket, else REST.
func (s *Server) handlePublic(ctx *fasthttp.RequestCtx) {
	if string(ctx.Path()) == "/v2" {
		s.servePublic(ctx)
		return
	}
	s.rest(ctx)
}

// servePublic upgrades a public WebSocket v2 connection.
func (s *Server) servePublic(ctx *fasthttp.RequestCtx) {
	n := s.conns.Add(1)
	_ = s.up.Upgrade(ctx, func(ws *websocket.Conn) {
		cfg := wire.Config{Faults: s.faults, Seed: wire.SeedFor(s.cfg.Seed, n), Stats: &s.Stats}
		var pc *pubConn
		wire.Serve(ws, cfg,
			func(c *wire.Conn) {
				pc = &pubConn{c: c, subs: map[*depthClass]bool{}}
				s.mu.Lock()
				s.all[c] = pc
				s.mu.Unlock()
				c.SendBytes(appendStatus(nil, n))
			},
			func(c *wire.Conn) { s.dropConn(pc) },
			func(c *wire.Conn, msg []byte) { s.onPublicMessage(pc, msg) })
	})
}

func (s *Server) dropConn(pc *pubConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.all, pc.c)
	for cl := range pc.subs {
		cl.remove(pc)
	}
}

func (cl *depthClass) remove(pc *pubConn) {
	for i, x := range cl.conns {
		if x == pc {
			cl.conns = append(cl.conns[:i], cl.conns[i+1:]...)
			return
		}
	}
}

// heartbeats sends {"channel":"heartbeat"} every Heartbeat to connections
// with a subscription, as Kraken does; they are market data, so a stalled
// connection stays silent.
func (s *Server) heartbeats() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		f := wire.NewFrame()
		f.B = append(f.B, `{"channel":"heartbeat"}`...)
		s.mu.RLock()
		for _, pc := range s.all {
			if len(pc.subs) > 0 {
				pc.c.Send(f, true)
			}
		}
		s.mu.RUnlock()
		f.Release()
	}
}

// Subscribers is the number of connections subscribed to a pair's book at
// any depth (tests wait on it).
func (s *Server) Subscribers(symbol string) int {
	p, ok := s.v.Pair(symbol)
	if !ok {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, cl := range s.classes[p.Index] {
		n += len(cl.conns)
	}
	return n
}

// SetFaults replaces the market-data faults of every connection, open or
// future.
func (s *Server) SetFaults(f wire.Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.faults.Set(f)
	return nil
}
