package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"arbmm/exec"
)

// fakeClock is the tests' clock: it moves only when told to.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// testKey makes a key with a fresh random secret and returns a copy of the
// secret (for HMAC keys the key bytes, for Ed25519 the seed).
func testKey(t testing.TB, id string, kind exec.KeyKind, created time.Time) (*Key, []byte) {
	t.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	orig := bytes.Clone(secret)
	k, err := NewKey(Info{ID: id, Venue: "binance", Account: "main", APIKey: "api" + id + "-0123456789abcdef",
		Kind: kind, Perms: Read | Trade, Created: created}, secret)
	if err != nil {
		t.Fatal(err)
	}
	return k, orig
}

func sign(c *exec.Credential, msg []byte) []byte {
	m := hmac.New(sha256.New, c.Secret)
	m.Write(msg)
	return m.Sum(nil)
}

// TestRotationInFlight signs in a loop, as a session does (Current, then
// use the secret), while another goroutine adds keys, makes each current
// and retires the previous one with a grace period. Every signature must be
// made with the key's real secret (never zeroed bytes), and a switch must
// be seen by the very next request. The clock is advanced past a grace
// period only once the signer has moved on, as the end of in-flight
// requests would; under -race this also proves the zeroing never races a
// signature.
func TestRotationInFlight(t *testing.T) {
	clk := newClock()
	r := NewRing("binance", "main", Config{Now: clk.Now})
	const rotations = 200
	k0, o0 := testKey(t, "k0", exec.HMAC, clk.Now())
	if err := r.Add(k0); err != nil {
		t.Fatal(err)
	}

	var (
		switched atomic.Int64 // the index MakeCurrent last switched to
		used     atomic.Int64 // the index of the key the signer last signed with
		stop     atomic.Bool
		signs    atomic.Int64
		failMu   sync.Mutex
		failure  string
	)
	keysByIdx := make([]atomic.Pointer[[]byte], rotations+1) // the secrets as generated
	keysByIdx[0].Store(&o0)
	fail := func(s string) {
		failMu.Lock()
		if failure == "" {
			failure = s
		}
		failMu.Unlock()
		stop.Store(true)
	}
	msg := []byte("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.01&price=60000.00&timestamp=1")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			want := switched.Load()
			c := r.Current()
			if c == nil {
				fail("Current returned nil during rotation")
				return
			}
			idx, _ := strconv.Atoi(c.ID[1:])
			if int64(idx) < want {
				fail("request after the switch to k" + strconv.FormatInt(want, 10) + " signed with " + c.ID)
				return
			}
			got := sign(c, msg)
			orig := keysByIdx[idx].Load()
			if orig == nil || !hmac.Equal(got, sign(&exec.Credential{Secret: *orig}, msg)) {
				fail("signature with " + c.ID + " is not made with its secret (zeroed?)")
				return
			}
			signs.Add(1)
			used.Store(int64(idx))
		}
	}()

	for i := 1; i <= rotations && !stop.Load(); i++ {
		k, orig := testKey(t, "k"+strconv.Itoa(i), exec.HMAC, clk.Now())
		keysByIdx[i].Store(&orig)
		if err := r.Add(k); err != nil {
			t.Fatal(err)
		}
		if err := r.MakeCurrent(k.ID); err != nil {
			t.Fatal(err)
		}
		switched.Store(int64(i))
		if err := r.Retire("k"+strconv.Itoa(i-1), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		// In flight: the old key is retiring, not yet zeroed. Wait until
		// the signer has signed with the new key (its requests with the
		// old one are done), then let the grace period pass.
		for used.Load() < int64(i) && !stop.Load() {
			runtime.Gosched()
		}
		clk.Add(5 * time.Second)
		ns := r.Tick()
		if len(ns) != 1 || ns[0].Kind != RetiredNotice || ns[0].Key.ID != "k"+strconv.Itoa(i-1) {
			t.Fatalf("Tick after grace: got %v, want k%d retired", ns, i-1)
		}
	}
	stop.Store(true)
	wg.Wait()
	if failure != "" {
		t.Fatal(failure)
	}
	if signs.Load() < rotations {
		t.Fatalf("only %d signatures over %d rotations", signs.Load(), rotations)
	}
	list := r.List()
	for i, inf := range list {
		want := Retired
		if i == rotations {
			want = Current
		}
		if inf.State != want {
			t.Errorf("%s: state %s, want %s", inf.ID, inf.State, want)
		}
	}
}

