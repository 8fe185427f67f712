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
