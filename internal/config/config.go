package config

import (
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"arbmm/book"
	"arbmm/exec/risk"
	"arbmm/internal/market"
)

// Defaults and limits of the VenueConfig settings. A setting left out of the
// YAML (or zero) takes its default when the config is validated; setDefaults
// is the one place that applies them.
const (
	DefaultBookDepth = book.DefaultMaxDepth // book levels kept per side
	MaxBookDepth     = 10000                // largest book_depth
	DefaultTopN      = book.DefaultTopN     // levels published to readers (capped at book_depth)
	MaxTopN          = book.MaxTop          // largest top_n: the levels a book top-N snapshot holds

	DefaultPingInterval = 20 * time.Second
	DefaultIdleTimeout  = 30 * time.Second
	DefaultReconnectMin = 100 * time.Millisecond
	DefaultReconnectMax = 30 * time.Second
	DefaultStaleAfter   = 5 * time.Second
)

// MaxFeeBps bounds maker_fee_bps and taker_fee_bps in both directions: a fee
// beyond 10% (or a rebate beyond it) is a typo, not a venue's schedule.
const MaxFeeBps = 1000

// Config is the engine's configuration: the canonical pairs with their
// fixed-point exponents, and the venues with their connection settings and
// instruments.
//
// It holds no secrets, and has nowhere to put one: API keys come from the
// keystore (exec/keys), and decoding rejects any key the schema does not
// define, api_key and secret included.
type Config struct {
	// Pairs lists every canonical pair any venue trades, each once, with the
	// exponents its prices and quantities use on every venue. Required.
	Pairs []PairConfig `yaml:"pairs"`
	// Venues lists the venues to connect to, each once. Required.
	Venues []VenueConfig `yaml:"venues"`

	// Trading (arbmm run): the strategy, the risk limits, the core, and
	// where the keys and the engine's state live. A config without arb
	// and risk is a market-data config (arbmm record).
	Arb    *ArbConfig   `yaml:"arb"`
	Tri    []TriConfig  `yaml:"tri"`
	MM     []MMConfig   `yaml:"mm"`
	XEMM   []XEMMConfig `yaml:"xemm"`
	Risk   *risk.Config `yaml:"risk"`
	Engine EngineConfig `yaml:"engine"`
	// Keystore is the encrypted key file (arbmm keys); its passphrase
	// comes from ARBMM_KEYSTORE_PASSPHRASE or a prompt, never from here.
	Keystore string `yaml:"keystore"`
	// StateDir holds what must survive restarts (Kraken's nonce
	// high-water mark); default ./state.
	StateDir string `yaml:"state_dir"`
}

// ArbConfig is the cross-exchange arbitrage's settings; amounts are exact
// decimal text.
type ArbConfig struct {
	// MinProfitBps is the least edge after both taker fees and the
	// margin worth taking.
	MinProfitBps float64 `yaml:"min_profit_bps"`
	// SafetyMarginBps is added to every edge's costs; default 1.
	SafetyMarginBps float64 `yaml:"safety_margin_bps"`
	// Levels is how deep the book walk goes; default 10.
	Levels int `yaml:"levels"`
	// MaxOrderQty is each pair's largest leg, in its base asset.
	MaxOrderQty map[string]string `yaml:"max_order_qty"`
	// MaxHedgeSlippageBps bounds a hedge's price from the best; default 20.
	MaxHedgeSlippageBps float64 `yaml:"max_hedge_slippage_bps"`
	// MaxUnhedgedNotional (quote) and MaxUnhedgedTime cap a residual.
	MaxUnhedgedNotional string        `yaml:"max_unhedged_notional"`
	MaxUnhedgedTime     time.Duration `yaml:"max_unhedged_time"`
}

