// Package demo runs arbmm end to end in one process: the simulated venues
// (internal/sim) and the engine (internal/engine) with the engine's own
// feeds (feed/binance, feed/kraken), order gateways (exec/binance,
// exec/kraken) and key ring (exec/keys), connected over real loopback
// websockets and HTTP. `arbmm demo` and the end-to-end tests use it; it is
// the only production-side package allowed to import internal/sim.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"arbmm/book"
	"arbmm/exec"
	execbinance "arbmm/exec/binance"
	"arbmm/exec/keys"
	execkraken "arbmm/exec/kraken"
	"arbmm/exec/risk"
	"arbmm/feed"
	"arbmm/feed/binance"
	"arbmm/feed/kraken"
	"arbmm/internal/config"
	"arbmm/internal/engine"
	"arbmm/internal/market"
	"arbmm/internal/sim"
)

// Config is the demo's file (configs/demo.yaml): the simulated venues, the
// strategy, the risk limits and the core's threading (the same arb, risk
// and engine sections as an engine config).
type Config struct {
	Sim  sim.Config          `yaml:"sim"`
	Risk risk.Config         `yaml:"risk"`
	Arb  config.ArbConfig    `yaml:"arb"`
	Tri  []config.TriConfig  `yaml:"tri"`
	MM   []config.MMConfig   `yaml:"mm"`
	XEMM []config.XEMMConfig `yaml:"xemm"`
	// Strategies chooses what runs: any of arb, tri, mm, xemm (default
	// all sections present).
	Strategies []string            `yaml:"strategies"`
	Engine     config.EngineConfig `yaml:"engine"`
}

// Load reads a demo config from fsys (configs.FS) or, with fsys nil, the
// OS.
func Load(fsys fs.FS, name string) (*Config, error) {
	var data []byte
	var err error
	if fsys != nil {
		data, err = fs.ReadFile(fsys, name)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	var c Config
	if err := config.Decode(data, name, &c); err != nil {
		return nil, err
	}
	if err := c.Sim.Validate(); err != nil {
		return nil, fmt.Errorf("%s: sim: %w", name, err)
	}
	return &c, nil
}

// Demo is the running simulator and engine.
type Demo struct {
	cfg     *Config
	Sim     *sim.Sim
	Core    *engine.Core
	Insts   []market.Instrument
	conns   []*feed.Conn
	closers []func()
	gws     []engine.Gateway
	rings   []*keys.Ring
	dir     string
	risk    *risk.Checker
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	runErr  error
}

// Start builds and starts everything: the simulated venues with fresh
// random API keys for the engine's accounts (given to the simulator
// through its secret variables and to the engine's key ring, never
// written anywhere), the feeds, the gateways and the core.
func Start(cfg *Config) (*Demo, error) {
	d := &Demo{cfg: cfg}
	dir, err := os.MkdirTemp("", "arbmm-demo-")
	if err != nil {
		return nil, err
	}
	d.dir = dir
	secrets := map[string]string{}
	for _, vc := range cfg.Sim.Venues {
		for _, ac := range vc.Accounts {
			secrets[ac.SecretEnv] = newSecret(vc.Name)
		}
	}
	s, err := sim.New(&cfg.Sim, sim.Options{Getenv: func(k string) string { return secrets[k] }})
	if err != nil {
		d.Close()
		return nil, err
	}
	d.Sim = s
	if err := s.Listen(); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.buildEngine(secrets); err != nil {
		d.Close()
		return nil, err
	}
	s.Run()
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	for _, c := range d.conns {
		c := c
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			_ = c.Run(ctx)
		}()
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.runErr = d.Core.Run(ctx)
	}()
	return d, nil
}

// newSecret makes a random API secret in the venue's form: Binance a
// 64-character text, Kraken base64 of 64 random bytes.
func newSecret(venue string) string {
	var b [64]byte
	_, _ = rand.Read(b[:])
	if venue == "kraken" {
		return base64.StdEncoding.EncodeToString(b[:])
	}
	return hex.EncodeToString(b[:32])
}

