package coinbase

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"arbmm/book"
	"arbmm/internal/market"
)

// Symbol is one product of a Coinbase connection: its book and its
// counters. It is created by New for each configured instrument, else by
// Handle on the first l2_data event naming the product. Its fields are
// written by the feed goroutine; read them on it (or after it stopped). The
// Book is safe to read from any goroutine through its snapshot methods
// (Read, State, Stats).
type Symbol struct {
	// Name is the product as Coinbase spells it: "BTC-USD". TakeResyncs
	// returns it.
	Name string
	// Inst is the product's instrument: the configured one, one from a
	// products response, or (learned) Venue, Symbol and the exponents only.
	// PriceExp and QtyExp are the exponents of the book's mantissas.
	Inst market.Instrument
	// Book is the product's order book, written only by Handle.
	Book *book.Book

	// Frames counts the l2_data events that named the product, including
	// those dropped while its book was not Live.
	Frames uint64
	// Updates counts the update events applied to the book.
	Updates uint64
	// Snapshots counts the snapshot events that loaded the book.
	Snapshots uint64
	// Dropped counts the update events dropped because the book was not
	// Live (waiting for a snapshot after a gap or a bad frame).
	Dropped uint64

	state   syncState
	hasExp  bool               // Inst's exponents are known
	learned bool               // they were learned from wire decimals
	next    *market.Instrument // products entry to adopt at the next snapshot (learned only)
	wantPD  int                // decimals a rejected value needed (learned only)
	wantQD  int
	pending bool // a resubscribe is requested and not yet taken
	queued  bool // in Feed.resync
}

// syncState is a product's place in the book-sync state machine.
type syncState uint8

const (
	stSyncing syncState = iota // no snapshot yet: updates are dropped
	stLive                     // snapshot loaded, stream continuous since
	stStale                    // gap or bad frame: updates dropped until a snapshot
)

// directExp reports whether an event's levels can be parsed at the
// symbol's exponents while they are scanned: the exponents are known and
// this event cannot change them (a snapshot of a product whose exponents
// were learned may widen them; so may an event whose type is not yet
// known).
func (sym *Symbol) directExp(snapshot, typeKnown bool) bool {
	return sym.hasExp && (!sym.learned || typeKnown && !snapshot)
}

// symtab finds the Symbol of a product name.
type symtab struct {
	list   []*Symbol
	byName map[string]*Symbol
}

// linearSymbols is how many symbols find compares by name before using the
// map: a few string compares beat hashing.
const linearSymbols = 8

// find returns the symbol named name, or nil. It does not allocate.
func (t *symtab) find(name []byte) *Symbol {
	for _, sym := range t.list[:min(len(t.list), linearSymbols)] {
		if sym.Name == string(name) {
			return sym
		}
	}
	if len(t.list) <= linearSymbols {
		return nil
	}
	return t.byName[string(name)]
}

// product is the part of a REST products entry ParseProducts reads.
type product struct {
	ProductID          string `json:"product_id"`
	BaseIncrement      string `json:"base_increment"`
	QuoteIncrement     string `json:"quote_increment"`
	PriceIncrement     string `json:"price_increment"`
	BaseMinSize        string `json:"base_min_size"`
	QuoteMinSize       string `json:"quote_min_size"`
	BaseCurrencyID     string `json:"base_currency_id"`
	QuoteCurrencyID    string `json:"quote_currency_id"`
	BaseDisplaySymbol  string `json:"base_display_symbol"`
	QuoteDisplaySymbol string `json:"quote_display_symbol"`
}

