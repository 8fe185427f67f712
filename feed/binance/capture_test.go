package binance

import (
	"errors"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"

	"arbmm/book"
	"arbmm/internal/capture"
	"arbmm/internal/market"
)

// replayCapture feeds a capture file through a Feed the way the engine
// would: recv frames to Handle, http snapshots to HandleSnapshot. mutate, if
// set, may change or drop (return nil) each recv frame.
func replayCapture(t *testing.T, path string, venue market.Venue, mutate func(i int, frame []byte) []byte) *Feed {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := New(Config{Venue: venue})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec.Kind {
		case capture.KindRecv:
			frame := append([]byte(nil), rec.Data...)
			if mutate != nil {
				if frame = mutate(n, frame); frame == nil {
					n++
					continue
				}
			}
			n++
			if err := f.Handle(frame, int64(rec.TS*1e9)); err != nil {
				t.Fatalf("line %d: %v", rec.Line, err)
			}
		case capture.KindHTTP:
			u, err := url.Parse(rec.URL)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.HandleSnapshot(u.Query().Get("symbol"), rec.Data, int64(rec.TS*1e9)); err != nil {
				t.Fatalf("line %d: %v", rec.Line, err)
			}
		}
	}
	return f
}

// TestCaptures replays the real captures and requires the figures the
// fixtures README states: zero gaps and every bookTicker check passed.
func TestCaptures(t *testing.T) {
	for _, tc := range []struct {
		file     string
		venue    market.Venue
		tickerOK uint64
		symbols  int
	}{
		{"testdata/binance-spot-depth-4sym.jsonl", market.Binance, 26, 4},
		{"testdata/binanceus-spot-depth-4sym.jsonl", market.BinanceUS, 56, 4},
		{"testdata/binance-usdm-depth.jsonl", market.BinanceUSDM, 50, 4},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f := replayCapture(t, tc.file, tc.venue, nil)
			var ok, fail, gaps uint64
			for _, s := range f.Symbols() {
				ok += s.TickerOK
				fail += s.TickerFail
				if s.Book == nil {
					t.Fatalf("%s: no book (no snapshot)", s.Name)
				}
				st := s.Book.Stats()
				gaps += st.Gaps
				if s.Book.State() != book.Live {
					t.Errorf("%s: state %v, want live", s.Name, s.Book.State())
				}
				if st.Crossed != 0 || st.Resyncs != 0 {
					t.Errorf("%s: crossed %d resyncs %d, want 0", s.Name, st.Crossed, st.Resyncs)
				}
				if s.Applied == 0 {
					t.Errorf("%s: no depth event applied", s.Name)
				}
				t.Logf("%s: frames %d applied %d stale %d tickers %d ok %d fail %d", s.Name, s.Frames, s.Applied, s.StaleEvents, s.TickerSeen, s.TickerOK, s.TickerFail)
			}
			if len(f.Symbols()) != tc.symbols {
				t.Errorf("symbols = %d, want %d", len(f.Symbols()), tc.symbols)
			}
			if gaps != 0 || fail != 0 || ok != tc.tickerOK {
				t.Errorf("gaps %d, bookTicker ok %d fail %d; want 0, %d, 0", gaps, ok, fail, tc.tickerOK)
			}
			if c := f.Counters().Load(); c.DecodeErrors != 0 || c.Unknown != 0 {
				t.Errorf("decode errors %d unknown %d, want 0", c.DecodeErrors, c.Unknown)
			}
		})
	}
}

// TestDeletedEventIsAGap deletes one depth event of a symbol mid-stream: the
// feed must count a gap, mark the book stale and request a snapshot.
func TestDeletedEventIsAGap(t *testing.T) {
	for _, tc := range []struct {
		file  string
		venue market.Venue
	}{
		{"testdata/binance-spot-depth-4sym.jsonl", market.Binance},
		{"testdata/binance-usdm-depth.jsonl", market.BinanceUSDM},
	} {
		t.Run(tc.file, func(t *testing.T) {
			seen := 0
			var victim string
			f := replayCapture(t, tc.file, tc.venue, func(i int, frame []byte) []byte {
				if victim == "" && strings.Contains(string(frame), "depthUpdate") {
					seen++
					if seen == 40 {
						s := string(frame)
						k := strings.Index(s, `"s":"`) + 5
						victim = s[k : k+strings.Index(s[k:], `"`)]
						return nil
					}
				}
				return frame
			})
			sym := f.Symbol(victim)
			if sym == nil {
				t.Fatalf("victim symbol %q not found", victim)
			}
			st := sym.Book.Stats()
			if st.Gaps != 1 || st.Resyncs != 1 {
				t.Errorf("%s: gaps %d resyncs %d, want 1, 1", victim, st.Gaps, st.Resyncs)
			}
			if sym.Book.State() != book.Stale {
				t.Errorf("%s: state %v, want stale", victim, sym.Book.State())
			}
			if req := f.TakeSnapshotRequests(nil); len(req) != 1 || req[0] != victim {
				t.Errorf("snapshot requests %v, want [%s]", req, victim)
			}
		})
	}
}

func TestMain(m *testing.M) {
	if _, err := os.Stat("testdata/binance-spot-depth-4sym.jsonl"); err != nil {
		panic("feed/binance: testdata captures missing: " + err.Error())
	}
	os.Exit(m.Run())
}
