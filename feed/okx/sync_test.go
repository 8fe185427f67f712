package okx

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"arbmm/book"
	"arbmm/internal/market"
)

var (
	reInst = regexp.MustCompile(`"instId":"([^"]+)"`)
	reTs   = regexp.MustCompile(`"ts":"(\d+)"`)
	reCS   = regexp.MustCompile(`"checksum":-?\d+`)
)

func instOf(fr []byte) string {
	if m := reInst.FindSubmatch(fr); m != nil {
		return string(m[1])
	}
	return ""
}

func tsOf(tb testing.TB, fr []byte) int64 {
	m := reTs.FindSubmatch(fr)
	if m == nil {
		tb.Fatalf("no ts in %.100s", fr)
	}
	v, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return v
}

// sequenced rewrites the capture's books frames as OKX sends them since
// 2022: each with seqId and prevSeqId (the snapshot's prevSeqId -1, then
// each the seqId before; seqIds advance by irregular steps), and, with
// zeroCS, with checksum 0 (as OKX is phasing it out). It returns the
// frames and the seqId of each (0 for other frames).
func sequenced(frames [][]byte, zeroCS bool) ([][]byte, []int64) {
	out := make([][]byte, len(frames))
	seqs := make([]int64, len(frames))
	last := map[string]int64{}
	for i, fr := range frames {
		if !isBook(fr) {
			out[i] = fr
			continue
		}
		inst := instOf(fr)
		prev, ok := last[inst]
		seq := int64(1000*(len(last)+1)) + 7
		if !ok || bytes.Contains(fr, []byte(`"action":"snapshot"`)) {
			prev = -1
		} else {
			seq = prev + 1 + int64(i%13)
		}
		last[inst] = seq
		seqs[i] = seq
		if zeroCS {
			fr = reCS.ReplaceAll(fr, []byte(`"checksum":0`))
		}
		tail := []byte(`}]}`)
		if !bytes.HasSuffix(fr, tail) {
			panic("unexpected frame end")
		}
		b := slices.Clone(fr[:len(fr)-len(tail)])
		b = fmt.Appendf(b, `,"prevSeqId":%d,"seqId":%d`, prev, seq)
		out[i] = append(b, tail...)
	}
	return out, seqs
}

// bookFrame renders the whole of b (at the exponents of in) as a books
// snapshot frame (or, with rest, a REST /api/v5/market/books body) with
// the given fields, the way OKX prints numbers.
func bookFrame(inst string, b *book.Book, in market.Instrument, ts, seq, cs int64, rest bool) []byte {
	var out []byte
	if rest {
		out = append(out, `{"code":"0","msg":"","data":[{`...)
	} else {
		out = fmt.Appendf(out, `{"arg":{"channel":"books","instId":"%s"},"action":"snapshot","data":[{`, inst)
	}
	for k, side := range []market.Side{market.Ask, market.Bid} {
		if k == 0 {
			out = append(out, `"asks":[`...)
		} else {
			out = append(out, `],"bids":[`...)
		}
		for i := range b.Depth(side) {
			l := b.Level(side, i)
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, `["`...)
			out = appendDec(out, int64(l.Price), in.PriceExp, -1)
			out = append(out, `","`...)
			out = appendDec(out, int64(l.Qty), in.QtyExp, -1)
			out = append(out, `","0","1"]`...)
		}
	}
	out = fmt.Appendf(out, `],"ts":"%d"`, ts)
	if !rest {
		out = fmt.Appendf(out, `,"checksum":%d,"prevSeqId":-1,"seqId":%d`, cs, seq)
	}
	return append(out, `}]}`...)
}

// csOf returns the checksum a capture frame carries.
func csOf(tb testing.TB, fr []byte) int64 {
	m := reCS.Find(fr)
	if m == nil {
		tb.Fatalf("no checksum in %.100s", fr)
	}
	v, _ := strconv.ParseInt(string(m[len(`"checksum":`):]), 10, 64)
	return v
}

// nthUpdate returns the index of the n-th update frame of inst.
func nthUpdate(tb testing.TB, frames [][]byte, inst string, n int) int {
	tb.Helper()
	for i, fr := range frames {
		if isBook(fr) && instOf(fr) == inst && bytes.Contains(fr, []byte(`"action":"update"`)) {
			if n == 0 {
				return i
			}
			n--
		}
	}
	tb.Fatalf("no update %d of %s", n, inst)
	return -1
}

// nextOf returns the index of the first books frame of inst after i.
func nextOf(tb testing.TB, frames [][]byte, inst string, i int) int {
	tb.Helper()
	for j := i + 1; j < len(frames); j++ {
		if isBook(frames[j]) && instOf(frames[j]) == inst {
			return j
		}
	}
	tb.Fatalf("no frame of %s after %d", inst, i)
	return -1
}