// ParseProducts converts a Coinbase Advanced Trade products response
// (GET /api/v3/brokerage/market/products, {"products":[...]}, or a single
// product object from /market/products/{id}) into instruments, one per
// product, sorted by Symbol:
//
//   - Symbol is product_id ("BTC-USD"); Pair is base_currency_id /
//     quote_currency_id, or base_display_symbol / quote_display_symbol where
//     those are empty;
//   - PriceExp holds both price_increment and quote_increment exactly (the
//     decimals of the finer one, trailing zeros ignored), QtyExp holds
//     base_increment;
//   - Tick is price_increment (quote_increment when absent), Step is
//     base_increment, MinQty is base_min_size and MinNotional quote_min_size
//     (both rounded up to the exponents). Fees are not in this response.
//
// A product without product_id, increments or a pair is an error, as is a
// malformed number. ParseProducts is for start-up; it allocates freely.
func ParseProducts(data []byte) ([]market.Instrument, error) {
	var resp struct {
		Products []product `json:"products"`
		product
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("coinbase: products: %w", err)
	}
	list := resp.Products
	if list == nil {
		if resp.ProductID == "" {
			return nil, errors.New("coinbase: products: neither a products list nor a product")
		}
		list = []product{resp.product}
	}
	out := make([]market.Instrument, 0, len(list))
	for i := range list {
		in, err := list[i].instrument()
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b market.Instrument) int { return strings.Compare(a.Symbol, b.Symbol) })
	for i := 1; i < len(out); i++ {
		if out[i].Symbol == out[i-1].Symbol {
			return nil, fmt.Errorf("coinbase: products: %s listed twice", out[i].Symbol)
		}
	}
	return out, nil
}

func (p *product) instrument() (market.Instrument, error) {
	if p.ProductID == "" {
		return market.Instrument{}, errors.New("coinbase: products: entry without product_id")
	}
	fail := func(format string, args ...any) (market.Instrument, error) {
		return market.Instrument{}, fmt.Errorf("coinbase: product %s: "+format, append([]any{p.ProductID}, args...)...)
	}
	base, quote := p.BaseCurrencyID, p.QuoteCurrencyID
	if base == "" || quote == "" {
		base, quote = p.BaseDisplaySymbol, p.QuoteDisplaySymbol
	}
	pair, err := market.ParsePair(base + "/" + quote)
	if err != nil {
		return fail("%v", err)
	}
	tick := p.PriceIncrement
	if tick == "" {
		tick = p.QuoteIncrement
	}
	if tick == "" || p.BaseIncrement == "" {
		return fail("missing price/quote_increment or base_increment")
	}
	pd, err := wireDecimals([]byte(tick))
	if err != nil {
		return fail("increment %q: %v", tick, err)
	}
	if p.QuoteIncrement != "" {
		qd, err := wireDecimals([]byte(p.QuoteIncrement))
		if err != nil {
			return fail("quote_increment %q: %v", p.QuoteIncrement, err)
		}
		pd = max(pd, qd)
	}
	sd, err := wireDecimals([]byte(p.BaseIncrement))
	if err != nil {
		return fail("base_increment %q: %v", p.BaseIncrement, err)
	}
	in := market.Instrument{Venue: market.Coinbase, Symbol: p.ProductID, Pair: pair, PriceExp: pd, QtyExp: sd}
	t, err := market.ParsePrice([]byte(tick), pd)
	if err != nil || t <= 0 {
		return fail("increment %q is not a positive number", tick)
	}
	in.Tick = t
	s, err := market.ParseQty([]byte(p.BaseIncrement), sd)
	if err != nil || s <= 0 {
		return fail("base_increment %q is not a positive number", p.BaseIncrement)
	}
	in.Step = s
	if p.BaseMinSize != "" {
		v, err := ceilFixed(p.BaseMinSize, sd)
		if err != nil {
			return fail("base_min_size %q: %v", p.BaseMinSize, err)
		}
		in.MinQty = market.Qty(v)
	}
	if p.QuoteMinSize != "" {
		v, err := ceilFixed(p.QuoteMinSize, pd)
		if err != nil {
			return fail("quote_min_size %q: %v", p.QuoteMinSize, err)
		}
		in.MinNotional = market.Price(v)
	}
	if err := in.Validate(); err != nil {
		return fail("%v", err)
	}
	return in, nil
}

// ceilFixed parses non-negative decimal text as a mantissa at exp, rounding
// up digits finer than exp (a minimum stays a minimum).
func ceilFixed(s string, exp int) (int64, error) {
	d, err := wireDecimals([]byte(s))
	if err != nil {
		return 0, err
	}
	v, err := market.ParseFixed([]byte(s), max(d, exp))
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, market.ErrNegative
	}
	if d <= exp {
		return v, nil
	}
	p := market.Pow10(d - exp)
	return (v + p - 1) / p, nil
}