// TriConfig is one triangular arbitrage within a venue.
type TriConfig struct {
	// Venue is the venue's config name.
	Venue string `yaml:"venue"`
	// Pairs are the cycle's three pairs in the order A/Q, B/A, B/Q
	// (BTC/USDT, ETH/BTC, ETH/USDT).
	Pairs []string `yaml:"pairs"`
	// MinProfitBps and SafetyMarginBps as in ArbConfig.
	MinProfitBps    float64 `yaml:"min_profit_bps"`
	SafetyMarginBps float64 `yaml:"safety_margin_bps"`
	// MaxQty bounds a cycle, in B (ETH), decimal text.
	MaxQty string `yaml:"max_qty"`
}

// MMConfig is one market maker (Avellaneda–Stoikov) on one venue's pair.
// Prices in the pair's quote, sizes in its base, as decimal text where
// they are amounts.
type MMConfig struct {
	Venue string `yaml:"venue"`
	Pair  string `yaml:"pair"`
	// Gamma is the risk aversion (per quote unit); HorizonSec the finite
	// horizon (0: infinite, bounded by QMax).
	Gamma      float64 `yaml:"gamma"`
	HorizonSec float64 `yaml:"horizon_sec"`
	// QMax and TargetInventory are in base units (decimal text).
	QMax            string `yaml:"q_max"`
	TargetInventory string `yaml:"target_inventory"`
	// Sigma2Prior (price² per second) and KPrior (per quote unit) stand
	// until the estimators have data.
	Sigma2Prior float64 `yaml:"sigma2_prior"`
	KPrior      float64 `yaml:"k_prior"`
	// MinSpreadBps, Layers, LayerSpacingBps, LayerQty (base, decimal
	// text): the ladder.
	MinSpreadBps    float64 `yaml:"min_spread_bps"`
	Layers          int     `yaml:"layers"`
	LayerSpacingBps float64 `yaml:"layer_spacing_bps"`
	LayerQty        string  `yaml:"layer_qty"`
	// Fair is microprice (default), mid, or signal (the mid shifted by
	// the short-horizon signal).
	Fair string `yaml:"fair"`
	// RefreshTicks is how far the wanted price may drift before a quote
	// moves; StaleAfter the oldest book quoted on.
	RefreshTicks int           `yaml:"refresh_ticks"`
	StaleAfter   time.Duration `yaml:"stale_after"`
}

// XEMMConfig is one cross-exchange market maker: quotes on QuoteVenue
// priced from HedgeVenue's depth, every fill hedged there at once.
type XEMMConfig struct {
	Pair       string `yaml:"pair"`
	QuoteVenue string `yaml:"quote_venue"` // A: the less liquid venue, quoted as maker
	HedgeVenue string `yaml:"hedge_venue"` // B: the liquid venue, hedged as taker
	// Qty is the size quoted on each side (base, decimal text).
	Qty string `yaml:"qty"`
	// MinProfitBps is the edge kept after A's maker and B's taker fee.
	MinProfitBps float64 `yaml:"min_profit_bps"`
	// HedgeSlippageBps bounds a hedge's IOC price from B's best.
	HedgeSlippageBps float64 `yaml:"hedge_slippage_bps"`
	// MaxUnhedgedQty (base, decimal text) and MaxUnhedgedTime cap the
	// exposure between a fill and its hedge: beyond either the quotes are
	// pulled and the kill switch trips.
	MaxUnhedgedQty  string        `yaml:"max_unhedged_qty"`
	MaxUnhedgedTime time.Duration `yaml:"max_unhedged_time"`
	// RefreshTicks as in MMConfig.
	RefreshTicks int `yaml:"refresh_ticks"`
}

// EngineConfig is the core's threading.
type EngineConfig struct {
	// Idle is spin (colocated production), yield or park (default park).
	Idle string `yaml:"idle"`
	// CPU pins the core to this CPU; absent or -1 leaves it unpinned.
	CPU *int `yaml:"cpu"`
}

