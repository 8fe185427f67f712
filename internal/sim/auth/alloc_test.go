//go:build !race

package auth

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestAllocs(t *testing.T) {
	keys := NewKeys()
	if err := keys.Add(Key{APIKey: "api", Type: HMAC, Secret: []byte(benchBinanceSecret)}); err != nil {
		t.Fatal(err)
	}
	api := []byte("api")
	bsec, bpay, bsig := []byte(benchBinanceSecret), []byte(benchBinancePayload), []byte(benchBinanceSig)
	ksec, _ := base64.StdEncoding.DecodeString(benchKrakenSecret)
	kpath, knonce, kpost, ksig := []byte(benchKrakenPath), []byte(benchKrakenNonce), []byte(benchKrakenPost), []byte(benchKrakenSig)
	q := []byte(benchBinancePayload + "&signature=" + benchBinanceSig)
	buf := make([]byte, 0, 256)
	params := []Param{{[]byte("b"), []byte("2")}, {[]byte("signature"), []byte("x")}, {[]byte("a"), []byte("1")}}
	nonces := NewNonces()
	nonces.Check(api, 1)
	var nonce uint64 = 1
	replay := NewReplayCache()
	replay.Seen(bsig, t0.UnixMilli(), t0)
	now := t0.Add(time.Second)
	kl := NewKrakenLimiter(KrakenLimits{Max: 1e12})
	kl.Call(api, 1, now)
	bl := NewBinanceLimiter(BinanceLimits{WeightPerMinute: 1 << 30, OrdersPer10s: 1 << 30, OrdersPerDay: 1 << 30})
	bl.Request("ip", 1, 1, true, now)

	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Keys.Lookup", func() {
			if _, ok := keys.Lookup(api); !ok {
				t.Fatal("lookup failed")
			}
		}},
		{"VerifyBinanceHMAC", func() {
			if !VerifyBinanceHMAC(bsec, bpay, bsig) {
				t.Fatal("verify failed")
			}
		}},
		{"VerifyKraken", func() {
			if !VerifyKraken(ksec, kpath, knonce, kpost, ksig) {
				t.Fatal("verify failed")
			}
		}},
		{"BinanceRESTPayload", func() {
			if _, _, ok := BinanceRESTPayload(buf[:0], q, nil); !ok {
				t.Fatal("payload failed")
			}
		}},
		{"BinanceWSPayload", func() { BinanceWSPayload(buf[:0], params) }},
		{"CheckBinanceTimestamp", func() { CheckBinanceTimestamp(now, t0.UnixMilli(), 0) }},
		{"Nonces.Check", func() {
			nonce++
			if err := nonces.Check(api, nonce); err != nil {
				t.Fatal(err)
			}
		}},
		{"ReplayCache.Seen replay", func() {
			if !replay.Seen(bsig, t0.UnixMilli(), now) {
				t.Fatal("not seen")
			}
		}},
		{"KrakenLimiter.Call", func() { kl.Call(api, 1, now) }},
		{"BinanceLimiter.Request", func() { bl.Request("ip", 1, 1, true, now) }},
	} {
		if got := testing.AllocsPerRun(200, tc.f); got != 0 {
			t.Errorf("%s: got %v allocs, want 0", tc.name, got)
		}
	}
}
