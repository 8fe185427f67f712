package match

import (
	"math"

	"arbmm/internal/market"
)

// stop says why matching of a taker ended.
type stop uint8

const (
	stopFilled  stop = iota // nothing remains
	stopBook                // no (more) resting orders at an acceptable price
	stopSTP                 // self-trade prevention expired the taker
	stopQuote               // a QuoteQty market order spent its budget
	stopBalance             // a market order ran out of free balance
)

// Submit validates r, accepts it as a new order, matches it and rests what
// remains of a Limit GTC order. It returns the order in its state after
// matching; the order of an untracked account is valid until the next
// Submit or Cancel.
//
// A request that fails validation returns an error and changes nothing, with
// no Listener call: ErrBadRequest, ErrTick, ErrStep, ErrMinQty, ErrMaxQty,
// ErrMinNotional, ErrOverflow, ErrDuplicate (the client id of an open order
// of the account), ErrWouldTake (post-only that would match),
// ErrInsufficient (a limit buy cannot lock price×qty, plus the fee at the
// account's higher rate in FeeInQuote mode; a limit or market sell by Qty
// cannot lock or cover qty; a market buy by QuoteQty cannot cover QuoteQty,
// plus the taker fee in FeeInQuote mode).
//
// Accepted orders end as: resting (New or PartiallyFilled), Filled,
// Expired (IOC or market remainder, a market order that ran out of book or
// balance, a FOK that could not fill completely: then with no trade at all),
// or ExpiredInMatch (self-trade prevention expired the taker).
func (b *Book) Submit(r Request, now int64) (*Order, error) {
	b.recycle()
	if err := b.validate(&r); err != nil {
		return nil, err
	}
	ac := b.accts[r.Account]
	if r.ClientID != "" && ac != nil && ac.openCID[r.ClientID] != nil {
		return nil, ErrDuplicate
	}
	makerBps, takerBps := b.cfg.MakerFeeBps, b.cfg.TakerFeeBps
	if ac != nil && ac.hasFees {
		makerBps, takerBps = ac.makerBps, ac.takerBps
	}
	stp := r.STP
	if stp == STPDefault {
		stp = b.cfg.STP
	}
	inQuote := b.cfg.FeeMode == FeeInQuote

	// What the order reserves (limit) or must be able to pay (market).
	var lockAsset AssetID
	var lockAmt, need int64
	switch {
	case r.Type == Limit && r.Side == market.Buy:
		n, _ := b.quote(r.Price, r.Qty) // validated
		if inQuote {
			f, _ := feeStep(0, n, max(makerBps, takerBps))
			if n > math.MaxInt64-f {
				return nil, ErrOverflow
			}
			n += f
		}
		lockAsset, lockAmt, need = b.cfg.Quote, n, n
	case r.Side == market.Sell:
		n, _ := b.base(r.Qty) // validated; 0 for a QuoteQty market sell
		lockAsset, need = b.cfg.Base, n
		if r.Type == Limit {
			lockAmt = n
		}
	case r.QuoteQty > 0: // market buy by quote
		n := r.QuoteQty
		if inQuote {
			f, _ := feeStep(0, n, takerBps)
			if n > math.MaxInt64-f {
				return nil, ErrOverflow
			}
			n += f
		}
		lockAsset, need = b.cfg.Quote, n
	default: // market buy by qty: limited by balance as it matches
		lockAsset = b.cfg.Quote
	}
	if r.PostOnly && b.crosses(r.Side, r.Price) {
		return nil, ErrWouldTake
	}
	if need > 0 && b.l.free(r.Account, lockAsset) < need {
		return nil, ErrInsufficient
	}

	if ac == nil {
		ac = b.account(r.Account)
	}
	o := b.newOrder(ac.tracked)
	*o = Order{
		ID:        b.ids.NextOrder(),
		Account:   r.Account,
		ClientID:  r.ClientID,
		Side:      r.Side,
		Type:      r.Type,
		TIF:       r.TIF,
		PostOnly:  r.PostOnly,
		STP:       stp,
		Qty:       r.Qty,
		QuoteQty:  r.QuoteQty,
		Status:    StatusNew,
		Created:   now,
		Updated:   now,
		lockAsset: lockAsset,
		makerBps:  makerBps,
		takerBps:  takerBps,
	}
	if r.Type == Limit {
		o.Price = r.Price
	}
	o.FeeAsset = b.cfg.Quote
	if !inQuote && r.Side == market.Buy {
		o.FeeAsset = b.cfg.Base
	}
	b.register(o, ac)
	b.emitOrder(o)

	if r.Type == Limit && r.TIF == FOK && !b.canFill(o) {
		b.finish(o, StatusExpired, now)
		b.emitOrder(o)
		return o, nil
	}
	if lockAmt > 0 {
		b.l.lock(o.Account, lockAsset, lockAmt) // checked above
		o.locked = lockAmt
	}

	why := b.match(o, now)
	switch why {
	case stopFilled:
		b.finish(o, StatusFilled, now) // already reported Filled after its last trade
	case stopSTP:
		b.finish(o, StatusExpiredInMatch, now)
		b.emitOrder(o)
	case stopQuote:
		st := StatusExpired
		if o.Filled > 0 {
			st = StatusFilled
		}
		b.finish(o, st, now)
		b.emitOrder(o)
	case stopBalance:
		b.finish(o, StatusExpired, now)
		b.emitOrder(o)
	case stopBook:
		if o.Type == Limit && o.TIF == GTC {
			b.rest(o)
			break
		}
		b.finish(o, StatusExpired, now)
		b.emitOrder(o)
	}
	return o, nil
}

