package engine

import (
	"errors"
	"testing"
	"time"

	"arbmm/book"
	"arbmm/exec/risk"
	"arbmm/internal/market"
	"arbmm/mm"
)

// quoteRig is a core with no arbitrage, the strategies set builds, and
// risk's order rate perSec with burst on every instrument.
func quoteRig(t *testing.T, perSec float64, burst int, set func(*Config)) *coreRig {
	t.Helper()
	ins := engInsts()
	ins[0].Tick, ins[0].Step, ins[0].MakerFeeBps, ins[0].TakerFeeBps = 1, 1, 2, 4   // Binance: B
	ins[1].Tick, ins[1].Step, ins[1].MakerFeeBps, ins[1].TakerFeeBps = 10, 1, 0, 10 // Kraken: A
	return buildRig(t, ins, risk.Limits{MaxOrderQty: "1", MaxOrderNotional: "1000000", PriceBandBps: 500, MaxOpenOrders: 20,
		MaxOrdersPerSec: perSec, OrderBurst: burst, StaleAfter: time.Hour}, time.Hour, func(c *Config) {
		c.CrossOff = true
		set(c)
	})
}

// ack acknowledges every new order and replace sent on gateway k since
// from (as the venue would), and returns how many intents there were.
func (r *coreRig) ack(k, from int) int {
	sent := r.gw[k].sent[from:]
	for _, x := range sent {
		switch x.Action {
		case market.ActNew:
			r.report(market.Report{Kind: market.ReportAck, Venue: x.Venue, Inst: x.Inst, ClientID: x.ClientID, Side: x.Side, Status: market.New})
		case market.ActReplace:
			r.report(market.Report{Kind: market.ReportCanceled, Venue: x.Venue, Inst: x.Inst, ClientID: x.ClientID, Side: x.Side, Status: market.Canceled})
			r.report(market.Report{Kind: market.ReportAck, Venue: x.Venue, Inst: x.Inst, ClientID: x.NewID, Side: x.Side, Status: market.New})
		case market.ActCancel:
			r.report(market.Report{Kind: market.ReportCanceled, Venue: x.Venue, Inst: x.Inst, ClientID: x.ClientID, Side: x.Side, Status: market.Canceled})
		}
	}
	return len(sent)
}

func (r *coreRig) report(rep market.Report) {
	rep.RecvTime = r.now
	r.c.handle(&Event{Kind: EvReport, Report: rep})
}

// fill reports a full fill of order id (side, price, qty) on gateway k's
// instrument.
func (r *coreRig) fill(in *market.Instrument, id market.ClientID, side market.Side, price market.Price, qty market.Qty) {
	r.report(market.Report{Kind: market.ReportFill, Venue: in.Venue, Inst: in, ClientID: id, Side: side, Price: price, Qty: qty,
		CumQty: qty, TradeID: uint64(id), Status: market.Filled})
}

func mmSetup(inst int) MMSetup {
	return MMSetup{Inst: inst, RefreshTicks: 1, Quoter: mm.QuoterConfig{Gamma: 0.001, HorizonSec: 60, QMax: 0.5, Sigma2Prior: 81, KPrior: 0.5,
		MinSpreadBps: 2, Layers: 1, LayerQty: []market.Qty{1000}, StaleAfterNs: int64(time.Hour)}}
}

