package auth

import (
	"bytes"
	"slices"
)

var (
	sigName   = []byte("signature")
	sigMarker = []byte("signature=")
)

// BinanceRESTPayload appends to dst the payload a Binance server verifies
// for a REST request — the raw query string (percent-encoded as sent)
// followed directly by the raw body, with the signature parameter removed
// from whichever of the two carries it — and returns it with the signature
// value, still percent-encoded as sent. sig aliases query or body and is
// valid as long as they are.
//
// ok is false, and dst is returned unchanged, when there is no signature
// parameter, more than one, an empty one, or when the payload left after
// removing it still contains "signature=" (a parameter value holding a raw
// '=', or a name split across query and body): such a request is refused
// rather than guessed at. Parameters other than the signature keep their
// bytes and order, including empty ones.
func BinanceRESTPayload(dst []byte, query, body []byte) (payload []byte, sig []byte, ok bool) {
	n0 := len(dst)
	var found int
	dst, sig, found = appendWithoutSig(dst, query)
	var sig2 []byte
	var found2 int
	dst, sig2, found2 = appendWithoutSig(dst, body)
	if found2 > 0 {
		sig = sig2
	}
	if found+found2 != 1 || len(sig) == 0 || bytes.Contains(dst[n0:], sigMarker) {
		return dst[:n0], nil, false
	}
	return dst, sig, true
}

// appendWithoutSig appends the '&'-separated parameters of src except those
// named "signature", rejoined with '&'; it returns the last signature value
// and how many signature parameters it saw.
func appendWithoutSig(dst, src []byte) ([]byte, []byte, int) {
	var sig []byte
	found := 0
	first := true
	for rest := src; ; {
		seg := rest
		i := bytes.IndexByte(rest, '&')
		if i >= 0 {
			seg, rest = rest[:i], rest[i+1:]
		}
		name, value, _ := bytes.Cut(seg, []byte{'='})
		if bytes.Equal(name, sigName) {
			sig = value
			found++
		} else if len(src) > 0 {
			if !first {
				dst = append(dst, '&')
			}
			dst = append(dst, seg...)
			first = false
		}
		if i < 0 {
			break
		}
	}
	return dst, sig, found
}

// UnescapeSignature appends the percent-decoded form of a signature value
// taken from a query string or form body to dst ('+' decodes to a space, as
// in form encoding, so an Ed25519 signature whose '+' was not escaped as
// %2B fails to verify, as it does at Binance). ok is false on a malformed
// escape.
func UnescapeSignature(dst, sig []byte) ([]byte, bool) {
	for i := 0; i < len(sig); i++ {
		c := sig[i]
		switch c {
		case '%':
			if i+2 >= len(sig) {
				return dst, false
			}
			hi, ok1 := fromHex(sig[i+1])
			lo, ok2 := fromHex(sig[i+2])
			if !ok1 || !ok2 {
				return dst, false
			}
			dst = append(dst, hi<<4|lo)
			i += 2
		case '+':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst, true
}

// Param is one parameter of a Binance WebSocket API request: its name and
// its value as text, not percent-encoded (a JSON string's contents, or a
// number or boolean as written).
type Param struct{ Name, Value []byte }

// BinanceWSPayload appends to dst the payload a Binance WebSocket API
// request is signed over: every parameter except "signature", sorted by
// name, written name=value and joined by '&', values not percent-encoded.
// It sorts params in place by name.
func BinanceWSPayload(dst []byte, params []Param) []byte {
	slices.SortFunc(params, func(a, b Param) int { return bytes.Compare(a.Name, b.Name) })
	first := true
	for _, p := range params {
		if bytes.Equal(p.Name, sigName) {
			continue
		}
		if !first {
			dst = append(dst, '&')
		}
		dst = append(dst, p.Name...)
		dst = append(dst, '=')
		dst = append(dst, p.Value...)
		first = false
	}
	return dst
}
