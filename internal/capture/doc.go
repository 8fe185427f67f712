// Package capture reads and writes market-data capture files: the
// line-oriented record of everything a feed connection saw, used to replay
// exchange traffic in tests and benchmarks.
//
// # Format
//
// A capture is UTF-8 text with one JSON object per line, in time order,
// optionally compressed with zstd (one or more concatenated frames). The
// field "t" says what the line is:
//
//	t       fields            meaning
//	"open"  ts, conn          websocket connection opened to conn
//	"send"  ts, conn, data    frame sent by the recorder (subscribe requests)
//	"recv"  ts, conn, data    frame received
//	"http"  ts, url, data     REST response body (e.g. a depth snapshot)
//
// ts is the local receipt time in Unix seconds (a JSON number, usually
// fractional). data is a JSON string holding the exact text that crossed the
// wire; readers get it unescaped. Other fields are allowed and ignored (some
// recorders add "conn" to "http" lines, which is kept in Record.Conn).
//
// Test-vector files share the extension but hold lines of a different shape:
// objects without "t" that carry a "messages" array (plus "id", "source",
// "depth", ...). They are returned as KindVector with the whole line in
// Record.Data; their schema belongs to the consumer, not to this package.
//
// # What this package owns
//
// Framing only: lines, zstd, the envelope fields above, and the error policy
// for damaged files. It does not look inside data; exchange payloads are
// parsed by the feed packages.
//
// # Damaged input
//
// A malformed line (invalid JSON, missing or mistyped field, unknown "t") does
// not stop a Reader: Next returns it as a KindUnknown record whose Err wraps
// ErrMalformed and names the line number, and reading continues. A line longer
// than 256 MiB is reported the same way with ErrLineTooLong. A file cut short
// by a crash, plain or zstd, yields every record that is complete before the
// cut and then io.EOF or an error wrapping ErrTruncated; what lies past the cut
// is lost, what lies before it is not. Empty and blank lines are skipped but
// counted in Record.Line.
//
// # Durability
//
// Writer.Flush hands every record written so far to the underlying writer.
// With compression on, each Flush also ends the current zstd frame, so a file
// whose writer died after a successful Flush consists of complete frames up
// to that point, plus perhaps the start of one more; a Reader returns every
// flushed record. Flush does not fsync; that is the owner of the file's job.
//
// # Text and bytes
//
// JSON strings hold Unicode text, so data must be valid UTF-8 to round-trip.
// Writer replaces each byte of an invalid UTF-8 sequence with U+FFFD (as
// encoding/json does), and Reader does the same for such bytes in a file.
// Websocket text frames and JSON REST bodies are UTF-8 by definition;
// binary payloads (for example compressed frames) are not representable in
// this format without loss.
//
// # Goroutines
//
// A Reader or a Writer belongs to one goroutine at a time; neither is safe
// for concurrent use. Neither starts goroutines of its own (zstd runs
// synchronously), so dropping an unclosed one leaks nothing but the file
// that Open or Create opened.
//
// # Allocation
//
// Reader.Next does not allocate in the steady state for ordinary lines: the
// line, and data after unescaping, live in buffers that the Reader reuses, and
// Record.Data and Record.Raw point into them. They are valid only until the
// next call to Next; use Record.Clone to keep a record. Conn and URL are
// strings interned per Reader, so a repeated connection name costs nothing.
// Lines outside the common shape (unknown or repeated fields, test vectors,
// malformed lines) take a slower path through encoding/json that allocates.
// Writer reuses one line buffer and does not allocate per record once it has
// grown.
package capture
