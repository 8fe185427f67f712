package venue_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"arbmm/internal/market"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

var clock0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// Three pairs sharing assets: BTC is a base at 5 decimals and ETH/BTC's
// quote at 6+3; USDT a quote at 2+5 and 2+4; ETH a base at 4 and 3.
func testPairs() []venue.PairConfig {
	return []venue.PairConfig{
		{Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 5},
		{Symbol: "ETHUSDT", Pair: market.Pair{Base: "ETH", Quote: "USDT"}, PriceExp: 2, QtyExp: 4},
		{Symbol: "ETHBTC", Pair: market.Pair{Base: "ETH", Quote: "BTC"}, PriceExp: 6, QtyExp: 3},
	}
}

func newVenue(t *testing.T) *venue.Venue {
	t.Helper()
	v, err := venue.New(venue.Config{Name: "test", Pairs: testPairs(), Clock: func() time.Time { return clock0 }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func pair(t *testing.T, v *venue.Venue, sym string) *venue.Pair {
	t.Helper()
	p, ok := v.Pair(sym)
	if !ok {
		t.Fatalf("no pair %s", sym)
	}
	return p
}

func deposit(t *testing.T, v *venue.Venue, a match.AccountID, asset string, amount int64) {
	t.Helper()
	if err := v.Deposit(a, asset, amount); err != nil {
		t.Fatalf("Deposit(%d, %s, %d): %v", a, asset, amount, err)
	}
}

// batch is one MDSink.Publish call.
type batch struct {
	sym         string
	first, last uint64
	changes     []venue.Change
	now         time.Time
}

// mdRec records every batch and checks, during the call, that the book
// already holds it.
type mdRec struct {
	t       *testing.T
	batches []batch
}

func (r *mdRec) Publish(p *venue.Pair, first, last uint64, changes []venue.Change, now time.Time) {
	for _, c := range changes {
		if got := levelQty(p.Book, c.Side, c.Price); got != c.Qty {
			r.t.Errorf("%s: change %+v published while the book holds qty %d there", p.Cfg.Symbol, c, got)
		}
	}
	r.batches = append(r.batches, batch{p.Cfg.Symbol, first, last, slices.Clone(changes), now})
}

func (r *mdRec) take() []batch {
	b := r.batches
	r.batches = nil
	return b
}

func levelQty(b *match.Book, side market.Side, price int64) int64 {
	for _, l := range b.Levels(side, 0, nil) {
		if l.Price == price {
			return l.Qty
		}
	}
	return 0
}

// privRec records every Deliver call.
type privRec struct{ calls [][]venue.Event }

func (r *privRec) Deliver(events []venue.Event) { r.calls = append(r.calls, slices.Clone(events)) }

func (r *privRec) take() []venue.Event {
	var out []venue.Event
	for _, c := range r.calls {
		out = append(out, c...)
	}
	r.calls = nil
	return out
}

func limit(a match.AccountID, side market.Side, price, qty int64) match.Request {
	return match.Request{Account: a, Side: side, Type: match.Limit, TIF: match.GTC, Price: price, Qty: qty}
}

func submit(t *testing.T, tx *venue.Tx, p *venue.Pair, r match.Request) match.Order {
	t.Helper()
	o, err := tx.Submit(p, r)
	if err != nil {
		t.Fatalf("Submit %+v: %v", r, err)
	}
	return o
}

func TestNewAssetExponents(t *testing.T) {
	v := newVenue(t)
	want := []match.Asset{{Name: "BTC", Exp: -9}, {Name: "ETH", Exp: -4}, {Name: "USDT", Exp: -7}}
	if got := v.Ledger().Assets(); !slices.Equal(got, want) {
		t.Errorf("assets = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		sym         string
		base, quote string
	}{{"BTCUSDT", "BTC", "USDT"}, {"ETHUSDT", "ETH", "USDT"}, {"ETHBTC", "ETH", "BTC"}} {
		p := pair(t, v, tc.sym)
		b, _ := v.Ledger().Asset(tc.base)
		q, _ := v.Ledger().Asset(tc.quote)
		if p.Base != b || p.Quote != q {
			t.Errorf("%s: base/quote ids %d/%d, want %d/%d", tc.sym, p.Base, p.Quote, b, q)
		}
		if p.Book.Config().Symbol != tc.sym {
			t.Errorf("%s: book symbol %q", tc.sym, p.Book.Config().Symbol)
		}
	}
	if got := v.Pairs(); len(got) != 3 || got[0].Cfg.Symbol != "BTCUSDT" || got[2].Index != 2 {
		t.Errorf("Pairs not in config order: %v", got)
	}
	if p, ok := v.PairBytes([]byte("ETHUSDT")); !ok || p.Cfg.Symbol != "ETHUSDT" {
		t.Errorf("PairBytes(ETHUSDT) = %v, %v", p, ok)
	}
	if _, ok := v.Pair("XRPUSDT"); ok {
		t.Error("Pair(XRPUSDT) found")
	}
	if v.Name() != "test" || !v.Now().Equal(clock0) {
		t.Errorf("Name, Now = %q, %v", v.Name(), v.Now())
	}
	if p := pair(t, v, "ETHBTC"); p.Venue() != v {
		t.Error("Pair.Venue is not the venue")
	}
}

func TestNewRejects(t *testing.T) {
	btc := market.Pair{Base: "BTC", Quote: "USDT"}
	for _, tc := range []struct {
		name  string
		pairs []venue.PairConfig
		want  string
	}{
		{"no pairs", nil, "no pairs"},
		{"no symbol", []venue.PairConfig{{Pair: btc, PriceExp: 2, QtyExp: 5}}, "symbol and pair required"},
		{"no pair", []venue.PairConfig{{Symbol: "BTCUSDT", PriceExp: 2, QtyExp: 5}}, "symbol and pair required"},
		{"negative price exp", []venue.PairConfig{{Symbol: "BTCUSDT", Pair: btc, PriceExp: -1, QtyExp: 5}}, "out of range"},
		{"negative qty exp", []venue.PairConfig{{Symbol: "BTCUSDT", Pair: btc, PriceExp: 2, QtyExp: -1}}, "out of range"},
		{"exp sum above 18", []venue.PairConfig{{Symbol: "BTCUSDT", Pair: btc, PriceExp: 10, QtyExp: 9}}, "out of range"},
		{"duplicate symbol", []venue.PairConfig{
			{Symbol: "BTCUSDT", Pair: btc, PriceExp: 2, QtyExp: 5},
			{Symbol: "BTCUSDT", Pair: market.Pair{Base: "ETH", Quote: "USDT"}, PriceExp: 2, QtyExp: 4},
		}, "listed twice"},
		{"same base and quote", []venue.PairConfig{{Symbol: "USDTUSDT", Pair: market.Pair{Base: "USDT", Quote: "USDT"}, PriceExp: 2, QtyExp: 5}}, "distinct"},
	} {
		v, err := venue.New(venue.Config{Name: "x", Pairs: tc.pairs})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, %v; want an error containing %q", tc.name, v, err, tc.want)
		}
	}
	if _, err := venue.New(venue.Config{Name: "x", Pairs: []venue.PairConfig{{Symbol: "BTCUSDT", Pair: btc, PriceExp: 9, QtyExp: 9}}}); err != nil {
		t.Errorf("exponents 9+9: %v, want ok", err)
	}
}

func TestDoPublishesCoalescedBatches(t *testing.T) {
	v := newVenue(t)
	md := &mdRec{t: t}
	v.AddMDSink(md)
	btc, eth := pair(t, v, "BTCUSDT"), pair(t, v, "ETHUSDT")
	const lp = 5
	deposit(t, v, lp, "BTC", 1e10)
	deposit(t, v, lp, "USDT", 1e6*1e7)
	deposit(t, v, lp, "ETH", 100e4)
	if got := md.take(); len(got) != 0 {
		t.Fatalf("deposits published %v", got)
	}

	var o1 match.Order
	v.Do(func(tx *venue.Tx) {
		o1 = submit(t, tx, btc, limit(lp, market.Bid, 6000000, 10000))
		submit(t, tx, btc, limit(lp, market.Bid, 6000000, 5000))
		submit(t, tx, btc, limit(lp, market.Ask, 6000100, 7000))
		submit(t, tx, eth, limit(lp, market.Ask, 300000, 20000))
	})
	want := []batch{
		{"BTCUSDT", 1, 3, []venue.Change{{market.Bid, 6000000, 15000}, {market.Ask, 6000100, 7000}}, clock0},
		{"ETHUSDT", 1, 1, []venue.Change{{market.Ask, 300000, 20000}}, clock0},
	}
	checkBatches(t, "first Do", md.take(), want)

	// Only pairs that changed publish; ids go on from the last batch.
	v.Do(func(tx *venue.Tx) {
		if _, err := tx.Cancel(btc, lp, o1.ID, ""); err != nil {
			t.Fatal(err)
		}
		submit(t, tx, btc, limit(lp, market.Bid, 5999900, 1000))
		submit(t, tx, btc, limit(lp, market.Bid, 6000000, 1000))
		tx.CancelAll(btc, lp, nil)
	})
	// Raw: cancel(6000000→5000), new 5999900, 6000000→6000, then CancelAll:
	// 6000000→1000 (the old 5000 order), 6000100 gone, 5999900 gone,
	// 6000000 gone. Coalesced in first-change order.
	want = []batch{
		{"BTCUSDT", 4, 10, []venue.Change{{market.Bid, 6000000, 0}, {market.Bid, 5999900, 0}, {market.Ask, 6000100, 0}}, clock0},
	}
	checkBatches(t, "second Do", md.take(), want)
	if got, want := btc.Book.Changes(), uint64(10); got != want {
		t.Errorf("book changes = %d, want %d", got, want)
	}

	// An operation that changes no book publishes nothing.
	v.Do(func(tx *venue.Tx) {})
	if got := md.take(); len(got) != 0 {
		t.Errorf("an empty Do published %v", got)
	}
}

func checkBatches(t *testing.T, what string, got, want []batch) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d batches %+v, want %d %+v", what, len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.sym != w.sym || g.first != w.first || g.last != w.last || !slices.Equal(g.changes, w.changes) || !g.now.Equal(w.now) {
			t.Errorf("%s: batch %d = %+v, want %+v", what, i, g, w)
		}
	}
}

