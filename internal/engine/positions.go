// Package engine is arbmm's core: the event loop that drains the feed and
// exec rings, dispatches to strategies, checks risk and sends through the
// gateway, and the positions, balances and P&L that follow from the fills.
package engine

import (
	"errors"
	"fmt"
	"math/bits"

	"arbmm/internal/market"
)

// AssetID indexes the assets the engine's instruments trade.
type AssetID uint16

// Positions are the engine's balances and profit and loss, built from the
// fills it is told of: per venue and asset, the holding (exact: a balance
// is always the starting one plus the sum of the fills and fees); per pair
// across venues, the inventory with its average cost, the realised P&L and
// the fees. Owned by the engine goroutine; no allocation per fill.
//
// Amounts are int64 mantissas: an asset's balances at its decimals (the
// finest any instrument needs: a base at its pair's QtyExp, a quote at
// PriceExp+QtyExp); a pair's P&L and costs at the pair's PriceExp+QtyExp.
type Positions struct {
	assets  []assetInfo
	byName  map[string]AssetID
	bal     [][]int64 // [venue][asset]
	start   [][]int64 // balances as first set, for the run's change
	pairs   []pairPos
	byInst  map[*market.Instrument]int
	fills   uint64
	rounded uint64 // fees that did not fit an asset's decimals exactly (rounded up)
}

type assetInfo struct {
	name string
	dec  int
}

// pairPos is one pair's inventory across venues, average-cost accounting.
type pairPos struct {
	inst      *market.Instrument // the first instrument of the pair (its exponents are the pair's)
	base      AssetID
	quote     AssetID
	qty       int64 // signed base position, QtyExp
	cost      int64 // cost basis of qty (signed like qty), PriceExp+QtyExp
	realised  int64
	fees      int64 // fees paid, converted to quote, PriceExp+QtyExp
	volume    int64 // traded notional
	fillCount uint64
}

// NewPositions registers every instrument's pair and assets. Instruments of
// one pair must share its exponents (the engine's config guarantees it).
func NewPositions(ins []market.Instrument) (*Positions, error) {
	p := &Positions{byName: map[string]AssetID{}, byInst: map[*market.Instrument]int{}}
	need := func(name string, dec int) AssetID {
		if id, ok := p.byName[name]; ok {
			p.assets[id].dec = max(p.assets[id].dec, dec)
			return id
		}
		p.byName[name] = AssetID(len(p.assets))
		p.assets = append(p.assets, assetInfo{name: name, dec: dec})
		return AssetID(len(p.assets) - 1)
	}
	pairIdx := map[market.Pair]int{}
	for i := range ins {
		in := &ins[i]
		if in.PriceExp+in.QtyExp > market.MaxExp {
			return nil, fmt.Errorf("engine: %s: exponents %d+%d too fine for exact balances", in.Symbol, in.PriceExp, in.QtyExp)
		}
		b, q := need(in.Pair.Base, in.QtyExp), need(in.Pair.Quote, in.PriceExp+in.QtyExp)
		j, ok := pairIdx[in.Pair]
		if !ok {
			j = len(p.pairs)
			pairIdx[in.Pair] = j
			p.pairs = append(p.pairs, pairPos{inst: in, base: b, quote: q})
		} else if first := p.pairs[j].inst; first.PriceExp != in.PriceExp || first.QtyExp != in.QtyExp {
			return nil, fmt.Errorf("engine: %s and %s list %s at different exponents", first.Symbol, in.Symbol, in.Pair)
		}
		p.byInst[in] = j
	}
	p.bal = make([][]int64, market.NumVenues)
	p.start = make([][]int64, market.NumVenues)
	for v := range p.bal {
		p.bal[v] = make([]int64, len(p.assets))
		p.start[v] = make([]int64, len(p.assets))
	}
	return p, nil
}

// Asset returns an asset's id and decimals.
func (p *Positions) Asset(name string) (AssetID, int, bool) {
	id, ok := p.byName[name]
	if !ok {
		return 0, 0, false
	}
	return id, p.assets[id].dec, true
}

// SetBalance sets a venue's holding of an asset (amount at dec decimals,
// rescaled to the asset's): at start-up from the venue's account, and the
// first value set is the run's starting point.
func (p *Positions) SetBalance(v market.Venue, asset string, amount int64, dec int) error {
	id, ok := p.byName[asset]
	if !ok {
		return fmt.Errorf("engine: no instrument trades %s", asset)
	}
	x, ok := market.Rescale(amount, dec, p.assets[id].dec)
	if !ok {
		return fmt.Errorf("engine: %s balance %d at %d decimals does not fit %d decimals", asset, amount, dec, p.assets[id].dec)
	}
	p.bal[v][id] = x
	p.start[v][id] = x
	return nil
}

// Balance is a venue's holding of an asset, at the asset's decimals.
func (p *Positions) Balance(v market.Venue, id AssetID) int64 { return p.bal[v][id] }

// Change is a venue's holding of an asset less its starting value.
func (p *Positions) Change(v market.Venue, id AssetID) int64 { return p.bal[v][id] - p.start[v][id] }

// Errors of Apply.
var (
	ErrNotFill      = errors.New("engine: report is not a fill")
	ErrUnknownInst  = errors.New("engine: fill of an instrument the engine does not trade")
	ErrUnknownAsset = errors.New("engine: fee in an asset the engine does not trade")
	ErrFillOverflow = errors.New("engine: fill notional overflows")
)

