package match

import (
	"errors"
	"fmt"
	"testing"

	"arbmm/internal/market"
)

const (
	acctA AccountID = 1
	acctB AccountID = 2
	acctC AccountID = 3
)

// recorder is a Listener that keeps what it hears.
type recorder struct {
	levels [2]map[int64]int64 // rebuilt from Level events
	events []string
	fills  []Fill
	makers []uint64
	nlevel uint64
}

func newRecorder() *recorder {
	return &recorder{levels: [2]map[int64]int64{{}, {}}}
}

func (r *recorder) Level(side market.Side, price, qty int64) {
	r.nlevel++
	if qty == 0 {
		delete(r.levels[side], price)
	} else {
		r.levels[side][price] = qty
	}
	r.events = append(r.events, fmt.Sprintf("level %s %d %d", side, price, qty))
}

func (r *recorder) Trade(f *Fill, maker, taker *Order) {
	r.fills = append(r.fills, *f)
	r.makers = append(r.makers, maker.ID)
	r.events = append(r.events, fmt.Sprintf("trade %d %d@%d maker %d taker %d", f.TradeID, f.Qty, f.Price, maker.ID, taker.ID))
}

func (r *recorder) Order(o *Order) {
	r.events = append(r.events, fmt.Sprintf("order %d %s %d", o.ID, o.Status, o.Filled))
}

func (r *recorder) reset() {
	r.events = r.events[:0]
	r.fills = r.fills[:0]
	r.makers = r.makers[:0]
}

// fixture is a book of BTC/USD where quote = price×qty and base = qty in
// ledger units (PriceExp -2, QtyExp -3, USD at -5, BTC at -3), so expected
// amounts are easy to compute by hand. Accounts A, B and C hold 100 BTC and
// 1,000,000 USD each.
type fixture struct {
	t        *testing.T
	l        *Ledger
	b        *Book
	rec      *recorder
	btc, usd AssetID
	now      int64
}

func newFixture(t *testing.T, edit func(*BookConfig)) *fixture {
	t.Helper()
	l, err := NewLedger([]Asset{{Name: "BTC", Exp: -3}, {Name: "USD", Exp: -5}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := BookConfig{Symbol: "BTCUSD", Base: 0, Quote: 1, PriceExp: -2, QtyExp: -3}
	if edit != nil {
		edit(&cfg)
	}
	rec := newRecorder()
	b, err := NewBook(cfg, l, rec)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, l: l, b: b, rec: rec, btc: 0, usd: 1}
	for _, a := range []AccountID{acctA, acctB, acctC} {
		f.deposit(a, f.btc, 100_000)
		f.deposit(a, f.usd, 1_000_000*100_000)
		b.Track(a)
	}
	return f
}

func (f *fixture) deposit(a AccountID, asset AssetID, n int64) {
	f.t.Helper()
	if err := f.l.Deposit(a, asset, n); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) submit(r Request) *Order {
	f.t.Helper()
	f.now++
	o, err := f.b.Submit(r, f.now)
	if err != nil {
		f.t.Fatalf("Submit(%+v): %v", r, err)
	}
	f.checkInvariants()
	return o
}

func (f *fixture) submitErr(r Request, want error) {
	f.t.Helper()
	n := len(f.rec.events)
	f.now++
	o, err := f.b.Submit(r, f.now)
	if !errors.Is(err, want) {
		f.t.Errorf("Submit(%+v): got %v (order %+v), want %v", r, err, o, want)
	}
	if len(f.rec.events) != n {
		f.t.Errorf("Submit(%+v) failing: got listener events %q, want none", r, f.rec.events[n:])
	}
	f.checkInvariants()
}

func (f *fixture) limit(a AccountID, side market.Side, price, qty int64) Request {
	return Request{Account: a, Side: side, Type: Limit, Price: price, Qty: qty}
}

func (f *fixture) wantBal(a AccountID, asset AssetID, free, locked int64) {
	f.t.Helper()
	gf, gl := f.l.Balance(a, asset)
	if gf != free || gl != locked {
		f.t.Errorf("account %d asset %d: got free %d locked %d, want free %d locked %d", a, asset, gf, gl, free, locked)
	}
}

func (f *fixture) wantOrder(o *Order, st Status, filled, quote int64) {
	f.t.Helper()
	if o.Status != st || o.Filled != filled || o.QuoteFilled != quote {
		f.t.Errorf("order %d: got %s filled %d quote %d, want %s filled %d quote %d", o.ID, o.Status, o.Filled, o.QuoteFilled, st, filled, quote)
	}
}

func (f *fixture) wantLevels(side market.Side, want ...Level) {
	f.t.Helper()
	got := f.b.Levels(side, 0, nil)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		f.t.Errorf("%s levels: got %v, want %v", side, got, want)
	}
}

func (f *fixture) checkInvariants() {
	f.t.Helper()
	if err := checkBook(f.b, f.l, f.rec); err != nil {
		f.t.Fatal(err)
	}
}

