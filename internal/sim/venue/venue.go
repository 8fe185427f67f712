package venue

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"arbmm/internal/market"
	"arbmm/internal/sim/match"
)

// PairConfig is one pair a venue lists. Exponents are decimal places (as in
// market.Instrument and the engine's config); the amounts are mantissas at
// those places.
type PairConfig struct {
	Symbol           string      // the venue's spelling on the wire: "BTCUSDT", "BTC/USD"
	Pair             market.Pair // canonical pair
	PriceExp, QtyExp int         // decimal places of prices and quantities
	Tick, Step       int64       // price and quantity increments (mantissas); 0 → 1
	MinQty           int64       // qty mantissa; 0 = none
	MinNotional      int64       // at PriceExp+QtyExp decimals of the quote asset; 0 = none
	MakerFeeBps      int64
	TakerFeeBps      int64
}

// Config configures a Venue.
type Config struct {
	// Name labels the venue in errors and logs ("binance", "kraken").
	Name string
	// Pairs are the pairs listed, each symbol once. At least one.
	Pairs []PairConfig
	// FeeMode is how fees are charged: match.FeeOnReceived (Binance) or
	// match.FeeInQuote (Kraken).
	FeeMode match.FeeMode
	// STP is the self-trade prevention of requests that name none; zero is
	// match.STPExpireMaker (Binance's default).
	STP match.STPMode
	// Clock is the venue's time; nil is time.Now. Tests set it to check
	// timestamp windows against fixed documentation examples.
	Clock func() time.Time
}

// Change is one book level change: the new aggregate quantity at a price (0:
// the level is gone).
type Change struct {
	Side  market.Side
	Price int64
	Qty   int64
}

// MDSink receives a pair's book changes. Publish is called with the venue
// lock held, once per batch of changes (one operation, or one market-model
// step), with the update ids the batch covers: first = the previous batch's
// last + 1, last = first + raw changes - 1 (coalesced changes keep their ids,
// as Binance's U/u do). changes is the batch coalesced to one entry per
// level, in first-change order, and is valid only during the call. The book
// (p.Levels) already holds the batch.
type MDSink interface {
	Publish(p *Pair, first, last uint64, changes []Change, now time.Time)
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventOrder is an order's acceptance or change: a fill (Fill set),
	// a cancel, an expiry.
	EventOrder EventKind = iota
	// EventBalance is an account's new free and locked amount of an asset.
	EventBalance
)

// Event is what a private stream reports to an account. Events of one
// operation are delivered together, in the order they happened, then the
// balance changes of that operation (one per account and asset).
type Event struct {
	Kind    EventKind
	Account match.AccountID
	Time    time.Time

	// EventOrder
	Pair    *Pair
	Order   match.Order // the order after the change (a copy)
	HasFill bool
	Fill    match.Fill
	Maker   bool // the order was the resting side of Fill

	// EventBalance
	Asset        match.AssetID
	Free, Locked int64
}

// PrivateSink receives the events of tracked accounts (those an API key
// trades for). Deliver is called with the venue lock held; events is valid
// only during the call.
type PrivateSink interface {
	Deliver(events []Event)
}

// Venue is one simulated exchange. Safe for concurrent use.
type Venue struct {
	mu       sync.Mutex
	cfg      Config
	clock    func() time.Time
	ledger   *match.Ledger
	ids      match.IDs
	pairs    []*Pair
	bySymbol map[string]*Pair
	tracked  map[match.AccountID]bool
	priv     []PrivateSink
	events   []Event
	touched  []balanceKey // balance changes of tracked accounts in this operation
	now      time.Time    // time of the operation in progress
	tx       Tx           // the handle Do passes (one, reused: no allocation)
	scratch  []*match.Order
}

type balanceKey struct {
	acct  match.AccountID
	asset match.AssetID
}

