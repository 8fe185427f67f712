package bybit

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"unicode/utf8"

	"arbmm/book"
	"arbmm/internal/market"
)

// fuzzInstruments are the symbols FuzzFeed's configured feed accepts, at
// the exponents the reference decoder parses at.
var fuzzInstruments = []market.Instrument{
	{Venue: market.Bybit, Symbol: "ETHUSDT", Pair: market.Pair{Base: "ETH", Quote: "USDT"}, PriceExp: fuzzExp, QtyExp: fuzzExp},
	{Venue: market.Bybit, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: fuzzExp, QtyExp: fuzzExp},
	{Venue: market.Bybit, Symbol: "A", Pair: market.Pair{Base: "A", Quote: "B"}, PriceExp: fuzzExp, QtyExp: fuzzExp},
}

// modelTopic is the reference's state of one topic: Bybit's rules written
// out plainly over a map book.
type modelTopic struct {
	depth int
	live  bool
	lastU int64
	side  [2]map[market.Price]market.Qty
}

func (tp *modelTopic) best(s market.Side) (market.Price, bool) {
	ps := sortedPrices(tp.side[s], s)
	if len(ps) == 0 {
		return 0, false
	}
	return ps[0], true
}

// model replays frames decoded by the reference (parse_fuzz_test.go) with
// the sync rules: a snapshot or u == 1 reloads the book and makes it live;
// a delta applies to a live book when u is the last u + 1, makes it stale
// otherwise, and is dropped when the book is not live; each side keeps the
// topic's depth; a crossed book is not live.
type model struct {
	topics    map[string]*modelTopic
	maxLevels int
}

func isFuzzInstrument(name string) bool {
	for _, in := range fuzzInstruments {
		if in.Symbol == name {
			return true
		}
	}
	return false
}

func (md *model) handle(r *decoded) {
	if !isFuzzInstrument(r.name) || len(r.bids)+len(r.asks) > md.maxLevels {
		return
	}
	tp := md.topics[r.name]
	if tp == nil {
		tp = &modelTopic{depth: r.depth}
		md.topics[r.name] = tp
	} else if tp.depth != r.depth {
		return // another depth of the symbol: not this topic
	}
	apply := func() {
		for s, lv := range [2][]market.Price{r.bids, r.asks} {
			qs := r.bidQ
			if s == 1 {
				qs = r.askQ
			}
			for i, p := range lv {
				if qs[i] == 0 {
					delete(tp.side[s], p)
				} else {
					tp.side[s][p] = qs[i]
				}
			}
			for _, p := range sortedPrices(tp.side[s], market.Side(s))[min(tp.depth, len(tp.side[s])):] {
				delete(tp.side[s], p)
			}
		}
		tp.lastU = r.u
	}
	switch {
	case r.snapshot || r.u == 1:
		tp.side = [2]map[market.Price]market.Qty{{}, {}}
		apply()
		tp.live = true
	case !tp.live:
	case r.u != tp.lastU+1:
		tp.live = false
	default:
		apply()
	}
	bid, okb := tp.best(market.Bid)
	ask, oka := tp.best(market.Ask)
	if okb && oka && bid >= ask {
		tp.live = false
	}
}

// compactFrame renders op as an orderbook message, so that the fuzzer,
// changing a byte or two of a short line, explores sequences of valid
// messages: resets, restarts, gaps, repeats, crossed books, truncation.
//
//	op[0]   bit 0: snapshot (else delta); bit 1: ETHUSDT (else BTCUSDT);
//	        bit 2: depth 3 (else 200)
//	op[1]   bit 7: u = 1 (a restart); else u = the topic's last u + op[1]%4 - 1
//	op[2:]  levels, two bytes each: p (bit 7: ask; price 100.00 + (p&0x7f)/4)
//	        and q (size q%4 and a half if bit 7, so 0 deletes)
func compactFrame(op []byte, lastU map[string]int64) []byte {
	if len(op) < 2 {
		return op
	}
	name, depth := "BTCUSDT", 200
	if op[0]&2 != 0 {
		name = "ETHUSDT"
	}
	if op[0]&4 != 0 {
		depth = 3
	}
	topic := "orderbook." + strconv.Itoa(depth) + "." + name
	u := lastU[topic] + int64(op[1]%4) - 1
	if op[1]&0x80 != 0 || u < 1 {
		u = 1
	}
	lastU[topic] = u
	var lv [2][]byte
	for i := 2; i+1 < len(op); i += 2 {
		p, q := op[i], op[i+1]
		side := p >> 7
		if len(lv[side]) > 0 {
			lv[side] = append(lv[side], ',')
		}
		cents := 10000 + int(p&0x7f)*25
		half := "0"
		if q&0x80 != 0 && q%4 != 0 {
			half = "5"
		}
		lv[side] = fmt.Appendf(lv[side], `["%d.%02d","%d.%s"]`, cents/100, cents%100, q%4, half)
	}
	typ := "delta"
	if op[0]&1 != 0 {
		typ = "snapshot"
	}
	return msg(topic, typ, u, string(lv[0]), string(lv[1]))
}

