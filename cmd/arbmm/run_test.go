package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"arbmm/configs"
	"arbmm/exec"
	"arbmm/exec/keys"
	"arbmm/exec/risk"
	"arbmm/internal/config"
	"arbmm/internal/demo"
	"arbmm/internal/engine"
	"arbmm/internal/sim"
)

// TestRunAgainstSimex runs `arbmm run` with a config whose URLs point at
// simulated venues started here, keys in a keystore made here: the engine
// trades the simulator's dislocations and stops cleanly.
func TestRunAgainstSimex(t *testing.T) {
	dc, err := demo.Load(configs.FS, "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc := dc.Sim
	for i := range sc.Pairs {
		sc.Pairs[i].JumpsPerMin = 120 // dislocations within the test's seconds
	}
	secrets := map[string]string{}
	for _, vc := range sc.Venues {
		var b [32]byte
		_, _ = rand.Read(b[:])
		s := hex.EncodeToString(b[:])
		if vc.Name == "kraken" {
			s = base64.StdEncoding.EncodeToString(b[:])
		}
		secrets[vc.Accounts[0].SecretEnv] = s
	}
	s, err := sim.New(&sc, sim.Options{Getenv: func(k string) string { return secrets[k] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	pass := "test-passphrase-" + strconv.Itoa(os.Getpid())
	t.Setenv(envPassphrase, pass)
	ks, err := keys.Create(filepath.Join(dir, "keys.age"), []byte(pass), keys.Options{WorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, vc := range sc.Venues {
		ac := vc.Accounts[0]
		secret, err := keys.DecodeSecret(vc.Name, exec.HMAC, []byte(secrets[ac.SecretEnv]))
		if err != nil {
			t.Fatal(err)
		}
		k, err := keys.NewKey(keys.Info{ID: vc.Name + "-1", Venue: vc.Name, Account: "main", APIKey: ac.APIKey, Kind: exec.HMAC, Perms: keys.Read | keys.Trade, Created: time.Now()}, secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := ks.Add(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := ks.Save(); err != nil {
		t.Fatal(err)
	}
	ks.Close()

	bn, _ := s.Venue("binance")
	kr, _ := s.Venue("kraken")
	var b strings.Builder
	fmt.Fprintf(&b, "keystore: keys.age\nstate_dir: state\n")
	fmt.Fprintf(&b, "pairs:\n  - {pair: BTC/USDT, price_exp: 2, qty_exp: 8}\n  - {pair: ETH/USDT, price_exp: 2, qty_exp: 8}\n  - {pair: ETH/BTC, price_exp: 5, qty_exp: 4}\n")
	fmt.Fprintf(&b, "venues:\n")
	fmt.Fprintf(&b, "  - name: binance\n    ws_url: %s\n    rest_url: %s\n    order_url: %s\n    idle_timeout: 5s\n    ping_interval: 2s\n    instruments:\n", bn.Binance.StreamURL(), bn.Binance.RESTURL(), bn.Binance.WSAPIURL())
	fmt.Fprintf(&b, "      - {symbol: BTCUSDT, pair: BTC/USDT, tick: \"0.01\", step: \"0.00001\", min_qty: \"0.00001\", min_notional: \"5\", maker_fee_bps: 2, taker_fee_bps: 4}\n")
	fmt.Fprintf(&b, "      - {symbol: ETHUSDT, pair: ETH/USDT, tick: \"0.01\", step: \"0.0001\", min_qty: \"0.0001\", min_notional: \"5\", maker_fee_bps: 2, taker_fee_bps: 4}\n")
	fmt.Fprintf(&b, "      - {symbol: ETHBTC, pair: ETH/BTC, tick: \"0.00001\", step: \"0.0001\", min_qty: \"0.0001\", min_notional: \"0.0001\", maker_fee_bps: 2, taker_fee_bps: 4}\n")
	fmt.Fprintf(&b, "  - name: kraken\n    ws_url: %s\n    rest_url: %s\n    order_url: %s\n    subscribe_depth: 10\n    idle_timeout: 5s\n    ping_interval: 2s\n    instruments:\n", kr.Kraken.WSURL(), kr.Kraken.RESTURL(), kr.Kraken.AuthWSURL())
	fmt.Fprintf(&b, "      - {symbol: BTC/USDT, pair: BTC/USDT, tick: \"0.1\", step: \"0.00000001\", min_qty: \"0.0001\", min_notional: \"0.5\", maker_fee_bps: 0, taker_fee_bps: 10}\n")
	fmt.Fprintf(&b, "      - {symbol: ETH/USDT, pair: ETH/USDT, tick: \"0.01\", step: \"0.00000001\", min_qty: \"0.002\", min_notional: \"0.5\", maker_fee_bps: 0, taker_fee_bps: 10}\n")
	demoYAML, _ := configs.FS.ReadFile("demo.yaml")
	text := string(demoYAML)
	// The arb, tri and risk sections of the demo, as they are.
	b.WriteString(text[strings.Index(text, "\narb:")+1 : strings.Index(text, "\nsim:")+1])
	cfgPath := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(cfgPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"run", "-c", cfgPath, "--duration", "5s"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	m := regexp.MustCompile(`opportunities \d+, taken (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no summary:\n%s", out.String())
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Errorf("no arbitrage taken in 5 s of 120 jumps a minute:\n%s", out.String())
	}
	all := out.String() + errOut.String()
	for _, sec := range secrets {
		if strings.Contains(all, sec) {
			t.Fatal("a secret appears in the output")
		}
	}
	t.Logf("%s", out.String())
}

// TestProdExampleTrades: the production example's trading sections are
// valid for its instruments (risk limits, arbitrage sizes), and without
// its keystore `arbmm run` stops with a clear error before connecting
// anywhere.
func TestProdExampleTrades(t *testing.T) {
	cfg, err := config.Load("../../configs/prod.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := cfg.Instruments()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := risk.New(*cfg.Risk, ins); err != nil {
		t.Fatalf("risk: %v", err)
	}
	var ec engine.Config
	if err := engine.Settings(cfg.Arb, cfg.Engine, ins, &ec); err != nil {
		t.Fatalf("arb: %v", err)
	}
	if len(ec.MaxOrderQty) != 2 {
		t.Errorf("max_order_qty for %d pairs, want 2", len(ec.MaxOrderQty))
	}
	t.Setenv(envPassphrase, "not-the-passphrase")
	var out, errOut bytes.Buffer
	code := run([]string{"run", "-c", "../../configs/prod.example.yaml", "--duration", "1s"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "keystore") {
		t.Fatalf("exit %d, stderr %q: want 1 and a keystore error", code, errOut.String())
	}
}
