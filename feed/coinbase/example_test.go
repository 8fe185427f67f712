package coinbase_test

import (
	"fmt"

	"arbmm/book"
	"arbmm/feed/coinbase"
	"arbmm/internal/market"
)

// A connection with one configured product: subscribe, load a snapshot,
// apply an update; a lost frame (sequence_num 3 never arrives) marks the
// book Stale and asks for a resubscribe, which the snapshot it brings
// answers.
func Example() {
	ins := []market.Instrument{{Venue: market.Coinbase, Symbol: "BTC-USD", Pair: market.Pair{Base: "BTC", Quote: "USD"}, PriceExp: 2, QtyExp: 8}}
	f, err := coinbase.New(coinbase.Config{Instruments: ins})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", coinbase.AppendSubscribe(nil, []string{"BTC-USD"}, coinbase.ChannelLevel2))
	fmt.Printf("%s\n", coinbase.AppendSubscribe(nil, []string{"BTC-USD"}, coinbase.ChannelHeartbeats))

	level := func(side, px, qty string) string {
		return `{"side":"` + side + `","event_time":"2026-08-09T21:05:48.170326Z","price_level":"` + px + `","new_quantity":"` + qty + `"}`
	}
	l2 := func(seq, typ, levels string) string {
		return `{"channel":"l2_data","client_id":"","timestamp":"2026-08-09T21:05:48.483587501Z","sequence_num":` + seq +
			`,"events":[{"type":"` + typ + `","product_id":"BTC-USD","updates":[` + levels + `]}]}`
	}
	frames := []string{
		`{"channel":"subscriptions","client_id":"","timestamp":"2026-08-09T21:05:48.2Z","sequence_num":0,"events":[{"subscriptions":{"level2":["BTC-USD"]}}]}`,
		l2("1", "snapshot", level("bid", "65083.66", "0.2")+","+level("offer", "65083.67", "1.5")),
		l2("2", "update", level("bid", "65083.66", "0")+","+level("bid", "65083.5", "0.75")),
		`{"channel":"heartbeats","client_id":"","timestamp":"2026-08-09T21:05:49.2Z","sequence_num":4,"events":[{"current_time":"2026-08-09 21:05:49.2 +0000 UTC","heartbeat_counter":7}]}`,
		l2("5", "snapshot", level("bid", "65080.00", "1")+","+level("offer", "65081.00", "2")),
	}
	sym := f.Symbol("BTC-USD")
	for i, fr := range frames {
		err := f.Handle([]byte(fr), 0)
		var top book.Top
		sym.Book.Read(&top)
		bid, _ := top.BestBid()
		fmt.Printf("%d: %v %v bid %s@%s\n", i, err, top.State, sym.Inst.FormatPrice(bid.Price), sym.Inst.FormatQty(bid.Qty))
		if req := f.TakeResyncs(nil); len(req) > 0 {
			fmt.Printf("resubscribe %v: %s\n", req, coinbase.AppendUnsubscribe(nil, req, coinbase.ChannelLevel2))
		}
	}
	c := f.Conn()
	fmt.Println("sequence", c.FirstSeq, "..", c.LastSeq, "gaps", c.Gaps, "l2", c.L2)
	// Output:
	// {"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}
	// {"type":"subscribe","product_ids":["BTC-USD"],"channel":"heartbeats"}
	// 0: <nil> syncing bid 0.00@0.00000000
	// 1: <nil> live bid 65083.66@0.20000000
	// 2: <nil> live bid 65083.50@0.75000000
	// 3: coinbase: sequence_num gap stale bid 65083.50@0.75000000
	// resubscribe [BTC-USD]: {"type":"unsubscribe","product_ids":["BTC-USD"],"channel":"level2"}
	// 4: <nil> live bid 65080.00@1.00000000
	// sequence 0 .. 5 gaps 1 l2 3
}
