//go:build amd64 && !race

package seqlock

import "sync/atomic"

// StoreWords stores src[i] into dst[i] for every i < min(len(dst), len(src)),
// each as one 8-byte release store.
func StoreWords(dst []atomic.Int64, src []int64) {
	n := min(len(dst), len(src))
	if n == 0 {
		return
	}
	storeWords(&dst[0], &src[0], n)
}

//go:noescape
func storeWords(dst *atomic.Int64, src *int64, n int)