// TestSequenced replays the capture with OKX's sequence fields: the chain
// holds throughout, every checksum verifies, and each book ends anchored
// at its last seqId. With checksum 0 everywhere (OKX's announced future),
// the checksums count as absent, neither verified nor failed.
func TestSequenced(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	for _, zero := range []bool{false, true} {
		t.Run(fmt.Sprintf("zeroCS=%v", zero), func(t *testing.T) {
			seqFrames, seqs := sequenced(frames, zero)
			f := newFeed(t, Config{Instruments: instruments(t)})
			replay(t, f, seqFrames, recv)
			last := map[string]int64{}
			for i, fr := range seqFrames {
				if seqs[i] != 0 {
					last[instOf(fr)] = seqs[i]
				}
			}
			for name, want := range wantChecksums {
				s := symbol(t, f, name)
				ok, absent := want, uint64(0)
				if zero {
					ok, absent = 0, want
				}
				if s.ChecksumOK != ok || s.ChecksumFail != 0 || s.ChecksumAbsent != absent {
					t.Errorf("%s: checksums ok %d fail %d absent %d, want %d 0 %d", name, s.ChecksumOK, s.ChecksumFail, s.ChecksumAbsent, ok, absent)
				}
				if seq, anchored := s.LastSeq(); !anchored || seq != last[name] {
					t.Errorf("%s: last seq %d %v, want %d", name, seq, anchored, last[name])
				}
				var top book.Top
				s.Book.Read(&top)
				if top.Seq != last[name] || top.State != book.Live {
					t.Errorf("%s: published seq %d state %v, want %d live", name, top.Seq, top.State, last[name])
				}
				if st := s.Book.Stats(); st.Gaps != 0 || st.Resyncs != 0 {
					t.Errorf("%s: %d gaps %d resyncs", name, st.Gaps, st.Resyncs)
				}
			}
		})
	}
}

// TestGapResubscribe deletes one update from the sequenced capture: the
// next update of that instrument is a gap (counted, Stale, one resync
// requested, later updates kept aside, the other instruments unaffected);
// a resubscribe's snapshot (built from a clean replay's book, with the
// checksum OKX sent for that book) makes it Live again, and the rest of
// the capture chains and verifies.
func TestGapResubscribe(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	for _, zero := range []bool{false, true} {
		t.Run(fmt.Sprintf("zeroCS=%v", zero), func(t *testing.T) {
			seqFrames, seqs := sequenced(frames, zero)
			const inst = "BTC-USDT"
			del := nthUpdate(t, seqFrames, inst, 40)
			next := nextOf(t, seqFrames, inst, del)
			f := newFeed(t, Config{Instruments: instruments(t)})
			replay(t, f, seqFrames[:del], recv[:del])
			replay(t, f, seqFrames[del+1:next], recv[del+1:next])
			s := symbol(t, f, inst)
			before := s.Book.Stats()
			if err := f.Handle(seqFrames[next], recv[next]); !errors.Is(err, ErrGap) {
				t.Fatalf("update after the deleted one: %v, want ErrGap", err)
			}
			st := s.Book.Stats()
			if s.SeqGaps != 1 || st.Gaps != 1 || st.Resyncs != before.Resyncs+1 || s.Book.State() != book.Stale {
				t.Errorf("after the gap: seq gaps %d, book %+v, state %v", s.SeqGaps, st, s.Book.State())
			}
			if st.ChecksumFail != 0 {
				t.Errorf("gap detected by checksum, not by sequence: %+v", st)
			}
			var top book.Top
			s.Book.Read(&top)
			var applied int64 // seqId of the last update before the deleted one
			for i := range del {
				if seqs[i] != 0 && instOf(seqFrames[i]) == inst {
					applied = seqs[i]
				}
			}
			if top.State != book.Stale || top.Seq != applied {
				t.Errorf("published after the gap: state %v seq %d, want stale %d", top.State, top.Seq, applied)
			}
			// Later updates are kept, not applied; the others go on.
			snap := nthUpdate(t, seqFrames, inst, 60)
			upd := s.Updates
			replay(t, f, seqFrames[next+1:snap], recv[next+1:snap])
			if s.Updates != upd || s.Dropped == 0 || len(s.heldEnd) != int(s.Dropped)+1 {
				t.Errorf("while stale: %d updates applied, %d dropped, %d kept", s.Updates-upd, s.Dropped, len(s.heldEnd))
			}
			if got := f.TakeResyncs(nil); !slices.Equal(got, []string{inst}) {
				t.Errorf("TakeResyncs = %v, want [%s]", got, inst)
			}
			if got := f.TakeResyncs(nil); len(got) != 0 {
				t.Errorf("second TakeResyncs = %v", got)
			}
			if c := f.Counters().Load(); c.Resyncs != 1 || c.DecodeErrors != 0 {
				t.Errorf("counters %+v, want 1 resync", c)
			}
			for name := range wantChecksums {
				if name != inst && symbol(t, f, name).Book.State() != book.Live {
					t.Errorf("%s not live", name)
				}
			}

			// The resubscribe's snapshot: the book a clean replay has after
			// frame snap, with the checksum OKX sent for it.
			ref := newFeed(t, Config{Instruments: instruments(t)})
			replay(t, ref, seqFrames[:snap+1], recv[:snap+1])
			rs := symbol(t, ref, inst)
			cs := int64(0)
			if !zero {
				cs = csOf(t, frames[snap])
			}
			sf := bookFrame(inst, rs.Book, rs.Inst, tsOf(t, frames[snap]), seqs[snap], cs, false)
			if err := f.Handle(sf, recv[snap]); err != nil {
				t.Fatalf("snapshot: %v", err)
			}
			if s.Book.State() != book.Live || len(s.heldEnd) != 0 {
				t.Fatalf("after the snapshot: state %v, %d kept", s.Book.State(), len(s.heldEnd))
			}
			ok0 := s.ChecksumOK
			replay(t, f, seqFrames[snap+1:], recv[snap+1:])
			if s.Book.State() != book.Live || s.ChecksumFail != 0 || s.SeqGaps != 1 {
				t.Errorf("after recovery: state %v, %d failed, %d gaps", s.Book.State(), s.ChecksumFail, s.SeqGaps)
			}
			if !zero && s.ChecksumOK-ok0 != uint64(wantChecksums[inst]-(61+1)) {
				t.Errorf("after recovery %d checksums verified, want %d", s.ChecksumOK-ok0, wantChecksums[inst]-62)
			}
			var lastSeq int64
			for i, fr := range seqFrames {
				if seqs[i] != 0 && instOf(fr) == inst {
					lastSeq = seqs[i]
				}
			}
			if seq, ok := s.LastSeq(); !ok || seq != lastSeq {
				t.Errorf("last seq %d %v, want %d", seq, ok, lastSeq)
			}
		})
	}
}

