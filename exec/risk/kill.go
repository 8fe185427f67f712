package risk

import (
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"arbmm/internal/market"
)

// KillReason is why the kill switch was triggered.
type KillReason uint8

// The kill switch's reasons.
const (
	NotTriggered KillReason = iota // the switch is not active
	MaxLoss                        // P&L fell below -max_loss
	MaxDrawdown                    // P&L fell more than max_drawdown below its peak
	RejectBurst                    // more than reject_burst venue rejects within reject_window
	VenueDown                      // a venue disconnected for longer than venue_down_after
	Operator                       // the operator asked (SIGUSR1, the control API)
	Unhedged                       // a strategy's residual exceeded its unhedged caps (arb leg risk)
	numKillReasons
)

var killReasonNames = [numKillReasons]string{"not_triggered", "max_loss", "max_drawdown", "reject_burst", "venue_down", "operator", "unhedged"}

// String returns the reason's snake_case name ("max_drawdown").
func (r KillReason) String() string {
	if r < numKillReasons {
		return killReasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// KillSwitch stops trading. Once triggered it stays active until an explicit
// Reset by the operator; while it is active the Checker refuses every new
// order and replace with the Killed verdict (cancels still pass). On the
// trigger the engine must cancel every open order on every venue
// (ActCancelAll) and place no new ones: it watches Active (or the true
// returned by Trigger and the On* helpers) and sends the cancels on the
// change from inactive to active. Only the first trigger's reason, detail and
// time are kept, for the status line and the log; later ones are counted.
//
// Concurrency: Trigger, Active, Reset, Reason, Detail, Time and Trips are
// safe from any goroutine (a signal handler triggers, the core reads Active
// with one atomic load per check). OnPnL, OnReject and OnVenueState keep
// evaluation state and belong to the engine core's goroutine. None of them
// allocate except on the trigger itself (formatting the detail).
type KillSwitch struct {
	cfg KillConfig

	active atomic.Bool
	resets atomic.Uint64 // bumped by Reset; the core's helpers re-base on a change

	mu     sync.Mutex // guards reason, detail, at, trips
	reason KillReason
	detail string
	at     int64
	trips  [numKillReasons]uint64

	// Owned by the engine core (the On* helpers).
	seen      uint64  // resets last seen by the helpers
	peak      float64 // highest P&L since start or the last Reset
	peakSet   bool
	rejects   []int64 // ring of the last RejectBurst+1 reject times
	rejHead   int     // next slot to write
	rejN      int     // slots filled
	downSince [market.NumVenues]int64
	down      [market.NumVenues]bool
}

// NewKillSwitch returns an inactive kill switch with cfg's triggers. New
// makes one for its Checker (Checker.Kill); this is for an engine that
// wants a switch of its own.
func NewKillSwitch(cfg KillConfig) (*KillSwitch, error) {
	cfg = cfg.withDefaults()
	var errs errList
	cfg.validate(&errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return newKillSwitch(cfg), nil
}

func newKillSwitch(cfg KillConfig) *KillSwitch {
	return &KillSwitch{cfg: cfg, rejects: make([]int64, cfg.RejectBurst+1)}
}

// Active reports whether the switch is triggered. Any goroutine; one atomic
// load.
func (k *KillSwitch) Active() bool { return k.active.Load() }

// Trigger activates the switch for reason r with a human-readable detail at
// time now (Unix ns; a signal handler passes time.Now().UnixNano()). It
// reports whether this call activated it; when it was already active, the
// first reason stands and this one is only counted. Any goroutine.
func (k *KillSwitch) Trigger(r KillReason, detail string, now int64) bool {
	if r == NotTriggered || r >= numKillReasons {
		r = Operator
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.trips[r]++
	if k.active.Load() {
		return false
	}
	k.reason, k.detail, k.at = r, detail, now
	k.active.Store(true)
	return true
}

// Reset deactivates the switch (the operator's decision) and re-bases the
// evaluations: the drawdown peak restarts from the next P&L seen and the
// reject window empties. A venue still down and a P&L still past max_loss
// trigger it again at their next evaluation. Any goroutine.
func (k *KillSwitch) Reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reason, k.detail, k.at = NotTriggered, "", 0
	k.resets.Add(1)
	k.active.Store(false)
}

// Reason returns why the switch is active, or NotTriggered. Any goroutine.
func (k *KillSwitch) Reason() KillReason {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.reason
}

// Detail returns the trigger's detail ("P&L -512.30 below -500"), or "".
// Any goroutine.
func (k *KillSwitch) Detail() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.detail
}

// Time returns when the switch was triggered (Unix ns), or 0. Any goroutine.
func (k *KillSwitch) Time() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.at
}

// Trips returns how many times Trigger was called with reason r, including
// calls while already active (the On* helpers do not call it while
// active). Any goroutine.
func (k *KillSwitch) Trips(r KillReason) uint64 {
	if r >= numKillReasons {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.trips[r]
}

// sync re-bases the core's evaluation state after a Reset.
func (k *KillSwitch) sync() {
	if r := k.resets.Load(); r != k.seen {
		k.seen = r
		k.peakSet = false
		k.rejHead, k.rejN = 0, 0
	}
}

// OnPnL evaluates the loss triggers with the engine's realised+unrealised
// P&L in its reporting currency at time now: it trips MaxLoss when pnl <
// -max_loss and MaxDrawdown when pnl is more than max_drawdown below the
// highest P&L seen (since start, taken as 0, or since the last Reset). A NaN
// P&L means the accounting is broken and trips MaxLoss. It reports whether
// this call activated the switch. Engine core only.
func (k *KillSwitch) OnPnL(pnl float64, now int64) bool {
	k.sync()
	if !k.peakSet {
		k.peak, k.peakSet = max(pnl, 0), true
		if k.seen != 0 {
			k.peak = pnl // after a Reset the drawdown counts from here
		}
	}
	switch {
	case math.IsNaN(pnl):
		return !k.Active() && k.Trigger(MaxLoss, "P&L is NaN", now)
	case pnl > k.peak:
		k.peak = pnl
	}
	if k.Active() {
		return false // already stopped: nothing to add, and no detail to format
	}
	if -pnl > k.cfg.MaxLoss {
		return k.Trigger(MaxLoss, "P&L "+ftoa(pnl)+" below -"+ftoa(k.cfg.MaxLoss), now)
	}
	if k.peak-pnl > k.cfg.MaxDrawdown {
		return k.Trigger(MaxDrawdown, "P&L "+ftoa(pnl)+" is "+ftoa(k.peak-pnl)+" below its peak "+ftoa(k.peak)+", more than "+ftoa(k.cfg.MaxDrawdown), now)
	}
	return false
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// OnReject counts a venue's reject of one of our requests at time now and
// trips RejectBurst when more than reject_burst of them fall within the
// window (now-reject_window, now]. It reports whether this call activated
// the switch. Engine core only.
func (k *KillSwitch) OnReject(now int64) bool {
	k.sync()
	k.rejects[k.rejHead] = now
	k.rejHead++
	if k.rejHead == len(k.rejects) {
		k.rejHead = 0
	}
	if k.rejN < len(k.rejects) {
		k.rejN++
		if k.rejN < len(k.rejects) {
			return false // fewer than burst+1 rejects since start or Reset
		}
	}
	// The ring is full: rejHead is now the oldest of the last burst+1.
	if oldest := k.rejects[k.rejHead]; oldest > now-int64(k.cfg.RejectWindow) && !k.Active() {
		return k.Trigger(RejectBurst, strconv.Itoa(len(k.rejects))+" rejects within "+time.Duration(now-oldest).String()+", more than "+strconv.Itoa(k.cfg.RejectBurst)+" in "+k.cfg.RejectWindow.String(), now)
	}
	return false
}

// OnVenueState evaluates the venue-down trigger: the engine calls it when a
// venue's connection changes and on its periodic timer for every venue
// (the trigger is a matter of time passing). It trips VenueDown when v has
// been disconnected for longer than venue_down_after; reconnecting within
// the limit clears the clock. It reports whether this call activated the
// switch. Engine core only.
func (k *KillSwitch) OnVenueState(v market.Venue, connected bool, now int64) bool {
	if int(v) >= market.NumVenues {
		return false
	}
	if connected {
		k.down[v] = false
		return false
	}
	if !k.down[v] {
		k.down[v], k.downSince[v] = true, now
		return false
	}
	if d := now - k.downSince[v]; d > int64(k.cfg.VenueDownAfter) && !k.Active() {
		return k.Trigger(VenueDown, v.String()+" disconnected for "+time.Duration(d).String()+", more than "+k.cfg.VenueDownAfter.String(), now)
	}
	return false
}