func TestTradePublishesLevelChanges(t *testing.T) {
	v := newVenue(t)
	md := &mdRec{t: t}
	v.AddMDSink(md)
	btc := pair(t, v, "BTCUSDT")
	const lp, tk = 5, 6
	deposit(t, v, lp, "BTC", 1e10)
	deposit(t, v, tk, "USDT", 1e6*1e7)
	v.Do(func(tx *venue.Tx) {
		submit(t, tx, btc, limit(lp, market.Ask, 6000000, 1000))
		submit(t, tx, btc, limit(lp, market.Ask, 6000000, 1000))
		submit(t, tx, btc, limit(lp, market.Ask, 6000100, 1000))
	})
	md.take()
	v.Do(func(tx *venue.Tx) {
		o := submit(t, tx, btc, match.Request{Account: tk, Side: market.Buy, Type: match.Market, Qty: 2500})
		if o.Filled != 2500 {
			t.Errorf("market buy filled %d, want 2500", o.Filled)
		}
	})
	// Two fills at 6000000 (→1000, →0), one at 6000100 (→500).
	want := []batch{{"BTCUSDT", 4, 6, []venue.Change{{market.Ask, 6000000, 0}, {market.Ask, 6000100, 500}}, clock0}}
	checkBatches(t, "sweep", md.take(), want)
}

