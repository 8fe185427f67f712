package binance

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"arbmm/exec"
)

// vector is one documented signing example of vectors.json.
type vector struct {
	APIKey, Secret, Payload, Expected string
}

func loadVectors(t testing.TB) map[string]vector {
	t.Helper()
	b, err := os.ReadFile("/work/shared/fixtures/signing/vectors.json")
	if err != nil {
		t.Fatalf("vectors: %v", err)
	}
	var vs []struct {
		ID       string `json:"id"`
		APIKey   string `json:"api_key"`
		Secret   string `json:"secret"`
		Payload  string `json:"payload"`
		Expected string `json:"expected"`
	}
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	m := map[string]vector{}
	for _, v := range vs {
		m[v.ID] = vector{v.APIKey, v.Secret, v.Payload, v.Expected}
	}
	return m
}

// RFC 4231 section 4, test cases 1, 2, 3, 6 and 7 (HMAC-SHA-256).
func TestHMACRFC4231(t *testing.T) {
	for i, tc := range []struct{ key, data, want string }{
		{strings.Repeat("\x0b", 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{strings.Repeat("\xaa", 20), strings.Repeat("\xdd", 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
		{strings.Repeat("\xaa", 131), "Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{strings.Repeat("\xaa", 131), "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.", "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	} {
		var g signer
		g.use(&exec.Credential{ID: "rfc", Kind: exec.HMAC, Secret: []byte(tc.key)})
		// Twice: the reused state must give the same answer.
		for range 2 {
			if got := string(g.appendHMACHex(nil, []byte(tc.data))); got != tc.want {
				t.Errorf("case %d: got %s, want %s", i, got, tc.want)
			}
		}
	}
}

// RFC 8032 section 7.1, tests 1 and 2 (Ed25519).
func TestEd25519RFC8032(t *testing.T) {
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
		msg, _ := hex.DecodeString(tc.msg)
		want, _ := hex.DecodeString(tc.sig)
		priv := ed25519.NewKeyFromSeed(seed)
		if got := hex.EncodeToString(priv.Public().(ed25519.PublicKey)); got != tc.public {
			t.Errorf("test %d public: got %s, want %s", i+1, got, tc.public)
		}
		var g signer
		g.use(&exec.Credential{ID: "rfc", Kind: exec.Ed25519, Private: priv})
		got := g.appendSignature(nil, msg, false)
		if string(got) != base64.StdEncoding.EncodeToString(want) {
			t.Errorf("test %d: got %s, want %s", i+1, got, base64.StdEncoding.EncodeToString(want))
		}
		esc := string(g.appendSignature(nil, msg, true))
		if strings.ContainsAny(esc, "+/=") || !strings.Contains(esc, "%3D") {
			t.Errorf("test %d escaped: got %s, want +,/,= percent-encoded", i+1, esc)
		}
	}
}

// TestSignerRebuildsOnRotation: the state follows the credential pointer.
func TestSignerRebuildsOnRotation(t *testing.T) {
	a := &exec.Credential{ID: "a", Kind: exec.HMAC, Secret: []byte("Jefe")}
	b := &exec.Credential{ID: "b", Kind: exec.HMAC, Secret: []byte(strings.Repeat("\x0b", 20))}
	var g signer
	msg := []byte("what do ya want for nothing?")
	g.use(a)
	first := string(g.appendHMACHex(nil, msg))
	g.use(b)
	second := string(g.appendHMACHex(nil, msg))
	g.use(a)
	third := string(g.appendHMACHex(nil, msg))
	if first != "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" || first == second || third != first {
		t.Fatalf("got %s, %s, %s: want key a's, key b's, key a's again", first, second, third)
	}
}

func TestQueryEscape(t *testing.T) {
	got := string(appendQueryEscape(nil, []byte("aZ09-_.~ +/=&%é")))
	want := "aZ09-_.~%20%2B%2F%3D%26%25%C3%A9"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
