package keys

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"filippo.io/age"
)

// Options tunes a Keystore. The zero value is usable.
type Options struct {
	// WorkFactor is the scrypt work factor (log2 N) Save encrypts with.
	// Default 18, age's own: about a second per Open or Save. Tests use
	// less.
	WorkFactor int
	// Now is the clock for the rings (Config.Now). Default time.Now.
	Now func() time.Time
}

// DefaultWorkFactor is Options.WorkFactor's default.
const DefaultWorkFactor = 18

// maxWorkFactor is the largest scrypt work factor Open accepts (age's
// default limit): a file cannot make Open spend unbounded time and memory.
const maxWorkFactor = 22

// Keystore is an encrypted file holding every venue account's keys: age
// with a scrypt passphrase recipient around a JSON document. It is owned by
// one goroutine. Open or Create it, change it with Add, Rotate and Retire,
// write it with Save, and Close it to zero the passphrase and secrets.
type Keystore struct {
	path  string
	pass  atomic.Pointer[[]byte] // atomic only so that fmt cannot follow it (see Key)
	opts  Options
	rings []*Ring // one per venue account, in the order first seen
}

// Create returns an empty keystore to be written at path by Save; path must
// not exist yet. It takes ownership of pass (zeroed by Close, or at once on
// error).
func Create(path string, pass []byte, opts Options) (*Keystore, error) {
	if len(pass) == 0 {
		return nil, errors.New("keys: empty keystore passphrase")
	}
	if _, err := os.Lstat(path); err == nil {
		clear(pass)
		return nil, fmt.Errorf("keys: keystore %s already exists", path)
	}
	ks := &Keystore{path: path, opts: opts}
	ks.pass.Store(&pass)
	return ks, nil
}

// Open reads and decrypts the keystore at path. It takes ownership of pass
// (zeroed by Close, or at once on error). A missing file's error wraps
// fs.ErrNotExist (io/fs); a wrong passphrase's wraps ErrPassphrase; a damaged
// file's wraps ErrCorrupt. Open does not apply the clock: call Tick.
func Open(path string, pass []byte, opts Options) (*Keystore, error) {
	ks := &Keystore{path: path, opts: opts}
	ks.pass.Store(&pass)
	if err := ks.load(); err != nil {
		ks.Close()
		return nil, err
	}
	return ks, nil
}

// Errors of Open.
var (
	ErrPassphrase = errors.New("keys: wrong passphrase")
	ErrCorrupt    = errors.New("keys: keystore is damaged")
)

func (ks *Keystore) load() error {
	if len(*ks.pass.Load()) == 0 {
		return errors.New("keys: empty keystore passphrase")
	}
	f, err := os.Open(ks.path)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	id, err := age.NewScryptIdentity(string(*ks.pass.Load()))
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	id.SetMaxWorkFactor(maxWorkFactor)
	r, err := age.Decrypt(f, id)
	if err != nil {
		if _, ok := errors.AsType[*age.NoIdentityMatchError](err); ok {
			return fmt.Errorf("%w for keystore %s", ErrPassphrase, ks.path)
		}
		// age's own message may quote the file's first line: not shown.
		return fmt.Errorf("%w: %s is not an age-encrypted keystore, or its header is damaged", ErrCorrupt, ks.path)
	}
	// The plaintext is shorter than the file: read it into one buffer that
	// never grows (growing would leave copies behind), then zero it.
	buf := make([]byte, 0, st.Size()+1)
	defer func() { clear(buf[:cap(buf)]) }()
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %s is truncated or altered (its contents fail authentication)", ErrCorrupt, ks.path)
		}
		if len(buf) == cap(buf) {
			return fmt.Errorf("%w: %s decrypts to more than its size", ErrCorrupt, ks.path)
		}
	}
	keys, err := decode(buf)
	if err != nil {
		return fmt.Errorf("%w: %s: %s", ErrCorrupt, ks.path, detail(err))
	}
	for i, k := range keys {
		if err := ks.ring(k.Venue, k.Account).restore(k); err != nil {
			for _, k := range keys[i:] {
				k.zero()
			}
			return fmt.Errorf("%w: %s: %s", ErrCorrupt, ks.path, detail(err))
		}
	}
	return nil
}

// detail is an error's text without its "keys: " prefix, to follow another.
func detail(err error) string { return strings.TrimPrefix(err.Error(), "keys: ") }

// ring returns the keystore's ring for a venue account, adding it if new.
func (ks *Keystore) ring(venue, account string) *Ring {
	for _, r := range ks.rings {
		if r.venue == venue && r.account == account {
			return r
		}
	}
	r := NewRing(venue, account, Config{Now: ks.opts.Now})
	ks.rings = append(ks.rings, r)
	return r
}

