package binance

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"

	"arbmm/exec"
	"arbmm/internal/market"
)

// Config configures a Session or a REST client.
type Config struct {
	// WSURL is the WebSocket API endpoint (Session):
	// "wss://ws-api.binance.com:443/ws-api/v3".
	WSURL string
	// RESTURL is the REST base URL (REST): "https://api.binance.com".
	RESTURL string
	// Keys gives the credential of every request. Required.
	Keys exec.KeySource
	// Instruments are the symbols traded: reports of other symbols are
	// counted and dropped, and cancel-all without an instrument and Close
	// cancel every one of them. At least one.
	Instruments []*market.Instrument
	// RecvWindow is recvWindow: how long after its timestamp the venue
	// still accepts a request. Default 5s, Binance's own default; tighten
	// it (Binance allows down to 1 ms, with sub-millisecond precision on
	// some endpoints) once the clock offset is known to be stable, so that
	// a request delayed in transit is refused rather than executed late.
	RecvWindow time.Duration
	// RespType is newOrderRespType; default RespResult.
	RespType RespType
	// STP is selfTradePreventionMode; empty: the symbol's default.
	STP string
	// Clock is the offset to the venue's clock; nil: the session's own.
	Clock *exec.Clock
	// Now is the local clock, Unix ns; nil: time.Now.
	Now func() int64
	// OnReport receives every report, on the session's reader goroutine
	// (REST: the caller's). The *Report is valid only during the call.
	OnReport func(*market.Report)
	// WeightPerMinute, OrdersPer10s and OrdersPerDay seed the rate-limit
	// windows; zero: Binance's published limits. The venue's own figures
	// (rateLimits in each WebSocket API response, X-MBX-* headers on REST)
	// correct them.
	WeightPerMinute, OrdersPer10s, OrdersPerDay int
	// AckTimeout is how long an order may go unanswered before the session
	// asks the venue for it (order.status); default 2s.
	AckTimeout time.Duration
	// ClockEvery is how often the clock offset is re-measured; default 1m.
	ClockEvery time.Duration
	// DialTimeout bounds the dial and each call made while connecting;
	// default 5s.
	DialTimeout time.Duration
	// WriteTimeout bounds one write of Send; default 1s.
	WriteTimeout time.Duration
	// NoUserData skips the user-data subscription (order and fill events
	// then come only from responses).
	NoUserData bool
}

// Validate checks cfg and fills in defaults.
func (c *Config) Validate() error {
	switch {
	case c.Keys == nil:
		return errors.New("binance: Config.Keys is required")
	case len(c.Instruments) == 0:
		return errors.New("binance: Config.Instruments is empty")
	case c.RecvWindow < 0 || c.RecvWindow > time.Minute:
		return fmt.Errorf("binance: recv_window %v outside 0..60s", c.RecvWindow)
	}
	for _, in := range c.Instruments {
		if in == nil || in.Symbol == "" {
			return errors.New("binance: nil instrument or empty symbol")
		}
	}
	if c.RecvWindow == 0 {
		c.RecvWindow = 5 * time.Second
	}
	if c.RespType == RespOmit {
		c.RespType = RespResult
	}
	if c.Clock == nil {
		c.Clock = new(exec.Clock)
	}
	if c.Now == nil {
		c.Now = func() int64 { return time.Now().UnixNano() }
	}
	if c.OnReport == nil {
		c.OnReport = func(*market.Report) {}
	}
	if c.WeightPerMinute <= 0 {
		c.WeightPerMinute = DefaultWeightPerMinute
	}
	if c.OrdersPer10s <= 0 {
		c.OrdersPer10s = DefaultOrdersPer10s
	}
	if c.OrdersPerDay <= 0 {
		c.OrdersPerDay = DefaultOrdersPerDay
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 2 * time.Second
	}
	if c.ClockEvery <= 0 {
		c.ClockEvery = time.Minute
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = time.Second
	}
	return nil
}

func (c *Config) opts() OrderOpts {
	return OrderOpts{RecvWindow: c.RecvWindow.Milliseconds(), RespType: c.RespType, STP: c.STP}
}