// Apply books one fill: the venue's balances of base and quote move by the
// trade, the fee leaves its asset, and the pair's inventory, cost and
// realised P&L follow (average cost; fees count against realised P&L at
// the fill's price).
func (p *Positions) Apply(r *market.Report) error {
	if r.Kind != market.ReportFill && !(r.Kind == market.ReportStatus && r.Qty > 0) {
		return ErrNotFill
	}
	j, ok := p.byInst[r.Inst]
	if !ok {
		return ErrUnknownInst
	}
	pp := &p.pairs[j]
	in := pp.inst
	hi, notional := bits.Mul64(uint64(r.Price), uint64(r.Qty))
	if hi != 0 || notional > 1<<62 {
		return ErrFillOverflow
	}
	n := int64(notional) // PriceExp+QtyExp
	q := int64(r.Qty)
	bal := p.bal[r.Venue]
	bq, _ := market.Rescale(q, in.QtyExp, p.assets[pp.base].dec)
	nq, _ := market.Rescale(n, in.PriceExp+in.QtyExp, p.assets[pp.quote].dec)
	signed := q
	if r.Side == market.Buy {
		bal[pp.base] += bq
		bal[pp.quote] -= nq
	} else {
		bal[pp.base] -= bq
		bal[pp.quote] += nq
		signed = -q
	}
	// The fee leaves its asset, and counts in quote at the fill's price.
	var feeQuote int64
	if r.Fee != 0 {
		id, ok := p.byName[r.FeeAsset]
		if !ok {
			return ErrUnknownAsset
		}
		f, exact := rescaleUp(r.Fee, int(r.FeeExp), p.assets[id].dec)
		if !exact {
			p.rounded++
		}
		bal[id] -= f
		switch id {
		case pp.quote:
			feeQuote, _ = rescaleUp(f, p.assets[id].dec, in.PriceExp+in.QtyExp)
		case pp.base:
			fb, _ := rescaleUp(f, p.assets[id].dec, in.QtyExp)
			feeQuote = fb * int64(r.Price)
		}
	}
	pp.fees += feeQuote
	pp.realised -= feeQuote
	pp.volume += n
	pp.fillCount++
	p.fills++
	// Average cost: a trade in the position's direction adds to its cost;
	// against it, it realises the difference on the part it closes.
	cost := n
	if signed < 0 {
		cost = -n
	}
	switch {
	case pp.qty == 0 || (pp.qty > 0) == (signed > 0):
		pp.qty += signed
		pp.cost += cost
	default:
		closing := min(abs64(signed), abs64(pp.qty))
		basis := mulDiv(pp.cost, closing, abs64(pp.qty)) // signed like qty
		proceeds := mulDiv(cost, closing, abs64(signed))
		pp.realised += -(proceeds + basis) // a long sold: −(−proceeds) − basis
		pp.cost -= basis
		pp.qty += signed
		if rest := abs64(signed) - closing; rest > 0 { // flipped: the rest opens
			pp.cost = mulDiv(cost, rest, abs64(signed))
		}
	}
	return nil
}

// PairPnL is one pair's position and P&L.
type PairPnL struct {
	Pair       market.Pair
	Qty        int64 // signed base inventory across venues, QtyExp
	AvgPrice   float64
	Realised   int64 // PriceExp+QtyExp, fees deducted
	Unrealised int64 // at the mark price
	Fees       int64
	Volume     int64
	Fills      uint64
	PriceExp   int
	QtyExp     int
}

// Pair reports pair j's P&L marked at mark (the pair's PriceExp).
func (p *Positions) Pair(j int, mark market.Price) PairPnL {
	pp := &p.pairs[j]
	out := PairPnL{Pair: pp.inst.Pair, Qty: pp.qty, Realised: pp.realised, Fees: pp.fees, Volume: pp.volume, Fills: pp.fillCount,
		PriceExp: pp.inst.PriceExp, QtyExp: pp.inst.QtyExp}
	if pp.qty != 0 {
		out.AvgPrice = float64(pp.cost) / float64(pp.qty)
		out.Unrealised = int64(mark)*pp.qty - pp.cost
	}
	return out
}

// Pairs is the number of pairs; PairOf the pair index of an instrument.
func (p *Positions) Pairs() int { return len(p.pairs) }

// PairOf returns the pair index of an instrument.
func (p *Positions) PairOf(in *market.Instrument) (int, bool) {
	j, ok := p.byInst[in]
	return j, ok
}

// Fills counts the fills applied; Rounded the fees rounded to fit.
func (p *Positions) Fills() uint64   { return p.fills }
func (p *Positions) Rounded() uint64 { return p.rounded }

// rescaleUp is market.Rescale rounding away from zero when precision is
// lost (a fee is never under-counted); exact reports whether it was exact.
func rescaleUp(v int64, from, to int) (int64, bool) {
	if x, ok := market.Rescale(v, from, to); ok {
		return x, true
	}
	if from <= to {
		return v, false // overflow: leave as is (callers bound inputs)
	}
	d := market.Pow10(from - to)
	x := v / d
	if v%d != 0 {
		if v > 0 {
			x++
		} else {
			x--
		}
	}
	return x, false
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// mulDiv is a·b/c with a 128-bit intermediate, truncated toward zero.
func mulDiv(a, b, c int64) int64 {
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(uint64(abs64(a)), uint64(abs64(b)))
	if hi >= uint64(c) {
		return 0 // out of range: callers keep a·b/c within int64
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	if neg {
		return -int64(q)
	}
	return int64(q)
}
