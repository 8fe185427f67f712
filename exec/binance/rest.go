package binance

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"arbmm/exec"
	"arbmm/exec/keys"
	"arbmm/internal/jscan"
	"arbmm/internal/market"
)

// REST is Binance spot's signed REST API over fasthttp with keep-alive:
// one reused Request and Response, one buffer for the URI. Its methods run
// on the caller's goroutine, wait for the answer, and report it to
// Config.OnReport before returning; they are serialised by a mutex.
//
// A request whose answer is lost (the connection fails after the request
// was written) is never retried: a new order's fate is asked for at once
// with GET /api/v3/order and reported as a ReportStatus.
type REST struct {
	cfg  Config
	opts OrderOpts
	hc   *fasthttp.Client

	mu   sync.Mutex
	req  fasthttp.Request
	resp fasthttp.Response
	q    reqBuf
	g    signer
	lim  limiter
	ubuf []byte
	reporter

	limited, venue429, lost atomic.Uint64
}

// NewREST returns a REST client for cfg (RESTURL required).
func NewREST(cfg Config) (*REST, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RESTURL == "" {
		return nil, errors.New("binance: Config.RESTURL is required")
	}
	r := &REST{
		cfg:  cfg,
		opts: cfg.opts(),
		hc: &fasthttp.Client{
			Name:                      "arbmm",
			NoDefaultUserAgentHeader:  true,
			ReadTimeout:               cfg.DialTimeout,
			WriteTimeout:              cfg.WriteTimeout,
			MaxIdemponentCallAttempts: 1,
			// Never resend: a request whose answer was lost may have
			// been executed.
			RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		},
		ubuf: make([]byte, 0, 1024),
	}
	r.reporter = reporter{dec: newDecoder(market.Binance, cfg.Instruments), on: cfg.OnReport}
	r.lim.init(&r.cfg)
	return r, nil
}

// do sends one request (query already signed, or empty) and returns the
// status and the body (valid until the next request). It applies the
// venue's rate-limit headers and a 429's Retry-After.
func (r *REST) do(method, path string, query []byte, apiKey string) (int, []byte, error) {
	now := r.cfg.Now()
	b := append(r.ubuf[:0], r.cfg.RESTURL...)
	b = append(b, path...)
	if len(query) > 0 {
		b = append(b, '?')
		b = append(b, query...)
	}
	r.ubuf = b
	req, resp := &r.req, &r.resp
	req.Header.SetMethod(method)
	req.SetRequestURIBytes(b)
	if apiKey != "" {
		req.Header.Set("X-MBX-APIKEY", apiKey)
	} else {
		req.Header.Del("X-MBX-APIKEY")
	}
	if err := r.hc.DoTimeout(req, resp, r.cfg.DialTimeout); err != nil {
		return 0, nil, err
	}
	h := &resp.Header
	if v, ok := headerInt(h.Peek("X-MBX-USED-WEIGHT-1M")); ok {
		r.lim.weight.Observe(v, now)
	}
	if v, ok := headerInt(h.Peek("X-MBX-ORDER-COUNT-10S")); ok {
		r.lim.orders10s.Observe(v, now)
	}
	if v, ok := headerInt(h.Peek("X-MBX-ORDER-COUNT-1D")); ok {
		r.lim.ordersDay.Observe(v, now)
	}
	status := resp.StatusCode()
	if status == 429 || status == 418 {
		r.venue429.Add(1)
		secs, ok := headerInt(h.Peek("Retry-After"))
		if !ok || secs < 1 {
			secs = 1
		}
		r.lim.block(now + int64(secs)*int64(time.Second))
	}
	return status, resp.Body(), nil
}

func headerInt(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	v, err := market.ParseFixed(b, 0)
	return int(v), err == nil
}

// signed prepares the signer with the current credential.
func (r *REST) signed() (*exec.Credential, error) {
	cred := r.cfg.Keys.Current()
	if cred == nil {
		return nil, ErrNoKey
	}
	r.g.use(cred)
	return cred, nil
}

