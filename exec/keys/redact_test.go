package keys

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	arbexec "arbmm/exec"
)

// secretForms are the ways a secret could show up in text: raw, hex and
// base64 in their usual variants.
func secretForms(s []byte) []string {
	return []string{
		string(s),
		hex.EncodeToString(s), strings.ToUpper(hex.EncodeToString(s)),
		base64.StdEncoding.EncodeToString(s), base64.RawStdEncoding.EncodeToString(s),
		base64.URLEncoding.EncodeToString(s), base64.RawURLEncoding.EncodeToString(s),
		fmt.Sprint(s), // [1 2 3]
	}
}

// checkNoSecret fails if out contains any form of any secret, or of its
// first 12 bytes (a prefix leaks too).
func checkNoSecret(t testing.TB, out string, secrets map[string][]byte) {
	t.Helper()
	for id, s := range secrets {
		for _, part := range [][]byte{s, s[:min(12, len(s))]} {
			for _, f := range secretForms(part) {
				if len(f) >= 8 && strings.Contains(out, f) {
					t.Fatalf("the secret of %s appears in the output", id)
				}
			}
		}
	}
}

// TestRedaction formats every value of this package that holds or
// describes a key, with every verb a log line might use, and marshals the
// public listing: no secret may appear.
func TestRedaction(t *testing.T) {
	f := newFixture(t)
	ks, err := Open(f.path, pass(), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	r, err := ks.Ring("binance", "main", Config{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{"passphrase": []byte(testPass)}
	for id, s := range f.secrets {
		secrets[id] = s
		if id == "bn-ed" {
			secrets[id+"/private"] = ed25519.NewKeyFromSeed(s)
		}
	}
	k, secret := testKey(t, "solo", arbexec.HMAC, f.clk.Now())
	secrets["solo"] = secret
	ke, seed := testKey(t, "solo-ed", arbexec.Ed25519, f.clk.Now())
	secrets["solo-ed"] = seed
	secrets["solo-ed/private"] = ed25519.NewKeyFromSeed(seed)
	dup, dupSecret := testKey(t, "bn-2", arbexec.HMAC, f.clk.Now())
	secrets["dup"] = dupSecret

	f.clk.Add(89*24*time.Hour + time.Hour) // within the expiry warning
	notices := r.Tick()
	if len(notices) == 0 {
		t.Fatal("no notices to format")
	}
	// holder keeps keys, a ring and a keystore in unexported fields: fmt
	// cannot call their methods and walks them by reflection.
	type holder struct {
		Name string
		K    *Key
		k    *Key
		i    Info
		r    *Ring
		ks   *Keystore
	}
	values := []any{
		k, ke, k.Info, r, ks, notices, notices[0], ks.List(), r.List(),
		[]*Key{k, ke}, map[string]*Key{"a": k}, holder{"h", k, ke, k.Info, r, ks}, &holder{"h", ke, k, ke.Info, r, ks},
	}
	// Errors from every operation that names a key.
	for _, err := range []error{
		r.MakeCurrent("nope"), r.Retire("nope", 0), ks.Add(dup), r.Add(dup), CheckPermissions(Withdraw, false),
		func() error { _, err := NewKey(k.Info, []byte{}); return err }(),
		func() error { _, err := NewKey(ke.Info, bytes.Repeat([]byte{7}, 31)); return err }(),
		func() error { _, err := DecodeSecret("binance", arbexec.Ed25519, secret); return err }(),
		func() error {
			_, err := DecodeSecret("kraken", arbexec.HMAC, append(bytes.Clone(secret), '!'))
			return err
		}(),
	} {
		if err == nil {
			t.Fatal("an operation that should fail did not")
		}
		values = append(values, err)
	}

	var out strings.Builder
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	// exec.Credential (not this package's) redacts through String and
	// GoString only, so a verb that bypasses them (%d) would print its
	// fields: it is checked with the verbs that reach String.
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		fmt.Fprintf(&out, verb+"\n", r.Current())
	}
	for _, v := range []any{ks.List(), r.List(), k, ke, notices} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(b)
	}
	if !strings.Contains(out.String(), "solo-ed") || !strings.Contains(out.String(), "bn-ed") {
		t.Fatal("the formatted output does not even name the keys")
	}
	checkNoSecret(t, out.String(), secrets)
}

// TestPanicMessage panics with a key in a child process and greps what the
// runtime printed.
func TestPanicMessage(t *testing.T) {
	if os.Getenv("KEYS_PANIC_CHILD") != "" {
		secret, _ := hex.DecodeString(os.Getenv("KEYS_PANIC_CHILD"))
		k, err := NewKey(Info{ID: "panicky", Venue: "binance", Account: "main", APIKey: "abcdefghijkl", Kind: arbexec.HMAC}, secret)
		if err != nil {
			os.Exit(3)
		}
		switch os.Getenv("KEYS_PANIC_VALUE") {
		case "key":
			panic(k)
		case "info":
			panic(k.Info)
		case "error":
			panic(fmt.Errorf("wrapped: %v", k))
		}
		os.Exit(4)
	}
	secret := []byte("panic-secret-0123456789-abcdefgh")
	for _, v := range []string{"key", "info", "error"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPanicMessage$")
		cmd.Env = append(os.Environ(), "KEYS_PANIC_CHILD="+hex.EncodeToString(secret), "KEYS_PANIC_VALUE="+v)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !bytes.Contains(out, []byte("panic: ")) || !bytes.Contains(out, []byte("panicky")) {
			t.Fatalf("%s: the child did not panic with the key (%v):\n%s", v, err, out)
		}
		checkNoSecret(t, string(out), map[string][]byte{"panicky": secret})
	}
}
