package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"arbmm/book"
	"arbmm/exec"
	execbinance "arbmm/exec/binance"
	"arbmm/exec/keys"
	execkraken "arbmm/exec/kraken"
	"arbmm/exec/risk"
	"arbmm/feed"
	"arbmm/internal/config"
	"arbmm/internal/engine"
	"arbmm/internal/market"
)

// cmdRun runs the engine against the venues of a config: their feeds, their
// order gateways with the keystore's keys, the arbitrage and the risk
// limits of the config.
func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "", "config file (YAML), required")
	duration := fs.Duration("duration", 0, "stop after this long (0: until SIGINT/SIGTERM)")
	every := fs.Duration("every", time.Second, "status line period")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: arbmm run -c CONFIG [--duration D] [--every D]\n\nTrades the config's arbitrage on its venues: feeds from ws_url/rest_url,\norders through order_url with the current key of each venue's keystore\naccount (passphrase from $ARBMM_KEYSTORE_PASSPHRASE or a prompt). A key\nthat can withdraw is refused unless the venue sets allow_withdraw.\nSIGUSR1 triggers the kill switch.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cfgPath == "" || fs.NArg() != 0 || *every <= 0 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "arbmm run:", err)
		return 1
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return fail(err)
	}
	if cfg.Arb == nil || cfg.Risk == nil || cfg.Keystore == "" {
		return fail(errors.New("the config needs arb, risk and keystore to trade (arbmm record takes a market-data config)"))
	}
	ins, err := cfg.Instruments()
	if err != nil {
		return fail(err)
	}
	dir := filepath.Dir(*cfgPath)
	resolve := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	state := resolve(cmp(cfg.StateDir, "state"))
	if err := os.MkdirAll(state, 0o700); err != nil {
		return fail(err)
	}
	ks, err := openKeystore(resolve(cfg.Keystore), keys.Options{}, false, stderr)
	if err != nil {
		return fail(fmt.Errorf("keystore: %w", err))
	}
	defer ks.Close()

	chk, err := risk.New(*cfg.Risk, ins)
	if err != nil {
		return fail(err)
	}
	books := make([]*book.Book, len(ins))
	ecfg := engine.Config{Instruments: ins, Books: books, Risk: chk}
	if err := engine.Settings(cfg.Arb, cfg.Engine, ins, &ecfg); err != nil {
		return fail(err)
	}
	if err := engine.TriSettings(cfg.Tri, ins, &ecfg); err != nil {
		return fail(err)
	}
	if err := engine.MMSettings(cfg.MM, ins, &ecfg); err != nil {
		return fail(err)
	}
	if err := engine.XEMMSettings(cfg.XEMM, ins, &ecfg); err != nil {
		return fail(err)
	}
	r := &runner{stderr: stderr}
	defer r.close()
	var lates []*engine.FeedTap
	balances := map[market.Venue][]startBalance{}
	for i := range cfg.Venues {
		vc := &cfg.Venues[i]
		mv := vc.Venue()
		var ptrs []*market.Instrument
		for j := range ins {
			if ins[j].Venue == mv {
				ptrs = append(ptrs, &ins[j])
			}
		}
		lf := &engine.FeedTap{Venue: mv}
		lv, err := buildVenue(vc, ins, connHook{wrap: func(s feed.Session) feed.Session { lf.Inner = s; return lf }})
		if err != nil {
			return fail(err)
		}
		r.closers = append(r.closers, lv.close)
		r.conns = append(r.conns, lv.conn)
		for j := range ins {
			if ins[j].Venue == mv {
				sym := ins[j].Symbol
				lf.Watch = append(lf.Watch, engine.Watched{Inst: int32(j), Book: func() *book.Book { return lv.book(sym) }})
			}
		}
		lates = append(lates, lf)
		if vc.OrderURL == "" {
			continue // market data only
		}
		ring, err := ks.Ring(vc.Name, cmp(vc.Account, "main"), keys.Config{})
		if err != nil {
			return fail(err)
		}
		if ring.Current() == nil {
			return fail(fmt.Errorf("%s: the keystore has no usable key for account %s", vc.Name, cmp(vc.Account, "main")))
		}
		sink := &reportSink{}
		r.sinks = append(r.sinks, sink)
		switch mv {
		case market.Binance:
			rest, err := execbinance.NewREST(execbinance.Config{RESTURL: vc.RESTURL, Keys: ring, Instruments: ptrs, OnReport: func(*market.Report) {}})
			if err != nil {
				return fail(err)
			}
			if err := rest.CheckKey(vc.AllowWithdraw); err != nil {
				return fail(err)
			}
			body, err := rest.Account(nil)
			if err != nil {
				return fail(fmt.Errorf("binance: account: %w", err))
			}
			rest.Close()
			if balances[mv], err = binanceBalances(body); err != nil {
				return fail(err)
			}
			gw, err := execbinance.Dial(execbinance.Config{WSURL: vc.OrderURL, RESTURL: vc.RESTURL, Keys: ring, Instruments: ptrs, OnReport: sink.on})
			if err != nil {
				return fail(err)
			}
			ecfg.Gateways[mv] = gw
			r.gws = append(r.gws, gw)
		case market.Kraken:
			nonces, err := exec.OpenNonces(filepath.Join(state, "kraken-"+cmp(vc.Account, "main")+".nonce"))
			if err != nil {
				return fail(err)
			}
			rest, err := execkraken.NewREST(execkraken.RESTConfig{BaseURL: vc.RESTURL, Keys: ring, Nonces: nonces, Instruments: ptrs})
			if err != nil {
				return fail(err)
			}
			bal, err := rest.Balance()
			if err != nil {
				return fail(fmt.Errorf("kraken: balance: %w", err))
			}
			for asset, amount := range bal {
				balances[mv] = append(balances[mv], startBalance{krakenAsset(asset), amount})
			}
			gw, err := execkraken.Dial(execkraken.Config{URL: vc.OrderURL, REST: rest, OnReport: sink.on})
			if err != nil {
				return fail(err)
			}
			ecfg.Gateways[mv] = gw
			r.gws = append(r.gws, gw)
			r.closers = append(r.closers, rest.Close)
		default:
			return fail(fmt.Errorf("%s: order entry is not implemented for this venue; remove its order_url", vc.Name))
		}
	}
	core, err := engine.New(ecfg)
	if err != nil {
		return fail(err)
	}
	for _, lf := range lates {
		rg, err := core.NewRing()
		if err != nil {
			return fail(err)
		}
		lf.Attach(rg)
	}
	for _, s := range r.sinks {
		rg, err := core.NewRing()
		if err != nil {
			return fail(err)
		}
		s.fn = engine.Reports(rg, nil)
	}
	for v, list := range balances {
		for _, b := range list {
			asset, text := b.asset, b.amount
			_, dec, ok := core.Positions().Asset(asset)
			if !ok {
				continue
			}
			amt, err := market.ParseFixed([]byte(strings.TrimSpace(text)), dec)
			if err != nil {
				// More decimals than the engine keeps for the asset: floor it.
				amt, err = market.ParseFixed([]byte(trimDecimals(text, dec)), dec)
			}
			if err == nil {
				_ = core.SetBalance(v, asset, amt, dec)
			}
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	var wg sync.WaitGroup
	for _, c := range r.conns {
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Run(runCtx) }()
	}
	var coreErr error
	wg.Add(1)
	go func() { defer wg.Done(); coreErr = core.Run(runCtx) }()

	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	tick := time.NewTicker(*every)
	defer tick.Stop()
	start := time.Now()
	gc0 := gcCycles()
	last, lastAt := core.Status(), start
	for {
		select {
		case <-ctx.Done():
			chk.Kill().Trigger(risk.Operator, "shutdown", time.Now().UnixNano())
			st := waitSettled(core)
			cancelRun()
			wg.Wait()
			summary(stdout, st, time.Since(start), gcCycles()-gc0, 0, false)
			fmt.Fprintln(stdout, "\nlatency per stage (µs):")
			_ = core.Stages().Report().WriteText(stdout)
			if coreErr != nil {
				return fail(coreErr)
			}
			return 0
		case <-usr1:
			chk.Kill().Trigger(risk.Operator, "operator signal (SIGUSR1)", time.Now().UnixNano())
		case now := <-tick.C:
			st := core.Status()
			fmt.Fprintln(stdout, statusLine(st, last, now.Sub(lastAt), now.Sub(start)))
			last, lastAt = st, now
		}
	}
}

