package kraken

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"arbmm/book"
	"arbmm/internal/market"
)

// Symbol is one pair of a Kraken connection: its book and what the feed
// knows about the pair's wire format. Handle creates it on the first frame
// that names the pair and writes its fields; read them on the feed
// goroutine. The Book is safe to read from any goroutine through its
// snapshot methods (Read, State, Stats).
type Symbol struct {
	// Symbol is the pair as spelled on the wire: "XBT/USD" on v1,
	// "BTC/USD" on v2. TakeResubscribe returns it.
	Symbol string
	// Pair is the canonical pair (XBT is BTC, XDG is DOGE); zero when the
	// wire name is not BASE/QUOTE.
	Pair market.Pair
	// Instrument is the configured instrument of the pair, or nil (v1
	// without Config.Instruments).
	Instrument *market.Instrument
	// Book is the pair's order book, written only by Handle.
	Book *book.Book
	// Frames counts the frames that carried book data for the pair,
	// including those dropped while it waited for a snapshot.
	Frames uint64
	// Depth is the subscribed depth the book is truncated to after every
	// message: "book-N" on v1, Config.Depth on v2.
	Depth int
	// PriceExp and QtyExp are the exponents of the book's mantissas: the
	// instrument's, or on v1 without one the wire decimals of the pair's
	// first snapshot (so every wire value is held exactly). -1 until known.
	PriceExp, QtyExp int
	// PriceDec and QtyDec are the wire decimals the checksum renders prices
	// and quantities at: on v1 learned from each snapshot's strings
	// (Kraken sends fixed-decimal text), on v2 the instrument's precision.
	// -1 until known.
	PriceDec, QtyDec int

	state    syncState
	pending  bool  // a resubscribe is requested and not yet taken
	queued   bool  // in Feed.resync
	hasChan  bool  // v1: chanID is the channel id last seen for the pair
	chanID   int64 // v1 channel id
	seq      int64 // messages committed, used as the book's sequence
	maxDepth int   // levels the book holds per side
	cs       csCache
}

// syncState is a pair's place in the book-sync state machine.
type syncState uint8

const (
	stSyncing syncState = iota // no snapshot yet: updates are dropped
	stLive                     // snapshot applied (and verified when it had a checksum)
	stStale                    // a check failed: updates are dropped until the next snapshot
)

// lookup returns the symbol named name, creating it (and its book) on first
// sight, or nil and ErrUnknownSymbol when instruments are configured and
// none is named name, or errDepth when its book could not hold depth. Once
// the pair exists, lookup does not allocate.
func (f *Feed) lookup(name []byte, depth int) (*Symbol, error) {
	for _, sym := range f.syms[:min(len(f.syms), linearSymbols)] {
		if sym.Symbol == string(name) {
			return sym, nil
		}
	}
	if sym := f.byName[string(name)]; sym != nil {
		return sym, nil
	}
	var in *market.Instrument
	if f.inst != nil {
		if in = f.inst[string(name)]; in == nil {
			return nil, ErrUnknownSymbol
		}
		for _, sym := range f.syms {
			if sym.Instrument == in {
				// Another spelling of a pair already seen (v2: XBT/USD
				// and BTC/USD): one book per instrument.
				f.byName[string(name)] = sym
				return sym, nil
			}
		}
	}
	if len(f.syms) >= f.cfg.MaxSymbols {
		return nil, ErrUnknownSymbol
	}
	return f.newSymbol(string(name), depth, in)
}

// linearSymbols is how many symbols lookup compares by name before using
// the map: a few string compares beat hashing.
const linearSymbols = 8

// find returns the existing symbol named name, or nil; it never creates one.
func (f *Feed) find(name []byte) *Symbol {
	if sym := f.byName[string(name)]; sym != nil {
		return sym
	}
	return nil
}