// TestRetireZeroes checks that retirement zeroes the secret's backing array
// in place, for HMAC and Ed25519 keys, and only once the grace has passed.
func TestRetireZeroes(t *testing.T) {
	for _, kind := range []exec.KeyKind{exec.HMAC, exec.Ed25519} {
		t.Run(kind.String(), func(t *testing.T) {
			clk := newClock()
			r := NewRing("binance", "main", Config{Now: clk.Now})
			k1, _ := testKey(t, "k1", kind, clk.Now())
			k2, _ := testKey(t, "k2", kind, clk.Now())
			r.Add(k1)
			r.Add(k2)
			c := r.Current()
			if c.ID != "k1" {
				t.Fatalf("current %s, want k1 (the first added)", c.ID)
			}
			backing := c.Secret
			if kind == exec.Ed25519 {
				backing = c.Private
			}
			backing = backing[:cap(backing)]
			allZero := func() bool { return !nonZero(backing) }

			if err := r.Retire("k1", time.Minute); err != nil {
				t.Fatal(err)
			}
			if got := r.Current(); got == nil || got.ID != "k2" {
				t.Fatalf("after retiring the current key: current %v, want k2", got)
			}
			if allZero() {
				t.Fatal("secret zeroed before the grace period ended")
			}
			clk.Add(59 * time.Second)
			if ns := r.Tick(); len(ns) != 0 || allZero() {
				t.Fatalf("at 59s: notices %v, zeroed %v; want none, false", ns, allZero())
			}
			clk.Add(time.Second)
			if ns := r.Tick(); len(ns) != 1 || ns[0].Kind != RetiredNotice {
				t.Fatalf("at 60s: notices %v, want one retired", ns)
			}
			if !allZero() {
				t.Fatal("retired key's secret bytes are not zeroed")
			}
			if err := r.MakeCurrent("k1"); !errors.Is(err, ErrRetired) {
				t.Fatalf("MakeCurrent(retired): got %v, want ErrRetired", err)
			}
			if err := r.Retire("k1", 0); !errors.Is(err, ErrRetired) {
				t.Fatalf("Retire(retired): got %v, want ErrRetired", err)
			}

			// Grace 0 zeroes at once; the ring is left without a key.
			c2 := r.Current()
			b2 := c2.Secret
			if kind == exec.Ed25519 {
				b2 = c2.Private
			}
			if err := r.Retire("k2", 0); err != nil {
				t.Fatal(err)
			}
			if nonZero(b2) {
				t.Fatal("Retire(grace 0) did not zero the secret")
			}
			if r.Current() != nil {
				t.Fatal("Current returned a retired key")
			}
		})
	}
}

func nonZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return true
		}
	}
	return false
}

// TestExpiry checks that Tick skips a key past its NotAfter, warns before,
// and that expired keys cannot be added or made current.
func TestExpiry(t *testing.T) {
	clk := newClock()
	r := NewRing("binance", "main", Config{Now: clk.Now, WarnBefore: time.Hour, ExpiryGrace: 10 * time.Second})
	k1, _ := testKey(t, "k1", exec.HMAC, clk.Now())
	k1.NotAfter = clk.Now().Add(2 * time.Hour)
	k2, _ := testKey(t, "k2", exec.HMAC, clk.Now().Add(-time.Hour))
	k3, _ := testKey(t, "k3", exec.HMAC, clk.Now().Add(-2*time.Hour))
	k3.NotAfter = clk.Now().Add(90 * time.Minute)
	for _, k := range []*Key{k1, k2, k3} {
		if err := r.Add(k); err != nil {
			t.Fatal(err)
		}
	}
	if ns := r.Tick(); ns != nil {
		t.Fatalf("notices %v, want none", ns)
	}
	clk.Add(time.Hour)
	ns := r.Tick()
	if len(ns) != 2 || ns[0].Kind != Expiring || ns[0].Key.ID != "k1" || ns[1].Key.ID != "k3" {
		t.Fatalf("an hour before: notices %v, want k1 and k3 expiring", ns)
	}
	if ns := r.Tick(); ns != nil {
		t.Fatalf("warned twice: %v", ns)
	}
	clk.Add(30 * time.Minute) // k3 expires (it was active)
	ns = r.Tick()
	if len(ns) != 1 || ns[0].Kind != Expired || ns[0].Key.ID != "k3" || ns[0].Next != "" || ns[0].NoKey {
		t.Fatalf("k3 expiry: notices %v", ns)
	}
	if err := r.MakeCurrent("k3"); !errors.Is(err, ErrRetired) {
		t.Fatalf("MakeCurrent(expired): got %v, want ErrRetired", err)
	}
	clk.Add(30 * time.Minute) // k1, the current key, expires: k2 takes over
	ns = r.Tick()
	if len(ns) != 2 || ns[0].Kind != Expired || ns[0].Key.ID != "k1" || ns[0].Next != "k2" || ns[1].Kind != RetiredNotice || ns[1].Key.ID != "k3" {
		t.Fatalf("k1 expiry: notices %v, want k1 expired (next k2) and k3 retired", ns)
	}
	if c := r.Current(); c == nil || c.ID != "k2" {
		t.Fatalf("current %v, want k2", c)
	}

	k4, _ := testKey(t, "k4", exec.HMAC, clk.Now())
	k4.NotAfter = clk.Now()
	if err := r.Add(k4); !errors.Is(err, ErrExpired) {
		t.Fatalf("Add(expired): got %v, want ErrExpired", err)
	}

	// The last key expiring leaves none, and says so.
	r2 := NewRing("binance", "main", Config{Now: clk.Now, WarnBefore: -1})
	k5, _ := testKey(t, "k5", exec.HMAC, clk.Now())
	k5.NotAfter = clk.Now().Add(time.Minute)
	r2.Add(k5)
	clk.Add(time.Minute)
	ns = r2.Tick()
	if len(ns) != 1 || !ns[0].NoKey || r2.Current() != nil {
		t.Fatalf("last key expired: notices %v, current %v; want NoKey, nil", ns, r2.Current())
	}
}