// runner holds what cmdRun must close.
type runner struct {
	stderr  io.Writer
	conns   []*feed.Conn
	gws     []engine.Gateway
	sinks   []*reportSink
	closers []func()
}

func (r *runner) close() {
	for _, g := range r.gws {
		if err := g.Close(); err != nil {
			fmt.Fprintln(r.stderr, "arbmm run: closing a gateway:", err)
		}
	}
	for _, c := range r.closers {
		c()
	}
}

// reportSink forwards a gateway's reports to the core's ring once it
// exists (no report comes before the first order).
type reportSink struct{ fn func(*market.Report) }

func (s *reportSink) on(r *market.Report) {
	if s.fn != nil {
		s.fn(r)
	}
}

// waitSettled waits (up to 2s) until no order is open and the reports have
// stopped, so that the summary has every fill.
func waitSettled(core *engine.Core) engine.Status {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Second)
	var last uint64
	quiet := 0
	for time.Now().Before(deadline) && quiet < 10 {
		<-tick.C
		st := core.Status()
		if st.Stats.OpenOrders == 0 && st.Stats.Reports == last {
			quiet++
		} else {
			quiet = 0
		}
		last = st.Stats.Reports
	}
	return core.Status()
}

// startBalance is one asset's holding at start-up, as the venue wrote it.
type startBalance struct{ asset, amount string }

// binanceBalances reads GET /api/v3/account's free balances (cold path).
func binanceBalances(body []byte) ([]startBalance, error) {
	var acct struct {
		Balances []struct {
			Asset  string `json:"asset"`
			Free   string `json:"free"`
			Locked string `json:"locked"`
		} `json:"balances"`
	}
	if err := json.Unmarshal(body, &acct); err != nil {
		return nil, fmt.Errorf("binance: account: %w", err)
	}
	var out []startBalance
	for _, b := range acct.Balances {
		// Free only: funds locked by orders the engine did not place are
		// not the engine's to trade.
		out = append(out, startBalance{b.Asset, b.Free})
	}
	return out, nil
}

// krakenAsset maps Kraken's asset codes to canonical ones (XXBT → BTC,
// ZUSD → USD, XETH → ETH; USDT stays).
func krakenAsset(a string) string {
	switch a {
	case "XXBT", "XBT":
		return "BTC"
	case "XXDG", "XDG":
		return "DOGE"
	}
	if len(a) == 4 && (a[0] == 'X' || a[0] == 'Z') {
		return a[1:]
	}
	return a
}

// trimDecimals cuts decimal text to dec places (the engine keeps no more).
func trimDecimals(s string, dec int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > dec {
		s = s[:i+1+dec]
	}
	return strings.TrimSuffix(s, ".")
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
