package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strings"
	"text/tabwriter"

	"arbmm/book"
	"arbmm/feed"
	"arbmm/feed/binance"
	"arbmm/feed/bybit"
	"arbmm/feed/coinbase"
	"arbmm/feed/okx"
	"arbmm/internal/capture"
	"arbmm/internal/market"
)

// replayRow is the report for one (file, venue, symbol).
type replayRow struct {
	File           string `json:"file"`
	Venue          string `json:"venue"`
	Symbol         string `json:"symbol"`
	State          string `json:"state"`
	Frames         uint64 `json:"frames"`
	Updates        uint64 `json:"updates"`
	ChecksumOK     uint64 `json:"checksums_verified"`
	ChecksumFail   uint64 `json:"checksums_mismatched"`
	Gaps           uint64 `json:"gaps"`
	Resyncs        uint64 `json:"resyncs"`
	TickerOK       uint64 `json:"bookticker_passed"`
	TickerFail     uint64 `json:"bookticker_failed"`
	BestBid        string `json:"best_bid"`
	BestBidQty     string `json:"best_bid_qty"`
	BestAsk        string `json:"best_ask"`
	BestAskQty     string `json:"best_ask_qty"`
	ExpectedString string `json:"-"`
}

// replayFile is the per-file summary of records that fed no book.
type replayFile struct {
	File         string `json:"file"`
	Records      uint64 `json:"records"`
	Malformed    uint64 `json:"malformed_records"`
	Unknown      uint64 `json:"unrecognised_records"`
	DecodeErrors uint64 `json:"frame_decode_errors"`
	// Unsupported names the venues whose records this build has no feed
	// for (they are counted in Unknown, not failed).
	Unsupported []string `json:"unsupported_venues,omitempty"`
	Error       string   `json:"error,omitempty"`
}

type replayReport struct {
	Files   []replayFile `json:"files"`
	Symbols []replayRow  `json:"symbols"`
	OK      bool         `json:"ok"`
}

// venueReplay is one venue connection's feed as replay drives it.
type venueReplay interface {
	recv(data []byte, ts float64)
	http(u *url.URL, data []byte, ts float64)
	rows(file string) []replayRow
	counters() *feed.Counters
}

// pendingHTTP is a REST record that arrived before any connection of its
// venue (Coinbase's products list precedes its websocket).
type pendingHTTP struct {
	u    *url.URL
	data []byte
	ts   float64
}

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: arbmm replay [--json] FILE...\n\nReads capture files (JSON lines, plain or zstd), recognises each venue from its\nconnection or URL, rebuilds every book through the engine's feed code and checks\nevery oracle the data carries. Exit status 1 if any check failed.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	rep := replayReport{OK: true}
	for _, path := range fs.Args() {
		fr, rows := replayOne(path)
		rep.Files = append(rep.Files, fr)
		rep.Symbols = append(rep.Symbols, rows...)
		if fr.Error != "" {
			rep.OK = false
		}
	}
	for _, r := range rep.Symbols {
		if r.ChecksumFail > 0 || r.Gaps > 0 || r.TickerFail > 0 {
			rep.OK = false
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "arbmm replay:", err)
			return 1
		}
	} else {
		printReplay(stdout, &rep)
	}
	if !rep.OK {
		return 1
	}
	return 0
}

func printReplay(w io.Writer, rep *replayReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "venue\tsymbol\tstate\tframes\tupdates\tcksum ok\tcksum bad\tgaps\tresyncs\tticker ok\tticker bad\tbest bid x qty\tbest ask x qty\t")
	for _, r := range rep.Symbols {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s x %s\t%s x %s\t\n", r.Venue, r.Symbol, r.State, r.Frames, r.Updates,
			r.ChecksumOK, r.ChecksumFail, r.Gaps, r.Resyncs, r.TickerOK, r.TickerFail, r.BestBid, r.BestBidQty, r.BestAsk, r.BestAskQty)
	}
	tw.Flush()
	for _, f := range rep.Files {
		fmt.Fprintf(w, "%s: %d records, %d malformed, %d unrecognised, %d frame decode errors", f.File, f.Records, f.Malformed, f.Unknown, f.DecodeErrors)
		if len(f.Unsupported) > 0 {
			fmt.Fprintf(w, "; not replayed (no feed yet): %s", strings.Join(f.Unsupported, ", "))
		}
		if f.Error != "" {
			fmt.Fprintf(w, "; error: %s", f.Error)
		}
		fmt.Fprintln(w)
	}
	if rep.OK {
		fmt.Fprintln(w, "all checks passed")
	} else {
		fmt.Fprintln(w, "CHECKS FAILED")
	}
}

