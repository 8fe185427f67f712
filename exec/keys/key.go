package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"arbmm/exec"
)

// Perm is the set of things a key may do at its venue.
type Perm uint8

const (
	// Read allows account and order queries.
	Read Perm = 1 << iota
	// Trade allows placing and cancelling orders.
	Trade
	// Withdraw allows moving funds off the venue: the engine refuses such a
	// key unless the operator overrides it (CheckPermissions).
	Withdraw
)

var permNames = [...]struct {
	p    Perm
	name string
}{{Read, "read"}, {Trade, "trade"}, {Withdraw, "withdraw"}}

// String lists the permissions ("read,trade"; "none" for the empty set).
func (p Perm) String() string {
	var b strings.Builder
	for _, n := range permNames {
		if p&n.p != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n.name)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// ParsePerms parses a comma-separated list of read, trade and withdraw.
func ParsePerms(s string) (Perm, error) {
	var p Perm
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		ok := false
		for _, n := range permNames {
			if f == n.name {
				p |= n.p
				ok = true
			}
		}
		if !ok && f != "none" {
			return 0, fmt.Errorf("keys: unknown permission %q (want read, trade, withdraw)", f)
		}
	}
	return p, nil
}

// ErrWithdraw is wrapped by CheckPermissions' error for a key that can
// withdraw.
var ErrWithdraw = errors.New("keys: the key can withdraw funds")

// CheckPermissions is the engine's start-up decision on a key's
// permissions, as the venue reports them (exec/binance asks
// /sapi/v1/account/apiRestrictions) or as declared in the keystore where
// the venue does not say: a key must be able to trade, and a key that can
// withdraw is refused unless allowWithdraw (the operator's explicit
// override in the venue's config) is set.
func CheckPermissions(p Perm, allowWithdraw bool) error {
	if p&Withdraw != 0 && !allowWithdraw {
		return fmt.Errorf("%w: refusing it; make a trade-only key, or set allow_withdraw: true in the venue's config to accept the risk", ErrWithdraw)
	}
	if p&Trade == 0 {
		return fmt.Errorf("keys: the key cannot trade (permissions %s)", p)
	}
	return nil
}

// State is where a key is in its life.
type State uint8

const (
	// Active keys are valid and may be made current.
	Active State = iota
	// Current is the one key of its ring that signs new requests.
	Current
	// Retiring keys sign nothing new; requests already signed with them
	// stay valid until GraceUntil, when the key becomes Retired.
	Retiring
	// Retired keys have had their secret zeroed; they are kept for the
	// record only and can never be made current again.
	Retired
)

var stateNames = [...]string{"active", "current", "retiring", "retired"}

// String names the state.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState parses a State's name.
func ParseState(s string) (State, error) {
	for i, n := range stateNames {
		if s == n {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("keys: unknown key state %q", s)
}

// ParseKind parses "hmac" or "ed25519".
func ParseKind(s string) (exec.KeyKind, error) {
	switch s {
	case "hmac":
		return exec.HMAC, nil
	case "ed25519":
		return exec.Ed25519, nil
	}
	return 0, fmt.Errorf("keys: unknown key kind %q (want hmac or ed25519)", s)
}

// Info is everything about a key except its secret: what may be listed,
// logged and marshalled. Its String, Format and MarshalJSON show the API
// key masked to its first four characters.
type Info struct {
	ID      string // unique in a keystore ("binance-main-2")
	Venue   string // "binance", "kraken"
	Account string // the operator's name for the venue account ("main")
	APIKey  string // the public key id the venue knows
	Kind    exec.KeyKind
	Perms   Perm
	State   State

	Created    time.Time
	NotAfter   time.Time // zero: no expiry
	GraceUntil time.Time // Retiring: when the key becomes Retired
}

// Expired reports whether the key is past its NotAfter at now.
func (i *Info) Expired(now time.Time) bool {
	return !i.NotAfter.IsZero() && !now.Before(i.NotAfter)
}

// MaskAPIKey shows the first four characters of an API key: enough to tell
// keys apart, not enough to use one.
func MaskAPIKey(k string) string {
	if len(k) <= 8 {
		return "…"
	}
	return k[:4] + "…"
}

// String describes the key without its secret.
func (i Info) String() string {
	s := i.Venue + "/" + i.Account + " key " + i.ID + " (" + i.Kind.String() +
		", api key " + MaskAPIKey(i.APIKey) + ", " + i.Perms.String() + ", " + i.State.String()
	if !i.NotAfter.IsZero() {
		s += ", not after " + i.NotAfter.UTC().Format(time.RFC3339)
	}
	return s + ")"
}

// GoString is String.
func (i Info) GoString() string { return i.String() }

// Format prints String for every verb (%q quotes it), so that no verb and
// no flag can reach a field by reflection; Key inherits it.
func (i Info) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", i.String())
		return
	}
	io.WriteString(f, i.String())
}