const (
	usd1 = 100_000 // 1 USD in ledger units
	p100 = 10_000  // price 100.00
	q1   = 1_000   // 1 BTC
)

func TestLimitRests(t *testing.T) {
	f := newFixture(t, nil)
	o := f.submit(Request{Account: acctA, ClientID: "a1", Side: market.Buy, Type: Limit, Price: p100, Qty: 2 * q1})
	f.wantOrder(o, StatusNew, 0, 0)
	if o.ID != 1 || o.Created != 1 || o.Remaining() != 2*q1 {
		t.Errorf("order: got id %d created %d remaining %d, want 1 1 %d", o.ID, o.Created, o.Remaining(), 2*q1)
	}
	f.wantBal(acctA, f.usd, 1_000_000*usd1-200*usd1, 200*usd1)
	f.wantLevels(market.Bid, Level{p100, 2 * q1})
	if best, ok := f.b.Best(market.Bid); !ok || best != (Level{p100, 2 * q1}) {
		t.Errorf("Best(bid): got %v %v, want {%d %d} true", best, ok, p100, 2*q1)
	}
	if _, ok := f.b.Best(market.Ask); ok {
		t.Errorf("Best(ask): got a level, want none")
	}
	f.submit(f.limit(acctB, market.Sell, p100+100, q1))
	f.submit(f.limit(acctB, market.Sell, p100+50, q1))
	f.submit(f.limit(acctB, market.Sell, p100+50, q1))
	f.wantLevels(market.Ask, Level{p100 + 50, 2 * q1}, Level{p100 + 100, q1})
	if got := f.b.Levels(market.Ask, 1, nil); len(got) != 1 || got[0].Price != p100+50 {
		t.Errorf("Levels(ask, 1): got %v, want the 100.50 level only", got)
	}
	if got := f.b.OpenOrders(); got != 4 {
		t.Errorf("OpenOrders: got %d, want 4", got)
	}
	want := []string{"order 1 NEW 0", "level bid 10000 2000"}
	if got := f.rec.events[:2]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events: got %q, want %q", got, want)
	}
}

func TestCrossPartialFillRests(t *testing.T) {
	f := newFixture(t, nil)
	m := f.submit(f.limit(acctA, market.Sell, p100, q1))
	f.rec.reset()
	o := f.submit(f.limit(acctB, market.Buy, p100+100, 3*q1/2))
	// Trades at the maker's price; the rest rests at the taker's limit.
	f.wantOrder(o, StatusPartiallyFilled, q1, 100*usd1)
	f.wantOrder(m, StatusFilled, q1, 100*usd1)
	if len(f.rec.fills) != 1 || f.rec.fills[0].Price != p100 || f.rec.fills[0].TakerSide != market.Buy {
		t.Fatalf("fills: got %+v, want one at %d taken by a buy", f.rec.fills, p100)
	}
	f.wantLevels(market.Bid, Level{p100 + 100, q1 / 2})
	f.wantLevels(market.Ask)
	// B locked 101×1.5 and paid 100×1; the improvement is back in free.
	f.wantBal(acctB, f.usd, 1_000_000*usd1-100*usd1-101*usd1/2, 101*usd1/2)
	f.wantBal(acctB, f.btc, 100_000+q1, 0)
	f.wantBal(acctA, f.btc, 100_000-q1, 0)
	f.wantBal(acctA, f.usd, 1_000_000*usd1+100*usd1, 0)
	want := []string{
		"order 2 NEW 0",
		"trade 1 1000@10000 maker 1 taker 2",
		"order 2 PARTIALLY_FILLED 1000",
		"order 1 FILLED 1000",
		"level ask 10000 0",
		"level bid 10100 500",
	}
	if fmt.Sprint(f.rec.events) != fmt.Sprint(want) {
		t.Errorf("events:\ngot  %q\nwant %q", f.rec.events, want)
	}
}

func TestIOCPartialExpires(t *testing.T) {
	f := newFixture(t, nil)
	f.submit(f.limit(acctA, market.Sell, p100, q1))
	f.submit(f.limit(acctA, market.Sell, p100+200, q1))
	r := f.limit(acctB, market.Buy, p100+100, 2*q1)
	r.TIF = IOC
	o := f.submit(r)
	f.wantOrder(o, StatusExpired, q1, 100*usd1)
	f.wantLevels(market.Bid)
	f.wantLevels(market.Ask, Level{p100 + 200, q1})
	f.wantBal(acctB, f.usd, 1_000_000*usd1-100*usd1, 0)
}