// opKind is what a request awaiting its answer was.
type opKind uint8

const (
	opPlace opKind = iota
	opCancel
	opCancelAll
	opReplace
	opStatus
	opTime
	opLogon
	opSubscribe
)

// pending is a request awaiting its answer, in a ring indexed by id.
type pending struct {
	id      uint64
	op      opKind
	live    bool
	queried bool // an order.status was sent for it
	notify  bool // a cold caller waits for the answer
	inst    *market.Instrument
	cid     market.ClientID // the order placed, canceled or queried
	newID   market.ClientID // Replace: the new order
	orig    uint64          // opStatus: the request id it reconciles
	sent    int64           // local Unix ns
}

const pendingSlots = 4096

// coldAnswer is the answer to a request a cold caller (Dial, Close) waits
// for.
type coldAnswer struct {
	id     uint64
	status int64
	code   int64
}

// Stats are a session's counters.
type Stats struct {
	Sent, Reports, Rejects     uint64
	RateLimited                uint64 // Sends refused locally
	Venue429                   uint64 // 429 (or 418) answers from the venue
	UnknownIDs                 uint64 // responses to no request awaiting one: late duplicates, unknown ids
	DecodeErrors               uint64 // frames or reports that did not decode
	StatusQueries              uint64 // order.status sent for overdue acknowledgements
	Relogons                   uint64
	UnknownSymbol, OtherEvents uint64
}

// Session is a WebSocket API session with Binance spot: orders go out with
// Send on the caller's goroutine; a reader goroutine decodes responses and
// user-data events into Reports for Config.OnReport; a maintenance
// goroutine re-measures the clock and queries overdue orders.
//
// Binance's WebSocket API does not cancel a session's orders when it
// disconnects (there is no cancel-on-disconnect for spot): Close sends
// openOrders.cancelAll for every configured symbol first, and orders left
// by a crash stay on the book until the engine's next start cancels them.
type Session struct {
	cfg  Config
	opts OrderOpts
	ws   *websocket.Conn

	mu      sync.Mutex // Send, the pending ring, the limiter, the encoder
	closed  bool
	nextID  uint64
	pend    [pendingSlots]pending
	lim     limiter
	q       reqBuf
	g       signer
	wbuf    []byte
	logged  *exec.Credential // the Ed25519 credential the session is logged on with
	active  map[*market.Instrument]struct{}
	clockAt int64 // last clock request, local ns

	// Reader goroutine only.
	reporter
	resp wsResp
	rbuf []byte

	tap  func([]byte) // tests: sees every frame read (capture of fuzz seeds)
	cold chan coldAnswer
	quit chan struct{}
	done chan struct{} // closed when the reader exits
	err  atomic.Pointer[error]

	sent, limited, venue429, unknownIDs, statusQ, relogons, other atomic.Uint64
}

// Dial connects a session: it measures the clock offset, logs on with an
// Ed25519 key, and subscribes to the account's user data.
func Dial(cfg Config) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.WSURL == "" {
		return nil, errors.New("binance: Config.WSURL is required")
	}
	s := &Session{
		cfg:    cfg,
		opts:   cfg.opts(),
		active: make(map[*market.Instrument]struct{}, len(cfg.Instruments)),
		wbuf:   make([]byte, 0, 2048),
		rbuf:   make([]byte, 0, 64<<10),
		cold:   make(chan coldAnswer, 256),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	s.reporter = reporter{dec: newDecoder(market.Binance, cfg.Instruments), on: cfg.OnReport}
	s.q.vals = make([]byte, 0, 1024)
	s.q.pay = make([]byte, 0, 1024)
	s.q.sig = make([]byte, 0, 128)
	s.lim.init(&s.cfg)
	d := websocket.Dialer{HandshakeTimeout: cfg.DialTimeout, ReadBufferSize: 64 << 10, WriteBufferSize: 16 << 10}
	ws, _, err := d.Dial(cfg.WSURL, http.Header{})
	if err != nil {
		return nil, fmt.Errorf("binance: dial %s: %w", cfg.WSURL, err)
	}
	s.ws = ws
	go s.readLoop()
	if err := s.connect(); err != nil {
		s.shutdown()
		return nil, err
	}
	go s.maintain()
	return s, nil
}

