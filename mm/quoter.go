package mm

import (
	"errors"
	"math"

	"arbmm/book"
	"arbmm/internal/market"
)

// MaxLayers bounds the quote layers per side.
const MaxLayers = 8

// FairValue is where the quoter centres its quotes.
type FairValue uint8

const (
	// Microprice weights the best bid and ask by the opposite sizes.
	Microprice FairValue = iota
	// Mid is the plain mid of the venue's best bid and ask.
	Mid
	// Reference is a price the caller supplies (another venue's mid, a
	// combination), with its age.
	Reference
)

// QuoterConfig configures Avellaneda–Stoikov quoting of one instrument.
// Prices and sizes in real units (floats) except the layer sizes, which
// are quantity mantissas at the instrument's QtyExp.
type QuoterConfig struct {
	Gamma float64 // risk aversion per quote unit, > 0
	// HorizonSec is the finite horizon T (the inventory term fades to zero
	// at the end of each horizon); 0 uses the infinite-horizon quotes
	// bounded by QMax.
	HorizonSec float64
	// QMax bounds the inventory (base units, relative to the target):
	// beyond it only the reducing side is quoted. > 0.
	QMax float64
	// TargetInventory is the inventory quotes skew toward (base units).
	TargetInventory float64
	// Sigma2Prior is σ² (price units² per second) until the estimator has
	// data; KPrior is k until fills give one. Both > 0.
	Sigma2Prior, KPrior float64
	// VolHalfLife is the volatility estimator's half-life (s); default 30.
	VolHalfLife float64
	// MinSpreadBps is the least total spread around the centre.
	MinSpreadBps float64
	// Layers per side (1..MaxLayers), LayerSpacingBps apart, each of
	// LayerQty (quantity mantissa; the last entry repeats).
	Layers          int
	LayerSpacingBps float64
	LayerQty        []market.Qty
	// Fair selects the centre; StaleAfterNs is the oldest book or
	// reference the quoter trusts.
	Fair         FairValue
	StaleAfterNs int64
}

// Level is one quote: a price and a size, mantissas.
type Level struct {
	Price market.Price
	Qty   market.Qty
}

// Ladder is the quotes wanted on each side, best first; NBids or NAsks 0
// means that side is not quoted.
type Ladder struct {
	NBids, NAsks int
	Bids, Asks   [MaxLayers]Level
}

// Quoter turns a book, the inventory and the estimators into the quotes
// Avellaneda–Stoikov prescribes, on the venue's tick and step, post-only
// (never at or through the opposite best). It decides only: the caller
// diffs the ladder against its resting orders. Owned by the engine
// goroutine; no allocation, no clock (times come in as arguments).
type Quoter struct {
	cfg   QuoterConfig
	inst  *market.Instrument
	vol   VolEstimator
	arr   ArrivalEstimator
	start int64 // ns of the first quote (the horizons count from it)
	Stats QuoterStats
}

// QuoterStats count the decisions.
type QuoterStats struct {
	Quotes, Pulled, OneSided, Widened, Clamped uint64
}

// NewQuoter validates cfg for the instrument.
func NewQuoter(cfg QuoterConfig, inst *market.Instrument) (*Quoter, error) {
	switch {
	case inst == nil:
		return nil, errors.New("mm: an instrument is required")
	case !(cfg.Gamma > 0) || !(cfg.QMax > 0) || !(cfg.Sigma2Prior > 0) || !(cfg.KPrior > 0):
		return nil, errors.New("mm: gamma, q_max, sigma2_prior and k_prior must be > 0")
	case cfg.HorizonSec < 0 || cfg.MinSpreadBps < 0 || cfg.LayerSpacingBps < 0:
		return nil, errors.New("mm: horizon, min spread and layer spacing must be >= 0")
	case cfg.Layers < 1 || cfg.Layers > MaxLayers:
		return nil, errors.New("mm: layers must be within 1..8")
	case len(cfg.LayerQty) == 0:
		return nil, errors.New("mm: layer_qty is required")
	}
	for _, q := range cfg.LayerQty {
		if q <= 0 || q%inst.StepOr1() != 0 || q < inst.MinQty {
			return nil, errors.New("mm: every layer_qty must be positive, on the step and at least the min qty")
		}
	}
	q := &Quoter{cfg: cfg, inst: inst, start: -1}
	q.vol.HalfLife = cfg.VolHalfLife
	q.arr.Prior = cfg.KPrior
	return q, nil
}

// OnFill tells the quoter a quote filled at price while the centre was
// at mid (real units): the arrival-rate estimator learns from the
// distance.
func (q *Quoter) OnFill(price, mid float64) { q.arr.Fill(math.Abs(price - mid)) }

