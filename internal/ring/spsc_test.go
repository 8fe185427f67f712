package ring

import (
	"errors"
	"runtime"
	"testing"
	"unsafe"
)

func TestNewCapacity(t *testing.T) {
	for _, c := range []int{1, 2, 4, 1024, MaxCapacity >> 10} {
		r, err := New[int](c)
		if err != nil {
			t.Fatalf("New(%d): %v", c, err)
		}
		if r.Cap() != c || r.Len() != 0 {
			t.Fatalf("New(%d): Cap %d Len %d, want %d 0", c, r.Cap(), r.Len(), c)
		}
	}
	for _, c := range []int{0, -1, 3, 6, 1000, MaxCapacity + 1, MaxCapacity * 2} {
		r, err := New[int](c)
		if err == nil || !errors.Is(err, ErrCapacity) || r != nil {
			t.Fatalf("New(%d): got %v, %v; want nil, ErrCapacity", c, r, err)
		}
	}
	_, err := New[int](1000)
	if got, want := err.Error(), "ring: bad capacity: 1000 is not a power of two (next is 1024)"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestLayout checks that fields written by different goroutines do not
// share a (pair of) cache line(s).
func TestLayout(t *testing.T) {
	var r SPSC[int64]
	offs := []struct {
		name string
		off  uintptr
	}{
		{"buf", unsafe.Offsetof(r.buf)},
		{"tail", unsafe.Offsetof(r.tail)},
		{"ptail", unsafe.Offsetof(r.ptail)},
		{"head", unsafe.Offsetof(r.head)},
		{"chead", unsafe.Offsetof(r.chead)},
	}
	for i := 1; i < len(offs); i++ {
		if d := offs[i].off - offs[i-1].off; d < pad {
			t.Errorf("%s is %d bytes after %s, want >= %d", offs[i].name, d, offs[i-1].name, pad)
		}
	}
	if end := unsafe.Sizeof(r) - unsafe.Offsetof(r.chead); end < pad {
		t.Errorf("chead is %d bytes from the end, want >= %d", end, pad)
	}
	if unsafe.Offsetof(r.buf) < pad {
		t.Errorf("buf at offset %d, want >= %d", unsafe.Offsetof(r.buf), pad)
	}
	if unsafe.Offsetof(r.phead) != unsafe.Offsetof(r.ptail)+8 || unsafe.Offsetof(r.ctail) != unsafe.Offsetof(r.chead)+8 {
		t.Errorf("private fields not adjacent to their owner's sequence")
	}
}

func mustNew[T any](t testing.TB, c int) *SPSC[T] {
	t.Helper()
	r, err := New[T](c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFIFOAndEdges(t *testing.T) {
	r := mustNew[int](t, 4)
	var v int
	if r.TryPop(&v) {
		t.Fatalf("TryPop on empty ring: got true (%d), want false", v)
	}
	if n := r.PopBatch(make([]int, 4)); n != 0 {
		t.Fatalf("PopBatch on empty ring: got %d, want 0", n)
	}
	for i := range 4 {
		v = i
		if !r.TryPush(&v) {
			t.Fatalf("TryPush #%d into ring of 4: got false, want true", i)
		}
		if r.Len() != i+1 {
			t.Fatalf("Len after %d pushes: got %d", i+1, r.Len())
		}
	}
	v = 99
	if r.TryPush(&v) {
		t.Fatal("TryPush into full ring: got true, want false")
	}
	if r.Len() != 4 {
		t.Fatalf("Len of full ring: got %d, want 4", r.Len())
	}
	for i := range 4 {
		if !r.TryPop(&v) || v != i {
			t.Fatalf("TryPop #%d: got %d, want %d", i, v, i)
		}
	}
	if r.TryPop(&v) {
		t.Fatalf("TryPop on drained ring: got true (%d), want false", v)
	}
	if r.Len() != 0 {
		t.Fatalf("Len of drained ring: got %d, want 0", r.Len())
	}
}

func TestCapacityOne(t *testing.T) {
	r := mustNew[int](t, 1)
	for i := range 10 {
		v := i
		if !r.TryPush(&v) {
			t.Fatalf("push %d: got false", i)
		}
		if r.TryPush(&v) {
			t.Fatalf("second push %d into ring of 1: got true", i)
		}
		var got int
		if !r.TryPop(&got) || got != i {
			t.Fatalf("pop: got %d, want %d", got, i)
		}
	}
}

// TestWrapAround drives the sequences far past the capacity with uneven
// push/pop strides, checking FIFO order and PopBatch's two-segment copy.
func TestWrapAround(t *testing.T) {
	r := mustNew[uint64](t, 8)
	var next, want uint64
	dst := make([]uint64, 5)
	for round := range 1000 {
		pushes := 1 + round%8
		for range pushes {
			v := next
			if !r.TryPush(&v) {
				break
			}
			next++
		}
		if r.Len() != int(next-want) {
			t.Fatalf("round %d: Len %d, want %d", round, r.Len(), next-want)
		}
		if round%3 == 0 {
			var v uint64
			if r.TryPop(&v) {
				if v != want {
					t.Fatalf("round %d: TryPop got %d, want %d", round, v, want)
				}
				want++
			}
			continue
		}
		n := r.PopBatch(dst[:1+round%5])
		if wantN := min(int(next-want), 1+round%5); n != wantN {
			t.Fatalf("round %d: PopBatch got %d values, want %d", round, n, wantN)
		}
		for _, v := range dst[:n] {
			if v != want {
				t.Fatalf("round %d: PopBatch got %d, want %d", round, v, want)
			}
			want++
		}
	}
	if want < 1000 {
		t.Fatalf("only %d values passed through, want the ring to wrap many times", want)
	}
}

func TestPushWaitsForSpace(t *testing.T) {
	r := mustNew[int](t, 2)
	for i := range 2 {
		v := i
		r.Push(&v, nil)
	}
	// The ring is full: the idle func runs on the producer while it waits,
	// and here it plays the consumer, so Push can only return after idle was
	// called at least once and made room.
	calls := 0
	v := 2
	r.Push(&v, func(n int) {
		calls++
		if n != calls {
			t.Errorf("idle(%d) on call %d", n, calls)
		}
		if n == 3 {
			var got int
			if !r.TryPop(&got) || got != 0 {
				t.Errorf("pop in idle: got %d, want 0", got)
			}
		}
	})
	if calls != 3 {
		t.Fatalf("idle called %d times, want 3", calls)
	}
	for want := 1; want <= 2; want++ {
		var got int
		if !r.TryPop(&got) || got != want {
			t.Fatalf("pop: got %d, want %d", got, want)
		}
	}
}

// event is a 64-byte value whose words are all derived from its sequence, so
// a torn copy (words from two different pushes) is detected.
type event struct {
	seq  uint64
	w    [6]uint64
	csum uint64
}

func makeEvent(seq uint64) event {
	e := event{seq: seq}
	x := seq*0x9E3779B97F4A7C15 + 1
	for i := range e.w {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		e.w[i] = x
	}
	e.csum = e.sum()
	return e
}

func (e *event) sum() uint64 {
	s := e.seq
	for _, w := range e.w {
		s = s*31 + w
	}
	return s
}

func (e *event) check(t *testing.T, want uint64) {
	t.Helper()
	if e.seq != want {
		t.Fatalf("got seq %d, want %d (lost, duplicated or reordered)", e.seq, want)
	}
	if *e != makeEvent(want) || e.csum != e.sum() {
		t.Fatalf("seq %d: torn or corrupt value %+v", want, *e)
	}
}

func TestEventSize(t *testing.T) {
	if s := unsafe.Sizeof(event{}); s != 64 {
		t.Fatalf("event is %d bytes, want 64", s)
	}
}

// TestConcurrent passes 1e6 64-byte events from one goroutine to another
// through a small ring (so it is full and empty many times), checking
// sequence continuity and content. Run with -race.
func TestConcurrent(t *testing.T) {
	const total = 1_000_000
	for _, tc := range []struct {
		name  string
		batch int // 0: TryPop one at a time
	}{{"TryPop", 0}, {"PopBatch", 16}} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustNew[event](t, 64)
			done := make(chan struct{})
			go func() {
				defer close(done)
				idle := func(int) { runtime.Gosched() }
				for i := range uint64(total) {
					e := makeEvent(i)
					if i%2 == 0 {
						r.Push(&e, idle)
					} else {
						for !r.TryPush(&e) {
							runtime.Gosched()
						}
					}
				}
			}()
			var want uint64
			var e event
			buf := make([]event, tc.batch)
			// idle fails the test instead of waiting forever when the
			// producer has finished and values are missing.
			idle := func(want uint64) {
				select {
				case <-done:
					if r.Len() == 0 {
						t.Fatalf("producer done, ring empty, got %d of %d values", want, total)
					}
				default:
					runtime.Gosched()
				}
			}
			for want < total {
				if tc.batch == 0 {
					if !r.TryPop(&e) {
						idle(want)
						continue
					}
					e.check(t, want)
					want++
					continue
				}
				n := r.PopBatch(buf)
				if n == 0 {
					idle(want)
					continue
				}
				for i := range buf[:n] {
					buf[i].check(t, want)
					want++
				}
			}
			<-done
			if r.TryPop(&e) {
				t.Fatalf("extra value after %d: seq %d", total, e.seq)
			}
			if r.Len() != 0 {
				t.Fatalf("Len after drain: got %d, want 0", r.Len())
			}
		})
	}
}
