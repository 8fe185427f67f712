package bench

import (
	"crypto/ed25519"
	"strconv"
	"testing"

	"arbmm/exec"
	"arbmm/exec/risk"
	"arbmm/internal/market"
	"arbmm/mm"
)

// q2w is the market maker's path, book event → new quotes on the wire
// (in process, no socket): a Binance depth frame decoded and applied, the
// top read, the Avellaneda–Stoikov ladder (three layers a side), the
// manager's cancel-replaces toward it, risk on each, each encoded and
// HMAC-signed as order.cancelReplace. It shares the tick-to-trade
// harness's Binance feed and encoder.
type q2w struct {
	*t2t
	q      *mm.Quoter
	m      *mm.Manager
	ladder mm.Ladder
	out    []market.Intent
	last   []byte
	ids    func() market.ClientID
}

func newQ2W(tb testing.TB) *q2w {
	tb.Helper()
	h := &q2w{t2t: newT2T(tb), out: make([]market.Intent, 0, 2*mm.MaxLayers)}
	var err error
	h.q, err = mm.NewQuoter(mm.QuoterConfig{Gamma: 0.001, HorizonSec: 60, QMax: 0.5, Sigma2Prior: 81, KPrior: 0.5, MinSpreadBps: 2,
		Layers: 3, LayerSpacingBps: 2, LayerQty: []market.Qty{1000}, StaleAfterNs: 60e9}, &h.insts[0])
	if err != nil {
		tb.Fatal(err)
	}
	h.m = mm.NewManager(&h.insts[0], 10, true)
	h.ids = func() market.ClientID { h.nextID++; return h.nextID }
	return h
}

// quoteFrame is the next depth frame: the inside bid and ask jump 3.00
// away from where the previous frame put them (alternating), the previous
// ones deleted, so every frame moves the wanted quotes beyond the refresh
// tolerance and each layer is cancel-replaced.
func (h *q2w) quoteFrame() []byte {
	i := int64(h.i)
	h.i++
	h.evNs += 1e6
	first := h.u + 1
	h.u += 4
	shift, prev := int64(0), int64(3_00)
	if i%2 == 1 {
		shift, prev = prev, shift
	}
	b := h.frame[:0]
	b = append(b, `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":`...)
	b = strconv.AppendInt(b, h.evNs/1e6, 10)
	b = append(b, `,"s":"BTCUSDT","U":`...)
	b = strconv.AppendInt(b, first, 10)
	b = append(b, `,"u":`...)
	b = strconv.AppendInt(b, h.u, 10)
	b = append(b, `,"b":[`...)
	b = appendLevel8(b, 59970_00+shift, 2_00000)
	b = append(b, ',')
	b = appendLevel8(b, 59970_00+prev, 0)
	b = append(b, `],"a":[`...)
	b = appendLevel8(b, 59980_00+shift, 2_00000)
	b = append(b, ',')
	b = appendLevel8(b, 59980_00+prev, 0)
	b = append(b, "]}}"...)
	h.frame = b
	return b
}

// quote is the timed path for one frame; it reports the requests encoded.
func (h *q2w) quote(frame []byte, now int64) int {
	if h.bf.Handle(frame, now) != nil {
		return -1
	}
	t := &h.tops[0]
	h.bbook.Read(t)
	var ok bool
	if h.ladder, ok = h.q.Quote(t, 0, 0, 0, now); !ok {
		return -1
	}
	h.out = h.m.Update(&h.ladder, false, 2*mm.MaxLayers, h.ids, h.out[:0])
	n := 0
	for k := range h.out {
		in := &h.out[k]
		v := risk.View{Book: t.State, BookAge: now - t.RecvTime, RefPrice: (t.Bids[0].Price + t.Asks[0].Price) / 2, FreeBase: freeBase, FreeQuote: freeQuote}
		if in.Action != market.ActCancel && h.risk.Check(in, &v, now) != risk.OK {
			return -1
		}
		if h.last = h.bin.appendPlace(in, now/1e6); h.last == nil {
			return -1
		}
		n++
	}
	return n
}

// ack answers the last iteration's requests as the venue would (outside
// the timed span): each replaced order canceled, each new one acknowledged.
func (h *q2w) ack() {
	var r market.Report
	for k := range h.out {
		in := &h.out[k]
		switch in.Action {
		case market.ActReplace:
			r = market.Report{Kind: market.ReportCanceled, ClientID: in.ClientID, Status: market.Canceled}
			h.m.OnReport(&r)
			r = market.Report{Kind: market.ReportAck, ClientID: in.NewID, Status: market.New}
		case market.ActNew:
			r = market.Report{Kind: market.ReportAck, ClientID: in.ClientID, Status: market.New}
		default:
			r = market.Report{Kind: market.ReportCanceled, ClientID: in.ClientID, Status: market.Canceled}
		}
		h.m.OnReport(&r)
	}
}

func (h *q2w) warm(tb testing.TB) {
	for range 200 {
		if h.quote(h.quoteFrame(), h.evNs) < 0 {
			tb.Fatal("warm-up: no quotes")
		}
		h.ack()
	}
}

