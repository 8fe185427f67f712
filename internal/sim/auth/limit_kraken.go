package auth

import (
	"sync"
	"sync/atomic"
	"time"
)

// KrakenLimits configures a KrakenLimiter. Zero fields take Kraken's
// Starter-tier values.
type KrakenLimits struct {
	Max         float64 // REST call counter maximum; default 15
	DecayPerSec float64 // REST call counter decay; default 0.33
	TradingMax  float64 // per-pair trading counter threshold; default 60
	// TradingDecayPerSec is the trading counter's decay; default 1.
	TradingDecayPerSec float64
}

func (l KrakenLimits) withDefaults() KrakenLimits {
	if l.Max <= 0 {
		l.Max = 15
	}
	if l.DecayPerSec <= 0 {
		l.DecayPerSec = 0.33
	}
	if l.TradingMax <= 0 {
		l.TradingMax = 60
	}
	if l.TradingDecayPerSec <= 0 {
		l.TradingDecayPerSec = 1
	}
	return l
}

// KrakenLimiter applies Kraken's spot limits: a REST call counter per API
// key and a trading counter per account and pair, each raised by a call's
// cost and decaying continuously. A call that would take its counter above
// the maximum is refused and adds nothing. It is safe for concurrent use.
type KrakenLimiter struct {
	l       KrakenLimits
	mu      sync.Mutex
	calls   map[string]*counter
	orders  map[pairKey]*counter
	refused atomic.Uint64
}

type pairKey struct {
	account uint32
	pair    string
}

type counter struct {
	v    float64
	last time.Time
}

// NewKrakenLimiter returns a limiter with limits l (zero fields defaulted).
func NewKrakenLimiter(l KrakenLimits) *KrakenLimiter {
	return &KrakenLimiter{
		l:      l.withDefaults(),
		calls:  make(map[string]*counter),
		orders: make(map[pairKey]*counter),
	}
}

// Limits returns the limits in force, defaults filled in.
func (k *KrakenLimiter) Limits() KrakenLimits { return k.l }

// Refused counts the calls and trading transactions refused so far.
func (k *KrakenLimiter) Refused() uint64 { return k.refused.Load() }

// add decays c to now and adds cost unless that passes max.
func (c *counter) add(cost, max, decay float64, now time.Time) bool {
	if !c.last.IsZero() {
		if dt := now.Sub(c.last).Seconds(); dt > 0 {
			c.v = c.v - dt*decay
			if c.v < 0 {
				c.v = 0
			}
		}
	}
	if now.After(c.last) {
		c.last = now
	}
	if c.v+cost > max+1e-9 {
		return false
	}
	c.v += cost
	return true
}

// Call charges a private REST call of the given cost (1, or 2 for ledger
// and trade history) to apiKey's counter; ErrKrakenRate if it would pass
// Max.
func (k *KrakenLimiter) Call(apiKey []byte, cost float64, now time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.calls[string(apiKey)]
	if c == nil {
		c = &counter{}
		k.calls[string(apiKey)] = c
	}
	if !c.add(cost, k.l.Max, k.l.DecayPerSec, now) {
		k.refused.Add(1)
		return ErrKrakenRate
	}
	return nil
}

// Order charges a trading transaction of the given cost (AddOrder 1,
// CancelOrder KrakenCancelCost(age)) to account's counter for pair;
// ErrKrakenOrderRate if it would pass TradingMax.
func (k *KrakenLimiter) Order(account uint32, pair string, cost float64, now time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := pairKey{account, pair}
	c := k.orders[key]
	if c == nil {
		c = &counter{}
		k.orders[key] = c
	}
	if !c.add(cost, k.l.TradingMax, k.l.TradingDecayPerSec, now) {
		k.refused.Add(1)
		return ErrKrakenOrderRate
	}
	return nil
}

// Counters returns the decayed REST counter of apiKey and trading counter
// of (account, pair) at now, without charging anything. For tests and
// inspection.
func (k *KrakenLimiter) Counters(apiKey []byte, account uint32, pair string, now time.Time) (call, trading float64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	decayed := func(c *counter, decay float64) float64 {
		if c == nil {
			return 0
		}
		v := c.v
		if dt := now.Sub(c.last).Seconds(); dt > 0 {
			v -= dt * decay
		}
		return max(v, 0)
	}
	return decayed(k.calls[string(apiKey)], k.l.DecayPerSec),
		decayed(k.orders[pairKey{account, pair}], k.l.TradingDecayPerSec)
}

// KrakenCancelCost is the trading-counter charge of cancelling an order of
// the given age: +8 under 5 s, +6 under 10 s, +5 under 15 s, +4 under 45 s,
// +2 under 90 s, +1 under 300 s, then 0.
func KrakenCancelCost(orderAge time.Duration) float64 {
	switch {
	case orderAge < 5*time.Second:
		return 8
	case orderAge < 10*time.Second:
		return 6
	case orderAge < 15*time.Second:
		return 5
	case orderAge < 45*time.Second:
		return 4
	case orderAge < 90*time.Second:
		return 2
	case orderAge < 300*time.Second:
		return 1
	}
	return 0
}
