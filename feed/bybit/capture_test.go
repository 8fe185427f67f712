package bybit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/capture"
	"arbmm/internal/market"
)

const captureFile = "testdata/bybit-v5-orderbook200.jsonl"

func TestMain(m *testing.M) {
	if _, err := os.Stat(captureFile); err != nil {
		fmt.Fprintln(os.Stderr, "feed/bybit: testdata capture missing:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// capFrame is one received frame of the capture.
type capFrame struct {
	conn string // the recorder's connection name, "BYBIT.ws.2"
	data []byte
	recv int64 // Unix ns
}

// captureData is the capture split the way the engine would see it.
type captureData struct {
	frames      []capFrame
	category    map[string]Category // recv connection name → category
	instruments map[Category][]byte // instruments-info bodies
}

// loadCapture reads the capture and works out which recorder connection
// name ("BYBIT.ws.2") is which websocket URL: the recv records name
// connections, the open and send records name URLs, so each connection is
// matched to the one URL on which every topic it received was subscribed.
func loadCapture(tb testing.TB) *captureData {
	tb.Helper()
	r, err := capture.Open(captureFile)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	cd := &captureData{category: map[string]Category{}, instruments: map[Category][]byte{}}
	subscribed := map[string]map[string]bool{} // URL → topics
	received := map[string]map[string]bool{}   // connection → topics
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		switch rec.Kind {
		case capture.KindSend:
			var req struct {
				Op   string   `json:"op"`
				Args []string `json:"args"`
			}
			if err := json.Unmarshal(rec.Data, &req); err != nil {
				tb.Fatalf("line %d: %v", rec.Line, err)
			}
			if subscribed[rec.Conn] == nil {
				subscribed[rec.Conn] = map[string]bool{}
			}
			for _, a := range req.Args {
				subscribed[rec.Conn][a] = true
			}
		case capture.KindRecv:
			cd.frames = append(cd.frames, capFrame{conn: rec.Conn, data: bytes.Clone(rec.Data), recv: int64(rec.TS * 1e9)})
			var fr struct {
				Topic string `json:"topic"`
			}
			if err := json.Unmarshal(rec.Data, &fr); err != nil {
				tb.Fatalf("line %d: %v", rec.Line, err)
			}
			if received[rec.Conn] == nil {
				received[rec.Conn] = map[string]bool{}
			}
			if fr.Topic != "" {
				received[rec.Conn][fr.Topic] = true
			}
		case capture.KindHTTP:
			i := strings.Index(rec.URL, "category=")
			if i < 0 {
				tb.Fatalf("line %d: http record without a category: %s", rec.Line, rec.URL)
			}
			name, _, _ := strings.Cut(rec.URL[i+len("category="):], "&")
			cat, err := ParseCategory(name)
			if err != nil {
				tb.Fatal(err)
			}
			cd.instruments[cat] = bytes.Clone(rec.Data)
		case capture.KindOpen:
		default:
			tb.Fatalf("line %d: %v record: %v", rec.Line, rec.Kind, rec.Err)
		}
	}
	// Candidates: the URLs that subscribed every topic a connection
	// received. A connection with one candidate takes it, which removes it
	// from the others (the spot topics here are a subset of the linear
	// ones, so the spot connection is known once the linear one is).
	cands := map[string][]string{}
	for conn, topics := range received {
		for url, subs := range subscribed {
			all := true
			for t := range topics {
				all = all && subs[t]
			}
			if all {
				cands[conn] = append(cands[conn], url)
			}
		}
	}
	for progress := true; progress; {
		progress = false
		for conn, urls := range cands {
			if len(urls) != 1 {
				continue
			}
			cat, err := ParseCategory(path.Base(urls[0]))
			if err != nil {
				tb.Fatal(err)
			}
			cd.category[conn] = cat
			delete(cands, conn)
			for other := range cands {
				cands[other] = slices.DeleteFunc(cands[other], func(u string) bool { return u == urls[0] })
			}
			progress = true
		}
	}
	if len(cands) != 0 {
		tb.Fatalf("connections not matched to one URL each: %v", cands)
	}
	return cd
}

// instrumentsOf parses the capture's instruments-info response of cat.
func (cd *captureData) instrumentsOf(tb testing.TB, cat Category) []market.Instrument {
	tb.Helper()
	body := cd.instruments[cat]
	if body == nil {
		tb.Fatalf("no instruments-info response for %v", cat)
	}
	ins, err := ParseInstruments(body, cat.String())
	if err != nil {
		tb.Fatal(err)
	}
	return ins
}

// newFeeds returns one Feed per connection of the capture, configured with
// the capture's instruments or (learned) without.
func (cd *captureData) newFeeds(tb testing.TB, withInstruments bool) map[string]*Feed {
	tb.Helper()
	feeds := map[string]*Feed{}
	for conn, cat := range cd.category {
		cfg := Config{Category: cat}
		if withInstruments {
			cfg.Instruments = cd.instrumentsOf(tb, cat)
		}
		f, err := New(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		feeds[conn] = f
	}
	return feeds
}

// replay hands every frame to the feed of its connection and fails on any
// error.
func (cd *captureData) replay(tb testing.TB, feeds map[string]*Feed) {
	tb.Helper()
	for i, fr := range cd.frames {
		f := feeds[fr.conn]
		if err := f.Handle(fr.data, fr.recv); err != nil {
			cause, pos := f.LastError()
			tb.Fatalf("frame %d on %s: %v (cause %v at %d): %.200s", i, fr.conn, err, cause, pos, fr.data)
		}
	}
}

// Figures of the capture, counted independently of this package (a
// Python pass over the file): per connection, frames and the frames that
// are not order-book data (tickers, trades, klines, subscribe replies);
// per topic, deltas; and the exponents the first snapshots print.
var (
	wantConn = map[Category]feed.CounterValues{
		Linear: {Frames: 2546, Ignored: 948},
		Spot:   {Frames: 681, Ignored: 131},
	}
	wantDeltas = map[Category]map[string]uint64{
		Linear: {"BTCUSDT": 413, "ETHUSDT": 420, "SOLUSDT": 382, "DOGEUSDT": 379},
		Spot:   {"BTCUSDT": 299, "ETHUSDT": 249},
	}
	wantLearned = map[Category]map[string][2]int{
		Linear: {"BTCUSDT": {2, 3}, "ETHUSDT": {2, 2}, "SOLUSDT": {3, 1}, "DOGEUSDT": {5, 0}},
		Spot:   {"BTCUSDT": {1, 6}, "ETHUSDT": {2, 5}},
	}
	wantConfigured = map[Category]map[string][2]int{
		Linear: {"BTCUSDT": {1, 3}, "ETHUSDT": {2, 2}, "SOLUSDT": {2, 1}, "DOGEUSDT": {5, 0}},
		Spot:   {"BTCUSDT": {1, 6}, "ETHUSDT": {2, 5}},
	}
)

const captureDeltas = 2142 // the fixtures README's figure

// TestCapture replays the real capture, linear and spot frames routed to
// their own Feed by connection, with learned and with configured exponents,
// and requires the fixtures README's figure: 0 gaps over 2142 deltas. Every
// book ends Live, nothing is malformed, unknown, dropped or resynced, and
// the final books equal those of an independent reference replay.
func TestCapture(t *testing.T) {
	cd := loadCapture(t)
	if got := cd.category; len(got) != 2 || got["BYBIT.ws.2"] != Linear || got["BYBIT.ws.3"] != Spot {
		t.Fatalf("connections %v, want BYBIT.ws.2 linear and BYBIT.ws.3 spot", got)
	}
	for _, mode := range []struct {
		name       string
		configured bool
		exps       map[Category]map[string][2]int
	}{{"learned", false, wantLearned}, {"instruments", true, wantConfigured}} {
		t.Run(mode.name, func(t *testing.T) {
			feeds := cd.newFeeds(t, mode.configured)
			cd.replay(t, feeds)
			ref := referenceBooks(t, cd, feeds)
			var deltas, gaps uint64
			for conn, f := range feeds {
				cat := f.Config().Category
				want := wantConn[cat]
				for _, fr := range cd.frames {
					if fr.conn == conn {
						want.Bytes += uint64(len(fr.data))
					}
				}
				if got := f.Counters().Load(); got != want {
					t.Errorf("%v: counters %+v, want %+v", cat, got, want)
				}
				if n := len(f.Symbols()); n != len(wantDeltas[cat]) {
					t.Errorf("%v: %d symbols, want %d", cat, n, len(wantDeltas[cat]))
				}
				if req := f.TakeResyncs(nil); len(req) != 0 {
					t.Errorf("%v: resyncs requested %v, want none", cat, req)
				}
				for _, s := range f.Symbols() {
					st := s.Book.Stats()
					deltas += s.Deltas
					gaps += st.Gaps
					if s.Deltas != wantDeltas[cat][s.Name] || s.Frames != s.Deltas+1 {
						t.Errorf("%v %s: deltas %d of %d frames, want %d of %d", cat, s.Name, s.Deltas, s.Frames, wantDeltas[cat][s.Name], wantDeltas[cat][s.Name]+1)
					}
					if s.Snapshots != 1 || s.Resets != 0 || s.Dropped != 0 {
						t.Errorf("%v %s: snapshots %d resets %d dropped %d, want 1, 0, 0", cat, s.Name, s.Snapshots, s.Resets, s.Dropped)
					}
					if st.Gaps != 0 || st.Resyncs != 0 || st.Crossed != 0 {
						t.Errorf("%v %s: gaps %d resyncs %d crossed %d, want 0", cat, s.Name, st.Gaps, st.Resyncs, st.Crossed)
					}
					if s.Book.State() != book.Live {
						t.Errorf("%v %s: state %v, want live", cat, s.Name, s.Book.State())
					}
					if e := [2]int{s.Inst.PriceExp, s.Inst.QtyExp}; e != mode.exps[cat][s.Name] {
						t.Errorf("%v %s: exponents %v, want %v", cat, s.Name, e, mode.exps[cat][s.Name])
					}
					if s.Topic != "orderbook.200."+s.Name || s.Depth != 200 {
						t.Errorf("%v %s: topic %q depth %d", cat, s.Name, s.Topic, s.Depth)
					}
					got := levelsOf(s.Book)
					if want := ref[conn][s.Name]; !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
						t.Errorf("%v %s: book differs from the reference replay", cat, s.Name)
					}
					if len(got[0]) != 200 || len(got[1]) != 200 {
						t.Errorf("%v %s: %d bids, %d asks; want 200 each", cat, s.Name, len(got[0]), len(got[1]))
					}
					t.Logf("%v %s: %d deltas, bid %v ask %v at 10^-%d, 10^-%d", cat, s.Name, s.Deltas, got[0][0], got[1][0], s.Inst.PriceExp, s.Inst.QtyExp)
				}
			}
			if deltas != captureDeltas || gaps != 0 {
				t.Errorf("%d deltas, %d gaps; want %d, 0", deltas, gaps, captureDeltas)
			}
		})
	}
}

// levelsOf returns every level of b, best first, per side.
func levelsOf(b *book.Book) [2][]book.Level {
	return [2][]book.Level{b.AppendLevels(nil, market.Bid), b.AppendLevels(nil, market.Ask)}
}

// referenceBooks replays the capture's order-book frames with
// encoding/json, market.ParseFixed (at the exponents the feeds ended with)
// and a map per side, truncating to the depth after each message as Bybit's
// documentation prescribes: the books a straightforward implementation
// would build, per connection and symbol.
func referenceBooks(t *testing.T, cd *captureData, feeds map[string]*Feed) map[string]map[string][2][]book.Level {
	t.Helper()
	type refBook [2]map[market.Price]market.Qty
	books := map[string]map[string]*refBook{}
	for _, fr := range cd.frames {
		var msg struct {
			Topic string          `json:"topic"`
			Type  string          `json:"type"`
			Raw   json.RawMessage `json:"data"`
			Data  struct {
				S string      `json:"s"`
				B [][2]string `json:"b"`
				A [][2]string `json:"a"`
			} `json:"-"`
		}
		if err := json.Unmarshal(fr.data, &msg); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(msg.Topic, "orderbook.200.") {
			continue
		}
		if err := json.Unmarshal(msg.Raw, &msg.Data); err != nil {
			t.Fatal(err)
		}
		sym := feeds[fr.conn].Symbol(msg.Data.S)
		if books[fr.conn] == nil {
			books[fr.conn] = map[string]*refBook{}
		}
		rb := books[fr.conn][msg.Data.S]
		if rb == nil || msg.Type == "snapshot" {
			rb = &refBook{{}, {}}
			books[fr.conn][msg.Data.S] = rb
		}
		for side, lv := range [2][][2]string{msg.Data.B, msg.Data.A} {
			for _, l := range lv {
				p, err1 := market.ParseFixed([]byte(l[0]), sym.Inst.PriceExp)
				q, err2 := market.ParseFixed([]byte(l[1]), sym.Inst.QtyExp)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s: level %v: %v %v", msg.Topic, l, err1, err2)
				}
				if q == 0 {
					delete(rb[side], market.Price(p))
				} else {
					rb[side][market.Price(p)] = market.Qty(q)
				}
			}
			for _, p := range sortedPrices(rb[side], market.Side(side))[min(200, len(rb[side])):] {
				delete(rb[side], p)
			}
		}
	}
	out := map[string]map[string][2][]book.Level{}
	for conn, m := range books {
		out[conn] = map[string][2][]book.Level{}
		for name, rb := range m {
			var lv [2][]book.Level
			for s := range rb {
				for _, p := range sortedPrices(rb[s], market.Side(s)) {
					lv[s] = append(lv[s], book.Level{Price: p, Qty: rb[s][p]})
				}
			}
			out[conn][name] = lv
		}
	}
	return out
}

// sortedPrices returns the prices of a side, best first.
func sortedPrices(m map[market.Price]market.Qty, s market.Side) []market.Price {
	ps := make([]market.Price, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		if s == market.Bid {
			return ps[i] > ps[j]
		}
		return ps[i] < ps[j]
	})
	return ps
}

