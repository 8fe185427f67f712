package okx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"arbmm/book"
	"arbmm/internal/market"
)

// Symbol is one instrument of an OKX connection: its book, its place in
// the sync state machine and the counters of the venue's oracles. Handle
// creates it on the first frame that names the instrument (or New, for
// configured instruments) and writes its fields; read them on the feed
// goroutine. The Book is safe to read from any goroutine through its
// snapshot methods (Read, State, Stats).
type Symbol struct {
	// Name is the instId as OKX spells it: "BTC-USDT", "UNI-USD-SWAP".
	// TakeResyncs returns it.
	Name string
	// Inst is the configured instrument, or one built from the name (Pair
	// from its first two parts) whose PriceExp and QtyExp are learned from
	// the first snapshot. Read its exponents only once the book has a
	// snapshot (they are written, once, just before the first).
	Inst market.Instrument
	// Book is the instrument's order book, written only by the feed.
	Book *book.Book
	// Channel is the book channel that feeds the book ("books", "books5",
	// ...), fixed by the first book frame; Depth is that channel's depth,
	// which each side is truncated to after every message.
	Channel string
	Depth   int

	// Frames counts the book frames for the instrument, including those
	// dropped or kept while it waited for a snapshot.
	Frames uint64
	// Snapshots counts WebSocket snapshots loaded (every push on books5 and
	// bbo-tbt), RESTSnapshots those loaded by HandleSnapshot.
	Snapshots, RESTSnapshots uint64
	// Updates counts updates applied.
	Updates uint64
	// Dropped counts updates not applied because the book waited for a
	// snapshot (kept for HandleSnapshot); StaleEvents those skipped after a
	// REST snapshot as older than it.
	Dropped, StaleEvents uint64
	// ChecksumOK and ChecksumFail count the checksums verified and failed
	// (also in Book.Stats); ChecksumAbsent the messages without one
	// (checksum 0 or missing, which OKX is phasing in): neither.
	ChecksumOK, ChecksumFail, ChecksumAbsent uint64
	// SeqGaps counts updates whose prevSeqId was not the last seqId (also
	// Book.Stats().Gaps); SeqResets updates whose seqId was below their
	// prevSeqId; NoChange updates with seqId equal to prevSeqId, which OKX
	// sends when the book did not change.
	SeqGaps, SeqResets, NoChange uint64

	ch       chanKind
	state    syncState
	hasExp   bool  // Inst.PriceExp and QtyExp are known
	hasSeq   bool  // lastSeq anchors the seqId chain
	lastSeq  int64 // seqId of the last message applied
	msgs     int64 // messages committed: the book's sequence when OKX sends no seqId
	exch     int64 // exchange time of the last message committed, Unix ns
	lastTs   int64 // latest ts of a book message seen, Unix ms
	pending  bool  // a resync is requested and not yet taken
	queued   bool  // in Feed.resync
	awaiting bool  // a resync was requested and no snapshot has arrived since

	// After a REST snapshot: updates up to restTs (its ts) are in it.
	afterREST bool
	restTs    int64

	// Update frames kept while the book waits for a snapshot, for
	// HandleSnapshot to replay; floorTs is the ts a REST snapshot must
	// reach to cover what was lost (see hold).
	held    []byte
	heldEnd []int
	heldTs  []int64
	floorTs int64

	exc [2]excTable // non-canonical wire decimals, per side (see sync.go)
	cs  csCache
}

// syncState is an instrument's place in the book-sync state machine.
type syncState uint8

const (
	stSyncing syncState = iota // no snapshot yet: updates are kept, a resync requested
	stLive                     // snapshot applied and the stream follows it
	stStale                    // a check failed: updates are kept until the next snapshot
)

// LastSeq returns the seqId of the last message applied and whether the
// book is anchored to OKX's seqId chain (false before a snapshot with a
// seqId, after a REST snapshot until the next update, and on captures
// from before OKX sent sequence ids).
func (s *Symbol) LastSeq() (int64, bool) { return s.lastSeq, s.hasSeq }

// find returns the known instrument named name, or nil; it never creates
// one and does not allocate.
func (f *Feed) find(name []byte) *Symbol {
	for _, sym := range f.syms[:min(len(f.syms), linearSymbols)] {
		if sym.Name == string(name) {
			return sym
		}
	}
	if len(f.syms) <= linearSymbols {
		return nil
	}
	return f.byName[string(name)]
}

// linearSymbols is how many symbols find compares by name before using
// the map: a few string compares beat hashing.
const linearSymbols = 8

