// Package arb holds arbmm's arbitrage strategies. They are plain structs
// called synchronously by the engine core with read-only book snapshots
// (book.Top), balances and event times; they return order intents into a
// caller's slice and never send orders, read a clock, do I/O or allocate.
//
//   - Cross finds cross-exchange taker/taker arbitrage of one pair listed on
//     two or more venues: it walks one venue's asks against another's bids
//     while the marginal level pays both taker fees, a safety margin and
//     the minimum edge, sizes the trade by balances, steps, minimums and
//     the max order size, and emits both legs as IOC limits at protective
//     prices.
//   - Legs tracks those attempts and hedges the residual a failed or
//     partly filled leg leaves, on the best venue within a slippage
//     allowance, with unhedged notional and time capped and every event
//     counted.
//   - Tri finds triangular arbitrage within one venue (A/Q, B/A, B/Q).
//
// Ownership: every type here belongs to the engine goroutine that calls it.
package arb
