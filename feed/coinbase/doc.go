// Package coinbase decodes Coinbase Advanced Trade market data
// (wss://advanced-trade-ws.coinbase.com) and keeps one book.Book per
// product in sync with the level2 channel (wire channel "l2_data").
//
// # Wire format and sync
//
// Every frame is an envelope {"channel", "client_id", "timestamp",
// "sequence_num", "events"}. On l2_data each event is
// {"type": "snapshot"|"update", "product_id", "updates": [{"side":
// "bid"|"offer", "event_time", "price_level", "new_quantity"}, ...]}, and
// new_quantity is the absolute quantity at the level ("0" deletes it).
//
// sequence_num counts every message on the connection, whatever its channel
// (market_trades, candles, ticker, heartbeats, subscriptions and l2_data),
// so continuity is checked per connection: every frame that carries a
// sequence_num must carry the previous one plus one. A gap means any book on
// the connection may have missed an update, so every book of the connection
// is marked Stale (and its snapshot republished at once, so that readers of
// the top see it), counts the gap (book.NoteGap) and a resync
// (book.Resync, feed.Counters.Resyncs), and is queued for a resubscribe
// that the connection layer takes with TakeResyncs (unsubscribe and
// subscribe level2 for those products, or reconnect and call Reset). A
// snapshot event reloads its product's book and makes it Live; update
// events are applied to Live books only and dropped otherwise. Frames of
// other channels are counted Ignored, but their sequence_num still counts.
// Subscribe to the heartbeats channel as well (AppendSubscribe) so that a
// quiet connection keeps sending sequenced frames.
//
// The exchange time given to book.Book.Commit is the envelope's
// "timestamp" (RFC 3339 UTC, nanoseconds), 0 when it is absent or not in
// that form; the sequence is the envelope's sequence_num.
//
// # Exponents
//
// Prices and quantities are parsed straight into fixed point at the
// product's exponents: those of the configured Instruments (ParseProducts
// builds them from the REST products response: price_increment or
// quote_increment, base_increment), else those of a products response
// handed to HandleProducts, else, so that replay works on captures without
// metadata, learned from the wire: Coinbase prints trimmed decimals ("0.1",
// "65086"), so a learned exponent is the largest number of decimals over a
// whole snapshot. A later update with more decimals than a learned
// exponent is a decode error that resyncs the product; the decimals it
// needed are remembered and the next snapshot widens the exponents (they
// only grow, and only when a snapshot reloads the book). Configure
// Instruments in production so that exponents never change.
//
// # Ownership
//
// A Feed serves one connection and is owned by the goroutine that reads it
// (or replays a capture of it): Handle, HandleProducts, Reset, TakeResyncs,
// Symbols, Symbol, Conn and LastError are called only from that goroutine,
// which is also the single writer of every book the Feed creates, and the
// exported fields of each Symbol are written by it. Other goroutines read
// books through their seqlock'd snapshots (book.Book.Read, State, Stats)
// and the frame counters through Counters' atomics.
//
// # Allocation
//
// New allocates the decoder scratch, sized for Config.MaxLevels levels in
// one frame (snapshots carry the whole book: the capture's BTC-USD snapshot
// has 46,000 levels, 5 MB of text), and, with Instruments configured, every
// book. Without Instruments a product's Symbol and book are allocated when
// its first l2_data event arrives. After that Handle does not allocate:
// frames are scanned in place with internal/jscan, with a fast path for
// Coinbase's exact compact layout, and prices and quantities go straight to
// fixed point.
//
// # Bad input
//
// Handle never panics. A frame that is not valid JSON of a known shape, an
// l2_data frame without a sequence_num, a side other than bid or offer, a
// price that is not positive, a negative quantity, a number the product's
// exponents cannot hold exactly, more levels than Config.MaxLevels, or a
// duplicate key in an object the decoder reads returns ErrMalformed and
// counts DecodeErrors. Every event of a frame is decoded and its numbers
// parsed and validated before any book is touched, so no book is left
// half-applied; the products whose events were lost are resynced (all of
// the connection's products when the frame cannot be attributed).
// Frames of other channels are read only as far as their channel and
// sequence_num: the rest of such a frame is not validated.
package coinbase