// Pair is one listed pair: its matching engine and market-data state. Its
// fields are read-only after New; its methods that touch the book need the
// venue lock (they are called from sinks and from Venue.Do).
type Pair struct {
	v           *Venue
	Index       int
	Cfg         PairConfig
	Base, Quote match.AssetID
	Book        *match.Book

	updateID uint64   // last update id published
	raw      uint64   // raw changes since the last publish
	pending  []Change // coalesced changes since the last publish
	at       map[levelKey]int
	md       []MDSink
}

type levelKey struct {
	side  market.Side
	price int64
}

// New builds a venue with an empty book per pair and an empty ledger whose
// assets are the pairs' bases and quotes, each at the finest exponent its
// pairs need (a quote at price+qty decimals, a base at qty decimals), so
// every fill converts exactly.
func New(cfg Config) (*Venue, error) {
	if len(cfg.Pairs) == 0 {
		return nil, fmt.Errorf("venue %s: no pairs", cfg.Name)
	}
	dec := map[string]int{}
	var names []string
	need := func(asset string, d int) {
		if old, ok := dec[asset]; !ok {
			names = append(names, asset)
			dec[asset] = d
		} else if d > old {
			dec[asset] = d
		}
	}
	for _, pc := range cfg.Pairs {
		if pc.Pair.IsZero() || pc.Symbol == "" {
			return nil, fmt.Errorf("venue %s: pair %q/%q: symbol and pair required", cfg.Name, pc.Symbol, pc.Pair)
		}
		if pc.PriceExp < 0 || pc.QtyExp < 0 || pc.PriceExp+pc.QtyExp > market.MaxExp {
			return nil, fmt.Errorf("venue %s: %s: exponents %d+%d out of range", cfg.Name, pc.Symbol, pc.PriceExp, pc.QtyExp)
		}
		need(pc.Pair.Base, pc.QtyExp)
		need(pc.Pair.Quote, pc.PriceExp+pc.QtyExp)
	}
	sort.Strings(names)
	assets := make([]match.Asset, len(names))
	for i, n := range names {
		assets[i] = match.Asset{Name: n, Exp: int8(-dec[n])}
	}
	ledger, err := match.NewLedger(assets)
	if err != nil {
		return nil, fmt.Errorf("venue %s: %w", cfg.Name, err)
	}
	v := &Venue{
		cfg:      cfg,
		clock:    cfg.Clock,
		ledger:   ledger,
		bySymbol: map[string]*Pair{},
		tracked:  map[match.AccountID]bool{},
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	ledger.OnChange(v.balanceChanged)
	stp := cfg.STP
	if stp == match.STPDefault {
		stp = match.STPExpireMaker
	}
	for i, pc := range cfg.Pairs {
		if _, dup := v.bySymbol[pc.Symbol]; dup {
			return nil, fmt.Errorf("venue %s: symbol %s listed twice", cfg.Name, pc.Symbol)
		}
		p := &Pair{v: v, Index: i, Cfg: pc, at: map[levelKey]int{}}
		p.Base, _ = ledger.Asset(pc.Pair.Base)
		p.Quote, _ = ledger.Asset(pc.Pair.Quote)
		p.Book, err = match.NewBook(match.BookConfig{
			Symbol:      pc.Symbol,
			Base:        p.Base,
			Quote:       p.Quote,
			PriceExp:    int8(-pc.PriceExp),
			QtyExp:      int8(-pc.QtyExp),
			Tick:        pc.Tick,
			Step:        pc.Step,
			MinQty:      pc.MinQty,
			MinNotional: pc.MinNotional,
			MakerFeeBps: pc.MakerFeeBps,
			TakerFeeBps: pc.TakerFeeBps,
			FeeMode:     cfg.FeeMode,
			STP:         stp,
			IDs:         &v.ids,
		}, ledger, (*pairListener)(p))
		if err != nil {
			return nil, fmt.Errorf("venue %s: %s: %w", cfg.Name, pc.Symbol, err)
		}
		v.pairs = append(v.pairs, p)
		v.bySymbol[pc.Symbol] = p
	}
	return v, nil
}

// Name is the venue's config name.
func (v *Venue) Name() string { return v.cfg.Name }

// Now is the venue's clock.
func (v *Venue) Now() time.Time { return v.clock() }

// Pairs lists the venue's pairs in config order.
func (v *Venue) Pairs() []*Pair { return v.pairs }

// Pair returns the pair with the venue symbol sym.
func (v *Venue) Pair(sym string) (*Pair, bool) {
	p, ok := v.bySymbol[sym]
	return p, ok
}

// PairBytes is Pair for a symbol in a byte slice, without allocating.
func (v *Venue) PairBytes(sym []byte) (*Pair, bool) {
	p, ok := v.bySymbol[string(sym)]
	return p, ok
}

// Ledger is the venue's ledger; use it only inside Do.
func (v *Venue) Ledger() *match.Ledger { return v.ledger }

// AddMDSink registers a market-data sink for every pair.
func (v *Venue) AddMDSink(s MDSink) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, p := range v.pairs {
		p.md = append(p.md, s)
	}
}

