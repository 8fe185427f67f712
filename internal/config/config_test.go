package config

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"arbmm/configs"
	"arbmm/internal/market"
)

// problems returns the *Error values err joins, failing the test on any
// other kind of error.
func problems(t *testing.T, err error) []*Error {
	t.Helper()
	if err == nil {
		return nil
	}
	list := []error{err}
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		list = u.Unwrap()
	}
	out := make([]*Error, 0, len(list))
	for _, e := range list {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Fatalf("got %T %q, want a *config.Error", e, e)
		}
		out = append(out, ce)
	}
	return out
}

// lineOf returns the 1-based line of doc holding the first occurrence of s.
func lineOf(t *testing.T, doc, s string) int {
	t.Helper()
	i := strings.Index(doc, s)
	if i < 0 {
		t.Fatalf("%q not in the test document", s)
	}
	return strings.Count(doc[:i], "\n") + 1
}

// colOf returns the 1-based column of the first occurrence of s in doc.
func colOf(t *testing.T, doc, s string) int {
	t.Helper()
	i := strings.Index(doc, s)
	if i < 0 {
		t.Fatalf("%q not in the test document", s)
	}
	return i - strings.LastIndexByte(doc[:i], '\n')
}

func fee(f float64) *float64 { return &f }

// validConfig returns a small valid config: two pairs, Binance with both and
// Kraken with one.
func validConfig() Config {
	return Config{
		Pairs: []PairConfig{
			{Pair: "BTC/USDT", PriceExp: 2, QtyExp: 8},
			{Pair: "ETH/USDT", PriceExp: 2, QtyExp: 8},
		},
		Venues: []VenueConfig{
			{
				Name:    "binance",
				WSURL:   "wss://stream.binance.com:9443/stream",
				RESTURL: "https://api.binance.com",
				Instruments: []InstrumentConfig{
					{Symbol: "BTCUSDT", Pair: "BTC/USDT", Tick: "0.01", Step: "0.00001", MinQty: "0.00001", MinNotional: "5", MakerFeeBps: fee(10), TakerFeeBps: fee(10)},
					{Symbol: "ETHUSDT", Pair: "ETH/USDT", Tick: "0.01", Step: "0.0001", MakerFeeBps: fee(10), TakerFeeBps: fee(10)},
				},
			},
			{
				Name:    "kraken",
				WSURL:   "wss://ws.kraken.com/v2",
				RESTURL: "https://api.kraken.com",
				Instruments: []InstrumentConfig{
					{Symbol: "BTC/USDT", Pair: "BTC/USDT", Tick: "0.1", Step: "0.00000001", MakerFeeBps: fee(25), TakerFeeBps: fee(40)},
				},
			},
		},
	}
}

// validYAML is validConfig as YAML, inline instruments only.
const validYAML = `pairs:
  - pair: BTC/USDT
    price_exp: 2
    qty_exp: 8
  - pair: ETH/USDT
    price_exp: 2
    qty_exp: 8
venues:
  - name: binance
    ws_url: wss://stream.binance.com:9443/stream
    rest_url: https://api.binance.com
    instruments:
      - symbol: BTCUSDT
        pair: BTC/USDT
        tick: "0.01"
        step: "0.00001"
        min_qty: "0.00001"
        min_notional: "5"
        maker_fee_bps: 10
        taker_fee_bps: 10
      - symbol: ETHUSDT
        pair: ETH/USDT
        tick: "0.01"
        step: "0.0001"
        maker_fee_bps: 10
        taker_fee_bps: 10
  - name: kraken
    ws_url: wss://ws.kraken.com/v2
    rest_url: https://api.kraken.com
    instruments:
      - symbol: BTC/USDT
        pair: BTC/USDT
        tick: "0.1"
        step: "0.00000001"
        maker_fee_bps: 25
        taker_fee_bps: 40
`

