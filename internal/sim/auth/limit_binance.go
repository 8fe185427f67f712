package auth

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// BinanceLimits configures a BinanceLimiter. Zero fields take Binance spot's
// published defaults.
type BinanceLimits struct {
	WeightPerMinute int // REQUEST_WEIGHT per IP per minute; default 6000
	OrdersPer10s    int // ORDERS per account per 10 s; default 100
	OrdersPerDay    int // ORDERS per account per UTC day; default 200000
	// BanAfter is how many more requests an IP may make while it is being
	// refused with 429 before the next one is banned with 418; default 5.
	BanAfter int
	// BanMin is the first ban's length (default 2m); each further ban of
	// the same IP doubles it, up to BanMax (default 72h). An IP with no ban
	// for 24h starts again at BanMin.
	BanMin, BanMax time.Duration
}

func (l BinanceLimits) withDefaults() BinanceLimits {
	if l.WeightPerMinute <= 0 {
		l.WeightPerMinute = 6000
	}
	if l.OrdersPer10s <= 0 {
		l.OrdersPer10s = 100
	}
	if l.OrdersPerDay <= 0 {
		l.OrdersPerDay = 200000
	}
	if l.BanAfter <= 0 {
		l.BanAfter = 5
	}
	if l.BanMin <= 0 {
		l.BanMin = 2 * time.Minute
	}
	if l.BanMax <= 0 {
		l.BanMax = 72 * time.Hour
	}
	if l.BanMax < l.BanMin {
		l.BanMax = l.BanMin
	}
	return l
}

// Decision is a BinanceLimiter's verdict on one request, with what the
// server needs for its status line, error body and headers.
type Decision struct {
	Status        int    // 200, 429 or 418
	Code          int    // Binance error code on 429/418: -1003 weight or ban, -1015 orders
	Msg           string // Binance's message text, built only when refusing
	RetryAfter    int    // seconds, for Retry-After on 429/418
	UsedWeight1m  int    // for X-MBX-USED-WEIGHT-1M
	OrderCount10s int    // for X-MBX-ORDER-COUNT-10S (orders only)
	OrderCount1d  int    // for X-MBX-ORDER-COUNT-1D (orders only)
}

// BinanceLimiter applies Binance spot's rate limits: REQUEST_WEIGHT per IP
// in fixed minute windows aligned to the minute, with 429 and then 418 bans
// for an IP that keeps going, and ORDERS per account in fixed 10-second
// windows and UTC days. It is safe for concurrent use. It keeps a small
// record per IP and per account it has seen, forever: fine for a simulator.
type BinanceLimiter struct {
	l        BinanceLimits
	mu       sync.Mutex
	ips      map[string]*ipState
	accounts map[uint32]*acctState
	refused  atomic.Uint64
}

type ipState struct {
	minute    int64 // unix minute of the current window
	used      int   // weight used in it
	limited   bool  // refused with 429 in this window
	over      int   // requests made while limited
	bannedTo  int64 // unix ms the ban ends; 0 none
	bans      int   // bans so far (doubling level)
	lastBanTo int64 // unix ms the last ban ended
}

type acctState struct {
	win10s int64 // unix ms / 10000
	n10s   int
	day    int64 // unix ms / 86400000
	n1d    int
}

// NewBinanceLimiter returns a limiter with limits l (zero fields defaulted).
func NewBinanceLimiter(l BinanceLimits) *BinanceLimiter {
	return &BinanceLimiter{
		l:        l.withDefaults(),
		ips:      make(map[string]*ipState),
		accounts: make(map[uint32]*acctState),
	}
}

// Limits returns the limits in force, defaults filled in.
func (b *BinanceLimiter) Limits() BinanceLimits { return b.l }

const (
	msPerMinute = 60_000
	msPer10s    = 10_000
	msPerDay    = 86_400_000
	banReset    = msPerDay // a day without a ban resets the doubling
)

// Request accounts for one request of the given weight from ip and, when
// order is set, one new order for account, at time now. Weight is counted
// even for a request refused with 429 (not during a 418 ban); an order is
// counted only when it is let through.
func (b *BinanceLimiter) Request(ip string, account uint32, weight int, order bool, now time.Time) Decision {
	d := b.request(ip, account, weight, order, now)
	if d.Status != 200 {
		b.refused.Add(1)
	}
	return d
}

