package match

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"arbmm/internal/market"
)

// checkBook checks the invariants every operation must keep: no negative
// balance, each account's locked amounts equal to its open orders'
// reservations, an uncrossed book whose levels are the sums of its orders,
// and (rec non-nil) a level map rebuilt from Level events equal to Levels.
func checkBook(b *Book, l *Ledger, rec *recorder) error {
	type key struct {
		a     AccountID
		asset AssetID
	}
	locked := map[key]int64{}
	for id, o := range b.open {
		if o.ID != id || !o.Status.Open() || o.lvl == nil || o.Remaining() <= 0 {
			return fmt.Errorf("open order %d: got status %s level %v remaining %d, want a resting open order", id, o.Status, o.lvl != nil, o.Remaining())
		}
		if want := b.reserve(o); o.locked != want {
			return fmt.Errorf("order %d: got locked %d, want its reservation %d", id, o.locked, want)
		}
		locked[key{o.Account, o.lockAsset}] += o.locked
	}
	for _, a := range l.Accounts() {
		for as := range l.Assets() {
			free, lk := l.Balance(a, AssetID(as))
			if free < 0 || lk < 0 {
				return fmt.Errorf("account %d asset %d: got free %d locked %d, want both ≥ 0", a, as, free, lk)
			}
			if want := locked[key{a, AssetID(as)}]; lk != want {
				return fmt.Errorf("account %d asset %d: got locked %d, want the sum of its open orders' %d", a, as, lk, want)
			}
		}
	}
	n := 0
	for s := market.Bid; s <= market.Ask; s++ {
		levels := b.Levels(s, 0, nil)
		for i, lv := range b.sides[s] {
			var sum int64
			for o := lv.head; o != nil; o = o.next {
				if o.lvl != lv || o.Side != s || o.Price != lv.price || b.open[o.ID] != o {
					return fmt.Errorf("%s level %d: order %d misfiled", s, lv.price, o.ID)
				}
				if o.next != nil && o.next.ID < o.ID {
					return fmt.Errorf("%s level %d: order %d before older %d", s, lv.price, o.ID, o.next.ID)
				}
				sum += o.Remaining()
				n++
			}
			if sum != lv.qty || sum <= 0 {
				return fmt.Errorf("%s level %d: got qty %d, want the sum of its orders %d > 0", s, lv.price, lv.qty, sum)
			}
			if i > 0 && (s == market.Bid) != (lv.price > b.sides[s][i-1].price) {
				return fmt.Errorf("%s levels out of order at %d", s, lv.price)
			}
		}
		if rec != nil {
			if len(rec.levels[s]) != len(levels) {
				return fmt.Errorf("%s: got %d levels from events, want %d", s, len(rec.levels[s]), len(levels))
			}
			for _, lv := range levels {
				if rec.levels[s][lv.Price] != lv.Qty {
					return fmt.Errorf("%s %d: got %d from events, want %d", s, lv.Price, rec.levels[s][lv.Price], lv.Qty)
				}
			}
			if rec.nlevel != b.Changes() {
				return fmt.Errorf("Changes: got %d, want %d Level events", b.Changes(), rec.nlevel)
			}
		}
	}
	if n != len(b.open) || n != b.OpenOrders() {
		return fmt.Errorf("open orders: got %d in levels, %d indexed, want equal", n, len(b.open))
	}
	bid, okb := b.Best(market.Bid)
	ask, oka := b.Best(market.Ask)
	if okb && oka && bid.Price >= ask.Price {
		return fmt.Errorf("crossed: bid %d ≥ ask %d", bid.Price, ask.Price)
	}
	return nil
}

// source hands out small random integers: math/rand for the property
// test, fuzz bytes for FuzzBook.
type source interface {
	IntN(n int) int
}

type byteSource struct {
	b []byte
}

func (s *byteSource) IntN(n int) int {
	if len(s.b) == 0 {
		return 0
	}
	v := int(s.b[0])
	s.b = s.b[1:]
	if n > 256 {
		if len(s.b) > 0 {
			v = v<<8 | int(s.b[0])
			s.b = s.b[1:]
		}
	}
	return v % n
}

// sim drives a book with random operations and checks the invariants after
// each one.
type sim struct {
	l      *Ledger
	b      *Book
	rec    *recorder
	totals []int64
	now    int64
	dst    []*Order
}

const simAccounts = 4

