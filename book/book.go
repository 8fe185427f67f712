package book

import (
	"errors"
	"fmt"
	"sync/atomic"

	"arbmm/internal/market"
	"arbmm/internal/seqlock"
)

// MaxTop is the largest number of levels per side a snapshot publishes.
const MaxTop = 32

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxDepth = 1000
	DefaultTopN     = 20
	maxMaxDepth     = 1 << 20
)

// Errors returned by writer methods. They are preallocated sentinels.
var (
	ErrBadLevel = errors.New("book: level with non-positive price or negative quantity")
	ErrCrossed  = errors.New("book: crossed (best bid >= best ask)")
)

// Level is one price level: a price and the total quantity resting there.
type Level struct {
	Price market.Price
	Qty   market.Qty
}

// State is a book's trading state.
type State uint32

// Book states. Only a Live book may be traded on.
const (
	Syncing State = iota // waiting for a snapshot or for the stream to line up with it
	Live                 // consistent with the venue
	Stale                // inconsistency detected; a resync is under way
)

// String returns "syncing", "live" or "stale".
func (s State) String() string {
	switch s {
	case Syncing:
		return "syncing"
	case Live:
		return "live"
	case Stale:
		return "stale"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// Config sizes a Book. Zero fields take the defaults.
type Config struct {
	Venue  market.Venue // for messages
	Symbol string       // for messages
	// MaxDepth is the number of levels kept per side (default 1000). A level
	// worse than all kept levels of a full side is dropped (counted); a
	// better one evicts the worst.
	MaxDepth int
	// TopN is the number of levels per side published to readers (default
	// 20, at most MaxTop).
	TopN int
}

// Validate reports what is wrong with c after defaults.
func (c *Config) Validate() error {
	if c.MaxDepth < 1 || c.MaxDepth > maxMaxDepth {
		return fmt.Errorf("book: %s %s: max depth %d out of range 1..%d", c.Venue, c.Symbol, c.MaxDepth, maxMaxDepth)
	}
	if c.TopN < 1 || c.TopN > MaxTop {
		return fmt.Errorf("book: %s %s: top-n %d out of range 1..%d", c.Venue, c.Symbol, c.TopN, MaxTop)
	}
	return nil
}

// Book is a single-writer L2 replica. See the package comment for which
// goroutine may call what. A Book must not be copied after New.
type Book struct {
	_   noCopy
	cfg Config

	sides [2]side // indexed by market.Side

	// Writer-only state.
	seq      int64 // exchange sequence / update id of the last applied message
	exchTime int64 // exchange time of the last applied message, Unix ns
	recvTime int64 // local receive time of the last applied message, Unix ns
	topDirty bool  // a top-N level changed since the last publish
	// dirty is, per side, the distance from the best of the nearest level
	// changed since the last publish (MaxTop: none); prevDirty is the same
	// for the publish before, whose slot the next publish overwrites.
	dirty, prevDirty [2]int
	version          uint64
	w                Stats         // counters, published to ctr at Commit
	img              [nWords]int64 // snapshot image built by publish
	lastState        State

	// Shared with readers.
	state    atomic.Uint32
	lastRecv atomic.Int64
	pub      atomic.Uint64 // version of the newest complete snapshot
	slots    [2]slot
	ctr      statsAtomic
}

// New returns an empty Syncing book with all level storage allocated.
func New(cfg Config) (*Book, error) {
	if cfg.MaxDepth == 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	if cfg.TopN == 0 {
		cfg.TopN = DefaultTopN
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Book{cfg: cfg}
	for i := range b.sides {
		b.sides[i].init(cfg.MaxDepth, market.Side(i))
	}
	b.state.Store(uint32(Syncing))
	b.publish() // version 1: empty, syncing
	return b, nil
}

// Config returns the book's configuration (with defaults applied).
func (b *Book) Config() Config { return b.cfg }

// Set applies one level change on side s: quantity 0 deletes the level at
// px, any other quantity replaces it (venues send absolute quantities).
// Deleting a level the book does not hold is not an error (venues do it
// routinely for levels past the snapshot's depth). Writer only; no
// allocation.
func (b *Book) Set(s market.Side, px market.Price, q market.Qty) error {
	if px <= 0 || q < 0 || s > market.Ask {
		return ErrBadLevel
	}
	sd := &b.sides[s]
	d := sd.set(int64(px), int64(q), &b.w)
	if d >= 0 && d < b.cfg.TopN {
		b.topDirty = true
		b.dirty[s] = min(b.dirty[s], d)
	}
	return nil
}

// Clear removes every level from both sides (before a snapshot is loaded).
// Writer only.
func (b *Book) Clear() {
	for i := range b.sides {
		b.sides[i].clear()
	}
	b.topDirty = true
	b.dirty = [2]int{}
}

// Truncate drops the levels of each side past depth from the best, as venues
// that send a fixed depth expect (they do not send deletes for levels pushed
// out of range). Writer only; O(1).
func (b *Book) Truncate(depth int) {
	for i := range b.sides {
		sd := &b.sides[i]
		if n := sd.hi - sd.lo; n > depth {
			sd.lo = sd.hi - depth
			if depth < b.cfg.TopN {
				b.topDirty = true
				b.dirty[i] = min(b.dirty[i], depth)
			}
		}
	}
}

// Depth returns the number of levels held on side s. Writer only.
func (b *Book) Depth(s market.Side) int { return b.sides[s].hi - b.sides[s].lo }

// Level returns the i-th level from the best on side s (0 is the best);
// i must be below Depth(s). Writer only.
func (b *Book) Level(s market.Side, i int) Level {
	sd := &b.sides[s]
	j := sd.hi - 1 - i
	return Level{Price: market.Price(sd.price(j)), Qty: market.Qty(sd.e[j].qty)}
}

// AppendLevels appends every level held on side s to dst, best first, and
// returns the extended slice (no allocation when dst has room). Writer
// only.
func (b *Book) AppendLevels(dst []Level, s market.Side) []Level {
	sd := &b.sides[s]
	for j := sd.hi - 1; j >= sd.lo; j-- {
		dst = append(dst, Level{Price: market.Price(sd.price(j)), Qty: market.Qty(sd.e[j].qty)})
	}
	return dst
}

// Best returns the best level on side s and whether the side is non-empty.
// Writer only.
func (b *Book) Best(s market.Side) (Level, bool) {
	if b.Depth(s) == 0 {
		return Level{}, false
	}
	return b.Level(s, 0), true
}

// Find returns the quantity at price px on side s, or 0. Writer only.
func (b *Book) Find(s market.Side, px market.Price) market.Qty {
	sd := &b.sides[s]
	idx, found := sd.search(sd.key(int64(px)))
	if !found {
		return 0
	}
	return market.Qty(sd.e[idx].qty)
}

// Crossed reports whether the best bid is at or above the best ask. Writer
// only.
func (b *Book) Crossed() bool {
	bid, okb := b.Best(market.Bid)
	ask, oka := b.Best(market.Ask)
	return okb && oka && bid.Price >= ask.Price
}

// Commit ends one venue message: it records the message's exchange sequence
// and times (Unix ns), checks that the book is not crossed, and publishes a
// new top-N snapshot if the top or the state changed. It reports whether a
// snapshot was published, and ErrCrossed (after marking the book Stale) if
// the book is crossed. Writer only; no allocation.
func (b *Book) Commit(seq, exchTime, recvTime int64) (published bool, err error) {
	b.seq, b.exchTime, b.recvTime = seq, exchTime, recvTime
	b.w.Messages++
	seqlock.StoreInt64(&b.lastRecv, recvTime)
	if b.Crossed() {
		b.w.Crossed++
		err = ErrCrossed
		b.SetState(Stale)
	}
	if b.topDirty || b.lastState != b.State() {
		b.publish()
		published = true
	}
	b.ctr.store(&b.w)
	return published, err
}

// Seq returns the exchange sequence recorded by the last Commit. Writer only.
func (b *Book) Seq() int64 { return b.seq }

// SetState changes the book's state. Readers see it at once through State;
// a change to Syncing or Stale is also published in a new snapshot at once,
// so that no reader of Top keeps trusting a book the feed has given up on.
// A change to Live is published by the next Commit, after its crossed-book
// check. Writer only.
func (b *Book) SetState(s State) {
	if State(b.state.Load()) == s {
		return
	}
	b.state.Store(uint32(s))
	if s != Live {
		b.publish()
		b.ctr.store(&b.w)
	}
}

// Resync marks the book Stale and counts one resync; the feed then reloads it
// from a snapshot. Writer only.
func (b *Book) Resync() {
	b.w.Resyncs++
	b.SetState(Stale)
	b.ctr.store(&b.w)
}

// NoteGap counts a sequence gap found by the feed. Writer only.
func (b *Book) NoteGap() { b.w.Gaps++; b.ctr.store(&b.w) }

// NoteChecksum counts one checksum verification, failed or not. Writer only.
func (b *Book) NoteChecksum(ok bool) {
	if ok {
		b.w.ChecksumOK++
	} else {
		b.w.ChecksumFail++
	}
	b.ctr.store(&b.w)
}

// State returns the book's state. Any goroutine.
func (b *Book) State() State { return State(b.state.Load()) }

// LastRecv returns the local receive time (Unix ns) of the last committed
// message. Any goroutine.
func (b *Book) LastRecv() int64 { return b.lastRecv.Load() }

// Stats returns the book's counters as of the last Commit. Any goroutine.
func (b *Book) Stats() Stats { return b.ctr.load() }

type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