func TestFOK(t *testing.T) {
	f := newFixture(t, nil)
	f.submit(f.limit(acctA, market.Sell, p100, q1))
	f.submit(f.limit(acctC, market.Sell, p100+100, q1))
	f.submit(f.limit(acctA, market.Sell, p100+200, q1))

	f.rec.reset()
	r := f.limit(acctB, market.Buy, p100+100, 3*q1) // only 2 at or below 101
	r.TIF = FOK
	o := f.submit(r)
	f.wantOrder(o, StatusExpired, 0, 0)
	if len(f.rec.fills) != 0 {
		t.Errorf("FOK short of liquidity: got fills %+v, want none", f.rec.fills)
	}
	if want := []string{"order 4 NEW 0", "order 4 EXPIRED 0"}; fmt.Sprint(f.rec.events) != fmt.Sprint(want) {
		t.Errorf("events: got %q, want %q", f.rec.events, want)
	}
	f.wantBal(acctB, f.usd, 1_000_000*usd1, 0)
	f.wantLevels(market.Ask, Level{p100, q1}, Level{p100 + 100, q1}, Level{p100 + 200, q1})

	r.Qty = 2 * q1
	o = f.submit(r)
	f.wantOrder(o, StatusFilled, 2*q1, 201*usd1)
	f.wantLevels(market.Ask, Level{p100 + 200, q1})
	f.wantBal(acctB, f.usd, 1_000_000*usd1-201*usd1, 0)

	// FOK counts its own resting orders as unavailable under EXPIRE_TAKER.
	r = f.limit(acctA, market.Buy, p100+200, q1)
	r.TIF, r.STP = FOK, STPExpireTaker
	o = f.submit(r)
	f.wantOrder(o, StatusExpired, 0, 0)
	f.wantLevels(market.Ask, Level{p100 + 200, q1})
}

func TestMarketByQty(t *testing.T) {
	f := newFixture(t, nil)
	empty := f.submit(Request{Account: acctB, Side: market.Buy, Type: Market, Qty: q1})
	f.wantOrder(empty, StatusExpired, 0, 0)

	f.submit(f.limit(acctA, market.Sell, p100, q1/2))
	f.submit(f.limit(acctA, market.Sell, p100+100, q1))
	o := f.submit(Request{Account: acctB, Side: market.Buy, Type: Market, Qty: q1})
	f.wantOrder(o, StatusFilled, q1, 50*usd1+101*usd1/2)
	f.wantLevels(market.Ask, Level{p100 + 100, q1 / 2})

	o = f.submit(Request{Account: acctB, Side: market.Buy, Type: Market, Qty: q1})
	f.wantOrder(o, StatusExpired, q1/2, 101*usd1/2)
	f.wantBal(acctB, f.usd, 1_000_000*usd1-50*usd1-101*usd1, 0)

	f.submit(f.limit(acctA, market.Buy, p100, 2*q1))
	o = f.submit(Request{Account: acctB, Side: market.Sell, Type: Market, Qty: q1})
	f.wantOrder(o, StatusFilled, q1, 100*usd1)
	f.wantBal(acctB, f.btc, 100_000+q1+q1/2-q1, 0)
	f.submitErr(Request{Account: acctB, Side: market.Sell, Type: Market, Qty: 200 * q1}, ErrInsufficient)
}

func TestMarketByQuoteQty(t *testing.T) {
	f := newFixture(t, func(c *BookConfig) { c.TakerFeeBps = 10 })
	f.submit(f.limit(acctA, market.Sell, p100, 50))
	f.submit(f.limit(acctA, market.Sell, p100+100, 100))
	o := f.submit(Request{Account: acctB, Side: market.Buy, Type: Market, QuoteQty: 10 * usd1})
	// 50 at 100.00 (5 USD), then floor(5 USD / 101.00) = 49 at 101.00; the
	// 0.051 USD left buys less than a step: done.
	f.wantOrder(o, StatusFilled, 99, 500_000+494_900)
	// Fee 10 bps of the base received: ceil(99×10/10000) = 1.
	if o.Fee != 1 || o.FeeAsset != f.btc {
		t.Errorf("fee: got %d of asset %d, want 1 of BTC", o.Fee, o.FeeAsset)
	}
	f.wantBal(acctB, f.btc, 100_000+98, 0)
	f.wantBal(acctB, f.usd, 1_000_000*usd1-994_900, 0)
	f.wantBal(FeeAccount, f.btc, 1, 0)

	// Sell by quote: receive 3 USD at 100.00 → 0.030 BTC.
	f.submit(f.limit(acctA, market.Buy, p100, q1))
	o = f.submit(Request{Account: acctC, Side: market.Sell, Type: Market, QuoteQty: 3 * usd1})
	f.wantOrder(o, StatusFilled, 30, 3*usd1)
	if o.Remaining() != 0 {
		t.Errorf("Remaining of a QuoteQty order: got %d, want 0", o.Remaining())
	}

	// A budget that covers no step at the best price expires unfilled.
	o = f.submit(Request{Account: acctB, Side: market.Buy, Type: Market, QuoteQty: 1})
	f.wantOrder(o, StatusExpired, 0, 0)
	f.submitErr(Request{Account: acctB, Side: market.Buy, Type: Market, QuoteQty: 2_000_000 * usd1}, ErrInsufficient)
}

