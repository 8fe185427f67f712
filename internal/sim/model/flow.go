package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"arbmm/internal/market"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

// FlowConfig is the background order flow of one pair on one venue.
type FlowConfig struct {
	// Lag is how far behind the latent price this venue's quotes are (the
	// leader has 0; a laggard 50-500ms): after a jump the lagging venue's
	// book is stale for this long, which is an arbitrage.
	Lag time.Duration
	// NoiseBps is the standard deviation of the venue's own deviation from
	// the latent price, in basis points: an AR(1) process with half-life
	// NoiseHalfLife, so venues drift apart and come back.
	NoiseBps      float64
	NoiseHalfLife time.Duration
	// HalfSpreadTicks is the distance in ticks from the venue's fair price
	// to its best bid and best ask (≥ 1).
	HalfSpreadTicks int
	// Depth is the number of price levels quoted per side (≥ 1), Spacing
	// ticks apart (≥ 1).
	Depth   int
	Spacing int
	// LevelQty is the mean size of one background order, in quantity
	// mantissa units (≥ the pair's step and min qty).
	LevelQty int64
	// UpdatesPerSec is the number of background book actions (place or
	// cancel an order) per second; each one is one market-data message.
	UpdatesPerSec float64
	// TakersPerSec is the mean number of background market orders per
	// second (trades that eat the top of the book), TakerQty their mean size.
	TakersPerSec float64
	TakerQty     int64
	// TakerBuyShare, within [0, 1], fixes the share of takers that buy
	// (0: every taker sells: one-sided flow); nil leans the takers
	// against the LP's inventory drift.
	TakerBuyShare *float64
}

// Validate fills defaults and reports the first bad setting.
func (c *FlowConfig) Validate() error {
	if c.HalfSpreadTicks == 0 {
		c.HalfSpreadTicks = 1
	}
	if c.Depth == 0 {
		c.Depth = 20
	}
	if c.Spacing == 0 {
		c.Spacing = 1
	}
	if c.NoiseHalfLife == 0 {
		c.NoiseHalfLife = 5 * time.Second
	}
	switch {
	case c.Lag < 0 || !(c.NoiseBps >= 0 && c.NoiseBps <= 1000) || c.NoiseHalfLife < 0:
		return fmt.Errorf("model: lag and noise_half_life must be >= 0, noise_bps within 0..1000")
	case c.HalfSpreadTicks < 1 || c.Depth < 1 || c.Spacing < 1:
		return fmt.Errorf("model: half_spread_ticks, depth and spacing must be >= 1")
	case c.Depth > 5000:
		return fmt.Errorf("model: depth %d: at most 5000 levels per side", c.Depth)
	case c.LevelQty <= 0:
		return fmt.Errorf("model: level_qty must be > 0")
	case !(c.UpdatesPerSec >= 0) || !(c.TakersPerSec >= 0) || math.IsInf(c.UpdatesPerSec, 0) || c.TakerQty < 0:
		return fmt.Errorf("model: updates_per_sec, takers_per_sec and taker_qty must be >= 0")
	case c.TakersPerSec > 0 && c.TakerQty == 0:
		return fmt.Errorf("model: takers_per_sec needs taker_qty")
	case c.TakerBuyShare != nil && !(*c.TakerBuyShare >= 0 && *c.TakerBuyShare <= 1):
		return fmt.Errorf("model: taker_buy_share must be within 0..1")
	}
	return nil
}

// maxPerLevel bounds the background orders resting at one price.
const maxPerLevel = 3

// requote is the number of levels the LP places at once on a side left
// empty near the price (after a jump, or a taker that swept it).
const requote = 10

// Flow is the background flow of one pair on one venue: a liquidity
// provider account that keeps a ladder of orders around the venue's fair
// price, and a taker account that sends market orders. Owned by the
// model's driver; its methods run inside the venue's Do.
type Flow struct {
	cfg      FlowConfig
	pair     *venue.Pair
	latent   Path
	lp, tk   match.AccountID
	rng      *rand.Rand
	lagSteps int
	phi      float64 // AR(1) coefficient per step
	sd       float64 // AR(1) innovation sd per step (log units)
	noise    float64 // current deviation (log units)
	perStep  float64 // actions per step
	carry    float64
	takeP    float64 // taker probability per step
	unit     float64 // value of one price mantissa unit: 10^-PriceExp
	lpBase0  int64   // the LP's initial base holding (the taker leans against drift from it)
	open     []*match.Order
	filled   [2][]bool // scratch: ladder levels holding an LP order, per side
	actions  uint64
	takers   uint64
	rejects  uint64
}