// newSymbol allocates a pair's symbol and book: cold, once per pair.
func (f *Feed) newSymbol(name string, depth int, in *market.Instrument) (*Symbol, error) {
	maxDepth := f.cfg.MaxDepth
	if maxDepth == 0 {
		// Room for the levels one message inserts before truncation.
		maxDepth = max(2*depth, depth+32)
	}
	if depth < 1 || depth > maxDepth {
		return nil, errDepth
	}
	b, err := book.New(book.Config{Venue: market.Kraken, Symbol: name, MaxDepth: maxDepth, TopN: f.cfg.TopN})
	if err != nil {
		return nil, errDepth
	}
	sym := &Symbol{
		Symbol:     name,
		Instrument: in,
		Book:       b,
		Depth:      depth,
		PriceExp:   -1, QtyExp: -1, PriceDec: -1, QtyDec: -1,
		maxDepth: maxDepth,
	}
	sym.cs.text = make([]byte, 0, checksumCap)
	if in != nil {
		sym.Pair = in.Pair
		sym.PriceExp, sym.QtyExp = in.PriceExp, in.QtyExp
		if f.cfg.Version == 2 {
			sym.PriceDec, sym.QtyDec = in.PriceExp, in.QtyExp
			if d, ok := f.cfg.Precision[name]; ok && d[0] <= in.PriceExp && d[1] <= in.QtyExp {
				sym.PriceDec, sym.QtyDec = d[0], d[1]
			}
		}
	} else if p, err := canonicalPair(name); err == nil {
		sym.Pair = p
	}
	f.syms = append(f.syms, sym)
	f.byName[name] = sym
	if cap(f.resync) < len(f.syms) {
		f.resync = slices.Grow(f.resync, 2*len(f.syms))
	}
	// Scratch sized for a snapshot of the book, so that its first one does
	// not grow it. The decoder's lists hold the message being handled:
	// keep their contents.
	for i := range f.conv {
		f.conv[i] = slices.Grow(f.conv[i][:0], maxDepth)
		if lv := f.dec.m.levels[i]; cap(lv) < maxDepth {
			f.dec.m.levels[i] = slices.Grow(lv, maxDepth-len(lv))
		}
	}
	return sym, nil
}

// assetAliases maps Kraken's legacy asset codes, as they appear in wsname,
// to the canonical ones.
var assetAliases = map[string]string{"XBT": "BTC", "XDG": "DOGE"}

// canonicalPair returns the canonical pair of a Kraken wsname
// ("XBT/USD" → BTC/USD).
func canonicalPair(wsname string) (market.Pair, error) {
	p, err := market.ParsePair(wsname)
	if err != nil {
		return p, err
	}
	if a, ok := assetAliases[p.Base]; ok {
		p.Base = a
	}
	if a, ok := assetAliases[p.Quote]; ok {
		p.Quote = a
	}
	return p, nil
}

// assetPair is the part of a REST AssetPairs entry ParseAssetPairs reads.
type assetPair struct {
	Wsname       string          `json:"wsname"`
	PairDecimals *int            `json:"pair_decimals"`
	LotDecimals  *int            `json:"lot_decimals"`
	OrderMin     string          `json:"ordermin"`
	CostMin      string          `json:"costmin"`
	TickSize     string          `json:"tick_size"`
	Fees         [][]json.Number `json:"fees"`
	FeesMaker    [][]json.Number `json:"fees_maker"`
}