// lookup returns the instrument named name, creating it (and its book) on
// first sight when no instruments are configured, or nil.
func (f *Feed) lookup(name []byte) *Symbol {
	if sym := f.find(name); sym != nil {
		return sym
	}
	if f.inst || len(f.syms) >= f.cfg.MaxSymbols || !validInstID(name) {
		return nil
	}
	sym, err := f.newSymbol(string(name), nil)
	if err != nil {
		return nil
	}
	return sym
}

// validInstID reports whether name looks like an OKX instId: 1..64
// letters, digits, '-' and '_'.
func validInstID(name []byte) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for _, c := range name {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// newSymbol allocates an instrument's symbol and book: cold, once each.
func (f *Feed) newSymbol(name string, in *market.Instrument) (*Symbol, error) {
	b, err := book.New(book.Config{Venue: market.OKX, Symbol: name, MaxDepth: f.cfg.MaxDepth, TopN: f.cfg.TopN})
	if err != nil {
		return nil, err
	}
	sym := &Symbol{Name: name, Book: b}
	sym.cs.text = make([]byte, 0, checksumCap)
	if in != nil {
		sym.Inst = *in
		sym.hasExp = true
	} else {
		sym.Inst = market.Instrument{Venue: market.OKX, Symbol: name, Pair: pairOf(name)}
	}
	f.syms = append(f.syms, sym)
	f.byName[name] = sym
	if cap(f.resync) < len(f.syms) {
		f.resync = slices.Grow(f.resync, 2*len(f.syms))
	}
	return sym, nil
}

// bind ties the symbol to the book channel of its first book frame.
func (s *Symbol) bind(ch chanKind) {
	s.ch = ch
	s.Channel = chanName[ch]
	s.Depth = chanDepth[ch]
}

// setExp records exponents learned from the first snapshot.
func (s *Symbol) setExp(pd, qd int) {
	s.Inst.PriceExp, s.Inst.QtyExp = pd, qd
	s.hasExp = true
}

// pairOf returns the pair an unconfigured instId names: its first two
// dash-separated parts ("BTC-USDT" and "BTC-USDT-SWAP" are BTC/USDT), or
// the zero Pair.
func pairOf(instID string) market.Pair {
	parts := strings.SplitN(instID, "-", 3)
	if len(parts) < 2 {
		return market.Pair{}
	}
	p, err := market.ParsePair(parts[0] + "/" + parts[1])
	if err != nil {
		return market.Pair{}
	}
	return p
}

// instrument is the part of an OKX instrument ParseInstruments reads.
type instrument struct {
	InstID     string `json:"instId"`
	InstType   string `json:"instType"`
	BaseCcy    string `json:"baseCcy"`
	QuoteCcy   string `json:"quoteCcy"`
	Uly        string `json:"uly"`
	InstFamily string `json:"instFamily"`
	SettleCcy  string `json:"settleCcy"`
	TickSz     string `json:"tickSz"`
	LotSz      string `json:"lotSz"`
	MinSz      string `json:"minSz"`
}

// ParseInstruments converts OKX instrument metadata into instruments,
// sorted by Symbol: a REST response from GET /api/v5/public/instruments
// ({"code":"0","msg":"","data":[...]}) or its bare data array.
//
//   - Symbol is instId ("BTC-USDT", "UNI-USD-SWAP", "BTC-USD-220527");
//   - PriceExp is the number of decimals of tickSz and QtyExp that of
//     lotSz (OKX's price and size grids), Tick and Step are tickSz and
//     lotSz at those exponents, MinQty is minSz rounded up to QtyExp;
//   - Pair is baseCcy/quoteCcy for SPOT and MARGIN. For SWAP and FUTURES it
//     is the underlying index pair (uly, or instFamily when uly is empty):
//     BTC-USD-220527 and BTC-USD-SWAP are BTC/USD, BTC-USDT-SWAP is
//     BTC/USDT. Prices of both inverse and linear contracts are quoted in
//     that pair's quote currency, so the pair names what the price means;
//     settleCcy is not used, since an inverse contract settles in the base
//     (BTC) and would give the meaningless BTC/BTC. Beware: a contract's
//     quantity is a number of contracts (ctVal of ctValCcy each), not of
//     the base asset, and its price carries the basis, so a contract's book
//     is not interchangeable with a spot book of the same Pair; callers
//     that match instruments across venues by Pair must keep contracts out
//     of spot comparisons (their Symbol has more than two parts);
//   - OPTION instruments are skipped: their prices are in the settlement
//     currency, not in the underlying pair's quote.
//
// Repeated entries for one instId are merged when identical and an error
// when they differ. A response whose code is not "0" is an error.
// ParseInstruments is for start-up; it allocates freely.
func ParseInstruments(data []byte) ([]market.Instrument, error) {
	var list []instrument
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("okx: instruments: %w", err)
		}
	} else {
		var resp struct {
			Code json.RawMessage `json:"code"`
			Msg  string          `json:"msg"`
			Data []instrument    `json:"data"`
		}
		if err := json.Unmarshal(trimmed, &resp); err != nil {
			return nil, fmt.Errorf("okx: instruments: %w", err)
		}
		if code := strings.Trim(string(resp.Code), `"`); code != "0" {
			return nil, fmt.Errorf("okx: instruments: code %s: %s", resp.Code, resp.Msg)
		}
		if resp.Data == nil {
			return nil, errors.New("okx: instruments: no data")
		}
		list = resp.Data
	}
	out := make([]market.Instrument, 0, len(list))
	seen := make(map[string]int, len(list))
	for _, it := range list {
		in, skip, err := convertInstrument(&it)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		if i, dup := seen[in.Symbol]; dup {
			if out[i] != in {
				return nil, fmt.Errorf("okx: instruments: %s listed twice with different metadata", in.Symbol)
			}
			continue
		}
		seen[in.Symbol] = len(out)
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b market.Instrument) int { return strings.Compare(a.Symbol, b.Symbol) })
	return out, nil
}