// infoJSON is Info as listed (`arbmm keys list --json`) and logged.
type infoJSON struct {
	ID         string    `json:"id"`
	Venue      string    `json:"venue"`
	Account    string    `json:"account"`
	APIKey     string    `json:"api_key"`
	Kind       string    `json:"kind"`
	Perms      string    `json:"perms"`
	State      string    `json:"state"`
	Created    time.Time `json:"created,omitzero"`
	NotAfter   time.Time `json:"not_after,omitzero"`
	GraceUntil time.Time `json:"grace_until,omitzero"`
}

// MarshalJSON is the public listing of the key, API key masked.
func (i Info) MarshalJSON() ([]byte, error) {
	return json.Marshal(infoJSON{
		ID: i.ID, Venue: i.Venue, Account: i.Account, APIKey: MaskAPIKey(i.APIKey),
		Kind: i.Kind.String(), Perms: i.Perms.String(), State: i.State.String(),
		Created: i.Created, NotAfter: i.NotAfter, GraceUntil: i.GraceUntil,
	})
}

// Key is a key with its secret. The secret lives in an unexported
// *exec.Credential, which is what Ring.Current hands to sessions; Key's
// String, GoString, Format and MarshalJSON are Info's.
//
// The credential is held in an atomic.Pointer not for concurrency (the
// ring's lock guards it) but because fmt cannot follow it: printing a
// struct that holds a Key in an unexported field, even with a verb that
// bypasses Format (fmt then walks the fields by reflection), shows an
// unsafe.Pointer as an address, where a plain pointer would be expanded.
//
// A Key belongs to one Ring (or Keystore) once added; the caller must not
// use it afterwards.
type Key struct {
	Info
	c      atomic.Pointer[exec.Credential] // never nil once made; see above
	warned bool                            // a notice of its coming expiry was given
}

// NewKey makes a key from its description and its secret, checking both.
// For HMAC keys the secret is the key bytes as the venue uses them
// (DecodeSecret); NewKey takes ownership of secret (the key zeroes it when
// retired or closed). For Ed25519 keys the secret is the 32-byte private
// key seed; NewKey derives the private key and zeroes secret at once. A
// Retired key has no secret (nil).
func NewKey(info Info, secret []byte) (*Key, error) {
	if err := info.check(); err != nil {
		clear(secret)
		return nil, err
	}
	c := &exec.Credential{ID: info.ID, APIKey: info.APIKey, Kind: info.Kind}
	switch {
	case info.State == Retired:
		if len(secret) != 0 {
			clear(secret)
			return nil, fmt.Errorf("keys: key %s is retired but has a secret", info.ID)
		}
	case info.Kind == exec.HMAC:
		if len(secret) == 0 {
			return nil, fmt.Errorf("keys: key %s has no secret", info.ID)
		}
		c.Secret = secret
	default:
		if len(secret) != ed25519.SeedSize {
			n := len(secret)
			clear(secret)
			return nil, fmt.Errorf("keys: key %s: ed25519 seed is %d bytes, want %d", info.ID, n, ed25519.SeedSize)
		}
		c.Private = ed25519.NewKeyFromSeed(secret)
		clear(secret)
	}
	k := &Key{Info: info}
	k.c.Store(c)
	return k, nil
}

// check validates a key's description.
func (i *Info) check() error {
	for _, f := range [...]struct{ name, v string }{{"id", i.ID}, {"venue", i.Venue}, {"account", i.Account}} {
		if !isName(f.v) {
			return fmt.Errorf("keys: key %s %q: want 1-64 letters, digits, '.', '_' or '-'", f.name, f.v)
		}
	}
	if len(i.APIKey) == 0 || len(i.APIKey) > 256 || strings.ContainsFunc(i.APIKey, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return fmt.Errorf("keys: key %s: the API key must be 1-256 printable ASCII characters", i.ID)
	}
	if i.Kind != exec.HMAC && i.Kind != exec.Ed25519 {
		return fmt.Errorf("keys: key %s: unknown kind %s", i.ID, i.Kind)
	}
	if i.Perms&^(Read|Trade|Withdraw) != 0 {
		return fmt.Errorf("keys: key %s: unknown permission bits %#x", i.ID, uint8(i.Perms))
	}
	if i.State > Retired {
		return fmt.Errorf("keys: key %s: unknown state %s", i.ID, i.State)
	}
	if (i.State == Retiring) != !i.GraceUntil.IsZero() {
		return fmt.Errorf("keys: key %s: a retiring key, and only a retiring one, has a grace end", i.ID)
	}
	return nil
}

