package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"arbmm/internal/market"
)

// Validate fills unset settings with their defaults, then checks the whole
// config and reports every problem it finds, each an *Error naming the
// offending field's path, joined with errors.Join. Load, ParseFS and Parse
// call it; a Config built in code should be validated once before use.
//
// It checks that pairs and venues are each listed once, that exponents are
// within 0..18, that URLs have the right scheme and a host and carry no
// credentials, that sizes and durations are in range, and that every
// instrument names a listed pair, is unique within its venue and has a tick,
// step and minimums representable at its pair's exponents.
func (c *Config) Validate() error {
	c.setDefaults()
	_, errs := c.build()
	return errs.join()
}

// Instruments returns every venue's instruments, venue by venue in config
// order, fully built: exponents from the pair, tick, step and minimums
// scanned with market.ParseFixed at those exponents. It does not modify c; it
// reports the same problems Validate would, so on a validated Config it does
// not fail.
func (c *Config) Instruments() ([]market.Instrument, error) {
	d := Config{Pairs: c.Pairs, Venues: slices.Clone(c.Venues)}
	d.setDefaults()
	ins, errs := d.build()
	if len(errs) > 0 {
		return nil, errs.join()
	}
	return ins, nil
}

// pairInfo is a validated pair, found by its canonical form.
type pairInfo struct {
	pair     market.Pair
	priceExp int
	qtyExp   int
	ok       bool // exponents valid: instruments of the pair can be built
}

// build checks c, whose defaults are set, and returns its instruments. It is
// the one place the rules live, shared by Validate and Instruments.
func (c *Config) build() ([]market.Instrument, errList) {
	var errs errList
	pairs := c.checkPairs(&errs)

	if len(c.Venues) == 0 {
		errs.add("venues", "none listed")
	}
	var ins []market.Instrument
	seen := make(map[market.Venue]int, len(c.Venues))
	for i := range c.Venues {
		vc := &c.Venues[i]
		path := "venues[" + strconv.Itoa(i) + "]"
		v := checkVenueName(&errs, path, vc.Name, seen, i)
		vc.checkSettings(&errs, path)
		ins = vc.buildInstruments(&errs, path, v, pairs, ins)
	}
	return ins, errs
}

// checkPairs checks the pairs list and returns it indexed by canonical pair.
func (c *Config) checkPairs(errs *errList) map[market.Pair]pairInfo {
	if len(c.Pairs) == 0 {
		errs.add("pairs", "none listed")
	}
	pairs := make(map[market.Pair]pairInfo, len(c.Pairs))
	where := make(map[market.Pair]int, len(c.Pairs))
	for i := range c.Pairs {
		pc := &c.Pairs[i]
		path := "pairs[" + strconv.Itoa(i) + "]"
		ok := true
		if uint(pc.PriceExp) > market.MaxExp {
			errs.add(path+".price_exp", "%d is out of range 0..%d", pc.PriceExp, market.MaxExp)
			ok = false
		}
		if uint(pc.QtyExp) > market.MaxExp {
			errs.add(path+".qty_exp", "%d is out of range 0..%d", pc.QtyExp, market.MaxExp)
			ok = false
		}
		p, err := parsePair(pc.Pair)
		if err != nil {
			errs.add(path+".pair", "%v", err)
			continue
		}
		if j, dup := where[p]; dup {
			errs.add(path+".pair", "%s already listed at pairs[%d]", p, j)
			continue
		}
		where[p] = i
		pairs[p] = pairInfo{pair: p, priceExp: pc.PriceExp, qtyExp: pc.QtyExp, ok: ok}
	}
	return pairs
}

// parsePair parses a pair field, with a message that reads well after its path.
func parsePair(s string) (market.Pair, error) {
	if s == "" {
		return market.Pair{}, errors.New("missing")
	}
	p, err := market.ParsePair(s)
	if err != nil {
		return market.Pair{}, fmt.Errorf("%q is not BASE/QUOTE with alphanumeric assets", s)
	}
	return p, nil
}