func newSim(mode FeeMode, scaled bool) (*sim, error) {
	// Scaled: ledger units finer than price×qty (quote ×1000, base ×100),
	// so that conversions are exercised.
	assets := []Asset{{Name: "BTC", Exp: -3}, {Name: "USD", Exp: -5}}
	if scaled {
		assets = []Asset{{Name: "BTC", Exp: -5}, {Name: "USD", Exp: -8}}
	}
	l, err := NewLedger(assets)
	if err != nil {
		return nil, err
	}
	rec := newRecorder()
	b, err := NewBook(BookConfig{
		Symbol: "BTCUSD", Base: 0, Quote: 1, PriceExp: -2, QtyExp: -3,
		Tick: 5, Step: 10, MinQty: 10, MaxQty: 100_000,
		MakerFeeBps: 7, TakerFeeBps: 33, FeeMode: mode, MaxClosed: 50,
	}, l, rec)
	if err != nil {
		return nil, err
	}
	s := &sim{l: l, b: b, rec: rec}
	for a := AccountID(1); a <= simAccounts; a++ {
		if a%2 == 0 {
			b.Track(a)
		}
		if err := l.Deposit(a, 0, 50_000*b.bscale); err != nil {
			return nil, err
		}
		if err := l.Deposit(a, 1, 5_000_000_000*int64(b.qscale)); err != nil {
			return nil, err
		}
	}
	for as := range l.Assets() {
		s.totals = append(s.totals, l.Total(AssetID(as)))
	}
	return s, nil
}

type balSnap [simAccounts + 1][2][2]int64

func (s *sim) snap() (bs balSnap) {
	for a := range bs {
		for as := range 2 {
			bs[a][as][0], bs[a][as][1] = s.l.Balance(AccountID(a), AssetID(as))
		}
	}
	return bs
}

var clientIDs = [...]string{"", "", "c1", "c2", "c3"}

// step applies one random operation and checks the invariants.
func (s *sim) step(r source) error {
	s.now++
	a := AccountID(1 + r.IntN(simAccounts))
	b := s.b
	switch op := r.IntN(20); {
	case op < 14:
		req := Request{
			Account:  a,
			ClientID: clientIDs[r.IntN(len(clientIDs))],
			Side:     market.Side(r.IntN(2)),
			Type:     Limit,
			TIF:      TIF(r.IntN(3)),
			Price:    10_000 + 5*int64(r.IntN(41)-20),
			Qty:      10 * int64(1+r.IntN(40)),
			STP:      STPMode(r.IntN(5)),
		}
		if r.IntN(3) == 0 {
			req.TIF = GTC
		}
		switch r.IntN(12) {
		case 0:
			req.Type, req.Price = Market, 0
		case 1:
			req.Type, req.Price, req.Qty, req.QuoteQty = Market, 0, 0, int64(1+r.IntN(5000))*1000*int64(b.qscale)
		case 2:
			req.PostOnly, req.TIF = true, GTC
		case 3:
			req.Price += int64(r.IntN(5)) // mostly off tick
		case 4:
			req.Qty = 1_000_000_000 // mostly insufficient
		}
		before, events := s.snap(), len(s.rec.events)
		open, nextID := b.OpenOrders(), b.ids.order
		o, err := b.Submit(req, s.now)
		if err != nil {
			if o != nil || s.snap() != before || len(s.rec.events) != events || b.OpenOrders() != open || b.ids.order != nextID {
				return fmt.Errorf("rejected %+v (%v) changed something", req, err)
			}
			if errors.Is(err, ErrBadRequest) {
				return fmt.Errorf("generated request %+v: %v", req, err)
			}
			break
		}
		if o.Status.Open() != (b.open[o.ID] == o) {
			return fmt.Errorf("order %d %s: open index disagrees", o.ID, o.Status)
		}
		if o.Qty > 0 && (o.Filled > o.Qty || o.Filled < 0) {
			return fmt.Errorf("order %d: filled %d of %d", o.ID, o.Filled, o.Qty)
		}
		if o.Type == Market && o.Status.Open() {
			return fmt.Errorf("market order %d rests", o.ID)
		}
	case op < 16:
		s.dst = b.Open(a, s.dst[:0])
		if len(s.dst) == 0 {
			if _, err := b.Cancel(a, uint64(1+r.IntN(1000)), s.now); err == nil {
				return fmt.Errorf("cancel with no open orders succeeded")
			}
			break
		}
		o := s.dst[r.IntN(len(s.dst))]
		got, err := b.Cancel(a, o.ID, s.now)
		if err != nil || got.Status != StatusCanceled {
			return fmt.Errorf("cancel %d: %v", o.ID, err)
		}
	case op < 17:
		cid := clientIDs[2+r.IntN(3)]
		_, open := b.LookupClientID(a, cid)
		if open {
			o, _ := b.LookupClientID(a, cid)
			open = o.Status.Open()
		}
		if _, err := b.CancelByClientID(a, cid, s.now); (err == nil) != open {
			return fmt.Errorf("cancel of client id %s (open %v): %v", cid, open, err)
		}
	case op < 18:
		n := len(b.Open(a, s.dst[:0]))
		s.dst = b.CancelAll(a, s.now, s.dst[:0])
		if len(s.dst) != n || len(b.Open(a, nil)) != 0 {
			return fmt.Errorf("CancelAll: canceled %d of %d", len(s.dst), n)
		}
	case op < 19:
		as := AssetID(r.IntN(2))
		amt := int64(1 + r.IntN(100_000))
		if r.IntN(2) == 0 {
			if err := s.l.Deposit(a, as, amt); err == nil {
				s.totals[as] += amt
			}
		} else if err := s.l.Withdraw(a, as, amt); err == nil {
			s.totals[as] -= amt
		}
	default:
		b.SetFees(a, int64(r.IntN(20)), int64(r.IntN(60)))
	}
	for as, want := range s.totals {
		if got := s.l.Total(AssetID(as)); got != want {
			return fmt.Errorf("Total(asset %d): got %d, want %d", as, got, want)
		}
	}
	return checkBook(b, s.l, s.rec)
}

