package kraken

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"

	"arbmm/internal/market"
)

// ErrClosed: the session is closed or its connection dropped.
var ErrClosed = errors.New("kraken: session closed")

// Config configures a Session.
type Config struct {
	// URL is the authenticated WebSocket v2 endpoint
	// ("wss://ws-auth.kraken.com/v2"). Required.
	URL string
	// REST fetches the token (GetWebSocketsToken) and holds the rate-limit
	// mirrors and order table the session shares. Required.
	REST *REST
	// OnReport receives every report, on the session's reader goroutine;
	// the pointer is valid during the call only.
	OnReport func(*market.Report)
	// OnError receives decode errors and the loss of the connection (reader
	// goroutine); nil ignores them.
	OnError func(error)
	// DeadMan is the dead man's switch timeout: Kraken cancels every open
	// order of the account if the session has not re-armed it within this
	// time (whole seconds, at least 1s; default 60s).
	DeadMan time.Duration
	// Heartbeat is how often the switch is re-armed (default DeadMan/3).
	Heartbeat time.Duration
	// NoDeadMan leaves the switch alone.
	NoDeadMan bool
	// Balances subscribes to the balances channel too (its messages are
	// validated and skipped).
	Balances bool
	// ReplyTimeout bounds the waits of Dial and Close (default 5s).
	ReplyTimeout time.Duration
}

// Validate fills defaults and reports the first problem.
func (c *Config) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("kraken: Config.URL is required")
	case c.REST == nil:
		return errors.New("kraken: Config.REST is required")
	}
	if c.DeadMan == 0 {
		c.DeadMan = 60 * time.Second
	}
	if c.DeadMan < time.Second || c.DeadMan > 86400*time.Second {
		return fmt.Errorf("kraken: dead man's switch timeout %v outside 1s..86400s", c.DeadMan)
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = c.DeadMan / 3
	}
	if c.ReplyTimeout <= 0 {
		c.ReplyTimeout = 5 * time.Second
	}
	return nil
}

// pendingReq is what Send remembers of a request until its response.
type pendingReq struct {
	reqID  int64
	id     market.ClientID
	inst   *market.Instrument
	side   market.Side
	action market.Action
}

// Session is an authenticated Kraken WebSocket v2 session: Send encodes
// and writes orders on the caller's goroutine, a reader goroutine decodes
// the responses and the executions channel into reports, and a heartbeat
// goroutine keeps the dead man's switch armed.
//
// Send may be called by one goroutine at a time (it shares the REST
// client's rate-limit mirrors, so that goroutine must also own the REST
// client).
type Session struct {
	cfg   Config
	conn  *websocket.Conn
	token string
	rest  *REST
	dec   *Decoder

	wmu   sync.Mutex // guards the connection's writes, wbuf, hbuf and reqID
	wbuf  []byte
	hbuf  []byte
	reqID int64

	pmu     sync.Mutex
	pending [256]pendingReq

	replies  chan Response // answers of subscribe, cancel_all, cancel_all_orders_after
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup // the reader
	hbQuit   chan struct{}
	hbOnce   sync.Once
	hbwg     sync.WaitGroup // the heartbeat
	closing  atomic.Bool
	trigger  atomic.Int64 // the switch's trigger time as Kraken last said, Unix ns
	r        market.Report
	rbuf     []byte
	tap      func([]byte) // tests: sees every frame read
}

// Dial fetches a token, connects, subscribes to executions (with the open
// orders' snapshot), arms the dead man's switch and starts the session.
func Dial(cfg Config) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tok, err := cfg.REST.Token()
	if err != nil {
		return nil, fmt.Errorf("kraken: websocket token: %w", err)
	}
	conn, _, err := websocket.DefaultDialer.Dial(cfg.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("kraken: dial %s: %w", cfg.URL, err)
	}
	s := &Session{
		cfg: cfg, conn: conn, token: tok, rest: cfg.REST,
		dec:     NewDecoder(cfg.REST.cfg.Instruments),
		wbuf:    make([]byte, 0, defaultReqBufSize),
		hbuf:    make([]byte, 0, defaultReqBufSize),
		rbuf:    make([]byte, 0, 64<<10),
		replies: make(chan Response, 16),
		stop:    make(chan struct{}),
		hbQuit:  make(chan struct{}),
	}
	s.dec.Lookup = cfg.REST.instOf
	s.dec.OnReport = s.onReport
	s.dec.OnResponse = s.onResponse
	s.wg.Add(1)
	go s.read()
	fail := func(err error) (*Session, error) {
		s.Abort()
		return nil, err
	}
	if _, err := s.call(func(b []byte, id int64) []byte { return AppendWSSubscribe(b, s.token, id, "executions") }); err != nil {
		return fail(fmt.Errorf("kraken: subscribe executions: %w", err))
	}
	if cfg.Balances {
		if _, err := s.call(func(b []byte, id int64) []byte { return AppendWSSubscribe(b, s.token, id, "balances") }); err != nil {
			return fail(fmt.Errorf("kraken: subscribe balances: %w", err))
		}
	}
	if !cfg.NoDeadMan {
		if _, err := s.call(func(b []byte, id int64) []byte { return AppendWSCancelAfter(b, s.token, id, s.deadManSec()) }); err != nil {
			return fail(fmt.Errorf("kraken: arm dead man's switch: %w", err))
		}
		s.hbwg.Add(1)
		go s.heartbeat()
	}
	return s, nil
}