// TestDeletedUpdateChecksum deletes one update from the real (2022,
// unsequenced) capture: only the checksum can tell, and it does on the
// instrument's next message. A REST snapshot (built from a clean replay's
// book at a later frame, with that frame's ts) then brings the book back:
// the updates kept meanwhile that are not newer than it are skipped, the
// newer ones replayed, and every later checksum verifies.
func TestDeletedUpdateChecksum(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	for _, inst := range []string{"BTC-USDT", "UNI-USD-SWAP", "BTC-USD-220527"} {
		t.Run(inst, func(t *testing.T) {
			del := nthUpdate(t, frames, inst, 30)
			next := nextOf(t, frames, inst, del)
			f := newFeed(t, Config{})
			replay(t, f, frames[:del], recv[:del])
			replay(t, f, frames[del+1:next], recv[del+1:next])
			s := symbol(t, f, inst)
			if err := f.Handle(frames[next], recv[next]); !errors.Is(err, ErrChecksum) {
				t.Fatalf("update after the deleted one: %v, want ErrChecksum", err)
			}
			if s.ChecksumFail != 1 || s.Book.Stats().ChecksumFail != 1 || s.Book.State() != book.Stale {
				t.Fatalf("after the mismatch: %d failed, state %v", s.ChecksumFail, s.Book.State())
			}
			if got := f.TakeResyncs(nil); !slices.Equal(got, []string{inst}) {
				t.Errorf("TakeResyncs = %v", got)
			}
			// The REST response arrives a few updates later, taken at the
			// ts of the update before the last kept one.
			at := nthUpdate(t, frames, inst, 40)
			replay(t, f, frames[next+1:at+1], recv[next+1:at+1])
			kept := len(s.heldEnd)
			if kept < 2 {
				t.Fatalf("%d frames kept", kept)
			}
			snapAt := at
			for j := at - 1; j > next; j-- {
				if isBook(frames[j]) && instOf(frames[j]) == inst {
					snapAt = j
					break
				}
			}
			ref := newFeed(t, Config{})
			replay(t, ref, frames[:snapAt+1], recv[:snapAt+1])
			rs := symbol(t, ref, inst)
			body := bookFrame(inst, rs.Book, rs.Inst, tsOf(t, frames[snapAt]), 0, 0, true)

			// Too old a snapshot is refused: it cannot cover the lost update.
			old := bookFrame(inst, rs.Book, rs.Inst, tsOf(t, frames[del])-1, 0, 0, true)
			if err := f.HandleSnapshot(inst, old, recv[at]); !errors.Is(err, ErrSnapshot) {
				t.Errorf("old snapshot: %v, want ErrSnapshot", err)
			}
			if got := f.TakeResyncs(nil); !slices.Equal(got, []string{inst}) {
				t.Errorf("TakeResyncs after a refused snapshot = %v", got)
			}

			ok0 := s.ChecksumOK
			if err := f.HandleSnapshot(inst, body, recv[at]); err != nil {
				t.Fatalf("HandleSnapshot: %v", err)
			}
			if s.RESTSnapshots != 1 || s.Book.State() != book.Live || s.ChecksumOK != ok0+1 || s.StaleEvents != uint64(kept-1) {
				t.Errorf("after the REST snapshot: %d REST, state %v, %d verified (want 1 replayed), %d skipped (want %d)",
					s.RESTSnapshots, s.Book.State(), s.ChecksumOK-ok0, s.StaleEvents, kept-1)
			}
			replay(t, f, frames[at+1:], recv[at+1:])
			if s.Book.State() != book.Live || s.ChecksumFail != 1 {
				t.Errorf("after recovery: state %v, %d failed", s.Book.State(), s.ChecksumFail)
			}
			// Every message after the lost one verified except the first.
			if got, want := s.ChecksumOK, wantChecksums[inst]-2-uint64(kept-1); got != want {
				t.Errorf("%d checksums verified, want %d", got, want)
			}
			if c := f.Counters().Load(); c.Resyncs != 2 || c.DecodeErrors != 0 {
				t.Errorf("counters %+v, want 2 resyncs (the mismatch, the refused snapshot)", c)
			}
		})
	}
}

