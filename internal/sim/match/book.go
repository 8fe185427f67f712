package match

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"arbmm/internal/market"
)

// BookConfig configures a Book: one pair of a venue.
type BookConfig struct {
	Symbol      string
	Base, Quote AssetID
	// PriceExp and QtyExp: a price is its mantissa×10^PriceExp quote per
	// base, a quantity its mantissa×10^QtyExp base. NewBook requires
	// Ledger.Exp(Quote) ≤ PriceExp+QtyExp and Ledger.Exp(Base) ≤ QtyExp
	// (each within 18), so that every fill converts to ledger units exactly.
	PriceExp, QtyExp int8
	Tick, Step       int64 // price and qty increments (mantissas); 0 → 1
	MinQty, MaxQty   int64 // qty mantissa; 0 = none
	// MinNotional is the smallest price×qty of a limit order (or QuoteQty of
	// a market order), in quote asset units; 0 = none. Market orders sized
	// by Qty are not checked.
	MinNotional              int64
	MakerFeeBps, TakerFeeBps int64 // 0..10000
	FeeMode                  FeeMode
	// STP is the self-trade prevention of requests with STPDefault;
	// STPDefault here means STPExpireMaker.
	STP STPMode
	// IDs are the order and trade id counters, shared by the books of a
	// venue; nil: the book's own.
	IDs *IDs
	// MaxClosed is how many closed orders of tracked accounts the book
	// keeps for queries (oldest dropped first); 0 → 100000.
	MaxClosed int
}

// DefaultMaxClosed is BookConfig.MaxClosed's default.
const DefaultMaxClosed = 100000

// Book is the limit order book of one pair with price-time priority: best
// price first, first come first served within a price; trades happen at the
// resting order's price. It settles fills in its Ledger. Not safe for
// concurrent use: the venue's lock guards it.
type Book struct {
	cfg    BookConfig
	l      *Ledger
	lis    Listener
	ids    *IDs
	ownIDs IDs
	qscale uint64 // quote asset units per unit of price mantissa × qty mantissa
	bscale int64  // base asset units per unit of qty mantissa

	sides [2][]*level // by side, sorted worst to best: the best level is last
	open  map[uint64]*Order
	accts map[AccountID]*account

	closed     map[uint64]*Order // closed orders of tracked accounts, kept
	closedRing []*Order          // the same, oldest at closedHead once full
	closedHead int

	freeOrders []*Order
	freeLevels []*level
	retired    []*Order // closed untracked orders, recycled at the next call

	changes uint64
	fill    Fill // scratch for the Listener
}

// level is the FIFO of orders resting at one price.
type level struct {
	price, qty int64
	head, tail *Order
}

// account is the book's view of an account: its open orders and settings.
type account struct {
	tracked            bool
	hasFees            bool
	makerBps, takerBps int64
	head, tail         *Order            // open orders, oldest first
	openCID            map[string]*Order // open orders by client id
	closedCID          map[string]*Order // kept closed orders by client id, newest wins
}