// find returns the ring holding key id.
func (ks *Keystore) find(id string) (*Ring, error) {
	for _, r := range ks.rings {
		r.mu.Lock()
		k := r.findLocked(id)
		r.mu.Unlock()
		if k != nil {
			return r, nil
		}
	}
	return nil, fmt.Errorf("keys: key %s: %w in the keystore", id, ErrNoKey)
}

// Add adds an Active or Current key to its venue account (Ring.Add: the
// first key of an account becomes current). Key ids are unique across the
// keystore.
func (ks *Keystore) Add(k *Key) error {
	if k == nil {
		return errors.New("keys: nil key")
	}
	if _, err := ks.find(k.ID); err == nil {
		return fmt.Errorf("keys: key %s: %w", k.ID, ErrExists)
	}
	n := len(ks.rings)
	if err := ks.ring(k.Venue, k.Account).Add(k); err != nil {
		ks.rings = ks.rings[:n] // drop the ring if this call made it
		return err
	}
	return nil
}

// Rotate makes key id the current key of its venue account (Ring.MakeCurrent).
func (ks *Keystore) Rotate(id string) error {
	r, err := ks.find(id)
	if err != nil {
		return err
	}
	return r.MakeCurrent(id)
}

// Retire retires key id after grace (Ring.Retire). The file keeps a
// retiring key's secret until a Tick after the grace period, then keeps the
// key without its secret.
func (ks *Keystore) Retire(id string, grace time.Duration) error {
	r, err := ks.find(id)
	if err != nil {
		return err
	}
	return r.Retire(id, grace)
}

// Tick applies the clock to every ring (Ring.Tick).
func (ks *Keystore) Tick() []Notice {
	var ns []Notice
	for _, r := range ks.rings {
		ns = append(ns, r.Tick()...)
	}
	return ns
}

// List describes every key, by venue account in the order first seen.
func (ks *Keystore) List() []Info {
	var out []Info
	for _, r := range ks.rings {
		out = append(out, r.List()...)
	}
	return out
}

// Ring returns a new Ring for a venue account with its own copies of the
// keys and secrets, for the engine; the Keystore can be closed afterwards.
func (ks *Keystore) Ring(venue, account string, cfg Config) (*Ring, error) {
	var src *Ring
	for _, r := range ks.rings {
		if r.venue == venue && r.account == account {
			src = r
		}
	}
	if src == nil {
		return nil, fmt.Errorf("keys: no keys for %s/%s in the keystore", venue, account)
	}
	out := NewRing(venue, account, cfg)
	src.mu.Lock()
	defer src.mu.Unlock()
	for _, k := range src.keys {
		if err := out.restore(k.clone()); err != nil {
			out.Close()
			return nil, err
		}
	}
	return out, nil
}

// Save encrypts the keystore and replaces the file atomically: a temporary
// file in the same directory (mode 0600), written, synced, renamed over the
// old one, and the directory synced.
func (ks *Keystore) Save() error {
	rcp, err := age.NewScryptRecipient(string(*ks.pass.Load()))
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	wf := ks.opts.WorkFactor
	if wf <= 0 {
		wf = DefaultWorkFactor
	}
	if wf > maxWorkFactor {
		return fmt.Errorf("keys: scrypt work factor %d above %d", wf, maxWorkFactor)
	}
	rcp.SetWorkFactor(wf)

	var keys []*Key
	for _, r := range ks.rings {
		r.mu.Lock()
		keys = append(keys, r.keys...)
		r.mu.Unlock()
	}
	plain, err := encode(keys)
	defer clear(plain)
	if err != nil {
		return err
	}
	return writeAtomic(ks.path, func(w io.Writer) error {
		enc, err := age.Encrypt(w, rcp)
		if err != nil {
			return err
		}
		if _, err := enc.Write(plain); err != nil {
			return err
		}
		return enc.Close()
	})
}

// writeAtomic writes a file through write into a temporary file beside path
// and renames it over path.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err = write(f); err != nil {
		return fmt.Errorf("keys: writing %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: the rename is durable once the directory is
		d.Close()
	}
	return nil
}

// Close zeroes the passphrase and every secret the keystore holds.
func (ks *Keystore) Close() {
	clear(*ks.pass.Load())
	for _, r := range ks.rings {
		r.Close()
	}
}

// Path returns the keystore's file name.
func (ks *Keystore) Path() string { return ks.path }

// String names the keystore file.
func (ks *Keystore) String() string {
	n := 0
	for _, r := range ks.rings {
		r.mu.Lock()
		n += len(r.keys)
		r.mu.Unlock()
	}
	return fmt.Sprintf("keystore %s (%d keys)", ks.path, n)
}

// Format prints String for every verb: no field is reachable by reflection.
func (ks *Keystore) Format(f fmt.State, verb rune) { io.WriteString(f, ks.String()) }

