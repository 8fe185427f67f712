package engine

import (
	"fmt"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"arbmm/exec/risk"
	"arbmm/internal/market"
	"arbmm/mm"
)

// XEMMSetup is one cross-exchange market maker: the instrument quoted
// (A, an index into Instruments), the one hedged on (B), the pricing and
// caps, and the quote refresh tolerance.
type XEMMSetup struct {
	Quote, Hedge int
	Cfg          mm.XConfig
	RefreshTicks int
}

// maxHedges bounds the hedge orders of one cross-exchange market maker in
// flight at once (each fill on A sends at most one).
const maxHedges = 16

// hedgeOrder is a hedge on B in flight: what it asked for, what filled,
// and when the fill on A that caused it was received.
type hedgeOrder struct {
	id     market.ClientID
	side   market.Side
	qty    market.Qty
	filled market.Qty
	fillAt int64
}

// xemmGroup is a cross-exchange market maker in the core.
type xemmGroup struct {
	a, b   int
	x      *mm.XEMM
	m      *mm.Manager
	ladder mm.Ladder
	hedges [maxHedges]hedgeOrder
	nh     int
	hold   int64          // no requote before (a send was refused)
	react  *hdr.Histogram // fill on A received → hedge handed to B's gateway
	done   *hdr.Histogram // fill on A received → last of its hedge filled on B
	stats  XEMMStats
}

// XEMMStats are one cross-exchange market maker's counters.
type XEMMStats struct {
	QuoteStats
	Quote, Hedge       string // venue:symbol of A and B
	Fills              uint64 // fills of quotes on A
	BidFills, AskFills uint64
	FilledQty          float64 // base filled on A
	HedgedQty          float64 // base filled by hedges on B
	Hedges             uint64  // hedge orders sent on B
	HedgeFills         uint64
	HedgeRefused       uint64 // hedges risk refused (retried on the timer)
	Breaches           uint64 // exposures past their caps (the kill switch trips)
	// Edge is Σ (sell price − buy price) × qty over the fills on A and
	// their hedges on B, before fees, in the quote: the spread the
	// strategy captured. Fees are both venues' fees (quote units); PnL
	// is Edge − Fees + the exposure at A's mid, as of the last tick.
	Edge, Fees, PnL float64
	// Unhedged is the net base position of A and B now; MaxUnhedged the
	// largest absolute one seen (both in base units).
	Unhedged, MaxUnhedged float64
	// HedgesOpen are the hedge orders on B not yet final.
	HedgesOpen int
	// Hedge latency, ns: fill on A received → hedge sent (p50, p99, max)
	// and → hedged on B (p50, max).
	HedgeSentP50, HedgeSentP99, HedgeSentMax int64
	HedgedP50, HedgedMax                     int64
}

// QuoteStats count a quoting strategy's order traffic.
type QuoteStats struct {
	Quotes, Replaces, Cancels uint64
	Pulls                     uint64 // requotes with every quote pulled
}

func (c *Core) addXEMM(xs XEMMSetup) error {
	for _, i := range [2]int{xs.Quote, xs.Hedge} {
		if i < 0 || i >= len(c.ins) || c.cfg.Gateways[c.ins[i].Venue] == nil {
			return fmt.Errorf("engine: cross-exchange market maker on instrument %d: not traded", i)
		}
	}
	a, b := &c.ins[xs.Quote], &c.ins[xs.Hedge]
	x, err := mm.NewXEMM(xs.Cfg, a, b)
	if err != nil {
		return fmt.Errorf("engine: %s on %s hedged on %s: %w", a.Pair, a.Venue, b.Venue, err)
	}
	g := xemmGroup{a: xs.Quote, b: xs.Hedge, x: x, m: mm.NewManager(a, xs.RefreshTicks, a.Venue == market.Binance),
		react: hdr.New(1, 60e9, 3), done: hdr.New(1, 60e9, 3)}
	g.stats.Quote = a.Venue.String() + ":" + a.Symbol
	g.stats.Hedge = b.Venue.String() + ":" + b.Symbol
	c.xOf[xs.Quote] = append(c.xOf[xs.Quote], len(c.xemms))
	c.xOf[xs.Hedge] = append(c.xOf[xs.Hedge], len(c.xemms))
	c.xemms = append(c.xemms, g)
	return nil
}

