package book_test

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"arbmm/book"
	"arbmm/internal/market"
)

// krakenChange is one level change from the real Kraken depth-1000 capture.
type krakenChange struct {
	pair  int
	side  market.Side
	price market.Price
	qty   market.Qty
	last  bool // last change of its message: truncate after it
}

// loadKrakenBook1000 extracts, with encoding/json (this is set-up, not the
// code under test), the snapshots and the ordered level changes of the real
// Kraken WS v1 depth-1000 capture, at 8 decimals for prices and quantities.
func loadKrakenBook1000(tb testing.TB) (snaps [][]krakenChange, upd []krakenChange) {
	f, err := os.Open("../feed/kraken/testdata/kraken-v1-book1000-10pairs.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	pairs := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	parse := func(s string) int64 {
		v, err := market.ParseFixed([]byte(s), 8)
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
	for sc.Scan() {
		var rec struct{ T, Data string }
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.T != "recv" || !strings.HasPrefix(rec.Data, "[") {
			continue
		}
		var frame []json.RawMessage
		if err := json.Unmarshal([]byte(rec.Data), &frame); err != nil || len(frame) < 4 {
			continue
		}
		var name string
		json.Unmarshal(frame[len(frame)-1], &name)
		pi, ok := pairs[name]
		if !ok {
			pi = len(pairs)
			pairs[name] = pi
			snaps = append(snaps, nil)
		}
		var msg []krakenChange
		for _, obj := range frame[1 : len(frame)-2] {
			var m map[string]json.RawMessage
			json.Unmarshal(obj, &m)
			for key, side := range map[string]market.Side{"as": market.Ask, "bs": market.Bid, "a": market.Ask, "b": market.Bid} {
				var lv [][]string
				if raw, ok := m[key]; ok {
					json.Unmarshal(raw, &lv)
				}
				for _, l := range lv {
					msg = append(msg, krakenChange{pair: pi, side: side, price: market.Price(parse(l[0])), qty: market.Qty(parse(l[1]))})
				}
			}
			if _, ok := m["as"]; ok {
				snaps[pi] = msg
				msg = nil
			}
		}
		if len(msg) > 0 {
			msg[len(msg)-1].last = true
			upd = append(upd, msg...)
		}
	}
	if len(snaps) != 10 || len(upd) < 4000 {
		tb.Fatalf("capture gave %d pairs, %d changes", len(snaps), len(upd))
	}
	return snaps, upd
}

// BenchmarkSetRealKrakenBook1000 applies the level changes of the real
// Kraken depth-1000 capture (10 pairs, ~4.3k messages) to 1000-level books,
// truncating to the subscribed depth after each message as the feed does.
// ns/op is per level change.
func BenchmarkSetRealKrakenBook1000(b *testing.B) {
	snaps, upd := loadKrakenBook1000(b)
	books := make([]*book.Book, len(snaps))
	reset := func() {
		for i, s := range snaps {
			if books[i] == nil {
				books[i], _ = book.New(book.Config{MaxDepth: 1000, TopN: 20})
			}
			books[i].Clear()
			for _, c := range s {
				books[i].Set(c.side, c.price, c.qty)
			}
		}
	}
	reset()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(upd) {
			b.StopTimer()
			reset()
			i = 0
			b.StartTimer()
		}
		c := &upd[i]
		i++
		bk := books[c.pair]
		bk.Set(c.side, c.price, c.qty)
		if c.last {
			bk.Truncate(1000)
		}
	}
}
