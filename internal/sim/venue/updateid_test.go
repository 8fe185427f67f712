package venue_test

// A sink that reads Pair.UpdateID inside Publish sees the batch's last id
// (it once saw last plus the batch's size).

import (
	"testing"
	"time"

	"arbmm/internal/market"
	"arbmm/internal/sim/venue"
)

type updateIDProbe struct{ t *testing.T }

func (u updateIDProbe) Publish(p *venue.Pair, first, last uint64, _ []venue.Change, _ time.Time) {
	if got := p.UpdateID(); got != last {
		u.t.Errorf("UpdateID() during Publish(%d..%d) = %d, want %d", first, last, got, last)
	}
}

func TestUpdateIDDuringPublish(t *testing.T) {
	v := newVenue(t)
	v.AddMDSink(updateIDProbe{t})
	btc := pair(t, v, "BTCUSDT")
	deposit(t, v, 1, "USDT", 1e12)
	v.Do(func(tx *venue.Tx) {
		submit(t, tx, btc, limit(1, market.Bid, 100, 1000))
		submit(t, tx, btc, limit(1, market.Bid, 101, 1000))
	})
}
