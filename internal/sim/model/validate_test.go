package model_test

import (
	"math"
	"testing"
	"time"

	"arbmm/internal/sim/model"
)

func TestLatentValidateNaN(t *testing.T) {
	for _, c := range []model.LatentConfig{
		{Start: 1, VolBps: math.NaN()},
		{Start: 1, JumpsPerMin: 1, JumpBps: math.NaN()},
		{Start: 1, MeanRevertPerMin: math.NaN()},
		{Start: 1, JumpsPerMin: math.NaN()},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
	l, err := model.NewLatent(model.LatentConfig{Start: 60000, VolBps: math.NaN()}, 1e6, 0, 1)
	if err == nil {
		l.Advance()
		t.Errorf("NewLatent accepted VolBps NaN; the price after one step is %v", l.At(0))
	}
}

func TestNewFlowZeroStep(t *testing.T) {
	r := newRig(t, quiet, model.FlowConfig{LevelQty: 10}, 1)
	defer func() {
		if e := recover(); e != nil {
			t.Errorf("NewFlow with step 0 panicked: %v, want an error", e)
		}
	}()
	if _, err := model.NewFlow(model.FlowConfig{LevelQty: 10, Lag: time.Millisecond}, r.p, r.l, lpAcct, tkAcct, 0, 1); err == nil {
		t.Error("NewFlow with step 0 succeeded")
	}
}
