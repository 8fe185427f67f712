package auth

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestNonces(t *testing.T) {
	n := NewNonces()
	a, b := []byte("key-a"), []byte("key-b")
	for _, tc := range []struct {
		key   []byte
		nonce uint64
		want  error
	}{
		{a, 100, nil},
		{a, 101, nil},
		{a, 101, ErrNonce},
		{a, 50, ErrNonce},
		{b, 1, nil}, // per key
		{a, 1000, nil},
		{b, 2, nil},
		{b, 2, ErrNonce},
		{a, 999, ErrNonce},
	} {
		if got := n.Check(tc.key, tc.nonce); got != tc.want {
			t.Errorf("%s %d: got %v, want %v", tc.key, tc.nonce, got, tc.want)
		}
	}
}

func TestParseNonce(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"1616492376594", 1616492376594, true},
		{"0", 0, true},
		{"18446744073709551615", 1<<64 - 1, true},
		{"18446744073709551616", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"12a", 0, false},
		{"000000000000000000001", 0, false},
	} {
		got, ok := ParseNonce([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: got (%d, %v), want (%d, %v)", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTokens(t *testing.T) {
	tk := NewTokens(0)
	a := tk.Issue(7, t0)
	b := tk.Issue(8, t0)
	if a == b {
		t.Fatal("two tokens equal")
	}
	if raw, err := base64.StdEncoding.DecodeString(a); err != nil || len(raw) != 30 {
		t.Errorf("token %q: got %d bytes, err %v; want 30 bytes of base64", a, len(raw), err)
	}
	if acct, err := tk.Check([]byte(a), t0.Add(15*time.Minute)); err != nil || acct != 7 {
		t.Errorf("at ttl: got (%d, %v), want (7, nil)", acct, err)
	}
	if _, err := tk.Check([]byte("nope"), t0); err != ErrToken {
		t.Errorf("unknown: got %v, want %v", err, ErrToken)
	}
	// b is used by a connection before it expires: it then never expires.
	if acct, err := tk.Use([]byte(b), t0.Add(time.Minute)); err != nil || acct != 8 {
		t.Errorf("use: got (%d, %v), want (8, nil)", acct, err)
	}
	late := t0.Add(15*time.Minute + time.Nanosecond)
	if _, err := tk.Check([]byte(a), late); err != ErrToken {
		t.Errorf("unused after ttl: got %v, want %v", err, ErrToken)
	}
	if acct, err := tk.Check([]byte(b), t0.Add(48*time.Hour)); err != nil || acct != 8 {
		t.Errorf("used, much later: got (%d, %v), want (8, nil)", acct, err)
	}
	if !tk.Revoke([]byte(b)) {
		t.Error("revoke: got false, want true")
	}
	if _, err := tk.Check([]byte(b), t0); err != ErrToken {
		t.Errorf("revoked: got %v, want %v", err, ErrToken)
	}
	if _, err := tk.Use([]byte(a), late); err != ErrToken {
		t.Errorf("use after ttl: got %v, want %v", err, ErrToken)
	}
	// Expired tokens are swept as more are issued.
	tk = NewTokens(time.Second)
	for range 1000 {
		tk.Issue(1, t0)
	}
	for range 100 { // the table reaches its next sweep size (1024) here
		tk.Issue(1, t0.Add(time.Hour))
	}
	tk.mu.Lock()
	left := len(tk.m)
	tk.mu.Unlock()
	if left > 100 {
		t.Errorf("after sweep: got %d tokens, want ≤ 100", left)
	}
}
