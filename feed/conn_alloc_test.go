//go:build !race

package feed

import (
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// TestConnSteadyStateAllocs checks that receiving a frame costs at most
// the one small allocation fasthttp/websocket's NextReader makes per
// message (its messageReader); the Conn's own path (buffer, time stamp,
// read deadline, counters) allocates nothing. AllocsPerRun counts the
// whole process, so the server's write is included too; the race
// detector allocates on its own, hence the build tag.
func TestConnSteadyStateAllocs(t *testing.T) {
	srv := newWSServer(t, true)
	s := &signalSession{got: make(chan struct{}, 1)}
	cfg := fastConfig(srv.url())
	cfg.IdleTimeout = time.Minute // exercise the read-deadline extension
	start(t, cfg, s)
	sc := srv.accept()
	sc.expect(t, "sub")
	frame := []byte(strings.Repeat(`{"b":[["60000.01","1.5"]]}`, 40))
	timeout := time.NewTimer(guard)
	defer timeout.Stop()
	one := func() {
		if err := sc.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.got:
		case <-timeout.C:
			t.Fatal("frame not delivered")
		}
	}
	for range 100 { // warm up: grow the buffers
		one()
	}
	n := testing.AllocsPerRun(1000, one)
	t.Logf("%v allocations per frame", n)
	if n > 1 {
		t.Fatalf("got %v allocations per frame, want ≤ 1", n)
	}
}
