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
// A side whose hedge B's book cannot absorb is not quoted.
//
// The exposure it tracks is the net base position of A and B together
// since the start (fills on A add to it, hedge fills on B take it back);
// hedges in flight are tracked apart so that a second fill while the
// first hedge is out sends only the difference. Exposure smaller than B
// can trade (its step or minimum quantity) is dust: not hedged, not
// counted against the caps. Owned by the engine goroutine; no allocation.
type XEMM struct {
	cfg      XConfig
	a, b     *market.Instrument
	dust     market.Qty
	unhedged market.Qty // net base bought (+) or sold (−) over A and B
	inflight market.Qty // hedges sent on B and not final: + buys, − sells
	since    int64      // when the exposure last rose above dust
	breach   bool       // the current exposure has breached (counted once)
	Stats    XStats
}

// XStats count what the cross-exchange market maker did.
type XStats struct {
	Quotes, PulledThin, Fills, Hedges, HedgeFills, Breaches uint64
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
	case !(cfg.MinProfitBps >= 0) || !(cfg.HedgeSlippageBps > 0) || cfg.HedgeSlippageBps >= 1e4:
		return nil, errors.New("mm: min_profit_bps must be >= 0 and hedge_slippage_bps within (0, 10000)")
	case cfg.Qty%a.StepOr1() != 0 || cfg.Qty%b.StepOr1() != 0 || cfg.Qty < a.MinQty || cfg.Qty < b.MinQty:
		return nil, errors.New("mm: qty must be on both venues' steps and at least their minimum quantities")
	case cfg.MaxUnhedgedQty < cfg.Qty:
		return nil, errors.New("mm: max_unhedged_qty must be at least qty (one fill)")
	}
	return &XEMM{cfg: cfg, a: a, b: b, dust: max(b.StepOr1(), b.MinQty)}, nil
}

// Instruments are the quoted (A) and the hedge (B) instrument.
func (x *XEMM) Instruments() (a, b *market.Instrument) { return x.a, x.b }

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
// quotes must be pulled: a book not Live, or the exposure past its caps.
func (x *XEMM) Quote(a, b *book.Top, now int64) (Ladder, bool) {
	var l Ladder
	if x.Check(now) {
		return l, false
	}
	if a == nil || b == nil || a.State != book.Live || b.State != book.Live || a.NBids == 0 || a.NAsks == 0 {
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
	// The side that would add to an exposure is not quoted while one is
	// outstanding.
	if x.unhedged >= x.dust {
		l.NBids = 0
	} else if x.unhedged <= -x.dust {
		l.NAsks = 0
	}
	x.Stats.Quotes++
	return l, true
}

// Check reports whether the exposure is past its caps at now (more than
// MaxUnhedgedQty, or above dust for longer than MaxUnhedgedNs), counting
// a breach once per episode. The engine calls it on its timer too, so a
// breach is seen without an event.
func (x *XEMM) Check(now int64) bool {
	u := abs(x.unhedged)
	if u < x.dust {
		x.breach = false
		return false
	}
	if u > x.cfg.MaxUnhedgedQty || now-x.since > x.cfg.MaxUnhedgedNs {
		if !x.breach {
			x.breach = true
			x.Stats.Breaches++
		}
		return true
	}
	return false
}

func abs(q market.Qty) market.Qty {
	if q < 0 {
		return -q
	}
	return q
}

// move books a change of the exposure at now, starting its clock when it
// rises above dust.
func (x *XEMM) move(d market.Qty, now int64) {
	was := abs(x.unhedged) >= x.dust
	x.unhedged += d
	if !was && abs(x.unhedged) >= x.dust {
		x.since = now
	}
}

// OnFill books a fill of a quote on A (side as A saw it: Buy when our bid
// filled) and returns the hedge on B: an IOC for the exposure not already
// being hedged, the other side, priced at B's best moved by the slippage
// allowance. ok is false when there is nothing to hedge or B's book is
// not usable (the exposure stays, capped; Retry sends it later).
func (x *XEMM) OnFill(side market.Side, qty market.Qty, b *book.Top, now int64, id market.ClientID) (market.Intent, bool) {
	x.Stats.Fills++
	if side == market.Buy {
		x.move(qty, now)
	} else {
		x.move(-qty, now)
	}
	x.Check(now)
	return x.hedge(b, id)
}

// Retry returns the hedge of what is exposed and not being hedged (after
// a hedge that filled partly or not at all, or one B's book refused).
func (x *XEMM) Retry(b *book.Top, id market.ClientID) (market.Intent, bool) { return x.hedge(b, id) }

func (x *XEMM) hedge(b *book.Top, id market.ClientID) (market.Intent, bool) {
	need := -x.unhedged - x.inflight // + buy on B, − sell
	if abs(need) < x.dust || b == nil || b.State != book.Live || b.NBids == 0 || b.NAsks == 0 {
		return market.Intent{}, false
	}
	tick := float64(x.b.TickOr1())
	in := market.Intent{Action: market.ActNew, Venue: x.b.Venue, Inst: x.b, Type: market.Limit, TIF: market.IOC, ClientID: id, Hedge: true}
	slip := x.cfg.HedgeSlippageBps / 1e4
	if need < 0 { // long: sell on B no lower than its bid less the allowance
		in.Side, in.Qty = market.Sell, -need
		in.Price = market.Price(math.Ceil(float64(b.Bids[0].Price)*(1-slip)/tick) * tick)
	} else {
		in.Side, in.Qty = market.Buy, need
		in.Price = market.Price(math.Floor(float64(b.Asks[0].Price)*(1+slip)/tick) * tick)
	}
	in.Qty -= in.Qty % x.b.StepOr1()
	if in.Qty < x.dust || in.Price <= 0 {
		return market.Intent{}, false
	}
	x.Sent(in.Side, in.Qty)
	return in, true
}

// Sent books a hedge order of qty on B as in flight (hedge does it for
// the intents it returns).
func (x *XEMM) Sent(side market.Side, qty market.Qty) {
	x.Stats.Hedges++
	if side == market.Buy {
		x.inflight += qty
	} else {
		x.inflight -= qty
	}
}

// OnHedgeFill books a fill of a hedge on B (side as B saw it).
func (x *XEMM) OnHedgeFill(side market.Side, qty market.Qty, now int64) {
	x.Stats.HedgeFills++
	if side == market.Buy {
		x.inflight -= qty
		x.move(qty, now)
	} else {
		x.inflight += qty
		x.move(-qty, now)
	}
}

// OnHedgeDone books the end of a hedge order on B with left of its
// quantity unfilled (canceled, expired, rejected, or never sent because
// risk refused it): that much is no longer in flight.
func (x *XEMM) OnHedgeDone(side market.Side, left market.Qty) {
	if side == market.Buy {
		x.inflight -= left
	} else {
		x.inflight += left
	}
}

// Unhedged is the net base position over A and B (+ long); InFlight the
// hedges outstanding on B (+ buys).
func (x *XEMM) Unhedged() market.Qty { return x.unhedged }

// InFlight is the quantity of hedges sent on B and not yet final (+ buys).
func (x *XEMM) InFlight() market.Qty { return x.inflight }
