package book

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"arbmm/internal/market"
)

func newBook(t testing.TB, depth, top int) *Book {
	t.Helper()
	b, err := New(Config{Venue: market.Binance, Symbol: "TEST", MaxDepth: depth, TopN: top})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sideLevels(b *Book, s market.Side) []Level {
	out := make([]Level, b.Depth(s))
	for i := range out {
		out[i] = b.Level(s, i)
	}
	return out
}

func equalLevels(a, b []Level) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSetAndRead(t *testing.T) {
	b := newBook(t, 10, 3)
	for _, l := range []struct {
		s    market.Side
		p, q int64
	}{{market.Bid, 100, 1}, {market.Bid, 99, 2}, {market.Bid, 101, 3}, {market.Ask, 103, 4}, {market.Ask, 102, 5}, {market.Ask, 104, 6}, {market.Bid, 98, 7}} {
		if err := b.Set(l.s, market.Price(l.p), market.Qty(l.q)); err != nil {
			t.Fatal(err)
		}
	}
	if pub, err := b.Commit(42, 1, 2); !pub || err != nil {
		t.Fatalf("Commit = %v, %v; want published, nil", pub, err)
	}
	var top Top
	b.Read(&top)
	wantB := []Level{{101, 3}, {100, 1}, {99, 2}}
	wantA := []Level{{102, 5}, {103, 4}, {104, 6}}
	if !equalLevels(top.Side(market.Bid), wantB) || !equalLevels(top.Side(market.Ask), wantA) {
		t.Fatalf("top = %v / %v, want %v / %v", top.Side(market.Bid), top.Side(market.Ask), wantB, wantA)
	}
	if top.Seq != 42 || top.ExchTime != 1 || top.RecvTime != 2 || top.State != Syncing {
		t.Errorf("header = seq %d exch %d recv %d state %v", top.Seq, top.ExchTime, top.RecvTime, top.State)
	}
	// A change below the top-N does not republish.
	b.Set(market.Bid, 98, 8)
	if pub, _ := b.Commit(43, 1, 3); pub {
		t.Error("change at depth 4 of a top-3 book republished")
	}
	if b.Find(market.Bid, 98) != 8 || b.Find(market.Bid, 97) != 0 {
		t.Error("Find disagrees with the last Set")
	}
	if err := b.Set(market.Bid, 0, 1); !errors.Is(err, ErrBadLevel) {
		t.Errorf("Set(price 0) err = %v, want ErrBadLevel", err)
	}
	if err := b.Set(market.Ask, 5, -1); !errors.Is(err, ErrBadLevel) {
		t.Errorf("Set(qty -1) err = %v, want ErrBadLevel", err)
	}
}

func TestCrossedMarksStale(t *testing.T) {
	b := newBook(t, 10, 5)
	b.SetState(Live)
	b.Set(market.Bid, 100, 1)
	b.Set(market.Ask, 100, 1)
	_, err := b.Commit(1, 0, 0)
	if !errors.Is(err, ErrCrossed) || b.State() != Stale || b.Stats().Crossed != 1 {
		t.Fatalf("crossed commit: err %v state %v crossed %d; want ErrCrossed, stale, 1", err, b.State(), b.Stats().Crossed)
	}
	var top Top
	b.Read(&top)
	if top.State != Stale {
		t.Errorf("snapshot state %v, want stale", top.State)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{MaxDepth: -1}, {TopN: MaxTop + 1}, {MaxDepth: maxMaxDepth + 1}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) succeeded, want error", c)
		}
	}
}