// connect runs the cold calls of Dial.
func (s *Session) connect() error {
	if a, err := s.call(func(id uint64) (opKind, []byte) { return opTime, s.q.appendWSTime(s.wbuf[:0], id) }); err != nil {
		return err
	} else if a.status != 200 {
		return fmt.Errorf("binance: time: status %d code %d", a.status, a.code)
	}
	cred := s.cfg.Keys.Current()
	if cred == nil {
		return ErrNoKey
	}
	if cred.Kind == exec.Ed25519 {
		if err := s.logon(cred); err != nil {
			return err
		}
	}
	if s.cfg.NoUserData {
		return nil
	}
	a, err := s.call(func(id uint64) (opKind, []byte) {
		s.g.use(cred)
		sign := credSigns(cred, s.logged)
		return opSubscribe, s.q.appendWSSubscribe(s.wbuf[:0], id, &s.opts, &s.g, sign, s.tsMs(s.cfg.Now()))
	})
	if err != nil {
		return err
	}
	if a.status != 200 {
		return fmt.Errorf("binance: user data subscription refused: status %d code %d", a.status, a.code)
	}
	return nil
}

// logon authenticates the session with an Ed25519 credential.
func (s *Session) logon(cred *exec.Credential) error {
	a, err := s.call(func(id uint64) (opKind, []byte) {
		s.g.use(cred)
		return opLogon, s.q.appendWSLogon(s.wbuf[:0], id, &s.opts, &s.g, s.tsMs(s.cfg.Now()))
	})
	if err != nil {
		return err
	}
	if a.status != 200 {
		return fmt.Errorf("binance: session.logon with %s refused: status %d code %d", cred, a.status, a.code)
	}
	s.mu.Lock()
	s.logged = cred
	s.mu.Unlock()
	return nil
}

// call sends one cold request built by build and waits for its answer.
func (s *Session) call(build func(id uint64) (opKind, []byte)) (coldAnswer, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return coldAnswer{}, ErrClosed
	}
	s.nextID++
	id := s.nextID
	op, b := build(id)
	s.wbuf = b
	s.pend[id%pendingSlots] = pending{id: id, op: op, live: true, notify: true, sent: s.cfg.Now()}
	err := s.write(b)
	s.mu.Unlock()
	if err != nil {
		return coldAnswer{}, err
	}
	return s.await(id, s.cfg.DialTimeout)
}

func (s *Session) await(id uint64, timeout time.Duration) (coldAnswer, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case a := <-s.cold:
			if a.id == id {
				return a, nil
			}
		case <-s.done:
			return coldAnswer{}, s.connErr()
		case <-t.C:
			return coldAnswer{}, fmt.Errorf("binance: no answer to request %d within %v", id, timeout)
		}
	}
}

func (s *Session) connErr() error {
	if p := s.err.Load(); p != nil {
		return fmt.Errorf("binance: connection lost: %w", *p)
	}
	return ErrClosed
}

// write writes one request; s.mu is held.
func (s *Session) write(b []byte) error {
	_ = s.ws.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	return s.ws.WriteMessage(websocket.TextMessage, b)
}

// tsMs is the venue timestamp, ms, of local time now.
func (s *Session) tsMs(now int64) int64 { return s.cfg.Clock.VenueTime(now) / 1e6 }

// cost is a request's weight and order count on Binance.
func cost(a market.Action) (weight, orders int) {
	switch a {
	case market.ActNew, market.ActReplace:
		return 1, 1
	}
	return 1, 0
}

