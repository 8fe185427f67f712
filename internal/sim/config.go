package sim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"arbmm/internal/config"
	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/venue"
	"arbmm/internal/sim/wire"
)

// Config is the simulated exchange's configuration (configs/simex.yaml):
// the latent price of each pair, and the venues with their instruments,
// background flow, faults, limits and accounts. It holds no secrets: an
// account's HMAC secret comes from the environment variable it names.
type Config struct {
	// Seed makes a run reproducible: the latent paths, the flows and the
	// faults all derive from it. Default 1.
	Seed uint64 `yaml:"seed"`
	// Step is the market model's time step; default 1ms.
	Step time.Duration `yaml:"step"`
	// Host is the address every venue listens on; default 127.0.0.1.
	Host string `yaml:"host"`
	// Pairs are the latent price processes, one per canonical pair.
	Pairs []PairConfig `yaml:"pairs"`
	// Venues are the simulated venues, each name once.
	Venues []VenueConfig `yaml:"venues"`
}

// PairConfig is the latent price process of one canonical pair.
type PairConfig struct {
	Pair  string `yaml:"pair"`  // "BTC/USDT"
	Start string `yaml:"start"` // initial price, decimal text
	// Ratio makes the pair a cross of two others, [numerator,
	// denominator] (ETH/BTC: [ETH/USDT, BTC/USDT]): its latent price is
	// theirs divided, with no process of its own (Start and the rest are
	// then left out).
	Ratio            []string `yaml:"ratio"`
	VolBps           float64  `yaml:"vol_bps"`             // diffusion per √s, basis points
	JumpsPerMin      float64  `yaml:"jumps_per_min"`       // mean jumps per minute
	JumpBps          float64  `yaml:"jump_bps"`            // mean jump size, basis points
	MeanRevertPerMin float64  `yaml:"mean_revert_per_min"` // pull toward start per minute
}

// VenueConfig is one simulated venue.
type VenueConfig struct {
	// Name is binance or kraken.
	Name string `yaml:"name"`
	// Port is the listening port (the REST and public websocket port);
	// 0 picks a free one. AuthPort is Kraken's authenticated websocket
	// port, likewise.
	Port     int `yaml:"port"`
	AuthPort int `yaml:"auth_port"`
	// MakerFeeBps and TakerFeeBps are the fees every account pays
	// (background flow pays none).
	MakerFeeBps int64 `yaml:"maker_fee_bps"`
	TakerFeeBps int64 `yaml:"taker_fee_bps"`
	// Instruments are the pairs the venue lists, with their flow.
	Instruments []InstrumentConfig `yaml:"instruments"`
	// Faults are injected into the market-data connections.
	Faults wire.Faults `yaml:"faults"`
	// StaleSnapshot (Binance) is the probability that a REST depth
	// snapshot comes from an older book state.
	StaleSnapshot float64 `yaml:"stale_snapshot"`
	// WrongChecksum (Kraken) is the probability that a book update
	// carries a wrong checksum.
	WrongChecksum float64 `yaml:"wrong_checksum"`
	// Orders are the order-entry faults.
	Orders venue.OrderFaults `yaml:"orders"`
	// Limits override the venue's published rate limits.
	Limits LimitsConfig `yaml:"limits"`
	// Accounts are the trading accounts with their API keys and balances.
	Accounts []AccountConfig `yaml:"accounts"`
}

// LimitsConfig overrides rate limits (0 keeps the venue's published value).
type LimitsConfig struct {
	WeightPerMinute int     `yaml:"weight_per_minute"` // Binance
	OrdersPer10s    int     `yaml:"orders_per_10s"`    // Binance
	OrdersPerDay    int     `yaml:"orders_per_day"`    // Binance
	CounterMax      float64 `yaml:"counter_max"`       // Kraken REST counter
	CounterDecay    float64 `yaml:"counter_decay"`     // Kraken, per second
	TradingMax      float64 `yaml:"trading_max"`       // Kraken per-pair order counter
	TradingDecay    float64 `yaml:"trading_decay"`     // Kraken, per second
}

// InstrumentConfig is one listed pair. Tick and step set the venue's
// precision: prices and quantities are printed (and Kraken's checksums
// computed) with as many decimals as they have.
type InstrumentConfig struct {
	Symbol      string     `yaml:"symbol"` // wire spelling: BTCUSDT, BTC/USD
	Pair        string     `yaml:"pair"`   // canonical pair, listed under pairs
	Tick        string     `yaml:"tick"`
	Step        string     `yaml:"step"`
	MinQty      string     `yaml:"min_qty"`
	MinNotional string     `yaml:"min_notional"`
	Flow        FlowConfig `yaml:"flow"`
}

