package kraken

import (
	"errors"
	"fmt"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/market"
)

// Errors returned by Handle. They are preallocated sentinels; LastError
// gives the cause of an ErrMalformed for logs.
var (
	// ErrMalformed: the frame is not valid JSON of a known shape, or a
	// number in it does not fit its pair's precision. Counted in
	// DecodeErrors; a pair the frame could be attributed to is resynced.
	ErrMalformed = errors.New("kraken: malformed frame")
	// ErrUnknownSymbol: the frame is for a pair that is not configured (or
	// past Config.MaxSymbols). Counted in Unknown.
	ErrUnknownSymbol = errors.New("kraken: unknown symbol")
	// ErrChecksum: the book did not match the checksum Kraken sent. The book
	// is Stale and a resubscribe is requested.
	ErrChecksum = errors.New("kraken: book checksum mismatch")
)

// Defaults applied by New to zero Config fields.
const (
	DefaultDepth      = 10
	DefaultMaxSymbols = 256
)

// Config configures a Feed for one Kraken WebSocket connection.
type Config struct {
	// Version is the WebSocket API: 1 (wss://ws.kraken.com) or 2
	// (wss://ws.kraken.com/v2). Required.
	Version int
	// Depth is the subscribed book depth on v2 (10, 25, 100, 500 or 1000;
	// default 10): books are truncated to it and checksummed at it. On v1
	// each pair's depth comes from its channel name ("book-N") and Depth is
	// ignored.
	Depth int
	// TopN is the number of levels per side each book publishes to readers
	// (default book.DefaultTopN).
	TopN int
	// MaxDepth is the number of levels each book stores per side; it must
	// be at least the depth. Zero (the default) sizes each book at
	// max(2×depth, depth+32): room for the levels one message inserts
	// before the book is truncated back to its depth.
	MaxDepth int
	// Instruments are the pairs to accept; frames for other pairs are
	// counted Unknown. Required on v2, whose checksum is rendered at the
	// instruments' precision (PriceExp, QtyExp: Kraken's pair_decimals and
	// lot_decimals, see ParseAssetPairs); a v2 symbol ("BTC/USD") matches
	// an instrument by Symbol or by canonical Pair, and both spellings
	// share one book. Optional on v1: without them every pair is accepted
	// and stored at its wire decimals.
	Instruments []market.Instrument
	// MaxSymbols bounds the pairs a v1 connection without Instruments
	// creates books for (default 256); frames for more are Unknown.
	MaxSymbols int
	// Precision is Kraken's own precision of v2 pairs, by symbol ("BTC/USD"):
	// PriceExp and QtyExp of the instruments ParseAssetPairs returns
	// (pair_decimals, lot_decimals). The v2 checksum renders prices and
	// quantities at these decimals, so Instruments may use finer exponents
	// shared with other venues (BTC/USD at 2 while Kraken prices at 1).
	// Pairs absent from it render at their instrument's exponents.
	Precision map[string][2]int
}

// Validate reports what is wrong with c after defaults.
func (c *Config) Validate() error {
	if c.Version != 1 && c.Version != 2 {
		return fmt.Errorf("kraken: version %d, want 1 or 2", c.Version)
	}
	if c.Depth < 1 || c.Depth > maxChanDepth {
		return fmt.Errorf("kraken: depth %d out of range 1..%d", c.Depth, maxChanDepth)
	}
	if c.TopN < 0 || c.TopN > book.MaxTop {
		return fmt.Errorf("kraken: top-n %d out of range 0..%d", c.TopN, book.MaxTop)
	}
	if c.MaxDepth < 0 || c.MaxDepth > 1<<20 || (c.MaxDepth != 0 && c.Version == 2 && c.MaxDepth < c.Depth) {
		return fmt.Errorf("kraken: max depth %d out of range %d..%d", c.MaxDepth, c.Depth, 1<<20)
	}
	if c.MaxSymbols < 1 {
		return fmt.Errorf("kraken: max symbols %d, want at least 1", c.MaxSymbols)
	}
	if c.Version == 2 && len(c.Instruments) == 0 {
		return errors.New("kraken: v2 needs instruments: its checksum is rendered at their precision")
	}
	for i := range c.Instruments {
		in := &c.Instruments[i]
		if err := in.Validate(); err != nil {
			return fmt.Errorf("kraken: %w", err)
		}
		if in.Venue != market.Kraken {
			return fmt.Errorf("kraken: instrument %s is for venue %s", in.Symbol, in.Venue)
		}
	}
	return nil
}

// Feed decodes the frames of one Kraken WebSocket connection (v1 or v2
// book channel) and keeps one book per pair in sync: snapshot, updates,
// checksum after every message, resubscribe on failure. It is owned by the
// connection's goroutine: Handle, Symbols, TakeResubscribe,
// AppendChecksumString and LastError must be called from it. Counters may
// be read from any goroutine. A Feed must not be copied.
type Feed struct {
	_   noCopy
	cfg Config
	v2  bool
	dec decoder
	ctr feed.Counters

	syms   []*Symbol
	byName map[string]*Symbol
	inst   map[string]*market.Instrument // nil: accept every pair (v1)

	conv   [2][]book.Level // levels of the message being applied, per side
	csBuf  []byte          // checksum string scratch
	resync []*Symbol       // pairs with a resubscribe requested; cap ≥ len(syms)

	cause    error // cause of the last ErrMalformed
	causePos int
}

