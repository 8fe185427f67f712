package capture

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"

	"arbmm/internal/jscan"
)

// Writer writes a capture, plain or zstd-compressed. Records are buffered;
// see Flush for what reaches the underlying writer when. It is not safe for
// concurrent use.
type Writer struct {
	dst     io.Writer
	bw      *bufio.Writer // plain
	zw      *zstd.Encoder // compressed
	closer  io.Closer
	buf     []byte
	pending bool // records written since the last Flush
	err     error
}

// NewWriter returns a Writer that writes lines to w, through a zstd
// encoder if compress is set. Close flushes but does not close w.
func NewWriter(w io.Writer, compress bool) (*Writer, error) {
	cw := &Writer{dst: w}
	if !compress {
		cw.bw = bufio.NewWriterSize(w, 64<<10)
		return cw, nil
	}
	zw, err := zstd.NewWriter(w,
		zstd.WithEncoderConcurrency(1), // synchronous: no goroutines
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithZeroFrames(false),
	)
	if err != nil {
		return nil, fmt.Errorf("capture: zstd: %w", err)
	}
	cw.zw = zw
	return cw, nil
}

// Create creates (or truncates) the file at path and returns a Writer for
// it. Close closes the file.
func Create(path string, compress bool) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	w, err := NewWriter(f, compress)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.closer = f
	return w, nil
}

// Open records that a websocket connection to conn was opened at ts.
func (w *Writer) Open(ts time.Time, conn string) error {
	b := appendHead(w.buf[:0], KindOpen)
	b = appendMicros(b, ts)
	b = appendField(b, "conn", conn)
	return w.emit(b)
}

// Send records a frame the recorder sent on conn at ts.
func (w *Writer) Send(ts time.Time, conn string, data []byte) error {
	return w.frame(KindSend, ts, conn, data)
}

// Recv records a frame received on conn at ts.
func (w *Writer) Recv(ts time.Time, conn string, data []byte) error {
	return w.frame(KindRecv, ts, conn, data)
}

func (w *Writer) frame(k Kind, ts time.Time, conn string, data []byte) error {
	b := appendHead(w.buf[:0], k)
	b = appendMicros(b, ts)
	b = appendField(b, "conn", conn)
	b = appendField(b, "data", data)
	return w.emit(b)
}

// HTTP records the body of a REST response from url received at ts.
func (w *Writer) HTTP(ts time.Time, url string, data []byte) error {
	b := appendHead(w.buf[:0], KindHTTP)
	b = appendMicros(b, ts)
	b = appendField(b, "url", url)
	b = appendField(b, "data", data)
	return w.emit(b)
}

// WriteRecord writes rec as read from another capture, keeping TS exactly
// (shortest representation) rather than truncating it to microseconds.
// Conn is written for open/send/recv and, if non-empty, for http; URL for
// http and, if non-empty, for the others; Data for send/recv/http and, if
// non-empty, for open. A KindVector record's Data (the whole line) is
// written verbatim. KindUnknown records are rejected.
func (w *Writer) WriteRecord(rec Record) error {
	if w.err != nil {
		return w.err
	}
	switch rec.Kind {
	case KindOpen, KindSend, KindRecv, KindHTTP:
	case KindVector:
		if !validVectorLine(rec.Data) {
			return errors.New("capture: vector record data is not a single-line JSON object")
		}
		return w.emitRaw(append(append(w.buf[:0], rec.Data...), '\n'))
	default:
		return fmt.Errorf("capture: cannot write a record of kind %s", rec.Kind)
	}
	if math.IsNaN(rec.TS) || math.IsInf(rec.TS, 0) {
		return fmt.Errorf("capture: record ts %v is not a finite number", rec.TS)
	}
	b := appendHead(w.buf[:0], rec.Kind)
	b = strconv.AppendFloat(b, rec.TS, 'f', -1, 64)
	if rec.Kind != KindHTTP || rec.Conn != "" {
		b = appendField(b, "conn", rec.Conn)
	}
	if rec.Kind == KindHTTP || rec.URL != "" {
		b = appendField(b, "url", rec.URL)
	}
	if rec.Kind != KindOpen || len(rec.Data) > 0 {
		b = appendField(b, "data", rec.Data)
	}
	return w.emit(b)
}

func validVectorLine(b []byte) bool {
	for _, c := range b {
		if c == '\n' || c == '\r' {
			return false
		}
	}
	var s jscan.Scanner
	s.Reset(b)
	return s.Peek() == '{' && json.Valid(b)
}

// Flush writes all buffered records to the underlying writer. With
// compression it ends the current zstd frame (the next record starts a new
// one), so that everything written before a successful Flush is readable
// even if nothing more is ever written: a Reader returns all of it, then
// io.EOF or ErrTruncated. Flush does not sync the file.
//
// Call Flush at durability points (say once a second), not per record:
// each compressed frame starts with an empty window, so frequent flushes
// cost compression ratio. A Flush with nothing new to write does nothing.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.zw == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = fmt.Errorf("capture: write: %w", err)
		}
		return w.err
	}
	if !w.pending {
		return nil
	}
	if err := w.zw.Close(); err != nil {
		w.err = fmt.Errorf("capture: zstd: %w", err)
		return w.err
	}
	w.zw.Reset(w.dst)
	w.pending = false
	return nil
}

// Close flushes, then closes the file if the Writer came from Create. It
// does not close a writer passed to NewWriter. Further calls return
// ErrClosed; Close itself is idempotent.
func (w *Writer) Close() error {
	if w.err == ErrClosed {
		return nil
	}
	err := w.Flush()
	w.err = ErrClosed
	w.zw, w.bw, w.buf = nil, nil, nil
	if w.closer != nil {
		if cerr := w.closer.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("capture: close: %w", cerr)
		}
		w.closer = nil
	}
	return err
}

// emit finishes the object and writes the line.
func (w *Writer) emit(b []byte) error {
	return w.emitRaw(append(b, '}', '\n'))
}

func (w *Writer) emitRaw(b []byte) error {
	w.buf = b
	if w.err != nil {
		return w.err
	}
	var err error
	if w.zw != nil {
		_, err = w.zw.Write(b)
	} else {
		_, err = w.bw.Write(b)
	}
	if err != nil {
		w.err = fmt.Errorf("capture: write: %w", err)
		return w.err
	}
	w.pending = true
	return nil
}

func appendHead(b []byte, k Kind) []byte {
	b = append(b, `{"t":"`...)
	b = append(b, k.String()...)
	return append(b, `","ts":`...)
}

// appendMicros appends t as Unix seconds with exactly six decimals
// (truncated to the microsecond).
func appendMicros(b []byte, t time.Time) []byte {
	us := t.UnixMicro()
	u := uint64(us)
	if us < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/1e6, 10)
	frac := u % 1e6
	b = append(b, '.',
		byte('0'+frac/1e5%10), byte('0'+frac/1e4%10), byte('0'+frac/1e3%10),
		byte('0'+frac/1e2%10), byte('0'+frac/1e1%10), byte('0'+frac%10))
	return b
}

func appendField[T string | []byte](b []byte, name string, v T) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

// strSafe marks ASCII bytes that need no escaping in a JSON string.
var strSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	t['"'] = false
	t['\\'] = false
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Control characters, '"' and
// '\\' are escaped; other valid UTF-8 is copied as is; each byte of an
// invalid sequence becomes \ufffd.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if strSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
