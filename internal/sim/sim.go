// Package sim assembles the simulated exchange from its config: the market
// model (internal/sim/model), one venue state per venue
// (internal/sim/venue) with the accounts funded, and each venue's
// protocol front end (internal/sim/binance, internal/sim/kraken) listening
// on loopback. `arbmm simex` runs it standalone; the demo, paper trading
// and the engine's tests run it in process.
//
// Owners: New builds everything; Start seeds the books, starts the servers
// and the model's driver goroutine; Close stops them. Between New and
// Start a test may step the model by hand (Step) for reproducible books.
package sim

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/binance"
	"arbmm/internal/sim/kraken"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/model"
	"arbmm/internal/sim/venue"
	"arbmm/internal/sim/wire"
)

// Account ids of every venue: the fee collector is match.FeeAccount (0);
// the background flow trades as LP and Taker; configured accounts start at
// FirstAccount, in config order.
const (
	LP           match.AccountID = 1
	Taker        match.AccountID = 2
	FirstAccount match.AccountID = 100
)

// Options are the in-process settings a config file does not carry.
type Options struct {
	// Getenv reads the environment variables accounts name for their
	// secrets; nil is os.Getenv.
	Getenv func(string) string
	// Clock is every venue's clock; nil is time.Now.
	Clock func() time.Time
	// SkipMissingSecrets leaves out an HMAC account whose secret variable
	// is unset (noted in Sim.Notes) instead of failing: simex runs for
	// market data without any secret set.
	SkipMissingSecrets bool
}

// Venue is one simulated venue: its state and its server.
type Venue struct {
	Name     string
	State    *venue.Venue
	Binance  *binance.Server // set for binance
	Kraken   *kraken.Server  // set for kraken
	Keys     *auth.Keys
	Accounts map[string]match.AccountID // configured accounts by name
	cfg      *VenueConfig
}

// Endpoint is one URL a venue serves.
type Endpoint struct {
	Venue, Kind, URL string
}

// Sim is a running simulated exchange.
type Sim struct {
	cfg     *Config
	venues  []*Venue
	market  *model.Market
	latents map[string]*model.Latent
	paths   map[string]model.Path // every pair's latent price: a process or a ratio
	stop    chan struct{}         // closed by Close
	runMu   sync.Mutex
	running chan struct{} // the driver's stop channel while it runs
	done    sync.WaitGroup
	seeded  bool
	notes   []string
}

// New builds the venues, funds the accounts and prepares the model; nothing
// listens yet.
func New(cfg *Config, opt Options) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Getenv == nil {
		opt.Getenv = os.Getenv
	}
	s := &Sim{cfg: cfg, market: model.NewMarket(cfg.Step), latents: map[string]*model.Latent{}, paths: map[string]model.Path{}, stop: make(chan struct{})}
	// The longest lag sets how much latent history to keep.
	maxLag := 0
	for _, vc := range cfg.Venues {
		for _, in := range vc.Instruments {
			maxLag = max(maxLag, int(in.Flow.Lag/cfg.Step))
		}
	}
	for i, pc := range cfg.Pairs {
		p, _ := market.ParsePair(pc.Pair)
		if len(pc.Ratio) > 0 {
			continue // after the processes it divides
		}
		start, _ := strconv.ParseFloat(pc.Start, 64)
		l, err := model.NewLatent(model.LatentConfig{
			Start: start, VolBps: pc.VolBps, JumpsPerMin: pc.JumpsPerMin, JumpBps: pc.JumpBps, MeanRevertPerMin: pc.MeanRevertPerMin,
		}, cfg.Step, maxLag, cfg.Seed+uint64(i)*0x9e3779b9)
		if err != nil {
			return nil, fmt.Errorf("pairs[%d]: %w", i, err)
		}
		s.latents[p.String()] = l
		s.market.AddLatent(l)
	}
	for i, pc := range cfg.Pairs {
		if len(pc.Ratio) == 0 {
			continue
		}
		p, _ := market.ParsePair(pc.Pair)
		num, err1 := market.ParsePair(pc.Ratio[0])
		den, err2 := market.ParsePair(pc.Ratio[1])
		n, d := s.latents[num.String()], s.latents[den.String()]
		if err1 != nil || err2 != nil || n == nil || d == nil {
			return nil, fmt.Errorf("pairs[%d].ratio: %v: want two pairs with their own processes", i, pc.Ratio)
		}
		s.paths[p.String()] = model.Ratio{Num: n, Den: d}
	}
	for k, l := range s.latents {
		s.paths[k] = l
	}
	for i := range cfg.Venues {
		v, err := s.buildVenue(&cfg.Venues[i], opt)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("venue %s: %w", cfg.Venues[i].Name, err)
		}
		s.venues = append(s.venues, v)
	}
	return s, nil
}