// Quote returns the ladder for the book top t, the inventory (base units),
// a reference price and its age (used when Fair is Reference; 0 none), at
// time now (ns). ok is false when the quotes must be pulled: the book is
// not Live or too old, or the reference is missing or stale.
func (q *Quoter) Quote(t *book.Top, inventory, ref float64, refAgeNs, now int64) (Ladder, bool) {
	var l Ladder
	in := q.inst
	if t == nil || t.State != book.Live || t.NBids == 0 || t.NAsks == 0 ||
		(q.cfg.StaleAfterNs > 0 && now-t.RecvTime > q.cfg.StaleAfterNs) {
		q.Stats.Pulled++
		return l, false
	}
	pu := math.Pow10(-in.PriceExp)
	qu := math.Pow10(-in.QtyExp)
	bb, ba := float64(t.Bids[0].Price)*pu, float64(t.Asks[0].Price)*pu
	bq, aq := float64(t.Bids[0].Qty)*qu, float64(t.Asks[0].Qty)*qu
	mid := (bb + ba) / 2
	center := mid
	switch q.cfg.Fair {
	case Microprice:
		if bq+aq > 0 {
			center = (bb*aq + ba*bq) / (bq + aq)
		}
	case Reference:
		if !(ref > 0) || (q.cfg.StaleAfterNs > 0 && refAgeNs > q.cfg.StaleAfterNs) {
			q.Stats.Pulled++
			return l, false
		}
		center = ref
	}
	nowSec := float64(now) / 1e9
	q.vol.Observe(mid, nowSec)
	sigma2 := q.vol.Sigma2()
	if !(sigma2 > 0) {
		sigma2 = q.cfg.Sigma2Prior
	}
	k, err := q.arr.K()
	if err != nil {
		k = q.cfg.KPrior
	}
	inv := inventory - q.cfg.TargetInventory
	var bid, ask float64
	if q.cfg.HorizonSec > 0 {
		if q.start < 0 {
			q.start = now
		}
		elapsed := float64(now-q.start) / 1e9
		tau := q.cfg.HorizonSec - math.Mod(elapsed, q.cfg.HorizonSec)
		bid, ask = FiniteQuotes(center, inv, q.cfg.Gamma, sigma2, tau, k)
	} else {
		var ok bool
		if bid, ask, ok = InfiniteQuotes(center, inv, q.cfg.Gamma, sigma2, k, q.cfg.QMax); !ok {
			// Beyond the bound: quote only the reducing side, at the
			// centre's edge.
			bid, ask = center-center*q.cfg.MinSpreadBps/2e4, center+center*q.cfg.MinSpreadBps/2e4
		}
	}
	if minSpread := center * q.cfg.MinSpreadBps / 1e4; ask-bid < minSpread {
		c := (ask + bid) / 2
		bid, ask = c-minSpread/2, c+minSpread/2
		q.Stats.Widened++
	}
	tick := float64(in.TickOr1())
	bidM := math.Floor(bid/pu/tick) * tick
	askM := math.Ceil(ask/pu/tick) * tick
	// Post-only: never at or through the opposite best.
	if limit := float64(t.Asks[0].Price) - tick; bidM > limit {
		bidM = limit
		q.Stats.Clamped++
	}
	if limit := float64(t.Bids[0].Price) + tick; askM < limit {
		askM = limit
		q.Stats.Clamped++
	}
	spacing := math.Max(tick, math.Ceil(center*q.cfg.LayerSpacingBps/1e4/pu/tick)*tick)
	quoteBids, quoteAsks := inv < q.cfg.QMax, inv > -q.cfg.QMax
	if !quoteBids || !quoteAsks {
		q.Stats.OneSided++
	}
	for i := 0; i < q.cfg.Layers; i++ {
		size := q.cfg.LayerQty[min(i, len(q.cfg.LayerQty)-1)]
		if p := market.Price(bidM - float64(i)*spacing); quoteBids && p > 0 && meetsNotional(in, p, size) {
			l.Bids[l.NBids] = Level{p, size}
			l.NBids++
		}
		if p := market.Price(askM + float64(i)*spacing); quoteAsks && meetsNotional(in, p, size) {
			l.Asks[l.NAsks] = Level{p, size}
			l.NAsks++
		}
	}
	q.Stats.Quotes++
	return l, true
}

// meetsNotional reports price×qty ≥ the instrument's min notional.
func meetsNotional(in *market.Instrument, p market.Price, q market.Qty) bool {
	if in.MinNotional <= 0 {
		return true
	}
	return float64(p)*float64(q) >= float64(in.MinNotional)*math.Pow10(in.QtyExp)
}
