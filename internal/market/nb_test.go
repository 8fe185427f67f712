package market

import "testing"

var nums = [][]byte{[]byte(`7.6090","`), []byte(`813"]`), []byte(`0.01734","`), []byte(`50697"]`), []byte(`1.01100","`), []byte(`1698"]`), []byte(`0.35130000","`), []byte(`6195.00000000"]`)}

func BenchmarkScanShort(b *testing.B) {
	var s int64
	for b.Loop() {
		for _, n := range nums {
			v, _, _ := ScanFixed(n, 8)
			s += v
		}
	}
	sinkInt = s
}
