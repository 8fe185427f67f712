package kraken

import (
	"crypto/rand"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"arbmm/exec"
	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	simkraken "arbmm/internal/sim/kraken"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
)

// testInst is BTC/USD as the simulated venue lists it.
var testInst = &market.Instrument{Venue: market.Kraken, Symbol: "BTC/USD", Pair: market.Pair{Base: "BTC", Quote: "USD"}, PriceExp: 1, QtyExp: 8}

const (
	ourAcct   = 11
	otherAcct = 22
)

type simEnv struct {
	v     *venue.Venue
	s     *simkraken.Server
	keys  *auth.Keys
	creds []*exec.Credential
}

// newSim starts a simulated Kraken with our account funded and n keys
// (random 64-byte secrets) registered for it.
func newSim(t *testing.T, nkeys int, tweak func(*simkraken.Config)) *simEnv {
	t.Helper()
	v, err := venue.New(venue.Config{
		Name: "kraken", FeeMode: match.FeeInQuote,
		Pairs: []venue.PairConfig{{Symbol: "BTC/USD", Pair: testInst.Pair, PriceExp: 1, QtyExp: 8, MinQty: 10000, MakerFeeBps: 16, TakerFeeBps: 26}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &simEnv{v: v, keys: auth.NewKeys()}
	for i := range nkeys {
		secret := make([]byte, 64)
		if _, err := rand.Read(secret); err != nil {
			t.Fatal(err)
		}
		id := "test-key-" + string(rune('a'+i))
		if err := e.keys.Add(auth.Key{APIKey: id, Type: auth.HMAC, Secret: secret, Account: ourAcct, Perms: auth.PermRead | auth.PermTrade}); err != nil {
			t.Fatal(err)
		}
		e.creds = append(e.creds, &exec.Credential{ID: id, APIKey: id, Kind: exec.HMAC, Secret: secret})
	}
	for _, a := range []match.AccountID{ourAcct, otherAcct} {
		if err := v.Deposit(a, "USD", 1_000_000*1e9); err != nil {
			t.Fatal(err)
		}
		if err := v.Deposit(a, "BTC", 100*1e8); err != nil {
			t.Fatal(err)
		}
	}
	cfg := simkraken.Config{Venue: v, Keys: e.keys, Seed: 1}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := simkraken.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e.s = s
	return e
}

// rotKey is a KeySource whose current key can change at any time.
type rotKey struct {
	p atomic.Pointer[exec.Credential]
}

func (k *rotKey) Current() *exec.Credential { return k.p.Load() }

func (e *simEnv) rest(t *testing.T, keys exec.KeySource, tweak func(*RESTConfig)) *REST {
	t.Helper()
	n, err := exec.OpenNonces(filepath.Join(t.TempDir(), "nonce"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := RESTConfig{BaseURL: e.s.RESTURL(), Keys: keys, Nonces: n, Instruments: []*market.Instrument{testInst}, Clock: &exec.Clock{}}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := NewREST(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// rest of another account, straight into the venue.
func (e *simEnv) other(t *testing.T, side market.Side, price, qty int64) {
	t.Helper()
	p, _ := e.v.Pair("BTC/USD")
	var err error
	e.v.Do(func(tx *venue.Tx) {
		_, err = tx.Submit(p, match.Request{Account: otherAcct, Side: side, Type: match.Limit, TIF: match.GTC, Price: price, Qty: qty})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// open is the number of our open orders on the venue.
func (e *simEnv) open() int {
	n := 0
	e.v.Do(func(tx *venue.Tx) { n = len(tx.Open(nil, ourAcct, nil)) })
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reports collects a session's reports.
type reports struct {
	mu   sync.Mutex
	list []market.Report
	ch   chan struct{}
}

func newReports() *reports { return &reports{ch: make(chan struct{}, 1)} }

func (rs *reports) add(r *market.Report) {
	rs.mu.Lock()
	rs.list = append(rs.list, *r)
	rs.mu.Unlock()
	select {
	case rs.ch <- struct{}{}:
	default:
	}
}

// wait returns the first report (from index *from) matching pred, moving
// *from past it.
func (rs *reports) wait(t *testing.T, what string, pred func(*market.Report) bool) market.Report {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		rs.mu.Lock()
		for i := range rs.list {
			if pred(&rs.list[i]) {
				r := rs.list[i]
				rs.list = append(rs.list[:i], rs.list[i+1:]...)
				rs.mu.Unlock()
				return r
			}
		}
		rs.mu.Unlock()
		select {
		case <-rs.ch:
		case <-deadline:
			rs.mu.Lock()
			t.Fatalf("timed out waiting for %s; have %+v", what, rs.list)
		}
	}
}

func kindOf(id market.ClientID, k market.ReportKind) func(*market.Report) bool {
	return func(r *market.Report) bool { return r.ClientID == id && r.Kind == k }
}

var idSeq atomic.Uint64

func nextID() market.ClientID {
	return market.ClientID(uint64(time.Now().UnixNano())<<8 | idSeq.Add(1)&0xff)
}

func limit(side market.Side, price, qty int64, tif market.TIF) market.Intent {
	return market.Intent{Action: market.ActNew, Venue: market.Kraken, Inst: testInst, Side: side, Type: market.Limit, TIF: tif, Price: market.Price(price), Qty: market.Qty(qty), ClientID: nextID()}
}
