package keys

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"arbmm/exec"
)

var update = flag.Bool("update", false, "rewrite testdata/fuzz/FuzzDecode seeds")

// secretField finds the secrets an input carries (those written in base64's
// alphabet, which swapSecrets can change without changing their validity).
var secretField = regexp.MustCompile(`(?i)"secret"\s*:\s*"([A-Za-z0-9+/=]+)"`)

// swapSecrets returns b with every secret's characters changed to others of
// the same class, so that validity and length stay the same.
func swapSecrets(b []byte) []byte {
	out := bytes.Clone(b)
	for _, m := range secretField.FindAllSubmatchIndex(b, -1) {
		for i := m[2]; i < m[3]; i++ {
			switch c := out[i]; {
			case c >= 'A' && c <= 'Z':
				out[i] = 'A' + (c-'A'+1)%26
			case c >= 'a' && c <= 'z':
				out[i] = 'a' + (c-'a'+1)%26
			case c >= '0' && c <= '9':
				out[i] = '0' + (c-'0'+1)%10
			case c == '+':
				out[i] = '/'
			case c == '/':
				out[i] = '+'
			}
		}
	}
	return out
}

// FuzzDecode feeds the keystore's document decoder (what age decrypted)
// arbitrary bytes: it must not panic; its error must not depend on the
// secrets' contents (the same input with other secrets of the same shape
// gives the same error: no error quotes a secret); and a document it accepts
// must encode and decode back to the same keys and secrets.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		swapped := swapSecrets(b)
		keys, err := decode(b)
		_, err2 := decode(swapped)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("the error depends on the secrets' contents: %v, then %v", err, err2)
		}
		if err != nil {
			return
		}
		enc, err := encode(keys)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decode(bytes.Clone(enc))
		if err != nil {
			t.Fatalf("re-decoding the encoded keys: %v\n%s", err, enc)
		}
		if len(again) != len(keys) {
			t.Fatalf("%d keys, then %d", len(keys), len(again))
		}
		for i, k := range keys {
			a := again[i]
			if fmt.Sprint(k.Info) != fmt.Sprint(a.Info) || !k.Created.Equal(a.Created) || !k.NotAfter.Equal(a.NotAfter) ||
				!k.GraceUntil.Equal(a.GraceUntil) || !bytes.Equal(k.secret(), a.secret()) {
				t.Fatalf("key %d: %v, then %v (or its secret differs)", i, k, a)
			}
		}
		enc2, _ := encode(again)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding unstable:\n%s\n%s", enc, enc2)
		}
	})
}

// TestFuzzSeeds checks the committed seeds decode as their names say, and
// with -update rewrites them from documents made here (random test keys:
// nothing real).
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	clk := newClock()
	var ks []*Key
	for i, c := range []struct {
		id    string
		kind  exec.KeyKind
		state State
	}{{"bn-1", exec.HMAC, Current}, {"bn-2", exec.HMAC, Active}, {"bn-ed", exec.Ed25519, Retiring}, {"bn-0", exec.HMAC, Retired}} {
		secret := bytes.Repeat([]byte{byte('a' + i)}, 32)
		info := Info{ID: c.id, Venue: "binance", Account: "main", APIKey: "test-api-key-" + c.id, Kind: c.kind,
			Perms: Read | Trade, State: c.state, Created: clk.Now(), NotAfter: clk.Now().Add(90 * 24 * time.Hour)}
		if c.state == Retiring {
			info.GraceUntil = clk.Now().Add(time.Minute)
		}
		if c.state == Retired {
			secret = nil
		}
		k, err := NewKey(info, secret)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	valid, _ := encode(ks)
	seeds := map[string]string{
		"valid":          string(valid),
		"empty":          `{"format":"arbmm-keystore","version":1,"keys":[]}`,
		"bad-version":    `{"format":"arbmm-keystore","version":2,"keys":[]}`,
		"two-current":    `{"format":"arbmm-keystore","version":1,"keys":[{"id":"a","venue":"binance","account":"main","api_key":"aaaaaaaaaa","kind":"hmac","perms":"trade","state":"current","secret":"c2VjcmV0MQ=="},{"id":"b","venue":"binance","account":"main","api_key":"bbbbbbbbbb","kind":"hmac","perms":"trade","state":"current","secret":"c2VjcmV0Mg=="}]}`,
		"bad-base64":     `{"format":"arbmm-keystore","version":1,"keys":[{"id":"a","venue":"binance","account":"main","api_key":"aaaaaaaaaa","kind":"hmac","perms":"trade","state":"active","secret":"not base64!"}]}`,
		"short-seed":     `{"format":"arbmm-keystore","version":1,"keys":[{"id":"a","venue":"binance","account":"main","api_key":"aaaaaaaaaa","kind":"ed25519","perms":"trade","state":"active","secret":"c2hvcnQ="}]}`,
		"bad-time":       `{"format":"arbmm-keystore","version":1,"keys":[{"id":"a","venue":"binance","account":"main","api_key":"aaaaaaaaaa","kind":"hmac","perms":"trade","state":"active","created":"c2VjcmV0MQ==","secret":"c2VjcmV0MQ=="}]}`,
		"syntax":         `{"format":"arbmm-keystore","version":1,"keys":[{"id":"a","secret":"c2VjcmV0MQ=="`,
		"retired-secret": `{"format":"arbmm-keystore","version":1,"keys":[{"id":"a","venue":"binance","account":"main","api_key":"aaaaaaaaaa","kind":"hmac","perms":"trade","state":"retired","secret":"c2VjcmV0MQ=="}]}`,
	}
	if *update {
		os.MkdirAll(dir, 0o755)
		for name, s := range seeds {
			if err := os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, s := range seeds {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("seed %s: %v (run go test -run TestFuzzSeeds -update)", name, err)
		}
		if want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s); string(b) != want {
			t.Errorf("seed %s is stale (run go test -run TestFuzzSeeds -update)", name)
		}
		_, err = decode([]byte(s))
		if (err == nil) != (name == "valid" || name == "empty") {
			t.Errorf("seed %s: decode error %v", name, err)
		}
	}
}
