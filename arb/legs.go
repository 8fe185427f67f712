package arb

import (
	"errors"
	"math"

	"arbmm/book"
	"arbmm/internal/market"
)

// LegsConfig bounds the leg risk of taker/taker arbitrage: the position
// left when one leg fills and the other does not (or fills less).
type LegsConfig struct {
	// MaxHedgeSlippageBps is how far from the best price a hedge may
	// trade: its IOC limit is the best bid less (or best ask plus) this.
	// Default 20.
	MaxHedgeSlippageBps float64 `yaml:"max_hedge_slippage_bps"`
	// MaxUnhedgedNotional (quote, at the pair's PriceExp+QtyExp) and
	// MaxUnhedgedTime (ns) cap a residual: beyond either the attempt is
	// reported as a breach (Breaches), which the engine escalates to the
	// kill switch. Required.
	MaxUnhedgedNotional int64 `yaml:"-"`
	MaxUnhedgedTime     int64 `yaml:"-"`
	// MaxHedges is how many hedge orders one residual may take. Default 5.
	MaxHedges int `yaml:"max_hedges"`
}

// MaxAttempts is how many arbitrage attempts can be in flight at once.
const MaxAttempts = 16

// attempt is one pair of legs sent together, until both are final and
// any residual is hedged.
type attempt struct {
	active          bool
	buy, sell       market.ClientID
	buyLeg, sellLeg int
	qty             market.Qty
	buyFilled       market.Qty
	sellFilled      market.Qty
	buyDone         bool
	sellDone        bool
	started         int64
	hedge           market.ClientID // the hedge order in flight (0: none)
	hedgeSide       market.Side
	hedges          int
	hedged          market.Qty // bought (+) or sold (−) by hedges so far
	breached        bool
	price           market.Price // reference price of the residual (the filled leg's)
}

// residual is the base position the attempt leaves: + long, − short.
func (a *attempt) residual() market.Qty {
	return a.buyFilled - a.sellFilled + a.hedged
}

// LegStats count what leg risk came to.
type LegStats struct {
	Attempts, Balanced, Residuals, Hedges, HedgeFills, Breaches, Abandoned uint64
}

// Legs tracks the attempts Cross's opportunities become and hedges what a
// failed or partly filled leg leaves: on the best venue for it (which may
// be the filled leg's own, an unwind), within MaxHedgeSlippageBps, up to
// MaxHedges orders, with the residual's notional and age capped. Every
// residual, hedge and breach is counted. Owned by the engine core; no
// allocation.
type Legs struct {
	cfg      LegsConfig
	slipE6   int64
	attempts [MaxAttempts]attempt
	Stats    LegStats
}

// ErrBusy is returned by Open when MaxAttempts attempts are in flight.
var ErrBusy = errors.New("arb: too many attempts in flight")

// NewLegs validates cfg.
func NewLegs(cfg LegsConfig) (*Legs, error) {
	if cfg.MaxHedgeSlippageBps == 0 {
		cfg.MaxHedgeSlippageBps = 20
	}
	if cfg.MaxHedges == 0 {
		cfg.MaxHedges = 5
	}
	switch {
	case !(cfg.MaxHedgeSlippageBps > 0 && cfg.MaxHedgeSlippageBps <= 1000):
		return nil, errors.New("arb: max_hedge_slippage_bps must be within (0, 1000]")
	case cfg.MaxUnhedgedNotional <= 0 || cfg.MaxUnhedgedTime <= 0:
		return nil, errors.New("arb: max unhedged notional and time must be > 0")
	case cfg.MaxHedges < 1:
		return nil, errors.New("arb: max_hedges must be >= 1")
	}
	return &Legs{cfg: cfg, slipE6: feeE6(cfg.MaxHedgeSlippageBps)}, nil
}

// Open records the attempt made of op with the two legs' ids.
func (l *Legs) Open(op *Opportunity, buyID, sellID market.ClientID, now int64) error {
	for i := range l.attempts {
		a := &l.attempts[i]
		if !a.active {
			*a = attempt{active: true, buy: buyID, sell: sellID, buyLeg: op.Buy, sellLeg: op.Sell, qty: op.Qty, started: now, price: op.BuyPrice}
			l.Stats.Attempts++
			return nil
		}
	}
	return ErrBusy
}

// InFlight is the number of attempts not yet settled.
func (l *Legs) InFlight() int {
	n := 0
	for i := range l.attempts {
		if l.attempts[i].active {
			n++
		}
	}
	return n
}

// Unhedged sums the residual base position of the attempts in flight
// (+ long, − short).
func (l *Legs) Unhedged() market.Qty {
	var q market.Qty
	for i := range l.attempts {
		if a := &l.attempts[i]; a.active {
			q += a.residual()
		}
	}
	return q
}

