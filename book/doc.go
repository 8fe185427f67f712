// Package book is arbmm's order-book replica: one Book per (venue, pair),
// written by exactly one goroutine (the venue's feed goroutine, which owns
// it) and read by any number of others through a seqlock'd top-N snapshot.
//
// # Writer (the owning feed goroutine only)
//
// Set, Clear, Truncate, Commit, SetState, Resync and the level accessors
// (Depth, Level, Best, Find) are single-writer methods: they take no locks
// and must not be called concurrently with each other. Levels live in arrays
// allocated once by New and sized from Config.MaxDepth; Set is O(log d) in
// the distance d of the level from the best price (a galloping search from
// the best end) and moves only the levels between the change and the nearer
// end of the side, so the common near-the-top update touches a few words.
// Nothing after New allocates.
//
// After applying one venue message the writer calls Commit, which checks the
// book is not crossed and, if any of the top-N levels or the state changed,
// publishes a new top-N snapshot.
//
// # Readers (any goroutine)
//
// Read copies the latest published snapshot into a caller-owned Top. The
// snapshot lives in two alternating slots, each guarded by its own sequence
// counter; every word is written and read with sync/atomic, so `go test
// -race` is clean, and a reader retries only if the writer has lapped it
// twice while it copied. State, Stats and LastRecv are atomic loads.
//
// # State
//
// A book starts Syncing. The feed marks it Live once it has a consistent
// snapshot and Stale on a gap, a checksum mismatch or a crossed book (Commit
// does the last itself); strategies trade only on a Live book.
package book
