package binance

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"

	"arbmm/exec"
)

// signer signs requests with one credential at a time. It keeps the HMAC
// state (key pads already hashed) of the last credential it saw and
// rebuilds it only when KeySource.Current returns a different *Credential:
// a rotated key takes over at the next request at the cost of one rebuild.
// Owned by the goroutine that encodes requests; no allocation once built.
type signer struct {
	cred *exec.Credential // the credential mac was built for
	mac  hash.Hash        // HMAC-SHA256 keyed with cred.Secret; nil for Ed25519
	sum  [sha256.Size]byte
	sig  [ed25519.SignatureSize]byte
}

// use makes c the credential to sign with, rebuilding the HMAC state when
// c is not the one used last (a pointer comparison: cheap on every request).
func (g *signer) use(c *exec.Credential) {
	if c == g.cred {
		return
	}
	g.cred, g.mac = c, nil
	if c != nil && c.Kind == exec.HMAC {
		g.mac = hmac.New(sha256.New, c.Secret)
	}
}

const hexDigits = "0123456789abcdef"

// appendHMACHex appends the lower-case hex HMAC-SHA256 of payload under
// the current credential's secret.
func (g *signer) appendHMACHex(dst, payload []byte) []byte {
	g.mac.Reset()
	g.mac.Write(payload)
	sum := g.mac.Sum(g.sum[:0])
	for _, b := range sum {
		dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
	}
	return dst
}

// appendEd25519 appends the standard padded base64 Ed25519 signature of
// payload under the current credential's private key; escape percent-
// encodes it for a query string ('+', '/', '=' become %2B, %2F, %3D).
func (g *signer) appendEd25519(dst, payload []byte, escape bool) []byte {
	copy(g.sig[:], ed25519.Sign(g.cred.Private, payload))
	var b64 [88]byte
	base64.StdEncoding.Encode(b64[:], g.sig[:])
	if !escape {
		return append(dst, b64[:]...)
	}
	return appendQueryEscape(dst, b64[:])
}

// appendSignature appends the signature of payload as the venue expects
// it for the credential's kind: hex for HMAC, base64 for Ed25519
// (percent-encoded when escape is set).
func (g *signer) appendSignature(dst, payload []byte, escape bool) []byte {
	if g.cred.Kind == exec.Ed25519 {
		return g.appendEd25519(dst, payload, escape)
	}
	return g.appendHMACHex(dst, payload)
}

// unreserved marks the bytes RFC 3986 leaves unescaped in a query value.
var unreserved = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['_'], t['.'], t['~'] = true, true, true, true
	return t
}()

// appendQueryEscape appends v percent-encoded for a query string value
// (every byte but the unreserved ones as %XX, upper-case hex, as Binance's
// examples do).
func appendQueryEscape(dst, v []byte) []byte {
	const upper = "0123456789ABCDEF"
	for _, c := range v {
		if unreserved[c] {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upper[c>>4], upper[c&15])
	}
	return dst
}

// appendQueryEscapeString is appendQueryEscape for a string.
func appendQueryEscapeString(dst []byte, v string) []byte {
	const upper = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		c := v[i]
		if unreserved[c] {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upper[c>>4], upper[c&15])
	}
	return dst
}
