package capture

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReader reads every fixture line (plain) through Next.
func BenchmarkReader(b *testing.B) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	var all []byte
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, raw...)
		if len(all) > 0 && all[len(all)-1] != '\n' {
			all = append(all, '\n')
		}
	}
	b.SetBytes(int64(len(all)))
	b.ReportAllocs()
	for b.Loop() {
		r := mustReader(b, all)
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkParseFast decodes envelope lines of the usual shapes: a recv
// frame with escaped JSON data, an open line and an http line.
func BenchmarkParseFast(b *testing.B) {
	lines := bytes.Split([]byte(
		`{"t":"recv","ts":1633998512.0633569,"conn":"wss://stream.binance.com:9443/stream?streams=a@depth","data":"{\"stream\":\"a@depth\",\"data\":{\"e\":\"depthUpdate\",\"b\":[[\"0.1\",\"2\"],[\"0.2\",\"3\"]],\"a\":[]}}"}`+"\n"+
			`{"t":"open","ts":1633998511.159679,"conn":"wss://stream.binance.com:9443/stream?streams=a@depth"}`+"\n"+
			`{"t":"http","ts":1,"conn":"X.http.1","url":"https://x/depth?symbol=A\u0026limit=5000","data":"{\"lastUpdateId\":1,\"bids\":[],\"asks\":[]}"}`), []byte("\n"))
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	r := &Reader{}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			var f fields
			if !r.parseFast(l, &f) {
				b.Fatalf("fast path declined %s", l)
			}
		}
	}
}
