package main

import (
	"net/url"
	"slices"
	"strings"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/feed/bybit"
	"arbmm/feed/coinbase"
	"arbmm/feed/okx"
	"arbmm/internal/market"
)

// symbolRow builds the report row of one book of a venue feed.
func symbolRow(file string, v market.Venue, name string, frames uint64, b *book.Book, in *market.Instrument) replayRow {
	r := replayRow{File: file, Venue: v.String(), Symbol: name, Frames: frames}
	bookRow(&r, b, in)
	return r
}

func sortRows(rows []replayRow) []replayRow {
	slices.SortFunc(rows, func(a, b replayRow) int { return strings.Compare(a.Symbol, b.Symbol) })
	return rows
}

// okxReplay drives an OKX connection: books from the websocket, REST
// snapshots (/api/v5/market/books) when the capture has them.
type okxReplay struct{ f *okx.Feed }

func (o *okxReplay) recv(data []byte, ts float64) { _ = o.f.Handle(data, int64(ts*1e9)) }

func (o *okxReplay) http(u *url.URL, data []byte, ts float64) {
	if id := u.Query().Get("instId"); id != "" && strings.HasSuffix(u.Path, "/market/books") {
		_ = o.f.HandleSnapshot(id, data, int64(ts*1e9))
	}
}

func (o *okxReplay) counters() *feed.Counters { return o.f.Counters() }

func (o *okxReplay) rows(file string) []replayRow {
	var out []replayRow
	for _, s := range o.f.Symbols() {
		out = append(out, symbolRow(file, market.OKX, s.Name, s.Frames, s.Book, &s.Inst))
	}
	return sortRows(out)
}

// bybitReplay drives one Bybit connection (spot or linear).
type bybitReplay struct {
	f   *bybit.Feed
	cat bybit.Category
}

func (b *bybitReplay) recv(data []byte, ts float64) { _ = b.f.Handle(data, int64(ts*1e9)) }

// http: instruments-info carries metadata only; books come from the websocket.
func (b *bybitReplay) http(*url.URL, []byte, float64) {}

func (b *bybitReplay) counters() *feed.Counters { return b.f.Counters() }

func (b *bybitReplay) rows(file string) []replayRow {
	var out []replayRow
	for _, s := range b.f.Symbols() {
		out = append(out, symbolRow(file, market.Bybit, s.Name+" ("+b.cat.String()+")", s.Frames, s.Book, &s.Inst))
	}
	return sortRows(out)
}

// coinbaseReplay drives one Coinbase Advanced Trade connection; the
// products REST record gives the books their exponents.
type coinbaseReplay struct{ f *coinbase.Feed }

func (c *coinbaseReplay) recv(data []byte, ts float64) { _ = c.f.Handle(data, int64(ts*1e9)) }

func (c *coinbaseReplay) http(u *url.URL, data []byte, _ float64) {
	if strings.HasSuffix(u.Path, "/products") {
		_ = c.f.HandleProducts(data)
	}
}

func (c *coinbaseReplay) counters() *feed.Counters { return c.f.Counters() }

func (c *coinbaseReplay) rows(file string) []replayRow {
	var out []replayRow
	for _, s := range c.f.Symbols() {
		out = append(out, symbolRow(file, market.Coinbase, s.Name, s.Frames, s.Book, &s.Inst))
	}
	return sortRows(out)
}