// Send encodes, signs and writes the request for in, on the caller's
// goroutine, and returns without waiting for the venue: its answer comes
// to OnReport. It refuses with ErrRateLimited a request that would exceed
// a rate limit or come before a 429's Retry-After, with ErrNoKey when the
// key source has no key, and with ErrBadIntent an intent it cannot
// encode. An ActCancelAll without an instrument cancels every configured
// symbol.
func (s *Session) Send(in *market.Intent) error {
	now := s.cfg.Now()
	s.mu.Lock()
	var err error
	if in.Action == market.ActCancelAll && in.Inst == nil {
		for _, inst := range s.cfg.Instruments {
			one := market.Intent{Action: market.ActCancelAll, Venue: in.Venue, Inst: inst}
			if e := s.sendLocked(&one, now); e != nil && err == nil {
				err = e
			}
		}
	} else {
		err = s.sendLocked(in, now)
	}
	s.mu.Unlock()
	return err
}

func (s *Session) sendLocked(in *market.Intent, now int64) error {
	if s.closed {
		return ErrClosed
	}
	cred := s.cfg.Keys.Current()
	if cred == nil {
		return ErrNoKey
	}
	s.g.use(cred)
	if cred.Kind == exec.Ed25519 && cred != s.logged {
		// A rotated Ed25519 key: log the session on with it, pipelined
		// before this request (the venue answers a connection's requests
		// in order).
		if err := s.relogonLocked(cred, now); err != nil {
			return err
		}
	}
	weight, orders := cost(in.Action)
	if !s.lim.allow(weight, orders, now) {
		s.limited.Add(1)
		return ErrRateLimited
	}
	s.nextID++
	id := s.nextID
	slot := &s.pend[id%pendingSlots]
	if slot.live {
		return ErrTooMany
	}
	b, err := s.q.appendWSIntent(s.wbuf[:0], id, in, &s.opts, &s.g, credSigns(cred, s.logged), s.tsMs(now))
	s.wbuf = b
	if err != nil {
		return err
	}
	op := opPlace
	switch in.Action {
	case market.ActCancel:
		op = opCancel
	case market.ActCancelAll:
		op = opCancelAll
	case market.ActReplace:
		op = opReplace
	}
	*slot = pending{id: id, op: op, live: true, inst: in.Inst, cid: in.ClientID, newID: in.NewID, sent: now}
	if err := s.write(b); err != nil {
		slot.live = false
		return fmt.Errorf("binance: write: %w", err)
	}
	if op == opPlace || op == opReplace {
		if _, ok := s.active[in.Inst]; !ok {
			s.active[in.Inst] = struct{}{}
		}
	}
	s.sent.Add(1)
	return nil
}

// relogonLocked sends session.logon for cred without waiting for the
// answer; s.mu is held.
func (s *Session) relogonLocked(cred *exec.Credential, now int64) error {
	if !s.lim.allow(2, 0, now) {
		s.limited.Add(1)
		return ErrRateLimited
	}
	s.nextID++
	id := s.nextID
	s.wbuf = s.q.appendWSLogon(s.wbuf[:0], id, &s.opts, &s.g, s.tsMs(now))
	s.pend[id%pendingSlots] = pending{id: id, op: opLogon, live: true, sent: now}
	if err := s.write(s.wbuf); err != nil {
		return fmt.Errorf("binance: write: %w", err)
	}
	s.logged = cred
	s.relogons.Add(1)
	return nil
}

// readLoop is the reader goroutine.
func (s *Session) readLoop() {
	defer close(s.done)
	for {
		_, r, err := s.ws.NextReader()
		if err != nil {
			s.err.Store(&err)
			return
		}
		b := s.rbuf[:0]
		for {
			if len(b) == cap(b) {
				b = append(b, 0)[:len(b)]
			}
			n, err := r.Read(b[len(b):cap(b)])
			b = b[:len(b)+n]
			if err == io.EOF {
				break
			}
			if err != nil {
				s.err.Store(&err)
				return
			}
		}
		s.rbuf = b
		if s.tap != nil {
			s.tap(b)
		}
		s.handle(b, s.cfg.Now())
	}
}

// handle decodes one frame and reports what it says.
func (s *Session) handle(b []byte, recv int64) {
	kind, ev, err := s.dec.frame(b, &s.resp)
	if err != nil {
		s.decodeErrs.Add(1)
		return
	}
	switch kind {
	case frameEvent:
		isExec, err := s.dec.event(ev, recv)
		switch {
		case err == errUnknownSymbol:
			s.unknownSym.Add(1)
		case err != nil:
			s.decodeErrs.Add(1)
		case isExec:
			s.deliver()
		default:
			s.other.Add(1)
		}
	case frameResponse:
		s.onResponse(&s.resp, recv)
	default:
		s.other.Add(1)
	}
}