// New returns a Feed for cfg. It allocates the decoder scratch; books are
// allocated when a pair is first seen.
func New(cfg Config) (*Feed, error) {
	if cfg.Depth == 0 {
		cfg.Depth = DefaultDepth
	}
	if cfg.MaxSymbols == 0 {
		cfg.MaxSymbols = DefaultMaxSymbols
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &Feed{
		cfg:    cfg,
		v2:     cfg.Version == 2,
		dec:    newDecoder(),
		byName: make(map[string]*Symbol),
		csBuf:  make([]byte, 0, checksumCap),
	}
	if len(cfg.Instruments) > 0 {
		cfg.Instruments = append([]market.Instrument(nil), cfg.Instruments...)
		f.cfg.Instruments = cfg.Instruments
		f.inst = make(map[string]*market.Instrument, 2*len(cfg.Instruments))
		add := func(key string, in *market.Instrument) error {
			if old, dup := f.inst[key]; dup && old != in {
				return fmt.Errorf("kraken: instruments %s and %s both match %q", old.Symbol, in.Symbol, key)
			}
			f.inst[key] = in
			return nil
		}
		for i := range cfg.Instruments {
			in := &cfg.Instruments[i]
			if err := add(in.Symbol, in); err != nil {
				return nil, err
			}
		}
		if f.v2 {
			// v2 spells pairs canonically (BTC/USD); v1 wsname (XBT/USD).
			for i := range cfg.Instruments {
				in := &cfg.Instruments[i]
				if _, taken := f.inst[in.Pair.String()]; !taken {
					f.inst[in.Pair.String()] = in
				}
			}
		}
	}
	for i := range f.conv {
		f.conv[i] = make([]book.Level, 0, defaultLevels)
	}
	return f, nil
}

// Counters returns the connection's frame counters; any goroutine may read
// them.
func (f *Feed) Counters() *feed.Counters { return &f.ctr }

// Symbols returns the pairs seen so far, in order of first sight. The slice
// is borrowed: it is valid until the next Handle, which may append to it.
func (f *Feed) Symbols() []*Symbol { return f.syms }

// TakeResubscribe appends to dst the wire names of the pairs whose books
// need a fresh snapshot (after a checksum mismatch, a crossed book or a
// frame that could not be decoded) and clears the requests; the connection
// unsubscribes and resubscribes their book channel. A pair whose snapshot
// arrived since the request is not returned. It does not allocate when dst
// has room.
func (f *Feed) TakeResubscribe(dst []string) []string {
	for _, sym := range f.resync {
		if sym.pending {
			dst = append(dst, sym.Symbol)
		}
		sym.pending, sym.queued = false, false
	}
	f.resync = f.resync[:0]
	return dst
}

// LastError returns the cause of the last ErrMalformed Handle returned (a
// jscan, market or kraken error) and the byte offset in the frame where it
// was found, for logs on a cold path.
func (f *Feed) LastError() (cause error, offset int) { return f.cause, f.causePos }

// Handle decodes one frame received at recvNs (Unix ns) and applies it: it
// never panics and, once every pair's book exists and the scratch has grown
// to the largest message, it does not allocate. It counts the frame in
// Counters and returns nil or one of ErrMalformed, ErrUnknownSymbol,
// ErrChecksum or book.ErrCrossed. Bad input never leaves a book Live with a
// message half-applied: a frame is decoded and its numbers scanned in full
// before any book is touched, and a failure attributable to a pair marks its
// book Stale and requests a resubscribe (see TakeResubscribe).
func (f *Feed) Handle(frame []byte, recvNs int64) error {
	f.ctr.Frames.Add(1)
	f.ctr.Bytes.Add(uint64(len(frame)))
	d := &f.dec
	var err error
	if f.v2 {
		err = d.decodeV2(frame)
	} else {
		err = d.decodeV1(frame)
	}
	if err != nil {
		return f.malformed(err, d.errPos())
	}
	m := &d.m
	if m.kind == msgIgnored {
		f.ctr.Ignored.Add(1)
		return nil
	}
	var ret error
	used, unknown, bad := false, false, false
	for i := range m.entries {
		e := &m.entries[i]
		depth := f.cfg.Depth
		if !f.v2 {
			depth = e.depth
		}
		sym, err := f.lookup(e.sym, depth)
		if sym == nil {
			if err == ErrUnknownSymbol {
				unknown = true
			} else {
				bad = true
				f.cause, f.causePos = err, 0
			}
			continue
		}
		if !f.v2 {
			sym.chanID, sym.hasChan = m.chanID, true
		}
		switch err := f.apply(m, e, sym, depth, recvNs); err {
		case nil:
			used = true
		case errDropped:
		case ErrMalformed:
			bad = true
		default:
			used = true
			if ret == nil {
				ret = err
			}
		}
	}
	switch {
	case bad:
		f.ctr.DecodeErrors.Add(1)
		ret = ErrMalformed
	case unknown:
		f.ctr.Unknown.Add(1)
		if ret == nil {
			ret = ErrUnknownSymbol
		}
	case !used && ret == nil:
		f.ctr.Ignored.Add(1) // book data for pairs waiting for a snapshot
	}
	return ret
}

// malformed counts a frame that failed to decode and resyncs the pair it
// can be attributed to: the pair it names, else (v1) the pair last seen on
// its channel id, else (v2) the pairs of the entries decoded before the
// failure. Without attribution the next checksum catches any lost update.
func (f *Feed) malformed(cause error, pos int) error {
	f.ctr.DecodeErrors.Add(1)
	f.cause, f.causePos = cause, pos
	m := &f.dec.m
	switch {
	case m.badSym != nil:
		if sym := f.find(m.badSym); sym != nil {
			f.fail(sym)
		}
	case f.v2:
		for i := range m.entries {
			if sym := f.find(m.entries[i].sym); sym != nil {
				f.fail(sym)
			}
		}
	case m.hasChan:
		for _, sym := range f.syms {
			if sym.hasChan && sym.chanID == m.chanID {
				f.fail(sym)
				break
			}
		}
	}
	return ErrMalformed
}

type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