// NewBook returns an empty book for cfg, settling in l. lis may be nil.
func NewBook(cfg BookConfig, l *Ledger, lis Listener) (*Book, error) {
	if l == nil {
		return nil, fmt.Errorf("match: book %s: nil ledger", cfg.Symbol)
	}
	if cfg.Tick == 0 {
		cfg.Tick = 1
	}
	if cfg.Step == 0 {
		cfg.Step = 1
	}
	if cfg.STP == STPDefault {
		cfg.STP = STPExpireMaker
	}
	if cfg.MaxClosed == 0 {
		cfg.MaxClosed = DefaultMaxClosed
	}
	n := len(l.assets)
	dq := int(cfg.PriceExp) + int(cfg.QtyExp) - int(l.Exp(cfg.Quote))
	db := int(cfg.QtyExp) - int(l.Exp(cfg.Base))
	switch {
	case int(cfg.Base) >= n || int(cfg.Quote) >= n || cfg.Base == cfg.Quote:
		return nil, fmt.Errorf("match: book %s: base %d and quote %d must be distinct assets of the ledger", cfg.Symbol, cfg.Base, cfg.Quote)
	case cfg.Tick < 0 || cfg.Step < 0:
		return nil, fmt.Errorf("match: book %s: negative tick or step", cfg.Symbol)
	case cfg.MinQty < 0 || cfg.MaxQty < 0 || cfg.MinNotional < 0:
		return nil, fmt.Errorf("match: book %s: negative minimum or maximum", cfg.Symbol)
	case cfg.MaxQty > 0 && cfg.MaxQty < cfg.MinQty:
		return nil, fmt.Errorf("match: book %s: max qty %d below min qty %d", cfg.Symbol, cfg.MaxQty, cfg.MinQty)
	case cfg.MakerFeeBps < 0 || cfg.MakerFeeBps > 10000 || cfg.TakerFeeBps < 0 || cfg.TakerFeeBps > 10000:
		return nil, fmt.Errorf("match: book %s: fees must be 0..10000 bps", cfg.Symbol)
	case cfg.FeeMode > FeeInQuote:
		return nil, fmt.Errorf("match: book %s: unknown fee mode %d", cfg.Symbol, cfg.FeeMode)
	case cfg.STP > STPExpireBoth:
		return nil, fmt.Errorf("match: book %s: unknown STP mode %d", cfg.Symbol, cfg.STP)
	case cfg.MaxClosed < 0:
		return nil, fmt.Errorf("match: book %s: negative MaxClosed", cfg.Symbol)
	case dq < 0 || dq > 18:
		return nil, fmt.Errorf("match: book %s: price×qty at 10^%d does not convert exactly to %s at 10^%d",
			cfg.Symbol, int(cfg.PriceExp)+int(cfg.QtyExp), l.assets[cfg.Quote].Name, l.Exp(cfg.Quote))
	case db < 0 || db > 18:
		return nil, fmt.Errorf("match: book %s: qty at 10^%d does not convert exactly to %s at 10^%d",
			cfg.Symbol, cfg.QtyExp, l.assets[cfg.Base].Name, l.Exp(cfg.Base))
	}
	b := &Book{
		cfg:    cfg,
		l:      l,
		lis:    lis,
		ids:    cfg.IDs,
		qscale: uint64(market.Pow10(dq)),
		bscale: market.Pow10(db),
		open:   make(map[uint64]*Order, 1024),
		accts:  make(map[AccountID]*account, 16),
		closed: make(map[uint64]*Order, 256),
	}
	if b.ids == nil {
		b.ids = &b.ownIDs
	}
	b.cfg.IDs = b.ids
	for s := range b.sides {
		b.sides[s] = make([]*level, 0, 256)
	}
	b.freeLevels = make([]*level, 0, 512)
	b.freeOrders = make([]*Order, 0, 1024)
	return b, nil
}

// Config returns the book's configuration with its defaults filled in.
func (b *Book) Config() BookConfig { return b.cfg }

// Track keeps the closed orders of account a for queries (up to MaxClosed):
// the accounts an engine trades for. Orders of untracked accounts are
// recycled once closed.
func (b *Book) Track(a AccountID) { b.account(a).tracked = true }

// SetFees overrides the book's fee rates for account a (0 for background
// flow), clamped to 0..10000 bps. Orders keep the rates of their submission.
func (b *Book) SetFees(a AccountID, makerBps, takerBps int64) {
	ac := b.account(a)
	ac.hasFees = true
	ac.makerBps = min(max(makerBps, 0), 10000)
	ac.takerBps = min(max(takerBps, 0), 10000)
}

// Changes counts the Level events so far.
func (b *Book) Changes() uint64 { return b.changes }

// OpenOrders is the number of open orders of all accounts.
func (b *Book) OpenOrders() int { return len(b.open) }

// Lookup returns account a's order id: open, or closed and kept (tracked
// accounts). The order of an untracked account is valid until the next
// Submit or Cancel.
func (b *Book) Lookup(a AccountID, id uint64) (*Order, bool) {
	if o := b.open[id]; o != nil && o.Account == a {
		return o, true
	}
	if o := b.closed[id]; o != nil && o.Account == a {
		return o, true
	}
	return nil, false
}

// LookupClientID is Lookup by client id: the open order with it, or else
// the newest kept closed one.
func (b *Book) LookupClientID(a AccountID, clientID string) (*Order, bool) {
	ac := b.accts[a]
	if ac == nil || clientID == "" {
		return nil, false
	}
	if o := ac.openCID[clientID]; o != nil {
		return o, true
	}
	if o := ac.closedCID[clientID]; o != nil {
		return o, true
	}
	return nil, false
}

// Open appends account a's open orders to dst, oldest first. Untracked
// accounts' orders are valid until the next Submit or Cancel.
func (b *Book) Open(a AccountID, dst []*Order) []*Order {
	if ac := b.accts[a]; ac != nil {
		for o := ac.head; o != nil; o = o.anext {
			dst = append(dst, o)
		}
	}
	return dst
}

// Levels appends at most n levels of side to dst, best first (n ≤ 0: all).
func (b *Book) Levels(side market.Side, n int, dst []Level) []Level {
	lv := b.sides[side&1]
	if n <= 0 || n > len(lv) {
		n = len(lv)
	}
	for i := len(lv) - 1; i >= len(lv)-n; i-- {
		dst = append(dst, Level{Price: lv[i].price, Qty: lv[i].qty})
	}
	return dst
}