// TestCoreStaleBookPullsQuotesInOneEvent: the book event that marks a book
// stale cancels every resting quote on it, in that very event, for the
// market maker on it and for the cross-exchange market maker priced from
// it.
func TestCoreStaleBookPullsQuotesInOneEvent(t *testing.T) {
	r := quoteRig(t, 1000, 10, func(c *Config) {
		c.MM = []MMSetup{mmSetup(0)}
		c.XEMM = []XEMMSetup{{Quote: 1, Hedge: 0, RefreshTicks: 1, Cfg: mm.XConfig{MinProfitBps: 3, Qty: 1000, HedgeSlippageBps: 20,
			MaxUnhedgedQty: 5000, MaxUnhedgedNs: int64(time.Second)}}}
	})
	r.quote(0, 59990, 60010)
	r.quote(1, 59900, 60100)
	r.ack(0, 0)
	r.ack(1, 0)
	bids, asks := r.c.mms[0].m.Resting()
	xb, xa := r.c.xemms[0].m.Resting()
	if bids != 1 || asks != 1 || xb != 1 || xa != 1 {
		t.Fatalf("resting: mm %d/%d, xemm %d/%d, want two-sided", bids, asks, xb, xa)
	}
	n0, n1 := len(r.gw[0].sent), len(r.gw[1].sent)
	r.books[0].SetState(book.Stale)
	r.c.handle(&Event{Kind: EvBook, Inst: 0, RecvNs: r.now})
	cancels := func(k, from int) int {
		n := 0
		for _, x := range r.gw[k].sent[from:] {
			if x.Action != market.ActCancel {
				t.Errorf("gateway %d sent %v on a stale book", k, x.Action)
			}
			n++
		}
		return n
	}
	if got := cancels(0, n0); got != 2 {
		t.Errorf("market maker: %d cancels in the stale book's event, want 2", got)
	}
	if got := cancels(1, n1); got != 2 {
		t.Errorf("cross-exchange market maker: %d cancels on A when B went stale, want 2", got)
	}
}

// TestCoreQuoteRefreshWithinRate: a market maker requoting on every one of
// 3000 book events (the price walks 1 tick a millisecond) sends no more new
// orders and replaces in any second than risk's rate allows (rate + burst),
// and still keeps up with the market.
func TestCoreQuoteRefreshWithinRate(t *testing.T) {
	const perSec, burst = 8, 4
	r := quoteRig(t, perSec, burst, func(c *Config) { c.MM = []MMSetup{mmSetup(0)} })
	var times []int64
	from := 0
	for i := 0; i < 3000; i++ {
		r.now += int64(time.Millisecond)
		p := 60000 + float64(i%400)*0.5
		r.quote(0, p-10, p+10)
		for _, x := range r.gw[0].sent[from:] {
			if x.Action == market.ActNew || x.Action == market.ActReplace {
				times = append(times, r.now)
			}
		}
		from += r.ack(0, from)
		if i%100 == 0 {
			r.tick()
		}
	}
	if len(times) < 2*perSec {
		t.Fatalf("%d quotes in 3 s: the maker stopped refreshing", len(times))
	}
	for i := range times {
		n := 0
		for j := i; j < len(times) && times[j]-times[i] < int64(time.Second); j++ {
			n++
		}
		if n > perSec+burst {
			t.Fatalf("%d new orders and replaces in the second from %d, limit %d", n, times[i], perSec+burst)
		}
	}
	t.Logf("%d new orders and replaces over 3 s", len(times))
}

