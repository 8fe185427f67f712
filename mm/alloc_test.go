//go:build !race

package mm

import "testing"

func TestQuoterNoAlloc(t *testing.T) {
	q := newQ(t, nil)
	top := qTop(1e9)
	now := int64(1e9)
	if a := testing.AllocsPerRun(1000, func() {
		now += 1e6
		top.RecvTime = now
		q.Quote(top, 1, 0, 0, now)
	}); a != 0 {
		t.Errorf("%v allocations per quote, want 0", a)
	}
}