func TestDoHoldAndFlush(t *testing.T) {
	v := newVenue(t)
	md := &mdRec{t: t}
	v.AddMDSink(md)
	priv := &privRec{}
	v.AddPrivateSink(priv)
	btc, eth := pair(t, v, "BTCUSDT"), pair(t, v, "ETHUSDT")
	const a = 9
	v.Track(a)
	deposit(t, v, a, "USDT", 1e6*1e7)
	priv.take()

	v.DoHold(func(tx *venue.Tx) {
		submit(t, tx, btc, limit(a, market.Bid, 6000000, 1000))
		submit(t, tx, eth, limit(a, market.Bid, 300000, 1000))
	})
	if got := md.take(); len(got) != 0 {
		t.Fatalf("DoHold published %v", got)
	}
	if got := len(priv.take()); got == 0 {
		t.Error("DoHold delivered no private events, want them at once")
	}
	var o match.Order
	v.DoHold(func(tx *venue.Tx) {
		o = submit(t, tx, btc, limit(a, market.Bid, 6000000, 2000))
		submit(t, tx, btc, limit(a, market.Bid, 5999900, 2000))
		if got, want := btc.UpdateID(), uint64(3); got != want {
			t.Errorf("UpdateID = %d, want %d", got, want)
		}
		if got := btc.PublishedID(); got != 0 {
			t.Errorf("PublishedID = %d, want 0", got)
		}
	})
	v.DoHold(func(tx *venue.Tx) {
		if _, err := tx.Cancel(btc, a, o.ID, ""); err != nil {
			t.Fatal(err)
		}
	})
	if got := md.take(); len(got) != 0 {
		t.Fatalf("DoHold published %v", got)
	}
	v.Flush()
	want := []batch{
		{"BTCUSDT", 1, 4, []venue.Change{{market.Bid, 6000000, 1000}, {market.Bid, 5999900, 2000}}, clock0},
		{"ETHUSDT", 1, 1, []venue.Change{{market.Bid, 300000, 1000}}, clock0},
	}
	checkBatches(t, "Flush", md.take(), want)
	v.Do(func(*venue.Tx) {
		if btc.UpdateID() != 4 || btc.PublishedID() != 4 {
			t.Errorf("after Flush UpdateID, PublishedID = %d, %d; want 4, 4", btc.UpdateID(), btc.PublishedID())
		}
	})
	v.Flush()
	if got := md.take(); len(got) != 0 {
		t.Errorf("a second Flush published %v", got)
	}

	// Pair.Flush inside an operation publishes that pair only, at once.
	v.DoHold(func(tx *venue.Tx) {
		submit(t, tx, btc, limit(a, market.Bid, 5999800, 1000))
		submit(t, tx, eth, limit(a, market.Bid, 299900, 1000))
		btc.Flush()
		if got := md.take(); len(got) != 1 || got[0].sym != "BTCUSDT" || got[0].first != 5 || got[0].last != 5 {
			t.Errorf("Pair.Flush published %+v, want BTCUSDT 5..5", got)
		}
	})
	v.Flush()
	checkBatches(t, "Flush after Pair.Flush", md.take(), []batch{{"ETHUSDT", 2, 2, []venue.Change{{market.Bid, 299900, 1000}}, clock0}})
}

