package kraken

import (
	"errors"
	"strconv"

	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/match"
)

// Kraken's error strings, as its REST "error" array and its WebSocket v2
// "error" field carry them.
const (
	errUnknownMethod   = "EGeneral:Unknown method"
	errInvalidArgs     = "EGeneral:Invalid arguments"
	errPermission      = "EGeneral:Permission denied"
	errInvalidKey      = "EAPI:Invalid key"
	errInvalidSig      = "EAPI:Invalid signature"
	errUnknownPair     = "EQuery:Unknown asset pair"
	errInsufficient    = "EOrder:Insufficient funds"
	errOrderMinimum    = "EOrder:Order minimum not met"
	errCostMinimum     = "EOrder:Cost minimum not met"
	errUnknownOrder    = "EOrder:Unknown order"
	errServiceUnavail  = "EService:Unavailable"
	errInternal        = "EGeneral:Internal error"
	errPostOnlyReason  = "Post only order"
	errUserRequested   = "User requested"
	errSelfTrade       = "Self trade prevention"
	errDeadMansSwitch  = "Cancel all orders after timeout" // the simulator's wording
	errMethodNotFound  = "Method not found"
	errOrderMaximum    = "EOrder:Order maximum exceeded"
	errDuplicateClient = "EOrder:Duplicate order" // an open order of the account has this cl_ord_id
)

// invalidArg is "EGeneral:Invalid arguments:<what>", Kraken's form for a
// bad or missing parameter.
func invalidArg(what string) string { return errInvalidArgs + ":" + what }

// invalidPrice is Kraken's message for a price with too many decimals:
// "EOrder:Invalid price:XBTUSD price can only be specified up to 1 decimals."
func invalidPrice(alt string, decimals int) string {
	return "EOrder:Invalid price:" + alt + " price can only be specified up to " + strconv.Itoa(decimals) + " decimals."
}

// orderError maps an error of the matching engine (or of sim/auth) to
// Kraken's text.
func orderError(err error) string {
	switch {
	case errors.Is(err, match.ErrInsufficient):
		return errInsufficient
	case errors.Is(err, match.ErrMinQty):
		return errOrderMinimum
	case errors.Is(err, match.ErrMinNotional):
		return errCostMinimum
	case errors.Is(err, match.ErrMaxQty):
		return errOrderMaximum
	case errors.Is(err, match.ErrTick):
		return invalidArg("price")
	case errors.Is(err, match.ErrStep):
		return invalidArg("volume")
	case errors.Is(err, match.ErrOverflow):
		return invalidArg("volume")
	case errors.Is(err, match.ErrUnknownOrder):
		return errUnknownOrder
	case errors.Is(err, match.ErrDuplicate):
		return errDuplicateClient
	case errors.Is(err, match.ErrBadRequest):
		return errInvalidArgs
	case errors.Is(err, auth.ErrKrakenRate), errors.Is(err, auth.ErrKrakenOrderRate),
		errors.Is(err, auth.ErrNonce), errors.Is(err, auth.ErrToken):
		return err.Error()
	}
	return errInternal
}
