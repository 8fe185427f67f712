package binance

import (
	"errors"
	"testing"

	"arbmm/internal/market"
)

// The trade event as Binance documents it (ETHBTC, buyer the maker: a
// seller aggressed), in the combined-stream envelope.
const docTrade = `{"stream":"ethbtc@trade","data":{"e":"trade","E":1579481530911,"s":"ETHBTC","t":158410082,"p":"0.01914100","q":"0.00700000","b":4110671841,"a":4110671533,"T":1579481530910,"m":true,"M":true}}`

func tradeFeed(t *testing.T, on func(*Symbol, *market.Trade)) *Feed {
	t.Helper()
	in := market.Instrument{Venue: market.Binance, Symbol: "ETHBTC", Pair: market.Pair{Base: "ETH", Quote: "BTC"}, PriceExp: 6, QtyExp: 4, Tick: 1, Step: 1}
	f, err := New(Config{Venue: market.Binance, Instruments: []market.Instrument{in}, OnTrade: on})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTradeDecoded(t *testing.T) {
	var got market.Trade
	var sym string
	n := 0
	f := tradeFeed(t, func(s *Symbol, tr *market.Trade) { got, sym = *tr, s.Name; n++ })
	if err := f.Handle([]byte(docTrade), 42); err != nil {
		t.Fatal(err)
	}
	want := market.Trade{Price: 19141, Qty: 70, Aggressor: market.Sell, ID: 158410082, Time: 1579481530910e6, RecvTime: 42}
	if n != 1 || sym != "ETHBTC" || got != want {
		t.Fatalf("got %d trades, %s %+v; want ETHBTC %+v", n, sym, got, want)
	}
	// The buyer as taker; the bare event form.
	bare := `{"e":"trade","E":1,"s":"ETHBTC","t":7,"p":"0.019142","q":"1.5","T":2,"m":false,"M":true}`
	if err := f.Handle([]byte(bare), 0); err != nil || got.Aggressor != market.Buy || got.Price != 19142 || got.Qty != 15000 || got.ID != 7 {
		t.Fatalf("bare buy trade: %v %+v", err, got)
	}
	// Malformed trades are decode errors, never a trade.
	for _, bad := range []string{
		`{"e":"trade","s":"ETHBTC","t":7,"q":"1.5","T":2,"m":false}`,                  // no price
		`{"e":"trade","s":"ETHBTC","t":7,"p":"0.019142","q":"1.5","T":2}`,             // no m
		`{"e":"trade","s":"ETHBTC","t":7,"p":"0.0191425","q":"1.5","T":2,"m":false}`,  // beyond the price exponent
		`{"e":"trade","s":"ETHBTC","t":7,"p":"-0.019142","q":"1.5","T":2,"m":false}`,  // negative
		`{"e":"trade","s":"ETHBTC","t":7,"p":"0.019142","p":"1","q":"1.5","m":false}`, // repeated
	} {
		n = 0
		if err := f.Handle([]byte(bad), 0); err == nil || n != 0 {
			t.Errorf("%s: err %v, %d trades", bad, err, n)
		}
	}
	if err := f.Handle([]byte(`{"e":"trade","s":"XRPBTC","t":7,"p":"1","q":"1","T":2,"m":false}`), 0); !errors.Is(err, ErrUnknownSymbol) {
		t.Errorf("unknown symbol: %v", err)
	}
}

// TestTradeIgnoredWithoutSink: without OnTrade a trade stream is counted
// as ignored, as before.
func TestTradeIgnoredWithoutSink(t *testing.T) {
	f := tradeFeed(t, nil)
	if err := f.Handle([]byte(docTrade), 0); err != nil {
		t.Fatal(err)
	}
	if c := f.Counters().Load(); c.Ignored != 1 || c.DecodeErrors != 0 {
		t.Fatalf("counters %+v", c)
	}
}
