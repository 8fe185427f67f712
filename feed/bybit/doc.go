// Package bybit decodes Bybit's v5 public order-book stream
// (`orderbook.{depth}.{symbol}` on wss://stream.bybit.com/v5/public/spot
// and /v5/public/linear) and keeps one book.Book per symbol in sync with it.
//
// # Ownership
//
// A Feed serves one websocket connection, and so one category (spot or
// linear: Bybit serves them on separate endpoints, and the same symbol,
// "BTCUSDT", names a different market on each). It is owned by the
// goroutine that reads the connection, or replays a capture of it: Handle,
// Symbols, Symbol, TakeResyncs and LastError are called only from that
// goroutine, which is also the single writer of every book the Feed
// creates. Other goroutines read books through their seqlock'd snapshots
// (book.Book.Read, State, Stats) and the connection counters through the
// atomics of Counters. The exported counters of a Symbol are written by the
// owning goroutine: read them there, or after it has stopped.
//
// # Sync
//
// Bybit needs no REST snapshot: after a subscribe it pushes a "snapshot"
// message, then "delta" messages whose data.u increases by exactly one. A
// snapshot, or any message with u == 1 (what Bybit sends after a service
// restart), resets the book: it is cleared, loaded and made Live, whatever
// came before. A delta is applied only to a Live book whose last u is one
// less than its own; any other u is a gap: the book notes it
// (book.NoteGap), goes Stale (book.Resync), publishes that state, and its
// topic is queued for a resubscribe that the connection layer takes with
// TakeResyncs. Deltas that arrive while a book waits for its snapshot are
// dropped. After every message each side is truncated to the depth of the
// topic, as Bybit sends no deletes for levels pushed out of range.
//
// # Allocation
//
// New allocates the decoder scratch; a symbol's Symbol and book are
// allocated on the first frame of its topic. After that Handle does not
// allocate for book messages, ignored frames or bad input: frames are
// scanned in place with internal/jscan, levels go straight to fixed point,
// and the resync queue has room for every symbol.
//
// # Exponents
//
// Prices and quantities are stored at the exponents of the configured
// Instruments (see ParseInstruments). Without instruments every symbol is
// accepted and its exponents are learned from the decimals of its first
// snapshot, which is how replay reads captures without metadata; should a
// later message carry finer decimals than were learned, that message is a
// decode error, the book is resynced, and the learned exponents widen to
// cover it (the book is empty until the next snapshot, so no stored level
// changes meaning).
//
// # Bad input
//
// Handle never panics. A frame that is not valid JSON of a known shape
// returns ErrMalformed and counts DecodeErrors (LastError says why). A
// message is decoded and every level checked (price > 0, size >= 0, exact
// at the exponents) before its book is touched, so a bad level never
// leaves a book half-applied; and since the message is lost to the book, a
// book the frame can be attributed to (its topic was read) is resynced as
// after a gap. Topics other than orderbook ones (tickers, trades, klines)
// and op responses (subscribe acknowledgements, pongs) count Ignored;
// orderbook topics for symbols not configured count Unknown.
package bybit
