package coinbase

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"sync"
	"testing"

	"arbmm/book"
	"arbmm/internal/capture"
	"arbmm/internal/market"
)

const capturePath = "testdata/coinbase-at-level2.jsonl.zst"

// The figures the fixtures README and the capture itself give.
const (
	captureRecv      = 1030 // recv frames, sequence_num 0..1029
	captureL2        = 775  // l2_data frames: 2 snapshots + 773 updates
	captureBTCUpdate = 399
	captureETHUpdate = 374
)

// rec is one record of the capture kept by the tests.
type rec struct {
	kind capture.Kind
	data []byte
	ts   int64 // Unix ns
	conn string
}

var (
	captureOnce sync.Once
	captureRecs []rec
	captureErr  error
)

// readCapture returns the capture's records (cached: the file is read
// once per test binary). Tests must not modify the data.
func readCapture(tb testing.TB) []rec {
	tb.Helper()
	captureOnce.Do(func() {
		r, err := capture.Open(capturePath)
		if err != nil {
			captureErr = err
			return
		}
		defer r.Close()
		for {
			x, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				captureErr = err
				return
			}
			if x.Kind == capture.KindUnknown {
				captureErr = x.Err
				return
			}
			captureRecs = append(captureRecs, rec{kind: x.Kind, data: bytes.Clone(x.Data), ts: int64(x.TS * 1e9), conn: x.Conn})
		}
	})
	if captureErr != nil {
		tb.Fatal(captureErr)
	}
	return captureRecs
}

// recvFrames returns the capture's received frames and their times.
func recvFrames(tb testing.TB) (frames [][]byte, ts []int64) {
	for _, r := range readCapture(tb) {
		if r.kind == capture.KindRecv {
			frames = append(frames, r.data)
			ts = append(ts, r.ts)
		}
	}
	return frames, ts
}

// productsBody returns the capture's REST products response.
func productsBody(tb testing.TB) []byte {
	for _, r := range readCapture(tb) {
		if r.kind == capture.KindHTTP {
			return r.data
		}
	}
	tb.Fatal("no products record in the capture")
	return nil
}

