package feed

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestMonitorReportsOnlyChanges(t *testing.T) {
	var buf bytes.Buffer
	var c Counters
	m := &Monitor{Log: slog.New(slog.NewTextHandler(&buf, nil)), Watch: []Watched{{Name: "kraken-1", Counters: &c}}}
	if n := m.Report(); n != 0 {
		t.Fatalf("quiet connection: %d lines, want 0", n)
	}
	for range 1000 { // a storm of bad frames is one line
		c.DecodeErrors.Add(1)
	}
	c.Resyncs.Add(2)
	if n := m.Report(); n != 1 {
		t.Fatalf("after bad frames: %d lines, want 1", n)
	}
	if out := buf.String(); !strings.Contains(out, "conn=kraken-1") || !strings.Contains(out, "decode_errors=1000") || !strings.Contains(out, "resyncs=2") {
		t.Errorf("log line %q lacks the connection or the deltas", out)
	}
	if n := m.Report(); n != 0 {
		t.Fatalf("nothing new: %d lines, want 0", n)
	}
}