// TestModel applies random operation sequences to the book and to the naive
// reference and requires them to agree on every level after every step, and
// the published snapshot to equal the reference's top-N after every commit.
func TestModel(t *testing.T) {
	for _, tc := range []struct {
		depth, top, span int
		steps            int
	}{{4, 3, 12, 20000}, {16, 8, 60, 20000}, {200, 20, 400, 20000}, {1000, 32, 3000, 20000}} {
		rng := rand.New(rand.NewPCG(uint64(tc.depth), 7))
		b := newBook(t, tc.depth, tc.top)
		ref := newRefBook(tc.depth)
		var top Top
		for step := 0; step < tc.steps; step++ {
			s := market.Side(rng.IntN(2))
			var op string
			switch r := rng.IntN(1000); {
			case r < 2:
				op = "clear"
				b.Clear()
				ref.clear()
			case r < 12:
				d := rng.IntN(tc.depth + 1)
				op = "truncate"
				b.Truncate(d)
				ref.truncate(d)
			default:
				// Bids live below 2*span, asks above span: they overlap,
				// so crossed books occur too.
				p := market.Price(1 + rng.IntN(2*tc.span))
				if s == market.Ask {
					p += market.Price(tc.span)
				}
				q := market.Qty(rng.IntN(5))
				op = "set"
				if err := b.Set(s, p, q); err != nil {
					t.Fatal(err)
				}
				ref.set(s, p, q)
			}
			for side := market.Bid; side <= market.Ask; side++ {
				got, want := sideLevels(b, side), ref.levels(side)
				if !equalLevels(got, want) {
					t.Fatalf("depth %d step %d after %s: %v side\n got %v\nwant %v", tc.depth, step, op, side, got, want)
				}
			}
			if step%7 == 0 {
				b.Commit(int64(step), 0, 0)
				b.Read(&top)
				for side := market.Bid; side <= market.Ask; side++ {
					want := ref.levels(side)
					want = want[:min(len(want), tc.top)]
					if !equalLevels(top.Side(side), want) {
						t.Fatalf("depth %d step %d: snapshot %v side %v, want %v", tc.depth, step, side, top.Side(side), want)
					}
				}
			}
		}
	}
}

// TestSnapshotLoadBothOrders loads snapshots best-first and worst-first: both
// must give the same book (one exercises the low end of the arrays, the
// other the high end and recentering).
func TestSnapshotLoadBothOrders(t *testing.T) {
	const n = 1000
	a, c := newBook(t, n, 20), newBook(t, n, 20)
	for i := 0; i < n; i++ {
		a.Set(market.Bid, market.Price(100000-i), market.Qty(i+1))
		a.Set(market.Ask, market.Price(100001+i), market.Qty(i+1))
		c.Set(market.Bid, market.Price(100000-(n-1)+i), market.Qty(n-i))
		c.Set(market.Ask, market.Price(100001+(n-1)-i), market.Qty(n-i))
	}
	for s := market.Bid; s <= market.Ask; s++ {
		if !equalLevels(sideLevels(a, s), sideLevels(c, s)) || a.Depth(s) != n {
			t.Fatalf("%v side differs between load orders (depth %d/%d)", s, a.Depth(s), c.Depth(s))
		}
	}
}

// TestConcurrentReaders runs one writer publishing back to back and several
// readers; every snapshot must be sorted, uncrossed and from one message:
// the writer stamps every level's quantity with the message number, which is
// also the snapshot's Seq.
func TestConcurrentReaders(t *testing.T) {
	const top, msgs = 20, 20000
	b := newBook(t, 100, top)
	var done atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	errc := make(chan string, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tp Top
			for !done.Load() || reads.Load() < 100 {
				b.Read(&tp)
				reads.Add(1)
				if msg := checkTop(&tp); msg != "" {
					select {
					case errc <- msg:
					default:
					}
					return
				}
			}
		}()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	mid := int64(1_000_000)
	for m := int64(1); m <= msgs; m++ {
		mid += int64(rng.IntN(7)) - 3
		b.Clear()
		for i := int64(0); i < top+5; i++ {
			b.Set(market.Bid, market.Price(mid-1-2*i-i%2), market.Qty(m))
			b.Set(market.Ask, market.Price(mid+1+3*i+i%3), market.Qty(m))
		}
		b.Commit(m, m, m)
	}
	done.Store(true)
	wg.Wait()
	close(errc)
	for msg := range errc {
		t.Fatal(msg)
	}
	if reads.Load() < 100 {
		t.Fatalf("readers completed %d reads, want at least 100", reads.Load())
	}
}

