package risk

import (
	"errors"
	"math/bits"
	"strconv"
	"sync/atomic"

	"arbmm/book"
	"arbmm/internal/market"
)

// Verdict is the outcome of a Check: OK, or why the intent was refused.
type Verdict uint8

// The verdicts, in the order Check tests them (the first failing one is
// returned).
const (
	OK                 Verdict = iota
	Killed                     // the kill switch is active: no new orders
	UnknownInstrument          // the intent's instrument was not given to New
	BadIntent                  // venue differs from the instrument's, or side, type or action out of range
	BookNotLive                // the book is not Live
	BookStale                  // the book's last update is older than stale_after
	BadQty                     // quantity not positive
	BadPrice                   // price not positive (a market order too must carry its worst expected price)
	Tick                       // price not a multiple of the venue's tick (limit orders)
	Step                       // quantity not a multiple of the venue's step
	MinQty                     // quantity below the venue's minimum
	QtyTooLarge                // quantity above max_order_qty
	NotionalTooLarge           // price×qty above max_order_notional
	MinNotional                // price×qty below the venue's minimum
	NoRefPrice                 // no reference price to hold the price against
	PriceBand                  // price further from the reference than price_band_bps
	PositionLimit              // would take the venue position past max_position
	TotalPositionLimit         // would take the position across venues past max_total_position
	Balance                    // not enough free quote (buy: notional + fee reserve) or base (sell)
	OpenOrders                 // max_open_orders already open
	RateLimit                  // faster than max_orders_per_sec beyond order_burst
	numVerdicts
)

// NumVerdicts is one more than the largest Verdict: the length of an array
// indexed by Verdict.
const NumVerdicts = int(numVerdicts)

var verdictNames = [numVerdicts]string{
	"ok", "kill_switch", "unknown_instrument", "bad_intent", "book_not_live", "book_stale",
	"bad_qty", "bad_price", "tick", "step", "min_qty", "qty_too_large", "notional_too_large",
	"min_notional", "no_ref_price", "price_band", "position_limit", "total_position_limit",
	"balance", "open_orders", "rate_limit",
}