// OnReport takes an execution report of one of the attempts' orders
// (other reports are ignored) and appends the hedge order it calls for,
// if any, to dst. newID supplies the hedge's client id.
func (l *Legs) OnReport(r *market.Report, legs []Leg, now int64, newID func() market.ClientID, dst []market.Intent) []market.Intent {
	for i := range l.attempts {
		a := &l.attempts[i]
		if !a.active {
			continue
		}
		final := r.Status.Final() || r.Kind == market.ReportReject || r.Kind == market.ReportCanceled || r.Kind == market.ReportExpired
		switch r.ClientID {
		case a.buy:
			if r.Kind == market.ReportFill {
				a.buyFilled += r.Qty
			}
			a.buyDone = a.buyDone || final
		case a.sell:
			if r.Kind == market.ReportFill {
				a.sellFilled += r.Qty
			}
			a.sellDone = a.sellDone || final
		case a.hedge:
			if r.Kind == market.ReportFill {
				l.Stats.HedgeFills++
				if a.hedgeSide == market.Buy {
					a.hedged += r.Qty
				} else {
					a.hedged -= r.Qty
				}
			}
			if final {
				a.hedge = 0
			}
		default:
			continue
		}
		return l.settle(a, legs, now, newID, dst)
	}
	return dst
}

// Refused tells Legs that the hedge order id was never sent (the engine's
// risk check or rate budget refused it): it is not in flight, and the
// timer tries again without counting it against MaxHedges.
func (l *Legs) Refused(id market.ClientID) {
	for i := range l.attempts {
		if a := &l.attempts[i]; a.active && a.hedge == id && id != 0 {
			a.hedge = 0
			a.hedges--
			l.Stats.Hedges--
			return
		}
	}
}

// OnTimer checks the attempts' caps (a residual that stays too long) and
// retries hedges; call it on the engine's timer events.
func (l *Legs) OnTimer(legs []Leg, now int64, newID func() market.ClientID, dst []market.Intent) []market.Intent {
	for i := range l.attempts {
		if a := &l.attempts[i]; a.active {
			dst = l.settle(a, legs, now, newID, dst)
		}
	}
	return dst
}

// settle moves an attempt on once its legs are final: done when nothing
// is left, else a hedge for the residual.
func (l *Legs) settle(a *attempt, legs []Leg, now int64, newID func() market.ClientID, dst []market.Intent) []market.Intent {
	if !a.buyDone || !a.sellDone || a.hedge != 0 {
		// A leg (or hedge) the venue has not settled within the time cap
		// is a breach too: the engine must look, not wait forever.
		if !a.breached && now-a.started > l.cfg.MaxUnhedgedTime {
			a.breached = true
			l.Stats.Breaches++
		}
		return dst
	}
	res := a.residual()
	if res == 0 {
		if a.hedges == 0 {
			l.Stats.Balanced++
		}
		a.active = false
		return dst
	}
	if a.hedges == 0 {
		l.Stats.Residuals++
	}
	notional := int64(math.Abs(float64(res))) * int64(a.price)
	if !a.breached && (now-a.started > l.cfg.MaxUnhedgedTime || notional > l.cfg.MaxUnhedgedNotional) {
		a.breached = true
		l.Stats.Breaches++
	}
	if a.hedges >= l.cfg.MaxHedges {
		// Out of hedges with a residual: a breach the engine escalates;
		// the position stays in its books.
		if !a.breached {
			a.breached = true
			l.Stats.Breaches++
		}
		l.Stats.Abandoned++
		a.active = false
		return dst
	}
	side := market.Sell
	if res < 0 {
		side = market.Buy
	}
	qty := res
	if qty < 0 {
		qty = -qty
	}
	leg, price, ok := l.bestVenue(legs, side, qty)
	if !ok {
		return dst // no live venue can take it now: the timer retries
	}
	in := legs[leg].Inst
	qty -= qty % in.StepOr1()
	if qty <= 0 || qty < in.MinQty {
		a.active = false // dust below the step: nothing a venue would take
		l.Stats.Abandoned++
		return dst
	}
	id := newID()
	a.hedge, a.hedgeSide = id, side
	a.hedges++
	l.Stats.Hedges++
	return append(dst, market.Intent{Action: market.ActNew, Venue: in.Venue, Inst: in, Side: side, Type: market.Limit, TIF: market.IOC, Price: price, Qty: qty, ClientID: id, Hedge: true})
}

// bestVenue picks the live leg with the best price for side (the highest
// bid to sell, the lowest ask to buy) that holds what the hedge needs, and
// the hedge's protective price: that best price moved by the slippage
// allowance, rounded to the venue's tick toward the best price.
func (l *Legs) bestVenue(legs []Leg, side market.Side, qty market.Qty) (int, market.Price, bool) {
	best, bestPx := -1, market.Price(0)
	for i := range legs {
		t := legs[i].Top
		if t == nil || t.State != book.Live {
			continue
		}
		if side == market.Sell {
			if t.NBids == 0 || legs[i].BaseFree < int64(qty) {
				continue
			}
			if px := t.Bids[0].Price; best < 0 || px > bestPx {
				best, bestPx = i, px
			}
		} else {
			if t.NAsks == 0 {
				continue
			}
			px := t.Asks[0].Price
			if legs[i].QuoteFree < int64(px)*int64(qty) {
				continue
			}
			if best < 0 || px < bestPx {
				best, bestPx = i, px
			}
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	tick := legs[best].Inst.TickOr1()
	slip := (int64(bestPx)*l.slipE6 + 999_999) / 1_000_000
	var px market.Price
	if side == market.Sell {
		px = bestPx - market.Price(slip)
		px += (tick - px%tick) % tick // up to the tick: never beyond the allowance
	} else {
		px = bestPx + market.Price(slip)
		px -= px % tick
	}
	return best, px, true
}