func (s *Sim) buildVenue(vc *VenueConfig, opt Options) (*Venue, error) {
	vcfg := venue.Config{Name: vc.Name, Clock: opt.Clock}
	if vc.Name == "kraken" {
		vcfg.FeeMode = match.FeeInQuote
	}
	ins := make([]instrument, len(vc.Instruments))
	for i := range vc.Instruments {
		in := &vc.Instruments[i]
		r, err := in.resolve()
		if err != nil {
			return nil, err
		}
		ins[i] = r
		vcfg.Pairs = append(vcfg.Pairs, venue.PairConfig{
			Symbol: in.Symbol, Pair: r.pair, PriceExp: r.priceDec, QtyExp: r.qtyDec,
			Tick: r.tick, Step: r.step, MinQty: r.minQty, MinNotional: r.minNotional,
			MakerFeeBps: vc.MakerFeeBps, TakerFeeBps: vc.TakerFeeBps,
		})
	}
	st, err := venue.New(vcfg)
	if err != nil {
		return nil, err
	}
	v := &Venue{Name: vc.Name, State: st, Keys: auth.NewKeys(), Accounts: map[string]match.AccountID{}, cfg: vc}
	notes := &s.notes
	seed := s.cfg.Seed ^ hash64(vc.Name)
	// Background flow: funded generously (ten full ladders of each side),
	// and trading free of fees so its inventory stays where the model
	// leans it.
	for i, p := range st.Pairs() {
		in := ins[i]
		fc := vc.Instruments[i].Flow
		flow, err := model.NewFlow(model.FlowConfig{
			Lag: fc.Lag, NoiseBps: fc.NoiseBps, NoiseHalfLife: fc.NoiseHalfLife, HalfSpreadTicks: fc.HalfSpreadTicks,
			Depth: fc.Depth, Spacing: fc.Spacing, LevelQty: in.levelQty, UpdatesPerSec: fc.UpdatesPerSec,
			TakersPerSec: fc.TakersPerSec, TakerQty: in.takerQty, TakerBuyShare: fc.TakerBuyShare,
		}, p, s.paths[in.pair.String()], LP, Taker, s.cfg.Step, seed+uint64(i))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Cfg.Symbol, err)
		}
		depth := max(fc.Depth, 20)
		base := 10 * int64(depth) * 2 * max(in.levelQty, in.takerQty)
		price := s.paths[in.pair.String()].At(0) * 1.5
		if err := fund(st, in, base, price); err != nil {
			return nil, fmt.Errorf("%s: funding the background flow: %w", p.Cfg.Symbol, err)
		}
		p.Book.SetFees(LP, 0, 0)
		p.Book.SetFees(Taker, 0, 0)
		s.market.AddFlow(flow)
	}
	for j, ac := range vc.Accounts {
		id := FirstAccount + match.AccountID(j)
		key := auth.Key{APIKey: ac.APIKey, Account: uint32(id), Perms: auth.PermRead | auth.PermTrade}
		if ac.Withdraw {
			key.Perms |= auth.PermWithdraw
		}
		switch ac.KeyType {
		case "ed25519":
			pub, err := base64.StdEncoding.DecodeString(ac.PublicKey)
			if err != nil || len(pub) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("account %s: public_key: want the base64 of a 32-byte Ed25519 public key", ac.Name)
			}
			key.Type, key.Public = auth.Ed25519, ed25519.PublicKey(pub)
		default:
			secret := opt.Getenv(ac.SecretEnv)
			if secret == "" && opt.SkipMissingSecrets {
				*notes = append(*notes, fmt.Sprintf("%s account %s left out: %s (its secret) is not set", vc.Name, ac.Name, ac.SecretEnv))
				continue
			}
			if secret == "" {
				return nil, fmt.Errorf("account %s: environment variable %s (its secret) is not set", ac.Name, ac.SecretEnv)
			}
			key.Type, key.Secret = auth.HMAC, []byte(secret)
			if vc.Name == "kraken" {
				raw, err := base64.StdEncoding.DecodeString(secret)
				if err != nil {
					return nil, fmt.Errorf("account %s: %s does not hold a base64 Kraken secret", ac.Name, ac.SecretEnv)
				}
				key.Secret = raw
			}
		}
		if err := v.Keys.Add(key); err != nil {
			return nil, fmt.Errorf("account %s: %w", ac.Name, err)
		}
		v.Accounts[ac.Name] = id
		st.Track(id)
		assets := make([]string, 0, len(ac.Balances))
		for a := range ac.Balances {
			assets = append(assets, a)
		}
		sort.Strings(assets)
		for _, a := range assets {
			if err := deposit(st, id, a, ac.Balances[a]); err != nil {
				return nil, fmt.Errorf("account %s: balances.%s: %w", ac.Name, a, err)
			}
		}
	}
	switch vc.Name {
	case "binance":
		v.Binance, err = binance.New(binance.Config{
			Venue: st, Seed: seed, Faults: vc.Faults, StaleSnapshot: vc.StaleSnapshot, Limits: vc.Limits.binance(),
			Keys: v.Keys, Orders: vc.Orders,
		})
	case "kraken":
		v.Kraken, err = kraken.New(kraken.Config{
			Venue: st, Seed: seed, Faults: vc.Faults, WrongChecksum: vc.WrongChecksum, Limits: vc.Limits.kraken(),
			Keys: v.Keys, Orders: vc.Orders,
		})
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// fund deposits the background flow's inventory: base of the pair's base
// asset to the LP and the taker, and its value at price in the quote.
func fund(st *venue.Venue, in instrument, base int64, price float64) error {
	for _, a := range []match.AccountID{LP, Taker} {
		if err := depositMantissa(st, a, in.pair.Base, base, in.qtyDec); err != nil {
			return err
		}
		q := float64(base) * price // at qtyDec decimals
		qm := q * pow10f(in.priceDec)
		if qm > 9e17 {
			return fmt.Errorf("the flow's %s inventory does not fit in 64 bits: lower level_qty", in.pair.Quote)
		}
		if err := depositMantissa(st, a, in.pair.Quote, int64(qm), in.priceDec+in.qtyDec); err != nil {
			return err
		}
	}
	return nil
}

func pow10f(n int) float64 {
	f := 1.0
	for ; n > 0; n-- {
		f *= 10
	}
	return f
}

// depositMantissa deposits amount (a mantissa at dec decimals) of asset,
// converted to the ledger's exponent for it.
func depositMantissa(st *venue.Venue, a match.AccountID, asset string, amount int64, dec int) error {
	id, ok := st.Ledger().Asset(asset)
	if !ok {
		return fmt.Errorf("no asset %s", asset)
	}
	exp := -int(st.Ledger().Assets()[id].Exp)
	v, ok := market.Rescale(amount, dec, exp)
	if !ok {
		return fmt.Errorf("%s amount does not fit at %d decimals", asset, exp)
	}
	return st.Deposit(a, asset, v)
}

// deposit deposits decimal text of asset.
func deposit(st *venue.Venue, a match.AccountID, asset, text string) error {
	id, ok := st.Ledger().Asset(asset)
	if !ok {
		return fmt.Errorf("the venue lists no pair with %s", asset)
	}
	exp := -int(st.Ledger().Assets()[id].Exp)
	v, err := market.ParseFixed([]byte(text), exp)
	if err != nil {
		return fmt.Errorf("%q: %w", text, err)
	}
	if v <= 0 {
		return fmt.Errorf("%q: want > 0", text)
	}
	return st.Deposit(a, asset, v)
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// Notes are what New left out (accounts without secrets), for the operator.
func (s *Sim) Notes() []string { return s.notes }

// Venues lists the venues in config order.
func (s *Sim) Venues() []*Venue { return s.venues }

// Venue returns the venue named name.
func (s *Sim) Venue(name string) (*Venue, bool) {
	for _, v := range s.venues {
		if v.Name == name {
			return v, true
		}
	}
	return nil, false
}

// Market is the market model (for Step and its flows' stats).
func (s *Sim) Market() *model.Market { return s.market }

// Seed places every flow's initial ladder (once); Start does it too.
func (s *Sim) Seed() {
	if s.seeded {
		return
	}
	s.seeded = true
	for _, f := range s.market.Flows() {
		f.Pair().Venue().Do(f.Seed)
	}
}

// Step runs n model steps by hand (tests; not while Start's driver runs).
func (s *Sim) Step(n int) {
	s.Seed()
	for i := 0; i < n; i++ {
		s.market.Step()
	}
}

// Listen starts every venue's servers (ports from config; 0 picks free
// ones) without starting the model's clock: books stay as seeded until Step
// or Run.
func (s *Sim) Listen() error {
	s.Seed()
	for _, v := range s.venues {
		addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(v.cfg.Port))
		var err error
		switch {
		case v.Binance != nil:
			err = v.Binance.Listen(addr)
		case v.Kraken != nil:
			err = v.Kraken.Listen(addr, net.JoinHostPort(s.cfg.Host, strconv.Itoa(v.cfg.AuthPort)))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Run starts the model's driver: one goroutine stepping the market in real
// time until Pause or Close.
func (s *Sim) Run() { s.RunEvery(0) }

// RunEvery is Run with one model step per period of wall clock: a slowed
// market that still trades (tests compare books against it while it
// moves too slowly to race them). Zero is real time.
func (s *Sim) RunEvery(period time.Duration) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.running != nil {
		return
	}
	s.Seed()
	stop := make(chan struct{})
	s.running = stop
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		s.market.Run(stop, period)
	}()
}

// Pause stops the driver and waits for its last step to finish; the books
// then stay as they are until Step or Run.
func (s *Sim) Pause() {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.running == nil {
		return
	}
	close(s.running)
	s.running = nil
	s.done.Wait()
}

// Start is Listen then Run.
func (s *Sim) Start() error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.Run()
	return nil
}

// Endpoints lists the URLs every venue serves (after Listen).
func (s *Sim) Endpoints() []Endpoint {
	var out []Endpoint
	for _, v := range s.venues {
		switch {
		case v.Binance != nil:
			b := v.Binance
			out = append(out,
				Endpoint{v.Name, "ws_url", b.StreamURL()},
				Endpoint{v.Name, "rest_url", b.RESTURL()},
				Endpoint{v.Name, "ws_api_url", b.WSAPIURL()})
		case v.Kraken != nil:
			k := v.Kraken
			out = append(out,
				Endpoint{v.Name, "ws_url", k.WSURL()},
				Endpoint{v.Name, "rest_url", k.RESTURL()},
				Endpoint{v.Name, "ws_auth_url", k.AuthWSURL()})
		}
	}
	return out
}

// Close stops the driver and the servers.
func (s *Sim) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	s.Pause()
	var errs []error
	for _, v := range s.venues {
		switch {
		case v.Binance != nil:
			errs = append(errs, v.Binance.Close())
		case v.Kraken != nil:
			errs = append(errs, v.Kraken.Close())
		}
	}
	return errors.Join(errs...)
}

