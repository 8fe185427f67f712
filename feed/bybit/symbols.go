package bybit

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"arbmm/book"
	"arbmm/internal/market"
)

// Symbol is one orderbook topic of a Bybit connection: its book and its
// sync state. Handle creates it on the first frame of the topic and writes
// its fields; read them on the feed goroutine (or after it has stopped).
// The Book is safe to read from any goroutine through its snapshot methods
// (Read, State, Stats).
type Symbol struct {
	// Name is the symbol as Bybit spells it: "BTCUSDT".
	Name string
	// Topic is the subscription the book follows: "orderbook.200.BTCUSDT".
	// TakeResyncs returns it.
	Topic string
	// Depth is the topic's depth; each side is truncated to it after every
	// message.
	Depth int
	// Inst is the configured instrument, or, without Config.Instruments,
	// one with Venue and Symbol set and the exponents learned from the
	// first snapshot (zero until then).
	Inst market.Instrument
	// Book is the symbol's order book, written only by Handle.
	Book *book.Book

	// Counters, the venue's oracle: with no gap, every delta is applied.
	Frames    uint64 // orderbook frames for the topic that decoded, whatever became of them
	Deltas    uint64 // deltas applied in sequence
	Snapshots uint64 // messages that reloaded the book: "snapshot", or u == 1
	Resets    uint64 // of those, the ones that replaced a Live book unasked: a service restart, a re-pushed snapshot
	Dropped   uint64 // deltas dropped while the book waited for a snapshot

	state   syncState
	hasExp  bool  // Inst's exponents are known
	learned bool  // they are learned, not configured
	pending bool  // a resubscribe is requested and not yet taken
	queued  bool  // in Feed.resync
	lastU   int64 // u of the last applied message
	exch    int64 // exchange time of the last applied message, Unix ns
}

// syncState is a symbol's place in the sync state machine.
type syncState uint8

const (
	stSyncing syncState = iota // no snapshot yet: deltas are dropped
	stLive                     // in sequence
	stStale                    // a gap or a lost message: deltas are dropped until a snapshot
)

// linearSymbols is how many symbols lookup compares by topic before using
// the map: a few string compares beat hashing.
const linearSymbols = 8

// lookup returns the symbol of an orderbook topic, creating it (and its
// book) on first sight, or nil with ErrUnknownSymbol or ErrDepth. Once the
// topic exists it does not allocate.
func (f *Feed) lookup(topic, name []byte, depth int) (*Symbol, error) {
	for _, sym := range f.syms[:min(len(f.syms), linearSymbols)] {
		if sym.Topic == string(topic) {
			return sym, nil
		}
	}
	if sym := f.byTopic[string(topic)]; sym != nil {
		return sym, nil
	}
	if f.byName[string(name)] != nil {
		return nil, ErrDepth // the symbol is followed at another depth
	}
	var in *market.Instrument
	if f.inst != nil {
		if in = f.inst[string(name)]; in == nil {
			return nil, ErrUnknownSymbol
		}
	} else if len(f.syms) >= f.cfg.MaxSymbols {
		return nil, ErrUnknownSymbol
	}
	return f.newSymbol(string(topic), string(name), depth, in)
}

// newSymbol allocates a topic's symbol and book: cold, once per topic.
func (f *Feed) newSymbol(topic, name string, depth int, in *market.Instrument) (*Symbol, error) {
	maxDepth := f.cfg.MaxDepth
	if maxDepth == 0 {
		maxDepth = max(2*depth, depth+32)
	}
	if depth > maxDepth {
		return nil, ErrDepth
	}
	b, err := book.New(book.Config{Venue: market.Bybit, Symbol: name, MaxDepth: maxDepth, TopN: f.cfg.TopN})
	if err != nil {
		return nil, ErrDepth
	}
	sym := &Symbol{Name: name, Topic: topic, Depth: depth, Book: b}
	if in != nil {
		sym.Inst = *in
		sym.hasExp = true
	} else {
		sym.Inst = market.Instrument{Venue: market.Bybit, Symbol: name}
		sym.learned = true
	}
	f.syms = append(f.syms, sym)
	f.byTopic[topic] = sym
	f.byName[name] = sym
	if cap(f.resync) < len(f.syms) {
		f.resync = slices.Grow(f.resync, 2*len(f.syms))
	}
	return sym, nil
}

// instrumentsResponse is the part of GET /v5/market/instruments-info that
// ParseInstruments reads.
type instrumentsResponse struct {
	RetCode *int   `json:"retCode"`
	RetMsg  string `json:"retMsg"`
	Result  struct {
		Category string `json:"category"`
		List     []struct {
			Symbol      string `json:"symbol"`
			BaseCoin    string `json:"baseCoin"`
			QuoteCoin   string `json:"quoteCoin"`
			PriceFilter struct {
				TickSize string `json:"tickSize"`
			} `json:"priceFilter"`
			LotSizeFilter struct {
				BasePrecision    string `json:"basePrecision"`    // spot: the size step
				QtyStep          string `json:"qtyStep"`          // linear: the size step
				MinOrderQty      string `json:"minOrderQty"`      //
				MinOrderAmt      string `json:"minOrderAmt"`      // spot: minimum notional
				MinNotionalValue string `json:"minNotionalValue"` // linear: minimum notional
			} `json:"lotSizeFilter"`
		} `json:"list"`
	} `json:"result"`
}

