//go:build !race

package engine

import (
	"testing"
	"time"

	"arbmm/internal/market"
	"arbmm/mm"
)

func TestPositionsApplyNoAlloc(t *testing.T) {
	ins := engInsts()
	p, _ := NewPositions(ins)
	buy := fillOf(&ins[0], market.Buy, 6000000, 100, 5, 8, "BTC")
	sell := fillOf(&ins[1], market.Sell, 6001000, 100, 6000, 7, "USDT")
	allocs := testing.AllocsPerRun(1000, func() {
		_ = p.Apply(buy)
		_ = p.Apply(sell)
		_ = p.Pair(0, 6000500)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per fill pair, want 0", allocs)
	}
}

// lastGateway keeps the last two intents sent, without allocating.
type lastGateway struct {
	n    int
	last [2]market.Intent
}

func (g *lastGateway) Send(in *market.Intent) error { g.last[g.n%2] = *in; g.n++; return nil }
func (g *lastGateway) Close() error                 { return nil }

// TestCoreNoAlloc: a book event that finds nothing, and one that trades
// (decision, risk on both legs, both sends; then both legs' expiries
// booked), allocate nothing.
func TestCoreNoAlloc(t *testing.T) {
	r := newRig(t)
	var g lastGateway
	r.c.cfg.Gateways[market.Binance], r.c.cfg.Gateways[market.Kraken] = &g, &g
	r.quote(0, 59990, 60000)
	r.quote(1, 60010, 60020)
	quiet := Event{Kind: EvBook, Inst: 1, RecvNs: r.now}
	if a := testing.AllocsPerRun(1000, func() { r.c.handle(&quiet) }); a != 0 {
		t.Errorf("a book event without a trade: %v allocations, want 0", a)
	}
	var rep Event
	settle := func() {
		for _, in := range g.last { // both legs expire unfilled: the attempt settles
			rep = Event{Kind: EvReport, Report: market.Report{Kind: market.ReportExpired, Venue: in.Venue, Inst: in.Inst, ClientID: in.ClientID, Status: market.Expired}}
			r.c.handle(&rep)
		}
	}
	r.quote(1, 60300, 60310) // trades at once
	settle()
	trade := Event{Kind: EvBook, Inst: 1, RecvNs: r.now}
	trades := 0
	a := testing.AllocsPerRun(200, func() {
		before := g.n
		r.c.handle(&trade)
		if g.n == before+2 {
			trades++
			settle()
		}
	})
	if a != 0 {
		t.Errorf("a trading decision: %v allocations, want 0", a)
	}
	if trades < 200 {
		t.Fatalf("%d of 201 runs traded: the test is not testing", trades)
	}
}

// ringGateway keeps the last 64 intents sent, without allocating.
type ringGateway struct {
	n   int
	buf [64]market.Intent
}

func (g *ringGateway) Send(in *market.Intent) error { g.buf[g.n%64] = *in; g.n++; return nil }
func (g *ringGateway) Close() error                 { return nil }

// TestCoreQuotingNoAlloc: book events that move both market makers'
// quotes (requote, cancel-replace, cancel and new), their acks, fills of
// the cross-exchange maker's quotes, the hedges they send and the hedges'
// fills allocate nothing.
func TestCoreQuotingNoAlloc(t *testing.T) {
	r := quoteRig(t, 1e6, 1000, func(c *Config) {
		c.MM = []MMSetup{mmSetup(0)}
		c.XEMM = []XEMMSetup{{Quote: 1, Hedge: 0, RefreshTicks: 1, Cfg: mm.XConfig{MinProfitBps: 3, Qty: 1000, HedgeSlippageBps: 20,
			MaxUnhedgedQty: 5000, MaxUnhedgedNs: int64(time.Hour)}}}
	})
	var g ringGateway
	r.c.cfg.Gateways[market.Binance], r.c.cfg.Gateways[market.Kraken] = &g, &g
	var ev Event
	ackAll := func(from int) {
		for k := from; k < g.n; k++ {
			x := &g.buf[k%64]
			rep := market.Report{Venue: x.Venue, Inst: x.Inst, ClientID: x.ClientID, Side: x.Side, Status: market.New, Kind: market.ReportAck}
			switch {
			case x.Action == market.ActCancel:
				rep.Kind, rep.Status = market.ReportCanceled, market.Canceled
			case x.Action == market.ActReplace:
				ev = Event{Kind: EvReport, Report: market.Report{Kind: market.ReportCanceled, Venue: x.Venue, Inst: x.Inst, ClientID: x.ClientID, Status: market.Canceled}}
				r.c.handle(&ev)
				rep.ClientID = x.NewID
			case x.TIF == market.IOC: // a hedge: filled
				rep.Kind, rep.Status, rep.Price, rep.Qty, rep.CumQty, rep.TradeID = market.ReportFill, market.Filled, x.Price, x.Qty, x.Qty, uint64(x.ClientID)
			case x.Venue == market.Kraken && x.Side == market.Buy: // the cross-exchange bid: acked, then filled
				ev = Event{Kind: EvReport, Report: rep}
				r.c.handle(&ev)
				rep.Kind, rep.Status, rep.Price, rep.Qty, rep.CumQty, rep.TradeID = market.ReportFill, market.Filled, x.Price, x.Qty, x.Qty, uint64(x.ClientID)
			}
			ev = Event{Kind: EvReport, Report: rep}
			r.c.handle(&ev)
		}
	}
	r.quote(0, 59990, 60010)
	r.quote(1, 59900, 60100)
	ackAll(0)
	flip := false
	a := testing.AllocsPerRun(500, func() {
		r.now += int64(time.Millisecond)
		b := r.books[0]
		b.Clear()
		p := market.Price(5999000)
		if flip {
			p += 300
		}
		flip = !flip
		b.Set(market.Bid, p, 1e5)
		b.Set(market.Ask, p+2000, 1e5)
		b.Commit(1, r.now, r.now)
		from := g.n
		ev = Event{Kind: EvBook, Inst: 0, RecvNs: r.now}
		r.c.handle(&ev)
		ackAll(from)
	})
	st := r.c.xemms[0].stats
	if a != 0 {
		t.Errorf("%v allocations per requote and hedge, want 0", a)
	}
	if st.Fills < 100 || st.HedgeFills < 100 || r.c.mms[0].stats.Replaces < 100 {
		t.Fatalf("not testing: %d fills, %d hedge fills, %d replaces", st.Fills, st.HedgeFills, r.c.mms[0].stats.Replaces)
	}
}