// corruptQty changes the first significant digit of the first non-zero
// size of a books update frame.
func corruptQty(tb testing.TB, fr []byte) []byte {
	out := slices.Clone(fr)
	re := regexp.MustCompile(`\["[0-9.]+","([0-9.]+)"`)
	for _, m := range re.FindAllSubmatchIndex(out, -1) {
		for k := m[2]; k < m[3]; k++ {
			if c := out[k]; c >= '1' && c <= '9' {
				out[k] = '1' + (c-'0')%9
				return out
			}
		}
	}
	tb.Fatalf("no size to corrupt in %.100s", fr)
	return nil
}

// TestCorruptedLevel alters one size in a real update: the mismatch is
// counted, the book goes Stale, updates are dropped, a resync is requested
// once, and the original snapshot replayed (as a resubscribe would send)
// makes the book Live again, after which the capture verifies.
func TestCorruptedLevel(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	const inst = "UNI-USD-SWAP"
	bad := nthUpdate(t, frames, inst, 20)
	f := newFeed(t, Config{Instruments: instruments(t)})
	replay(t, f, frames[:bad], recv[:bad])
	s := symbol(t, f, inst)
	if err := f.Handle(corruptQty(t, frames[bad]), recv[bad]); !errors.Is(err, ErrChecksum) {
		t.Fatalf("corrupted frame: %v, want ErrChecksum", err)
	}
	if s.ChecksumFail != 1 || s.Book.State() != book.Stale || s.Book.Stats().Resyncs != 1 {
		t.Errorf("after corruption: %d failed, state %v, %+v", s.ChecksumFail, s.Book.State(), s.Book.Stats())
	}
	var top book.Top
	s.Book.Read(&top)
	if top.State != book.Stale {
		t.Errorf("published state %v", top.State)
	}
	ign := f.Counters().Ignored.Load()
	next := nthUpdate(t, frames, inst, 25)
	replay(t, f, frames[bad+1:next], recv[bad+1:next])
	if s.ChecksumFail != 1 || s.Dropped != 4 || f.Counters().Ignored.Load() == ign {
		t.Errorf("while stale: %d failed, %d dropped", s.ChecksumFail, s.Dropped)
	}
	if got := f.TakeResyncs(nil); !slices.Equal(got, []string{inst}) {
		t.Errorf("TakeResyncs = %v", got)
	}
	// Resubscribe: OKX sends a snapshot; the capture's own one, then the
	// updates that followed it, replays the instrument from the start.
	var snap int
	for i, fr := range frames {
		if isBook(fr) && instOf(fr) == inst {
			snap = i
			break
		}
	}
	g := newFeed(t, Config{Instruments: instruments(t)})
	replay(t, g, frames, recv) // reference counts
	ok0 := s.ChecksumOK
	for i := snap; i < len(frames); i++ {
		if isBook(frames[i]) && instOf(frames[i]) == inst {
			if err := f.Handle(frames[i], recv[i]); err != nil {
				t.Fatalf("frame %d after resubscribe: %v", i, err)
			}
		}
	}
	if s.Book.State() != book.Live || s.ChecksumOK-ok0 != wantChecksums[inst] || s.ChecksumFail != 1 {
		t.Errorf("after resubscribe: state %v, %d verified, %d failed", s.Book.State(), s.ChecksumOK-ok0, s.ChecksumFail)
	}
}

