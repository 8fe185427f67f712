package exec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Nonces hands out strictly increasing nonces (Kraken's) that are never
// reused, not even across restarts: each is the larger of the last one
// plus one and the current time in microseconds, and a high-water mark
// ahead of every nonce handed out is kept in a file, so a restarted engine
// (or a clock stepped back) starts above anything it sent before. The file
// is rewritten once per Reserve of nonce space, not per nonce. Safe for
// concurrent use.
type Nonces struct {
	mu       sync.Mutex
	path     string
	last     uint64
	reserved uint64 // every nonce handed out is <= reserved, which is on disk
	step     uint64
}

// NonceReserve is how much nonce space (µs) one write of the file covers.
const NonceReserve = uint64(10 * time.Second / time.Microsecond)

// OpenNonces reads the high-water mark at path (a missing file starts from
// zero) and returns the generator. An empty path keeps nothing on disk
// (tests only: nonces are then unique per process, not across restarts).
func OpenNonces(path string) (*Nonces, error) {
	n := &Nonces{path: path, step: NonceReserve}
	if path == "" {
		return n, nil
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("exec: nonce file: %w", err)
	default:
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("exec: nonce file %s: %q is not a nonce", path, strings.TrimSpace(string(b)))
		}
		n.last, n.reserved = v, v
	}
	return n, nil
}

// Next returns the next nonce at time now.
func (n *Nonces) Next(now time.Time) (uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v := max(n.last+1, uint64(now.UnixMicro()))
	if n.path != "" && v > n.reserved {
		if err := n.persist(v + n.step); err != nil {
			return 0, err
		}
	}
	n.last = v
	return v, nil
}

// persist writes the new high-water mark atomically (temp file, fsync,
// rename) before any nonce under it is used.
func (n *Nonces) persist(mark uint64) error {
	tmp := n.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("exec: nonce file: %w", err)
	}
	_, err = f.WriteString(strconv.FormatUint(mark, 10) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, n.path)
	}
	if err == nil {
		if d, derr := os.Open(filepath.Dir(n.path)); derr == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("exec: nonce file: %w", err)
	}
	n.reserved = mark
	return nil
}
