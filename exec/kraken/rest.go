package kraken

import (
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"arbmm/exec"
	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// Errors of the REST client.
var (
	// ErrRateLimited: the local mirror of Kraken's counters refused the
	// call; nothing was sent.
	ErrRateLimited = errors.New("kraken: rate limit (local mirror): not sent")
	// ErrVenueRateLimited: Kraken answered "Rate limit exceeded"; the
	// client backs off for Config.Backoff and reports the reject.
	ErrVenueRateLimited = errors.New("kraken: venue rate limit exceeded: backing off")
	// ErrNoKey: the KeySource has no credential.
	ErrNoKey = errors.New("kraken: no API key")
	// ErrRejected: the venue refused the request; the report says why.
	ErrRejected = errors.New("kraken: request rejected")
	// ErrLostResponse: the request may have reached the venue but no
	// answer came; the order's status is Unknown until reconciled.
	ErrLostResponse = errors.New("kraken: response lost: order status unknown, reconcile")
)

// RESTConfig configures a REST client.
type RESTConfig struct {
	// BaseURL is the API's base ("https://api.kraken.com"). Required.
	BaseURL string
	// Keys gives the credential of each request (re-read every request).
	Keys exec.KeySource
	// Nonces hands out the nonces (persisted across restarts). Required.
	Nonces *exec.Nonces
	// Instruments are the instruments traded (their trading counters).
	Instruments []*market.Instrument
	// Clock receives the measured offset (Time); nil keeps none.
	Clock *exec.Clock
	// CallMax and CallDecayPerSec mirror the REST call counter (default
	// Kraken's starter tier: 15 and 0.33/s).
	CallMax, CallDecayPerSec float64
	// TradingMax and TradingDecayPerSec mirror the per-pair trading
	// counter (default starter tier: 60 and 1/s).
	TradingMax, TradingDecayPerSec float64
	// Reserve is headroom never used on either counter (default: the
	// exec.Counter default, a tenth of the maximum).
	Reserve float64
	// Backoff is how long every call is refused after Kraken said "Rate
	// limit exceeded" (default 5s).
	Backoff time.Duration
	// Timeout bounds each request (default 5s).
	Timeout time.Duration
	// MaxOpenOrders pre-sizes the order table (default 1024).
	MaxOpenOrders int
	// Now is the local clock (default time.Now).
	Now func() time.Time
}

// Validate fills defaults and reports the first problem.
func (c *RESTConfig) Validate() error {
	if c.BaseURL == "" {
		return errors.New("kraken: RESTConfig.BaseURL is required")
	}
	if c.Nonces == nil {
		return errors.New("kraken: RESTConfig.Nonces is required")
	}
	if c.Keys == nil {
		return errors.New("kraken: RESTConfig.Keys is required")
	}
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.CallMax, 15)
	def(&c.CallDecayPerSec, 0.33)
	def(&c.TradingMax, 60)
	def(&c.TradingDecayPerSec, 1)
	if c.Backoff <= 0 {
		c.Backoff = 5 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.MaxOpenOrders <= 0 {
		c.MaxOpenOrders = 1024
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// orderMeta is what the gateway remembers of an open order: its
// instrument (for reports without a symbol) and when it was sent (the
// cancel charge depends on the order's age).
type orderMeta struct {
	inst    *market.Instrument
	created int64
}

// orderTable is shared by the REST client and the session (the engine
// writes, the session's reader reads and deletes); a mutex guards it.
type orderTable struct {
	mu sync.Mutex
	m  map[market.ClientID]orderMeta
}

func (t *orderTable) put(id market.ClientID, m orderMeta) {
	t.mu.Lock()
	t.m[id] = m
	t.mu.Unlock()
}

func (t *orderTable) get(id market.ClientID) (orderMeta, bool) {
	t.mu.Lock()
	m, ok := t.m[id]
	t.mu.Unlock()
	return m, ok
}

func (t *orderTable) del(id market.ClientID) {
	t.mu.Lock()
	delete(t.m, id)
	t.mu.Unlock()
}

// CancelCost is Kraken's trading-counter charge for cancelling an order of
// the given age: +8 under 5 s, +6 under 10 s, +5 under 15 s, +4 under 45 s,
// +2 under 90 s, +1 under 300 s, then 0.
func CancelCost(age time.Duration) float64 {
	switch {
	case age < 5*time.Second:
		return 8
	case age < 10*time.Second:
		return 6
	case age < 15*time.Second:
		return 5
	case age < 45*time.Second:
		return 4
	case age < 90*time.Second:
		return 2
	case age < 300*time.Second:
		return 1
	}
	return 0
}

// limits mirrors Kraken's counters: the REST call counter of the key and
// the trading counter of each pair. Owned by the engine goroutine (the
// REST client's and the session's Send).
type limits struct {
	calls   exec.Counter
	trading []pairLimit
	blocked atomic.Int64 // every call refused until, Unix ns (after a venue refusal); the session's reader sets it too
	refused uint64
}

// block refuses every call until t (Unix ns).
func (l *limits) block(t int64) {
	for {
		old := l.blocked.Load()
		if t <= old || l.blocked.CompareAndSwap(old, t) {
			return
		}
	}
}

type pairLimit struct {
	inst *market.Instrument
	c    exec.Counter
}

func (l *limits) pair(in *market.Instrument, cfg *RESTConfig) *exec.Counter {
	for i := range l.trading {
		if l.trading[i].inst == in {
			return &l.trading[i].c
		}
	}
	// An instrument not configured: its counter is created once (cold).
	l.trading = append(l.trading, pairLimit{inst: in, c: exec.Counter{Max: cfg.TradingMax, DecayPerSec: cfg.TradingDecayPerSec, Reserve: cfg.Reserve}})
	return &l.trading[len(l.trading)-1].c
}

// REST is a Kraken REST client: one keep-alive connection pool to the API
// host, a reused request and response, and the signer. Owned by one
// goroutine; the order calls allocate nothing in steady state.
type REST struct {
	cfg    RESTConfig
	hc     *fasthttp.HostClient
	host   string
	req    *fasthttp.Request
	resp   *fasthttp.Response
	sig    *signer
	dec    *Decoder
	lim    *limits
	orders *orderTable

	body, path, sign []byte
	pathBuf          [64]byte
}

// NewREST builds a client; nothing is sent.
func NewREST(cfg RESTConfig) (*REST, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("kraken: bad BaseURL %q", cfg.BaseURL)
	}
	addr := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	c := &REST{
		cfg:  cfg,
		host: u.Host,
		hc: &fasthttp.HostClient{
			Addr: addr, IsTLS: u.Scheme == "https", Name: "arbmm",
			ReadTimeout: cfg.Timeout, WriteTimeout: cfg.Timeout, MaxConns: 4,
			// A private call is never resent: Kraken would refuse the
			// nonce, and an order must not be placed twice.
			RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
			MaxIdemponentCallAttempts: 1,
		},
		req:    &fasthttp.Request{},
		resp:   &fasthttp.Response{},
		sig:    newSigner(),
		dec:    NewDecoder(cfg.Instruments),
		lim:    &limits{calls: exec.Counter{Max: cfg.CallMax, DecayPerSec: cfg.CallDecayPerSec, Reserve: cfg.Reserve}},
		orders: &orderTable{m: make(map[market.ClientID]orderMeta, cfg.MaxOpenOrders)},
		body:   make([]byte, 0, defaultReqBufSize),
		sign:   make([]byte, 0, SignLen),
	}
	for _, in := range cfg.Instruments {
		c.lim.pair(in, &c.cfg)
	}
	c.dec.Lookup = c.instOf
	return c, nil
}

func (c *REST) instOf(id market.ClientID) *market.Instrument {
	m, _ := c.orders.get(id)
	return m.inst
}

// callCost says which counter a method charges.
type callCost uint8

const (
	costCall    callCost = iota // the REST call counter, +1
	costTrading                 // the pair's trading counter (charged by the caller)
	costNone                    // public
)

func (c *REST) nowNs() int64 { return c.cfg.Now().UnixNano() }

// admit applies the local mirrors for a counted call.
func (c *REST) admit(cost callCost, now int64) bool {
	if now < c.lim.blocked.Load() {
		c.lim.refused++
		return false
	}
	if cost == costCall && !c.lim.calls.Take(1, now) {
		c.lim.refused++
		return false
	}
	return true
}

// encodeAndSign finishes a private request in c.req: body is in c.body
// (starting with the nonce), path names the method. It reads the current
// credential and rekeys the signer when it changed.
func (c *REST) encodeAndSign(path string) error {
	cred := c.cfg.Keys.Current()
	if cred == nil {
		return ErrNoKey
	}
	c.sig.key(cred)
	c.path = append(c.pathBuf[:0], path...)
	c.sign = c.sig.Sign(c.sign[:0], c.path, nonceOf(c.body), c.body)
	req := c.req
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURIBytes(c.path)
	req.Header.SetHost(c.host)
	req.Header.SetContentType("application/x-www-form-urlencoded")
	req.Header.Set("API-Key", cred.APIKey)
	req.Header.SetBytesV("API-Sign", c.sign)
	req.SetBody(c.body)
	return nil
}

// roundTrip sends c.req and decodes the envelope of the answer.
func (c *REST) roundTrip() (errText string, resultPos int, err error) {
	c.resp.Reset()
	if err := c.hc.Do(c.req, c.resp); err != nil {
		return "", -1, err
	}
	return c.dec.restEnvelope(c.resp.Body())
}

// private signs c.body for path and sends it; transport errors are
// ErrLostResponse (wrapped, cold).
func (c *REST) private(path string) (errText string, resultPos int, err error) {
	if err := c.encodeAndSign(path); err != nil {
		return "", -1, err
	}
	errText, resultPos, err = c.roundTrip()
	if err != nil {
		return "", -1, fmt.Errorf("%w: %s: %v", ErrLostResponse, path, err)
	}
	if errText == restRateLimited || errText == orderRateLimited {
		c.lim.block(c.nowNs() + int64(c.cfg.Backoff))
	}
	return errText, resultPos, nil
}

func (c *REST) nonce() (uint64, error) { return c.cfg.Nonces.Next(c.cfg.Now()) }

// Do sends an intent over REST and fills r with the venue's answer: an
// Ack with the txid, or a Reject with Kraken's error text. ActCancel and
// ActCancelAll produce no report on success (the cancel shows in the
// executions stream, or in a status query); r.Kind is then ReportStatus
// with the status Kraken implies (PendingCancel). Errors: ErrRateLimited
// (nothing sent, r untouched), ErrVenueRateLimited and ErrRejected (r
// holds the reject), ErrLostResponse (r says Unknown: reconcile).
func (c *REST) Do(in *market.Intent, r *market.Report) error {
	switch in.Action {
	case market.ActNew:
		return c.addOrder(in, r)
	case market.ActCancel:
		return c.cancelOrder(in, r)
	case market.ActCancelAll:
		_, err := c.CancelAll(r)
		return err
	}
	return ErrUnsupported
}

func (c *REST) reportFor(in *market.Intent, r *market.Report, now int64) {
	*r = market.Report{Venue: market.Kraken, Inst: in.Inst, ClientID: in.ClientID, Side: in.Side, RecvTime: now}
}

// reject fills r as the venue's refusal and picks the error.
func (c *REST) reject(r *market.Report, text string, status market.OrderStatus, req market.Action) error {
	r.Kind, r.Status, r.Reason, r.Req = market.ReportReject, status, text, req
	if text == restRateLimited || text == orderRateLimited {
		return ErrVenueRateLimited
	}
	return ErrRejected
}

func (c *REST) addOrder(in *market.Intent, r *market.Report) error {
	if in.Inst == nil {
		return ErrNoInstrument
	}
	now := c.nowNs()
	if !c.admit(costTrading, now) {
		return ErrRateLimited
	}
	if !c.lim.pair(in.Inst, &c.cfg).Take(1, now) {
		c.lim.refused++
		return ErrRateLimited
	}
	n, err := c.nonce()
	if err != nil {
		return err
	}
	if c.body, err = AppendAddOrder(c.body[:0], n, in); err != nil {
		return err
	}
	c.orders.put(in.ClientID, orderMeta{inst: in.Inst, created: now})
	errText, pos, err := c.private(pathAddOrder)
	c.reportFor(in, r, c.nowNs())
	if err != nil {
		r.Kind, r.Status = market.ReportStatus, market.Unknown
		return err
	}
	if errText != "" {
		c.orders.del(in.ClientID)
		return c.reject(r, errText, market.Rejected, market.ActNew)
	}
	if err := c.dec.addOrderResult(c.resp.Body(), pos, &r.OrderID); err != nil {
		r.Kind, r.Status = market.ReportStatus, market.Unknown
		return err
	}
	r.Kind, r.Status = market.ReportAck, market.New
	return nil
}

func (c *REST) cancelOrder(in *market.Intent, r *market.Report) error {
	now := c.nowNs()
	meta, known := c.orders.get(in.ClientID)
	inst := in.Inst
	if inst == nil {
		inst = meta.inst
	}
	cost := float64(8)
	if known {
		cost = CancelCost(time.Duration(now - meta.created))
	}
	if !c.admit(costTrading, now) || inst != nil && !c.lim.pair(inst, &c.cfg).Take(cost, now) {
		c.lim.refused++
		return ErrRateLimited
	}
	n, err := c.nonce()
	if err != nil {
		return err
	}
	c.body = AppendCancelOrder(c.body[:0], n, in.ClientID)
	errText, _, err := c.private(pathCancelOrder)
	c.reportFor(in, r, c.nowNs())
	if r.Inst == nil {
		r.Inst = inst
	}
	if err != nil {
		r.Kind, r.Status = market.ReportStatus, market.Unknown
		return err
	}
	if errText != "" {
		// The order's state is not what we thought: reconcile it.
		return c.reject(r, errText, market.Unknown, market.ActCancel)
	}
	r.Kind, r.Status = market.ReportStatus, market.PendingCancel
	return nil
}

// CancelAll cancels every open order of the account and returns how many
// Kraken canceled. r is filled only on a reject.
func (c *REST) CancelAll(r *market.Report) (int, error) {
	if !c.admit(costCall, c.nowNs()) {
		return 0, ErrRateLimited
	}
	n, err := c.nonce()
	if err != nil {
		return 0, err
	}
	c.body = AppendNonceOnly(c.body[:0], n)
	errText, pos, err := c.private(pathCancelAll)
	if err != nil {
		return 0, err
	}
	if errText != "" {
		*r = market.Report{Venue: market.Kraken, RecvTime: c.nowNs()}
		return 0, c.reject(r, errText, market.Unknown, market.ActCancelAll)
	}
	cnt, err := c.dec.intResult(c.resp.Body(), pos, "count")
	return int(cnt), err
}

// CancelAfter arms Kraken's dead man's switch over REST (timeout seconds;
// 0 disarms) and returns the trigger time (Unix ns; 0 when disarmed).
func (c *REST) CancelAfter(timeoutSec int) (int64, error) {
	if !c.admit(costCall, c.nowNs()) {
		return 0, ErrRateLimited
	}
	n, err := c.nonce()
	if err != nil {
		return 0, err
	}
	c.body = AppendCancelAfter(c.body[:0], n, timeoutSec)
	errText, pos, err := c.private(pathCancelAfter)
	if err != nil {
		return 0, err
	}
	if errText != "" {
		return 0, fmt.Errorf("%w: %s", ErrRejected, errText)
	}
	s := &c.dec.s
	s.ResetAt(c.resp.Body(), pos)
	var trig int64
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		if string(key) == "triggerTime" {
			v, _ := s.String()
			if string(v) != "0" {
				t, ok := parseTime(v)
				if !ok {
					t, ok = parseRFC3339Sec(v)
				}
				if ok {
					trig = t
				}
			}
			continue
		}
		s.Skip()
	}
	return trig, s.Err()
}

// parseRFC3339Sec reads "2006-01-02T15:04:05Z" (REST's form).
func parseRFC3339Sec(b []byte) (int64, bool) { return parseTime(b) }

// Reconcile asks Kraken where an order is and hands fn one ReportStatus per
// order found: by txid with QueryOrders when oid is known, else among the
// open orders by client id (OpenOrders). It returns how many were found;
// zero means Kraken knows no open order with that id (an order that
// closed before its txid was learnt needs ClosedOrders, not modelled).
func (c *REST) Reconcile(in *market.Instrument, id market.ClientID, oid *market.VenueOrderID, fn func(*market.Report)) (int, error) {
	if !c.admit(costCall, c.nowNs()) {
		return 0, ErrRateLimited
	}
	n, err := c.nonce()
	if err != nil {
		return 0, err
	}
	path := pathOpenOrders
	if oid != nil && oid.TN > 0 {
		c.body = AppendQueryOrders(c.body[:0], n, oid)
		path = pathQueryOrders
	} else {
		c.body = AppendOpenOrders(c.body[:0], n, id)
	}
	errText, pos, err := c.private(path)
	if err != nil {
		return 0, err
	}
	if errText != "" {
		return 0, fmt.Errorf("%w: %s", ErrRejected, errText)
	}
	found := 0
	err = c.dec.orderInfos(c.resp.Body(), pos, in, c.nowNs(), func(r *market.Report) {
		if id != 0 && r.ClientID != id {
			return
		}
		found++
		if r.Status.Final() {
			c.orders.del(r.ClientID)
		}
		fn(r)
	})
	return found, err
}

// Token fetches a WebSocket token with GetWebSocketsToken (cold).
func (c *REST) Token() (string, error) {
	if !c.admit(costCall, c.nowNs()) {
		return "", ErrRateLimited
	}
	n, err := c.nonce()
	if err != nil {
		return "", err
	}
	c.body = AppendNonceOnly(c.body[:0], n)
	errText, pos, err := c.private(pathToken)
	if err != nil {
		return "", err
	}
	if errText != "" {
		return "", fmt.Errorf("%w: %s", ErrRejected, errText)
	}
	return c.dec.tokenResult(c.resp.Body(), pos)
}

// Balance returns the account's balances by Kraken's REST asset code
// ("XXBT", "ZUSD") as decimal text (cold).
func (c *REST) Balance() (map[string]string, error) {
	if !c.admit(costCall, c.nowNs()) {
		return nil, ErrRateLimited
	}
	n, err := c.nonce()
	if err != nil {
		return nil, err
	}
	c.body = AppendNonceOnly(c.body[:0], n)
	errText, pos, err := c.private(pathBalance)
	if err != nil {
		return nil, err
	}
	if errText != "" {
		return nil, fmt.Errorf("%w: %s", ErrRejected, errText)
	}
	var s jscan.Scanner
	s.ResetAt(c.resp.Body(), pos)
	out := map[string]string{}
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		k := string(key)
		v, _ := s.String()
		out[k] = string(v)
	}
	return out, s.Err()
}