// Refused counts the requests refused so far (429, 418).
func (b *BinanceLimiter) Refused() uint64 { return b.refused.Load() }

func (b *BinanceLimiter) request(ip string, account uint32, weight int, order bool, now time.Time) Decision {
	n := now.UnixMilli()
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.ips[ip]
	if s == nil {
		s = &ipState{}
		b.ips[ip] = s
	}
	if s.bannedTo > n {
		return b.banned(s, n)
	}
	if s.bannedTo != 0 { // ban over
		s.lastBanTo, s.bannedTo = s.bannedTo, 0
		s.limited, s.over = false, 0
	}
	if m := floorDiv(n, msPerMinute); m != s.minute {
		s.minute, s.used, s.limited, s.over = m, 0, false, 0
	}
	if s.limited {
		if s.over >= b.l.BanAfter {
			return b.ban(s, n)
		}
		s.over++
	}
	s.used += weight
	if s.used > b.l.WeightPerMinute {
		s.limited = true
		return Decision{
			Status:       429,
			Code:         -1003,
			Msg:          "Too much request weight used; current limit is " + strconv.Itoa(b.l.WeightPerMinute) + " request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
			RetryAfter:   retryAfter(n, (s.minute+1)*msPerMinute),
			UsedWeight1m: s.used,
		}
	}
	d := Decision{Status: 200, UsedWeight1m: s.used}
	if !order {
		return d
	}
	a := b.accounts[account]
	if a == nil {
		a = &acctState{}
		b.accounts[account] = a
	}
	if w := floorDiv(n, msPer10s); w != a.win10s {
		a.win10s, a.n10s = w, 0
	}
	if day := floorDiv(n, msPerDay); day != a.day {
		a.day, a.n1d = day, 0
	}
	d.OrderCount10s, d.OrderCount1d = a.n10s, a.n1d
	switch {
	case a.n10s >= b.l.OrdersPer10s:
		d.Status, d.Code = 429, -1015
		d.Msg = "Too many new orders; current limit is " + strconv.Itoa(b.l.OrdersPer10s) + " orders per 10 SECOND."
		d.RetryAfter = retryAfter(n, (a.win10s+1)*msPer10s)
	case a.n1d >= b.l.OrdersPerDay:
		d.Status, d.Code = 429, -1015
		d.Msg = "Too many new orders; current limit is " + strconv.Itoa(b.l.OrdersPerDay) + " orders per 1 DAY."
		d.RetryAfter = retryAfter(n, (a.day+1)*msPerDay)
	default:
		a.n10s++
		a.n1d++
		d.OrderCount10s, d.OrderCount1d = a.n10s, a.n1d
	}
	return d
}

// ban starts a ban for s at n and returns its 418.
func (b *BinanceLimiter) ban(s *ipState, n int64) Decision {
	if s.lastBanTo != 0 && n-s.lastBanTo >= banReset {
		s.bans = 0
	}
	d := b.l.BanMin
	for i := 0; i < s.bans && d < b.l.BanMax; i++ {
		d *= 2
	}
	d = min(d, b.l.BanMax)
	s.bans++
	s.bannedTo = n + d.Milliseconds()
	return b.banned(s, n)
}

func (b *BinanceLimiter) banned(s *ipState, n int64) Decision {
	return Decision{
		Status:       418,
		Code:         -1003,
		Msg:          "Way too much request weight used; IP banned until " + strconv.FormatInt(s.bannedTo, 10) + ". Please use WebSocket Streams for live updates to avoid bans.",
		RetryAfter:   retryAfter(n, s.bannedTo),
		UsedWeight1m: s.used,
	}
}

// BanLevel returns how many bans ip has had since its doubling last reset,
// and when its current ban ends (zero if none). For tests and inspection.
func (b *BinanceLimiter) BanLevel(ip string, now time.Time) (bans int, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.ips[ip]
	if s == nil {
		return 0, time.Time{}
	}
	if s.bannedTo > now.UnixMilli() {
		until = time.UnixMilli(s.bannedTo)
	}
	return s.bans, until
}

// retryAfter is the whole seconds from n until end, rounded up, at least 1.
func retryAfter(n, end int64) int {
	return int(max(1, (end-n+999)/1000))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
