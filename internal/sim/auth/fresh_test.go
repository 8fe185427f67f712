package auth

import (
	"testing"
	"time"
)

var t0 = time.UnixMilli(1_700_006_400_000).UTC() // 2023-11-15 00:00:00 UTC: minute, 10 s and day aligned

func TestCheckBinanceTimestamp(t *testing.T) {
	now := t0.Add(30 * time.Second)
	n := now.UnixMilli()
	for _, tc := range []struct {
		name   string
		ts, rw int64
		want   error
	}{
		{"now", n, 0, nil},
		{"default window edge", n - 5000, 0, nil},
		{"default window 1ms out", n - 5001, 0, ErrTimestampOld},
		{"explicit window edge", n - 100, 100, nil},
		{"explicit window 1ms out", n - 101, 100, ErrTimestampOld},
		{"max window edge", n - 60000, 60000, nil},
		{"max window 1ms out", n - 60001, 60000, ErrTimestampOld},
		{"ahead 1000", n + 1000, 0, nil},
		{"ahead 1001", n + 1001, 0, ErrTimestampAhead},
		{"window over max", n, 60001, ErrRecvWindow},
		{"negative window", n, -1, ErrRecvWindow},
	} {
		if got := CheckBinanceTimestamp(now, tc.ts, tc.rw); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	if got, want := BinanceCode(ErrTimestampOld), -1021; got != want {
		t.Errorf("code: got %d, want %d", got, want)
	}
	if got, want := BinanceCode(ErrRecvWindow), -1131; got != want {
		t.Errorf("code: got %d, want %d", got, want)
	}
}

func TestReplayCache(t *testing.T) {
	r := NewReplayCache()
	ts := t0.UnixMilli()
	sig := []byte("sig-1")
	if r.Seen(sig, ts, t0) {
		t.Fatal("first: got true, want false")
	}
	if !r.Seen(sig, ts, t0.Add(time.Second)) {
		t.Fatal("second: got false, want true")
	}
	if r.Seen([]byte("sig-2"), ts, t0) {
		t.Fatal("other signature: got true, want false")
	}
	// Remembered until ts+61s inclusive, forgotten after.
	if !r.Seen(sig, ts, t0.Add(61*time.Second)) {
		t.Error("at ts+61s: got false, want true")
	}
	if r.Seen(sig, ts, t0.Add(61*time.Second+time.Millisecond)) {
		t.Error("at ts+61.001s: got true, want false")
	}
	if got := r.Len(); got != 0 {
		t.Errorf("len after expiry: got %d, want 0", got)
	}
	// A timestamp already outside every window is not remembered.
	old := t0.Add(10 * time.Minute)
	if r.Seen(sig, ts, old) || r.Seen(sig, ts, old) {
		t.Error("stale: got true, want false")
	}
	// A fresh use after expiry is remembered again.
	ts2 := old.UnixMilli()
	if r.Seen(sig, ts2, old) {
		t.Error("reuse after expiry: got true, want false")
	}
	if !r.Seen(sig, ts2, old) {
		t.Error("reuse after expiry, again: got false, want true")
	}
}

func TestReplayCacheCap(t *testing.T) {
	r := NewReplayCacheCap(3)
	ts := t0.UnixMilli()
	for _, s := range []string{"a", "b", "c", "d"} {
		if r.Seen([]byte(s), ts, t0) {
			t.Fatalf("%s first: got true, want false", s)
		}
	}
	if got := r.Len(); got != 3 {
		t.Errorf("len: got %d, want 3", got)
	}
	if r.Seen([]byte("a"), ts, t0) {
		t.Error("evicted a: got true, want false")
	}
	if !r.Seen([]byte("d"), ts, t0) {
		t.Error("d: got false, want true")
	}
	// Many entries through a small cache: compaction keeps it consistent.
	r = NewReplayCacheCap(5)
	for i := range 1000 {
		s := []byte{byte(i), byte(i >> 8)}
		if r.Seen(s, ts, t0) {
			t.Fatalf("entry %d first: got true, want false", i)
		}
		if !r.Seen(s, ts, t0) {
			t.Fatalf("entry %d second: got false, want true", i)
		}
	}
	if got := r.Len(); got != 5 {
		t.Errorf("len: got %d, want 5", got)
	}
}
