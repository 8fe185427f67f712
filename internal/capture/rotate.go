package capture

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Rotation defaults.
const (
	DefaultRotateBytes = 256 << 20 // uncompressed bytes of records per file
	DefaultRotateAge   = time.Hour
)

// RotatorConfig configures a Rotator.
type RotatorConfig struct {
	Dir      string        // directory for the files; created if missing
	Prefix   string        // file name prefix, e.g. "binance"; default "capture"
	MaxBytes int64         // rotate after this many uncompressed bytes (default 256 MiB)
	MaxAge   time.Duration // rotate after a file has been open this long (default 1 h)
	Compress bool          // zstd (.jsonl.zst) rather than plain .jsonl
	// Now returns the wall clock; tests replace it. Default time.Now.
	Now func() time.Time
}

// Rotator writes capture records to a sequence of files in one directory,
// starting a new file when the current one reaches MaxBytes of records or
// MaxAge, so that long recordings stay manageable and a crash loses at most
// what was written since the last Flush. It is safe for concurrent use by
// several connections (a mutex: recording is off the hot path).
//
// Files are named PREFIX-YYYYMMDDTHHMMSSZ-N.jsonl[.zst]; each is a complete
// capture that Open reads on its own.
type Rotator struct {
	cfg RotatorConfig

	mu     sync.Mutex
	w      *Writer
	f      *os.File
	bytes  int64
	opened time.Time
	seq    int
	files  []string
	closed bool
}

// NewRotator creates the directory if needed; the first file is created on
// the first record.
func NewRotator(cfg RotatorConfig) (*Rotator, error) {
	if cfg.Dir == "" {
		return nil, errors.New("capture: rotator needs a directory")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "capture"
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultRotateBytes
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultRotateAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	return &Rotator{cfg: cfg}, nil
}

// Open records a websocket connection opened to conn.
func (r *Rotator) Open(ts time.Time, conn string) error {
	return r.write(int64(len(conn)), func(w *Writer) error { return w.Open(ts, conn) })
}

// Send records a frame sent on conn.
func (r *Rotator) Send(ts time.Time, conn string, data []byte) error {
	return r.write(int64(len(conn)+len(data)), func(w *Writer) error { return w.Send(ts, conn, data) })
}

// Recv records a frame received on conn.
func (r *Rotator) Recv(ts time.Time, conn string, data []byte) error {
	return r.write(int64(len(conn)+len(data)), func(w *Writer) error { return w.Recv(ts, conn, data) })
}

// HTTP records a REST response body fetched from url.
func (r *Rotator) HTTP(ts time.Time, url string, data []byte) error {
	return r.write(int64(len(url)+len(data)), func(w *Writer) error { return w.HTTP(ts, url, data) })
}

// write rotates if the current file is full or old, then writes one record.
func (r *Rotator) write(n int64, rec func(*Writer) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	now := r.cfg.Now()
	if r.w != nil && (r.bytes >= r.cfg.MaxBytes || now.Sub(r.opened) >= r.cfg.MaxAge) {
		if err := r.closeFile(); err != nil {
			return err
		}
	}
	if r.w == nil {
		if err := r.openFile(now); err != nil {
			return err
		}
	}
	r.bytes += n + 48 // the record's framing, roughly
	return rec(r.w)
}

func (r *Rotator) openFile(now time.Time) error {
	r.seq++
	ext := ".jsonl"
	if r.cfg.Compress {
		ext = ".jsonl.zst"
	}
	name := filepath.Join(r.cfg.Dir, fmt.Sprintf("%s-%s-%d%s", r.cfg.Prefix, now.UTC().Format("20060102T150405Z"), r.seq, ext))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	w, err := NewWriter(f, r.cfg.Compress)
	if err != nil {
		f.Close()
		return err
	}
	r.w, r.f, r.bytes, r.opened = w, f, 0, now
	r.files = append(r.files, name)
	return nil
}

func (r *Rotator) closeFile() error {
	err := r.w.Close()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	r.w, r.f = nil, nil
	return err
}

// Flush makes everything written so far durable in the current file (for
// zstd, a complete frame): call it periodically, e.g. once a second.
func (r *Rotator) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w == nil {
		return nil
	}
	return r.w.Flush()
}

// Close closes the current file. Later writes return ErrClosed.
func (r *Rotator) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.w == nil {
		return nil
	}
	return r.closeFile()
}

// Files returns the paths of the files written so far, oldest first.
func (r *Rotator) Files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.files...)
}
