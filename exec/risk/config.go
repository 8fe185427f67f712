package risk

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"arbmm/internal/market"
)

// Defaults applied to settings left out of the config (or zero).
const (
	DefaultStaleAfter     = 5 * time.Second  // stale_after: the oldest book update traded on
	DefaultRejectBurst    = 20               // kill.reject_burst
	DefaultRejectWindow   = 10 * time.Second // kill.reject_window
	DefaultVenueDownAfter = 30 * time.Second // kill.venue_down_after
)

// Bounds of settings: anything past them is a typo, not a policy.
const (
	MaxPriceBandBps  = 10000     // price_band_bps: a band of ±100%
	MaxFeeReserveBps = 1000      // fee_reserve_bps: 10%, as config.MaxFeeBps
	MaxRejectBurst   = 1 << 16   // kill.reject_burst: the reject window holds this many times
	MaxOrdersPerSec  = 1_000_000 // max_orders_per_sec
)

// Config is the risk limits: per (venue, pair) order limits, per asset
// position limits, and the kill switch's triggers. It is meant to be embedded
// in the engine's config under a `risk:` key.
//
// Amounts are exact decimal text (Decimal), parsed by New at the exponents of
// each instrument they apply to (quantities and positions at the pair's
// qty_exp, notionals at its price_exp), so that Check compares int64
// mantissas and nothing passes through float64. A limit that is not
// representable at an instrument's exponent is an error, not a rounding.
type Config struct {
	// Defaults are the limits of every instrument given to New, field by
	// field, where its Instruments entry leaves a field unset (or has no
	// entry at all).
	Defaults Limits `yaml:"defaults"`
	// Instruments overrides the defaults for one venue's listing of a pair.
	// Each must name an instrument given to New, once.
	Instruments []InstrumentLimits `yaml:"instruments"`
	// Assets holds the position limits of every base asset of the
	// instruments given to New (each exactly once; none left out).
	Assets []AssetLimits `yaml:"assets"`
	// Kill holds the kill switch's triggers.
	Kill KillConfig `yaml:"kill"`
}

// Limits are the order limits of one instrument. After merging an entry
// over Config.Defaults, max_order_qty, max_order_notional, price_band_bps,
// max_open_orders and max_orders_per_sec must all be set.
type Limits struct {
	// MaxOrderQty is the largest order quantity, in the base asset, > 0.
	MaxOrderQty Decimal `yaml:"max_order_qty"`
	// MaxOrderNotional is the largest price×qty of one order, in the quote
	// asset, > 0.
	MaxOrderNotional Decimal `yaml:"max_order_notional"`
	// PriceBandBps is the fat-finger band: an order's price may differ from
	// the reference price (View.RefPrice) by at most this many basis points
	// of it, 1..MaxPriceBandBps.
	PriceBandBps int `yaml:"price_band_bps"`
	// MaxOpenOrders is the most orders open at once on the instrument
	// (View.OpenOrders counts them), > 0.
	MaxOpenOrders int `yaml:"max_open_orders"`
	// MaxOrdersPerSec is the sustained rate of new orders (and replaces) on
	// the instrument, > 0, at most MaxOrdersPerSec; fractions allowed (0.5
	// is one every two seconds).
	MaxOrdersPerSec float64 `yaml:"max_orders_per_sec"`
	// OrderBurst is how many orders may go back to back before the rate
	// applies (the token bucket's size), >= 1; default one second's worth
	// of MaxOrdersPerSec (at least 1).
	OrderBurst int `yaml:"order_burst"`
	// HedgeReserve is how many of the burst's orders only hedges
	// (Intent.Hedge) may use: quotes and new arbitrage legs stop that many
	// short of the bucket's bottom, so a fill can always be hedged at once.
	// 0..order_burst-1; default 0.
	HedgeReserve int `yaml:"hedge_reserve"`
	// StaleAfter is the largest age of the book's last update (View.BookAge)
	// an order is placed on; default DefaultStaleAfter.
	StaleAfter time.Duration `yaml:"stale_after"`
	// FeeReserveBps is the fee a buy must be able to pay on top of its
	// notional from the free quote balance, in basis points with up to two
	// decimals, 0..MaxFeeReserveBps; default the instrument's larger of its
	// maker and taker fees (none when both are rebates).
	FeeReserveBps Decimal `yaml:"fee_reserve_bps"`
}

// InstrumentLimits are the limits of one venue's listing of a pair.
type InstrumentLimits struct {
	// Venue is the venue's config name (market.ParseVenue). Required.
	Venue string `yaml:"venue"`
	// Pair is the canonical pair, "BASE/QUOTE" (market.ParsePair). Required.
	Pair string `yaml:"pair"`
	// Limits set here replace the defaults' one by one.
	Limits `yaml:",inline"`
}