func (s *Session) deadManSec() int { return int(s.cfg.DeadMan / time.Second) }

// call sends a control request and waits for its answer (cold).
func (s *Session) call(enc func([]byte, int64) []byte) (Response, error) {
	s.wmu.Lock()
	s.reqID++
	id := s.reqID
	s.hbuf = enc(s.hbuf[:0], id)
	err := s.conn.WriteMessage(websocket.TextMessage, s.hbuf)
	s.wmu.Unlock()
	if err != nil {
		return Response{}, err
	}
	t := time.NewTimer(s.cfg.ReplyTimeout)
	defer t.Stop()
	for {
		select {
		case r := <-s.replies:
			if r.ReqID != id {
				continue
			}
			if !r.Success {
				return r, fmt.Errorf("%w: %s", ErrRejected, r.Error)
			}
			return r, nil
		case <-s.stop:
			return Response{}, ErrClosed
		case <-t.C:
			return Response{}, errors.New("kraken: no answer")
		}
	}
}

// Send encodes the intent and writes it: add_order (ActNew), cancel_order
// by client id (ActCancel) or cancel_all (ActCancelAll: every instrument).
// The venue's answers arrive as reports. ErrRateLimited: the local mirror
// of the trading counter refused it and nothing was sent.
func (s *Session) Send(in *market.Intent) error {
	if s.closing.Load() {
		return ErrClosed
	}
	lim := s.rest.lim
	now := time.Now().UnixNano()
	if now < lim.blocked.Load() {
		lim.refused++
		return ErrRateLimited
	}
	inst := in.Inst
	switch in.Action {
	case market.ActNew:
		if inst == nil {
			return ErrNoInstrument
		}
		if !lim.pair(inst, &s.rest.cfg).Take(1, now) {
			lim.refused++
			return ErrRateLimited
		}
		s.rest.orders.put(in.ClientID, orderMeta{inst: inst, created: now})
	case market.ActCancel:
		meta, known := s.rest.orders.get(in.ClientID)
		if inst == nil {
			inst = meta.inst
		}
		cost := float64(8)
		if known {
			cost = CancelCost(time.Duration(now - meta.created))
		}
		if inst != nil && !lim.pair(inst, &s.rest.cfg).Take(cost, now) {
			lim.refused++
			return ErrRateLimited
		}
	case market.ActCancelAll:
	default:
		return ErrUnsupported
	}
	s.wmu.Lock()
	s.reqID++
	id := s.reqID
	s.pmu.Lock()
	s.pending[id&255] = pendingReq{reqID: id, id: in.ClientID, inst: inst, side: in.Side, action: in.Action}
	s.pmu.Unlock()
	var err error
	switch in.Action {
	case market.ActNew:
		s.wbuf, err = AppendWSAddOrder(s.wbuf[:0], s.token, id, in)
	case market.ActCancel:
		s.wbuf = AppendWSCancelOrder(s.wbuf[:0], s.token, id, in.ClientID)
	case market.ActCancelAll:
		s.wbuf = AppendWSCancelAll(s.wbuf[:0], s.token, id)
	}
	if err == nil {
		err = s.conn.WriteMessage(websocket.TextMessage, s.wbuf)
	}
	s.wmu.Unlock()
	return err
}

// onReport handles an executions report (reader goroutine).
func (s *Session) onReport(r *market.Report) {
	if r.Status.Final() && r.ClientID != 0 {
		s.rest.orders.del(r.ClientID)
	}
	if s.cfg.OnReport != nil {
		s.cfg.OnReport(r)
	}
}

