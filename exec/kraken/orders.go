package kraken

import (
	"errors"
	"strconv"

	"arbmm/internal/market"
)

// Errors of the encoders (preallocated: the hot path returns them as is).
var (
	ErrNoInstrument = errors.New("kraken: intent without instrument")
	ErrBadIntent    = errors.New("kraken: intent not expressible on Kraken (order type, side, price or quantity)")
	ErrUnsupported  = errors.New("kraken: action not supported (replace)")
)

// The private REST paths.
const (
	pathAddOrder      = "/0/private/AddOrder"
	pathCancelOrder   = "/0/private/CancelOrder"
	pathCancelAll     = "/0/private/CancelAll"
	pathCancelAfter   = "/0/private/CancelAllOrdersAfter"
	pathQueryOrders   = "/0/private/QueryOrders"
	pathOpenOrders    = "/0/private/OpenOrders"
	pathToken         = "/0/private/GetWebSocketsToken"
	pathBalance       = "/0/private/Balance"
	pathTime          = "/0/public/Time"
	nonceKey          = "nonce="
	restRateLimited   = "EAPI:Rate limit exceeded"
	orderRateLimited  = "EOrder:Rate limit exceeded"
	restInvalidNonce  = "EAPI:Invalid nonce"
	postOnlyReason    = "Post only order"
	selfTradeReason   = "Self trade prevention"
	defaultReqBufSize = 512
)

// krakenAlias maps the canonical asset names Kraken spells its own way in
// REST pair names (BTC is XBT, DOGE is XDG).
func krakenAlias(a string) string {
	switch a {
	case "BTC":
		return "XBT"
	case "DOGE":
		return "XDG"
	}
	return a
}

// AppendRESTPair appends the instrument's REST pair name (the altname):
// the WebSocket v2 symbol "BTC/USD" becomes "XBTUSD"; a symbol without a
// slash is taken as a REST name already.
func AppendRESTPair(dst []byte, in *market.Instrument) []byte {
	sym := in.Symbol
	for i := 0; i < len(sym); i++ {
		if sym[i] == '/' {
			dst = append(dst, krakenAlias(sym[:i])...)
			return append(dst, krakenAlias(sym[i+1:])...)
		}
	}
	return append(dst, sym...)
}

// appendNonceField starts a form body: "nonce=<n>". Every body starts so,
// which is how the signer finds the nonce's text (nonceOf).
func appendNonceField(dst []byte, nonce uint64) []byte {
	dst = append(dst, nonceKey...)
	return strconv.AppendUint(dst, nonce, 10)
}

// nonceOf returns the nonce's text at the start of a form body made by
// these encoders.
func nonceOf(body []byte) []byte {
	b := body[len(nonceKey):]
	for i, c := range b {
		if c == '&' {
			return b[:i]
		}
	}
	return b
}

// AppendAddOrder appends the AddOrder form body of a new order to dst:
// nonce, ordertype, pair, price, type, volume (the order of Kraken's
// documented example), then oflags=post for a LimitMaker, timeinforce
// unless GTC, and cl_ord_id unless the id is zero. Market orders carry no
// price and no time in force (Kraken makes them IOC).
func AppendAddOrder(dst []byte, nonce uint64, in *market.Intent) ([]byte, error) {
	inst := in.Inst
	if inst == nil {
		return dst, ErrNoInstrument
	}
	if in.Qty <= 0 || in.Side > market.Sell || in.Type > market.LimitMaker || in.TIF > market.FOK ||
		in.Type != market.Market && in.Price <= 0 || in.Type == market.LimitMaker && in.TIF != market.GTC {
		return dst, ErrBadIntent
	}
	dst = appendNonceField(dst, nonce)
	if in.Type == market.Market {
		dst = append(dst, "&ordertype=market&pair="...)
		dst = AppendRESTPair(dst, inst)
	} else {
		dst = append(dst, "&ordertype=limit&pair="...)
		dst = AppendRESTPair(dst, inst)
		dst = append(dst, "&price="...)
		dst = market.AppendFixed(dst, int64(in.Price), inst.PriceExp)
	}
	if in.Side == market.Buy {
		dst = append(dst, "&type=buy&volume="...)
	} else {
		dst = append(dst, "&type=sell&volume="...)
	}
	dst = market.AppendFixed(dst, int64(in.Qty), inst.QtyExp)
	if in.Type == market.LimitMaker {
		dst = append(dst, "&oflags=post"...)
	}
	if in.Type != market.Market && in.TIF != market.GTC {
		dst = append(dst, "&timeinforce="...)
		dst = append(dst, in.TIF.String()...)
	}
	if in.ClientID != 0 {
		dst = append(dst, "&cl_ord_id="...)
		dst = in.ClientID.AppendText(dst)
	}
	return dst, nil
}

// AppendCancelOrder appends the CancelOrder form body cancelling the order
// with client id id.
func AppendCancelOrder(dst []byte, nonce uint64, id market.ClientID) []byte {
	dst = appendNonceField(dst, nonce)
	dst = append(dst, "&cl_ord_id="...)
	return id.AppendText(dst)
}

// AppendCancelOrderTxID appends the CancelOrder form body cancelling the
// order with Kraken's id (txid).
func AppendCancelOrderTxID(dst []byte, nonce uint64, oid *market.VenueOrderID) []byte {
	dst = appendNonceField(dst, nonce)
	dst = append(dst, "&txid="...)
	return append(dst, oid.T[:oid.TN]...)
}

