package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// vectorsPath is the shared signing fixture, relative to this package.
const vectorsPath = "../../../../shared/fixtures/signing/vectors.json"

type vector struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Secret   string `json:"secret"`
	Payload  string `json:"payload"`
	Expected string `json:"expected"`
	Nonce    string `json:"nonce"`
	URIPath  string `json:"uri_path"`
	PostData string `json:"postdata"`
}

func loadVectors(t *testing.T) map[string]vector {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	if len(vs) != 3 {
		t.Fatalf("got %d vectors, want 3", len(vs))
	}
	m := make(map[string]vector, len(vs))
	for _, v := range vs {
		m[v.ID] = v
	}
	return m
}

func flip(b []byte, bit int) []byte {
	c := bytes.Clone(b)
	c[bit/8%len(c)] ^= 1 << (bit % 8)
	return c
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	n := 0
	for id, v := range vs {
		switch v.Kind {
		case "hmac_sha256_hex":
			n++
			sec, pay, sig := []byte(v.Secret), []byte(v.Payload), []byte(v.Expected)
			if !VerifyBinanceHMAC(sec, pay, sig) {
				t.Errorf("%s: got false, want true", id)
			}
			if !VerifyBinanceHMAC(sec, pay, bytes.ToUpper(sig)) {
				t.Errorf("%s upper-case hex: got false, want true", id)
			}
			for bit := 0; bit < 8*len(pay); bit += 37 {
				if VerifyBinanceHMAC(sec, flip(pay, bit), sig) {
					t.Errorf("%s payload bit %d flipped: got true, want false", id, bit)
				}
			}
			// Flip one bit of the decoded signature and re-encode.
			raw, _ := hex.DecodeString(v.Expected)
			for bit := 0; bit < 8*len(raw); bit += 11 {
				if VerifyBinanceHMAC(sec, pay, []byte(hex.EncodeToString(flip(raw, bit)))) {
					t.Errorf("%s signature bit %d flipped: got true, want false", id, bit)
				}
			}
			if VerifyBinanceHMAC(sec, pay, sig[:len(sig)-1]) {
				t.Errorf("%s truncated signature: got true, want false", id)
			}
		case "kraken_api_sign":
			n++
			sec, err := base64.StdEncoding.DecodeString(v.Secret)
			if err != nil {
				t.Fatal(err)
			}
			up, nonce, post, sig := []byte(v.URIPath), []byte(v.Nonce), []byte(v.PostData), []byte(v.Expected)
			if !VerifyKraken(sec, up, nonce, post, sig) {
				t.Errorf("%s: got false, want true", id)
			}
			for bit := 0; bit < 8*len(post); bit += 29 {
				if VerifyKraken(sec, up, nonce, flip(post, bit), sig) {
					t.Errorf("%s postdata bit %d flipped: got true, want false", id, bit)
				}
			}
			if VerifyKraken(sec, flip(up, 3), nonce, post, sig) {
				t.Errorf("%s uri path flipped: got true, want false", id)
			}
			if VerifyKraken(sec, up, flip(nonce, 0), post, sig) {
				t.Errorf("%s nonce flipped: got true, want false", id)
			}
			raw, _ := base64.StdEncoding.DecodeString(v.Expected)
			for bit := 0; bit < 8*len(raw); bit += 13 {
				if VerifyKraken(sec, up, nonce, post, []byte(base64.StdEncoding.EncodeToString(flip(raw, bit)))) {
					t.Errorf("%s signature bit %d flipped: got true, want false", id, bit)
				}
			}
			// The HMAC part of the worked example, checked directly.
			h := sha256.Sum256([]byte(v.Nonce + v.PostData))
			mac := hmac.New(sha512.New, sec)
			mac.Write(up)
			mac.Write(h[:])
			if got, want := base64.StdEncoding.EncodeToString(mac.Sum(nil)), v.Expected; got != want {
				t.Errorf("%s crypto/hmac: got %s, want %s", id, got, want)
			}
			if got, want := base64.StdEncoding.EncodeToString(hmacSum512(nil, sec, up, h[:])), v.Expected; got != want {
				t.Errorf("%s hmacSum512: got %s, want %s", id, got, want)
			}
		default:
			t.Errorf("%s: unknown kind %q", id, v.Kind)
		}
	}
	if n != 3 {
		t.Errorf("got %d vectors checked, want 3", n)
	}
}