// ParseAssetPairs converts a Kraken REST AssetPairs response
// (GET /0/public/AssetPairs) into instruments, one per pair that has a
// WebSocket name, sorted by Symbol:
//
//   - Symbol is wsname ("XBT/USD"), the v1 wire name; Pair is canonical
//     (BTC/USD), which is the v2 wire name;
//   - PriceExp is pair_decimals and QtyExp lot_decimals: Kraken's price
//     and volume precision, which the book checksum is rendered at;
//   - Tick is tick_size at PriceExp when given (else 1), Step is 1,
//     MinQty is ordermin, MinNotional is costmin rounded up to PriceExp;
//   - TakerFeeBps and MakerFeeBps are the first tier of fees and
//     fees_maker (percent) in basis points.
//
// Entries without wsname (dark-pool pairs) or whose wsname is not
// BASE/QUOTE are skipped. A non-empty "error" array is an error. ParseAssetPairs
// is for start-up; it allocates freely.
func ParseAssetPairs(data []byte) ([]market.Instrument, error) {
	var resp struct {
		Error  []string             `json:"error"`
		Result map[string]assetPair `json:"result"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("kraken: AssetPairs: %w", err)
	}
	if len(resp.Error) > 0 {
		return nil, fmt.Errorf("kraken: AssetPairs: %s", strings.Join(resp.Error, "; "))
	}
	if resp.Result == nil {
		return nil, errors.New("kraken: AssetPairs: no result")
	}
	out := make([]market.Instrument, 0, len(resp.Result))
	for key, ap := range resp.Result {
		if ap.Wsname == "" {
			continue
		}
		pair, err := canonicalPair(ap.Wsname)
		if err != nil {
			continue
		}
		if ap.PairDecimals == nil || ap.LotDecimals == nil {
			return nil, fmt.Errorf("kraken: AssetPairs %s: missing pair_decimals or lot_decimals", key)
		}
		in := market.Instrument{
			Venue:    market.Kraken,
			Symbol:   ap.Wsname,
			Pair:     pair,
			PriceExp: *ap.PairDecimals,
			QtyExp:   *ap.LotDecimals,
			Tick:     1,
			Step:     1,
		}
		if err := in.Validate(); err != nil {
			return nil, fmt.Errorf("kraken: AssetPairs %s: %w", key, err)
		}
		if ap.TickSize != "" {
			t, err := market.ParsePrice([]byte(ap.TickSize), in.PriceExp)
			if err != nil || t <= 0 {
				return nil, fmt.Errorf("kraken: AssetPairs %s: tick_size %q at %d decimals: %v", key, ap.TickSize, in.PriceExp, err)
			}
			in.Tick = t
		}
		if ap.OrderMin != "" {
			q, err := ceilFixed(ap.OrderMin, in.QtyExp)
			if err != nil {
				return nil, fmt.Errorf("kraken: AssetPairs %s: ordermin %q: %w", key, ap.OrderMin, err)
			}
			in.MinQty = market.Qty(q)
		}
		if ap.CostMin != "" {
			c, err := ceilFixed(ap.CostMin, in.PriceExp)
			if err != nil {
				return nil, fmt.Errorf("kraken: AssetPairs %s: costmin %q: %w", key, ap.CostMin, err)
			}
			in.MinNotional = market.Price(c)
		}
		if in.TakerFeeBps, err = firstTierBps(ap.Fees); err != nil {
			return nil, fmt.Errorf("kraken: AssetPairs %s: fees: %w", key, err)
		}
		if in.MakerFeeBps, err = firstTierBps(ap.FeesMaker); err != nil {
			return nil, fmt.Errorf("kraken: AssetPairs %s: fees_maker: %w", key, err)
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b market.Instrument) int { return strings.Compare(a.Symbol, b.Symbol) })
	return out, nil
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

// firstTierBps returns the fee of the first volume tier, given in percent,
// in basis points; 0 when there are no tiers.
func firstTierBps(tiers [][]json.Number) (float64, error) {
	if len(tiers) == 0 {
		return 0, nil
	}
	if len(tiers[0]) != 2 {
		return 0, errors.New("tier is not [volume, percent]")
	}
	pct, err := tiers[0][1].Float64()
	if err != nil || math.IsNaN(pct) || math.IsInf(pct, 0) {
		return 0, fmt.Errorf("bad percent %q", tiers[0][1])
	}
	return pct * 100, nil
}
