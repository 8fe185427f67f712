// Package seqlock holds the one piece of the book's seqlock that sync/atomic
// cannot express cheaply: publishing a block of words with release stores.
//
// sync/atomic's Store is sequentially consistent; on amd64 it compiles to
// XCHG, a full barrier that costs ~5 ns here, so publishing a top-20 book
// snapshot (80+ words) that way costs ~400 ns, more than the whole
// decode-and-apply budget of a message. A seqlock needs only release order
// for the data words: the sequence word's own atomic stores fence the block
// on both sides. On amd64 every aligned 8-byte MOV is single-copy atomic and
// the hardware never reorders stores with stores, so StoreWords is a plain
// MOVQ loop written in assembly (so the compiler can neither split, merge
// nor reorder the stores). Readers use atomic loads, which on amd64 are plain
// MOVs.
//
// StoreUint64 and StoreInt64 do the same for single words that only need
// release order: a seqlock's own sequence word (on amd64 stores are never
// reordered with stores, and loads never with loads, so a release store of
// the odd sequence before the block and of the even one after it is the
// whole write protocol, as in Linux's x86 seqlocks) and counters published
// by a single writer.
//
// On other architectures, and in -race builds (so the race detector sees
// every access), StoreWords falls back to one atomic Store per word.
//
// StoreWords is safe only inside a seqlock write section owned by a single
// writer; it does not allocate.
package seqlock
