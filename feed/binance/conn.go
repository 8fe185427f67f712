package binance

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"arbmm/book"
	"arbmm/feed"
)

// SessionConfig configures a Session.
type SessionConfig struct {
	// Symbols are subscribed with a SUBSCRIBE request after each
	// (re)connect, e.g. "BTCUSDT" (any case). Leave it empty when the
	// streams are named in the connection URL (/stream?streams=...).
	Symbols []string
	// Streams are the stream suffixes subscribed for every symbol.
	// Default {"depth@100ms", "bookTicker"}.
	Streams []string
	// REST is the base URL of the REST API the depth snapshots come from:
	// "https://api.binance.com" (spot), "https://api.binance.us",
	// "https://fapi.binance.com" (USD-M). Required.
	REST string
	// Limit is the snapshot depth asked for. Default 1000.
	Limit int
	// HTTPTimeout bounds one snapshot request. Default 10s.
	HTTPTimeout time.Duration
	// RetryDelay is how long the fetcher waits after a failed snapshot
	// request before reporting it (the symbol is then asked for again), so
	// that a failing endpoint is never hammered; a 429 or 418 waits at
	// least its Retry-After. Default 1s.
	RetryDelay time.Duration
	// Fetchers is how many snapshot requests may be in flight at once.
	// Default 4.
	Fetchers int
}

// Validate fills in defaults and reports the first invalid setting.
func (c *SessionConfig) Validate() error {
	u, err := url.Parse(c.REST)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("binance: SessionConfig.REST %q: want an http(s) base URL", c.REST)
	}
	c.REST = strings.TrimSuffix(c.REST, "/")
	if len(c.Streams) == 0 {
		c.Streams = []string{"depth@100ms", "bookTicker"}
	}
	if c.Limit == 0 {
		c.Limit = 1000
	}
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = 10 * time.Second
	}
	if c.Fetchers == 0 {
		c.Fetchers = 4
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = time.Second
	}
	switch {
	case c.Limit < 0 || c.Limit > 5000:
		return fmt.Errorf("binance: snapshot limit %d: want 1..5000", c.Limit)
	case c.Fetchers < 0 || c.Fetchers > 64:
		return fmt.Errorf("binance: Fetchers %d: want 1..64", c.Fetchers)
	case c.HTTPTimeout < 0 || c.RetryDelay < 0:
		return errors.New("binance: negative HTTPTimeout or RetryDelay")
	}
	for _, s := range c.Symbols {
		if s == "" || strings.ContainsAny(s, `"\/@ `) {
			return fmt.Errorf("binance: bad symbol %q", s)
		}
	}
	return nil
}

// SessionStats are a Session's counters; any goroutine may read them.
type SessionStats struct {
	Fetches     uint64 // snapshot requests sent to REST
	FetchErrors uint64 // requests that failed (network, status, timeout)
	Snapshots   uint64 // snapshots handed to the Feed
	Discarded   uint64 // snapshots fetched for an earlier connection, dropped
	Downs       uint64 // connections lost
}

// Session adapts a Feed to feed.Conn: it subscribes, resets the books when
// the connection drops, and fetches REST depth snapshots for the symbols the
// Feed asks for on a goroutine of its own, handing the bodies back to the
// Feed on the Conn's Run goroutine (the Feed is single-goroutine).
//
// Subscribe, Ping, Frame and Down are called by feed.Conn from its Run
// goroutine only; Stats and Close from any goroutine.
type Session struct {
	// Conn is the connection the Session serves; set it after
	// feed.NewConn. Binance resyncs over REST, so it is not written to.
	Conn *feed.Conn
	// OnSnapshot, if set, sees every REST snapshot body before the Feed
	// loads it, with the URL it was fetched from, on the Run goroutine:
	// the recorder writes them as http records so that replay can sync.
	OnSnapshot func(url string, body []byte, recvNs int64)

	f    *Feed
	cfg  SessionConfig
	path string   // "/api/v3/depth" or "/fapi/v1/depth"
	subs [][]byte // the SUBSCRIBE request(s), built once

	// Owned by the Run goroutine.
	gen   uint64   // connection generation: snapshots of an older one are dropped
	queue []string // symbols waiting for a free slot in reqs

	reqs    chan fetchReq
	results chan fetchResult
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
	client  fasthttp.Client

	fetches, fetchErrors, snapshots, discarded, downs atomic.Uint64
}

