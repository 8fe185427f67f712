package market

import (
	"fmt"
	"strings"
)

// Venue identifies an exchange endpoint family. It is a small integer so that
// hot structures can index arrays by it.
type Venue uint8

// The venues arbmm speaks to. Binance.US and Binance USD-M futures share
// Binance's wire format but are separate venues with their own books,
// balances and symbols.
const (
	VenueUnknown Venue = iota
	Binance
	BinanceUS
	BinanceUSDM
	Kraken
	Coinbase
	OKX
	Bybit
	numVenues
)

// NumVenues is one more than the largest Venue value: the length of an array
// indexed by Venue.
const NumVenues = int(numVenues)

var venueNames = [numVenues]string{"unknown", "binance", "binanceus", "binanceusdm", "kraken", "coinbase", "okx", "bybit"}

// String returns the venue's lower-case config name ("binance", "kraken").
func (v Venue) String() string {
	if v < numVenues {
		return venueNames[v]
	}
	return fmt.Sprintf("venue(%d)", uint8(v))
}

// ParseVenue returns the venue named s (case-insensitive config name).
func ParseVenue(s string) (Venue, error) {
	for i := Venue(1); i < numVenues; i++ {
		if strings.EqualFold(s, venueNames[i]) {
			return i, nil
		}
	}
	return VenueUnknown, fmt.Errorf("market: unknown venue %q (want one of %s)", s, strings.Join(venueNames[1:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (v Venue) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Venue) UnmarshalText(b []byte) error {
	p, err := ParseVenue(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Side is the side of a book level or an order: Bid (buy) or Ask (sell). It
// indexes two-element arrays.
type Side uint8

// The two sides. Buy and Sell are the order-entry names of Bid and Ask.
const (
	Bid  Side = 0
	Ask  Side = 1
	Buy       = Bid
	Sell      = Ask
)

// String returns "bid" or "ask".
func (s Side) String() string {
	switch s {
	case Bid:
		return "bid"
	case Ask:
		return "ask"
	}
	return fmt.Sprintf("side(%d)", uint8(s))
}

// Opposite returns the other side.
func (s Side) Opposite() Side { return s ^ 1 }

// Pair is a canonical currency pair, upper case, with venue aliases resolved
// (Kraken's XBT is BTC): BTC/USDT. Venues spell pairs their own way; the
// Instrument maps a venue symbol to its Pair once, at start-up.
type Pair struct {
	Base, Quote string
}

// String returns "BASE/QUOTE".
func (p Pair) String() string { return p.Base + "/" + p.Quote }

// IsZero reports whether p is the zero Pair.
func (p Pair) IsZero() bool { return p.Base == "" && p.Quote == "" }

// ParsePair parses "BASE/QUOTE" (case-insensitive, stored upper case).
func ParsePair(s string) (Pair, error) {
	base, quote, ok := strings.Cut(s, "/")
	if !ok || !isAsset(base) || !isAsset(quote) {
		return Pair{}, fmt.Errorf("market: pair %q is not BASE/QUOTE with alphanumeric assets", s)
	}
	return Pair{Base: strings.ToUpper(base), Quote: strings.ToUpper(quote)}, nil
}

func isAsset(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// MarshalText implements encoding.TextMarshaler.
func (p Pair) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Pair) UnmarshalText(b []byte) error {
	q, err := ParsePair(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}
