package coinbase

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
	// level in it is bad (see the package comment). Counted in
	// DecodeErrors; the products whose events it carried are resynced.
	ErrMalformed = errors.New("coinbase: malformed frame")
	// ErrUnknownSymbol: an l2_data event for a product that is not
	// configured (or past Config.MaxSymbols). Counted in Unknown.
	ErrUnknownSymbol = errors.New("coinbase: unknown product")
	// ErrGap: the frame's sequence_num did not follow the previous one.
	// The frame itself was handled; every book of the connection is Stale
	// and queued for a resubscribe (TakeResyncs).
	ErrGap = errors.New("coinbase: sequence_num gap")
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultMaxLevels bounds the levels of one frame: about twice the
	// largest snapshot seen (BTC-USD, 46,000 levels, in the capture).
	DefaultMaxLevels  = 100_000
	DefaultMaxSymbols = 256
	maxMaxLevels      = 1 << 22
)

// Config configures a Feed for one Coinbase Advanced Trade connection.
type Config struct {
	// Instruments are the products subscribed on this connection; l2_data
	// events for other products count Unknown. Their exponents are the
	// books' (ParseProducts builds them from the REST products response).
	// When empty, every product is accepted and its exponents come from a
	// products response given to HandleProducts or are learned from its
	// snapshots (see the package comment): how replay reads captures.
	Instruments []market.Instrument
	// MaxDepth is the number of levels each book keeps per side (default
	// book.DefaultMaxDepth). Coinbase sends the whole book; levels past
	// MaxDepth from the best are dropped, so the replica is exact near the
	// top and approximate in its deepest levels. Set it above the venue's
	// depth for an exact full book.
	MaxDepth int
	// TopN is the number of levels per side each book publishes to
	// readers (default book.DefaultTopN).
	TopN int
	// MaxLevels bounds the levels of one frame, snapshots included
	// (default DefaultMaxLevels); the decoder scratch is sized for it at
	// New. A frame with more is malformed.
	MaxLevels int
	// MaxSymbols bounds the products a connection without Instruments
	// creates books for (default DefaultMaxSymbols); events for more count
	// Unknown.
	MaxSymbols int
}

// Validate reports what is wrong with c after defaults.
func (c *Config) Validate() error {
	if c.MaxDepth < 0 || c.MaxDepth > 1<<20 {
		return fmt.Errorf("coinbase: max depth %d out of range 0..%d", c.MaxDepth, 1<<20)
	}
	if c.TopN < 0 || c.TopN > book.MaxTop {
		return fmt.Errorf("coinbase: top-n %d out of range 0..%d", c.TopN, book.MaxTop)
	}
	if c.MaxLevels < 1 || c.MaxLevels > maxMaxLevels {
		return fmt.Errorf("coinbase: max levels %d out of range 1..%d", c.MaxLevels, maxMaxLevels)
	}
	if c.MaxSymbols < 1 {
		return fmt.Errorf("coinbase: max symbols %d, want at least 1", c.MaxSymbols)
	}
	seen := make(map[string]bool, len(c.Instruments))
	for i := range c.Instruments {
		in := &c.Instruments[i]
		if err := in.Validate(); err != nil {
			return fmt.Errorf("coinbase: %w", err)
		}
		if in.Venue != market.Coinbase {
			return fmt.Errorf("coinbase: instrument %s is for venue %s", in.Symbol, in.Venue)
		}
		if seen[in.Symbol] {
			return fmt.Errorf("coinbase: instrument %s configured twice", in.Symbol)
		}
		seen[in.Symbol] = true
	}
	return nil
}

// ConnStats are a connection's sequence figures.
type ConnStats struct {
	// FirstSeq and LastSeq are the sequence_num of the first and the last
	// sequenced frame since New or Reset; -1 before one.
	FirstSeq, LastSeq int64
	// Sequenced counts the frames that carried a sequence_num since New or
	// Reset: without gaps, LastSeq-FirstSeq+1.
	Sequenced uint64
	// Gaps counts the discontinuities found since New.
	Gaps uint64
	// L2 counts the l2_data frames decoded since New.
	L2 uint64
}

// Feed decodes the frames of one Coinbase Advanced Trade connection and
// keeps one book per product in sync with its level2 channel: snapshot,
// updates, sequence_num continuity over every frame of the connection,
// resubscribe on failure. It is owned by the connection's goroutine (see
// the package comment). A Feed must not be copied.
type Feed struct {
	_   noCopy
	cfg Config
	dec decoder
	tab symtab
	ctr feed.Counters

	configured bool                         // cfg.Instruments given: no other products
	products   map[string]market.Instrument // from HandleProducts (unconfigured only)

	haveSeq bool
	conn    ConnStats
	resync  []*Symbol // products with a resubscribe requested; cap ≥ len(tab.list)
	fexp    []symExp  // exponents set by snapshots in the frame being handled

	cause    error // cause of the last ErrMalformed
	causePos int
	recvNs   int64 // receive time of the frame being handled
}

