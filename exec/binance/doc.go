// Package binance is arbmm's order gateway to Binance spot: request
// encoding and signing (sign.go, orders.go), the WebSocket API session
// (session.go), the fasthttp REST client (rest.go) and the decoding of
// responses and user-data events into market.Report values (reports.go).
//
// Transports. Session speaks the WebSocket API (order.place, order.cancel,
// openOrders.cancelAll, order.cancelReplace, order.status) and receives the
// account's user-data events on the same connection. REST speaks the same
// operations over POST/DELETE/GET /api/v3/order and friends.
//
// Keys. A Credential is re-read from Config.Keys on every request. HMAC
// keys sign each request (HMAC-SHA256, hex) with an HMAC state kept per
// credential and rebuilt only when the credential changes. Ed25519 keys
// authenticate a WebSocket API session once (session.logon; about 23 µs a
// signature) and its requests then carry no signature; REST requests with
// Ed25519 keys are signed each (base64, percent-encoded).
//
// Signing follows Binance exactly: REST signs the percent-encoded query
// string and body as sent; the WebSocket API signs every parameter but
// signature, sorted by name, name=value joined by '&', not
// percent-encoded, apiKey included.
//
// Goroutines. Session.Send and REST methods run on the caller's goroutine:
// Send encodes, signs and writes, and returns; it never waits for the
// venue. Session's reader goroutine decodes every frame and calls
// Config.OnReport; a maintenance goroutine re-measures the clock offset and
// queries orders whose acknowledgement is overdue.
//
// Allocation. Encoding and signing append into buffers owned by the session
// and allocate nothing once the buffers have grown (alloc_test.go);
// decoding a frame into Reports allocates nothing either. The websocket
// library allocates a small writer per message sent and a reader per
// message received.
package binance
