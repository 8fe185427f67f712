package auth

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// Nonces tracks Kraken's per-API-key nonces, which must strictly increase.
// It is safe for concurrent use.
type Nonces struct {
	mu sync.Mutex
	m  map[string]*uint64
}

// NewNonces returns an empty nonce table.
func NewNonces() *Nonces { return &Nonces{m: make(map[string]*uint64)} }

// Check accepts nonce and stores it as the key's last one if it is above
// the last accepted nonce for apiKey; otherwise it returns ErrNonce. It
// allocates only for a key it has not seen.
func (n *Nonces) Check(apiKey []byte, nonce uint64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p, ok := n.m[string(apiKey)]; ok {
		if nonce <= *p {
			return ErrNonce
		}
		*p = nonce
		return nil
	}
	v := nonce
	n.m[string(apiKey)] = &v
	return nil
}

// ParseNonce parses a Kraken nonce: 1 to 20 decimal digits fitting in a
// uint64, no sign.
func ParseNonce(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// DefaultTokenTTL is how long an unused Kraken WebSocket token stays valid.
const DefaultTokenTTL = 15 * time.Minute

// Tokens holds the Kraken WebSocket tokens issued by GetWebSocketsToken. A
// token is valid for its TTL after issue; once a connection uses it (Use)
// it stays valid until Revoke. It is safe for concurrent use.
type Tokens struct {
	mu        sync.Mutex
	ttl       time.Duration
	m         map[string]*token
	nextSweep int
}

type token struct {
	account uint32
	expires time.Time
	used    bool
}

// NewTokens returns an empty token table whose tokens live ttl unused
// (DefaultTokenTTL if ttl ≤ 0).
func NewTokens(ttl time.Duration) *Tokens {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &Tokens{ttl: ttl, m: make(map[string]*token), nextSweep: 64}
}

// Issue returns a new random token (30 bytes from crypto/rand, standard
// base64, 40 characters) for account, valid until now+ttl unless used.
func (t *Tokens) Issue(account uint32, now time.Time) string {
	var raw [30]byte
	rand.Read(raw[:])
	s := base64.StdEncoding.EncodeToString(raw[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= t.nextSweep {
		for k, v := range t.m {
			if !v.used && now.After(v.expires) {
				delete(t.m, k)
			}
		}
		t.nextSweep = max(64, 2*len(t.m))
	}
	t.m[s] = &token{account: account, expires: now.Add(t.ttl)}
	return s
}

// Check returns the account of a valid token, or ErrToken if it is unknown,
// revoked, or unused past its TTL.
func (t *Tokens) Check(tok []byte, now time.Time) (account uint32, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[string(tok)]
	if !ok {
		return 0, ErrToken
	}
	if !v.used && now.After(v.expires) {
		delete(t.m, string(tok))
		return 0, ErrToken
	}
	return v.account, nil
}

// Use checks the token as Check does and marks it used by a connection, so
// that it no longer expires until Revoke.
func (t *Tokens) Use(tok []byte, now time.Time) (account uint32, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[string(tok)]
	if !ok {
		return 0, ErrToken
	}
	if !v.used && now.After(v.expires) {
		delete(t.m, string(tok))
		return 0, ErrToken
	}
	v.used = true
	return v.account, nil
}

// Revoke forgets the token and reports whether it was known.
func (t *Tokens) Revoke(tok []byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.m[string(tok)]
	delete(t.m, string(tok))
	return ok
}