// AddPrivateSink registers a sink for the events of tracked accounts.
func (v *Venue) AddPrivateSink(s PrivateSink) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.priv = append(v.priv, s)
}

// Track makes an account's orders queryable after they close and its
// events delivered to the private sinks: the accounts API keys trade for.
// Background-flow accounts stay untracked.
func (v *Venue) Track(a match.AccountID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.tracked[a] = true
	for _, p := range v.pairs {
		p.Book.Track(a)
	}
}

// Deposit credits an account (set-up and tests; the assets appear from
// outside the venue).
func (v *Venue) Deposit(a match.AccountID, asset string, amount int64) error {
	var err error
	v.Do(func(*Tx) {
		id, ok := v.ledger.Asset(asset)
		if !ok {
			err = fmt.Errorf("venue %s: no asset %s", v.cfg.Name, asset)
			return
		}
		err = v.ledger.Deposit(a, id, amount)
	})
	return err
}

// Tx is the handle of an operation in progress: Venue.Do's callback uses it
// while the venue lock is held. It must not be kept.
type Tx struct{ v *Venue }

// Now is the time of the operation.
func (tx *Tx) Now() time.Time { return tx.v.now }

// Do runs fn with the venue lock held, then publishes what fn changed:
// book changes to the market-data sinks (each pair's batch), then events to
// the private sinks. Every operation of the protocol front ends and the
// market model goes through Do, so sinks see one total order.
func (v *Venue) Do(fn func(tx *Tx)) {
	v.mu.Lock()
	v.now = v.clock()
	v.tx.v = v
	fn(&v.tx)
	v.flush()
	v.mu.Unlock()
}

// DoHold is Do without the publication of book changes: they accumulate,
// and Flush publishes them later as one batch (a venue that batches its
// depth stream, e.g. Binance's @100ms). Private events are delivered at
// once either way.
func (v *Venue) DoHold(fn func(tx *Tx)) {
	v.mu.Lock()
	v.now = v.clock()
	v.tx.v = v
	fn(&v.tx)
	v.flushPrivate()
	v.mu.Unlock()
}

// Flush publishes every pair's pending book changes.
func (v *Venue) Flush() {
	v.mu.Lock()
	v.now = v.clock()
	v.flush()
	v.mu.Unlock()
}

func (v *Venue) flush() {
	for _, p := range v.pairs {
		p.publish(v.now)
	}
	v.flushPrivate()
}

func (v *Venue) flushPrivate() {
	for _, k := range v.touched {
		free, locked := v.ledger.Balance(k.acct, k.asset)
		v.events = append(v.events, Event{Kind: EventBalance, Account: k.acct, Time: v.now, Asset: k.asset, Free: free, Locked: locked})
	}
	v.touched = v.touched[:0]
	if len(v.events) == 0 {
		return
	}
	for _, s := range v.priv {
		s.Deliver(v.events)
	}
	clear(v.events) // drop the ClientID strings
	v.events = v.events[:0]
}