func isName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// clone returns a copy of k with its own copy of the secret.
func (k *Key) clone() *Key {
	c := *k.cred()
	c.Secret = append([]byte(nil), k.cred().Secret...)
	c.Private = append(ed25519.PrivateKey(nil), k.cred().Private...)
	if len(c.Secret) == 0 {
		c.Secret = nil
	}
	if len(c.Private) == 0 {
		c.Private = nil
	}
	out := &Key{Info: k.Info, warned: k.warned}
	out.c.Store(&c)
	return out
}

// cred returns the key's credential.
func (k *Key) cred() *exec.Credential { return k.c.Load() }

// secret returns the bytes the keystore stores: the HMAC key, or the
// Ed25519 seed. The slice is the key's own (valid until the key is zeroed).
func (k *Key) secret() []byte {
	if k.Kind == exec.Ed25519 {
		if len(k.cred().Private) == 0 {
			return nil
		}
		return k.cred().Private[:ed25519.SeedSize]
	}
	return k.cred().Secret
}

// zero overwrites the secret bytes in place. The Credential is not
// otherwise changed: a session still holding it past the grace period signs
// with zeros and is rejected by the venue, rather than racing on a slice
// header.
func (k *Key) zero() {
	clear(k.cred().Secret)
	clear(k.cred().Private)
}

// Zero zeroes the secret of a key that was not added to a Ring or Keystore
// (whose Close zeroes the keys they own).
func (k *Key) Zero() { k.zero() }

// DecodeSecret turns a secret as the operator has it (an environment
// variable's text) into the bytes NewKey takes:
//   - ed25519: the private key seed in base64 (32 bytes; a 64-byte
//     seed‖public key is accepted too), or a PKCS#8 PEM private key as
//     `openssl genpkey -algorithm ed25519` writes it;
//   - hmac at kraken: the API secret's base64 decoded (Kraken signs with
//     the decoded bytes);
//   - hmac elsewhere (binance): the text itself.
//
// The result is a fresh slice; text is neither kept nor changed (the caller
// zeroes it). Errors never quote text.
func DecodeSecret(venue string, kind exec.KeyKind, text []byte) ([]byte, error) {
	t := bytes.TrimSpace(text)
	if len(t) == 0 {
		return nil, errors.New("keys: empty secret")
	}
	switch {
	case kind == exec.Ed25519:
		if blk, _ := pem.Decode(t); blk != nil {
			defer clear(blk.Bytes)
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, errors.New("keys: ed25519 secret: PEM block is not a PKCS#8 private key")
			}
			priv, ok := k.(ed25519.PrivateKey)
			if !ok {
				return nil, errors.New("keys: ed25519 secret: PEM private key is not ed25519")
			}
			seed := append([]byte(nil), priv[:ed25519.SeedSize]...)
			clear(priv)
			return seed, nil
		}
		b, err := decodeBase64(t)
		if err != nil {
			return nil, errors.New("keys: ed25519 secret is neither base64 nor PEM")
		}
		switch len(b) {
		case ed25519.SeedSize:
			return b, nil
		case ed25519.PrivateKeySize:
			seed := append([]byte(nil), b[:ed25519.SeedSize]...)
			clear(b)
			return seed, nil
		}
		n := len(b)
		clear(b)
		return nil, fmt.Errorf("keys: ed25519 secret decodes to %d bytes, want a %d-byte seed", n, ed25519.SeedSize)
	case venue == "kraken":
		b, err := decodeBase64(t)
		if err != nil {
			return nil, errors.New("keys: kraken secret is not base64")
		}
		return b, nil
	}
	return append([]byte(nil), t...), nil
}

func decodeBase64(t []byte) ([]byte, error) {
	b := make([]byte, base64.StdEncoding.DecodedLen(len(t)))
	n, err := base64.StdEncoding.Decode(b, t)
	if err != nil {
		clear(b)
		return nil, err
	}
	return b[:n], nil
}

// EnvName is the conventional environment variable holding an account's
// secret when it is not in a keystore: ARBMM_KEY_<VENUE>_<ACCOUNT>_SECRET,
// upper case, every character but letters and digits replaced by '_'.
// (cmd/arbmm reads it; this package reads no environment.)
func EnvName(venue, account string) string {
	up := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z':
				return r - 'a' + 'A'
			case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
				return r
			}
			return '_'
		}, s)
	}
	return "ARBMM_KEY_" + up(venue) + "_" + up(account) + "_SECRET"
}
