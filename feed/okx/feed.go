package okx

import (
	"errors"
	"fmt"
	"slices"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/market"
)

// Errors returned by Handle and HandleSnapshot. They are preallocated
// sentinels; LastError gives the cause of an ErrMalformed for logs.
var (
	// ErrMalformed: the frame is not valid JSON of a known shape, or a price
	// or size in it is not a plain decimal string that the instrument's
	// exponents hold exactly. Counted in DecodeErrors; a book the frame can
	// be attributed to is resynced.
	ErrMalformed = errors.New("okx: malformed frame")
	// ErrUnknownSymbol: the frame is for an instrument that is not
	// configured (or past Config.MaxSymbols). Counted in Unknown.
	ErrUnknownSymbol = errors.New("okx: unknown instrument")
	// ErrChannel: the instrument's book is already fed by another book
	// channel on this connection (one book per instrument), or its book
	// cannot hold the channel's depth. Counted in Unknown.
	ErrChannel = errors.New("okx: book channel conflicts with the instrument's")
	// ErrChecksum: the book did not match the checksum OKX sent. The book
	// is Stale and a resync is requested.
	ErrChecksum = errors.New("okx: book checksum mismatch")
	// ErrGap: an update's prevSeqId is not the seqId of the message before
	// it (or it lacks the sequence fields on a sequenced book): messages
	// were lost. The book is Stale and a resync is requested.
	ErrGap = errors.New("okx: sequence gap")
	// ErrSeqReset: an update's seqId is smaller than its prevSeqId, which
	// OKX sends when it resets its sequence. The book is resynced.
	ErrSeqReset = errors.New("okx: sequence reset")
	// ErrSnapshot: a REST snapshot (HandleSnapshot) was refused: an error
	// response, or taken before updates the feed has already lost.
	ErrSnapshot = errors.New("okx: REST snapshot refused")
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultMaxDepth is the number of levels each book stores per side:
	// twice the deepest channel (books, 400), so that a message inserting
	// levels before it deletes the ones they push out of OKX's 400 never
	// evicts a level the book needs.
	DefaultMaxDepth    = 800
	DefaultMaxSymbols  = 256
	DefaultMaxLevels   = 5000
	DefaultMaxBuffered = 1024
)

// Config configures a Feed for one OKX v5 public WebSocket connection.
type Config struct {
	// Instruments are the instruments to accept (see ParseInstruments);
	// book frames for others count Unknown. Their exponents (PriceExp,
	// QtyExp) are the books' exponents. Optional: without them every
	// instrument is accepted and stored at the decimals of its first
	// snapshot, which is how replay reads captures; a later price or size
	// finer than that snapshot showed is then a decode error, so configure
	// instruments in production.
	Instruments []market.Instrument
	// TopN is the number of levels per side each book publishes to readers
	// (default book.DefaultTopN).
	TopN int
	// MaxDepth is the number of levels each book stores per side (default
	// DefaultMaxDepth). It must be at least the depth of the book channel
	// an instrument arrives on (400 for books and books-l2-tbt, 50, 5, 1);
	// frames of a deeper channel count Unknown (ErrChannel).
	MaxDepth int
	// MaxSymbols bounds the instruments a connection without Instruments
	// creates books for (default 256); frames for more count Unknown.
	MaxSymbols int
	// MaxLevels bounds the levels per side of one message or REST snapshot
	// (default 5000, OKX's deepest REST book); more is a decode error.
	MaxLevels int
	// MaxBuffered bounds the update frames kept per instrument while it
	// waits for a resync (default 1024), for HandleSnapshot to replay over
	// a REST snapshot. Past it the oldest are dropped, and a REST snapshot
	// older than them is refused.
	MaxBuffered int
}

