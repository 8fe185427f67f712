package binance

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"arbmm/exec"
	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	simbinance "arbmm/internal/sim/binance"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

const (
	us   = 1 // our account
	them = 2 // background liquidity
)

var btc = &market.Instrument{Venue: market.Binance, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 5, Tick: 1, Step: 1}

// simEnv is a simulated Binance with our keys registered and both
// accounts funded.
type simEnv struct {
	t    *testing.T
	v    *venue.Venue
	s    *simbinance.Server
	keys *auth.Keys
	now  *atomic.Int64 // venue clock, Unix ns; nil: real time
}

// testKey makes an HMAC credential with a random secret, registered for
// account us.
func (e *simEnv) hmacKey(id string) *exec.Credential {
	e.t.Helper()
	var b [24]byte
	_, _ = rand.Read(b[:])
	api := "k" + hex.EncodeToString(b[:8])
	secret := []byte(hex.EncodeToString(b[8:]))
	if err := e.keys.Add(auth.Key{APIKey: api, Type: auth.HMAC, Secret: secret, Account: us, Perms: auth.PermRead | auth.PermTrade}); err != nil {
		e.t.Fatal(err)
	}
	return &exec.Credential{ID: id, APIKey: api, Kind: exec.HMAC, Secret: secret}
}

func (e *simEnv) edKey(id string) *exec.Credential {
	e.t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	api := "e" + hex.EncodeToString(b[:])
	if err := e.keys.Add(auth.Key{APIKey: api, Type: auth.Ed25519, Public: pub, Account: us, Perms: auth.PermRead | auth.PermTrade}); err != nil {
		e.t.Fatal(err)
	}
	return &exec.Credential{ID: id, APIKey: api, Kind: exec.Ed25519, Private: priv}
}

func newSim(t *testing.T, fake bool, tweak func(*simbinance.Config)) *simEnv {
	t.Helper()
	e := &simEnv{t: t, keys: auth.NewKeys()}
	vc := venue.Config{
		Name: "binance",
		Pairs: []venue.PairConfig{{Symbol: "BTCUSDT", Pair: btc.Pair, PriceExp: 2, QtyExp: 5, Tick: 1, Step: 1,
			MakerFeeBps: 10, TakerFeeBps: 10}},
	}
	if fake {
		e.now = new(atomic.Int64)
		e.now.Store(time.Now().UnixNano())
		vc.Clock = func() time.Time { return time.Unix(0, e.now.Load()) }
	}
	v, err := venue.New(vc)
	if err != nil {
		t.Fatal(err)
	}
	e.v = v
	cfg := simbinance.Config{Venue: v, Seed: 1, Keys: e.keys}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := simbinance.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	e.s = s
	for _, a := range []match.AccountID{us, them} {
		e.deposit(a, "BTC", 100_00000)           // 100 BTC at 5 decimals
		e.deposit(a, "USDT", 10_000_000_0000000) // 10M USDT at 7 decimals
	}
	return e
}

func (e *simEnv) deposit(a match.AccountID, asset string, amount int64) {
	e.t.Helper()
	if err := e.v.Deposit(a, asset, amount); err != nil {
		e.t.Fatal(err)
	}
}

