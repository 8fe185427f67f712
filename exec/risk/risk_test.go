package risk

import (
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"arbmm/book"
	"arbmm/internal/market"
)

// testInstruments are BTC/USDT on Binance (prices at 2 decimals, tick 0.05;
// quantities at 5, step 0.0001, min 0.0002; min notional 5.00; taker fee 10
// bps) and BTC/USD on Kraken (1 and 8 decimals).
func testInstruments() []market.Instrument {
	return []market.Instrument{{
		Venue: market.Binance, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"},
		PriceExp: 2, QtyExp: 5, Tick: 5, Step: 10, MinQty: 20, MinNotional: 500,
		MakerFeeBps: 2, TakerFeeBps: 10,
	}, {
		Venue: market.Kraken, Symbol: "BTC/USD", Pair: market.Pair{Base: "BTC", Quote: "USD"},
		PriceExp: 1, QtyExp: 8, Tick: 1, Step: 1,
		MakerFeeBps: 16, TakerFeeBps: 26,
	}}
}

const testYAML = `
defaults:
  max_order_qty: 0.5
  max_order_notional: "30000"
  price_band_bps: 50
  max_open_orders: 4
  max_orders_per_sec: 10
  order_burst: 3
  stale_after: 2s
instruments:
  - venue: kraken
    pair: BTC/USD
    max_order_qty: 0.25
    fee_reserve_bps: "30"
assets:
  - asset: BTC
    max_position: 1
    max_total_position: "1.5"
kill:
  max_loss: 500
  max_drawdown: 300
  reject_burst: 3
  reject_window: 1s
  venue_down_after: 5s
`

