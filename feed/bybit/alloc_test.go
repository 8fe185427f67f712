//go:build !race

package bybit

import (
	"bytes"
	"strconv"
	"testing"

	"arbmm/book"
)

// TestHandleDeltaZeroAlloc: once a topic's book exists, Handle allocates
// nothing for a real delta (decode, fixed point, checks, apply, truncate,
// commit and publish). The capture's BTCUSDT linear deltas are replayed
// with their u renumbered so that every run takes the full path.
func TestHandleDeltaZeroAlloc(t *testing.T) {
	cd := loadCapture(t)
	for _, configured := range []bool{false, true} {
		feeds := cd.newFeeds(t, configured)
		var snap []byte
		var deltas [][]byte
		for _, fr := range cd.frames {
			if fr.conn != "BYBIT.ws.2" || !bytes.HasPrefix(fr.data, []byte(`{"topic":"orderbook.200.BTCUSDT"`)) {
				continue
			}
			if snap == nil {
				snap = fr.data
			} else {
				deltas = append(deltas, fr.data)
			}
		}
		f := feeds["BYBIT.ws.2"]
		if err := f.Handle(snap, 1); err != nil {
			t.Fatal(err)
		}
		sym := f.Symbol("BTCUSDT")
		const runs = 1000
		frames := make([][]byte, 0, runs+1)
		u := sym.lastU
		for i := 0; len(frames) < runs+1; i++ {
			d := deltas[i%len(deltas)]
			k := bytes.Index(d, []byte(`,"u":`)) + len(`,"u":`)
			end := k + bytes.IndexByte(d[k:], ',')
			u++
			fr := append(append(append([]byte(nil), d[:k]...), strconv.AppendInt(nil, u, 10)...), d[end:]...)
			frames = append(frames, fr)
		}
		i := 0
		allocs := testing.AllocsPerRun(runs, func() {
			if err := f.Handle(frames[i], 2); err != nil {
				t.Fatal(err)
			}
			i++
		})
		if allocs != 0 {
			t.Errorf("configured %v: Handle(delta) allocates %v times per run, want 0", configured, allocs)
		}
		if sym.Deltas != runs+1 || sym.Book.Stats().Gaps != 0 || sym.Book.State() != book.Live {
			// A crossed book would also stop the runs short of the full path.
			t.Errorf("configured %v: %d deltas applied, %d gaps, state %v", configured, sym.Deltas, sym.Book.Stats().Gaps, sym.Book.State())
		}
	}
}

// TestHandleCaptureZeroAlloc: replaying the whole capture again into feeds
// that have seen it (each topic's snapshot resets its book, so the deltas
// follow in sequence) allocates nothing: book messages, tickers, trades,
// klines and op responses alike.
func TestHandleCaptureZeroAlloc(t *testing.T) {
	cd := loadCapture(t)
	feeds := cd.newFeeds(t, false)
	cd.replay(t, feeds)
	allocs := testing.AllocsPerRun(2, func() {
		for _, fr := range cd.frames {
			if err := feeds[fr.conn].Handle(fr.data, fr.recv); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("replaying the capture allocates %v times, want 0", allocs)
	}
	for _, f := range feeds {
		for _, s := range f.Symbols() {
			if s.Resets != 3 || s.Book.Stats().Gaps != 0 {
				t.Errorf("%s: resets %d gaps %d, want 3, 0", s.Name, s.Resets, s.Book.Stats().Gaps)
			}
		}
	}
}

// TestHandleBadInputZeroAlloc: the failure paths (a malformed delta, a gap,
// an unknown symbol, taking the resync requests) and the recovery by
// snapshot allocate nothing.
func TestHandleBadInputZeroAlloc(t *testing.T) {
	f := newFeed(t, Config{MaxSymbols: 1})
	snap := msg(btc200, "snapshot", 10, `["100.0","1.0"],["99.0","2.0"]`, `["101.0","1.0"]`)
	frames := [][]byte{
		snap,
		[]byte(`{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["abc","1"]],"a":[],"u":11},"cts":1}`),
		snap,
		msg(btc200, "delta", 12, `["100.0","0"]`, ``),
		msg(btc200, "delta", 11, `["100.0","0"]`, ``),
		msg("orderbook.200.ETHUSDT", "snapshot", 1, `["1","1"]`, `["2","1"]`),
		[]byte(`{"success":true,"ret_msg":"pong","conn_id":"x","req_id":"","op":"ping"}`),
		[]byte(`{"topic":"orderbook.200.BTCUSDT","type":"delta"`),
	}
	dst := make([]string, 0, 4)
	run := func() {
		for _, fr := range frames {
			f.Handle(fr, 1)
		}
		dst = f.TakeResyncs(dst[:0])
	}
	run()
	if allocs := testing.AllocsPerRun(200, run); allocs != 0 {
		t.Errorf("bad input allocates %v times per run, want 0", allocs)
	}
	if c := f.Counters().Load(); c.Resyncs == 0 || c.Unknown == 0 || c.DecodeErrors == 0 {
		t.Errorf("counters %+v: a failure path was not taken", c)
	}
}
