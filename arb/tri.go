package arb

import (
	"errors"
	"fmt"
	"math"

	"arbmm/book"
	"arbmm/internal/market"
)

// TriConfig configures triangular arbitrage within one venue.
type TriConfig struct {
	// MinProfitBps is the least edge after the three taker fees and the
	// safety margin, in basis points of the quote spent. Required.
	MinProfitBps float64 `yaml:"min_profit_bps"`
	// SafetyMarginBps is added to MinProfitBps; default 1.
	SafetyMarginBps float64 `yaml:"safety_margin_bps"`
	// MaxQty bounds the cycle's size in units of the cross pair's base
	// (ETH in BTC/USDT, ETH/BTC, ETH/USDT), at that pair's QtyExp.
	MaxQty market.Qty `yaml:"-"`
}

// Tri finds triangular arbitrage on one venue between three pairs that
// form a cycle: AQ = A/Q, BA = B/A and BQ = B/Q (BTC/USDT, ETH/BTC,
// ETH/USDT). Two cycles are evaluated at the top of the books:
//
//	forward: Q → A (buy AQ) → B (buy BA) → Q (sell BQ)
//	reverse: Q → B (buy BQ) → A (sell BA) → Q (sell AQ)
//
// The decision is made in float64 (a ratio of three prices against a
// threshold in basis points); the intents it emits are exact fixed point,
// on every pair's tick and step. No allocation.
type Tri struct {
	cfg        TriConfig
	aq, ba, bq *market.Instrument
	thresh     float64 // 1 + (min profit + margin)
	fee        [3]float64
	unit       [3][2]float64 // per pair: value of one price / qty mantissa unit
	Stats      TriStats
}

// TriStats count the decisions.
type TriStats struct {
	Evaluations, Forward, Reverse, TooSmall uint64
}

// TriOpportunity is one cycle found: the three orders' sides, quantities
// (each at its pair's QtyExp) and protective prices, in the order AQ, BA,
// BQ, and the expected edge.
type TriOpportunity struct {
	Forward bool
	Side    [3]market.Side
	Qty     [3]market.Qty
	Price   [3]market.Price
	EdgeBps float64
}

// NewTri checks that the three instruments form the cycle and share a
// venue.
func NewTri(cfg TriConfig, aq, ba, bq *market.Instrument) (*Tri, error) {
	if cfg.SafetyMarginBps == 0 {
		cfg.SafetyMarginBps = 1
	}
	switch {
	case aq == nil || ba == nil || bq == nil:
		return nil, errors.New("arb: triangular needs three instruments")
	case aq.Venue != ba.Venue || ba.Venue != bq.Venue:
		return nil, errors.New("arb: triangular instruments must be on one venue")
	case ba.Pair.Quote != aq.Pair.Base || ba.Pair.Base != bq.Pair.Base || aq.Pair.Quote != bq.Pair.Quote:
		return nil, fmt.Errorf("arb: %s, %s, %s do not form A/Q, B/A, B/Q", aq.Pair, ba.Pair, bq.Pair)
	case !(cfg.MinProfitBps >= 0) || !(cfg.SafetyMarginBps >= 0):
		return nil, errors.New("arb: min_profit_bps and safety_margin_bps must be >= 0")
	case cfg.MaxQty <= 0:
		return nil, errors.New("arb: triangular max qty must be > 0")
	}
	t := &Tri{cfg: cfg, aq: aq, ba: ba, bq: bq, thresh: 1 + (cfg.MinProfitBps+cfg.SafetyMarginBps)/1e4}
	for i, in := range [3]*market.Instrument{aq, ba, bq} {
		t.fee[i] = in.TakerFeeBps / 1e4
		t.unit[i] = [2]float64{math.Pow10(-in.PriceExp), math.Pow10(-in.QtyExp)}
	}
	return t, nil
}