// snapshotFrame renders sym's book as a Bybit snapshot message with update
// id u: what Bybit would send after a resubscribe.
func snapshotFrame(sym *Symbol, u int64) []byte {
	b := []byte(`{"topic":"` + sym.Topic + `","type":"snapshot","ts":1,"data":{"s":"` + sym.Name + `"`)
	for s, key := range [2]string{`,"b":[`, `,"a":[`} {
		b = append(b, key...)
		for i := range sym.Book.Depth(market.Side(s)) {
			l := sym.Book.Level(market.Side(s), i)
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `["`...)
			b = market.AppendFixed(b, int64(l.Price), sym.Inst.PriceExp)
			b = append(b, `","`...)
			b = market.AppendFixed(b, int64(l.Qty), sym.Inst.QtyExp)
			b = append(b, `"]`...)
		}
		b = append(b, ']')
	}
	b = append(b, `,"u":`...)
	b = market.AppendFixed(b, u, 0)
	return append(b, `,"seq":1},"cts":1}`...)
}

// TestDeletedDelta deletes one delta of a topic from the capture. The next
// delta of that topic must be a gap: counted on the book, the book Stale
// (and published so), a resubscribe of the topic requested and counted, and
// the topic's further deltas dropped. A snapshot (rendered from a clean
// replay of the same frames, as Bybit would send after the resubscribe)
// must bring the book back: Live, and at the end of the capture identical
// to the clean replay's, with no further gap on any book.
func TestDeletedDelta(t *testing.T) {
	cd := loadCapture(t)
	for _, tc := range []struct {
		conn, topic string
		nth         int // which delta of the topic to delete (1-based)
	}{
		{"BYBIT.ws.2", "orderbook.200.ETHUSDT", 40},
		{"BYBIT.ws.3", "orderbook.200.BTCUSDT", 150},
		{"BYBIT.ws.2", "orderbook.200.DOGEUSDT", 1},
	} {
		t.Run(tc.topic+"/"+cd.category[tc.conn].String(), func(t *testing.T) {
			clean := cd.newFeeds(t, false)
			broken := cd.newFeeds(t, false)
			f := broken[tc.conn]
			const dropAfterGap = 5 // victim deltas dropped before the snapshot comes
			seen, afterGap := 0, -1
			var victim *Symbol
			for i, fr := range cd.frames {
				if err := clean[fr.conn].Handle(fr.data, fr.recv); err != nil {
					t.Fatalf("clean replay, frame %d: %v", i, err)
				}
				isVictim := fr.conn == tc.conn && bytes.Contains(fr.data, []byte(`"topic":"`+tc.topic+`"`)) && bytes.Contains(fr.data, []byte(`"type":"delta"`))
				if isVictim {
					seen++
					if seen == tc.nth {
						continue // deleted
					}
				}
				err := broken[fr.conn].Handle(fr.data, fr.recv)
				if !isVictim || seen < tc.nth {
					if err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					continue
				}
				afterGap++
				if afterGap == 0 {
					victim = f.Symbol(tc.topic[len("orderbook.200."):])
					if !errors.Is(err, ErrGap) {
						t.Fatalf("delta after the deleted one: %v, want ErrGap", err)
					}
					st := victim.Book.Stats()
					if st.Gaps != 1 || st.Resyncs != 1 {
						t.Errorf("gaps %d resyncs %d, want 1, 1", st.Gaps, st.Resyncs)
					}
					var top book.Top
					victim.Book.Read(&top)
					if victim.Book.State() != book.Stale || top.State != book.Stale {
						t.Errorf("state %v, published %v; want stale", victim.Book.State(), top.State)
					}
					if c := f.Counters().Load(); c.Resyncs != 1 || c.DecodeErrors != 0 {
						t.Errorf("counters %+v, want 1 resync, 0 decode errors", c)
					}
					if req := f.TakeResyncs(nil); !slices.Equal(req, []string{tc.topic}) {
						t.Errorf("resyncs requested %v, want [%s]", req, tc.topic)
					}
					continue
				}
				if err != nil {
					t.Fatalf("frame %d (delta %d after the gap): %v", i, afterGap, err)
				}
				if afterGap == dropAfterGap {
					if victim.Dropped != dropAfterGap {
						t.Errorf("dropped %d deltas while stale, want %d", victim.Dropped, dropAfterGap)
					}
					ref := clean[tc.conn].Symbol(victim.Name)
					if err := f.Handle(snapshotFrame(ref, ref.lastU), fr.recv); err != nil {
						t.Fatalf("snapshot: %v", err)
					}
					if victim.Book.State() != book.Live || victim.Snapshots != 2 || victim.Resets != 0 {
						t.Errorf("after the snapshot: state %v snapshots %d resets %d; want live, 2, 0", victim.Book.State(), victim.Snapshots, victim.Resets)
					}
				}
			}
			if afterGap <= dropAfterGap {
				t.Fatalf("only %d victim deltas after the gap", afterGap)
			}
			if req := f.TakeResyncs(nil); len(req) != 0 {
				t.Errorf("resyncs requested after recovery: %v", req)
			}
			for conn, bf := range broken {
				for _, s := range bf.Symbols() {
					want := clean[conn].Symbol(s.Name)
					if got, w := levelsOf(s.Book), levelsOf(want.Book); !slices.Equal(got[0], w[0]) || !slices.Equal(got[1], w[1]) {
						t.Errorf("%s %s: book differs from the clean replay", conn, s.Name)
					}
					gaps := s.Book.Stats().Gaps
					if s.Book.State() != book.Live || (s != victim && gaps != 0) || (s == victim && gaps != 1) {
						t.Errorf("%s %s: state %v gaps %d", conn, s.Name, s.Book.State(), gaps)
					}
				}
			}
			if want := wantDeltas[cd.category[tc.conn]][victim.Name] - 1 - dropAfterGap - 1; victim.Deltas != want {
				t.Errorf("applied %d deltas, want %d", victim.Deltas, want)
			}
		})
	}
}
