package bybit_test

import (
	"fmt"

	"arbmm/book"
	"arbmm/feed/bybit"
)

// A linear connection without configured instruments: the snapshot makes
// the book Live (exponents learned from its decimals), a delta in sequence
// is applied, a delta that skips an update id is a gap (the book goes Stale
// and its topic is queued for a resubscribe), and the snapshot Bybit sends
// after the resubscribe brings it back.
func Example() {
	f, err := bybit.New(bybit.Config{Category: bybit.Linear})
	if err != nil {
		panic(err)
	}
	frames := []string{
		`{"success":true,"ret_msg":"","conn_id":"c1","req_id":"","op":"subscribe"}`,
		`{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[["65000.10","1.000"]],"a":[["65000.20","2.000"]],"u":100,"seq":7},"cts":1}`,
		`{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":2,"data":{"s":"BTCUSDT","b":[["65000.10","0.500"]],"a":[],"u":101,"seq":8},"cts":2}`,
		`{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":3,"data":{"s":"BTCUSDT","b":[],"a":[["65000.30","1.000"]],"u":103,"seq":9},"cts":3}`,
	}
	show := func(err error) {
		sym := f.Symbol("BTCUSDT")
		if sym == nil {
			fmt.Println(err)
			return
		}
		var top book.Top
		sym.Book.Read(&top)
		fmt.Printf("%v %v bid %d@%d (10^-%d)\n", err, top.State, top.Bids[0].Price, top.Bids[0].Qty, sym.Inst.PriceExp)
	}
	for _, fr := range frames {
		show(f.Handle([]byte(fr), 0))
	}
	topics := f.TakeResyncs(nil)
	fmt.Println("resubscribe:", topics)
	show(f.Handle([]byte(`{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":4,"data":{"s":"BTCUSDT","b":[["65000.00","3.000"]],"a":[["65000.30","1.000"]],"u":200,"seq":10},"cts":4}`), 0))
	c := f.Counters().Load()
	fmt.Println("frames", c.Frames, "ignored", c.Ignored, "resyncs", c.Resyncs)
	// Output:
	// <nil>
	// <nil> live bid 6500010@1000 (10^-2)
	// <nil> live bid 6500010@500 (10^-2)
	// bybit: update id gap stale bid 6500010@500 (10^-2)
	// resubscribe: [orderbook.50.BTCUSDT]
	// <nil> live bid 6500000@3000 (10^-2)
	// frames 5 ignored 1 resyncs 1
}
