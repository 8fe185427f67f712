package bybit

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/market"
)

// Errors returned by Handle. They are preallocated sentinels; LastError
// gives the cause of an ErrMalformed for logs.
var (
	// ErrMalformed: the frame is not valid JSON of a known shape, or a
	// level in it is not representable at its symbol's exponents. Counted
	// in DecodeErrors; a book the frame can be attributed to is resynced.
	ErrMalformed = errors.New("bybit: malformed frame")
	// ErrUnknownSymbol: an orderbook topic for a symbol that is not
	// configured (or past Config.MaxSymbols). Counted in Unknown.
	ErrUnknownSymbol = errors.New("bybit: unknown symbol")
	// ErrDepth: an orderbook topic at a depth other than the one its
	// symbol is already followed at on this connection, or deeper than
	// Config.MaxDepth. Counted in Unknown.
	ErrDepth = errors.New("bybit: orderbook depth differs from the symbol's")
	// ErrGap: a delta whose u does not follow the book's last u. The frame
	// itself was fine: the book is Stale and a resubscribe is requested.
	ErrGap = errors.New("bybit: update id gap")
)

// Category is the Bybit product line a connection carries. Bybit serves
// each on its own public endpoint.
type Category uint8

// The categories whose order books a Feed decodes.
const (
	CategoryUnknown Category = iota
	Spot                     // wss://stream.bybit.com/v5/public/spot
	Linear                   // wss://stream.bybit.com/v5/public/linear (USDT/USDC perpetuals and futures)
)

// String returns Bybit's name of the category: "spot" or "linear".
func (c Category) String() string {
	switch c {
	case Spot:
		return "spot"
	case Linear:
		return "linear"
	}
	return fmt.Sprintf("category(%d)", uint8(c))
}

// ParseCategory returns the category named s ("spot" or "linear", as in
// Bybit's category parameter; case-insensitive).
func ParseCategory(s string) (Category, error) {
	switch strings.ToLower(s) {
	case "spot":
		return Spot, nil
	case "linear":
		return Linear, nil
	}
	return CategoryUnknown, fmt.Errorf("bybit: unknown category %q (want spot or linear)", s)
}

// URL returns the public websocket endpoint of the category, or "".
func (c Category) URL() string {
	switch c {
	case Spot:
		return "wss://stream.bybit.com/v5/public/spot"
	case Linear:
		return "wss://stream.bybit.com/v5/public/linear"
	}
	return ""
}

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxLevels  = 4096
	DefaultMaxSymbols = 256
)

// Config configures a Feed for one Bybit public websocket connection.
type Config struct {
	// Category is the connection's product line: Spot or Linear. Required.
	Category Category
	// Instruments are the symbols to accept (Venue market.Bybit, Symbol as
	// Bybit spells it, exponents set; see ParseInstruments); orderbook
	// topics for other symbols are counted Unknown. When empty, every
	// symbol is accepted and its exponents are learned from its first
	// snapshot (replay without metadata).
	Instruments []market.Instrument
	// TopN is the number of levels per side each book publishes to readers
	// (default book.DefaultTopN).
	TopN int
	// MaxDepth is the number of levels each book stores per side; a topic
	// deeper than it is refused (ErrDepth). Zero (the default) sizes each
	// book from its topic's depth N at max(2N, N+32): room for the levels
	// one message inserts before the book is truncated back to N.
	MaxDepth int
	// MaxLevels bounds the levels of one message, both sides together
	// (default 4096: a snapshot of orderbook.1000 has 2000). A message with
	// more is malformed.
	MaxLevels int
	// MaxSymbols bounds the symbols a Feed without Instruments creates
	// books for (default 256); topics for more are Unknown.
	MaxSymbols int
}

// Validate reports what is wrong with c after defaults.
func (c *Config) Validate() error {
	if c.Category != Spot && c.Category != Linear {
		return fmt.Errorf("bybit: category %v, want spot or linear", c.Category)
	}
	if c.TopN < 0 || c.TopN > book.MaxTop {
		return fmt.Errorf("bybit: top-n %d out of range 0..%d", c.TopN, book.MaxTop)
	}
	if c.MaxDepth < 0 || c.MaxDepth > 1<<20 {
		return fmt.Errorf("bybit: max depth %d out of range 0..%d", c.MaxDepth, 1<<20)
	}
	if c.MaxLevels < 1 || c.MaxLevels > 1<<20 {
		return fmt.Errorf("bybit: max levels %d out of range 1..%d", c.MaxLevels, 1<<20)
	}
	if c.MaxSymbols < 1 {
		return fmt.Errorf("bybit: max symbols %d, want at least 1", c.MaxSymbols)
	}
	seen := make(map[string]bool, len(c.Instruments))
	for i := range c.Instruments {
		in := &c.Instruments[i]
		if err := in.Validate(); err != nil {
			return fmt.Errorf("bybit: %w", err)
		}
		if in.Venue != market.Bybit {
			return fmt.Errorf("bybit: instrument %s is for venue %s", in.Symbol, in.Venue)
		}
		key := strings.ToUpper(in.Symbol)
		if seen[key] {
			return fmt.Errorf("bybit: duplicate instrument %s", in.Symbol)
		}
		seen[key] = true
	}
	return nil
}

