package market

import (
	"strconv"
	"testing"
)

var sinkInt int64

func BenchmarkParseFixed(b *testing.B) {
	in := []byte("0.35130000")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		v, _ := ParseFixed(in, 8)
		sinkInt += v
	}
}

// BenchmarkParseFloatBaseline is the library baseline: strconv.ParseFloat of
// the same text, which is also inexact for this purpose.
func BenchmarkParseFloatBaseline(b *testing.B) {
	in := "0.35130000"
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		f, _ := strconv.ParseFloat(in, 64)
		sinkInt += int64(f * 1e8)
	}
}

func BenchmarkAppendFixed(b *testing.B) {
	buf := make([]byte, 0, 32)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFixed(buf[:0], 35130000, 8)
	}
	sinkInt += int64(len(buf))
}