// validate checks r against the book's filters. It sets nothing.
func (b *Book) validate(r *Request) error {
	if r.Side > market.Ask || r.Type > Market || r.TIF > FOK || r.STP > STPExpireBoth {
		return ErrBadRequest
	}
	c := &b.cfg
	if r.Type == Limit {
		if r.Price <= 0 || r.Qty <= 0 || r.QuoteQty != 0 || (r.PostOnly && r.TIF != GTC) {
			return ErrBadRequest
		}
		if r.Price%c.Tick != 0 {
			return ErrTick
		}
		if err := b.checkQty(r.Qty); err != nil {
			return err
		}
		n, ok := b.quote(r.Price, r.Qty)
		if !ok {
			return ErrOverflow
		}
		if n < c.MinNotional {
			return ErrMinNotional
		}
		return nil
	}
	if r.PostOnly || r.Qty < 0 || r.QuoteQty < 0 || (r.Qty > 0) == (r.QuoteQty > 0) {
		return ErrBadRequest
	}
	if r.Qty > 0 {
		return b.checkQty(r.Qty)
	}
	if r.QuoteQty < c.MinNotional {
		return ErrMinNotional
	}
	return nil
}

func (b *Book) checkQty(q int64) error {
	c := &b.cfg
	switch {
	case q%c.Step != 0:
		return ErrStep
	case q < c.MinQty:
		return ErrMinQty
	case c.MaxQty > 0 && q > c.MaxQty:
		return ErrMaxQty
	}
	if _, ok := b.base(q); !ok {
		return ErrOverflow
	}
	return nil
}

// crosses reports whether a limit order of side at price would meet the
// best resting order of the other side.
func (b *Book) crosses(side market.Side, price int64) bool {
	opp := b.sides[side.Opposite()]
	if len(opp) == 0 {
		return false
	}
	return acceptable(side, price, opp[len(opp)-1].price)
}

// acceptable reports whether a limit order of side at limit may trade at
// price.
func acceptable(side market.Side, limit, price int64) bool {
	if side == market.Buy {
		return price <= limit
	}
	return price >= limit
}