// Best returns the best level of side.
func (b *Book) Best(side market.Side) (Level, bool) {
	lv := b.sides[side&1]
	if len(lv) == 0 {
		return Level{}, false
	}
	top := lv[len(lv)-1]
	return Level{Price: top.price, Qty: top.qty}, true
}

// Cancel cancels account a's open order id. ErrUnknownOrder unless there
// is one. The order returned is valid until the next call for an untracked
// account.
func (b *Book) Cancel(a AccountID, id uint64, now int64) (*Order, error) {
	b.recycle()
	o := b.open[id]
	if o == nil || o.Account != a {
		return nil, ErrUnknownOrder
	}
	b.cancel(o, now)
	return o, nil
}

// CancelByClientID cancels account a's open order with clientID.
func (b *Book) CancelByClientID(a AccountID, clientID string, now int64) (*Order, error) {
	b.recycle()
	ac := b.accts[a]
	if ac == nil || clientID == "" {
		return nil, ErrUnknownOrder
	}
	o := ac.openCID[clientID]
	if o == nil {
		return nil, ErrUnknownOrder
	}
	b.cancel(o, now)
	return o, nil
}

// CancelAll cancels every open order of account a, oldest first, and
// appends them to dst (valid until the next call for an untracked account).
func (b *Book) CancelAll(a AccountID, now int64, dst []*Order) []*Order {
	b.recycle()
	ac := b.accts[a]
	if ac == nil {
		return dst
	}
	for o := ac.head; o != nil; {
		next := o.anext
		b.cancel(o, now)
		dst = append(dst, o)
		o = next
	}
	return dst
}

// cancel takes resting order o off the book.
func (b *Book) cancel(o *Order, now int64) {
	side, price := o.Side, o.Price
	qty := b.unrest(o)
	b.finish(o, StatusCanceled, now)
	b.emitOrder(o)
	b.emitLevel(side, price, qty)
}

// account returns the book's record of a, creating it.
func (b *Book) account(a AccountID) *account {
	ac := b.accts[a]
	if ac == nil {
		ac = &account{}
		b.accts[a] = ac
	}
	return ac
}

// recycle returns the untracked orders closed in the previous call to the
// free list: their pointers were valid until now.
func (b *Book) recycle() {
	for _, o := range b.retired {
		*o = Order{}
		b.freeOrders = append(b.freeOrders, o)
	}
	clear(b.retired)
	b.retired = b.retired[:0]
}

func (b *Book) newOrder(tracked bool) *Order {
	if !tracked {
		if n := len(b.freeOrders); n > 0 {
			o := b.freeOrders[n-1]
			b.freeOrders[n-1] = nil
			b.freeOrders = b.freeOrders[:n-1]
			return o
		}
	}
	return new(Order)
}

// register makes accepted order o open: indexed by id, client id and
// account.
func (b *Book) register(o *Order, ac *account) {
	b.open[o.ID] = o
	if o.ClientID != "" {
		if ac.openCID == nil {
			ac.openCID = make(map[string]*Order, 16)
		}
		ac.openCID[o.ClientID] = o
	}
	o.aprev = ac.tail
	if ac.tail != nil {
		ac.tail.anext = o
	} else {
		ac.head = o
	}
	ac.tail = o
}

// finish closes o with status st: releases what it still locks, drops it
// from the open indexes and keeps it (tracked account) or retires it. It
// emits nothing.
func (b *Book) finish(o *Order, st Status, now int64) {
	if o.locked > 0 {
		b.l.unlock(o.Account, o.lockAsset, o.locked)
		o.locked = 0
	}
	o.Status = st
	o.Updated = now
	ac := b.accts[o.Account]
	delete(b.open, o.ID)
	if o.ClientID != "" && ac.openCID[o.ClientID] == o {
		delete(ac.openCID, o.ClientID)
	}
	if o.aprev != nil {
		o.aprev.anext = o.anext
	} else {
		ac.head = o.anext
	}
	if o.anext != nil {
		o.anext.aprev = o.aprev
	} else {
		ac.tail = o.aprev
	}
	o.aprev, o.anext = nil, nil
	if !ac.tracked {
		b.retired = append(b.retired, o)
		return
	}
	if b.cfg.MaxClosed == 0 {
		return
	}
	if len(b.closedRing) < b.cfg.MaxClosed {
		b.closedRing = append(b.closedRing, o)
	} else {
		old := b.closedRing[b.closedHead]
		delete(b.closed, old.ID)
		if oac := b.accts[old.Account]; old.ClientID != "" && oac.closedCID[old.ClientID] == old {
			delete(oac.closedCID, old.ClientID)
		}
		b.closedRing[b.closedHead] = o
		b.closedHead++
		if b.closedHead == len(b.closedRing) {
			b.closedHead = 0
		}
	}
	b.closed[o.ID] = o
	if o.ClientID != "" {
		if ac.closedCID == nil {
			ac.closedCID = make(map[string]*Order, 64)
		}
		ac.closedCID[o.ClientID] = o
	}
}

