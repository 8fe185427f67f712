//go:build !race

package market

import "testing"

func TestFixedZeroAlloc(t *testing.T) {
	in := []byte("27120.00000")
	bad := []byte("27120.00001")
	buf := make([]byte, 0, 64)
	n := testing.AllocsPerRun(1000, func() {
		_, _ = ParseFixed(in, 5)
		_, _ = ParseFixed(bad, 1)
		buf = AppendFixed(buf[:0], 2712000000, 5)
		_, _ = Rescale(271200, 1, 5)
	})
	if n != 0 {
		t.Errorf("fixed-point scan/format allocates %v times per run, want 0", n)
	}
}
