package market

import "strconv"

// OrderType is how an order prices itself.
type OrderType uint8

const (
	Limit      OrderType = iota // rests at its price (subject to TIF)
	Market                      // takes liquidity at any price
	LimitMaker                  // post-only limit: rejected (or canceled) if it would take
)

var orderTypeNames = [...]string{"limit", "market", "limit_maker"}

func (t OrderType) String() string {
	if int(t) < len(orderTypeNames) {
		return orderTypeNames[t]
	}
	return "ordertype(" + strconv.Itoa(int(t)) + ")"
}

// TIF is an order's time in force.
type TIF uint8

const (
	GTC TIF = iota // good till canceled
	IOC            // immediate or cancel: the unfilled rest expires
	FOK            // fill or kill: all at once or nothing
)

var tifNames = [...]string{"GTC", "IOC", "FOK"}

func (t TIF) String() string {
	if int(t) < len(tifNames) {
		return tifNames[t]
	}
	return "tif(" + strconv.Itoa(int(t)) + ")"
}

// OrderStatus is where an order is in its life. The engine's view moves
// only forward along PendingNew → New → PartiallyFilled → Filled, with
// PendingCancel beside New and PartiallyFilled, and the final states
// Filled, Canceled, Rejected and Expired; Unknown means the venue's answer
// was lost and the order must be reconciled by a status query before
// anything is assumed.
type OrderStatus uint8

const (
	PendingNew OrderStatus = iota
	New
	PartiallyFilled
	PendingCancel
	Filled
	Canceled
	Rejected
	Expired
	Unknown
)

var orderStatusNames = [...]string{"pending_new", "new", "partially_filled", "pending_cancel", "filled", "canceled", "rejected", "expired", "unknown"}

func (s OrderStatus) String() string {
	if int(s) < len(orderStatusNames) {
		return orderStatusNames[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Final reports whether no further change can happen to an order in s.
func (s OrderStatus) Final() bool { return s >= Filled && s <= Expired }

// ClientID is an order's client order id: unique across the engine's
// restarts (exec.IDs makes them), sent to the venue as text (AppendText) and
// read back from its reports (ParseClientID).
type ClientID uint64

// clientIDPrefix marks ids arbmm made, so reports of orders placed by hand
// on the same account are told apart.
const clientIDPrefix = "x"

// ClientIDLen is the length of a ClientID's text: the prefix and 16 lower-case
// hex digits (within Binance's 36 and Kraken's 18 characters).
const ClientIDLen = len(clientIDPrefix) + 16

// AppendText appends the id's text: "x" and 16 hex digits.
func (id ClientID) AppendText(dst []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, clientIDPrefix...)
	for i := 60; i >= 0; i -= 4 {
		dst = append(dst, hex[(uint64(id)>>uint(i))&0xf])
	}
	return dst
}

// String is the id's text.
func (id ClientID) String() string { return string(id.AppendText(nil)) }

// ParseClientID reads an id's text; ok is false for text arbmm did not make.
func ParseClientID(b []byte) (id ClientID, ok bool) {
	if len(b) != ClientIDLen || string(b[:len(clientIDPrefix)]) != clientIDPrefix {
		return 0, false
	}
	var v uint64
	for _, c := range b[len(clientIDPrefix):] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return ClientID(v), true
}

// Intent is what a strategy asks the gateway to do: a fixed-size value,
// passed by value or in a caller's slice, never allocated.
type Intent struct {
	Action   Action
	Venue    Venue
	Inst     *Instrument // the instrument (venue symbol, exponents, tick, step)
	Side     Side
	Type     OrderType
	TIF      TIF
	Price    Price // limit price (also the protective price of an IOC)
	Qty      Qty
	ClientID ClientID // the order's id (New), or the order to cancel or replace
	NewID    ClientID // Replace: the id of the replacing order
	// Hedge marks an IOC or FOK that only takes back exposure the engine
	// already has (a leg residual, a cross-exchange fill): risk lets one
	// that reduces the pair's total position through after the kill
	// switch has tripped. It is not sent to the venue (spot has no
	// reduce-only flag).
	Hedge bool
}

// Action is what an Intent does.
type Action uint8

const (
	ActNew       Action = iota // place an order
	ActCancel                  // cancel ClientID
	ActCancelAll               // cancel every open order of the instrument (every instrument when Inst is nil)
	ActReplace                 // cancel ClientID and place NewID in one request, where the venue has one
	ActQuery                   // ask the venue where ClientID is (reconciliation)
)

var actionNames = [...]string{"new", "cancel", "cancel_all", "replace", "query"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// ReportKind says what an execution report tells.
type ReportKind uint8

const (
	ReportAck      ReportKind = iota // the venue accepted the order (New)
	ReportReject                     // the venue refused the request (order or cancel)
	ReportFill                       // a trade: Fill fields set
	ReportCanceled                   // the order was canceled (by request, cancel-all or the venue)
	ReportExpired                    // IOC/FOK remainder, post-only that would take, self-trade prevention
	ReportStatus                     // the answer to a status query (reconciliation): Status says where it is
)

var reportKindNames = [...]string{"ack", "reject", "fill", "canceled", "expired", "status"}

func (k ReportKind) String() string {
	if int(k) < len(reportKindNames) {
		return reportKindNames[k]
	}
	return "report(" + strconv.Itoa(int(k)) + ")"
}

// VenueOrderID is the venue's id of an order: Binance's numeric orderId in
// N, or Kraken's txid text ("OU22CG-KLAF2-FWUDD7") in T[:TN].
type VenueOrderID struct {
	N  uint64
	T  [20]byte
	TN uint8
}

// Report is one execution report decoded from a venue (user-data stream,
// order response, status query): a fixed-size value the exec session hands
// to the order table and the engine.
type Report struct {
	Kind     ReportKind
	Venue    Venue
	Inst     *Instrument
	ClientID ClientID // zero when the order is not arbmm's
	OrderID  VenueOrderID
	Side     Side
	Status   OrderStatus // the venue's status of the order after this report
	CumQty   Qty         // filled so far (venue's total)
	// Fill (ReportFill): this trade.
	TradeID  uint64
	Price    Price
	Qty      Qty
	Fee      int64  // in FeeAsset's units at FeeExp decimals
	FeeExp   int8   // decimals of Fee
	FeeAsset string // borrowed: valid until the next report of the session (usually the instrument's base or quote)
	Maker    bool
	// Reject: which request the venue refused (ActNew for an order,
	// ActCancel for a cancel, ...), its code (Binance) and the text,
	// borrowed like FeeAsset. A refused cancel leaves the order as it was.
	Req    Action
	Code   int
	Reason string
	// Times: the venue's event time and the local receive time, Unix ns.
	VenueTime, RecvTime int64
}

// Trade is one public trade of an instrument as a venue's trade stream
// reports it: price and quantity at the instrument's exponents, and the
// side of the aggressor (the taker: Buy when a buyer lifted an ask).
type Trade struct {
	Price     Price
	Qty       Qty
	Aggressor Side
	ID        uint64
	// Time is the venue's trade time, Unix ns; RecvTime the local
	// receive time of the frame.
	Time, RecvTime int64
}