// publish hands the pair's pending changes to its sinks.
func (p *Pair) publish(now time.Time) {
	if p.raw == 0 {
		return
	}
	first := p.updateID + 1
	p.updateID += p.raw
	p.raw = 0 // before the sinks: UpdateID is last while they run
	for _, s := range p.md {
		s.Publish(p, first, p.updateID, p.pending, now)
	}
	p.pending = p.pending[:0]
	clear(p.at)
}

// Flush publishes the pair's pending changes now (before a snapshot is
// served to a new subscriber, so that the snapshot and the stream agree).
// Needs the venue lock.
func (p *Pair) Flush() { p.publish(p.v.now) }

// UpdateID is the id of the last change applied to the book, published or
// not: the lastUpdateId of a snapshot taken now. Needs the venue lock.
func (p *Pair) UpdateID() uint64 { return p.updateID + p.raw }

// PublishedID is the last update id handed to the sinks. Needs the venue lock.
func (p *Pair) PublishedID() uint64 { return p.updateID }

// Venue is the pair's venue.
func (p *Pair) Venue() *Venue { return p.v }

// Snapshot appends the book's top depth levels per side (best first) to
// bids and asks, with the update id they include, taking the venue lock.
func (p *Pair) Snapshot(depth int, bids, asks []match.Level) (uint64, []match.Level, []match.Level) {
	p.v.mu.Lock()
	defer p.v.mu.Unlock()
	bids = p.Book.Levels(market.Bid, depth, bids)
	asks = p.Book.Levels(market.Ask, depth, asks)
	return p.UpdateID(), bids, asks
}

// pairListener is the pair as the matching engine's listener.
type pairListener Pair

func (l *pairListener) Level(side market.Side, price, qty int64) {
	p := (*Pair)(l)
	p.raw++
	k := levelKey{side, price}
	if i, ok := p.at[k]; ok {
		p.pending[i].Qty = qty
		return
	}
	p.at[k] = len(p.pending)
	p.pending = append(p.pending, Change{Side: side, Price: price, Qty: qty})
}

func (l *pairListener) Trade(f *match.Fill, maker, taker *match.Order) {
	p := (*Pair)(l)
	v := p.v
	if v.tracked[maker.Account] {
		v.events = append(v.events, Event{Kind: EventOrder, Account: maker.Account, Time: v.now, Pair: p, Order: *maker, HasFill: true, Fill: *f, Maker: true})
	}
	if v.tracked[taker.Account] {
		v.events = append(v.events, Event{Kind: EventOrder, Account: taker.Account, Time: v.now, Pair: p, Order: *taker, HasFill: true, Fill: *f})
	}
}

func (l *pairListener) Order(o *match.Order) {
	p := (*Pair)(l)
	v := p.v
	if !v.tracked[o.Account] {
		return
	}
	// A fill's Trade event already carries the order's new state; Order
	// after it adds nothing unless the status changed without a fill
	// (accepted, canceled, expired).
	// The matching engine reports a fill as Trade, then Order(taker), then
	// Order(maker): look back over the fill's two events.
	for i := len(v.events) - 1; i >= 0 && i >= len(v.events)-2; i-- {
		e := &v.events[i]
		if e.Kind == EventOrder && e.HasFill && e.Order.ID == o.ID && e.Order.Status == o.Status && e.Order.Filled == o.Filled {
			return
		}
	}
	v.events = append(v.events, Event{Kind: EventOrder, Account: o.Account, Time: v.now, Pair: p, Order: *o})
}

func (v *Venue) balanceChanged(a match.AccountID, asset match.AssetID) {
	if !v.tracked[a] {
		return
	}
	k := balanceKey{a, asset}
	for _, t := range v.touched {
		if t == k {
			return
		}
	}
	v.touched = append(v.touched, k)
}

