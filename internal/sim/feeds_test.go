package sim

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/feed/binance"
	"arbmm/feed/kraken"
	"arbmm/internal/market"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
	"arbmm/internal/sim/wire"
)

// engineFeed is the engine's own market-data code for one simulated venue:
// the venue's Feed and Session behind a feed.Conn, exactly as cmd/arbmm
// wires them against the real venue, with only the URLs pointing here.
type engineFeed struct {
	conn  *feed.Conn
	books map[string]*book.Book // by venue symbol (Binance: from the start)
	watch *bookWatch            // Kraken: the books once they exist
	ctr   *feed.Counters
	stop  func()
}

// book returns the engine's book of a venue symbol, or nil while the feed
// has not created it.
func (ef *engineFeed) book(sym string) *book.Book {
	if ef.watch != nil {
		m := ef.watch.books.Load()
		if m == nil {
			return nil
		}
		return (*m)[sym]
	}
	return ef.books[sym]
}

// allBooks lists the feed's books (nil entries while not yet created).
func (ef *engineFeed) allBooks(v *Venue) []*book.Book {
	var out []*book.Book
	for _, p := range v.State.Pairs() {
		out = append(out, ef.book(p.Cfg.Symbol))
	}
	return out
}

// instruments are the engine's instruments for a simulated venue: the
// venue's own decimals, so that a Kraken checksum is computed at Kraken's
// precision.
func instruments(v *Venue, mv market.Venue) []market.Instrument {
	var out []market.Instrument
	for _, p := range v.State.Pairs() {
		out = append(out, market.Instrument{
			Venue: mv, Symbol: p.Cfg.Symbol, Pair: p.Cfg.Pair, PriceExp: p.Cfg.PriceExp, QtyExp: p.Cfg.QtyExp,
			Tick: market.Price(p.Cfg.Tick), Step: market.Qty(p.Cfg.Step),
		})
	}
	return out
}

func connConfig(name, url string) feed.ConnConfig {
	return feed.ConnConfig{
		Name: name, URL: url, PingInterval: -1, IdleTimeout: 400 * time.Millisecond,
		ReconnectMin: time.Millisecond, ReconnectMax: 20 * time.Millisecond,
	}
}

func startFeed(t *testing.T, conn *feed.Conn, closeSession func()) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = conn.Run(ctx)
	}()
	stop := func() {
		cancel()
		<-done
		closeSession()
	}
	t.Cleanup(stop)
	return stop
}

func binanceFeed(t *testing.T, v *Venue) *engineFeed {
	t.Helper()
	ins := instruments(v, market.Binance)
	f, err := binance.New(binance.Config{Venue: market.Binance, Instruments: ins, MaxDepth: 1000, TopN: 20})
	if err != nil {
		t.Fatal(err)
	}
	var syms []string
	for _, in := range ins {
		syms = append(syms, in.Symbol)
	}
	s, err := binance.NewSession(f, binance.SessionConfig{Symbols: syms, REST: v.Binance.RESTURL(), Limit: 100, RetryDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, err := feed.NewConn(connConfig("binance-sim", v.Binance.StreamURL()), s)
	if err != nil {
		t.Fatal(err)
	}
	s.Conn = c
	ef := &engineFeed{conn: c, books: map[string]*book.Book{}, ctr: f.Counters()}
	for _, sym := range f.Symbols() {
		ef.books[sym.Name] = sym.Book
	}
	ef.stop = startFeed(t, c, func() { _ = s.Close() })
	return ef
}

func krakenFeed(t *testing.T, v *Venue) *engineFeed {
	t.Helper()
	ins := instruments(v, market.Kraken)
	f, err := kraken.New(kraken.Config{Version: 2, Depth: 10, Instruments: ins, TopN: 10})
	if err != nil {
		t.Fatal(err)
	}
	var syms []string
	for _, in := range ins {
		syms = append(syms, in.Symbol)
	}
	s, err := kraken.NewSession(f, kraken.SessionConfig{Symbols: syms, Depth: 10})
	if err != nil {
		t.Fatal(err)
	}
	// The Kraken feed creates a pair's book when the pair first appears
	// on the wire, on the feed goroutine: a wrapper publishes the books
	// from there once they all exist.
	ef := &engineFeed{ctr: f.Counters()}
	ws := &bookWatch{Session: s, want: len(ins), syms: func(dst map[string]*book.Book) {
		for _, sym := range f.Symbols() {
			dst[sym.Symbol] = sym.Book
		}
	}}
	c, err := feed.NewConn(connConfig("kraken-sim", v.Kraken.WSURL()), ws)
	if err != nil {
		t.Fatal(err)
	}
	s.Conn = c
	ef.conn = c
	ef.watch = ws
	ef.stop = startFeed(t, c, func() {})
	return ef
}

// bookWatch wraps a Session and publishes the feed's books once every
// expected pair has one.
type bookWatch struct {
	feed.Session
	want  int
	syms  func(map[string]*book.Book)
	books atomic.Pointer[map[string]*book.Book]
}

func (w *bookWatch) Frame(frame []byte, recvNs int64) {
	w.Session.Frame(frame, recvNs)
	if w.books.Load() == nil {
		m := map[string]*book.Book{}
		w.syms(m)
		if len(m) >= w.want {
			w.books.Store(&m)
		}
	}
}

// eventually waits for cond, checking it every few milliseconds, and fails
// with what() after timeout.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what())
		}
		<-tick.C
	}
}