// TestRingErrors covers the refusals.
func TestRingErrors(t *testing.T) {
	clk := newClock()
	r := NewRing("binance", "main", Config{Now: clk.Now})
	k1, _ := testKey(t, "k1", exec.HMAC, clk.Now())
	r.Add(k1)
	dup, _ := testKey(t, "k1", exec.HMAC, clk.Now())
	if err := r.Add(dup); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate id: got %v", err)
	}
	other, _ := testKey(t, "k9", exec.HMAC, clk.Now())
	other.Account = "sub"
	if err := r.Add(other); !errors.Is(err, ErrMismatch) {
		t.Errorf("other account: got %v", err)
	}
	if err := r.MakeCurrent("nope"); !errors.Is(err, ErrNoKey) {
		t.Errorf("MakeCurrent(unknown): got %v", err)
	}
	if err := r.Retire("nope", 0); !errors.Is(err, ErrNoKey) {
		t.Errorf("Retire(unknown): got %v", err)
	}
	if err := r.Retire("k1", -time.Second); err == nil {
		t.Error("negative grace accepted")
	}
	if err := r.MakeCurrent("k1"); err != nil {
		t.Errorf("MakeCurrent(current): %v", err)
	}
	// A retiring key's grace can be shortened, not extended.
	k2, _ := testKey(t, "k2", exec.HMAC, clk.Now())
	r.Add(k2)
	r.Retire("k2", time.Minute)
	r.Retire("k2", time.Hour)
	clk.Add(time.Minute)
	if ns := r.Tick(); len(ns) != 1 || ns[0].Key.ID != "k2" {
		t.Errorf("grace extended by a second Retire: notices %v", ns)
	}
	if _, err := NewKey(Info{ID: "bad id", Venue: "binance", Account: "main", APIKey: "abcdefghij"}, []byte("s")); err == nil {
		t.Error("id with a space accepted")
	}
	if _, err := NewKey(Info{ID: "e", Venue: "binance", Account: "main", APIKey: "abcdefghij", Kind: exec.Ed25519}, make([]byte, 31)); err == nil {
		t.Error("31-byte ed25519 seed accepted")
	}
	r.Close()
	if r.Current() != nil {
		t.Error("Current after Close")
	}
}

// TestEd25519FromSeed checks the private key derived from the seed.
func TestEd25519FromSeed(t *testing.T) {
	seed := make([]byte, 32)
	rand.Read(seed)
	want := ed25519.NewKeyFromSeed(seed)
	k, err := NewKey(Info{ID: "e", Venue: "binance", Account: "main", APIKey: "abcdefghij", Kind: exec.Ed25519}, bytes.Clone(seed))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.cred().Private, want) || k.cred().Secret != nil {
		t.Fatal("private key not derived from the seed")
	}
}

func TestCheckPermissions(t *testing.T) {
	check := func(p Perm, allow, ok bool) {
		t.Helper()
		if err := CheckPermissions(p, allow); (err == nil) != ok {
			t.Errorf("CheckPermissions(%s, %v): got %v, want ok=%v", p, allow, err, ok)
		}
	}
	check(Read|Trade, false, true)
	check(Read|Trade|Withdraw, false, false)
	check(Read|Trade|Withdraw, true, true)
	check(Read, false, false)
	if err := CheckPermissions(Trade|Withdraw, false); !errors.Is(err, ErrWithdraw) {
		t.Errorf("got %v, want ErrWithdraw", err)
	}
	for _, c := range []struct {
		in   string
		want Perm
	}{{"read,trade", Read | Trade}, {"withdraw", Withdraw}, {"none", 0}, {" read , trade ", Read | Trade}} {
		if got, err := ParsePerms(c.in); err != nil || got != c.want {
			t.Errorf("ParsePerms(%q): got %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	if _, err := ParsePerms("read,margin"); err == nil {
		t.Error("unknown permission accepted")
	}
}
