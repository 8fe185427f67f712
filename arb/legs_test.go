package arb

import (
	"testing"

	"arbmm/internal/market"
)

func newLegs(t *testing.T) *Legs {
	t.Helper()
	l, err := NewLegs(LegsConfig{MaxHedgeSlippageBps: 10, MaxUnhedgedNotional: 50000 * 1e7, MaxUnhedgedTime: 5e9, MaxHedges: 2})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func report(kind market.ReportKind, id market.ClientID, qty market.Qty, status market.OrderStatus) *market.Report {
	return &market.Report{Kind: kind, ClientID: id, Qty: qty, Status: status}
}

// ids hands out client ids from 100.
func ids() func() market.ClientID {
	n := market.ClientID(99)
	return func() market.ClientID { n++; return n }
}

func TestLegsBalanced(t *testing.T) {
	l := newLegs(t)
	legs := walkLegs()
	op := Opportunity{Buy: 0, Sell: 1, Qty: 100000, BuyPrice: 6001000}
	if err := l.Open(&op, 1, 2, 0); err != nil {
		t.Fatal(err)
	}
	next := ids()
	var out []market.Intent
	out = l.OnReport(report(market.ReportFill, 1, 100000, market.Filled), legs, 1, next, out)
	out = l.OnReport(report(market.ReportFill, 2, 60000, market.PartiallyFilled), legs, 1, next, out)
	out = l.OnReport(report(market.ReportFill, 2, 40000, market.Filled), legs, 2, next, out)
	out = l.OnReport(report(market.ReportAck, 77, 0, market.New), legs, 2, next, out) // not ours
	if len(out) != 0 || l.InFlight() != 0 || l.Stats.Balanced != 1 || l.Stats.Residuals != 0 {
		t.Fatalf("out %v, in flight %d, stats %+v", out, l.InFlight(), l.Stats)
	}
}

func TestLegsHedgeLong(t *testing.T) {
	l := newLegs(t)
	legs := walkLegs() // best bids: Binance 59990, Kraken 60300
	op := Opportunity{Buy: 0, Sell: 1, Qty: 100000, BuyPrice: 6001000}
	l.Open(&op, 1, 2, 0)
	next := ids()
	var out []market.Intent
	out = l.OnReport(report(market.ReportFill, 1, 100000, market.Filled), legs, 1, next, out)
	out = l.OnReport(report(market.ReportFill, 2, 30000, market.PartiallyFilled), legs, 1, next, out)
	out = l.OnReport(report(market.ReportExpired, 2, 0, market.Expired), legs, 2, next, out)
	// Long 0.7 BTC: sold on Kraken (the best bid, 60300) at most 10 bps
	// lower: 60300 − 60.30 = 60239.70.
	if len(out) != 1 {
		t.Fatalf("intents %+v, want one hedge", out)
	}
	h := out[0]
	if h.Side != market.Sell || h.Venue != market.Kraken || h.Qty != 70000 || h.TIF != market.IOC || h.Price != 6023970 || h.ClientID != 100 {
		t.Fatalf("hedge %+v", h)
	}
	if got := l.Unhedged(); got != 70000 {
		t.Errorf("unhedged %d, want 70000", got)
	}
	out = l.OnReport(report(market.ReportFill, 100, 70000, market.Filled), legs, 3, next, out[:0])
	if len(out) != 0 || l.InFlight() != 0 || l.Stats.Residuals != 1 || l.Stats.Hedges != 1 || l.Stats.HedgeFills != 1 || l.Stats.Breaches != 0 {
		t.Fatalf("after the hedge filled: out %v in flight %d stats %+v", out, l.InFlight(), l.Stats)
	}
}

func TestLegsHedgeShortRetriesThenBreach(t *testing.T) {
	l := newLegs(t)
	legs := walkLegs() // best asks: Binance 60000, Kraken 60400
	op := Opportunity{Buy: 0, Sell: 1, Qty: 50000, BuyPrice: 6000000}
	l.Open(&op, 1, 2, 0)
	next := ids()
	var out []market.Intent
	out = l.OnReport(report(market.ReportReject, 1, 0, market.Rejected), legs, 1, next, out)
	out = l.OnReport(report(market.ReportFill, 2, 50000, market.Filled), legs, 1, next, out)
	// Short 0.5: bought on Binance (the best ask) up to 60000 + 60.00.
	if len(out) != 1 || out[0].Side != market.Buy || out[0].Venue != market.Binance || out[0].Price != 6006000 || out[0].Qty != 50000 {
		t.Fatalf("hedge %+v", out)
	}
	// The hedge expires unfilled: the second and last goes out at once.
	out = l.OnReport(report(market.ReportExpired, out[0].ClientID, 0, market.Expired), legs, 2, next, out[:0])
	if len(out) != 1 || out[0].ClientID != 101 {
		t.Fatalf("second hedge %+v", out)
	}
	out = l.OnReport(report(market.ReportExpired, 101, 0, market.Expired), legs, 3, next, out[:0])
	if len(out) != 0 || l.InFlight() != 0 || l.Stats.Breaches != 1 || l.Stats.Abandoned != 1 {
		t.Fatalf("after two failed hedges: out %v in flight %d stats %+v", out, l.InFlight(), l.Stats)
	}
}

func TestLegsTimeCap(t *testing.T) {
	l := newLegs(t)
	legs := walkLegs()
	for i := range legs {
		legs[i].BaseFree = 0 // nowhere to sell: the residual waits
	}
	op := Opportunity{Buy: 0, Sell: 1, Qty: 10000, BuyPrice: 6000000}
	l.Open(&op, 1, 2, 0)
	next := ids()
	out := l.OnReport(report(market.ReportFill, 1, 10000, market.Filled), legs, 1, next, nil)
	out = l.OnReport(report(market.ReportCanceled, 2, 0, market.Canceled), legs, 1, next, out)
	if len(out) != 0 || l.Stats.Breaches != 0 {
		t.Fatalf("out %v stats %+v", out, l.Stats)
	}
	out = l.OnTimer(legs, 4e9, next, out)
	if l.Stats.Breaches != 0 {
		t.Fatal("breach before the time cap")
	}
	out = l.OnTimer(legs, 6e9, next, out)
	if l.Stats.Breaches != 1 || l.InFlight() != 1 || len(out) != 0 {
		t.Fatalf("after the time cap: stats %+v in flight %d out %v", l.Stats, l.InFlight(), out)
	}
}

func TestLegsBusy(t *testing.T) {
	l := newLegs(t)
	op := Opportunity{Qty: 1}
	for i := 0; i < MaxAttempts; i++ {
		if err := l.Open(&op, market.ClientID(2*i+1), market.ClientID(2*i+2), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Open(&op, 999, 1000, 0); err != ErrBusy {
		t.Fatalf("got %v, want ErrBusy", err)
	}
}

// TestLegsUnsettledBreach: a leg that never reports is a breach once the
// time cap passes (the attempt stays, waiting for its report).
func TestLegsUnsettledBreach(t *testing.T) {
	l := newLegs(t)
	legs := walkLegs()
	op := Opportunity{Buy: 0, Sell: 1, Qty: 10000, BuyPrice: 6000000}
	l.Open(&op, 1, 2, 0)
	next := ids()
	l.OnReport(report(market.ReportFill, 1, 10000, market.Filled), legs, 1, next, nil)
	l.OnTimer(legs, 4e9, next, nil)
	if l.Stats.Breaches != 0 {
		t.Fatal("breach before the cap")
	}
	l.OnTimer(legs, 6e9, next, nil)
	if l.Stats.Breaches != 1 || l.InFlight() != 1 {
		t.Fatalf("stats %+v in flight %d", l.Stats, l.InFlight())
	}
}

// TestLegsRefusedHedge: a hedge the engine could not send is not in
// flight: the timer sends it again, and it does not count.
func TestLegsRefusedHedge(t *testing.T) {
	l := newLegs(t)
	legs := walkLegs()
	op := Opportunity{Buy: 0, Sell: 1, Qty: 50000, BuyPrice: 6000000}
	l.Open(&op, 1, 2, 0)
	next := ids()
	out := l.OnReport(report(market.ReportFill, 1, 50000, market.Filled), legs, 1, next, nil)
	out = l.OnReport(report(market.ReportExpired, 2, 0, market.Expired), legs, 1, next, out)
	if len(out) != 1 {
		t.Fatalf("hedge %v", out)
	}
	l.Refused(out[0].ClientID)
	if l.Stats.Hedges != 0 {
		t.Fatalf("a refused hedge counted: %+v", l.Stats)
	}
	out = l.OnTimer(legs, 2, next, out[:0])
	if len(out) != 1 || l.Stats.Hedges != 1 {
		t.Fatalf("the timer did not resend the hedge: %v %+v", out, l.Stats)
	}
}