func TestVectorBinanceREST(t *testing.T) {
	v := loadVectors(t)["binance-rest-hmac-ascii"]
	sec := []byte(v.Secret)
	check := func(name, query, body string) {
		t.Helper()
		payload, sig, ok := BinanceRESTPayload(nil, []byte(query), []byte(body))
		if !ok {
			t.Fatalf("%s: got ok=false, want true", name)
		}
		if string(payload) != v.Payload {
			t.Errorf("%s: got payload %q, want %q", name, payload, v.Payload)
		}
		if string(sig) != v.Expected {
			t.Errorf("%s: got sig %q, want %q", name, sig, v.Expected)
		}
		if !VerifyBinanceHMAC(sec, payload, sig) {
			t.Errorf("%s: got verify false, want true", name)
		}
	}
	check("query only", v.Payload+"&signature="+v.Expected, "")
	check("body only", "", v.Payload+"&signature="+v.Expected)
	check("signature first", "signature="+v.Expected+"&"+v.Payload, "")
	check("signature in the middle", "symbol=LTCBTC&signature="+v.Expected+"&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559", "")

	// Split across query and body: Binance concatenates with no separator,
	// so the vector's payload is only reproduced when the split leaves
	// the '&' on one side. Sign what the server sees and check both ends.
	q, b := "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC", "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	want := q + b
	mac := hmac.New(sha256.New, sec)
	mac.Write([]byte(want))
	sig := hex.EncodeToString(mac.Sum(nil))
	for _, tc := range []struct{ name, q, b string }{
		{"split, signature in body", q, b + "&signature=" + sig},
		{"split, signature in query", q + "&signature=" + sig, b},
	} {
		payload, got, ok := BinanceRESTPayload(nil, []byte(tc.q), []byte(tc.b))
		if !ok || string(payload) != want || string(got) != sig {
			t.Errorf("%s: got (%q, %q, %v), want (%q, %q, true)", tc.name, payload, got, ok, want, sig)
		}
		if !VerifyBinanceHMAC(sec, payload, got) {
			t.Errorf("%s: got verify false, want true", tc.name)
		}
	}
	// The split with the vector's own bytes: "…GTC&" + "quantity…".
	check("split after &", "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&", "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature="+v.Expected)
}

func TestBinanceRESTPayloadRejects(t *testing.T) {
	for _, tc := range []struct{ name, q, b string }{
		{"none", "a=1&b=2", "c=3"},
		{"empty", "a=1&signature=", ""},
		{"bare name", "a=1&signature", ""},
		{"two in query", "signature=aa&a=1&signature=bb", ""},
		{"one in each", "a=1&signature=aa", "b=2&signature=bb"},
		{"marker in a value", "a=xsignature=1&signature=aa", ""},
		{"name split across query and body", "a=1&sig", "nature=2&signature=aa"},
	} {
		dst := []byte("keep")
		payload, sig, ok := BinanceRESTPayload(dst, []byte(tc.q), []byte(tc.b))
		if ok || sig != nil || string(payload) != "keep" {
			t.Errorf("%s: got (%q, %q, %v), want (\"keep\", nil, false)", tc.name, payload, sig, ok)
		}
	}
	// Appends to dst.
	payload, _, ok := BinanceRESTPayload([]byte("x"), []byte("a=1&signature=ab"), nil)
	if !ok || string(payload) != "xa=1" {
		t.Errorf("append: got (%q, %v), want (\"xa=1\", true)", payload, ok)
	}
	// Empty parameters keep their place.
	payload, _, ok = BinanceRESTPayload(nil, []byte("a=1&&b=2&signature=ab"), nil)
	if !ok || string(payload) != "a=1&&b=2" {
		t.Errorf("empty params: got (%q, %v), want (\"a=1&&b=2\", true)", payload, ok)
	}
}