// PairConfig declares a canonical pair and the decimal exponents shared by
// every Price and Qty of that pair on every venue: the finest tick and step
// among the venues that list it, so that cross-venue comparisons are integer
// comparisons.
type PairConfig struct {
	// Pair is the canonical pair, "BASE/QUOTE" (market.ParsePair; case is
	// ignored, venue aliases such as Kraken's XBT are not: write BTC).
	Pair string `yaml:"pair"`
	// PriceExp is the number of decimals of every price mantissa of the
	// pair, 0..18. Every tick and min_notional of the pair must be
	// representable at it.
	PriceExp int `yaml:"price_exp"`
	// QtyExp is the number of decimals of every quantity mantissa of the
	// pair, 0..18. Every step and min_qty of the pair must be representable
	// at it.
	QtyExp int `yaml:"qty_exp"`
}

// VenueConfig is one venue: where to connect, how to keep the connection and
// the book, and which instruments to trade there. Zero durations and sizes
// take the defaults above.
type VenueConfig struct {
	// Name is the venue's config name (market.ParseVenue, case-insensitive):
	// binance, binanceus, binanceusdm, kraken, coinbase, okx, bybit. Required.
	Name string `yaml:"name"`
	// WSURL is the market-data WebSocket endpoint, ws:// or wss://. Required.
	WSURL string `yaml:"ws_url"`
	// RESTURL is the REST endpoint (snapshots, metadata), http:// or
	// https://. Required. Neither URL may carry credentials.
	RESTURL string `yaml:"rest_url"`

	// BookDepth is the number of levels kept per side, 1..MaxBookDepth;
	// default DefaultBookDepth. Books are pre-allocated at this depth.
	BookDepth int `yaml:"book_depth"`
	// SubscribeDepth is the book depth to subscribe to on venues whose
	// channels take one (Kraken 10, 25, 100, 500, 1000; Bybit 1, 50, 200,
	// 500, 1000; OKX 5 selects books5, anything else books); 0 takes the
	// venue's default. The venue's session rejects a depth it does not
	// offer.
	SubscribeDepth int `yaml:"subscribe_depth"`
	// TopN is the number of levels per side published to readers,
	// 1..MaxTopN and at most BookDepth; default DefaultTopN, or BookDepth
	// when that is smaller.
	TopN int `yaml:"top_n"`

	// PingInterval is how often the feed pings the venue; default
	// DefaultPingInterval.
	PingInterval time.Duration `yaml:"ping_interval"`
	// IdleTimeout is how long the feed waits without any frame before it
	// reconnects; longer than PingInterval; default DefaultIdleTimeout.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ReconnectMin and ReconnectMax bound the jittered exponential backoff
	// between reconnects, ReconnectMin <= ReconnectMax; defaults
	// DefaultReconnectMin and DefaultReconnectMax.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// StaleAfter is the age of a book's last update past which strategies do
	// not trade on it; default DefaultStaleAfter.
	StaleAfter time.Duration `yaml:"stale_after"`

	// OrderURL is the order endpoint (arbmm run): Binance's WebSocket API
	// ("wss://ws-api.binance.com:443/ws-api/v3"), Kraken's authenticated
	// websocket ("wss://ws-auth.kraken.com/v2"). A venue without one is
	// not traded.
	OrderURL string `yaml:"order_url"`
	// Account names the keystore account whose current key trades here;
	// default "main".
	Account string `yaml:"account"`

	// AllowWithdraw lets the engine trade with an API key that can
	// withdraw funds. Off by default: at start-up the engine asks the venue
	// for the key's permissions (Binance: GET
	// /sapi/v1/account/apiRestrictions) and refuses a key that can
	// withdraw unless this is set (exec/keys.CheckPermissions).
	AllowWithdraw bool `yaml:"allow_withdraw"`

	// Instruments lists the venue's instruments to trade. Load and ParseFS
	// append the instruments of InstrumentsFile after these. At least one
	// instrument, from either source, is required.
	Instruments []InstrumentConfig `yaml:"instruments"`
	// InstrumentsFile optionally names a YAML file holding an
	// `instruments:` list, relative to the config file's directory (Load
	// also accepts an absolute path). Load and ParseFS read it; Parse, which
	// reads no files, rejects it; Validate and Instruments ignore it.
	InstrumentsFile string `yaml:"instruments_file"`
}

