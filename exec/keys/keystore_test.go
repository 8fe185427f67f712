package keys

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"arbmm/exec"
)

// testWorkFactor keeps scrypt fast in tests (age's default, 18, takes about
// a second per Open or Save).
const testWorkFactor = 10

const testPass = "correct horse battery staple"

func pass() []byte { return []byte(testPass) }

// fixture is a keystore with keys of every kind, and the secrets they were
// made from.
type fixture struct {
	path    string
	clk     *fakeClock
	secrets map[string][]byte // id → HMAC key or Ed25519 seed
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "keys.age"), clk: newClock(), secrets: map[string][]byte{}}
	ks, err := Create(f.path, pass(), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	for _, c := range []struct {
		id, venue, account string
		kind               exec.KeyKind
	}{
		{"bn-1", "binance", "main", exec.HMAC},
		{"bn-2", "binance", "main", exec.HMAC},
		{"bn-ed", "binance", "main", exec.Ed25519},
		{"kr-1", "kraken", "main", exec.HMAC},
	} {
		k, secret := testKey(t, c.id, c.kind, f.clk.Now())
		k.Venue, k.Account = c.venue, c.account
		k.NotAfter = f.clk.Now().Add(90 * 24 * time.Hour)
		f.secrets[c.id] = secret
		if err := ks.Add(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := ks.Rotate("bn-ed"); err != nil {
		t.Fatal(err)
	}
	if err := ks.Retire("bn-1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := ks.Save(); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) opts() Options { return Options{WorkFactor: testWorkFactor, Now: f.clk.Now} }

func TestKeystoreRoundTrip(t *testing.T) {
	f := newFixture(t)
	st, err := os.Stat(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("keystore mode %v, want 0600", st.Mode().Perm())
	}
	if ents, _ := os.ReadDir(filepath.Dir(f.path)); len(ents) != 1 {
		t.Errorf("%d files beside the keystore, want none (temporary file left?)", len(ents)-1)
	}

	p := pass()
	ks, err := Open(f.path, p, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range ks.List() {
		got = append(got, i.ID+":"+i.State.String())
	}
	if want := "bn-1:retiring bn-2:active bn-ed:current kr-1:current"; strings.Join(got, " ") != want {
		t.Errorf("keys %q, want %q", strings.Join(got, " "), want)
	}

	r, err := ks.Ring("binance", "main", Config{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := ks.Ring("kraken", "main", Config{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ks.Close()
	if strings.Trim(string(p), "\x00") != "" {
		t.Error("Close did not zero the passphrase")
	}
	// The engine's rings own copies: closing the keystore left them intact.
	c := r.Current()
	if c == nil || c.ID != "bn-ed" || !bytes.Equal(c.Private, ed25519.NewKeyFromSeed(f.secrets["bn-ed"])) {
		t.Fatalf("binance current %v: want bn-ed with its private key", c)
	}
	if c := kr.Current(); c == nil || !bytes.Equal(c.Secret, f.secrets["kr-1"]) {
		t.Fatalf("kraken current %v: want kr-1 with its secret", c)
	}
	if err := r.MakeCurrent("bn-2"); err != nil || !bytes.Equal(r.Current().Secret, f.secrets["bn-2"]) {
		t.Fatalf("bn-2: %v", err)
	}

	// After the grace period the retiring key is saved without its secret.
	f.clk.Add(time.Minute)
	ks, err = Open(f.path, pass(), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if ns := ks.Tick(); len(ns) != 1 || ns[0].Kind != RetiredNotice || ns[0].Key.ID != "bn-1" {
		t.Fatalf("notices %v, want bn-1 retired", ns)
	}
	if err := ks.Save(); err != nil {
		t.Fatal(err)
	}
	ks.Close()
	plain := decryptFile(t, f.path)
	if n := bytes.Count(plain, []byte(`"secret"`)); n != 3 {
		t.Errorf("%d secrets in the file, want 3 (the retired key's erased)", n)
	}
}

// decryptFile returns the keystore's plaintext document.
func decryptFile(t *testing.T, path string) []byte {
	t.Helper()
	id, _ := age.NewScryptIdentity(testPass)
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := age.Decrypt(fh, id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeystoreBadFiles(t *testing.T) {
	f := newFixture(t)
	good, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)-20] ^= 1
	// A plaintext secret (--keystore pointed at the wrong file): the error
	// must not quote it, as age's own message would (its first bytes).
	notAge := write("secret.txt", []byte(base64.StdEncoding.EncodeToString(f.secrets["bn-2"])+"\n"))
	encryptedJunk := filepath.Join(dir, "junk.age")
	{
		ks, _ := Create(encryptedJunk, pass(), f.opts())
		ks.Save()
		ks.Close()
		// Replace the document by something that is not a keystore.
		rcp, _ := age.NewScryptRecipient(testPass)
		rcp.SetWorkFactor(testWorkFactor)
		var buf bytes.Buffer
		w, _ := age.Encrypt(&buf, rcp)
		w.Write([]byte(`{"format":"arbmm-keystore","version":1,"keys":[{"id":"x","secret":"@@"}]}`))
		w.Close()
		os.WriteFile(encryptedJunk, buf.Bytes(), 0o600)
	}
	for _, c := range []struct {
		name string
		path string
		pass string
		want error
	}{
		{"wrong passphrase", f.path, "Tr0ub4dor&3", ErrPassphrase},
		{"missing", filepath.Join(dir, "nope.age"), testPass, fs.ErrNotExist},
		{"empty file", write("empty", nil), testPass, ErrCorrupt},
		{"truncated header", write("trunc1", good[:40]), testPass, ErrCorrupt},
		{"truncated payload", write("trunc2", good[:len(good)-10]), testPass, ErrCorrupt},
		{"flipped byte", write("flip", flipped), testPass, ErrCorrupt},
		{"not encrypted", notAge, testPass, ErrCorrupt},
		{"bad document", encryptedJunk, testPass, ErrCorrupt},
	} {
		t.Run(c.name, func(t *testing.T) {
			ks, err := Open(c.path, []byte(c.pass), f.opts())
			if err == nil {
				ks.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			checkNoSecret(t, err.Error(), f.secrets)
			if strings.Contains(err.Error(), c.pass) {
				t.Errorf("error %q contains the passphrase", err)
			}
		})
	}
	if _, err := Create(f.path, pass(), f.opts()); err == nil {
		t.Error("Create over an existing keystore")
	}
	if _, err := Open(f.path, nil, f.opts()); err == nil {
		t.Error("empty passphrase accepted")
	}
}

// TestKeystoreErrors covers Add/Rotate/Retire refusals.
func TestKeystoreErrors(t *testing.T) {
	f := newFixture(t)
	ks, err := Open(f.path, pass(), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	dup, _ := testKey(t, "kr-1", exec.HMAC, f.clk.Now()) // the id exists at kraken
	if err := ks.Add(dup); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate id across accounts: got %v", err)
	}
	if err := ks.Rotate("nope"); !errors.Is(err, ErrNoKey) {
		t.Errorf("Rotate(unknown): got %v", err)
	}
	if err := ks.Retire("nope", 0); !errors.Is(err, ErrNoKey) {
		t.Errorf("Retire(unknown): got %v", err)
	}
	if _, err := ks.Ring("okx", "main", Config{}); err == nil {
		t.Error("Ring for an account without keys")
	}
}
