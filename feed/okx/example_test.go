package okx_test

import (
	"fmt"

	"arbmm/book"
	"arbmm/feed/okx"
)

// A connection without configured instruments: the snapshot makes the book
// Live, an update continuing the seqId chain is applied and its checksum
// verified, and an update whose prevSeqId skips a message marks the book
// Stale and asks for a resync.
func Example() {
	f, err := okx.New(okx.Config{})
	if err != nil {
		panic(err)
	}
	frames := []string{
		`{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}`,
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["30001.5","0.55","0","1"]],"bids":[["30000","2","0","3"]],"ts":"1652459225464","checksum":1512038955,"prevSeqId":-1,"seqId":100}]}`,
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[["30000.5","0.25","0","1"]],"ts":"1652459225564","checksum":-34279619,"prevSeqId":100,"seqId":104}]}`,
		`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[["30000.5","0","0","0"]],"ts":"1652459225764","checksum":0,"prevSeqId":107,"seqId":109}]}`,
	}
	for _, fr := range frames {
		err := f.Handle([]byte(fr), 0)
		sym := f.Symbol("BTC-USDT")
		if sym == nil {
			fmt.Println(err)
			continue
		}
		var top book.Top
		sym.Book.Read(&top)
		fmt.Printf("%v %v bid %d@%d\n", err, top.State, top.Bids[0].Price, top.Bids[0].Qty)
	}
	fmt.Println("resync:", f.TakeResyncs(nil))
	c := f.Counters().Load()
	fmt.Println("frames", c.Frames, "ignored", c.Ignored, "resyncs", c.Resyncs)
	// Output:
	// <nil>
	// <nil> live bid 300000@200
	// <nil> live bid 300005@25
	// okx: sequence gap stale bid 300005@25
	// resync: [BTC-USDT]
	// frames 4 ignored 1 resyncs 1
}
