package exec

import (
	"math/rand/v2"
	"testing"

	"arbmm/internal/market"
)

var testInst = &market.Instrument{Venue: market.Binance, Symbol: "BTCUSDT", Pair: market.Pair{Base: "BTC", Quote: "USDT"}, PriceExp: 2, QtyExp: 5}

func intent(id market.ClientID, qty market.Qty) *market.Intent {
	return &market.Intent{Action: market.ActNew, Venue: market.Binance, Inst: testInst, Side: market.Buy, Type: market.Limit, Price: 6000000, Qty: qty, ClientID: id}
}

func rep(kind market.ReportKind, id market.ClientID) *market.Report {
	return &market.Report{Kind: kind, ClientID: id, Venue: market.Binance, Inst: testInst}
}

func fill(id market.ClientID, trade uint64, qty market.Qty, cum market.Qty) *market.Report {
	r := rep(market.ReportFill, id)
	r.TradeID, r.Qty, r.CumQty, r.Price = trade, qty, cum, 6000000
	r.Fee, r.FeeExp, r.FeeAsset = 10, 8, "BTC"
	return r
}

func mustApply(t *testing.T, tb *Orders, r *market.Report, want Outcome, status market.OrderStatus) *Order {
	t.Helper()
	o, out, err := tb.Apply(r)
	if err != nil {
		t.Fatalf("%v: %v", r.Kind, err)
	}
	if out != want || o.Status != status {
		t.Fatalf("%v: outcome %d status %v, want %d %v", r.Kind, out, o.Status, want, status)
	}
	return o
}

