package feed

import "sync/atomic"

// Counters are a venue connection's frame-level counters, kept by the feed
// goroutine and readable from any goroutine. Book-level counters (updates,
// gaps, checksums, resyncs) live in each book.Book's Stats.
type Counters struct {
	Frames       atomic.Uint64 // frames handled
	Bytes        atomic.Uint64 // bytes of those frames
	DecodeErrors atomic.Uint64 // frames that were not valid JSON of a known shape
	Unknown      atomic.Uint64 // frames for an unknown symbol or unsubscribed channel
	Ignored      atomic.Uint64 // well-formed frames the feed does not use (trades, klines, events)
	Resyncs      atomic.Uint64 // resyncs requested (snapshot refetch or resubscribe)
}

// CounterValues is a plain copy of Counters.
type CounterValues struct {
	Frames, Bytes, DecodeErrors, Unknown, Ignored, Resyncs uint64
}

// Load returns a copy of the counters.
func (c *Counters) Load() CounterValues {
	return CounterValues{
		Frames:       c.Frames.Load(),
		Bytes:        c.Bytes.Load(),
		DecodeErrors: c.DecodeErrors.Load(),
		Unknown:      c.Unknown.Load(),
		Ignored:      c.Ignored.Load(),
		Resyncs:      c.Resyncs.Load(),
	}
}
