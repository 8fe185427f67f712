// Package okx decodes OKX's v5 public WebSocket book channels (books, the
// 400-level book this feed is built for, and books-l2-tbt, books50-l2-tbt,
// books5 and bbo-tbt, which share its message shape) and keeps one
// book.Book per instrument in sync with them, verifying OKX's seqId chain
// and CRC32 checksum after every message.
//
// # Ownership
//
// A Feed serves one connection and is owned by the goroutine that reads it
// (or replays a capture of it): Handle, HandleSnapshot, Symbols, Symbol,
// TakeResyncs, AppendChecksumString and LastError are called only from that
// goroutine, which is also the single writer of every book the Feed
// creates. Other goroutines read books through their seqlock'd snapshots
// (book.Book.Read, State, Stats) and the connection counters through
// Counters' atomics.
//
// # Sync
//
// A books subscription starts with a snapshot (action "snapshot",
// prevSeqId -1) and continues with updates; each update's prevSeqId is the
// seqId of the message before it (OKX's seqIds are not consecutive). A
// snapshot loads the book and makes it Live. An update of a Live book must
// continue the chain; one whose seqId equals its prevSeqId is OKX's
// message for a book that did not change and is accepted; a seqId below
// the prevSeqId is a sequence reset. A broken chain, a reset, a checksum
// mismatch, a crossed book or a frame for the book that cannot be decoded
// marks the book Stale, keeps later updates aside and queues a resync,
// which the connection takes with TakeResyncs and answers by resubscribing
// (a new snapshot and chain: exact) or by fetching the REST book and
// passing it to HandleSnapshot (matched to the stream by ts; see there).
// books5 and bbo-tbt push a whole book every time: each push is loaded as
// a snapshot.
//
// The checksum is the CRC32 of the best 25 bids and asks interleaved
// ("bid1px:bid1sz:ask1px:ask1sz:...", the longer side continuing alone),
// compared as a signed 32-bit integer, over the numbers as OKX printed
// them. OKX prints the shortest form of each number ("30244", "30243.5",
// "0.08"), so decimals vary from level to level; the feed renders from
// fixed point in that form, and the few levels whose wire text had
// trailing fractional zeros (none seen so far) have their decimals kept
// per level so that their text is reproduced too. A checksum of 0 (or none)
// means absent — OKX is phasing the checksum out — and is counted as such,
// neither verified nor failed; the seqId chain is then the check. Captures
// from before 2022 have no seqId: only the checksum applies.
//
// # Allocation
//
// New allocates the decoder scratch and the books of configured
// instruments; an unconfigured instrument's symbol and book are allocated
// on its first frame. After that Handle does not allocate: frames are
// scanned in place — a byte matcher for OKX's exact compact frame shape,
// and internal/jscan for anything else, both accepting the same grammar —
// numbers go straight to fixed point, and the checksum string is built in
// buffers owned by the Feed, copying the text of levels unchanged since
// the previous message. Exceptions, all on cold paths:
// scratch growing for a message larger than any before, the per-level
// decimals table on its first use, update frames kept while a book waits
// for a resync, and HandleSnapshot.
//
// # Bad input
//
// Handle never panics. A frame that is not valid JSON of a known shape,
// or whose prices and sizes are not plain decimal strings exact at the
// instrument's exponents, returns ErrMalformed and counts DecodeErrors;
// because every number of a message is scanned and validated before its
// book is touched, no book is left half-applied, and a Live book the
// frame can be attributed to is resynced (its update is lost). Events
// (subscribe, error, notice), other channels and "pong" count Ignored;
// instruments not configured count Unknown (ErrUnknownSymbol).
package okx