// FlowConfig is an instrument's background flow (model.FlowConfig in YAML
// units).
type FlowConfig struct {
	Lag             time.Duration `yaml:"lag"`
	NoiseBps        float64       `yaml:"noise_bps"`
	NoiseHalfLife   time.Duration `yaml:"noise_half_life"`
	HalfSpreadTicks int           `yaml:"half_spread_ticks"`
	Depth           int           `yaml:"depth"`
	Spacing         int           `yaml:"spacing"`
	LevelQty        string        `yaml:"level_qty"`
	UpdatesPerSec   float64       `yaml:"updates_per_sec"`
	TakersPerSec    float64       `yaml:"takers_per_sec"`
	TakerQty        string        `yaml:"taker_qty"`
	// TakerBuyShare fixes the share of takers that buy (0..1; 0 sells
	// only); absent, takers lean against the background LP's inventory.
	TakerBuyShare *float64 `yaml:"taker_buy_share"`
}

// AccountConfig is a trading account on a venue.
type AccountConfig struct {
	// Name labels the account.
	Name string `yaml:"name"`
	// APIKey is the key's public id (sent in X-MBX-APIKEY / API-Key).
	APIKey string `yaml:"api_key"`
	// KeyType is hmac (default) or ed25519.
	KeyType string `yaml:"key_type"`
	// SecretEnv names the environment variable holding the HMAC secret
	// (Kraken: its base64 text, as Kraken issues it).
	SecretEnv string `yaml:"secret_env"`
	// PublicKey is an Ed25519 key's public half, base64 (not secret).
	PublicKey string `yaml:"public_key"`
	// Withdraw grants the key withdrawal permission (for testing that the
	// engine refuses such keys).
	Withdraw bool `yaml:"withdraw"`
	// Balances are the account's starting holdings: asset → decimal text.
	Balances map[string]string `yaml:"balances"`
}

// Load reads and validates a simex config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("simex config: %w", err)
	}
	return Parse(data, path)
}

// LoadFS reads and validates a simex config from fsys (configs.FS).
func LoadFS(fsys fs.FS, name string) (*Config, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("simex config: %w", err)
	}
	return Parse(data, name)
}

// Parse decodes (strictly) and validates a simex config.
func Parse(data []byte, name string) (*Config, error) {
	var c Config
	if err := config.Decode(data, name, &c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

// Validate fills defaults and reports every problem, each with its path.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{path}, args...)...))
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Step == 0 {
		c.Step = time.Millisecond
	}
	if c.Step < 100*time.Microsecond || c.Step > time.Second {
		bad("step", "%v: want 100µs..1s", c.Step)
	}
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	pairs := map[string]bool{}
	for i := range c.Pairs {
		pc := &c.Pairs[i]
		path := "pairs[" + strconv.Itoa(i) + "]"
		p, err := market.ParsePair(pc.Pair)
		if err != nil {
			bad(path+".pair", "%v", err)
			continue
		}
		if pairs[p.String()] {
			bad(path+".pair", "%s listed twice", p)
		}
		pairs[p.String()] = true
		if len(pc.Ratio) > 0 {
			if len(pc.Ratio) != 2 {
				bad(path+".ratio", "want [numerator pair, denominator pair]")
			}
			continue
		}
		if v, err := strconv.ParseFloat(pc.Start, 64); err != nil || !(v > 0) {
			bad(path+".start", "%q: want a positive price", pc.Start)
		}
	}
	if len(c.Pairs) == 0 {
		bad("pairs", "at least one pair is required")
	}
	names := map[string]bool{}
	for i := range c.Venues {
		vc := &c.Venues[i]
		path := "venues[" + strconv.Itoa(i) + "]"
		switch vc.Name {
		case "binance", "kraken":
		default:
			bad(path+".name", "%q: the simulator speaks binance and kraken", vc.Name)
		}
		if names[vc.Name] {
			bad(path+".name", "%s listed twice", vc.Name)
		}
		names[vc.Name] = true
		if vc.Port < 0 || vc.Port > 65535 || vc.AuthPort < 0 || vc.AuthPort > 65535 {
			bad(path, "ports must be within 0..65535")
		}
		if vc.MakerFeeBps < 0 || vc.TakerFeeBps < 0 || vc.MakerFeeBps > 1000 || vc.TakerFeeBps > 1000 {
			bad(path, "fees must be within 0..1000 bps")
		}
		if err := vc.Faults.Validate(); err != nil {
			bad(path+".faults", "%v", err)
		}
		for _, p := range []float64{vc.StaleSnapshot, vc.WrongChecksum, vc.Orders.Reject, vc.Orders.LostAck} {
			if !(p >= 0 && p <= 1) {
				bad(path, "fault probabilities must be within [0, 1]")
				break
			}
		}
		if len(vc.Instruments) == 0 {
			bad(path+".instruments", "at least one instrument is required")
		}
		syms := map[string]bool{}
		for j := range vc.Instruments {
			in := &vc.Instruments[j]
			ipath := path + ".instruments[" + strconv.Itoa(j) + "]"
			if in.Symbol == "" || syms[in.Symbol] {
				bad(ipath+".symbol", "%q: want a symbol, each once", in.Symbol)
			}
			syms[in.Symbol] = true
			p, err := market.ParsePair(in.Pair)
			if err != nil {
				bad(ipath+".pair", "%v", err)
			} else if !pairs[p.String()] {
				bad(ipath+".pair", "%s is not listed under pairs", p)
			}
			if _, err := in.resolve(); err != nil {
				bad(ipath, "%v", err)
			}
			if fl := in.Flow; fl.Lag < 0 || fl.Lag > time.Minute {
				bad(ipath+".flow.lag", "%v: want 0..1m", fl.Lag)
			}
			if sh := in.Flow.TakerBuyShare; sh != nil && !(*sh >= 0 && *sh <= 1) {
				bad(ipath+".flow.taker_buy_share", "%v: want 0..1", *sh)
			}
			if fl := in.Flow; fl.UpdatesPerSec > 1e6 || fl.TakersPerSec > 1e5 {
				bad(ipath+".flow", "updates_per_sec at most 1e6 and takers_per_sec at most 1e5")
			}
		}
		for j := range vc.Accounts {
			a := &vc.Accounts[j]
			apath := path + ".accounts[" + strconv.Itoa(j) + "]"
			if a.Name == "" || a.APIKey == "" {
				bad(apath, "name and api_key are required")
			}
			for _, c := range a.APIKey {
				if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
					bad(apath+".api_key", "%q: letters and digits only, as the venues issue them", a.APIKey)
					break
				}
			}
			switch a.KeyType {
			case "", "hmac":
				if a.SecretEnv == "" {
					bad(apath+".secret_env", "an hmac key needs secret_env (the secret never goes in the file)")
				}
			case "ed25519":
				if a.PublicKey == "" {
					bad(apath+".public_key", "an ed25519 key needs its public_key")
				}
			default:
				bad(apath+".key_type", "%q: want hmac or ed25519", a.KeyType)
			}
		}
	}
	if len(c.Venues) == 0 {
		bad("venues", "at least one venue is required")
	}
	return errors.Join(errs...)
}

