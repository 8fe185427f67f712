package okx

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/internal/capture"
	"arbmm/internal/market"
)

const (
	captureFile     = "okx-v5-books-3inst.jsonl"
	instrumentsFile = "okx-instruments-subset.json"
)

// The fixtures README's figures for the capture: checksums per instrument.
var wantChecksums = map[string]uint64{"BTC-USD-220527": 99, "UNI-USD-SWAP": 93, "BTC-USDT": 98}

// readCapture returns the frames received in a capture, in order, with
// their receive times in Unix ns. A missing file fails the test.
func readCapture(tb testing.TB, name string) (frames [][]byte, recv []int64) {
	tb.Helper()
	r, err := capture.Open(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatalf("capture: %v", err)
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("capture: %v", err)
		}
		if rec.Kind == capture.KindUnknown {
			tb.Fatalf("capture line %d: %v", rec.Line, rec.Err)
		}
		if rec.Kind == capture.KindRecv {
			frames = append(frames, slices.Clone(rec.Data))
			recv = append(recv, int64(rec.TS*1e9))
		}
	}
	if len(frames) == 0 {
		tb.Fatalf("%s: no frames", name)
	}
	return frames, recv
}

func instruments(tb testing.TB) []market.Instrument {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", instrumentsFile))
	if err != nil {
		tb.Fatalf("instruments: %v", err)
	}
	ins, err := ParseInstruments(data)
	if err != nil {
		tb.Fatalf("ParseInstruments: %v", err)
	}
	return ins
}

func newFeed(tb testing.TB, cfg Config) *Feed {
	tb.Helper()
	f, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return f
}

// replay hands every frame to f and fails on any error.
func replay(tb testing.TB, f *Feed, frames [][]byte, recv []int64) {
	tb.Helper()
	for i, fr := range frames {
		if err := f.Handle(fr, recv[i]); err != nil {
			cause, pos := f.LastError()
			tb.Fatalf("frame %d: %v (cause %v at %d): %.200s", i, err, cause, pos, fr)
		}
	}
}

func symbol(tb testing.TB, f *Feed, name string) *Symbol {
	tb.Helper()
	s := f.Symbol(name)
	if s == nil {
		tb.Fatalf("no symbol %s", name)
	}
	return s
}

// isBook reports whether a capture frame is a books message.
func isBook(fr []byte) bool { return bytes.HasPrefix(fr, []byte(`{"arg":{"channel":"books"`)) }