// checkVenueName checks the name of venue i and records it in seen.
func checkVenueName(errs *errList, path, name string, seen map[market.Venue]int, i int) market.Venue {
	if name == "" {
		errs.add(path+".name", "missing")
		return market.VenueUnknown
	}
	v, err := market.ParseVenue(name)
	if err != nil {
		names := make([]string, 0, market.NumVenues-1)
		for v := market.Venue(1); int(v) < market.NumVenues; v++ {
			names = append(names, v.String())
		}
		errs.add(path+".name", "unknown venue %q (want one of %s)", name, strings.Join(names, ", "))
		return market.VenueUnknown
	}
	if j, dup := seen[v]; dup {
		errs.add(path+".name", "%s already configured at venues[%d]", v, j)
		return v
	}
	seen[v] = i
	return v
}

// checkSettings checks the venue's endpoints, sizes and durations.
func (vc *VenueConfig) checkSettings(errs *errList, path string) {
	if err := checkURL(vc.WSURL, "ws", "wss"); err != nil {
		errs.add(path+".ws_url", "%v", err)
	}
	if err := checkURL(vc.RESTURL, "http", "https"); err != nil {
		errs.add(path+".rest_url", "%v", err)
	}
	if vc.OrderURL != "" {
		if err := checkURL(vc.OrderURL, "ws", "wss"); err != nil {
			errs.add(path+".order_url", "%v", err)
		}
	}
	if vc.SubscribeDepth < 0 || vc.SubscribeDepth > MaxBookDepth {
		errs.add(path+".subscribe_depth", "%d is out of range 0..%d", vc.SubscribeDepth, MaxBookDepth)
	}
	if vc.BookDepth < 1 || vc.BookDepth > MaxBookDepth {
		errs.add(path+".book_depth", "%d is out of range 1..%d", vc.BookDepth, MaxBookDepth)
	}
	switch {
	case vc.TopN < 1 || vc.TopN > MaxTopN:
		errs.add(path+".top_n", "%d is out of range 1..%d", vc.TopN, MaxTopN)
	case vc.TopN > vc.BookDepth && vc.BookDepth >= 1:
		errs.add(path+".top_n", "%d is more than book_depth %d", vc.TopN, vc.BookDepth)
	}
	durations := [...]struct {
		key string
		d   time.Duration
	}{
		{"ping_interval", vc.PingInterval},
		{"idle_timeout", vc.IdleTimeout},
		{"reconnect_min", vc.ReconnectMin},
		{"reconnect_max", vc.ReconnectMax},
		{"stale_after", vc.StaleAfter},
	}
	ok := true
	for _, d := range durations {
		if d.d < 0 {
			errs.add(path+"."+d.key, "%v is negative", d.d)
			ok = false
		}
	}
	if !ok {
		return
	}
	if vc.ReconnectMin > vc.ReconnectMax {
		errs.add(path+".reconnect_min", "%v is more than reconnect_max %v", vc.ReconnectMin, vc.ReconnectMax)
	}
	if vc.IdleTimeout <= vc.PingInterval {
		errs.add(path+".idle_timeout", "%v is not longer than ping_interval %v: a quiet but healthy connection would be dropped", vc.IdleTimeout, vc.PingInterval)
	}
}

