// Package kraken decodes Kraken's WebSocket book channel, v1
// (wss://ws.kraken.com, "book-N" array frames with string numbers) and v2
// (wss://ws.kraken.com/v2, "channel":"book" objects with JSON numbers), and
// keeps one book.Book per pair in sync with it, verifying Kraken's CRC32
// book checksum after every message that carries one.
//
// # Ownership
//
// A Feed serves one connection and is owned by the goroutine that reads it
// (or replays a capture of it): Handle, Symbols, TakeResubscribe,
// AppendChecksumString and LastError are called only from that goroutine,
// which is also the single writer of every book the Feed creates. Other
// goroutines read books through their seqlock'd snapshots (book.Book.Read,
// State, Stats) and the connection counters through Counters' atomics.
//
// # Sync
//
// Each pair starts Syncing. A snapshot loads its book and makes it Live (a
// v2 snapshot only if its checksum verifies); updates are applied to a Live
// book only. After every message each side is truncated to the subscribed
// depth and the checksum, if present, is verified against the top 10
// levels rendered at the pair's wire decimals: on v1 those are learned from
// the snapshot's fixed-decimal strings, on v2 they are the instrument's
// precision (JSON numbers do not carry trailing zeros). A mismatch, a
// crossed book or a frame for the pair that cannot be decoded marks the book
// Stale, drops further updates until a new snapshot arrives, and queues a
// resubscribe that the connection layer takes with TakeResubscribe.
//
// # Allocation
//
// New allocates the decoder scratch; a pair's Symbol and book are
// allocated on its first frame. After that Handle does not allocate: frames
// are scanned in place with internal/jscan, numbers go straight to fixed
// point with market.ParseFixed, and the checksum string is built in a
// buffer owned by the Feed. The scratch message grows only when a frame
// holds more levels than any before it (at most 16384 a side).
//
// # Bad input
//
// Handle never panics. A frame that is not valid JSON of a known shape, or
// whose numbers the pair's precision cannot hold exactly, returns
// ErrMalformed and counts DecodeErrors; because a message is decoded and
// its numbers scanned in full before any book is touched, no book is left
// half-applied, and a pair the frame can be attributed to is resynced (its
// update is lost). Events, other channels and method responses count
// Ignored; pairs not configured count Unknown (ErrUnknownSymbol).
package kraken
