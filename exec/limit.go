package exec

import "time"

// Window mirrors one of a venue's fixed-window limits (Binance: request
// weight per minute per IP, orders per 10 seconds per account), so that the
// session stops before the venue would refuse: a request is sent only if
// its cost fits under Limit less Reserve in the current window. Windows
// are aligned to multiples of Interval since the Unix epoch, as Binance
// aligns them. The venue's own count, read from its response headers
// (X-MBX-USED-WEIGHT-1M, X-MBX-ORDER-COUNT-10S), corrects the local one
// (Observe), and a 429's Retry-After blocks it (Block).
//
// Owned by one goroutine (the session's); no allocation.
type Window struct {
	Limit    int           // the venue's published limit per window
	Interval time.Duration // the window's length
	Reserve  int           // units never used, left for the unexpected (default Limit/20)

	start   int64 // current window's start, Unix ns
	used    int
	blocked int64 // no request before this time, Unix ns
	refused uint64
}

// roll moves the window forward to the one holding now.
func (w *Window) roll(now int64) {
	iv := int64(w.Interval)
	if iv <= 0 {
		iv = int64(time.Minute)
	}
	if start := now - now%iv; start != w.start {
		w.start, w.used = start, 0
	}
}

func (w *Window) reserve() int {
	if w.Reserve > 0 {
		return w.Reserve
	}
	return w.Limit / 20
}

// Take counts cost at time now (Unix ns) and reports true, or reports
// false and counts nothing when it would not fit or the window is blocked.
func (w *Window) Take(cost int, now int64) bool {
	w.roll(now)
	if now < w.blocked || w.used+cost > w.Limit-w.reserve() {
		w.refused++
		return false
	}
	w.used += cost
	return true
}

// Observe corrects the count from the venue's: used is its count for the
// window holding now (Binance's header). The higher of the two is kept, so
// that requests still in flight are not forgotten.
func (w *Window) Observe(used int, now int64) {
	w.roll(now)
	w.used = max(w.used, used)
}

// Block refuses every request until the given time (a 429's Retry-After).
func (w *Window) Block(until int64) { w.blocked = max(w.blocked, until) }

// Used is the count in the window holding now.
func (w *Window) Used(now int64) int {
	w.roll(now)
	return w.used
}

// Refused counts the requests Take turned away.
func (w *Window) Refused() uint64 { return w.refused }

// NextAllowed is the earliest time a request of cost could be sent: now,
// the end of a block, or the start of the next window.
func (w *Window) NextAllowed(cost int, now int64) int64 {
	w.roll(now)
	t := now
	if w.blocked > t {
		t = w.blocked
	}
	if w.used+cost > w.Limit-w.reserve() && t < w.start+int64(w.Interval) {
		t = w.start + int64(w.Interval)
	}
	return t
}

// Counter mirrors a decaying counter limit (Kraken: each call adds to a
// counter that decays at a fixed rate; past Max the venue refuses). A
// request is sent only if its cost keeps the counter at or under Max less
// Reserve. Owned by one goroutine; no allocation.
type Counter struct {
	Max         float64 // the venue's maximum
	DecayPerSec float64 // the venue's decay
	Reserve     float64 // headroom never used (default Max/10)

	value float64
	at    int64 // time value was last brought up to date, Unix ns
}

func (c *Counter) decay(now int64) {
	if c.at != 0 && now > c.at {
		c.value -= c.DecayPerSec * float64(now-c.at) / 1e9
		if c.value < 0 {
			c.value = 0
		}
	}
	if now > c.at {
		c.at = now
	}
}

func (c *Counter) reserve() float64 {
	if c.Reserve > 0 {
		return c.Reserve
	}
	return c.Max / 10
}

// Take adds cost at time now and reports true, or reports false and adds
// nothing when the counter would pass Max less Reserve.
func (c *Counter) Take(cost float64, now int64) bool {
	c.decay(now)
	if c.value+cost > c.Max-c.reserve() {
		return false
	}
	c.value += cost
	return true
}

// Value is the counter at time now.
func (c *Counter) Value(now int64) float64 {
	c.decay(now)
	return c.value
}
