// Package risk holds arbmm's pre-trade checks and its kill switch.
//
// Every intent a strategy returns passes through Checker.Check before the
// gateway encodes it. A new order (or a replace) is held against the
// limits of its (venue, instrument) and of its base asset, in this order:
// the kill switch; a Live book updated within stale_after; positive
// quantity and price; the venue's tick, step, minimum quantity and minimum
// notional (what the venue would reject anyway); max_order_qty and
// max_order_notional; the price band around the caller's reference price
// (fat finger); the position on the venue and across venues (max_position,
// max_total_position; an order reducing the position always may); the free
// balance (a buy needs price×qty plus the fee reserve in quote, a sell
// needs qty in base); max_open_orders; and the order rate, a token bucket
// driven by the time passed in. The first failure is the Verdict and is
// counted. Cancels always pass, kill switch or not.
//
// Numbers are int64 mantissas at the instrument's exponents: limits are
// exact decimal text in Config, parsed once by New; notional and band
// comparisons use 128-bit products (math/bits), so nothing is rounded in
// the trader's favour: a buy's quote need is rounded up.
//
// The kill switch (KillSwitch) trips on max loss, max drawdown from the
// P&L peak, a burst of venue rejects, a venue disconnected too long, or the
// operator (SIGUSR1). It stays active until Reset; while active Check
// refuses every new order with Killed but a hedge (an IOC or FOK marked
// Intent.Hedge) that brings the pair's total position toward zero, and
// the engine must cancel every open order (see KillSwitch).
//
// Goroutines: a Checker is owned by the engine core's goroutine (Check,
// and the KillSwitch's OnPnL, OnReject and OnVenueState). Its counters
// (Count, Cancels) are atomics written by the owner alone with a load and a
// store, and may be read from any goroutine, as the status line and
// /metrics do. KillSwitch.Trigger, Active, Reset and the status accessors
// are safe from any goroutine.
//
// Time is an argument everywhere (Unix ns, from events), never read from a
// clock, so live, paper, replay and backtest runs decide alike.
//
// Allocation: Check and the kill switch's evaluations do not allocate
// (alloc_test.go proves it); only a trigger formats its detail text.
package risk