type fetchReq struct {
	symbol string
	gen    uint64
}

type fetchResult struct {
	symbol string
	gen    uint64
	body   []byte // owned by the receiver
	recvNs int64
	err    error
}

// NewSession returns a Session for f and starts its snapshot fetcher; Close
// stops it.
func NewSession(f *Feed, cfg SessionConfig) (*Session, error) {
	if f == nil {
		return nil, errors.New("binance: NewSession: nil Feed")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Session{
		f:       f,
		cfg:     cfg,
		path:    "/api/v3/depth",
		queue:   make([]string, 0, 64),
		reqs:    make(chan fetchReq, 64),
		results: make(chan fetchResult, 64),
		stop:    make(chan struct{}),
		client: fasthttp.Client{
			Name:         "arbmm",
			ReadTimeout:  cfg.HTTPTimeout,
			WriteTimeout: cfg.HTTPTimeout,
		},
	}
	if f.futures {
		s.path = "/fapi/v1/depth"
	}
	if len(cfg.Symbols) > 0 {
		s.subs = append(s.subs, AppendSubscribe(nil, "SUBSCRIBE", cfg.Symbols, cfg.Streams, 1))
	}
	for range cfg.Fetchers {
		s.wg.Go(s.fetcher)
	}
	return s, nil
}

// AppendSubscribe appends a SUBSCRIBE or UNSUBSCRIBE request (method) for
// every stream of every symbol, e.g.
// {"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","btcusdt@bookTicker"],"id":1}.
func AppendSubscribe(dst []byte, method string, symbols, streams []string, id int64) []byte {
	dst = append(dst, `{"method":"`...)
	dst = append(dst, method...)
	dst = append(dst, `","params":[`...)
	n := 0
	for _, sym := range symbols {
		for _, st := range streams {
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = append(dst, '"')
			dst = append(dst, strings.ToLower(sym)...)
			dst = append(dst, '@')
			dst = append(dst, st...)
			dst = append(dst, '"')
		}
	}
	dst = append(dst, `],"id":`...)
	dst = strconv.AppendInt(dst, id, 10)
	return append(dst, '}')
}

// Subscribe appends the SUBSCRIBE request, if symbols are configured.
func (s *Session) Subscribe(dst [][]byte) [][]byte { return append(dst, s.subs...) }

// Ping returns nil: Binance answers websocket ping control frames.
func (s *Session) Ping() []byte { return nil }

// Frame hands finished snapshots to the Feed, handles the frame, and passes
// the symbols the Feed wants snapshots for to the fetcher, never blocking.
func (s *Session) Frame(frame []byte, recvNs int64) {
	s.drain()
	_ = s.f.Handle(frame, recvNs) // errors are counted by the Feed
	s.dispatch()
}

// drain loads every snapshot the fetcher has finished.
func (s *Session) drain() {
	for {
		select {
		case r := <-s.results:
			s.loadResult(&r)
		default:
			return
		}
	}
}

func (s *Session) loadResult(r *fetchResult) {
	sym := s.f.Symbol(r.symbol)
	if r.gen != s.gen {
		s.discarded.Add(1) // Down asked for this symbol again
		return
	}
	if r.err != nil {
		if sym == nil || sym.state == needSnapshot {
			s.queue = append(s.queue, r.symbol)
		}
		return
	}
	if sym != nil && sym.state != needSnapshot {
		s.discarded.Add(1) // a duplicate request already synced it
		return
	}
	s.snapshots.Add(1)
	if s.OnSnapshot != nil {
		s.OnSnapshot(s.snapshotURL(r.symbol), r.body, r.recvNs)
	}
	// A snapshot that does not decode, or is older than the stream can
	// continue from, makes the Feed ask again; dispatch sends that.
	_ = s.f.HandleSnapshot(r.symbol, r.body, r.recvNs)
}

// snapshotURL is the REST URL a symbol's snapshot is fetched from.
func (s *Session) snapshotURL(symbol string) string {
	return s.cfg.REST + s.path + "?symbol=" + symbol + "&limit=" + strconv.Itoa(s.cfg.Limit)
}

// dispatch queues the Feed's snapshot requests for the fetcher.
func (s *Session) dispatch() {
	s.queue = s.f.TakeSnapshotRequests(s.queue)
	n := 0
	for n < len(s.queue) {
		select {
		case s.reqs <- fetchReq{symbol: s.queue[n], gen: s.gen}:
			n++
			continue
		default:
		}
		break
	}
	if n > 0 {
		s.queue = s.queue[:copy(s.queue, s.queue[n:])]
	}
}

// Down marks every book Stale and drops every symbol's sync state: events
// were lost while the connection was down, so each symbol needs a fresh
// snapshot, fetched once the new connection delivers its first frame
// (Binance: open the stream first, then take the snapshot).
func (s *Session) Down(err error) {
	s.downs.Add(1)
	s.gen++
	s.queue = s.queue[:0]
	f := s.f
	for _, sym := range f.syms {
		if sym.Book != nil && sym.Book.State() != book.Stale {
			sym.Book.Resync()
		}
		sym.buf = sym.buf[:0]
		sym.bufEnd = sym.bufEnd[:0]
		sym.nTickers = 0
		sym.lastU = 0 // nothing of the old connection's sequence is trusted
		f.requestSnapshot(sym)
	}
	f.ctr.Resyncs.Add(1)
}

// Stats returns the Session's counters. Any goroutine.
func (s *Session) Stats() SessionStats {
	return SessionStats{
		Fetches:     s.fetches.Load(),
		FetchErrors: s.fetchErrors.Load(),
		Snapshots:   s.snapshots.Load(),
		Discarded:   s.discarded.Load(),
		Downs:       s.downs.Load(),
	}
}

// Close stops the snapshot fetcher and waits for it (at most one request's
// HTTPTimeout). Call it after the Conn's Run has returned.
func (s *Session) Close() error {
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}

// fetcher serves snapshot requests one at a time until Close; Fetchers of
// them run.
func (s *Session) fetcher() {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	for {
		var q fetchReq
		select {
		case <-s.stop:
			return
		case q = <-s.reqs:
		}
		r := s.fetch(req, resp, q)
		if r.err != nil {
			s.fetchErrors.Add(1)
			wait := s.cfg.RetryDelay
			if ra, err := strconv.Atoi(string(resp.Header.Peek("Retry-After"))); err == nil && time.Duration(ra)*time.Second > wait {
				wait = time.Duration(ra) * time.Second
			}
			t := time.NewTimer(wait)
			select {
			case <-s.stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
		select {
		case <-s.stop:
			return
		case s.results <- r:
		}
	}
}

func (s *Session) fetch(req *fasthttp.Request, resp *fasthttp.Response, q fetchReq) fetchResult {
	r := fetchResult{symbol: q.symbol, gen: q.gen}
	req.Reset()
	resp.Reset()
	req.SetRequestURI(s.cfg.REST + s.path + "?symbol=" + strings.ToUpper(q.symbol) + "&limit=" + strconv.Itoa(s.cfg.Limit))
	req.Header.SetMethod(fasthttp.MethodGet)
	s.fetches.Add(1)
	if err := s.client.DoTimeout(req, resp, s.cfg.HTTPTimeout); err != nil {
		r.err = fmt.Errorf("binance: snapshot %s: %w", q.symbol, err)
		return r
	}
	r.recvNs = time.Now().UnixNano()
	if code := resp.StatusCode(); code != fasthttp.StatusOK {
		r.err = fmt.Errorf("binance: snapshot %s: HTTP %d", q.symbol, code)
		return r
	}
	r.body = append([]byte(nil), resp.Body()...)
	return r
}