// AssetLimits are the position limits of one asset, applied to the
// instruments whose base it is.
type AssetLimits struct {
	// Asset is the asset's canonical name ("BTC"). Required.
	Asset string `yaml:"asset"`
	// MaxPosition bounds the absolute position in the asset on each venue,
	// > 0. Required.
	MaxPosition Decimal `yaml:"max_position"`
	// MaxTotalPosition bounds the absolute position summed over every
	// venue, > 0. Required.
	MaxTotalPosition Decimal `yaml:"max_total_position"`
}

// KillConfig holds the kill switch's triggers. P&L amounts are in the
// engine's reporting currency (the one it passes to KillSwitch.OnPnL).
type KillConfig struct {
	// MaxLoss trips the switch when realised+unrealised P&L falls below
	// -MaxLoss, > 0. Required.
	MaxLoss float64 `yaml:"max_loss"`
	// MaxDrawdown trips it when P&L falls more than this below its peak
	// (since start or the last Reset), > 0. Required.
	MaxDrawdown float64 `yaml:"max_drawdown"`
	// RejectBurst trips it when more than this many venue rejects arrive
	// within RejectWindow, 1..MaxRejectBurst; default DefaultRejectBurst.
	RejectBurst int `yaml:"reject_burst"`
	// RejectWindow is the sliding window of RejectBurst; default
	// DefaultRejectWindow.
	RejectWindow time.Duration `yaml:"reject_window"`
	// VenueDownAfter trips it when a venue has been disconnected for longer
	// than this; default DefaultVenueDownAfter.
	VenueDownAfter time.Duration `yaml:"venue_down_after"`
}

// Decimal is a decimal number as written in the YAML, quoted ("0.01") or not
// (0.01), kept as text so that it never passes through float64: New scans it
// straight into a mantissa with market.ParseFixed at the instrument's
// exponent. The empty Decimal means the setting is absent.
type Decimal string

// UnmarshalYAML implements yaml.NodeUnmarshaler: it takes the scalar's text
// as written, so 0.00001 stays "0.00001" rather than becoming "1e-05".
func (d *Decimal) UnmarshalYAML(n ast.Node) error {
	switch n := n.(type) {
	case *ast.NullNode:
		*d = ""
	case *ast.StringNode:
		*d = Decimal(n.Value)
	case *ast.IntegerNode, *ast.FloatNode:
		*d = Decimal(n.GetToken().Value)
	default:
		return &yaml.SyntaxError{Message: "want a decimal number such as \"0.01\", got " + n.Type().YAMLName(), Token: n.GetToken()}
	}
	return nil
}

// merged returns l with its unset fields taken from d.
func (l Limits) merged(d Limits) Limits {
	if l.MaxOrderQty == "" {
		l.MaxOrderQty = d.MaxOrderQty
	}
	if l.MaxOrderNotional == "" {
		l.MaxOrderNotional = d.MaxOrderNotional
	}
	if l.PriceBandBps == 0 {
		l.PriceBandBps = d.PriceBandBps
	}
	if l.MaxOpenOrders == 0 {
		l.MaxOpenOrders = d.MaxOpenOrders
	}
	if l.MaxOrdersPerSec == 0 {
		l.MaxOrdersPerSec = d.MaxOrdersPerSec
	}
	if l.OrderBurst == 0 {
		l.OrderBurst = d.OrderBurst
	}
	if l.HedgeReserve == 0 {
		l.HedgeReserve = d.HedgeReserve
	}
	if l.StaleAfter == 0 {
		l.StaleAfter = d.StaleAfter
	}
	if l.FeeReserveBps == "" {
		l.FeeReserveBps = d.FeeReserveBps
	}
	return l
}

// errList collects problems, each "risk: path: problem".
type errList []error

func (e *errList) add(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	*e = append(*e, errors.New("risk: "+msg))
}

// checkDecimal checks that s, if set, is a non-negative decimal number
// (ParseFixed at the largest exponent accepts every representable one),
// and that it is set and positive when required.
func checkDecimal(errs *errList, path string, s Decimal, required bool) {
	if s == "" {
		if required {
			errs.add(path, "not set")
		}
		return
	}
	if s[0] == '-' {
		errs.add(path, "%q is negative", s)
		return
	}
	// Too many decimals or too large for an exponent is decided per
	// instrument; here only the syntax.
	if _, err := market.ParseFixed([]byte(s), 0); err != nil && err != market.ErrPrecision && err != market.ErrRange {
		errs.add(path, "%q is not a decimal number", s)
	}
}