func TestMarketBuyLimitedByBalance(t *testing.T) {
	for _, mode := range []FeeMode{FeeOnReceived, FeeInQuote} {
		t.Run(mode.String(), func(t *testing.T) {
			f := newFixture(t, func(c *BookConfig) { c.TakerFeeBps = 10; c.FeeMode = mode })
			const poor AccountID = 9
			f.deposit(poor, f.usd, 10*usd1)
			f.submit(f.limit(acctA, market.Sell, p100, 50))
			f.submit(f.limit(acctA, market.Sell, p100+100, 100))
			o := f.submit(Request{Account: poor, Side: market.Buy, Type: Market, Qty: 100})
			if mode == FeeOnReceived {
				// 5.00 USD for 50, then floor(5.00/1.01 per unit) = 49.
				f.wantOrder(o, StatusExpired, 99, 994_900)
				f.wantBal(poor, f.usd, 10*usd1-994_900, 0)
				return
			}
			// 50 cost 500,000 + 500 fee; 49 at 101.00 cost 494,900 + ceil(494.9) = 495,395; 50 would cost 505,505.
			f.wantOrder(o, StatusExpired, 99, 994_900)
			if o.Fee != 995 {
				t.Errorf("fee: got %d, want 995", o.Fee)
			}
			f.wantBal(poor, f.usd, 10*usd1-500_500-495_395, 0)
		})
	}
}

func TestPostOnly(t *testing.T) {
	f := newFixture(t, nil)
	f.submit(f.limit(acctA, market.Sell, p100, q1))
	r := f.limit(acctB, market.Buy, p100-100, q1)
	r.PostOnly = true
	o := f.submit(r)
	f.wantOrder(o, StatusNew, 0, 0)
	if !o.PostOnly {
		t.Errorf("PostOnly: got false, want true")
	}
	r.Price = p100
	f.submitErr(r, ErrWouldTake)
	r.Price = p100 - 100
	r.TIF = IOC
	f.submitErr(r, ErrBadRequest)
	f.submitErr(Request{Account: acctB, Side: market.Buy, Type: Market, Qty: q1, PostOnly: true}, ErrBadRequest)
}

func TestFilters(t *testing.T) {
	f := newFixture(t, func(c *BookConfig) {
		c.Tick, c.Step, c.MinQty, c.MaxQty, c.MinNotional = 5, 10, 20, 5000, 10*usd1
	})
	ok := f.limit(acctA, market.Buy, p100, 100)
	for _, tc := range []struct {
		name string
		edit func(*Request)
		want error
	}{
		{"tick", func(r *Request) { r.Price = p100 + 3 }, ErrTick},
		{"step", func(r *Request) { r.Qty = 105 }, ErrStep},
		{"min qty", func(r *Request) { r.Qty = 10 }, ErrMinQty},
		{"max qty", func(r *Request) { r.Qty = 5010 }, ErrMaxQty},
		{"min notional", func(r *Request) { r.Qty = 90 }, ErrMinNotional},
		{"overflow", func(r *Request) { r.Price = 5 << 58 }, ErrOverflow},
		{"zero price", func(r *Request) { r.Price = 0 }, ErrBadRequest},
		{"negative qty", func(r *Request) { r.Qty = -10 }, ErrBadRequest},
		{"bad side", func(r *Request) { r.Side = 2 }, ErrBadRequest},
		{"bad type", func(r *Request) { r.Type = 2 }, ErrBadRequest},
		{"bad tif", func(r *Request) { r.TIF = 3 }, ErrBadRequest},
		{"bad stp", func(r *Request) { r.STP = 5 }, ErrBadRequest},
		{"limit with quote qty", func(r *Request) { r.QuoteQty = 1 }, ErrBadRequest},
		{"market with both", func(r *Request) { r.Type, r.QuoteQty = Market, 1 }, ErrBadRequest},
		{"market with neither", func(r *Request) { r.Type, r.Qty = Market, 0 }, ErrBadRequest},
		{"market step", func(r *Request) { r.Type, r.Qty = Market, 25 }, ErrStep},
		{"market min notional", func(r *Request) { r.Type, r.Qty, r.QuoteQty = Market, 0, usd1 }, ErrMinNotional},
		{"insufficient", func(r *Request) { r.Qty = 5000; r.Price = 200_000_000 }, ErrInsufficient},
	} {
		r := ok
		tc.edit(&r)
		n := f.b.ids.order
		f.submitErr(r, tc.want)
		if f.b.ids.order != n {
			t.Errorf("%s: rejected request consumed an order id", tc.name)
		}
	}
	f.submit(ok)
}

func TestPriceTimePriority(t *testing.T) {
	f := newFixture(t, nil)
	first := f.submit(f.limit(acctA, market.Sell, p100, q1))
	second := f.submit(f.limit(acctC, market.Sell, p100, q1))
	better := f.submit(f.limit(acctC, market.Sell, p100-100, q1/2))
	f.rec.reset()
	f.submit(f.limit(acctB, market.Buy, p100, 2*q1))
	want := []struct {
		maker uint64
		price int64
		qty   int64
	}{{better.ID, p100 - 100, q1 / 2}, {first.ID, p100, q1}, {second.ID, p100, q1 / 2}}
	if len(f.rec.fills) != len(want) {
		t.Fatalf("fills: got %d, want %d", len(f.rec.fills), len(want))
	}
	for i, w := range want {
		if got := f.rec.fills[i]; got.Price != w.price || got.Qty != w.qty || f.rec.makers[i] != w.maker {
			t.Errorf("fill %d: got %d@%d against order %d, want %d@%d against %d", i, got.Qty, got.Price, f.rec.makers[i], w.qty, w.price, w.maker)
		}
	}
	f.wantOrder(first, StatusFilled, q1, 100*usd1)
	f.wantOrder(second, StatusPartiallyFilled, q1/2, 50*usd1)
	f.wantLevels(market.Ask, Level{p100, q1 / 2})
}