// TestCapture replays the real capture and requires the fixtures README's
// figures: every checksum OKX sent verifies (99, 93 and 98, 290 in all),
// none fails, every book ends Live, nothing is malformed or unknown.
func TestCapture(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"learned", Config{}},
		{"instruments", Config{Instruments: instruments(t)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeed(t, tc.cfg)
			seen := map[*Symbol]uint64{}
			cached := 0
			for i, fr := range frames {
				if err := f.Handle(fr, recv[i]); err != nil {
					cause, pos := f.LastError()
					t.Fatalf("frame %d: %v (cause %v at %d)", i, err, cause, pos)
				}
				// The checksum just verified was built partly from the
				// previous string: it must equal a full render.
				for _, s := range f.Symbols() {
					if s.Frames != seen[s] {
						if want := f.AppendChecksumString(nil, s); !bytes.Equal(s.cs.text, want) {
							t.Fatalf("frame %d: cached checksum string\n%s\nwant\n%s", i, s.cs.text, want)
						}
						cached++
					}
					seen[s] = s.Frames
				}
			}
			if cached != 290 {
				t.Errorf("cached checksum strings compared %d times, want 290", cached)
			}
			var total uint64
			for name, want := range wantChecksums {
				s := symbol(t, f, name)
				st := s.Book.Stats()
				if s.ChecksumOK != want || st.ChecksumOK != want || s.ChecksumFail != 0 || st.ChecksumFail != 0 || s.ChecksumAbsent != 0 {
					t.Errorf("%s: checksums verified %d (book %d), failed %d (book %d), absent %d; want %d of %d",
						name, s.ChecksumOK, st.ChecksumOK, s.ChecksumFail, st.ChecksumFail, s.ChecksumAbsent, want, want)
				}
				if s.Book.State() != book.Live {
					t.Errorf("%s: state %v, want live", name, s.Book.State())
				}
				if st.Resyncs != 0 || st.Crossed != 0 || st.Gaps != 0 {
					t.Errorf("%s: %d resyncs, %d crossed, %d gaps; want 0", name, st.Resyncs, st.Crossed, st.Gaps)
				}
				if s.Snapshots != 1 || s.Updates != want-1 || s.Frames != want || s.Dropped != 0 {
					t.Errorf("%s: %d snapshots, %d updates, %d frames, %d dropped; want 1, %d, %d, 0", name, s.Snapshots, s.Updates, s.Frames, s.Dropped, want-1, want)
				}
				if _, ok := s.LastSeq(); ok {
					t.Errorf("%s: anchored to a seqId chain; the 2022 capture has none", name)
				}
				total += s.ChecksumOK
			}
			if total != 290 || len(f.Symbols()) != 3 {
				t.Errorf("%d checksums over %d instruments, want 290 over 3", total, len(f.Symbols()))
			}
			// 18 subscribe events, 28 tickers and 74 trades are ignored.
			want := feed.CounterValues{Frames: uint64(len(frames)), Ignored: 120}
			for _, fr := range frames {
				want.Bytes += uint64(len(fr))
			}
			if got := f.Counters().Load(); got != want {
				t.Errorf("counters %+v, want %+v", got, want)
			}
			if got := f.TakeResyncs(nil); len(got) != 0 {
				t.Errorf("resync requests %v, want none", got)
			}
		})
	}
}

// TestExponents pins what the feed learns without instruments (the most
// decimals of the first snapshot) and what it takes from them.
func TestExponents(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	f := newFeed(t, Config{})
	replay(t, f, frames, recv)
	g := newFeed(t, Config{Instruments: instruments(t)})
	replay(t, g, frames, recv)
	for name, want := range map[string][2]int{"BTC-USDT": {1, 8}, "UNI-USD-SWAP": {3, 0}, "BTC-USD-220527": {1, 0}} {
		for _, fd := range []*Feed{f, g} {
			s := symbol(t, fd, name)
			if s.Inst.PriceExp != want[0] || s.Inst.QtyExp != want[1] {
				t.Errorf("%s: exponents %d/%d, want %d/%d", name, s.Inst.PriceExp, s.Inst.QtyExp, want[0], want[1])
			}
			if s.Channel != "books" || s.Depth != 400 {
				t.Errorf("%s: channel %q depth %d", name, s.Channel, s.Depth)
			}
		}
	}
	if p := symbol(t, f, "UNI-USD-SWAP").Inst.Pair; p != (market.Pair{Base: "UNI", Quote: "USD"}) {
		t.Errorf("learned pair %v", p)
	}
	// The same books either way.
	for name := range wantChecksums {
		a, b := symbol(t, f, name).Book, symbol(t, g, name).Book
		for _, side := range []market.Side{market.Bid, market.Ask} {
			if a.Depth(side) != b.Depth(side) {
				t.Fatalf("%s %v: depth %d vs %d", name, side, a.Depth(side), b.Depth(side))
			}
			for i := range a.Depth(side) {
				if a.Level(side, i) != b.Level(side, i) {
					t.Fatalf("%s %v level %d: %v vs %v", name, side, i, a.Level(side, i), b.Level(side, i))
				}
			}
		}
	}
	if st := symbol(t, f, "BTC-USDT").Book; st.Depth(market.Bid) != 400 || st.Depth(market.Ask) != 400 {
		t.Errorf("BTC-USDT depth %d/%d, want 400/400", st.Depth(market.Bid), st.Depth(market.Ask))
	}
}

func TestMain(m *testing.M) {
	for _, name := range []string{captureFile, instrumentsFile} {
		if _, err := os.Stat(filepath.Join("testdata", name)); err != nil {
			panic("feed/okx: testdata missing: " + err.Error())
		}
	}
	os.Exit(m.Run())
}