// checkLimits checks the settings of l that do not depend on an instrument.
func checkLimits(errs *errList, path string, l *Limits) {
	checkDecimal(errs, path+".max_order_qty", l.MaxOrderQty, false)
	checkDecimal(errs, path+".max_order_notional", l.MaxOrderNotional, false)
	checkDecimal(errs, path+".fee_reserve_bps", l.FeeReserveBps, false)
	if l.PriceBandBps < 0 || l.PriceBandBps > MaxPriceBandBps {
		errs.add(path+".price_band_bps", "%d is outside 1..%d", l.PriceBandBps, MaxPriceBandBps)
	}
	if l.MaxOpenOrders < 0 {
		errs.add(path+".max_open_orders", "%d is negative", l.MaxOpenOrders)
	}
	if r := l.MaxOrdersPerSec; r < 0 || r > MaxOrdersPerSec || math.IsNaN(r) {
		errs.add(path+".max_orders_per_sec", "%v is outside (0, %d]", r, MaxOrdersPerSec)
	}
	if l.OrderBurst < 0 {
		errs.add(path+".order_burst", "%d is negative", l.OrderBurst)
	}
	if l.HedgeReserve < 0 {
		errs.add(path+".hedge_reserve", "%d is negative", l.HedgeReserve)
	}
	if l.StaleAfter < 0 {
		errs.add(path+".stale_after", "%v is negative", l.StaleAfter)
	}
}

// Validate reports every problem of c that does not depend on the
// instruments (New, which calls it, checks the rest): malformed or negative
// amounts, negative or out-of-range counts, rates and durations, unknown
// venues, malformed pairs, duplicate entries and a kill switch without its
// loss limits. Problems are joined with errors.Join, each reading
// "risk: path: problem".
func (c *Config) Validate() error {
	var errs errList
	c.validate(&errs)
	return errors.Join(errs...)
}

func (c *Config) validate(errs *errList) {
	checkLimits(errs, "defaults", &c.Defaults)
	type key struct {
		v market.Venue
		p market.Pair
	}
	seen := make(map[key]int, len(c.Instruments))
	for i := range c.Instruments {
		il := &c.Instruments[i]
		path := "instruments[" + strconv.Itoa(i) + "]"
		v, err := market.ParseVenue(il.Venue)
		if err != nil {
			errs.add(path+".venue", "unknown venue %q", il.Venue)
		}
		p, err := market.ParsePair(il.Pair)
		if err != nil {
			errs.add(path+".pair", "%q is not BASE/QUOTE", il.Pair)
		}
		if v != market.VenueUnknown && !p.IsZero() {
			if j, dup := seen[key{v, p}]; dup {
				errs.add(path, "%s %s already listed at instruments[%d]", v, p, j)
			}
			seen[key{v, p}] = i
		}
		checkLimits(errs, path, &il.Limits)
	}
	assets := make(map[string]int, len(c.Assets))
	for i := range c.Assets {
		a := &c.Assets[i]
		path := "assets[" + strconv.Itoa(i) + "]"
		if _, err := market.ParsePair(a.Asset + "/X"); err != nil || a.Asset == "" {
			errs.add(path+".asset", "%q is not an asset name", a.Asset)
		} else if j, dup := assets[a.Asset]; dup {
			errs.add(path+".asset", "%s already listed at assets[%d]", a.Asset, j)
		}
		assets[a.Asset] = i
		checkDecimal(errs, path+".max_position", a.MaxPosition, true)
		checkDecimal(errs, path+".max_total_position", a.MaxTotalPosition, true)
	}
	c.Kill.validate(errs)
}

// validate checks the kill switch's settings.
func (k *KillConfig) validate(errs *errList) {
	if !(k.MaxLoss > 0) || math.IsInf(k.MaxLoss, 0) {
		errs.add("kill.max_loss", "%v: want a positive amount", k.MaxLoss)
	}
	if !(k.MaxDrawdown > 0) || math.IsInf(k.MaxDrawdown, 0) {
		errs.add("kill.max_drawdown", "%v: want a positive amount", k.MaxDrawdown)
	}
	if k.RejectBurst < 0 || k.RejectBurst > MaxRejectBurst {
		errs.add("kill.reject_burst", "%d is outside 1..%d", k.RejectBurst, MaxRejectBurst)
	}
	if k.RejectWindow < 0 {
		errs.add("kill.reject_window", "%v is negative", k.RejectWindow)
	}
	if k.VenueDownAfter < 0 {
		errs.add("kill.venue_down_after", "%v is negative", k.VenueDownAfter)
	}
}

// withDefaults returns k with its unset settings defaulted.
func (k KillConfig) withDefaults() KillConfig {
	if k.RejectBurst == 0 {
		k.RejectBurst = DefaultRejectBurst
	}
	if k.RejectWindow == 0 {
		k.RejectWindow = DefaultRejectWindow
	}
	if k.VenueDownAfter == 0 {
		k.VenueDownAfter = DefaultVenueDownAfter
	}
	return k
}

