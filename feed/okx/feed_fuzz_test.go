package okx

import (
	"bytes"
	"errors"
	"testing"

	"arbmm/book"
	"arbmm/internal/market"
)

// FuzzFeed drives a whole Feed, sync state machine included, with the
// lines of the input as frames (a line starting with 'S' is a REST
// snapshot body for UNI-USD-SWAP, handed to HandleSnapshot). It must never
// panic; every frame must be counted, and classified at most once (a
// failed REST snapshot is classified too);
// Handle returns nil or one of its sentinels; a book's published state is
// its state; a book that says Live must not be crossed; and each checksum string the cache built must equal a
// full render of the book.
func FuzzFeed(f *testing.F) {
	addSeeds(f, "FuzzFeed")
	sentinels := []error{ErrMalformed, ErrUnknownSymbol, ErrChannel, ErrChecksum, ErrGap, ErrSeqReset, book.ErrCrossed}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, withInst := range []bool{false, true} {
			cfg := Config{MaxBuffered: 8, MaxLevels: 64, MaxSymbols: 4}
			if withInst {
				cfg.Instruments = []market.Instrument{{Venue: market.OKX, Symbol: "UNI-USD-SWAP", Pair: market.Pair{Base: "UNI", Quote: "USD"}, PriceExp: 3}}
			}
			fd, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			frames, snaps := uint64(0), uint64(0)
			for _, line := range bytes.Split(in, []byte("\n")) {
				if len(line) > 0 && line[0] == 'S' {
					snaps++
					_ = fd.HandleSnapshot("UNI-USD-SWAP", line[1:], 1)
				} else {
					frames++
					err := fd.Handle(line, 1)
					known := err == nil
					for _, s := range sentinels {
						known = known || errors.Is(err, s)
					}
					if !known {
						t.Fatalf("Handle returned %v", err)
					}
				}
				for _, s := range fd.Symbols() {
					var top book.Top
					s.Book.Read(&top)
					if top.State != s.Book.State() {
						t.Fatalf("%s: published state %v, book %v", s.Name, top.State, s.Book.State())
					}
					if top.State == book.Live && top.NBids > 0 && top.NAsks > 0 && top.Bids[0].Price >= top.Asks[0].Price {
						t.Fatalf("%s: live book crossed: %v / %v", s.Name, top.Bids[0], top.Asks[0])
					}
					if s.cs.valid {
						if want := fd.AppendChecksumString(nil, s); !bytes.Equal(s.cs.text, want) && s.Book.State() == book.Live {
							t.Fatalf("%s: cached checksum string\n%s\nwant\n%s", s.Name, s.cs.text, want)
						}
					}
				}
			}
			c := fd.Counters().Load()
			if c.Frames != frames {
				t.Fatalf("counted %d frames, handled %d", c.Frames, frames)
			}
			// A REST snapshot that fails counts a decode error or an unknown
			// instrument too, but no frame.
			if c.DecodeErrors+c.Unknown+c.Ignored > c.Frames+snaps {
				t.Fatalf("counters %+v classify more frames than handled (%d snapshots)", c, snaps)
			}
		}
	})
}