func checkTop(tp *Top) string {
	if tp.Version == 1 {
		return "" // the empty initial snapshot
	}
	if tp.NBids != 20 || tp.NAsks != 20 {
		return fmt.Sprintf("snapshot with wrong level count %d/%d version %d seq %d", tp.NBids, tp.NAsks, tp.Version, tp.Seq)
	}
	for i := 0; i < tp.NBids; i++ {
		if int64(tp.Bids[i].Qty) != tp.Seq || int64(tp.Asks[i].Qty) != tp.Seq {
			return "snapshot mixes levels of different messages"
		}
		if i > 0 && (tp.Bids[i].Price >= tp.Bids[i-1].Price || tp.Asks[i].Price <= tp.Asks[i-1].Price) {
			return "snapshot not sorted"
		}
	}
	if tp.Bids[0].Price >= tp.Asks[0].Price {
		return "snapshot crossed"
	}
	return ""
}

func TestStats(t *testing.T) {
	b := newBook(t, 2, 2)
	b.Set(market.Bid, 10, 1)
	b.Set(market.Bid, 9, 1)
	b.Set(market.Bid, 8, 1)  // worse than all of a full side: dropped
	b.Set(market.Bid, 11, 1) // evicts 9
	b.Set(market.Bid, 5, 0)  // delete miss
	b.Resync()
	b.NoteGap()
	b.NoteChecksum(true)
	b.NoteChecksum(false)
	b.Commit(1, 0, 77)
	got := b.Stats()
	want := Stats{Messages: 1, Updates: 3, DeleteMisses: 1, Dropped: 2, Publishes: 2, Resyncs: 1, Gaps: 1, ChecksumOK: 1, ChecksumFail: 1}
	if got != want {
		t.Errorf("stats = %+v\nwant %+v", got, want)
	}
	if b.LastRecv() != 77 || b.State() != Stale {
		t.Errorf("LastRecv %d state %v, want 77 stale", b.LastRecv(), b.State())
	}
}

// TestStaleIsPublishedAtOnce: a feed that gives up on a book (Resync) must
// not leave readers of the published snapshot trusting it until the next
// message.
func TestStaleIsPublishedAtOnce(t *testing.T) {
	b := newBook(t, 10, 5)
	b.Set(market.Bid, 100, 1)
	b.Set(market.Ask, 101, 1)
	b.SetState(Live)
	b.Commit(1, 0, 0)
	var top Top
	b.Read(&top)
	if top.State != Live {
		t.Fatalf("snapshot state %v after commit, want live", top.State)
	}
	b.Resync()
	b.Read(&top)
	if top.State != Stale || b.Stats().Messages != 1 {
		t.Fatalf("after Resync: snapshot state %v, messages %d; want stale, 1", top.State, b.Stats().Messages)
	}
	// Becoming Live is published only by a commit, after its crossed check.
	b.SetState(Live)
	b.Read(&top)
	if top.State != Stale {
		t.Fatalf("SetState(Live) published before a commit")
	}
}

func TestAppendLevels(t *testing.T) {
	b := newBook(t, 50, 5)
	for i := 0; i < 20; i++ {
		b.Set(market.Bid, market.Price(1000-3*i), market.Qty(i+1))
		b.Set(market.Ask, market.Price(1001+2*i), market.Qty(i+7))
	}
	b.Set(market.Bid, 997, 0)
	for s := market.Bid; s <= market.Ask; s++ {
		got := b.AppendLevels([]Level{{1, 1}}, s)
		if want := append([]Level{{1, 1}}, sideLevels(b, s)...); !equalLevels(got, want) {
			t.Errorf("%v: AppendLevels = %v, want %v", s, got, want)
		}
	}
}