func TestSnapshot(t *testing.T) {
	v := newVenue(t)
	btc := pair(t, v, "BTCUSDT")
	const a = 3
	deposit(t, v, a, "USDT", 1e6*1e7)
	deposit(t, v, a, "BTC", 1e10)
	v.DoHold(func(tx *venue.Tx) {
		for i := range int64(5) {
			submit(t, tx, btc, limit(a, market.Bid, 6000000-100*i, 1000+i))
			submit(t, tx, btc, limit(a, market.Ask, 6000100+100*i, 2000+i))
		}
	})
	id, bids, asks := btc.Snapshot(3, nil, nil)
	if id != 10 {
		t.Errorf("snapshot id = %d, want 10 (held changes included)", id)
	}
	wantBids := []match.Level{{Price: 6000000, Qty: 1000}, {Price: 5999900, Qty: 1001}, {Price: 5999800, Qty: 1002}}
	wantAsks := []match.Level{{Price: 6000100, Qty: 2000}, {Price: 6000200, Qty: 2001}, {Price: 6000300, Qty: 2002}}
	if !slices.Equal(bids, wantBids) || !slices.Equal(asks, wantAsks) {
		t.Errorf("Snapshot(3) = %v / %v, want %v / %v", bids, asks, wantBids, wantAsks)
	}
	_, bids, asks = btc.Snapshot(0, bids[:0], make([]match.Level, 1))
	v.Do(func(*venue.Tx) {
		if want := btc.Book.Levels(market.Bid, 0, nil); !slices.Equal(bids, want) {
			t.Errorf("Snapshot(0) bids = %v, want %v", bids, want)
		}
		if want := append([]match.Level{{}}, btc.Book.Levels(market.Ask, 0, nil)...); !slices.Equal(asks, want) {
			t.Errorf("Snapshot(0) asks = %v, want appended: %v", asks, want)
		}
	})
}

func TestMDSinkPerSink(t *testing.T) {
	v := newVenue(t)
	a, b := &mdRec{t: t}, &mdRec{t: t}
	v.AddMDSink(a)
	v.AddMDSink(b)
	btc := pair(t, v, "BTCUSDT")
	deposit(t, v, 1, "USDT", 1e12)
	v.Do(func(tx *venue.Tx) { submit(t, tx, btc, limit(1, market.Bid, 100, 1000)) })
	if len(a.batches) != 1 || len(b.batches) != 1 {
		t.Errorf("sinks got %d and %d batches, want 1 each", len(a.batches), len(b.batches))
	}
}

// balanceOf reads an account's balance under the venue lock.
func balanceOf(v *venue.Venue, a match.AccountID, asset match.AssetID) (free, locked int64) {
	v.Do(func(*venue.Tx) { free, locked = v.Ledger().Balance(a, asset) })
	return
}

// orderEvents summarises order events as "acct:id:status:filled[:fill][:maker]".
func orderEvents(evs []venue.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Kind != venue.EventOrder {
			continue
		}
		s := fmt.Sprintf("%d:%d:%s:%d", e.Account, e.Order.ID, e.Order.Status, e.Order.Filled)
		if e.HasFill {
			s += fmt.Sprintf(":fill%d@%d", e.Fill.Qty, e.Fill.Price)
		}
		if e.Maker {
			s += ":maker"
		}
		out = append(out, s)
	}
	return out
}

// checkPrivate checks one operation's events: order events first, then one
// balance event per (account, asset) with the ledger's values, and nothing
// for accounts outside tracked.
func checkPrivate(t *testing.T, v *venue.Venue, evs []venue.Event, tracked ...match.AccountID) {
	t.Helper()
	seenBalance := false
	type key struct {
		a match.AccountID
		s match.AssetID
	}
	seen := map[key]bool{}
	for i, e := range evs {
		if !slices.Contains(tracked, e.Account) {
			t.Errorf("event %d for untracked account %d: %+v", i, e.Account, e)
		}
		if !e.Time.Equal(clock0) {
			t.Errorf("event %d time %v, want the venue clock %v", i, e.Time, clock0)
		}
		switch e.Kind {
		case venue.EventOrder:
			if seenBalance {
				t.Errorf("order event %d after a balance event", i)
			}
			if e.Pair == nil {
				t.Errorf("order event %d has no pair", i)
			}
		case venue.EventBalance:
			seenBalance = true
			k := key{e.Account, e.Asset}
			if seen[k] {
				t.Errorf("two balance events for account %d asset %d", e.Account, e.Asset)
			}
			seen[k] = true
			free, locked := balanceOf(v, e.Account, e.Asset)
			if e.Free != free || e.Locked != locked {
				t.Errorf("balance event %+v, ledger has free %d locked %d", e, free, locked)
			}
		}
	}
}

