// Package feed is arbmm's market-data layer. This package holds what every
// venue shares; each venue's decoders and book-sync state machines live in
// feed/<venue> (binance, kraken, and, later, coinbase, okx, bybit).
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
// The counters here are written by the feed goroutine and read by any
// goroutine with atomic loads.
package feed
