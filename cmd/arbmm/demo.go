package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime/metrics"
	"strings"
	"syscall"
	"time"

	"arbmm/configs"
	"arbmm/exec/risk"
	"arbmm/internal/demo"
	"arbmm/internal/engine"
	"arbmm/internal/market"
)

// cmdDemo runs the engine against the simulated venues in one process and
// prints a status line every second and a summary at the end.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "", "demo config (YAML); default: the embedded configs/demo.yaml")
	duration := fs.Duration("duration", 30*time.Second, "run this long (0: until SIGINT/SIGTERM)")
	every := fs.Duration("every", time.Second, "status line period")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: arbmm demo [-c CONFIG] [--duration D] [--every D]\n\nStarts simulated Binance and Kraken venues and the engine in one process,\nconnected over loopback websockets and HTTP, and trades cross-exchange\narbitrage on the dislocations the simulated market makes. SIGUSR1 triggers\nthe kill switch.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || *every <= 0 {
		fs.Usage()
		return 2
	}
	var cfg *demo.Config
	var err error
	if *cfgPath == "" {
		cfg, err = demo.Load(configs.FS, "demo.yaml")
	} else {
		cfg, err = demo.Load(nil, *cfgPath)
	}
	if err != nil {
		fmt.Fprintln(stderr, "arbmm demo:", err)
		return 1
	}
	d, err := demo.Start(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "arbmm demo:", err)
		return 1
	}
	defer d.Close()
	for _, e := range d.Sim.Endpoints() {
		fmt.Fprintf(stdout, "sim %-8s %-12s %s\n", e.Venue, e.Kind, e.URL)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1) // the operator's kill switch
	defer signal.Stop(usr1)

	tick := time.NewTicker(*every)
	defer tick.Stop()
	start := time.Now()
	gc0 := gcCycles()
	var warmGC uint64
	warm := false
	last := d.Core.Status()
	lastAt := start
	for {
		select {
		case <-ctx.Done():
			d.Kill("end of demo")
			st := settle(d)
			d.Stop()
			summary(stdout, st, time.Since(start), gcCycles()-gc0, gcCycles()-warmGC, warm)
			fmt.Fprintln(stdout, "\nlatency, frame receipt → both legs handed to their sockets, per stage (the core's HDR histograms):")
			_ = d.Core.Stages().Report().WriteText(stdout)
			return 0
		case <-usr1:
			d.Kill("operator signal (SIGUSR1)")
			fmt.Fprintln(stdout, "kill switch: operator signal")
		case now := <-tick.C:
			st := d.Core.Status()
			fmt.Fprintln(stdout, statusLine(st, last, now.Sub(lastAt), now.Sub(start)))
			last, lastAt = st, now
			if !warm && now.Sub(start) >= 5*time.Second {
				warm, warmGC = true, gcCycles() // steady state from here
			}
		}
	}
}

// settle waits (up to 2s) until no order is open and a few snapshots
// pass without a report, so the summary has every fill.
func settle(d *demo.Demo) engine.Status {
	d.Sim.Pause()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Second)
	var last uint64
	quiet := 0
	for time.Now().Before(deadline) && quiet < 10 {
		<-tick.C
		st := d.Core.Status()
		if st.Stats.OpenOrders == 0 && st.Stats.Reports == last {
			quiet++
		} else {
			quiet = 0
		}
		last = st.Stats.Reports
	}
	return d.Core.Status()
}

// statusLine is one second of the engine, as an operator reads it.
func statusLine(st, prev engine.Status, dt, up time.Duration) string {
	s, p := st.Stats, prev.Stats
	rate := func(a, b uint64) float64 { return float64(a-b) / dt.Seconds() }
	var b strings.Builder
	fmt.Fprintf(&b, "%5.0fs  events %6.0f/s  books live %d/%d  opps %d taken %d tri %d  orders %d fills %d rejects %d hedges %d  P&L %+.2f",
		up.Seconds(), rate(s.Events, p.Events), st.LiveBooks, st.Books, s.Opportunities, s.Taken, s.TriTaken, s.Orders, s.Fills, s.Rejects, s.Hedges, totalPnL(st))
	if s.TickToTradeP50 > 0 {
		fmt.Fprintf(&b, "  tick-to-trade p50 %.1fµs p99 %.1fµs", float64(s.TickToTradeP50)/1e3, float64(s.TickToTradeP99)/1e3)
	}
	for _, bal := range st.Balances {
		if bal.Delta != 0 && bal.Asset != "USDT" {
			fmt.Fprintf(&b, "  %s %s %+.5f", bal.Venue, bal.Asset, float64(bal.Delta)/math.Pow10(bal.Dec))
		}
	}
	if st.Killed {
		b.WriteString("  KILLED (" + st.KillWhy + ")")
	}
	return b.String()
}

func totalPnL(st engine.Status) float64 { return st.Stats.PnL }

