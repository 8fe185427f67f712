package exec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	const min = int64(time.Minute)
	w := Window{Limit: 100, Interval: time.Minute, Reserve: 10}
	t0 := 5*min + 1 // inside the window starting at 5 min
	for i := 0; i < 9; i++ {
		if !w.Take(10, t0) {
			t.Fatalf("take %d refused at %d used", i, w.Used(t0))
		}
	}
	if w.Take(1, t0) {
		t.Fatal("took past Limit-Reserve (90)")
	}
	if got := w.NextAllowed(1, t0); got != 6*min {
		t.Errorf("NextAllowed = %d, want the next window %d", got, 6*min)
	}
	if !w.Take(50, 6*min) || w.Used(6*min) != 50 {
		t.Errorf("new window: used %d, want 50", w.Used(6*min))
	}
	w.Observe(70, 6*min+1) // the venue counted more (requests in flight)
	if got := w.Used(6 * min); got != 70 {
		t.Errorf("after Observe(70): used %d, want 70", got)
	}
	w.Observe(10, 6*min+2) // a lower count does not forget our own
	if got := w.Used(6 * min); got != 70 {
		t.Errorf("after Observe(10): used %d, want 70", got)
	}
	w.Block(8 * min)
	if w.Take(1, 7*min) {
		t.Error("took while blocked")
	}
	if !w.Take(1, 8*min) {
		t.Error("refused after the block ended")
	}
	if w.Refused() != 2 {
		t.Errorf("refused %d, want 2", w.Refused())
	}
}

func TestCounter(t *testing.T) {
	c := Counter{Max: 15, DecayPerSec: 0.5, Reserve: 1}
	now := int64(1e9)
	for i := 0; i < 14; i++ {
		if !c.Take(1, now) {
			t.Fatalf("take %d refused", i)
		}
	}
	if c.Take(1, now) {
		t.Fatal("took past Max-Reserve")
	}
	now += 2e9 // decays by 1
	if !c.Take(1, now) {
		t.Fatal("refused after decay")
	}
	if v := c.Value(now + 100e9); v != 0 {
		t.Errorf("value after a long idle = %v, want 0", v)
	}
}

func TestNoncesPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kraken.nonce")
	n, err := OpenNonces(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	var last uint64
	for i := 0; i < 1000; i++ {
		v, err := n.Next(now) // the same instant: still increasing
		if err != nil {
			t.Fatal(err)
		}
		if v <= last {
			t.Fatalf("nonce %d after %d", v, last)
		}
		last = v
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("nonce file mode %v, want 0600", fi.Mode().Perm())
	}
	// A restart with the clock stepped back still continues above.
	n2, err := OpenNonces(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := n2.Next(now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if v <= last {
		t.Fatalf("after restart: nonce %d, want > %d", v, last)
	}
	// Concurrent callers never share a nonce.
	seen := sync.Map{}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				v, err := n2.Next(time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				if _, dup := seen.LoadOrStore(v, true); dup {
					t.Errorf("nonce %d handed out twice", v)
				}
			}
		}()
	}
	wg.Wait()
	if err := os.WriteFile(path, []byte("not a number\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenNonces(path); err == nil || !strings.Contains(err.Error(), "is not a nonce") {
		t.Errorf("corrupt nonce file: got %v, want an error", err)
	}
}

func TestClock(t *testing.T) {
	var c Clock
	c.Sample(1000, 3000, 10_000) // rtt 2000, offset 10000-2000 = 8000
	if c.Offset() != 8000 || c.RTT() != 2000 {
		t.Fatalf("offset %d rtt %d, want 8000 and 2000", c.Offset(), c.RTT())
	}
	c.Sample(5000, 15000, 99_999) // a worse round trip: ignored
	if c.Offset() != 8000 {
		t.Errorf("a worse sample replaced the offset: %d", c.Offset())
	}
	c.Sample(20000, 20500, 28_300) // better: offset 28300-20250 = 8050
	if c.Offset() != 8050 {
		t.Errorf("offset %d, want 8050", c.Offset())
	}
	if got := c.VenueTime(100); got != 8150 {
		t.Errorf("VenueTime(100) = %d, want 8150", got)
	}
	late := int64(20500) + ClockSampleTTL + 1
	c.Sample(late-4000, late, late+1000) // worse, but the kept sample is old
	if c.Offset() != 3000 {
		t.Errorf("after the kept sample aged: offset %d, want 3000", c.Offset())
	}
}

func TestIDs(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	a := NewIDs(now)
	b := NewIDs(now.Add(time.Millisecond)) // a restart one millisecond later
	seen := map[uint64]bool{}
	for i := 0; i < 100000; i++ {
		for _, g := range []*IDs{a, b} {
			id := uint64(g.Next(now))
			if seen[id] {
				t.Fatalf("id %x made twice", id)
			}
			seen[id] = true
		}
	}
	// Running out of counter takes a new epoch, still unique.
	g := NewIDs(now)
	g.n = 1<<idCounterBits - 2
	x, y := g.Next(now), g.Next(now)
	if x == y || y <= x {
		t.Errorf("ids across the epoch change: %x then %x", uint64(x), uint64(y))
	}
}

func TestCredentialNeverPrintsSecret(t *testing.T) {
	c := &Credential{ID: "k1", APIKey: "vmPUZE6mv9SD5VNHk4Hl", Kind: HMAC, Secret: []byte("s3cr3t-bytes-here")}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%T %v"} {
		for _, v := range []any{c, *c, []*Credential{c}, struct{ K *Credential }{c}} {
			out := fmt.Sprintf(f, v)
			if strings.Contains(out, "s3cr3t") || strings.Contains(out, "vmPUZE6mv9") || strings.Contains(out, "115 51 99") {
				t.Errorf("%s of %T printed %q", f, v, out)
			}
		}
	}
}
