package mm

import (
	"math"
	"math/rand/v2"
	"testing"

	"arbmm/book"
	"arbmm/internal/market"
)

// TestRLSRecovers: on y = 0.2 + 0.5·x1 − 0.3·x2 + noise, θ converges to the
// coefficients.
func TestRLSRecovers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	r := NewRLS(0.999, 1e3)
	for i := 0; i < 5000; i++ {
		x := [NumFeatures]float64{1, rng.NormFloat64(), rng.NormFloat64()}
		r.Update(&x, 0.2+0.5*x[1]-0.3*x[2]+0.05*rng.NormFloat64())
	}
	want := [NumFeatures]float64{0.2, 0.5, -0.3}
	for i := range want {
		if math.Abs(r.Theta[i]-want[i]) > 0.02 {
			t.Errorf("θ[%d] = %.4f, want %.2f", i, r.Theta[i], want[i])
		}
	}
	// Forgetting: the relationship changes, the model follows.
	for i := 0; i < 5000; i++ {
		x := [NumFeatures]float64{1, rng.NormFloat64(), rng.NormFloat64()}
		r.Update(&x, -0.4*x[1]+0.05*rng.NormFloat64())
	}
	if math.Abs(r.Theta[1]+0.4) > 0.03 {
		t.Errorf("after the change θ[1] = %.4f, want −0.4", r.Theta[1])
	}
}

func TestCorr(t *testing.T) {
	var c Corr
	for i := 0; i < 100; i++ {
		c.Add(float64(i), 2*float64(i)+1)
	}
	if math.Abs(c.Value()-1) > 1e-9 {
		t.Errorf("perfectly correlated: %v", c.Value())
	}
	var d Corr
	for i := 0; i < 100; i++ {
		d.Add(float64(i), -float64(i))
	}
	if math.Abs(d.Value()+1) > 1e-9 {
		t.Errorf("anti-correlated: %v", d.Value())
	}
}

// signalTop is a one-level top around mid (2 decimals) with the given sizes.
func signalTop(mid float64, bq, aq int64) *book.Top {
	t := &book.Top{State: book.Live, NBids: 1, NAsks: 1}
	m := int64(math.Round(mid * 100))
	t.Bids[0] = book.Level{Price: bookPrice(m - 1), Qty: bookQty(bq)}
	t.Asks[0] = book.Level{Price: bookPrice(m + 1), Qty: bookQty(aq)}
	return t
}

// TestSignalPredictsImbalance: a market where the mid moves toward the
// heavier side of the book: the signal learns it and scores a clearly
// positive out-of-sample correlation; where the imbalance means nothing,
// the correlation stays near zero; Off returns no shift.
func TestSignalPredictsImbalance(t *testing.T) {
	run := func(informative bool, off bool) (float64, *Signal) {
		rng := rand.New(rand.NewPCG(7, 7))
		s := NewSignal(100e6, 0.999) // 100 ms ahead
		s.Off = off
		mid := 100.0
		now := int64(0)
		var shifts float64
		for i := 0; i < 20000; i++ {
			bq, aq := int64(1+rng.IntN(100)), int64(1+rng.IntN(100))
			imb := float64(bq-aq) / float64(bq+aq)
			shifts += math.Abs(s.Observe(signalTop(mid, bq, aq), 2, now))
			// The next 100 ms move: toward the imbalance when informative.
			move := 0.02 * rng.NormFloat64()
			if informative {
				move += 0.05 * imb
			}
			mid += move
			now += 100e6
		}
		c, n := s.Correlation()
		if n < 19000 {
			t.Fatalf("%d predictions scored", n)
		}
		if off && shifts != 0 {
			t.Errorf("Off: shifts %v", shifts)
		}
		return c, s
	}
	c, s := run(true, false)
	if c < 0.5 {
		t.Errorf("informative imbalance: out-of-sample correlation %.3f, want > 0.5", c)
	}
	if th := s.Theta(); th[1] < 0.03 {
		t.Errorf("imbalance coefficient %.4f, want about 0.05", th[1])
	}
	if c0, _ := run(false, false); math.Abs(c0) > 0.1 {
		t.Errorf("uninformative imbalance: correlation %.3f, want about 0", c0)
	}
	if c2, _ := run(true, true); c2 < 0.5 {
		t.Errorf("Off still learns and scores: %.3f", c2)
	}
}

func bookPrice(v int64) market.Price { return market.Price(v) }
func bookQty(v int64) market.Qty     { return market.Qty(v) }
