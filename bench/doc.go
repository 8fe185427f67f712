// Package bench is arbmm's latency instrumentation: HDR-histogram stage
// timers for the message path (Stages), a monotonic clock cheap enough to
// stamp every stage (Now), and, in its tests, the tick-to-trade benchmark
// (a Binance depth frame's bytes to both arbitrage legs encoded and signed,
// in process) and the loopback wire-to-wire benchmark against the simulated
// Binance venue beside the bare websocket round trip of the same machine.
//
// # Ownership
//
// A Stages is owned by one goroutine, the engine core's: Record, Stamps and
// the accessors must not be called concurrently. Each goroutine that times
// something keeps its own Stages; they are merged (Merge) at the end of a
// run, or at a report, once the recording goroutines have stopped or
// handed their Stages over.
//
// # Allocation
//
// New allocates every histogram up front. Record and RecordStamps then
// allocate nothing: a value is clamped into the trackable range and added
// with RecordValue. Reports (Report, WriteText) allocate; they are cold.
//
// # Running the benchmarks
//
//	go test ./bench -run '^$' -bench 'TickToTrade|WireToWire' -benchtime 200000x
//
// TickToTrade reports p50-ns, p99-ns and p99.9-ns of the whole in-process
// path with allocs/op; WireToWire reports the wire-to-wire and bare
// round-trip percentiles side by side.
package bench