// canFill reports whether FOK limit order o would fill completely, under
// its self-trade prevention.
func (b *Book) canFill(o *Order) bool {
	want := o.Qty
	opp := b.sides[o.Side.Opposite()]
	for i := len(opp) - 1; i >= 0; i-- {
		lv := opp[i]
		if !acceptable(o.Side, o.Price, lv.price) {
			return false
		}
		for m := lv.head; m != nil; m = m.next {
			if m.Account == o.Account && o.STP != STPNone {
				if o.STP == STPExpireMaker {
					continue
				}
				return false
			}
			want -= m.Remaining()
			if want <= 0 {
				return true
			}
		}
	}
	return false
}

// match trades taker t against the other side until it is done, and says
// why it stopped.
func (b *Book) match(t *Order, now int64) stop {
	opp := t.Side.Opposite()
	for {
		want := int64(math.MaxInt64)
		if t.Qty > 0 {
			want = t.Qty - t.Filled
			if want == 0 {
				return stopFilled
			}
		}
		n := len(b.sides[opp])
		if n == 0 {
			return stopBook
		}
		lv := b.sides[opp][n-1]
		if t.Type == Limit && !acceptable(t.Side, t.Price, lv.price) {
			return stopBook
		}
		m := lv.head
		if m.Account == t.Account && t.STP != STPNone {
			switch t.STP {
			case STPExpireTaker:
				return stopSTP
			case STPExpireMaker:
				b.expire(m, now)
				continue
			default: // STPExpireBoth
				b.expire(m, now)
				return stopSTP
			}
		}
		q := min(m.Remaining(), want)
		if t.Type == Market {
			var why stop
			if q, why = b.capMarket(t, lv.price, q); q == 0 {
				return why
			}
		}
		b.trade(m, t, q, now)
	}
}

// expire takes resting order m off the book by self-trade prevention.
func (b *Book) expire(m *Order, now int64) {
	side, price := m.Side, m.Price
	qty := b.unrest(m)
	b.finish(m, StatusExpiredInMatch, now)
	b.emitOrder(m)
	b.emitLevel(side, price, qty)
}

// capMarket cuts q, the next fill of market order t at price p, to its
// quote budget and its account's free balance. When the result is 0 it
// says which limit bit.
func (b *Book) capMarket(t *Order, p, q int64) (int64, stop) {
	if t.QuoteQty > 0 {
		q = min(q, b.qtyFor(t.QuoteQty-t.QuoteFilled, p))
		if q == 0 {
			return 0, stopQuote
		}
	}
	if t.Side == market.Sell {
		free := b.l.free(t.Account, b.cfg.Base)
		if fq := free / b.bscale; fq < q {
			q = fq - fq%b.cfg.Step
		}
		return q, stopBalance
	}
	free := b.l.free(t.Account, b.cfg.Quote)
	if b.cfg.FeeMode == FeeOnReceived {
		return min(q, b.qtyFor(free, p)), stopBalance
	}
	if b.buyCost(t, p, q) <= free {
		return q, stopBalance
	}
	// Largest k steps whose notional plus fee is covered.
	step := b.cfg.Step
	lo, hi := int64(0), q/step // cost(lo·step) ≤ free < cost(hi·step)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if b.buyCost(t, p, mid*step) <= free {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo * step, stopBalance
}

// buyCost is what market buy t pays, fee included, for q at p (FeeInQuote).
func (b *Book) buyCost(t *Order, p, q int64) int64 {
	n, _ := b.quote(p, q) // ≤ the maker's notional
	f, _ := feeStep(t.feeRem, n, t.takerBps)
	if n > math.MaxInt64-f {
		return math.MaxInt64
	}
	return n + f
}