// The document inside the encryption:
//
//	{"format":"arbmm-keystore","version":1,"keys":[{"id":…,"secret":"base64"},…]}
const (
	fileFormat  = "arbmm-keystore"
	fileVersion = 1
)

type fileDoc struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Keys    []fileKey `json:"keys"`
}

// fileMeta is a key in the file, but its secret.
type fileMeta struct {
	ID         string    `json:"id"`
	Venue      string    `json:"venue"`
	Account    string    `json:"account"`
	APIKey     string    `json:"api_key"`
	Kind       string    `json:"kind"`
	Perms      string    `json:"perms"`
	State      string    `json:"state"`
	Created    time.Time `json:"created,omitzero"`
	NotAfter   time.Time `json:"not_after,omitzero"`
	GraceUntil time.Time `json:"grace_until,omitzero"`
}

type fileKey struct {
	fileMeta
	Secret []byte `json:"secret,omitempty"` // HMAC key bytes or Ed25519 seed
}

// encode writes the document. The secrets are appended by hand into one
// buffer sized in advance (encoding/json would leave them in its pooled
// buffers); the caller zeroes the result.
func encode(keys []*Key) ([]byte, error) {
	head := `{"format":"` + fileFormat + `","version":` + fmt.Sprint(fileVersion) + `,"keys":[`
	metas := make([][]byte, len(keys))
	size := len(head) + 2
	for i, k := range keys {
		m, err := json.Marshal(fileMeta{
			ID: k.ID, Venue: k.Venue, Account: k.Account, APIKey: k.APIKey,
			Kind: k.Kind.String(), Perms: k.Perms.String(), State: k.State.String(),
			Created: k.Created, NotAfter: k.NotAfter, GraceUntil: k.GraceUntil,
		})
		if err != nil {
			return nil, fmt.Errorf("keys: encoding key %s: %w", k.ID, err)
		}
		metas[i] = m
		size += len(m) + len(`,"secret":""},`) + base64.StdEncoding.EncodedLen(len(k.secret()))
	}
	buf := make([]byte, 0, size)
	buf = append(buf, head...)
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		m := metas[i]
		buf = append(buf, m[:len(m)-1]...) // without its '}'
		if s := k.secret(); len(s) > 0 && k.State != Retired {
			buf = append(buf, `,"secret":"`...)
			buf = base64.StdEncoding.AppendEncode(buf, s)
			buf = append(buf, '"')
		}
		buf = append(buf, '}')
	}
	return append(buf, "]}"...), nil
}

// decode parses and checks the decrypted document. On error every secret
// decoded so far is zeroed; errors never quote the input (a JSON syntax
// error would quote a character, a bad time its text).
func decode(b []byte) (keys []*Key, err error) {
	var doc fileDoc
	defer func() {
		for i := range doc.Keys {
			clear(doc.Keys[i].Secret) // the secrets not handed to NewKey
		}
		if err != nil {
			for _, k := range keys {
				k.zero()
			}
			keys = nil
		}
	}()
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&doc); err != nil {
		return nil, jsonError(err)
	}
	if d.More() {
		return nil, errors.New("keys: data after the keystore document")
	}
	if doc.Format != fileFormat || doc.Version != fileVersion {
		return nil, fmt.Errorf("keys: not a version %d %s document", fileVersion, fileFormat)
	}
	ids := make(map[string]bool, len(doc.Keys))
	current := make(map[[2]string]string)
	for i := range doc.Keys {
		fk := &doc.Keys[i]
		info := Info{ID: fk.ID, Venue: fk.Venue, Account: fk.Account, APIKey: fk.APIKey,
			Created: fk.Created, NotAfter: fk.NotAfter, GraceUntil: fk.GraceUntil}
		if info.Kind, err = ParseKind(fk.Kind); err != nil {
			return keys, err
		}
		if info.Perms, err = ParsePerms(fk.Perms); err != nil {
			return keys, err
		}
		if info.State, err = ParseState(fk.State); err != nil {
			return keys, err
		}
		if ids[fk.ID] {
			return keys, fmt.Errorf("keys: key id %q appears twice", fk.ID)
		}
		ids[fk.ID] = true
		if info.State == Current {
			acct := [2]string{fk.Venue, fk.Account}
			if other, ok := current[acct]; ok {
				return keys, fmt.Errorf("keys: %s/%s has two current keys, %s and %s", fk.Venue, fk.Account, other, fk.ID)
			}
			current[acct] = fk.ID
		}
		secret := fk.Secret
		fk.Secret = nil // NewKey owns it now
		k, err := NewKey(info, secret)
		if err != nil {
			return keys, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func jsonError(err error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Errorf("keys: keystore document is not valid JSON (at byte %d)", se.Offset)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return fmt.Errorf("keys: keystore field %q has the wrong type (at byte %d)", te.Field, te.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("keys: keystore document is empty or cut short")
	}
	return errors.New("keys: keystore document has a malformed value")
}