// instruments derives the engine's instruments from the simulated venues:
// each pair at the finest price and quantity decimals any venue uses, the
// venue's tick, step and minimums rescaled to them.
func instruments(s *sim.Sim, cfg *sim.Config) []market.Instrument {
	type exps struct{ p, q int }
	shared := map[market.Pair]exps{}
	for _, v := range s.Venues() {
		for _, p := range v.State.Pairs() {
			e := shared[p.Cfg.Pair]
			shared[p.Cfg.Pair] = exps{max(e.p, p.Cfg.PriceExp), max(e.q, p.Cfg.QtyExp)}
		}
	}
	var out []market.Instrument
	for vi, v := range s.Venues() {
		mv, _ := market.ParseVenue(v.Name)
		for _, p := range v.State.Pairs() {
			e := shared[p.Cfg.Pair]
			up := func(x int64, from, to int) int64 { r, _ := market.Rescale(x, from, to); return r }
			out = append(out, market.Instrument{
				Venue: mv, Symbol: p.Cfg.Symbol, Pair: p.Cfg.Pair, PriceExp: e.p, QtyExp: e.q,
				Tick: market.Price(up(p.Cfg.Tick, p.Cfg.PriceExp, e.p)), Step: market.Qty(up(p.Cfg.Step, p.Cfg.QtyExp, e.q)),
				MinQty:      market.Qty(up(p.Cfg.MinQty, p.Cfg.QtyExp, e.q)),
				MinNotional: market.Price(floorTo(p.Cfg.MinNotional, p.Cfg.PriceExp+p.Cfg.QtyExp, e.p)),
				MakerFeeBps: float64(cfg.Venues[vi].MakerFeeBps), TakerFeeBps: float64(cfg.Venues[vi].TakerFeeBps),
			})
		}
	}
	return out
}

func floorTo(v int64, from, to int) int64 {
	if r, ok := market.Rescale(v, from, to); ok {
		return r
	}
	if from > to {
		return (v + market.Pow10(from-to) - 1) / market.Pow10(from-to) // round a minimum up
	}
	return v
}

