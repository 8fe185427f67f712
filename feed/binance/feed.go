package binance

import (
	"fmt"
	"strings"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/market"
)

// Config configures a Feed.
type Config struct {
	// Venue is market.Binance, market.BinanceUS (spot rules) or
	// market.BinanceUSDM (futures rules: pu chaining).
	Venue market.Venue
	// Instruments are the symbols expected on this connection. When empty,
	// any symbol is accepted and its exponents are learned from the first
	// REST snapshot (the decimals Binance prints, which are fixed per
	// symbol): how replay reads captures without metadata.
	Instruments []market.Instrument
	MaxDepth    int // levels kept per side (default book.DefaultMaxDepth)
	TopN        int // levels published (default book.DefaultTopN)
	// MaxLevels bounds the levels of one message, snapshots included
	// (default 10000: Binance snapshots go to 5000 a side).
	MaxLevels int
	// MaxBuffered bounds the diff events buffered per symbol while a
	// snapshot is awaited (default 4096); past it the buffer is dropped and
	// a new snapshot requested.
	MaxBuffered int
	// OnTrade receives each trade of the trade stream (<symbol>@trade), on
	// the feed's goroutine; t is valid during the call only. Nil: trades
	// are counted as ignored.
	OnTrade func(sym *Symbol, t *market.Trade)
}

// syncState is where a symbol is in Binance's snapshot+diff procedure.
type syncState uint8

const (
	needSnapshot syncState = iota // buffering events; a snapshot is requested
	awaitFirst                    // snapshot loaded; the next event must straddle it
	inSync                        // applying events in sequence
)

// Symbol is one symbol's sync state and book. Owned by the Feed's goroutine
// except Book, whose reader methods any goroutine may call.
type Symbol struct {
	Name string // as Binance spells it, upper case: "BTCUSDT"
	Inst market.Instrument
	Book *book.Book // nil until the exponents are known

	state  syncState
	lastU  int64 // u of the last applied event (lastUpdateId after a snapshot)
	hasExp bool

	buf    []byte // arena of buffered event frames
	bufEnd []int  // end offset in buf of each buffered frame

	// Counters, written by the feed goroutine; read them from it, or
	// after it has stopped.
	Frames      uint64 // depth frames for this symbol
	Applied     uint64 // depth events applied
	StaleEvents uint64 // events dropped as older than the book
	Snapshots   uint64 // snapshots loaded
	TickerOK    uint64 // bookTicker checks that agreed with the book
	TickerFail  uint64 // bookTicker checks that did not
	TickerSeen  uint64 // bookTicker frames
	tickers     [8]ticker
	nTickers    int
}

// ticker is a bookTicker waiting for the depth event with its u.
type ticker struct {
	u          int64
	bid, ask   market.Price
	bidQ, askQ market.Qty
}

// Feed decodes one Binance connection's frames and keeps its books. See the
// package comment for ownership.
type Feed struct {
	cfg     Config
	futures bool
	dec     decoder
	syms    []*Symbol
	byName  map[string]*Symbol
	ctr     feed.Counters
	pending []string     // symbols that need a REST snapshot
	trade   market.Trade // the trade handed to OnTrade (a field: no allocation)
}

