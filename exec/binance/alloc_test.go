//go:build !race

package binance

import "testing"

func TestEncodeSignAllocs(t *testing.T) {
	var q reqBuf
	var g signer
	g.use(hmacCred(benchKey, benchSecret))
	buf := make([]byte, 0, 1024)
	ts := int64(1700000000000)
	check := func(name string, fn func()) {
		t.Helper()
		fn() // grow the buffers
		if n := testing.AllocsPerRun(200, fn); n != 0 {
			t.Errorf("%s: got %v allocs/op, want 0", name, n)
		}
	}
	check("ws place", func() { buf, _ = q.appendWSIntent(buf[:0], 1, &benchIntent, &benchOpts, &g, true, ts) })
	check("rest place", func() { buf, _ = q.appendRESTIntent(buf[:0], &benchIntent, &benchOpts, &g, ts) })
	check("ws status", func() { buf = q.appendWSStatus(buf[:0], 1, benchInst, 5, &benchOpts, &g, true, ts) })
	check("signer reuse", func() { g.use(g.cred) })
}