// Validate reports what is wrong with c after defaults.
func (c *Config) Validate() error {
	if c.TopN < 0 || c.TopN > book.MaxTop {
		return fmt.Errorf("okx: top-n %d out of range 0..%d", c.TopN, book.MaxTop)
	}
	if c.MaxDepth < 1 || c.MaxDepth > 1<<20 {
		return fmt.Errorf("okx: max depth %d out of range 1..%d", c.MaxDepth, 1<<20)
	}
	if c.MaxSymbols < 1 {
		return fmt.Errorf("okx: max symbols %d, want at least 1", c.MaxSymbols)
	}
	if c.MaxLevels < 1 || c.MaxLevels > 1<<20 {
		return fmt.Errorf("okx: max levels %d out of range 1..%d", c.MaxLevels, 1<<20)
	}
	if c.MaxBuffered < 1 {
		return fmt.Errorf("okx: max buffered %d, want at least 1", c.MaxBuffered)
	}
	seen := make(map[string]bool, len(c.Instruments))
	for i := range c.Instruments {
		in := &c.Instruments[i]
		if err := in.Validate(); err != nil {
			return fmt.Errorf("okx: %w", err)
		}
		if in.Venue != market.OKX {
			return fmt.Errorf("okx: instrument %s is for venue %s", in.Symbol, in.Venue)
		}
		if seen[in.Symbol] {
			return fmt.Errorf("okx: instrument %s listed twice", in.Symbol)
		}
		seen[in.Symbol] = true
	}
	return nil
}

// Feed decodes the frames of one OKX v5 public WebSocket connection and
// keeps one book per instrument in sync with its book channel: snapshot,
// updates chained by seqId/prevSeqId, checksum after every message,
// resync on failure. It is owned by the connection's goroutine: Handle,
// HandleSnapshot, Symbols, Symbol, TakeResyncs, AppendChecksumString and
// LastError must be called from it. Counters may be read from any
// goroutine. A Feed must not be copied.
type Feed struct {
	_   noCopy
	cfg Config
	dec decoder
	ctr feed.Counters

	syms   []*Symbol
	byName map[string]*Symbol
	inst   bool // instruments configured: no symbol is created after New

	csBuf  []byte    // checksum string scratch
	resync []*Symbol // instruments with a resync queued; cap ≥ len(syms)

	cause    error // cause of the last ErrMalformed
	causePos int
}