func balanceKeys(evs []venue.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Kind == venue.EventBalance {
			out = append(out, fmt.Sprintf("%d:%d", e.Account, e.Asset))
		}
	}
	slices.Sort(out)
	return out
}

func TestPrivateEvents(t *testing.T) {
	v := newVenue(t)
	priv := &privRec{}
	v.AddPrivateSink(priv)
	btc := pair(t, v, "BTCUSDT")
	const maker, taker, bg = 1, 2, 3
	v.Track(maker)
	v.Track(taker)
	deposit(t, v, maker, "BTC", 1e10)
	deposit(t, v, taker, "USDT", 1e6*1e7)
	deposit(t, v, bg, "USDT", 1e6*1e7)
	deposit(t, v, bg, "BTC", 1e10)
	evs := priv.take()
	if got, want := balanceKeys(evs), []string{fmt.Sprintf("%d:%d", maker, btc.Base), fmt.Sprintf("%d:%d", taker, btc.Quote)}; !slices.Equal(got, want) {
		t.Errorf("deposit balance events %v, want %v", got, want)
	}

	// The maker rests a sell: its NEW, then its base balance (locked).
	var ask match.Order
	v.Do(func(tx *venue.Tx) { ask = submit(t, tx, btc, limit(maker, market.Sell, 6000000, 3000)) })
	evs = priv.take()
	checkPrivate(t, v, evs, maker, taker)
	if got, want := orderEvents(evs), []string{fmt.Sprintf("1:%d:NEW:0", ask.ID)}; !slices.Equal(got, want) {
		t.Errorf("resting order events %v, want %v", got, want)
	}
	if got, want := balanceKeys(evs), []string{fmt.Sprintf("1:%d", btc.Base)}; !slices.Equal(got, want) {
		t.Errorf("resting order balance events %v, want %v", got, want)
	}
	if len(priv.calls) != 0 {
		t.Fatal("take did not reset")
	}

	// The taker (tracked) buys part of it: its NEW, then the fill once per
	// side (maker flagged), no repeated order event for either side.
	var buy match.Order
	v.Do(func(tx *venue.Tx) { buy = submit(t, tx, btc, limit(taker, market.Buy, 6000000, 1000)) })
	evs = priv.take()
	checkPrivate(t, v, evs, maker, taker)
	want := []string{
		fmt.Sprintf("2:%d:NEW:0", buy.ID),
		fmt.Sprintf("1:%d:PARTIALLY_FILLED:1000:fill1000@6000000:maker", ask.ID),
		fmt.Sprintf("2:%d:FILLED:1000:fill1000@6000000", buy.ID),
	}
	if got := orderEvents(evs); !slices.Equal(got, want) {
		t.Errorf("fill events %v, want %v", got, want)
	}
	wantBal := []string{fmt.Sprintf("1:%d", btc.Base), fmt.Sprintf("1:%d", btc.Quote), fmt.Sprintf("2:%d", btc.Base), fmt.Sprintf("2:%d", btc.Quote)}
	slices.Sort(wantBal)
	if got := balanceKeys(evs); !slices.Equal(got, wantBal) {
		t.Errorf("fill balance events %v, want %v", got, wantBal)
	}
	for _, e := range evs {
		if e.Kind == venue.EventOrder && e.HasFill {
			if e.Fill.TakerSide != market.Buy || e.Pair != btc {
				t.Errorf("fill event %+v: want taker side Buy on BTCUSDT", e)
			}
		}
	}

	// An untracked taker fills the rest: only the maker hears of it.
	v.Do(func(tx *venue.Tx) { submit(t, tx, btc, limit(bg, market.Buy, 6000000, 2000)) })
	evs = priv.take()
	checkPrivate(t, v, evs, maker)
	if got, want := orderEvents(evs), []string{fmt.Sprintf("1:%d:FILLED:3000:fill2000@6000000:maker", ask.ID)}; !slices.Equal(got, want) {
		t.Errorf("untracked taker events %v, want %v", got, want)
	}

	// Untracked activity alone delivers nothing.
	v.Do(func(tx *venue.Tx) { submit(t, tx, btc, limit(bg, market.Sell, 6100000, 1000)) })
	if len(priv.calls) != 0 {
		t.Errorf("untracked order delivered %v", priv.take())
	}

	// A tracked taker against an untracked maker.
	v.Do(func(tx *venue.Tx) { buy = submit(t, tx, btc, limit(taker, market.Buy, 6100000, 500)) })
	evs = priv.take()
	checkPrivate(t, v, evs, taker)
	want = []string{fmt.Sprintf("2:%d:NEW:0", buy.ID), fmt.Sprintf("2:%d:FILLED:500:fill500@6100000", buy.ID)}
	if got := orderEvents(evs); !slices.Equal(got, want) {
		t.Errorf("untracked maker events %v, want %v", got, want)
	}

	// A cancel: the order's CANCELED, then the freed balance.
	var bid match.Order
	v.Do(func(tx *venue.Tx) { bid = submit(t, tx, btc, limit(taker, market.Buy, 5000000, 1000)) })
	priv.take()
	v.Do(func(tx *venue.Tx) {
		if _, err := tx.Cancel(btc, taker, bid.ID, ""); err != nil {
			t.Fatal(err)
		}
	})
	evs = priv.take()
	checkPrivate(t, v, evs, taker)
	if got, want := orderEvents(evs), []string{fmt.Sprintf("2:%d:CANCELED:0", bid.ID)}; !slices.Equal(got, want) {
		t.Errorf("cancel events %v, want %v", got, want)
	}
	if got, want := balanceKeys(evs), []string{fmt.Sprintf("2:%d", btc.Quote)}; !slices.Equal(got, want) {
		t.Errorf("cancel balance events %v, want %v", got, want)
	}
	if free, locked := balanceOf(v, taker, btc.Quote); locked != 0 || free <= 0 {
		t.Errorf("after cancel taker quote free %d locked %d, want all free", free, locked)
	}
}

