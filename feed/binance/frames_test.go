package binance

import (
	"errors"
	"io"
	"strings"
	"testing"

	"arbmm/internal/capture"
)

// captureFrames returns the recv frames and http bodies of a capture, in
// order, with each http body's symbol.
type capRec struct {
	frame  []byte
	symbol string // set for snapshots
}

func captureRecords(t testing.TB, path string) []capRec {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []capRec
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec.Kind {
		case capture.KindRecv:
			out = append(out, capRec{frame: append([]byte(nil), rec.Data...)})
		case capture.KindHTTP:
			i := strings.Index(rec.URL, "symbol=")
			sym := rec.URL[i+7:]
			if j := strings.IndexByte(sym, '&'); j >= 0 {
				sym = sym[:j]
			}
			out = append(out, capRec{frame: append([]byte(nil), rec.Data...), symbol: sym})
		}
	}
}

// depthFrames returns the depth-update frames of a capture.
func depthFrames(t testing.TB, path string) [][]byte {
	var out [][]byte
	for _, r := range captureRecords(t, path) {
		if r.symbol == "" && strings.Contains(string(r.frame), `"depthUpdate"`) {
			out = append(out, r.frame)
		}
	}
	return out
}
