// Package binance is a simulated Binance spot venue on loopback: the market
// streams (diff depth with U/u, bookTicker; raw /ws and combined /stream
// endpoints, SUBSCRIBE/UNSUBSCRIBE), the REST depth snapshot and server
// time, and the signed order entry, WebSocket API and user-data stream
// (orders.go, wsapi.go, userdata.go), all in Binance's wire formats, over
// one fasthttp listener. The engine talks to it with the code it uses
// against api.binance.com and stream.binance.com; only the URLs differ.
//
// State lives in a venue.Venue (matching, ledger); this package is its
// Binance-speaking front end: it encodes what the venue publishes, and
// turns requests into venue operations.
package binance

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
	"arbmm/internal/sim/wire"
)

// Config configures a Server.
type Config struct {
	// Venue is the venue state this server fronts. Required.
	Venue *venue.Venue
	// Seed seeds the per-connection fault draws and the snapshot faults.
	Seed uint64
	// Faults are injected into the market-data websocket connections.
	Faults wire.Faults
	// StaleSnapshot is the probability that a depth snapshot is served
	// from an older state of the book (one the stream has moved past), as
	// a lagging Binance REST replica does.
	StaleSnapshot float64
	// Limits are the REST rate limits (zero: Binance's published ones).
	Limits auth.BinanceLimits
	// Keys are the API keys order entry accepts (nil: none).
	Keys *auth.Keys
	// Orders are the order-entry faults.
	Orders venue.OrderFaults
}

// Server is a simulated Binance venue. Safe for concurrent use.
type Server struct {
	cfg     Config
	v       *venue.Venue
	limiter *auth.BinanceLimiter
	srv     *fasthttp.Server
	ln      net.Listener
	up      websocket.FastHTTPUpgrader
	conns   atomic.Uint64 // connections accepted (seeds)
	faults  *wire.Switch
	Stats   wire.Stats // market-data connection counters

	mu   sync.RWMutex
	subs []pairSubs // per pair index
	all  map[*wire.Conn]*mdConn

	snapMu    sync.Mutex
	snap      []snapshot // per pair: the previous snapshot served (stale-snapshot fault)
	snapDraws wire.Draws

	md   mdSink
	priv orderEntry
}

// pairSubs are the market-data subscribers of one pair.
type pairSubs struct {
	depth, ticker []sub
}

// sub is one connection's subscription to one stream.
type sub struct {
	mc   *mdConn
	name string // the stream name as subscribed ("btcusdt@depth@100ms")
}

// mdConn is one market-data connection.
type mdConn struct {
	c        *wire.Conn
	combined bool // /stream: events wrapped as {"stream":...,"data":...}
	streams  map[string]bool
}

type snapshot struct {
	id         uint64
	bids, asks []match.Level
}

// New builds a server for cfg.Venue; Listen starts it.
func New(cfg Config) (*Server, error) {
	if cfg.Venue == nil {
		return nil, errors.New("sim/binance: Config.Venue is required")
	}
	if err := cfg.Faults.Validate(); err != nil {
		return nil, err
	}
	if !(cfg.StaleSnapshot >= 0 && cfg.StaleSnapshot <= 1) {
		return nil, errors.New("sim/binance: stale_snapshot must be within [0, 1]")
	}
	if err := cfg.Orders.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		v:       cfg.Venue,
		limiter: auth.NewBinanceLimiter(cfg.Limits),
		subs:    make([]pairSubs, len(cfg.Venue.Pairs())),
		all:     map[*wire.Conn]*mdConn{},
		snap:    make([]snapshot, len(cfg.Venue.Pairs())),
	}
	s.md.s = s
	s.snapDraws.Seed = cfg.Seed ^ 0x736e6170
	s.faults = wire.NewSwitch(cfg.Faults)
	s.up.CheckOrigin = func(*fasthttp.RequestCtx) bool { return true }
	s.srv = &fasthttp.Server{
		Handler:       s.handle,
		Name:          "arbmm-simex",
		NoDefaultDate: true,
		ReadTimeout:   time.Minute,
		IdleTimeout:   2 * time.Minute,
		// Websockets are hijacked connections: without this, fasthttp
		// ignores their Close until the upgrade handler returns, so
		// wire.Conn.Close could not end one blocked in its read loop
		// (disconnect faults, deleted listen keys, Close).
		KeepHijackedConns: true,
	}
	if err := s.initPrivate(); err != nil {
		return nil, err
	}
	cfg.Venue.AddMDSink(&s.md)
	return s, nil
}