// TestCoreXEMMHedgesEveryFill: a fill of a quote on Kraken (A) sends its
// hedge on Binance (B) in the same event: IOC, the other side, the same
// quantity; the exposure is flat once it fills; a fill B's stale book
// cannot hedge is retried when B is back, and one left past its time cap
// trips the kill switch.
func TestCoreXEMMHedgesEveryFill(t *testing.T) {
	r := quoteRig(t, 1000, 10, func(c *Config) {
		c.XEMM = []XEMMSetup{{Quote: 1, Hedge: 0, RefreshTicks: 1, Cfg: mm.XConfig{MinProfitBps: 6, Qty: 2000, HedgeSlippageBps: 20,
			MaxUnhedgedQty: 5000, MaxUnhedgedNs: int64(time.Second)}}}
	})
	a, b := &r.insts[1], &r.insts[0]
	r.quote(0, 59990, 60010)
	r.quote(1, 59900, 60100)
	if n := r.ack(1, 0); n != 2 {
		t.Fatalf("%d quotes on A, want a bid and an ask", n)
	}
	var bid market.Intent
	for _, x := range r.gw[1].sent {
		if x.Side == market.Buy {
			bid = x
		}
		if x.Type != market.LimitMaker || x.Qty != 2000 {
			t.Fatalf("quote %+v: want post-only, 0.02", x)
		}
	}
	// B's bid 59990 less 0 + 4 + 6 bps, down to A's 0.10 tick: 59930.00.
	if bid.Price != 5993000 {
		t.Fatalf("bid on A %d, want 5993000", bid.Price)
	}
	n0 := len(r.gw[0].sent)
	r.fill(a, bid.ClientID, market.Buy, bid.Price, bid.Qty)
	if len(r.gw[0].sent) != n0+1 {
		t.Fatalf("%d hedges in the fill's event, want 1", len(r.gw[0].sent)-n0)
	}
	h := r.gw[0].sent[n0]
	if h.Side != market.Sell || h.TIF != market.IOC || h.Qty != 2000 || h.Venue != market.Binance {
		t.Fatalf("hedge %+v", h)
	}
	r.fill(b, h.ClientID, market.Sell, 5999000, 2000)
	r.tick()
	st := r.c.Status()
	x := st.XEMM[0]
	if x.Fills != 1 || x.HedgeFills != 1 || x.Unhedged != 0 || x.FilledQty != 0.02 || x.HedgedQty != 0.02 {
		t.Fatalf("after one hedged fill: %+v", x)
	}
	// Bought 0.02 at 59930, sold at 59990: 1.20 USDT before fees.
	if d := x.Edge - 1.2; d > 1e-9 || d < -1e-9 {
		t.Errorf("edge %v, want 1.2", x.Edge)
	}
	// The next fill comes while B is stale: no hedge until B is back.
	r.ack(1, 0)
	var ask market.Intent
	for _, x := range r.gw[1].sent {
		if x.Side == market.Sell && x.Action == market.ActNew {
			ask = x
		}
	}
	r.books[0].SetState(book.Stale)
	r.c.handle(&Event{Kind: EvBook, Inst: 0, RecvNs: r.now})
	n0 = len(r.gw[0].sent)
	r.fill(a, ask.ClientID, market.Sell, ask.Price, ask.Qty)
	if len(r.gw[0].sent) != n0 {
		t.Fatalf("hedged on a stale book: %+v", r.gw[0].sent[n0:])
	}
	r.now += int64(100 * time.Millisecond)
	r.quote(0, 59990, 60010) // B live again
	r.tick()
	if len(r.gw[0].sent) != n0+1 || r.gw[0].sent[n0].Side != market.Buy || r.gw[0].sent[n0].Qty != 2000 {
		t.Fatalf("no retry once B was back: %+v", r.gw[0].sent[n0:])
	}
	// That hedge never fills: it expires; B goes stale; the exposure
	// passes its second and the kill switch trips.
	h = r.gw[0].sent[n0]
	r.report(market.Report{Kind: market.ReportExpired, Venue: b.Venue, Inst: b, ClientID: h.ClientID, Side: h.Side, Status: market.Expired})
	r.books[0].SetState(book.Stale)
	r.c.handle(&Event{Kind: EvBook, Inst: 0, RecvNs: r.now})
	r.now += int64(2 * time.Second)
	r.tick()
	if !r.c.kill.Active() || r.c.kill.Reason() != risk.Unhedged {
		t.Fatalf("kill switch %v (%v) with an exposure past its cap", r.c.kill.Active(), r.c.kill.Reason())
	}
	if st = r.c.Status(); st.XEMM[0].Breaches != 1 || st.Stats.Breaches != 1 {
		t.Fatalf("breaches %d / %d, want 1", st.XEMM[0].Breaches, st.Stats.Breaches)
	}
}

// refusingGateway records what the core sends and refuses cancels while
// refuse is set (as a venue's local rate-limit mirror would).
type refusingGateway struct {
	fakeGateway
	refuse bool
}