// reporter turns decoded answers into Reports for one callback; shared by
// Session (its reader goroutine) and REST (the caller's).
type reporter struct {
	dec *decoder
	on  func(*market.Report)

	reports, rejects, decodeErrs, unknownSym atomic.Uint64
}

func (s *reporter) deliver() {
	s.reports.Add(1)
	if s.dec.r.Kind == market.ReportReject {
		s.rejects.Add(1)
	}
	s.on(&s.dec.r)
}

// onResponse matches a response to its request and reports it.
func (s *Session) onResponse(resp *wsResp, recv int64) {
	s.mu.Lock()
	for i := range resp.limits[:resp.nlimits] {
		s.lim.observe(&resp.limits[i], recv)
	}
	slot := &s.pend[resp.id%pendingSlots]
	if !resp.hasID || !slot.live || slot.id != resp.id {
		s.mu.Unlock()
		s.unknownIDs.Add(1)
		return
	}
	p := *slot
	slot.live = false
	if p.op == opStatus {
		if o := &s.pend[p.orig%pendingSlots]; o.live && o.id == p.orig {
			o.live = false // reconciled: a late answer to it is counted, not reported
		}
	}
	if resp.status == 429 || resp.status == 418 {
		s.venue429.Add(1)
		until := recv + int64(time.Second)
		if resp.retryAfter > 0 {
			until = max(until, resp.retryAfter*1e6-s.cfg.Clock.Offset())
		}
		s.lim.block(until)
	}
	if p.op == opLogon && resp.status != 200 {
		s.logged = nil
	}
	s.mu.Unlock()
	if p.notify {
		select {
		case s.cold <- coldAnswer{id: p.id, status: resp.status, code: resp.errCode}:
		default:
		}
	}
	switch p.op {
	case opTime:
		if resp.status == 200 {
			s.onTime(resp.result, p.sent, recv)
		}
	case opLogon, opSubscribe:
	default:
		s.orderResponse(&p, resp, recv)
	}
}

// onTime samples the clock from {"serverTime":ms}.
func (s *Session) onTime(result []byte, sent, recv int64) {
	sc := &s.dec.sc
	sc.Reset(result)
	for k, ok := sc.ObjectStart(); ok; k, ok = sc.NextKey() {
		if string(k) == "serverTime" {
			if ms, ok := sc.Int(); ok {
				s.cfg.Clock.Sample(sent, recv, ms*1e6)
			}
		} else {
			sc.Skip()
		}
	}
}

// orderResponse reports the answer to an order request.
func (s *reporter) orderResponse(p *pending, resp *wsResp, recv int64) {
	d := s.dec
	if resp.status != 200 {
		reason := d.internString(resp.errMsg)
		if p.op == opReplace && resp.errData != nil && s.replaceParts(p, resp.errData, recv) {
			return
		}
		switch {
		case p.op == opCancelAll && resp.errCode == -2011:
			return // nothing was open
		case p.op == opStatus && resp.errCode == -2013:
			// The order does not exist: the lost request never placed it.
			d.r = market.Report{Kind: market.ReportStatus, Status: market.Rejected}
		case p.op == opPlace:
			d.r = market.Report{Kind: market.ReportReject, Status: market.Rejected, Req: market.ActNew}
		case p.op == opReplace:
			d.r = market.Report{Kind: market.ReportReject, Status: market.Rejected, Req: market.ActNew}
			p.cid = p.newID
		case p.op == opCancel:
			// A refused cancel: the order is as it was (Binance -2011:
			// already filled or canceled); the order table keeps its state.
			d.r = market.Report{Kind: market.ReportReject, Status: market.Unknown, Req: market.ActCancel}
		case p.op == opCancelAll:
			d.r = market.Report{Kind: market.ReportReject, Status: market.Unknown, Req: market.ActCancelAll}
		default: // a query refused: the order's state is still not known
			d.r = market.Report{Kind: market.ReportReject, Status: market.Unknown, Req: market.ActQuery}
		}
		r := &d.r
		r.Venue, r.Inst, r.ClientID, r.RecvTime = market.Binance, p.inst, p.cid, recv
		r.Code, r.Reason = int(resp.errCode), reason
		s.deliver()
		return
	}
	sc := &d.sc
	sc.Reset(resp.result)
	switch p.op {
	case opPlace:
		s.orderReport(market.ReportAck, recv)
	case opCancel:
		s.orderReport(market.ReportCanceled, recv)
	case opStatus:
		s.orderReport(market.ReportStatus, recv)
	case opCancelAll:
		for more := sc.ArrayStart(); more; more = sc.NextElem() {
			s.orderReport(market.ReportCanceled, recv)
		}
		if sc.Failed() {
			s.decodeErrs.Add(1)
		}
	case opReplace:
		s.replaceParts(p, resp.result, recv)
	}
}

