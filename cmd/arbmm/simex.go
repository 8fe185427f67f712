package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"arbmm/configs"
	"arbmm/internal/sim"
)

// cmdSimex runs the simulated venues standalone: it prints their URLs, then
// a line of activity every --every until SIGINT/SIGTERM or --duration.
func cmdSimex(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simex", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "", "simex config file (YAML); default: the embedded configs/simex.yaml")
	duration := fs.Duration("duration", 0, "stop after this long (0: until SIGINT/SIGTERM)")
	every := fs.Duration("every", 5*time.Second, "print an activity line this often (0: never)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: arbmm simex [-c CONFIG] [--duration D] [--every D]\n\nRuns simulated Binance and Kraken venues on loopback: market data, REST\nsnapshots, signed order entry, user-data streams, a market model whose\nprices dislocate across venues, and the faults the config injects. Prints\nthe URLs to point an engine config at. Account secrets come from the\nenvironment variables the config names.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	var cfg *sim.Config
	var err error
	if *cfgPath == "" {
		cfg, err = sim.LoadFS(configs.FS, "simex.yaml")
	} else {
		cfg, err = sim.Load(*cfgPath)
	}
	if err != nil {
		fmt.Fprintln(stderr, "arbmm simex:", err)
		return 1
	}
	s, err := sim.New(cfg, sim.Options{SkipMissingSecrets: true})
	if err != nil {
		fmt.Fprintln(stderr, "arbmm simex:", err)
		return 1
	}
	defer s.Close()
	for _, n := range s.Notes() {
		fmt.Fprintln(stderr, "arbmm simex:", n)
	}
	if err := s.Start(); err != nil {
		fmt.Fprintln(stderr, "arbmm simex:", err)
		return 1
	}
	for _, e := range s.Endpoints() {
		fmt.Fprintf(stdout, "%-8s %-12s %s\n", e.Venue, e.Kind, e.URL)
	}
	for _, v := range s.Venues() {
		for name, id := range v.Accounts {
			fmt.Fprintf(stdout, "%-8s account      %s (id %d)\n", v.Name, name, id)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	var tick <-chan time.Time
	if *every > 0 {
		t := time.NewTicker(*every)
		defer t.Stop()
		tick = t.C
	}
	start := time.Now()
	last := s.Stats()
	lastAt := start
	for {
		select {
		case <-ctx.Done():
			st := s.Stats()
			fmt.Fprintf(stdout, "simex: %s in all: %s\n", time.Since(start).Round(time.Millisecond), st.String(time.Since(start)))
			return 0
		case now := <-tick:
			st := s.Stats()
			fmt.Fprintf(stdout, "simex: %s\n", st.Sub(last).String(now.Sub(lastAt)))
			last, lastAt = st, now
		}
	}
}
