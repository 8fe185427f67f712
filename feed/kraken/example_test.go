package kraken_test

import (
	"fmt"

	"arbmm/book"
	"arbmm/feed/kraken"
)

// A v1 connection without configured instruments: the snapshot makes the
// book Live, an update is applied and its checksum verified, and a
// corrupted update marks the book Stale and asks for a resubscribe.
func Example() {
	f, err := kraken.New(kraken.Config{Version: 1})
	if err != nil {
		panic(err)
	}
	frames := []string{
		`{"event":"heartbeat"}`,
		`[1,{"as":[["101.0","1.5","1693415327.935623"]],"bs":[["100.0","2.0","1693415327.935623"]]},"book-10","XBT/USD"]`,
		`[1,{"b":[["100.5","1.0","1693415328.088361"]],"c":"1180659039"},"book-10","XBT/USD"]`,
		`[1,{"b":[["100.5","3.0","1693415329.088361"]],"c":"1180659039"},"book-10","XBT/USD"]`, // stale checksum
	}
	for _, fr := range frames {
		err := f.Handle([]byte(fr), 0)
		sym := f.Symbols()
		if len(sym) == 0 {
			fmt.Println(err)
			continue
		}
		var top book.Top
		sym[0].Book.Read(&top)
		fmt.Printf("%v %v bid %d@%d\n", err, top.State, top.Bids[0].Price, top.Bids[0].Qty)
	}
	fmt.Println("resubscribe:", f.TakeResubscribe(nil))
	c := f.Counters().Load()
	fmt.Println("frames", c.Frames, "ignored", c.Ignored, "resyncs", c.Resyncs)
	// Output:
	// <nil>
	// <nil> live bid 1000@20
	// <nil> live bid 1005@10
	// kraken: book checksum mismatch stale bid 1005@30
	// resubscribe: [XBT/USD]
	// frames 4 ignored 1 resyncs 1
}
