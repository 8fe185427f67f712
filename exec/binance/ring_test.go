package binance

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"arbmm/exec"
	"arbmm/exec/keys"
	"arbmm/internal/market"
)

// TestRingRotationKeepsTrading rotates keys in the engine's real key ring
// (exec/keys) while orders stream out over the WebSocket API: key A is
// current, B is added and made current, A is retired with a grace period.
// Every order is acknowledged (none rejected), orders after the switch are
// signed with B, and once the grace period ends A's secret bytes are zero.
func TestRingRotationKeepsTrading(t *testing.T) {
	e := newSim(t, false, nil)
	rep := newReports(t)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	ring := keys.NewRing("binance", "main", keys.Config{Now: func() time.Time { return time.Unix(0, now.Load()) }})
	add := func(id string) []byte {
		c := e.hmacKey(id) // registered with the simulated venue
		secret := bytes.Clone(c.Secret)
		k, err := keys.NewKey(keys.Info{ID: id, Venue: "binance", Account: "main", APIKey: c.APIKey, Kind: exec.HMAC, Perms: keys.Read | keys.Trade}, c.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := ring.Add(k); err != nil {
			t.Fatal(err)
		}
		return secret
	}
	add("a")
	if c := ring.Current(); c == nil || c.ID != "a" {
		t.Fatalf("current %v, want a", c)
	}
	aCred := ring.Current()
	s := dialSim(t, e, ring, rep, nil)

	// The sender streams orders while the operator rotates.
	var ids []market.ClientID
	var mu sync.Mutex
	sent := make(chan int, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 40 {
			in := limit(market.Buy, market.GTC, int64(5000000+i), 100)
			if err := s.Send(&in); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			mu.Lock()
			ids = append(ids, in.ClientID)
			mu.Unlock()
			sent <- i
		}
	}()
	for i := range sent {
		if i == 10 {
			add("b")
			if err := ring.MakeCurrent("b"); err != nil {
				t.Fatal(err)
			}
			if err := ring.Retire("a", 10*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		if i == 39 {
			break
		}
	}
	<-done
	mu.Lock()
	for _, id := range ids {
		rep.wait("ack", is(market.ReportAck, id, market.New))
	}
	mu.Unlock()
	if st := s.Stats(); st.Rejects != 0 {
		t.Fatalf("rejects across the rotation: %+v", st)
	}
	if c := ring.Current(); c == nil || c.ID != "b" {
		t.Fatalf("current after rotation %v, want b", c)
	}
	// The grace period ends: A's secret is zeroed in place.
	now.Add(int64(11 * time.Second))
	ring.Tick()
	if len(aCred.Secret) != 0 && !bytes.Equal(aCred.Secret, make([]byte, len(aCred.Secret))) {
		t.Fatal("the retired key's secret was not zeroed after its grace period")
	}
	// And trading goes on with B.
	in := send(t, s, limit(market.Buy, market.GTC, 4900000, 100))
	rep.wait("ack after retirement", is(market.ReportAck, in.ClientID, market.New))
}
