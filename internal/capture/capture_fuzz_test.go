package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// fuzzMaxLine keeps decompression bombs from building huge lines.
const fuzzMaxLine = 1 << 16

// FuzzReader feeds arbitrary bytes to a Reader, as given (plain, or zstd
// when they start with the magic), behind a zstd magic number (a garbage
// frame), and compressed (whole and cut in half). It must never panic, and
// what it returns must be self-consistent; a plain input and its compressed
// form must read the same; and the allocation-free line decoder must agree
// with the encoding/json one whenever it accepts a line.
func FuzzReader(f *testing.F) {
	f.Add([]byte(`{"t":"recv","ts":1.5,"conn":"c","data":"x"}` + "\n"))
	f.Add([]byte("\x28\xb5\x2f\xfd\x00\x00"))
	// Escaped keys, lone surrogates, invalid UTF-8: fast path since jscan.
	f.Add([]byte(`{"\u0074":"recv","ts":2,"co\u006en":"c\ud800","data":"\udc00x` + "\xff\xed\xa0\x80" + `"}` + "\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		plain, plainErr := fuzzRead(t, in)
		if !bytes.HasPrefix(in, zstdMagic) && plainErr != io.EOF && !errors.Is(plainErr, ErrTruncated) {
			t.Fatalf("plain input ended with %v, want io.EOF or ErrTruncated", plainErr)
		}
		fuzzRead(t, append(append([]byte(nil), zstdMagic...), in...))

		z, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		comp := z.EncodeAll(in, nil)
		if !bytes.HasPrefix(in, zstdMagic) {
			got, err := fuzzRead(t, comp)
			if err.Error() != plainErr.Error() {
				t.Fatalf("compressed input ended with %v, plain with %v", err, plainErr)
			}
			if len(got) != len(plain) {
				t.Fatalf("compressed input gave %d records, plain %d", len(got), len(plain))
			}
			for i := range got {
				a, b := plain[i], got[i]
				if a.Kind != b.Kind || a.Line != b.Line || a.Conn != b.Conn || a.URL != b.URL ||
					math.Float64bits(a.TS) != math.Float64bits(b.TS) || !bytes.Equal(a.Data, b.Data) ||
					!bytes.Equal(a.Raw, b.Raw) || (a.Err == nil) != (b.Err == nil) {
					t.Fatalf("record %d differs: plain %+v, compressed %+v", i, a, b)
				}
			}
		}
		_, err = fuzzRead(t, comp[:len(comp)/2])
		if err != io.EOF && !errors.Is(err, ErrTruncated) {
			t.Fatalf("half a zstd frame ended with %v", err)
		}

		for i, line := range bytes.Split(in, []byte("\n")) {
			line = trimCR(line)
			if !isBlank(line) {
				checkFastSlow(t, fmt.Sprintf("line %d", i+1), line)
			}
		}
	})
}

// fuzzRead reads in to the end, checking record invariants, and returns
// cloned records and the final error.
func fuzzRead(t *testing.T, in []byte) ([]Record, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(in))
	if err != nil {
		t.Fatalf("NewReader on a bytes.Reader: %v", err)
	}
	r.maxLine = fuzzMaxLine
	defer r.Close()
	var recs []Record
	last := 0
	for {
		rec, err := r.Next()
		if err != nil {
			if err2 := func() error { _, e := r.Next(); return e }(); err2 != err {
				t.Fatalf("error not sticky: %v then %v", err, err2)
			}
			return recs, err
		}
		if rec.Line <= last {
			t.Fatalf("line %d after line %d", rec.Line, last)
		}
		last = rec.Line
		if (rec.Kind == KindUnknown) != (rec.Err != nil) {
			t.Fatalf("line %d: kind %s with err %v", rec.Line, rec.Kind, rec.Err)
		}
		if bytes.IndexByte(rec.Raw, '\n') >= 0 || len(rec.Raw) > fuzzMaxLine {
			t.Fatalf("line %d: bad Raw %q", rec.Line, rec.Raw)
		}
		if rec.Kind == KindVector && !bytes.Equal(rec.Data, rec.Raw) {
			t.Fatalf("line %d: vector Data is not the line", rec.Line)
		}
		if rec.Err == nil {
			rec.Time() // must not panic
		}
		recs = append(recs, rec.Clone())
	}
}

// FuzzWriterRoundTrip writes arbitrary data and strings and reads them back:
// valid UTF-8 comes back unchanged, each invalid byte as U+FFFD.
func FuzzWriterRoundTrip(f *testing.F) {
	f.Add("wss://x", []byte(`{"a":"b"}`), int64(1633998512063356), true)
	f.Add("c\"\\\n", []byte("\x00\xff\xed\xa0\x80\u2028"), int64(-1), false)
	f.Fuzz(func(t *testing.T, conn string, data []byte, us int64, compress bool) {
		us %= 1 << 52 // keep microseconds exact in a float64
		var buf bytes.Buffer
		w, err := NewWriter(&buf, compress)
		if err != nil {
			t.Fatal(err)
		}
		ts := time.UnixMicro(us)
		if err := w.Recv(ts, conn, data); err != nil {
			t.Fatal(err)
		}
		if err := w.HTTP(ts, conn, data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r := mustReader(t, buf.Bytes())
		wantStr := string([]rune(conn)) // each invalid byte -> U+FFFD
		wantData := []byte(string([]rune(string(data))))
		for _, k := range []Kind{KindRecv, KindHTTP} {
			rec, err := r.Next()
			if err != nil || rec.Err != nil {
				t.Fatalf("%s: %v %v", k, err, rec.Err)
			}
			got := rec.Conn
			if k == KindHTTP {
				got = rec.URL
			}
			if rec.Kind != k || got != wantStr || !bytes.Equal(rec.Data, wantData) ||
				rec.TS != float64(us)/1e6 || !rec.Time().Equal(ts) {
				t.Fatalf("%s: got %+v (%v), want conn %q data %q ts %v", k, rec, rec.Time(), wantStr, wantData, ts)
			}
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("end: %v", err)
		}
	})
}
