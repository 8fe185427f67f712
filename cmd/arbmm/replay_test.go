package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	binanceData  = "../../feed/binance/testdata/"
	krakenData   = "../../feed/kraken/testdata/"
	okxData      = "../../feed/okx/testdata/"
	bybitData    = "../../feed/bybit/testdata/"
	coinbaseData = "../../feed/coinbase/testdata/"
)

// fileTotals sums a replay report's rows per file.
type fileTotals struct {
	symbols                    int
	checksumOK, checksumFail   uint64
	gaps, tickerOK, tickerFail uint64
	live                       int
}

func replayJSON(t *testing.T, files ...string) (replayReport, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"replay", "--json"}, files...), &out, &errb)
	var rep replayReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("replay --json output is not JSON: %v\n%s\n%s", err, out.String(), errb.String())
	}
	return rep, code
}

func totals(rep replayReport) map[string]*fileTotals {
	m := map[string]*fileTotals{}
	for _, r := range rep.Symbols {
		ft := m[filepath.Base(r.File)]
		if ft == nil {
			ft = &fileTotals{}
			m[filepath.Base(r.File)] = ft
		}
		ft.symbols++
		ft.checksumOK += r.ChecksumOK
		ft.checksumFail += r.ChecksumFail
		ft.gaps += r.Gaps
		ft.tickerOK += r.TickerOK
		ft.tickerFail += r.TickerFail
		if r.State == "live" {
			ft.live++
		}
	}
	return m
}

// TestReplayFixtures runs `arbmm replay --json` over the real captures and
// requires exactly the figures of the shared fixtures README.
func TestReplayFixtures(t *testing.T) {
	files := []string{
		binanceData + "binance-spot-depth-4sym.jsonl",
		binanceData + "binanceus-spot-depth-4sym.jsonl",
		binanceData + "binance-usdm-depth.jsonl",
		krakenData + "kraken-v1-book1000-10pairs.jsonl",
		krakenData + "kraken-v1-book10-xbtusd.jsonl",
		krakenData + "kraken-v2-book10-btcusd.jsonl",
		krakenData + "kraken-v2-vectors.jsonl",
		okxData + "okx-v5-books-3inst.jsonl",
		bybitData + "bybit-v5-orderbook200.jsonl",
		coinbaseData + "coinbase-at-level2.jsonl.zst",
	}
	rep, code := replayJSON(t, files...)
	if code != 0 || !rep.OK {
		t.Fatalf("exit %d ok %v, want 0 true", code, rep.OK)
	}
	want := map[string]fileTotals{
		"binance-spot-depth-4sym.jsonl":    {symbols: 4, live: 4, tickerOK: 26},
		"binanceus-spot-depth-4sym.jsonl":  {symbols: 4, live: 4, tickerOK: 56},
		"binance-usdm-depth.jsonl":         {symbols: 4, live: 4, tickerOK: 50},
		"kraken-v1-book1000-10pairs.jsonl": {symbols: 10, live: 10, checksumOK: 4269},
		"kraken-v1-book10-xbtusd.jsonl":    {symbols: 1, live: 1, checksumOK: 979},
		"kraken-v2-book10-btcusd.jsonl":    {symbols: 1, live: 1, checksumOK: 510},
		"kraken-v2-vectors.jsonl":          {symbols: 2, live: 2, checksumOK: 3},
		"okx-v5-books-3inst.jsonl":         {symbols: 3, live: 3, checksumOK: 290},
		"bybit-v5-orderbook200.jsonl":      {symbols: 6, live: 6},
		"coinbase-at-level2.jsonl.zst":     {symbols: 2, live: 2},
	}
	got := totals(rep)
	for f, w := range want {
		g := got[f]
		if g == nil {
			t.Errorf("%s: no rows", f)
			continue
		}
		if *g != w {
			t.Errorf("%s: got %+v, want %+v", f, *g, w)
		}
	}
	// Frames per book, which the feeds' own tests pin to the fixtures
	// README's counts: OKX 99/93/98 checksummed messages, Bybit 2142 deltas
	// and 6 snapshots, Coinbase 775 level2 messages.
	frames := map[string]uint64{}
	for _, r := range rep.Symbols {
		frames[filepath.Base(r.File)] += r.Frames
	}
	for f, want := range map[string]uint64{"okx-v5-books-3inst.jsonl": 290, "bybit-v5-orderbook200.jsonl": 2142 + 6, "coinbase-at-level2.jsonl.zst": 775} {
		if frames[f] != want {
			t.Errorf("%s: %d book frames, want %d", f, frames[f], want)
		}
	}
	for _, f := range rep.Files {
		if f.Malformed != 0 || f.Unknown != 0 || f.DecodeErrors != 0 || f.Error != "" || len(f.Unsupported) != 0 {
			t.Errorf("%s: %+v, want no malformed, unrecognised or undecodable records", f.File, f)
		}
	}
}

// TestReplayDetectsCorruption: one changed quantity in a Kraken capture or
// one deleted Binance depth event makes replay fail, with the mismatch or
// the gap in the report and the book stale.
func TestReplayDetectsCorruption(t *testing.T) {
	dir := t.TempDir()
	corrupt := func(src, name string, edit func(lines []string) []string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		lines := edit(strings.Split(string(b), "\n"))
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Kraken: change one quantity of the 100th update frame.
	kr := corrupt(krakenData+"kraken-v1-book10-xbtusd.jsonl", "kraken.jsonl", func(lines []string) []string {
		n := 0
		for i, l := range lines {
			if strings.Contains(l, `\"c\":`) {
				if n++; n == 100 {
					j := strings.Index(l, `\",\"`) // end of the first price string
					k := j + 4                     // first digit of its quantity
					d := l[k]
					nd := byte('1')
					if d == '1' {
						nd = '2'
					}
					lines[i] = l[:k] + string(nd) + l[k+1:]
					break
				}
			}
		}
		return lines
	})
	// Binance: delete the 50th depth event.
	bn := corrupt(binanceData+"binance-spot-depth-4sym.jsonl", "binance.jsonl", func(lines []string) []string {
		n := 0
		for i, l := range lines {
			if strings.Contains(l, "depthUpdate") {
				if n++; n == 50 {
					return append(lines[:i], lines[i+1:]...)
				}
			}
		}
		t.Fatal("fewer than 50 depth events")
		return nil
	})
	rep, code := replayJSON(t, kr, bn)
	if code != 1 || rep.OK {
		t.Fatalf("exit %d ok %v, want 1 false", code, rep.OK)
	}
	got := totals(rep)
	// The 99 updates before the corrupted one verify; after the mismatch the
	// book is stale and waits for the resubscribe a capture cannot answer.
	if g := got["kraken.jsonl"]; g == nil || g.checksumFail != 1 || g.checksumOK != 99 || g.live != 0 {
		t.Errorf("kraken: %+v, want 99 verified, 1 mismatch, book stale", g)
	}
	if g := got["binance.jsonl"]; g == nil || g.gaps != 1 || g.live != 3 {
		t.Errorf("binance: %+v, want 1 gap and 3 of 4 books live", g)
	}
}

func TestReplayUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"replay"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: arbmm replay") {
		t.Errorf("replay without files: exit %d, stderr %q", code, errb.String())
	}
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	// A missing file is reported, not a crash.
	rep, code := replayJSON(t, filepath.Join(t.TempDir(), "missing.jsonl"))
	if code != 1 || len(rep.Files) != 1 || rep.Files[0].Error == "" {
		t.Errorf("missing file: exit %d files %+v", code, rep.Files)
	}
}