// convertInstrument converts one entry; skip reports an entry that is not
// listed (options).
func convertInstrument(it *instrument) (in market.Instrument, skip bool, err error) {
	if it.InstID == "" {
		return in, false, errors.New("okx: instruments: entry without instId")
	}
	wrap := func(format string, args ...any) error {
		return fmt.Errorf("okx: instruments: %s: "+format, append([]any{it.InstID}, args...)...)
	}
	var pair market.Pair
	switch it.InstType {
	case "SPOT", "MARGIN":
		if pair, err = market.ParsePair(it.BaseCcy + "/" + it.QuoteCcy); err != nil {
			return in, false, wrap("baseCcy %q quoteCcy %q: %v", it.BaseCcy, it.QuoteCcy, err)
		}
	case "SWAP", "FUTURES":
		u := it.Uly
		if u == "" {
			u = it.InstFamily
		}
		base, quote, ok := strings.Cut(u, "-")
		if pair, err = market.ParsePair(base + "/" + quote); !ok || err != nil {
			return in, false, wrap("underlying %q is not BASE-QUOTE", u)
		}
	case "OPTION":
		return in, true, nil
	default:
		return in, false, wrap("unknown instType %q", it.InstType)
	}
	in = market.Instrument{Venue: market.OKX, Symbol: it.InstID, Pair: pair}
	in.PriceExp, err = gridExp(it.TickSz)
	if err != nil {
		return in, false, wrap("tickSz %q: %v", it.TickSz, err)
	}
	in.QtyExp, err = gridExp(it.LotSz)
	if err != nil {
		return in, false, wrap("lotSz %q: %v", it.LotSz, err)
	}
	tick, _ := market.ParsePrice([]byte(it.TickSz), in.PriceExp)
	step, _ := market.ParseQty([]byte(it.LotSz), in.QtyExp)
	in.Tick, in.Step = tick, step
	if it.MinSz != "" {
		q, err := ceilFixed(it.MinSz, in.QtyExp)
		if err != nil {
			return in, false, wrap("minSz %q: %v", it.MinSz, err)
		}
		in.MinQty = market.Qty(q)
	}
	if err := in.Validate(); err != nil {
		return in, false, fmt.Errorf("okx: instruments: %w", err)
	}
	return in, false, nil
}

// gridExp returns the exponent of a positive grid size ("0.1" is 1,
// "0.00000001" is 8, "1" and "10" are 0): its decimals without trailing
// zeros.
func gridExp(s string) (int, error) {
	t := []byte(s)
	if bytes.IndexByte(t, '.') >= 0 {
		t = bytes.TrimSuffix(bytes.TrimRight(t, "0"), []byte("."))
	}
	e := fracDigits(t)
	if e > market.MaxExp {
		return 0, errDecimals
	}
	v, err := market.ParseFixed(t, e)
	if err != nil {
		return 0, err
	}
	if v <= 0 {
		return 0, errors.New("not positive")
	}
	return e, nil
}

// ceilFixed parses non-negative decimal text as a mantissa at exp,
// rounding up digits finer than exp (a minimum stays a minimum).
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
