package mm

import (
	"testing"

	"arbmm/internal/market"
)

func ladder(bids, asks []market.Price) *Ladder {
	l := &Ladder{NBids: len(bids), NAsks: len(asks)}
	for i, p := range bids {
		l.Bids[i] = Level{p, 10000}
	}
	for i, p := range asks {
		l.Asks[i] = Level{p, 10000}
	}
	return l
}

func idGen() func() market.ClientID {
	n := market.ClientID(0)
	return func() market.ClientID { n++; return n }
}

func ack(m *Manager, in []market.Intent) {
	for _, x := range in {
		id := x.ClientID
		if x.Action == market.ActReplace {
			id = x.NewID
			m.OnReport(&market.Report{Kind: market.ReportCanceled, ClientID: x.ClientID, Status: market.Canceled})
		}
		if x.Action == market.ActCancel {
			m.OnReport(&market.Report{Kind: market.ReportCanceled, ClientID: id, Status: market.Canceled})
			continue
		}
		m.OnReport(&market.Report{Kind: market.ReportAck, ClientID: id, Status: market.New})
	}
}

func count(in []market.Intent, a market.Action) int {
	n := 0
	for _, x := range in {
		if x.Action == a {
			n++
		}
	}
	return n
}

func TestManagerQuotesAndRefresh(t *testing.T) {
	m := NewManager(qInst, 2, true)
	ids := idGen()
	out := m.Update(ladder([]market.Price{9990, 9980}, []market.Price{10010, 10020}), false, 10, ids, nil)
	if len(out) != 4 || count(out, market.ActNew) != 4 {
		t.Fatalf("first quotes: %+v", out)
	}
	for _, x := range out {
		if x.Type != market.LimitMaker || x.TIF != market.GTC {
			t.Fatalf("quote %+v is not post-only GTC", x)
		}
	}
	// Waiting for the acknowledgements: nothing more goes out.
	if again := m.Update(ladder([]market.Price{9995, 9985}, []market.Price{10015, 10025}), false, 10, ids, nil); len(again) != 0 {
		t.Fatalf("sent %+v while pending", again)
	}
	ack(m, out)
	// A move within the tolerance (2 ticks): no churn.
	if out = m.Update(ladder([]market.Price{9992, 9980}, []market.Price{10010, 10018}), false, 10, ids, nil); len(out) != 0 {
		t.Fatalf("sent %+v for a 2-tick move", out)
	}
	// Beyond it: one cancel-replace per moved layer.
	out = m.Update(ladder([]market.Price{9995, 9980}, []market.Price{10010, 10020}), false, 10, ids, nil)
	if len(out) != 1 || out[0].Action != market.ActReplace || out[0].Price != 9995 || out[0].NewID == 0 {
		t.Fatalf("refresh: %+v", out)
	}
	ack(m, out)
	if b, a := m.Resting(); b != 2 || a != 2 {
		t.Fatalf("resting %d/%d, want 2/2", b, a)
	}
	// Pulled: everything is canceled.
	out = m.Update(nil, true, 10, ids, nil)
	if len(out) != 4 || count(out, market.ActCancel) != 4 {
		t.Fatalf("pull: %+v", out)
	}
	ack(m, out)
	if b, a := m.Resting(); b != 0 || a != 0 {
		t.Fatalf("after the pull: %d/%d resting", b, a)
	}
}

func TestManagerBudget(t *testing.T) {
	m := NewManager(qInst, 0, false)
	ids := idGen()
	out := m.Update(ladder([]market.Price{9990, 9980, 9970}, []market.Price{10010, 10020, 10030}), false, 3, ids, nil)
	if len(out) != 3 {
		t.Fatalf("budget 3: %d intents", len(out))
	}
	// Top layers first, bids and asks alternating.
	if out[0].Price != 9990 || out[1].Price != 10010 || out[2].Price != 9980 {
		t.Fatalf("order: %+v", out)
	}
	ack(m, out)
	// Without cancel-replace a move is a cancel; the new order follows
	// once the slot is free.
	out = m.Update(ladder([]market.Price{9900}, []market.Price{10010}), false, 10, ids, nil)
	// The layer-1 bid (9980) is no longer wanted and the layer-0 bid
	// moved: both canceled, nothing new yet (the asks stand).
	if len(out) != 2 || count(out, market.ActCancel) != 2 {
		t.Fatalf("move without replace: %+v", out)
	}
	ack(m, out)
	out = m.Update(ladder([]market.Price{9900}, []market.Price{10010}), false, 10, ids, nil)
	if len(out) != 1 || out[0].Action != market.ActNew || out[0].Price != 9900 {
		t.Fatalf("the new bid: %+v", out)
	}
	if out = m.Update(ladder([]market.Price{9900}, []market.Price{10010}), false, 0, ids, nil); len(out) != 0 {
		t.Fatal("intents with nothing to move")
	}
	ack(m, out)
	// With no budget, a bid the market moved away from (now above the
	// wanted one) is canceled, not left to be picked off; an ask the
	// market moved toward (now above the wanted one) stays; nothing new
	// goes.
	m2 := NewManager(qInst, 0, true)
	first := m2.Update(ladder([]market.Price{9990, 9980}, []market.Price{10010}), false, 10, ids, nil)
	ack(m2, first)
	out = m2.Update(ladder([]market.Price{9950, 9980}, []market.Price{9990}), false, 0, ids, nil)
	if len(out) != 1 || out[0].Action != market.ActCancel || out[0].ClientID != first[0].ClientID {
		t.Fatalf("moved quotes without budget: %+v, want the top bid's cancel only", out)
	}
	// With budget 1 and cancel-replace, the move is one replace.
	m3 := NewManager(qInst, 0, true)
	first = m3.Update(ladder([]market.Price{9990}, []market.Price{10010}), false, 10, ids, nil)
	ack(m3, first)
	out = m3.Update(ladder([]market.Price{9950}, []market.Price{10050}), false, 1, ids, nil)
	if len(out) != 2 || out[0].Action != market.ActReplace || out[0].Price != 9950 || out[1].Action != market.ActCancel || out[1].ClientID != first[1].ClientID {
		t.Fatalf("budget 1, both sides moved: %+v, want the bid replaced and the ask canceled", out)
	}
}

func TestManagerFillsFreeSlots(t *testing.T) {
	m := NewManager(qInst, 0, true)
	ids := idGen()
	out := m.Update(ladder([]market.Price{9990}, []market.Price{10010}), false, 10, ids, nil)
	ack(m, out)
	ours, fill := m.OnReport(&market.Report{Kind: market.ReportFill, ClientID: out[0].ClientID, Status: market.Filled, Qty: 10000})
	if !ours || !fill || m.Stats.Fills != 1 {
		t.Fatalf("fill: ours %v fill %v", ours, fill)
	}
	if b, a := m.Resting(); b != 0 || a != 1 {
		t.Fatalf("after the bid filled: %d/%d", b, a)
	}
	if ours, _ := m.OnReport(&market.Report{Kind: market.ReportAck, ClientID: 999}); ours {
		t.Error("claimed another strategy's order")
	}
}