// New returns a Feed for cfg.
func New(cfg Config) (*Feed, error) {
	switch cfg.Venue {
	case market.Binance, market.BinanceUS, market.BinanceUSDM:
	default:
		return nil, fmt.Errorf("binance: venue %s is not a Binance venue", cfg.Venue)
	}
	if cfg.MaxLevels == 0 {
		cfg.MaxLevels = 10000
	}
	if cfg.MaxBuffered == 0 {
		cfg.MaxBuffered = 4096
	}
	f := &Feed{cfg: cfg, futures: cfg.Venue == market.BinanceUSDM, dec: newDecoder(cfg.MaxLevels), byName: map[string]*Symbol{}}
	f.dec.lookup = f.lookup
	for _, in := range cfg.Instruments {
		if err := in.Validate(); err != nil {
			return nil, err
		}
		if _, err := f.addSymbol(in.Symbol, &in); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *Feed) addSymbol(name string, in *market.Instrument) (*Symbol, error) {
	name = strings.ToUpper(name)
	if _, dup := f.byName[name]; dup {
		return nil, fmt.Errorf("binance: duplicate symbol %s", name)
	}
	sym := &Symbol{Name: name, bufEnd: make([]int, 0, 64)}
	if in != nil {
		sym.Inst = *in
		if err := f.makeBook(sym); err != nil {
			return nil, err
		}
	} else {
		sym.Inst = market.Instrument{Venue: f.cfg.Venue, Symbol: name}
	}
	f.syms = append(f.syms, sym)
	f.byName[name] = sym
	f.requestSnapshot(sym)
	return sym, nil
}

func (f *Feed) makeBook(sym *Symbol) error {
	b, err := book.New(book.Config{Venue: f.cfg.Venue, Symbol: sym.Name, MaxDepth: f.cfg.MaxDepth, TopN: f.cfg.TopN})
	if err != nil {
		return err
	}
	sym.Book = b
	sym.hasExp = true
	return nil
}

// lookup finds the symbol of a frame. Binance spells symbols upper case in
// events; the map lookup with string(b) does not allocate.
func (f *Feed) lookup(b []byte) *Symbol {
	if sym := f.byName[string(b)]; sym != nil {
		return sym
	}
	if len(f.cfg.Instruments) > 0 || len(b) == 0 || len(b) > 32 {
		return nil
	}
	sym, err := f.addSymbol(string(b), nil) // replay: learn symbols as they come (cold)
	if err != nil {
		return nil
	}
	return sym
}

// Symbols returns the feed's symbols in the order first seen.
func (f *Feed) Symbols() []*Symbol { return f.syms }

// Symbol returns the named symbol, or nil.
func (f *Feed) Symbol(name string) *Symbol { return f.byName[strings.ToUpper(name)] }

// Counters returns the feed's frame counters.
func (f *Feed) Counters() *feed.Counters { return &f.ctr }

// TakeSnapshotRequests appends to dst the symbols that need a REST snapshot
// since the last call, and clears the list.
func (f *Feed) TakeSnapshotRequests(dst []string) []string {
	dst = append(dst, f.pending...)
	f.pending = f.pending[:0]
	return dst
}

func (f *Feed) requestSnapshot(sym *Symbol) {
	sym.state = needSnapshot
	for _, p := range f.pending {
		if p == sym.Name {
			return
		}
	}
	f.pending = append(f.pending, sym.Name)
}

// Handle decodes one websocket frame received at recvNs (Unix ns) and
// applies it. It returns nil for frames it used or deliberately ignored, and
// a sentinel error (also counted) for a malformed frame or an unknown
// symbol. A gap is not an error of the frame: it is counted on the book and
// answered with a snapshot request.
func (f *Feed) Handle(frame []byte, recvNs int64) error {
	f.ctr.Frames.Add(1)
	f.ctr.Bytes.Add(uint64(len(frame)))
	if !f.dec.decode(frame) {
		f.ctr.DecodeErrors.Add(1)
		// A depth event of a known book that fails to decode is a lost
		// update: the book cannot be trusted until resynced.
		if sym := f.dec.m.sym; sym != nil && sym.Book != nil && sym.state != needSnapshot && string(f.dec.m.evType) == "depthUpdate" {
			f.gapNoCount(sym)
		}
		return ErrDecode
	}
	m := &f.dec.m
	switch m.kind {
	case kindDepth:
		sym := m.sym
		if sym == nil {
			sym = f.lookup(m.symbol)
		}
		if sym == nil {
			f.ctr.Unknown.Add(1)
			return ErrUnknownSymbol
		}
		sym.Frames++
		return f.onDepth(sym, recvNs)
	case kindTicker:
		sym := f.lookup(m.symbol)
		if sym == nil {
			f.ctr.Unknown.Add(1)
			return ErrUnknownSymbol
		}
		return f.onTicker(sym)
	case kindTrade:
		if f.cfg.OnTrade == nil {
			break
		}
		sym := m.sym
		if sym == nil {
			sym = f.lookup(m.symbol)
		}
		if sym == nil {
			f.ctr.Unknown.Add(1)
			return ErrUnknownSymbol
		}
		return f.onTrade(sym, recvNs)
	}
	f.ctr.Ignored.Add(1)
	return nil
}

// onTrade hands one decoded trade to Config.OnTrade. The aggressor is the
// seller when the buyer was the maker ("m": true).
func (f *Feed) onTrade(sym *Symbol, recvNs int64) error {
	if !sym.hasExp {
		f.ctr.Ignored.Add(1)
		return nil
	}
	m := &f.dec.m
	px, okP := f.dec.fixedAt(m.tp, sym.Inst.PriceExp)
	qty, okQ := f.dec.fixedAt(m.tq, sym.Inst.QtyExp)
	if !okP || !okQ || px <= 0 || qty <= 0 || m.tradeID < 0 {
		f.ctr.DecodeErrors.Add(1)
		return ErrNumber
	}
	f.trade = market.Trade{Price: market.Price(px), Qty: market.Qty(qty), Aggressor: market.Buy, ID: uint64(m.tradeID), Time: m.T * 1e6, RecvTime: recvNs}
	if m.buyerMaker {
		f.trade.Aggressor = market.Sell
	}
	f.cfg.OnTrade(sym, &f.trade)
	return nil
}

// onDepth runs one decoded depth event through the symbol's sync state.
func (f *Feed) onDepth(sym *Symbol, recvNs int64) error {
	m := &f.dec.m
	if m.u < m.U || (f.futures && !m.hasPu) {
		f.ctr.DecodeErrors.Add(1)
		return ErrDecode
	}
	switch sym.state {
	case needSnapshot:
		f.buffer(sym)
		return nil
	case awaitFirst:
		switch {
		case m.u < sym.lastU || (m.u == sym.lastU && !f.futures):
			// Spot drops u <= lastUpdateId; USD-M applies the event whose
			// u equals it (its rule is U <= lastUpdateId <= u).
			sym.StaleEvents++
			return nil
		case !f.straddles(sym, m):
			// The snapshot is older than the stream can continue from.
			f.gap(sym)
			f.buffer(sym)
			return nil
		}
	case inSync:
		if m.u <= sym.lastU {
			sym.StaleEvents++
			return nil
		}
		if !f.continues(sym, m) {
			f.gap(sym)
			f.buffer(sym)
			return nil
		}
	}
	return f.apply(sym, recvNs)
}

// straddles is Binance's first-event rule.
func (f *Feed) straddles(sym *Symbol, m *msg) bool {
	if f.futures {
		return m.U <= sym.lastU && sym.lastU <= m.u
	}
	return m.U <= sym.lastU+1 && sym.lastU+1 <= m.u
}

// continues is Binance's continuity rule.
func (f *Feed) continues(sym *Symbol, m *msg) bool {
	if f.futures {
		return m.pu == sym.lastU
	}
	return m.U == sym.lastU+1
}

// gap marks the book stale and asks for a snapshot.
func (f *Feed) gap(sym *Symbol) {
	if sym.Book != nil {
		sym.Book.NoteGap()
		sym.Book.Resync()
	}
	f.ctr.Resyncs.Add(1)
	sym.bufEnd = sym.bufEnd[:0]
	sym.buf = sym.buf[:0]
	f.requestSnapshot(sym)
}

// apply applies the decoded event's levels and commits the book.
func (f *Feed) apply(sym *Symbol, recvNs int64) error {
	m := &f.dec.m
	b := sym.Book
	if !f.setLevels(sym) {
		// The event is lost: the book cannot follow the stream any more.
		f.ctr.DecodeErrors.Add(1)
		f.gapNoCount(sym)
		return ErrNumber
	}
	sym.lastU = m.u
	sym.state = inSync
	sym.Applied++
	if b.State() != book.Live {
		b.SetState(book.Live)
	}
	if _, err := b.Commit(m.u, m.E*1e6, recvNs); err != nil {
		f.gapNoCount(sym) // crossed: Commit marked it stale and counted it
		return nil
	}
	f.checkTickers(sym)
	return nil
}

// setLevels validates every level of the decoded message and then applies
// them all to the symbol's book, so that a message with a bad level changes
// nothing. It reports false for such a message.
func (f *Feed) setLevels(sym *Symbol) bool {
	m := &f.dec.m
	if f.dec.resolve(sym.Inst.PriceExp, sym.Inst.QtyExp) >= 0 {
		return false
	}
	b := sym.Book
	for i, v := range m.vals {
		side := market.Bid
		if i >= m.nb {
			side = market.Ask
		}
		b.Set(side, market.Price(v[0]), market.Qty(v[1]))
	}
	return true
}

// gapNoCount resyncs without counting a sequence gap.
func (f *Feed) gapNoCount(sym *Symbol) {
	sym.Book.Resync()
	f.ctr.Resyncs.Add(1)
	sym.buf = sym.buf[:0]
	sym.bufEnd = sym.bufEnd[:0]
	f.requestSnapshot(sym)
}

// buffer copies the current frame into the symbol's arena for replay after
// the snapshot.
func (f *Feed) buffer(sym *Symbol) {
	if len(sym.bufEnd) >= f.cfg.MaxBuffered {
		sym.buf = sym.buf[:0]
		sym.bufEnd = sym.bufEnd[:0]
		f.ctr.Resyncs.Add(1)
		f.requestSnapshot(sym)
	}
	sym.buf = append(sym.buf, f.dec.m.data...)
	sym.bufEnd = append(sym.bufEnd, len(sym.buf))
}

// HandleSnapshot loads a REST depth snapshot (/api/v3/depth, /fapi/v1/depth)
// for symbol, received at recvNs, then replays the buffered events over it.
func (f *Feed) HandleSnapshot(symbol string, body []byte, recvNs int64) error {
	sym := f.byName[strings.ToUpper(symbol)]
	if sym == nil {
		if len(f.cfg.Instruments) > 0 {
			f.ctr.Unknown.Add(1)
			return fmt.Errorf("binance: snapshot for unknown symbol %q: %w", symbol, ErrUnknownSymbol)
		}
		var err error
		if sym, err = f.addSymbol(symbol, nil); err != nil {
			return err
		}
	}
	if !f.dec.decodeSnapshot(body, sym.Inst.PriceExp, sym.Inst.QtyExp, sym.hasExp) {
		f.ctr.DecodeErrors.Add(1)
		return fmt.Errorf("binance: %s snapshot: %s: %w", sym.Name, f.dec.s.ErrorString(), ErrDecode)
	}
	m := &f.dec.m
	if !sym.hasExp {
		pd, qd := 0, 0
		for _, r := range m.refs {
			pd = max(pd, market.CountDecimals(valueText(body, r.px)))
			qd = max(qd, market.CountDecimals(valueText(body, r.qty)))
		}
		sym.Inst.PriceExp, sym.Inst.QtyExp = pd, qd
		if err := f.makeBook(sym); err != nil {
			return err
		}
	}
	b := sym.Book
	b.Clear()
	if !f.setLevels(sym) {
		f.ctr.DecodeErrors.Add(1)
		b.SetState(book.Stale)
		f.requestSnapshot(sym)
		return fmt.Errorf("binance: %s snapshot: %w", sym.Name, ErrNumber)
	}
	sym.lastU = m.lastUpdateID
	sym.state = awaitFirst
	sym.Snapshots++
	b.SetState(book.Live)
	if _, err := b.Commit(m.lastUpdateID, m.E*1e6, recvNs); err != nil {
		f.gapNoCount(sym)
		return fmt.Errorf("binance: %s snapshot: %w", sym.Name, err)
	}
	for i := range f.pending {
		if f.pending[i] == sym.Name {
			f.pending = append(f.pending[:i], f.pending[i+1:]...)
			break
		}
	}
	return f.replayBuffered(sym, recvNs)
}

// replayBuffered runs the events buffered before the snapshot through the
// normal path. The arena is detached while it is replayed, since a gap
// during replay starts a new buffer.
func (f *Feed) replayBuffered(sym *Symbol, recvNs int64) error {
	buf, ends := sym.buf, sym.bufEnd
	sym.buf, sym.bufEnd = nil, nil
	start := 0
	for _, end := range ends {
		frame := buf[start:end]
		start = end
		if sym.state == needSnapshot {
			// A gap during replay: keep the rest for the next snapshot.
			sym.buf = append(sym.buf, frame...)
			sym.bufEnd = append(sym.bufEnd, len(sym.buf))
			continue
		}
		if !f.dec.decode(frame) || f.dec.m.kind != kindDepth {
			continue // it decoded when it was buffered
		}
		if err := f.onDepth(sym, recvNs); err != nil {
			return err
		}
	}
	// Hand the arena back for reuse when nothing was re-buffered.
	if sym.buf == nil {
		sym.buf, sym.bufEnd = buf[:0], ends[:0]
	}
	return nil
}

// valueText returns the text of the (quoted or bare) value at pos.
func valueText(b []byte, pos int32) []byte {
	i := int(pos)
	if i < len(b) && b[i] == '"' {
		i++
	}
	j := i
	for j < len(b) && b[j] != '"' && b[j] != ',' && b[j] != ']' {
		j++
	}
	return b[i:j]
}

// onTicker checks a bookTicker against the book when its u matches the last
// applied depth event, or holds it until that event arrives.
func (f *Feed) onTicker(sym *Symbol) error {
	sym.TickerSeen++
	if !sym.hasExp {
		return nil
	}
	m := &f.dec.m
	in := &sym.Inst
	var tk ticker
	var ok [4]bool
	var v [4]int64
	v[0], ok[0] = f.dec.fixedAt(m.tb, in.PriceExp)
	v[1], ok[1] = f.dec.fixedAt(m.tB, in.QtyExp)
	v[2], ok[2] = f.dec.fixedAt(m.ta, in.PriceExp)
	v[3], ok[3] = f.dec.fixedAt(m.tA, in.QtyExp)
	if !ok[0] || !ok[1] || !ok[2] || !ok[3] {
		f.ctr.DecodeErrors.Add(1)
		return ErrNumber
	}
	tk = ticker{u: m.u, bid: market.Price(v[0]), bidQ: market.Qty(v[1]), ask: market.Price(v[2]), askQ: market.Qty(v[3])}
	if sym.state == inSync && tk.u == sym.lastU {
		f.compare(sym, &tk)
		return nil
	}
	if tk.u > sym.lastU {
		// Depth events are batched: the event carrying this u may follow.
		if sym.nTickers == len(sym.tickers) {
			copy(sym.tickers[:], sym.tickers[1:])
			sym.nTickers--
		}
		sym.tickers[sym.nTickers] = tk
		sym.nTickers++
	}
	return nil
}

// checkTickers compares held bookTickers whose u the book has now reached.
func (f *Feed) checkTickers(sym *Symbol) {
	n := 0
	for i := 0; i < sym.nTickers; i++ {
		tk := &sym.tickers[i]
		switch {
		case tk.u == sym.lastU:
			f.compare(sym, tk)
		case tk.u > sym.lastU:
			sym.tickers[n] = *tk
			n++
		}
	}
	sym.nTickers = n
}

func (f *Feed) compare(sym *Symbol, tk *ticker) {
	bid, okb := sym.Book.Best(market.Bid)
	ask, oka := sym.Book.Best(market.Ask)
	if okb && oka && bid.Price == tk.bid && bid.Qty == tk.bidQ && ask.Price == tk.ask && ask.Qty == tk.askQ {
		sym.TickerOK++
	} else {
		sym.TickerFail++
	}
}