// replayOne replays one capture file.
func replayOne(path string) (replayFile, []replayRow) {
	fr := replayFile{File: path}
	r, err := capture.Open(path)
	if err != nil {
		fr.Error = err.Error()
		return fr, nil
	}
	defer r.Close()
	conns := map[string]venueReplay{} // by connection URL
	var order []venueReplay
	lastOf := map[market.Venue]venueReplay{} // REST snapshots go to the venue's latest connection
	pending := map[market.Venue][]pendingHTTP{}
	var names map[string]string // recorder connection names → URLs, resolved on first need
	get := func(conn string) venueReplay {
		if !isURL(conn) {
			if names == nil {
				names = resolveConnNames(path)
			}
			if u, ok := names[conn]; ok {
				conn = u
			}
		}
		if c, seen := conns[conn]; seen {
			return c // nil for an unsupported venue
		}
		v, ver := venueOfURL(conn)
		c, err := newVenueReplay(v, ver, conn)
		if err != nil {
			if !slices.Contains(fr.Unsupported, v.String()) {
				fr.Unsupported = append(fr.Unsupported, v.String())
			}
			conns[conn] = nil
			return nil
		}
		conns[conn] = c
		lastOf[v] = c
		order = append(order, c)
		for _, p := range pending[v] {
			c.http(p.u, p.data, p.ts)
		}
		delete(pending, v)
		return c
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fr.Error = err.Error()
			break
		}
		fr.Records++
		if rec.Err != nil {
			fr.Malformed++
			continue
		}
		switch rec.Kind {
		case capture.KindOpen, capture.KindSend:
			// Connections are keyed by URL; subscribe requests carry no book data.
		case capture.KindRecv:
			c := get(rec.Conn)
			if c == nil {
				fr.Unknown++
				continue
			}
			c.recv(rec.Data, rec.TS)
		case capture.KindHTTP:
			u, err := url.Parse(rec.URL)
			v, _ := venueOfURL(rec.URL)
			if err != nil || v == market.VenueUnknown {
				fr.Unknown++
				continue
			}
			if c := lastOf[v]; c != nil {
				c.http(u, rec.Data, rec.TS)
			} else {
				pending[v] = append(pending[v], pendingHTTP{u, slices.Clone(rec.Data), rec.TS})
			}
		case capture.KindVector:
			c, err := newKrakenVector(rec.Data)
			if err != nil {
				fr.Malformed++
				continue
			}
			order = append(order, c)
		default:
			fr.Unknown++
		}
	}
	var rows []replayRow
	for _, c := range order {
		rows = append(rows, c.rows(path)...)
		fr.DecodeErrors += c.counters().DecodeErrors.Load()
	}
	return fr, rows
}

// venueOfURL recognises a venue (and, for Kraken, the websocket API
// version) from a connection or REST URL.
func venueOfURL(raw string) (market.Venue, int) {
	u, err := url.Parse(raw)
	if err != nil {
		return market.VenueUnknown, 0
	}
	// A recording names a venue its URL does not show ("#venue=kraken").
	if name, ok := strings.CutPrefix(u.Fragment, "venue="); ok {
		v, _ := market.ParseVenue(name)
		if v == market.Kraken && strings.HasPrefix(u.Path, "/v2") {
			return v, 2
		}
		if v == market.Kraken {
			return v, 1
		}
		return v, 0
	}
	if u.Host == "" {
		// Recorders that name connections rather than URLs: "BYBIT.ws.2".
		name, _, _ := strings.Cut(raw, ".")
		v, _ := market.ParseVenue(name)
		return v, 0
	}
	h := strings.ToLower(u.Hostname())
	switch {
	case strings.HasSuffix(h, "binance.us"):
		return market.BinanceUS, 0
	case h == "fstream.binance.com" || h == "fapi.binance.com":
		return market.BinanceUSDM, 0
	case strings.HasSuffix(h, "binance.com"):
		return market.Binance, 0
	case strings.HasSuffix(h, "kraken.com"):
		if strings.HasPrefix(u.Path, "/v2") {
			return market.Kraken, 2
		}
		return market.Kraken, 1
	case strings.HasSuffix(h, "coinbase.com"):
		return market.Coinbase, 0
	case strings.HasSuffix(h, "okx.com"):
		return market.OKX, 0
	case strings.HasSuffix(h, "bybit.com"):
		return market.Bybit, 0
	}
	return market.VenueUnknown, 0
}

