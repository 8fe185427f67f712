package mm

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s: got %.12f, want %.12f", what, got, want)
	}
}

// Hand-computed: s = 100, q = 2, γ = 0.1, σ² = 4, τ = 0.5, k = 1.5.
//
//	r = 100 − 2·0.1·4·0.5 = 99.6
//	spread = 0.1·4·0.5 + (2/0.1)·ln(1 + 0.1/1.5) = 0.2 + 20·ln(16/15)
//	       = 0.2 + 20·0.0645385211375712 = 1.490770422751424
func TestFiniteHorizon(t *testing.T) {
	near(t, "reservation price", ReservationPrice(100, 2, 0.1, 4, 0.5), 99.6, 1e-12)
	near(t, "spread", OptimalSpread(0.1, 4, 0.5, 1.5), 1.490770422751424, 1e-12)
	bid, ask := FiniteQuotes(100, 2, 0.1, 4, 0.5, 1.5)
	near(t, "bid", bid, 99.6-0.745385211375712, 1e-12)
	near(t, "ask", ask, 99.6+0.745385211375712, 1e-12)
	// Flat: symmetric about the mid; short: skewed up.
	bid0, ask0 := FiniteQuotes(100, 0, 0.1, 4, 0.5, 1.5)
	near(t, "flat mid", (bid0+ask0)/2, 100, 1e-12)
	bidS, askS := FiniteQuotes(100, -2, 0.1, 4, 0.5, 1.5)
	near(t, "short mid", (bidS+askS)/2, 100.4, 1e-12)
	// At the horizon the inventory term vanishes.
	near(t, "τ = 0", ReservationPrice(100, 2, 0.1, 4, 0), 100, 1e-12)
}

// Hand-computed, s = 100, γ = 0.1, σ² = 4, k = 1.5, qMax = 5:
//
//	γ²σ² = 0.04, ω = ½·0.04·36 = 0.72
//	q = 0: den = 1.44; r_a = 100 + 10·ln(1 + 0.04/1.44) = 100.273989741881
//	       r_b = 100 + 10·ln(1 − 0.04/1.44) = 99.718291230333
//	arrival = 10·ln(1 + 0.1/1.5) = 0.645385211376
//	bid = 99.072906018957, ask = 100.919374953257
func TestInfiniteHorizon(t *testing.T) {
	bid, ask, ok := InfiniteQuotes(100, 0, 0.1, 4, 1.5, 5)
	if !ok {
		t.Fatal("q = 0 refused")
	}
	near(t, "bid", bid, 99.072906018957, 1e-9)
	near(t, "ask", ask, 100.919374953257, 1e-9)
	// q = 2: den = 1.44 − 0.04·4 = 1.28; r_a = 100 + 10·ln(1 − 3·0.04/1.28),
	// r_b = 100 + 10·ln(1 − 5·0.04/1.28).
	bid, ask, _ = InfiniteQuotes(100, 2, 0.1, 4, 1.5, 5)
	near(t, "long bid", bid, 100+10*math.Log(1-0.2/1.28)-0.645385211376, 1e-9)
	near(t, "long ask", ask, 100+10*math.Log(1-0.12/1.28)+0.645385211376, 1e-9)
	if bid >= 99.072906018957 || ask >= 100.919374953257 {
		t.Errorf("long inventory does not skew the quotes down: %v / %v", bid, ask)
	}
	if _, _, ok := InfiniteQuotes(100, 6, 0.1, 4, 1.5, 5); ok {
		t.Error("|q| ≥ qMax+1 accepted")
	}
}

func TestVolEstimator(t *testing.T) {
	var v VolEstimator
	v.Observe(100, 0)
	if v.Sigma2() != 0 {
		t.Fatal("σ² from one observation")
	}
	v.Observe(101, 1)
	r := math.Log(1.01)
	near(t, "first σ²", v.Sigma2(), r*r*101*101, 1e-12)
	// A geometric random walk with log-σ 0.001 per √s sampled every
	// 100 ms: the estimate lands near the truth (σ² ≈ 1e-6·s²).
	rng := rand.New(rand.NewPCG(1, 2))
	v = VolEstimator{HalfLife: 300}
	s, tm := 100.0, 0.0
	for i := 0; i < 20000; i++ {
		v.Observe(s, tm)
		s *= math.Exp(0.001 * math.Sqrt(0.1) * rng.NormFloat64())
		tm += 0.1
	}
	want := 1e-6 * s * s
	if got := v.Sigma2(); math.Abs(got-want)/want > 0.2 {
		t.Errorf("σ² %.3g, want %.3g ± 20%%", got, want)
	}
	v.Observe(-1, tm+1) // ignored
	v.Observe(s, tm-1)  // out of order: ignored
	if got := v.Sigma2(); math.Abs(got-want)/want > 0.2 {
		t.Errorf("after bad input: σ² %.3g", got)
	}
}

func TestArrivalEstimator(t *testing.T) {
	a := ArrivalEstimator{Weight: 0.01}
	if _, err := a.K(); err != ErrNoPrior {
		t.Fatalf("no fills, no prior: %v", err)
	}
	a.Prior = 3
	if k, _ := a.K(); k != 3 {
		t.Fatalf("prior: got %v", k)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		a.Fill(rng.ExpFloat64() / 2) // k = 2
	}
	if k, _ := a.K(); math.Abs(k-2)/2 > 0.15 {
		t.Errorf("k %.3f, want 2 ± 15%%", k)
	}
}
