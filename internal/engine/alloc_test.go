//go:build !race

package engine

import (
	"testing"

	"arbmm/internal/market"
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
