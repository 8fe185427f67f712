package main

import (
	"fmt"
	"net/url"
	"path"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/feed/binance"
	"arbmm/feed/bybit"
	"arbmm/feed/coinbase"
	"arbmm/feed/kraken"
	"arbmm/feed/okx"
	"arbmm/internal/config"
	"arbmm/internal/market"
)

// liveVenue is one configured venue's market-data connection: the venue's
// Session (its Feed inside) and the Conn that carries it.
type liveVenue struct {
	cfg      *config.VenueConfig
	session  feed.Session
	conn     *feed.Conn
	counters *feed.Counters // the venue feed's frame counters
	close    func()         // stops the venue's helper goroutines after Run returns
	// book returns the book of a venue symbol, or nil while the feed has
	// not made it; call it on the feed goroutine only (Kraken creates
	// books when a pair first appears on the wire).
	book func(symbol string) *book.Book
}

// connHook lets a caller wrap a venue's Session before its Conn is made
// (the recorder's Recording) and see its REST snapshots.
type connHook struct {
	wrap       func(s feed.Session) feed.Session
	onSnapshot func(url string, body []byte, recvNs int64)
}

// buildVenue makes the Feed, Session and Conn of one configured venue from
// its config and instruments. The set of venues is this explicit switch.
func buildVenue(vc *config.VenueConfig, all []market.Instrument, hook connHook) (*liveVenue, error) {
	v := vc.Venue()
	var ins []market.Instrument
	var symbols []string
	for _, in := range all {
		if in.Venue == v {
			ins = append(ins, in)
			symbols = append(symbols, in.Symbol)
		}
	}
	lv := &liveVenue{cfg: vc, close: func() {}}
	var setConn func(*feed.Conn)
	switch v {
	case market.Binance, market.BinanceUS, market.BinanceUSDM:
		f, err := binance.New(binance.Config{Venue: v, Instruments: ins, MaxDepth: vc.BookDepth, TopN: vc.TopN})
		if err != nil {
			return nil, err
		}
		lv.counters = f.Counters()
		lv.book = func(sym string) *book.Book {
			if s := f.Symbol(sym); s != nil {
				return s.Book
			}
			return nil
		}
		s, err := binance.NewSession(f, binance.SessionConfig{Symbols: symbols, REST: vc.RESTURL})
		if err != nil {
			return nil, err
		}
		s.OnSnapshot = hook.onSnapshot
		lv.session, lv.close, setConn = s, func() { _ = s.Close() }, func(c *feed.Conn) { s.Conn = c }
	case market.Kraken:
		version := 1
		if u, err := url.Parse(vc.WSURL); err == nil && path.Base(u.Path) == "v2" {
			version = 2
		}
		kc := kraken.Config{Version: version, Depth: vc.SubscribeDepth, Instruments: ins, TopN: vc.TopN}
		if version == 2 {
			// v2 checksums render at Kraken's own precision, which the
			// shared pair exponents may be finer than: take it from the
			// AssetPairs metadata embedded with the configs.
			// A pair the embedded metadata lacks gets the decimals of its
			// configured tick and step: Kraken's precision is exactly
			// those (price_increment, qty_increment).
			kc.Precision = map[string][2]int{}
			for _, in := range ins {
				kc.Precision[in.Pair.String()] = [2]int{tickDecimals(int64(in.Tick), in.PriceExp), tickDecimals(int64(in.Step), in.QtyExp)}
			}
			if meta, err := krakenInstruments(); err == nil {
				for _, m := range meta {
					kc.Precision[m.Pair.String()] = [2]int{m.PriceExp, m.QtyExp}
				}
			}
		}
		f, err := kraken.New(kc)
		if err != nil {
			return nil, err
		}
		lv.counters = f.Counters()
		lv.book = func(sym string) *book.Book {
			for _, s := range f.Symbols() {
				if s.Symbol == sym {
					return s.Book
				}
			}
			return nil
		}
		s, err := kraken.NewSession(f, kraken.SessionConfig{Symbols: symbols, Depth: vc.SubscribeDepth})
		if err != nil {
			return nil, err
		}
		lv.session, setConn = s, func(c *feed.Conn) { s.Conn = c }
	case market.OKX:
		f, err := okx.New(okx.Config{Instruments: ins, TopN: vc.TopN})
		if err != nil {
			return nil, err
		}
		lv.counters = f.Counters()
		channel := "books"
		if vc.SubscribeDepth == 5 {
			channel = "books5"
		}
		s, err := okx.NewSession(f, okx.SessionConfig{InstIDs: symbols, Channel: channel})
		if err != nil {
			return nil, err
		}
		lv.session, setConn = s, func(c *feed.Conn) { s.Conn = c }
	case market.Bybit:
		u, err := url.Parse(vc.WSURL)
		if err != nil {
			return nil, err
		}
		cat, err := bybit.ParseCategory(path.Base(u.Path))
		if err != nil {
			return nil, fmt.Errorf("bybit %s: the ws_url path must end in /spot or /linear: %w", vc.WSURL, err)
		}
		f, err := bybit.New(bybit.Config{Category: cat, Instruments: ins, TopN: vc.TopN})
		if err != nil {
			return nil, err
		}
		lv.counters = f.Counters()
		s, err := bybit.NewSession(f, bybit.SessionConfig{Symbols: symbols, Depth: vc.SubscribeDepth})
		if err != nil {
			return nil, err
		}
		lv.session, setConn = s, func(c *feed.Conn) { s.Conn = c }
	case market.Coinbase:
		f, err := coinbase.New(coinbase.Config{Instruments: ins, TopN: vc.TopN})
		if err != nil {
			return nil, err
		}
		lv.counters = f.Counters()
		s, err := coinbase.NewSession(f, coinbase.SessionConfig{Products: symbols})
		if err != nil {
			return nil, err
		}
		lv.session, setConn = s, func(c *feed.Conn) { s.Conn = c }
	default:
		return nil, fmt.Errorf("venue %s: no feed", v)
	}
	outer := lv.session
	if hook.wrap != nil {
		outer = hook.wrap(outer)
	}
	c, err := feed.NewConn(feed.ConnConfig{
		Name:         vc.Name,
		URL:          vc.WSURL,
		PingInterval: vc.PingInterval,
		IdleTimeout:  vc.IdleTimeout,
		ReconnectMin: vc.ReconnectMin,
		ReconnectMax: vc.ReconnectMax,
	}, outer)
	if err != nil {
		lv.close()
		return nil, err
	}
	setConn(c)
	lv.conn = c
	return lv, nil
}

// tickDecimals is the number of decimals of an increment given as a
// mantissa at exp decimals (10 at 2 decimals is 0.1: one decimal).
func tickDecimals(tick int64, exp int) int {
	if tick <= 0 {
		return exp
	}
	for exp > 0 && tick%10 == 0 {
		tick /= 10
		exp--
	}
	return exp
}
