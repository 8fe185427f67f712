package auth

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
)

// The HMAC below is RFC 2104 written out over sha256.New/sha512.New with the
// pads on the stack: the compiler devirtualises those constructors, so,
// unlike crypto/hmac.New, it allocates nothing. It is checked against
// crypto/hmac and the RFC 4231 vectors in the tests.

const (
	sha256Block = 64
	sha512Block = 128
)

// hmacSum256 appends HMAC-SHA256(key, msg...) to dst.
func hmacSum256(dst, key []byte, msg ...[]byte) []byte {
	var pad [sha256Block]byte
	if len(key) > sha256Block {
		s := sha256.Sum256(key)
		copy(pad[:], s[:])
	} else {
		copy(pad[:], key)
	}
	xorPad(pad[:], 0x36)
	inner := sha256.New()
	inner.Write(pad[:])
	for _, m := range msg {
		inner.Write(m)
	}
	var sum [sha256.Size]byte
	inner.Sum(sum[:0])
	xorPad(pad[:], 0x36^0x5c)
	outer := sha256.New()
	outer.Write(pad[:])
	outer.Write(sum[:])
	return outer.Sum(dst)
}

// hmacSum512 appends HMAC-SHA512(key, msg...) to dst.
func hmacSum512(dst, key []byte, msg ...[]byte) []byte {
	var pad [sha512Block]byte
	if len(key) > sha512Block {
		s := sha512.Sum512(key)
		copy(pad[:], s[:])
	} else {
		copy(pad[:], key)
	}
	xorPad(pad[:], 0x36)
	inner := sha512.New()
	inner.Write(pad[:])
	for _, m := range msg {
		inner.Write(m)
	}
	var sum [sha512.Size]byte
	inner.Sum(sum[:0])
	xorPad(pad[:], 0x36^0x5c)
	outer := sha512.New()
	outer.Write(pad[:])
	outer.Write(sum[:])
	return outer.Sum(dst)
}

func xorPad(pad []byte, x byte) {
	for i := range pad {
		pad[i] ^= x
	}
}

// decodeHex decodes hex of either case into dst, which must be exactly
// len(src)/2 long.
func decodeHex(dst, src []byte) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHex(src[2*i])
		lo, ok2 := fromHex(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeB64 decodes padded standard base64 src into dst, which must be
// exactly the decoded length.
func decodeB64(dst, src []byte) bool {
	if len(src) != base64.StdEncoding.EncodedLen(len(dst)) {
		return false
	}
	var buf [sha512.Size + 3]byte // largest signature here, plus decode slack
	n, err := base64.StdEncoding.Strict().Decode(buf[:], src)
	if err != nil || n != len(dst) {
		return false
	}
	copy(dst, buf[:n])
	return true
}

// VerifyBinanceHMAC reports whether sigHex, the hex (either case)
// HMAC-SHA256 of payload keyed by secret, is correct. Binance's secret is
// used as the bytes of the secret string. It does not allocate.
func VerifyBinanceHMAC(secret, payload []byte, sigHex []byte) bool {
	var want [sha256.Size]byte
	if !decodeHex(want[:], sigHex) {
		return false
	}
	var got [sha256.Size]byte
	hmacSum256(got[:0], secret, payload)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// VerifyEd25519 reports whether sigB64, the standard padded base64 Ed25519
// signature of payload, verifies under pub. A percent-encoded signature
// must first go through UnescapeSignature.
func VerifyEd25519(pub ed25519.PublicKey, payload []byte, sigB64 []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	var sig [ed25519.SignatureSize]byte
	if !decodeB64(sig[:], sigB64) {
		return false
	}
	return ed25519.Verify(pub, payload, sig[:])
}

// VerifyKraken reports whether sigB64 is Kraken's API-Sign for the request:
// base64(HMAC-SHA512(secret, uriPath + SHA256(nonce + postData))), with
// secret already base64-decoded. It does not allocate.
func VerifyKraken(secret []byte, uriPath, nonce, postData []byte, sigB64 []byte) bool {
	var want [sha512.Size]byte
	if !decodeB64(want[:], sigB64) {
		return false
	}
	h := sha256.New()
	h.Write(nonce)
	h.Write(postData)
	var inner [sha256.Size]byte
	h.Sum(inner[:0])
	var got [sha512.Size]byte
	hmacSum512(got[:0], secret, uriPath, inner[:])
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