// onXEMM requotes a cross-exchange market maker from A's and B's tops
// (either changed): pulled when a book is not Live, the exposure is past
// its caps, or the kill switch is on.
func (c *Core) onXEMM(g *xemmGroup) {
	if c.books[g.a] == nil || c.books[g.b] == nil {
		return
	}
	var ok bool
	g.ladder, ok = g.x.Quote(&c.tops[g.a], &c.tops[g.b], c.now)
	c.manage(g.m, &c.ins[g.a], &g.ladder, !ok || c.kill.Active(), &g.stats.QuoteStats, &g.hold)
}

// manage brings a manager's resting quotes in line with the wanted ladder
// and sends its intents through risk: cancels always go; a refused quote
// goes back to the manager as a reject.
//
// When the gateway refused to send any of them (its local mirror of the
// venue's rate limit, a broken session), the manager is held until the
// next timer tick: requoting on every event would only repeat the
// refusal.
func (c *Core) manage(m *mm.Manager, in *market.Instrument, l *mm.Ladder, pulled bool, st *QuoteStats, hold *int64) {
	if pulled {
		st.Pulls++
	}
	if c.now < *hold {
		return
	}
	failed := c.stats.SendErrors
	defer func() {
		if c.stats.SendErrors > failed {
			*hold = c.now + int64(c.cfg.Tick)
		}
	}()
	c.out = m.Update(l, pulled, c.risk.RateBudget(in, c.now), c.nextID, c.out[:0])
	for k := range c.out {
		x := &c.out[k]
		if x.Action == market.ActCancel {
			st.Cancels++
			c.send(x)
			continue
		}
		if c.check(x) != risk.OK {
			c.stats.RiskRefused++
			id := x.ClientID
			if x.Action == market.ActReplace {
				id = x.NewID
				m.OnReport(&market.Report{Kind: market.ReportReject, ClientID: x.ClientID, Req: market.ActReplace, Status: market.Unknown})
			}
			m.OnReport(&market.Report{Kind: market.ReportReject, ClientID: id, Req: market.ActNew, Status: market.Rejected})
			continue
		}
		if x.Action == market.ActReplace {
			st.Replaces++
		} else {
			st.Quotes++
		}
		c.send(x)
	}
}

// onXEMMReport books a report of instrument j for a cross-exchange market
// maker: a fill of a quote on A sends its hedge on B at once; a hedge's
// fills and end free the exposure or send the rest again.
func (c *Core) onXEMMReport(g *xemmGroup, j int, r *market.Report) {
	if j == g.a {
		ours, fill := g.m.OnReport(r)
		if !ours || !fill {
			return
		}
		st := &g.stats
		st.Fills++
		if r.Side == market.Buy {
			st.BidFills++
		} else {
			st.AskFills++
		}
		cash, base := fillFlow(r)
		st.FilledQty += max(base, -base)
		st.Edge += cash
		st.Fees += c.feeQuote(r)
		recv := r.RecvTime
		if recv == 0 {
			recv = c.now
		}
		var ok bool
		if c.xh, ok = g.x.OnFill(r.Side, r.Qty, &c.tops[g.b], c.now, c.nextID()); ok {
			c.sendXHedge(g, &c.xh, recv)
		}
		c.noteExposure(g)
		return
	}
	k := -1
	for i := 0; i < g.nh; i++ {
		if g.hedges[i].id == r.ClientID {
			k = i
		}
	}
	if k < 0 {
		return
	}
	h := &g.hedges[k]
	if r.Kind == market.ReportFill && r.Qty > 0 {
		g.x.OnHedgeFill(r.Side, r.Qty, c.now)
		h.filled += r.Qty
		cash, base := fillFlow(r)
		g.stats.HedgeFills++
		g.stats.HedgedQty += max(base, -base)
		g.stats.Edge += cash
		g.stats.Fees += c.feeQuote(r)
	}
	if r.Status.Final() || r.Kind == market.ReportReject || r.Kind == market.ReportCanceled || r.Kind == market.ReportExpired {
		g.x.OnHedgeDone(h.side, h.qty-h.filled)
		if h.filled > 0 {
			_ = g.done.RecordValue(max(c.now-h.fillAt, 1))
		}
		fillAt := h.fillAt
		g.nh--
		g.hedges[k] = g.hedges[g.nh]
		// What is left exposed goes again at once.
		c.retryXHedge(g, fillAt)
	}
	c.noteExposure(g)
}

