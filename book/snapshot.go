package book

import (
	"sync/atomic"

	"arbmm/internal/market"
	"arbmm/internal/seqlock"
)

// Top is a consistent copy of a book's best levels, taken by Read. It is a
// plain value owned by the reader.
type Top struct {
	Version  uint64 // publication number; increases with every snapshot
	Seq      int64  // exchange sequence of the last message before publication
	ExchTime int64  // exchange time of that message, Unix ns
	RecvTime int64  // local receive time of that message, Unix ns
	State    State
	NBids    int           // valid entries in Bids
	NAsks    int           // valid entries in Asks
	Bids     [MaxTop]Level // best first
	Asks     [MaxTop]Level // best first
}

// BestBid returns the best bid and whether there is one.
func (t *Top) BestBid() (Level, bool) { return t.Bids[0], t.NBids > 0 }

// BestAsk returns the best ask and whether there is one.
func (t *Top) BestAsk() (Level, bool) { return t.Asks[0], t.NAsks > 0 }

// Side returns the valid levels of side s, best first.
func (t *Top) Side(s market.Side) []Level {
	if s == market.Bid {
		return t.Bids[:t.NBids]
	}
	return t.Asks[:t.NAsks]
}

// Snapshot word layout.
const (
	wVersion = iota
	wSeq
	wExch
	wRecv
	wState
	wNBids
	wNAsks
	wLevels // bids (price, qty) × MaxTop, then asks
	nWords  = wLevels + 4*MaxTop
)

// slot is one of the two alternating snapshot buffers; seq is odd while the
// writer fills it.
type slot struct {
	seq   atomic.Uint64
	words [nWords]atomic.Int64
}

// publish builds the snapshot image in writer-owned memory and copies it
// into the slot the readers of the previous version are not using, inside
// that slot's sequence window, then announces it. Only the levels that
// changed since that slot was last written (two publishes ago) are rebuilt
// and copied. The copies use seqlock's release stores (~0.3 ns a word,
// against ~5 ns for atomic.Store). Writer only.
func (b *Book) publish() {
	b.version++
	v := b.version
	st := b.State()
	img := &b.img
	img[wVersion] = int64(v)
	img[wSeq] = b.seq
	img[wExch] = b.exchTime
	img[wRecv] = b.recvTime
	img[wState] = int64(st)
	var from, to [2]int // word ranges of each side to copy
	for si := range b.sides {
		sd := &b.sides[si]
		n := min(sd.hi-sd.lo, b.cfg.TopN)
		img[wNBids+si] = int64(n)
		need := min(b.dirty[si], b.prevDirty[si], n)
		base := wLevels + si*2*MaxTop
		w := img[base:]
		for i := need; i < n; i++ {
			e := &sd.e[sd.hi-1-i]
			w[2*i] = sd.sign * e.key
			w[2*i+1] = e.qty
		}
		from[si], to[si] = base+2*need, base+2*n
	}
	sl := &b.slots[v&1]
	s := sl.seq.Load()
	seqlock.StoreUint64(&sl.seq, s+1)
	seqlock.StoreWords(sl.words[:wLevels], img[:wLevels])
	for si := range from {
		if from[si] < to[si] {
			seqlock.StoreWords(sl.words[from[si]:to[si]], img[from[si]:to[si]])
		}
	}
	seqlock.StoreUint64(&sl.seq, s+2)
	seqlock.StoreUint64(&b.pub, v)
	b.prevDirty = b.dirty
	b.dirty = [2]int{MaxTop, MaxTop}
	b.topDirty = false
	b.lastState = st
	b.w.Publishes++
}

// Read copies the newest published snapshot into dst and returns how many
// times it had to retry because the writer overwrote the slot while it was
// copying (rare: the writer alternates slots, so it must publish twice during
// one copy). Any goroutine; no allocation.
func (b *Book) Read(dst *Top) (retries int) {
	for ; ; retries++ {
		v := b.pub.Load()
		sl := &b.slots[v&1]
		s1 := sl.seq.Load()
		if s1&1 != 0 {
			continue
		}
		dst.Version = uint64(sl.words[wVersion].Load())
		dst.Seq = sl.words[wSeq].Load()
		dst.ExchTime = sl.words[wExch].Load()
		dst.RecvTime = sl.words[wRecv].Load()
		dst.State = State(sl.words[wState].Load())
		nb := clampTop(sl.words[wNBids].Load())
		na := clampTop(sl.words[wNAsks].Load())
		for i := 0; i < nb; i++ {
			dst.Bids[i].Price = market.Price(sl.words[wLevels+2*i].Load())
			dst.Bids[i].Qty = market.Qty(sl.words[wLevels+2*i+1].Load())
		}
		base := wLevels + 2*MaxTop
		for i := 0; i < na; i++ {
			dst.Asks[i].Price = market.Price(sl.words[base+2*i].Load())
			dst.Asks[i].Qty = market.Qty(sl.words[base+2*i+1].Load())
		}
		if sl.seq.Load() == s1 {
			dst.NBids, dst.NAsks = nb, na
			return retries
		}
	}
}

// clampTop bounds a count read from a slot that may be mid-write.
func clampTop(n int64) int {
	if n < 0 {
		return 0
	}
	if n > MaxTop {
		return MaxTop
	}
	return int(n)
}

// Stats are a book's counters. Messages, Updates, DeleteMisses, Dropped,
// Publishes and Crossed are kept by the book; Resyncs, Gaps and Checksum*
// are noted by the feed through the book so that one place holds them.
type Stats struct {
	Messages     uint64 // venue messages committed
	Updates      uint64 // level changes applied (inserts, replaces, deletes)
	DeleteMisses uint64 // deletes of levels the book did not hold
	Dropped      uint64 // levels dropped or evicted because a side was full
	Publishes    uint64 // top-N snapshots published
	Crossed      uint64 // commits that found the book crossed
	Resyncs      uint64 // resyncs started
	Gaps         uint64 // sequence gaps detected by the feed
	ChecksumOK   uint64 // checksums verified equal
	ChecksumFail uint64 // checksum mismatches
}

const nStats = 10

// statsAtomic mirrors Stats for readers; store writes only changed words.
type statsAtomic struct {
	v    [nStats]atomic.Uint64
	last [nStats]uint64 // writer-only: what v holds
}

func (s *Stats) words() [nStats]uint64 {
	return [nStats]uint64{s.Messages, s.Updates, s.DeleteMisses, s.Dropped, s.Publishes, s.Crossed, s.Resyncs, s.Gaps, s.ChecksumOK, s.ChecksumFail}
}

func (a *statsAtomic) store(s *Stats) {
	w := s.words()
	for i, x := range w {
		if a.last[i] != x {
			a.last[i] = x
			seqlock.StoreUint64(&a.v[i], x)
		}
	}
}

func (a *statsAtomic) load() Stats {
	var w [nStats]uint64
	for i := range w {
		w[i] = a.v[i].Load()
	}
	return Stats{w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9]}
}
