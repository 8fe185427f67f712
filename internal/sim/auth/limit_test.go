package auth

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestBinanceLimiterDefaults(t *testing.T) {
	l := NewBinanceLimiter(BinanceLimits{}).Limits()
	want := BinanceLimits{6000, 100, 200000, 5, 2 * time.Minute, 72 * time.Hour}
	if l != want {
		t.Errorf("got %+v, want %+v", l, want)
	}
}

func TestBinanceWeight(t *testing.T) {
	b := NewBinanceLimiter(BinanceLimits{WeightPerMinute: 100})
	now := t0.Add(15*time.Second + 300*time.Millisecond) // 44.7 s to the minute
	for i := 1; i <= 10; i++ {
		d := b.Request("1.2.3.4", 1, 10, false, now)
		if d.Status != 200 || d.UsedWeight1m != 10*i {
			t.Fatalf("request %d: got status %d used %d, want 200 used %d", i, d.Status, d.UsedWeight1m, 10*i)
		}
	}
	d := b.Request("1.2.3.4", 1, 1, false, now)
	if d.Status != 429 || d.Code != -1003 || d.RetryAfter != 45 || d.UsedWeight1m != 101 {
		t.Fatalf("over: got %+v, want status 429 code -1003 retry 45 used 101", d)
	}
	if b.Refused() != 1 {
		t.Errorf("Refused = %d after one 429, want 1", b.Refused())
	}
	if want := "Too much request weight used; current limit is 100 request weight per 1 MINUTE."; !strings.HasPrefix(d.Msg, want) {
		t.Errorf("msg: got %q, want prefix %q", d.Msg, want)
	}
	// Another IP is independent.
	if d := b.Request("5.6.7.8", 1, 1, false, now); d.Status != 200 || d.UsedWeight1m != 1 {
		t.Errorf("other ip: got status %d used %d, want 200 used 1", d.Status, d.UsedWeight1m)
	}
	// The next minute starts afresh (fixed windows aligned to the minute).
	if d := b.Request("1.2.3.4", 1, 5, false, t0.Add(time.Minute)); d.Status != 200 || d.UsedWeight1m != 5 {
		t.Errorf("next minute: got status %d used %d, want 200 used 5", d.Status, d.UsedWeight1m)
	}
	// Retry-After rounds up and is at least 1.
	b2 := NewBinanceLimiter(BinanceLimits{WeightPerMinute: 1})
	if d := b2.Request("x", 1, 2, false, t0.Add(59999*time.Millisecond)); d.Status != 429 || d.RetryAfter != 1 {
		t.Errorf("1 ms before the minute: got status %d retry %d, want 429 retry 1", d.Status, d.RetryAfter)
	}
}

func TestBinanceBan(t *testing.T) {
	b := NewBinanceLimiter(BinanceLimits{WeightPerMinute: 10}) // BanAfter 5, 2m doubling
	ip := "9.9.9.9"
	now := t0.Add(10 * time.Second)
	b.Request(ip, 1, 10, false, now)
	// The crossing request and BanAfter more get 429; the next is banned.
	for i := 0; i < 6; i++ {
		if d := b.Request(ip, 1, 1, false, now); d.Status != 429 {
			t.Fatalf("429 #%d: got %d, want 429", i+1, d.Status)
		}
	}
	d := b.Request(ip, 1, 1, false, now)
	if d.Status != 418 || d.Code != -1003 || d.RetryAfter != 120 {
		t.Fatalf("ban: got %+v, want 418 -1003 retry 120", d)
	}
	until := now.Add(2 * time.Minute).UnixMilli()
	if want := "Way too much request weight used; IP banned until " + itoa(until) + "."; !strings.HasPrefix(d.Msg, want) {
		t.Errorf("msg: got %q, want prefix %q", d.Msg, want)
	}
	// Still banned in the next minute; Retry-After counts down.
	if d := b.Request(ip, 1, 1, false, now.Add(time.Minute)); d.Status != 418 || d.RetryAfter != 60 {
		t.Errorf("during ban: got status %d retry %d, want 418 retry 60", d.Status, d.RetryAfter)
	}
	// After the ban: allowed again.
	after := now.Add(2 * time.Minute)
	if d := b.Request(ip, 1, 1, false, after); d.Status != 200 {
		t.Fatalf("after ban: got %d, want 200", d.Status)
	}
	// Offend again: the ban doubles to 4m, then 8m.
	for _, want := range []int{240, 480} {
		b.Request(ip, 1, 100, false, after) // 429
		var d Decision
		for range 6 {
			d = b.Request(ip, 1, 1, false, after)
		}
		if d.Status != 418 || d.RetryAfter != want {
			t.Fatalf("repeat ban: got status %d retry %d, want 418 retry %d", d.Status, d.RetryAfter, want)
		}
		after = after.Add(time.Duration(want) * time.Second)
	}
	if bans, _ := b.BanLevel(ip, after); bans != 3 {
		t.Errorf("ban level: got %d, want 3", bans)
	}
	// Capped at BanMax.
	c := NewBinanceLimiter(BinanceLimits{WeightPerMinute: 1, BanAfter: 1, BanMin: time.Hour, BanMax: 90 * time.Minute})
	at := t0
	for _, want := range []int{3600, 5400, 5400} {
		c.Request(ip, 1, 2, false, at)
		c.Request(ip, 1, 1, false, at)
		d := c.Request(ip, 1, 1, false, at)
		if d.Status != 418 || d.RetryAfter != want {
			t.Fatalf("capped ban: got status %d retry %d, want 418 retry %d", d.Status, d.RetryAfter, want)
		}
		at = at.Add(time.Duration(want) * time.Second)
	}
}