// New returns a Feed for cfg. It allocates the decoder scratch and the
// books of the configured instruments; without instruments a book is
// allocated when its instrument is first seen.
func New(cfg Config) (*Feed, error) {
	if cfg.MaxDepth == 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	if cfg.MaxSymbols == 0 {
		cfg.MaxSymbols = DefaultMaxSymbols
	}
	if cfg.MaxLevels == 0 {
		cfg.MaxLevels = DefaultMaxLevels
	}
	if cfg.MaxBuffered == 0 {
		cfg.MaxBuffered = DefaultMaxBuffered
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Instruments = slices.Clone(cfg.Instruments)
	f := &Feed{
		cfg:    cfg,
		dec:    newDecoder(cfg.MaxLevels),
		byName: make(map[string]*Symbol, len(cfg.Instruments)),
		inst:   len(cfg.Instruments) > 0,
		csBuf:  make([]byte, 0, checksumCap),
	}
	f.dec.find = f.find
	for i := range cfg.Instruments {
		if _, err := f.newSymbol(cfg.Instruments[i].Symbol, &cfg.Instruments[i]); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Counters returns the connection's frame counters; any goroutine may read
// them.
func (f *Feed) Counters() *feed.Counters { return &f.ctr }

// Symbols returns the instruments of the feed: the configured ones, then
// those first seen since, in order. The slice is borrowed: it is valid
// until the next Handle or HandleSnapshot, which may append to it.
func (f *Feed) Symbols() []*Symbol { return f.syms }

// Symbol returns the instrument named instID ("BTC-USDT"), or nil.
func (f *Feed) Symbol(instID string) *Symbol { return f.byName[instID] }

// TakeResyncs appends to dst the instIds whose books need a fresh snapshot
// (after a gap, a sequence reset, a checksum mismatch, a crossed book, a
// frame that could not be decoded, or an update for a book that never had
// a snapshot) and clears the requests. The connection answers each either
// by resubscribing the instrument's book channel (exact: OKX pushes a new
// snapshot that starts a new seqId chain) or by fetching
// GET /api/v5/market/books?instId=…&sz=400 and passing the body to
// HandleSnapshot. An instrument whose snapshot arrived since the request
// is not returned. It does not allocate when dst has room.
func (f *Feed) TakeResyncs(dst []string) []string {
	for _, sym := range f.resync {
		if sym.pending {
			dst = append(dst, sym.Name)
		}
		sym.pending, sym.queued = false, false
	}
	f.resync = f.resync[:0]
	return dst
}

// LastError returns the cause of the last ErrMalformed Handle or
// HandleSnapshot returned (a jscan, market or okx error) and the byte
// offset in the frame where it was found, for logs on a cold path.
func (f *Feed) LastError() (cause error, offset int) { return f.cause, f.causePos }

// Handle decodes one frame received at recvNs (Unix ns) and applies it. It
// never panics and, once every instrument's book exists and the scratch
// has grown to the largest message, it does not allocate (except to keep
// update frames while a book waits for a resync). It counts the frame in
// Counters and returns nil or one of ErrMalformed, ErrUnknownSymbol,
// ErrChannel, ErrGap, ErrSeqReset, ErrChecksum or book.ErrCrossed. Bad
// input never leaves a book Live with a message half-applied: every number
// of a message is scanned before the book is touched, and a failure that
// can be attributed to an instrument marks its book Stale and requests a
// resync (see TakeResyncs).
func (f *Feed) Handle(frame []byte, recvNs int64) error {
	f.ctr.Frames.Add(1)
	f.ctr.Bytes.Add(uint64(len(frame)))
	d := &f.dec
	if err := d.decode(frame); err != nil {
		return f.malformed(err, d.errPos())
	}
	if d.m.kind == msgIgnored {
		f.ctr.Ignored.Add(1)
		return nil
	}
	return f.handleBook(frame, recvNs, false)
}

// handleBook runs the book message just decoded into f.dec.m: it finds (or
// creates) the instrument, finishes a decode that had to wait for it, and
// applies the message. replay is set when HandleSnapshot replays a kept
// frame: the frame was counted when it arrived.
func (f *Feed) handleBook(frame []byte, recvNs int64, replay bool) error {
	d := &f.dec
	m := &d.m
	sym := m.sym
	if sym == nil {
		if sym = f.lookup(m.instID); sym == nil {
			f.ctr.Unknown.Add(1)
			return ErrUnknownSymbol
		}
		m.sym = sym
	}
	if sym.ch != m.ch {
		if sym.ch != chNone || chanDepth[m.ch] > f.cfg.MaxDepth {
			f.ctr.Unknown.Add(1)
			return ErrChannel
		}
		sym.bind(m.ch)
	}
	if !replay {
		sym.Frames++
	}
	if !m.decoded {
		switch err := f.decodeLate(sym); err {
		case nil:
		case errNoExp:
			// An update for an instrument whose exponents are not known
			// yet: it cannot be scanned before a snapshot teaches them.
			if m.hasTs {
				sym.lastTs = max(sym.lastTs, m.ts)
			}
			sym.Dropped++
			f.hold(sym, frame)
			f.ctr.Ignored.Add(1)
			return nil
		default:
			return f.malformed(err, d.errPos())
		}
	}
	if m.hasTs {
		sym.lastTs = max(sym.lastTs, m.ts)
	}
	return f.apply(sym, frame, recvNs)
}

// decodeLate decodes the data of a book message that the first pass kept
// as raw text: the instrument was not known when its data was scanned (new,
// or without exponents yet), or "data" came before "arg". A snapshot of an
// instrument without exponents teaches them: the most decimals among its
// prices and among its sizes.
func (f *Feed) decodeLate(sym *Symbol) error {
	d := &f.dec
	if !sym.hasExp {
		if !d.m.isSnapshot() {
			// Read its ts (for the REST snapshot's floor); the levels wait.
			if d.decodeData(d.raw, d.rawOff, -1, -1) != nil {
				d.m.resetData()
			}
			return errNoExp
		}
		pd, qd, ok := d.learnDecimals(d.raw)
		if !ok {
			return d.err()
		}
		if err := d.decodeData(d.raw, d.rawOff, pd, qd); err != nil {
			return err
		}
		sym.setExp(pd, qd)
		return nil
	}
	return d.decodeData(d.raw, d.rawOff, sym.Inst.PriceExp, sym.Inst.QtyExp)
}

// malformed counts a frame that failed to decode and resyncs the book it
// can be attributed to (its update is lost).
func (f *Feed) malformed(cause error, pos int) error {
	f.ctr.DecodeErrors.Add(1)
	f.cause, f.causePos = cause, pos
	m := &f.dec.m
	sym := m.sym
	if sym == nil && m.ch != chNone && len(m.instID) > 0 {
		sym = f.find(m.instID)
	}
	if sym != nil && sym.Book != nil && sym.state == stLive && (sym.ch == m.ch || sym.ch == chNone) {
		f.failPublish(sym)
	}
	return ErrMalformed
}

type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