// Feed decodes the frames of one Bybit public websocket connection and
// keeps one book per orderbook topic in sync. It is owned by the
// connection's goroutine (see the package comment); Counters may be read
// from any goroutine. A Feed must not be copied.
type Feed struct {
	_   noCopy
	cfg Config
	dec decoder
	ctr feed.Counters

	syms    []*Symbol
	byTopic map[string]*Symbol            // "orderbook.200.BTCUSDT"
	byName  map[string]*Symbol            // "BTCUSDT"
	inst    map[string]*market.Instrument // upper-case symbol; nil: accept every symbol
	resync  []*Symbol                     // symbols with a resubscribe requested; cap ≥ len(syms)

	cause    error // cause of the last ErrMalformed
	causePos int
}

// New returns a Feed for cfg. It allocates the decoder scratch; books are
// allocated when a topic is first seen.
func New(cfg Config) (*Feed, error) {
	if cfg.MaxLevels == 0 {
		cfg.MaxLevels = DefaultMaxLevels
	}
	if cfg.MaxSymbols == 0 {
		cfg.MaxSymbols = DefaultMaxSymbols
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &Feed{
		cfg:     cfg,
		dec:     newDecoder(cfg.MaxLevels),
		byTopic: make(map[string]*Symbol),
		byName:  make(map[string]*Symbol),
	}
	if len(cfg.Instruments) > 0 {
		f.cfg.Instruments = append([]market.Instrument(nil), cfg.Instruments...)
		f.inst = make(map[string]*market.Instrument, len(cfg.Instruments))
		for i := range f.cfg.Instruments {
			in := &f.cfg.Instruments[i]
			f.inst[strings.ToUpper(in.Symbol)] = in
		}
	}
	f.dec.lookup = f.lookup
	return f, nil
}

// Config returns a copy of the feed's configuration, with defaults
// applied.
func (f *Feed) Config() Config {
	c := f.cfg
	c.Instruments = slices.Clone(c.Instruments)
	return c
}

// Counters returns the connection's frame counters; any goroutine may read
// them.
func (f *Feed) Counters() *feed.Counters { return &f.ctr }

// Symbols returns the symbols seen so far, in order of first sight. The
// slice is borrowed: it is valid until the next Handle, which may append to
// it.
func (f *Feed) Symbols() []*Symbol { return f.syms }

// Symbol returns the symbol named name (case-insensitive), or nil if no
// frame has named it yet.
func (f *Feed) Symbol(name string) *Symbol { return f.byName[strings.ToUpper(name)] }

// TakeResyncs appends to dst the topics ("orderbook.200.BTCUSDT") whose
// books need a fresh snapshot, after a gap, a frame that could not be
// decoded, or a crossed book, and clears the requests: the connection
// unsubscribes and resubscribes each, and Bybit answers with a snapshot. A
// topic whose snapshot arrived since the request is not returned. It does
// not allocate when dst has room.
func (f *Feed) TakeResyncs(dst []string) []string {
	for _, sym := range f.resync {
		if sym.pending {
			dst = append(dst, sym.Topic)
		}
		sym.pending, sym.queued = false, false
	}
	f.resync = f.resync[:0]
	return dst
}

// LastError returns the cause of the last ErrMalformed Handle returned (a
// bybit, jscan or market error) and the byte offset in the frame where it
// was found, for logs on a cold path.
func (f *Feed) LastError() (cause error, offset int) { return f.cause, f.causePos }

// Handle decodes one frame received at recvNs (Unix ns) and applies it. It
// counts the frame in Counters and returns nil, ErrMalformed,
// ErrUnknownSymbol, ErrDepth, ErrGap or book.ErrCrossed (the book is then
// Stale and a resubscribe requested). It never panics and, once a topic's
// book exists, does not allocate.
func (f *Feed) Handle(frame []byte, recvNs int64) error {
	f.ctr.Frames.Add(1)
	f.ctr.Bytes.Add(uint64(len(frame)))
	d := &f.dec
	if !d.decode(frame) {
		return f.malformed(recvNs)
	}
	m := &d.m
	if m.kind != msgBook {
		f.ctr.Ignored.Add(1)
		return nil
	}
	sym := m.sym
	if sym == nil {
		f.ctr.Unknown.Add(1)
		return m.symErr
	}
	sym.Frames++
	exch := m.exchNs()
	if m.snapshot || m.u == 1 {
		return f.reset(sym, exch, recvNs)
	}
	if sym.state != stLive {
		sym.Dropped++ // waiting for a snapshot
		f.ctr.Ignored.Add(1)
		return nil
	}
	if m.u != sym.lastU+1 {
		sym.Book.NoteGap()
		f.fail(sym)
		return ErrGap
	}
	b := sym.Book
	if !f.setLevels(b) {
		return f.refused(sym, recvNs)
	}
	b.Truncate(sym.Depth)
	sym.lastU = m.u
	sym.exch = exch
	sym.Deltas++
	if _, err := b.Commit(m.u, exch, recvNs); err != nil {
		f.fail(sym) // crossed: Commit marked it Stale and published
		return err
	}
	return nil
}

// reset loads a snapshot (or a message with u == 1) into sym's book,
// whatever its state, and makes it Live.
func (f *Feed) reset(sym *Symbol, exch, recvNs int64) error {
	m := &f.dec.m
	if !sym.hasExp {
		// The first snapshot of a learned symbol: decode parsed it at
		// its own decimals.
		sym.Inst.PriceExp, sym.Inst.QtyExp = m.pexp, m.qexp
		sym.hasExp = true
	}
	if sym.state == stLive {
		sym.Resets++ // unrequested: a service restart, or a re-pushed snapshot
	}
	b := sym.Book
	b.Clear()
	if !f.setLevels(b) {
		return f.refused(sym, recvNs)
	}
	b.Truncate(sym.Depth)
	sym.lastU = m.u
	sym.exch = exch
	sym.state = stLive
	sym.pending = false
	sym.Snapshots++
	b.SetState(book.Live)
	if _, err := b.Commit(m.u, exch, recvNs); err != nil {
		f.fail(sym)
		return err
	}
	return nil
}

// setLevels applies the decoded message's levels, which decode has checked,
// to b. It reports false if the book refused one (it cannot: decode checks
// what Set checks), in which case the book is half-applied and the caller
// must not leave it Live.
func (f *Feed) setLevels(b *book.Book) bool {
	m := &f.dec.m
	ok := true
	for _, v := range m.vals[:m.nb] {
		ok = b.Set(market.Bid, market.Price(v[0]), market.Qty(v[1])) == nil && ok
	}
	for _, v := range m.vals[m.nb:] {
		ok = b.Set(market.Ask, market.Price(v[0]), market.Qty(v[1])) == nil && ok
	}
	return ok
}

// refused handles a message whose levels the book refused after decode
// accepted them (it cannot happen: decode checks what Set checks): the book
// is half-applied, so it is resynced, and the frame counts as malformed.
func (f *Feed) refused(sym *Symbol, recvNs int64) error {
	f.ctr.DecodeErrors.Add(1)
	f.cause, f.causePos = book.ErrBadLevel, 0
	f.fail(sym)
	return ErrMalformed
}

// malformed counts a frame that failed to decode and resyncs the symbol it
// can be attributed to (its topic was read): the message is lost to that
// book. A learned symbol whose message had finer decimals than it learned
// widens its exponents first (its book is empty until the next snapshot).
func (f *Feed) malformed(recvNs int64) error {
	d := &f.dec
	f.ctr.DecodeErrors.Add(1)
	f.cause, f.causePos = d.s.Err(), d.s.ErrPos()
	if f.cause == nil {
		f.cause = errShape
	}
	if sym := d.m.sym; sym != nil {
		if sym.learned && sym.hasExp && f.cause == market.ErrPrecision && d.m.dataPos >= 0 {
			pd, qd := d.decimals(d.m.dataPos)
			if pd <= market.MaxExp && qd <= market.MaxExp {
				sym.Inst.PriceExp = max(sym.Inst.PriceExp, pd)
				sym.Inst.QtyExp = max(sym.Inst.QtyExp, qd)
				sym.Book.Clear()
			}
		}
		f.fail(sym)
	}
	return ErrMalformed
}

// fail takes sym out of sync: its book goes Stale (counted as a resync in
// the book's stats, and published to readers at once by Book.Resync);
// deltas are dropped until a snapshot arrives, and a resubscribe is
// requested unless one is pending.
func (f *Feed) fail(sym *Symbol) {
	if sym.state == stStale && sym.pending {
		return // already failed and waiting
	}
	sym.state = stStale
	sym.Book.Resync() // publishes the Stale state at once
	if !sym.pending {
		sym.pending = true
		f.ctr.Resyncs.Add(1)
		if !sym.queued {
			sym.queued = true
			f.resync = append(f.resync, sym) // cap ≥ len(syms): no allocation
		}
	}
}

type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