// onResponse turns method responses into reports (reader goroutine).
func (s *Session) onResponse(resp *Response) {
	switch resp.Method {
	case MethodSubscribe, MethodCancelAll, MethodCancelAfter:
		if resp.Method == MethodCancelAfter && resp.Success {
			s.trigger.Store(resp.Trigger)
		}
		if resp.HasReqID {
			select {
			case s.replies <- *resp:
			default:
			}
		}
		return
	case MethodAddOrder, MethodCancelOrder:
	default:
		return
	}
	if resp.Error == restRateLimited || resp.Error == orderRateLimited {
		s.rest.lim.block(time.Now().UnixNano() + int64(s.rest.cfg.Backoff))
	}
	var p pendingReq
	if resp.HasReqID {
		s.pmu.Lock()
		if q := s.pending[resp.ReqID&255]; q.reqID == resp.ReqID {
			p = q
		}
		s.pmu.Unlock()
	}
	r := &s.r
	*r = market.Report{Venue: market.Kraken, Inst: p.inst, ClientID: p.id, Side: p.side, OrderID: resp.OrderID, RecvTime: time.Now().UnixNano()}
	if resp.ClientID != 0 {
		r.ClientID = resp.ClientID
	}
	switch {
	case resp.Success && resp.Method == MethodAddOrder:
		r.Kind, r.Status = market.ReportAck, market.New
	case resp.Success:
		return // a cancel's effect arrives on the executions channel
	case resp.Method == MethodAddOrder:
		r.Kind, r.Status, r.Reason, r.Req = market.ReportReject, market.Rejected, resp.Error, market.ActNew
		s.rest.orders.del(r.ClientID)
	default:
		r.Kind, r.Status, r.Reason, r.Req = market.ReportReject, market.Unknown, resp.Error, p.action
	}
	if s.cfg.OnReport != nil {
		s.cfg.OnReport(r)
	}
}

// read is the reader goroutine.
func (s *Session) read() {
	defer s.wg.Done()
	for {
		_, rd, err := s.conn.NextReader()
		if err == nil {
			s.rbuf, err = readAll(rd, s.rbuf[:0])
		}
		if err != nil {
			if !s.closing.Load() && s.cfg.OnError != nil {
				s.cfg.OnError(fmt.Errorf("kraken: session read: %w", err))
			}
			s.stopOnce.Do(func() { close(s.stop) })
			return
		}
		if s.tap != nil {
			s.tap(s.rbuf)
		}
		if err := s.dec.Decode(s.rbuf, time.Now().UnixNano()); err != nil && s.cfg.OnError != nil {
			s.cfg.OnError(fmt.Errorf("kraken: decode: %w", err))
		}
	}
}

// readAll reads r to its end into buf, growing it only past its capacity.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// heartbeat re-arms the dead man's switch every Heartbeat until the
// session stops.
func (s *Session) heartbeat() {
	defer s.hbwg.Done()
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.hbQuit:
			return
		case <-t.C:
		}
		s.wmu.Lock()
		s.reqID++
		s.hbuf = AppendWSCancelAfter(s.hbuf[:0], s.token, s.reqID, s.deadManSec())
		err := s.conn.WriteMessage(websocket.TextMessage, s.hbuf)
		s.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// Trigger is when Kraken will cancel everything unless re-armed, as it
// last said (Unix ns; 0 when disarmed or unknown).
func (s *Session) Trigger() int64 { return s.trigger.Load() }

// Close cancels every open order (cancel_all), disarms the dead man's
// switch (timeout 0) and closes the connection.
func (s *Session) Close() error {
	if s.closing.Load() {
		return nil
	}
	// Stop the heartbeat first, so it cannot re-arm after the disarm.
	s.stopHeartbeat()
	_, err1 := s.call(func(b []byte, id int64) []byte { return AppendWSCancelAll(b, s.token, id) })
	var err2 error
	if !s.cfg.NoDeadMan {
		_, err2 = s.call(func(b []byte, id int64) []byte { return AppendWSCancelAfter(b, s.token, id, 0) })
	}
	s.Abort()
	return errors.Join(err1, err2)
}

// stopHeartbeat ends the heartbeat goroutine and waits for it, so that no
// re-arm can follow Close's disarm.
func (s *Session) stopHeartbeat() {
	s.hbOnce.Do(func() { close(s.hbQuit) })
	s.hbwg.Wait()
}

// Abort drops the connection without cancelling anything: the dead man's
// switch, if armed, cancels the orders when it fires. It is what a crash
// looks like to Kraken; tests use it, and so may an operator who wants the
// orders to outlive a reconnect.
func (s *Session) Abort() {
	s.closing.Store(true)
	s.stopHeartbeat()
	_ = s.conn.Close()
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
}
