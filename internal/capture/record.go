package capture

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// Kind is the type of a capture line, from its "t" field.
type Kind uint8

const (
	// KindUnknown marks a line that could not be decoded; Record.Err says why.
	KindUnknown Kind = iota
	// KindOpen is a websocket connection opened to Record.Conn ("t":"open").
	KindOpen
	// KindSend is a frame sent by the recorder on Record.Conn ("t":"send").
	KindSend
	// KindRecv is a frame received on Record.Conn ("t":"recv").
	KindRecv
	// KindHTTP is a REST response body fetched from Record.URL ("t":"http").
	KindHTTP
	// KindVector is a test-vector line: an object without "t" that has a
	// "messages" array. Record.Data holds the whole line.
	KindVector
)

var kindNames = [...]string{
	KindUnknown: "unknown",
	KindOpen:    "open",
	KindSend:    "send",
	KindRecv:    "recv",
	KindHTTP:    "http",
	KindVector:  "vector",
}

// String returns the kind's name: the "t" value for the four line kinds,
// "vector", "unknown", or "Kind(N)" for values outside the enumeration.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

var (
	// ErrMalformed is wrapped by Record.Err for a line that is not a valid
	// capture record: invalid JSON, a missing or mistyped field, or an
	// unknown "t".
	ErrMalformed = errors.New("capture: malformed line")
	// ErrLineTooLong is wrapped by Record.Err for a line longer than the
	// Reader's limit (256 MiB); the line is skipped.
	ErrLineTooLong = errors.New("capture: line too long")
	// ErrTruncated is wrapped by the error Next returns when the input ends
	// in the middle of a line or of a zstd frame, typically because the
	// recorder died. Every complete record before the cut has been returned.
	ErrTruncated = errors.New("capture: truncated input")
	// ErrClosed is returned by a Reader or Writer used after Close.
	ErrClosed = errors.New("capture: use of closed reader or writer")
)

// Record is one line of a capture.
//
// Data and Raw are borrowed from the Reader's buffers: they are valid only
// until the next call to Reader.Next (or Close) and must not be modified.
// Call Clone to keep a record longer.
type Record struct {
	// Kind is the line's type; KindUnknown when Err is set.
	Kind Kind
	// TS is the local receipt time in Unix seconds, as written in the file.
	TS float64
	// Conn is the connection (websocket URL or recorder label); set for
	// open/send/recv, and for http when the file has it.
	Conn string
	// URL is the request URL of a KindHTTP record.
	URL string
	// Data is the unescaped "data" string: the bytes that crossed the wire.
	// For KindVector it is the whole line (raw JSON).
	Data []byte
	// Line is the 1-based line number in the (decompressed) file.
	Line int
	// Raw is the line as read, without the line terminator ("\n" or
	// "\r\n"); nil for a line over the length limit.
	Raw []byte
	// Err is non-nil for a KindUnknown record; it wraps ErrMalformed or
	// ErrLineTooLong and names the line number.
	Err error
}

// Clone returns a copy of rec whose Data and Raw are owned by the copy and
// stay valid after the Reader moves on.
func (rec Record) Clone() Record {
	n := len(rec.Raw) + len(rec.Data)
	if n == 0 {
		return rec
	}
	buf := make([]byte, 0, n)
	if rec.Raw != nil {
		buf = append(buf, rec.Raw...)
		rec.Raw = buf[:len(rec.Raw):len(rec.Raw)]
	}
	if rec.Data != nil {
		off := len(buf)
		buf = append(buf, rec.Data...)
		rec.Data = buf[off:len(buf):len(buf)]
	}
	return rec
}

// Time returns TS as a time.Time (in the local zone, like time.Unix), rounded
// to the microsecond, the precision Writer records.
func (rec Record) Time() time.Time {
	return time.UnixMicro(int64(math.Round(rec.TS * 1e6)))
}
