// Package kraken is arbmm's order entry for Kraken spot: REST private
// calls signed with API-Sign (rest.go) over fasthttp with keep-alive, and
// the authenticated WebSocket v2 session (session.go) that places and
// cancels orders with the token from GetWebSocketsToken, streams the
// executions channel and keeps Kraken's dead man's switch
// (cancel_all_orders_after) armed.
//
// Files, as in every exec/<venue> folder:
//   - sign.go: API-Sign = base64(HMAC-SHA512(secret, path + SHA256(nonce + body)))
//     with HMAC and SHA-256 state reused per credential.
//   - orders.go: append-style encoders of the REST form bodies and WS v2
//     requests; prices and volumes are written from fixed point.
//   - rest.go: the REST client, its rate-limit mirrors and response decoding.
//   - session.go: the WebSocket v2 session.
//   - reports.go: decoding of executions events, method responses and REST
//     results into market.Report values with jscan.
//
// Ownership: a REST client is owned by one goroutine. A Session's Send may
// be called from one goroutine at a time (the engine's); its reader
// goroutine calls Config.OnReport. Encoders, the signer and the decoders
// allocate nothing in steady state; strings in a Report (FeeAsset, Reason)
// are interned per session or constants, so they stay valid.
package kraken