// rest places a resting order for the background account, directly on
// the venue.
func (e *simEnv) rest(side market.Side, price, qty int64) {
	e.t.Helper()
	p, _ := e.v.Pair("BTCUSDT")
	var err error
	e.v.Do(func(tx *venue.Tx) {
		_, err = tx.Submit(p, match.Request{Account: them, Side: side, Type: match.Limit, TIF: match.GTC, Price: price, Qty: qty})
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// reports collects a session's reports.
type reports struct {
	t  *testing.T
	ch chan market.Report
}

func newReports(t *testing.T) *reports { return &reports{t: t, ch: make(chan market.Report, 1024)} }

func (r *reports) on(rep *market.Report) {
	select {
	case r.ch <- *rep:
	default:
		r.t.Error("report channel full")
	}
}

// wait returns the next report that matches, failing after 5 s.
func (r *reports) wait(what string, match func(*market.Report) bool) market.Report {
	r.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case rep := <-r.ch:
			if match(&rep) {
				return rep
			}
		case <-deadline:
			r.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func is(kind market.ReportKind, id market.ClientID, st market.OrderStatus) func(*market.Report) bool {
	return func(r *market.Report) bool { return r.Kind == kind && r.ClientID == id && r.Status == st }
}

// keyRing is a KeySource whose key can be switched while in use.
type keyRing struct {
	p atomic.Pointer[exec.Credential]
}

func (k *keyRing) Current() *exec.Credential { return k.p.Load() }

func dialSim(t *testing.T, e *simEnv, keys exec.KeySource, rep *reports, tweak func(*Config)) *Session {
	t.Helper()
	cfg := Config{WSURL: e.s.WSAPIURL(), RESTURL: e.s.RESTURL(), Keys: keys, Instruments: []*market.Instrument{btc}, OnReport: rep.on}
	if e.now != nil {
		cfg.Now = e.now.Load
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var idN atomic.Uint64

func nextID() market.ClientID { return market.ClientID(0x1000 + idN.Add(1)) }

func limit(side market.Side, tif market.TIF, price, qty int64) market.Intent {
	return market.Intent{Action: market.ActNew, Venue: market.Binance, Inst: btc, Side: side, Type: market.Limit, TIF: tif,
		Price: market.Price(price), Qty: market.Qty(qty), ClientID: nextID()}
}

func send(t *testing.T, s interface{ Send(*market.Intent) error }, in market.Intent) market.Intent {
	t.Helper()
	if err := s.Send(&in); err != nil {
		t.Fatalf("send %v: %v", in.Action, err)
	}
	return in
}

// lifecycle runs every order type and transition through s and checks
// the reports: responses and, with user data, executionReports.
func lifecycle(t *testing.T, e *simEnv, s interface{ Send(*market.Intent) error }, rep *reports, userData bool) {
	// Limit resting → canceled.
	in := send(t, s, limit(market.Buy, market.GTC, 5000000, 1000))
	rep.wait("ack", is(market.ReportAck, in.ClientID, market.New))
	send(t, s, market.Intent{Action: market.ActCancel, Inst: btc, ClientID: in.ClientID})
	rep.wait("canceled", is(market.ReportCanceled, in.ClientID, market.Canceled))

	// Crossing limit: partial, then filled by new liquidity.
	e.rest(market.Sell, 6000000, 400)
	in = send(t, s, limit(market.Buy, market.GTC, 6000000, 1000))
	if userData {
		f := rep.wait("partial fill", is(market.ReportFill, in.ClientID, market.PartiallyFilled))
		if f.Qty != 400 || f.Price != 6000000 || f.CumQty != 400 || f.Fee <= 0 || f.FeeAsset != "BTC" || f.Maker {
			t.Fatalf("partial fill: got %+v", f)
		}
		e.rest(market.Sell, 6000000, 600)
		f = rep.wait("fill", is(market.ReportFill, in.ClientID, market.Filled))
		if f.Qty != 600 || f.CumQty != 1000 || !f.Maker || f.TradeID == 0 {
			t.Fatalf("fill: got %+v", f)
		}
	} else {
		rep.wait("partial ack", is(market.ReportAck, in.ClientID, market.PartiallyFilled))
		e.rest(market.Sell, 6000000, 600)
		send(t, s, market.Intent{Action: market.ActCancel, Inst: btc, ClientID: in.ClientID})
		rep.wait("cancel of a filled order refused", func(r *market.Report) bool {
			return r.Kind == market.ReportReject && r.ClientID == in.ClientID && r.Code == -2011
		})
	}

	// IOC partial → expired.
	e.rest(market.Sell, 6100000, 300)
	in = send(t, s, limit(market.Buy, market.IOC, 6100000, 1000))
	rep.wait("IOC expired", func(r *market.Report) bool {
		return r.Kind == market.ReportExpired && r.ClientID == in.ClientID && r.Status == market.Expired && r.CumQty == 300
	})

	// FOK that cannot fill → expired, nothing traded.
	e.rest(market.Sell, 6200000, 300)
	in = send(t, s, limit(market.Buy, market.FOK, 6200000, 1000))
	rep.wait("FOK expired", func(r *market.Report) bool {
		return r.Kind == market.ReportExpired && r.ClientID == in.ClientID && r.CumQty == 0
	})

	// MARKET takes the FOK's liquidity.
	in = market.Intent{Action: market.ActNew, Inst: btc, Side: market.Buy, Type: market.Market, Qty: 300, ClientID: nextID()}
	send(t, s, in)
	rep.wait("market filled", is(market.ReportAck, in.ClientID, market.Filled))

	// LIMIT_MAKER that would take → rejected.
	e.rest(market.Sell, 6300000, 100)
	in = market.Intent{Action: market.ActNew, Inst: btc, Side: market.Buy, Type: market.LimitMaker, Price: 6300000, Qty: 100, ClientID: nextID()}
	send(t, s, in)
	rj := rep.wait("maker rejected", is(market.ReportReject, in.ClientID, market.Rejected))
	if rj.Code != -2010 || rj.Reason != "Order would immediately match and take." {
		t.Fatalf("maker reject: got code %d reason %q", rj.Code, rj.Reason)
	}

	// cancelReplace: the resting order is canceled and the new one placed.
	old := send(t, s, limit(market.Buy, market.GTC, 5000000, 100))
	rep.wait("ack", is(market.ReportAck, old.ClientID, market.New))
	repl := limit(market.Buy, market.GTC, 5100000, 200)
	repl.Action, repl.NewID, repl.ClientID = market.ActReplace, repl.ClientID, old.ClientID
	send(t, s, repl)
	rep.wait("replaced: old canceled", is(market.ReportCanceled, old.ClientID, market.Canceled))
	rep.wait("replaced: new placed", is(market.ReportAck, repl.NewID, market.New))

	// Cancel-all.
	other := send(t, s, limit(market.Buy, market.GTC, 4000000, 100))
	rep.wait("ack", is(market.ReportAck, other.ClientID, market.New))
	send(t, s, market.Intent{Action: market.ActCancelAll, Inst: btc})
	got := map[market.ClientID]bool{}
	for len(got) < 2 {
		r := rep.wait("cancel-all", func(r *market.Report) bool { return r.Kind == market.ReportCanceled })
		got[r.ClientID] = true
	}
	if !got[repl.NewID] || !got[other.ClientID] {
		t.Fatalf("cancel-all canceled %v, want %v and %v", got, repl.NewID, other.ClientID)
	}
}

func TestSessionLifecycleHMAC(t *testing.T) {
	e := newSim(t, false, nil)
	rep := newReports(t)
	s := dialSim(t, e, exec.StaticKey{C: e.hmacKey("a")}, rep, nil)
	lifecycle(t, e, s, rep, true)
	if st := s.Stats(); st.DecodeErrors != 0 || st.UnknownSymbol != 0 || st.UnknownIDs != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestSessionLifecycleEd25519(t *testing.T) {
	e := newSim(t, false, nil)
	rep := newReports(t)
	s := dialSim(t, e, exec.StaticKey{C: e.edKey("ed")}, rep, nil)
	lifecycle(t, e, s, rep, true)
	if s.logged == nil {
		t.Fatal("session not logged on")
	}
	// Requests on a logged-on session carry no signature.
	if string(s.wbuf) != "" && contains(s.wbuf, `"signature"`) {
		t.Fatalf("last request signed: %s", s.wbuf)
	}
}

func contains(b []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == sub {
			return true
		}
	}
	return false
}

func TestRESTLifecycle(t *testing.T) {
	e := newSim(t, false, nil)
	rep := newReports(t)
	r, err := NewREST(Config{RESTURL: e.s.RESTURL(), Keys: exec.StaticKey{C: e.hmacKey("a")}, Instruments: []*market.Instrument{btc}, OnReport: rep.on})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.SyncClock(); err != nil {
		t.Fatal(err)
	}
	lifecycle(t, e, r, rep, false)
	// Reconciliation query.
	in := send(t, r, limit(market.Buy, market.GTC, 5000000, 100))
	rep.wait("ack", is(market.ReportAck, in.ClientID, market.New))
	if err := r.Query(btc, in.ClientID); err != nil {
		t.Fatal(err)
	}
	rep.wait("status", is(market.ReportStatus, in.ClientID, market.New))
	restr, err := r.APIRestrictions()
	if err != nil || !restr.SpotTrading || !restr.Reading || restr.Withdrawals {
		t.Fatalf("restrictions: got %+v, %v", restr, err)
	}
	acct, err := r.Account(nil)
	if err != nil || !contains(acct, `"balances"`) {
		t.Fatalf("account: got %s, %v", acct, err)
	}
	if st := r.Stats(); st.DecodeErrors != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

// TestSessionKeyRotation: a key rotated between two sends keeps trading
// without a rejected order.
func TestSessionKeyRotation(t *testing.T) {
	for _, kind := range []string{"hmac", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			e := newSim(t, false, nil)
			rep := newReports(t)
			var ring keyRing
			mk := e.hmacKey
			if kind == "ed25519" {
				mk = e.edKey
			}
			a, b := mk("a"), mk("b")
			ring.p.Store(a)
			s := dialSim(t, e, &ring, rep, nil)
			var ids []market.ClientID
			for i := range 6 {
				if i == 3 {
					ring.p.Store(b)
				}
				ids = append(ids, send(t, s, limit(market.Buy, market.GTC, int64(5000000+i), 100)).ClientID)
			}
			for _, id := range ids {
				rep.wait("ack", is(market.ReportAck, id, market.New))
			}
			if st := s.Stats(); st.Rejects != 0 {
				t.Fatalf("rejects after rotation: %+v", st)
			}
		})
	}
}

// TestSessionReplayRejected: the same signed bytes sent twice are refused
// by the venue the second time and reported as a reject, not retried.
func TestSessionReplayRejected(t *testing.T) {
	e := newSim(t, false, nil)
	rep := newReports(t)
	// No user data: the ack is the response itself, so the request's
	// slot is free once it is reported.
	s := dialSim(t, e, exec.StaticKey{C: e.hmacKey("a")}, rep, func(c *Config) { c.NoUserData = true })
	s.mu.Lock()
	in := limit(market.Buy, market.GTC, 5000000, 100)
	if err := s.sendLocked(&in, s.cfg.Now()); err != nil {
		t.Fatal(err)
	}
	raw := append([]byte(nil), s.wbuf...)
	id := s.nextID
	s.mu.Unlock()
	rep.wait("ack", is(market.ReportAck, in.ClientID, market.New))
	s.mu.Lock()
	s.pend[id%pendingSlots].live = true // await the replay's answer
	if err := s.write(raw); err != nil {
		t.Fatal(err)
	}
	s.mu.Unlock()
	r := rep.wait("replay rejected", is(market.ReportReject, in.ClientID, market.Rejected))
	if r.Code != -2010 || r.Reason != "Duplicate order sent." {
		t.Fatalf("replay: got %+v", r)
	}
	if n := s.Stats().Sent; n != 1 {
		t.Fatalf("sent %d requests, want 1: a reject is not retried", n)
	}
}

// TestSessionStaleTimestamp: with the clock offset forced an hour wrong,
// the venue refuses the request (-1021) and the session reports it.
func TestSessionStaleTimestamp(t *testing.T) {
	e := newSim(t, false, nil)
	rep := newReports(t)
	var clk exec.Clock
	now := time.Now().UnixNano()
	clk.Sample(now, now, now-int64(time.Hour)) // a 1 ns round trip: no later sample displaces it
	s := dialSim(t, e, exec.StaticKey{C: e.hmacKey("a")}, rep, func(c *Config) { c.Clock = &clk; c.NoUserData = true })
	in := send(t, s, limit(market.Buy, market.GTC, 5000000, 100))
	r := rep.wait("stale rejected", is(market.ReportReject, in.ClientID, market.Rejected))
	if r.Code != -1021 {
		t.Fatalf("got %+v, want code -1021", r)
	}
}

// TestSessionHonours429: the venue's order limit is lower than ours; its
// 429 blocks the session until Retry-After, and the venue never bans.
func TestSessionHonours429(t *testing.T) {
	e := newSim(t, true, func(c *simbinance.Config) { c.Limits = auth.BinanceLimits{OrdersPer10s: 3} })
	rep := newReports(t)
	// Start the fake clock at the beginning of a 10 s window.
	e.now.Store((time.Now().UnixNano()/1e10 + 1) * 1e10)
	s := dialSim(t, e, exec.StaticKey{C: e.hmacKey("a")}, rep, func(c *Config) { c.NoUserData = true })
	var ids []market.ClientID
	for i := range 4 { // back to back: the local window still thinks 100
		ids = append(ids, send(t, s, limit(market.Buy, market.GTC, int64(5000000+i), 100)).ClientID)
	}
	for _, id := range ids[:3] {
		rep.wait("ack", is(market.ReportAck, id, market.New))
	}
	r := rep.wait("429", is(market.ReportReject, ids[3], market.Rejected))
	if r.Code != -1015 {
		t.Fatalf("got %+v, want -1015", r)
	}
	for range 10 {
		in := limit(market.Buy, market.GTC, 5000000, 100)
		if err := s.Send(&in); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("send while blocked: got %v, want ErrRateLimited", err)
		}
	}
	// Well past Retry-After (at most the 10 s window's end, rounded up to
	// whole seconds on the wire): the clock moves three windows on.
	e.now.Add(int64(31 * time.Second))
	in := send(t, s, limit(market.Buy, market.GTC, 5000000, 100))
	rep.wait("ack after Retry-After", is(market.ReportAck, in.ClientID, market.New))
	st := s.Stats()
	if st.Venue429 != 1 || st.RateLimited < 10 {
		t.Fatalf("stats: %+v, want one 429 and the local refusals", st)
	}
}

// TestSessionLostAck: the venue places the order and drops the answer;
// the session asks for it and reports its status.
func TestSessionLostAck(t *testing.T) {
	e := newSim(t, false, func(c *simbinance.Config) { c.Orders.LostAck = 1 })
	rep := newReports(t)
	s := dialSim(t, e, exec.StaticKey{C: e.hmacKey("a")}, rep, func(c *Config) { c.NoUserData = true; c.AckTimeout = 100 * time.Millisecond })
	in := send(t, s, limit(market.Buy, market.GTC, 5000000, 100))
	rep.wait("reconciled", is(market.ReportStatus, in.ClientID, market.New))
	if s.Stats().StatusQueries != 1 {
		t.Fatalf("stats: %+v", s.Stats())
	}
}

func TestRESTLostAck(t *testing.T) {
	e := newSim(t, false, func(c *simbinance.Config) { c.Orders.LostAck = 1 })
	rep := newReports(t)
	r, err := NewREST(Config{RESTURL: e.s.RESTURL(), Keys: exec.StaticKey{C: e.hmacKey("a")}, Instruments: []*market.Instrument{btc}, OnReport: rep.on})
	if err != nil {
		t.Fatal(err)
	}
	in := send(t, r, limit(market.Buy, market.GTC, 5000000, 100))
	rep.wait("reconciled", is(market.ReportStatus, in.ClientID, market.New))
	if r.Stats().LostAnswers != 1 {
		t.Fatalf("stats: %+v", r.Stats())
	}
}

func TestREST429(t *testing.T) {
	e := newSim(t, true, func(c *simbinance.Config) { c.Limits = auth.BinanceLimits{OrdersPer10s: 2} })
	e.now.Store((time.Now().UnixNano()/1e10 + 1) * 1e10)
	rep := newReports(t)
	r, err := NewREST(Config{RESTURL: e.s.RESTURL(), Keys: exec.StaticKey{C: e.hmacKey("a")}, Instruments: []*market.Instrument{btc}, OnReport: rep.on, Now: e.now.Load})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		in := send(t, r, limit(market.Buy, market.GTC, 5000000, 100))
		rep.wait("ack", is(market.ReportAck, in.ClientID, market.New))
	}
	in := send(t, r, limit(market.Buy, market.GTC, 5000000, 100))
	if x := rep.wait("429", is(market.ReportReject, in.ClientID, market.Rejected)); x.Code != -1015 {
		t.Fatalf("got %+v", x)
	}
	again := limit(market.Buy, market.GTC, 5000000, 100)
	if err := r.Send(&again); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("got %v, want ErrRateLimited", err)
	}
	e.now.Add(int64(11 * time.Second))
	in = send(t, r, limit(market.Buy, market.GTC, 5000000, 100))
	rep.wait("ack after Retry-After", is(market.ReportAck, in.ClientID, market.New))
}

// TestSessionCloseCancelsAll: Close cancels the open orders first.
func TestSessionCloseCancelsAll(t *testing.T) {
	e := newSim(t, false, nil)
	rep := newReports(t)
	s := dialSim(t, e, exec.StaticKey{C: e.hmacKey("a")}, rep, func(c *Config) { c.NoUserData = true })
	in := send(t, s, limit(market.Buy, market.GTC, 5000000, 100))
	rep.wait("ack", is(market.ReportAck, in.ClientID, market.New))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep.wait("canceled at close", is(market.ReportCanceled, in.ClientID, market.Canceled))
	p, _ := e.v.Pair("BTCUSDT")
	var open []match.Order
	e.v.Do(func(tx *venue.Tx) { open = tx.Open(p, us, nil) })
	if len(open) != 0 {
		t.Fatalf("%d orders left open after Close", len(open))
	}
	if err := s.Send(&in); err != ErrClosed {
		t.Fatalf("send after close: got %v, want ErrClosed", err)
	}
}