// diffTop compares the engine's published top n of a book with the
// simulated venue's book; "" when they are equal and the book is Live.
func diffTop(b *book.Book, p *venue.Pair, n int) string {
	if b == nil {
		return p.Cfg.Symbol + ": no book yet"
	}
	var top book.Top
	b.Read(&top)
	_, bids, asks := p.Snapshot(n, nil, nil)
	if top.State != book.Live {
		return fmt.Sprintf("%s: book %v", p.Cfg.Symbol, top.State)
	}
	cmp := func(side string, got []book.Level, want []match.Level) string {
		if len(got) != len(want) {
			return fmt.Sprintf("%s %s: %d levels, want %d", p.Cfg.Symbol, side, len(got), len(want))
		}
		for i := range want {
			if int64(got[i].Price) != want[i].Price || int64(got[i].Qty) != want[i].Qty {
				return fmt.Sprintf("%s %s[%d]: got %d x %d, want %d x %d", p.Cfg.Symbol, side, i, got[i].Price, got[i].Qty, want[i].Price, want[i].Qty)
			}
		}
		return ""
	}
	if d := cmp("bids", top.Bids[:min(top.NBids, n)], bids); d != "" {
		return d
	}
	return cmp("asks", top.Asks[:min(top.NAsks, n)], asks)
}

// quiet is the step period of the slowed market books are compared
// against: slow enough that a comparison rarely straddles a change, fast
// enough to keep the streams alive (and any gap revealed).
const quiet = 40 * time.Millisecond

// waitBooksEqual waits until every book of the feed is Live and its top
// 10 equals the venue's.
func waitBooksEqual(t *testing.T, ef *engineFeed, v *Venue) {
	t.Helper()
	var last string
	eventually(t, 15*time.Second, func() bool {
		for _, p := range v.State.Pairs() {
			if last = diffTop(ef.book(p.Cfg.Symbol), p, 10); last != "" {
				return false
			}
		}
		return true
	}, func() string { return v.Name + ": " + last })
}

// feedSim is the test simulator with only the named venue.
func feedSim(t *testing.T, name string, extra string) (*Sim, *Venue) {
	t.Helper()
	cfg := testConfig
	// keep only the named venue
	i := strings.Index(cfg, "  - name: kraken")
	if name == "binance" {
		cfg = cfg[:i]
	} else {
		j := strings.Index(cfg, "  - name: binance")
		cfg = cfg[:j] + cfg[i:]
	}
	cfg = strings.Replace(cfg, "    instruments:", extra+"    instruments:", 1)
	s := newTestSim(t, cfg)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	v, _ := s.Venue(name)
	return s, v
}

// A fault scenario: what to inject, and the evidence that the engine met
// it (a counter that must move) before the books recover.
type faultCase struct {
	name     string
	faults   wire.Faults
	config   string // extra venue config (stale_snapshot, wrong_checksum)
	evidence func(ef *engineFeed, v *Venue) (uint64, string)
}

func bookStats(ef *engineFeed, v *Venue) book.Stats {
	var s book.Stats
	for _, b := range ef.allBooks(v) {
		if b == nil {
			continue
		}
		st := b.Stats()
		s.Gaps += st.Gaps
		s.Resyncs += st.Resyncs
		s.ChecksumFail += st.ChecksumFail
		s.ChecksumOK += st.ChecksumOK
	}
	return s
}

func serverStats(v *Venue) *wire.Stats {
	if v.Binance != nil {
		return &v.Binance.Stats
	}
	return &v.Kraken.Stats
}

func faultCases(venueName string) []faultCase {
	resyncs := func(ef *engineFeed, v *Venue) (uint64, string) {
		return bookStats(ef, v).Resyncs, "book resyncs"
	}
	cases := []faultCase{
		{name: "latency", faults: wire.Faults{Latency: 3 * time.Millisecond, Jitter: 4 * time.Millisecond},
			evidence: func(ef *engineFeed, v *Venue) (uint64, string) { return serverStats(v).Sent.Load(), "frames sent late" }},
		{name: "drop", faults: wire.Faults{Drop: 0.05}, evidence: resyncs},
		{name: "duplicate", faults: wire.Faults{Duplicate: 0.1},
			evidence: func(ef *engineFeed, v *Venue) (uint64, string) {
				return serverStats(v).Duplicated.Load(), "frames duplicated"
			}},
		{name: "reorder", faults: wire.Faults{Reorder: 0.05}, evidence: resyncs},
		{name: "malformed", faults: wire.Faults{Malformed: 0.05},
			evidence: func(ef *engineFeed, v *Venue) (uint64, string) { return ef.ctr.DecodeErrors.Load(), "decode errors" }},
		{name: "disconnect", faults: wire.Faults{DisconnectEvery: 150 * time.Millisecond},
			evidence: func(ef *engineFeed, v *Venue) (uint64, string) { return ef.conn.Stats().Reconnects, "reconnects" }},
		{name: "stall", faults: wire.Faults{StallEvery: 100 * time.Millisecond, StallFor: time.Second},
			evidence: func(ef *engineFeed, v *Venue) (uint64, string) { return ef.conn.Stats().IdleTimeouts, "idle timeouts" }},
	}
	switch venueName {
	case "binance":
		cases = append(cases, faultCase{name: "stale-snapshot", config: "    stale_snapshot: 0.5\n    faults: {drop: 0.02}\n",
			evidence: resyncs})
	case "kraken":
		cases = append(cases, faultCase{name: "wrong-checksum", config: "    wrong_checksum: 0.05\n",
			evidence: func(ef *engineFeed, v *Venue) (uint64, string) {
				return bookStats(ef, v).ChecksumFail, "checksum mismatches"
			}})
	}
	return cases
}

