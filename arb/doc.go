// Package arb will hold arbmm's arbitrage strategies: cross-exchange
// taker/taker arbitrage for any pair listed on two or more venues, and
// triangular arbitrage. Strategies are plain structs called synchronously
// by the engine core with read-only book views, positions and event times;
// they return order intents and never send orders, read a clock or do I/O.
//
// The package is laid out now so that the repository's top level is the
// architecture (DESIGN.md section 2); its code arrives with the engine core.
package arb