// trade fills q between resting maker m and taker t at m's price, settles
// it in the ledger and reports it.
func (b *Book) trade(m, t *Order, q int64, now int64) {
	c := &b.cfg
	p := m.Price
	qt, _ := b.quote(p, q) // ≤ the maker's notional, validated
	bs, _ := b.base(q)
	buyer, seller := t, m
	buyerBps, sellerBps := t.takerBps, m.makerBps
	if t.Side == market.Sell {
		buyer, seller = m, t
		buyerBps, sellerBps = m.makerBps, t.takerBps
	}
	var buyerFee, sellerFee int64
	if c.FeeMode == FeeOnReceived {
		buyerFee, buyer.feeRem = feeStep(buyer.feeRem, bs, buyerBps)
		sellerFee, seller.feeRem = feeStep(seller.feeRem, qt, sellerBps)
		b.pay(buyer, c.Quote, qt)
		b.pay(seller, c.Base, bs)
		b.l.credit(buyer.Account, c.Base, bs-buyerFee)
		b.l.credit(seller.Account, c.Quote, qt-sellerFee)
		b.l.credit(FeeAccount, c.Base, buyerFee)
		b.l.credit(FeeAccount, c.Quote, sellerFee)
	} else {
		buyerFee, buyer.feeRem = feeStep(buyer.feeRem, qt, buyerBps)
		sellerFee, seller.feeRem = feeStep(seller.feeRem, qt, sellerBps)
		b.pay(buyer, c.Quote, qt+buyerFee) // covered by the lock or the free balance
		b.pay(seller, c.Base, bs)
		b.l.credit(buyer.Account, c.Base, bs)
		b.l.credit(seller.Account, c.Quote, qt-sellerFee)
		b.l.credit(FeeAccount, c.Quote, buyerFee)
		b.l.credit(FeeAccount, c.Quote, sellerFee)
	}
	buyer.Fee += buyerFee
	seller.Fee += sellerFee
	for _, o := range [2]*Order{m, t} {
		o.Filled += q
		o.QuoteFilled += qt
		o.Updated = now
		o.Status = StatusPartiallyFilled
		if o.Qty > 0 && o.Filled == o.Qty {
			o.Status = StatusFilled
		}
		b.release(o)
	}
	lv := m.lvl
	lv.qty -= q
	lvQty := lv.qty
	if m.Status == StatusFilled {
		lvQty = b.unrest(m) // m's remaining is 0: the level's qty stands
		b.finish(m, StatusFilled, now)
	}

	f := &b.fill
	*f = Fill{
		TradeID:   b.ids.NextTrade(),
		Price:     p,
		Qty:       q,
		Quote:     qt,
		TakerSide: t.Side,
	}
	if t.Side == market.Buy {
		f.MakerFee, f.TakerFee = sellerFee, buyerFee
	} else {
		f.MakerFee, f.TakerFee = buyerFee, sellerFee
	}
	f.MakerFeeAsset, f.TakerFeeAsset = m.FeeAsset, t.FeeAsset
	if b.lis != nil {
		b.lis.Trade(f, m, t)
		b.lis.Order(t)
		b.lis.Order(m)
	}
	b.emitLevel(m.Side, p, lvQty)
}

// pay takes amount of asset from o's account for a fill: out of o's lock
// for a limit order, out of the free balance for a market order.
func (b *Book) pay(o *Order, asset AssetID, amount int64) {
	if o.Type == Limit {
		o.locked -= amount
		b.l.debitLocked(o.Account, asset, amount)
		return
	}
	b.l.debitFree(o.Account, asset, amount)
}

// release frees what limit order o locks beyond its reservation: a buy's
// price improvement and unneeded fee.
func (b *Book) release(o *Order) {
	if o.Type != Limit {
		return
	}
	if extra := o.locked - b.reserve(o); extra > 0 {
		o.locked -= extra
		b.l.unlock(o.Account, o.lockAsset, extra)
	}
}

// reserve is what limit order o must keep locked for its remaining qty: a
// sell its base, a buy the notional at its limit plus, in FeeInQuote mode,
// the most fee the rest can cost.
func (b *Book) reserve(o *Order) int64 {
	rem := o.Remaining()
	if o.Type != Limit || rem == 0 {
		return 0
	}
	if o.Side == market.Sell {
		n, _ := b.base(rem)
		return n
	}
	n, _ := b.quote(o.Price, rem)
	if b.cfg.FeeMode == FeeInQuote {
		f, _ := feeStep(o.feeRem, n, max(o.makerBps, o.takerBps))
		n += f
	}
	return n
}
