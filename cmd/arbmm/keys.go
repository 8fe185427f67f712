package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"arbmm/exec/keys"
)

// Environment variables `arbmm keys` reads. Secrets are read from the
// environment or a terminal only: never from flags (visible in ps) or YAML.
const (
	envPassphrase = "ARBMM_KEYSTORE_PASSPHRASE"
	envKeystore   = "ARBMM_KEYSTORE"
)

const keysUsage = `usage: arbmm keys <add|list|rotate|retire> [flags]

Manages the encrypted keystore (age, scrypt passphrase) that holds the
venue accounts' API keys. The passphrase comes from $ARBMM_KEYSTORE_PASSPHRASE
or, when that is unset, from a prompt on the terminal. Secrets are never
printed.

  add     --venue V --account A --id ID --api-key K [--kind hmac|ed25519]
          [--secret-env VAR] [--not-after T] [--perms read,trade]
          add a key; its secret is read from $VAR (default
          ARBMM_KEY_<VENUE>_<ACCOUNT>_SECRET): binance hmac the secret text,
          kraken hmac the base64 secret, ed25519 the private key seed in
          base64 or a PKCS#8 PEM key. The first key of an account is made
          current. The keystore is created if missing.
  list    [--json]   every key: id, venue, account, kind, created, not-after,
          perms, state, API key masked
  rotate  --id ID    make a key the current key of its account
  retire  --id ID [--grace D]
          retire a key: it signs nothing new at once, and its secret is
          erased when the grace period has passed (0: now)

Every command takes --keystore FILE (default $ARBMM_KEYSTORE) and
--work-factor N (scrypt log2 N for the file it writes; default 18).
`

// cmdKeys runs `arbmm keys`.
func cmdKeys(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, keysUsage) }
	path := fs.String("keystore", os.Getenv(envKeystore), "keystore file (default $"+envKeystore+")")
	workFactor := fs.Int("work-factor", keys.DefaultWorkFactor, "scrypt work factor (log2 N) to encrypt with")
	var (
		venue, account, id, apiKey, kind, secretEnv, notAfter, perms *string
		grace                                                        *time.Duration
		asJSON                                                       *bool
	)
	switch sub {
	case "add":
		venue = fs.String("venue", "", "venue (binance, kraken)")
		account = fs.String("account", "", "the venue account's name in arbmm's config")
		id = fs.String("id", "", "the key's id, unique in the keystore")
		apiKey = fs.String("api-key", "", "the API key (public id) the venue gave")
		kind = fs.String("kind", "hmac", "hmac or ed25519")
		secretEnv = fs.String("secret-env", "", "environment variable holding the secret (default ARBMM_KEY_<VENUE>_<ACCOUNT>_SECRET)")
		notAfter = fs.String("not-after", "", "expiry: RFC 3339 time, date (2027-01-31) or duration from now (2160h)")
		perms = fs.String("perms", "read,trade", "permissions the venue granted: read, trade, withdraw")
	case "list":
		asJSON = fs.Bool("json", false, "print JSON")
	case "rotate":
		id = fs.String("id", "", "the key to make current")
	case "retire":
		id = fs.String("id", "", "the key to retire")
		grace = fs.Duration("grace", time.Minute, "how long requests already signed with the key stay valid")
	default:
		fmt.Fprintf(stderr, "arbmm keys: unknown command %q\n\n%s", sub, keysUsage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "arbmm keys %s: unexpected argument %q\n", sub, fs.Arg(0))
		return 2
	}
	if *path == "" {
		fmt.Fprintf(stderr, "arbmm keys %s: no keystore: pass --keystore FILE or set $%s\n", sub, envKeystore)
		return 2
	}
	if id != nil && *id == "" {
		fmt.Fprintf(stderr, "arbmm keys %s: --id is required\n", sub)
		return 2
	}
	opts := keys.Options{WorkFactor: *workFactor}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "arbmm keys %s: %v\n", sub, err)
		return 1
	}

	// Build the new key before asking for the passphrase: a mistake in
	// the flags or the secret's variable costs no prompt.
	var newKey *keys.Key
	if sub == "add" {
		k, err := keyFromFlags(*venue, *account, *id, *apiKey, *kind, *secretEnv, *notAfter, *perms)
		if err != nil {
			return fail(err)
		}
		newKey = k
		if err := keys.CheckPermissions(k.Perms, false); err != nil {
			fmt.Fprintf(stderr, "arbmm keys add: warning: %v\n", err)
		}
	}

	ks, err := openKeystore(*path, opts, sub == "add", stderr)
	if err != nil {
		return fail(err)
	}
	defer ks.Close()
	for _, n := range ks.Tick() {
		fmt.Fprintln(stderr, "arbmm", n)
	}

	switch sub {
	case "list":
		return listKeys(ks.List(), *asJSON, stdout, stderr)
	case "add":
		k := newKey.Info
		err = ks.Add(newKey)
		if err != nil {
			newKey.Zero()
		} else {
			fmt.Fprintf(stdout, "added %s\n", k)
		}
	case "rotate":
		err = ks.Rotate(*id)
		if err == nil {
			fmt.Fprintf(stdout, "key %s is now current; the previous current key stays active until retired\n", *id)
		}
	case "retire":
		err = ks.Retire(*id, *grace)
		if err == nil {
			for _, n := range ks.Tick() {
				fmt.Fprintln(stderr, "arbmm", n)
			}
			for _, i := range ks.List() {
				if i.ID == *id && i.State == keys.Retiring {
					fmt.Fprintf(stdout, "key %s is retiring: it signs nothing new; its secret is erased after %s\n", *id, i.GraceUntil.UTC().Format(time.RFC3339))
				} else if i.ID == *id {
					fmt.Fprintf(stdout, "key %s is retired; its secret is erased\n", *id)
				}
			}
		}
	}
	if err != nil {
		return fail(err)
	}
	if err := ks.Save(); err != nil {
		return fail(err)
	}
	for _, i := range ks.List() {
		if i.State == keys.Current {
			fmt.Fprintf(stdout, "current key of %s/%s: %s\n", i.Venue, i.Account, i.ID)
		}
	}
	return 0
}