func TestOrderLifecycle(t *testing.T) {
	tb := NewOrders(8, 8)
	o, err := tb.New(intent(1, 100), 10)
	if err != nil || o.Status != market.PendingNew {
		t.Fatalf("New: %v %v", o, err)
	}
	if _, err := tb.New(intent(1, 100), 11); err != ErrDuplicateID {
		t.Errorf("second New with id 1: %v, want ErrDuplicateID", err)
	}
	if _, err := tb.New(intent(0, 100), 11); err != ErrZeroID {
		t.Errorf("New with id 0: %v, want ErrZeroID", err)
	}
	mustApply(t, tb, rep(market.ReportAck, 1), Changed, market.New)
	mustApply(t, tb, rep(market.ReportAck, 1), Ignored, market.New) // duplicate ack
	mustApply(t, tb, fill(1, 7, 40, 40), FillAdded, market.PartiallyFilled)
	mustApply(t, tb, fill(1, 7, 40, 40), Ignored, market.PartiallyFilled) // duplicate fill
	if _, err := tb.CancelSent(1, 20); err != nil {
		t.Fatal(err)
	}
	// A fill while the cancel is pending, then the cancel is refused
	// (Binance -2011: the order had filled).
	mustApply(t, tb, fill(1, 8, 10, 50), FillAdded, market.PendingCancel)
	rj := rep(market.ReportReject, 1)
	rj.Req = market.ActCancel
	mustApply(t, tb, rj, Changed, market.PartiallyFilled)
	o = mustApply(t, tb, fill(1, 9, 50, 100), FillAdded, market.Filled)
	if o.Filled != 100 || o.Notional != 100*6000000 || o.Fee != 30 || string(o.FeeAsset[:o.FeeLen]) != "BTC" {
		t.Errorf("filled %d notional %d fee %d %q", o.Filled, o.Notional, o.Fee, o.FeeAsset[:o.FeeLen])
	}
	mustApply(t, tb, rep(market.ReportCanceled, 1), Ignored, market.Filled) // a cancel after the last fill
	st := tb.Stats()
	if st.Fills != 3 || st.Duplicates != 1 || st.Placed != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestOutOfOrderReports(t *testing.T) {
	tb := NewOrders(8, 8)
	tb.New(intent(2, 100), 0)
	// A fill before the ack implies the ack.
	mustApply(t, tb, fill(2, 1, 30, 30), FillAdded, market.PartiallyFilled)
	mustApply(t, tb, rep(market.ReportAck, 2), Ignored, market.PartiallyFilled)
	// The cancel's report overtakes a fill: the fill still counts.
	tb.CancelSent(2, 5)
	mustApply(t, tb, rep(market.ReportCanceled, 2), Changed, market.Canceled)
	o := mustApply(t, tb, fill(2, 2, 20, 50), FillAdded, market.Canceled)
	if o.Filled != 50 || o.LateFills != 1 {
		t.Errorf("filled %d late %d, want 50 and 1", o.Filled, o.LateFills)
	}
	// A reject of a new order.
	tb.New(intent(3, 100), 0)
	mustApply(t, tb, rep(market.ReportReject, 3), Changed, market.Rejected)
	mustApply(t, tb, rep(market.ReportAck, 3), Ignored, market.Rejected)
	// An IOC remainder expires.
	tb.New(intent(4, 100), 0)
	mustApply(t, tb, fill(4, 3, 60, 60), FillAdded, market.PartiallyFilled)
	mustApply(t, tb, rep(market.ReportExpired, 4), Changed, market.Expired)
	if _, _, err := tb.Apply(rep(market.ReportAck, 99)); err != ErrUnknownOrder {
		t.Errorf("report for an unknown order: %v", err)
	}
}

func TestLostAckReconciled(t *testing.T) {
	tb := NewOrders(8, 8)
	tb.New(intent(5, 100), 1000)
	tb.New(intent(6, 100), 1000)
	mustApply(t, tb, rep(market.ReportAck, 6), Changed, market.New)
	var due []market.ClientID
	if due = tb.Overdue(1500, 1000, due[:0]); len(due) != 0 {
		t.Fatalf("overdue too early: %v", due)
	}
	due = tb.Overdue(2000, 1000, due[:0])
	if len(due) != 1 || due[0] != 5 {
		t.Fatalf("overdue %v, want [5]", due)
	}
	tb.MarkUnknown(5, 2000)
	if o, _ := tb.Get(5); o.Status != market.Unknown {
		t.Fatalf("status %v, want unknown", o.Status)
	}
	// The status query answers: filled 70 at an average price, still open.
	st := rep(market.ReportStatus, 5)
	st.Status, st.CumQty, st.Price = market.PartiallyFilled, 70, 5999900
	o := mustApply(t, tb, st, FillAdded, market.PartiallyFilled)
	if o.Filled != 70 || tb.Stats().Reconciled != 1 {
		t.Errorf("filled %d reconciled %d", o.Filled, tb.Stats().Reconciled)
	}
	mustApply(t, tb, st, Ignored, market.PartiallyFilled) // the same answer again
	// A refused query or cancel-all leaves the order alone.
	for _, req := range []market.Action{market.ActQuery, market.ActCancelAll} {
		rj := rep(market.ReportReject, 5)
		rj.Req = req
		mustApply(t, tb, rj, Ignored, market.PartiallyFilled)
	}
}

func TestTableCapacityAndEviction(t *testing.T) {
	tb := NewOrders(2, 2)
	for id := market.ClientID(1); id <= 4; id++ {
		if _, err := tb.New(intent(id, 1), 0); err != nil {
			t.Fatalf("order %d: %v", id, err)
		}
	}
	if _, err := tb.New(intent(5, 1), 0); err != ErrTableFull {
		t.Fatalf("fifth order: %v, want ErrTableFull", err)
	}
	// Final orders make room, oldest first, and stay findable until then.
	mustApply(t, tb, rep(market.ReportReject, 1), Changed, market.Rejected)
	mustApply(t, tb, rep(market.ReportReject, 2), Changed, market.Rejected)
	mustApply(t, tb, rep(market.ReportReject, 3), Changed, market.Rejected)
	if _, ok := tb.Get(1); ok {
		t.Error("order 1 still held beyond keepFinal")
	}
	if _, ok := tb.Get(2); !ok {
		t.Error("order 2 evicted too early")
	}
	if _, err := tb.New(intent(5, 1), 0); err != nil {
		t.Fatalf("after eviction: %v", err)
	}
	if got := len(tb.Open(nil)); got != 2 {
		t.Errorf("%d open, want 2 (4 and 5)", got)
	}
}

// TestReportsShuffled delivers each order's reports duplicated and in a
// random order: whatever the order, the filled quantity is the sum of the
// distinct fills and the final status is right.
func TestReportsShuffled(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tb := NewOrders(64, 64)
	for id := market.ClientID(1); id <= 2000; id++ {
		qty := market.Qty(10 + rng.IntN(100))
		tb.New(intent(id, qty), 0)
		var reports []*market.Report
		reports = append(reports, rep(market.ReportAck, id))
		left, cum := qty, market.Qty(0)
		full := rng.IntN(2) == 0
		for n := uint64(1); left > 0; n++ {
			q := market.Qty(1 + rng.IntN(int(left)))
			if !full && q == left {
				break
			}
			cum += q
			left -= q
			reports = append(reports, fill(id, uint64(id)*100+n, q, cum))
		}
		if !full {
			reports = append(reports, rep(market.ReportCanceled, id))
		}
		for i := len(reports) - 1; i > 0; i-- {
			j := rng.IntN(i + 1)
			reports[i], reports[j] = reports[j], reports[i]
		}
		for _, r := range reports {
			if _, _, err := tb.Apply(r); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(3) == 0 { // duplicates
				tb.Apply(r)
			}
		}
		o, ok := tb.Get(id)
		if !ok {
			t.Fatalf("order %d evicted", id)
		}
		if o.Filled != cum {
			t.Fatalf("order %d: filled %d, want %d", id, o.Filled, cum)
		}
		want := market.Canceled
		if full {
			want = market.Filled
		}
		if o.Status != want {
			t.Fatalf("order %d: status %v, want %v", id, o.Status, want)
		}
	}
}