// orderReport decodes the order object at sc's cursor and reports it (with
// a FULL response's fills after it).
func (s *reporter) orderReport(kind market.ReportKind, recv int64) {
	d := s.dec
	isOrder, err := d.orderObject(&d.sc)
	if err != nil || !isOrder {
		s.decodeErrs.Add(1)
		return
	}
	if err := d.buildOrder(kind, recv); err != nil {
		if err == errUnknownSymbol {
			s.unknownSym.Add(1)
		} else {
			s.decodeErrs.Add(1)
		}
		return
	}
	s.deliver()
	if d.nfills == 0 {
		return
	}
	base := d.r
	for i := 0; i < d.nfills; i++ {
		if d.buildFillReport(&base, i) != nil {
			s.decodeErrs.Add(1)
			continue
		}
		s.deliver()
	}
}

// replaceParts reports the two halves of a cancelReplace answer (its
// result, or its error's data): {"cancelResult":..,"newOrderResult":..,
// "cancelResponse":{order or error},"newOrderResponse":{order or error} or
// null}. It reports false when b is not such an object.
func (s *reporter) replaceParts(p *pending, b []byte, recv int64) bool {
	d := s.dec
	// The halves are found first (raw, borrowed from the frame), then
	// decoded: the order objects share the decoder's field buffers.
	var cancel, placed []byte
	sc := &d.sc
	sc.Reset(b)
	for k, ok := sc.ObjectStart(); ok; k, ok = sc.NextKey() {
		switch string(k) {
		case "cancelResponse":
			cancel, _ = sc.Raw()
		case "newOrderResponse":
			placed, _ = sc.Raw()
		default:
			sc.Skip()
		}
	}
	if sc.Failed() || cancel == nil {
		return false
	}
	s.replaceHalf(cancel, p.inst, p.cid, market.ReportCanceled, market.Unknown, recv)
	if placed != nil && string(placed) != "null" {
		s.replaceHalf(placed, p.inst, p.newID, market.ReportAck, market.Rejected, recv)
	} else {
		d.r = market.Report{Kind: market.ReportReject, Status: market.Rejected, Venue: market.Binance, Inst: p.inst,
			ClientID: p.newID, RecvTime: recv, Code: -2022, Reason: "not attempted: the cancel failed"}
		s.deliver()
	}
	return true
}

func (s *reporter) replaceHalf(b []byte, inst *market.Instrument, cid market.ClientID, kind market.ReportKind, rejStatus market.OrderStatus, recv int64) {
	d := s.dec
	d.sc.Reset(b)
	isOrder, err := d.orderObject(&d.sc)
	if err != nil {
		s.decodeErrs.Add(1)
		return
	}
	if isOrder {
		if err := d.buildOrder(kind, recv); err != nil {
			s.decodeErrs.Add(1)
			return
		}
		s.deliver()
		return
	}
	d.buildError(recv)
	d.r.Inst, d.r.ClientID, d.r.Status = inst, cid, rejStatus
	s.deliver()
}

// maintain re-measures the clock and queries overdue orders.
func (s *Session) maintain() {
	every := min(s.cfg.AckTimeout/4, 250*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-s.done:
			return
		case <-t.C:
		}
		s.tick(s.cfg.Now())
	}
}

