package binance

import (
	"bytes"
	"testing"

	"arbmm/book"
	"arbmm/internal/market"
)

// FuzzFeed drives a whole Feed, sync state machine included, with arbitrary
// frames and snapshots split from the input: it must never panic, every
// frame must be either used or counted, and a book that says Live must not
// be crossed (a crossed book is Stale).
func FuzzFeed(f *testing.F) {
	snap := `{"lastUpdateId":100,"bids":[["1.00","5.00"],["0.90","1.00"]],"asks":[["1.10","2.00"]]}`
	f.Add([]byte("S"+snap+"\n"+`{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":101,"u":102,"b":[["1.00","0.00"]],"a":[]}`+"\n"+`{"u":102,"s":"BTCUSDT","b":"0.90","B":"1.00","a":"1.10","A":"2.00"}`), false)
	f.Add([]byte(`{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":90,"u":100,"pu":89,"b":[["1.05","1.00"]],"a":[["1.20","3.00"]]}}`+"\nS"+snap), true)
	f.Add([]byte("S"+snap+"\n"+`{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":150,"u":160,"b":[],"a":[]}`+"\nS"+snap), false)
	f.Fuzz(func(t *testing.T, in []byte, futures bool) {
		venue := market.Binance
		if futures {
			venue = market.BinanceUSDM
		}
		fd, err := New(Config{Venue: venue, MaxBuffered: 16, MaxLevels: 64, MaxDepth: 32})
		if err != nil {
			t.Fatal(err)
		}
		frames := 0
		for _, line := range bytes.Split(in, []byte("\n")) {
			if len(line) > 0 && line[0] == 'S' {
				_ = fd.HandleSnapshot("BTCUSDT", line[1:], 1)
				continue
			}
			frames++
			_ = fd.Handle(line, 1)
		}
		c := fd.Counters().Load()
		if c.Frames != uint64(frames) {
			t.Fatalf("counted %d frames, handled %d", c.Frames, frames)
		}
		for _, s := range fd.Symbols() {
			if s.Book == nil {
				continue
			}
			var top book.Top
			s.Book.Read(&top)
			if top.State == book.Live && top.NBids > 0 && top.NAsks > 0 && top.Bids[0].Price >= top.Asks[0].Price {
				t.Fatalf("%s: live book crossed: %v / %v", s.Name, top.Bids[0], top.Asks[0])
			}
		}
	})
}
