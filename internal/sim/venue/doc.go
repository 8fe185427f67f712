// Package venue is the state of one simulated exchange: its pairs' matching
// engines (internal/sim/match), its accounts' ledger, and the ordered stream
// of what happens to them (book level changes for market data, order and
// balance events for private streams).
//
// A Venue is shared by the goroutines of its protocol front end (the
// simulated Binance or Kraken servers: one goroutine per connection or
// request) and the market model's driver. Every operation takes the
// venue's mutex, runs the matching engine, and before it unlocks hands what
// changed to the registered sinks, in order: the market-data sinks
// (MDSink, one per protocol encoding) and the private sinks (PrivateSink,
// one per protocol's user streams). Sinks are called with the lock held, so
// they see one total order of events per venue; they encode and enqueue, and
// never block on the network.
//
// Nothing here is on the engine's hot path; it is the counterparty the
// engine is tested and demonstrated against (DESIGN.md section 7). It must
// not be imported by production paths other than demo, paper and backtest
// wiring.
package venue