// TestMalformedMidFrame: an update whose second level is bad is rejected
// whole: the book keeps its levels, is not left Live, and is resynced.
func TestMalformedMidFrame(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	cases := map[string]string{
		"bad number":   `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["30243.5","1.2","0","4"],["30243.x","0.059","0","1"]],"bids":[],"ts":"1652459225900","checksum":1}]}`,
		"too precise":  `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["30243.5","1.2","0","4"],["30243.55","0.059","0","1"]],"bids":[],"ts":"1652459225900","checksum":1}]}`,
		"zero price":   `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["30243.5","1.2","0","4"]],"bids":[["0","1","0","1"]],"ts":"1652459225900","checksum":1}]}`,
		"truncated":    `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["30243.5","1.2","0","4"],["302`,
		"bad checksum": `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["30243.5","1.2","0","4"]],"bids":[],"ts":"1652459225900","checksum":4294967295}]}`,
		"two elements": `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["30243.5","1.2","0","4"]]},{"bids":[]}]}`,
		"no action":    `{"arg":{"channel":"books","instId":"BTC-USDT"},"data":[{"asks":[["30243.5","1.2","0","4"]],"bids":[],"ts":"1652459225900","checksum":1}]}`,
		"exponent":     `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["30243.5","1.2e-1","0","4"]],"bids":[],"ts":"1652459225900","checksum":1}]}`,
	}
	for name, fr := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFeed(t, Config{Instruments: instruments(t)})
			replay(t, f, frames[:100], recv[:100])
			s := symbol(t, f, "BTC-USDT")
			var before book.Top
			s.Book.Read(&before)
			if err := f.Handle([]byte(fr), 0); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
			if c := f.Counters().Load(); c.DecodeErrors != 1 || c.Resyncs != 1 {
				t.Errorf("counters %+v, want 1 decode error, 1 resync", c)
			}
			var after book.Top
			s.Book.Read(&after)
			if s.Book.State() != book.Stale || after.State != book.Stale {
				t.Errorf("state %v, published %v; want stale", s.Book.State(), after.State)
			}
			if after.Bids != before.Bids || after.Asks != before.Asks {
				t.Error("book changed by a rejected frame")
			}
			if got := f.TakeResyncs(nil); !slices.Equal(got, []string{"BTC-USDT"}) {
				t.Errorf("TakeResyncs = %v", got)
			}
			if cause, _ := f.LastError(); cause == nil {
				t.Error("LastError gives no cause")
			}
		})
	}
}

// seqFrame builds a small books frame for the sequence rules.
func seqFrame(action string, prev, seq int64, asks, bids string) []byte {
	return fmt.Appendf(nil, `{"arg":{"channel":"books","instId":"X-Y"},"action":"%s","data":[{"asks":[%s],"bids":[%s],"ts":"1","checksum":0,"prevSeqId":%d,"seqId":%d}]}`,
		action, asks, bids, prev, seq)
}

