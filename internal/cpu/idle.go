package cpu

import (
	"fmt"
	"runtime"
	"time"
)

// Idle is how a polling loop waits when its sources are empty. It trades
// the latency of the next event against the CPU burnt while there is none.
type Idle uint8

const (
	// Spin busy-polls: Idler.Idle returns at once. The next event is seen
	// within one poll (tens of ns) but the loop's CPU runs at 100% even when
	// the market is quiet. For colocated production on a pinned, isolated
	// core.
	Spin Idle = iota
	// Yield calls runtime.Gosched on every empty poll: other goroutines on
	// the same P get to run, and the next event is seen after at most their
	// time slice, usually within a microsecond. The OS still sees a busy
	// thread. For shared machines where the loop is not pinned.
	Yield
	// Park backs off: it spins for ParkSpins empty polls, yields for the next
	// ParkYields, then sleeps, starting at ParkMinSleep and doubling up to
	// ParkMaxSleep. A quiet loop uses almost no CPU, but the first event after
	// a quiet spell waits up to ParkMaxSleep plus the OS timer slack (~50 µs
	// on Linux). For laptops, CI and demos.
	Park
)

// Park's back-off schedule, counted in consecutive empty polls.
const (
	ParkSpins    = 64
	ParkYields   = 64
	ParkMinSleep = 50 * time.Microsecond
	ParkMaxSleep = time.Millisecond
)

var idleNames = [...]string{Spin: "spin", Yield: "yield", Park: "park"}

// String returns the config spelling: "spin", "yield" or "park".
func (m Idle) String() string {
	if int(m) < len(idleNames) {
		return idleNames[m]
	}
	return fmt.Sprintf("Idle(%d)", uint8(m))
}

// ParseIdle parses a config value: "spin", "yield" or "park" (exact,
// lower case).
func ParseIdle(s string) (Idle, error) {
	for m, name := range idleNames {
		if s == name {
			return Idle(m), nil
		}
	}
	return 0, fmt.Errorf("cpu: unknown idle strategy %q (want spin, yield or park)", s)
}

// Idler applies an Idle strategy in a polling loop. The zero Idler spins.
// It is an immutable value, free to copy.
type Idler struct {
	mode Idle
}

// NewIdler returns an Idler for mode. An unknown mode behaves as Spin.
func NewIdler(mode Idle) Idler { return Idler{mode: mode} }

// Mode returns the strategy d applies.
func (d Idler) Mode() Idle { return d.mode }

// Idle waits as d's strategy says after n consecutive empty polls (n >= 1;
// the caller resets its count when a poll finds work). It does not allocate.
// Its method value fits ring.SPSC.Push's idle argument.
func (d Idler) Idle(n int) {
	switch d.mode {
	case Yield:
		runtime.Gosched()
	case Park:
		switch sleep := parkSleep(n); {
		case sleep > 0:
			time.Sleep(sleep)
		case n > ParkSpins:
			runtime.Gosched()
		}
	}
}

// parkSleep returns how long Park sleeps after n empty polls: 0 while it
// spins or yields, then ParkMinSleep doubling up to ParkMaxSleep.
func parkSleep(n int) time.Duration {
	k := n - ParkSpins - ParkYields - 1
	if k < 0 {
		return 0
	}
	if k > 5 { // 50µs << 5 = 1.6ms: already past the cap
		return ParkMaxSleep
	}
	return min(ParkMinSleep<<k, ParkMaxSleep)
}