func TestPrivateEventsSweep(t *testing.T) {
	// One tracked taker sweeps three orders of two tracked makers: every
	// fill is reported once per side, in order, and nothing repeats.
	v := newVenue(t)
	priv := &privRec{}
	v.AddPrivateSink(priv)
	btc := pair(t, v, "BTCUSDT")
	const m1, m2, tk = 1, 2, 3
	for _, a := range []match.AccountID{m1, m2, tk} {
		v.Track(a)
	}
	deposit(t, v, m1, "BTC", 1e10)
	deposit(t, v, m2, "BTC", 1e10)
	deposit(t, v, tk, "USDT", 1e6*1e7)
	var a1, a2, a3 match.Order
	v.Do(func(tx *venue.Tx) {
		a1 = submit(t, tx, btc, limit(m1, market.Sell, 6000000, 1000))
		a2 = submit(t, tx, btc, limit(m2, market.Sell, 6000000, 1000))
		a3 = submit(t, tx, btc, limit(m1, market.Sell, 6000100, 1000))
	})
	priv.take()
	var o match.Order
	v.Do(func(tx *venue.Tx) { o = submit(t, tx, btc, limit(tk, market.Buy, 6000100, 2500)) })
	evs := priv.take()
	checkPrivate(t, v, evs, m1, m2, tk)
	want := []string{
		fmt.Sprintf("3:%d:NEW:0", o.ID),
		fmt.Sprintf("1:%d:FILLED:1000:fill1000@6000000:maker", a1.ID),
		fmt.Sprintf("3:%d:PARTIALLY_FILLED:1000:fill1000@6000000", o.ID),
		fmt.Sprintf("2:%d:FILLED:1000:fill1000@6000000:maker", a2.ID),
		fmt.Sprintf("3:%d:PARTIALLY_FILLED:2000:fill1000@6000000", o.ID),
		fmt.Sprintf("1:%d:PARTIALLY_FILLED:500:fill500@6000100:maker", a3.ID),
		fmt.Sprintf("3:%d:FILLED:2500:fill500@6000100", o.ID),
	}
	if got := orderEvents(evs); !slices.Equal(got, want) {
		t.Errorf("sweep events\n got %v\nwant %v", got, want)
	}
	if len(priv.calls) != 0 {
		t.Fatal("take did not reset")
	}
	v.Do(func(tx *venue.Tx) {}) // nothing changed: no Deliver
	if len(priv.calls) != 0 {
		t.Errorf("empty Do delivered %v", priv.calls)
	}
}

func TestSelfTradeEvents(t *testing.T) {
	// Self-trade prevention (expire maker) reports the maker's expiry and
	// the taker resting, once each.
	v := newVenue(t)
	priv := &privRec{}
	v.AddPrivateSink(priv)
	btc := pair(t, v, "BTCUSDT")
	const a = 1
	v.Track(a)
	deposit(t, v, a, "BTC", 1e10)
	deposit(t, v, a, "USDT", 1e6*1e7)
	var ask, bid match.Order
	v.Do(func(tx *venue.Tx) { ask = submit(t, tx, btc, limit(a, market.Sell, 6000000, 1000)) })
	priv.take()
	v.Do(func(tx *venue.Tx) { bid = submit(t, tx, btc, limit(a, market.Buy, 6000000, 1000)) })
	evs := priv.take()
	checkPrivate(t, v, evs, a)
	want := []string{fmt.Sprintf("1:%d:NEW:0", bid.ID), fmt.Sprintf("1:%d:EXPIRED_IN_MATCH:0", ask.ID)}
	if got := orderEvents(evs); !slices.Equal(got, want) {
		t.Errorf("STP events %v, want %v", got, want)
	}
}