// New returns a Feed for cfg. It allocates the decoder scratch and the
// books of the configured instruments.
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
	cfg.Instruments = append([]market.Instrument(nil), cfg.Instruments...)
	f := &Feed{
		cfg:        cfg,
		configured: len(cfg.Instruments) > 0,
		tab:        symtab{byName: make(map[string]*Symbol)},
		conn:       ConnStats{FirstSeq: -1, LastSeq: -1},
	}
	f.dec = newDecoder(cfg.MaxLevels, &f.tab)
	f.fexp = make([]symExp, 0, maxEvents)
	for i := range cfg.Instruments {
		if _, err := f.newSymbol(cfg.Instruments[i].Symbol, &cfg.Instruments[i]); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// newSymbol allocates a product's symbol and book: cold, once per product.
func (f *Feed) newSymbol(name string, in *market.Instrument) (*Symbol, error) {
	b, err := book.New(book.Config{Venue: market.Coinbase, Symbol: name, MaxDepth: f.cfg.MaxDepth, TopN: f.cfg.TopN})
	if err != nil {
		return nil, err
	}
	sym := &Symbol{Name: name, Book: b, Inst: market.Instrument{Venue: market.Coinbase, Symbol: name}}
	if in != nil {
		sym.Inst, sym.hasExp = *in, true
	}
	f.tab.list = append(f.tab.list, sym)
	f.tab.byName[name] = sym
	if cap(f.resync) < len(f.tab.list) {
		r := make([]*Symbol, len(f.resync), 2*len(f.tab.list))
		copy(r, f.resync)
		f.resync = r
	}
	return sym, nil
}

// symbol returns the symbol of product name, creating it when the feed
// accepts any product; nil when the product is unknown or past MaxSymbols.
func (f *Feed) symbol(name []byte) *Symbol {
	if sym := f.tab.find(name); sym != nil {
		return sym
	}
	if f.configured || len(f.tab.list) >= f.cfg.MaxSymbols || len(name) == 0 || len(name) > 64 {
		return nil
	}
	var in *market.Instrument
	if p, ok := f.products[string(name)]; ok {
		in = &p
	}
	sym, err := f.newSymbol(string(name), in)
	if err != nil {
		return nil
	}
	return sym
}

// Counters returns the connection's frame counters; any goroutine may read
// them.
func (f *Feed) Counters() *feed.Counters { return &f.ctr }

// Symbols returns the feed's products: the configured ones, then those
// seen, in order of first sight. The slice is borrowed: it is valid until
// the next Handle, which may append to it.
func (f *Feed) Symbols() []*Symbol { return f.tab.list }

// Symbol returns the product named name ("BTC-USD"), or nil.
func (f *Feed) Symbol(name string) *Symbol { return f.tab.byName[name] }

// Conn returns the connection's sequence figures.
func (f *Feed) Conn() ConnStats { return f.conn }

// LastError returns the cause of the last ErrMalformed Handle returned (a
// jscan, market or coinbase error) and the byte offset in the frame where
// it was found, for logs on a cold path.
func (f *Feed) LastError() (cause error, offset int) { return f.cause, f.causePos }

// TakeResyncs appends to dst the products whose books need a fresh
// snapshot (after a sequence gap, a bad frame, a crossed book or an update
// before any snapshot) and clears the requests. The connection layer
// unsubscribes and subscribes level2 for them (AppendSubscribe), or
// reconnects and calls Reset. A product whose snapshot arrived since the
// request is not returned. It does not allocate when dst has room.
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

// Reset starts a new connection: the sequence restarts, pending resync
// requests are dropped (the connection layer subscribes every product
// again), and every book is Stale, counting a resync, until its snapshot
// arrives.
func (f *Feed) Reset() {
	f.haveSeq = false
	f.conn.FirstSeq, f.conn.LastSeq, f.conn.Sequenced = -1, -1, 0
	f.TakeResyncs(nil)
	for _, sym := range f.tab.list {
		if sym.state != stSyncing {
			sym.state = stStale
			sym.Book.Resync() // publishes the Stale state at once
		}
	}
}

// HandleProducts takes a REST products response (see ParseProducts) on a
// feed without configured Instruments: products seen later take their
// exponents from it, and a product whose exponents were learned adopts it
// at its next snapshot. With Instruments configured it only validates the
// response: the configuration wins. Cold path.
func (f *Feed) HandleProducts(data []byte) error {
	ins, err := ParseProducts(data)
	if err != nil {
		return err
	}
	if f.configured {
		return nil
	}
	if f.products == nil {
		f.products = make(map[string]market.Instrument, len(ins))
	}
	for _, in := range ins {
		f.products[in.Symbol] = in
		sym := f.tab.byName[in.Symbol]
		switch {
		case sym == nil:
		case !sym.hasExp:
			sym.Inst, sym.hasExp = in, true
		case sym.learned:
			sym.next = &in
		}
	}
	return nil
}

// Handle decodes one frame received at recvNs (Unix ns) and applies it: it
// never panics and, once every product's book exists, it does not
// allocate. It counts the frame in Counters and returns nil or one of
// ErrMalformed, ErrGap, book.ErrCrossed or ErrUnknownSymbol (in that order
// of precedence). Bad input never leaves a book Live with a message
// half-applied (see the package comment).
func (f *Feed) Handle(frame []byte, recvNs int64) error {
	f.ctr.Frames.Add(1)
	f.ctr.Bytes.Add(uint64(len(frame)))
	f.recvNs = recvNs
	d := &f.dec
	if err := d.decode(frame); err != nil {
		return f.malformed(err, d.s.ErrPos())
	}
	m := &d.m
	var ret error
	if m.hasSeq && !f.sequence(m.seq) {
		ret = ErrGap
	}
	if m.channel != chL2 {
		f.ctr.Ignored.Add(1)
		return ret
	}
	f.conn.L2++

	// Resolve every event before touching any book: a frame is applied
	// whole or not at all.
	f.fexp = f.fexp[:0]
	unknown, used := false, false
	for i := range m.events {
		e := &m.events[i]
		sym := e.sym
		if sym == nil {
			if sym = f.symbol(e.product); sym == nil {
				unknown = true
				continue
			}
			e.sym = sym
		}
		pe, qe, known := f.frameExp(sym)
		switch {
		case e.snapshot && (!sym.hasExp || sym.learned):
			// This snapshot sets (or widens) the exponents.
			if pe, qe = f.snapshotExp(sym, e, pe, qe, known); pe > market.MaxExp || qe > market.MaxExp {
				return f.malformedFrame(errDecimals, 0)
			}
			f.fexp = append(f.fexp, symExp{sym, pe, qe})
		case !known:
			continue // an update before any snapshot: dropped below
		}
		deferred := !e.direct
		if err := d.resolveAt(e, pe, qe); err != nil {
			if deferred && (sym.learned || !sym.hasExp) {
				sym.wantPD, sym.wantQD = max(sym.wantPD, e.pdec), max(sym.wantQD, e.qdec)
			}
			return f.malformedFrame(err, 0)
		}
	}

	// Apply the events in order.
	for i := range m.events {
		e := &m.events[i]
		sym := e.sym
		if sym == nil {
			continue
		}
		sym.Frames++
		if !e.snapshot && sym.state != stLive {
			sym.Dropped++
			if sym.state == stSyncing {
				f.fail(sym) // an update before any snapshot: ask for one
			}
			continue
		}
		used = true
		if err := f.apply(e, recvNs); err != nil && ret == nil {
			ret = err
		}
	}
	switch {
	case unknown:
		f.ctr.Unknown.Add(1)
		if ret == nil {
			ret = ErrUnknownSymbol
		}
	case !used:
		f.ctr.Ignored.Add(1) // updates for books waiting for a snapshot
	}
	return ret
}

// symExp records the exponents a snapshot earlier in the frame being
// handled gives a product, for the events after it.
type symExp struct {
	sym    *Symbol
	pe, qe int
}

// frameExp returns the exponents sym's events are at, at this point of the
// frame being handled, and whether they are known.
func (f *Feed) frameExp(sym *Symbol) (pe, qe int, known bool) {
	for i := len(f.fexp) - 1; i >= 0; i-- {
		if x := &f.fexp[i]; x.sym == sym {
			return x.pe, x.qe, true
		}
	}
	return sym.Inst.PriceExp, sym.Inst.QtyExp, sym.hasExp
}

// snapshotExp returns the exponents a snapshot of a product without fixed
// exponents loads its book at: those of a products entry adopted now, or
// the learned ones (pe, qe when known) widened to the decimals the
// snapshot and any rejected value needed. Such a snapshot is always
// decoded deferred, so e.pdec and e.qdec are set.
func (f *Feed) snapshotExp(sym *Symbol, e *event, pe, qe int, known bool) (int, int) {
	if sym.next != nil {
		return sym.next.PriceExp, sym.next.QtyExp
	}
	npe, nqe := max(e.pdec, sym.wantPD), max(e.qdec, sym.wantQD)
	if known {
		npe, nqe = max(npe, pe), max(nqe, qe)
	}
	return npe, nqe
}

// apply applies one resolved event to its product's book and commits it.
func (f *Feed) apply(e *event, recvNs int64) error {
	m := &f.dec.m
	sym := e.sym
	b := sym.Book
	if e.snapshot {
		b.Clear()
		if sym.next != nil {
			sym.Inst, sym.next, sym.learned = *sym.next, nil, false
		} else if !sym.hasExp || sym.learned {
			sym.learned = true
			sym.Inst.PriceExp, sym.Inst.QtyExp = e.pexp, e.qexp
		}
		sym.hasExp = true
		sym.wantPD, sym.wantQD = 0, 0
	}
	for _, lv := range m.levels[e.lo:e.hi] {
		b.Set(lv.side, market.Price(lv.px), market.Qty(lv.qty)) // validated: cannot fail
	}
	if e.snapshot {
		sym.Snapshots++
		sym.state = stLive
		sym.pending = false
		b.SetState(book.Live)
	} else {
		sym.Updates++
	}
	if _, err := b.Commit(m.seq, m.exch, recvNs); err != nil {
		f.fail(sym) // crossed: Commit has marked the book Stale
		return err
	}
	return nil
}

// sequence checks seq against the previous sequence_num of the connection
// and reports whether it continues it; on a gap every book is resynced.
func (f *Feed) sequence(seq int64) bool {
	c := &f.conn
	ok := !f.haveSeq || seq == c.LastSeq+1
	if !f.haveSeq {
		c.FirstSeq = seq
		f.haveSeq = true
	}
	c.LastSeq = seq
	c.Sequenced++
	if !ok {
		c.Gaps++
		for _, sym := range f.tab.list {
			sym.Book.NoteGap()
			f.fail(sym)
		}
	}
	return ok
}

// fail takes sym out of sync: its book goes Stale (counted as a resync in
// the book's stats and in Counters.Resyncs) and publishes that state with a
// Commit at its last sequence (counted in the book's Stats.Messages),
// further updates are dropped until a snapshot arrives, and a resubscribe
// is requested unless one is already pending.
func (f *Feed) fail(sym *Symbol) {
	if sym.pending {
		sym.state = stStale
		return // already failed and waiting
	}
	sym.state = stStale
	sym.pending = true
	sym.Book.Resync() // publishes the Stale state at once
	f.ctr.Resyncs.Add(1)
	if !sym.queued {
		sym.queued = true
		f.resync = append(f.resync, sym) // cap ≥ len(tab.list): no allocation
	}
}

// malformed handles a frame that failed to decode: it counts it, checks its
// sequence_num if that was read, and resyncs the products whose events it
// may have carried. A frame of another channel touches no book. An l2_data
// frame resyncs the products its events named, or every product when an
// event's product was not read. A frame whose channel was not read resyncs
// every product if its sequence_num was read (it may have been book data);
// if not, the next sequenced frame shows the gap.
func (f *Feed) malformed(cause error, pos int) error {
	m := &f.dec.m
	if m.hasSeq {
		f.sequence(m.seq)
	}
	if m.channel == chOther || m.channel == chNone && !m.hasSeq {
		f.ctr.DecodeErrors.Add(1)
		f.cause, f.causePos = cause, pos
		return ErrMalformed
	}
	if cause == market.ErrPrecision {
		f.learnDecimals()
	}
	return f.malformedFrame(cause, pos)
}

// malformedFrame counts an l2_data frame that cannot be applied and
// resyncs the products of its events (all products when one is not known).
func (f *Feed) malformedFrame(cause error, pos int) error {
	f.ctr.DecodeErrors.Add(1)
	f.cause, f.causePos = cause, pos
	m := &f.dec.m
	all := len(m.events) == 0
	for i := range m.events {
		if m.events[i].product == nil {
			all = true
		}
	}
	if all {
		for _, sym := range f.tab.list {
			f.fail(sym)
		}
		return ErrMalformed
	}
	for i := range m.events {
		if sym := f.tab.find(m.events[i].product); sym != nil {
			f.fail(sym)
		}
	}
	return ErrMalformed
}

// learnDecimals re-decodes a frame rejected for a number finer than its
// product's exponents with every event deferred, and records on each
// product with learned exponents the decimals its values needed, so that
// the next snapshot widens the exponents. Cold: it runs once per such
// frame.
func (f *Feed) learnDecimals() {
	d := &f.dec
	frame := d.m.data
	d.deferAll = true
	d.general(frame)
	d.deferAll = false
	for i := range d.m.events {
		e := &d.m.events[i]
		if sym := f.tab.find(e.product); sym != nil && sym.learned {
			sym.wantPD, sym.wantQD = max(sym.wantPD, e.pdec), max(sym.wantQD, e.qdec)
		}
	}
}

type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
