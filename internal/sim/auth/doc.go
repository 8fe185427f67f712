// Package auth holds the request-authentication and rate-limit checks of
// arbmm's simulated exchanges: the loopback servers under internal/sim that
// speak Binance's and Kraken's real protocols. The servers call it; the
// engine's own signing code (exec) must never import it, so that a client
// signer and this checker, written independently, test each other.
//
// What it checks:
//
//   - signatures: Binance HMAC-SHA256 (hex) and Ed25519 (base64), Kraken
//     API-Sign (base64 HMAC-SHA512 over uri_path + SHA256(nonce + postdata)),
//     all compared in constant time;
//   - the signed payload as a Binance server rebuilds it: REST query string
//     plus body with the signature parameter removed (BinanceRESTPayload),
//     and the WebSocket API's sorted name=value list (BinanceWSPayload);
//   - freshness: Binance timestamp/recvWindow, a replay cache of accepted
//     signatures (the simulator's addition), Kraken's per-key increasing
//     nonces and Kraken WebSocket tokens;
//   - rate limits with the clock passed in: Binance REQUEST_WEIGHT per IP per
//     minute with 429 → 418 bans, ORDERS per account per 10s and per day;
//     Kraken's decaying REST call counter and per-pair trading counter.
//
// Every exported type is safe for concurrent use by the server's
// connection goroutines (each holds its own mutex). The verify functions,
// Keys.Lookup and the payload builders do not allocate on their success
// paths (see alloc_test.go); the limiters and caches allocate only when
// they first see a new key, IP, account or signature.
//
// Error sentinels carry the venue's own wire text (for example
// "EAPI:Invalid nonce") rather than an "auth:" prefix, so that a simulated
// server can forward err.Error() to the client unchanged.
package auth
