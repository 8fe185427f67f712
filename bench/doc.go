// Package bench will hold arbmm's latency instrumentation: HDR-histogram
// stage timers, the tick-to-trade harness and peer comparisons. Until then,
// each hot package carries its own `go test -bench` benchmarks beside a
// library baseline (see the README's table).
package bench
