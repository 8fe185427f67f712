//go:build !race

package okx

import (
	"testing"
)

// TestHandleZeroAllocIdempotent: once the books exist and the scratch has grown,
// Handle allocates nothing for an update (decode, scan to fixed point,
// sequence check, apply, truncate, checksum, commit). Re-applying the last
// update of the 2022 capture is idempotent (levels are absolute), so its
// checksum keeps verifying and every run takes the full path.
func TestHandleZeroAllocIdempotent(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	for _, inst := range []bool{false, true} {
		cfg := Config{}
		if inst {
			cfg.Instruments = instruments(t)
		}
		f := newFeed(t, cfg)
		replay(t, f, frames, recv)
		last := -1
		for i, fr := range frames {
			if isBook(fr) && instOf(fr) == "BTC-USDT" {
				last = i
			}
		}
		s := symbol(t, f, "BTC-USDT")
		ok0 := s.ChecksumOK
		runs := 0
		allocs := testing.AllocsPerRun(500, func() {
			runs++
			if err := f.Handle(frames[last], 1); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("instruments %v: Handle(update) allocates %v times per run, want 0", inst, allocs)
		}
		if s.ChecksumOK != ok0+uint64(runs) || s.ChecksumFail != 0 {
			t.Errorf("checksums %d (+%d runs), %d failed: the runs did not take the full path", s.ChecksumOK, runs, s.ChecksumFail)
		}
	}
}

// TestHandleZeroAllocSequenced: the sequenced capture's frames (each a new
// update continuing the chain, with tickers, trades and events between),
// handled in order, allocate nothing.
func TestHandleZeroAllocSequenced(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	seqFrames, _ := sequenced(frames, false)
	f := newFeed(t, Config{Instruments: instruments(t)})
	const warm = 150
	replay(t, f, seqFrames[:warm], recv[:warm])
	i := warm
	allocs := testing.AllocsPerRun(len(frames)-warm-1, func() {
		if err := f.Handle(seqFrames[i], recv[i]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Handle allocates %v times per frame, want 0", allocs)
	}
	for name, want := range wantChecksums {
		if s := symbol(t, f, name); s.ChecksumOK != want || s.ChecksumFail != 0 || s.SeqGaps != 0 {
			t.Errorf("%s: %d verified, %d failed, %d gaps", name, s.ChecksumOK, s.ChecksumFail, s.SeqGaps)
		}
	}
}

// TestOtherFramesZeroAlloc: events, pong, other channels, unknown
// instruments and malformed frames no book can be blamed for allocate
// nothing, nor does draining an empty resync queue.
func TestOtherFramesZeroAlloc(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	f := newFeed(t, Config{Instruments: instruments(t)})
	replay(t, f, frames[:40], recv[:40])
	other := [][]byte{
		[]byte(`pong`),
		[]byte(`{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}`),
		[]byte(`{"event":"error","code":"60012","msg":"Invalid request: {\"op\": \"subscribe\"}","connId":"a4d3ae55"}`),
		[]byte(`{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"30226.7"}]}`),
		[]byte(`{"arg":{"channel":"books","instId":"ETH-USDT"},"action":"update","data":[{"asks":[["1","1","0","1"]],"bids":[]}]}`),
		[]byte(`{"arg":{"channel":"books","instId":`),
		[]byte(`{"arg":{"channel":"books"},"action":"update","data":[{}]}`),
	}
	for _, fr := range frames[:40] {
		if !isBook(fr) {
			other = append(other, fr)
		}
	}
	buf := make([]string, 0, 4)
	allocs := testing.AllocsPerRun(500, func() {
		for _, fr := range other {
			f.Handle(fr, 1)
		}
		buf = f.TakeResyncs(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("Handle(other frames) allocates %v times per run, want 0", allocs)
	}
	if len(buf) != 0 {
		t.Errorf("resyncs %v", buf)
	}
}
