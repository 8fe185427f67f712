// Package binance decodes Binance market data and keeps Binance books in
// sync: spot (and Binance.US) diff-depth streams with the REST-snapshot
// protocol, USD-M futures diff depth with `pu` chaining, and bookTicker.
//
// One Feed serves one websocket connection (combined `{"stream","data"}`
// frames or raw event frames) and owns the books of the symbols on it; it is
// driven by one goroutine: the connection's reader, or replay. Frames are
// scanned in place (internal/jscan) and levels parsed straight into fixed
// point. Steady-state handling of depth and bookTicker frames does not
// allocate; buffering events while a snapshot is awaited copies them into
// a per-symbol arena that is reused.
//
// Sync (Binance's documented procedure): buffer diff events, fetch the REST
// snapshot, drop events with u <= lastUpdateId, require the first applied
// event to straddle the snapshot (spot: U <= lastUpdateId+1 <= u; USD-M:
// U <= lastUpdateId <= u), then require each event to continue the last
// (spot: U == previous u + 1; USD-M: pu == previous u). A gap marks the book
// Stale, counts it, and queues a snapshot request (TakeSnapshotRequests);
// the connection layer fetches the snapshot and hands it to HandleSnapshot.
//
// A bookTicker whose u equals the u of an applied depth event is checked
// against the book's best bid and ask (price and quantity): the venue's own
// oracle that the replica is right.
package binance
