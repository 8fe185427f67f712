package kraken

import (
	"testing"
	"time"

	"arbmm/exec"
	"arbmm/internal/market"
)

func (e *simEnv) session(t *testing.T, c *REST, rs *reports, tweak func(*Config)) *Session {
	t.Helper()
	cfg := Config{URL: e.s.AuthWSURL(), REST: c, OnReport: rs.add, OnError: func(err error) { t.Logf("session: %v", err) }}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSessionOrders(t *testing.T) {
	e := newSim(t, 1, nil)
	c := e.rest(t, exec.StaticKey{C: e.creds[0]}, nil)
	rs := newReports()
	s := e.session(t, c, rs, func(cfg *Config) { cfg.Balances = true })
	defer s.Close()
	send := func(in market.Intent) market.Intent {
		t.Helper()
		if err := s.Send(&in); err != nil {
			t.Fatal(err)
		}
		return in
	}
	// Resting limit → ack → canceled.
	a := send(limit(market.Buy, 290000, 10000000, market.GTC))
	ack := rs.wait(t, "ack", kindOf(a.ClientID, market.ReportAck))
	if ack.OrderID.TN == 0 || ack.Status != market.New {
		t.Fatalf("ack: %+v", ack)
	}
	send(market.Intent{Action: market.ActCancel, ClientID: a.ClientID})
	cx := rs.wait(t, "canceled", kindOf(a.ClientID, market.ReportCanceled))
	if cx.Status != market.Canceled || cx.Inst != testInst || cx.VenueTime == 0 {
		t.Fatalf("canceled: %+v", cx)
	}
	// Crossing limit: partial (taker) then filled (maker).
	e.other(t, market.Sell, 300000, 40000000)
	b := send(limit(market.Buy, 300000, 100000000, market.GTC))
	f1 := rs.wait(t, "first fill", kindOf(b.ClientID, market.ReportFill))
	if f1.Qty != 40000000 || f1.Price != 300000 || f1.Maker || f1.Status != market.PartiallyFilled || f1.CumQty != 40000000 || f1.FeeAsset != "USD" || f1.Fee == 0 || f1.TradeID == 0 {
		t.Fatalf("taker fill: %+v", f1)
	}
	// 0.4 × 30000 × 26 bps = 31.2 USD.
	if want := market.Pow10(int(f1.FeeExp)) * 312 / 10; f1.Fee != want {
		t.Fatalf("taker fee: got %d at %d decimals, want 31.2", f1.Fee, f1.FeeExp)
	}
	e.other(t, market.Sell, 300000, 60000000)
	f2 := rs.wait(t, "second fill", kindOf(b.ClientID, market.ReportFill))
	if f2.Qty != 60000000 || !f2.Maker || f2.Status != market.Filled || f2.CumQty != 100000000 {
		t.Fatalf("maker fill: %+v", f2)
	}
	// IOC partial: the rest is canceled or expired, whatever Kraken says.
	e.other(t, market.Sell, 301000, 30000000)
	ioc := send(limit(market.Buy, 301000, 100000000, market.IOC))
	f3 := rs.wait(t, "ioc fill", kindOf(ioc.ClientID, market.ReportFill))
	end := rs.wait(t, "ioc end", func(r *market.Report) bool {
		return r.ClientID == ioc.ClientID && (r.Kind == market.ReportCanceled || r.Kind == market.ReportExpired)
	})
	if f3.Qty != 30000000 || !end.Status.Final() || end.CumQty != 30000000 {
		t.Fatalf("ioc: fill %+v end %+v", f3, end)
	}
	// Market.
	e.other(t, market.Sell, 302000, 50000000)
	m := send(market.Intent{Action: market.ActNew, Inst: testInst, Side: market.Buy, Type: market.Market, Qty: 20000000, ClientID: nextID()})
	fm := rs.wait(t, "market fill", kindOf(m.ClientID, market.ReportFill))
	if fm.Price != 302000 || fm.Status != market.Filled {
		t.Fatalf("market fill: %+v", fm)
	}
	// Post-only that would take: expired (canceled "Post only order").
	p := send(market.Intent{Action: market.ActNew, Inst: testInst, Side: market.Buy, Type: market.LimitMaker, Price: 302000, Qty: 10000000, ClientID: nextID()})
	pe := rs.wait(t, "post-only", kindOf(p.ClientID, market.ReportExpired))
	if pe.Reason != postOnlyReason {
		t.Fatalf("post-only: %+v", pe)
	}
	// A reject carries the text and the request.
	big := send(limit(market.Buy, 290000, 1e12, market.GTC))
	rj := rs.wait(t, "reject", kindOf(big.ClientID, market.ReportReject))
	if rj.Status != market.Rejected || rj.Req != market.ActNew || rj.Reason != "EOrder:Insufficient funds" {
		t.Fatalf("reject: %+v", rj)
	}
	// CancelAll.
	var ids []market.ClientID
	for range 3 {
		ids = append(ids, send(limit(market.Sell, 400000, 10000000, market.GTC)).ClientID)
	}
	for _, id := range ids {
		rs.wait(t, "ack", kindOf(id, market.ReportAck))
	}
	send(market.Intent{Action: market.ActCancelAll})
	for _, id := range ids {
		rs.wait(t, "cancel-all", kindOf(id, market.ReportCanceled))
	}
	if e.open() != 0 {
		t.Fatalf("open after cancel_all: %d", e.open())
	}
}

// TestSessionKeyRotationAndSnapshot: a second session (new token, other
// key) sees the open orders in the executions snapshot.
func TestSessionKeyRotationAndSnapshot(t *testing.T) {
	e := newSim(t, 2, nil)
	var k rotKey
	k.p.Store(e.creds[0])
	c := e.rest(t, &k, nil)
	rs := newReports()
	s := e.session(t, c, rs, nil)
	a := limit(market.Buy, 290000, 10000000, market.GTC)
	if err := s.Send(&a); err != nil {
		t.Fatal(err)
	}
	rs.wait(t, "ack", kindOf(a.ClientID, market.ReportAck))
	s.Abort()
	k.p.Store(e.creds[1])
	rs2 := newReports()
	s2 := e.session(t, c, rs2, nil)
	defer s2.Close()
	st := rs2.wait(t, "snapshot", kindOf(a.ClientID, market.ReportStatus))
	if st.Status != market.New || st.Inst != testInst {
		t.Fatalf("snapshot: %+v", st)
	}
}

// TestDeadMansSwitch: the heartbeat keeps the switch armed past its
// timeout; a session dropped without Close has its orders canceled by the
// venue once the timeout passes; Close cancels and disarms.
func TestDeadMansSwitch(t *testing.T) {
	e := newSim(t, 1, nil)
	c := e.rest(t, exec.StaticKey{C: e.creds[0]}, nil)
	rs := newReports()
	s := e.session(t, c, rs, func(cfg *Config) { cfg.DeadMan = time.Second; cfg.Heartbeat = 200 * time.Millisecond })
	for range 2 {
		in := limit(market.Buy, 290000, 10000000, market.GTC)
		if err := s.Send(&in); err != nil {
			t.Fatal(err)
		}
		rs.wait(t, "ack", kindOf(in.ClientID, market.ReportAck))
	}
	first := s.Trigger()
	if first == 0 {
		t.Fatal("switch not armed")
	}
	// Re-armed past the first deadline: the orders are still there.
	waitFor(t, "a re-arm past the first trigger", 5*time.Second, func() bool { return s.Trigger() > first+int64(time.Second) })
	if time.Now().UnixNano() < first {
		t.Fatal("re-armed before the first trigger passed")
	}
	if e.open() != 2 {
		t.Fatalf("open while the heartbeat runs: got %d, want 2", e.open())
	}
	s.Abort() // the engine dies: no cancel_all, no disarm
	waitFor(t, "the venue to cancel after the timeout", 5*time.Second, func() bool { return e.open() == 0 })

	// Close: cancel_all then disarm.
	s2 := e.session(t, c, rs, func(cfg *Config) { cfg.DeadMan = time.Second; cfg.Heartbeat = 200 * time.Millisecond })
	in := limit(market.Buy, 290000, 10000000, market.GTC)
	if err := s2.Send(&in); err != nil {
		t.Fatal(err)
	}
	rs.wait(t, "ack", kindOf(in.ClientID, market.ReportAck))
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if e.open() != 0 {
		t.Fatalf("open after Close: %d", e.open())
	}
	if err := s2.Send(&in); err != ErrClosed {
		t.Fatalf("Send after Close: got %v", err)
	}
}

// TestSessionRateLimit: the shared trading counter refuses locally.
func TestSessionRateLimit(t *testing.T) {
	e := newSim(t, 1, nil)
	c := e.rest(t, exec.StaticKey{C: e.creds[0]}, func(c *RESTConfig) { c.TradingMax, c.TradingDecayPerSec = 5, 0.01 })
	rs := newReports()
	s := e.session(t, c, rs, nil)
	defer s.Close()
	sent := 0
	for range 10 {
		in := limit(market.Buy, 290000, 10000000, market.GTC)
		switch err := s.Send(&in); err {
		case nil:
			sent++
		case ErrRateLimited:
		default:
			t.Fatal(err)
		}
	}
	if sent == 0 || sent > 5 {
		t.Fatalf("sent %d of 10 with a trading max of 5", sent)
	}
}
