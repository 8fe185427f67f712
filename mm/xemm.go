package mm

import (
	"errors"
	"math"

	"arbmm/book"
	"arbmm/internal/market"
)

// XConfig configures cross-exchange market making: quote on venue A,
// hedge every fill on venue B.
type XConfig struct {
	// MinProfitBps is the edge kept on each round trip after A's maker fee
	// and B's taker fee.
	MinProfitBps float64
	// Qty is the quoted size on each side (A's quantity mantissa; the
	// instruments of A and B share the pair's exponents).
	Qty market.Qty
	// HedgeSlippageBps bounds a hedge's IOC price from B's best.
	HedgeSlippageBps float64
	// MaxUnhedgedQty and MaxUnhedgedNs cap the exposure between a fill on
	// A and its hedge on B: beyond either the quotes are pulled and the
	// breach counted (the engine escalates to the kill switch).
	MaxUnhedgedQty market.Qty
	MaxUnhedgedNs  int64
}

// XEMM prices quotes on A from B's executable depth for the quoted size,
// so that every fill on A can be hedged on B at a profit, and turns each
// fill into the hedge: an IOC on B for the same quantity, the other side.
// A side whose hedge B's book cannot absorb is not quoted. Owned by the
// engine goroutine; no allocation.
type XEMM struct {
	cfg      XConfig
	a, b     *market.Instrument
	unhedged market.Qty // base bought (+) or sold (−) on A and not yet hedged on B
	since    int64      // when the oldest unhedged fill came
	Stats    XStats
}

// XStats count what the cross-exchange market maker did.
type XStats struct {
	Quotes, PulledThin, Fills, Hedges, Breaches uint64
}

// NewXEMM validates cfg for quoting on a and hedging on b.
func NewXEMM(cfg XConfig, a, b *market.Instrument) (*XEMM, error) {
	switch {
	case a == nil || b == nil || a.Pair != b.Pair || a.Venue == b.Venue:
		return nil, errors.New("mm: cross-exchange market making needs one pair on two venues")
	case a.PriceExp != b.PriceExp || a.QtyExp != b.QtyExp:
		return nil, errors.New("mm: the two instruments must share the pair's exponents")
	case cfg.Qty <= 0 || cfg.MaxUnhedgedQty <= 0 || cfg.MaxUnhedgedNs <= 0:
		return nil, errors.New("mm: qty and the unhedged caps must be > 0")
	case !(cfg.MinProfitBps >= 0) || !(cfg.HedgeSlippageBps > 0):
		return nil, errors.New("mm: min_profit_bps must be >= 0 and hedge_slippage_bps > 0")
	}
	return &XEMM{cfg: cfg, a: a, b: b}, nil
}

// walk is the average price of taking qty from levels (best first), and
// whether they hold that much.
func walk(levels []book.Level, qty market.Qty) (float64, bool) {
	var cost float64
	left := qty
	for _, l := range levels {
		q := min(left, l.Qty)
		cost += float64(l.Price) * float64(q)
		left -= q
		if left == 0 {
			return cost / float64(qty), true
		}
	}
	return 0, false
}

