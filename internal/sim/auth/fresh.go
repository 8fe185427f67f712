package auth

import (
	"sync"
	"time"
)

const (
	// DefaultRecvWindow is Binance's recvWindow when the request omits it.
	DefaultRecvWindow = 5000
	// MaxRecvWindow is the largest recvWindow Binance accepts, in ms.
	MaxRecvWindow = 60000
	// MaxAhead is how far, in ms, a Binance timestamp may run ahead of the
	// server's clock.
	MaxAhead = 1000
)

// CheckBinanceTimestamp applies Binance's timing rule to a SIGNED request:
// it is accepted when now-recvWindow ≤ ts ≤ now+1000 (milliseconds). A
// recvWindow of 0 means the parameter was absent and stands for 5000; a
// negative one or one above 60000 is ErrRecvWindow.
func CheckBinanceTimestamp(now time.Time, tsMs, recvWindowMs int64) error {
	if recvWindowMs == 0 {
		recvWindowMs = DefaultRecvWindow
	}
	if recvWindowMs < 0 || recvWindowMs > MaxRecvWindow {
		return ErrRecvWindow
	}
	n := now.UnixMilli()
	if tsMs > n+MaxAhead {
		return ErrTimestampAhead
	}
	if tsMs < n-recvWindowMs {
		return ErrTimestampOld
	}
	return nil
}

// replayKeep is how long after its timestamp a signature is remembered: the
// largest recvWindow plus the allowed clock lead, after which the timestamp
// check refuses the request anyway.
const replayKeep = MaxRecvWindow + MaxAhead

// DefaultReplayCap is the most signatures a ReplayCache from NewReplayCache
// remembers.
const DefaultReplayCap = 1 << 20

// ReplayCache remembers accepted Binance signatures until their timestamp
// has left the largest window (61 s), and reports one seen again. Binance
// itself keeps no nonce; this is the simulator's stricter check. Memory is
// bounded by expiry and by a cap on entries, past which the oldest are
// forgotten. It is safe for concurrent use.
type ReplayCache struct {
	mu  sync.Mutex
	cap int
	m   map[string]uint64 // signature → sequence number of its queue entry
	q   []replayEntry     // insertion order; q[head:] live
	hd  int
	seq uint64 // sequence number of q[hd]
}

type replayEntry struct {
	sig    string
	expire int64 // unix ms after which the entry is dropped
}

// NewReplayCache returns a cache holding at most DefaultReplayCap entries.
func NewReplayCache() *ReplayCache { return NewReplayCacheCap(DefaultReplayCap) }

// NewReplayCacheCap returns a cache holding at most max entries (at least 1).
func NewReplayCacheCap(max int) *ReplayCache {
	if max < 1 {
		max = 1
	}
	return &ReplayCache{cap: max, m: make(map[string]uint64)}
}

// Seen reports whether sig was already accepted (a replay). Otherwise it
// remembers sig until tsMs+61 s and returns false. Pass the decoded
// signature bytes, so that hex case or percent-encoding variants of one
// signature count as the same.
func (r *ReplayCache) Seen(sig []byte, tsMs int64, now time.Time) bool {
	n := now.UnixMilli()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(n)
	if s, ok := r.m[string(sig)]; ok {
		if r.q[s-r.seq+uint64(r.hd)].expire >= n {
			return true
		}
	}
	exp := tsMs + replayKeep
	if exp < n {
		return false // already outside every window: nothing to remember
	}
	for len(r.q)-r.hd >= r.cap {
		r.dropHead()
	}
	if r.hd > 0 && r.hd >= len(r.q)/2 {
		// Compact: keep the live tail at the front, keep capacity.
		k := copy(r.q, r.q[r.hd:])
		clear(r.q[k:])
		r.q = r.q[:k]
		r.hd = 0
	}
	key := string(sig)
	r.m[key] = r.seq + uint64(len(r.q)-r.hd)
	r.q = append(r.q, replayEntry{sig: key, expire: exp})
	return false
}

// Len returns the number of remembered signatures.
func (r *ReplayCache) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.q) - r.hd
}

// expire drops entries from the head while they have expired. An entry
// queued behind an unexpired one stays until that one goes (at most about a
// minute) and is treated as absent by Seen meanwhile.
func (r *ReplayCache) expire(n int64) {
	for r.hd < len(r.q) && r.q[r.hd].expire < n {
		r.dropHead()
	}
}

func (r *ReplayCache) dropHead() {
	e := &r.q[r.hd]
	if s, ok := r.m[e.sig]; ok && s == r.seq {
		delete(r.m, e.sig)
	}
	*e = replayEntry{}
	r.hd++
	r.seq++
}
