package match

import (
	"errors"
	"strconv"

	"arbmm/internal/market"
)

// AccountID names an account of a venue.
type AccountID uint32

// FeeAccount is the venue's fee collector: every fee charged is credited to
// it, so that assets are conserved.
const FeeAccount AccountID = 0

// AssetID is an asset's index in its Ledger's Assets.
type AssetID uint16

// Asset is a currency a Ledger holds. An amount of it is an int64 mantissa
// times 10^Exp (Exp -8: eight decimal places).
type Asset struct {
	Name string
	Exp  int8
}

// FeeMode is how a book charges fees.
type FeeMode uint8

const (
	// FeeOnReceived takes the fee from the asset received (Binance): a
	// buyer pays it in base, a seller in quote.
	FeeOnReceived FeeMode = iota
	// FeeInQuote charges the fee in quote (Kraken): a buyer pays it on top
	// of the notional (and a limit buy locks price×qty plus the fee), a
	// seller receives the notional less the fee.
	FeeInQuote
)

// String returns "on_received" or "in_quote".
func (m FeeMode) String() string {
	switch m {
	case FeeOnReceived:
		return "on_received"
	case FeeInQuote:
		return "in_quote"
	}
	return "feemode(" + strconv.Itoa(int(m)) + ")"
}

// STPMode is the self-trade prevention applied when a taker meets a resting
// order of its own account.
type STPMode uint8

const (
	// STPDefault uses BookConfig.STP (and STPExpireMaker when that is
	// STPDefault too).
	STPDefault STPMode = iota
	// STPNone trades with yourself (Binance NONE).
	STPNone
	// STPExpireTaker expires the taker; its fills so far stand (Binance
	// EXPIRE_TAKER, Kraken cancel-newest).
	STPExpireTaker
	// STPExpireMaker expires the resting order and goes on matching
	// (Binance EXPIRE_MAKER, Kraken cancel-oldest).
	STPExpireMaker
	// STPExpireBoth expires both (Binance EXPIRE_BOTH, Kraken cancel-both).
	STPExpireBoth
)

// String returns Binance's name of the mode: "NONE", "EXPIRE_TAKER", …
func (m STPMode) String() string {
	switch m {
	case STPDefault:
		return "DEFAULT"
	case STPNone:
		return "NONE"
	case STPExpireTaker:
		return "EXPIRE_TAKER"
	case STPExpireMaker:
		return "EXPIRE_MAKER"
	case STPExpireBoth:
		return "EXPIRE_BOTH"
	}
	return "stp(" + strconv.Itoa(int(m)) + ")"
}

// OrderType is limit or market.
type OrderType uint8

// The order types.
const (
	Limit OrderType = iota
	Market
)

