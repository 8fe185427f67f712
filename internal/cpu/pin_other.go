//go:build !linux

package cpu

import "runtime"

// Allowed returns 0 … runtime.NumCPU()-1: without Linux's affinity API every
// CPU counts as allowed.
func Allowed() []int {
	out := make([]int, runtime.NumCPU())
	for i := range out {
		out[i] = i
	}
	return out
}

// Pin returns ErrUnsupported and does nothing on this system: the thread is
// neither locked nor pinned. A caller that still wants its own thread calls
// runtime.LockOSThread itself.
func Pin(cpu int) error { return ErrUnsupported }

// Unpin does nothing on this system and returns nil.
func Unpin() error { return nil }