// Send places, cancels or replaces as in says and reports the answer. An
// ActCancelAll without an instrument cancels every configured symbol.
func (r *REST) Send(in *market.Intent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if in.Action == market.ActCancelAll && in.Inst == nil {
		var first error
		for _, inst := range r.cfg.Instruments {
			one := market.Intent{Action: market.ActCancelAll, Inst: inst}
			if err := r.send(&one); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	return r.send(in)
}

func (r *REST) send(in *market.Intent) error {
	now := r.cfg.Now()
	cred, err := r.signed()
	if err != nil {
		return err
	}
	weight, orders := cost(in.Action)
	if !r.lim.allow(weight, orders, now) {
		r.limited.Add(1)
		return ErrRateLimited
	}
	method, path := restRoute(in.Action)
	q, err := r.q.appendRESTIntent(r.q.pay[:0], in, &r.opts, &r.g, r.cfg.Clock.VenueTime(now)/1e6)
	if err != nil {
		return err
	}
	r.q.pay = q
	op := opPlace
	switch in.Action {
	case market.ActCancel:
		op = opCancel
	case market.ActCancelAll:
		op = opCancelAll
	case market.ActReplace:
		op = opReplace
	}
	p := pending{op: op, inst: in.Inst, cid: in.ClientID, newID: in.NewID}
	status, body, err := r.do(method, path, q, cred.APIKey)
	if err != nil {
		if op != opPlace && op != opReplace {
			return fmt.Errorf("binance: %s %s: %w", method, path, err)
		}
		// The answer is lost, not the order: ask for it.
		r.lost.Add(1)
		cid := in.ClientID
		if op == opReplace {
			cid = in.NewID
		}
		return r.query(in.Inst, cid)
	}
	r.answer(&p, status, body)
	return nil
}

// answer reports a REST answer through the shared response handling.
func (r *REST) answer(p *pending, status int, body []byte) {
	recv := r.cfg.Now()
	resp := wsResp{status: int64(status)}
	if status == 200 {
		resp.result = body
	} else {
		d := r.dec
		d.sc.Reset(body)
		if isOrder, err := d.orderObject(&d.sc); err != nil || isOrder {
			resp.errCode = -1
			d.f[fReason] = append(d.f[fReason][:0], "undecodable error body"...)
			r.decodeErrs.Add(1)
		} else {
			resp.errCode = d.ints.code
			resp.errData = d.data
		}
		resp.errMsg = d.f[fReason]
	}
	r.orderResponse(p, &resp, recv)
}

// Query asks for the order with client id cid (GET /api/v3/order) and
// reports it as a ReportStatus: the reconciliation of an order whose
// acknowledgement was lost.
func (r *REST) Query(inst *market.Instrument, cid market.ClientID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.query(inst, cid)
}

func (r *REST) query(inst *market.Instrument, cid market.ClientID) error {
	now := r.cfg.Now()
	cred, err := r.signed()
	if err != nil {
		return err
	}
	if !r.lim.allow(4, 0, now) {
		r.limited.Add(1)
		return ErrRateLimited
	}
	q := r.q.appendRESTStatus(r.q.pay[:0], inst, cid, &r.opts, &r.g, r.cfg.Clock.VenueTime(now)/1e6)
	r.q.pay = q
	status, body, err := r.do("GET", "/api/v3/order", q, cred.APIKey)
	if err != nil {
		return fmt.Errorf("binance: GET /api/v3/order: %w", err)
	}
	r.answer(&pending{op: opStatus, inst: inst, cid: cid}, status, body)
	return nil
}

// SyncClock measures the offset to the venue's clock (GET /api/v3/time).
func (r *REST) SyncClock() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t0 := r.cfg.Now()
	if !r.lim.allow(1, 0, t0) {
		return ErrRateLimited
	}
	status, body, err := r.do("GET", "/api/v3/time", nil, "")
	t1 := r.cfg.Now()
	if err != nil {
		return fmt.Errorf("binance: GET /api/v3/time: %w", err)
	}
	if status != 200 {
		return fmt.Errorf("binance: GET /api/v3/time: status %d", status)
	}
	sc := &r.dec.sc
	sc.Reset(body)
	for k, ok := sc.ObjectStart(); ok; k, ok = sc.NextKey() {
		if string(k) == "serverTime" {
			if ms, ok := sc.Int(); ok {
				r.cfg.Clock.Sample(t0, t1, ms*1e6)
				return nil
			}
		}
		sc.Skip()
	}
	return errors.New("binance: GET /api/v3/time: no serverTime")
}

// signedGet runs a signed GET with only recvWindow and timestamp and
// returns a copy of the body appended to dst (cold paths).
func (r *REST) signedGet(dst []byte, path string, weight int) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	cred, err := r.signed()
	if err != nil {
		return dst, err
	}
	if !r.lim.allow(weight, 0, now) {
		return dst, ErrRateLimited
	}
	q := r.q.appendRESTSigned(r.q.pay[:0], &r.opts, &r.g, r.cfg.Clock.VenueTime(now)/1e6)
	r.q.pay = q
	status, body, err := r.do("GET", path, q, cred.APIKey)
	if err != nil {
		return dst, fmt.Errorf("binance: GET %s: %w", path, err)
	}
	if status != 200 {
		return dst, fmt.Errorf("binance: GET %s: status %d: %s", path, status, clip(body))
	}
	return append(dst, body...), nil
}