// instrument is an InstrumentConfig in mantissas.
type instrument struct {
	pair                market.Pair
	priceDec, qtyDec    int
	tick, step          int64
	minQty, minNotional int64
	levelQty, takerQty  int64
	minNotionalDecimals int
}

// resolve parses an instrument's decimal fields at its own precision.
func (in *InstrumentConfig) resolve() (instrument, error) {
	var r instrument
	var err error
	if r.pair, err = market.ParsePair(in.Pair); err != nil {
		return r, err
	}
	if in.Tick == "" || in.Step == "" {
		return r, errors.New("tick and step are required")
	}
	r.priceDec = market.CountDecimals([]byte(in.Tick))
	r.qtyDec = market.CountDecimals([]byte(in.Step))
	num := func(field, text string, dec int, required bool) int64 {
		if text == "" {
			if required && err == nil {
				err = fmt.Errorf("%s is required", field)
			}
			return 0
		}
		v, e := market.ParseFixed([]byte(text), dec)
		if (e != nil || v < 0) && err == nil {
			err = fmt.Errorf("%s %q: %v (want a decimal with at most %d places)", field, text, e, dec)
		}
		return v
	}
	r.tick = num("tick", in.Tick, r.priceDec, true)
	r.step = num("step", in.Step, r.qtyDec, true)
	r.minQty = num("min_qty", in.MinQty, r.qtyDec, false)
	r.minNotional = num("min_notional", in.MinNotional, r.priceDec+r.qtyDec, false)
	r.levelQty = num("flow.level_qty", in.Flow.LevelQty, r.qtyDec, true)
	r.takerQty = num("flow.taker_qty", in.Flow.TakerQty, r.qtyDec, false)
	if err == nil && (r.tick <= 0 || r.step <= 0) {
		err = errors.New("tick and step must be > 0")
	}
	if err == nil && strings.Contains(in.Symbol, " ") {
		err = fmt.Errorf("symbol %q has a space", in.Symbol)
	}
	return r, err
}

// limits converts the overrides to the auth package's.
func (l LimitsConfig) binance() auth.BinanceLimits {
	return auth.BinanceLimits{WeightPerMinute: l.WeightPerMinute, OrdersPer10s: l.OrdersPer10s, OrdersPerDay: l.OrdersPerDay}
}

func (l LimitsConfig) kraken() auth.KrakenLimits {
	return auth.KrakenLimits{Max: l.CounterMax, DecayPerSec: l.CounterDecay, TradingMax: l.TradingMax, TradingDecayPerSec: l.TradingDecay}
}
