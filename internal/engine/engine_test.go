package engine

import (
	"testing"
	"time"

	"arbmm/arb"
	"arbmm/book"
	"arbmm/exec/risk"
	"arbmm/internal/market"
)

// fakeGateway records what the core sends.
type fakeGateway struct{ sent []market.Intent }

func (g *fakeGateway) Send(in *market.Intent) error { g.sent = append(g.sent, *in); return nil }
func (g *fakeGateway) Close() error                 { return nil }

// coreRig is a core over two venues' BTC/USDT books, driven by hand (no
// Run goroutine): the test calls handle and onTimer as Run would.
type coreRig struct {
	c     *Core
	now   int64
	gw    [2]*fakeGateway
	books []*book.Book
	insts []market.Instrument
}

func newRig(t *testing.T) *coreRig {
	t.Helper()
	ins := engInsts()
	ins[0].TakerFeeBps, ins[1].TakerFeeBps = 10, 10
	return buildRig(t, ins, risk.Limits{MaxOrderQty: "1", MaxOrderNotional: "1000000", PriceBandBps: 500, MaxOpenOrders: 10, MaxOrdersPerSec: 1000, StaleAfter: time.Hour},
		time.Second, func(c *Config) {
			c.Cross = arb.CrossConfig{MinProfitBps: 5, MaxOrderQty: 10000} // 0.1 BTC
			c.Legs = arb.LegsConfig{MaxUnhedgedNotional: 1e18, MaxUnhedgedTime: int64(5 * time.Second)}
		})
}

// buildRig makes the core over ins (Binance and Kraken BTC/USDT) with
// empty books, risk's default limits lim, fake gateways, 1 000 000 USDT
// and 10 BTC on each venue, and what set adds to the config.
func buildRig(t *testing.T, ins []market.Instrument, lim risk.Limits, venueDown time.Duration, set func(*Config)) *coreRig {
	t.Helper()
	r := &coreRig{insts: ins, now: int64(time.Hour)}
	for i := range ins {
		b, err := book.New(book.Config{Venue: ins[i].Venue, Symbol: ins[i].Symbol, MaxDepth: 16, TopN: 8})
		if err != nil {
			t.Fatal(err)
		}
		r.books = append(r.books, b)
	}
	chk, err := risk.New(risk.Config{
		Defaults: lim,
		Assets:   []risk.AssetLimits{{Asset: "BTC", MaxPosition: "5", MaxTotalPosition: "5"}},
		Kill:     risk.KillConfig{MaxLoss: 1e9, MaxDrawdown: 1e9, VenueDownAfter: venueDown},
	}, ins)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Instruments: ins, Books: r.books, Risk: chk, Tick: time.Millisecond, CPU: -1, Now: func() int64 { return r.now }}
	for k := range r.gw {
		r.gw[k] = &fakeGateway{}
	}
	cfg.Gateways[market.Binance], cfg.Gateways[market.Kraken] = r.gw[0], r.gw[1]
	set(&cfg)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []market.Venue{market.Binance, market.Kraken} {
		c.SetBalance(v, "USDT", 1_000_000, 0)
		c.SetBalance(v, "BTC", 10, 0)
	}
	r.c = c
	return r
}

// tick runs the core's timer work at the rig's time, as Run does.
func (r *coreRig) tick() {
	r.c.now = r.now
	r.c.onTimer()
}

// quote sets book i to one bid and one ask (real prices, 1 BTC each; the
// test instruments' quantities have 5 decimals).
func (r *coreRig) quote(i int, bid, ask float64) {
	b := r.books[i]
	b.Clear()
	b.Set(market.Bid, market.Price(bid*100), 1e5)
	b.Set(market.Ask, market.Price(ask*100), 1e5)
	b.SetState(book.Live)
	b.Commit(1, r.now, r.now)
	r.c.handle(&Event{Kind: EvBook, Inst: int32(i), RecvNs: r.now})
}

func TestCoreTakesDislocation(t *testing.T) {
	r := newRig(t)
	r.quote(0, 59990, 60000)
	r.quote(1, 60010, 60020) // 1.7 bps: nothing
	if len(r.gw[0].sent)+len(r.gw[1].sent) != 0 {
		t.Fatalf("sent %v on a 1.7 bps dislocation", r.gw)
	}
	r.quote(1, 60300, 60310) // 50 bps: buy Binance, sell Kraken
	if len(r.gw[0].sent) != 1 || len(r.gw[1].sent) != 1 {
		t.Fatalf("sent %d and %d orders, want one per venue", len(r.gw[0].sent), len(r.gw[1].sent))
	}
	buy, sell := r.gw[0].sent[0], r.gw[1].sent[0]
	if buy.Side != market.Buy || sell.Side != market.Sell || buy.TIF != market.IOC || buy.Qty != 1e4 || sell.Qty != 1e4 {
		t.Fatalf("legs %+v / %+v", buy, sell)
	}
	// Both fill: the positions follow, the attempt settles.
	for _, leg := range []market.Intent{buy, sell} {
		status := market.Filled
		r.c.handle(&Event{Kind: EvReport, Report: market.Report{Kind: market.ReportFill, Venue: leg.Venue, Inst: leg.Inst, ClientID: leg.ClientID,
			Side: leg.Side, Price: leg.Price, Qty: leg.Qty, CumQty: leg.Qty, TradeID: uint64(leg.ClientID), Status: status}})
	}
	r.tick()
	st := r.c.Status()
	if st.Stats.Taken != 1 || st.Stats.Fills != 2 || st.Stats.OpenOrders != 0 {
		t.Fatalf("stats %+v", st.Stats)
	}
	// 0.1 BTC × 300 USDT = 30 USDT at 7 decimals (prices 2, quantities 5).
	if p := st.Pairs[0]; p.Qty != 0 || p.Realised != 30_0000000 {
		t.Errorf("pair %+v: want flat with 0.1 × 300 USDT realised", p)
	}
}

func TestCoreVenueDownKills(t *testing.T) {
	r := newRig(t)
	r.c.handle(&Event{Kind: EvVenue, Venue: market.Kraken, Up: true})
	r.c.handle(&Event{Kind: EvVenue, Venue: market.Kraken, Up: false})
	r.now += int64(500 * time.Millisecond)
	r.tick()
	if r.c.kill.Active() {
		t.Fatal("killed before venue_down_after")
	}
	r.now += int64(time.Second)
	r.tick()
	if !r.c.kill.Active() || r.c.kill.Reason() != risk.VenueDown {
		t.Fatalf("kill switch %v (%v), want venue_down", r.c.kill.Active(), r.c.kill.Reason())
	}
	// Everything is canceled on every venue, and nothing new goes out.
	for k, g := range r.gw {
		if len(g.sent) != 1 || g.sent[0].Action != market.ActCancelAll {
			t.Fatalf("gateway %d got %+v, want one cancel-all", k, g.sent)
		}
	}
	r.quote(0, 59990, 60000)
	r.quote(1, 60300, 60310)
	if len(r.gw[0].sent) != 1 || len(r.gw[1].sent) != 1 {
		t.Fatal("orders sent after the kill switch")
	}
}
