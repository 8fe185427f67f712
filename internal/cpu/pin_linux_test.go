//go:build linux

package cpu

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func threadCPUs(t *testing.T) []int {
	t.Helper()
	var s unix.CPUSet
	if err := unix.SchedGetaffinity(0, &s); err != nil {
		t.Fatalf("SchedGetaffinity: %v", err)
	}
	return cpus(&s)
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAllowedMatchesAffinity(t *testing.T) {
	got := Allowed()
	if len(got) == 0 {
		t.Fatal("Allowed: got none")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if want := threadCPUs(t); !equal(got, want) {
		t.Fatalf("Allowed: got %v, want the thread's affinity %v", got, want)
	}
}

// TestPin pins to each allowed CPU in turn (first and last at least) and
// reads the affinity back on the locked thread.
func TestPin(t *testing.T) {
	allowed := Allowed()
	try := []int{allowed[0], allowed[len(allowed)-1]}
	for _, c := range try {
		// Each in its own goroutine, so a failure cannot leave the test's
		// goroutine locked or pinned.
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := Pin(c); err != nil {
				t.Errorf("Pin(%d): %v", c, err)
				return
			}
			if got := threadCPUs(t); !equal(got, []int{c}) {
				t.Errorf("after Pin(%d) the thread may run on %v, want exactly [%d]", c, got, c)
			}
			if err := Unpin(); err != nil {
				t.Errorf("Unpin: %v", err)
			}
			// Unpin restored the full set on this thread before unlocking;
			// lock again to read the same thread.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if got := threadCPUs(t); !equal(got, allowed) {
				t.Errorf("after Unpin the thread may run on %v, want %v", got, allowed)
			}
		}()
		<-done
	}
	// Pinning one thread must not shrink what Allowed reports.
	if got := Allowed(); !equal(got, allowed) {
		t.Fatalf("Allowed after Pin/Unpin: got %v, want %v", got, allowed)
	}
}

func TestPinTwiceOnOneThread(t *testing.T) {
	allowed := Allowed()
	// Two different CPUs where there are; on a one-CPU machine the same
	// one twice (re-pinning must still work).
	second := allowed[len(allowed)-1]
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, c := range []int{allowed[0], second} {
			if err := Pin(c); err != nil {
				t.Errorf("Pin(%d): %v", c, err)
				return
			}
			defer Unpin()
			if got := threadCPUs(t); !equal(got, []int{c}) {
				t.Errorf("after Pin(%d): got %v", c, got)
			}
		}
	}()
	<-done
}

func TestPinNotAllowed(t *testing.T) {
	want := "allowed: " + listString(Allowed())
	for _, c := range []int{100000, -1, 1 << 40} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			before := threadCPUs(t)
			err := Pin(c)
			if err == nil {
				Unpin()
				t.Errorf("Pin(%d): got nil error", c)
				return
			}
			if !errors.Is(err, ErrNotAllowed) {
				t.Errorf("Pin(%d): got %v, want ErrNotAllowed", c, err)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Pin(%d): got %q, want it to name the allowed set (%q)", c, err, want)
			}
			if got := threadCPUs(t); !equal(got, before) {
				t.Errorf("failed Pin(%d) changed the affinity: %v -> %v", c, before, got)
			}
		}()
		<-done
	}
}