// Time measures the clock offset with GET /0/public/Time (Kraken answers
// in whole seconds, so the offset is good to about a second) and records
// it in Config.Clock. Kraken signs with nonces, not timestamps; the offset
// is kept for reports and monitoring.
func (c *REST) Time() (offset int64, err error) {
	req := c.req
	req.Reset()
	req.Header.SetMethod(fasthttp.MethodGet)
	req.SetRequestURI(pathTime)
	req.Header.SetHost(c.host)
	t0 := c.nowNs()
	errText, pos, err := c.roundTrip()
	t1 := c.nowNs()
	req.Reset()
	if err != nil {
		return 0, fmt.Errorf("kraken: Time: %w", err)
	}
	if errText != "" {
		return 0, fmt.Errorf("%w: %s", ErrRejected, errText)
	}
	sec, err := c.dec.intResult(c.resp.Body(), pos, "unixtime")
	if err != nil {
		return 0, err
	}
	venue := sec*1e9 + 5e8 // the middle of the venue's second
	if c.cfg.Clock != nil {
		c.cfg.Clock.Sample(t0, t1, venue)
		return c.cfg.Clock.Offset(), nil
	}
	return venue - (t0+t1)/2, nil
}

// Refused counts the calls the local mirrors turned away.
func (c *REST) Refused() uint64 { return c.lim.refused }

// Close releases the client's connections.
func (c *REST) Close() { c.hc.CloseIdleConnections() }
