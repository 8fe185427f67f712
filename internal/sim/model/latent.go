// Package model is the market model behind the simulated venues: one latent
// price per canonical pair that every venue listing the pair follows, each
// venue late and noisy in its own way, and background order flow that keeps
// each venue's book deep and moving. Cross-venue prices therefore
// dislocate (a jump reaches a lagging venue later; noise pulls venues apart)
// and re-converge, which is what arbitrage and market making live on.
//
// Everything is deterministic given the seed: the latent path is a function
// of the step count, and each flow draws from its own generator, so the
// same seed and the same step count give the same books and the same
// messages, whatever the wall clock did (as long as no client trades).
//
// A Latent is advanced by one driver goroutine; a Flow runs inside its
// venue's Do (venue lock held).
package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// LatentConfig is the latent price process of one pair.
type LatentConfig struct {
	// Start is the initial price, in quote units per base (60000 for
	// BTC/USDT). Required, > 0.
	Start float64
	// VolBps is the standard deviation of the log return over one second,
	// in basis points (a Brownian part; 0 = no diffusion).
	VolBps float64
	// JumpsPerMin is the mean number of jumps per minute (Poisson).
	JumpsPerMin float64
	// JumpBps is the mean jump size in basis points; each jump's size is
	// exponential with this mean and its sign is a coin flip.
	JumpBps float64
	// MeanRevertPerMin pulls the price back toward Start at this rate per
	// minute (0 = a pure random walk), so hour-long demos stay near Start.
	MeanRevertPerMin float64
}

// Validate reports a setting that makes no sense.
func (c *LatentConfig) Validate() error {
	switch {
	case !(c.Start > 0) || math.IsInf(c.Start, 0):
		return fmt.Errorf("model: start price %v: want > 0", c.Start)
	case !(c.VolBps >= 0) || !(c.JumpsPerMin >= 0) || !(c.JumpBps >= 0) || !(c.MeanRevertPerMin >= 0) || // also NaN
		math.IsInf(c.JumpsPerMin, 0) || math.IsInf(c.MeanRevertPerMin, 0):
		return fmt.Errorf("model: vol_bps, jumps_per_min, jump_bps and mean_revert_per_min must be finite and >= 0")
	case c.JumpBps > 5000 || c.VolBps > 5000:
		return fmt.Errorf("model: vol_bps and jump_bps above 5000 (50%%) are not a market")
	}
	return nil
}

// Latent is the latent price path of one pair, one value per model step,
// with enough history for the most lagging venue to look back. Advance is
// called by the model's driver only; At from the venues' flows (under their
// venue locks, after Advance returned: the driver runs both).
type Latent struct {
	cfg   LatentConfig
	rng   *rand.Rand
	sigma float64 // per-step log-return standard deviation
	jumpP float64 // per-step jump probability
	kappa float64 // per-step mean reversion
	logP0 float64
	logP  float64
	hist  []float64 // ring of recent prices; hist[steps % len]
	steps int64     // values generated so far (the first is Start)
	jumps int64
}

// NewLatent makes a latent path stepping every step, remembering maxLag
// steps of history, seeded with seed.
func NewLatent(cfg LatentConfig, step time.Duration, maxLag int, seed uint64) (*Latent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if step <= 0 {
		return nil, fmt.Errorf("model: step %v: want > 0", step)
	}
	dt := step.Seconds()
	l := &Latent{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(seed, 0x6c6174656e74)),
		sigma: cfg.VolBps / 1e4 * math.Sqrt(dt),
		jumpP: cfg.JumpsPerMin / 60 * dt,
		kappa: cfg.MeanRevertPerMin / 60 * dt,
		logP0: math.Log(cfg.Start),
		hist:  make([]float64, maxLag+1),
	}
	l.logP = l.logP0
	l.hist[0] = cfg.Start
	l.steps = 1
	return l, nil
}

// Advance generates the next step's price.
func (l *Latent) Advance() {
	x := l.logP
	x += l.kappa*(l.logP0-x) + l.sigma*l.rng.NormFloat64()
	if l.jumpP > 0 && l.rng.Float64() < l.jumpP {
		j := l.cfg.JumpBps / 1e4 * l.rng.ExpFloat64()
		if l.rng.IntN(2) == 0 {
			j = -j
		}
		x += j
		l.jumps++
	}
	l.logP = x
	l.hist[l.steps%int64(len(l.hist))] = math.Exp(x)
	l.steps++
}

// At is the price lag steps ago (0: the latest), clamped to the history
// kept and to the start.
func (l *Latent) At(lag int) float64 {
	if lag >= len(l.hist) {
		lag = len(l.hist) - 1
	}
	if int64(lag) >= l.steps {
		lag = int(l.steps - 1)
	}
	return l.hist[(l.steps-1-int64(lag))%int64(len(l.hist))]
}

// Steps is the number of prices generated.
func (l *Latent) Steps() int64 { return l.steps }

// Path is a latent price a flow follows: a Latent, or a Ratio of two.
type Path interface {
	// At is the price lag steps ago (0: the latest).
	At(lag int) float64
}

// Ratio is the latent price of a cross pair made of two others, Num/Den
// (ETH/BTC = ETH/USDT ÷ BTC/USDT), so that a venue listing all three is
// consistent but for its own lag and noise: triangular arbitrage then
// arises only from those, as on a real venue.
type Ratio struct{ Num, Den *Latent }

// At is Num.At(lag) / Den.At(lag).
func (r Ratio) At(lag int) float64 { return r.Num.At(lag) / r.Den.At(lag) }

// Jumps is the number of jumps so far.
func (l *Latent) Jumps() int64 { return l.jumps }

// Market drives a set of latent paths and the flows that follow them, one
// step at a time: Step advances every latent path, then steps every flow
// (each flow's actions run under its own venue's lock). Owned by one
// goroutine (Run's, or a test's).
type Market struct {
	step    time.Duration
	latents []*Latent
	flows   []*Flow
	steps   atomic.Int64 // read by any goroutine (Steps)
}

// NewMarket makes an empty market stepping every step.
func NewMarket(step time.Duration) *Market { return &Market{step: step} }

// AddLatent adds a latent path; AddFlow a flow (after its latent).
func (m *Market) AddLatent(l *Latent) { m.latents = append(m.latents, l) }

// AddFlow adds a flow.
func (m *Market) AddFlow(f *Flow) { m.flows = append(m.flows, f) }

// Flows lists the flows in the order they were added.
func (m *Market) Flows() []*Flow { return m.flows }

// Step runs one model step.
func (m *Market) Step() {
	for _, l := range m.latents {
		l.Advance()
	}
	for _, f := range m.flows {
		f.Step()
	}
	m.steps.Add(1)
}

// Steps is the number of steps run; any goroutine may call it.
func (m *Market) Steps() int64 { return m.steps.Load() }

// maxCatchUp bounds the steps Run runs at once after falling behind (a
// paused process, a loaded machine); the rest are skipped, not crammed in.
const maxCatchUp = 200

// Run steps the market one step per period of wall clock (the model's step
// for real time; longer for a slowed-down market) until stop is closed.
func (m *Market) Run(stop <-chan struct{}, period time.Duration) {
	if period <= 0 {
		period = m.step
	}
	t := time.NewTicker(period)
	defer t.Stop()
	start := time.Now()
	var done int64
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			due := int64(now.Sub(start)/period) - done
			if due > maxCatchUp {
				done += due - maxCatchUp
				due = maxCatchUp
			}
			for ; due > 0; due-- {
				m.Step()
				done++
			}
		}
	}
}