// NewFlow makes the flow of pair p (on its venue) following latent, for the
// lp and taker accounts (which must already hold their inventory), with a
// model step of step and its own seed.
func NewFlow(cfg FlowConfig, p *venue.Pair, latent Path, lp, taker match.AccountID, step time.Duration, seed uint64) (*Flow, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if step <= 0 {
		return nil, fmt.Errorf("model: step %v: want > 0", step)
	}
	dt := step.Seconds()
	f := &Flow{
		cfg:      cfg,
		pair:     p,
		latent:   latent,
		lp:       lp,
		tk:       taker,
		rng:      rand.New(rand.NewPCG(seed, uint64(p.Index)+1)),
		lagSteps: int(cfg.Lag / step),
		perStep:  cfg.UpdatesPerSec * dt,
		takeP:    cfg.TakersPerSec * dt,
		unit:     math.Pow10(-p.Cfg.PriceExp),
	}
	if cfg.NoiseBps > 0 {
		f.phi = math.Exp(-math.Ln2 * dt / cfg.NoiseHalfLife.Seconds())
		f.sd = cfg.NoiseBps / 1e4 * math.Sqrt(1-f.phi*f.phi)
	}
	f.filled[market.Bid] = make([]bool, cfg.Depth)
	f.filled[market.Ask] = make([]bool, cfg.Depth)
	if f.takeP > 1 {
		return nil, fmt.Errorf("model: %s: takers_per_sec %.0f is more than one per step", p.Cfg.Symbol, cfg.TakersPerSec)
	}
	return f, nil
}

// LagSteps is the venue's lag in model steps.
func (f *Flow) LagSteps() int { return f.lagSteps }

// Stats are a flow's counters.
type Stats struct {
	Actions, Takers, Rejects uint64
}

// Stats returns the flow's counters; call it inside the venue's Do.
func (f *Flow) Stats() Stats { return Stats{f.actions, f.takers, f.rejects} }

// Fair is the venue's fair price now, in price mantissa units.
func (f *Flow) Fair() float64 {
	return f.latent.At(f.lagSteps) * math.Exp(f.noise) / f.unit
}

// Seed places the initial ladder: every level of both sides. Run it once,
// inside the venue's Do, after the accounts are funded.
func (f *Flow) Seed(tx *venue.Tx) {
	free, _ := f.pair.Venue().Ledger().Balance(f.lp, f.pair.Base)
	f.lpBase0 = free
	bid0, ask0 := f.inside()
	sp := int64(f.cfg.Spacing) * f.tick()
	for k := int64(0); k < int64(f.cfg.Depth); k++ {
		f.place(tx, market.Bid, ladder(market.Bid, k, bid0, ask0, sp))
		f.place(tx, market.Ask, ladder(market.Ask, k, bid0, ask0, sp))
	}
}

// Step advances the flow by one model step: the venue's noise moves, then
// the step's share of actions runs, each in its own venue operation (one
// market-data message each), then perhaps a taker order. The latent path
// must already hold this step.
func (f *Flow) Step() {
	if f.sd > 0 {
		f.noise = f.noise*f.phi + f.sd*f.rng.NormFloat64()
	}
	f.carry += f.perStep
	v := f.pair.Venue()
	for f.carry >= 1 {
		f.carry--
		v.Do(f.act)
	}
	if f.takeP > 0 && f.rng.Float64() < f.takeP {
		v.Do(f.take)
	}
}

func (f *Flow) tick() int64 {
	if t := f.pair.Cfg.Tick; t > 0 {
		return t
	}
	return 1
}

// inside is the best bid and ask the LP wants now.
func (f *Flow) inside() (bid0, ask0 int64) {
	t := f.tick()
	fair := f.Fair() / float64(t)
	h := int64(f.cfg.HalfSpreadTicks)
	return (int64(math.Ceil(fair)) - h) * t, (int64(math.Floor(fair)) + h) * t
}

