package engine

import (
	"sync/atomic"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/market"
	"arbmm/internal/ring"
)

// Watched is one book a feed writes, as the core knows it: the
// instrument's index and how to find its book on the feed goroutine (a
// Kraken feed creates its books when the pair first appears).
type Watched struct {
	Inst int32
	Book func() *book.Book
}

// BookEvents wraps a feed's Session: after every frame the feed applied
// (on the feed goroutine, the books' writer) it pushes an EvBook for each
// watched book that took a message. A full ring drops the event (counted):
// the book itself holds the state, and the next change brings the core
// back to it.
type BookEvents struct {
	feed.Session
	venue   market.Venue
	up      bool
	ring    *ring.SPSC[Event]
	watch   []Watched
	books   []*book.Book
	seen    []uint64
	Dropped atomic.Uint64
}

// NewBookEvents wraps s, the feed of venue v. It also reports the
// connection's state: up at its first frame, down when it drops (the
// kill switch acts on a venue down too long).
func NewBookEvents(s feed.Session, v market.Venue, r *ring.SPSC[Event], watch []Watched) *BookEvents {
	return &BookEvents{Session: s, venue: v, ring: r, watch: watch, books: make([]*book.Book, len(watch)), seen: make([]uint64, len(watch))}
}

// Down reports the connection lost, then tells the feed.
func (b *BookEvents) Down(err error) {
	if b.up {
		b.up = false
		ev := Event{Kind: EvVenue, Venue: b.venue}
		b.ring.Push(&ev, nil) // a state change is never dropped
	}
	b.Session.Down(err)
}

// Frame hands the frame to the feed, then reports the books it changed.
func (b *BookEvents) Frame(frame []byte, recvNs int64) {
	if !b.up {
		b.up = true
		ev := Event{Kind: EvVenue, Venue: b.venue, Up: true, RecvNs: recvNs}
		b.ring.Push(&ev, nil)
	}
	b.Session.Frame(frame, recvNs)
	for i := range b.watch {
		bk := b.books[i]
		if bk == nil {
			if bk = b.watch[i].Book(); bk == nil {
				continue
			}
			b.books[i] = bk
		}
		m := bk.Stats().Messages
		if m == b.seen[i] {
			continue
		}
		b.seen[i] = m
		ev := Event{Kind: EvBook, Inst: b.watch[i].Inst, RecvNs: recvNs, Book: bk}
		if !b.ring.TryPush(&ev) {
			b.Dropped.Add(1)
		}
	}
}

// Reports returns a gateway's OnReport callback: it copies each report
// into the ring, waiting while the ring is full (a report is never
// dropped). The gateway's reader goroutine is the ring's one producer.
func Reports(r *ring.SPSC[Event], inst func(*market.Report) int32) func(*market.Report) {
	var ev Event
	return func(rep *market.Report) {
		ev = Event{Kind: EvReport, RecvNs: rep.RecvTime, Report: *rep}
		if inst != nil {
			ev.Inst = inst(rep)
		}
		r.Push(&ev, nil)
	}
}

// FeedTap is a feed Session whose book and connection events reach the
// core once Attach gives it the core's ring: feeds are built before the
// core, and no frame arrives before their connections run.
type FeedTap struct {
	Inner  feed.Session
	Venue  market.Venue
	Watch  []Watched
	events *BookEvents
}

// Attach wires the tap to a ring of the core; call it before the
// connection runs.
func (t *FeedTap) Attach(r *ring.SPSC[Event]) { t.events = NewBookEvents(t.Inner, t.Venue, r, t.Watch) }

// Subscribe, Ping, Frame and Down implement feed.Session.
func (t *FeedTap) Subscribe(dst [][]byte) [][]byte  { return t.Inner.Subscribe(dst) }
func (t *FeedTap) Ping() []byte                     { return t.Inner.Ping() }
func (t *FeedTap) Frame(frame []byte, recvNs int64) { t.events.Frame(frame, recvNs) }
func (t *FeedTap) Down(err error)                   { t.events.Down(err) }