func TestVectorBinanceWS(t *testing.T) {
	v := loadVectors(t)["binance-ws-api-hmac-ascii"]
	var params []Param
	for _, kv := range strings.Split(v.Payload, "&") {
		name, value, _ := strings.Cut(kv, "=")
		params = append(params, Param{[]byte(name), []byte(value)})
	}
	params = append(params, Param{[]byte("signature"), []byte(v.Expected)})
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		r.Shuffle(len(params), func(i, j int) { params[i], params[j] = params[j], params[i] })
		got := BinanceWSPayload(nil, params)
		if string(got) != v.Payload {
			t.Fatalf("round %d: got %q, want %q", round, got, v.Payload)
		}
		if !VerifyBinanceHMAC([]byte(v.Secret), got, []byte(v.Expected)) {
			t.Fatalf("round %d: got verify false, want true", round)
		}
	}
	// Values are not percent-encoded.
	got := BinanceWSPayload(nil, []Param{{[]byte("b"), []byte("x y&z")}, {[]byte("a"), []byte("é")}})
	if want := "a=é&b=x y&z"; string(got) != want {
		t.Errorf("raw values: got %q, want %q", got, want)
	}
}

// RFC 4231 test cases 1 and 2.
var rfc4231 = []struct {
	key, data      string
	sha256, sha512 string
}{
	{
		strings.Repeat("\x0b", 20), "Hi There",
		"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
		"87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
	},
	{
		"Jefe", "what do ya want for nothing?",
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
	},
}

func TestRFC4231(t *testing.T) {
	for i, tc := range rfc4231 {
		if !VerifyBinanceHMAC([]byte(tc.key), []byte(tc.data), []byte(tc.sha256)) {
			t.Errorf("case %d SHA-256 via VerifyBinanceHMAC: got false, want true", i+1)
		}
		if VerifyBinanceHMAC([]byte(tc.key), []byte(tc.data+"!"), []byte(tc.sha256)) {
			t.Errorf("case %d SHA-256 altered data: got true, want false", i+1)
		}
		if got := hex.EncodeToString(hmacSum256(nil, []byte(tc.key), []byte(tc.data))); got != tc.sha256 {
			t.Errorf("case %d hmacSum256: got %s, want %s", i+1, got, tc.sha256)
		}
		if got := hex.EncodeToString(hmacSum512(nil, []byte(tc.key), []byte(tc.data))); got != tc.sha512 {
			t.Errorf("case %d hmacSum512: got %s, want %s", i+1, got, tc.sha512)
		}
	}
}

// TestHMACAgainstStdlib checks the stack HMAC against crypto/hmac over key
// lengths either side of both block sizes and split messages.
func TestHMACAgainstStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 600)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for _, kl := range []int{0, 1, 20, 63, 64, 65, 127, 128, 129, 300} {
		for _, ml := range []int{0, 1, 55, 56, 64, 111, 112, 128, 500} {
			key, msg := buf[:kl], buf[100:100+ml]
			cut := ml / 3
			m1 := hmac.New(sha256.New, key)
			m1.Write(msg)
			if got, want := hmacSum256(nil, key, msg[:cut], msg[cut:]), m1.Sum(nil); !bytes.Equal(got, want) {
				t.Errorf("sha256 key %d msg %d: got %x, want %x", kl, ml, got, want)
			}
			m2 := hmac.New(sha512.New, key)
			m2.Write(msg)
			if got, want := hmacSum512(nil, key, msg[:cut], msg[cut:]), m2.Sum(nil); !bytes.Equal(got, want) {
				t.Errorf("sha512 key %d msg %d: got %x, want %x", kl, ml, got, want)
			}
		}
	}
}

