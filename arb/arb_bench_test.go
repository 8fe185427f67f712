package arb

import (
	"testing"

	"arbmm/internal/market"
)

func walkLegs() []Leg {
	return []Leg{
		{Inst: inst(market.Binance, 10), Top: top([][2]float64{{59990, 3}}, [][2]float64{{60000, 0.5}, {60010, 1}, {60100, 2}, {60110, 1}, {60120, 1}}), BaseFree: rich, QuoteFree: rich},
		{Inst: inst(market.Kraken, 10), Top: top([][2]float64{{60300, 0.3}, {60250, 1}, {60000, 5}, {59990, 1}, {59980, 1}}, [][2]float64{{60400, 1}}), BaseFree: rich, QuoteFree: rich},
	}
}

// BenchmarkCrossDecision: one decision over two venues with a dislocation
// (both directions evaluated, three levels walked), intents appended.
func BenchmarkCrossDecision(b *testing.B) {
	c, _ := NewCross(CrossConfig{MinProfitBps: 5, MaxOrderQty: 10e5})
	legs := walkLegs()
	out := make([]market.Intent, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		if op, ok := c.Best(legs); ok {
			out = op.Intents(legs, 1, 2, out[:0])
		}
	}
}

// BenchmarkCrossNoEdge: the common case, books not dislocated.
func BenchmarkCrossNoEdge(b *testing.B) {
	c, _ := NewCross(CrossConfig{MinProfitBps: 5, MaxOrderQty: 10e5})
	legs := []Leg{
		{Inst: inst(market.Binance, 10), Top: top([][2]float64{{59999, 1}}, [][2]float64{{60000, 1}}), BaseFree: rich, QuoteFree: rich},
		{Inst: inst(market.Kraken, 10), Top: top([][2]float64{{60000, 1}}, [][2]float64{{60001, 1}}), BaseFree: rich, QuoteFree: rich},
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Best(legs)
	}
}

// BenchmarkTriDecision: both cycles evaluated, the forward one sized and
// its three intents appended.
func BenchmarkTriDecision(b *testing.B) {
	aqI, baI, bqI := triInsts()
	tr, _ := NewTri(TriConfig{MinProfitBps: 5, MaxQty: 20000}, aqI, baI, bqI)
	aq, ba, bq := ltop(5999900, 1e5, 6000000, 1e5), ltop(4999, 10e4, 5000, 10e4), ltop(301500, 5e4, 301600, 5e4)
	out := make([]market.Intent, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		if op, ok := tr.Best(aq, ba, bq, 1e12); ok {
			out = op.Intents(tr, [3]market.ClientID{1, 2, 3}, out[:0])
		}
	}
}