// OrderFaults are the faults a venue's order entry injects.
type OrderFaults struct {
	// Reject is the probability that a new order is refused before it
	// reaches the book (the venue's "busy" error).
	Reject float64 `yaml:"reject"`
	// LostAck is the probability that a new order is placed but its
	// response never arrives (REST: the connection is closed; websocket:
	// no answer), so the client must query it.
	LostAck float64 `yaml:"lost_ack"`
}

// Validate reports a probability outside [0, 1].
func (f OrderFaults) Validate() error {
	if !(f.Reject >= 0 && f.Reject <= 1 && f.LostAck >= 0 && f.LostAck <= 1) {
		return errors.New("venue: order fault probabilities must be within [0, 1]")
	}
	return nil
}

// Errors of the order operations, beside match's.
var ErrUnknownSymbol = errors.New("venue: unknown symbol")

// Submit places an order on p. The returned order is a copy in its state
// after matching.
func (tx *Tx) Submit(p *Pair, r match.Request) (match.Order, error) {
	o, err := p.Book.Submit(r, tx.v.now.UnixNano())
	if err != nil {
		return match.Order{}, err
	}
	return *o, nil
}

// Cancel cancels account a's open order id (or, when id is 0, the one
// with clientID) on p.
func (tx *Tx) Cancel(p *Pair, a match.AccountID, id uint64, clientID string) (match.Order, error) {
	var o *match.Order
	var err error
	if id != 0 {
		o, err = p.Book.Cancel(a, id, tx.v.now.UnixNano())
	} else {
		o, err = p.Book.CancelByClientID(a, clientID, tx.v.now.UnixNano())
	}
	if err != nil {
		return match.Order{}, err
	}
	return *o, nil
}

// CancelAll cancels account a's open orders on p (every pair when p is
// nil) and appends copies of them to dst.
func (tx *Tx) CancelAll(p *Pair, a match.AccountID, dst []match.Order) []match.Order {
	v := tx.v
	for _, q := range v.pairs {
		if p != nil && q != p {
			continue
		}
		v.scratch = q.Book.CancelAll(a, v.now.UnixNano(), v.scratch[:0])
		for _, o := range v.scratch {
			dst = append(dst, *o)
		}
	}
	clear(v.scratch)
	return dst
}

// Lookup finds account a's order by id (or client id when id is 0) on p.
func (tx *Tx) Lookup(p *Pair, a match.AccountID, id uint64, clientID string) (match.Order, bool) {
	var o *match.Order
	var ok bool
	if id != 0 {
		o, ok = p.Book.Lookup(a, id)
	} else {
		o, ok = p.Book.LookupClientID(a, clientID)
	}
	if !ok {
		return match.Order{}, false
	}
	return *o, true
}

// Open appends copies of account a's open orders on p (every pair when p
// is nil) to dst.
func (tx *Tx) Open(p *Pair, a match.AccountID, dst []match.Order) []match.Order {
	v := tx.v
	for _, q := range v.pairs {
		if p != nil && q != p {
			continue
		}
		v.scratch = q.Book.Open(a, v.scratch[:0])
		for _, o := range v.scratch {
			dst = append(dst, *o)
		}
	}
	clear(v.scratch)
	return dst
}

// Balance is an account's holding of one asset.
type Balance struct {
	Asset        string
	Exp          int // decimal places of the amounts
	Free, Locked int64
}

// Balances appends account a's balances of every asset of the venue.
func (tx *Tx) Balances(a match.AccountID, dst []Balance) []Balance {
	for i, as := range tx.v.ledger.Assets() {
		free, locked := tx.v.ledger.Balance(a, match.AssetID(i))
		dst = append(dst, Balance{Asset: as.Name, Exp: -int(as.Exp), Free: free, Locked: locked})
	}
	return dst
}

// Venue is the venue the operation runs on.
func (tx *Tx) Venue() *Venue { return tx.v }