// Stats are a simulator's activity counters, summed over its venues.
type Stats struct {
	Steps    int64  // model steps
	Actions  uint64 // background book actions
	Takers   uint64 // background market orders
	MDFrames uint64 // market-data frames written to connections
	Faults   uint64 // frames dropped, duplicated, reordered, malformed or stalled
}

// Stats reads the counters. The flows' counters are read under their
// venues' locks.
func (s *Sim) Stats() Stats {
	var st Stats
	st.Steps = s.market.Steps()
	for _, f := range s.market.Flows() {
		f.Pair().Venue().Do(func(*venue.Tx) {
			fs := f.Stats()
			st.Actions += fs.Actions
			st.Takers += fs.Takers
		})
	}
	for _, v := range s.venues {
		var ws *wire.Stats
		switch {
		case v.Binance != nil:
			ws = &v.Binance.Stats
		case v.Kraken != nil:
			ws = &v.Kraken.Stats
		}
		st.MDFrames += ws.Sent.Load()
		st.Faults += ws.Dropped.Load() + ws.Duplicated.Load() + ws.Reordered.Load() + ws.Malformed.Load() + ws.Stalled.Load()
	}
	return st
}

// Sub is the activity between an earlier reading o and s.
func (s Stats) Sub(o Stats) Stats {
	return Stats{s.Steps - o.Steps, s.Actions - o.Actions, s.Takers - o.Takers, s.MDFrames - o.MDFrames, s.Faults - o.Faults}
}

// String renders the counters with their rates over d.
func (s Stats) String(d time.Duration) string {
	rate := func(n float64) float64 {
		if d <= 0 {
			return 0
		}
		return n / d.Seconds()
	}
	return fmt.Sprintf("steps %d (%.0f/s), book actions %d (%.0f/s), taker orders %d, market-data frames sent %d (%.0f/s), faults injected %d",
		s.Steps, rate(float64(s.Steps)), s.Actions, rate(float64(s.Actions)), s.Takers, s.MDFrames, rate(float64(s.MDFrames)), s.Faults)
}

// RateRefusals counts the requests the venue refused for its rate limits.
func (v *Venue) RateRefusals() uint64 {
	switch {
	case v.Binance != nil:
		return v.Binance.RateRefusals()
	case v.Kraken != nil:
		return v.Kraken.RateRefusals()
	}
	return 0
}