// find returns the index of price's level on side s, or where it would go.
func (b *Book) find(s market.Side, price int64) (int, bool) {
	if s == market.Bid {
		return slices.BinarySearchFunc(b.sides[s], price, func(l *level, p int64) int { return cmp.Compare(l.price, p) })
	}
	return slices.BinarySearchFunc(b.sides[s], price, func(l *level, p int64) int { return cmp.Compare(p, l.price) })
}

// rest puts o at the back of its price level and emits the level.
func (b *Book) rest(o *Order) {
	s := o.Side
	i, ok := b.find(s, o.Price)
	var lv *level
	if ok {
		lv = b.sides[s][i]
	} else {
		if n := len(b.freeLevels); n > 0 {
			lv = b.freeLevels[n-1]
			b.freeLevels = b.freeLevels[:n-1]
		} else {
			lv = new(level)
		}
		lv.price = o.Price
		b.sides[s] = slices.Insert(b.sides[s], i, lv)
	}
	o.lvl = lv
	o.prev = lv.tail
	if lv.tail != nil {
		lv.tail.next = o
	} else {
		lv.head = o
	}
	lv.tail = o
	lv.qty += o.Remaining()
	b.emitLevel(s, lv.price, lv.qty)
}

// unrest takes resting o out of its level, dropping the level when it
// empties, and returns the level's new quantity. It emits nothing.
func (b *Book) unrest(o *Order) int64 {
	lv := o.lvl
	lv.qty -= o.Remaining()
	if o.prev != nil {
		o.prev.next = o.next
	} else {
		lv.head = o.next
	}
	if o.next != nil {
		o.next.prev = o.prev
	} else {
		lv.tail = o.prev
	}
	o.prev, o.next, o.lvl = nil, nil, nil
	if lv.head == nil {
		b.dropLevel(o.Side, lv)
		return 0
	}
	return lv.qty
}

func (b *Book) dropLevel(s market.Side, lv *level) {
	i, ok := b.find(s, lv.price)
	if !ok {
		panic(fmt.Sprintf("match: book %s: level %d of %s missing", b.cfg.Symbol, lv.price, s))
	}
	b.sides[s] = slices.Delete(b.sides[s], i, i+1)
	*lv = level{}
	b.freeLevels = append(b.freeLevels, lv)
}

func (b *Book) emitLevel(s market.Side, price, qty int64) {
	b.changes++
	if b.lis != nil {
		b.lis.Level(s, price, qty)
	}
}

func (b *Book) emitOrder(o *Order) {
	if b.lis != nil {
		b.lis.Order(o)
	}
}

// quote converts price×qty mantissas to quote asset units; false on
// overflow. p, q ≥ 0.
func (b *Book) quote(p, q int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(p), uint64(q))
	if hi != 0 {
		return 0, false
	}
	hi, lo = bits.Mul64(lo, b.qscale)
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

// base converts a qty mantissa to base asset units; false on overflow.
func (b *Book) base(q int64) (int64, bool) {
	if q > math.MaxInt64/b.bscale {
		return 0, false
	}
	return q * b.bscale, true
}

// qtyFor is the largest qty, a multiple of Step, whose quote amount at
// price p is at most budget.
func (b *Book) qtyFor(budget, p int64) int64 {
	hi, unit := bits.Mul64(uint64(p), b.qscale)
	if hi != 0 || budget <= 0 || unit > uint64(budget) {
		return 0
	}
	q := int64(uint64(budget) / unit)
	return q - q%b.cfg.Step
}

// feeStep charges the fee of one more amount at bps on an order whose
// rounding credit is rem (see Order.feeRem): the order's cumulative fee is
// ceil(Σ amount×bps / 10000), and this returns the increment and the new
// credit. amount ≥ 0, 0 ≤ bps ≤ 10000.
func feeStep(rem, amount, bps int64) (fee, rem2 int64) {
	if amount == 0 || bps == 0 {
		return 0, rem
	}
	hi, lo := bits.Mul64(uint64(amount), uint64(bps))
	if hi == 0 && lo <= uint64(rem) {
		return 0, rem - int64(lo)
	}
	lo, borrow := bits.Sub64(lo, uint64(rem), 0)
	hi -= borrow
	q, r := bits.Div64(hi, lo, 10000) // hi < 10000: amount < 2^63, bps ≤ 10^4
	if r != 0 {
		return int64(q) + 1, 10000 - int64(r)
	}
	return int64(q), 0
}
