package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"

	"arbmm/internal/jscan"
)

const (
	readBufSize    = 256 << 10
	defaultMaxLine = 256 << 20
	// maxZstdWindow rejects frames that would need a larger history than
	// any capture writer uses (Writer uses 8 MiB; zstd -19 uses 8 MiB,
	// --long 128 MiB).
	maxZstdWindow = 128 << 20
)

var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// Reader reads records from a capture, plain or zstd-compressed. It is not
// safe for concurrent use.
type Reader struct {
	br     *bufio.Reader
	zr     *zstd.Decoder
	closer io.Closer

	long    []byte // a line that did not fit in br's buffer
	js      jscan.Scanner
	dataBuf []byte // unescaped data
	connBuf []byte
	urlBuf  []byte
	tBuf    []byte
	strs    map[string]string
	last    string

	slow    int // lines decoded by parseSlow (for tests)
	line    int
	maxLine int
	tooLong bool // the line just read exceeded maxLine
	err     error
}

// NewReader returns a Reader for the capture in src, decompressing it if it
// starts with the zstd magic number (28 B5 2F FD). The caller keeps
// ownership of src; Close releases only the Reader's own resources.
func NewReader(src io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(src, readBufSize)
	r := &Reader{maxLine: defaultMaxLine}
	magic, err := br.Peek(len(zstdMagic))
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("capture: read: %w", err)
	}
	if !bytes.Equal(magic, zstdMagic) {
		r.br = br
		return r, nil
	}
	zr, err := zstd.NewReader(br,
		zstd.WithDecoderConcurrency(1), // synchronous: no goroutines
		zstd.WithDecoderMaxWindow(maxZstdWindow),
	)
	if err != nil {
		return nil, fmt.Errorf("capture: zstd: %w", err)
	}
	r.zr = zr
	r.br = bufio.NewReaderSize(zr, readBufSize)
	return r, nil
}

// Open opens the capture file at path (plain or zstd, detected from its
// content). Close closes the file.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// Close releases the decompressor and closes the file opened by Open.
// Further calls to Next return ErrClosed. Close is idempotent.
func (r *Reader) Close() error {
	if r.err == ErrClosed {
		return nil
	}
	r.err = ErrClosed
	if r.zr != nil {
		r.zr.Close()
		r.zr = nil
	}
	r.br = nil
	r.long, r.dataBuf, r.connBuf, r.urlBuf, r.tBuf = nil, nil, nil, nil, nil
	r.js = jscan.Scanner{}
	if r.closer != nil {
		c := r.closer
		r.closer = nil
		if err := c.Close(); err != nil {
			return fmt.Errorf("capture: close: %w", err)
		}
	}
	return nil
}

// Next returns the next record. At the end of the input it returns io.EOF.
//
// A line that cannot be decoded is returned as a record of KindUnknown with
// Err set, and a nil error: the caller counts it and calls Next again. The
// error result is reserved for the end of the stream: io.EOF, an error
// wrapping ErrTruncated if the input stops mid-line or mid-frame, or a read
// or decompression error. It is sticky: later calls return it again.
//
// The returned record's Data and Raw are valid until the next call to Next.
func (r *Reader) Next() (Record, error) {
	for r.err == nil {
		line, rerr := r.readLine()
		if rerr == nil {
			r.line++
			if r.tooLong {
				return r.tooLongRecord(), nil
			}
			line = trimCR(line)
			if isBlank(line) {
				continue
			}
			return r.parse(line), nil
		}
		// End of input or read failure, with perhaps an unterminated line.
		line = trimCR(line)
		if !r.tooLong && isBlank(line) {
			r.err = r.endErr(rerr, false)
			break
		}
		r.line++
		if !r.tooLong && json.Valid(line) {
			// The line is complete even though its newline is missing.
			r.err = r.endErr(rerr, false)
			return r.parse(line), nil
		}
		r.err = r.endErr(rerr, true)
	}
	return Record{}, r.err
}

// readLine returns the next line without its '\n'. err is nil if the line
// ended with '\n'; otherwise the line (possibly empty) is what was left
// when the input ended or failed with err. A line longer than maxLine is
// consumed to its end, returned empty and flagged in r.tooLong.
func (r *Reader) readLine() ([]byte, error) {
	r.tooLong = false
	r.long = r.long[:0]
	n := 0
	for {
		frag, err := r.br.ReadSlice('\n')
		n += len(frag)
		if err == nil {
			n-- // the '\n'
		}
		if n > r.maxLine && !r.tooLong {
			r.tooLong = true
			r.long = r.long[:0]
		}
		switch {
		case err == bufio.ErrBufferFull:
			if !r.tooLong {
				r.long = append(r.long, frag...)
			}
			continue
		case r.tooLong:
			return nil, err
		case err == nil && len(r.long) == 0:
			return frag[:len(frag)-1], nil
		case err == nil:
			r.long = append(r.long, frag...)
			return r.long[:len(r.long)-1], nil
		case len(r.long) == 0:
			return frag, err
		default:
			r.long = append(r.long, frag...)
			return r.long, err
		}
	}
}

func (r *Reader) tooLongRecord() Record {
	return Record{
		Kind: KindUnknown,
		Line: r.line,
		Err:  fmt.Errorf("%w: line %d exceeds %d bytes; skipped", ErrLineTooLong, r.line, r.maxLine),
	}
}

// endErr classifies the error that ended the input. partial says an
// incomplete line (r.line) was pending and is being dropped.
func (r *Reader) endErr(err error, partial bool) error {
	switch {
	case err == io.EOF && !partial:
		return io.EOF
	case err == io.EOF:
		return fmt.Errorf("%w: line %d is incomplete (input ends without a newline)", ErrTruncated, r.line)
	case errors.Is(err, io.ErrUnexpectedEOF) && partial:
		return fmt.Errorf("%w: input ends mid-stream; line %d is incomplete (%v)", ErrTruncated, r.line, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: input ends mid-stream after line %d (%v)", ErrTruncated, r.line, err)
	case r.zr != nil:
		return fmt.Errorf("capture: zstd: after line %d: %w", r.line, err)
	default:
		return fmt.Errorf("capture: read: after line %d: %w", r.line, err)
	}
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// isBlank reports whether b holds nothing but JSON white space.
func isBlank(b []byte) bool {
	return len(bytes.TrimLeft(b, " \t\r\n")) == 0
}