func (g *refusingGateway) Send(in *market.Intent) error {
	if g.refuse && in.Action == market.ActCancel {
		return errRefused
	}
	return g.fakeGateway.Send(in)
}

var errRefused = errors.New("rate limit (local mirror): not sent")

// TestCoreCancelNotSentRetried: a quote whose cancel the gateway refused
// to send is live again for the manager, and its cancel goes again after
// the next tick (a stuck slot would leave a quote resting that was meant
// to be gone); meanwhile the manager is held, and the local refusals do
// not count toward the kill switch's reject burst.
func TestCoreCancelNotSentRetried(t *testing.T) {
	r := quoteRig(t, 1000, 10, func(c *Config) { c.MM = []MMSetup{mmSetup(0)} })
	g := &refusingGateway{}
	r.c.cfg.Gateways[market.Binance] = g
	r.gw[0] = &g.fakeGateway
	r.quote(0, 59990, 60010)
	r.ack(0, 0)
	g.refuse = true
	r.books[0].SetState(book.Stale)
	r.c.handle(&Event{Kind: EvBook, Inst: 0, RecvNs: r.now})
	if b, a := r.c.mms[0].m.Resting(); b != 1 || a != 1 {
		t.Fatalf("resting %d/%d after refused cancels, want both still live", b, a)
	}
	// Held until the next tick: no storm of refusals on every event.
	n := len(g.sent)
	r.c.handle(&Event{Kind: EvBook, Inst: 0, RecvNs: r.now})
	if st := r.c.Status(); len(g.sent) != n || r.c.stats.SendErrors != 2 || r.c.kill.Active() {
		t.Fatalf("sent %d, send errors %d, killed %v while held (status %+v)", len(g.sent)-n, r.c.stats.SendErrors, r.c.kill.Active(), st.Stats)
	}
	g.refuse = false
	r.now += int64(r.c.cfg.Tick)
	r.c.handle(&Event{Kind: EvBook, Inst: 0, RecvNs: r.now})
	if got := len(g.sent) - n; got != 2 || g.sent[n].Action != market.ActCancel || g.sent[n+1].Action != market.ActCancel {
		t.Fatalf("after the refusal: %+v, want both cancels again", g.sent[n:])
	}
}

// TestCoreHedgesAfterKill: a quote filled on A just as the kill switch
// trips (the cancel-all crossed the fill) is still hedged on B, and the
// hedge is the only new order that goes out.
func TestCoreHedgesAfterKill(t *testing.T) {
	r := quoteRig(t, 1000, 10, func(c *Config) {
		c.XEMM = []XEMMSetup{{Quote: 1, Hedge: 0, RefreshTicks: 1, Cfg: mm.XConfig{MinProfitBps: 6, Qty: 2000, HedgeSlippageBps: 20,
			MaxUnhedgedQty: 5000, MaxUnhedgedNs: int64(time.Second)}}}
	})
	r.quote(0, 59990, 60010)
	r.quote(1, 59900, 60100)
	r.ack(1, 0)
	var bid market.Intent
	for _, x := range r.gw[1].sent {
		if x.Side == market.Buy {
			bid = x
		}
	}
	r.c.kill.Trigger(risk.Operator, "test", r.now)
	r.tick() // cancel-all on both venues
	n0, n1 := len(r.gw[0].sent), len(r.gw[1].sent)
	r.fill(&r.insts[1], bid.ClientID, market.Buy, bid.Price, bid.Qty)
	if got := r.gw[0].sent[n0:]; len(got) != 1 || got[0].Side != market.Sell || got[0].Qty != 2000 || !got[0].Hedge {
		t.Fatalf("after the kill switch: %+v, want the hedge", got)
	}
	r.quote(1, 59800, 60200) // a requote wanted: nothing new on A
	for _, x := range r.gw[1].sent[n1:] {
		if x.Action == market.ActNew || x.Action == market.ActReplace {
			t.Fatalf("a quote sent after the kill switch: %+v", x)
		}
	}
}