func (d *Demo) buildEngine(secrets map[string]string) error {
	cfg := d.cfg
	d.Insts = instruments(d.Sim, &cfg.Sim)
	ins := d.Insts
	books := make([]*book.Book, len(ins))
	chk, err := risk.New(cfg.Risk, ins)
	if err != nil {
		return err
	}
	d.risk = chk
	ecfg := engine.Config{Instruments: ins, Books: books, Risk: chk}
	if err := engine.Settings(&cfg.Arb, cfg.Engine, ins, &ecfg); err != nil {
		return err
	}
	on := func(name string) bool {
		if len(cfg.Strategies) == 0 {
			return true
		}
		for _, s := range cfg.Strategies {
			if s == name {
				return true
			}
		}
		return false
	}
	ecfg.CrossOff = !on("arb")
	if on("tri") {
		if err := engine.TriSettings(cfg.Tri, ins, &ecfg); err != nil {
			return err
		}
	}
	if on("mm") {
		if err := engine.MMSettings(cfg.MM, ins, &ecfg); err != nil {
			return err
		}
	}
	if on("xemm") {
		if err := engine.XEMMSettings(cfg.XEMM, ins, &ecfg); err != nil {
			return err
		}
	}
	// The gateways need the core's rings and the core needs the gateways:
	// build the gateways against forwarding sinks first.
	type sink struct{ fn func(*market.Report) }
	var sinks []*sink
	var lates []*engine.FeedTap
	watch := map[market.Venue][]engine.Watched{}
	feedBooks := map[market.Venue]func(sym string) *book.Book{}
	for _, v := range d.Sim.Venues() {
		mv, _ := market.ParseVenue(v.Name)
		var vins []market.Instrument
		var ptrs []*market.Instrument
		for i := range ins {
			if ins[i].Venue == mv {
				vins = append(vins, ins[i])
				ptrs = append(ptrs, &ins[i])
			}
		}
		var acct string
		for name := range v.Accounts {
			acct = name
		}
		var ac *sim.AccountConfig
		for _, vc := range cfg.Sim.Venues {
			if vc.Name == v.Name {
				for i := range vc.Accounts {
					if vc.Accounts[i].Name == acct {
						ac = &vc.Accounts[i]
					}
				}
			}
		}
		if ac == nil {
			return fmt.Errorf("demo: venue %s has no account for the engine", v.Name)
		}
		ring := keys.NewRing(v.Name, acct, keys.Config{})
		secret, err := keys.DecodeSecret(v.Name, exec.HMAC, []byte(secrets[ac.SecretEnv]))
		if err != nil {
			return err
		}
		k, err := keys.NewKey(keys.Info{ID: v.Name + "-demo", Venue: v.Name, Account: acct, APIKey: ac.APIKey, Kind: exec.HMAC, Perms: keys.Read | keys.Trade, Created: time.Now()}, secret)
		if err != nil {
			return err
		}
		if err := ring.Add(k); err != nil {
			return err
		}
		d.rings = append(d.rings, ring)
		sk := &sink{}
		sinks = append(sinks, sk)
		onReport := func(r *market.Report) {
			if sk.fn != nil {
				sk.fn(r)
			}
		}
		switch mv {
		case market.Binance:
			f, err := binance.New(binance.Config{Venue: mv, Instruments: vins, MaxDepth: 1000, TopN: 20})
			if err != nil {
				return err
			}
			sess, err := binance.NewSession(f, binance.SessionConfig{REST: v.Binance.RESTURL(), Symbols: symbols(vins), Limit: 100, RetryDelay: 20 * time.Millisecond})
			if err != nil {
				return err
			}
			byName := map[string]*book.Book{}
			for _, s := range f.Symbols() {
				byName[s.Name] = s.Book
			}
			feedBooks[mv] = func(sym string) *book.Book { return byName[sym] }
			wrapped := &engine.FeedTap{Venue: mv}
			lates = append(lates, wrapped)
			c, err := feed.NewConn(feed.ConnConfig{Name: "demo-binance", URL: v.Binance.StreamURL(), PingInterval: -1, IdleTimeout: 5 * time.Second, ReconnectMin: 10 * time.Millisecond, ReconnectMax: time.Second}, wrapped)
			if err != nil {
				return err
			}
			sess.Conn = c
			wrapped.Inner = sess
			d.conns = append(d.conns, c)
			d.closers = append(d.closers, func() { _ = sess.Close() })
			gw, err := execbinance.Dial(execbinance.Config{WSURL: v.Binance.WSAPIURL(), RESTURL: v.Binance.RESTURL(), Keys: ring, Instruments: ptrs, OnReport: onReport})
			if err != nil {
				return err
			}
			ecfg.Gateways[mv] = gw
			d.gws = append(d.gws, gw)
			watch[mv] = nil
			for i := range ins {
				if ins[i].Venue == mv {
					sym := ins[i].Symbol
					watch[mv] = append(watch[mv], engine.Watched{Inst: int32(i), Book: func() *book.Book { return byName[sym] }})
				}
			}
			wrapped.Watch = watch[mv]
		case market.Kraken:
			prec := map[string][2]int{}
			for _, p := range v.State.Pairs() {
				prec[p.Cfg.Pair.String()] = [2]int{p.Cfg.PriceExp, p.Cfg.QtyExp}
			}
			f, err := kraken.New(kraken.Config{Version: 2, Depth: 10, Instruments: vins, TopN: 10, Precision: prec})
			if err != nil {
				return err
			}
			sess, err := kraken.NewSession(f, kraken.SessionConfig{Symbols: symbols(vins), Depth: 10})
			if err != nil {
				return err
			}
			wrapped := &engine.FeedTap{Venue: mv}
			lates = append(lates, wrapped)
			c, err := feed.NewConn(feed.ConnConfig{Name: "demo-kraken", URL: v.Kraken.WSURL(), PingInterval: -1, IdleTimeout: 5 * time.Second, ReconnectMin: 10 * time.Millisecond, ReconnectMax: time.Second}, wrapped)
			if err != nil {
				return err
			}
			sess.Conn = c
			wrapped.Inner = sess
			d.conns = append(d.conns, c)
			for i := range ins {
				if ins[i].Venue == mv {
					sym := ins[i].Symbol
					wrapped.Watch = append(wrapped.Watch, engine.Watched{Inst: int32(i), Book: func() *book.Book {
						for _, s := range f.Symbols() {
							if s.Symbol == sym {
								return s.Book
							}
						}
						return nil
					}})
				}
			}
			nonces, err := exec.OpenNonces(filepath.Join(d.dir, "kraken.nonce"))
			if err != nil {
				return err
			}
			// The gateway mirrors the simulated venue's own counters (as
			// it would the account tier's on Kraken).
			lim := v.Kraken.Limits()
			rest, err := execkraken.NewREST(execkraken.RESTConfig{BaseURL: v.Kraken.RESTURL(), Keys: ring, Nonces: nonces, Instruments: ptrs,
				TradingMax: lim.TradingMax, TradingDecayPerSec: lim.TradingDecayPerSec, CallMax: lim.Max, CallDecayPerSec: lim.DecayPerSec})
			if err != nil {
				return err
			}
			gw, err := execkraken.Dial(execkraken.Config{URL: v.Kraken.AuthWSURL(), REST: rest, OnReport: onReport, NoDeadMan: false, DeadMan: 30 * time.Second})
			if err != nil {
				return err
			}
			ecfg.Gateways[mv] = gw
			d.gws = append(d.gws, gw)
			d.closers = append(d.closers, rest.Close)
		default:
			return fmt.Errorf("demo: no wiring for venue %s", v.Name)
		}
	}
	// Books: the feeds own them; the core reads them by index. Kraken's
	// exist only once its pairs appear on the wire: the core learns them
	// from the first book event (nil until then: never traded).
	for i := range ins {
		if fb := feedBooks[ins[i].Venue]; fb != nil {
			books[i] = fb(ins[i].Symbol)
		}
	}
	core, err := engine.New(ecfg)
	if err != nil {
		return err
	}
	d.Core = core
	for _, ls := range lates {
		r, err := core.NewRing()
		if err != nil {
			return err
		}
		ls.Attach(r)
	}
	for _, sk := range sinks {
		r, err := core.NewRing()
		if err != nil {
			return err
		}
		sk.fn = engine.Reports(r, nil)
	}
	// Starting balances, as the config gives them.
	for _, vc := range cfg.Sim.Venues {
		mv, _ := market.ParseVenue(vc.Name)
		for _, ac := range vc.Accounts {
			for asset, text := range ac.Balances {
				_, dec, ok := core.Positions().Asset(asset)
				if !ok {
					continue
				}
				amt, err := market.ParseFixed([]byte(text), dec)
				if err != nil {
					return fmt.Errorf("balances.%s: %w", asset, err)
				}
				if err := core.SetBalance(mv, asset, amt, dec); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func symbols(ins []market.Instrument) []string {
	var out []string
	for _, in := range ins {
		out = append(out, in.Symbol)
	}
	return out
}

// Kill triggers the kill switch as the operator would (SIGUSR1): the core
// cancels everything open and sends nothing new.
func (d *Demo) Kill(detail string) {
	d.risk.Kill().Trigger(risk.Operator, detail, time.Now().UnixNano())
}

// Risk is the core's pre-trade checker (its counters and kill switch).
func (d *Demo) Risk() *risk.Checker { return d.risk }

// Stop stops the core (which cancels what is open) and the feeds, and
// waits for them; the gateways and the simulator stay up for Close. After
// Stop the core's histograms may be read (Core.Stages).
func (d *Demo) Stop() {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
}

// Close stops the core (which cancels what is open), the feeds, the
// gateways and the simulator.
func (d *Demo) Close() error {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	var errs []error
	for _, g := range d.gws {
		errs = append(errs, g.Close())
	}
	for _, f := range d.closers {
		f()
	}
	for _, r := range d.rings {
		r.Close()
	}
	if d.Sim != nil {
		errs = append(errs, d.Sim.Close())
	}
	if d.dir != "" {
		_ = os.RemoveAll(d.dir)
	}
	return errors.Join(append(errs, d.runErr)...)
}
