package market

import (
	"math/rand/v2"
	"testing"
)

func TestClientIDText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, id := range []ClientID{0, 1, 0xdeadbeef, 1<<64 - 1, ClientID(rng.Uint64()), ClientID(rng.Uint64())} {
		b := id.AppendText(nil)
		if len(b) != ClientIDLen {
			t.Fatalf("%d: text %q has %d bytes, want %d", uint64(id), b, len(b), ClientIDLen)
		}
		got, ok := ParseClientID(b)
		if !ok || got != id {
			t.Errorf("ParseClientID(%q) = %d, %v; want %d, true", b, uint64(got), ok, uint64(id))
		}
	}
	if s := ClientID(0xab).String(); s != "x00000000000000ab" {
		t.Errorf("String = %q, want x00000000000000ab", s)
	}
	for _, bad := range []string{"", "x", "x00000000000000aB", "y00000000000000ab", "x00000000000000ab0", "web_1234"} {
		if _, ok := ParseClientID([]byte(bad)); ok {
			t.Errorf("ParseClientID(%q) accepted", bad)
		}
	}
}

func TestOrderStatusFinal(t *testing.T) {
	final := map[OrderStatus]bool{Filled: true, Canceled: true, Rejected: true, Expired: true}
	for s := PendingNew; s <= Unknown; s++ {
		if s.Final() != final[s] {
			t.Errorf("%v.Final() = %v, want %v", s, s.Final(), final[s])
		}
		if s.String() == "" {
			t.Errorf("status %d has no name", s)
		}
	}
}
