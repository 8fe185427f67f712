//go:build linux

package cpu

import (
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// allowedSet is the CPU set the process may run on, read once, before any
// Pin narrows a thread's set (every Pin reads it first). Go runtime threads
// that a pinned thread would otherwise pass its narrow set to are created
// from an unlocked template thread, so this is also the set new threads get.
var allowedSet = sync.OnceValues(func() (unix.CPUSet, error) {
	var s unix.CPUSet
	err := unix.SchedGetaffinity(0, &s)
	return s, err
})

// Allowed returns the CPUs the process may run on, in increasing order, as
// read from the scheduler affinity (sched_getaffinity) before any Pin. It
// returns nil if the affinity cannot be read.
func Allowed() []int {
	s, err := allowedSet()
	if err != nil {
		return nil
	}
	return cpus(&s)
}

func cpus(s *unix.CPUSet) []int {
	out := make([]int, 0, s.Count())
	for c := 0; len(out) < cap(out); c++ {
		if s.IsSet(c) {
			out = append(out, c)
		}
	}
	return out
}

// Pin locks the calling goroutine to its current OS thread
// (runtime.LockOSThread) and restricts that thread to run only on CPU cpu
// (sched_setaffinity). A cpu outside the process's allowed set is an error
// wrapping ErrNotAllowed that lists the allowed CPUs. On any error the
// goroutine is left as it was: not additionally locked, affinity unchanged.
// Calls nest like runtime.LockOSThread: each successful Pin is undone by one
// Unpin.
func Pin(cpu int) error {
	allowed, err := allowedSet()
	if err != nil {
		return fmt.Errorf("cpu: reading the allowed CPUs: %w", err)
	}
	if cpu < 0 || !allowed.IsSet(cpu) { // IsSet is false past the set's end
		return fmt.Errorf("cpu: cannot pin to CPU %d: %w; allowed: %s", cpu, ErrNotAllowed, listString(cpus(&allowed)))
	}
	runtime.LockOSThread()
	var one unix.CPUSet
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cpu: pinning to CPU %d (allowed: %s): %w", cpu, listString(cpus(&allowed)), err)
	}
	return nil
}

// Unpin gives the calling goroutine's thread back the process's allowed CPU
// set and undoes one runtime.LockOSThread. Call it from the goroutine that
// called Pin, once per successful Pin.
func Unpin() error {
	allowed, err := allowedSet()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cpu: reading the allowed CPUs: %w", err)
	}
	err = unix.SchedSetaffinity(0, &allowed)
	runtime.UnlockOSThread()
	if err != nil {
		return fmt.Errorf("cpu: restoring affinity %s: %w", listString(cpus(&allowed)), err)
	}
	return nil
}
