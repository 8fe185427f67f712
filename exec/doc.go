// Package exec is arbmm's order gateway core, shared by the venue sessions
// (exec/binance, exec/kraken), the key ring (exec/keys) and the engine:
//
//   - Credential and KeySource: the key a session signs with, re-read on
//     every request so a rotated key takes over without a restart.
//   - Orders: the venue-neutral order table and state machine, fed the
//     sessions' market.Report values; idempotent for duplicate, late and
//     out-of-order reports.
//   - IDs: client order ids unique across restarts.
//   - Window and Counter: rate limits mirrored from the venue's published
//     limits and corrected from its response headers.
//   - Nonces: strictly increasing, never reused across restarts.
//   - Clock: the measured offset to a venue's clock.
//
// Ownership: an Orders table, an IDs generator and a Window are owned by one
// goroutine (the engine core's, or a session's); Nonces and KeySource
// implementations are safe for concurrent use. Nothing here allocates on
// the hot path.
package exec
