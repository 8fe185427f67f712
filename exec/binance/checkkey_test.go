package binance

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"arbmm/exec"
	"arbmm/exec/keys"
	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
)

// TestCheckKey: at start-up a key that can withdraw is refused unless the
// operator allows it, and a key that cannot trade is refused; the venue
// says which (apiRestrictions).
func TestCheckKey(t *testing.T) {
	e := newSim(t, false, nil)
	rep := newReports(t)
	key := func(perms auth.Perm) *exec.Credential {
		var b [24]byte
		_, _ = rand.Read(b[:])
		api, secret := "p"+hex.EncodeToString(b[:8]), []byte(hex.EncodeToString(b[8:]))
		if err := e.keys.Add(auth.Key{APIKey: api, Type: auth.HMAC, Secret: secret, Account: us, Perms: perms}); err != nil {
			t.Fatal(err)
		}
		return &exec.Credential{ID: "p", APIKey: api, Kind: exec.HMAC, Secret: secret}
	}
	check := func(c *exec.Credential, allow bool) error {
		r, err := NewREST(Config{RESTURL: e.s.RESTURL(), Keys: exec.StaticKey{C: c}, Instruments: []*market.Instrument{btc}, OnReport: rep.on})
		if err != nil {
			t.Fatal(err)
		}
		return r.CheckKey(allow)
	}
	withdraw := key(auth.PermRead | auth.PermTrade | auth.PermWithdraw)
	if err := check(withdraw, false); !errors.Is(err, keys.ErrWithdraw) {
		t.Errorf("a withdrawal key without the override: got %v, want ErrWithdraw", err)
	} else if strings.Contains(err.Error(), string(withdraw.Secret)) {
		t.Error("the error holds the secret")
	}
	if err := check(withdraw, true); err != nil {
		t.Errorf("a withdrawal key with allow_withdraw: %v", err)
	}
	if err := check(key(auth.PermRead|auth.PermTrade), false); err != nil {
		t.Errorf("a trade-only key: %v", err)
	}
	if err := check(key(auth.PermRead), false); err == nil || !strings.Contains(err.Error(), "cannot trade") {
		t.Errorf("a read-only key: got %v, want a refusal", err)
	}
}

// TestRepeatedReadIsNotAReplay: the same signed query twice in one
// millisecond (a frozen clock makes the bytes identical) is answered both
// times: only requests that change state are refused as replays.
func TestRepeatedReadIsNotAReplay(t *testing.T) {
	e := newSim(t, true, nil)
	rep := newReports(t)
	r, err := NewREST(Config{RESTURL: e.s.RESTURL(), Keys: exec.StaticKey{C: e.hmacKey("a")}, Instruments: []*market.Instrument{btc}, OnReport: rep.on, Now: e.now.Load})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := r.APIRestrictions(); err != nil {
			t.Fatalf("query %d: %v", i+1, err)
		}
	}
}
