// Package match is the matching engine and account ledger behind arbmm's
// simulated exchanges (internal/sim): a price-time-priority limit order book
// per pair (Book) that settles every fill against a shared Ledger of free
// and locked balances per account and asset.
//
// Ownership: nothing here is safe for concurrent use. A venue (one Ledger,
// one Book per listed pair, one IDs counter) is owned by whoever holds the
// venue's lock (internal/sim/venue); every method of Ledger and Book is
// called with it held. The Listener and the Ledger's change hook are called
// synchronously, in order, from inside those calls, and must not call back
// into the Book.
//
// Numbers are int64 mantissas: an amount of an asset is mantissa×10^Exp of
// its Asset, a price is mantissa×10^PriceExp quote per base, a quantity is
// mantissa×10^QtyExp base (exponents are usually negative: Exp -8 is eight
// decimal places). NewBook insists that price×qty and qty convert to the
// ledger's quote and base units exactly; fees round up, in integers. There is
// no float and no clock: callers pass now (ns) and get it back in the orders.
//
// Guarantees, checked by the property and fuzz tests after every operation:
// assets are conserved (every fee is credited to FeeAccount), no balance is
// negative, an account's locked amount of an asset is exactly the sum of its
// open orders' reservations, and the book is never crossed.
//
// Allocation: orders of untracked accounts (background flow) and price
// levels are recycled through free lists, so a venue in steady state
// allocates little; orders of tracked accounts are kept (up to
// BookConfig.MaxClosed per book) for queries and are never recycled.
package match