// retryXHedge sends the hedge of what is exposed and not being hedged.
func (c *Core) retryXHedge(g *xemmGroup, fillAt int64) {
	if g.nh == maxHedges {
		return
	}
	var ok bool
	if c.xh, ok = g.x.Retry(&c.tops[g.b], c.nextID()); ok {
		c.sendXHedge(g, &c.xh, fillAt)
	}
}

// sendXHedge sends a hedge the XEMM booked as in flight; one risk refuses
// (or no slot holds) is booked back as done and retried on the timer.
func (c *Core) sendXHedge(g *xemmGroup, h *market.Intent, fillAt int64) {
	if g.nh == maxHedges || c.check(h) != risk.OK {
		c.stats.RiskRefused++
		g.stats.HedgeRefused++
		g.x.OnHedgeDone(h.Side, h.Qty)
		return
	}
	g.hedges[g.nh] = hedgeOrder{id: h.ClientID, side: h.Side, qty: h.Qty, fillAt: fillAt}
	g.nh++
	g.stats.Hedges++
	c.stats.Hedges++
	c.send(h)
	_ = g.react.RecordValue(max(c.cfg.Now()-fillAt, 1))
}

// noteExposure refreshes the exposure figures.
func (c *Core) noteExposure(g *xemmGroup) {
	a := &c.ins[g.a]
	u := float64(g.x.Unhedged()) / float64(market.Pow10(a.QtyExp))
	g.stats.Unhedged = u
	if u < 0 {
		u = -u
	}
	g.stats.MaxUnhedged = max(g.stats.MaxUnhedged, u)
	g.stats.HedgesOpen = g.nh
}

// xemmTimer retries hedges left exposed (risk refused one, or B's book
// was unusable), checks the caps and requotes (a stale book pulls quotes
// even when no event comes). It reports whether a new breach was seen.
func (c *Core) xemmTimer() bool {
	breach := false
	for k := range c.xemms {
		g := &c.xemms[k]
		for _, i := range [2]int{g.a, g.b} {
			if c.books[i] != nil {
				c.books[i].Read(&c.tops[i])
			}
		}
		if g.x.Unhedged() != 0 {
			c.retryXHedge(g, c.now)
		}
		c.onXEMM(g) // checks the caps first
		if g.x.Stats.Breaches > g.stats.Breaches {
			breach = true
			g.stats.Breaches = g.x.Stats.Breaches
		}
		g.stats.HedgeSentP50, g.stats.HedgeSentP99, g.stats.HedgeSentMax = g.react.ValueAtQuantile(50), g.react.ValueAtQuantile(99), g.react.Max()
		g.stats.HedgedP50, g.stats.HedgedMax = g.done.ValueAtQuantile(50), g.done.Max()
		g.stats.PnL = g.stats.Edge - g.stats.Fees + g.stats.Unhedged*c.markOf(g.a)
	}
	return breach
}