func captureInstruments(tb testing.TB) []market.Instrument {
	ins, err := ParseProducts(productsBody(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return ins
}

func newFeed(tb testing.TB, cfg Config) *Feed {
	tb.Helper()
	f, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// replayMode is how a replay gets the products' exponents.
type replayMode int

const (
	modeHTTP       replayMode = iota // the capture's products record, through HandleProducts
	modeConfigured                   // Config.Instruments from ParseProducts
	modeLearned                      // no metadata: learned from the snapshots
)

func (m replayMode) String() string { return [...]string{"http", "configured", "learned"}[m] }

// replay runs the capture through a Feed as the engine would: recv frames
// to Handle, the products record to HandleProducts. keep, if set, decides
// for each recv frame (by index) whether it is delivered. Every Handle
// error is returned in errs by frame index.
func replay(tb testing.TB, mode replayMode, keep func(i int, frame []byte) bool) (f *Feed, errs map[int]error) {
	tb.Helper()
	cfg := Config{}
	if mode == modeConfigured {
		cfg.Instruments = captureInstruments(tb)
	}
	f = newFeed(tb, cfg)
	errs = map[int]error{}
	i := 0
	for _, r := range readCapture(tb) {
		switch r.kind {
		case capture.KindHTTP:
			if mode == modeHTTP {
				if err := f.HandleProducts(r.data); err != nil {
					tb.Fatal(err)
				}
			}
		case capture.KindRecv:
			if r.conn != "COINBASE.ws.2" {
				tb.Fatalf("recv record on connection %q", r.conn)
			}
			if keep == nil || keep(i, r.data) {
				if err := f.Handle(r.data, r.ts); err != nil {
					errs[i] = err
				}
			}
			i++
		}
	}
	return f, errs
}

// TestCapture replays the real capture and requires what the fixtures
// README states (0 gaps over 775 level2 messages), sequence continuity over
// every frame of the connection, and every book Live, whatever the source
// of the exponents.
func TestCapture(t *testing.T) {
	for _, mode := range []replayMode{modeHTTP, modeConfigured, modeLearned} {
		t.Run(mode.String(), func(t *testing.T) {
			f, errs := replay(t, mode, nil)
			for i, err := range errs {
				t.Errorf("frame %d: %v", i, err)
			}
			c := f.Conn()
			if c.Gaps != 0 || c.L2 != captureL2 {
				t.Errorf("gaps %d over %d l2_data messages, want 0 over %d", c.Gaps, c.L2, captureL2)
			}
			if c.FirstSeq != 0 || c.LastSeq != captureRecv-1 || c.Sequenced != captureRecv || uint64(c.LastSeq-c.FirstSeq+1) != c.Sequenced {
				t.Errorf("sequence %d..%d over %d frames, want 0..%d over %d", c.FirstSeq, c.LastSeq, c.Sequenced, captureRecv-1, captureRecv)
			}
			cv := f.Counters().Load()
			if cv.Frames != captureRecv || cv.DecodeErrors != 0 || cv.Unknown != 0 || cv.Resyncs != 0 || cv.Ignored != captureRecv-captureL2 {
				t.Errorf("counters %+v, want %d frames, %d ignored, no errors or resyncs", cv, captureRecv, captureRecv-captureL2)
			}
			if got := f.TakeResyncs(nil); len(got) != 0 {
				t.Errorf("resyncs requested: %v", got)
			}
			if n := len(f.Symbols()); n != 2 {
				t.Fatalf("%d products, want 2", n)
			}
			var frames uint64
			for _, tc := range []struct {
				name    string
				updates uint64
			}{{"BTC-USD", captureBTCUpdate}, {"ETH-USD", captureETHUpdate}} {
				sym := f.Symbol(tc.name)
				if sym == nil {
					t.Fatalf("no %s", tc.name)
				}
				frames += sym.Frames
				if sym.Snapshots != 1 || sym.Updates != tc.updates || sym.Dropped != 0 || sym.Frames != tc.updates+1 {
					t.Errorf("%s: snapshots %d updates %d dropped %d frames %d, want 1, %d, 0, %d", tc.name, sym.Snapshots, sym.Updates, sym.Dropped, sym.Frames, tc.updates, tc.updates+1)
				}
				if sym.Inst.PriceExp != 2 || sym.Inst.QtyExp != 8 {
					t.Errorf("%s: exponents %d/%d, want 2/8", tc.name, sym.Inst.PriceExp, sym.Inst.QtyExp)
				}
				if mode != modeLearned && (sym.Inst.Pair != market.Pair{Base: tc.name[:3], Quote: "USD"} || sym.Inst.Tick != 1 || sym.Inst.Step != 1) {
					t.Errorf("%s: instrument %+v", tc.name, sym.Inst)
				}
				st := sym.Book.Stats()
				if sym.Book.State() != book.Live || st.Gaps != 0 || st.Resyncs != 0 || st.Crossed != 0 {
					t.Errorf("%s: state %v stats %+v, want live without gaps, resyncs or crossings", tc.name, sym.Book.State(), st)
				}
				var top book.Top
				sym.Book.Read(&top)
				if top.Seq > c.LastSeq || top.NBids != book.DefaultTopN || top.NAsks != book.DefaultTopN || top.ExchTime == 0 {
					t.Errorf("%s: top seq %d exch %d levels %d/%d", tc.name, top.Seq, top.ExchTime, top.NBids, top.NAsks)
				}
				t.Logf("%s: frames %d updates %d snapshots %d; best bid %s ask %s; %+v", tc.name, sym.Frames, sym.Updates, sym.Snapshots,
					sym.Inst.FormatPrice(top.Bids[0].Price), sym.Inst.FormatPrice(top.Asks[0].Price), st)
			}
			if frames != captureL2 {
				t.Errorf("l2_data events %d, want %d", frames, captureL2)
			}
		})
	}
}

// updateStream returns a feed that has handled the capture up to and
// including both snapshots, and the capture's l2_data updates after that
// renumbered to continue the sequence without the other channels' frames,
// so that handling them in order takes the full path (decode, sequence
// check, apply, commit) with the books as the venue had them.
func updateStream(tb testing.TB, mode replayMode) (*Feed, [][]byte) {
	frames, _ := recvFrames(tb)
	last := -1
	for i, fr := range frames {
		if bytes.Contains(fr, []byte(`"type":"snapshot"`)) && bytes.HasPrefix(fr, []byte(`{"channel":"l2_data"`)) {
			last = i
		}
	}
	f, _ := replay(tb, mode, func(i int, _ []byte) bool { return i <= last })
	seq := f.Conn().LastSeq
	var out [][]byte
	for _, fr := range frames[last+1:] {
		if bytes.HasPrefix(fr, []byte(`{"channel":"l2_data"`)) {
			seq++
			out = append(out, setSeq(tb, fr, seq))
		}
	}
	return f, out
}

// setSeq returns frame with its sequence_num replaced by seq.
func setSeq(tb testing.TB, frame []byte, seq int64) []byte {
	tb.Helper()
	const key = `"sequence_num":`
	i := bytes.Index(frame, []byte(key))
	if i < 0 {
		tb.Fatalf("no sequence_num in %.80s", frame)
	}
	i += len(key)
	j := i
	for j < len(frame) && frame[j] >= '0' && frame[j] <= '9' {
		j++
	}
	out := append([]byte(nil), frame[:i]...)
	out = strconv.AppendInt(out, seq, 10)
	return append(out, frame[j:]...)
}

// snapshotFrames returns the capture's snapshot frame of each product and
// the first update of each product after it.
func snapshotFrames(tb testing.TB) (snaps, firstUpdates map[string][]byte) {
	snaps, firstUpdates = map[string][]byte{}, map[string][]byte{}
	frames, _ := recvFrames(tb)
	for _, fr := range frames {
		for _, p := range []string{"BTC-USD", "ETH-USD"} {
			if !bytes.Contains(fr, []byte(`"product_id":"`+p+`"`)) || !bytes.HasPrefix(fr, []byte(`{"channel":"l2_data"`)) {
				continue
			}
			switch {
			case bytes.Contains(fr, []byte(`"type":"snapshot"`)):
				snaps[p] = fr
			case firstUpdates[p] == nil:
				firstUpdates[p] = fr
			}
		}
	}
	return snaps, firstUpdates
}

// levelsOf returns every level of b, best first, bids then asks.
func levelsOf(b *book.Book) [2][]book.Level {
	return [2][]book.Level{b.AppendLevels(nil, market.Bid), b.AppendLevels(nil, market.Ask)}
}

func equalLevels(a, b [2][]book.Level) bool {
	for s := range a {
		if len(a[s]) != len(b[s]) {
			return false
		}
		for i := range a[s] {
			if a[s][i] != b[s][i] {
				return false
			}
		}
	}
	return true
}

// TestDeletedFrameIsAGap deletes one frame of each channel from the real
// capture: whatever its channel, the next frame must reveal the gap, every
// book must count it, go Stale and be queued for a resubscribe, and later
// updates must be dropped; feeding a snapshot then recovers that product.
func TestDeletedFrameIsAGap(t *testing.T) {
	frames, _ := recvFrames(t)
	chanOf := func(fr []byte) string {
		i := bytes.Index(fr, []byte(`"channel":"`)) + len(`"channel":"`)
		return string(fr[i : i+bytes.IndexByte(fr[i:], '"')])
	}
	// For each channel, its first frame after both snapshots (index 28)
	// and the subscriptions (26) if it has one, else its last.
	victims := map[string]int{}
	done := map[string]bool{}
	for i, fr := range frames[:len(frames)-1] {
		if ch := chanOf(fr); !done[ch] {
			victims[ch] = i
			done[ch] = i > 28
		}
	}
	if len(victims) != 6 {
		t.Fatalf("channels %v, want 6", victims)
	}
	snaps, firstUpdates := snapshotFrames(t)
	for ch, victim := range victims {
		t.Run(ch, func(t *testing.T) {
			f, errs := replay(t, modeHTTP, func(i int, _ []byte) bool { return i != victim })
			if len(errs) != 1 || errs[victim+1] != ErrGap {
				t.Errorf("errors %v, want ErrGap on frame %d only", errs, victim+1)
			}
			c := f.Conn()
			if c.Gaps != 1 || c.Sequenced != captureRecv-1 {
				t.Errorf("gaps %d over %d sequenced frames, want 1 over %d", c.Gaps, c.Sequenced, captureRecv-1)
			}
			if cv := f.Counters().Load(); cv.Resyncs != 2 || cv.DecodeErrors != 0 {
				t.Errorf("counters %+v, want 2 resyncs, no decode errors", cv)
			}
			got := f.TakeResyncs(nil)
			if len(got) != 2 || got[0] != "BTC-USD" || got[1] != "ETH-USD" {
				t.Errorf("resyncs %v, want [BTC-USD ETH-USD]", got)
			}
			var dropped uint64
			for _, sym := range f.Symbols() {
				st := sym.Book.Stats()
				var tp book.Top
				sym.Book.Read(&tp)
				if sym.Book.State() != book.Stale || tp.State != book.Stale || st.Gaps != 1 || st.Resyncs != 1 {
					t.Errorf("%s: state %v gaps %d resyncs %d, want stale, 1, 1", sym.Name, sym.Book.State(), st.Gaps, st.Resyncs)
				}
				dropped += sym.Dropped
			}
			if dropped == 0 {
				t.Errorf("no update dropped after the gap")
			}

			// Recovery: a snapshot reloads one product, the other stays
			// Stale; the next update applies again.
			seq := c.LastSeq
			for k, p := range []string{"BTC-USD", "ETH-USD"} {
				seq++
				if err := f.Handle(setSeq(t, snaps[p], seq), 1); err != nil {
					t.Fatalf("%s snapshot: %v", p, err)
				}
				sym := f.Symbol(p)
				if sym.Book.State() != book.Live || sym.Snapshots != 2 {
					t.Errorf("%s: state %v snapshots %d after a snapshot, want live, 2", p, sym.Book.State(), sym.Snapshots)
				}
				if other := f.Symbols()[1-k]; k == 0 && other.Book.State() != book.Stale {
					t.Errorf("%s: state %v, want still stale", other.Name, other.Book.State())
				}
				want := refSnapshotBook(t, snaps[p], sym.Book.Config().MaxDepth)
				if got := levelsOf(sym.Book); !equalLevels(got, want) {
					t.Errorf("%s: book after the resync snapshot differs from the snapshot", p)
				}
				updates := sym.Updates
				seq++
				if err := f.Handle(setSeq(t, firstUpdates[p], seq), 1); err != nil {
					t.Fatalf("%s update: %v", p, err)
				}
				if sym.Updates != updates+1 || sym.Book.State() != book.Live {
					t.Errorf("%s: update after recovery not applied (state %v)", p, sym.Book.State())
				}
			}
			if got := f.TakeResyncs(nil); len(got) != 0 {
				t.Errorf("resyncs %v after recovery, want none", got)
			}
			if c := f.Conn(); c.Gaps != 1 {
				t.Errorf("gaps %d after recovery, want 1", c.Gaps)
			}
		})
	}
}

func TestMain(m *testing.M) {
	if _, err := os.Stat(capturePath); err != nil {
		panic("feed/coinbase: testdata capture missing: " + err.Error())
	}
	os.Exit(m.Run())
}
