package feed

import (
	"math/rand/v2"
	"time"
)

// Backoff computes reconnect delays: exponential growth from Min to Max
// with full jitter. It is a plain value owned by one goroutine (a Conn's
// Run goroutine); it reads no clock and draws randomness only from the
// generator passed to Next, so a seeded generator makes it deterministic.
//
// The n-th delay since the last Reset is drawn uniformly from
// [Min, min(Max, Min·2ⁿ)]: the first is exactly Min, later ones spread over
// a doubling window, so many clients cut off at once do not redial in step.
// Min must be positive and no greater than Max; a zero Backoff returns 0.
type Backoff struct {
	Min, Max time.Duration

	n uint // delays handed out since the last Reset, saturating
}

// Next returns the delay before the next attempt and advances the
// exponent.
func (b *Backoff) Next(r *rand.Rand) time.Duration {
	ceil := b.ceiling()
	if ceil < b.Max {
		b.n++
	}
	if ceil <= b.Min {
		return b.Min
	}
	return b.Min + time.Duration(r.Int64N(int64(ceil-b.Min)+1))
}

// ceiling is min(Max, Min·2ⁿ), computed without overflow.
func (b *Backoff) ceiling() time.Duration {
	if b.Min <= 0 || b.Max <= b.Min {
		return max(b.Min, b.Max)
	}
	// Min<<n stays below Max (and so cannot overflow) while Min ≤ Max>>n.
	if b.n >= 63 || b.Min > b.Max>>b.n {
		return b.Max
	}
	return b.Min << b.n
}

// Reset starts the sequence again at Min; call it once a connection has
// proved healthy.
func (b *Backoff) Reset() { b.n = 0 }
