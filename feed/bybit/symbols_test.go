package bybit

import (
	"strings"
	"testing"

	"arbmm/internal/market"
)

// TestParseInstruments reads the capture's instruments-info responses.
// Expected values are Bybit's own (tickSize, qtyStep/basePrecision,
// minOrderQty, minNotionalValue/minOrderAmt) written at the exponents.
func TestParseInstruments(t *testing.T) {
	cd := loadCapture(t)
	usdt := func(base string) market.Pair { return market.Pair{Base: base, Quote: "USDT"} }
	want := map[Category][]market.Instrument{
		Linear: {
			// tickSize 0.10, qtyStep 0.001, minOrderQty 0.001, minNotionalValue 5
			{Venue: market.Bybit, Symbol: "BTCUSDT", Pair: usdt("BTC"), PriceExp: 1, QtyExp: 3, Tick: 1, Step: 1, MinQty: 1, MinNotional: 50},
			// tickSize 0.00001, qtyStep 1, minOrderQty 1
			{Venue: market.Bybit, Symbol: "DOGEUSDT", Pair: usdt("DOGE"), PriceExp: 5, QtyExp: 0, Tick: 1, Step: 1, MinQty: 1, MinNotional: 500000},
			{Venue: market.Bybit, Symbol: "ETHUSDT", Pair: usdt("ETH"), PriceExp: 2, QtyExp: 2, Tick: 1, Step: 1, MinQty: 1, MinNotional: 500},
			// tickSize 0.010, qtyStep 0.1, minOrderQty 0.1
			{Venue: market.Bybit, Symbol: "SOLUSDT", Pair: usdt("SOL"), PriceExp: 2, QtyExp: 1, Tick: 1, Step: 1, MinQty: 1, MinNotional: 500},
		},
		Spot: {
			// tickSize 0.1, basePrecision 0.000001, minOrderQty 0.000001, minOrderAmt 5
			{Venue: market.Bybit, Symbol: "BTCUSDT", Pair: usdt("BTC"), PriceExp: 1, QtyExp: 6, Tick: 1, Step: 1, MinQty: 1, MinNotional: 50},
			// basePrecision 0.1, minOrderQty 0.1
			{Venue: market.Bybit, Symbol: "DOGEUSDT", Pair: usdt("DOGE"), PriceExp: 5, QtyExp: 1, Tick: 1, Step: 1, MinQty: 1, MinNotional: 500000},
			{Venue: market.Bybit, Symbol: "ETHUSDT", Pair: usdt("ETH"), PriceExp: 2, QtyExp: 5, Tick: 1, Step: 1, MinQty: 1, MinNotional: 500},
			{Venue: market.Bybit, Symbol: "SOLUSDT", Pair: usdt("SOL"), PriceExp: 2, QtyExp: 4, Tick: 1, Step: 1, MinQty: 1, MinNotional: 500},
		},
	}
	for cat, w := range want {
		got := cd.instrumentsOf(t, cat)
		if len(got) != len(w) {
			t.Fatalf("%v: %d instruments, want %d", cat, len(got), len(w))
		}
		for i := range w {
			if got[i] != w[i] {
				t.Errorf("%v: %+v\nwant %+v", cat, got[i], w[i])
			}
		}
	}
	if _, err := ParseInstruments(cd.instruments[Spot], "linear"); err == nil || !strings.Contains(err.Error(), "category") {
		t.Errorf("spot response parsed as linear: %v", err)
	}
}

func TestParseInstrumentsErrors(t *testing.T) {
	item := func(tick, step string) string {
		return `{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"XUSDT","baseCoin":"X","quoteCoin":"USDT","priceFilter":{"tickSize":"` + tick + `"},"lotSizeFilter":{"qtyStep":"` + step + `","minOrderQty":"0.15","minNotionalValue":"5.005"}}]}}`
	}
	ins, err := ParseInstruments([]byte(item("0.5", "0.10")), "linear")
	if err != nil || len(ins) != 1 {
		t.Fatal(err)
	}
	// tick 0.5 at exp 1; step 0.1 at exp 1; minimums round up.
	if in := ins[0]; in.PriceExp != 1 || in.Tick != 5 || in.QtyExp != 1 || in.Step != 1 || in.MinQty != 2 || in.MinNotional != 51 {
		t.Errorf("instrument %+v", in)
	}
	for _, tc := range []struct{ body, category, want string }{
		{item("0.5", "0.1"), "inverse", "unknown category"},
		{`{"retCode":10001,"retMsg":"params error","result":{}}`, "spot", "10001: params error"},
		{`{"result":{}}`, "spot", "retCode"},
		{`{"retCode":0,`, "spot", "instruments-info"},
		{item("0", "0.1"), "linear", "tickSize"},
		{item("", "0.1"), "linear", "tickSize"},
		{item("-0.1", "0.1"), "linear", "tickSize"},
		{item("0.5", "x"), "linear", "size step"},
		{item("0.0000000000000000001", "1"), "linear", "tickSize"},
	} {
		_, err := ParseInstruments([]byte(tc.body), tc.category)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.60s: %v, want %q", tc.body, err, tc.want)
		}
	}
	// Coins that are not a pair are skipped.
	body := strings.Replace(item("0.5", "0.1"), `"baseCoin":"X"`, `"baseCoin":""`, 1)
	if ins, err := ParseInstruments([]byte(body), "linear"); err != nil || len(ins) != 0 {
		t.Errorf("empty base coin: %v, %d instruments", err, len(ins))
	}
}