func TestTxHelpers(t *testing.T) {
	v := newVenue(t)
	btc, eth := pair(t, v, "BTCUSDT"), pair(t, v, "ETHUSDT")
	const a, b = 1, 2
	v.Track(a)
	deposit(t, v, a, "USDT", 1e6*1e7)
	deposit(t, v, b, "BTC", 1e10)

	r := limit(a, market.Buy, 6000000, 1000)
	r.ClientID = "c1"
	var o1, o2, o3 match.Order
	v.Do(func(tx *venue.Tx) {
		if !tx.Now().Equal(clock0) || tx.Venue() != v {
			t.Errorf("Tx.Now, Venue = %v, %v", tx.Now(), tx.Venue())
		}
		o1 = submit(t, tx, btc, r)
		o2 = submit(t, tx, btc, limit(a, market.Buy, 5990000, 1000))
		o3 = submit(t, tx, eth, limit(a, market.Buy, 300000, 1000))
	})
	if o1.Status != match.StatusNew || o1.ClientID != "c1" || o1.Created != clock0.UnixNano() {
		t.Errorf("Submit returned %+v", o1)
	}
	// The copy does not follow the book.
	v.Do(func(tx *venue.Tx) { submit(t, tx, btc, limit(b, market.Sell, 6000000, 400)) })
	if o1.Filled != 0 {
		t.Errorf("Submit's copy changed after a fill: Filled %d", o1.Filled)
	}
	v.Do(func(tx *venue.Tx) {
		got, ok := tx.Lookup(btc, a, o1.ID, "")
		if !ok || got.Filled != 400 || got.Status != match.StatusPartiallyFilled {
			t.Errorf("Lookup by id = %+v, %v; want filled 400", got, ok)
		}
		got.Filled = 999 // a copy
		if again, _ := tx.Lookup(btc, a, 0, "c1"); again.ID != o1.ID || again.Filled != 400 {
			t.Errorf("Lookup by client id = %+v, want id %d filled 400", again, o1.ID)
		}
		if _, ok := tx.Lookup(btc, b, o1.ID, ""); ok {
			t.Error("Lookup found another account's order")
		}
		if _, ok := tx.Lookup(eth, a, o1.ID, ""); ok {
			t.Error("Lookup found an order on another pair")
		}
		open := tx.Open(nil, a, nil)
		if ids := orderIDs(open); !slices.Equal(ids, []uint64{o1.ID, o2.ID, o3.ID}) {
			t.Errorf("Open(all) = %v, want %v", ids, []uint64{o1.ID, o2.ID, o3.ID})
		}
		if ids := orderIDs(tx.Open(eth, a, nil)); !slices.Equal(ids, []uint64{o3.ID}) {
			t.Errorf("Open(ETHUSDT) = %v, want %v", ids, []uint64{o3.ID})
		}
		open[0].Price = 1
		if again, _ := tx.Lookup(btc, a, o1.ID, ""); again.Price != 6000000 {
			t.Error("Open returned the book's order, not a copy")
		}

		c, err := tx.Cancel(btc, a, 0, "c1")
		if err != nil || c.ID != o1.ID || c.Status != match.StatusCanceled {
			t.Errorf("Cancel by client id = %+v, %v", c, err)
		}
		if _, err := tx.Cancel(btc, a, o1.ID, ""); !errors.Is(err, match.ErrUnknownOrder) {
			t.Errorf("second Cancel: %v, want ErrUnknownOrder", err)
		}
		if _, err := tx.Cancel(btc, b, o2.ID, ""); !errors.Is(err, match.ErrUnknownOrder) {
			t.Errorf("Cancel of another account's order: %v, want ErrUnknownOrder", err)
		}
		if _, err := tx.Submit(btc, limit(a, market.Buy, 6000000, 0)); err == nil {
			t.Error("Submit of qty 0 succeeded")
		}
		// A closed order of a tracked account stays queryable.
		if got, ok := tx.Lookup(btc, a, 0, "c1"); !ok || got.Status != match.StatusCanceled {
			t.Errorf("Lookup of the canceled order = %+v, %v", got, ok)
		}

		dst := []match.Order{{ID: 12345}}
		dst = tx.CancelAll(eth, a, dst)
		if ids := orderIDs(dst); !slices.Equal(ids, []uint64{12345, o3.ID}) || dst[1].Status != match.StatusCanceled {
			t.Errorf("CancelAll(ETHUSDT) = %v, want [12345 %d] canceled", ids, o3.ID)
		}
		if ids := orderIDs(tx.Open(nil, a, nil)); !slices.Equal(ids, []uint64{o2.ID}) {
			t.Errorf("Open after CancelAll(ETHUSDT) = %v, want [%d]", ids, o2.ID)
		}
	})
	v.Do(func(tx *venue.Tx) {
		submit(t, tx, eth, limit(a, market.Buy, 300000, 1000))
		all := tx.CancelAll(nil, a, nil)
		if len(all) != 2 {
			t.Errorf("CancelAll(nil) cancelled %d orders, want 2", len(all))
		}
		if got := tx.Open(nil, a, nil); len(got) != 0 {
			t.Errorf("open after CancelAll(nil): %v", got)
		}
		if got := tx.CancelAll(nil, 77, nil); len(got) != 0 {
			t.Errorf("CancelAll of an unknown account = %v", got)
		}

		bals := tx.Balances(a, nil)
		if len(bals) != 3 {
			t.Fatalf("Balances = %v, want 3 assets", bals)
		}
		wantNames, wantExps := []string{"BTC", "ETH", "USDT"}, []int{9, 4, 7}
		for i, bl := range bals {
			if bl.Asset != wantNames[i] || bl.Exp != wantExps[i] {
				t.Errorf("balance %d = %+v, want %s at %d decimals", i, bl, wantNames[i], wantExps[i])
			}
			if bl.Locked != 0 {
				t.Errorf("balance %s locked %d after cancelling everything", bl.Asset, bl.Locked)
			}
		}
		// Bought 400 qty units of BTC (5 decimals) = 400e4 ledger units at 9.
		if bals[0].Free != 400*1e4 {
			t.Errorf("BTC free = %d, want %d", bals[0].Free, int64(400*1e4))
		}
		// Paid 60000.00 × 0.00400 = 240 USDT.
		if want := int64(1e6*1e7 - 240e7); bals[2].Free != want {
			t.Errorf("USDT free = %d, want %d", bals[2].Free, want)
		}
	})
}