func TestParseMatchesBuiltConfig(t *testing.T) {
	got, err := Parse([]byte(validYAML), "valid.yaml")
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	want := validConfig()
	if err := want.Validate(); err != nil {
		t.Fatalf("validConfig: got %v, want no error", err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got %+v, want %+v", *got, want)
	}
}

// TestExamples loads every config in configs/ and checks that every
// instruments file there is well formed and used.
func TestExamples(t *testing.T) {
	var cfgs, instFiles []string
	err := fs.WalkDir(configs.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		if strings.HasPrefix(path.Base(p), "simex") || strings.HasPrefix(path.Base(p), "demo") {
			return nil // the simulator's and the demo's configs: internal/sim's and internal/demo's tests load them
		}
		if path.Dir(p) == "instruments" {
			instFiles = append(instFiles, p)
		} else {
			cfgs = append(cfgs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) == 0 || len(instFiles) == 0 {
		t.Fatalf("got %d configs and %d instruments files in configs.FS, want some of each", len(cfgs), len(instFiles))
	}
	used := make(map[string]bool)
	for _, name := range cfgs {
		c, err := ParseFS(configs.FS, name)
		if err != nil {
			t.Errorf("%s: got %v, want no error", name, err)
			continue
		}
		ins, err := c.Instruments()
		if err != nil || len(ins) == 0 {
			t.Errorf("%s: Instruments: got %d, %v, want some and no error", name, len(ins), err)
		}
		for _, v := range c.Venues {
			if v.InstrumentsFile != "" {
				used[path.Join(path.Dir(name), v.InstrumentsFile)] = true
			}
		}
	}
	for _, name := range instFiles {
		data, err := fs.ReadFile(configs.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		var f instrumentsFile
		if _, err := decode(data, name, &f); err != nil || len(f.Instruments) == 0 {
			t.Errorf("%s: got %d instruments, %v, want some and no error", name, len(f.Instruments), err)
		}
		if !used[name] {
			t.Errorf("%s: no config in configs/ names it as instruments_file", name)
		}
	}
}

func TestProdExample(t *testing.T) {
	c, err := ParseFS(configs.FS, "prod.example.yaml")
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	var names []string
	for i := range c.Venues {
		names = append(names, c.Venues[i].Venue().String())
	}
	if want := []string{"binance", "kraken"}; !reflect.DeepEqual(names, want) {
		t.Errorf("venues: got %v, want %v", names, want)
	}
	ins, err := c.Instruments()
	if err != nil {
		t.Fatalf("Instruments: got %v, want no error", err)
	}
	btcusdt := market.Pair{Base: "BTC", Quote: "USDT"}
	ethusdt := market.Pair{Base: "ETH", Quote: "USDT"}
	btcusd := market.Pair{Base: "BTC", Quote: "USD"}
	ethusd := market.Pair{Base: "ETH", Quote: "USD"}
	want := []market.Instrument{
		{Venue: market.Binance, Symbol: "BTCUSDT", Pair: btcusdt, PriceExp: 2, QtyExp: 8, Tick: 1, Step: 1000, MinQty: 1000, MinNotional: 500, MakerFeeBps: 10, TakerFeeBps: 10},
		{Venue: market.Binance, Symbol: "ETHUSDT", Pair: ethusdt, PriceExp: 2, QtyExp: 8, Tick: 1, Step: 10000, MinQty: 10000, MinNotional: 500, MakerFeeBps: 10, TakerFeeBps: 10},
		{Venue: market.Kraken, Symbol: "BTC/USD", Pair: btcusd, PriceExp: 2, QtyExp: 8, Tick: 10, Step: 1, MinQty: 5000, MinNotional: 50, MakerFeeBps: 25, TakerFeeBps: 40},
		{Venue: market.Kraken, Symbol: "ETH/USD", Pair: ethusd, PriceExp: 2, QtyExp: 8, Tick: 1, Step: 1, MinQty: 200000, MinNotional: 50, MakerFeeBps: 25, TakerFeeBps: 40},
		{Venue: market.Kraken, Symbol: "BTC/USDT", Pair: btcusdt, PriceExp: 2, QtyExp: 8, Tick: 10, Step: 1, MinQty: 5000, MinNotional: 50, MakerFeeBps: 25, TakerFeeBps: 40},
		{Venue: market.Kraken, Symbol: "ETH/USDT", Pair: ethusdt, PriceExp: 2, QtyExp: 8, Tick: 1, Step: 1, MinQty: 200000, MinNotional: 50, MakerFeeBps: 25, TakerFeeBps: 40},
	}
	if c.Arb == nil || c.Risk == nil || c.Keystore == "" || c.Venues[0].OrderURL == "" {
		t.Errorf("the example has no trading sections: arb %v risk %v keystore %q order_url %q", c.Arb != nil, c.Risk != nil, c.Keystore, c.Venues[0].OrderURL)
	}
	if !reflect.DeepEqual(ins, want) {
		t.Errorf("got\n%+v\nwant\n%+v", ins, want)
	}
}

// TestLoadOS checks Load against ParseFS on the same files, and
// instruments_file resolution on the OS: relative to the config's directory,
// or absolute.
func TestLoadOS(t *testing.T) {
	fromOS, err := Load(filepath.Join("..", "..", "configs", "prod.example.yaml"))
	if err != nil {
		t.Fatalf("Load: got %v, want no error", err)
	}
	fromFS, err := ParseFS(configs.FS, "prod.example.yaml")
	if err != nil {
		t.Fatalf("ParseFS: got %v, want no error", err)
	}
	if !reflect.DeepEqual(fromOS, fromFS) {
		t.Errorf("Load: got %+v, want ParseFS's %+v", fromOS, fromFS)
	}

	dir := t.TempDir()
	write := func(name, data string) string {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	abs := write("elsewhere/kraken.yaml", `instruments:
  - {symbol: BTC/USDT, pair: BTC/USDT, tick: "0.1", step: "0.00000001", maker_fee_bps: 25, taker_fee_bps: 40}
`)
	write("etc/inst/binance.yaml", `instruments:
  - {symbol: BTCUSDT, pair: BTC/USDT, tick: "0.01", step: "0.00001", maker_fee_bps: 10, taker_fee_bps: 10}
`)
	cfg := write("etc/arbmm.yaml", `pairs:
  - {pair: BTC/USDT, price_exp: 2, qty_exp: 8}
venues:
  - name: binance
    ws_url: wss://stream.binance.com:9443/stream
    rest_url: https://api.binance.com
    instruments_file: inst/binance.yaml
  - name: kraken
    ws_url: wss://ws.kraken.com/v2
    rest_url: https://api.kraken.com
    instruments_file: `+abs+`
`)
	c, err := Load(cfg)
	if err != nil {
		t.Fatalf("Load: got %v, want no error", err)
	}
	for i, want := range []string{"BTCUSDT", "BTC/USDT"} {
		if got := c.Venues[i].Instruments; len(got) != 1 || got[0].Symbol != want {
			t.Errorf("venues[%d].instruments: got %+v, want one, %s", i, got, want)
		}
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing config: got %v, want fs.ErrNotExist", err)
	}
}

// TestInstrumentsFile checks instruments_file resolution in an fs.FS, inline
// and file instruments together, and the errors when the file cannot be used.
func TestInstrumentsFile(t *testing.T) {
	const head = `pairs:
  - {pair: BTC/USDT, price_exp: 2, qty_exp: 8}
  - {pair: ETH/USDT, price_exp: 2, qty_exp: 8}
venues:
  - name: binance
    ws_url: wss://stream.binance.com:9443/stream
    rest_url: https://api.binance.com
`
	const inst = `instruments:
  - {symbol: ETHUSDT, pair: ETH/USDT, tick: "0.01", step: "0.0001", maker_fee_bps: 10, taker_fee_bps: 10}
`
	fsys := fstest.MapFS{
		"etc/arbmm/main.yaml": {Data: []byte(head + `    instruments:
      - {symbol: BTCUSDT, pair: BTC/USDT, tick: "0.01", step: "0.00001", maker_fee_bps: 10, taker_fee_bps: 10}
    instruments_file: inst/binance.yaml
`)},
		"etc/arbmm/inst/binance.yaml": {Data: []byte(inst)},
		"etc/arbmm/empty.yaml":        {Data: []byte(head + "    instruments_file: inst/none.yaml\n")},
		"etc/arbmm/inst/none.yaml":    {Data: []byte("instruments: []\n")},
		"etc/arbmm/missing.yaml":      {Data: []byte(head + "    instruments_file: inst/kraken.yaml\n")},
		"etc/arbmm/escape.yaml":       {Data: []byte(head + "    instruments_file: ../../../binance.yaml\n")},
		"etc/arbmm/abs.yaml":          {Data: []byte(head + "    instruments_file: /etc/arbmm/inst/binance.yaml\n")},
		"etc/arbmm/nested.yaml":       {Data: []byte(head + "    instruments_file: inst/nested.yaml\n")},
		"etc/arbmm/inst/nested.yaml":  {Data: []byte(inst + "instruments_file: other.yaml\n")},
	}

	c, err := ParseFS(fsys, "etc/arbmm/main.yaml")
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	var got []string
	for _, ic := range c.Venues[0].Instruments {
		got = append(got, ic.Symbol)
	}
	if want := []string{"BTCUSDT", "ETHUSDT"}; !reflect.DeepEqual(got, want) {
		t.Errorf("instruments: got %v, want %v (inline first, then the file's)", got, want)
	}

	tests := []struct {
		name string
		want string
		is   error
	}{
		{"etc/arbmm/empty.yaml", "config: etc/arbmm/empty.yaml:8:23: venues[0].instruments_file: etc/arbmm/inst/none.yaml lists no instruments", nil},
		{"etc/arbmm/missing.yaml", "config: etc/arbmm/missing.yaml:8:23: venues[0].instruments_file: open etc/arbmm/inst/kraken.yaml: file does not exist", fs.ErrNotExist},
		{"etc/arbmm/escape.yaml", `config: etc/arbmm/escape.yaml:8:23: venues[0].instruments_file: "../../../binance.yaml" leaves the file system the config was read from`, nil},
		{"etc/arbmm/abs.yaml", `config: etc/arbmm/abs.yaml:8:23: venues[0].instruments_file: "/etc/arbmm/inst/binance.yaml": want a slash-separated path relative to the config file`, nil},
		{"etc/arbmm/nested.yaml", `config: etc/arbmm/inst/nested.yaml:3:1: instruments_file: unknown field "instruments_file"`, nil},
	}
	for _, tt := range tests {
		_, err := ParseFS(fsys, tt.name)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %s", tt.name, err, tt.want)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: got %v, want it to wrap %v", tt.name, err, tt.is)
		}
	}

	_, err = Parse(fsys["etc/arbmm/main.yaml"].Data, "main.yaml")
	if want := `config: main.yaml:10:23: venues[0].instruments_file: "inst/binance.yaml": Parse reads no files; use Load or ParseFS`; err == nil || err.Error() != want {
		t.Errorf("Parse with instruments_file: got %v, want %s", err, want)
	}
}

// TestUnknownField checks that strict decoding rejects unknown keys at every
// level, naming the key and its line.
func TestUnknownField(t *testing.T) {
	tests := []struct {
		name, doc, key, path string
	}{
		{"top level", validYAML + "strategies: []\n", "strategies", "strategies"},
		{"pair", strings.Replace(validYAML, "    qty_exp: 8\n  - pair: ETH", "    qty_exp: 8\n    tick: 1\n  - pair: ETH", 1), "tick", "pairs[0].tick"},
		{"venue", strings.Replace(validYAML, "    ws_url: wss://ws.kraken", "    depth: 10\n    ws_url: wss://ws.kraken", 1), "depth", "venues[1].depth"},
		{"instrument", strings.Replace(validYAML, `        step: "0.0001"`, `        step: "0.0001"`+"\n        tikc: \"0.01\"", 1), "tikc", "venues[0].instruments[1].tikc"},
		{"flow instrument", strings.Replace(validYAML, "      - symbol: BTC/USDT", "      - {symbol: X, lot: 1}\n      - symbol: BTC/USDT", 1), "lot", "venues[1].instruments[0].lot"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.doc), "t.yaml")
		ps := problems(t, err)
		if len(ps) != 1 {
			t.Errorf("%s: got %v, want one error", tt.name, err)
			continue
		}
		e := ps[0]
		wantLine := lineOf(t, tt.doc, tt.key+":")
		if !strings.Contains(e.Error(), `unknown field "`+tt.key+`"`) {
			t.Errorf("%s: got %q, want it to name %q", tt.name, e, tt.key)
		}
		if e.Line != wantLine || !strings.Contains(e.Error(), "t.yaml:"+strconv.Itoa(wantLine)+":") {
			t.Errorf("%s: got line %d in %q, want line %d", tt.name, e.Line, e, wantLine)
		}
		if e.Path != tt.path {
			t.Errorf("%s: got path %q, want %q", tt.name, e.Path, tt.path)
		}
	}
}

// TestSecrets checks that keys meant for secrets are rejected with a pointer
// to the keystore, and that no error echoes a secret.
func TestSecrets(t *testing.T) {
	for _, key := range []string{"api_key", "secret", "api_secret", "passphrase", "private_key"} {
		doc := strings.Replace(validYAML, "    ws_url: wss://ws.kraken", "    "+key+": s3cr3t\n    ws_url: wss://ws.kraken", 1)
		_, err := Parse([]byte(doc), "t.yaml")
		if err == nil || !strings.Contains(err.Error(), `unknown field "`+key+`"`) || !strings.Contains(err.Error(), "keystore") {
			t.Errorf("%s: got %v, want an unknown field error pointing to the keystore", key, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: got %q, want no secret in the error", key, err)
		}
	}
}

// TestYAMLErrors checks that syntax and type errors carry file, line and
// column.
func TestYAMLErrors(t *testing.T) {
	tests := []struct {
		name, doc, at, path, msg string
		line, col                int // when at is not where the error is
	}{
		{"unclosed flow sequence", "pairs: [\n", "[", "", "']' not found", 0, 0},
		{"bad indentation", "pairs:\n  - pair: BTC/USDT\n   price_exp: 2\n", "price_exp", "", "not allowed", 0, 0},
		{"unterminated quote", "pairs:\n  - pair: \"BTC/USDT\n", `"BTC`, "", "quote", 0, 0},
		{"duplicate key", "pairs: []\nvenues: []\npairs: []\n", "", "", `mapping key "pairs" already defined at [1:1]`, 3, 1},
		{"tab indentation", "pairs:\n\t- pair: x\n", "\t", "", "", 0, 0},
		{"sequence for mapping", "- pairs\n", "-", "", "sequence was used where mapping is expected", 0, 0},
		{"int for sequence", "pairs: 1\n", "1", "pairs", "int was used where sequence is expected", 0, 0},
		{"string for int", strings.Replace(validYAML, "    qty_exp: 8\n  - pair: ETH", "    qty_exp: eight\n  - pair: ETH", 1), "eight", "pairs[0].qty_exp", "want an integer, got a string", 0, 0},
		{"int overflow", strings.Replace(validYAML, "    ws_url: wss://ws.kraken", "    book_depth: 99999999999999999999\n    ws_url: wss://ws.kraken", 1), "99999999999999999999", "venues[1].book_depth", "99999999999999999999 is out of range", 0, 0},
		{"duration typo", strings.Replace(validYAML, "    ws_url: wss://ws.kraken", "    ping_interval: 20x\n    ws_url: wss://ws.kraken", 1), "20x", "venues[1].ping_interval", `"20x" is not a duration`, 0, 0},
		{"duration without unit", strings.Replace(validYAML, "    ws_url: wss://ws.kraken", "    stale_after: 5\n    ws_url: wss://ws.kraken", 1), "5\n", "venues[1].stale_after", `"5" is not a duration`, 0, 0},
		{"duration list", strings.Replace(validYAML, "    ws_url: wss://ws.kraken", "    idle_timeout: [1s]\n    ws_url: wss://ws.kraken", 1), "[1s]", "venues[1].idle_timeout", "want a duration such as 20s, got a list", 0, 0},
		{"decimal list", strings.Replace(validYAML, `tick: "0.1"`, `tick: ["0.1"]`, 1), `["0.1"]`, "venues[1].instruments[0].tick", "want a decimal number", 0, 0},
		{"decimal bool", strings.Replace(validYAML, `tick: "0.1"`, `tick: true`, 1), "true", "venues[1].instruments[0].tick", "want a decimal number", 0, 0},
		{"two documents", validYAML + "---\npairs: []\n", "---", "", "more than one YAML document", 0, 0},
		{"tag", strings.Replace(validYAML, `tick: "0.1"`, `tick: !!str 0.1`, 1), "!!str", "", `YAML tag "!!str": tags are not supported`, 0, 0},
		{"tag on a sequence (goccy/go-yaml#735)", "pairs:\n  !\n0000000\n  -0000\n", "!", "", "tags are not supported", 0, 0},
		{"too deep", "pairs: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n", "", "", "nested more than 64 levels deep", 1, 7 + 65},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.doc), "t.yaml")
		ps := problems(t, err)
		if len(ps) != 1 {
			t.Errorf("%s: got %v, want one error", tt.name, err)
			continue
		}
		e := ps[0]
		line, col := tt.line, tt.col
		if line == 0 {
			line, col = lineOf(t, tt.doc, tt.at), colOf(t, tt.doc, tt.at)
		}
		if e.File != "t.yaml" || e.Line != line || e.Column != col {
			t.Errorf("%s: got %s:%d:%d (%q), want t.yaml:%d:%d", tt.name, e.File, e.Line, e.Column, e, line, col)
		}
		if e.Path != tt.path {
			t.Errorf("%s: got path %q, want %q", tt.name, e.Path, tt.path)
		}
		if !strings.Contains(e.Error(), tt.msg) {
			t.Errorf("%s: got %q, want it to contain %q", tt.name, e, tt.msg)
		}
	}
}

// TestValidate has one case per rule: each breaks a valid config and names
// every error it must cause, no more.
func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(c *Config)
		want   []string // "path: message" of each error, in order
	}{
		{"no pairs", func(c *Config) { c.Pairs = nil }, []string{
			"pairs: none listed",
			"venues[0].instruments[0].pair: BTC/USDT is not listed in pairs",
			"venues[0].instruments[1].pair: ETH/USDT is not listed in pairs",
			"venues[1].instruments[0].pair: BTC/USDT is not listed in pairs",
		}},
		{"no venues", func(c *Config) { c.Venues = nil }, []string{"venues: none listed"}},
		{"pair missing", func(c *Config) { c.Pairs = append(c.Pairs, PairConfig{PriceExp: 2}) }, []string{"pairs[2].pair: missing"}},
		{"pair malformed", func(c *Config) { c.Pairs = append(c.Pairs, PairConfig{Pair: "SOLUSDT"}) }, []string{
			`pairs[2].pair: "SOLUSDT" is not BASE/QUOTE with alphanumeric assets`,
		}},
		{"duplicate pair", func(c *Config) { c.Pairs = append(c.Pairs, PairConfig{Pair: "btc/usdt", PriceExp: 2, QtyExp: 8}) }, []string{
			"pairs[2].pair: BTC/USDT already listed at pairs[0]",
		}},
		{"price_exp negative", func(c *Config) { c.Pairs[0].PriceExp = -1 }, []string{"pairs[0].price_exp: -1 is out of range 0..18"}},
		{"qty_exp too big", func(c *Config) { c.Pairs[1].QtyExp = 19 }, []string{"pairs[1].qty_exp: 19 is out of range 0..18"}},
		{"venue missing", func(c *Config) { c.Venues[1].Name = "" }, []string{"venues[1].name: missing"}},
		{"venue unknown", func(c *Config) { c.Venues[1].Name = "krakn" }, []string{
			`venues[1].name: unknown venue "krakn" (want one of binance, binanceus, binanceusdm, kraken, coinbase, okx, bybit)`,
		}},
		{"duplicate venue", func(c *Config) { c.Venues[1].Name = "Binance" }, []string{"venues[1].name: binance already configured at venues[0]"}},
		{"ws_url missing", func(c *Config) { c.Venues[0].WSURL = "" }, []string{"venues[0].ws_url: missing"}},
		{"ws_url http", func(c *Config) { c.Venues[0].WSURL = "https://stream.binance.com" }, []string{
			`venues[0].ws_url: "https://stream.binance.com": want a ws or wss URL`,
		}},
		{"ws_url no host", func(c *Config) { c.Venues[0].WSURL = "wss:///stream" }, []string{`venues[0].ws_url: "wss:///stream" has no host`}},
		{"ws_url malformed", func(c *Config) { c.Venues[0].WSURL = "wss://[::1" }, []string{`venues[0].ws_url: "wss://[::1" is not a URL`}},
		{"rest_url ws", func(c *Config) { c.Venues[1].RESTURL = "wss://api.kraken.com" }, []string{
			`venues[1].rest_url: "wss://api.kraken.com": want a http or https URL`,
		}},
		{"rest_url credentials", func(c *Config) { c.Venues[1].RESTURL = "https://key:s3cr3t@api.kraken.com" }, []string{
			`venues[1].rest_url: URL of host "api.kraken.com" carries credentials: secrets never go in the config, they come from the keystore`,
		}},
		{"book_depth too big", func(c *Config) { c.Venues[0].BookDepth = 10001 }, []string{"venues[0].book_depth: 10001 is out of range 1..10000"}},
		{"book_depth negative", func(c *Config) { c.Venues[0].BookDepth = -1 }, []string{"venues[0].book_depth: -1 is out of range 1..10000"}},
		{"subscribe_depth negative", func(c *Config) { c.Venues[0].SubscribeDepth = -1 }, []string{"venues[0].subscribe_depth: -1 is out of range 0..10000"}},
		{"top_n too big", func(c *Config) { c.Venues[0].TopN = 33 }, []string{"venues[0].top_n: 33 is out of range 1..32"}},
		{"top_n negative", func(c *Config) { c.Venues[0].TopN = -1 }, []string{"venues[0].top_n: -1 is out of range 1..32"}},
		{"top_n past book_depth", func(c *Config) { c.Venues[0].BookDepth, c.Venues[0].TopN = 25, 30 }, []string{
			"venues[0].top_n: 30 is more than book_depth 25",
		}},
		{"negative duration", func(c *Config) { c.Venues[0].StaleAfter = -time.Second }, []string{"venues[0].stale_after: -1s is negative"}},
		{"reconnect_min past max", func(c *Config) { c.Venues[0].ReconnectMin, c.Venues[0].ReconnectMax = 5*time.Second, time.Second }, []string{
			"venues[0].reconnect_min: 5s is more than reconnect_max 1s",
		}},
		{"idle_timeout within ping_interval", func(c *Config) { c.Venues[0].PingInterval, c.Venues[0].IdleTimeout = 10*time.Second, 10*time.Second }, []string{
			"venues[0].idle_timeout: 10s is not longer than ping_interval 10s: a quiet but healthy connection would be dropped",
		}},
		{"no instruments", func(c *Config) { c.Venues[1].Instruments = nil }, []string{
			"venues[1].instruments: none listed (list them here or in instruments_file)",
		}},
		{"symbol missing", func(c *Config) { c.Venues[0].Instruments[1].Symbol = "" }, []string{"venues[0].instruments[1].symbol: missing"}},
		{"symbol with space", func(c *Config) { c.Venues[0].Instruments[1].Symbol = "ETH USDT" }, []string{
			`venues[0].instruments[1].symbol: "ETH USDT" contains a space or unprintable character`,
		}},
		{"duplicate symbol", func(c *Config) { c.Venues[0].Instruments[1].Symbol = "BTCUSDT" }, []string{
			`venues[0].instruments[1].symbol: "BTCUSDT" already listed at venues[0].instruments[0]`,
		}},
		{"instrument pair missing", func(c *Config) { c.Venues[0].Instruments[1].Pair = "" }, []string{"venues[0].instruments[1].pair: missing"}},
		{"instrument pair not listed", func(c *Config) { c.Venues[0].Instruments[1].Pair = "SOL/USDT" }, []string{
			"venues[0].instruments[1].pair: SOL/USDT is not listed in pairs",
		}},
		{"instrument pair twice on a venue", func(c *Config) { c.Venues[0].Instruments[1].Pair = "btc/usdt" }, []string{
			"venues[0].instruments[1].pair: BTC/USDT already listed at venues[0].instruments[0] (BTCUSDT): a venue has one book per pair",
		}},
		{"tick finer than price_exp", func(c *Config) { c.Venues[1].Instruments[0].Tick = "0.001" }, []string{
			`venues[1].instruments[0].tick: "0.001" is finer than pair BTC/USDT price_exp 2`,
		}},
		{"tick missing", func(c *Config) { c.Venues[1].Instruments[0].Tick = "" }, []string{"venues[1].instruments[0].tick: missing"}},
		{"tick zero", func(c *Config) { c.Venues[1].Instruments[0].Tick = "0.00" }, []string{
			`venues[1].instruments[0].tick: "0.00" is zero; want a positive increment`,
		}},
		{"tick negative", func(c *Config) { c.Venues[1].Instruments[0].Tick = "-0.1" }, []string{`venues[1].instruments[0].tick: "-0.1" is negative`}},
		{"tick not a number", func(c *Config) { c.Venues[1].Instruments[0].Tick = "0,1" }, []string{`venues[1].instruments[0].tick: "0,1" is not a decimal number`}},
		{"tick overflow", func(c *Config) { c.Venues[1].Instruments[0].Tick = "1e30" }, []string{
			`venues[1].instruments[0].tick: "1e30" does not fit in int64 at pair BTC/USDT price_exp 2`,
		}},
		{"step finer than qty_exp", func(c *Config) { c.Venues[0].Instruments[0].Step = "0.000000001" }, []string{
			`venues[0].instruments[0].step: "0.000000001" is finer than pair BTC/USDT qty_exp 8`,
		}},
		{"step missing", func(c *Config) { c.Venues[0].Instruments[0].Step = "" }, []string{"venues[0].instruments[0].step: missing"}},
		{"min_qty finer than qty_exp", func(c *Config) { c.Venues[0].Instruments[0].MinQty = "0.000000001" }, []string{
			`venues[0].instruments[0].min_qty: "0.000000001" is finer than pair BTC/USDT qty_exp 8`,
		}},
		{"min_qty negative", func(c *Config) { c.Venues[0].Instruments[0].MinQty = "-1" }, []string{`venues[0].instruments[0].min_qty: "-1" is negative`}},
		{"min_notional finer than price_exp", func(c *Config) { c.Venues[0].Instruments[0].MinNotional = "0.001" }, []string{
			`venues[0].instruments[0].min_notional: "0.001" is finer than pair BTC/USDT price_exp 2`,
		}},
		{"maker fee missing", func(c *Config) { c.Venues[0].Instruments[0].MakerFeeBps = nil }, []string{
			"venues[0].instruments[0].maker_fee_bps: missing (write 0 if the venue charges none)",
		}},
		{"taker fee NaN", func(c *Config) { c.Venues[0].Instruments[0].TakerFeeBps = fee(math.NaN()) }, []string{
			"venues[0].instruments[0].taker_fee_bps: NaN is out of range -1000..1000 basis points",
		}},
		{"taker fee too big", func(c *Config) { c.Venues[0].Instruments[0].TakerFeeBps = fee(1e4) }, []string{
			"venues[0].instruments[0].taker_fee_bps: 10000 is out of range -1000..1000 basis points",
		}},
	}
	for _, tt := range tests {
		c := validConfig()
		tt.break_(&c)
		err := c.Validate()
		ps := problems(t, err)
		var got []string
		for _, e := range ps {
			if e.File != "" || e.Line != 0 {
				t.Errorf("%s: got position %s:%d in %q, want none for a config built in code", tt.name, e.File, e.Line, e)
			}
			if strings.Contains(e.Error(), "s3cr3t") {
				t.Errorf("%s: got %q, want no secret in the error", tt.name, e)
			}
			got = append(got, strings.TrimPrefix(e.Error(), "config: "))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
		if _, err := c.Instruments(); err == nil || err.Error() != c.Validate().Error() {
			t.Errorf("%s: Instruments: got %v, want Validate's errors", tt.name, err)
		}
	}

	// The brief's example, word for word.
	c := validConfig()
	c.Venues[1].Instruments[0].Tick = "0.001"
	if err, want := c.Validate(), `config: venues[1].instruments[0].tick: "0.001" is finer than pair BTC/USDT price_exp 2`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestValidateReportsAll checks that one pass reports every problem.
func TestValidateReportsAll(t *testing.T) {
	c := validConfig()
	c.Pairs[1].PriceExp = 40
	c.Venues[0].WSURL = "http://x"
	c.Venues[0].Instruments[0].Tick = "0.001"
	c.Venues[1].ReconnectMin = time.Hour
	ps := problems(t, c.Validate())
	want := []string{"pairs[1].price_exp", "venues[0].ws_url", "venues[0].instruments[0].tick", "venues[1].reconnect_min"}
	var got []string
	for _, e := range ps {
		got = append(got, e.Path)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got paths %q, want %q", got, want)
	}
}

// TestValidationPositions checks that validation problems in a parsed
// config point at the offending field, in the config or in an
// instruments_file.
func TestValidationPositions(t *testing.T) {
	tick := strings.Replace(validYAML, `tick: "0.1"`, `tick: "0.001"`, 1)
	noTick := strings.Replace(validYAML, `        tick: "0.1"`+"\n", "", 1)
	badURL := strings.Replace(validYAML, "ws_url: wss://ws.kraken.com/v2", "ws_url: https://ws.kraken.com/v2", 1)
	tests := []struct {
		name, doc, at, path string
	}{
		{"value", tick, `"0.001"`, "venues[1].instruments[0].tick"},
		{"missing field at its instrument", noTick, "symbol: BTC/USDT", "venues[1].instruments[0].tick"},
		{"url", badURL, "https://ws.kraken.com/v2", "venues[1].ws_url"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.doc), "t.yaml")
		ps := problems(t, err)
		if len(ps) != 1 {
			t.Errorf("%s: got %v, want one error", tt.name, err)
			continue
		}
		e := ps[0]
		line, col := lineOf(t, tt.doc, tt.at), colOf(t, tt.doc, tt.at)
		if e.File != "t.yaml" || e.Line != line || e.Column != col || e.Path != tt.path {
			t.Errorf("%s: got %s:%d:%d %s, want t.yaml:%d:%d %s", tt.name, e.File, e.Line, e.Column, e.Path, line, col, tt.path)
		}
	}

	const inst = `instruments:
  - symbol: ETHUSDT
    pair: ETH/USDT
    tick: "0.001"
    step: "0.0001"
    maker_fee_bps: 10
    taker_fee_bps: 10
`
	main := strings.Replace(validYAML, "    instruments:\n      - symbol: BTCUSDT", "    instruments_file: inst/b.yaml\n    instruments:\n      - symbol: BTCUSDT", 1)
	main = strings.Replace(main, "      - symbol: ETHUSDT\n        pair: ETH/USDT\n", "      - symbol: ETHUSDT2\n        pair: ETH/USDT\n", 1)
	main = strings.Replace(main, "ETHUSDT2\n        pair: ETH/USDT", "ETHUSDT2\n        pair: BTC/USDT", 1)
	fsys := fstest.MapFS{"c/main.yaml": {Data: []byte(main)}, "c/inst/b.yaml": {Data: []byte(inst)}}
	_, err := ParseFS(fsys, "c/main.yaml")
	ps := problems(t, err)
	// venues[0] lists BTCUSDT and ETHUSDT2 (both BTC/USDT) inline, then
	// ETHUSDT from the file.
	want := []Error{
		{File: "c/main.yaml", Line: lineOf(t, main, "pair: BTC/USDT\n        tick: \"0.01\"\n        step: \"0.0001\""), Column: 15, Path: "venues[0].instruments[1].pair"},
		{File: "c/inst/b.yaml", Line: 4, Column: 11, Path: "venues[0].instruments[2].tick"},
	}
	if len(ps) != len(want) {
		t.Fatalf("got %v, want %d errors", err, len(want))
	}
	for i, e := range ps {
		if e.File != want[i].File || e.Line != want[i].Line || e.Column != want[i].Column || e.Path != want[i].Path {
			t.Errorf("got %s:%d:%d %s, want %s:%d:%d %s", e.File, e.Line, e.Column, e.Path, want[i].File, want[i].Line, want[i].Column, want[i].Path)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := validConfig()
	c.Venues[1].BookDepth = 10
	c.Venues[1].ReconnectMin = 250 * time.Millisecond
	if err := c.Validate(); err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"book_depth", c.Venues[0].BookDepth, DefaultBookDepth},
		{"top_n", c.Venues[0].TopN, DefaultTopN},
		{"ping_interval", c.Venues[0].PingInterval, DefaultPingInterval},
		{"idle_timeout", c.Venues[0].IdleTimeout, DefaultIdleTimeout},
		{"reconnect_min", c.Venues[0].ReconnectMin, DefaultReconnectMin},
		{"reconnect_max", c.Venues[0].ReconnectMax, DefaultReconnectMax},
		{"stale_after", c.Venues[0].StaleAfter, DefaultStaleAfter},
		{"book_depth set", c.Venues[1].BookDepth, 10},
		{"top_n capped at book_depth", c.Venues[1].TopN, 10},
		{"reconnect_min set", c.Venues[1].ReconnectMin, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestInstruments(t *testing.T) {
	c := validConfig()
	ins, err := c.Instruments()
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	if c.Venues[0].BookDepth != 0 {
		t.Errorf("Instruments set book_depth to %d, want c left as it was", c.Venues[0].BookDepth)
	}
	want := market.Instrument{
		Venue: market.Kraken, Symbol: "BTC/USDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"},
		PriceExp: 2, QtyExp: 8, Tick: 10, Step: 1, MakerFeeBps: 25, TakerFeeBps: 40,
	}
	if len(ins) != 3 || ins[2] != want {
		t.Errorf("got %+v, want 3 instruments, the last %+v", ins, want)
	}
}

// TestDecimalText checks that decimals are taken as written, quoted or not,
// never through float64.
func TestDecimalText(t *testing.T) {
	tests := []struct {
		yaml string
		want Decimal
	}{
		{`"0.01"`, "0.01"},
		{`0.010`, "0.010"},
		{`0.00001`, "0.00001"},
		{`1e-5`, "1e-5"},
		{`5`, "5"},
		{`'12345678901234567.89'`, "12345678901234567.89"},
		{`12345678901234567.89`, "12345678901234567.89"},
		{`~`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		var f instrumentsFile
		doc := "instruments:\n  - min_notional: " + tt.yaml + "\n"
		if _, err := decode([]byte(doc), "t.yaml", &f); err != nil {
			t.Errorf("%s: got %v, want no error", tt.yaml, err)
			continue
		}
		if got := f.Instruments[0].MinNotional; got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.yaml, got, tt.want)
		}
	}

	doc := strings.Replace(validYAML, `step: "0.00000001"`, "step: 0.00000001", 1)
	doc = strings.Replace(doc, `tick: "0.1"`, "tick: 0.10", 1)
	c, err := Parse([]byte(doc), "t.yaml")
	if err != nil {
		t.Fatalf("unquoted decimals: got %v, want no error", err)
	}
	ins, _ := c.Instruments()
	if got := ins[2]; got.Tick != 10 || got.Step != 1 {
		t.Errorf("unquoted decimals: got tick %d step %d, want 10 and 1", got.Tick, got.Step)
	}
}

func TestVenue(t *testing.T) {
	tests := []struct {
		name string
		want market.Venue
	}{
		{"binance", market.Binance},
		{"Kraken", market.Kraken},
		{"OKX", market.OKX},
		{"krakn", market.VenueUnknown},
		{"", market.VenueUnknown},
	}
	for _, tt := range tests {
		vc := VenueConfig{Name: tt.name}
		if got := vc.Venue(); got != tt.want {
			t.Errorf("%q: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("boom")
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Column: 7, Path: "pairs[0].pair", Err: cause}, "config: a.yaml:3:7: pairs[0].pair: boom"},
		{Error{File: "a.yaml", Line: 3, Column: 7, Err: cause}, "config: a.yaml:3:7: boom"},
		{Error{File: "a.yaml", Path: "venues", Err: cause}, "config: a.yaml: venues: boom"},
		{Error{Path: "venues", Err: cause}, "config: venues: boom"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
		if !errors.Is(&tt.e, cause) {
			t.Errorf("%q: got no cause, want errors.Is to find it", tt.want)
		}
	}
}

// TestDurationKeys keeps durationKeys in step with VenueConfig, so that every
// malformed duration is reported with its position.
func TestDurationKeys(t *testing.T) {
	var want []string
	vt := reflect.TypeFor[VenueConfig]()
	for i := 0; i < vt.NumField(); i++ {
		if f := vt.Field(i); f.Type == reflect.TypeFor[time.Duration]() {
			want = append(want, f.Tag.Get("yaml"))
		}
	}
	got := durationKeys()
	if !reflect.DeepEqual(got[:], want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTooLarge(t *testing.T) {
	data := make([]byte, MaxFileSize+1)
	_, err := Parse(data, "big.yaml")
	if want := "config: big.yaml: 4194305 bytes is more than the 4194304 a config file may hold"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