func itoa(v int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

func TestBinanceOrders(t *testing.T) {
	b := NewBinanceLimiter(BinanceLimits{OrdersPer10s: 3, OrdersPerDay: 5})
	now := t0.Add(2500 * time.Millisecond)
	for i := 1; i <= 3; i++ {
		d := b.Request("ip", 42, 1, true, now)
		if d.Status != 200 || d.OrderCount10s != i || d.OrderCount1d != i {
			t.Fatalf("order %d: got %+v, want 200 counts %d/%d", i, d, i, i)
		}
	}
	d := b.Request("ip", 42, 1, true, now)
	if d.Status != 429 || d.Code != -1015 || d.RetryAfter != 8 || d.OrderCount10s != 3 {
		t.Fatalf("4th order: got %+v, want 429 -1015 retry 8 count 3", d)
	}
	if want := "Too many new orders; current limit is 3 orders per 10 SECOND."; d.Msg != want {
		t.Errorf("msg: got %q, want %q", d.Msg, want)
	}
	// Non-order requests pass and carry no order counts.
	if d := b.Request("ip", 42, 1, false, now); d.Status != 200 || d.OrderCount10s != 0 {
		t.Errorf("query: got %+v, want 200 and no order count", d)
	}
	// Another account is independent.
	if d := b.Request("ip", 43, 1, true, now); d.Status != 200 || d.OrderCount10s != 1 {
		t.Errorf("other account: got %+v, want 200 count 1", d)
	}
	// Next 10 s window: two more, then the day limit.
	next := t0.Add(10 * time.Second)
	for i := 4; i <= 5; i++ {
		if d := b.Request("ip", 42, 1, true, next); d.Status != 200 || d.OrderCount1d != i {
			t.Fatalf("order %d: got %+v, want 200 day count %d", i, d, i)
		}
	}
	d = b.Request("ip", 42, 1, true, next)
	if d.Status != 429 || d.Code != -1015 || !strings.HasSuffix(d.Msg, "5 orders per 1 DAY.") {
		t.Fatalf("day limit: got %+v, want 429 -1015 per 1 DAY", d)
	}
	dayEnd := (t0.UnixMilli()/msPerDay + 1) * msPerDay
	if want := int((dayEnd - next.UnixMilli() + 999) / 1000); d.RetryAfter != want {
		t.Errorf("day retry: got %d, want %d", d.RetryAfter, want)
	}
	// Order refusals do not lead to a ban.
	for range 20 {
		if d := b.Request("ip", 42, 1, true, next); d.Status != 429 {
			t.Fatalf("got %d, want 429", d.Status)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestKrakenCall(t *testing.T) {
	k := NewKrakenLimiter(KrakenLimits{})
	if got, want := k.Limits(), (KrakenLimits{15, 0.33, 60, 1}); got != want {
		t.Fatalf("defaults: got %+v, want %+v", got, want)
	}
	key := []byte("K")
	for i := range 15 {
		if err := k.Call(key, 1, t0); err != nil {
			t.Fatalf("call %d: got %v, want nil", i+1, err)
		}
	}
	if err := k.Call(key, 1, t0); err != ErrKrakenRate || err.Error() != "EAPI:Rate limit exceeded" || k.Refused() != 1 {
		t.Fatalf("16th: got %v, want EAPI:Rate limit exceeded", err)
	}
	// 3 s decay 0.99: 14.01, still no room for a cost-1 call (15.01 > 15).
	at := t0.Add(3 * time.Second)
	if c, _ := k.Counters(key, 0, "", at); !near(c, 14.01) {
		t.Errorf("counter after 3s: got %v, want 14.01", c)
	}
	if err := k.Call(key, 1, at); err != ErrKrakenRate {
		t.Errorf("cost 1 after 3s: got %v, want %v", err, ErrKrakenRate)
	}
	// 4 s: 13.68, room for 1 but not 2.
	at = t0.Add(4 * time.Second)
	if err := k.Call(key, 2, at); err != ErrKrakenRate {
		t.Errorf("cost 2 after 4s: got %v, want %v", err, ErrKrakenRate)
	}
	if err := k.Call(key, 1, at); err != nil {
		t.Errorf("cost 1 after 4s: got %v, want nil", err)
	}
	if c, _ := k.Counters(key, 0, "", at); !near(c, 14.68) {
		t.Errorf("counter after the call: got %v, want 14.68", c)
	}
	// Fully decayed after 15.01/0.33 s; never negative.
	at = at.Add(time.Hour)
	if c, _ := k.Counters(key, 0, "", at); c != 0 {
		t.Errorf("after an hour: got %v, want 0", c)
	}
	if err := k.Call([]byte("other"), 15, t0); err != nil {
		t.Errorf("other key: got %v, want nil", err)
	}
}

func TestKrakenOrder(t *testing.T) {
	k := NewKrakenLimiter(KrakenLimits{})
	for i := range 60 {
		if err := k.Order(1, "XBT/USD", 1, t0); err != nil {
			t.Fatalf("order %d: got %v, want nil", i+1, err)
		}
	}
	if err := k.Order(1, "XBT/USD", 1, t0); err != ErrKrakenOrderRate || err.Error() != "EOrder:Rate limit exceeded" {
		t.Fatalf("61st: got %v, want EOrder:Rate limit exceeded", err)
	}
	// Per pair and per account.
	if err := k.Order(1, "ETH/USD", 1, t0); err != nil {
		t.Errorf("other pair: got %v, want nil", err)
	}
	if err := k.Order(2, "XBT/USD", 1, t0); err != nil {
		t.Errorf("other account: got %v, want nil", err)
	}
	// Decay 1/s: after 7.5 s, 52.5, and a fresh-order cancel (+8) would
	// make 60.5 > 60: refused. After 8 s it fits exactly.
	at := t0.Add(7500 * time.Millisecond)
	if _, c := k.Counters(nil, 1, "XBT/USD", at); !near(c, 52.5) {
		t.Errorf("trading counter after 7.5s: got %v, want 52.5", c)
	}
	if err := k.Order(1, "XBT/USD", KrakenCancelCost(time.Second), at); err != ErrKrakenOrderRate {
		t.Errorf("cancel at 52.5: got %v, want %v", err, ErrKrakenOrderRate)
	}
	at = t0.Add(8 * time.Second)
	if err := k.Order(1, "XBT/USD", KrakenCancelCost(time.Second), at); err != nil {
		t.Errorf("cancel at 52: got %v, want nil", err)
	}
	if _, c := k.Counters(nil, 1, "XBT/USD", at); !near(c, 60) {
		t.Errorf("trading counter: got %v, want 60", c)
	}
}

func TestKrakenCancelCost(t *testing.T) {
	for _, tc := range []struct {
		age  time.Duration
		want float64
	}{
		{0, 8}, {5*time.Second - 1, 8}, {5 * time.Second, 6}, {10*time.Second - 1, 6},
		{10 * time.Second, 5}, {15 * time.Second, 4}, {45*time.Second - 1, 4},
		{45 * time.Second, 2}, {90 * time.Second, 1}, {300*time.Second - 1, 1},
		{300 * time.Second, 0}, {time.Hour, 0},
	} {
		if got := KrakenCancelCost(tc.age); got != tc.want {
			t.Errorf("age %v: got %v, want %v", tc.age, got, tc.want)
		}
	}
}
