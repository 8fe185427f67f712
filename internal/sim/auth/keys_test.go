package auth

import (
	"bytes"
	"crypto/ed25519"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestKeys(t *testing.T) {
	k := NewKeys()
	secret := []byte("s3cret")
	if err := k.Add(Key{APIKey: "a", Type: HMAC, Secret: secret, Account: 7, Perms: PermRead | PermTrade}); err != nil {
		t.Fatalf("add: got %v, want nil", err)
	}
	secret[0] = 'X' // Add copied it
	pub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	for _, tc := range []struct {
		name string
		key  Key
		ok   bool
	}{
		{"duplicate", Key{APIKey: "a", Type: HMAC, Secret: []byte("x")}, false},
		{"empty name", Key{Type: HMAC, Secret: []byte("x")}, false},
		{"hmac without secret", Key{APIKey: "b", Type: HMAC}, false},
		{"ed25519 short public", Key{APIKey: "c", Type: Ed25519, Public: pub[:31]}, false},
		{"unknown type", Key{APIKey: "d", Type: 9, Secret: []byte("x")}, false},
		{"ed25519", Key{APIKey: "e", Type: Ed25519, Public: pub}, true},
	} {
		if err := k.Add(tc.key); (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	key, ok := k.Lookup([]byte("a"))
	if !ok || key.Account != 7 || !bytes.Equal(key.Secret, []byte("s3cret")) {
		t.Fatalf("lookup: got (%+v, %v), want account 7 secret s3cret", key, ok)
	}
	if !key.Can(PermTrade) || key.Can(PermWithdraw) || !key.Can(PermRead|PermTrade) {
		t.Errorf("perms: got %b, want read|trade", key.Perms)
	}
	if key.Expired(t0) {
		t.Error("zero NotAfter: got expired, want not")
	}
	exp := Key{NotAfter: t0}
	if exp.Expired(t0) || !exp.Expired(t0.Add(time.Nanosecond)) {
		t.Error("NotAfter edge: got wrong expiry")
	}
	if _, ok := k.Lookup([]byte("zz")); ok {
		t.Error("lookup unknown: got true, want false")
	}
	if !k.Remove("a") || k.Remove("a") {
		t.Error("remove: got wrong result")
	}
	if _, ok := k.Lookup([]byte("a")); ok {
		t.Error("lookup removed: got true, want false")
	}
	if key.Account != 7 {
		t.Error("removed key's pointer changed")
	}
	if HMAC.String() != "HMAC" || Ed25519.String() != "Ed25519" || KeyType(9).String() != "KeyType(9)" {
		t.Error("KeyType.String: wrong names")
	}
}

// TestConcurrent exercises the shared tables from many goroutines; run it
// with -race.
func TestConcurrent(t *testing.T) {
	const workers, per = 8, 500
	keys := NewKeys()
	nonces := NewNonces()
	replay := NewReplayCache()
	ts := t0.UnixMilli()
	var firsts, nonceOK atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			own := []byte("key-" + strconv.Itoa(w))
			for i := range per {
				name := "k" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				if err := keys.Add(Key{APIKey: name, Type: HMAC, Secret: []byte("x"), Account: uint32(w)}); err != nil {
					t.Error(err)
					return
				}
				if k, ok := keys.Lookup([]byte(name)); !ok || k.Account != uint32(w) {
					t.Errorf("lookup %s: got (%v, %v)", name, k, ok)
				}
				if i%2 == 0 {
					keys.Remove(name)
				}
				// Own key: strictly increasing, always accepted.
				if err := nonces.Check(own, uint64(i+1)); err != nil {
					t.Errorf("own nonce %d: got %v, want nil", i+1, err)
				}
				// Shared key: every worker offers the same nonces; each
				// is accepted at most once.
				if nonces.Check([]byte("shared"), uint64(i+1)) == nil {
					nonceOK.Add(1)
				}
				// Shared signatures: each is new exactly once overall.
				if !replay.Seen([]byte("sig-"+strconv.Itoa(i)), ts, t0) {
					firsts.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got, want := keys.Len(), workers*per/2; got != want {
		t.Errorf("keys: got %d, want %d", got, want)
	}
	if got := nonceOK.Load(); got < 1 || got > per {
		t.Errorf("shared nonces accepted: got %d, want 1..%d", got, per)
	}
	if got, want := firsts.Load(), int64(per); got != want {
		t.Errorf("replay firsts: got %d, want %d", got, want)
	}
}
