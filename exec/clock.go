package exec

import "sync/atomic"

// Clock is the measured offset between the local clock and a venue's:
// venue time ≈ local time + Offset. Each sample is a request to the venue's
// time endpoint sent at local time t0, answered with the venue's time ts
// and received at t1; the sample's offset is ts - (t0+t1)/2, good to within
// half its round trip. The sample with the shortest round trip among the
// recent ones is kept. Safe for concurrent use; reading it is one atomic
// load.
type Clock struct {
	offset atomic.Int64 // ns
	rtt    atomic.Int64 // ns of the kept sample; 0 before the first
	at     atomic.Int64 // local time of the kept sample, Unix ns
}

// ClockSampleTTL is how long the best sample stands against samples with
// longer round trips (the clocks drift apart slowly).
const ClockSampleTTL = int64(5 * 60 * 1e9)

// Sample records one measurement: local send and receive times and the
// venue's time, all Unix ns.
func (c *Clock) Sample(t0, t1, venue int64) {
	if t1 < t0 {
		return
	}
	rtt := t1 - t0
	old := c.rtt.Load()
	if old != 0 && rtt > old && t1-c.at.Load() < ClockSampleTTL {
		return // a better recent sample stands
	}
	c.offset.Store(venue - (t0+t1)/2)
	c.rtt.Store(max(rtt, 1))
	c.at.Store(t1)
}

// Offset is venue time minus local time, ns (0 before any sample).
func (c *Clock) Offset() int64 { return c.offset.Load() }

// RTT is the round trip of the sample the offset comes from, ns.
func (c *Clock) RTT() int64 { return c.rtt.Load() }

// VenueTime converts a local Unix ns time to the venue's clock.
func (c *Clock) VenueTime(local int64) int64 { return local + c.offset.Load() }
