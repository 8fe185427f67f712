package keys

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"arbmm/exec"
)

// Config tunes a Ring. The zero value is usable.
type Config struct {
	// Now is the clock for expiry and grace periods. Default time.Now;
	// tests pass a fake one.
	Now func() time.Time
	// ExpiryGrace is how long a key that passed its NotAfter stays valid
	// for requests already signed with it before it is retired (zeroed).
	// Default 30s.
	ExpiryGrace time.Duration
	// WarnBefore is how long before a key's NotAfter Tick gives an
	// Expiring notice. Default 72h; negative: never.
	WarnBefore time.Duration
}

// Defaults of Config.
const (
	DefaultExpiryGrace = 30 * time.Second
	DefaultWarnBefore  = 72 * time.Hour
)

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ExpiryGrace <= 0 {
		c.ExpiryGrace = DefaultExpiryGrace
	}
	if c.WarnBefore == 0 {
		c.WarnBefore = DefaultWarnBefore
	}
	return c
}

// Ring is the key ring of one venue account: several keys, at most one of
// them current. It implements exec.KeySource.
//
// Current is safe to call from any goroutine at any time and costs one
// atomic load. The other methods take the ring's lock and may run
// concurrently with Current and with each other. Rotation: Add the new key,
// MakeCurrent it (the very next Current returns it; the old key stays
// Active, so requests signed with it remain valid), then Retire the old key
// with a grace period longer than a request's life (its recvWindow). Tick
// ends grace periods (zeroing secrets) and skips expired keys; the engine
// polls it.
type Ring struct {
	cur atomic.Pointer[exec.Credential] // the current key's credential; nil: none

	venue, account string
	cfg            Config

	mu   sync.Mutex
	keys []*Key // in the order added; guarded by mu
	curK *Key   // the key behind cur; guarded by mu
}

// NewRing returns an empty ring for one venue account.
func NewRing(venue, account string, cfg Config) *Ring {
	return &Ring{venue: venue, account: account, cfg: cfg.withDefaults()}
}

// Current returns the credential to sign the next request with, or nil when
// the ring has no usable key. It never returns a retiring or retired key,
// nor one that Tick has seen expire. The credential is borrowed for one
// request: call Current again for the next.
func (r *Ring) Current() *exec.Credential { return r.cur.Load() }

// Venue returns the ring's venue.
func (r *Ring) Venue() string { return r.venue }

// Account returns the ring's venue account.
func (r *Ring) Account() string { return r.account }

// Errors of Ring's and Keystore's methods; the messages wrapping them
// start "keys: key ID".
var (
	ErrNoKey    = errors.New("no such key")
	ErrRetired  = errors.New("it can never be used again")
	ErrExpired  = errors.New("expired")
	ErrExists   = errors.New("id already in use")
	ErrMismatch = errors.New("another venue account's key")
)

// Add adds an Active or Current key, taking ownership of it. A Current key
// is made current at once; so is an Active key when the ring has no
// current key. An expired key is refused.
func (r *Ring) Add(k *Key) error {
	if k == nil {
		return errors.New("keys: nil key")
	}
	if k.State != Active && k.State != Current {
		return fmt.Errorf("keys: key %s is %s: %w", k.ID, k.State, ErrRetired)
	}
	now := r.cfg.Now()
	if k.Expired(now) {
		return fmt.Errorf("keys: key %s %w at %s", k.ID, ErrExpired, k.NotAfter.UTC().Format(time.RFC3339))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.addLocked(k); err != nil {
		return err
	}
	if k.State == Current || r.curK == nil {
		k.State = Active
		r.makeCurrentLocked(k)
	}
	return nil
}

// restore adds a key in any state, as read from a keystore (checked there).
func (r *Ring) restore(k *Key) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.addLocked(k); err != nil {
		return err
	}
	if k.State == Current {
		if r.curK != nil {
			return fmt.Errorf("keys: %s/%s has two current keys, %s and %s", r.venue, r.account, r.curK.ID, k.ID)
		}
		r.makeCurrentLocked(k)
	}
	return nil
}

func (r *Ring) addLocked(k *Key) error {
	if k.Venue != r.venue || k.Account != r.account {
		return fmt.Errorf("keys: key %s is for %s/%s, not %s/%s: %w", k.ID, k.Venue, k.Account, r.venue, r.account, ErrMismatch)
	}
	if r.findLocked(k.ID) != nil {
		return fmt.Errorf("keys: key %s: %w", k.ID, ErrExists)
	}
	r.keys = append(r.keys, k)
	return nil
}

func (r *Ring) findLocked(id string) *Key {
	for _, k := range r.keys {
		if k.ID == id {
			return k
		}
	}
	return nil
}

// makeCurrentLocked makes k (Active) current; the previous current key, if
// any, goes back to Active. The store is the switch: the next Current
// returns k.
func (r *Ring) makeCurrentLocked(k *Key) {
	if r.curK != nil {
		r.curK.State = Active
	}
	k.State = Current
	r.curK = k
	r.cur.Store(k.cred())
}

// clearCurrentLocked switches away from the current key (about to retire or
// expire) to the newest usable Active key, or to none. It returns the new
// current key's id ("" for none).
func (r *Ring) clearCurrentLocked(now time.Time) string {
	old := r.curK
	var next *Key
	for _, k := range r.keys {
		if k != old && k.State == Active && !k.Expired(now) && (next == nil || !k.Created.Before(next.Created)) {
			next = k
		}
	}
	if next != nil {
		r.makeCurrentLocked(next)
		return next.ID
	}
	r.curK = nil
	r.cur.Store(nil)
	return ""
}

