//go:build !race

package model_test

import (
	"testing"
	"time"

	"arbmm/internal/sim/model"
)

func TestLatentAllocs(t *testing.T) {
	l := newLatent(t, model.LatentConfig{Start: 60000, VolBps: 5, JumpsPerMin: 600, JumpBps: 10, MeanRevertPerMin: 1}, time.Millisecond, 100, 1)
	var sink float64
	if n := testing.AllocsPerRun(10000, func() {
		l.Advance()
		sink += l.At(0) + l.At(50) + l.At(1000)
	}); n != 0 {
		t.Errorf("Latent Advance/At: %v allocs, want 0", n)
	}
	_ = sink
}
