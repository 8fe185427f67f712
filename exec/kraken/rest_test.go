package kraken

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"arbmm/exec"
	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	simkraken "arbmm/internal/sim/kraken"
	"arbmm/internal/sim/venue"
)

func TestRESTOrderLifecycle(t *testing.T) {
	e := newSim(t, 1, nil)
	c := e.rest(t, exec.StaticKey{C: e.creds[0]}, nil)
	if _, err := c.Time(); err != nil {
		t.Fatal(err)
	}
	bal, err := c.Balance()
	if err != nil || bal["ZUSD"] == "" {
		t.Fatalf("Balance: got %v, %v", bal, err)
	}
	var r market.Report
	// A resting limit order, then canceled.
	in := limit(market.Buy, 290000, 10000000, market.GTC) // 0.1 @ 29000.0
	if err := c.Do(&in, &r); err != nil {
		t.Fatalf("AddOrder: %v (%+v)", err, r)
	}
	if r.Kind != market.ReportAck || r.OrderID.TN == 0 || r.ClientID != in.ClientID {
		t.Fatalf("AddOrder: got %+v, want an ack with a txid", r)
	}
	oid := r.OrderID
	var st market.Report
	if n, err := c.Reconcile(testInst, in.ClientID, &oid, func(x *market.Report) { st = *x }); err != nil || n != 1 || st.Status != market.New {
		t.Fatalf("QueryOrders: got %d %v %+v, want one New", n, err, st)
	}
	cin := market.Intent{Action: market.ActCancel, Inst: testInst, ClientID: in.ClientID}
	if err := c.Do(&cin, &r); err != nil || r.Status != market.PendingCancel {
		t.Fatalf("CancelOrder: %v %+v", err, r)
	}
	if n, err := c.Reconcile(testInst, in.ClientID, &oid, func(x *market.Report) { st = *x }); err != nil || n != 1 || st.Status != market.Canceled {
		t.Fatalf("QueryOrders after cancel: got %d %v %+v, want Canceled", n, err, st)
	}
	// Canceling it again is refused by the venue and reported.
	if err := c.Do(&cin, &r); !errors.Is(err, ErrRejected) || r.Kind != market.ReportReject || r.Reason != "EOrder:Unknown order" {
		t.Fatalf("second cancel: got %v %+v", err, r)
	}
	// Crossing: 0.4 offered at 30000.0, buy 1.0 at 30000.0: partial, rests.
	e.other(t, market.Sell, 300000, 40000000)
	in = limit(market.Buy, 300000, 100000000, market.GTC)
	if err := c.Do(&in, &r); err != nil {
		t.Fatal(err)
	}
	oid = r.OrderID
	if _, err := c.Reconcile(testInst, 0, &oid, func(x *market.Report) { st = *x }); err != nil || st.Status != market.PartiallyFilled || st.CumQty != 40000000 {
		t.Fatalf("partial: got %v %+v", err, st)
	}
	e.other(t, market.Sell, 300000, 60000000)
	if _, err := c.Reconcile(testInst, 0, &oid, func(x *market.Report) { st = *x }); err != nil || st.Status != market.Filled || st.CumQty != 100000000 {
		t.Fatalf("filled: got %v %+v", err, st)
	}
	// Market order and IOC against fresh liquidity.
	e.other(t, market.Sell, 301000, 50000000)
	mk := market.Intent{Action: market.ActNew, Inst: testInst, Side: market.Buy, Type: market.Market, Qty: 20000000, ClientID: nextID()}
	if err := c.Do(&mk, &r); err != nil || r.Kind != market.ReportAck {
		t.Fatalf("market: %v %+v", err, r)
	}
	in = limit(market.Buy, 301000, 100000000, market.IOC)
	if err := c.Do(&in, &r); err != nil {
		t.Fatal(err)
	}
	oid = r.OrderID
	if _, err := c.Reconcile(testInst, 0, &oid, func(x *market.Report) { st = *x }); err != nil || st.CumQty != 30000000 || !st.Status.Final() {
		t.Fatalf("IOC: got %v %+v, want 0.3 filled and closed", err, st)
	}
	// Post-only that would take: accepted then canceled by Kraken.
	e.other(t, market.Sell, 302000, 10000000)
	pm := market.Intent{Action: market.ActNew, Inst: testInst, Side: market.Buy, Type: market.LimitMaker, Price: 302000, Qty: 10000000, ClientID: nextID()}
	if err := c.Do(&pm, &r); err != nil {
		t.Fatal(err)
	}
	oid = r.OrderID
	if _, err := c.Reconcile(testInst, 0, &oid, func(x *market.Report) { st = *x }); err != nil || st.Status != market.Canceled || st.Reason != postOnlyReason {
		t.Fatalf("post-only: got %v %+v", err, st)
	}
	// CancelAll.
	for range 3 {
		in = limit(market.Buy, 280000, 10000000, market.GTC)
		if err := c.Do(&in, &r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.CancelAll(&r); err != nil || n != 3 || e.open() != 0 {
		t.Fatalf("CancelAll: got %d %v, open %d", n, err, e.open())
	}
	// Rejects carry Kraken's text.
	big := limit(market.Buy, 290000, 1e12, market.GTC)
	if err := c.Do(&big, &r); !errors.Is(err, ErrRejected) || r.Status != market.Rejected || r.Reason != "EOrder:Insufficient funds" {
		t.Fatalf("insufficient funds: got %v %+v", err, r)
	}
	// The dead man's switch over REST.
	if trig, err := c.CancelAfter(60); err != nil || trig == 0 {
		t.Fatalf("CancelAfter: %d %v", trig, err)
	}
	if trig, err := c.CancelAfter(0); err != nil || trig != 0 {
		t.Fatalf("CancelAfter(0): %d %v", trig, err)
	}
}

// TestKeyRotation: the key changes between sends; every order is accepted.
func TestKeyRotation(t *testing.T) {
	e := newSim(t, 2, nil)
	var k rotKey
	k.p.Store(e.creds[0])
	c := e.rest(t, &k, nil)
	var r market.Report
	for i := range 8 {
		k.p.Store(e.creds[i%2])
		in := limit(market.Buy, 280000, 10000000, market.GTC)
		if err := c.Do(&in, &r); err != nil || r.Kind != market.ReportAck {
			t.Fatalf("order %d with %s: %v %+v", i, e.creds[i%2].ID, err, r)
		}
	}
	// A key the venue no longer knows is refused, not silently retried.
	e.keys.Remove(e.creds[1].APIKey)
	k.p.Store(e.creds[1])
	in := limit(market.Buy, 280000, 10000000, market.GTC)
	if err := c.Do(&in, &r); !errors.Is(err, ErrRejected) || r.Reason != "EAPI:Invalid key" {
		t.Fatalf("removed key: got %v %+v", err, r)
	}
	k.p.Store(nil)
	if err := c.Do(&in, &r); err != ErrNoKey {
		t.Fatalf("no key: got %v", err)
	}
}

// TestReplayRejected resends a signed AddOrder byte for byte: Kraken
// refuses the nonce, and the client reports that without retrying.
func TestReplayRejected(t *testing.T) {
	e := newSim(t, 1, nil)
	c := e.rest(t, exec.StaticKey{C: e.creds[0]}, nil)
	var r market.Report
	in := limit(market.Buy, 280000, 10000000, market.GTC)
	if err := c.Do(&in, &r); err != nil {
		t.Fatal(err)
	}
	errText, _, err := c.roundTrip() // the same request object: same body, nonce and signature
	if err != nil || errText != restInvalidNonce {
		t.Fatalf("replay: got %q %v, want %s", errText, err, restInvalidNonce)
	}
	if e.open() != 1 {
		t.Fatalf("open orders: got %d, want 1 (the replay placed nothing)", e.open())
	}
	// A fresh request with a stale nonce file position is still accepted:
	// the generator moved on.
	if err := c.Do(&in, &r); err != nil && r.Reason == restInvalidNonce {
		t.Fatalf("next request: %v %+v", err, r)
	}
}

// TestNoncesSurviveRestart: a reopened nonce file continues above every
// nonce handed out, even with the clock stepped back.
func TestNoncesSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nonce")
	n1, err := exec.OpenNonces(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var last uint64
	for range 5 {
		if last, err = n1.Next(now); err != nil {
			t.Fatal(err)
		}
	}
	n2, err := exec.OpenNonces(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := n2.Next(now.Add(-time.Hour))
	if err != nil || v <= last {
		t.Fatalf("after reopen: got %d %v, want above %d", v, err, last)
	}
}

// TestRateLimitsLocal: with small limits on both sides, the local mirror
// refuses before the venue would, and the venue never says "Rate limit
// exceeded".
func TestRateLimitsLocal(t *testing.T) {
	lim := auth.KrakenLimits{Max: 4, DecayPerSec: 0.01, TradingMax: 6, TradingDecayPerSec: 0.01}
	e := newSim(t, 1, func(c *simkraken.Config) { c.Limits = lim })
	c := e.rest(t, exec.StaticKey{C: e.creds[0]}, func(c *RESTConfig) {
		c.CallMax, c.CallDecayPerSec, c.TradingMax, c.TradingDecayPerSec = lim.Max, lim.DecayPerSec, lim.TradingMax, lim.TradingDecayPerSec
	})
	var r market.Report
	placed, refused := 0, 0
	for range 20 {
		in := limit(market.Buy, 280000, 10000000, market.GTC)
		switch err := c.Do(&in, &r); {
		case err == nil:
			placed++
		case errors.Is(err, ErrRateLimited):
			refused++
		default:
			t.Fatalf("AddOrder: %v %+v", err, r)
		}
	}
	if placed == 0 || refused == 0 || placed > 6 {
		t.Fatalf("trading counter: placed %d refused %d", placed, refused)
	}
	calls := 0
	for range 10 {
		_, err := c.Balance()
		if errors.Is(err, ErrRateLimited) {
			continue
		}
		if err != nil {
			t.Fatalf("Balance: %v", err)
		}
		calls++
	}
	if calls == 0 || calls > 4 || c.Refused() == 0 {
		t.Fatalf("call counter: %d calls, %d refused", calls, c.Refused())
	}
	// With the mirror off (a huge local max) the venue refuses, and the
	// client backs off and reports it.
	c2 := e.rest(t, exec.StaticKey{C: e.creds[0]}, func(c *RESTConfig) { c.CallMax = 1000; c.Backoff = time.Hour })
	var venueErr error
	for range 10 {
		if _, err := c2.Balance(); err != nil {
			venueErr = err
			break
		}
	}
	if venueErr == nil || !errors.Is(venueErr, ErrRejected) {
		t.Fatalf("venue limit: got %v", venueErr)
	}
	if _, err := c2.Balance(); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("after the venue's refusal: got %v, want local back-off", err)
	}
}

// TestLostAckReconciled: the venue places the order and loses the answer;
// the client says Unknown, and a status query finds the order.
func TestLostAckReconciled(t *testing.T) {
	e := newSim(t, 1, func(c *simkraken.Config) { c.Orders = venue.OrderFaults{LostAck: 1} })
	c := e.rest(t, exec.StaticKey{C: e.creds[0]}, nil)
	var r market.Report
	in := limit(market.Buy, 280000, 10000000, market.GTC)
	err := c.Do(&in, &r)
	if !errors.Is(err, ErrLostResponse) || r.Status != market.Unknown || r.ClientID != in.ClientID {
		t.Fatalf("lost ack: got %v %+v", err, r)
	}
	var st market.Report
	n, err := c.Reconcile(testInst, in.ClientID, nil, func(x *market.Report) { st = *x })
	if err != nil || n != 1 || st.Status != market.New || st.OrderID.TN == 0 {
		t.Fatalf("OpenOrders by cl_ord_id: got %d %v %+v", n, err, st)
	}
	oid := st.OrderID
	n, err = c.Reconcile(testInst, in.ClientID, &oid, func(x *market.Report) { st = *x })
	if err != nil || n != 1 || st.Status != market.New || st.ClientID != in.ClientID {
		t.Fatalf("QueryOrders: got %d %v %+v", n, err, st)
	}
}