// TestSeqRules walks OKX's documented sequence cases: normal (seqIds not
// consecutive), no change (seqId == prevSeqId), reset (seqId below
// prevSeqId), a gap, and an update without sequence fields on a sequenced
// book.
func TestSeqRules(t *testing.T) {
	f := newFeed(t, Config{})
	check := func(fr []byte, want error) {
		t.Helper()
		if err := f.Handle(fr, 0); !errors.Is(err, want) || (want == nil && err != nil) {
			t.Fatalf("%s: %v, want %v", fr, err, want)
		}
	}
	check(seqFrame("snapshot", -1, 123, `["2.55","1","0","1"]`, `["2.4","3","0","1"]`), nil)
	s := symbol(t, f, "X-Y")
	check(seqFrame("update", 123, 125, `["2.6","1","0","1"]`, ``), nil)
	check(seqFrame("update", 125, 125, ``, ``), nil)
	if s.NoChange != 1 || s.Book.State() != book.Live {
		t.Fatalf("no-change message: %d counted, state %v", s.NoChange, s.Book.State())
	}
	check(seqFrame("update", 125, 3, ``, `["2.3","1","0","1"]`), ErrSeqReset)
	var top book.Top
	s.Book.Read(&top)
	if s.SeqResets != 1 || s.Book.State() != book.Stale || top.State != book.Stale || s.SeqGaps != 0 {
		t.Fatalf("reset: %d resets, %d gaps, state %v", s.SeqResets, s.SeqGaps, s.Book.State())
	}
	if got := f.TakeResyncs(nil); !slices.Equal(got, []string{"X-Y"}) {
		t.Fatalf("TakeResyncs = %v", got)
	}
	check(seqFrame("update", 3, 5, ``, ``), nil) // kept while stale
	check(seqFrame("snapshot", -1, 10, `["2.5","1","0","1"]`, `["2.4","3","0","1"]`), nil)
	if seq, ok := s.LastSeq(); !ok || seq != 10 || s.Book.State() != book.Live || len(s.heldEnd) != 0 {
		t.Fatalf("after snapshot: seq %d %v, state %v", seq, ok, s.Book.State())
	}
	check(seqFrame("update", 10, 15, ``, `["2.41","1","0","1"]`), nil)
	if bid, _ := s.Book.Best(market.Bid); bid.Price != 241 || s.Inst.PriceExp != 2 {
		t.Fatalf("best bid %v at exp %d", bid, s.Inst.PriceExp)
	}
	check(seqFrame("update", 16, 20, ``, ``), ErrGap)
	if s.SeqGaps != 1 || s.Book.Stats().Gaps != 1 {
		t.Fatalf("gap: %d, book %d", s.SeqGaps, s.Book.Stats().Gaps)
	}
	check(seqFrame("snapshot", -1, 30, `["2.5","1","0","1"]`, `["2.4","3","0","1"]`), nil)
	check([]byte(`{"arg":{"channel":"books","instId":"X-Y"},"action":"update","data":[{"asks":[],"bids":[],"ts":"2","checksum":0}]}`), ErrGap)
	if s.SeqGaps != 2 {
		t.Fatalf("update without seqId on a sequenced book: %d gaps", s.SeqGaps)
	}
	if c := f.Counters().Load(); c.Resyncs != 3 || c.DecodeErrors != 0 {
		t.Errorf("counters %+v", c)
	}
}