func clip(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// Account appends GET /api/v3/account's body to dst.
func (r *REST) Account(dst []byte) ([]byte, error) { return r.signedGet(dst, "/api/v3/account", 20) }

// Restrictions are what a key may do (GET /sapi/v1/account/apiRestrictions).
type Restrictions struct {
	Reading, SpotTrading, Withdrawals bool
}

// APIRestrictions asks the venue what the current key may do: the engine
// refuses a key that can withdraw unless the operator overrides it.
func (r *REST) APIRestrictions() (Restrictions, error) {
	var out Restrictions
	body, err := r.signedGet(nil, "/sapi/v1/account/apiRestrictions", 1)
	if err != nil {
		return out, err
	}
	var sc jscan.Scanner
	sc.Reset(body)
	for k, ok := sc.ObjectStart(); ok; k, ok = sc.NextKey() {
		switch string(k) {
		case "enableReading":
			out.Reading, _ = sc.Bool()
		case "enableSpotAndMarginTrading":
			out.SpotTrading, _ = sc.Bool()
		case "enableWithdrawals":
			out.Withdrawals, _ = sc.Bool()
		default:
			sc.Skip()
		}
	}
	if sc.Failed() {
		return out, fmt.Errorf("binance: apiRestrictions: %s", sc.ErrorString())
	}
	return out, nil
}

// Perms are the restrictions as the key ring's permissions.
func (rs Restrictions) Perms() keys.Perm {
	var p keys.Perm
	if rs.Reading {
		p |= keys.Read
	}
	if rs.SpotTrading {
		p |= keys.Trade
	}
	if rs.Withdrawals {
		p |= keys.Withdraw
	}
	return p
}

// CheckKey asks the venue what the current key may do and refuses it at
// start-up if it cannot trade, or can withdraw while allowWithdraw (the
// venue config's allow_withdraw) is off.
func (r *REST) CheckKey(allowWithdraw bool) error {
	rs, err := r.APIRestrictions()
	if err != nil {
		return fmt.Errorf("binance: checking the key's permissions: %w", err)
	}
	if err := keys.CheckPermissions(rs.Perms(), allowWithdraw); err != nil {
		return fmt.Errorf("binance: %s: %w", r.cfg.Keys.Current(), err)
	}
	return nil
}

// RESTStats are a REST client's counters.
type RESTStats struct {
	Reports, Rejects, RateLimited, Venue429, LostAnswers, DecodeErrors uint64
}

// Stats returns the counters; safe from any goroutine.
func (r *REST) Stats() RESTStats {
	return RESTStats{r.reports.Load(), r.rejects.Load(), r.limited.Load(), r.venue429.Load(), r.lost.Load(), r.decodeErrs.Load()}
}

// Close closes idle connections.
func (r *REST) Close() { r.hc.CloseIdleConnections() }