// TestQuoteToWire: after the first frame (three new quotes a side), every
// frame moves the ladder 3.00 and each of the six quotes goes out as one
// signed order.cancelReplace at the new price.
func TestQuoteToWire(t *testing.T) {
	h := newQ2W(t)
	if n := h.quote(h.quoteFrame(), h.evNs); n != 6 || h.out[0].Action != market.ActNew {
		t.Fatalf("first frame: %d requests %+v, want six new quotes", n, h.out)
	}
	h.ack()
	for i := range 100 {
		n := h.quote(h.quoteFrame(), h.evNs)
		if n != 6 {
			t.Fatalf("frame %d: %d requests, want six replaces", i, n)
		}
		for _, in := range h.out {
			if in.Action != market.ActReplace || in.Type != market.LimitMaker {
				t.Fatalf("frame %d: %+v, want post-only replaces", i, in)
			}
		}
		h.ack()
	}
	for _, want := range []string{`"method":"order.cancelReplace"`, `"cancelReplaceMode":"STOP_ON_FAILURE"`, `"type":"LIMIT_MAKER"`, `"signature":"`} {
		if !contains(h.last, want) {
			t.Errorf("request lacks %s: %s", want, h.last)
		}
	}
}

// naive is the baseline path a simple quoting bot takes on the same
// frame: the same ladder, then cancel everything (openOrders.cancelAll)
// and place every quote again, each signed.
func (h *q2w) naive(frame []byte, now int64) int {
	if h.bf.Handle(frame, now) != nil {
		return -1
	}
	t := &h.tops[0]
	h.bbook.Read(t)
	var ok bool
	if h.ladder, ok = h.q.Quote(t, 0, 0, 0, now); !ok {
		return -1
	}
	h.out = append(h.out[:0], market.Intent{Action: market.ActCancelAll, Venue: market.Binance, Inst: &h.insts[0]})
	for s := market.Bid; s <= market.Ask; s++ {
		lv, n := h.ladder.Bids[:], h.ladder.NBids
		side := market.Buy
		if s == market.Ask {
			lv, n, side = h.ladder.Asks[:], h.ladder.NAsks, market.Sell
		}
		for i := 0; i < n; i++ {
			h.out = append(h.out, market.Intent{Action: market.ActNew, Venue: market.Binance, Inst: &h.insts[0], Side: side,
				Type: market.LimitMaker, TIF: market.GTC, Price: lv[i].Price, Qty: lv[i].Qty, ClientID: h.ids()})
		}
	}
	n := 0
	for k := range h.out {
		in := &h.out[k]
		v := risk.View{Book: t.State, BookAge: now - t.RecvTime, RefPrice: (t.Bids[0].Price + t.Asks[0].Price) / 2, FreeBase: freeBase, FreeQuote: freeQuote}
		if in.Action == market.ActNew && h.risk.Check(in, &v, now) != risk.OK {
			return -1
		}
		if h.last = h.bin.appendPlace(in, now/1e6); h.last == nil {
			return -1
		}
		n++
	}
	return n
}

// BenchmarkQuoteToWire is the market maker's path, a Binance depth frame's
// bytes → decode and apply → top → Avellaneda–Stoikov ladder → six
// cancel-replaces → risk → each encoded and HMAC-signed; p50/p99/p99.9 of
// the whole (HDR) beside ns/op, and the requests per event. The baseline
// in the same run is the naive bot's cancel-all and place-all on the same
// frames (seven requests, each signed: about as fast on the CPU, but the
// venue sees seven order-rate units and the book a gap with no quotes).
func BenchmarkQuoteToWire(b *testing.B) {
	run := func(b *testing.B, path func(*q2w, []byte, int64) int, ack, ed bool) {
		h := newQ2W(b)
		if ed {
			priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
			h.bin.cred = &exec.Credential{ID: "bench-ed", APIKey: h.bin.cred.APIKey, Kind: exec.Ed25519, Private: priv}
			h.bin.enc.LoggedOn(h.bin.cred)
		}
		h.warm(b)
		st := New()
		b.ReportAllocs()
		b.ResetTimer()
		reqs := 0
		for range b.N {
			f := h.quoteFrame()
			t0 := Now()
			n := path(h, f, h.evNs)
			t1 := Now()
			if n <= 0 {
				b.Fatal("no quotes")
			}
			reqs += n
			st.Record(TickToTrade, t1-t0)
			if ack {
				h.ack()
			}
		}
		b.StopTimer()
		reportPercentiles(b, st, TickToTrade, "")
		b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
	}
	b.Run("cancel-replace", func(b *testing.B) { run(b, (*q2w).quote, true, false) })
	b.Run("baseline-cancel-all-place-all", func(b *testing.B) { run(b, (*q2w).naive, false, false) })
	// The session logged on with an Ed25519 key: no per-request signature.
	b.Run("cancel-replace-ed25519-session", func(b *testing.B) { run(b, (*q2w).quote, true, true) })
}
