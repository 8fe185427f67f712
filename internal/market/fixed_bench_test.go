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

// levelNumbers are price and quantity texts as they sit in real Binance
// frames (USD-M and spot), each followed by the bytes that end it there.
var levelNumbers = [][]byte{[]byte(`7.6090","`), []byte(`813"]`), []byte(`0.01734","`), []byte(`50697"]`), []byte(`1.01100","`), []byte(`1698"]`), []byte(`0.35130000","`), []byte(`6195.00000000"]`)}

// BenchmarkScanFixedLevels scans the eight level numbers (ns/op is for all
// eight); BenchmarkParseFloatLevelsBaseline is strconv.ParseFloat on the
// same texts, the library a bot would otherwise use.
func BenchmarkScanFixedLevels(b *testing.B) {
	var s int64
	for b.Loop() {
		for _, n := range levelNumbers {
			v, _, _ := ScanFixed(n, 8)
			s += v
		}
	}
	sinkInt = s
}

func BenchmarkParseFloatLevelsBaseline(b *testing.B) {
	texts := make([]string, len(levelNumbers))
	for i, n := range levelNumbers {
		_, k, _ := ScanFixed(n, 8)
		texts[i] = string(n[:k])
	}
	var s float64
	for b.Loop() {
		for _, t := range texts {
			f, _ := strconv.ParseFloat(t, 64)
			s += f
		}
	}
	sinkInt = int64(s)
}
