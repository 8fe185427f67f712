package auth

import "errors"

// The sentinels carry the venue's wire text so a server can forward
// err.Error() as the message of its error response.
var (
	// ErrTimestampAhead: Binance -1021, the timestamp is more than 1000 ms
	// ahead of the server's clock.
	ErrTimestampAhead = errors.New("Timestamp for this request was 1000ms ahead of the server's time.")
	// ErrTimestampOld: Binance -1021, the timestamp is older than recvWindow.
	ErrTimestampOld = errors.New("Timestamp for this request is outside of the recvWindow.")
	// ErrRecvWindow: Binance -1131, recvWindow is negative or above 60000.
	ErrRecvWindow = errors.New("recvWindow must be less than 60000")
	// ErrNonce: Kraken, the nonce is not above the key's last accepted one.
	ErrNonce = errors.New("EAPI:Invalid nonce")
	// ErrToken: Kraken WebSocket, the token is unknown, revoked or expired.
	ErrToken = errors.New("ESession:Invalid session")
	// ErrKrakenRate: Kraken's REST call counter is over its maximum.
	ErrKrakenRate = errors.New("EAPI:Rate limit exceeded")
	// ErrKrakenOrderRate: Kraken's per-pair trading counter is over its
	// threshold.
	ErrKrakenOrderRate = errors.New("EOrder:Rate limit exceeded")
)

// BinanceCode returns the Binance error code for the timestamp and
// recvWindow errors of this package (-1021, -1131), or 0.
func BinanceCode(err error) int {
	switch err {
	case ErrTimestampAhead, ErrTimestampOld:
		return -1021
	case ErrRecvWindow:
		return -1131
	}
	return 0
}