// newVenueReplay returns the replay of one connection to conn (a URL).
func newVenueReplay(v market.Venue, ver int, conn string) (venueReplay, error) {
	switch v {
	case market.Binance, market.BinanceUS, market.BinanceUSDM:
		f, err := binance.New(binance.Config{Venue: v})
		if err != nil {
			return nil, err
		}
		return &binanceReplay{f: f, venue: v}, nil
	case market.Kraken:
		return newKrakenReplay(ver)
	case market.OKX:
		f, err := okx.New(okx.Config{})
		if err != nil {
			return nil, err
		}
		return &okxReplay{f: f}, nil
	case market.Bybit:
		u, err := url.Parse(conn)
		if err != nil {
			return nil, err
		}
		cat, err := bybit.ParseCategory(path.Base(u.Path))
		if err != nil {
			return nil, fmt.Errorf("replay: bybit connection %s: %w", conn, err)
		}
		f, err := bybit.New(bybit.Config{Category: cat})
		if err != nil {
			return nil, err
		}
		return &bybitReplay{f: f, cat: cat}, nil
	case market.Coinbase:
		f, err := coinbase.New(coinbase.Config{})
		if err != nil {
			return nil, err
		}
		return &coinbaseReplay{f: f}, nil
	}
	return nil, fmt.Errorf("replay: no feed for venue %s in this build", v)
}

// bookRow fills the book-derived columns of a report row.
func bookRow(r *replayRow, b *book.Book, in *market.Instrument) {
	if b == nil {
		r.State = "no book"
		return
	}
	st := b.Stats()
	r.State = b.State().String()
	r.Updates = st.Updates
	r.ChecksumOK, r.ChecksumFail = st.ChecksumOK, st.ChecksumFail
	r.Gaps, r.Resyncs = st.Gaps, st.Resyncs
	var top book.Top
	b.Read(&top)
	if l, ok := top.BestBid(); ok {
		r.BestBid, r.BestBidQty = in.FormatPrice(l.Price), in.FormatQty(l.Qty)
	}
	if l, ok := top.BestAsk(); ok {
		r.BestAsk, r.BestAskQty = in.FormatPrice(l.Price), in.FormatQty(l.Qty)
	}
}

type binanceReplay struct {
	f     *binance.Feed
	venue market.Venue
}

func (br *binanceReplay) recv(data []byte, ts float64) { _ = br.f.Handle(data, int64(ts*1e9)) }

func (br *binanceReplay) http(u *url.URL, data []byte, ts float64) {
	if sym := u.Query().Get("symbol"); sym != "" && strings.HasSuffix(u.Path, "/depth") {
		_ = br.f.HandleSnapshot(sym, data, int64(ts*1e9))
	}
}

func (br *binanceReplay) counters() *feed.Counters { return br.f.Counters() }

func (br *binanceReplay) rows(file string) []replayRow {
	var out []replayRow
	for _, s := range br.f.Symbols() {
		r := replayRow{File: file, Venue: br.venue.String(), Symbol: s.Name, Frames: s.Frames, TickerOK: s.TickerOK, TickerFail: s.TickerFail}
		bookRow(&r, s.Book, &s.Inst)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b replayRow) int { return strings.Compare(a.Symbol, b.Symbol) })
	return out
}
