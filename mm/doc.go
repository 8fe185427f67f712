// Package mm holds arbmm's market-making strategies. Like arb's, they are
// plain structs called synchronously by the engine core with book
// snapshots, inventory and event times; they decide quotes and never send
// orders, read a clock, do I/O or allocate.
//
// So far: the Avellaneda–Stoikov maths (finite and infinite horizon), the
// online volatility and order-arrival estimators, and Quoter, which turns
// them into a layered two-sided ladder on the venue's tick and step,
// post-only, skewed toward a target inventory, one-sided beyond the
// inventory bound, pulled when the book or the reference is not to be
// trusted. Quote management against resting orders, cross-exchange market
// making and the short-horizon signal come next (issue 7).
//
// Ownership: every type here belongs to the engine goroutine that calls it.
package mm
