package demo

import (
	"fmt"
	"math"
	"testing"
	"time"

	"arbmm/configs"
	"arbmm/exec/risk"
	"arbmm/internal/engine"
	"arbmm/internal/market"
	"arbmm/internal/sim"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

// eventually polls cond every 20ms until it holds, failing with what()
// after timeout.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what())
		}
		<-tick.C
	}
}

// loadDemo is the demo's config with more jumps (dislocations within the
// test's seconds, also when -race slows everything down).
func loadDemo(t *testing.T) *Config {
	t.Helper()
	cfg, err := Load(configs.FS, "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Sim.Pairs {
		cfg.Sim.Pairs[i].JumpsPerMin = 60
	}
	return cfg
}

// run starts the demo, waits for trades, then settles it; it returns the
// demo (still open) and its final status.
func run(t *testing.T, cfg *Config, enough func(engine.Stats) bool) (*Demo, engine.Status) {
	t.Helper()
	d, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	eventually(t, 90*time.Second, func() bool { return enough(d.Core.Status().Stats) }, func() string {
		return fmt.Sprintf("not enough trading: %+v", d.Core.Status().Stats)
	})
	return d, settle(t, d)
}

// venueBalances reads the engine account's holdings from a simulated
// venue's ledger (free + locked), by asset, with the asset's decimals.
func venueBalances(d *Demo, name string) map[string][2]int64 {
	v, _ := d.Sim.Venue(name)
	acct := v.Accounts["engine"]
	out := map[string][2]int64{}
	v.State.Do(func(tx *venue.Tx) {
		for _, b := range tx.Balances(acct, nil) {
			out[b.Asset] = [2]int64{b.Free + b.Locked, int64(b.Exp)}
		}
	})
	return out
}

// checkSettled: no venue refused a request for its rate limits, every
// order is final on the venue, the engine's balances equal the venue's,
// and no position passed its risk limit.
func checkSettled(t *testing.T, d *Demo, cfg *Config, st engine.Status) {
	t.Helper()
	for _, v := range d.Sim.Venues() {
		// The engine stays within each venue's rate limits: the quote
		// managers' refreshes and everything else.
		if n := v.RateRefusals(); n != 0 {
			t.Errorf("%s refused %d requests for its rate limits", v.Name, n)
		}
		acct := v.Accounts["engine"]
		var open []match.Order
		v.State.Do(func(tx *venue.Tx) { open = tx.Open(nil, acct, nil) })
		if len(open) != 0 {
			t.Errorf("%s: %d orders still open after the kill switch", v.Name, len(open))
		}
		ledger := venueBalances(d, v.Name)
		mv, _ := market.ParseVenue(v.Name)
		for _, b := range st.Balances {
			if b.Venue != mv {
				continue
			}
			got, ok := ledger[b.Asset]
			if !ok {
				continue
			}
			want, ok := market.Rescale(got[0], int(got[1]), b.Dec)
			if !ok {
				t.Fatalf("%s %s: venue balance %d at %d decimals does not fit %d", v.Name, b.Asset, got[0], got[1], b.Dec)
			}
			if b.Amount != want {
				t.Errorf("%s %s: engine holds %d, the venue %d (decimals %d)", v.Name, b.Asset, b.Amount, want, b.Dec)
			}
		}
	}
	limits := map[string][2]float64{}
	for _, a := range cfg.Risk.Assets {
		var per, tot float64
		fmt.Sscan(string(a.MaxPosition), &per)
		fmt.Sscan(string(a.MaxTotalPosition), &tot)
		limits[a.Asset] = [2]float64{per, tot}
	}
	total := map[string]float64{}
	for _, b := range st.Balances {
		lim, ok := limits[b.Asset]
		if !ok {
			continue
		}
		delta := float64(b.Delta) / math.Pow10(b.Dec)
		total[b.Asset] += delta
		if math.Abs(delta) > lim[0]+1e-9 {
			t.Errorf("%s %s position %.8f beyond max_position %v", b.Venue, b.Asset, delta, lim[0])
		}
	}
	for asset, q := range total {
		// Fees paid in the base asset move the total a little beyond
		// what the arbitrage itself leaves.
		if lim := limits[asset][1]; math.Abs(q) > lim*1.01 {
			t.Errorf("%s total position %.8f beyond max_total_position %v", asset, q, lim)
		}
	}
}

