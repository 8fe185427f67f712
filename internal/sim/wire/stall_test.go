package wire

import (
	"testing"
	"time"
)

func TestStallEndsWhenSwitchedOff(t *testing.T) {
	var st Stats
	sw := NewSwitch(Faults{StallEvery: time.Millisecond, StallFor: time.Hour})
	s := startServer(t, func(uint64) Config { return Config{Faults: sw, Stats: &st} })
	cl := s.dial(t)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; st.Stalled.Load() == 0; i++ {
		<-tick.C
		sendMD(t, cl.c, i)
	}
	sendEnd(t, cl.c)
	cl.until(t, endMarker)
	sw.Set(Faults{}) // the fault stops
	sendMD(t, cl.c, 999999)
	sendEnd(t, cl.c)
	if got := cl.until(t, endMarker); len(got) != 1 {
		t.Errorf("after Set(Faults{}) got %d market-data frames, want 1 (Stalled = %d)", len(got), st.Stalled.Load())
	}
}