func TestFeesOnReceived(t *testing.T) {
	f := newFixture(t, func(c *BookConfig) { c.MakerFeeBps, c.TakerFeeBps = 2, 10 })
	f.submit(f.limit(acctA, market.Sell, p100, 2*q1))
	o := f.submit(f.limit(acctB, market.Buy, p100, 2*q1))
	// Notional 200 USD. Taker (buyer) pays 10 bps of 2.000 BTC = 0.002 BTC;
	// maker (seller) 2 bps of 200 USD = 0.04 USD.
	fl := f.rec.fills[0]
	if fl.TakerFee != 2 || fl.TakerFeeAsset != f.btc || fl.MakerFee != 4000 || fl.MakerFeeAsset != f.usd {
		t.Errorf("fill fees: got taker %d/%d maker %d/%d, want 2/BTC 4000/USD", fl.TakerFee, fl.TakerFeeAsset, fl.MakerFee, fl.MakerFeeAsset)
	}
	if o.Fee != 2 {
		t.Errorf("taker order fee: got %d, want 2", o.Fee)
	}
	f.wantBal(acctB, f.btc, 100_000+2*q1-2, 0)
	f.wantBal(acctB, f.usd, 1_000_000*usd1-200*usd1, 0)
	f.wantBal(acctA, f.usd, 1_000_000*usd1+200*usd1-4000, 0)
	f.wantBal(FeeAccount, f.btc, 2, 0)
	f.wantBal(FeeAccount, f.usd, 4000, 0)

	// Rounding up: 0.003 BTC at 100.01 = 30,003 units; maker 2 bps = 6.0006 → 7,
	// taker 10 bps of 3 units = 0.003 → 1.
	f.submit(f.limit(acctA, market.Sell, p100+1, 3))
	f.submit(f.limit(acctB, market.Buy, p100+1, 3))
	fl = f.rec.fills[1]
	if fl.Quote != 30_003 || fl.MakerFee != 7 || fl.TakerFee != 1 {
		t.Errorf("small fill: got quote %d maker fee %d taker fee %d, want 30003 7 1", fl.Quote, fl.MakerFee, fl.TakerFee)
	}
}

func TestFeesInQuote(t *testing.T) {
	f := newFixture(t, func(c *BookConfig) { c.MakerFeeBps, c.TakerFeeBps, c.FeeMode = 2, 10, FeeInQuote })
	f.submit(f.limit(acctA, market.Sell, p100, 2*q1))
	r := f.limit(acctB, market.Buy, p100+100, 3*q1)
	// Locks 303 USD + 10 bps = 303.303 USD.
	f.deposit(acctC, f.usd, 1) // (unrelated account moves nothing)
	o := f.submit(r)
	fl := f.rec.fills[0]
	// Fill 2 BTC at 100: 200 USD; taker pays 0.2 USD on top, maker receives 200 − 0.04.
	if fl.TakerFee != 20_000 || fl.MakerFee != 4_000 || fl.TakerFeeAsset != f.usd || fl.MakerFeeAsset != f.usd {
		t.Errorf("fill fees: got taker %d/%d maker %d/%d, want 20000/USD 4000/USD", fl.TakerFee, fl.TakerFeeAsset, fl.MakerFee, fl.MakerFeeAsset)
	}
	f.wantOrder(o, StatusPartiallyFilled, 2*q1, 200*usd1)
	// Still locked for 1 BTC at 101: 101 USD + ceil(10 bps) = 101.101 USD.
	f.wantBal(acctB, f.usd, 1_000_000*usd1-200*usd1-20_000-10_110_100, 10_110_100)
	f.wantBal(acctB, f.btc, 100_000+2*q1, 0)
	f.wantBal(acctA, f.usd, 1_000_000*usd1+200*usd1-4_000, 0)
	f.wantBal(FeeAccount, f.usd, 24_000, 0)
	if _, err := f.b.Cancel(acctB, o.ID, f.now); err != nil {
		t.Fatal(err)
	}
	f.wantBal(acctB, f.usd, 1_000_000*usd1-200*usd1-20_000, 0)

	// The rest fills as a maker at 2 bps: the fee reserve beyond it is released.
	o = f.submit(f.limit(acctB, market.Buy, p100, q1))
	f.wantBal(acctB, f.usd, 1_000_000*usd1-200*usd1-20_000-10_010_000, 10_010_000)
	f.submit(f.limit(acctA, market.Sell, p100, q1))
	f.wantOrder(o, StatusFilled, q1, 100*usd1)
	if o.Fee != 2_000 {
		t.Errorf("maker fee: got %d, want 2000", o.Fee)
	}
	f.wantBal(acctB, f.usd, 1_000_000*usd1-200*usd1-20_000-100*usd1-2_000, 0)
	f.checkInvariants()
}

