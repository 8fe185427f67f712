package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestSimex runs `arbmm simex` with the embedded example config for a
// moment and checks that it printed every venue's URLs and its summary, and
// said which accounts it left out for want of their secrets. (What the
// venues serve is internal/sim's tests' business.)
func TestSimex(t *testing.T) {
	t.Setenv("SIMEX_BINANCE_SECRET", "")
	t.Setenv("SIMEX_KRAKEN_SECRET", "")
	var out, errOut bytes.Buffer
	if code := run([]string{"simex", "--duration", "300ms", "--every", "0"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut.String())
	}
	for _, want := range []string{
		`binance\s+ws_url\s+ws://127\.0\.0\.1:\d+/stream`,
		`binance\s+rest_url\s+http://127\.0\.0\.1:\d+`,
		`binance\s+ws_api_url\s+ws://127\.0\.0\.1:\d+/ws-api/v3`,
		`kraken\s+ws_url\s+ws://127\.0\.0\.1:\d+/v2`,
		`kraken\s+rest_url\s+http://127\.0\.0\.1:\d+`,
		`kraken\s+ws_auth_url\s+ws://127\.0\.0\.1:\d+/v2`,
		`simex: .* in all: steps \d+`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "SIMEX_BINANCE_SECRET (its secret) is not set") {
		t.Errorf("stderr does not name the missing secret variable:\n%s", errOut.String())
	}
}

// TestSimexAccounts sets the secrets and checks the accounts are loaded
// and printed, without their secrets.
func TestSimexAccounts(t *testing.T) {
	const binanceSecret, krakenSecret = "test-secret-binance-0123456789", "dGVzdC1zZWNyZXQta3Jha2VuLTAxMjM0NTY3ODk="
	t.Setenv("SIMEX_BINANCE_SECRET", binanceSecret)
	t.Setenv("SIMEX_KRAKEN_SECRET", krakenSecret)
	var out, errOut bytes.Buffer
	if code := run([]string{"simex", "--duration", "100ms", "--every", "0"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut.String())
	}
	if n := strings.Count(out.String(), "account      engine"); n != 2 {
		t.Errorf("%d accounts printed, want 2:\n%s", n, out.String())
	}
	all := out.String() + errOut.String()
	if strings.Contains(all, binanceSecret) || strings.Contains(all, krakenSecret) {
		t.Error("a secret appears in the output")
	}
}