// tick runs one maintenance round at local time now.
func (s *Session) tick(now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if now-s.clockAt > int64(s.cfg.ClockEvery) {
		s.clockAt = now
		if s.lim.allow(1, 0, now) {
			s.nextID++
			id := s.nextID
			s.wbuf = s.q.appendWSTime(s.wbuf[:0], id)
			s.pend[id%pendingSlots] = pending{id: id, op: opTime, live: true, sent: now}
			_ = s.write(s.wbuf)
		}
	}
	overdue := now - int64(s.cfg.AckTimeout)
	for i := range s.pend {
		p := &s.pend[i]
		if !p.live || p.queried || p.sent > overdue || (p.op != opPlace && p.op != opReplace) {
			continue
		}
		cred := s.cfg.Keys.Current()
		if cred == nil || !s.lim.allow(4, 0, now) {
			return
		}
		s.g.use(cred)
		cid := p.cid
		if p.op == opReplace {
			cid = p.newID
		}
		s.nextID++
		id := s.nextID
		if s.pend[id%pendingSlots].live {
			return
		}
		p.queried = true
		s.wbuf = s.q.appendWSStatus(s.wbuf[:0], id, p.inst, cid, &s.opts, &s.g, credSigns(cred, s.logged), s.tsMs(now))
		s.pend[id%pendingSlots] = pending{id: id, op: opStatus, live: true, inst: p.inst, cid: cid, orig: p.id, sent: now}
		if s.write(s.wbuf) != nil {
			return
		}
		s.statusQ.Add(1)
	}
}

// Close cancels every open order of the configured symbols (and any other
// symbol the session placed orders on) with openOrders.cancelAll, waits
// for the answers (their reports go to OnReport), and closes the
// connection.
func (s *Session) Close() error {
	now := s.cfg.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	var ids []uint64
	cred := s.cfg.Keys.Current()
	insts := append([]*market.Instrument(nil), s.cfg.Instruments...)
	for in := range s.active {
		found := false
		for _, x := range insts {
			found = found || x == in
		}
		if !found {
			insts = append(insts, in)
		}
	}
	select {
	case <-s.done:
		cred = nil // the connection is gone: nothing can be sent
	default:
	}
	if cred != nil {
		s.g.use(cred)
		for _, inst := range insts {
			s.nextID++
			id := s.nextID
			in := market.Intent{Action: market.ActCancelAll, Inst: inst}
			// Close's cancels bypass the local limiter: a cancel costs
			// weight 1, and leaving orders behind costs more.
			b, err := s.q.appendWSIntent(s.wbuf[:0], id, &in, &s.opts, &s.g, credSigns(cred, s.logged), s.tsMs(now))
			s.wbuf = b
			if err != nil {
				continue
			}
			s.pend[id%pendingSlots] = pending{id: id, op: opCancelAll, live: true, notify: true, inst: inst, sent: now}
			if s.write(b) != nil {
				break
			}
			ids = append(ids, id)
		}
	}
	s.closed = true
	s.mu.Unlock()
	for _, id := range ids {
		if _, err := s.await(id, s.cfg.DialTimeout); err != nil {
			break
		}
	}
	return s.shutdown()
}

func (s *Session) shutdown() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	err := s.ws.Close()
	<-s.done
	return err
}

// Done is closed when the connection is lost or closed.
func (s *Session) Done() <-chan struct{} { return s.done }

// Stats returns the session's counters; safe from any goroutine.
func (s *Session) Stats() Stats {
	return Stats{
		Sent: s.sent.Load(), Reports: s.reports.Load(), Rejects: s.rejects.Load(),
		RateLimited: s.limited.Load(), Venue429: s.venue429.Load(), UnknownIDs: s.unknownIDs.Load(),
		DecodeErrors: s.decodeErrs.Load(), StatusQueries: s.statusQ.Load(), Relogons: s.relogons.Load(),
		UnknownSymbol: s.unknownSym.Load(), OtherEvents: s.other.Load(),
	}
}
