package coinbase

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"

	"arbmm/book"
	"arbmm/internal/market"
)

// feedModel is a reference for Feed's sync state machine on configured
// products, driven by the sonic reference decoder: sequence continuity
// over every frame, snapshot/update handling, crossing, and the resync
// requests each of those makes.
type feedModel struct {
	haveSeq bool
	last    int64
	gaps    int
	prod    map[string]*productModel
}

type productModel struct {
	state   syncState
	pending bool
	resyncs uint64
	gaps    uint64
	book    *modelBook
}

func newFeedModel(products ...string) *feedModel {
	m := &feedModel{prod: map[string]*productModel{}}
	for _, p := range products {
		m.prod[p] = &productModel{book: newModelBook()}
	}
	return m
}

func (m *feedModel) fail(p *productModel) {
	p.state = stStale
	if !p.pending {
		p.pending = true
		p.resyncs++
	}
}

// handle applies one frame the reference accepted and returns the error
// Handle must return.
func (m *feedModel) handle(ref *decoded) error {
	var ret error
	if ref.hasSeq {
		if m.haveSeq && ref.seq != m.last+1 {
			m.gaps++
			for _, p := range m.prod {
				p.gaps++
				m.fail(p)
			}
			ret = ErrGap
		}
		m.haveSeq, m.last = true, ref.seq
	}
	if !ref.book {
		return ret
	}
	unknown := false
	for i := range ref.events {
		e := &ref.events[i]
		p := m.prod[e.product]
		if p == nil {
			unknown = true
			continue
		}
		if !e.snapshot && p.state != stLive {
			if p.state == stSyncing {
				m.fail(p)
			}
			continue
		}
		p.book.apply(e)
		if e.snapshot {
			p.state, p.pending = stLive, false
		}
		if p.book.crossed() {
			m.fail(p)
			if ret == nil {
				ret = book.ErrCrossed
			}
		}
	}
	if unknown && ret == nil {
		ret = ErrUnknownSymbol
	}
	return ret
}

var bookStates = [...]book.State{stSyncing: book.Syncing, stLive: book.Live, stStale: book.Stale}

// FuzzFeed drives a whole Feed with the frames of the input (split at
// '\n'), with configured instruments or (learn) without. Whatever the
// input: no panic, every frame counted, a Live book never crossed, a
// product's book state agrees with its sync state and is published at once,
// and a frame rejected as malformed changes no book. With instruments, until the first frame the
// reference cannot model (one it rejects, or that ours rejects as
// malformed, repeats a key or is not UTF-8), every Handle result, book
// state, gap and resync count and every level of every book agrees with
// feedModel, and at the end so do the resync requests.
func FuzzFeed(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzFeed/*")
	if len(seeds) == 0 {
		f.Fatal("no seed corpus in testdata/fuzz/FuzzFeed")
	}
	f.Fuzz(runFeedFuzz)
}

func runFeedFuzz(t *testing.T, data []byte, learn bool) {
	{
		cfg := Config{MaxLevels: 256, MaxDepth: 64} // small: the engine minimizes by re-running inputs a great many times
		if !learn {
			cfg.Instruments = testInstruments
		}
		fd, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		model := newFeedModel("BTC-USD", "ETH-USD")
		modelOn := !learn
		frames := bytes.Split(data, []byte("\n"))
		var before [][2][]book.Level
		for _, fr := range frames {
			before = before[:0]
			for _, sym := range fd.Symbols() {
				before = append(before, levelsOf(sym.Book))
			}
			herr := fd.Handle(fr, 1)

			for i, sym := range fd.Symbols() {
				var tp book.Top
				sym.Book.Read(&tp)
				if tp.State == book.Live && tp.NBids > 0 && tp.NAsks > 0 && tp.Bids[0].Price >= tp.Asks[0].Price {
					t.Fatalf("%s: live book crossed: %v / %v\nframe %q", sym.Name, tp.Bids[0], tp.Asks[0], fr)
				}
				if tp.State != sym.Book.State() {
					t.Fatalf("%s: published state %v, book %v\nframe %q", sym.Name, tp.State, sym.Book.State(), fr)
				}
				if sym.Book.State() != bookStates[sym.state] {
					t.Fatalf("%s: book %v, sync state %d\nframe %q", sym.Name, sym.Book.State(), sym.state, fr)
				}
				if herr == ErrMalformed && i < len(before) && !equalLevels(levelsOf(sym.Book), before[i]) {
					t.Fatalf("%s: book changed by a malformed frame %q", sym.Name, fr)
				}
			}

			if !modelOn {
				continue
			}
			ref, rok := reference(fr)
			if !rok || herr == ErrMalformed || !json.Valid(fr) || !utf8.Valid(fr) || hasDuplicateKeys(fr) {
				modelOn = false
				continue
			}
			if want := model.handle(&ref); herr != want {
				t.Fatalf("Handle = %v, model %v\nframe %q", herr, want, fr)
			}
			if c := fd.Conn(); c.Gaps != uint64(model.gaps) || c.LastSeq != model.last && model.haveSeq {
				t.Fatalf("conn %+v, model gaps %d last %d", c, model.gaps, model.last)
			}
			for _, sym := range fd.Symbols() {
				p := model.prod[sym.Name]
				st := sym.Book.Stats()
				if sym.state != p.state || st.Resyncs != p.resyncs || st.Gaps != p.gaps {
					t.Fatalf("%s: state %d resyncs %d gaps %d, model %d %d %d\nframe %q", sym.Name, sym.state, st.Resyncs, st.Gaps, p.state, p.resyncs, p.gaps, fr)
				}
				want := p.book.levels(1 << 30)
				if len(want[0]) >= sym.Book.Config().MaxDepth || len(want[1]) >= sym.Book.Config().MaxDepth {
					continue // deeper than the book keeps
				}
				if got := levelsOf(sym.Book); !equalLevels(got, want) {
					t.Fatalf("%s: book\n got %v\nwant %v\nframe %q", sym.Name, got, want, fr)
				}
			}
		}
		c := fd.Counters().Load()
		if c.Frames != uint64(len(frames)) || c.Bytes != uint64(len(data)-(len(frames)-1)) {
			t.Fatalf("counted %d frames, %d bytes; handled %d", c.Frames, c.Bytes, len(frames))
		}
		got := fd.TakeResyncs(nil)
		if modelOn {
			var want []string
			for _, name := range []string{"BTC-USD", "ETH-USD"} {
				if model.prod[name].pending {
					want = append(want, name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("resyncs %v, model %v", got, want)
			}
		}
		// Nothing is left queued after a take, and the learned exponents
		// stay in range.
		if got := fd.TakeResyncs(nil); len(got) != 0 {
			t.Fatalf("resyncs %v after a take", got)
		}
		for _, sym := range fd.Symbols() {
			if sym.hasExp && (sym.Inst.PriceExp > market.MaxExp || sym.Inst.QtyExp > market.MaxExp) {
				t.Fatalf("%s: exponents %d/%d", sym.Name, sym.Inst.PriceExp, sym.Inst.QtyExp)
			}
		}
	}
}