// String returns "LIMIT" or "MARKET".
func (t OrderType) String() string {
	switch t {
	case Limit:
		return "LIMIT"
	case Market:
		return "MARKET"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// TIF is an order's time in force.
type TIF uint8

// The times in force: good till canceled, immediate or cancel, fill or kill.
const (
	GTC TIF = iota
	IOC
	FOK
)

// String returns "GTC", "IOC" or "FOK".
func (t TIF) String() string {
	switch t {
	case GTC:
		return "GTC"
	case IOC:
		return "IOC"
	case FOK:
		return "FOK"
	}
	return "tif(" + strconv.Itoa(int(t)) + ")"
}

// Status is an order's state.
type Status uint8

// The order states. StatusRejected is never set by a Book (a rejected
// request is an error); it is there for protocol layers.
const (
	StatusNew Status = iota
	StatusPartiallyFilled
	StatusFilled
	StatusCanceled
	StatusRejected
	StatusExpired
	StatusExpiredInMatch // expired by self-trade prevention
)

// String returns Binance's name of the status: "NEW", "PARTIALLY_FILLED", …
func (s Status) String() string {
	switch s {
	case StatusNew:
		return "NEW"
	case StatusPartiallyFilled:
		return "PARTIALLY_FILLED"
	case StatusFilled:
		return "FILLED"
	case StatusCanceled:
		return "CANCELED"
	case StatusRejected:
		return "REJECTED"
	case StatusExpired:
		return "EXPIRED"
	case StatusExpiredInMatch:
		return "EXPIRED_IN_MATCH"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Open reports whether an order in status s is live: New or
// PartiallyFilled.
func (s Status) Open() bool { return s == StatusNew || s == StatusPartiallyFilled }

// Request is an order to submit to a Book.
type Request struct {
	Account  AccountID
	ClientID string
	Side     market.Side
	Type     OrderType
	TIF      TIF   // Market orders behave as IOC whatever TIF says
	PostOnly bool  // reject (ErrWouldTake) if any part would match on arrival; Limit GTC only
	Price    int64 // Limit: limit price mantissa. Market: ignored
	Qty      int64 // base qty mantissa
	QuoteQty int64 // Market only, instead of Qty: spend (buy) or receive (sell) this much quote, in quote asset units
	STP      STPMode
}

// Order is an order of a Book. Its exported fields are read-only to callers.
type Order struct {
	ID       uint64
	Account  AccountID
	ClientID string
	Side     market.Side
	Type     OrderType
	TIF      TIF
	PostOnly bool
	STP      STPMode // in effect: STPDefault resolved to the book's mode

	Price, Qty, QuoteQty int64

	Filled      int64   // base filled, qty mantissa
	QuoteFilled int64   // cumulative quote exchanged, quote asset units (fees excluded)
	Fee         int64   // cumulative fee charged to the account, FeeAsset units
	FeeAsset    AssetID // asset the fee is charged in
	Status      Status

	Created, Updated int64 // caller's clock (ns) at creation and at the last change

	// Book internals.
	locked     int64   // amount of lockAsset reserved for this order
	lockAsset  AssetID // quote for buys, base for sells
	makerBps   int64   // fee rates fixed at submission
	takerBps   int64
	feeRem     int64 // fee prepaid by rounding up: charged×10000 − Σ amount×bps, in [0, 10000)
	lvl        *level
	prev, next *Order // FIFO at the level
	aprev      *Order // the account's open orders, oldest first
	anext      *Order
}

// Remaining is the base quantity not yet filled: Qty − Filled, or 0 for a
// market order sized by QuoteQty.
func (o *Order) Remaining() int64 {
	if o.Qty == 0 {
		return 0
	}
	return o.Qty - o.Filled
}

// Fill is one trade between a resting maker and an incoming taker.
type Fill struct {
	TradeID                      uint64
	Price, Qty                   int64 // maker's price; base qty mantissa
	Quote                        int64 // quote asset amount exchanged (fees excluded)
	TakerSide                    market.Side
	MakerFee, TakerFee           int64
	MakerFeeAsset, TakerFeeAsset AssetID
}

// Level is the aggregate resting quantity at a price.
type Level struct{ Price, Qty int64 }

// Listener sees everything a Book does, synchronously and in order. The
// pointers it is given are valid only during the call: orders of untracked
// accounts are recycled after they close.
//
// For one fill the calls are Trade, then Order for the taker, then Order for
// the maker, then Level for the maker's price.
type Listener interface {
	// Level reports the new aggregate resting quantity at price; 0: the
	// level is gone.
	Level(side market.Side, price, qty int64)
	// Trade reports a fill; maker and taker are already updated.
	Trade(f *Fill, maker, taker *Order)
	// Order reports an order accepted (StatusNew, before it matches), or a
	// change of its status or fill (after the Trade), or its cancel or
	// expiry.
	Order(o *Order)
}

// IDs hands out order and trade ids, from 1. The books of one venue share
// one so that ids are unique across its pairs. The zero value is ready.
type IDs struct {
	order, trade uint64
}

// NextOrder returns a fresh order id.
func (ids *IDs) NextOrder() uint64 { ids.order++; return ids.order }

// NextTrade returns a fresh trade id.
func (ids *IDs) NextTrade() uint64 { ids.trade++; return ids.trade }

// Errors of Ledger and Book. They are preallocated; protocol layers map them
// to their venue's error codes.
var (
	ErrBadRequest   = errors.New("match: bad request")
	ErrTick         = errors.New("match: price not a multiple of the tick")
	ErrStep         = errors.New("match: quantity not a multiple of the step")
	ErrMinQty       = errors.New("match: quantity below the minimum")
	ErrMaxQty       = errors.New("match: quantity above the maximum")
	ErrMinNotional  = errors.New("match: notional below the minimum")
	ErrOverflow     = errors.New("match: amount overflows int64")
	ErrInsufficient = errors.New("match: insufficient balance")
	ErrWouldTake    = errors.New("match: post-only order would take")
	ErrDuplicate    = errors.New("match: duplicate client order id")
	ErrUnknownOrder = errors.New("match: unknown order")
	ErrUnknownAsset = errors.New("match: unknown asset")
)
