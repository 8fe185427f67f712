package engine

import (
	"arbmm/bench"
	"arbmm/book"
	"arbmm/exec/risk"
	"arbmm/internal/market"
)

// Status is a snapshot of the core for status lines, the demo's summary
// and (later) the ops endpoints. The core refreshes one every tick, under a
// mutex it holds only for that copy (10 times a second, off the event
// path); Status hands out a copy.
type Status struct {
	Now      int64
	Stats    Stats
	Killed   bool
	KillWhy  string
	Pairs    []PairPnL
	Balances []VenueBalance
	// LiveBooks of Books are Live (the rest syncing or stale).
	LiveBooks, Books int
	// VenuePnL is each traded venue's holdings change valued at the
	// marks, in the reporting currency (fees included: they left the
	// holdings).
	VenuePnL [market.NumVenues]float64
	// MM are the market makers' counters.
	MM []MMStats
	// XEMM are the cross-exchange market makers' counters.
	XEMM     []XEMMStats
	Verdicts [32]uint64 // risk refusals by verdict
}

// VenueBalance is one venue's holding of one asset and its change over
// the run, at the asset's decimals.
type VenueBalance struct {
	Venue         market.Venue
	Asset         string
	Dec           int
	Amount, Delta int64
}

// Status returns a copy of the latest snapshot; any goroutine may call it.
func (c *Core) Status() Status {
	c.statusMu.Lock()
	defer c.statusMu.Unlock()
	s := c.snap
	s.Pairs = append([]PairPnL(nil), s.Pairs...)
	s.Balances = append([]VenueBalance(nil), s.Balances...)
	s.MM = append([]MMStats(nil), s.MM...)
	s.XEMM = append([]XEMMStats(nil), s.XEMM...)
	return s
}

// publish refreshes the snapshot (reusing its slices: no allocation).
func (c *Core) publish() {
	c.statusMu.Lock()
	defer c.statusMu.Unlock()
	s := &c.snap
	s.Now = c.now
	c.openBuf = c.orders.Open(c.openBuf[:0])
	c.stats.OpenOrders = len(c.openBuf)
	clear(c.openBuf)
	if h := c.stages.Histogram(bench.TickToTrade); h.TotalCount() > 0 {
		c.stats.TickToTradeP50, c.stats.TickToTradeP99 = h.ValueAtQuantile(50), h.ValueAtQuantile(99)
	}
	s.Stats = c.stats
	s.Killed = c.kill.Active()
	if s.Killed {
		s.KillWhy = c.kill.Reason().String()
	}
	s.Pairs = s.Pairs[:0]
	for j := 0; j < c.pos.Pairs(); j++ {
		s.Pairs = append(s.Pairs, c.pos.Pair(j, c.mark(c.pos.pairs[j].inst)))
	}
	s.Balances = s.Balances[:0]
	for v := range c.cfg.Gateways {
		if c.cfg.Gateways[v] == nil {
			continue
		}
		for a := range c.pos.assets {
			id := AssetID(a)
			s.Balances = append(s.Balances, VenueBalance{Venue: market.Venue(v), Asset: c.pos.assets[a].name, Dec: c.pos.assets[a].dec,
				Amount: c.pos.Balance(market.Venue(v), id), Delta: c.pos.Change(market.Venue(v), id)})
		}
	}
	s.MM = s.MM[:0]
	for k := range c.mms {
		s.MM = append(s.MM, c.mms[k].stats)
	}
	s.XEMM = s.XEMM[:0]
	for k := range c.xemms {
		s.XEMM = append(s.XEMM, c.xemms[k].stats)
	}
	s.LiveBooks, s.Books = 0, len(c.books)
	for j, b := range c.books {
		if b != nil && c.tops[j].State == book.Live {
			s.LiveBooks++
		}
	}
	s.VenuePnL = [market.NumVenues]float64{}
	for _, b := range s.Balances {
		s.VenuePnL[b.Venue] += float64(b.Delta) / float64(market.Pow10(b.Dec)) * c.rate(b.Asset)
	}
	for v := 0; v < risk.NumVerdicts && v < len(s.Verdicts); v++ {
		s.Verdicts[v] = c.risk.Count(risk.Verdict(v))
	}
}
