package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKeysSession runs a whole `arbmm keys` session — add keys of every
// kind, list, rotate, retire, and the usual mistakes — with the passphrase
// and secrets in environment variables, checks what it says, and greps
// everything it printed (stdout and stderr) for the secrets and the
// passphrase in raw, hex and base64 forms.
func TestKeysSession(t *testing.T) {
	const passphrase = "keys-session-passphrase-7f3a"
	binanceSecret := randomText(64)
	krakenRaw := make([]byte, 64)
	rand.Read(krakenRaw)
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	secrets := map[string][]byte{
		"passphrase":     []byte(passphrase),
		"binance":        []byte(binanceSecret),
		"kraken":         krakenRaw,
		"kraken-text":    []byte(base64.StdEncoding.EncodeToString(krakenRaw)),
		"ed25519-seed":   seed,
		"ed25519-key":    ed25519.NewKeyFromSeed(seed),
		"ed25519-base64": []byte(base64.StdEncoding.EncodeToString(seed)),
	}
	path := filepath.Join(t.TempDir(), "keys.age")
	t.Setenv("ARBMM_KEYSTORE_PASSPHRASE", passphrase)
	t.Setenv("ARBMM_KEYSTORE", path)
	t.Setenv("ARBMM_KEY_BINANCE_MAIN_SECRET", binanceSecret)
	t.Setenv("ARBMM_KEY_KRAKEN_MAIN_SECRET", base64.StdEncoding.EncodeToString(krakenRaw))
	t.Setenv("ED_SEED", base64.StdEncoding.EncodeToString(seed))
	t.Setenv("WITHDRAW_SECRET", binanceSecret+"-w")

	var all bytes.Buffer // every byte the session printed
	keys := func(wantCode int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(append([]string{"keys", args[0], "--work-factor", "10"}, args[1:]...), &out, &errOut)
		all.Write(out.Bytes())
		all.Write(errOut.Bytes())
		if code != wantCode {
			t.Fatalf("arbmm keys %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	expect := func(out string, patterns ...string) {
		t.Helper()
		for _, p := range patterns {
			if !regexp.MustCompile(p).MatchString(out) {
				t.Errorf("output lacks %q:\n%s", p, out)
			}
		}
	}

	out := keys(0, "add", "--keystore", path, "--venue", "binance", "--account", "main", "--id", "bn-1",
		"--api-key", "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A", "--not-after", "2160h")
	expect(out, `creating keystore`, `added binance/main key bn-1 \(hmac, api key vmPU…`, `current key of binance/main: bn-1`)
	keys(0, "add", "--venue", "kraken", "--account", "main", "--id", "kr-1", "--api-key", "kraken-api-key-0123456789")
	keys(0, "add", "--venue", "binance", "--account", "main", "--id", "bn-ed", "--kind", "ed25519",
		"--api-key", "ed25519-api-key-0123456789", "--secret-env", "ED_SEED", "--not-after", "2030-01-01T00:00:00Z")
	out = keys(0, "add", "--venue", "binance", "--account", "main", "--id", "bn-w", "--api-key", "withdraw-api-key-012345",
		"--secret-env", "WITHDRAW_SECRET", "--perms", "read,trade,withdraw")
	expect(out, `warning: keys: the key can withdraw`)

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("keystore mode %v, want 0600", st.Mode().Perm())
	}

	out = keys(0, "list")
	expect(out,
		`ID\s+VENUE\s+ACCOUNT\s+KIND\s+CREATED\s+NOT-AFTER\s+PERMS\s+STATE\s+API-KEY`,
		`bn-1\s+binance\s+main\s+hmac\s+\d{4}-\d\d-\d\dT\S+\s+\d{4}-\S+\s+read,trade\s+current\s+vmPU…`,
		`kr-1\s+kraken\s+main\s+hmac\s+\S+\s+-\s+read,trade\s+current\s+krak…`,
		`bn-ed\s+binance\s+main\s+ed25519\s+\S+\s+2030-01-01T00:00:00Z\s+read,trade\s+active\s+ed25…`,
		`bn-w\s+binance\s+main\s+hmac\s+\S+\s+-\s+read,trade,withdraw\s+active`)
	if strings.Contains(out, "vmPUZE6") {
		t.Error("list shows the API key unmasked")
	}

	out = keys(0, "rotate", "--id", "bn-ed")
	expect(out, `key bn-ed is now current`, `current key of binance/main: bn-ed`)
	out = keys(0, "retire", "--id", "bn-1", "--grace", "0")
	expect(out, `key bn-1 is retired; its secret is erased`)
	out = keys(0, "retire", "--id", "bn-w", "--grace", "1m")
	expect(out, `key bn-w is retiring: it signs nothing new; its secret is erased after \S+`)
	keys(1, "rotate", "--id", "bn-1") // retired: never current again

	var listed []map[string]any
	out = keys(0, "list", "--json")
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 4 {
		t.Fatalf("list --json: %v, %d keys:\n%s", err, len(listed), out)
	}
	states := map[string]any{}
	for _, k := range listed {
		states[k["id"].(string)] = k["state"]
	}
	if fmt.Sprint(states) != "map[bn-1:retired bn-ed:current bn-w:retiring kr-1:current]" {
		t.Errorf("states after rotate and retire: %v", states)
	}

	// Mistakes: each a clear error, none printing a secret.
	expect(keys(1, "rotate", "--id", "nope"), `no such key`)
	expect(keys(1, "add", "--venue", "kraken", "--account", "main", "--id", "kr-1", "--api-key", "kraken-api-key-0123456789"), `already in use`)
	expect(keys(1, "add", "--venue", "binance", "--account", "sub", "--id", "bn-sub", "--api-key", "sub-api-key-012345"),
		`no secret: set \$ARBMM_KEY_BINANCE_SUB_SECRET`)
	expect(keys(1, "add", "--venue", "binance", "--account", "main", "--id", "bn-bad", "--kind", "ed25519",
		"--api-key", "bad-api-key-012345", "--secret-env", "ARBMM_KEY_BINANCE_MAIN_SECRET"), `ed25519 secret`)
	expect(keys(2, "frobnicate"), `unknown command`)
	expect(keys(2, "retire"), `--id is required`)
	t.Setenv("ARBMM_KEYSTORE_PASSPHRASE", passphrase+"-wrong")
	expect(keys(1, "list"), `wrong passphrase for keystore`)
	t.Setenv("ARBMM_KEYSTORE_PASSPHRASE", passphrase)
	if err := os.WriteFile(path, []byte("age-encryption.org/v1\n-> scrypt"), 0o600); err != nil {
		t.Fatal(err)
	}
	expect(keys(1, "list"), `keystore is damaged`)

	if !strings.Contains(all.String(), "bn-ed") {
		t.Fatal("the session printed nothing useful")
	}
	for name, s := range secrets {
		for _, part := range [][]byte{s, s[:12]} {
			for _, form := range []string{
				string(part), hex.EncodeToString(part), strings.ToUpper(hex.EncodeToString(part)),
				base64.StdEncoding.EncodeToString(part), base64.RawStdEncoding.EncodeToString(part),
				base64.URLEncoding.EncodeToString(part), base64.RawURLEncoding.EncodeToString(part),
			} {
				if len(form) >= 8 && strings.Contains(all.String(), form) {
					t.Fatalf("the %s appears in the output of arbmm keys", name)
				}
			}
		}
	}
}

// randomText is a random alphanumeric string, like a Binance API secret.
func randomText(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