// TestEngineFeedsUnderFaults connects the engine's Binance and Kraken feed
// code to the simulated venues and, for every fault the simulator can
// inject, checks that the books are Live and equal to the venue's before
// the fault, that the engine noticed the fault, and that once the fault
// stops the books are Live and equal again.
func TestEngineFeedsUnderFaults(t *testing.T) {
	for _, venueName := range []string{"binance", "kraken"} {
		for _, fc := range faultCases(venueName) {
			t.Run(venueName+"/"+fc.name, func(t *testing.T) {
				s, v := feedSim(t, venueName, fc.config)
				var ef *engineFeed
				if venueName == "binance" {
					ef = binanceFeed(t, v)
				} else {
					ef = krakenFeed(t, v)
				}
				s.RunEvery(quiet)
				waitBooksEqual(t, ef, v)
				s.Pause()

				if fc.faults.Active() {
					if err := setFaults(v, fc.faults); err != nil {
						t.Fatal(err)
					}
				}
				s.Run()
				var what string
				eventually(t, 20*time.Second, func() bool {
					var n uint64
					n, what = fc.evidence(ef, v)
					return n > 0
				}, func() string { return "no " + what })
				s.Pause()
				if err := setFaults(v, wire.Faults{}); err != nil {
					t.Fatal(err)
				}
				// Fresh traffic without faults reveals any gap left behind.
				s.RunEvery(quiet)
				waitBooksEqual(t, ef, v)
				s.Pause()
				st := bookStats(ef, v)
				t.Logf("%s: %s; gaps %d, resyncs %d, checksums ok %d failed %d, decode errors %d, conn %+v",
					fc.name, what, st.Gaps, st.Resyncs, st.ChecksumOK, st.ChecksumFail, ef.ctr.DecodeErrors.Load(), ef.conn.Stats())
			})
		}
	}
}

func setFaults(v *Venue, f wire.Faults) error {
	if v.Binance != nil {
		return v.Binance.SetFaults(f)
	}
	return v.Kraken.SetFaults(f)
}

// TestEngineFeedsHoldLive runs the market at its configured rates with no
// faults: the engine's books never leave Live, and follow the venue.
func TestEngineFeedsHoldLive(t *testing.T) {
	s := newTestSim(t, testConfig)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	bn, _ := s.Venue("binance")
	kr, _ := s.Venue("kraken")
	feeds := map[*Venue]*engineFeed{bn: binanceFeed(t, bn), kr: krakenFeed(t, kr)}
	s.RunEvery(quiet)
	for v, ef := range feeds {
		waitBooksEqual(t, ef, v)
	}
	s.Pause()
	s.Run()
	before := map[*Venue]book.Stats{}
	for v, ef := range feeds {
		before[v] = bookStats(ef, v)
	}
	// Run until each book has taken a few hundred updates, checking that
	// no book ever leaves Live.
	eventually(t, 20*time.Second, func() bool {
		enough := true
		for v, ef := range feeds {
			for _, b := range ef.allBooks(v) {
				if st := b.State(); st != book.Live {
					t.Fatalf("%s %s left Live: %v", v.Name, b.Config().Symbol, st)
				}
				if b.Stats().Messages < 500 {
					enough = false
				}
			}
		}
		return enough
	}, func() string { return "books did not take 500 messages" })
	s.Pause()
	s.RunEvery(quiet)
	for v, ef := range feeds {
		waitBooksEqual(t, ef, v)
		if st := bookStats(ef, v); st.Resyncs != before[v].Resyncs || st.Gaps != 0 || st.ChecksumFail != 0 {
			t.Errorf("%s: %+v: want no resync, gap or checksum failure without faults", v.Name, st)
		}
		if n := ef.ctr.DecodeErrors.Load(); n != 0 {
			t.Errorf("%s: %d decode errors", v.Name, n)
		}
	}
	st := bookStats(feeds[kr], kr)
	if st.ChecksumOK < 500 {
		t.Errorf("kraken: %d checksums verified, want >= 500", st.ChecksumOK)
	}
}