// TestDemoEndToEnd: the engine's arbitrage (cross-exchange and triangular)
// against the simulated venues captures the dislocations the market model
// makes with positive P&L after fees, every
// order passes risk, the kill switch cancels everything, and at the end
// the engine's balances are the venues' own.
func TestDemoEndToEnd(t *testing.T) {
	cfg := loadDemo(t)
	cfg.Strategies = []string{"arb", "tri"} // the market makers have their own tests
	d, st := run(t, cfg, func(s engine.Stats) bool { return s.Taken >= 3 && s.Fills >= 8 })
	pnl := st.Stats.PnL
	for _, p := range st.Pairs {
		t.Logf("%s: fills %d, realised %.4f, unrealised %.4f, fees %.4f", p.Pair, p.Fills, float64(p.Realised)/math.Pow10(p.PriceExp+p.QtyExp),
			float64(p.Unrealised)/math.Pow10(p.PriceExp+p.QtyExp), float64(p.Fees)/math.Pow10(p.PriceExp+p.QtyExp))
	}
	t.Logf("stats %+v; P&L %.4f USDT", st.Stats, pnl)
	if st.Stats.Taken == 0 || st.Stats.Fills == 0 {
		t.Fatalf("no arbitrage taken: %+v", st.Stats)
	}
	if pnl <= 0 {
		t.Errorf("net P&L after fees %.4f, want > 0", pnl)
	}
	if st.Stats.Breaches != 0 {
		t.Errorf("%d leg-risk breaches", st.Stats.Breaches)
	}
	if d.Risk().Kill().Reason() != risk.Operator {
		t.Errorf("kill switch reason %v, want operator", d.Risk().Kill().Reason())
	}
	checkSettled(t, d, cfg, st)
}

// TestDemoLegFailuresHedged: Kraken refuses half of new orders, so arbitrage
// legs fail; every residual is hedged within its caps and the books still
// balance with the venues'.
func TestDemoLegFailuresHedged(t *testing.T) {
	cfg := loadDemo(t)
	for i := range cfg.Sim.Venues {
		if cfg.Sim.Venues[i].Name == "kraken" {
			cfg.Sim.Venues[i].Orders.Reject = 0.5
		}
	}
	cfg.Strategies = []string{"arb"} // cross-exchange legs only
	d, st := run(t, cfg, func(s engine.Stats) bool { return s.Rejects >= 1 && s.Hedges >= 1 && s.Fills >= 4 })
	t.Logf("stats %+v", st.Stats)
	if st.Stats.Rejects == 0 || st.Stats.Hedges == 0 {
		t.Fatalf("no leg failed or none was hedged: %+v", st.Stats)
	}
	if st.Stats.Breaches != 0 {
		t.Errorf("%d residuals beyond their caps", st.Stats.Breaches)
	}
	checkSettled(t, d, cfg, st)
}

// TestDemoMarketMaking: the market maker alone quotes both sides on the
// simulated Binance, on the tick and step, resting (post-only: never
// through the book), gets filled by the venue's flow, and when the kill
// switch fires every quote is pulled; the balances still match the venue.
func TestDemoMarketMaking(t *testing.T) {
	cfg := loadDemo(t)
	cfg.Strategies = []string{"mm"}
	d, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	v, _ := d.Sim.Venue("binance")
	acct := v.Accounts["engine"]
	p, _ := v.State.Pair("BTCUSDT")
	var open []match.Order
	eventually(t, 60*time.Second, func() bool {
		v.State.Do(func(tx *venue.Tx) { open = tx.Open(p, acct, open[:0]) })
		bids, asks := 0, 0
		for _, o := range open {
			if o.Side == market.Bid {
				bids++
			} else {
				asks++
			}
		}
		return bids > 0 && asks > 0
	}, func() string { return fmt.Sprintf("not two-sided: %d open, %+v", len(open), d.Core.Status().MM) })
	v.State.Do(func(tx *venue.Tx) {
		bb, _ := p.Book.Best(market.Bid)
		ba, _ := p.Book.Best(market.Ask)
		for _, o := range tx.Open(p, acct, nil) {
			if o.Price%p.Cfg.Tick != 0 || o.Qty%p.Cfg.Step != 0 {
				t.Errorf("quote %d × %d off the tick or step", o.Price, o.Qty)
			}
			if o.Side == market.Bid && o.Price >= ba.Price || o.Side == market.Ask && o.Price <= bb.Price {
				t.Errorf("quote %v %d crosses the book (%d / %d)", o.Side, o.Price, bb.Price, ba.Price)
			}
		}
	})
	eventually(t, 60*time.Second, func() bool {
		st := d.Core.Status()
		return len(st.MM) == 1 && st.MM[0].Fills > 0
	}, func() string { return fmt.Sprintf("no quote filled: %+v", d.Core.Status().MM) })
	d.Kill("end of test")
	eventually(t, 10*time.Second, func() bool {
		v.State.Do(func(tx *venue.Tx) { open = tx.Open(p, acct, open[:0]) })
		return len(open) == 0
	}, func() string { return fmt.Sprintf("%d quotes still resting after the kill switch", len(open)) })
	st := settle(t, d)
	t.Logf("market maker: %+v", st.MM[0])
	checkSettled(t, d, cfg, st)
}