// parseAt parses a validated decimal at exponent exp, reporting a value the
// exponent cannot hold (or int64 cannot) against the instrument.
func parseAt(errs *errList, path string, s Decimal, exp int, expName, what string) int64 {
	v, err := market.ParseFixed([]byte(s), exp)
	switch err {
	case nil:
		if v <= 0 {
			errs.add(path, "%q for %s: want a positive amount", s, what)
		}
		return v
	case market.ErrPrecision:
		errs.add(path, "%q for %s has more decimals than its %s %d allows", s, what, expName, exp)
	case market.ErrRange:
		errs.add(path, "%q for %s does not fit in int64 at %s %d", s, what, expName, exp)
	default:
		errs.add(path, "%q for %s: %v", s, what, err)
	}
	return 0
}

// compile builds the limits of instrument in from l (merged with the
// defaults), reporting problems against path.
func compile(errs *errList, path string, in *market.Instrument, l Limits) limits {
	what := in.Venue.String() + " " + in.Pair.String()
	lim := limits{
		tick:        int64(in.TickOr1()),
		step:        int64(in.StepOr1()),
		minQty:      int64(in.MinQty),
		minNotional: uint64(max(in.MinNotional, 0)),
		qtyScale:    uint64(market.Pow10(in.QtyExp)),
		venue:       in.Venue,
	}
	if l.MaxOrderQty == "" {
		errs.add(path+".max_order_qty", "not set for %s (set it in its entry or in defaults)", what)
	} else {
		lim.maxQty = parseAt(errs, path+".max_order_qty", l.MaxOrderQty, in.QtyExp, "qty_exp", what)
	}
	if l.MaxOrderNotional == "" {
		errs.add(path+".max_order_notional", "not set for %s (set it in its entry or in defaults)", what)
	} else {
		lim.maxNotional = uint64(max(0, parseAt(errs, path+".max_order_notional", l.MaxOrderNotional, in.PriceExp, "price_exp", what)))
	}
	if l.PriceBandBps == 0 {
		errs.add(path+".price_band_bps", "not set for %s (set it in its entry or in defaults)", what)
	}
	lim.bandBps = uint64(max(l.PriceBandBps, 0))
	if l.MaxOpenOrders == 0 {
		errs.add(path+".max_open_orders", "not set for %s (set it in its entry or in defaults)", what)
	}
	lim.maxOpen = l.MaxOpenOrders
	if l.MaxOrdersPerSec == 0 {
		errs.add(path+".max_orders_per_sec", "not set for %s (set it in its entry or in defaults)", what)
	} else if l.MaxOrdersPerSec > 0 {
		// The interval between orders is rounded up, so the rate is never
		// more than configured.
		lim.interval = int64(math.Ceil(1e9 / l.MaxOrdersPerSec))
		burst := l.OrderBurst
		if burst == 0 {
			burst = max(1, int(l.MaxOrdersPerSec))
		}
		lim.tau = int64(burst-1) * lim.interval
		if l.HedgeReserve >= burst {
			errs.add(path+".hedge_reserve", "%d leaves nothing of order_burst %d to other orders", l.HedgeReserve, burst)
		}
		lim.reserve = int64(l.HedgeReserve) * lim.interval
	}
	lim.staleAfter = int64(l.StaleAfter)
	if lim.staleAfter == 0 {
		lim.staleAfter = int64(DefaultStaleAfter)
	}
	if l.FeeReserveBps != "" {
		// Hundredths of a basis point are millionths of the notional.
		f, err := market.ParseFixed([]byte(l.FeeReserveBps), 2)
		switch {
		case err == market.ErrPrecision:
			errs.add(path+".fee_reserve_bps", "%q has more than two decimals", l.FeeReserveBps)
		case err != nil || f < 0 || f > MaxFeeReserveBps*100:
			errs.add(path+".fee_reserve_bps", "%q is outside 0..%d", l.FeeReserveBps, MaxFeeReserveBps)
		default:
			lim.feeMicro = uint64(f)
		}
	} else {
		fee := max(in.MakerFeeBps, in.TakerFeeBps, 0)
		if fee > MaxFeeReserveBps || math.IsNaN(fee) {
			errs.add(path, "%s: fee of %v bps is outside 0..%d: set fee_reserve_bps", what, fee, MaxFeeReserveBps)
		} else {
			// Round up to a hundredth of a basis point; the epsilon keeps
			// 7.5 (750.0000000001 after scaling) from becoming 751.
			lim.feeMicro = uint64(math.Ceil(fee*100 - 1e-6))
		}
	}
	return lim
}
