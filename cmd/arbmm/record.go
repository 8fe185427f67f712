package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"arbmm/feed"
	"arbmm/internal/capture"
	"arbmm/internal/config"
	"arbmm/internal/market"
)

// cmdRecord connects to every venue of a config the way the engine does
// (same feeds, sessions, resyncs) and writes every frame sent and received,
// and every REST snapshot, to rotating capture files that arbmm replay
// reads.
func cmdRecord(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "", "config file (YAML), required")
	out := fs.String("out", "", "directory for the capture files, required")
	duration := fs.Duration("duration", 0, "stop after this long (0: until SIGINT/SIGTERM)")
	maxFrames := fs.Uint64("max-frames", 0, "stop after this many frames received in all (0: no limit)")
	rotateSize := fs.Int64("rotate-size", capture.DefaultRotateBytes, "start a new file after this many bytes of records")
	rotateAge := fs.Duration("rotate-age", capture.DefaultRotateAge, "start a new file after this long")
	plain := fs.Bool("plain", false, "write plain .jsonl instead of zstd-compressed .jsonl.zst")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: arbmm record -c CONFIG --out DIR [--duration D] [--max-frames N]\n\nConnects to every venue in CONFIG like the engine and records every frame sent\nand received and every REST snapshot, with receive times, in capture files\n(zstd by default, rotated by size or age; flushed every second, so a crash\nloses at most the last second). arbmm replay reads them.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cfgPath == "" || *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "arbmm record:", err)
		return 1
	}
	ins, err := cfg.Instruments()
	if err != nil {
		fmt.Fprintln(stderr, "arbmm record:", err)
		return 1
	}
	rot, err := capture.NewRotator(capture.RotatorConfig{Dir: *out, Prefix: "arbmm", MaxBytes: *rotateSize, MaxAge: *rotateAge, Compress: !*plain})
	if err != nil {
		fmt.Fprintln(stderr, "arbmm record:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var frames atomic.Uint64
	var venues []*liveVenue
	var recs []*feed.Recording
	for i := range cfg.Venues {
		vc := &cfg.Venues[i]
		name := recordName(vc.WSURL, vc.Venue())
		var rec *feed.Recording
		hook := connHook{
			wrap: func(s feed.Session) feed.Session {
				rec = &feed.Recording{Inner: &countingSession{Session: s, n: &frames, max: *maxFrames, stop: cancel}, Sink: rot, Conn: name}
				return rec
			},
			onSnapshot: func(url string, body []byte, recvNs int64) {
				if err := rot.HTTP(time.Unix(0, recvNs), recordName(url, vc.Venue()), body); err != nil {
					rec.Errors++
				}
			},
		}
		lv, err := buildVenue(vc, ins, hook)
		if err != nil {
			fmt.Fprintf(stderr, "arbmm record: venue %s: %v\n", vc.Name, err)
			return 1
		}
		venues = append(venues, lv)
		recs = append(recs, rec)
	}

	mon := &feed.Monitor{Log: slog.New(slog.NewTextHandler(stderr, nil)), Interval: 10 * time.Second}
	for _, lv := range venues {
		mon.Watch = append(mon.Watch, feed.Watched{Name: lv.cfg.Name, Counters: lv.counters, Conn: lv.conn})
	}
	go mon.Run(ctx)

	var wg sync.WaitGroup
	for _, lv := range venues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = lv.conn.Run(ctx)
		}()
	}
	// Flush once a second so that a crash loses at most that much.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
wait:
	for {
		select {
		case <-tick.C:
			if err := rot.Flush(); err != nil {
				fmt.Fprintln(stderr, "arbmm record: flush:", err)
			}
		case <-done:
			break wait
		}
	}
	for _, lv := range venues {
		lv.close()
	}
	mon.Report() // what went wrong since the last report
	status := 0
	if err := rot.Close(); err != nil {
		fmt.Fprintln(stderr, "arbmm record: close:", err)
		status = 1
	}
	for i, lv := range venues {
		st := lv.conn.Stats()
		fmt.Fprintf(stdout, "%s: %d frames, %d bytes, %d connects, %d write errors\n", lv.cfg.Name, st.Frames, st.Bytes, st.Connects, recs[i].Errors)
		if recs[i].Errors > 0 {
			status = 1
		}
	}
	for _, f := range rot.Files() {
		fmt.Fprintln(stdout, "wrote", f)
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		status = 1
	}
	return status
}

// recordName is the connection or URL name a recording gives a venue's
// records: the URL itself when replay recognises the venue from it, else
// the URL with a "#venue=NAME" fragment (fragments never go on the wire),
// e.g. for a venue reached through a proxy or a simulated venue on
// 127.0.0.1.
func recordName(raw string, v market.Venue) string {
	if got, _ := venueOfURL(raw); got == v {
		return raw
	}
	return raw + "#venue=" + v.String()
}

// countingSession counts frames across every recorded connection and ends
// the recording after max (when max > 0).
type countingSession struct {
	feed.Session
	n    *atomic.Uint64
	max  uint64
	stop context.CancelFunc
}

func (c *countingSession) Frame(frame []byte, recvNs int64) {
	c.Session.Frame(frame, recvNs)
	if n := c.n.Add(1); c.max > 0 && n >= c.max {
		c.stop()
	}
}