// ParseInstruments converts one page of Bybit's instruments-info response
// (GET /v5/market/instruments-info?category=spot|linear) into instruments,
// sorted by Symbol:
//
//   - Symbol is Bybit's symbol ("BTCUSDT"); Pair is baseCoin/quoteCoin;
//   - PriceExp is the number of significant decimals of priceFilter.tickSize
//     ("0.10" → 1) and Tick the tick at that exponent;
//   - QtyExp and Step likewise from the size step: lotSizeFilter.basePrecision
//     on spot, lotSizeFilter.qtyStep on linear;
//   - MinQty is minOrderQty and MinNotional is minOrderAmt (spot) or
//     minNotionalValue (linear), rounded up to the exponents; fees are not
//     in this response and stay 0.
//
// category is "spot" or "linear" and must match the response's. Entries
// whose coins are not alphanumeric are skipped; entries are not filtered by
// status (ask for status=Trading). Bybit pages the list (limit, and
// nextPageCursor in the response): parse each page. ParseInstruments is for
// start-up; it allocates freely.
func ParseInstruments(data []byte, category string) ([]market.Instrument, error) {
	cat, err := ParseCategory(category)
	if err != nil {
		return nil, err
	}
	var resp instrumentsResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("bybit: instruments-info: %w", err)
	}
	if resp.RetCode == nil {
		return nil, errors.New("bybit: instruments-info: no retCode")
	}
	if *resp.RetCode != 0 {
		return nil, fmt.Errorf("bybit: instruments-info: retCode %d: %s", *resp.RetCode, resp.RetMsg)
	}
	if c := resp.Result.Category; c != "" && !strings.EqualFold(c, cat.String()) {
		return nil, fmt.Errorf("bybit: instruments-info: category %q, want %q", c, cat)
	}
	out := make([]market.Instrument, 0, len(resp.Result.List))
	for _, e := range resp.Result.List {
		pair, err := market.ParsePair(e.BaseCoin + "/" + e.QuoteCoin)
		if err != nil {
			continue
		}
		in := market.Instrument{Venue: market.Bybit, Symbol: e.Symbol, Pair: pair}
		lot := &e.LotSizeFilter
		step, minNotional := lot.QtyStep, lot.MinNotionalValue
		if cat == Spot {
			step, minNotional = lot.BasePrecision, lot.MinOrderAmt
		}
		var tick, qstep int64
		if in.PriceExp, tick, err = increment(e.PriceFilter.TickSize); err != nil {
			return nil, fmt.Errorf("bybit: instruments-info %s: tickSize %q: %w", e.Symbol, e.PriceFilter.TickSize, err)
		}
		if in.QtyExp, qstep, err = increment(step); err != nil {
			return nil, fmt.Errorf("bybit: instruments-info %s: size step %q: %w", e.Symbol, step, err)
		}
		in.Tick, in.Step = market.Price(tick), market.Qty(qstep)
		if lot.MinOrderQty != "" {
			q, err := ceilFixed(lot.MinOrderQty, in.QtyExp)
			if err != nil {
				return nil, fmt.Errorf("bybit: instruments-info %s: minOrderQty %q: %w", e.Symbol, lot.MinOrderQty, err)
			}
			in.MinQty = market.Qty(q)
		}
		if minNotional != "" {
			v, err := ceilFixed(minNotional, in.PriceExp)
			if err != nil {
				return nil, fmt.Errorf("bybit: instruments-info %s: minimum notional %q: %w", e.Symbol, minNotional, err)
			}
			in.MinNotional = market.Price(v)
		}
		if err := in.Validate(); err != nil {
			return nil, fmt.Errorf("bybit: instruments-info: %w", err)
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b market.Instrument) int { return strings.Compare(a.Symbol, b.Symbol) })
	return out, nil
}

// increment returns the exponent at which the positive decimal text s is
// an integer with no trailing zero digits after the point ("0.10" → 1, 1),
// and s at that exponent.
func increment(s string) (exp int, v int64, err error) {
	if strings.Contains(s, ".") {
		s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	}
	if exp = market.CountDecimals([]byte(s)); exp > market.MaxExp {
		return 0, 0, market.ErrExp
	}
	if v, err = market.ParseFixed([]byte(s), exp); err != nil {
		return 0, 0, err
	}
	if v <= 0 {
		return 0, 0, errors.New("not positive")
	}
	return exp, v, nil
}

// ceilFixed parses non-negative decimal text as a mantissa at exp, rounding
// up digits finer than exp (a minimum stays a minimum).
func ceilFixed(s string, exp int) (int64, error) {
	for e := exp; e <= market.MaxExp; e++ {
		v, err := market.ParseFixed([]byte(s), e)
		if errors.Is(err, market.ErrPrecision) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if v < 0 {
			return 0, market.ErrNegative
		}
		p := market.Pow10(e - exp)
		return (v + p - 1) / p, nil
	}
	return 0, market.ErrPrecision
}
