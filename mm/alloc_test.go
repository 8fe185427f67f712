//go:build !race

package mm

import (
	"testing"

	"arbmm/internal/market"
)

func TestQuoterNoAlloc(t *testing.T) {
	q := newQ(t, nil)
	top := qTop(1e9)
	now := int64(1e9)
	if a := testing.AllocsPerRun(1000, func() {
		now += 1e6
		top.RecvTime = now
		q.Quote(top, 1, 0, 0, now)
	}); a != 0 {
		t.Errorf("%v allocations per quote, want 0", a)
	}
}

func TestManagerNoAlloc(t *testing.T) {
	m := NewManager(qInst, 0, true)
	var n market.ClientID
	ids := func() market.ClientID { n++; return n }
	dst := make([]market.Intent, 0, 2*MaxLayers)
	l1 := ladder([]market.Price{9990, 9980}, []market.Price{10010, 10020})
	l2 := ladder([]market.Price{9995, 9985}, []market.Price{10015, 10025})
	var rep market.Report
	flip := false
	if a := testing.AllocsPerRun(1000, func() {
		l := l1
		if flip {
			l = l2
		}
		flip = !flip
		dst = m.Update(l, false, 8, ids, dst[:0])
		for i := range dst {
			x := &dst[i]
			if x.Action == market.ActReplace {
				rep = market.Report{Kind: market.ReportCanceled, ClientID: x.ClientID, Status: market.Canceled}
				m.OnReport(&rep)
				rep = market.Report{Kind: market.ReportAck, ClientID: x.NewID, Status: market.New}
			} else {
				rep = market.Report{Kind: market.ReportAck, ClientID: x.ClientID, Status: market.New}
			}
			m.OnReport(&rep)
		}
	}); a != 0 {
		t.Errorf("%v allocations per refresh, want 0", a)
	}
}

func TestSignalNoAlloc(t *testing.T) {
	s := NewSignal(100e6, 0.999)
	top := signalTop(100, 40, 60)
	now := int64(0)
	if a := testing.AllocsPerRun(1000, func() {
		now += 10e6
		s.Observe(top, 2, now)
	}); a != 0 {
		t.Errorf("%v allocations per observation, want 0", a)
	}
}

func TestXEMMNoAlloc(t *testing.T) {
	x := newX(t)
	a := xTop([][2]int64{{5990000, 100000}}, [][2]int64{{6010000, 100000}})
	b := xTop([][2]int64{{5999900, 100000}}, [][2]int64{{6000000, 100000}})
	now := int64(1e9)
	if n := testing.AllocsPerRun(1000, func() {
		now += 1e6
		x.Quote(a, b, now)
		if h, ok := x.OnFill(market.Buy, 20000, b, now, 1); ok {
			x.OnHedgeFill(h.Side, h.Qty, now)
		}
	}); n != 0 {
		t.Errorf("%v allocations per quote and hedge, want 0", n)
	}
}
