package arb

import (
	"errors"
	"fmt"
	"math"
	"math/bits"

	"arbmm/book"
	"arbmm/internal/market"
)

// CrossConfig configures cross-exchange taker/taker arbitrage of one pair.
type CrossConfig struct {
	// MinProfitBps is the least edge, after both taker fees and the
	// safety margin, worth trading, in basis points of the buy cost.
	MinProfitBps float64 `yaml:"min_profit_bps"`
	// SafetyMarginBps is subtracted from every edge on top of the fees:
	// slippage, latency, fee rounding. Default 1.
	SafetyMarginBps float64 `yaml:"safety_margin_bps"`
	// MaxOrderQty bounds one leg's quantity, at the pair's QtyExp
	// (mantissa). Required.
	MaxOrderQty market.Qty `yaml:"-"`
	// Levels is how deep into each book the walk may go (≤ book.MaxTop).
	// Default 10.
	Levels int `yaml:"levels"`
}

// Leg is one venue's listing of the pair as the strategy sees it at a
// decision: the instrument, the latest top-N snapshot, and the free
// balances there. The engine fills it; the strategy only reads it.
type Leg struct {
	Inst *market.Instrument
	Top  *book.Top
	// BaseFree and QuoteFree are the free balances on the venue: base at
	// the pair's QtyExp, quote at PriceExp+QtyExp decimals.
	BaseFree  int64
	QuoteFree int64
}

// Opportunity is one arbitrage found: buy Qty on Buy up to BuyPrice,
// sell Qty on Sell down to SellPrice, both IOC.
type Opportunity struct {
	Buy, Sell           int // indexes of the legs
	Qty                 market.Qty
	BuyPrice, SellPrice market.Price // the worst levels used: the legs' protective limit prices
	// Cost and Proceeds are the sums of price×qty over the levels
	// walked (PriceExp+QtyExp decimals), before fees; Profit is the
	// expected proceeds after the sell fee less the cost with the buy
	// fee (same decimals).
	Cost, Proceeds, Profit int64
	// EdgeBps is Profit over Cost, in basis points.
	EdgeBps float64
}

// Cross finds cross-exchange arbitrage of one pair between any two of its
// venues. It holds no order state (see Legs for that); it allocates
// nothing per decision.
type Cross struct {
	cfg    CrossConfig
	minE6  int64 // min profit + margin, in 1e-6 of cost
	levels int
	Stats  CrossStats
}

// CrossStats count the strategy's decisions.
type CrossStats struct {
	Evaluations, Opportunities, TooSmall, NoBalance uint64
}

// NewCross validates cfg and returns the strategy.
func NewCross(cfg CrossConfig) (*Cross, error) {
	if cfg.SafetyMarginBps == 0 {
		cfg.SafetyMarginBps = 1
	}
	if cfg.Levels == 0 {
		cfg.Levels = 10
	}
	switch {
	case !(cfg.MinProfitBps >= 0) || !(cfg.SafetyMarginBps >= 0) || cfg.MinProfitBps+cfg.SafetyMarginBps > 1000:
		return nil, fmt.Errorf("arb: min_profit_bps %v and safety_margin_bps %v: want >= 0 and together <= 1000", cfg.MinProfitBps, cfg.SafetyMarginBps)
	case cfg.MaxOrderQty <= 0:
		return nil, errors.New("arb: max_order_qty must be > 0")
	case cfg.Levels < 1 || cfg.Levels > book.MaxTop:
		return nil, fmt.Errorf("arb: levels %d: want 1..%d", cfg.Levels, book.MaxTop)
	}
	return &Cross{cfg: cfg, minE6: int64(math.Round((cfg.MinProfitBps + cfg.SafetyMarginBps) * 100)), levels: cfg.Levels}, nil
}

// feeE6 is a fee in basis points as millionths (7.5 bps → 750).
func feeE6(bps float64) int64 { return int64(math.Round(bps * 100)) }

// Best evaluates every ordered pair of live legs (buy on one, sell on
// another) and returns the most profitable opportunity, if any clears the
// minimum edge, the balances, the steps and the venues' minimums.
func (c *Cross) Best(legs []Leg) (Opportunity, bool) {
	c.Stats.Evaluations++
	var best Opportunity
	found := false
	for i := range legs {
		for j := range legs {
			if i == j {
				continue
			}
			if op, ok := c.evaluate(legs, i, j); ok && (!found || op.Profit > best.Profit) {
				best, found = op, true
			}
		}
	}
	if found {
		c.Stats.Opportunities++
	}
	return best, found
}