// settle stops new trading with the kill switch (the core cancels
// everything open and sends nothing new but hedges), stops the market,
// waits until every report is in, and returns the final status.
func settle(t *testing.T, d *Demo) engine.Status {
	t.Helper()
	d.Kill("end of test")
	eventually(t, 10*time.Second, func() bool {
		st := d.Core.Status()
		return st.Killed && st.Stats.KillCancels > 0
	}, func() string { return "the kill switch did not cancel" })
	d.Sim.Pause()
	var last uint64
	stable := 0
	eventually(t, 20*time.Second, func() bool {
		st := d.Core.Status()
		if st.Stats.Reports == last && st.Stats.OpenOrders == 0 {
			stable++
		} else {
			stable = 0
		}
		last = st.Stats.Reports
		return stable >= 10 // 200ms without a report, nothing open
	}, func() string { return fmt.Sprintf("never settled: %+v", d.Core.Status().Stats) })
	return d.Core.Status()
}

// instrument finds a simulated venue's instrument config by symbol.
func instrument(t *testing.T, cfg *Config, venue, symbol string) *sim.InstrumentConfig {
	t.Helper()
	for i := range cfg.Sim.Venues {
		if cfg.Sim.Venues[i].Name != venue {
			continue
		}
		for j := range cfg.Sim.Venues[i].Instruments {
			if in := &cfg.Sim.Venues[i].Instruments[j]; in.Symbol == symbol {
				return in
			}
		}
	}
	t.Fatalf("no %s %s in the demo config", venue, symbol)
	return nil
}

