//go:build amd64 && !race

package seqlock

import (
	"sync/atomic"
	"unsafe"
)

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

// StoreUint64 stores v into *p with one 8-byte release store (a plain MOV
// on amd64, against XCHG for atomic.Uint64.Store). Readers use p.Load.
func StoreUint64(p *atomic.Uint64, v uint64) { storeWord(unsafe.Pointer(p), v) }

// StoreInt64 is StoreUint64 for an atomic.Int64 (the same 8-byte word).
func StoreInt64(p *atomic.Int64, v int64) { storeWord(unsafe.Pointer(p), uint64(v)) }

//go:noescape
func storeWord(p unsafe.Pointer, v uint64)