// Listen starts serving on addr ("127.0.0.1:0" picks a port).
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sim/binance: %w", err)
	}
	s.ln = ln
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// RESTURL is the base URL of the REST API (the engine's rest_url).
func (s *Server) RESTURL() string { return "http://" + s.Addr() }

// StreamURL is the combined market-stream endpoint (the engine's ws_url).
func (s *Server) StreamURL() string { return "ws://" + s.Addr() + "/stream" }

// WSAPIURL is the WebSocket API endpoint.
func (s *Server) WSAPIURL() string { return "ws://" + s.Addr() + "/ws-api/v3" }

// Close stops the server and closes every connection.
func (s *Server) Close() error {
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
	if s.ln == nil {
		return nil
	}
	return s.srv.Shutdown()
}

// handle routes a request.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	switch {
	case path == "/ws" || path == "/stream" || strings.HasPrefix(path, "/ws/") && strings.Contains(path, "@"):
		s.serveMD(ctx, path)
	case path == "/api/v3/depth":
		s.depth(ctx)
	case path == "/api/v3/ping":
		if s.limit(ctx, 1, 0, false) {
			ctx.SetContentType("application/json")
			ctx.SetBodyString("{}")
		}
	case path == "/api/v3/time":
		if s.limit(ctx, 1, 0, false) {
			ctx.SetContentType("application/json")
			ctx.SetBody(strconv.AppendInt([]byte(`{"serverTime":`), s.v.Now().UnixMilli(), 10))
			ctx.Response.AppendBodyString("}")
		}
	default:
		if !s.private(ctx, path) {
			writeError(ctx, fasthttp.StatusNotFound, -1000, "An unknown error occurred while processing the request.")
		}
	}
}

// writeError writes Binance's error body {"code":...,"msg":...}.
func writeError(ctx *fasthttp.RequestCtx, status, code int, msg string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json;charset=UTF-8")
	b := append(ctx.Response.Body()[:0], `{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"msg":`...)
	b = strconv.AppendQuote(b, msg)
	b = append(b, '}')
	ctx.SetBody(b)
}

// limit charges a request's weight (and an order, for order entry) to the
// client's IP and account, sets the used-weight headers, and on a 429 or
// 418 writes Binance's response and reports false.
func (s *Server) limit(ctx *fasthttp.RequestCtx, weight int, account uint32, order bool) bool {
	d := s.limiter.Request(ctx.RemoteIP().String(), account, weight, order, s.v.Now())
	h := &ctx.Response.Header
	h.Set("X-MBX-USED-WEIGHT-1M", strconv.Itoa(d.UsedWeight1m))
	if order {
		h.Set("X-MBX-ORDER-COUNT-10S", strconv.Itoa(d.OrderCount10s))
		h.Set("X-MBX-ORDER-COUNT-1D", strconv.Itoa(d.OrderCount1d))
	}
	if d.Status == fasthttp.StatusOK || d.Status == 0 {
		return true
	}
	h.Set("Retry-After", strconv.Itoa(d.RetryAfter))
	writeError(ctx, d.Status, d.Code, d.Msg)
	return false
}

// depthWeight is GET /api/v3/depth's request weight for a limit.
func depthWeight(limit int) int {
	switch {
	case limit <= 100:
		return 5
	case limit <= 500:
		return 25
	case limit <= 1000:
		return 50
	default:
		return 250
	}
}