func testConfig(t testing.TB) Config {
	t.Helper()
	var cfg Config
	if err := yaml.UnmarshalWithOptions([]byte(testYAML), &cfg, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newTestChecker(t testing.TB) (*Checker, []market.Instrument) {
	t.Helper()
	ins := testInstruments()
	c, err := New(testConfig(t), ins)
	if err != nil {
		t.Fatal(err)
	}
	return c, ins
}

// buy returns a passing buy of 0.1 BTC at 60000.00 on Binance, and a view
// in which it passes: notional 6000.00, fee reserve 6.00.
func buy(ins []market.Instrument) (market.Intent, View) {
	in := market.Intent{
		Action: market.ActNew, Venue: market.Binance, Inst: &ins[0], Side: market.Buy,
		Type: market.Limit, TIF: market.IOC, Price: 6000000, Qty: 10000, ClientID: 1,
	}
	v := View{
		Book: book.Live, BookAge: 0, RefPrice: 6000000,
		FreeBase: 100000, FreeQuote: 10_000_000,
	}
	return in, v
}

func TestConfigParse(t *testing.T) {
	c, _ := newTestChecker(t)
	b, k := &c.lims[0], &c.lims[1]
	check := func(name string, got, want int64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %d, want %d", name, got, want)
		}
	}
	check("binance maxQty", b.maxQty, 50000)
	check("binance maxNotional", int64(b.maxNotional), 3000000)
	check("binance maxPos", b.maxPos, 100000)
	check("binance maxTotal", b.maxTotal, 150000)
	check("binance fee reserve (taker 10 bps)", int64(b.feeMicro), 1000)
	check("binance interval", b.interval, int64(100*time.Millisecond))
	check("binance tau", b.tau, int64(200*time.Millisecond))
	check("binance staleAfter", b.staleAfter, int64(2*time.Second))
	check("kraken maxQty (override)", k.maxQty, 25_000_000)
	check("kraken maxNotional (default)", int64(k.maxNotional), 300000)
	check("kraken maxPos", k.maxPos, 100_000_000)
	check("kraken fee reserve (override 30 bps)", int64(k.feeMicro), 3000)
	check("kraken band (default)", int64(k.bandBps), 50)
}

// seq drives the checks of one test at times a second apart, so that the
// rate limit never interferes with the limit under test.
type seq struct {
	t   *testing.T
	c   *Checker
	now int64
}

func (s *seq) check(in market.Intent, v View, want Verdict) {
	s.t.Helper()
	s.now += int64(time.Second)
	if got := s.c.Check(&in, &v, s.now); got != want {
		s.t.Errorf("price %d qty %d side %s: got %s, want %s", in.Price, in.Qty, in.Side, got, want)
	}
}

func newSeq(t *testing.T) (*seq, []market.Instrument) {
	c, ins := newTestChecker(t)
	return &seq{t: t, c: c, now: 1_800_000_000e9}, ins
}

func TestPass(t *testing.T) {
	s, ins := newSeq(t)
	in, v := buy(ins)
	s.check(in, v, OK)
	in.Side = market.Sell
	s.check(in, v, OK)
	in.Type, in.TIF = market.LimitMaker, market.GTC
	s.check(in, v, OK)
	if got := s.c.Count(OK); got != 3 {
		t.Errorf("Count(OK): got %d, want 3", got)
	}
}

func TestMaxOrderQty(t *testing.T) {
	s, ins := newSeq(t)
	in, v := buy(ins)
	in.Price, v.RefPrice = 10000, 10000 // 100.00: notional far below its limit
	in.Qty = 50000                      // 0.5: the limit
	s.check(in, v, OK)
	in.Qty = 50010 // one step over
	s.check(in, v, QtyTooLarge)
	in.Side = market.Sell
	s.check(in, v, QtyTooLarge)
	// Kraken's own limit, 0.25 at 8 decimals.
	k := market.Intent{Action: market.ActNew, Venue: market.Kraken, Inst: &ins[1], Side: market.Buy, Price: 1000, Qty: 25_000_000}
	kv := View{Book: book.Live, RefPrice: 1000, FreeQuote: 1e9, FreeBase: 1e9}
	s.check(k, kv, OK)
	k.Qty++
	s.check(k, kv, QtyTooLarge)
}

func TestMaxOrderNotional(t *testing.T) {
	s, ins := newSeq(t)
	in, v := buy(ins)
	in.Qty = 50000 // 0.5 × 60000.00 = 30000.00: the limit
	s.check(in, v, OK)
	in.Price, v.RefPrice = 6000005, 6000005 // 0.5 × 60000.05 = 30000.025
	s.check(in, v, NotionalTooLarge)
	in.Price, v.RefPrice = 6000000, 6000000
	in.Qty = 50000 - 10 // 0.4999: under again
	s.check(in, v, OK)
	// Above by less than one price unit: 0.49999 would be a step error,
	// so use Kraken (step 1e-8): 0.5 at 60000.0 is 30000.0 but its qty
	// limit is 0.25, so price 120000.0 × 0.25 = 30000.0 exactly.
	k := market.Intent{Action: market.ActNew, Venue: market.Kraken, Inst: &ins[1], Side: market.Sell, Price: 1200000, Qty: 25_000_000}
	kv := View{Book: book.Live, RefPrice: 1200000, FreeQuote: 1e12, FreeBase: 1e9}
	s.check(k, kv, OK)
	k.Price, kv.RefPrice = 1200001, 1200001 // 120000.1 × 0.25 = 30000.025
	s.check(k, kv, NotionalTooLarge)
	k.Price, kv.RefPrice, k.Qty = 1200000, 1200000, 25_000_000-1 // 29999.9988
	s.check(k, kv, OK)
}

func TestMinNotional(t *testing.T) {
	s, ins := newSeq(t)
	in, v := buy(ins)
	in.Qty = 20                             // 0.0002 (min qty)
	in.Price, v.RefPrice = 2500000, 2500000 // 25000.00 × 0.0002 = 5.00: the minimum
	s.check(in, v, OK)
	in.Price, v.RefPrice = 2499995, 2499995 // 24999.95 × 0.0002 = 4.99999
	s.check(in, v, MinNotional)
}

func TestTickStepMinQty(t *testing.T) {
	s, ins := newSeq(t)
	in, v := buy(ins)
	in.Price = 6000005 // on the 0.05 tick
	s.check(in, v, OK)
	in.Price = 6000001
	s.check(in, v, Tick)
	in.Type = market.Market // a market order's price is not sent: no tick
	s.check(in, v, OK)
	in, v = buy(ins)
	in.Qty = 10010
	s.check(in, v, OK)
	in.Qty = 10011
	s.check(in, v, Step)
	in.Qty, in.Price, v.RefPrice = 20, 6000000, 6000000 // 0.0002: the venue's minimum
	s.check(in, v, OK)
	in.Qty = 10 // a step, below the minimum
	s.check(in, v, MinQty)
	in.Qty = 0
	s.check(in, v, BadQty)
	in.Qty = -10
	s.check(in, v, BadQty)
	in.Qty, in.Price = 10000, 0
	s.check(in, v, BadPrice)
	in.Type = market.Market // a market order too must carry its worst price
	s.check(in, v, BadPrice)
}

func TestPriceBand(t *testing.T) {
	s, ins := newSeq(t)
	in, v := buy(ins)
	// 50 bps of 60000.00 is 300.00.
	for _, side := range []market.Side{market.Buy, market.Sell} {
		in.Side = side
		in.Price = 6030000
		s.check(in, v, OK)
		in.Price = 6030005
		s.check(in, v, PriceBand)
		in.Price = 5970000
		s.check(in, v, OK)
		in.Price = 5969995
		s.check(in, v, PriceBand)
	}
	in.Price = 6000000
	v.RefPrice = 0
	s.check(in, v, NoRefPrice)
	v.RefPrice = -1
	s.check(in, v, NoRefPrice)
}

func TestPosition(t *testing.T) {
	s, ins := newSeq(t)
	in, v := buy(ins)                          // 0.1 BTC
	v.Position, v.TotalPosition = 90000, 90000 // 0.9 + 0.1 = 1: the limit
	s.check(in, v, OK)
	in.Qty = 10010
	s.check(in, v, PositionLimit)
	in.Side = market.Sell
	v.Position, v.TotalPosition = -90000, -90000
	in.Qty = 10000
	s.check(in, v, OK)
	in.Qty = 10010
	s.check(in, v, PositionLimit)
	// Over the limit already: reducing is allowed, adding or flipping past it is not.
	v.Position, v.TotalPosition = 150000, 150000
	s.check(in, v, OK) // sell 0.1001 from 1.5
	in.Side = market.Buy
	in.Qty = 20
	s.check(in, v, PositionLimit)
	in.Side, in.Qty, v.Position, v.TotalPosition = market.Sell, 50000, 40000, 40000 // 0.4 - 0.5 = -0.1
	s.check(in, v, OK)
	// Across venues: 1.5.
	in, v = buy(ins)
	v.TotalPosition = 140000
	s.check(in, v, OK)
	in.Qty = 10010
	s.check(in, v, TotalPositionLimit)
	in.Side = market.Sell
	v.TotalPosition = -140000
	s.check(in, v, TotalPositionLimit)
	in.Qty = 10000
	s.check(in, v, OK)
}

func TestBalance(t *testing.T) {
	s, ins := newSeq(t)
	in, v := buy(ins)
	// 0.1 × 60000.00 = 6000.00, fee reserve 10 bps = 6.00.
	v.FreeQuote = 600600
	s.check(in, v, OK)
	v.FreeQuote = 600599
	s.check(in, v, Balance)
	// 0.1 × 60000.05 = 6000.005 → 6000.01; fee 6.00001 → 6.01: 6006.02.
	in.Price = 6000005
	v.FreeQuote = 600602
	s.check(in, v, OK)
	v.FreeQuote = 600601
	s.check(in, v, Balance)
	v.FreeQuote = -1
	s.check(in, v, Balance)
	// A sell needs the base.
	in.Side = market.Sell
	v.FreeQuote, v.FreeBase = 0, 10000
	s.check(in, v, OK)
	v.FreeBase = 9999
	s.check(in, v, Balance)
}

func TestOpenOrders(t *testing.T) {
	s, ins := newSeq(t)
	in, v := buy(ins)
	v.OpenOrders = 3
	s.check(in, v, OK)
	v.OpenOrders = 4
	s.check(in, v, OpenOrders)
	in.Action, in.NewID = market.ActReplace, 2 // reuses the slot of the order it replaces
	s.check(in, v, OK)
	v.OpenOrders = 5
	s.check(in, v, OpenOrders)
}

func TestBook(t *testing.T) {
	s, ins := newSeq(t)
	in, v := buy(ins)
	v.BookAge = int64(2 * time.Second)
	s.check(in, v, OK)
	v.BookAge++
	s.check(in, v, BookStale)
	v.BookAge = 0
	v.Book = book.Syncing
	s.check(in, v, BookNotLive)
	v.Book = book.Stale
	s.check(in, v, BookNotLive)
}

func TestRateLimit(t *testing.T) {
	c, ins := newTestChecker(t)
	in, v := buy(ins)
	const ms = int64(time.Millisecond)
	t0 := int64(1_800_000_000e9)
	check := func(now int64, want Verdict) {
		t.Helper()
		if got := c.Check(&in, &v, now); got != want {
			t.Errorf("at +%dms: got %s, want %s", (now-t0)/ms, got, want)
		}
	}
	// 10/s, burst 3: three at once, then one per 100 ms.
	check(t0, OK)
	check(t0, OK)
	check(t0, OK)
	check(t0, RateLimit)
	check(t0+100*ms-1, RateLimit)
	check(t0+100*ms, OK)
	check(t0+100*ms, RateLimit)
	check(t0+200*ms, OK)
	// A long pause refills the bucket to its size, no more.
	t1 := t0 + 10_000*ms
	check(t1, OK)
	check(t1, OK)
	check(t1, OK)
	check(t1, RateLimit)
	// A rejected order takes no slot: a reject for another reason at t1+100ms,
	// then the slot is still there.
	v.OpenOrders = 4
	check(t1+100*ms, OpenOrders)
	v.OpenOrders = 0
	check(t1+100*ms, OK)
	// Kraken's bucket is its own.
	k := market.Intent{Action: market.ActNew, Venue: market.Kraken, Inst: &ins[1], Side: market.Buy, Price: 1000, Qty: 1000}
	kv := View{Book: book.Live, RefPrice: 1000, FreeQuote: 1e9, FreeBase: 1e9}
	if got := c.Check(&k, &kv, t1+100*ms); got != OK {
		t.Errorf("kraken while binance is limited: got %s, want ok", got)
	}
	if got := c.Count(RateLimit); got != 4 {
		t.Errorf("Count(RateLimit): got %d, want 4", got)
	}
}

func TestCancelsAlwaysPass(t *testing.T) {
	c, ins := newTestChecker(t)
	c.Kill().Trigger(Operator, "test", 1)
	in, v := buy(ins)
	if got := c.Check(&in, &v, 2); got != Killed {
		t.Errorf("new order with the switch on: got %s, want kill_switch", got)
	}
	in.Action = market.ActReplace
	if got := c.Check(&in, &v, 2); got != Killed {
		t.Errorf("replace with the switch on: got %s, want kill_switch", got)
	}
	// Cancels pass with a dead book, an unknown instrument, no view at all.
	bad := View{Book: book.Stale, BookAge: 1 << 62}
	for _, act := range []market.Action{market.ActCancel, market.ActCancelAll} {
		for _, inst := range []*market.Instrument{&ins[0], nil, {Venue: market.OKX, Symbol: "X"}} {
			ci := market.Intent{Action: act, Venue: market.Binance, Inst: inst, ClientID: 7}
			for i := 0; i < 100; i++ { // no rate limit on cancels either
				if got := c.Check(&ci, &bad, 3); got != OK {
					t.Fatalf("%s: got %s, want ok", act, got)
				}
			}
		}
	}
	if got := c.Cancels(); got != 600 {
		t.Errorf("Cancels: got %d, want 600", got)
	}
	c.Kill().Reset()
	in.Action = market.ActNew
	if got := c.Check(&in, &v, 4); got != OK {
		t.Errorf("after Reset: got %s, want ok", got)
	}
	if got := c.Count(Killed); got != 2 {
		t.Errorf("Count(Killed): got %d, want 2", got)
	}
}

func TestInstrumentLookup(t *testing.T) {
	s, ins := newSeq(t)
	in, v := buy(ins)
	cp := ins[0] // same venue and symbol, another pointer: found by value
	in.Inst = &cp
	s.check(in, v, OK)
	other := market.Instrument{Venue: market.Binance, Symbol: "ETHUSDT"}
	in.Inst = &other
	s.check(in, v, UnknownInstrument)
	in.Inst = nil
	s.check(in, v, UnknownInstrument)
	in, v = buy(ins)
	in.Venue = market.Kraken
	s.check(in, v, BadIntent)
	in.Venue, in.Side = market.Binance, 2
	s.check(in, v, BadIntent)
	in.Side, in.Type = market.Buy, 9
	s.check(in, v, BadIntent)
	in.Type, in.Action = market.Limit, 9
	s.check(in, v, BadIntent)
}

func TestVerdictString(t *testing.T) {
	seen := map[string]bool{}
	for v := Verdict(0); v < numVerdicts; v++ {
		s := v.String()
		if s == "" || strings.HasPrefix(s, "verdict(") || seen[s] {
			t.Errorf("Verdict(%d).String() = %q: empty, unnamed or duplicate", v, s)
		}
		seen[s] = true
	}
	if got := Verdict(200).String(); got != "verdict(200)" {
		t.Errorf("got %q, want verdict(200)", got)
	}
	if got := PriceBand.String(); got != "price_band" {
		t.Errorf("got %q, want price_band", got)
	}
}

// TestRateReady: RateReady says whether Check would pass the rate limit,
// without taking a slot.
func TestRateReady(t *testing.T) {
	ins := []market.Instrument{{Venue: market.Binance, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 5, Tick: 1, Step: 1}}
	c, err := New(Config{
		Defaults: Limits{MaxOrderQty: "1", MaxOrderNotional: "1000000", PriceBandBps: 500, MaxOpenOrders: 10, MaxOrdersPerSec: 1, OrderBurst: 1},
		Assets:   []AssetLimits{{Asset: "BTC", MaxPosition: "5", MaxTotalPosition: "5"}},
		Kill:     KillConfig{MaxLoss: 1, MaxDrawdown: 1},
	}, ins)
	if err != nil {
		t.Fatal(err)
	}
	in := &market.Intent{Action: market.ActNew, Venue: market.Binance, Inst: &ins[0], Side: market.Buy, Type: market.Limit, Price: 6000000, Qty: 100}
	v := &View{Book: book.Live, RefPrice: 6000000, FreeBase: 1e9, FreeQuote: 1e12}
	const now = int64(1e12)
	for i := 0; i < 3; i++ {
		if !c.RateReady(&ins[0], now) {
			t.Fatal("not ready before any order")
		}
	}
	if got := c.Check(in, v, now); got != OK {
		t.Fatalf("first order: %v", got)
	}
	if c.RateReady(&ins[0], now+1) {
		t.Fatal("ready right after the only slot was taken")
	}
	if got := c.Check(in, v, now+1); got != RateLimit {
		t.Fatalf("second order: %v, want rate_limit (RateReady said so)", got)
	}
	if !c.RateReady(&ins[0], now+int64(1e9)) {
		t.Fatal("not ready a second later")
	}
}

// TestRateBudget: the budget is what Check would pass back to back: the
// burst when idle, one less per order taken, refilled at the rate.
func TestRateBudget(t *testing.T) {
	ins := []market.Instrument{{Venue: market.Binance, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 5}}
	c, err := New(Config{Defaults: Limits{MaxOrderQty: "1", MaxOrderNotional: "1000000", PriceBandBps: 500, MaxOpenOrders: 100,
		MaxOrdersPerSec: 10, OrderBurst: 4, StaleAfter: time.Hour}, Kill: KillConfig{MaxLoss: 1e9, MaxDrawdown: 1e9},
		Assets: []AssetLimits{{Asset: "BTC", MaxPosition: "5", MaxTotalPosition: "5"}}}, ins)
	if err != nil {
		t.Fatal(err)
	}
	in := &ins[0]
	now := int64(time.Hour)
	if b := c.RateBudget(in, now); b != 4 {
		t.Fatalf("idle budget %d, want the burst 4", b)
	}
	o := market.Intent{Action: market.ActNew, Venue: in.Venue, Inst: in, Side: market.Buy, Type: market.Limit, TIF: market.GTC, Price: 6000000, Qty: 100}
	v := View{Book: book.Live, RefPrice: 6000000, FreeQuote: 1e12, FreeBase: 1e9}
	passed := 0
	for c.Check(&o, &v, now) == OK {
		passed++
	}
	if passed != 4 || c.RateBudget(in, now) != 0 {
		t.Fatalf("%d passed back to back, budget now %d; want 4 and 0", passed, c.RateBudget(in, now))
	}
	if b := c.RateBudget(in, now+int64(250*time.Millisecond)); b != 2 {
		t.Fatalf("budget after 250ms at 10/s: %d, want 2", b)
	}
	if b := c.RateBudget(in, now+int64(time.Hour)); b != 4 {
		t.Fatalf("budget after an hour: %d, want the burst", b)
	}
}

// TestKillLetsHedgesReduce: with the kill switch on, a hedge (IOC or FOK
// marked Hedge) that takes the pair's total position toward zero passes,
// and still meets every other limit; anything else is refused.
func TestKillLetsHedgesReduce(t *testing.T) {
	s, ins := newSeq(t)
	s.c.Kill().Trigger(Operator, "test", 1)
	in, v := buy(ins) // buys 0.1 BTC
	in.Hedge = true
	v.TotalPosition, v.Position = -20000, -20000 // short 0.2 across venues
	s.check(in, v, OK)
	in.Qty = 30000 // more than the short: would pass zero
	s.check(in, v, Killed)
	in.Qty = 10000
	v.TotalPosition = 20000 // long: a buy adds
	s.check(in, v, Killed)
	in.Side = market.Sell // a sell reduces the long
	s.check(in, v, OK)
	in.Hedge = false // not a hedge
	s.check(in, v, Killed)
	in.Hedge, in.TIF = true, market.GTC // a hedge that would rest
	s.check(in, v, Killed)
	in.TIF = market.IOC
	in.Price = 6100000 // beyond the price band: the other limits still hold
	s.check(in, v, PriceBand)
}

// TestHedgeReserve: with hedge_reserve 1 of a burst of 3, other orders
// stop one short of the bucket's bottom, a hedge may take the last slot,
// and RateReady and RateBudget tell the strategies as much.
func TestHedgeReserve(t *testing.T) {
	cfg := testConfig(t)
	cfg.Defaults.HedgeReserve = 1 // of order_burst 3, at 10 per second
	c, err := New(cfg, testInstruments())
	if err != nil {
		t.Fatal(err)
	}
	ins := testInstruments()
	in, v := buy(ins)
	now := int64(1_800_000_000e9)
	if b := c.RateBudget(in.Inst, now); b != 2 {
		t.Fatalf("budget %d, want 2 (burst 3 less the reserve)", b)
	}
	for i := 0; i < 2; i++ {
		if got := c.Check(&in, &v, now); got != OK {
			t.Fatalf("order %d: %s", i, got)
		}
	}
	if got := c.Check(&in, &v, now); got != RateLimit || c.RateReady(in.Inst, now) || c.RateBudget(in.Inst, now) != 0 {
		t.Fatalf("third order: %s (ready %v), want rate_limit: the last slot is the hedges'", got, c.RateReady(in.Inst, now))
	}
	h := in
	h.Hedge = true
	if got := c.Check(&h, &v, now); got != OK {
		t.Fatalf("hedge: %s, want ok from the reserve", got)
	}
	if got := c.Check(&h, &v, now); got != RateLimit {
		t.Fatalf("second hedge: %s, want rate_limit: the bucket is empty", got)
	}
	cfg.Defaults.HedgeReserve = 3
	if _, err := New(cfg, testInstruments()); err == nil || !strings.Contains(err.Error(), "hedge_reserve") {
		t.Fatalf("hedge_reserve = burst accepted: %v", err)
	}
}
