package exec

import (
	"errors"

	"arbmm/internal/market"
)

// Errors of the order table; preallocated.
var (
	ErrTableFull    = errors.New("exec: order table full")
	ErrDuplicateID  = errors.New("exec: client order id already in the table")
	ErrUnknownOrder = errors.New("exec: report for an order not in the table")
	ErrNotOpen      = errors.New("exec: order is not open")
	ErrZeroID       = errors.New("exec: client order id 0")
)

// recentTrades is how many trade ids an order remembers to drop duplicate
// fills: a venue resends a fill at most a few reports later.
const recentTrades = 16

// Order is the engine's record of one order. Its fields are written only
// by the Orders table that owns it.
type Order struct {
	ID      market.ClientID
	Intent  market.Intent // as sent (Action ActNew)
	Status  market.OrderStatus
	VenueID market.VenueOrderID
	Filled  market.Qty // filled so far
	// Notional is the sum of price × qty of the fills, at the
	// instrument's price+qty decimals (the average price is
	// Notional / Filled).
	Notional int64
	Fee      int64 // sum of the fees in FeeAsset (FeeExp decimals)
	FeeExp   int8
	FeeAsset [12]byte // the first fee's asset; later fees in another asset are counted in OtherFees
	FeeLen   uint8
	// OtherFees counts fills whose fee was in another asset than FeeAsset
	// (their amounts reach the engine through the fill reports).
	OtherFees uint32
	Sent      int64 // local time the order was sent, Unix ns
	Updated   int64 // local time of the last change
	// LateFills counts fills that arrived after the order was final
	// (a fill reported after its cancel): they are applied, never lost.
	LateFills uint32
	trades    [recentTrades]uint64
	nTrades   uint8
	prev      market.OrderStatus // the status before PendingCancel or Unknown
	slot      int32
}

// Open reports whether the order may still trade.
func (o *Order) Open() bool { return !o.Status.Final() }

// Remaining is the quantity not yet filled.
func (o *Order) Remaining() market.Qty { return o.Intent.Qty - o.Filled }

func (o *Order) seenTrade(id uint64) bool {
	for i := 0; i < int(o.nTrades) && i < recentTrades; i++ {
		if o.trades[i] == id {
			return true
		}
	}
	return false
}

func (o *Order) noteTrade(id uint64) {
	o.trades[int(o.nTrades)%recentTrades] = id
	o.nTrades++
	if o.nTrades == 2*recentTrades {
		o.nTrades = recentTrades
	}
}

// Outcome is what applying one report did.
type Outcome uint8

const (
	Ignored   Outcome = iota // a duplicate or stale report: nothing changed
	Changed                  // the order's state changed
	FillAdded                // a fill (or reconciled missing quantity) was applied: positions must take it
)

// TableStats are an Orders table's counters.
type TableStats struct {
	Placed, Reports, Fills, Duplicates, Stale, Unknown, LateFills, Reconciled uint64
}

// Orders is the venue-neutral order table: every order the engine sent,
// from PendingNew to a final state and for a while after (so that late
// reports still find it), driven by the sessions' reports. It is
// idempotent: a duplicate report (same trade id, an ack after the fills,
// a cancel after the fill) changes nothing; out-of-order reports (a fill
// before its ack, a fill after its cancel) are applied in the only way
// that keeps the filled quantity right. An acknowledgement that does not
// come leaves the order PendingNew until Overdue lists it for a status
// query; nothing is assumed.
//
// Owned by one goroutine (the engine core's). Fixed capacity, no
// allocation after New.
type Orders struct {
	slots  []Order
	free   []int32
	index  []int32 // open addressing: slot+1, 0 empty, -1 deleted
	mask   uint64
	done   []int32 // slots of final orders, oldest first (ring)
	doneAt int
	nDone  int
	keep   int
	stats  TableStats
}

// NewOrders makes a table for up to maxOpen live orders, remembering the
// keepFinal most recent final ones for late reports.
func NewOrders(maxOpen, keepFinal int) *Orders {
	n := maxOpen + keepFinal
	size := 1
	for size < 2*n {
		size <<= 1
	}
	t := &Orders{
		slots: make([]Order, n),
		free:  make([]int32, 0, n),
		index: make([]int32, size),
		mask:  uint64(size - 1),
		done:  make([]int32, max(keepFinal, 1)),
		keep:  keepFinal,
	}
	for i := n - 1; i >= 0; i-- {
		t.free = append(t.free, int32(i))
	}
	return t
}

