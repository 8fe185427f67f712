//go:build !race

package binance

import (
	"testing"

	"arbmm/internal/market"
)

// TestHandleZeroAlloc: once a symbol is in sync, handling depth and
// bookTicker frames does not allocate.
func TestHandleZeroAlloc(t *testing.T) {
	f, err := New(Config{Venue: market.Binance})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.HandleSnapshot("BTCUSDT", []byte(`{"lastUpdateId":100,"bids":[["60000.00","1.50"],["59999.00","2.00"]],"asks":[["60001.00","1.00"],["60002.50","3.00"]]}`), 0); err != nil {
		t.Fatal(err)
	}
	frames := make([][]byte, 0, 2)
	u := int64(100)
	depth := func() []byte {
		u++
		b := []byte(`{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":`)
		b = market.AppendFixed(b, u, 0)
		b = append(b, `,"u":`...)
		b = market.AppendFixed(b, u, 0)
		b = append(b, `,"b":[["60000.00","1.25"],["59998.00","0.00"]],"a":[["60001.00","2.00"]]}}`...)
		return b
	}
	for i := 0; i < 2000; i++ {
		frames = append(frames, depth())
	}
	ticker := []byte(`{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"60000.00","B":"1.25","a":"60001.00","A":"2.00"}}`)
	i := 0
	n := testing.AllocsPerRun(1000, func() {
		if err := f.Handle(frames[i], 1); err != nil {
			t.Fatal(err)
		}
		i++
		if err := f.Handle(ticker, 1); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Handle allocates %v times per depth+ticker pair, want 0", n)
	}
	if st := f.Symbol("BTCUSDT").Book.Stats(); st.Gaps != 0 {
		t.Fatalf("gaps %d in a continuous synthetic stream", st.Gaps)
	}
}

// TestSessionFrameAllocs: with no snapshot in flight, Frame adds nothing
// to the Feed's own cost (drain, Handle, dispatch allocate nothing).
func TestSessionFrameAllocs(t *testing.T) {
	f, err := New(Config{Venue: market.Binance})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(f, SessionConfig{REST: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	frame := []byte(`{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}`)
	s.Frame(frame, 1) // learns the symbol: its snapshot request goes to the fetcher
	if n := testing.AllocsPerRun(100, func() { s.Frame(frame, 1) }); n != 0 {
		t.Errorf("Frame allocates %v times, want 0", n)
	}
}

func TestTradeNoAlloc(t *testing.T) {
	var last market.Trade
	f := tradeFeed(t, func(_ *Symbol, tr *market.Trade) { last = *tr })
	frame := []byte(docTrade)
	if n := testing.AllocsPerRun(1000, func() {
		if f.Handle(frame, 1) != nil {
			t.Fatal("trade not decoded")
		}
	}); n != 0 {
		t.Errorf("%v allocations per trade frame, want 0", n)
	}
	if last.ID != 158410082 {
		t.Fatalf("last trade %+v", last)
	}
}
