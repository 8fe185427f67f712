//go:build !race

package kraken

import (
	"testing"

	"arbmm/exec"
	"arbmm/internal/market"
)

func TestEncodeSignAllocs(t *testing.T) {
	s := newSigner()
	cred := &exec.Credential{ID: "t", APIKey: "k", Secret: make([]byte, 64)}
	in := market.Intent{Inst: testInst, Side: market.Buy, Type: market.Limit, TIF: market.IOC, Price: 300000, Qty: 12500000, ClientID: 0x1234}
	body := make([]byte, 0, 512)
	sig := make([]byte, 0, SignLen)
	path := []byte(pathAddOrder)
	n := uint64(1700000000000000)
	allocs := testing.AllocsPerRun(1000, func() {
		n++
		s.key(cred)
		body, _ = AppendAddOrder(body[:0], n, &in)
		sig = s.Sign(sig[:0], path, nonceOf(body), body)
	})
	if allocs != 0 {
		t.Fatalf("REST AddOrder encode+sign: %v allocs, want 0", allocs)
	}
	buf := make([]byte, 0, 512)
	allocs = testing.AllocsPerRun(1000, func() {
		buf, _ = AppendWSAddOrder(buf[:0], "tokentokentoken", 7, &in)
		buf = AppendWSCancelOrder(buf[:0], "tokentokentoken", 8, in.ClientID)
		buf = AppendWSCancelAfter(buf[:0], "tokentokentoken", 9, 60)
	})
	if allocs != 0 {
		t.Fatalf("WS encoders: %v allocs, want 0", allocs)
	}
}

func TestDecodeAllocs(t *testing.T) {
	d := NewDecoder([]*market.Instrument{testInst})
	var sink market.Report
	d.OnReport = func(r *market.Report) { sink = *r }
	d.OnResponse = func(*Response) {}
	for _, fr := range [][]byte{[]byte(benchTrade), []byte(benchCanceled), []byte(docFrames[1]), []byte(docFrames[2])} {
		allocs := testing.AllocsPerRun(1000, func() {
			if err := d.Decode(fr, 1); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("Decode %s: %v allocs, want 0", fr, allocs)
		}
	}
	_ = sink
}