// TestDemoCrossExchangeMarketMaking: the cross-exchange market maker alone
// quotes ETH/USDT on the simulated Kraken priced from Binance, gets filled
// when Kraken lags Binance, and hedges every fill on Binance within its
// caps: the quantity hedged equals the quantity filled, no breach, the
// two venues' ETH changes cancel out but for Binance's fees in ETH, and
// the balances match the venues'.
func TestDemoCrossExchangeMarketMaking(t *testing.T) {
	cfg := loadDemo(t)
	cfg.Strategies = []string{"xemm"}
	// Kraken wanders further from Binance and trades more: fills come
	// within seconds.
	kfl := &instrument(t, cfg, "kraken", "ETH/USDT").Flow
	kfl.TakersPerSec, kfl.NoiseBps = 20, 6
	// A tighter quote, moved as often as a faster account tier allows.
	cfg.XEMM[0].MinProfitBps = 0
	for i := range cfg.Risk.Instruments {
		if in := &cfg.Risk.Instruments[i]; in.Venue == "kraken" && in.Pair == "ETH/USDT" {
			in.MaxOrdersPerSec = 10
		}
	}
	for i := range cfg.Sim.Venues {
		if cfg.Sim.Venues[i].Name == "kraken" {
			cfg.Sim.Venues[i].Limits.TradingDecay = 200
		}
	}
	d, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	eventually(t, 90*time.Second, func() bool {
		st := d.Core.Status()
		return len(st.XEMM) == 1 && st.XEMM[0].Fills >= 2 && st.XEMM[0].HedgeFills >= 2
	}, func() string { return fmt.Sprintf("too few hedged fills: %+v", d.Core.Status().XEMM) })
	// Stop the market: no new fills; the hedges in flight finish.
	d.Sim.Pause()
	eventually(t, 10*time.Second, func() bool {
		x := d.Core.Status().XEMM[0]
		return x.HedgesOpen == 0 && math.Abs(x.Unhedged) < 1e-9
	}, func() string { return fmt.Sprintf("exposure left: %+v", d.Core.Status().XEMM[0]) })
	st := settle(t, d)
	x := st.XEMM[0]
	t.Logf("cross-exchange maker: %+v", x)
	if x.Fills == 0 || math.Abs(x.FilledQty-x.HedgedQty) > 1e-9 {
		t.Errorf("filled %.8f on Kraken, hedged %.8f on Binance", x.FilledQty, x.HedgedQty)
	}
	if x.Breaches != 0 || st.Stats.Breaches != 0 {
		t.Errorf("%d breaches", x.Breaches)
	}
	if limit := int64(cfg.XEMM[0].MaxUnhedgedTime); x.HedgedMax <= 0 || x.HedgedMax >= limit {
		t.Errorf("slowest hedge %v, want within the %v cap", time.Duration(x.HedgedMax), cfg.XEMM[0].MaxUnhedgedTime)
	}
	if x.MaxUnhedged > 1+1e-9 {
		t.Errorf("largest exposure %.8f beyond max_unhedged_qty 1", x.MaxUnhedged)
	}
	eth := map[market.Venue]float64{}
	for _, b := range st.Balances {
		if b.Asset == "ETH" {
			eth[b.Venue] = float64(b.Delta) / math.Pow10(b.Dec)
		}
	}
	// Binance takes its 4 bps fee from the asset received: at most
	// 0.0004 of what was hedged.
	if net := eth[market.Kraken] + eth[market.Binance]; math.Abs(net) > 0.0004*x.HedgedQty+1e-9 {
		t.Errorf("ETH: Kraken %+.8f, Binance %+.8f: not hedged", eth[market.Kraken], eth[market.Binance])
	}
	if d.Risk().Kill().Reason() != risk.Operator {
		t.Errorf("kill switch reason %v, want operator", d.Risk().Kill().Reason())
	}
	checkSettled(t, d, cfg, st)
}

// TestDemoMarketMakingOneSidedFlow: every taker on the simulated Binance
// sells, so the market maker's bids fill; its inventory rises to q_max and
// stops there (the quoter quotes only the ask beyond it): it never passes
// q_max plus one ladder of bids.
func TestDemoMarketMakingOneSidedFlow(t *testing.T) {
	cfg := loadDemo(t)
	cfg.Strategies = []string{"mm"}
	const qmax, layer = 0.05, 0.01
	cfg.MM[0].QMax, cfg.MM[0].LayerQty = "0.05", "0.01"
	sells := 0.0
	fl := &instrument(t, cfg, "binance", "BTCUSDT").Flow
	fl.TakerBuyShare, fl.TakersPerSec, fl.TakerQty = &sells, 5, "10" // sweeps that reach the quotes
	d, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	eventually(t, 90*time.Second, func() bool {
		st := d.Core.Status()
		return len(st.MM) == 1 && st.MM[0].InvMax >= qmax-1e-9
	}, func() string { return fmt.Sprintf("inventory never reached q_max: %+v", d.Core.Status().MM) })
	// Keep selling for a while: the inventory must stay bounded.
	deadline := time.Now().Add(3 * time.Second)
	eventually(t, 10*time.Second, func() bool { return time.Now().After(deadline) }, func() string { return "" })
	st := settle(t, d)
	m := st.MM[0]
	t.Logf("market maker: %+v", m)
	bound := qmax + float64(cfg.MM[0].Layers)*layer + 1e-9
	if m.InvMax > bound || m.Inventory > bound {
		t.Errorf("inventory path up to %.5f (now %.5f), beyond q_max + one ladder %.5f", m.InvMax, m.Inventory, bound)
	}
	// (An ask may still fill when a jump moves the background bids
	// through it; the takers only sell.)
	if m.BidFills < 3 || m.AskFills >= m.BidFills {
		t.Errorf("bid fills %d, ask fills %d: the flow was not one-sided", m.BidFills, m.AskFills)
	}
	checkSettled(t, d, cfg, st)
}