// depth serves GET /api/v3/depth?symbol=&limit=.
func (s *Server) depth(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	limit := 100
	if b := args.Peek("limit"); len(b) > 0 {
		n, err := strconv.Atoi(string(b))
		if err != nil || n < 1 {
			writeError(ctx, fasthttp.StatusBadRequest, -1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.")
			return
		}
		limit = min(n, 5000)
	}
	if !s.limit(ctx, depthWeight(limit), 0, false) {
		return
	}
	sym := args.Peek("symbol")
	if len(sym) == 0 {
		writeError(ctx, fasthttp.StatusBadRequest, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
		return
	}
	p, ok := s.v.PairBytes(sym)
	if !ok {
		writeError(ctx, fasthttp.StatusBadRequest, -1121, "Invalid symbol.")
		return
	}
	var cur snapshot
	cur.id, cur.bids, cur.asks = p.Snapshot(limit, nil, nil)
	out := cur
	s.snapMu.Lock()
	prev := &s.snap[p.Index]
	if s.cfg.StaleSnapshot > 0 && prev.id != 0 && prev.id < cur.id && s.snapDraws.Next() < s.cfg.StaleSnapshot {
		out = *prev
	} else {
		*prev = cur
	}
	s.snapMu.Unlock()
	ctx.SetContentType("application/json;charset=UTF-8")
	b := append(ctx.Response.Body()[:0], `{"lastUpdateId":`...)
	b = strconv.AppendUint(b, out.id, 10)
	b = append(b, `,"bids":`...)
	b = appendLevels(b, &p.Cfg, out.bids)
	b = append(b, `,"asks":`...)
	b = appendLevels(b, &p.Cfg, out.asks)
	b = append(b, '}')
	ctx.SetBody(b)
}

// appendLevels appends [["price","qty"],...] at the pair's decimals.
func appendLevels(b []byte, pc *venue.PairConfig, lv []match.Level) []byte {
	b = append(b, '[')
	for i, l := range lv {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = market.AppendFixed(b, l.Price, pc.PriceExp)
		b = append(b, `","`...)
		b = market.AppendFixed(b, l.Qty, pc.QtyExp)
		b = append(b, `"]`...)
	}
	return append(b, ']')
}

// serveMD upgrades a market-stream connection: /ws (subscribe by
// request), /ws/<stream>[/<stream>...] (raw), /stream?streams=a/b (combined).
func (s *Server) serveMD(ctx *fasthttp.RequestCtx, path string) {
	combined := path == "/stream"
	var initial []string
	if combined {
		if st := ctx.QueryArgs().Peek("streams"); len(st) > 0 {
			initial = strings.Split(string(st), "/")
		}
	} else if rest, ok := strings.CutPrefix(path, "/ws/"); ok {
		initial = strings.Split(rest, "/")
	}
	n := s.conns.Add(1)
	err := s.up.Upgrade(ctx, func(ws *websocket.Conn) {
		cfg := wire.Config{Faults: s.faults, Seed: wire.SeedFor(s.cfg.Seed, n), Stats: &s.Stats}
		var mc *mdConn
		wire.Serve(ws, cfg,
			func(c *wire.Conn) { mc = s.register(c, combined, initial) },
			func(c *wire.Conn) { s.unregister(c) },
			func(c *wire.Conn, msg []byte) { s.onMDMessage(mc, msg) })
	})
	if err != nil {
		return
	}
}

// register adds a connection with the streams named in its URL.
func (s *Server) register(c *wire.Conn, combined bool, initial []string) *mdConn {
	mc := &mdConn{c: c, combined: combined, streams: map[string]bool{}}
	s.mu.Lock()
	s.all[c] = mc
	for _, st := range initial {
		s.subscribeLocked(mc, st)
	}
	s.mu.Unlock()
	return mc
}

func (s *Server) unregister(c *wire.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mc := s.all[c]
	if mc == nil {
		return
	}
	delete(s.all, c)
	for st := range mc.streams {
		s.unsubscribeLocked(mc, st)
	}
}

// parseStream splits "btcusdt@depth@100ms" into the pair and the kind.
func (s *Server) parseStream(st string) (p *venue.Pair, ticker bool, ok bool) {
	sym, kind, found := strings.Cut(st, "@")
	if !found {
		return nil, false, false
	}
	p, ok = s.v.Pair(strings.ToUpper(sym))
	if !ok {
		return nil, false, false
	}
	switch kind {
	case "depth", "depth@100ms", "depth@1000ms", "depth@0ms":
		return p, false, true
	case "bookTicker":
		return p, true, true
	}
	return nil, false, false
}

func (s *Server) subscribeLocked(mc *mdConn, st string) {
	if mc.streams[st] {
		return
	}
	p, ticker, ok := s.parseStream(st)
	mc.streams[st] = true // unknown streams are accepted and stay silent, as on Binance
	if !ok {
		return
	}
	ps := &s.subs[p.Index]
	if ticker {
		ps.ticker = append(ps.ticker, sub{mc, st})
	} else {
		ps.depth = append(ps.depth, sub{mc, st})
	}
}

func (s *Server) unsubscribeLocked(mc *mdConn, st string) {
	if !mc.streams[st] {
		return
	}
	delete(mc.streams, st)
	p, ticker, ok := s.parseStream(st)
	if !ok {
		return
	}
	ps := &s.subs[p.Index]
	list := &ps.depth
	if ticker {
		list = &ps.ticker
	}
	for i, x := range *list {
		if x.mc == mc && x.name == st {
			*list = append((*list)[:i], (*list)[i+1:]...)
			break
		}
	}
}

// StreamSubscribers is the number of market-data connections currently
// subscribed to a pair's depth stream (tests wait on it).
func (s *Server) StreamSubscribers(symbol string) int {
	p, ok := s.v.Pair(symbol)
	if !ok {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.subs[p.Index].depth)
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

// RateRefusals counts the requests the venue refused for its rate limits
// (429 and 418).
func (s *Server) RateRefusals() uint64 { return s.limiter.Refused() }