func TestFeeOverride(t *testing.T) {
	f := newFixture(t, func(c *BookConfig) { c.MakerFeeBps, c.TakerFeeBps = 2, 10 })
	f.b.SetFees(acctA, 0, 0)
	f.b.SetFees(acctB, -5, 20_000) // clamped to 0 and 10000
	f.submit(f.limit(acctA, market.Sell, p100, q1))
	f.submit(f.limit(acctB, market.Buy, p100, q1))
	if fl := f.rec.fills[0]; fl.MakerFee != 0 || fl.TakerFee != q1 {
		t.Errorf("fees: got maker %d taker %d, want 0 and %d", fl.MakerFee, fl.TakerFee, q1)
	}
}

func TestSTP(t *testing.T) {
	type want struct {
		taker, maker Status
		fills        int
		rests        bool // the taker rests afterwards
	}
	for _, tc := range []struct {
		mode STPMode
		book STPMode
		want want
	}{
		{STPNone, STPDefault, want{StatusFilled, StatusFilled, 1, false}},
		{STPExpireTaker, STPDefault, want{StatusExpiredInMatch, StatusNew, 0, false}},
		{STPExpireMaker, STPDefault, want{StatusNew, StatusExpiredInMatch, 0, true}},
		{STPExpireBoth, STPDefault, want{StatusExpiredInMatch, StatusExpiredInMatch, 0, false}},
		{STPDefault, STPDefault, want{StatusNew, StatusExpiredInMatch, 0, true}},
		{STPDefault, STPExpireTaker, want{StatusExpiredInMatch, StatusNew, 0, false}},
		{STPDefault, STPNone, want{StatusFilled, StatusFilled, 1, false}},
	} {
		t.Run(tc.mode.String()+"/"+tc.book.String(), func(t *testing.T) {
			f := newFixture(t, func(c *BookConfig) { c.STP = tc.book })
			m := f.submit(f.limit(acctA, market.Sell, p100, q1))
			r := f.limit(acctA, market.Buy, p100, q1)
			r.STP = tc.mode
			o := f.submit(r)
			if o.Status != tc.want.taker || m.Status != tc.want.maker || len(f.rec.fills) != tc.want.fills {
				t.Errorf("got taker %s maker %s fills %d, want %s %s %d", o.Status, m.Status, len(f.rec.fills), tc.want.taker, tc.want.maker, tc.want.fills)
			}
			wantSTP := tc.mode
			if wantSTP == STPDefault {
				wantSTP = f.b.Config().STP
			}
			if o.STP != wantSTP || o.STP == STPDefault {
				t.Errorf("order STP: got %s, want %s", o.STP, wantSTP)
			}
			if got := o.Status.Open(); got != tc.want.rests {
				t.Errorf("taker open: got %v, want %v", got, tc.want.rests)
			}
		})
	}

	// Fills before the self-match stand; a maker expired, matching goes on.
	f := newFixture(t, nil)
	f.submit(f.limit(acctB, market.Sell, p100, q1))
	own := f.submit(f.limit(acctA, market.Sell, p100, q1))
	f.submit(f.limit(acctC, market.Sell, p100, q1))
	r := f.limit(acctA, market.Buy, p100, 3*q1)
	r.STP = STPExpireTaker
	o := f.submit(r)
	f.wantOrder(o, StatusExpiredInMatch, q1, 100*usd1)
	f.wantBal(acctA, f.usd, 1_000_000*usd1-100*usd1, 0)
	f.wantLevels(market.Ask, Level{p100, 2 * q1})
	r.STP = STPExpireMaker
	o = f.submit(r)
	f.wantOrder(o, StatusPartiallyFilled, q1, 100*usd1)
	if own.Status != StatusExpiredInMatch {
		t.Errorf("own maker: got %s, want EXPIRED_IN_MATCH", own.Status)
	}
	f.wantLevels(market.Ask)
	f.wantLevels(market.Bid, Level{p100, 2 * q1})
}

