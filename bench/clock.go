package bench

import "time"

// epoch is the origin of Now: a reading with the monotonic clock, set once
// at start-up and never written again.
var epoch = time.Now()

// Now returns monotonic nanoseconds since the process started: what stage
// stamps are taken with. It reads no wall clock (time.Since on a reading
// that carries the monotonic clock takes the runtime's nanotime fast path,
// ~25 ns against ~47 ns for time.Now) and is not comparable across
// processes.
func Now() int64 { return int64(time.Since(epoch)) }
