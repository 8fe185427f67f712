package exec

import (
	"time"

	"arbmm/internal/market"
)

// idEpoch is where client-id epochs count from (2024-01-01 UTC).
var idEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// idCounterBits is the width of the per-epoch counter: 4M orders before a
// new epoch is taken.
const idCounterBits = 22

// IDs makes client order ids unique across restarts without storing
// anything: the high 42 bits are an epoch (milliseconds since 2024 when the
// generator started, or later when its counter ran out), the low 22 bits a
// counter. Two runs would need to start in the same millisecond to
// collide. Owned by one goroutine; no allocation.
type IDs struct {
	epoch uint64
	n     uint64
}

// NewIDs starts a generator at time now.
func NewIDs(now time.Time) *IDs {
	return &IDs{epoch: uint64(now.UnixMilli() - idEpoch)}
}

// Next returns a new id; now is only read when the counter runs out.
func (g *IDs) Next(now time.Time) market.ClientID {
	g.n++
	if g.n >= 1<<idCounterBits {
		g.epoch = max(g.epoch+1, uint64(now.UnixMilli()-idEpoch))
		g.n = 1
	}
	return market.ClientID(g.epoch<<idCounterBits | g.n)
}