// FuzzFeed drives a whole Feed with the frames of the input (one per
// line; a line starting with '!' is a compact message, see compactFrame),
// with configured or learned exponents. It must never panic; every
// frame is counted once, in the counter its result names; a Live book is
// never crossed nor deeper than its topic. With configured exponents a
// reference model replays the same frames: every book the feed holds Live
// must be live in the model with the same last u and the same levels (the
// feed may be more cautious than the model, never less: a malformed frame
// it can attribute to a topic resyncs that topic, which the model does not
// know to do).
func FuzzFeed(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzFeed/*")
	if len(seeds) < 10 {
		f.Fatalf("%d seeds in testdata/fuzz/FuzzFeed, want at least 10 (go test -run TestFuzzSeeds -update)", len(seeds))
	}
	f.Fuzz(func(t *testing.T, in []byte, learned bool) {
		cfg := Config{Category: Spot, MaxSymbols: 4, MaxLevels: 512}
		if !learned {
			cfg.Instruments = fuzzInstruments
		}
		fd, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		md := &model{topics: map[string]*modelTopic{}, maxLevels: cfg.MaxLevels}
		var calls, nBytes, malformed, unknown, gaps, crossed, nils uint64
		lastU := map[string]int64{}
		for i, line := range bytes.Split(in, []byte("\n")) {
			if len(line) > 0 && line[0] == '!' {
				line = compactFrame(line[1:], lastU)
			}
			calls++
			nBytes += uint64(len(line))
			err := fd.Handle(line, int64(i))
			switch {
			case err == nil:
				nils++
			case err == ErrMalformed:
				malformed++
			case err == ErrUnknownSymbol || err == ErrDepth:
				unknown++
			case err == ErrGap:
				gaps++
			case errors.Is(err, book.ErrCrossed):
				crossed++
			default:
				t.Fatalf("frame %d: unexpected error %v", i, err)
			}
			if !learned && utf8.Valid(line) {
				r, rok := reference(line)
				dup := excluded(line) // a deliberate difference of decoding
				// Levels of a topic the feed does not serve are parsed
				// at their own decimals, not at fuzzExp: whether they
				// fit an int64 may differ.
				served := !rok || r.kind != msgBook || isFuzzInstrument(r.name)
				unserved := err == ErrUnknownSymbol || err == ErrDepth
				switch {
				case !dup && served && err == ErrMalformed && rok && len(r.bids)+len(r.asks) <= cfg.MaxLevels:
					t.Fatalf("frame %d: feed refused %q, the reference decoded %v", i, line, r)
				case !dup && !unserved && err != ErrMalformed && !rok:
					t.Fatalf("frame %d: feed took %q (%v), the reference refused it", i, line, err)
				case err != ErrMalformed && rok && r.kind == msgBook:
					// Repeated keys the feed accepted are ones it does not
					// read: the reference's values for the rest are the
					// feed's.
					md.handle(&r)
				}
			}
			for _, s := range fd.Symbols() {
				var top book.Top
				s.Book.Read(&top)
				if top.State == book.Live && top.NBids > 0 && top.NAsks > 0 && top.Bids[0].Price >= top.Asks[0].Price {
					t.Fatalf("frame %d: %s live and crossed: %v / %v", i, s.Name, top.Bids[0], top.Asks[0])
				}
				if (s.Book.State() == book.Live) != (s.state == stLive) {
					t.Fatalf("frame %d: %s book %v, sync state %d", i, s.Name, s.Book.State(), s.state)
				}
				if s.Book.Depth(market.Bid) > s.Depth || s.Book.Depth(market.Ask) > s.Depth {
					t.Fatalf("frame %d: %s deeper than %d", i, s.Name, s.Depth)
				}
			}
		}
		c := fd.Counters().Load()
		var symFrames, applied, dropped, bookGaps uint64
		for _, s := range fd.Symbols() {
			symFrames += s.Frames
			applied += s.Deltas + s.Snapshots
			dropped += s.Dropped
			bookGaps += s.Book.Stats().Gaps
		}
		switch {
		case c.Frames != calls || c.Bytes != nBytes:
			t.Fatalf("counted %d frames, %d bytes; handled %d, %d", c.Frames, c.Bytes, calls, nBytes)
		case c.DecodeErrors != malformed || c.Unknown != unknown:
			t.Fatalf("decode errors %d unknown %d; returned %d, %d", c.DecodeErrors, c.Unknown, malformed, unknown)
		case bookGaps != gaps:
			t.Fatalf("books count %d gaps, Handle returned ErrGap %d times", bookGaps, gaps)
		case nils+crossed != c.Ignored+applied:
			t.Fatalf("%d nil + %d crossed returns; %d ignored + %d applied", nils, crossed, c.Ignored, applied)
		case symFrames != applied+dropped+gaps:
			t.Fatalf("%d symbol frames; %d applied + %d dropped + %d gaps", symFrames, applied, dropped, gaps)
		case c.Resyncs > malformed+gaps+crossed:
			t.Fatalf("%d resyncs for %d failures", c.Resyncs, malformed+gaps+crossed)
		}
		if learned {
			return
		}
		for _, s := range fd.Symbols() {
			if s.Book.State() != book.Live {
				continue
			}
			tp := md.topics[s.Name]
			if tp == nil || !tp.live || tp.lastU != s.lastU {
				t.Fatalf("%s: live at u %d; the model has %+v", s.Name, s.lastU, tp)
			}
			got := levelsOf(s.Book)
			for side := range got {
				ps := sortedPrices(tp.side[side], market.Side(side))
				want := make([]book.Level, len(ps))
				for i, p := range ps {
					want[i] = book.Level{Price: p, Qty: tp.side[side][p]}
				}
				if !slices.Equal(got[side], want) {
					t.Fatalf("%s %v: levels %v, model %v", s.Name, market.Side(side), got[side], want)
				}
			}
		}
	})
}
