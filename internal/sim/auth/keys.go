package auth

import (
	"crypto/ed25519"
	"errors"
	"strconv"
	"sync"
	"time"
)

// KeyType says how a key signs requests.
type KeyType uint8

const (
	// HMAC keys sign with HMAC-SHA256 (Binance) or HMAC-SHA512 (Kraken).
	HMAC KeyType = iota
	// Ed25519 keys sign with Ed25519 (Binance).
	Ed25519
)

// String returns the key type's name.
func (t KeyType) String() string {
	switch t {
	case HMAC:
		return "HMAC"
	case Ed25519:
		return "Ed25519"
	}
	return "KeyType(" + strconv.Itoa(int(t)) + ")"
}

// Perm is a set of permissions granted to a key.
type Perm uint8

const (
	// PermRead allows account and order queries.
	PermRead Perm = 1 << iota
	// PermTrade allows placing and cancelling orders.
	PermTrade
	// PermWithdraw allows withdrawals.
	PermWithdraw
)

// Key is one API key of a simulated venue. A *Key returned by Keys.Lookup is
// shared and must not be modified.
type Key struct {
	APIKey string
	Type   KeyType
	// Secret is the HMAC key as the venue uses it: for Binance the secret
	// string's bytes; for Kraken the base64-decoded secret.
	Secret []byte
	// Public is the Ed25519 public key (Binance Ed25519 keys).
	Public ed25519.PublicKey
	// Account is the simulated account the key trades for.
	Account uint32
	Perms   Perm
	// NotAfter is when the key expires; zero means never.
	NotAfter time.Time
}

// Can reports whether the key holds every permission in p.
func (k *Key) Can(p Perm) bool { return k.Perms&p == p }

// Expired reports whether the key has expired at now.
func (k *Key) Expired(now time.Time) bool {
	return !k.NotAfter.IsZero() && now.After(k.NotAfter)
}

// Keys is the key table of one simulated venue. It is safe for concurrent
// use; Lookup does not allocate.
type Keys struct {
	mu sync.RWMutex
	m  map[string]*Key
}

// NewKeys returns an empty key table.
func NewKeys() *Keys { return &Keys{m: make(map[string]*Key)} }

// Add validates key and adds a copy of it. Adding an APIKey already present
// is an error.
func (k *Keys) Add(key Key) error {
	if key.APIKey == "" {
		return errors.New("auth: empty APIKey")
	}
	switch key.Type {
	case HMAC:
		if len(key.Secret) == 0 {
			return errors.New("auth: HMAC key " + strconv.Quote(key.APIKey) + " has no Secret")
		}
	case Ed25519:
		if len(key.Public) != ed25519.PublicKeySize {
			return errors.New("auth: Ed25519 key " + strconv.Quote(key.APIKey) + " has a " +
				strconv.Itoa(len(key.Public)) + "-byte Public, want 32")
		}
	default:
		return errors.New("auth: key " + strconv.Quote(key.APIKey) + " has unknown type " + key.Type.String())
	}
	c := key
	c.Secret = append([]byte(nil), key.Secret...)
	c.Public = append(ed25519.PublicKey(nil), key.Public...)
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, dup := k.m[c.APIKey]; dup {
		return errors.New("auth: duplicate APIKey " + strconv.Quote(c.APIKey))
	}
	k.m[c.APIKey] = &c
	return nil
}

// Remove deletes the key and reports whether it was present. Pointers
// already returned by Lookup stay valid.
func (k *Keys) Remove(apiKey string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.m[apiKey]
	delete(k.m, apiKey)
	return ok
}

// Lookup returns the key named apiKey. The returned Key is shared: read it,
// never modify it. It does not allocate.
func (k *Keys) Lookup(apiKey []byte) (*Key, bool) {
	k.mu.RLock()
	key, ok := k.m[string(apiKey)]
	k.mu.RUnlock()
	return key, ok
}

// Len returns the number of keys.
func (k *Keys) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.m)
}
