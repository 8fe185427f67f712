//go:build !race

package coinbase

import (
	"bytes"
	"testing"

	"arbmm/book"
)

// TestHandleZeroAlloc: once the products' books exist, Handle allocates
// nothing for real update frames (fast path: decode straight to fixed
// point, sequence check, apply, commit and publish), for update frames the
// general path decodes (white space), for frames of other channels, for
// malformed frames and for a gap with its resync requests.
func TestHandleZeroAlloc(t *testing.T) {
	for _, mode := range []replayMode{modeHTTP, modeLearned} {
		t.Run(mode.String(), func(t *testing.T) {
			f, updates := updateStream(t, mode)
			btc, eth := f.Symbol("BTC-USD"), f.Symbol("ETH-USD")
			applied := btc.Updates + eth.Updates
			i := 0
			allocs := testing.AllocsPerRun(len(updates)-1, func() {
				if err := f.Handle(updates[i], 1); err != nil {
					t.Fatal(err)
				}
				i++
			})
			if allocs != 0 {
				t.Errorf("Handle(update) allocates %v times per frame, want 0", allocs)
			}
			if got := btc.Updates + eth.Updates - applied; got != uint64(len(updates)) || btc.Book.State() != book.Live || eth.Book.State() != book.Live {
				t.Fatalf("%d of %d updates applied: the runs did not take the full path", got, len(updates))
			}

			// The general path: the same content with white space.
			seq := f.Conn().LastSeq
			spaced := make([][]byte, 0, 600)
			for k := 0; k < 600; k++ {
				seq++
				fr := setSeq(t, frame(0, "update BTC-USD bid:1.00:1", "update ETH-USD offer:100000.00:0"), seq)
				spaced = append(spaced, bytes.ReplaceAll(fr, []byte(`,"`), []byte(`, "`)))
			}
			i = 0
			allocs = testing.AllocsPerRun(len(spaced)-1, func() {
				if err := f.Handle(spaced[i], 1); err != nil {
					t.Fatal(err)
				}
				i++
			})
			if allocs != 0 {
				t.Errorf("Handle(general-path update) allocates %v times per frame, want 0", allocs)
			}

			other := [][]byte{
				heartbeat(0),
				[]byte(`{"channel":"ticker","client_id":"","timestamp":"2026-08-09T21:05:48.6Z","sequence_num":0,"events":[{"type":"update","tickers":[]}]}`),
				[]byte(`{"type":"error","message":"failure to subscribe"}`),
				[]byte(`{"channel":"l2_data","sequence_num":0,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","price_level":"1.001","new_quantity":"1"}]}]}`),
				[]byte(`{"channel":"l2_data","sequence_num":0,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"buy","price_level":"1","new_quantity":"1"}]}]}`),
				[]byte(`{"channel":"l2_data","sequence_num":0,"events":[{"type":"update","product_id":"SOL-USD","updates":[]}]}`),
				[]byte(`not json`),
			}
			resyncs := make([]string, 0, 4)
			allocs = testing.AllocsPerRun(200, func() {
				seq++
				for _, fr := range other {
					f.Handle(setSeqInPlace(fr, seq), 1) // mostly gaps: every product resyncs
				}
				resyncs = f.TakeResyncs(resyncs[:0])
			})
			if allocs != 0 {
				t.Errorf("Handle(other frames) allocates %v times per run, want 0", allocs)
			}
			if c := f.Counters().Load(); c.DecodeErrors == 0 || c.Ignored == 0 || c.Resyncs == 0 || f.Conn().Gaps == 0 {
				t.Fatalf("the other frames did not take their paths: %+v %+v", c, f.Conn())
			}
		})
	}
}

// setSeqInPlace overwrites the sequence_num digits of fr with seq modulo
// their width, without allocating (the gaps it makes are the point).
func setSeqInPlace(fr []byte, seq int64) []byte {
	const key = `"sequence_num":`
	i := bytes.Index(fr, []byte(key))
	if i < 0 {
		return fr
	}
	fr[i+len(key)] = byte('0' + seq%10)
	return fr
}