// Best evaluates both cycles on the three tops (in the order AQ, BA, BQ)
// with the venue's free balance of Q (at BQ's PriceExp+QtyExp decimals):
// both cycles start from Q and end in Q.
func (t *Tri) Best(aq, ba, bq *book.Top, freeQ int64) (TriOpportunity, bool) {
	t.Stats.Evaluations++
	for _, x := range [3]*book.Top{aq, ba, bq} {
		if x == nil || x.State != book.Live || x.NBids == 0 || x.NAsks == 0 {
			return TriOpportunity{}, false
		}
	}
	px := func(i int, p market.Price) float64 { return float64(p) * t.unit[i][0] }
	qx := func(i int, q market.Qty) float64 { return float64(q) * t.unit[i][1] }
	keep := (1 - t.fee[0]) * (1 - t.fee[1]) * (1 - t.fee[2])
	aAsk, aBid := px(0, aq.Asks[0].Price), px(0, aq.Bids[0].Price)
	bAsk, bBid := px(1, ba.Asks[0].Price), px(1, ba.Bids[0].Price)
	cAsk, cBid := px(2, bq.Asks[0].Price), px(2, bq.Bids[0].Price)
	fwd := cBid / (aAsk * bAsk) * keep // Q→A→B→Q
	rev := bBid * aBid / cAsk * keep   // Q→B→A→Q
	var op TriOpportunity
	switch {
	case fwd >= t.thresh && fwd >= rev:
		// Size in B: the smallest of the three tops (in B), the cap, the
		// Q we can spend on A, what the book of B/Q takes.
		b := math.Min(qx(1, ba.Asks[0].Qty), qx(2, bq.Bids[0].Qty))
		b = math.Min(b, qx(0, aq.Asks[0].Qty)/bAsk)
		b = math.Min(b, qx(2, t.cfg.MaxQty))
		b = math.Min(b, float64(freeQ)*t.unit[2][0]*t.unit[2][1]/(aAsk*bAsk*(1+t.fee[0])*(1+t.fee[1])))
		op = TriOpportunity{Forward: true, Side: [3]market.Side{market.Buy, market.Buy, market.Sell}, EdgeBps: (fwd - 1) * 1e4}
		if !t.size(&op, b, bAsk, [3]market.Price{aq.Asks[0].Price, ba.Asks[0].Price, bq.Bids[0].Price}, true) {
			return TriOpportunity{}, false
		}
		t.Stats.Forward++
	case rev >= t.thresh:
		b := math.Min(qx(2, bq.Asks[0].Qty), qx(1, ba.Bids[0].Qty))
		b = math.Min(b, qx(0, aq.Bids[0].Qty)/bBid)
		b = math.Min(b, qx(2, t.cfg.MaxQty))
		b = math.Min(b, float64(freeQ)*t.unit[2][0]*t.unit[2][1]/(cAsk*(1+t.fee[2])))
		op = TriOpportunity{Side: [3]market.Side{market.Sell, market.Sell, market.Buy}, EdgeBps: (rev - 1) * 1e4}
		if !t.size(&op, b, bBid, [3]market.Price{aq.Bids[0].Price, ba.Bids[0].Price, bq.Asks[0].Price}, false) {
			return TriOpportunity{}, false
		}
		t.Stats.Reverse++
	default:
		return TriOpportunity{}, false
	}
	return op, true
}

// size turns a cycle size of b units of B into the three orders'
// quantities on their steps: B/A and B/Q trade the same B quantity (on
// the coarser of their steps, rounded down); A/Q trades b·(B/A price) of A,
// rounded up to its step when buying A (so the B/A buy is covered) and
// down when selling it (only what the cycle got back).
func (t *Tri) size(op *TriOpportunity, b, baPrice float64, prices [3]market.Price, forward bool) bool {
	// Work at the finer of B's two decimal places, where both steps are
	// whole numbers of units.
	d := max(t.ba.QtyExp, t.bq.QtyExp)
	sBA := t.ba.StepOr1() * market.Qty(market.Pow10(d-t.ba.QtyExp))
	sBQ := t.bq.StepOr1() * market.Qty(market.Pow10(d-t.bq.QtyExp))
	step := commonStep(sBA, sBQ)
	qd := market.Qty(b * math.Pow10(d))
	qd -= qd % step
	qba, ok1 := market.Rescale(int64(qd), d, t.ba.QtyExp)
	qb, ok2 := market.Rescale(int64(qd), d, t.bq.QtyExp)
	if qd <= 0 || !ok1 || !ok2 {
		t.Stats.TooSmall++
		return false
	}
	a := float64(qba) * t.unit[1][1] * baPrice // A traded on A/Q
	sA := float64(t.aq.StepOr1())
	qa := a / t.unit[0][1]
	if forward {
		qa = math.Ceil(qa/sA) * sA
	} else {
		qa = math.Floor(qa/sA) * sA
	}
	op.Qty = [3]market.Qty{market.Qty(qa), market.Qty(qba), market.Qty(qb)}
	op.Price = prices
	for i, in := range [3]*market.Instrument{t.aq, t.ba, t.bq} {
		if op.Qty[i] <= 0 || op.Qty[i] < in.MinQty || !meetsNotional(in, op.Price[i], op.Qty[i]) {
			t.Stats.TooSmall++
			return false
		}
	}
	return true
}

// Intents appends the cycle's three IOC orders (AQ, BA, BQ) with the
// given ids.
func (op *TriOpportunity) Intents(t *Tri, ids [3]market.ClientID, dst []market.Intent) []market.Intent {
	for i, in := range [3]*market.Instrument{t.aq, t.ba, t.bq} {
		dst = append(dst, market.Intent{Action: market.ActNew, Venue: in.Venue, Inst: in, Side: op.Side[i], Type: market.Limit, TIF: market.IOC, Price: op.Price[i], Qty: op.Qty[i], ClientID: ids[i]})
	}
	return dst
}
