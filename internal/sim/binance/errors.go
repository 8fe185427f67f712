package binance

import (
	"errors"
	"strconv"

	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/match"
)

// apiError is a Binance error: the HTTP status (REST) or the "status" of a
// WebSocket API response, and the {"code","msg"} body. The fixed ones are
// preallocated; the ones naming a parameter are built on the (cold) error
// path.
type apiError struct {
	status int
	code   int
	msg    string
	data   []byte // raw JSON of a "data" member (cancelReplace); nil: none
}

func (e *apiError) Error() string { return strconv.Itoa(e.code) + " " + e.msg }

func newErr(status, code int, msg string) *apiError {
	return &apiError{status: status, code: code, msg: msg}
}

// The catalogue: codes and messages as Binance spot sends them
// (developers.binance.com/docs/binance-spot-api-docs/errors).
var (
	errUnknownPath   = newErr(404, -1000, "An unknown error occurred while processing the request.")
	errUnauthorized  = newErr(401, -1002, "You are not authorized to execute this request.")
	errServerBusy    = newErr(503, -1008, "Server is currently overloaded with other requests. Please try again in a few minutes.")
	errBadSignature  = newErr(400, -1022, "Signature for this request is not valid.")
	errKeyFormat     = newErr(401, -2014, "API-key format invalid.")
	errKeyRejected   = newErr(401, -2015, "Invalid API-key, IP, or permissions for action.")
	errInvalidSymbol = newErr(400, -1121, "Invalid symbol.")
	errOrderType     = newErr(400, -1116, "Invalid orderType.")
	errSide          = newErr(400, -1117, "Invalid side.")
	errTIF           = newErr(400, -1115, "Invalid timeInForce.")
	errUnsupported   = newErr(400, -1014, "Unsupported order combination.")
	errInvalidQty    = newErr(400, -1013, "Invalid quantity.")
	errInvalidPrice  = newErr(400, -1013, "Invalid price.")
	errPriceFilter   = newErr(400, -1013, "Filter failure: PRICE_FILTER")
	errLotSize       = newErr(400, -1013, "Filter failure: LOT_SIZE")
	errNotional      = newErr(400, -1013, "Filter failure: NOTIONAL")
	errInsufficient  = newErr(400, -2010, "Account has insufficient balance for requested action.")
	errWouldTake     = newErr(400, -2010, "Order would immediately match and take.")
	errDuplicate     = newErr(400, -2010, "Duplicate order sent.")
	errCancelUnknown = newErr(400, -2011, "Unknown order sent.")
	errNoSuchOrder   = newErr(400, -2013, "Order does not exist.")
	errListenKey     = newErr(400, -1125, "This listenKey does not exist.")
	errHMACLogon     = newErr(400, -4056, "HMAC_SHA256 API key is not supported.")
	errNeedOrderID   = newErr(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
	errNeedQty       = newErr(400, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
	errCancelReplace = newErr(400, -2022, "Order cancel-replace failed.")
	errReplacePart   = newErr(409, -2021, "Order cancel-replace partially failed.")
	errBadRequest    = newErr(400, -1013, "The request is rejected by the API.")
	errOverflow      = newErr(400, -1013, "Filter failure: NOTIONAL")
	errInvalidJSON   = newErr(400, -2, "Invalid JSON request")
	errUnknownMethod = newErr(400, -1, "Unknown method.")
	errNotLoggedIn   = newErr(401, -1002, "You are not authorized to execute this request.")
)

// errMandatory is -1102 for a missing, empty or malformed parameter.
func errMandatory(name string) *apiError {
	return newErr(400, -1102, "Mandatory parameter '"+name+"' was not sent, was empty/null, or malformed.")
}

// errIllegal is -1100 for a parameter outside its legal form.
func errIllegal(name, legal string) *apiError {
	return newErr(400, -1100, "Illegal characters found in parameter '"+name+"'; legal range is '"+legal+"'.")
}

// errNotRequired is -1106 for a parameter the order type does not take.
func errNotRequired(name string) *apiError {
	return newErr(400, -1106, "Parameter '"+name+"' sent when not required.")
}

// errPrecision is -1111 for a decimal finer than the symbol allows.
func errPrecision(name string) *apiError {
	return newErr(400, -1111, "Parameter '"+name+"' has too much precision.")
}

// errTimestamp maps auth's timestamp and recvWindow errors (-1021, -1131).
func errTimestamp(err error) *apiError {
	code := auth.BinanceCode(err)
	if code == 0 {
		code = -1021
	}
	return newErr(400, code, err.Error())
}

// Legal ranges quoted in -1100 messages.
const (
	legalDecimal  = `^([0-9]{1,20})(\.[0-9]{1,20})?$`
	legalInteger  = `^[0-9]{1,20}$`
	legalClientID = `^[\.A-Z\:/a-z0-9_-]{1,36}$`
)

// matchError maps the matching engine's refusals to Binance's errors.
func matchError(err error) *apiError {
	switch {
	case errors.Is(err, match.ErrInsufficient):
		return errInsufficient
	case errors.Is(err, match.ErrWouldTake):
		return errWouldTake
	case errors.Is(err, match.ErrTick):
		return errPriceFilter
	case errors.Is(err, match.ErrStep), errors.Is(err, match.ErrMinQty), errors.Is(err, match.ErrMaxQty):
		return errLotSize
	case errors.Is(err, match.ErrMinNotional), errors.Is(err, match.ErrOverflow):
		return errNotional
	case errors.Is(err, match.ErrDuplicate):
		return errDuplicate
	case errors.Is(err, match.ErrUnknownOrder):
		return errCancelUnknown
	}
	return errBadRequest
}

// appendErrorBody appends {"code":c,"msg":"..."}.
func appendErrorBody(b []byte, e *apiError) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(e.code), 10)
	b = append(b, `,"msg":`...)
	b = strconv.AppendQuote(b, e.msg)
	if e.data != nil {
		b = append(b, `,"data":`...)
		b = append(b, e.data...)
	}
	return append(b, '}')
}