// AppendNonceOnly appends a body holding the nonce alone (CancelAll,
// GetWebSocketsToken, Balance, OpenOrders).
func AppendNonceOnly(dst []byte, nonce uint64) []byte { return appendNonceField(dst, nonce) }

// AppendCancelAfter appends the CancelAllOrdersAfter body: timeout in
// seconds, 0 disarms the switch.
func AppendCancelAfter(dst []byte, nonce uint64, timeoutSec int) []byte {
	dst = appendNonceField(dst, nonce)
	dst = append(dst, "&timeout="...)
	return strconv.AppendInt(dst, int64(timeoutSec), 10)
}

// AppendQueryOrders appends the QueryOrders body for one txid.
func AppendQueryOrders(dst []byte, nonce uint64, oid *market.VenueOrderID) []byte {
	dst = appendNonceField(dst, nonce)
	dst = append(dst, "&txid="...)
	return append(dst, oid.T[:oid.TN]...)
}

// AppendOpenOrders appends the OpenOrders body, filtered by client id
// unless id is zero.
func AppendOpenOrders(dst []byte, nonce uint64, id market.ClientID) []byte {
	dst = appendNonceField(dst, nonce)
	if id != 0 {
		dst = append(dst, "&cl_ord_id="...)
		dst = id.AppendText(dst)
	}
	return dst
}

// wsTIF is the WebSocket v2 spelling of a time in force.
var wsTIF = [...]string{"gtc", "ioc", "fok"}

// appendWSTail closes a WS v2 request: the token, the params object and
// the req_id.
func appendWSTail(dst []byte, token string, reqID int64) []byte {
	dst = append(dst, `"token":"`...)
	dst = append(dst, token...)
	dst = append(dst, `"},"req_id":`...)
	dst = strconv.AppendInt(dst, reqID, 10)
	return append(dst, '}')
}

// AppendWSAddOrder appends a WebSocket v2 add_order request. token must be
// JSON-safe text (Kraken's tokens are base64; the session checks once).
func AppendWSAddOrder(dst []byte, token string, reqID int64, in *market.Intent) ([]byte, error) {
	inst := in.Inst
	if inst == nil {
		return dst, ErrNoInstrument
	}
	if in.Qty <= 0 || in.Side > market.Sell || in.Type > market.LimitMaker || in.TIF > market.FOK ||
		in.Type != market.Market && in.Price <= 0 || in.Type == market.LimitMaker && in.TIF != market.GTC {
		return dst, ErrBadIntent
	}
	dst = append(dst, `{"method":"add_order","params":{"order_type":"`...)
	if in.Type == market.Market {
		dst = append(dst, `market",`...)
	} else {
		dst = append(dst, `limit","limit_price":`...)
		dst = market.AppendFixed(dst, int64(in.Price), inst.PriceExp)
		dst = append(dst, `,"time_in_force":"`...)
		dst = append(dst, wsTIF[in.TIF]...)
		dst = append(dst, `",`...)
	}
	if in.Side == market.Buy {
		dst = append(dst, `"side":"buy","order_qty":`...)
	} else {
		dst = append(dst, `"side":"sell","order_qty":`...)
	}
	dst = market.AppendFixed(dst, int64(in.Qty), inst.QtyExp)
	dst = append(dst, `,"symbol":"`...)
	dst = append(dst, inst.Symbol...)
	dst = append(dst, `",`...)
	if in.Type == market.LimitMaker {
		dst = append(dst, `"post_only":true,`...)
	}
	if in.ClientID != 0 {
		dst = append(dst, `"cl_ord_id":"`...)
		dst = in.ClientID.AppendText(dst)
		dst = append(dst, `",`...)
	}
	return appendWSTail(dst, token, reqID), nil
}

// AppendWSCancelOrder appends a cancel_order request for client id id.
func AppendWSCancelOrder(dst []byte, token string, reqID int64, id market.ClientID) []byte {
	dst = append(dst, `{"method":"cancel_order","params":{"cl_ord_id":["`...)
	dst = id.AppendText(dst)
	dst = append(dst, `"],`...)
	return appendWSTail(dst, token, reqID)
}

// AppendWSCancelAll appends a cancel_all request (every open order of the
// account: Kraken has no per-pair cancel-all).
func AppendWSCancelAll(dst []byte, token string, reqID int64) []byte {
	dst = append(dst, `{"method":"cancel_all","params":{`...)
	return appendWSTail(dst, token, reqID)
}

// AppendWSCancelAfter appends a cancel_all_orders_after request (the dead
// man's switch): timeout in seconds, 0 disarms.
func AppendWSCancelAfter(dst []byte, token string, reqID int64, timeoutSec int) []byte {
	dst = append(dst, `{"method":"cancel_all_orders_after","params":{"timeout":`...)
	dst = strconv.AppendInt(dst, int64(timeoutSec), 10)
	dst = append(dst, ',')
	return appendWSTail(dst, token, reqID)
}

// AppendWSSubscribe appends a subscribe request for an authenticated
// channel ("executions" with snap_orders, or "balances").
func AppendWSSubscribe(dst []byte, token string, reqID int64, channel string) []byte {
	dst = append(dst, `{"method":"subscribe","params":{"channel":"`...)
	dst = append(dst, channel...)
	dst = append(dst, `",`...)
	if channel == "executions" {
		dst = append(dst, `"snap_orders":true,"snap_trades":false,`...)
	}
	return appendWSTail(dst, token, reqID)
}