// checkURL checks that s is an absolute URL with one of schemes, a host and
// no user information. It never echoes user information, which may be a
// secret.
func checkURL(s string, schemes ...string) error {
	if s == "" {
		return errors.New("missing")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.User != nil {
		return fmt.Errorf("URL of host %q carries credentials: secrets never go in the config, they come from the keystore", u.Host)
	}
	if !slices.Contains(schemes, u.Scheme) {
		return fmt.Errorf("%q: want a %s URL", s, strings.Join(schemes, " or "))
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

// buildInstruments checks the venue's instruments and appends the valid
// ones, built, to dst.
func (vc *VenueConfig) buildInstruments(errs *errList, path string, v market.Venue, pairs map[market.Pair]pairInfo, dst []market.Instrument) []market.Instrument {
	if len(vc.Instruments) == 0 {
		errs.add(path+".instruments", "none listed (list them here or in instruments_file)")
		return dst
	}
	symbols := make(map[string]int, len(vc.Instruments))
	books := make(map[market.Pair]int, len(vc.Instruments))
	for j := range vc.Instruments {
		ic := &vc.Instruments[j]
		ipath := path + ".instruments[" + strconv.Itoa(j) + "]"
		ok := true

		if err := checkSymbol(ic.Symbol); err != nil {
			errs.add(ipath+".symbol", "%v", err)
			ok = false
		} else if k, dup := symbols[ic.Symbol]; dup {
			errs.add(ipath+".symbol", "%q already listed at %s.instruments[%d]", ic.Symbol, path, k)
			ok = false
		} else {
			symbols[ic.Symbol] = j
		}

		p, err := parsePair(ic.Pair)
		var pi pairInfo
		switch {
		case err != nil:
			errs.add(ipath+".pair", "%v", err)
			ok = false
		default:
			var listed bool
			pi, listed = pairs[p]
			if !listed {
				errs.add(ipath+".pair", "%s is not listed in pairs", p)
				ok = false
			} else if k, dup := books[p]; dup {
				errs.add(ipath+".pair", "%s already listed at %s.instruments[%d] (%s): a venue has one book per pair", p, path, k, vc.Instruments[k].Symbol)
				ok = false
			} else {
				books[p] = j
			}
		}

		ok = checkFee(errs, ipath+".maker_fee_bps", ic.MakerFeeBps) && ok
		ok = checkFee(errs, ipath+".taker_fee_bps", ic.TakerFeeBps) && ok
		if !pi.ok {
			// The pair is unknown or its exponents are broken (reported
			// above): the decimals cannot be checked against them.
			continue
		}
		in := market.Instrument{
			Venue:    v,
			Symbol:   ic.Symbol,
			Pair:     pi.pair,
			PriceExp: pi.priceExp,
			QtyExp:   pi.qtyExp,
		}
		fx := fixedCtx{errs: errs, path: ipath, pair: pi.pair, ok: true}
		in.Tick = market.Price(fx.scan("tick", ic.Tick, "price_exp", pi.priceExp, true))
		in.Step = market.Qty(fx.scan("step", ic.Step, "qty_exp", pi.qtyExp, true))
		in.MinQty = market.Qty(fx.scan("min_qty", ic.MinQty, "qty_exp", pi.qtyExp, false))
		in.MinNotional = market.Price(fx.scan("min_notional", ic.MinNotional, "price_exp", pi.priceExp, false))
		if !ok || !fx.ok || v == market.VenueUnknown {
			continue
		}
		in.MakerFeeBps = *ic.MakerFeeBps
		in.TakerFeeBps = *ic.TakerFeeBps
		if err := in.Validate(); err != nil {
			errs.add(ipath, "%v", err) // unreachable when the checks above are complete
			continue
		}
		dst = append(dst, in)
	}
	return dst
}

// checkSymbol checks a venue symbol: present, printable, no spaces.
func checkSymbol(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%q contains a space or unprintable character", s)
		}
	}
	return nil
}

// checkFee checks a fee in basis points: present, finite, within ±MaxFeeBps.
func checkFee(errs *errList, path string, fee *float64) bool {
	switch {
	case fee == nil:
		errs.add(path, "missing (write 0 if the venue charges none)")
	case math.IsNaN(*fee) || math.Abs(*fee) > MaxFeeBps:
		errs.add(path, "%v is out of range -%d..%d basis points", *fee, MaxFeeBps, MaxFeeBps)
	default:
		return true
	}
	return false
}

// fixedCtx scans the decimal fields of one instrument, recording problems.
type fixedCtx struct {
	errs *errList
	path string      // the instrument's path
	pair market.Pair // the instrument's pair, for messages
	ok   bool        // no problem so far
}

// scan parses the decimal d of field key at exponent exp (named expName in
// messages) and returns its mantissa, or 0 after recording a problem. A
// required field must be present and positive; any field must be
// non-negative and representable at exp.
func (fx *fixedCtx) scan(key string, d Decimal, expName string, exp int, required bool) int64 {
	path := fx.path + "." + key
	if d == "" {
		if required {
			fx.errs.add(path, "missing")
			fx.ok = false
		}
		return 0
	}
	v, err := market.ParseFixed([]byte(d), exp)
	switch {
	case errors.Is(err, market.ErrPrecision):
		fx.errs.add(path, "%q is finer than pair %s %s %d", string(d), fx.pair, expName, exp)
	case errors.Is(err, market.ErrRange):
		fx.errs.add(path, "%q does not fit in int64 at pair %s %s %d", string(d), fx.pair, expName, exp)
	case err != nil:
		fx.errs.add(path, "%q is not a decimal number", string(d))
	case v < 0:
		fx.errs.add(path, "%q is negative", string(d))
	case v == 0 && required:
		fx.errs.add(path, "%q is zero; want a positive increment", string(d))
	default:
		return v
	}
	fx.ok = false
	return 0
}