// evaluate walks legs[b]'s asks against legs[s]'s bids while the marginal
// level still pays: sell price × (1 − sell fee) − buy price × (1 + buy fee)
// ≥ buy price × (min profit + margin). It then trims the quantity to the
// balances, the max order size and both venues' steps, and checks both
// venues' minimums.
func (c *Cross) evaluate(legs []Leg, b, s int) (Opportunity, bool) {
	lb, ls := &legs[b], &legs[s]
	tb, ts := lb.Top, ls.Top
	if tb == nil || ts == nil || tb.State != book.Live || ts.State != book.Live || tb.NAsks == 0 || ts.NBids == 0 {
		return Opportunity{}, false
	}
	fb, fs := feeE6(lb.Inst.TakerFeeBps), feeE6(ls.Inst.TakerFeeBps)
	pays := func(ask, bid market.Price) bool {
		// bid(1e6 − fs) − ask(1e6 + fb) ≥ ask·minE6, all in 1e-6 units;
		// prices are < 2^40 and the factors < 2^21, so no overflow.
		return int64(bid)*(1e6-fs)-int64(ask)*(1e6+fb) >= int64(ask)*c.minE6
	}
	if !pays(tb.Asks[0].Price, ts.Bids[0].Price) {
		return Opportunity{}, false
	}
	step := commonStep(lb.Inst.StepOr1(), ls.Inst.StepOr1())
	limit := c.cfg.MaxOrderQty
	if base := market.Qty(ls.BaseFree); base < limit {
		limit = base // what the sell venue holds
	}
	na, nb := min(tb.NAsks, c.levels), min(ts.NBids, c.levels)
	var qty market.Qty
	var cost, proceeds int64
	var buyPx, sellPx market.Price
	i, j := 0, 0
	remA, remB := tb.Asks[0].Qty, ts.Bids[0].Qty
	quoteCap := lb.QuoteFree // what the buy venue can pay, fee included
	for i < na && j < nb && qty < limit {
		ask, bid := tb.Asks[i].Price, ts.Bids[j].Price
		if !pays(ask, bid) {
			break
		}
		q := min(remA, remB, limit-qty)
		// The quote this buys with its fee must stay within the balance.
		capped := false
		if afford := maxAffordable(quoteCap, ask, fb); afford < q {
			q, capped = afford, true
		}
		if q <= 0 {
			break
		}
		qty += q
		cost += int64(ask) * int64(q)
		proceeds += int64(bid) * int64(q)
		quoteCap -= int64(ask)*int64(q) + feeOn(int64(ask)*int64(q), fb)
		buyPx, sellPx = ask, bid
		if remA -= q; remA == 0 {
			if i++; i < na {
				remA = tb.Asks[i].Qty
			}
		}
		if remB -= q; remB == 0 {
			if j++; j < nb {
				remB = ts.Bids[j].Qty
			}
		}
		if capped {
			break // the buy venue's quote is spent
		}
	}
	if qty == 0 {
		c.Stats.NoBalance++
		return Opportunity{}, false
	}
	// Trim to the common step; the walk's averages scale down with it.
	if r := qty % step; r != 0 {
		cost -= int64(buyPx) * int64(r)
		proceeds -= int64(sellPx) * int64(r)
		qty -= r
	}
	if qty == 0 || qty < lb.Inst.MinQty || qty < ls.Inst.MinQty || !meetsNotional(lb.Inst, buyPx, qty) || !meetsNotional(ls.Inst, sellPx, qty) {
		c.Stats.TooSmall++
		return Opportunity{}, false
	}
	profit := proceeds - feeOn(proceeds, fs) - cost - feeOn(cost, fb)
	op := Opportunity{Buy: b, Sell: s, Qty: qty, BuyPrice: buyPx, SellPrice: sellPx, Cost: cost, Proceeds: proceeds, Profit: profit}
	if cost > 0 {
		op.EdgeBps = float64(profit) / float64(cost) * 1e4
	}
	if op.Profit*1e6 < cost*c.minE6 {
		return Opportunity{}, false // the averages no longer pay after trimming
	}
	return op, true
}

// feeOn is the fee in 1e-6 units on amount, rounded up (never under-counted).
func feeOn(amount, e6 int64) int64 {
	if e6 <= 0 || amount <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(amount), uint64(e6))
	q, r := bits.Div64(hi, lo, 1e6)
	if r != 0 {
		q++
	}
	return int64(q)
}

// maxAffordable is the largest quantity whose cost at price plus its fee
// fits in quote.
func maxAffordable(quote int64, price market.Price, e6 int64) market.Qty {
	if quote <= 0 || price <= 0 {
		return 0
	}
	// q·p·(1e6+e6)/1e6 ≤ quote  ⇒  q ≤ quote·1e6 / (p·(1e6+e6))
	hi, lo := bits.Mul64(uint64(quote), 1e6)
	den := uint64(price) * uint64(1e6+e6)
	if hi >= den {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, den)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return market.Qty(q)
}

// commonStep is the smallest quantity both steps divide (usually one of
// them).
func commonStep(a, b market.Qty) market.Qty {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// meetsNotional reports price×qty ≥ the instrument's min notional (at
// PriceExp; the product is at PriceExp+QtyExp).
func meetsNotional(in *market.Instrument, p market.Price, q market.Qty) bool {
	if in.MinNotional <= 0 {
		return true
	}
	hi, lo := bits.Mul64(uint64(p), uint64(q))
	mhi, mlo := bits.Mul64(uint64(in.MinNotional), uint64(market.Pow10(in.QtyExp)))
	return hi > mhi || hi == mhi && lo >= mlo
}

// Intents appends the two IOC legs of op (with the given client ids) to
// dst: buy on the buy leg's venue at its protective price, sell on the
// other.
func (op *Opportunity) Intents(legs []Leg, buyID, sellID market.ClientID, dst []market.Intent) []market.Intent {
	b, s := legs[op.Buy].Inst, legs[op.Sell].Inst
	return append(dst,
		market.Intent{Action: market.ActNew, Venue: b.Venue, Inst: b, Side: market.Buy, Type: market.Limit, TIF: market.IOC, Price: op.BuyPrice, Qty: op.Qty, ClientID: buyID},
		market.Intent{Action: market.ActNew, Venue: s.Venue, Inst: s, Side: market.Sell, Type: market.Limit, TIF: market.IOC, Price: op.SellPrice, Qty: op.Qty, ClientID: sellID},
	)
}
