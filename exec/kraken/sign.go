package kraken

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"

	"arbmm/exec"
)

// SignLen is the length of an API-Sign value: base64 of 64 bytes.
const SignLen = 88

// signer computes API-Sign with state reused across requests: one HMAC-
// SHA512 keyed with the current credential's secret (rebuilt only when the
// KeySource hands out a different *Credential) and one SHA-256. Owned by
// one goroutine; Sign allocates nothing once keyed.
type signer struct {
	cred *exec.Credential // the credential mac is keyed with
	mac  hash.Hash
	sha  hash.Hash
	sum  [64]byte // scratch for the digests (heap-resident with the signer)
}

func newSigner() *signer { return &signer{sha: sha256.New()} }

// key makes mac use c's secret. It allocates when c changes (key rotation),
// never otherwise.
func (s *signer) key(c *exec.Credential) {
	if c == s.cred {
		return
	}
	s.cred = c
	s.mac = hmac.New(sha512.New, c.Secret)
}

// Sign appends API-Sign of a request to dst: path is the URI path
// ("/0/private/AddOrder"), nonce the nonce's text as it appears in body,
// and body the POST body. key must have been called.
func (s *signer) Sign(dst, path, nonce, body []byte) []byte {
	s.sha.Reset()
	s.sha.Write(nonce)
	s.sha.Write(body)
	d := s.sha.Sum(s.sum[:0])
	s.mac.Reset()
	s.mac.Write(path)
	s.mac.Write(d)
	m := s.mac.Sum(s.sum[:0])
	return base64.StdEncoding.AppendEncode(dst, m)
}
