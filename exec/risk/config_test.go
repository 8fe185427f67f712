package risk

import (
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestDecimalYAML: amounts keep the text as written, whatever YAML scalar
// form they take, so no limit passes through float64.
func TestDecimalYAML(t *testing.T) {
	var cfg Config
	src := "defaults:\n  max_order_qty: 0.00001\n  max_order_notional: 1e3\n  fee_reserve_bps: \"7.50\"\n"
	if err := yaml.UnmarshalWithOptions([]byte(src), &cfg, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	d := cfg.Defaults
	if d.MaxOrderQty != "0.00001" || d.MaxOrderNotional != "1e3" || d.FeeReserveBps != "7.50" {
		t.Errorf("got %q %q %q, want 0.00001 1e3 7.50", d.MaxOrderQty, d.MaxOrderNotional, d.FeeReserveBps)
	}
	if err := yaml.UnmarshalWithOptions([]byte("defaults:\n  max_order_qty: [1]\n"), &cfg, yaml.Strict()); err == nil {
		t.Error("a list for a decimal decoded without error")
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(c *Config)
		want []string // each must appear in the error text
	}{
		{"bad decimal", func(c *Config) { c.Defaults.MaxOrderQty = "0.5x" },
			[]string{`risk: defaults.max_order_qty: "0.5x" is not a decimal number`}},
		{"negative qty", func(c *Config) { c.Defaults.MaxOrderQty = "-1" },
			[]string{`risk: defaults.max_order_qty: "-1" is negative`}},
		{"negative position", func(c *Config) { c.Assets[0].MaxPosition = "-0.5" },
			[]string{`risk: assets[0].max_position: "-0.5" is negative`}},
		{"zero notional", func(c *Config) { c.Defaults.MaxOrderNotional = "0" },
			[]string{`"0" for binance BTC/USDT: want a positive amount`}},
		{"too many decimals", func(c *Config) { c.Defaults.MaxOrderQty = "0.000001" },
			[]string{`risk: defaults.max_order_qty: "0.000001" for binance BTC/USDT has more decimals than its qty_exp 5 allows`}},
		{"too many decimals for one venue", func(c *Config) { c.Defaults.MaxOrderNotional = "0.05" },
			[]string{`"0.05" for kraken BTC/USD has more decimals than its price_exp 1 allows`}},
		{"out of range", func(c *Config) { c.Assets[0].MaxTotalPosition = "100000000000000" },
			[]string{`risk: assets[0].max_total_position: "100000000000000" for kraken BTC/USD does not fit in int64 at qty_exp 8`}},
		{"negative band", func(c *Config) { c.Defaults.PriceBandBps = -5 },
			[]string{"risk: defaults.price_band_bps: -5 is outside 1..10000"}},
		{"negative open orders", func(c *Config) { c.Instruments[0].MaxOpenOrders = -1 },
			[]string{"risk: instruments[0].max_open_orders: -1 is negative"}},
		{"negative rate", func(c *Config) { c.Defaults.MaxOrdersPerSec = -1 },
			[]string{"risk: defaults.max_orders_per_sec: -1 is outside (0, 1000000]"}},
		{"negative stale", func(c *Config) { c.Defaults.StaleAfter = -1 },
			[]string{"risk: defaults.stale_after: -1ns is negative"}},
		{"fee reserve decimals", func(c *Config) { c.Instruments[0].FeeReserveBps = "7.125" },
			[]string{`risk: instruments[0].fee_reserve_bps: "7.125" has more than two decimals`}},
		{"missing limit", func(c *Config) { c.Defaults.MaxOpenOrders = 0 },
			[]string{"risk: defaults.max_open_orders: not set for binance BTC/USDT", "risk: instruments[0].max_open_orders: not set for kraken BTC/USD"}},
		{"unknown instrument", func(c *Config) {
			c.Instruments = append(c.Instruments, InstrumentLimits{Venue: "okx", Pair: "ETH/USDT"})
		}, []string{"risk: instruments[1]: unknown instrument okx ETH/USDT: not among the instruments traded"}},
		{"unknown venue", func(c *Config) { c.Instruments[0].Venue = "krakn" },
			[]string{`risk: instruments[0].venue: unknown venue "krakn"`}},
		{"bad pair", func(c *Config) { c.Instruments[0].Pair = "BTCUSD" },
			[]string{`risk: instruments[0].pair: "BTCUSD" is not BASE/QUOTE`}},
		{"duplicate instrument", func(c *Config) { c.Instruments = append(c.Instruments, c.Instruments[0]) },
			[]string{"risk: instruments[1]: kraken BTC/USD already listed at instruments[0]"}},
		{"missing asset", func(c *Config) { c.Assets = nil },
			[]string{"risk: assets: no entry for BTC, the base asset of binance BTC/USDT"}},
		{"unknown asset", func(c *Config) {
			c.Assets = append(c.Assets, AssetLimits{Asset: "XBT", MaxPosition: "1", MaxTotalPosition: "1"})
		}, []string{"risk: assets[1]: unknown asset XBT: not the base of any instrument traded"}},
		{"asset without limits", func(c *Config) { c.Assets[0].MaxPosition = "" },
			[]string{"risk: assets[0].max_position: not set"}},
		{"kill without max loss", func(c *Config) { c.Kill.MaxLoss = 0 },
			[]string{"risk: kill.max_loss: 0: want a positive amount"}},
		{"kill negative drawdown", func(c *Config) { c.Kill.MaxDrawdown = -3 },
			[]string{"risk: kill.max_drawdown: -3: want a positive amount"}},
		{"kill negative window", func(c *Config) { c.Kill.RejectWindow = -1 },
			[]string{"risk: kill.reject_window: -1ns is negative"}},
		{"kill burst", func(c *Config) { c.Kill.RejectBurst = -1 },
			[]string{"risk: kill.reject_burst: -1 is outside 1..65536"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			tc.edit(&cfg)
			c, err := New(cfg, testInstruments())
			if err == nil {
				t.Fatalf("New succeeded (%v), want an error containing %q", c != nil, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain:\n%s", err, w)
				}
			}
		})
	}
	if _, err := New(testConfig(t), nil); err == nil || err.Error() != "risk: no instruments" {
		t.Errorf("New without instruments: got %v, want risk: no instruments", err)
	}
	if _, err := NewKillSwitch(KillConfig{MaxDrawdown: 1}); err == nil || !strings.Contains(err.Error(), "kill.max_loss") {
		t.Errorf("NewKillSwitch without max_loss: got %v, want a kill.max_loss error", err)
	}
	// Validate alone reports what does not need the instruments.
	cfg := testConfig(t)
	cfg.Defaults.MaxOrderQty = "abc"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "max_order_qty") {
		t.Errorf("Validate: got %v, want a max_order_qty error", err)
	}
	if good := testConfig(t); good.Validate() != nil {
		err := good.Validate()
		t.Errorf("Validate of the test config: %v", err)
	}
}

// TestConfigDefaults: settings left out take their defaults.
func TestConfigDefaults(t *testing.T) {
	cfg := testConfig(t)
	cfg.Defaults.OrderBurst, cfg.Defaults.StaleAfter = 0, 0
	cfg.Kill.RejectBurst, cfg.Kill.RejectWindow, cfg.Kill.VenueDownAfter = 0, 0, 0
	c, err := New(cfg, testInstruments())
	if err != nil {
		t.Fatal(err)
	}
	l := &c.lims[0]
	if l.tau != 9*l.interval { // burst: one second's worth of 10/s
		t.Errorf("tau: got %d, want %d", l.tau, 9*l.interval)
	}
	if l.staleAfter != int64(DefaultStaleAfter) {
		t.Errorf("staleAfter: got %d, want %d", l.staleAfter, DefaultStaleAfter)
	}
	k := c.Kill().cfg
	if k.RejectBurst != DefaultRejectBurst || k.RejectWindow != DefaultRejectWindow || k.VenueDownAfter != DefaultVenueDownAfter {
		t.Errorf("kill defaults: got %+v", k)
	}
	if n := len(c.Kill().rejects); n != DefaultRejectBurst+1 {
		t.Errorf("reject ring: got %d slots, want %d", n, DefaultRejectBurst+1)
	}
	// A fractional rate rounds the interval up: 3/s is one per 333333334ns.
	cfg.Defaults.MaxOrdersPerSec = 3
	c, err = New(cfg, testInstruments())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.lims[0].interval; got != 333333334 {
		t.Errorf("interval at 3/s: got %d, want 333333334", got)
	}
	// The fee reserve defaults to the larger fee: Binance taker 10 bps; 7.5
	// bps stays 750 millionths.
	ins := testInstruments()
	ins[0].TakerFeeBps = 7.5
	cfg = testConfig(t)
	if c, err = New(cfg, ins); err != nil {
		t.Fatal(err)
	}
	if got := c.lims[0].feeMicro; got != 750 {
		t.Errorf("fee reserve for 7.5 bps: got %d, want 750", got)
	}
}
