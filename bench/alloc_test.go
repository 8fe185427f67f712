//go:build !race

package bench

import "testing"

// TestTickToTradeZeroAlloc: one full iteration of the tick-to-trade path
// (a new frame built, decoded and applied, both tops read, the decision,
// both risk checks, both orders encoded and signed) allocates nothing.
func TestTickToTradeZeroAlloc(t *testing.T) {
	h := newT2T(t)
	warm(h)
	ok := true
	n := testing.AllocsPerRun(2000, func() {
		ok = h.run(h.nextFrame(), h.evNs) && ok
	})
	if !ok {
		t.Fatal("an iteration made no orders")
	}
	if n != 0 {
		t.Errorf("one tick-to-trade iteration allocates %v times, want 0", n)
	}
}

// TestStagesZeroAlloc: Record and RecordStamps allocate nothing, values out
// of range included (they are clamped, not refused with a built error).
func TestStagesZeroAlloc(t *testing.T) {
	st := New()
	s := Stamps{AtReceipt: 100, AtApplied: 900, AtDecided: 1200, AtChecked: 1300, AtReady: 1900, AtSent: 2500}
	n := testing.AllocsPerRun(1000, func() {
		st.Record(Decode, 250)
		st.Record(Send, -1)
		st.Record(TickToTrade, MaxValue+1)
		st.RecordStamps(&s)
	})
	if n != 0 {
		t.Errorf("Record allocates %v times, want 0", n)
	}
}

// TestQuoteToWireZeroAlloc: a book event → six signed cancel-replaces
// iteration (and the acks) allocates nothing.
func TestQuoteToWireZeroAlloc(t *testing.T) {
	h := newQ2W(t)
	h.warm(t)
	bad := 0
	n := testing.AllocsPerRun(1000, func() {
		if h.quote(h.quoteFrame(), h.evNs) != 6 {
			bad++
		}
		h.ack()
	})
	if bad != 0 {
		t.Fatalf("%d iterations without six requests", bad)
	}
	if n != 0 {
		t.Errorf("one quote iteration allocates %v times, want 0", n)
	}
}