// Quote returns the ladder for A (one level per side) from A's top (for
// the post-only bound) and B's top at time now. ok is false when the
// quotes must be pulled: a book not Live, or the unhedged exposure past
// its caps.
func (x *XEMM) Quote(a, b *book.Top, now int64) (Ladder, bool) {
	var l Ladder
	if a == nil || b == nil || a.State != book.Live || b.State != book.Live || a.NBids == 0 || a.NAsks == 0 {
		return l, false
	}
	if x.breached(now) {
		return l, false
	}
	cost := (x.a.MakerFeeBps + x.b.TakerFeeBps + x.cfg.MinProfitBps) / 1e4
	tick := float64(x.a.TickOr1())
	// We sell on A at ask, then buy qty on B at its asks: ask ≥ that × (1+cost).
	if buyB, ok := walk(b.Asks[:b.NAsks], x.cfg.Qty); ok {
		ask := math.Ceil(buyB*(1+cost)/tick) * tick
		ask = math.Max(ask, float64(a.Bids[0].Price)+tick) // post-only
		l.Asks[0] = Level{market.Price(ask), x.cfg.Qty}
		l.NAsks = 1
	} else {
		x.Stats.PulledThin++
	}
	// We buy on A at bid, then sell qty on B at its bids: bid ≤ that × (1−cost).
	if sellB, ok := walk(b.Bids[:b.NBids], x.cfg.Qty); ok {
		bid := math.Floor(sellB*(1-cost)/tick) * tick
		bid = math.Min(bid, float64(a.Asks[0].Price)-tick)
		if bid > 0 {
			l.Bids[0] = Level{market.Price(bid), x.cfg.Qty}
			l.NBids = 1
		}
	} else {
		x.Stats.PulledThin++
	}
	// The side that would add to an unhedged position is not quoted while
	// one is outstanding.
	if x.unhedged > 0 {
		l.NBids = 0
	} else if x.unhedged < 0 {
		l.NAsks = 0
	}
	x.Stats.Quotes++
	return l, true
}

// breached reports (and counts, once per episode) exposure past the caps.
func (x *XEMM) breached(now int64) bool {
	u := x.unhedged
	if u < 0 {
		u = -u
	}
	if u == 0 {
		return false
	}
	if u > x.cfg.MaxUnhedgedQty || now-x.since > x.cfg.MaxUnhedgedNs {
		return true
	}
	return false
}

// OnFill books a fill of a quote on A (side as A saw it: Buy when our bid
// filled) and returns the hedge on B: an IOC of the same quantity on the
// other side, its price B's best moved by the slippage allowance. ok is
// false when B's book is not usable (the exposure stays, capped).
func (x *XEMM) OnFill(side market.Side, qty market.Qty, b *book.Top, now int64, id market.ClientID) (market.Intent, bool) {
	x.Stats.Fills++
	if x.unhedged == 0 {
		x.since = now
	}
	if side == market.Buy {
		x.unhedged += qty
	} else {
		x.unhedged -= qty
	}
	if x.breached(now) {
		x.Stats.Breaches++
	}
	return x.hedge(b, id)
}

// Retry returns the hedge of what is still unhedged (after a hedge that
// filled partly or not at all).
func (x *XEMM) Retry(b *book.Top, id market.ClientID) (market.Intent, bool) { return x.hedge(b, id) }

func (x *XEMM) hedge(b *book.Top, id market.ClientID) (market.Intent, bool) {
	if x.unhedged == 0 || b == nil || b.State != book.Live || b.NBids == 0 || b.NAsks == 0 {
		return market.Intent{}, false
	}
	tick := float64(x.b.TickOr1())
	in := market.Intent{Action: market.ActNew, Venue: x.b.Venue, Inst: x.b, Type: market.Limit, TIF: market.IOC, ClientID: id}
	slip := x.cfg.HedgeSlippageBps / 1e4
	if x.unhedged > 0 { // long on A: sell on B
		in.Side, in.Qty = market.Sell, x.unhedged
		in.Price = market.Price(math.Ceil(float64(b.Bids[0].Price)*(1-slip)/tick) * tick)
	} else {
		in.Side, in.Qty = market.Buy, -x.unhedged
		in.Price = market.Price(math.Floor(float64(b.Asks[0].Price)*(1+slip)/tick) * tick)
	}
	in.Qty -= in.Qty % x.b.StepOr1()
	if in.Qty <= 0 {
		return market.Intent{}, false
	}
	x.Stats.Hedges++
	return in, true
}

// OnHedgeFill books a fill of a hedge on B (side as B saw it).
func (x *XEMM) OnHedgeFill(side market.Side, qty market.Qty) {
	if side == market.Sell {
		x.unhedged -= qty
	} else {
		x.unhedged += qty
	}
}

// Unhedged is the base position on A not yet hedged on B (+ long).
func (x *XEMM) Unhedged() market.Qty { return x.unhedged }
