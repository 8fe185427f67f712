package risk

import (
	"strings"
	"sync"
	"testing"
	"time"

	"arbmm/internal/market"
)

func newTestKill(t *testing.T) *KillSwitch {
	t.Helper()
	k, err := NewKillSwitch(KillConfig{
		MaxLoss: 500, MaxDrawdown: 300,
		RejectBurst: 3, RejectWindow: time.Second, VenueDownAfter: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// wantKill checks the switch is active for reason r with a detail holding
// part, triggered at time at.
func wantKill(t *testing.T, k *KillSwitch, r KillReason, part string, at int64) {
	t.Helper()
	if !k.Active() {
		t.Fatalf("switch not active, want active for %s", r)
	}
	if got := k.Reason(); got != r {
		t.Errorf("Reason: got %s, want %s", got, r)
	}
	if got := k.Detail(); !strings.Contains(got, part) {
		t.Errorf("Detail: got %q, want it to contain %q", got, part)
	}
	if got := k.Time(); got != at {
		t.Errorf("Time: got %d, want %d", got, at)
	}
}

func wantIdle(t *testing.T, k *KillSwitch) {
	t.Helper()
	if k.Active() {
		t.Fatalf("switch active (%s: %s), want inactive", k.Reason(), k.Detail())
	}
}

func TestKillMaxLoss(t *testing.T) {
	k := newTestKill(t)
	// Peak stays at 0 (P&L never above it), so the drawdown limit of 300
	// would trip first: use a fresh switch with a wide drawdown.
	k.cfg.MaxDrawdown = 1e9
	for i, p := range []float64{0, -100, -499.99, -500} {
		if k.OnPnL(p, int64(i)) {
			t.Fatalf("P&L %v tripped, max loss 500", p)
		}
	}
	wantIdle(t, k)
	if !k.OnPnL(-500.01, 10) {
		t.Fatal("P&L -500.01 did not trip")
	}
	wantKill(t, k, MaxLoss, "P&L -500.01 below -500", 10)
	// Stays active while P&L recovers, until Reset.
	k.OnPnL(1000, 11)
	wantKill(t, k, MaxLoss, "-500.01", 10)
	k.Reset()
	wantIdle(t, k)
	if k.Reason() != NotTriggered || k.Detail() != "" || k.Time() != 0 {
		t.Errorf("after Reset: reason %s detail %q time %d, want none", k.Reason(), k.Detail(), k.Time())
	}
	// Still past the limit at the next evaluation: trips again.
	if !k.OnPnL(-600, 12) {
		t.Fatal("P&L -600 after Reset did not trip")
	}
	wantKill(t, k, MaxLoss, "-600", 12)
	if got := k.Trips(MaxLoss); got != 2 {
		t.Errorf("Trips(MaxLoss): got %d, want 2", got)
	}
	k.Reset()
	if !k.OnPnL(nan(), 13) {
		t.Fatal("NaN P&L did not trip")
	}
	wantKill(t, k, MaxLoss, "NaN", 13)
}

func nan() float64 { var z float64; return z / z }

func TestKillDrawdown(t *testing.T) {
	k := newTestKill(t)
	for i, p := range []float64{100, 400, 250, 1000, 700} { // 1000 - 700 = 300: the limit
		if k.OnPnL(p, int64(i)) {
			t.Fatalf("P&L %v tripped, peak ≤ 1000, drawdown 300", p)
		}
	}
	wantIdle(t, k)
	if !k.OnPnL(699.5, 7) {
		t.Fatal("drawdown of 300.5 from 1000 did not trip")
	}
	wantKill(t, k, MaxDrawdown, "below its peak 1000", 7)
	// After Reset the peak restarts from the next P&L: 699.5 - 300 is fine.
	k.Reset()
	for i, p := range []float64{699.5, 500, 399.5} {
		if k.OnPnL(p, int64(10+i)) {
			t.Fatalf("P&L %v after Reset tripped, want the peak re-based to 699.5", p)
		}
	}
	if !k.OnPnL(399, 20) {
		t.Fatal("drawdown of 300.5 from 699.5 after Reset did not trip")
	}
	wantKill(t, k, MaxDrawdown, "peak 699.5", 20)
}

func TestKillRejectBurst(t *testing.T) {
	k := newTestKill(t)
	const ms = int64(time.Millisecond)
	// 3 allowed within 1s; the 4th inside the window trips.
	for _, at := range []int64{0, 100 * ms, 200 * ms} {
		if k.OnReject(at) {
			t.Fatalf("reject at %dms tripped", at/ms)
		}
	}
	// Four from the start inside the window trip at the 4th.
	k0 := newTestKill(t)
	for i := int64(0); i < 3; i++ {
		if k0.OnReject(i * ms) {
			t.Fatalf("reject %d of a fresh switch tripped", i+1)
		}
	}
	if !k0.OnReject(999 * ms) {
		t.Fatal("4 rejects in 999ms from the start did not trip")
	}
	// The 4th exactly 1s after the first: the first is out of (now-1s, now].
	if k.OnReject(1000 * ms) {
		t.Fatal("4th reject 1s after the 1st tripped: the 1st is outside the window")
	}
	wantIdle(t, k)
	// 100ms, 200ms, 1000ms, and now 1099ms: four within (99ms, 1099ms].
	if !k.OnReject(1099 * ms) {
		t.Fatal("4 rejects within 1s did not trip")
	}
	wantKill(t, k, RejectBurst, "4 rejects within 999ms", 1099*ms)
	k.Reset()
	// Reset empties the window: three more do not trip.
	for _, at := range []int64{1100 * ms, 1101 * ms, 1102 * ms} {
		if k.OnReject(at) {
			t.Fatalf("reject at %dms after Reset tripped", at/ms)
		}
	}
	wantIdle(t, k)
	if !k.OnReject(1103 * ms) {
		t.Fatal("4th reject within 1s after Reset did not trip")
	}
}

func TestKillVenueDown(t *testing.T) {
	k := newTestKill(t)
	const s = int64(time.Second)
	k.OnVenueState(market.Kraken, true, 0)
	k.OnVenueState(market.Kraken, false, 10*s)
	k.OnVenueState(market.Binance, false, 12*s)
	if k.OnVenueState(market.Kraken, false, 15*s) { // down exactly 5s
		t.Fatal("down exactly the limit tripped")
	}
	// Reconnecting in time clears the clock.
	k.OnVenueState(market.Kraken, true, 15*s)
	k.OnVenueState(market.Kraken, false, 16*s)
	if k.OnVenueState(market.Kraken, false, 20*s) {
		t.Fatal("down 4s after reconnecting tripped")
	}
	wantIdle(t, k)
	// Binance, down since 12s, passes the limit at 17s+1ns.
	if k.OnVenueState(market.Binance, false, 17*s) {
		t.Fatal("binance down exactly 5s tripped")
	}
	if !k.OnVenueState(market.Binance, false, 17*s+1) {
		t.Fatal("binance down 5s+1ns did not trip")
	}
	wantKill(t, k, VenueDown, "binance disconnected for 5.000000001s", 17*s+1)
	// Reconnecting does not reset the switch; only Reset does.
	k.OnVenueState(market.Binance, true, 18*s)
	wantKill(t, k, VenueDown, "binance", 17*s+1)
	k.Reset()
	wantIdle(t, k)
	// Kraken, still down since 16s, trips at its next evaluation.
	if !k.OnVenueState(market.Kraken, false, 22*s) {
		t.Fatal("kraken still down after Reset did not trip")
	}
	wantKill(t, k, VenueDown, "kraken disconnected for 6s", 22*s)
	if k.OnVenueState(market.Venue(200), false, 0) {
		t.Error("an out-of-range venue tripped")
	}
}

func TestKillOperator(t *testing.T) {
	k := newTestKill(t)
	if !k.Trigger(Operator, "SIGUSR1", 42) {
		t.Fatal("Trigger did not activate")
	}
	wantKill(t, k, Operator, "SIGUSR1", 42)
	// A second trigger keeps the first reason, and is counted.
	if k.Trigger(MaxLoss, "later", 43) {
		t.Error("Trigger on an active switch reported activating it")
	}
	wantKill(t, k, Operator, "SIGUSR1", 42)
	if k.Trips(MaxLoss) != 1 || k.Trips(Operator) != 1 {
		t.Errorf("Trips: max_loss %d operator %d, want 1 and 1", k.Trips(MaxLoss), k.Trips(Operator))
	}
	// Evaluations on an active switch neither replace the reason nor count.
	k.OnPnL(-1e6, 44)
	wantKill(t, k, Operator, "SIGUSR1", 42)
	if k.Trips(MaxLoss) != 1 {
		t.Errorf("Trips(MaxLoss) after OnPnL on an active switch: got %d, want 1", k.Trips(MaxLoss))
	}
	k.Reset()
	wantIdle(t, k)
	if !k.Trigger(NotTriggered, "bad reason", 50) || k.Reason() != Operator {
		t.Errorf("Trigger(NotTriggered): reason %s, want operator", k.Reason())
	}
	if Operator.String() != "operator" || KillReason(99).String() != "reason(99)" {
		t.Errorf("String: %q %q", Operator.String(), KillReason(99).String())
	}
}

// TestKillConcurrent triggers the switch from another goroutine while the
// core checks intents and a third goroutine reads the counters, as the
// signal handler and the status line do; under -race it proves the sharing
// is sound, and it proves the core sees the trigger at its next check.
func TestKillConcurrent(t *testing.T) {
	c, ins := newTestChecker(t)
	in, v := buy(ins)
	triggered := make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the signal handler
		defer wg.Done()
		c.Kill().Trigger(Operator, "SIGUSR1", 7)
		close(triggered)
	}()
	go func() { // the status line
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = c.Count(OK) + c.Count(Killed) + c.Cancels()
			_ = c.Kill().Reason().String() + c.Kill().Detail()
			_ = c.Kill().Time()
		}
	}()
	now := int64(0)
	seenKilled := false
	for !seenKilled {
		select {
		case <-triggered:
			// Every check after the trigger is visible refuses.
			now += int64(time.Second)
			if got := c.Check(&in, &v, now); got != Killed {
				t.Errorf("check after the trigger: got %s, want kill_switch", got)
			}
			seenKilled = true
		default:
			now += int64(time.Second)
			if got := c.Check(&in, &v, now); got != OK && got != Killed {
				t.Errorf("check while triggering: got %s", got)
			}
		}
	}
	close(stop)
	wg.Wait()
	wantKill(t, c.Kill(), Operator, "SIGUSR1", 7)
}