func hashID(id market.ClientID) uint64 {
	x := uint64(id)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

// find returns the index position of id, or -1.
func (t *Orders) find(id market.ClientID) int {
	for i, n := hashID(id)&t.mask, 0; n <= int(t.mask); i, n = (i+1)&t.mask, n+1 {
		switch s := t.index[i]; {
		case s == 0:
			return -1
		case s > 0 && t.slots[s-1].ID == id:
			return int(i)
		}
	}
	return -1
}

func (t *Orders) insert(id market.ClientID, slot int32) {
	for i := hashID(id) & t.mask; ; i = (i + 1) & t.mask {
		if t.index[i] <= 0 {
			t.index[i] = slot + 1
			return
		}
	}
}

// Get returns the order with client id id.
func (t *Orders) Get(id market.ClientID) (*Order, bool) {
	i := t.find(id)
	if i < 0 {
		return nil, false
	}
	return &t.slots[t.index[i]-1], true
}

// New records an order about to be sent (PendingNew).
func (t *Orders) New(in *market.Intent, now int64) (*Order, error) {
	if in.ClientID == 0 {
		return nil, ErrZeroID
	}
	if t.find(in.ClientID) >= 0 {
		return nil, ErrDuplicateID
	}
	if len(t.free) == 0 {
		t.evictDone()
		if len(t.free) == 0 {
			return nil, ErrTableFull
		}
	}
	s := t.free[len(t.free)-1]
	t.free = t.free[:len(t.free)-1]
	o := &t.slots[s]
	*o = Order{ID: in.ClientID, Intent: *in, Status: market.PendingNew, Sent: now, Updated: now, slot: s}
	o.Intent.Action = market.ActNew
	t.insert(in.ClientID, s)
	t.stats.Placed++
	return o, nil
}

// CancelSent records that a cancel of an open order was sent
// (PendingCancel until the venue answers).
func (t *Orders) CancelSent(id market.ClientID, now int64) (*Order, error) {
	o, ok := t.Get(id)
	if !ok {
		return nil, ErrUnknownOrder
	}
	if !o.Open() {
		return o, ErrNotOpen
	}
	if o.Status != market.PendingCancel {
		o.prev = o.Status
		o.Status = market.PendingCancel
		o.Updated = now
	}
	return o, nil
}

// MarkUnknown records that the venue's answer about an order was lost (a
// timeout, a dropped connection while it was pending): the order is
// Unknown until a status query or a report settles it.
func (t *Orders) MarkUnknown(id market.ClientID, now int64) {
	if o, ok := t.Get(id); ok && o.Open() && o.Status != market.Unknown {
		o.prev = o.Status
		o.Status = market.Unknown
		o.Updated = now
	}
}

// Apply applies one report and says what it did. A fill it applies (or
// the quantity a status answer shows was filled unseen) is in the order's
// Filled and Notional; the caller passes the report's fill on to
// positions when the outcome is FillAdded (for ReportStatus the missing
// quantity is MissedQty, priced at the report's Price).
func (t *Orders) Apply(r *market.Report) (o *Order, out Outcome, err error) {
	t.stats.Reports++
	o, ok := t.Get(r.ClientID)
	if !ok {
		t.stats.Unknown++
		return nil, Ignored, ErrUnknownOrder
	}
	if r.OrderID.N != 0 || r.OrderID.TN != 0 {
		o.VenueID = r.OrderID
	}
	out = Ignored
	switch r.Kind {
	case market.ReportAck:
		if o.Status == market.PendingNew || o.Status == market.Unknown {
			o.Status = market.New
			if o.Filled > 0 {
				o.Status = market.PartiallyFilled
			}
			out = Changed
		}
	case market.ReportReject:
		switch {
		case r.Req == market.ActCancel || r.Req == market.ActReplace && o.Status == market.PendingCancel:
			// The cancel was refused (the order had filled, or is
			// unknown to the venue): the order is as it was; a fill or
			// a status query will tell the rest.
			if o.Status == market.PendingCancel {
				o.Status = o.prev
				out = Changed
			}
		case r.Req == market.ActQuery || r.Req == market.ActCancelAll:
			// A refused query or cancel-all says nothing about the order.
		case o.Status == market.PendingNew || o.Status == market.Unknown:
			if o.Filled == 0 {
				o.Status = market.Rejected
				out = Changed
			}
		}
	case market.ReportFill:
		if r.TradeID != 0 && o.seenTrade(r.TradeID) || r.Qty <= 0 {
			t.stats.Duplicates++
			return o, Ignored, nil
		}
		if r.TradeID == 0 && r.CumQty > 0 && r.CumQty <= o.Filled {
			t.stats.Duplicates++ // no trade id: the cumulative quantity tells
			return o, Ignored, nil
		}
		if r.TradeID != 0 {
			o.noteTrade(r.TradeID)
		}
		t.addFill(o, r.Qty, r.Price, r)
		if o.Status.Final() {
			o.LateFills++
			t.stats.LateFills++
			if o.Filled >= o.Intent.Qty {
				o.Status = market.Filled
			}
		} else {
			t.settleOpen(o)
		}
		t.stats.Fills++
		out = FillAdded
	case market.ReportCanceled, market.ReportExpired:
		if !o.Status.Final() {
			switch {
			case o.Filled >= o.Intent.Qty:
				o.Status = market.Filled
			case r.Kind == market.ReportCanceled:
				o.Status = market.Canceled
			default:
				o.Status = market.Expired
			}
			out = Changed
		}
	case market.ReportStatus:
		if r.CumQty > o.Filled {
			// Fills the session never reported (a lost connection):
			// reconcile at the venue's average price.
			t.stats.Reconciled++
			missed := r.CumQty - o.Filled
			t.addFill(o, missed, r.Price, nil)
			out = FillAdded
		}
		if !o.Status.Final() && r.Status != o.Status && r.Status != market.PendingNew && r.Status != market.Unknown {
			o.Status = r.Status
			if out == Ignored {
				out = Changed
			}
		}
	}
	if out == Ignored {
		t.stats.Stale++
	} else {
		o.Updated = r.RecvTime
	}
	if o.Status.Final() {
		t.retire(o)
	}
	return o, out, nil
}

// settleOpen sets an open order's status after a fill.
func (t *Orders) settleOpen(o *Order) {
	switch {
	case o.Filled >= o.Intent.Qty:
		o.Status = market.Filled
	case o.Status == market.PendingCancel:
		o.prev = market.PartiallyFilled // still canceling
	default:
		o.Status = market.PartiallyFilled
	}
}

func (t *Orders) addFill(o *Order, qty market.Qty, price market.Price, r *market.Report) {
	o.Filled += qty
	o.Notional += int64(price) * int64(qty)
	if r == nil || r.Fee == 0 {
		return
	}
	switch {
	case o.FeeLen == 0:
		o.FeeLen = uint8(copy(o.FeeAsset[:], r.FeeAsset))
		o.FeeExp = r.FeeExp
		o.Fee = r.Fee
	case string(o.FeeAsset[:o.FeeLen]) == r.FeeAsset && o.FeeExp == r.FeeExp:
		o.Fee += r.Fee
	default:
		o.OtherFees++
	}
}

// retire moves a final order to the ring of recently final ones, evicting
// the oldest beyond keep.
func (t *Orders) retire(o *Order) {
	if o.slot < 0 {
		return // already retired
	}
	if t.nDone == len(t.done) {
		t.evictDone()
	}
	t.done[(t.doneAt+t.nDone)%len(t.done)] = o.slot
	t.nDone++
	o.slot = -1 - o.slot // marks it retired; the slot number is kept
}

// evictDone frees the oldest final order's slot.
func (t *Orders) evictDone() {
	if t.nDone == 0 {
		return
	}
	s := t.done[t.doneAt]
	t.doneAt = (t.doneAt + 1) % len(t.done)
	t.nDone--
	o := &t.slots[s]
	if i := t.find(o.ID); i >= 0 {
		t.index[i] = -1
	}
	*o = Order{}
	t.free = append(t.free, s)
}

// Overdue appends the ids of orders waiting on the venue (PendingNew,
// PendingCancel, Unknown) since before now-timeout: the engine queries
// their status instead of assuming anything.
func (t *Orders) Overdue(now, timeout int64, dst []market.ClientID) []market.ClientID {
	for i := range t.slots {
		o := &t.slots[i]
		if o.ID == 0 || o.slot < 0 {
			continue
		}
		switch o.Status {
		case market.PendingNew, market.PendingCancel, market.Unknown:
			if now-o.Updated >= timeout {
				dst = append(dst, o.ID)
			}
		}
	}
	return dst
}

// Open appends the open orders.
func (t *Orders) Open(dst []*Order) []*Order {
	for i := range t.slots {
		if o := &t.slots[i]; o.ID != 0 && o.slot >= 0 && o.Open() {
			dst = append(dst, o)
		}
	}
	return dst
}

// Stats returns the table's counters.
func (t *Orders) Stats() TableStats { return t.stats }