func TestCancel(t *testing.T) {
	f := newFixture(t, func(c *BookConfig) { c.MaxClosed = 2 })
	o1 := f.submit(Request{Account: acctA, ClientID: "x", Side: market.Buy, Type: Limit, Price: p100, Qty: q1})
	o2 := f.submit(Request{Account: acctA, ClientID: "y", Side: market.Sell, Type: Limit, Price: p100 + 100, Qty: q1})
	o3 := f.submit(Request{Account: acctA, ClientID: "z", Side: market.Buy, Type: Limit, Price: p100 - 100, Qty: q1})
	f.submit(f.limit(acctB, market.Buy, p100, q1))

	f.submitErr(Request{Account: acctA, ClientID: "x", Side: market.Buy, Type: Limit, Price: p100, Qty: q1}, ErrDuplicate)
	f.submit(Request{Account: acctB, ClientID: "x", Side: market.Buy, Type: Limit, Price: p100, Qty: q1}) // another account's id space

	if _, err := f.b.Cancel(acctB, o1.ID, 100); !errors.Is(err, ErrUnknownOrder) {
		t.Errorf("cancel of another account's order: got %v, want ErrUnknownOrder", err)
	}
	if _, err := f.b.Cancel(acctA, 999, 100); !errors.Is(err, ErrUnknownOrder) {
		t.Errorf("cancel of unknown id: got %v, want ErrUnknownOrder", err)
	}
	if _, err := f.b.CancelByClientID(acctA, "nope", 100); !errors.Is(err, ErrUnknownOrder) {
		t.Errorf("cancel of unknown client id: got %v, want ErrUnknownOrder", err)
	}
	got, err := f.b.Cancel(acctA, o1.ID, 100)
	if err != nil || got != o1 || o1.Status != StatusCanceled || o1.Updated != 100 {
		t.Fatalf("Cancel: got %v %v status %s updated %d, want o1 CANCELED at 100", got, err, o1.Status, o1.Updated)
	}
	f.checkInvariants()
	if _, err := f.b.Cancel(acctA, o1.ID, 101); !errors.Is(err, ErrUnknownOrder) {
		t.Errorf("second cancel: got %v, want ErrUnknownOrder", err)
	}
	f.wantLevels(market.Bid, Level{p100, 2 * q1}, Level{p100 - 100, q1})
	if got, err := f.b.CancelByClientID(acctA, "y", 102); err != nil || got != o2 {
		t.Fatalf("CancelByClientID(y): got %v %v, want o2", got, err)
	}
	// The client id of a closed order may be used again.
	o4 := f.submit(Request{Account: acctA, ClientID: "x", Side: market.Buy, Type: Limit, Price: p100 - 200, Qty: q1})
	if got := f.b.Open(acctA, nil); len(got) != 2 || got[0] != o3 || got[1] != o4 {
		t.Errorf("Open(A): got %v, want [o3 o4]", got)
	}
	if got, ok := f.b.LookupClientID(acctA, "x"); !ok || got != o4 {
		t.Errorf("LookupClientID(x): got %v %v, want the open o4", got, ok)
	}
	all := f.b.CancelAll(acctA, 103, nil)
	if len(all) != 2 || all[0] != o3 || all[1] != o4 || o3.Status != StatusCanceled || o4.Status != StatusCanceled {
		t.Errorf("CancelAll: got %v, want [o3 o4] canceled", all)
	}
	f.checkInvariants()
	f.wantBal(acctA, f.usd, 1_000_000*usd1, 0)
	f.wantBal(acctA, f.btc, 100_000, 0)
	if got := f.b.CancelAll(acctA, 104, nil); len(got) != 0 {
		t.Errorf("second CancelAll: got %d orders, want 0", len(got))
	}

	// Closed orders of tracked accounts are kept, the oldest dropped past MaxClosed.
	if got, ok := f.b.Lookup(acctA, o4.ID); !ok || got != o4 {
		t.Errorf("Lookup(o4): got %v %v, want o4", got, ok)
	}
	if got, ok := f.b.Lookup(acctA, o3.ID); !ok || got.Status != StatusCanceled {
		t.Errorf("Lookup(o3): got %v %v, want canceled o3", got, ok)
	}
	if _, ok := f.b.Lookup(acctB, o3.ID); ok {
		t.Errorf("Lookup of A's order as B: got found, want not")
	}
	if _, ok := f.b.Lookup(acctA, o1.ID); ok {
		t.Errorf("Lookup(o1) past MaxClosed: got found, want dropped")
	}
	if _, ok := f.b.LookupClientID(acctA, "y"); ok {
		t.Errorf("LookupClientID(y) past MaxClosed: got found, want dropped")
	}
	if got, ok := f.b.LookupClientID(acctA, "x"); !ok || got != o4 {
		t.Errorf("LookupClientID(x) after close: got %v %v, want o4", got, ok)
	}
}

func TestUntrackedRecycled(t *testing.T) {
	f := newFixture(t, nil)
	const bg AccountID = 50
	f.deposit(bg, f.usd, 1_000_000*usd1)
	o := f.submit(Request{Account: bg, ClientID: "bg", Side: market.Buy, Type: Limit, Price: p100, Qty: q1})
	id := o.ID
	if _, err := f.b.Cancel(bg, id, 5); err != nil {
		t.Fatal(err)
	}
	if o.Status != StatusCanceled {
		t.Errorf("canceled untracked order: got %s, want CANCELED until the next call", o.Status)
	}
	if _, ok := f.b.Lookup(bg, id); ok {
		t.Errorf("Lookup of a closed untracked order: got found, want not")
	}
	o2 := f.submit(f.limit(bg, market.Buy, p100, q1))
	if o2 != o {
		t.Errorf("untracked order: got a new allocation, want the recycled one")
	}
}

