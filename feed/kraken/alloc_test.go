//go:build !race

package kraken

import (
	"testing"

	"arbmm/feed"
)

// TestHandleZeroAlloc: once a pair's book exists and the scratch has grown,
// Handle allocates nothing for an update (decode, scan to fixed point,
// apply, truncate, checksum, commit), an event, or a dropped or malformed
// frame. Re-applying the last applied update is idempotent, so its checksum
// keeps verifying and every run takes the full path.
func TestHandleZeroAlloc(t *testing.T) {
	ins := assetPairs(t)
	for _, tc := range []struct {
		name, file string
		cfg        Config
	}{
		{"v1", "kraken-v1-book10-xbtusd.jsonl", Config{Version: 1}},
		{"v1 book1000", "kraken-v1-book1000-10pairs.jsonl", Config{Version: 1}},
		{"v2", "kraken-v2-book10-btcusd.jsonl", Config{Version: 2, Instruments: ins}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, recv := readCapture(t, tc.file)
			f := newFeed(t, tc.cfg)
			n := len(frames) - 5
			replay(t, f, frames[:n], recv[:n])
			last := frames[n-1]
			ok0, _ := checksums(f)
			runs := 0
			allocs := testing.AllocsPerRun(500, func() {
				runs++
				if err := f.Handle(last, 1); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("Handle(update) allocates %v times per run, want 0", allocs)
			}
			if ok, fail := checksums(f); ok != ok0+uint64(runs) || fail != 0 {
				t.Errorf("checksums %d (+%d runs), %d failed: the runs did not take the full path", ok, runs, fail)
			}
			buf := make([]string, 0, 4)
			other := [][]byte{
				[]byte(`{"event":"heartbeat"}`),
				[]byte(`{"channel":"heartbeat"}`),
				[]byte(`[336,{"a":[["27130.20000","0.01237956","1693415479.752899"],["27131.`),
				[]byte(`{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1e999,"qty":1}]}]}`),
			}
			allocs = testing.AllocsPerRun(500, func() {
				for _, fr := range other {
					f.Handle(fr, 1)
				}
				buf = f.TakeResubscribe(buf[:0])
			})
			if allocs != 0 {
				t.Errorf("Handle(other frames) allocates %v times per run, want 0", allocs)
			}
		})
	}
}

// TestSessionFrameAllocs: Frame adds no allocation to the Feed's own cost,
// including a resubscribe (requests are built in the Session's buffer).
func TestSessionFrameAllocs(t *testing.T) {
	frames, _ := readCapture(t, "kraken-v2-book10-btcusd.jsonl")
	f := newFeed(t, Config{Version: 2, Depth: 10, Instruments: assetPairs(t)})
	s, err := NewSession(f, SessionConfig{Symbols: []string{"BTC/USD"}})
	if err != nil {
		t.Fatal(err)
	}
	// A Conn that is not running: Send reports ErrNotConnected after the
	// unsubscribe request has been built.
	if s.Conn, err = feed.NewConn(feed.ConnConfig{Name: "idle", URL: "ws://127.0.0.1:1"}, s); err != nil {
		t.Fatal(err)
	}
	bad := corrupt(t, frames[1])
	s.Frame(frames[0], 1)
	if n := testing.AllocsPerRun(100, func() {
		s.Frame(frames[0], 1) // a snapshot: live again
		s.Frame(bad, 1)       // a mismatch: a resubscribe, not connected
	}); n != 0 {
		t.Errorf("Frame allocates %v times, want 0", n)
	}
	if st := s.Stats(); st.SendErrors == 0 {
		t.Error("no resubscribe attempted")
	}
}