func orderIDs(os []match.Order) []uint64 {
	ids := make([]uint64, len(os))
	for i, o := range os {
		ids[i] = o.ID
	}
	return ids
}

func TestDepositUnknownAsset(t *testing.T) {
	v := newVenue(t)
	if err := v.Deposit(1, "DOGE", 1); err == nil || !strings.Contains(err.Error(), "no asset DOGE") {
		t.Errorf("Deposit(DOGE) = %v, want no asset", err)
	}
	if err := v.Deposit(1, "BTC", 0); err == nil {
		t.Error("Deposit of 0 succeeded")
	}
}

func TestIDsUniqueAcrossPairs(t *testing.T) {
	v := newVenue(t)
	deposit(t, v, 1, "USDT", 1e12)
	deposit(t, v, 1, "BTC", 1e9)
	var ids []uint64
	v.Do(func(tx *venue.Tx) {
		for _, p := range v.Pairs() {
			ids = append(ids, submit(t, tx, p, limit(1, market.Buy, 1, 1000)).ID)
		}
	})
	if !slices.Equal(ids, []uint64{1, 2, 3}) {
		t.Errorf("order ids across pairs = %v, want [1 2 3]", ids)
	}
}

// idCheck checks that every pair's batches follow on without gaps.
type idCheck struct {
	t    *testing.T
	last map[string]uint64
	n    int
}

func (c *idCheck) Publish(p *venue.Pair, first, last uint64, changes []venue.Change, _ time.Time) {
	sym := p.Cfg.Symbol
	if first != c.last[sym]+1 || last < first || int(last-first+1) < len(changes) || len(changes) == 0 {
		c.t.Errorf("%s: batch %d..%d with %d changes after %d", sym, first, last, len(changes), c.last[sym])
	}
	if p.PublishedID() != last {
		c.t.Errorf("%s: during Publish PublishedID %d, want %d", sym, p.PublishedID(), last)
	}
	c.last[sym] = last
	c.n++
}

func TestConcurrentOperations(t *testing.T) {
	v := newVenue(t)
	ic := &idCheck{t: t, last: map[string]uint64{}}
	v.AddMDSink(ic)
	const workers, ops = 8, 200
	for w := range workers {
		deposit(t, v, match.AccountID(w+1), "USDT", 1e12)
		deposit(t, v, match.AccountID(w+1), "BTC", 1e10)
		deposit(t, v, match.AccountID(w+1), "ETH", 1e8)
	}
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			a := match.AccountID(w + 1)
			for i := range ops {
				hold := i%3 == 0
				op := func(tx *venue.Tx) {
					p := v.Pairs()[i%3]
					side := market.Side(i % 2)
					price := int64(1000 + i%7)
					if side == market.Ask {
						price += 10
					}
					if _, err := tx.Submit(p, limit(a, side, price, 1000)); err != nil {
						t.Errorf("worker %d op %d: %v", w, i, err)
					}
					if i%5 == 4 {
						tx.CancelAll(p, a, nil)
					}
				}
				if hold {
					v.DoHold(op)
				} else {
					v.Do(op)
				}
				if i%17 == 0 {
					v.Pairs()[0].Snapshot(5, nil, nil)
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	v.Flush()
	v.Do(func(*venue.Tx) {
		for _, p := range v.Pairs() {
			if got := ic.last[p.Cfg.Symbol]; got != p.UpdateID() || got != p.Book.Changes() {
				t.Errorf("%s: last published %d, UpdateID %d, book changes %d; want equal", p.Cfg.Symbol, got, p.UpdateID(), p.Book.Changes())
			}
		}
	})
}