func TestNewBookErrors(t *testing.T) {
	l, err := NewLedger([]Asset{{Name: "BTC", Exp: -8}, {Name: "USD", Exp: -10}})
	if err != nil {
		t.Fatal(err)
	}
	good := BookConfig{Symbol: "BTCUSD", Base: 0, Quote: 1, PriceExp: -2, QtyExp: -8}
	if _, err := NewBook(good, l, nil); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*BookConfig)
	}{
		{"price×qty finer than quote", func(c *BookConfig) { c.PriceExp = -3 }},
		{"qty finer than base", func(c *BookConfig) { c.QtyExp = -9 }},
		{"scale past 10^18", func(c *BookConfig) { c.PriceExp, c.QtyExp = 10, 0 }},
		{"same asset", func(c *BookConfig) { c.Quote = 0 }},
		{"unknown asset", func(c *BookConfig) { c.Base = 5 }},
		{"negative tick", func(c *BookConfig) { c.Tick = -1 }},
		{"max below min", func(c *BookConfig) { c.MinQty, c.MaxQty = 10, 5 }},
		{"fee", func(c *BookConfig) { c.TakerFeeBps = 10001 }},
		{"fee mode", func(c *BookConfig) { c.FeeMode = 2 }},
		{"stp", func(c *BookConfig) { c.STP = 9 }},
	} {
		c := good
		tc.edit(&c)
		if _, err := NewBook(c, l, nil); err == nil {
			t.Errorf("%s: got nil error, want one", tc.name)
		}
	}
	b, _ := NewBook(good, l, nil)
	c := b.Config()
	if c.Tick != 1 || c.Step != 1 || c.STP != STPExpireMaker || c.MaxClosed != DefaultMaxClosed || c.IDs == nil {
		t.Errorf("defaults: got %+v, want tick 1 step 1 EXPIRE_MAKER MaxClosed %d and IDs", c, DefaultMaxClosed)
	}
}

func TestSharedIDs(t *testing.T) {
	var ids IDs
	f1 := newFixture(t, func(c *BookConfig) { c.IDs = &ids })
	f2 := newFixture(t, func(c *BookConfig) { c.IDs = &ids })
	a := f1.submit(f1.limit(acctA, market.Buy, p100, q1))
	b := f2.submit(f2.limit(acctA, market.Buy, p100, q1))
	if a.ID != 1 || b.ID != 2 {
		t.Errorf("ids across books: got %d %d, want 1 2", a.ID, b.ID)
	}
}

func TestFeeStep(t *testing.T) {
	var rem, total int64
	// 100 fills of 1 unit at 10 bps: cumulative fee ceil(100×10/10000) = 1,
	// not 100 (which per-fill rounding would charge).
	for range 100 {
		var fee int64
		fee, rem = feeStep(rem, 1, 10)
		total += fee
	}
	if total != 1 {
		t.Errorf("100 fills of 1 at 10 bps: got fee %d, want 1", total)
	}
	for _, tc := range []struct{ amount, bps, fee int64 }{
		{20_000_000, 10, 20_000},
		{30_003, 2, 7},
		{1<<62 + 7, 10000, 1<<62 + 7},
		{1<<62 + 7, 1, (1<<62+7)/10000 + 1},
		{0, 10, 0},
		{5, 0, 0},
	} {
		if got, _ := feeStep(0, tc.amount, tc.bps); got != tc.fee {
			t.Errorf("feeStep(0, %d, %d): got %d, want %d", tc.amount, tc.bps, got, tc.fee)
		}
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{StatusNew.String(), "NEW"},
		{StatusPartiallyFilled.String(), "PARTIALLY_FILLED"},
		{StatusFilled.String(), "FILLED"},
		{StatusCanceled.String(), "CANCELED"},
		{StatusRejected.String(), "REJECTED"},
		{StatusExpired.String(), "EXPIRED"},
		{StatusExpiredInMatch.String(), "EXPIRED_IN_MATCH"},
		{Status(9).String(), "status(9)"},
		{STPDefault.String(), "DEFAULT"},
		{STPNone.String(), "NONE"},
		{STPExpireTaker.String(), "EXPIRE_TAKER"},
		{STPExpireMaker.String(), "EXPIRE_MAKER"},
		{STPExpireBoth.String(), "EXPIRE_BOTH"},
		{STPMode(7).String(), "stp(7)"},
		{Limit.String(), "LIMIT"},
		{Market.String(), "MARKET"},
		{OrderType(3).String(), "type(3)"},
		{GTC.String(), "GTC"},
		{IOC.String(), "IOC"},
		{FOK.String(), "FOK"},
		{TIF(4).String(), "tif(4)"},
		{FeeOnReceived.String(), "on_received"},
		{FeeInQuote.String(), "in_quote"},
		{FeeMode(2).String(), "feemode(2)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if StatusPartiallyFilled.Open() != true || StatusFilled.Open() != false {
		t.Errorf("Open: got %v %v, want true false", StatusPartiallyFilled.Open(), StatusFilled.Open())
	}
}
