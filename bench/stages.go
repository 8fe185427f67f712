package bench

import (
	"fmt"
	"io"
	"strconv"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Stage is one interval of the market-data-to-order path, timed between two
// stamps taken by the engine core.
type Stage uint8

// The stages, in path order. Each is the interval that ends at the stamp of
// the same name; TickToTrade spans the whole path.
const (
	Decode      Stage = iota // frame receipt → frame decoded
	Apply                    // decoded → book applied (top-N published)
	Decide                   // book applied → strategy decided (intents made)
	Risk                     // decided → every intent risk-checked
	Encode                   // risk checked → order bytes ready (encoded and signed)
	Send                     // bytes ready → handed to the socket (write returned)
	TickToTrade              // frame receipt → handed to the socket
	NumStages                // the number of stages: the length of an array indexed by Stage
)

var stageNames = [NumStages]string{"decode", "apply", "decide", "risk", "encode", "send", "tick_to_trade"}

// String returns the stage's snake_case name ("tick_to_trade").
func (s Stage) String() string {
	if s < NumStages {
		return stageNames[s]
	}
	return "stage(" + strconv.Itoa(int(s)) + ")"
}

// Point is one stamp on the path: the moment a stage ends.
type Point uint8

// The stamps of one event, in path order.
const (
	AtReceipt Point = iota // frame received (before decode)
	AtDecoded              // frame decoded
	AtApplied              // book applied
	AtDecided              // strategy decided
	AtChecked              // risk checked
	AtReady                // order bytes ready
	AtSent                 // handed to the socket
	numPoints
)

// Stamps are the monotonic times (Now) of one event at each Point; zero
// means not taken (the feed decodes and applies in one call, for one, so
// AtDecoded may stay zero). A plain value: the core keeps one per event on
// its stack or in its own struct.
type Stamps [numPoints]int64

// Histogram bounds: 1 ns to 60 s at 3 significant digits (~50 KiB each).
const (
	// MaxValue is the largest value recorded, in ns; larger values are
	// clamped to it and counted in Clamped.
	MaxValue = int64(60 * time.Second)
	// SigFigs is the histograms' precision in significant decimal digits.
	SigFigs = 3
)

// Stages holds one HDR histogram (ns) per Stage. It is owned by one
// goroutine (the engine core's); other goroutines keep their own and Merge
// them at the end of a run. See the package comment.
type Stages struct {
	h [NumStages]*hdr.Histogram
	// Clamped counts values outside 0..MaxValue recorded at the nearest
	// bound (a negative interval means stamps out of order).
	Clamped uint64
}

// New returns a Stages with every histogram allocated.
func New() *Stages {
	s := &Stages{}
	for i := range s.h {
		s.h[i] = hdr.New(1, MaxValue, SigFigs)
	}
	return s
}

// Record adds one interval of ns nanoseconds to stage st. It does not
// allocate; an unknown stage is ignored.
func (s *Stages) Record(st Stage, ns int64) {
	if st >= NumStages {
		return
	}
	if ns < 0 {
		ns = 0
		s.Clamped++
	} else if ns > MaxValue {
		ns = MaxValue
		s.Clamped++
	}
	// In range by construction: RecordValue cannot fail (and so builds no
	// error).
	_ = s.h[st].RecordValue(ns)
}

// RecordStamps records the stages of one event from its stamps: each stage
// whose start and end stamps are both taken, with a missing stamp bridged
// by the previous one taken (Decode+Apply land in Apply when only
// AtReceipt and AtApplied are set), and TickToTrade from AtReceipt to
// AtSent. It does not allocate.
func (s *Stages) RecordStamps(t *Stamps) {
	prev := t[AtReceipt]
	for p := AtDecoded; p <= AtSent; p++ {
		if t[p] == 0 || prev == 0 {
			continue
		}
		s.Record(Stage(p-1), t[p]-prev)
		prev = t[p]
	}
	if t[AtReceipt] != 0 && t[AtSent] != 0 {
		s.Record(TickToTrade, t[AtSent]-t[AtReceipt])
	}
}

// Histogram returns stage st's histogram (nil for an unknown stage), for
// callers that want more than the report. Owner goroutine only.
func (s *Stages) Histogram(st Stage) *hdr.Histogram {
	if st >= NumStages {
		return nil
	}
	return s.h[st]
}

// Merge adds every value of o into s. Call it from s's owner once o's owner
// has stopped recording (at the end of a run).
func (s *Stages) Merge(o *Stages) {
	for i := range s.h {
		s.h[i].Merge(o.h[i])
	}
	s.Clamped += o.Clamped
}

// Reset empties every histogram and keeps their storage.
func (s *Stages) Reset() {
	for _, h := range s.h {
		h.Reset()
	}
	s.Clamped = 0
}

// StageReport is one stage's distribution, in microseconds.
type StageReport struct {
	Stage string  `json:"stage"`
	Count int64   `json:"count"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P99   float64 `json:"p99_us"`
	P999  float64 `json:"p99_9_us"`
	Max   float64 `json:"max_us"`
}

// Report is every stage's distribution, as the demo's summary and /status
// JSON show it. Stages with no values are left out.
type Report struct {
	Stages  []StageReport `json:"stages"`
	Clamped uint64        `json:"clamped,omitempty"`
}

// Summarize returns the distribution of h (ns) in µs under name. Cold.
func Summarize(name string, h *hdr.Histogram) StageReport {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return StageReport{
		Stage: name,
		Count: h.TotalCount(),
		P50:   us(h.ValueAtQuantile(50)),
		P90:   us(h.ValueAtQuantile(90)),
		P99:   us(h.ValueAtQuantile(99)),
		P999:  us(h.ValueAtQuantile(99.9)),
		Max:   us(h.Max()),
	}
}

// Report summarizes every stage that has values. Cold: it allocates.
func (s *Stages) Report() Report {
	r := Report{Clamped: s.Clamped}
	for i, h := range s.h {
		if h.TotalCount() == 0 {
			continue
		}
		r.Stages = append(r.Stages, Summarize(Stage(i).String(), h))
	}
	return r
}

// WriteText writes the report as an aligned text table, one stage a line:
//
//	stage              count     p50µs     p90µs     p99µs   p99.9µs     maxµs
//	tick_to_trade     100000     0.912     1.020     1.480     3.100    41.000
func (r Report) WriteText(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "%-14s %10s %9s %9s %9s %9s %9s\n", "stage", "count", "p50µs", "p90µs", "p99µs", "p99.9µs", "maxµs"); err != nil {
		return err
	}
	for _, st := range r.Stages {
		if _, err := fmt.Fprintf(w, "%-14s %10d %9.3f %9.3f %9.3f %9.3f %9.3f\n", st.Stage, st.Count, st.P50, st.P90, st.P99, st.P999, st.Max); err != nil {
			return err
		}
	}
	if r.Clamped > 0 {
		if _, err := fmt.Fprintf(w, "(%d values clamped to 0..%v)\n", r.Clamped, time.Duration(MaxValue)); err != nil {
			return err
		}
	}
	return nil
}
