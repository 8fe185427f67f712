package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"arbmm/configs"
	"arbmm/feed"
	"arbmm/feed/kraken"
	"arbmm/internal/market"
)

// krakenAssetPairs is the embedded AssetPairs metadata that gives Kraken WS
// v2 books their precision.
const krakenAssetPairs = "instruments/kraken-assetpairs.json"

func krakenInstruments() ([]market.Instrument, error) {
	data, err := configs.FS.ReadFile(krakenAssetPairs)
	if err != nil {
		return nil, err
	}
	return kraken.ParseAssetPairs(data)
}

type krakenReplay struct {
	f        *kraken.Feed
	expected map[string]string // vector lines: symbol → expected checksum string after the first message
	vector   string            // vector id, for the report
}

// newKrakenReplay returns a replay for one Kraken websocket connection. v1
// books learn their decimals from the wire; v2 books take their precision
// from the embedded AssetPairs.
func newKrakenReplay(version int) (venueReplay, error) {
	cfg := kraken.Config{Version: version}
	if version == 2 {
		ins, err := krakenInstruments()
		if err != nil {
			return nil, fmt.Errorf("kraken v2 instruments: %w", err)
		}
		cfg.Instruments = ins
	}
	f, err := kraken.New(cfg)
	if err != nil {
		return nil, err
	}
	return &krakenReplay{f: f}, nil
}

// krakenVector is the shape of a checksum test-vector line: precision,
// depth and messages given inline, and optionally the checksum string the
// book must produce after the first message.
type krakenVector struct {
	ID             string            `json:"id"`
	PricePrecision int               `json:"price_precision"`
	QtyPrecision   int               `json:"qty_precision"`
	Depth          int               `json:"depth"`
	Messages       []json.RawMessage `json:"messages"`
	ExpectedString string            `json:"expected_string"`
}

// newKrakenVector replays a vector line through a Kraken v2 feed built from
// the vector's own precision.
func newKrakenVector(line []byte) (venueReplay, error) {
	var v krakenVector
	if err := json.Unmarshal(line, &v); err != nil {
		return nil, err
	}
	if len(v.Messages) == 0 {
		return nil, fmt.Errorf("vector %q has no messages", v.ID)
	}
	// The symbol is in the first message.
	var first struct {
		Data []struct {
			Symbol string `json:"symbol"`
		} `json:"data"`
	}
	if err := json.Unmarshal(v.Messages[0], &first); err != nil || len(first.Data) == 0 {
		return nil, fmt.Errorf("vector %q: first message has no symbol", v.ID)
	}
	sym := first.Data[0].Symbol
	pair, err := market.ParsePair(sym)
	if err != nil {
		return nil, fmt.Errorf("vector %q: %w", v.ID, err)
	}
	in := market.Instrument{Venue: market.Kraken, Symbol: sym, Pair: pair, PriceExp: v.PricePrecision, QtyExp: v.QtyPrecision}
	f, err := kraken.New(kraken.Config{Version: 2, Depth: v.Depth, Instruments: []market.Instrument{in}})
	if err != nil {
		return nil, fmt.Errorf("vector %q: %w", v.ID, err)
	}
	kr := &krakenReplay{f: f, vector: v.ID}
	for i, m := range v.Messages {
		_ = f.Handle(m, 0)
		if i == 0 && v.ExpectedString != "" {
			kr.expected = map[string]string{}
			for _, s := range f.Symbols() {
				if got := string(f.AppendChecksumString(nil, s)); got != v.ExpectedString {
					kr.expected[s.Symbol] = got
				}
			}
		}
	}
	return kr, nil
}

func (kr *krakenReplay) recv(data []byte, ts float64) { _ = kr.f.Handle(data, int64(ts*1e9)) }

// http: Kraken books come from the websocket alone.
func (kr *krakenReplay) http(*url.URL, []byte, float64) {}

func (kr *krakenReplay) counters() *feed.Counters { return kr.f.Counters() }

func (kr *krakenReplay) rows(file string) []replayRow {
	var out []replayRow
	for _, s := range kr.f.Symbols() {
		r := replayRow{File: file, Venue: "kraken", Symbol: s.Symbol, Frames: s.Frames}
		if kr.vector != "" {
			r.Symbol += " (" + kr.vector + ")"
		}
		in := market.Instrument{PriceExp: max(s.PriceExp, 0), QtyExp: max(s.QtyExp, 0)}
		bookRow(&r, s.Book, &in)
		if _, bad := kr.expected[s.Symbol]; bad {
			r.ChecksumFail++ // the documented checksum string was not reproduced
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b replayRow) int { return strings.Compare(a.Symbol, b.Symbol) })
	return out
}