// dur prints a latency in ns at a readable unit ("-" when none).
func dur(ns int64) string {
	if ns <= 0 {
		return "-"
	}
	return time.Duration(ns).Round(time.Microsecond).String()
}

// summary prints the run's outcome: per pair and per venue, the risk
// verdicts, and the garbage collector's activity.
func summary(w io.Writer, st engine.Status, elapsed time.Duration, gcAll, gcSteady uint64, warm bool) {
	s := st.Stats
	fmt.Fprintf(w, "\nsummary after %s\n", elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  events %d (book %d, reports %d), evaluations %d, opportunities %d, taken %d, triangular cycles %d of %d evaluations, refused by risk %d, feed disconnects %d\n",
		s.Events, s.BookEvents, s.Reports, s.Evaluations, s.Opportunities, s.Taken, s.TriTaken, s.TriEvaluations, s.RiskRefused, s.Disconnects)
	fmt.Fprintf(w, "  orders %d, fills %d, rejects %d, hedges %d, leg-risk breaches %d, send errors %d\n",
		s.Orders, s.Fills, s.Rejects, s.Hedges, s.Breaches, s.SendErrors)
	for _, p := range st.Pairs {
		sc := math.Pow10(p.PriceExp + p.QtyExp)
		fmt.Fprintf(w, "  %-9s fills %4d  volume %12.4f  realised %+10.4f  unrealised %+10.4f  fees %9.4f %-4s inventory %+.8f\n",
			p.Pair, p.Fills, float64(p.Volume)/sc, float64(p.Realised)/sc, float64(p.Unrealised)/sc, float64(p.Fees)/sc, p.Pair.Quote,
			float64(p.Qty)/math.Pow10(p.QtyExp))
	}
	rest := totalPnL(st)
	for _, m := range st.MM {
		fmt.Fprintf(w, "  market maker %s: quotes %d, replaces %d, cancels %d, pulls %d, fills %d (bid %d, ask %d), spread captured %+.4f, fees %.4f, P&L %+.4f; inventory %+.5f (path %+.5f .. %+.5f)\n",
			m.Symbol, m.Quotes, m.Replaces, m.Cancels, m.Pulls, m.Fills, m.BidFills, m.AskFills, m.SpreadCaptured, m.Fees, m.PnL,
			m.Inventory, m.InvMin, m.InvMax)
		rest -= m.PnL
	}
	for _, x := range st.XEMM {
		fmt.Fprintf(w, "  cross-exchange maker %s hedged on %s: quotes %d, replaces %d, cancels %d, pulls %d, fills %d (bid %d, ask %d), filled %.5f, hedged %.5f in %d hedges (%d refused by risk), breaches %d\n",
			x.Quote, x.Hedge, x.Quotes, x.Replaces, x.Cancels, x.Pulls, x.Fills, x.BidFills, x.AskFills, x.FilledQty, x.HedgedQty, x.Hedges, x.HedgeRefused, x.Breaches)
		fmt.Fprintf(w, "    spread captured %+.4f, fees %.4f, P&L %+.4f; exposure %+.5f (largest %.5f); hedge sent p50 %s p99 %s max %s after the fill, filled p50 %s max %s\n",
			x.Edge, x.Fees, x.PnL, x.Unhedged, x.MaxUnhedged, dur(x.HedgeSentP50), dur(x.HedgeSentP99), dur(x.HedgeSentMax), dur(x.HedgedP50), dur(x.HedgedMax))
		rest -= x.PnL
	}
	if len(st.MM)+len(st.XEMM) > 0 {
		fmt.Fprintf(w, "  arbitrage P&L %+.4f (the total less the market makers')\n", rest)
	}
	fmt.Fprintf(w, "  P&L %+.4f (reporting currency, after fees; other quotes converted at their marks)\n", totalPnL(st))
	for v, pnl := range st.VenuePnL {
		if pnl == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-8s P&L %+.4f:", market.Venue(v), pnl)
		for _, b := range st.Balances {
			if int(b.Venue) == v && b.Delta != 0 {
				fmt.Fprintf(w, "  %s %+.8f", b.Asset, float64(b.Delta)/math.Pow10(b.Dec))
			}
		}
		fmt.Fprintln(w)
	}
	for v := 1; v < risk.NumVerdicts && v < len(st.Verdicts); v++ {
		if st.Verdicts[v] > 0 {
			fmt.Fprintf(w, "  risk refused %-20s %d\n", risk.Verdict(v), st.Verdicts[v])
		}
	}
	if st.Killed {
		fmt.Fprintf(w, "  kill switch: %s\n", st.KillWhy)
	}
	if warm {
		fmt.Fprintf(w, "  GC cycles: %d in all, %d in the steady state (after the first 5 s)\n", gcAll, gcSteady)
	} else {
		fmt.Fprintf(w, "  GC cycles: %d\n", gcAll)
	}
}

// gcCycles reads the completed GC cycles from runtime/metrics.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
