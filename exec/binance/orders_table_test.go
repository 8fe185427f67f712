package binance

import (
	"sync"
	"testing"

	"arbmm/exec"
	"arbmm/internal/market"
)

// TestOrderTableFromSession drives the venue-neutral order table with the
// reports a real session decodes from the simulated venue (user-data
// stream on): each order ends in the state the venue gave it, with the
// filled quantity and fees of its fills.
func TestOrderTableFromSession(t *testing.T) {
	e := newSim(t, false, nil)
	rep := newReports(t)
	var mu sync.Mutex
	table := exec.NewOrders(64, 64)
	fills := map[market.ClientID]market.Qty{}
	on := func(r *market.Report) {
		mu.Lock()
		if r.Kind == market.ReportFill {
			fills[r.ClientID] += r.Qty
		}
		_, _, _ = table.Apply(r)
		mu.Unlock()
		rep.on(r)
	}
	var ring keyRing
	ring.p.Store(e.hmacKey("k"))
	s := dialSim(t, e, &ring, rep, func(c *Config) { c.OnReport = on })
	place := func(in market.Intent) market.Intent {
		t.Helper()
		mu.Lock()
		if _, err := table.New(&in, 0); err != nil {
			t.Fatal(err)
		}
		mu.Unlock()
		return send(t, s, in)
	}
	resting := place(limit(market.Buy, market.GTC, 5000000, 1000))
	rep.wait("ack", is(market.ReportAck, resting.ClientID, market.New))
	mu.Lock()
	table.CancelSent(resting.ClientID, 1)
	mu.Unlock()
	send(t, s, market.Intent{Action: market.ActCancel, Inst: btc, ClientID: resting.ClientID})
	rep.wait("canceled", is(market.ReportCanceled, resting.ClientID, market.Canceled))

	e.rest(market.Sell, 6000000, 400)
	crossing := place(limit(market.Buy, market.GTC, 6000000, 1000))
	rep.wait("partial", is(market.ReportFill, crossing.ClientID, market.PartiallyFilled))
	e.rest(market.Sell, 6000000, 600)
	rep.wait("filled", is(market.ReportFill, crossing.ClientID, market.Filled))

	e.rest(market.Sell, 6100000, 300)
	ioc := place(limit(market.Buy, market.IOC, 6100000, 1000))
	rep.wait("IOC expired", func(r *market.Report) bool { return r.Kind == market.ReportExpired && r.ClientID == ioc.ClientID })

	maker := market.Intent{Action: market.ActNew, Inst: btc, Side: market.Buy, Type: market.LimitMaker, Price: 6300000, Qty: 100, ClientID: nextID()}
	e.rest(market.Sell, 6300000, 100)
	maker = place(maker)
	rep.wait("maker rejected", is(market.ReportReject, maker.ClientID, market.Rejected))

	mu.Lock()
	defer mu.Unlock()
	for _, c := range []struct {
		id     market.ClientID
		status market.OrderStatus
		filled market.Qty
	}{
		{resting.ClientID, market.Canceled, 0},
		{crossing.ClientID, market.Filled, 1000},
		{ioc.ClientID, market.Expired, 300},
		{maker.ClientID, market.Rejected, 0},
	} {
		o, ok := table.Get(c.id)
		if !ok {
			t.Fatalf("order %v not in the table", c.id)
		}
		if o.Status != c.status || o.Filled != c.filled || o.Filled != fills[c.id] {
			t.Errorf("order %v: %v filled %d (fills %d), want %v filled %d", c.id, o.Status, o.Filled, fills[c.id], c.status, c.filled)
		}
		if o.Filled > 0 && (o.Fee <= 0 || string(o.FeeAsset[:o.FeeLen]) != "BTC") {
			t.Errorf("order %v: fee %d %q, want a BTC fee", c.id, o.Fee, o.FeeAsset[:o.FeeLen])
		}
	}
	if st := table.Stats(); st.Unknown != 0 {
		t.Errorf("reports for orders the table does not know: %+v", st)
	}
}