// Venue returns the venue Name names, or market.VenueUnknown if it names
// none (Validate rejects such a config).
func (vc *VenueConfig) Venue() market.Venue {
	v, err := market.ParseVenue(vc.Name)
	if err != nil {
		return market.VenueUnknown
	}
	return v
}

// InstrumentConfig is one venue's listing of a canonical pair. Decimal
// fields are exact decimal text, parsed at the pair's exponents without
// rounding (see Config.Instruments).
type InstrumentConfig struct {
	// Symbol is the venue's own spelling on the wire: "BTCUSDT" on Binance,
	// "BTC/USD" on Kraken WS v2. Unique within the venue. Required.
	Symbol string `yaml:"symbol"`
	// Pair is the canonical pair; it must be listed in Config.Pairs and be
	// listed once per venue (a venue has one book per pair). Required.
	Pair string `yaml:"pair"`
	// Tick is the price increment, > 0, representable at the pair's
	// price_exp. Required.
	Tick Decimal `yaml:"tick"`
	// Step is the quantity increment, > 0, representable at the pair's
	// qty_exp. Required.
	Step Decimal `yaml:"step"`
	// MinQty is the smallest order quantity at the pair's qty_exp; absent
	// means none.
	MinQty Decimal `yaml:"min_qty"`
	// MinNotional is the smallest price×qty, in the quote currency, at the
	// pair's price_exp; absent means none.
	MinNotional Decimal `yaml:"min_notional"`
	// MakerFeeBps and TakerFeeBps are the fees in basis points (negative is
	// a rebate), within ±MaxFeeBps. Required, so that a forgotten fee never
	// reads as a free trade: write 0 for a venue that charges none.
	MakerFeeBps *float64 `yaml:"maker_fee_bps"`
	TakerFeeBps *float64 `yaml:"taker_fee_bps"`
}

// Decimal is a decimal number as written in the YAML, quoted ("0.01") or not
// (0.01), kept as text so that it never passes through float64: Instruments
// scans it straight into a mantissa with market.ParseFixed. The empty
// Decimal means the field is absent.
type Decimal string

// UnmarshalYAML implements yaml.NodeUnmarshaler: it takes the scalar's text
// as written, so 0.010 stays "0.010" and 0.00001 does not become "1e-05".
func (d *Decimal) UnmarshalYAML(n ast.Node) error {
	switch n := n.(type) {
	case *ast.NullNode:
		*d = ""
	case *ast.StringNode:
		*d = Decimal(n.Value)
	case *ast.IntegerNode, *ast.FloatNode:
		*d = Decimal(n.GetToken().Value)
	default:
		return &yaml.SyntaxError{Message: "want a decimal number such as \"0.01\", got " + n.Type().YAMLName(), Token: n.GetToken()}
	}
	return nil
}

// setDefaults fills every unset setting with its default. It is idempotent.
func (c *Config) setDefaults() {
	for i := range c.Venues {
		v := &c.Venues[i]
		if v.BookDepth == 0 {
			v.BookDepth = DefaultBookDepth
		}
		if v.TopN == 0 {
			v.TopN = min(DefaultTopN, max(v.BookDepth, 1))
		}
		if v.PingInterval == 0 {
			v.PingInterval = DefaultPingInterval
		}
		if v.IdleTimeout == 0 {
			v.IdleTimeout = DefaultIdleTimeout
		}
		if v.ReconnectMin == 0 {
			v.ReconnectMin = DefaultReconnectMin
		}
		if v.ReconnectMax == 0 {
			v.ReconnectMax = DefaultReconnectMax
		}
		if v.StaleAfter == 0 {
			v.StaleAfter = DefaultStaleAfter
		}
	}
}
