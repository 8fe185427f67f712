// Package cpu pins the engine's goroutines to CPUs and decides how a polling
// loop waits when it finds nothing to do.
//
// Pin locks the calling goroutine to its OS thread and restricts that thread
// to one CPU (Linux only; elsewhere it returns ErrUnsupported and does
// nothing). Unpin undoes it. Both act on the calling goroutine's thread, so
// the goroutine that will run the loop calls them itself, typically first
// thing and deferred.
//
// Idle names a waiting strategy (spin, yield, park) chosen in config; an
// Idler applies it inside a loop after n consecutive empty polls.
//
// Nothing here is safe to share between goroutines except Allowed and the
// Idle/Idler values, which are immutable. Idler.Idle does not allocate.
package cpu
