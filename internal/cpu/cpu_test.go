package cpu

import (
	"errors"
	"testing"
	"time"
)

func TestListString(t *testing.T) {
	check := func(in []int, want string) {
		t.Helper()
		if got := listString(in); got != want {
			t.Errorf("listString(%v): got %q, want %q", in, got, want)
		}
	}
	check(nil, "none")
	check([]int{0}, "0")
	check([]int{0, 1}, "0-1")
	check([]int{0, 1, 2, 3, 6, 8, 9}, "0-3,6,8-9")
	check([]int{2, 4, 6}, "2,4,6")
}

func TestParseIdle(t *testing.T) {
	for _, m := range []Idle{Spin, Yield, Park} {
		got, err := ParseIdle(m.String())
		if err != nil || got != m {
			t.Errorf("ParseIdle(%q): got %v, %v; want %v", m.String(), got, err, m)
		}
	}
	for s, want := range map[string]Idle{"spin": Spin, "yield": Yield, "park": Park} {
		if got, err := ParseIdle(s); err != nil || got != want {
			t.Errorf("ParseIdle(%q): got %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "Spin", "PARK", " yield", "sleep", "busy"} {
		if got, err := ParseIdle(s); err == nil {
			t.Errorf("ParseIdle(%q): got %v, nil; want an error", s, got)
		}
	}
	if got := Idle(7).String(); got != "Idle(7)" {
		t.Errorf("Idle(7).String(): got %q", got)
	}
}

func TestParkSchedule(t *testing.T) {
	check := func(n int, want time.Duration) {
		t.Helper()
		if got := parkSleep(n); got != want {
			t.Errorf("parkSleep(%d): got %v, want %v", n, got, want)
		}
	}
	check(1, 0)
	check(ParkSpins, 0)
	check(ParkSpins+ParkYields, 0)
	first := ParkSpins + ParkYields + 1
	check(first, ParkMinSleep)
	check(first+1, 2*ParkMinSleep)
	check(first+4, 16*ParkMinSleep)
	check(first+5, ParkMaxSleep)
	check(first+1000, ParkMaxSleep)
	check(1<<62, ParkMaxSleep)
	// Monotone and capped.
	prev := time.Duration(0)
	for n := 1; n < first+100; n++ {
		d := parkSleep(n)
		if d < prev || d > ParkMaxSleep {
			t.Fatalf("parkSleep(%d) = %v after %v: want non-decreasing and <= %v", n, d, prev, ParkMaxSleep)
		}
		prev = d
	}
}

// TestParkSleeps checks that Park really sleeps once past its spin and yield
// phases. Only lower bounds: a sleep may always take longer.
func TestParkSleeps(t *testing.T) {
	d := NewIdler(Park)
	if d.Mode() != Park {
		t.Fatalf("Mode: got %v, want park", d.Mode())
	}
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{ParkSpins + ParkYields + 1, ParkMinSleep},
		{1 << 20, ParkMaxSleep},
	} {
		start := time.Now()
		d.Idle(tc.n)
		if got := time.Since(start); got < tc.want {
			t.Errorf("Park Idle(%d) returned after %v, want >= %v", tc.n, got, tc.want)
		}
	}
	// Spin and Yield never sleep; all that can be checked without an upper
	// bound on time is that they return.
	for _, m := range []Idle{Spin, Yield, Idle(9)} {
		NewIdler(m).Idle(1 << 20)
	}
	if (Idler{}).Mode() != Spin {
		t.Errorf("zero Idler: got %v, want spin", (Idler{}).Mode())
	}
}

func TestErrorsDistinct(t *testing.T) {
	if errors.Is(ErrUnsupported, ErrNotAllowed) {
		t.Fatal("sentinels alias")
	}
}
