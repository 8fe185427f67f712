package market

import (
	"fmt"
)

// Instrument is one venue's listing of a pair: how the venue spells it and
// the grid its prices and quantities live on. It is built once from config or
// the venue's metadata and read, never written, afterwards.
//
// PriceExp and QtyExp are the decimal exponents of every Price and Qty of the
// pair on every venue (the finest among the venues that list it), so that
// cross-venue comparisons are integer comparisons. Tick and Step are this
// venue's own increments expressed at those exponents.
type Instrument struct {
	Venue  Venue
	Symbol string // the venue's own spelling on the wire: "BTCUSDT", "XBT/USD", "BTC-USDT"
	Pair   Pair

	PriceExp int // decimals of a Price mantissa, 0..18
	QtyExp   int // decimals of a Qty mantissa, 0..18

	Tick        Price // smallest price increment (mantissa); 0 means 1
	Step        Qty   // smallest quantity increment (mantissa); 0 means 1
	MinQty      Qty   // smallest order quantity; 0 means none
	MinNotional Price // smallest price×qty, at PriceExp; 0 means none

	MakerFeeBps float64 // maker fee in basis points (negative is a rebate)
	TakerFeeBps float64 // taker fee in basis points
}

// Validate reports the first thing wrong with in, naming the instrument.
func (in *Instrument) Validate() error {
	switch {
	case in.Venue == VenueUnknown || in.Venue >= numVenues:
		return fmt.Errorf("market: instrument %q: unknown venue", in.Symbol)
	case in.Symbol == "":
		return fmt.Errorf("market: %s instrument for %s: empty symbol", in.Venue, in.Pair)
	case in.Pair.IsZero():
		return fmt.Errorf("market: %s %s: empty pair", in.Venue, in.Symbol)
	case in.PriceExp < 0 || in.PriceExp > MaxExp:
		return fmt.Errorf("market: %s %s: price exponent %d out of range 0..%d", in.Venue, in.Symbol, in.PriceExp, MaxExp)
	case in.QtyExp < 0 || in.QtyExp > MaxExp:
		return fmt.Errorf("market: %s %s: quantity exponent %d out of range 0..%d", in.Venue, in.Symbol, in.QtyExp, MaxExp)
	case in.Tick < 0 || in.Step < 0 || in.MinQty < 0 || in.MinNotional < 0:
		return fmt.Errorf("market: %s %s: negative tick, step or minimum", in.Venue, in.Symbol)
	}
	return nil
}

// TickOr1 returns Tick, or 1 when Tick is unset.
func (in *Instrument) TickOr1() Price {
	if in.Tick <= 0 {
		return 1
	}
	return in.Tick
}

// StepOr1 returns Step, or 1 when Step is unset.
func (in *Instrument) StepOr1() Qty {
	if in.Step <= 0 {
		return 1
	}
	return in.Step
}

// FormatPrice returns p as decimal text at the instrument's price exponent.
func (in *Instrument) FormatPrice(p Price) string {
	return string(AppendFixed(nil, int64(p), in.PriceExp))
}

// FormatQty returns q as decimal text at the instrument's quantity exponent.
func (in *Instrument) FormatQty(q Qty) string {
	return string(AppendFixed(nil, int64(q), in.QtyExp))
}
