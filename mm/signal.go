package mm

import (
	"math"

	"arbmm/book"
)

// NumFeatures is the signal's feature count: a bias, the order-book
// imbalance and the order-flow imbalance.
const NumFeatures = 3

// RLS is recursive least squares with exponential forgetting: it keeps
// θ minimising Σ λ^(n−i) (y_i − θ·x_i)², updated in O(d²) per sample
// with no allocation. λ in (0, 1]; smaller forgets faster.
type RLS struct {
	Lambda float64
	Theta  [NumFeatures]float64
	p      [NumFeatures][NumFeatures]float64
	n      uint64
}

// NewRLS starts with θ = 0 and P = δ·I (a large δ: little trust in the
// zero start).
func NewRLS(lambda, delta float64) *RLS {
	r := &RLS{Lambda: lambda}
	for i := range r.p {
		r.p[i][i] = delta
	}
	return r
}

// Predict is θ·x.
func (r *RLS) Predict(x *[NumFeatures]float64) float64 {
	var y float64
	for i := range x {
		y += r.Theta[i] * x[i]
	}
	return y
}

// Update takes one sample (x, y).
func (r *RLS) Update(x *[NumFeatures]float64, y float64) {
	var px [NumFeatures]float64 // P·x
	for i := range px {
		for j := range x {
			px[i] += r.p[i][j] * x[j]
		}
	}
	den := r.Lambda
	for i := range x {
		den += x[i] * px[i]
	}
	if !(den > 0) || math.IsInf(den, 0) {
		return
	}
	e := y - r.Predict(x)
	var k [NumFeatures]float64
	for i := range k {
		k[i] = px[i] / den
		r.Theta[i] += k[i] * e
	}
	// P = (P − k·(Px)ᵀ) / λ (P is symmetric, so xᵀP = (Px)ᵀ).
	for i := range r.p {
		for j := range r.p[i] {
			r.p[i][j] = (r.p[i][j] - k[i]*px[j]) / r.Lambda
		}
	}
	r.n++
}

// Corr is an online Pearson correlation of pairs (a, b).
type Corr struct {
	n                     float64
	sa, sb, saa, sbb, sab float64
}

// Add takes a pair.
func (c *Corr) Add(a, b float64) {
	c.n++
	c.sa += a
	c.sb += b
	c.saa += a * a
	c.sbb += b * b
	c.sab += a * b
}

// Value is the correlation so far (0 with fewer than 3 pairs or no
// variance).
func (c *Corr) Value() float64 {
	if c.n < 3 {
		return 0
	}
	cov := c.sab/c.n - c.sa/c.n*c.sb/c.n
	va := c.saa/c.n - c.sa/c.n*c.sa/c.n
	vb := c.sbb/c.n - c.sb/c.n*c.sb/c.n
	if va <= 0 || vb <= 0 {
		return 0
	}
	return cov / math.Sqrt(va*vb)
}

// N is the number of pairs.
func (c *Corr) N() int { return int(c.n) }

// pending is a prediction waiting for the mid change it predicted.
type pending struct {
	x    [NumFeatures]float64
	pred float64
	mid  float64
	t    int64
}

// Signal is the short-horizon fair-value shift: order-book imbalance
// (top Levels per side) and order-flow imbalance (the change of the best
// levels' sizes, Cont–Kukanov–Stoikov style; it stands in for trade-flow
// imbalance until the feeds carry a trades channel) fed to an RLS model
// that predicts the mid's change over Horizon. Each prediction is scored
// out of sample when its horizon has passed, before the model learns from
// it (Correlation). With Off set the shift is zero but the model still
// learns and is scored. Owned by the engine goroutine; no allocation.
type Signal struct {
	Horizon int64 // ns
	Levels  int   // book levels per side in the imbalance; default 5
	Off     bool
	model   *RLS
	ring    [256]pending
	head    int
	size    int
	prevBid book.Level
	prevAsk book.Level
	ofi     float64 // decayed order-flow imbalance
	corr    Corr
	last    float64
}

// NewSignal makes a signal predicting over horizon (ns) with forgetting
// lambda.
func NewSignal(horizon int64, lambda float64) *Signal {
	return &Signal{Horizon: horizon, model: NewRLS(lambda, 1e3)}
}

// Observe takes a book top at time now (ns): it scores and learns from the
// predictions whose horizon has passed, then predicts from this top, and
// returns the shift to add to the fair value (price units; 0 when Off).
func (s *Signal) Observe(t *book.Top, pexp int, now int64) float64 {
	if t.NBids == 0 || t.NAsks == 0 {
		return 0
	}
	pu := math.Pow10(-pexp)
	mid := float64(t.Bids[0].Price+t.Asks[0].Price) / 2 * pu
	for s.size > 0 {
		p := &s.ring[s.head]
		if now-p.t < s.Horizon {
			break
		}
		y := mid - p.mid
		s.corr.Add(p.pred, y)
		s.model.Update(&p.x, y)
		s.head = (s.head + 1) % len(s.ring)
		s.size--
	}
	var x [NumFeatures]float64
	x[0] = 1
	x[1] = imbalance(t, max(s.Levels, 1))
	x[2] = s.flow(t)
	pred := s.model.Predict(&x)
	if s.size < len(s.ring) {
		s.ring[(s.head+s.size)%len(s.ring)] = pending{x: x, pred: pred, mid: mid, t: now}
		s.size++
	}
	s.last = pred
	if s.Off {
		return 0
	}
	return pred
}

// imbalance is (bid size − ask size)/(bid size + ask size) over the top n
// levels, in [−1, 1].
func imbalance(t *book.Top, n int) float64 {
	var b, a float64
	for i := 0; i < n && i < t.NBids; i++ {
		b += float64(t.Bids[i].Qty)
	}
	for i := 0; i < n && i < t.NAsks; i++ {
		a += float64(t.Asks[i].Qty)
	}
	if a+b == 0 {
		return 0
	}
	return (b - a) / (b + a)
}

// flow is the order-flow imbalance of the best levels since the last top:
// a bid rising or growing and an ask falling or shrinking push up,
// normalised by the sizes, decayed.
func (s *Signal) flow(t *book.Top) float64 {
	b, a := t.Bids[0], t.Asks[0]
	var e float64
	switch {
	case b.Price > s.prevBid.Price:
		e += float64(b.Qty)
	case b.Price == s.prevBid.Price:
		e += float64(b.Qty - s.prevBid.Qty)
	default:
		e -= float64(s.prevBid.Qty)
	}
	switch {
	case a.Price < s.prevAsk.Price || s.prevAsk.Price == 0:
		e -= float64(a.Qty)
	case a.Price == s.prevAsk.Price:
		e -= float64(a.Qty - s.prevAsk.Qty)
	default:
		e += float64(s.prevAsk.Qty)
	}
	s.prevBid, s.prevAsk = b, a
	norm := float64(b.Qty + a.Qty)
	if norm > 0 {
		e /= norm
	}
	s.ofi = 0.9*s.ofi + 0.1*math.Max(-1, math.Min(1, e))
	return s.ofi
}

// Correlation is the out-of-sample correlation of predicted and realised
// mid changes so far, and how many were scored.
func (s *Signal) Correlation() (float64, int) { return s.corr.Value(), s.corr.N() }

// Last is the latest prediction (even when Off).
func (s *Signal) Last() float64 { return s.last }

// Theta is the model's current coefficients (bias, imbalance, flow).
func (s *Signal) Theta() [NumFeatures]float64 { return s.model.Theta }