func TestVerifyBinanceHMACMalformed(t *testing.T) {
	v := rfc4231[1]
	for _, sig := range []string{"", "zz", v.sha256[:63], v.sha256 + "0", "g" + v.sha256[1:], v.sha256 + v.sha256} {
		if VerifyBinanceHMAC([]byte(v.key), []byte(v.data), []byte(sig)) {
			t.Errorf("sig %q: got true, want false", sig)
		}
	}
}

func TestEd25519(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	payload := []byte("symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1.0000000&price=0.20&timestamp=1668481559918")
	sig := []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(priv, payload)))
	if !VerifyEd25519(pub, payload, sig) {
		t.Fatal("got false, want true")
	}
	if VerifyEd25519(pub, flip(payload, 5), sig) {
		t.Error("payload flipped: got true, want false")
	}
	raw, _ := base64.StdEncoding.DecodeString(string(sig))
	if VerifyEd25519(pub, payload, []byte(base64.StdEncoding.EncodeToString(flip(raw, 100)))) {
		t.Error("signature flipped: got true, want false")
	}
	if VerifyEd25519(pub, payload, sig[:len(sig)-1]) {
		t.Error("truncated: got true, want false")
	}
	if VerifyEd25519(pub, payload, []byte(base64.RawStdEncoding.EncodeToString(raw))) {
		t.Error("unpadded: got true, want false")
	}
	if VerifyEd25519(pub[:31], payload, sig) {
		t.Error("short public key: got true, want false")
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32)).Public().(ed25519.PublicKey)
	if VerifyEd25519(other, payload, sig) {
		t.Error("other key: got true, want false")
	}

	// Through the REST payload, percent-encoded as a client sends it.
	esc := strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(string(sig))
	p, s, ok := BinanceRESTPayload(nil, []byte(string(payload)+"&signature="+esc), nil)
	if !ok || !bytes.Equal(p, payload) {
		t.Fatalf("rest payload: got (%q, %v), want (%q, true)", p, ok, payload)
	}
	un, ok := UnescapeSignature(nil, s)
	if !ok || !bytes.Equal(un, sig) {
		t.Fatalf("unescape: got (%q, %v), want (%q, true)", un, ok, sig)
	}
	if !VerifyEd25519(pub, p, un) {
		t.Error("via REST payload: got false, want true")
	}
}

func TestUnescapeSignature(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abc", true},
		{"a%2Bb%2fc%3D", "a+b/c=", true},
		{"a+b", "a b", true},
		{"%", "", false},
		{"a%2", "", false},
		{"%zz", "", false},
	} {
		got, ok := UnescapeSignature(nil, []byte(tc.in))
		if ok != tc.ok || (ok && string(got) != tc.want) {
			t.Errorf("%q: got (%q, %v), want (%q, %v)", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// RFC 8032 section 7.1, tests 1 and 2.
func TestRFC8032(t *testing.T) {
	for i, tc := range []struct{ secret, public, msg, sig string }{
		{
			"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
			"",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
		},
		{
			"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
			"72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
		},
	} {
		seed, _ := hex.DecodeString(tc.secret)
		pub, _ := hex.DecodeString(tc.public)
		msg, _ := hex.DecodeString(tc.msg)
		sig, _ := hex.DecodeString(tc.sig)
		if got := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey); !bytes.Equal(got, pub) {
			t.Errorf("test %d public: got %x, want %x", i+1, got, pub)
		}
		b64 := []byte(base64.StdEncoding.EncodeToString(sig))
		if !VerifyEd25519(pub, msg, b64) {
			t.Errorf("test %d: got false, want true", i+1)
		}
		if VerifyEd25519(pub, append(msg, 0), b64) {
			t.Errorf("test %d longer message: got true, want false", i+1)
		}
	}
}
