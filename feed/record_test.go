package feed

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"arbmm/internal/capture"
)

// TestRecordingRoundTrip records a live loopback connection through a
// Recording and a capture Writer, and reads the file back: the open, the
// subscribe frames and every received frame, in order, with the venue
// still seeing every frame.
func TestRecordingRoundTrip(t *testing.T) {
	srv := newWSServer(t, true)
	path := filepath.Join(t.TempDir(), "rec.jsonl.zst")
	w, err := capture.Create(path, true)
	if err != nil {
		t.Fatal(err)
	}
	inner := newTestSession("sub-1", "sub-2")
	rec := &Recording{Inner: inner, Sink: w, Conn: srv.url()}
	cfg := fastConfig(srv.url())
	c, err := NewConn(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	sc := srv.accept()
	sc.expect(t, "sub-1")
	sc.expect(t, "sub-2")
	sent := [][]byte{[]byte(`{"a":1}`), []byte(`{"b":"two"}`), bytes.Repeat([]byte("x"), 70000)}
	for _, f := range sent {
		if err := sc.ws.WriteMessage(websocket.TextMessage, f); err != nil {
			t.Fatal(err)
		}
	}
	for range sent {
		select {
		case <-inner.frames:
		case <-time.After(guard):
			t.Fatal("frame not delivered")
		}
	}
	cancel()
	<-done
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var kinds []capture.Kind
	var data [][]byte
	for {
		rc, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rc.Conn != srv.url() {
			t.Errorf("record conn %q, want %q", rc.Conn, srv.url())
		}
		kinds = append(kinds, rc.Kind)
		data = append(data, bytes.Clone(rc.Data))
	}
	want := []capture.Kind{capture.KindOpen, capture.KindSend, capture.KindSend, capture.KindRecv, capture.KindRecv, capture.KindRecv}
	if len(kinds) != len(want) {
		t.Fatalf("records %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("records %v, want %v", kinds, want)
		}
	}
	if string(data[1]) != "sub-1" || string(data[2]) != "sub-2" {
		t.Errorf("send records %q %q", data[1], data[2])
	}
	for i, f := range sent {
		if !bytes.Equal(data[3+i], f) {
			t.Errorf("recv record %d differs from the frame sent", i)
		}
	}
	if rec.Errors != 0 {
		t.Errorf("sink errors %d", rec.Errors)
	}
}
