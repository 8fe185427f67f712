package feed

import (
	"context"
	"log/slog"
	"time"
)

// Watched is one venue connection a Monitor reports on: its frame counters
// and its Conn (either may be nil).
type Watched struct {
	Name     string
	Counters *Counters
	Conn     *Conn
}

// Monitor logs what went wrong on each connection since its last report —
// decode errors, frames for unknown symbols, resyncs, reconnects, idle
// timeouts — at most once per interval per connection, so a storm of bad
// frames is a line every interval rather than a line per frame (the
// counters keep the exact figures). It reads only atomic counters and never
// touches the hot path. Run it on its own goroutine.
type Monitor struct {
	Log      *slog.Logger
	Interval time.Duration // default 10 s
	Watch    []Watched

	last []snapshot
}

type snapshot struct {
	c CounterValues
	s ConnStats
}

// Run reports every Interval until ctx is done.
func (m *Monitor) Run(ctx context.Context) {
	iv := m.Interval
	if iv <= 0 {
		iv = 10 * time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Report()
		}
	}
}

// Report logs one line per connection whose trouble counters moved since
// the previous Report, and returns how many lines it logged.
func (m *Monitor) Report() int {
	if len(m.last) != len(m.Watch) {
		m.last = make([]snapshot, len(m.Watch))
	}
	lines := 0
	for i, w := range m.Watch {
		var now snapshot
		if w.Counters != nil {
			now.c = w.Counters.Load()
		}
		if w.Conn != nil {
			now.s = w.Conn.Stats()
		}
		was := m.last[i]
		m.last[i] = now
		d := struct{ decode, unknown, resyncs, reconnects, idle, dialErrs uint64 }{
			now.c.DecodeErrors - was.c.DecodeErrors,
			now.c.Unknown - was.c.Unknown,
			now.c.Resyncs - was.c.Resyncs,
			now.s.Reconnects - was.s.Reconnects,
			now.s.IdleTimeouts - was.s.IdleTimeouts,
			now.s.DialErrors - was.s.DialErrors,
		}
		if d.decode|d.unknown|d.resyncs|d.reconnects|d.idle|d.dialErrs == 0 {
			continue
		}
		lines++
		if m.Log != nil {
			m.Log.Warn("feed: trouble on connection", "conn", w.Name,
				"decode_errors", d.decode, "unknown", d.unknown, "resyncs", d.resyncs,
				"reconnects", d.reconnects, "idle_timeouts", d.idle, "dial_errors", d.dialErrs,
				"frames", now.c.Frames)
		}
	}
	return lines
}