// String returns the verdict's snake_case name ("price_band"), as the status
// line and metrics label it.
func (v Verdict) String() string {
	if v < numVerdicts {
		return verdictNames[v]
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// View is what the engine knows of the intent's market and account at the
// moment of the check; it fills one per check (a stack value, not retained).
// Amounts are mantissas at the intent's instrument's exponents.
type View struct {
	Book     book.State   // the state of the book of the intent's instrument
	BookAge  int64        // ns since the book's last update (now - its receive time)
	RefPrice market.Price // reference price for the band, usually the book's mid; 0 when none

	FreeBase  market.Qty   // free balance of the base asset on the venue, at QtyExp
	FreeQuote market.Price // free balance of the quote asset on the venue, at PriceExp

	// Position is the signed position in the base asset on the venue, at
	// QtyExp, and TotalPosition the same summed over every venue. To bound
	// what open orders could still add, pass the filled position plus the
	// open quantity on the intent's side (buys for a buy, minus sells for a
	// sell).
	Position      market.Qty
	TotalPosition market.Qty

	OpenOrders int // orders open on the instrument, not counting this one (for a replace: counting the one replaced)
}

// limits are one instrument's compiled limits and its rate-limit state.
type limits struct {
	venue       market.Venue
	tick, step  int64
	minQty      int64
	minNotional uint64 // quote at PriceExp
	qtyScale    uint64 // 10^QtyExp: price×qty / qtyScale is the notional at PriceExp

	maxQty      int64
	maxNotional uint64 // quote at PriceExp
	bandBps     uint64
	maxOpen     int
	staleAfter  int64  // ns
	feeMicro    uint64 // fee reserve, millionths of the notional
	maxPos      int64  // at QtyExp
	maxTotal    int64  // at QtyExp

	// Order rate as a GCRA (a token bucket in one number): an order at now
	// passes when now >= tat-tau, and then tat = max(tat, now)+interval.
	interval int64 // ns per order
	tau      int64 // (burst-1)*interval
	reserve  int64 // hedge_reserve*interval: the bottom of the bucket only hedges use
	tat      int64 // theoretical arrival time of the next order, Unix ns
}

// instKey finds an instrument by value when its pointer is not one New saw.
type instKey struct {
	venue  market.Venue
	symbol string
}

// Checker runs the pre-trade checks. It is owned by the engine core's
// goroutine: Check must not be called from two goroutines at once. Its
// counters and kill switch may be read from any goroutine.
type Checker struct {
	byPtr  map[*market.Instrument]int32
	byKey  map[instKey]int32
	lims   []limits
	kill   *KillSwitch
	counts [numVerdicts]atomic.Uint64 // written by the owner only (load+store), read by anyone
	cancel atomic.Uint64              // cancels passed
}

// New builds a Checker for the instruments the engine trades, from cfg.
// Every instrument gets the defaults with its own entry laid over them, and
// must end up with every required limit; every entry must name one of the
// instruments; every base asset must have its position limits and every
// assets entry must be some instrument's base. Amounts are parsed at each
// instrument's exponents. All problems are reported together, each reading
// "risk: path: problem".
//
// Check finds an intent's instrument fastest when Intent.Inst points into
// the instruments slice given here (&instruments[i]); any other pointer to
// an instrument with the same venue and symbol is found by value.
func New(cfg Config, instruments []market.Instrument) (*Checker, error) {
	var errs errList
	cfg.validate(&errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(instruments) == 0 {
		return nil, errors.New("risk: no instruments")
	}
	entry := make(map[instKey]int, len(cfg.Instruments)) // venue + canonical pair → entry
	for i := range cfg.Instruments {
		il := &cfg.Instruments[i]
		v, _ := market.ParseVenue(il.Venue)
		p, _ := market.ParsePair(il.Pair)
		entry[instKey{v, p.String()}] = i
	}
	used := make([]bool, len(cfg.Instruments))
	assets := make(map[string]int, len(cfg.Assets))
	for i := range cfg.Assets {
		assets[cfg.Assets[i].Asset] = i
	}
	assetUsed := make([]bool, len(cfg.Assets))
	c := &Checker{
		byPtr: make(map[*market.Instrument]int32, len(instruments)),
		byKey: make(map[instKey]int32, len(instruments)),
		lims:  make([]limits, len(instruments)),
	}
	for i := range instruments {
		in := &instruments[i]
		what := in.Venue.String() + " " + in.Pair.String()
		if err := in.Validate(); err != nil {
			errs = append(errs, errors.New("risk: "+err.Error()))
			continue
		}
		k := instKey{in.Venue, in.Symbol}
		if _, dup := c.byKey[k]; dup {
			errs.add("", "instrument %s %s given twice", in.Venue, in.Symbol)
			continue
		}
		c.byPtr[in] = int32(i)
		c.byKey[k] = int32(i)
		l, path := cfg.Defaults, "defaults"
		if j, ok := entry[instKey{in.Venue, in.Pair.String()}]; ok {
			l = cfg.Instruments[j].Limits.merged(cfg.Defaults)
			path = "instruments[" + strconv.Itoa(j) + "]"
			used[j] = true
		}
		c.lims[i] = compile(&errs, path, in, l)
		j, ok := assets[in.Pair.Base]
		if !ok {
			errs.add("assets", "no entry for %s, the base asset of %s", in.Pair.Base, what)
			continue
		}
		assetUsed[j] = true
		a := &cfg.Assets[j]
		path = "assets[" + strconv.Itoa(j) + "]"
		c.lims[i].maxPos = parseAt(&errs, path+".max_position", a.MaxPosition, in.QtyExp, "qty_exp", what)
		c.lims[i].maxTotal = parseAt(&errs, path+".max_total_position", a.MaxTotalPosition, in.QtyExp, "qty_exp", what)
	}
	for i, u := range used {
		if !u {
			il := &cfg.Instruments[i]
			errs.add("instruments["+strconv.Itoa(i)+"]", "unknown instrument %s %s: not among the instruments traded", il.Venue, il.Pair)
		}
	}
	for i, u := range assetUsed {
		if !u {
			errs.add("assets["+strconv.Itoa(i)+"]", "unknown asset %s: not the base of any instrument traded", cfg.Assets[i].Asset)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.kill = newKillSwitch(cfg.Kill.withDefaults())
	return c, nil
}

// Kill returns the Checker's kill switch.
func (c *Checker) Kill() *KillSwitch { return c.kill }

// Count returns how many intents Check answered with v (OK counts new
// orders and replaces passed; cancels are counted by Cancels). Any
// goroutine: the engine's status line and metrics read them while the core
// writes them.
func (c *Checker) Count(v Verdict) uint64 {
	if v >= numVerdicts {
		return 0
	}
	return c.counts[v].Load()
}

// Cancels returns how many cancel and cancel-all intents Check passed. Any
// goroutine.
func (c *Checker) Cancels() uint64 { return c.cancel.Load() }

// bump counts v. Only the owning goroutine writes, so a load and a store
// suffice (no locked read-modify-write) and readers still see whole values.
func (c *Checker) bump(v Verdict) Verdict {
	c.counts[v].Store(c.counts[v].Load() + 1)
	return v
}

// lookup returns the limits of in, or nil.
func (c *Checker) lookup(in *market.Instrument) *limits {
	if in == nil {
		return nil
	}
	i, ok := c.byPtr[in]
	if !ok {
		if i, ok = c.byKey[instKey{in.Venue, in.Symbol}]; !ok {
			return nil
		}
	}
	return &c.lims[i]
}

// Check decides whether the intent may go to the venue at time now (Unix
// ns, the event time that drove the decision), given the engine's view of
// its market and account. Cancels and cancel-alls always pass, whatever the
// kill switch says. A new order or a replace passes only if every limit
// holds; it then takes a slot of the instrument's order rate. The first
// failing check is returned and counted. Check does not allocate, reads no
// clock, and is called from the owning goroutine only.
func (c *Checker) Check(in *market.Intent, v *View, now int64) Verdict {
	switch in.Action {
	case market.ActCancel, market.ActCancelAll:
		c.cancel.Store(c.cancel.Load() + 1)
		return OK
	case market.ActNew, market.ActReplace:
	default:
		return c.bump(BadIntent)
	}
	if c.kill.Active() && !reduces(in, v) {
		return c.bump(Killed)
	}
	l := c.lookup(in.Inst)
	if l == nil {
		return c.bump(UnknownInstrument)
	}
	if in.Venue != l.venue || in.Side > market.Sell || in.Type > market.LimitMaker || in.TIF > market.FOK {
		return c.bump(BadIntent)
	}
	if v.Book != book.Live {
		return c.bump(BookNotLive)
	}
	if v.BookAge > l.staleAfter {
		return c.bump(BookStale)
	}
	qty, price := int64(in.Qty), int64(in.Price)
	switch {
	case qty <= 0:
		return c.bump(BadQty)
	case price <= 0:
		return c.bump(BadPrice)
	case in.Type != market.Market && price%l.tick != 0:
		return c.bump(Tick)
	case qty%l.step != 0:
		return c.bump(Step)
	case qty < l.minQty:
		return c.bump(MinQty)
	case qty > l.maxQty:
		return c.bump(QtyTooLarge)
	}
	// Notional at PriceExp = price×qty / 10^QtyExp, exactly: q rem r.
	hi, lo := bits.Mul64(uint64(price), uint64(qty))
	if hi >= l.qtyScale {
		return c.bump(NotionalTooLarge) // the quotient would not fit 64 bits
	}
	q, r := bits.Div64(hi, lo, l.qtyScale)
	if q > l.maxNotional || q == l.maxNotional && r != 0 {
		return c.bump(NotionalTooLarge)
	}
	if q < l.minNotional {
		return c.bump(MinNotional)
	}
	ref := int64(v.RefPrice)
	if ref <= 0 {
		return c.bump(NoRefPrice)
	}
	// |price-ref|×10⁴ <= band×ref, in 128 bits.
	d := uint64(price - ref)
	if price < ref {
		d = uint64(ref - price)
	}
	dh, dl := bits.Mul64(d, 10000)
	bh, bl := bits.Mul64(l.bandBps, uint64(ref))
	if dh > bh || dh == bh && dl > bl {
		return c.bump(PriceBand)
	}
	delta := qty
	if in.Side == market.Sell {
		delta = -qty
	}
	if !within(int64(v.Position), delta, l.maxPos) {
		return c.bump(PositionLimit)
	}
	if !within(int64(v.TotalPosition), delta, l.maxTotal) {
		return c.bump(TotalPositionLimit)
	}
	if in.Side == market.Buy {
		// Quote needed: the notional rounded up, plus the fee reserve on it
		// rounded up. q+1 <= maxNotional+1 < 2^63 and feeMicro <= 10^5, so
		// the fee's high word is far below 10^6.
		if r != 0 {
			q++
		}
		fh, fl := bits.Mul64(q, l.feeMicro)
		fq, fr := bits.Div64(fh, fl, 1_000_000)
		if fr != 0 {
			fq++
		}
		if v.FreeQuote < 0 || q+fq > uint64(v.FreeQuote) {
			return c.bump(Balance)
		}
	} else if qty > int64(v.FreeBase) {
		return c.bump(Balance)
	}
	open := v.OpenOrders
	if in.Action == market.ActReplace {
		open-- // the replaced order's slot is reused
	}
	if open >= l.maxOpen {
		return c.bump(OpenOrders)
	}
	floor := l.tat - l.tau
	if !in.Hedge {
		floor += l.reserve
	}
	if now < floor {
		return c.bump(RateLimit)
	}
	l.tat = max(l.tat, now) + l.interval
	return c.bump(OK)
}

// RateReady reports whether an order on in (not a hedge) would pass the
// order-rate check at now, without taking a slot: strategies skip a decision whose orders
// the rate limit would refuse anyway (and the refusals counter stays
// meaningful). An instrument the Checker does not know reports false.
func (c *Checker) RateReady(in *market.Instrument, now int64) bool {
	l := c.lookup(in)
	return l != nil && now >= l.tat-l.tau+l.reserve
}

// RateBudget is how many orders on in (not hedges) the order-rate check
// would pass back to back at now (0..burst less the hedge reserve),
// without taking any: a quoting strategy
// sends at most that many new orders and replaces at once.
func (c *Checker) RateBudget(in *market.Instrument, now int64) int {
	l := c.lookup(in)
	if l == nil || now < l.tat-l.tau+l.reserve {
		return 0
	}
	burst := (l.tau-l.reserve)/l.interval + 1
	return int(min((now-(l.tat-l.tau+l.reserve))/l.interval+1, burst))
}

// reduces reports whether in is a hedge (an IOC or FOK marked Hedge) that
// brings the pair's total position toward zero without passing it: the
// one kind of new order the kill switch lets through, so that exposure
// left when it trips can still be taken back.
func reduces(in *market.Intent, v *View) bool {
	if !in.Hedge || in.Action != market.ActNew || in.TIF != market.IOC && in.TIF != market.FOK {
		return false
	}
	pos, q := int64(v.TotalPosition), int64(in.Qty)
	if in.Side == market.Buy {
		return pos < 0 && q <= -pos
	}
	return pos > 0 && q <= pos
}

// within reports whether a position pos moved by delta stays within ±limit,
// or at least comes closer to zero (an order that reduces an over-limit
// position is allowed). Positions are far from the int64 edges: mantissas
// of real holdings.
func within(pos, delta, limit int64) bool {
	n := pos + delta
	an, ap := abs(n), abs(pos)
	return an <= limit || an < ap
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