// keyFromFlags builds the key `arbmm keys add` adds, its secret read from
// the environment.
func keyFromFlags(venue, account, id, apiKey, kind, secretEnv, notAfter, perms string) (*keys.Key, error) {
	info := keys.Info{ID: id, Venue: venue, Account: account, APIKey: apiKey, Created: time.Now().UTC().Truncate(time.Second)}
	var err error
	if info.Kind, err = keys.ParseKind(kind); err != nil {
		return nil, err
	}
	if info.Perms, err = keys.ParsePerms(perms); err != nil {
		return nil, err
	}
	if notAfter != "" {
		if info.NotAfter, err = parseNotAfter(notAfter, info.Created); err != nil {
			return nil, err
		}
	}
	if secretEnv == "" {
		secretEnv = keys.EnvName(venue, account)
	}
	text, ok := os.LookupEnv(secretEnv)
	if !ok || text == "" {
		return nil, fmt.Errorf("no secret: set $%s (secrets are taken from the environment, never from flags)", secretEnv)
	}
	secret, err := keys.DecodeSecret(venue, info.Kind, []byte(text))
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", secretEnv, err)
	}
	return keys.NewKey(info, secret)
}

// parseNotAfter reads an RFC 3339 time, a date, or a duration from now.
func parseNotAfter(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("--not-after %q: want an RFC 3339 time, a date (2006-01-02) or a positive duration", s)
}

// openKeystore opens the keystore, or creates it for `add` when missing.
func openKeystore(path string, opts keys.Options, create bool, stderr io.Writer) (*keys.Keystore, error) {
	_, statErr := os.Stat(path)
	if errors.Is(statErr, fs.ErrNotExist) && create {
		pass, err := passphrase(true)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "arbmm keys: creating keystore %s\n", path)
		return keys.Create(path, pass, opts)
	}
	pass, err := passphrase(false)
	if err != nil {
		return nil, err
	}
	return keys.Open(path, pass, opts)
}

// passphrase reads the keystore passphrase from $ARBMM_KEYSTORE_PASSPHRASE
// or, when unset, from the terminal without echo (twice for a new file).
func passphrase(confirm bool) ([]byte, error) {
	if v, ok := os.LookupEnv(envPassphrase); ok {
		if v == "" {
			return nil, fmt.Errorf("$%s is empty", envPassphrase)
		}
		return []byte(v), nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("no passphrase: set $%s or run on a terminal", envPassphrase)
	}
	defer tty.Close()
	read := func(prompt string) ([]byte, error) {
		fmt.Fprint(tty, prompt)
		p, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase: %w", err)
		}
		if len(p) == 0 {
			return nil, errors.New("empty passphrase")
		}
		return p, nil
	}
	p, err := read("keystore passphrase: ")
	if err != nil || !confirm {
		return p, err
	}
	again, err := read("again: ")
	defer clear(again)
	if err != nil || string(again) != string(p) {
		clear(p)
		if err == nil {
			err = errors.New("the passphrases differ")
		}
		return nil, err
	}
	return p, nil
}

// listKeys prints the keys as a table or JSON; never their secrets.
func listKeys(list []keys.Info, asJSON bool, stdout, stderr io.Writer) int {
	if asJSON {
		if list == nil {
			list = []keys.Info{}
		}
		b, err := json.MarshalIndent(list, "", "  ")
		if err != nil {
			fmt.Fprintln(stderr, "arbmm keys list:", err)
			return 1
		}
		stdout.Write(append(b, '\n'))
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVENUE\tACCOUNT\tKIND\tCREATED\tNOT-AFTER\tPERMS\tSTATE\tAPI-KEY")
	day := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, i := range list {
		state := i.State.String()
		if i.State == keys.Retiring {
			state += " until " + day(i.GraceUntil)
		}
		fmt.Fprintln(tw, strings.Join([]string{i.ID, i.Venue, i.Account, i.Kind.String(), day(i.Created),
			day(i.NotAfter), i.Perms.String(), state, keys.MaskAPIKey(i.APIKey)}, "\t"))
	}
	tw.Flush()
	return 0
}
