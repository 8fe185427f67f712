//go:build !amd64 || race

package seqlock

import "sync/atomic"

// StoreWords stores src[i] into dst[i] for every i < min(len(dst), len(src)),
// each with an atomic store.
func StoreWords(dst []atomic.Int64, src []int64) {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i].Store(src[i])
	}
}

// StoreUint64 stores v into *p (atomically; release order is all callers
// rely on).
func StoreUint64(p *atomic.Uint64, v uint64) { p.Store(v) }

// StoreInt64 is StoreUint64 for an atomic.Int64.
func StoreInt64(p *atomic.Int64, v int64) { p.Store(v) }
