package mm

import (
	"errors"
	"math"
)

// The Avellaneda–Stoikov quoting maths ("High-frequency trading in a limit
// order book", Quantitative Finance 8(3), 2008). Prices are in quote units
// (floats: this is a decision, not a book; the quotes are rounded to the
// venue's tick by the caller), time in seconds, the inventory q in base
// units relative to the target inventory.
//
//   - σ² is the mid price's variance per second (VolEstimator);
//   - γ is the risk aversion, per quote unit: larger γ skews and widens more;
//   - k is the order-arrival decay: fills at distance δ from the mid arrive
//     at rate A·e^(−kδ) (ArrivalEstimator);
//   - τ = T − t is the time left to the horizon.

// ReservationPrice is the finite-horizon indifference price
// r = s − q·γ·σ²·τ: below the mid when long, above when short.
func ReservationPrice(s, q, gamma, sigma2, tau float64) float64 {
	return s - q*gamma*sigma2*tau
}

// OptimalSpread is the finite-horizon total spread around the
// reservation price, δa + δb = γσ²τ + (2/γ)·ln(1 + γ/k).
func OptimalSpread(gamma, sigma2, tau, k float64) float64 {
	return gamma*sigma2*tau + 2/gamma*math.Log1p(gamma/k)
}

// FiniteQuotes are the finite-horizon bid and ask: the reservation price
// less and plus half the optimal spread.
func FiniteQuotes(s, q, gamma, sigma2, tau, k float64) (bid, ask float64) {
	r := ReservationPrice(s, q, gamma, sigma2, tau)
	h := OptimalSpread(gamma, sigma2, tau, k) / 2
	return r - h, r + h
}

// InfiniteQuotes are the infinite-horizon reservation bid and ask (the
// paper's section 2.4, with the inventory bounded by qMax through
// ω = ½γ²σ²(qMax+1)²):
//
//	r_a = s + (1/γ)·ln(1 + (1−2q)γ²σ² / (2ω − γ²q²σ²))
//	r_b = s + (1/γ)·ln(1 + (−1−2q)γ²σ² / (2ω − γ²q²σ²))
//
// each then moved away from the mid by the arrival term (1/γ)·ln(1+γ/k), as
// the finite-horizon spread's second part. ok is false when |q| ≥ qMax+1
// (the formula has no meaning there: the caller quotes one side only).
func InfiniteQuotes(s, q, gamma, sigma2, k, qMax float64) (bid, ask float64, ok bool) {
	if math.Abs(q) >= qMax+1 {
		return 0, 0, false
	}
	g2s2 := gamma * gamma * sigma2
	omega := 0.5 * g2s2 * (qMax + 1) * (qMax + 1)
	den := 2*omega - g2s2*q*q
	ra := s + math.Log1p((1-2*q)*g2s2/den)/gamma
	rb := s + math.Log1p((-1-2*q)*g2s2/den)/gamma
	arrival := math.Log1p(gamma/k) / gamma
	return rb - arrival, ra + arrival, true
}

// VolEstimator estimates σ², the mid's variance per second, online: an
// exponentially weighted mean of squared log returns divided by the time
// each took, with a half-life in seconds. Owned by one goroutine; no
// allocation.
type VolEstimator struct {
	HalfLife float64 // seconds; default 30
	var2     float64 // per second, of log returns
	lastMid  float64
	lastT    float64
	n        int
}

// Observe takes a mid price at time t (seconds).
func (v *VolEstimator) Observe(mid, t float64) {
	if !(mid > 0) {
		return
	}
	if v.n > 0 && t > v.lastT {
		dt := t - v.lastT
		r := math.Log(mid / v.lastMid)
		sample := r * r / dt
		hl := v.HalfLife
		if hl <= 0 {
			hl = 30
		}
		w := 1 - math.Exp(-math.Ln2*dt/hl)
		if v.n == 1 {
			w = 1
		}
		v.var2 += w * (sample - v.var2)
	}
	if v.n == 0 || t > v.lastT {
		v.lastMid, v.lastT = mid, t
		v.n++
	}
}

// Sigma2 is σ² in price units per second: the log-return variance times
// the mid squared. 0 before two observations.
func (v *VolEstimator) Sigma2() float64 { return v.var2 * v.lastMid * v.lastMid }

// ArrivalEstimator estimates k from the distances of fills from the mid:
// with arrivals at rate A·e^(−kδ), the distance of a fill is exponential
// with mean 1/k, so k is the inverse of an exponentially weighted mean
// distance (the maximum-likelihood estimate, made online). Owned by one
// goroutine; no allocation.
type ArrivalEstimator struct {
	Weight float64 // weight of each new fill; default 0.05
	Prior  float64 // k before the first fill (per quote unit); required
	mean   float64
	n      int
}

// ErrNoPrior is returned by K when neither fills nor a prior give a k.
var ErrNoPrior = errors.New("mm: no arrival rate: set ArrivalEstimator.Prior")

// Fill takes the distance from the mid of a fill (quote units, >= 0).
func (a *ArrivalEstimator) Fill(delta float64) {
	if !(delta >= 0) {
		return
	}
	w := a.Weight
	if w <= 0 {
		w = 0.05
	}
	if a.n == 0 {
		a.mean = delta
	} else {
		a.mean += w * (delta - a.mean)
	}
	a.n++
}

// K is the current estimate of k.
func (a *ArrivalEstimator) K() (float64, error) {
	if a.n == 0 || a.mean <= 0 {
		if a.Prior > 0 {
			return a.Prior, nil
		}
		return 0, ErrNoPrior
	}
	return 1 / a.mean, nil
}