// MakeCurrent makes the Active key id current: the very next Current
// returns it. The previous current key stays Active, so requests signed
// with it remain valid. A retiring, retired or expired key is refused.
func (r *Ring) MakeCurrent(id string) error {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.findLocked(id)
	switch {
	case k == nil:
		return fmt.Errorf("keys: key %s: %w in %s/%s", id, ErrNoKey, r.venue, r.account)
	case k.State == Current:
		return nil
	case k.State != Active:
		return fmt.Errorf("keys: key %s is %s: %w", id, k.State, ErrRetired)
	case k.Expired(now):
		return fmt.Errorf("keys: key %s %w at %s", id, ErrExpired, k.NotAfter.UTC().Format(time.RFC3339))
	}
	r.makeCurrentLocked(k)
	return nil
}

// Retire stops using key id for new requests at once and retires it when
// grace has passed (at the first Tick at or after then): its secret bytes
// are zeroed in place and it can never be made current again. Retiring the
// current key switches to the newest other usable key, or to none (Current
// returns nil: the account stops trading). Grace 0 retires and zeroes at
// once, for a leaked key: requests in flight with it may then fail.
// Retiring a Retiring key again can only shorten its grace.
func (r *Ring) Retire(id string, grace time.Duration) error {
	if grace < 0 {
		return fmt.Errorf("keys: negative grace %s", grace)
	}
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.findLocked(id)
	if k == nil {
		return fmt.Errorf("keys: key %s: %w in %s/%s", id, ErrNoKey, r.venue, r.account)
	}
	until := now.Add(grace)
	switch k.State {
	case Retired:
		return fmt.Errorf("keys: key %s is retired: %w", id, ErrRetired)
	case Retiring:
		if until.After(k.GraceUntil) {
			until = k.GraceUntil
		}
	case Current:
		r.clearCurrentLocked(now)
	}
	k.State, k.GraceUntil = Retiring, until
	if !now.Before(until) {
		r.retireLocked(k)
	}
	return nil
}

func (r *Ring) retireLocked(k *Key) {
	k.zero()
	k.State, k.GraceUntil = Retired, time.Time{}
}

// NoticeKind says what a Notice reports.
type NoticeKind uint8

const (
	// Expiring: the key's NotAfter is within Config.WarnBefore.
	Expiring NoticeKind = iota
	// Expired: the key passed its NotAfter and is now Retiring; if it was
	// current, Next is the key that took over ("" for none: the account
	// cannot trade).
	Expired
	// RetiredNotice: a grace period ended; the key's secret is zeroed.
	RetiredNotice
)

// Notice is something Tick saw happen, for the log and the operator.
type Notice struct {
	Kind  NoticeKind
	Key   Info
	Next  string // Expired: the id of the key that took over as current
	NoKey bool   // Expired: the key was current and none took over
}

// String describes the notice, without secrets.
func (n Notice) String() string {
	k := n.Key
	acct := k.Venue + "/" + k.Account
	switch n.Kind {
	case Expiring:
		return "keys: " + acct + " key " + k.ID + " expires at " + k.NotAfter.UTC().Format(time.RFC3339)
	case Expired:
		s := "keys: " + acct + " key " + k.ID + " expired at " + k.NotAfter.UTC().Format(time.RFC3339) + "; retiring"
		if n.Next != "" {
			s += "; current key is now " + n.Next
		}
		if n.NoKey {
			s += "; NO usable key left: the account cannot trade"
		}
		return s
	case RetiredNotice:
		return "keys: " + acct + " key " + k.ID + " retired; its secret is erased"
	}
	return "keys: notice(" + strconv.Itoa(int(n.Kind)) + ") for " + acct + " key " + k.ID
}

// Format prints String for every verb.
func (n Notice) Format(f fmt.State, verb rune) { io.WriteString(f, n.String()) }

// Tick applies the clock: it retires keys whose grace period has ended
// (zeroing their secrets), moves keys past their NotAfter to Retiring
// (switching away from an expired current key first), and warns of keys
// about to expire. The engine calls it about once a second; it returns what
// happened, nil when nothing did.
func (r *Ring) Tick() []Notice {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var ns []Notice
	for _, k := range r.keys {
		switch k.State {
		case Active, Current:
			if k.Expired(now) {
				n := Notice{Kind: Expired}
				if k.State == Current {
					n.Next = r.clearCurrentLocked(now)
					n.NoKey = n.Next == ""
				}
				k.State, k.GraceUntil = Retiring, now.Add(r.cfg.ExpiryGrace)
				n.Key = k.Info
				ns = append(ns, n)
			} else if !k.warned && !k.NotAfter.IsZero() && r.cfg.WarnBefore > 0 && !now.Before(k.NotAfter.Add(-r.cfg.WarnBefore)) {
				k.warned = true
				ns = append(ns, Notice{Kind: Expiring, Key: k.Info})
			}
		case Retiring:
			if !now.Before(k.GraceUntil) {
				r.retireLocked(k)
				ns = append(ns, Notice{Kind: RetiredNotice, Key: k.Info})
			}
		}
	}
	return ns
}

// List describes every key, in the order added.
func (r *Ring) List() []Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Info, len(r.keys))
	for i, k := range r.keys {
		out[i] = k.Info
	}
	return out
}

// Close zeroes every key's secret and leaves the ring without a current
// key. Sessions must have stopped using it.
func (r *Ring) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur.Store(nil)
	r.curK = nil
	for _, k := range r.keys {
		k.zero()
	}
}

// String names the ring and its current key.
func (r *Ring) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := "none"
	if r.curK != nil {
		cur = r.curK.ID
	}
	return "key ring " + r.venue + "/" + r.account + " (current " + cur + ", " + strconv.Itoa(len(r.keys)) + " keys)"
}

// Format prints String for every verb: no field is reachable by reflection.
func (r *Ring) Format(f fmt.State, verb rune) { io.WriteString(f, r.String()) }