// TestSnapshotChannels: books5 and bbo-tbt push a whole book each time,
// without an action; every push replaces the book.
func TestSnapshotChannels(t *testing.T) {
	f := newFeed(t, Config{})
	for i, fr := range []string{
		`{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[{"asks":[["30001","1","0","1"],["30002.1","2","0","1"]],"bids":[["30000","1.25","0","2"]],"instId":"BTC-USDT","ts":"1652459225464","seqId":5}]}`,
		`{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[{"asks":[["30001.5","1","0","1"]],"bids":[["30000.5","0.25","0","2"]],"instId":"BTC-USDT","ts":"1652459225564","seqId":9}]}`,
		`{"arg":{"channel":"bbo-tbt","instId":"ETH-USDT"},"data":[{"asks":[["2001","1","0","1"]],"bids":[["2000","3","0","2"]],"ts":"1652459225464","seqId":77}]}`,
	} {
		if err := f.Handle([]byte(fr), 0); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	s := symbol(t, f, "BTC-USDT")
	if s.Snapshots != 2 || s.Channel != "books5" || s.Depth != 5 || s.Book.Depth(market.Ask) != 1 || s.Book.State() != book.Live {
		t.Errorf("books5: %d snapshots, %q, depth %d, %d asks, %v", s.Snapshots, s.Channel, s.Depth, s.Book.Depth(market.Ask), s.Book.State())
	}
	if bid, _ := s.Book.Best(market.Bid); bid.Price != 300005 || bid.Qty != 25 {
		t.Errorf("best bid %v", bid)
	}
	if e := symbol(t, f, "ETH-USDT"); e.Channel != "bbo-tbt" || e.Depth != 1 {
		t.Errorf("bbo-tbt: %q depth %d", e.Channel, e.Depth)
	}
	// Another book channel for an instrument already fed is refused.
	err := f.Handle([]byte(`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[],"bids":[],"ts":"1"}]}`), 0)
	if !errors.Is(err, ErrChannel) || f.Counters().Unknown.Load() != 1 {
		t.Errorf("channel conflict: %v", err)
	}
	// An update action on a snapshot channel is malformed.
	if err := f.Handle([]byte(`{"arg":{"channel":"books5","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[]}]}`), 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("update on books5: %v", err)
	}
}

// TestUpdateBeforeSnapshot: updates for a book that never had a snapshot
// (joined mid-stream) are kept and one resync requested; a REST snapshot
// that teaches the exponents replays them.
func TestUpdateBeforeSnapshot(t *testing.T) {
	f := newFeed(t, Config{})
	upd := func(ts, prev, seq int64, bid string) []byte {
		return fmt.Appendf(nil, `{"arg":{"channel":"books","instId":"X-Y"},"action":"update","data":[{"asks":[],"bids":[%s],"ts":"%d","checksum":0,"prevSeqId":%d,"seqId":%d}]}`, bid, ts, prev, seq)
	}
	for i, fr := range [][]byte{upd(100, 1, 2, `["1.5","1","0","1"]`), upd(200, 2, 3, `["1.6","2","0","1"]`), upd(300, 3, 4, `["1.5","0","0","0"]`)} {
		if err := f.Handle(fr, 0); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	s := symbol(t, f, "X-Y")
	if s.Dropped != 3 || len(s.heldEnd) != 3 || f.Counters().Resyncs.Load() != 1 || s.Book.State() != book.Syncing {
		t.Fatalf("kept %d, dropped %d, resyncs %d, state %v", len(s.heldEnd), s.Dropped, f.Counters().Resyncs.Load(), s.Book.State())
	}
	if got := f.TakeResyncs(nil); !slices.Equal(got, []string{"X-Y"}) {
		t.Fatalf("TakeResyncs = %v", got)
	}
	for _, tc := range []struct {
		body string
		want error
	}{
		{`{"code":"50011","msg":"Too Many Requests","data":[]}`, ErrSnapshot},
		{`{"code":"0","msg":"","data":[{"asks":[["1.8","1","0","1"]],"bids":[["1.4","1","0","1"]]}]}`, ErrMalformed},
		{`{"code":"0","msg":"","data":[{"asks":[["1.8","1","0","1"]],"bids":[["1.4","1","0","1"]],"ts":"50"}]}`, ErrSnapshot}, // older than the first update kept
		{`{"code":"0","msg":"","data":[{"asks":[["1.8","1","0","1"]],"bids":[["1.4","1","0","1"]],"ts":"150"}]}`, nil},
	} {
		if err := f.HandleSnapshot("X-Y", []byte(tc.body), 0); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Fatalf("HandleSnapshot(%s) = %v, want %v", tc.body, err, tc.want)
		}
	}
	// The update at ts 100 is in the snapshot; those at 200 and 300 apply.
	if s.StaleEvents != 1 || s.Updates != 2 || s.Book.State() != book.Live || s.Inst.PriceExp != 1 {
		t.Errorf("after REST: %d skipped, %d applied, state %v, exp %d", s.StaleEvents, s.Updates, s.Book.State(), s.Inst.PriceExp)
	}
	if bid, _ := s.Book.Best(market.Bid); bid.Price != 16 || bid.Qty != 2 || s.Book.Depth(market.Bid) != 2 {
		t.Errorf("best bid %v, %d bids", bid, s.Book.Depth(market.Bid))
	}
	if seq, ok := s.LastSeq(); !ok || seq != 4 {
		t.Errorf("anchored at %d %v, want 4", seq, ok)
	}
	if err := f.HandleSnapshot("NOPE-X", []byte(`{}`), 0); err == nil {
		// Without instruments a new instrument is created; its body is bad.
		t.Error("bad body accepted")
	}
	g := newFeed(t, Config{Instruments: instruments(t)})
	if err := g.HandleSnapshot("NOPE-X", []byte(`{"code":"0","data":[]}`), 0); !errors.Is(err, ErrUnknownSymbol) {
		t.Errorf("unknown instrument: %v", err)
	}
}

// TestHeldOverflow: past MaxBuffered kept frames the oldest are dropped,
// the resync is requested again, and a REST snapshot older than them is
// refused.
func TestHeldOverflow(t *testing.T) {
	f := newFeed(t, Config{MaxBuffered: 4})
	if err := f.Handle(seqFrame("snapshot", -1, 1, `["2.5","1","0","1"]`, `["2.4","3","0","1"]`), 0); err != nil {
		t.Fatal(err)
	}
	s := symbol(t, f, "X-Y")
	for i := range int64(6) {
		fr := fmt.Appendf(nil, `{"arg":{"channel":"books","instId":"X-Y"},"action":"update","data":[{"asks":[],"bids":[],"ts":"%d","checksum":0,"prevSeqId":%d,"seqId":%d}]}`, 10+i, 5+i, 6+i)
		f.Handle(fr, 0)
	}
	if s.Book.State() != book.Stale || len(s.heldEnd) != 2 || f.Counters().Resyncs.Load() != 2 {
		t.Fatalf("state %v, %d kept, %d resyncs", s.Book.State(), len(s.heldEnd), f.Counters().Resyncs.Load())
	}
	if err := f.HandleSnapshot("X-Y", []byte(`{"code":"0","data":[{"asks":[["2.5","1","0","1"]],"bids":[],"ts":"12"}]}`), 0); !errors.Is(err, ErrSnapshot) {
		t.Errorf("snapshot older than dropped frames: %v", err)
	}
	if err := f.HandleSnapshot("X-Y", []byte(`{"code":"0","data":[{"asks":[["2.5","1","0","1"]],"bids":[],"ts":"14"}]}`), 0); err != nil {
		t.Errorf("snapshot: %v", err)
	}
	if s.Book.State() != book.Live || s.StaleEvents != 1 || s.Updates != 1 {
		t.Errorf("state %v, %d skipped, %d applied", s.Book.State(), s.StaleEvents, s.Updates)
	}
}

// TestWireDecimals: a level whose text has trailing fractional zeros
// ("5.160", "40.00") is rendered as received, until a message re-sends it
// in its shortest form; the checksum follows.
func TestWireDecimals(t *testing.T) {
	f := newFeed(t, Config{})
	cs := func(s string) int32 { return int32(crc32.ChecksumIEEE([]byte(s))) }
	snap := fmt.Appendf(nil, `{"arg":{"channel":"books","instId":"UNI-USD-SWAP"},"action":"snapshot","data":[{"asks":[["5.160","40.00","0","1"],["5.17","3","0","1"]],"bids":[["5.15","7","0","1"]],"ts":"1","checksum":%d}]}`,
		cs("5.15:7:5.160:40.00:5.17:3"))
	if err := f.Handle(snap, 0); err != nil {
		t.Fatal(err)
	}
	s := symbol(t, f, "UNI-USD-SWAP")
	if s.Inst.PriceExp != 3 || s.Inst.QtyExp != 2 || s.ChecksumOK != 1 {
		t.Fatalf("exp %d/%d, %d verified", s.Inst.PriceExp, s.Inst.QtyExp, s.ChecksumOK)
	}
	step := func(asks, bids, want string) {
		t.Helper()
		fr := fmt.Appendf(nil, `{"arg":{"channel":"books","instId":"UNI-USD-SWAP"},"action":"update","data":[{"asks":[%s],"bids":[%s],"ts":"2","checksum":%d}]}`, asks, bids, cs(want))
		if err := f.Handle(fr, 0); err != nil {
			t.Fatalf("%s: %v (string %s)", fr, err, f.AppendChecksumString(nil, s))
		}
		if got := f.AppendChecksumString(nil, s); string(got) != want {
			t.Fatalf("checksum string %s, want %s", got, want)
		}
	}
	step(``, `["5.140","1","0","1"]`, "5.15:7:5.160:40.00:5.140:1:5.17:3")
	step(`["5.16","41","0","1"]`, ``, "5.15:7:5.16:41:5.140:1:5.17:3")
	step(``, `["5.14","0","0","0"]`, "5.15:7:5.16:41:5.17:3")
	step(``, `["5.1400","2.50","0","1"]`, "5.15:7:5.16:41:5.1400:2.50:5.17:3")
	if s.ChecksumOK != 5 || s.exc[market.Bid].n != 1 || s.exc[market.Ask].n != 0 {
		t.Errorf("%d verified; exceptions %d bids, %d asks", s.ChecksumOK, s.exc[market.Bid].n, s.exc[market.Ask].n)
	}
}

// TestConcurrentReaders: the feed goroutine replays the capture while
// another goroutine reads a book's published top, state and stats, as
// strategies do; run with -race.
func TestConcurrentReaders(t *testing.T) {
	frames, recv := readCapture(t, captureFile)
	f := newFeed(t, Config{Instruments: instruments(t)})
	b := symbol(t, f, "BTC-USDT").Book
	done := make(chan struct{})
	started := make(chan struct{})
	reads := make(chan int)
	go func() {
		var top book.Top
		n := 0
		for {
			if n == 1 {
				close(started)
			}
			select {
			case <-done:
				reads <- n
				return
			default:
			}
			b.Read(&top)
			if top.NBids > 0 && top.NAsks > 0 && top.State == book.Live && top.Bids[0].Price >= top.Asks[0].Price {
				t.Errorf("published a crossed live book: %v / %v", top.Bids[0], top.Asks[0])
			}
			_ = b.State()
			_ = b.Stats()
			_ = f.Counters().Load()
			n++
		}
	}()
	<-started
	replay(t, f, frames, recv)
	close(done)
	if n := <-reads; n == 0 {
		t.Error("reader never ran")
	}
	if st := b.Stats(); st.ChecksumOK != 98 || st.ChecksumFail != 0 {
		t.Errorf("checksums %+v", st)
	}
}
