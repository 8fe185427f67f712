package main

import (
	"bytes"
	"regexp"
	"testing"
)

// TestDemoCommand runs `arbmm demo` for a few seconds: it prints the
// simulated venues' URLs, status lines and the summary.
func TestDemoCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"demo", "--duration", "3s", "--every", "1s"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut.String())
	}
	for _, want := range []string{
		`sim binance\s+ws_url\s+ws://127\.0\.0\.1:\d+/stream`,
		`(?m)^\s+\d+s\s+events\s+\d+/s\s+books live \d+/\d+\s+opps \d+ taken \d+`,
		`summary after 3\.\d+s`,
		`BTC/USDT\s+fills`,
		`P&L [+-]\d+\.\d{4} \(reporting currency, after fees`,
		`kill switch: operator`,
		`GC cycles: \d+`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
