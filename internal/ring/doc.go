// Package ring provides SPSC, a bounded single-producer single-consumer
// queue of fixed-size values: the hand-off between a feed or exec-session
// goroutine and the engine core.
//
// # Ownership
//
// An SPSC has exactly one producer goroutine and exactly one consumer
// goroutine for its whole life. Only the producer may call TryPush and Push;
// only the consumer may call TryPop and PopBatch. Len and Cap may be called
// from any goroutine. Two producers (or two consumers) corrupt the ring
// silently: nothing is locked and nothing is checked on the hot path.
//
// # Memory ordering
//
// The ring publishes through two monotonically increasing uint64 sequences:
// tail (written only by the producer: how many values were pushed) and head
// (written only by the consumer: how many were popped). Each side reads the
// other's sequence with atomic.Uint64.Load (an acquire load) and publishes
// its own with a release store:
//
//   - The producer copies a value into slot tail&mask and then stores
//     tail+1. A consumer that loads that tail (or any later one) observes the
//     whole copy: the store releases the slot, the load acquires it.
//   - The consumer copies a value out of slot head&mask and then stores
//     head+1. A producer that loads that head observes that the slot has been
//     read before it overwrites it.
//
// The release store is internal/seqlock's StoreUint64. sync/atomic's Store
// is sequentially consistent, which on amd64 means XCHG, a full barrier; on
// amd64's total store order every plain store already has release
// semantics (stores are not reordered with earlier loads or stores), so
// seqlock.StoreUint64 is a single MOV in assembly that the compiler cannot
// move either. Measured here it halves the cost of a hand-off under load and
// cuts a ping-pong round trip between two cores from ~470 ns to ~100 ns
// (see ring_bench_test.go). On other architectures and under -race it is
// atomic.Uint64.Store, so the race detector sees the whole protocol and
// -race builds are clean.
//
// Values themselves are copied with plain (non-atomic) moves; no torn value
// can be observed because a slot is never read and written at the same time.
//
// # Cost
//
// Each side keeps a private copy of the other side's sequence and reloads it
// only when the copy says the ring is full (producer) or empty (consumer), so
// in steady state a push or pop is one slot copy plus one release store, and
// the shared sequences' cache lines move between cores once per refill rather
// than once per value. The two sequences and the two private copies sit on
// separate padded cache lines so that neither side's writes invalidate the
// other's reads. PopBatch lets the consumer take everything available with
// one store of head.
//
// # Allocation
//
// New allocates the slots once. TryPush, Push, TryPop, PopBatch, Len and Cap
// never allocate.
package ring
