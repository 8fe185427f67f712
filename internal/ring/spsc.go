package ring

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync/atomic"

	"arbmm/internal/seqlock"
)

// MaxCapacity is the largest capacity New accepts.
const MaxCapacity = 1 << 30

// ErrCapacity is returned (wrapped) by New for a capacity that is not a power
// of two in [1, MaxCapacity].
var ErrCapacity = errors.New("ring: bad capacity")

// pad is the separation between fields written by different goroutines: two
// 64-byte cache lines, because the adjacent-line prefetcher of current x86
// cores pulls lines in pairs, so data 64 bytes apart can still false-share.
const pad = 128

// SPSC is a bounded single-producer single-consumer ring of T values, copied
// in and out. Exactly one goroutine produces (TryPush, Push) and exactly one
// consumes (TryPop, PopBatch); see the package doc for the memory-ordering
// argument. Each group of fields below sits on its own padded cache line.
// An SPSC must not be copied after first use.
type SPSC[T any] struct {
	_ [pad]byte

	// Read-only after New: shared by both sides without contention.
	buf  []T
	mask uint64
	_    [pad - 32]byte

	// tail is the producer's published sequence: values [0, tail) have been
	// pushed. Written by the producer, read by the consumer on refill.
	tail atomic.Uint64
	_    [pad - 8]byte

	// Producer-private: its own tail (to avoid re-reading the shared line)
	// and its last view of head.
	ptail uint64
	phead uint64
	_     [pad - 16]byte

	// head is the consumer's published sequence: values [0, head) have been
	// popped. Written by the consumer, read by the producer when the ring
	// looks full.
	head atomic.Uint64
	_    [pad - 8]byte

	// Consumer-private: its own head and its last view of tail.
	chead uint64
	ctail uint64
	_     [pad - 16]byte
}

// New returns an empty ring holding up to capacity values, with every slot
// allocated up front. capacity must be a power of two in [1, MaxCapacity].
func New[T any](capacity int) (*SPSC[T], error) {
	if capacity < 1 || capacity > MaxCapacity {
		return nil, fmt.Errorf("%w: %d is outside [1, %d]", ErrCapacity, capacity, MaxCapacity)
	}
	if capacity&(capacity-1) != 0 {
		next := 1 << bits.Len(uint(capacity))
		return nil, fmt.Errorf("%w: %d is not a power of two (next is %d)", ErrCapacity, capacity, next)
	}
	return &SPSC[T]{buf: make([]T, capacity), mask: uint64(capacity - 1)}, nil
}

// Cap returns the number of values the ring holds when full.
func (r *SPSC[T]) Cap() int { return len(r.buf) }

// Len returns the number of values pushed and not yet popped. From the
// producer or consumer goroutine it is exact as far as that side's own
// operations go; from any other goroutine it is a snapshot that may already
// be stale. It is always in [0, Cap()].
func (r *SPSC[T]) Len() int {
	// head first: tail only grows, so a later tail load is >= this head.
	h := r.head.Load()
	t := r.tail.Load()
	n := t - h
	if n > uint64(len(r.buf)) { // head moved on between the two loads
		n = uint64(len(r.buf))
	}
	return int(n)
}

// TryPush copies *v into the ring and reports true, or reports false without
// blocking when the ring is full. Producer only.
func (r *SPSC[T]) TryPush(v *T) bool {
	t := r.ptail
	if t-r.phead == uint64(len(r.buf)) {
		r.phead = r.head.Load()
		if t-r.phead == uint64(len(r.buf)) {
			return false
		}
	}
	r.buf[t&r.mask] = *v
	r.ptail = t + 1
	seqlock.StoreUint64(&r.tail, t+1)
	return true
}

// Push copies *v into the ring, waiting while it is full. After the n-th
// consecutive failed attempt (n = 1, 2, …) it calls idle(n), which decides
// how to wait (cpu.Idler's Idle method fits); a nil idle yields the processor
// with runtime.Gosched. Push returns only once the value is in the ring, so
// a consumer that stops consuming blocks the producer for good: that is the
// back-pressure. Producer only.
func (r *SPSC[T]) Push(v *T, idle func(n int)) {
	for n := 1; !r.TryPush(v); n++ {
		if idle == nil {
			runtime.Gosched()
		} else {
			idle(n)
		}
	}
}

// TryPop copies the oldest value into *dst and reports true, or reports false
// when the ring is empty. Consumer only.
func (r *SPSC[T]) TryPop(dst *T) bool {
	h := r.chead
	if h == r.ctail {
		r.ctail = r.tail.Load()
		if h == r.ctail {
			return false
		}
	}
	*dst = r.buf[h&r.mask]
	r.chead = h + 1
	seqlock.StoreUint64(&r.head, h+1)
	return true
}

// PopBatch copies up to len(dst) of the oldest values into dst, oldest first,
// and returns how many it copied (0 when the ring is empty). The slots are
// released to the producer with a single store. Consumer only.
func (r *SPSC[T]) PopBatch(dst []T) int {
	h := r.chead
	avail := r.ctail - h
	if avail < uint64(len(dst)) {
		// Refresh only when the cached view cannot fill dst.
		r.ctail = r.tail.Load()
		avail = r.ctail - h
	}
	n := min(avail, uint64(len(dst)))
	if n == 0 {
		return 0
	}
	i := h & r.mask
	c := copy(dst[:n], r.buf[i:])
	if uint64(c) < n { // wrapped
		copy(dst[c:n], r.buf)
	}
	r.chead = h + n
	seqlock.StoreUint64(&r.head, h+n)
	return int(n)
}
