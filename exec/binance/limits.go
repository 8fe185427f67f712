package binance

import (
	"time"

	"arbmm/exec"
)

// Binance spot's published limits, the windows' seeds: request weight per
// IP per minute, orders per account per 10 seconds and per day.
const (
	DefaultWeightPerMinute = 6000
	DefaultOrdersPer10s    = 100
	DefaultOrdersPerDay    = 200000
)

// limiter mirrors Binance's limits so that a request that would exceed
// one is refused locally (ErrRateLimited) instead of earning a 429, and a
// 429 blocks every window until its Retry-After, so that the engine never
// earns a 418. Owned by the session's lock holder.
type limiter struct {
	weight, orders10s, ordersDay exec.Window
	refused                      uint64
}

func (l *limiter) init(c *Config) {
	l.weight = exec.Window{Limit: c.WeightPerMinute, Interval: time.Minute}
	l.orders10s = exec.Window{Limit: c.OrdersPer10s, Interval: 10 * time.Second}
	l.ordersDay = exec.Window{Limit: c.OrdersPerDay, Interval: 24 * time.Hour}
}

// allow takes weight and orders at time now (Unix ns) if every window has
// room, else takes nothing and reports false.
func (l *limiter) allow(weight, orders int, now int64) bool {
	if l.weight.NextAllowed(weight, now) > now ||
		orders > 0 && (l.orders10s.NextAllowed(orders, now) > now || l.ordersDay.NextAllowed(orders, now) > now) {
		l.refused++
		return false
	}
	l.weight.Take(weight, now)
	if orders > 0 {
		l.orders10s.Take(orders, now)
		l.ordersDay.Take(orders, now)
	}
	return true
}

// block refuses everything until until (Unix ns): a 429's Retry-After.
func (l *limiter) block(until int64) {
	l.weight.Block(until)
	l.orders10s.Block(until)
	l.ordersDay.Block(until)
}

// observe corrects a window from one rateLimits entry of a WebSocket API
// response: its count, and its limit when the venue's differs from ours.
func (l *limiter) observe(r *rateLimit, now int64) {
	var w *exec.Window
	switch {
	case r.typ == 'W' && r.interval == 'M' && r.num == 1:
		w = &l.weight
	case r.typ == 'O' && r.interval == 'S' && r.num == 10:
		w = &l.orders10s
	case r.typ == 'O' && r.interval == 'D' && r.num == 1:
		w = &l.ordersDay
	default:
		return
	}
	if r.limit > 0 && int(r.limit) != w.Limit {
		w.Limit = int(r.limit)
	}
	w.Observe(int(r.count), now)
}

// blockedUntil is when the last 429 block ends (0: none in force).
func (l *limiter) blockedUntil(now int64) int64 {
	if t := l.weight.NextAllowed(0, now); t > now {
		return t
	}
	return 0
}
