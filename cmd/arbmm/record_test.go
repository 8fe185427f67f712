package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"

	"arbmm/internal/capture"
)

// captureServer is a websocket server on 127.0.0.1 that answers a
// subscribe by sending the recv frames of a capture, in order, then stays
// open: a venue replayed over the wire.
func captureServer(t *testing.T, path string) *httptest.Server {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == capture.KindRecv {
			frames = append(frames, bytes.Clone(rec.Data))
		}
	}
	r.Close()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ws, err := up.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		if _, _, err := ws.ReadMessage(); err != nil { // the subscribe
			return
		}
		for _, f := range frames {
			if err := ws.WriteMessage(websocket.TextMessage, f); err != nil {
				return
			}
		}
		for { // stay open until the client goes
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRecordReplayRoundTrip records a Kraken v2 stream served over a
// loopback websocket by the real recorder (config-driven, the engine's
// feed, session and connection code), then replays the recording: the
// books and checks come out as from the original capture (510 of 510
// checksums, book live).
func TestRecordReplayRoundTrip(t *testing.T) {
	src := krakenData + "kraken-v2-book10-btcusd.jsonl"
	srv := captureServer(t, src)
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v2"
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "record.yaml")
	cfg := fmt.Sprintf(`pairs:
  - pair: BTC/USD
    price_exp: 1
    qty_exp: 8
venues:
  - name: kraken
    ws_url: %s
    rest_url: %s
    reconnect_min: 10ms
    reconnect_max: 100ms
    instruments:
      - symbol: BTC/USD
        pair: BTC/USD
        tick: "0.1"
        step: "0.00000001"
        maker_fee_bps: 16
        taker_fee_bps: 26
`, wsURL, srv.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"record", "-c", cfgPath, "--out", out, "--max-frames", "510", "--duration", "20s"}, &stdout, &stderr); code != 0 {
		t.Fatalf("record exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.jsonl.zst"))
	if len(files) == 0 {
		t.Fatalf("no capture files written; stdout: %s", stdout.String())
	}
	rep, code := replayJSON(t, files...)
	if code != 0 || !rep.OK {
		t.Fatalf("replay of the recording: exit %d ok %v: %+v", code, rep.OK, rep.Files)
	}
	got := totals(rep)
	var total fileTotals
	for _, ft := range got {
		total.symbols += ft.symbols
		total.live += ft.live
		total.checksumOK += ft.checksumOK
		total.checksumFail += ft.checksumFail
	}
	if total != (fileTotals{symbols: 1, live: 1, checksumOK: 510}) {
		t.Errorf("replayed recording: %+v, want 1 live book and 510 checksums verified", total)
	}
	// And the original capture gives the same books.
	orig, _ := replayJSON(t, src)
	var recRow, origRow replayRow
	for _, r := range rep.Symbols {
		recRow = r
	}
	for _, r := range orig.Symbols {
		origRow = r
	}
	if recRow.BestBid != origRow.BestBid || recRow.BestAsk != origRow.BestAsk || recRow.BestBidQty != origRow.BestBidQty || recRow.BestAskQty != origRow.BestAskQty || recRow.Updates != origRow.Updates {
		t.Errorf("recording's final book %+v differs from the capture's %+v", recRow, origRow)
	}
}
