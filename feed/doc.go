// Package feed is arbmm's market-data layer. This package holds what every
// venue shares; each venue's decoders, book-sync state machines and live
// Session live in feed/<venue> (binance, kraken, okx, bybit, coinbase).
//
// A venue feed is driven by one goroutine, the one that reads its
// connection (or a capture file, in replay): it owns the books it writes.
// Frames go in through the venue's Handle method, already timestamped at
// receipt; decoding scans the frame in place (internal/jscan) straight into
// fixed point and applies the levels to book.Book without allocating. Bad
// input from a venue is counted and reported, never fatal: a malformed
// frame is a decode error, a sequence gap or checksum mismatch marks the
// book Stale and asks for a resync.
//
// Conn is the venue-neutral websocket connection every venue runs on: it
// dials (fasthttp/websocket), sends the venue's subscribe requests, keeps
// the connection alive with pings and an idle deadline, and on any loss
// tells the venue (Session.Down, so its books go Stale), backs off with
// jitter, redials and resubscribes. Its Run goroutine is the feed
// goroutine: it reads every frame into a reused buffer, stamps it once and
// hands it to Session.Frame; a second goroutine only sends pings. A
// venue's routine disconnects (Binance every 24 h) are clean closes, not
// errors.
//
// Recording wraps a Session to write a connection to a capture file (the
// recorder); Monitor logs each connection's trouble, throttled, from the
// atomic counters.
//
// The counters here are written by the feed goroutine and read by any
// goroutine with atomic loads.
package feed