// act is one background action: pull the LP's quotes that the fair price
// has moved through (they would cross), refill the top of a side left
// empty, trim a few orders that drifted far out, then place or cancel one
// order on the ladder.
func (f *Flow) act(tx *venue.Tx) {
	f.actions++
	bid0, ask0 := f.inside()
	t := f.tick()
	sp := int64(f.cfg.Spacing) * t
	far := int64(f.cfg.Depth+2) * sp
	near := 3 * sp
	b := f.pair.Book
	now := tx.Now().UnixNano()
	f.open = b.Open(f.lp, f.open[:0])
	side := market.Side(f.rng.IntN(2))
	// Levels near the top move most: k = Depth·u² favours small k.
	u := f.rng.Float64()
	k := int64(float64(f.cfg.Depth) * u * u)
	price := ladder(side, k, bid0, ask0, sp)
	var there uint64 // an LP order at the chosen price (by id: cancels recycle orders)
	perLevel, trimmed := 0, 0
	var nearN [2]int // LP orders near the top, per side
	clear(f.filled[market.Bid])
	clear(f.filled[market.Ask])
	for _, o := range f.open {
		switch {
		case o.Side == market.Bid && o.Price > bid0, o.Side == market.Ask && o.Price < ask0:
			_, _ = b.Cancel(f.lp, o.ID, now) // would cross the new fair price
			continue
		case trimmed < 4 && (o.Side == market.Bid && o.Price < bid0-far || o.Side == market.Ask && o.Price > ask0+far):
			_, _ = b.Cancel(f.lp, o.ID, now)
			trimmed++
			continue
		}
		if o.Side == market.Bid && o.Price > bid0-near || o.Side == market.Ask && o.Price < ask0+near {
			nearN[o.Side]++
		}
		var off int64
		if o.Side == market.Bid {
			off = bid0 - o.Price
		} else {
			off = o.Price - ask0
		}
		if off%sp == 0 && off/sp < int64(f.cfg.Depth) {
			f.filled[o.Side][off/sp] = true
		}
		if o.Side == side && o.Price == price {
			perLevel++
			if there == 0 {
				there = o.ID
			}
		}
	}
	clear(f.open)
	// A jump leaves a side empty near the new price: requote its top
	// levels at once, as a market maker would (capped at Depth).
	for sd := market.Bid; sd <= market.Ask; sd++ {
		if nearN[sd] == 0 {
			for k := int64(0); k < min(requote, int64(f.cfg.Depth)); k++ {
				f.place(tx, sd, ladder(sd, k, bid0, ask0, sp))
			}
		}
	}
	// Cancel the chosen order sometimes, never the last one near the top.
	if there != 0 && nearN[side] > 1 && (perLevel >= maxPerLevel || f.rng.IntN(3) == 0) {
		_, _ = b.Cancel(f.lp, there, now)
		return
	}
	// Fill the hole nearest the top of each side, so the ladder stays deep
	// while the price walks into it.
	for sd := market.Bid; sd <= market.Ask; sd++ {
		for k, ok := range f.filled[sd] {
			if !ok {
				f.filled[sd][k] = true
				f.place(tx, sd, ladder(sd, int64(k), bid0, ask0, sp))
				break
			}
		}
	}
	f.place(tx, side, price)
}

// ladder is the price of level k (0 = the top) of side, sp apart.
func ladder(side market.Side, k, bid0, ask0, sp int64) int64 {
	if side == market.Bid {
		return bid0 - k*sp
	}
	return ask0 + k*sp
}

// place rests one LP order of a random size at price.
func (f *Flow) place(tx *venue.Tx, side market.Side, price int64) {
	if price <= 0 {
		return
	}
	qty := f.size(f.cfg.LevelQty)
	_, err := f.pair.Book.Submit(match.Request{
		Account: f.lp, Side: side, Type: match.Limit, TIF: match.GTC, Price: price, Qty: qty, STP: match.STPExpireMaker,
	}, tx.Now().UnixNano())
	if err != nil {
		f.rejects++
	}
}

// take sends one background market order, leaning against the LP's
// inventory drift so that the LP neither runs dry nor piles up.
func (f *Flow) take(tx *venue.Tx) {
	f.takers++
	pBuy := 0.5
	if f.cfg.TakerBuyShare != nil {
		pBuy = *f.cfg.TakerBuyShare
	} else if f.lpBase0 > 0 {
		free, locked := f.pair.Venue().Ledger().Balance(f.lp, f.pair.Base)
		drift := float64(free+locked-f.lpBase0) / float64(f.lpBase0)
		pBuy = math.Max(0.1, math.Min(0.9, 0.5+4*drift))
	}
	side := market.Sell
	if f.rng.Float64() < pBuy {
		side = market.Buy
	}
	_, err := f.pair.Book.Submit(match.Request{
		Account: f.tk, Side: side, Type: match.Market, Qty: f.size(f.cfg.TakerQty), STP: match.STPExpireTaker,
	}, tx.Now().UnixNano())
	if err != nil {
		f.rejects++
	}
	// A taker that swept the side leaves the LP to requote its top.
	if _, ok := f.pair.Book.Best(side.Opposite()); !ok {
		bid0, ask0 := f.inside()
		sp := int64(f.cfg.Spacing) * f.tick()
		for k := int64(0); k < min(requote, int64(f.cfg.Depth)); k++ {
			f.place(tx, side.Opposite(), ladder(side.Opposite(), k, bid0, ask0, sp))
		}
	}
}

// size draws an order size around mean (0.2×..2×), on the step, at least
// the min qty.
func (f *Flow) size(mean int64) int64 {
	step := f.pair.Cfg.Step
	if step <= 0 {
		step = 1
	}
	q := int64(float64(mean)*(0.2+1.8*f.rng.Float64())) / step * step
	if q < step {
		q = step
	}
	if mq := f.pair.Cfg.MinQty; q < mq {
		q = (mq + step - 1) / step * step
	}
	return q
}

// Pair is the venue pair the flow trades.
func (f *Flow) Pair() *venue.Pair { return f.pair }