func TestProperty(t *testing.T) {
	for _, mode := range []FeeMode{FeeOnReceived, FeeInQuote} {
		for _, scaled := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/scaled=%v", mode, scaled), func(t *testing.T) {
				s, err := newSim(mode, scaled)
				if err != nil {
					t.Fatal(err)
				}
				r := rand.New(rand.NewPCG(1, uint64(mode)<<1|map[bool]uint64{false: 0, true: 1}[scaled]))
				fills, statuses := 0, map[Status]int{}
				for i := range 5000 {
					s.rec.reset()
					if err := s.step(r); err != nil {
						t.Fatalf("op %d: %v", i, err)
					}
					fills += len(s.rec.fills)
					for _, e := range s.rec.events {
						var id uint64
						var st string
						var filled int64
						if _, err := fmt.Sscanf(e, "order %d %s %d", &id, &st, &filled); err == nil {
							statuses[statusOf(st)]++
						}
					}
				}
				// The generator must reach every outcome, or the invariants prove little.
				if fills < 500 {
					t.Errorf("fills: got %d, want ≥ 500", fills)
				}
				for _, st := range []Status{StatusNew, StatusPartiallyFilled, StatusFilled, StatusCanceled, StatusExpired, StatusExpiredInMatch} {
					if statuses[st] == 0 {
						t.Errorf("status %s: got none, want some", st)
					}
				}
				if free, _ := s.l.Balance(FeeAccount, 1); free <= 0 {
					t.Errorf("fee account quote: got %d, want > 0", free)
				}
			})
		}
	}
}

func statusOf(s string) Status {
	for st := StatusNew; st <= StatusExpiredInMatch; st++ {
		if st.String() == s {
			return st
		}
	}
	return 255
}

// TestLevelsSorted checks the order of Levels on both sides directly.
func TestLevelsSorted(t *testing.T) {
	s, err := newSim(FeeOnReceived, false)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for range 500 {
		if err := s.step(r); err != nil {
			t.Fatal(err)
		}
	}
	bids := s.b.Levels(market.Bid, 0, nil)
	asks := s.b.Levels(market.Ask, 0, nil)
	if !slices.IsSortedFunc(bids, func(x, y Level) int { return int(y.Price - x.Price) }) {
		t.Errorf("bids: got %v, want best (highest) first", bids)
	}
	if !slices.IsSortedFunc(asks, func(x, y Level) int { return int(x.Price - y.Price) }) {
		t.Errorf("asks: got %v, want best (lowest) first", asks)
	}
	if len(bids) == 0 || len(asks) == 0 {
		t.Errorf("got %d bids %d asks, want both sides populated", len(bids), len(asks))
	}
}
