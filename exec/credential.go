package exec

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"strconv"
)

// KeyKind is how a credential signs.
type KeyKind uint8

const (
	// HMAC keys sign each request with HMAC (SHA-256 for Binance, SHA-512
	// for Kraken).
	HMAC KeyKind = iota
	// Ed25519 keys sign with Ed25519 (Binance): a WebSocket API session is
	// authenticated once with session.logon.
	Ed25519
)

func (k KeyKind) String() string {
	switch k {
	case HMAC:
		return "hmac"
	case Ed25519:
		return "ed25519"
	}
	return "keykind(" + strconv.Itoa(int(k)) + ")"
}

// Credential is one API key as a session signs with it. The key ring
// (exec/keys) owns it; a session borrows it for one request at a time and
// re-reads KeySource.Current for every request, so that a rotated key takes
// over at the next request and a retired one's secret (zeroed by the ring
// after its grace period) is never used again.
//
// Secret and Private must never be logged, formatted or put in an error:
// Credential formats as its id and a masked API key for every verb. Hold
// it by pointer (as the ring hands it out): fmt prints a pointer inside
// another value as an address, but a Credential value in an unexported
// field would be printed field by field.
type Credential struct {
	ID      string // the key's id in the ring ("binance-main-2")
	APIKey  string // the public key id the venue knows (X-MBX-APIKEY, API-Key)
	Kind    KeyKind
	Secret  []byte             // HMAC key bytes as the venue uses them (Binance: the secret text; Kraken: base64-decoded)
	Private ed25519.PrivateKey // Ed25519 keys
}

// String identifies the credential without its secret. The value
// receiver covers a Credential printed by value as well as by pointer.
func (c Credential) String() string {
	return "key " + c.ID + " (" + c.Kind.String() + ", api key " + maskKey(c.APIKey) + ")"
}

// maskKey shows the first four characters of an API key: enough to tell
// keys apart in a log, not enough to use one.
func maskKey(k string) string {
	if len(k) <= 4 {
		return "…"
	}
	return k[:4] + "…"
}

// GoString is String: %#v must not print the secret either.
func (c Credential) GoString() string { return c.String() }

// Format prints String for every verb (%d, %x and the rest included), so
// no verb reaches the secret's bytes.
func (c Credential) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, c.String()) }

// KeySource gives the credential to sign the next request with. Current
// is called on every request and must be cheap (an atomic load) and safe
// for concurrent use; nil means no usable key (the session refuses to
// send).
type KeySource interface {
	Current() *Credential
}

// StaticKey is a KeySource with one fixed credential (tests, tools).
type StaticKey struct{ C *Credential }

// Current returns the credential.
func (s StaticKey) Current() *Credential { return s.C }
