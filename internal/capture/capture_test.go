package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// fixtureDir holds real captures; it exists in every checkout with shared/.
const fixtureDir = "../../../shared/fixtures/captures"

// want is a record as decoded by the independent reference pass.
type want struct {
	line int
	kind Kind
	ts   float64
	conn string
	url  string
	data []byte
}

// referenceDecode reads a plain capture with bufio and encoding/json only,
// without any code from this package, and returns what each line holds.
func referenceDecode(t *testing.T, raw []byte) []want {
	t.Helper()
	var out []want
	br := bufio.NewReader(bytes.NewReader(raw))
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			t.Fatalf("reference read: %v", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]any
		w := want{line: n, kind: KindUnknown}
		if json.Unmarshal(line, &m) == nil && m != nil {
			s := func(k string) string { v, _ := m[k].(string); return v }
			switch tv, hasT := m["t"]; {
			case !hasT:
				if _, ok := m["messages"].([]any); ok {
					w.kind, w.data = KindVector, line
				}
			case tv == "open":
				w.kind = KindOpen
			case tv == "send":
				w.kind = KindSend
			case tv == "recv":
				w.kind = KindRecv
			case tv == "http":
				w.kind = KindHTTP
			}
			if w.kind != KindVector && w.kind != KindUnknown {
				w.ts, _ = m["ts"].(float64)
				w.conn, w.url = s("conn"), s("url")
				if d, ok := m["data"].(string); ok {
					w.data = []byte(d)
				}
			}
		}
		out = append(out, w)
		if err == io.EOF {
			break
		}
	}
	return out
}

func countKinds[T any](xs []T, kind func(T) Kind) map[Kind]int {
	c := map[Kind]int{}
	for _, x := range xs {
		c[kind(x)]++
	}
	return c
}

// readAll reads r to the end, cloning every record, and returns the final
// error (io.EOF on a clean end).
func readAll(t testing.TB, r *Reader) ([]Record, error) {
	t.Helper()
	var recs []Record
	for {
		rec, err := r.Next()
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec.Clone())
	}
}

func mustReader(t testing.TB, b []byte) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func zstdBytes(t testing.TB, plain []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sameRecord(t *testing.T, i int, got Record, w want) {
	t.Helper()
	if got.Line != w.line || got.Kind != w.kind || got.Conn != w.conn || got.URL != w.url ||
		math.Float64bits(got.TS) != math.Float64bits(w.ts) || !bytes.Equal(got.Data, w.data) {
		t.Fatalf("record %d: got {line %d %s ts %v conn %q url %q data %.80q err %v}, want {line %d %s ts %v conn %q url %q data %.80q}",
			i, got.Line, got.Kind, got.TS, got.Conn, got.URL, got.Data, got.Err,
			w.line, w.kind, w.ts, w.conn, w.url, w.data)
	}
}

func TestFixtures(t *testing.T) {
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		t.Fatalf("fixture directory %s must exist: %v", fixtureDir, err)
	}
	var files []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".jsonl") {
			files = append(files, e.Name())
		}
	}
	if len(files) == 0 {
		t.Fatalf("no .jsonl fixtures in %s", fixtureDir)
	}
	kinds := map[Kind]int{}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(fixtureDir, name)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ref := referenceDecode(t, raw)
			refCounts := countKinds(ref, func(w want) Kind { return w.kind })
			if len(ref) == 0 {
				t.Fatal("reference pass found no records")
			}

			zpath := filepath.Join(t.TempDir(), name+".zst")
			if err := os.WriteFile(zpath, zstdBytes(t, raw), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, zpath} {
				r, err := Open(p)
				if err != nil {
					t.Fatal(err)
				}
				if (r.zr != nil) != (p == zpath) {
					t.Fatalf("%s: compression detected = %v", p, r.zr != nil)
				}
				var got []Record
				for {
					rec, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("%s: %v", p, err)
					}
					if rec.Err != nil {
						t.Errorf("%s: %v", p, rec.Err)
					}
					sameRecord(t, len(got), rec, ref[len(got)])
					got = append(got, Record{Kind: rec.Kind})
				}
				if c := countKinds(got, func(r Record) Kind { return r.Kind }); fmt.Sprint(c) != fmt.Sprint(refCounts) {
					t.Errorf("%s: kinds %v, reference %v", p, c, refCounts)
				}
				// Every envelope line in the fixtures has the common shape.
				if r.slow != refCounts[KindVector] {
					t.Errorf("%s: %d lines took the slow path, want %d (the vectors)", p, r.slow, refCounts[KindVector])
				}
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
			}
			for k, n := range refCounts {
				kinds[k] += n
			}
			t.Logf("%v", refCounts)
		})
	}
	// The fixtures exercise every kind this package knows.
	for _, k := range []Kind{KindOpen, KindSend, KindRecv, KindHTTP, KindVector} {
		if kinds[k] == 0 {
			t.Errorf("no %s records in any fixture", k)
		}
	}
}

// TestFixtureLinesFastSlowAgree checks the allocation-free decoder against
// the encoding/json one on every real line.
func TestFixtureLinesFastSlowAgree(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(raw, []byte("\n")) {
			if len(line) > 0 {
				checkFastSlow(t, fmt.Sprintf("%s:%d", filepath.Base(p), i+1), line)
			}
		}
	}
}

// checkFastSlow requires that whatever parseFast accepts, parseSlow decodes
// identically.
func checkFastSlow(t *testing.T, where string, line []byte) {
	t.Helper()
	r := &Reader{}
	var fast fields
	if !r.parseFast(line, &fast) {
		return
	}
	cp := func(b []byte) []byte { return append([]byte(nil), b...) }
	fast.t, fast.conn, fast.url, fast.data = cp(fast.t), cp(fast.conn), cp(fast.url), cp(fast.data)
	var slow fields
	if err := r.parseSlow(line, &slow); err != nil {
		t.Fatalf("%s: fast path accepted %q, slow path: %v", where, line, err)
	}
	if fast.hasT != slow.hasT || fast.hasTS != slow.hasTS || fast.hasConn != slow.hasConn ||
		fast.hasURL != slow.hasURL || fast.hasData != slow.hasData || fast.messages != slow.messages ||
		math.Float64bits(fast.ts) != math.Float64bits(slow.ts) ||
		!bytes.Equal(fast.t, slow.t) || !bytes.Equal(fast.conn, slow.conn) ||
		!bytes.Equal(fast.url, slow.url) || !bytes.Equal(fast.data, slow.data) {
		t.Fatalf("%s: %q\nfast %+v\nslow %+v", where, line, fast, slow)
	}
}

// TestFastPathShape pins which valid lines parseFast takes (all of them
// decoded as parseSlow does) and which it leaves to parseSlow.
func TestFastPathShape(t *testing.T) {
	for _, tc := range []struct {
		line string
		fast bool
	}{
		{`{"t":"recv","ts":1,"conn":"c","data":"x"}`, true},
		{` { "t" : "recv" , "ts" : -0.5e1 , "conn" : "c" , "data" : "\u00e9\ud83d\ude80\/" } `, true},
		{`{"\u0074":"r\u0065cv","ts":1,"co\u006en":"c","data":"x"}`, true},                     // escaped keys and t
		{`{"t":"recv","ts":1,"conn":"c","data":"\ud800x\udc00\ud800\u0041"}`, true},            // lone surrogates
		{"{\"t\":\"recv\",\"ts\":1,\"conn\":\"c\xff\",\"data\":\"a\xffb\xed\xa0\x80\"}", true}, // invalid UTF-8
		{`{"t":"recv","ts":1,"conn":"c","data":""}`, true},
		{`{"t":"bogus","ts":1}`, true}, // malformed, but the same either way
		{`{}`, true},
		{`{"t":"recv","ts":1,"conn":"c","data":"x","data":"y"}`, false},
		{`{"t":"recv","ts":1,"conn":"c","data":"x","\u0064ata":"y"}`, false},
		{`{"t":"recv","ts":1,"conn":"c","data":"x","extra":1}`, false},
		{`{"id":"v","messages":[]}`, false},
		{`{"t":"recv","ts":"1","conn":"c","data":"x"}`, false},
		{`{"t":"recv","ts":1e400,"conn":"c","data":"x"}`, false},
		{`{"t":null,"ts":1}`, false},
		{`{"t":"recv","ts":1,"conn":"c","data":"x"} x`, false},
		{`[]`, false},
	} {
		r := &Reader{}
		var f fields
		if got := r.parseFast([]byte(tc.line), &f); got != tc.fast {
			t.Errorf("parseFast(%s) = %v, want %v", tc.line, got, tc.fast)
		}
		checkFastSlow(t, "", []byte(tc.line))
	}
	// Data that is present but empty is non-nil.
	rec, err := mustReader(t, []byte(`{"t":"recv","ts":1,"conn":"c","data":""}`+"\n")).Next()
	if err != nil || rec.Data == nil || len(rec.Data) != 0 {
		t.Fatalf("empty data: %+v, %v", rec, err)
	}
}

// trickyData is what round-trip tests write; valid UTF-8 unless noted.
var trickyData = [][]byte{
	[]byte(`{"e":"depthUpdate","b":[["0.1","2"]]}`),
	[]byte(`quote " backslash \ slash / \" \\ \u0041`),
	[]byte("newline \n cr \r tab \t nul \x00 bell \x07 unit-sep \x1f del \x7f"),
	[]byte("non-ASCII é ü 日本語 🚀 U+2028 \u2028 U+FFFD \ufffd"),
	[]byte(""),
	[]byte("\n"),
	[]byte(`"`),
	[]byte(`\`),
}

// invalidUTF8 maps data that is not valid UTF-8 to what reading it back
// yields: every offending byte becomes U+FFFD.
var invalidUTF8 = []struct{ in, out string }{
	{"a\xffb", "a\ufffdb"},
	{"\xe6\x97", "\ufffd\ufffd"},               // truncated 3-byte sequence
	{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"},     // UTF-8-encoded surrogate
	{"ok \xc0\xaf end", "ok \ufffd\ufffd end"}, // overlong '/'
	{"\x80", "\ufffd"},
}

type rtRecord struct {
	kind Kind
	ts   time.Time
	conn string
	url  string
	data []byte
	read []byte // expected Data when read back (nil: same as data)
}

// roundTripRecords returns records to write; with big, one of them is a
// line over 10 MB.
func roundTripRecords(big bool) []rtRecord {
	base := time.Date(2021, 10, 12, 0, 28, 32, 63356_900, time.UTC)
	var rs []rtRecord
	rs = append(rs, rtRecord{kind: KindOpen, ts: base, conn: "wss://stream.binance.com:9443/stream?streams=a@depth/b@depth"})
	for i, d := range trickyData {
		k := []Kind{KindSend, KindRecv, KindHTTP}[i%3]
		r := rtRecord{kind: k, ts: base.Add(time.Duration(i) * 1234567 * time.Nanosecond), data: d}
		if k == KindHTTP {
			r.url = `https://api.example.com/depth?symbol=BTC"USDT&limit=5000`
		} else {
			r.conn = "conn \"quoted\" é"
		}
		rs = append(rs, r)
	}
	for _, c := range invalidUTF8 {
		rs = append(rs, rtRecord{kind: KindRecv, ts: base, conn: "c", data: []byte(c.in), read: []byte(c.out)})
	}
	// Timestamps: epoch, before it, far future, sub-microsecond truncation.
	for _, ts := range []time.Time{
		time.Unix(0, 0), time.Unix(-1, 500_000_000), time.Unix(-86400*365, 1),
		time.Unix(4102444800, 999_999_999), time.Unix(1633998512, 999),
	} {
		rs = append(rs, rtRecord{kind: KindRecv, ts: ts, conn: "c", data: []byte("t")})
	}
	if big {
		// A line over 10 MB, full of characters that need escaping.
		data := bytes.Repeat([]byte(`{"p":"65086.18","q":"0.1"},`+"\n"), 12<<20/28)
		rs = append(rs, rtRecord{kind: KindHTTP, ts: base, url: "https://api.coinbase.com/big", data: data})
	}
	rs = append(rs, rtRecord{kind: KindRecv, ts: base, conn: "after-big", data: []byte("small")})
	return rs
}

func writeRoundTrip(t testing.TB, rs []rtRecord, compress bool, flushEvery int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, compress)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		switch r.kind {
		case KindOpen:
			err = w.Open(r.ts, r.conn)
		case KindSend:
			err = w.Send(r.ts, r.conn, r.data)
		case KindRecv:
			err = w.Recv(r.ts, r.conn, r.data)
		case KindHTTP:
			err = w.HTTP(r.ts, r.url, r.data)
		}
		if err != nil {
			t.Fatal(err)
		}
		if flushEvery > 0 && (i+1)%flushEvery == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, compress := range []bool{false, true} {
		for _, flushEvery := range []int{0, 1, 4} {
			t.Run(fmt.Sprintf("zstd=%v/flush=%d", compress, flushEvery), func(t *testing.T) {
				rs := roundTripRecords(flushEvery == 0)
				b := writeRoundTrip(t, rs, compress, flushEvery)
				if got := bytes.HasPrefix(b, zstdMagic); got != compress {
					t.Fatalf("zstd magic present = %v", got)
				}
				r := mustReader(t, b)
				for i, w := range rs {
					rec, err := r.Next()
					if err != nil {
						t.Fatalf("record %d: %v", i, err)
					}
					wantData := w.data
					if w.read != nil {
						wantData = w.read
					}
					us := w.ts.UnixMicro()
					if rec.Err != nil || rec.Kind != w.kind || rec.Conn != w.conn || rec.URL != w.url ||
						!bytes.Equal(rec.Data, wantData) || rec.Line != i+1 ||
						rec.TS != float64(us)/1e6 || !rec.Time().Equal(time.UnixMicro(us)) {
						t.Fatalf("record %d: got %s line %d ts %v (%v) conn %q url %q data %.60q err %v\nwant %s ts %v conn %q url %q data %.60q",
							i, rec.Kind, rec.Line, rec.TS, rec.Time(), rec.Conn, rec.URL, rec.Data, rec.Err,
							w.kind, w.ts, w.conn, w.url, wantData)
					}
				}
				if _, err := r.Next(); err != io.EOF {
					t.Fatalf("after last record: %v, want io.EOF", err)
				}
				if _, err := r.Next(); err != io.EOF {
					t.Fatalf("io.EOF is not sticky: %v", err)
				}
			})
		}
	}
}

// TestRoundTripIsJSON checks that written lines are plain JSON that
// encoding/json decodes to the same strings (so other tools can read them).
func TestRoundTripIsJSON(t *testing.T) {
	rs := roundTripRecords(false)
	b := writeRoundTrip(t, rs, false, 0)
	ref := referenceDecode(t, b)
	if len(ref) != len(rs) {
		t.Fatalf("reference pass found %d records, want %d", len(ref), len(rs))
	}
	for i, w := range ref {
		d := rs[i].data
		if rs[i].read != nil {
			d = rs[i].read
		}
		if w.kind != rs[i].kind || !bytes.Equal(w.data, d) {
			t.Errorf("line %d: encoding/json sees %s %.60q, want %s %.60q", i+1, w.kind, w.data, rs[i].kind, d)
		}
	}
}

func TestWriterFormat(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, false)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1633998512, 63356_999)
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(w.Open(ts, "wss://x"))
	check(w.Send(ts, "wss://x", []byte(`{"op":"subscribe"}`)))
	check(w.Recv(time.Unix(-2, 250_000_000), "wss://x", []byte("a\x01\"\\\n\té")))
	check(w.HTTP(time.Unix(5, 0), "https://x/y?a=1&b=2", []byte(`[]`)))
	check(w.Close())
	want := `{"t":"open","ts":1633998512.063356,"conn":"wss://x"}
{"t":"send","ts":1633998512.063356,"conn":"wss://x","data":"{\"op\":\"subscribe\"}"}
{"t":"recv","ts":-1.750000,"conn":"wss://x","data":"a\u0001\"\\\n\té"}
{"t":"http","ts":5.000000,"url":"https://x/y?a=1&b=2","data":"[]"}
`
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// TestWriteRecordFixtures re-encodes every fixture with WriteRecord and
// reads back the same records, TS bit for bit.
func TestWriteRecordFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	for i, p := range files {
		orig, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := readAll(t, orig)
		if err != io.EOF {
			t.Fatalf("%s: %v", p, err)
		}
		orig.Close()
		// Each file once, alternating plain and compressed output.
		for _, compress := range []bool{i%2 == 1} {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, compress)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				if err := w.WriteRecord(rec); err != nil {
					t.Fatalf("%s line %d: %v", p, rec.Line, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			back, err := readAll(t, mustReader(t, buf.Bytes()))
			if err != io.EOF {
				t.Fatalf("%s: %v", p, err)
			}
			if len(back) != len(recs) {
				t.Fatalf("%s: %d records back, want %d", p, len(back), len(recs))
			}
			for i, b := range back {
				a := recs[i]
				if a.Kind != b.Kind || math.Float64bits(a.TS) != math.Float64bits(b.TS) || a.Conn != b.Conn ||
					a.URL != b.URL || !bytes.Equal(a.Data, b.Data) {
					t.Fatalf("%s record %d (line %d): re-encoded differs", p, i, a.Line)
				}
			}
		}
	}
}

func TestWriteRecordRejects(t *testing.T) {
	w, err := NewWriter(io.Discard, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []Record{
		{Kind: KindUnknown},
		{Kind: Kind(99)},
		{Kind: KindRecv, TS: math.NaN()},
		{Kind: KindRecv, TS: math.Inf(1)},
		{Kind: KindVector, Data: []byte("{\"messages\":[]}\n{}")},
		{Kind: KindVector, Data: []byte(`[1]`)},
		{Kind: KindVector, Data: []byte(`{`)},
	} {
		if err := w.WriteRecord(rec); err == nil || !strings.HasPrefix(err.Error(), "capture: ") {
			t.Errorf("WriteRecord(%s %v %q) = %v, want a capture: error", rec.Kind, rec.TS, rec.Data, err)
		}
	}
	// A rejected record is not a write failure: the Writer stays usable.
	if err := w.Recv(time.Unix(1, 0), "c", nil); err != nil {
		t.Fatal(err)
	}
}

// flushedCapture writes n records, flushing every k (and closing the
// Writer at the end if close is set), and returns the bytes,
// the records as written, and for each flush the output length and the
// number of records flushed by then.
func flushedCapture(t testing.TB, n, k int, compress, close bool) ([]byte, []want, [][2]int) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, compress)
	if err != nil {
		t.Fatal(err)
	}
	var ws []want
	var flushes [][2]int
	for i := range n {
		ts := time.Unix(1_700_000_000+int64(i), int64(i)*1000)
		data := []byte(fmt.Sprintf(`{"seq":%d,"bids":[%s]}`, i, strings.Repeat(fmt.Sprintf(`["%d.%d","%d"],`, 100+i%7, i, i*i%1000), 1+i*37%90)))
		if err := w.Recv(ts, "wss://x", data); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, want{line: i + 1, kind: KindRecv, ts: float64(ts.UnixMicro()) / 1e6, conn: "wss://x", data: data})
		if (i+1)%k == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			flushes = append(flushes, [2]int{buf.Len(), i + 1})
		}
	}
	// Unless closed, records after the last Flush are still buffered: a
	// crash loses them.
	if close {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes(), ws, flushes
}

// checkCut reads b[:cut] and returns how many records it got, requiring
// that they match the start of ws and that reading ends with io.EOF or
// ErrTruncated.
func checkCut(t *testing.T, b []byte, cut int, ws []want) (int, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b[:cut]))
	if err != nil {
		t.Fatalf("cut %d: NewReader: %v", cut, err)
	}
	n := 0
	for {
		rec, err := r.Next()
		if err != nil {
			if err != io.EOF && !errors.Is(err, ErrTruncated) {
				t.Fatalf("cut %d after %d records: %v, want io.EOF or ErrTruncated", cut, n, err)
			}
			return n, err
		}
		if n >= len(ws) {
			t.Fatalf("cut %d: more records than written", cut)
		}
		sameRecord(t, n, rec, ws[n])
		n++
	}
}

func TestTruncatedZstd(t *testing.T) {
	b, ws, flushes := flushedCapture(t, 200, 25, true, false)
	if len(flushes) != 8 {
		t.Fatalf("%d flushes", len(flushes))
	}
	// Cut everywhere near a frame boundary, in the first bytes, and at a
	// spread of offsets in between.
	cuts := map[int]bool{}
	for _, f := range flushes {
		for d := -10; d <= 10; d++ {
			cuts[f[0]+d] = true
		}
	}
	for c := 0; c < 40; c++ {
		cuts[c] = true
	}
	for c := 0; c < len(b); c += 1 + len(b)/150 {
		cuts[c] = true
	}
	cuts[len(b)] = true
	for cut := range cuts {
		if cut < 0 || cut > len(b) {
			continue
		}
		n, err := checkCut(t, b, cut, ws)
		flushed, atBoundary := 0, cut == 0
		for _, f := range flushes {
			if f[0] <= cut {
				flushed = f[1]
			}
			atBoundary = atBoundary || f[0] == cut
		}
		if n < flushed {
			t.Errorf("cut %d: read %d records, but %d were flushed before the cut", cut, n, flushed)
		}
		if atBoundary && (n != flushed || err != io.EOF) {
			t.Errorf("cut %d at a frame boundary: %d records, %v; want %d, io.EOF", cut, n, err, flushed)
		}
		if !atBoundary && !errors.Is(err, ErrTruncated) {
			t.Errorf("cut %d inside a frame: %v, want ErrTruncated", cut, err)
		}
	}
}

// TestTruncatedZstdSingleFrame cuts a capture compressed as one long frame
// (as the zstd tool makes them): every cut yields a prefix of the records,
// more as the cut moves later, and ErrTruncated.
func TestTruncatedZstdSingleFrame(t *testing.T) {
	plain, ws, _ := flushedCapture(t, 400, 1000, false, true)
	b := zstdBytes(t, plain)
	prev := 0
	for i := 0; i <= 64; i++ {
		cut := len(b) * i / 64
		n, err := checkCut(t, b, cut, ws)
		if n < prev {
			t.Errorf("cut %d: %d records, fewer than %d at an earlier cut", cut, n, prev)
		}
		prev = n
		if cut == len(b) {
			if n != len(ws) || err != io.EOF {
				t.Errorf("whole file: %d records, %v", n, err)
			}
		} else if cut > 0 && !errors.Is(err, ErrTruncated) {
			t.Errorf("cut %d: %v, want ErrTruncated", cut, err)
		}
	}
	if prev != len(ws) {
		t.Fatal("never read the whole file")
	}
}

func TestTruncatedPlain(t *testing.T) {
	b, ws, _ := flushedCapture(t, 12, 1, false, true)
	cuts := 0
	for cut := 0; cut <= len(b); cut++ {
		// Every offset near a line end, a spread of the others.
		near := false
		for d := -3; d <= 3; d++ {
			near = near || (cut+d >= 0 && cut+d < len(b) && b[cut+d] == '\n')
		}
		if !near && cut%11 != 0 && cut != len(b) {
			continue
		}
		cuts++
		// Reference: lines whose '\n' lies before the cut are complete; a
		// cut just before a '\n' leaves a complete line without it.
		complete := bytes.Count(b[:cut], []byte("\n"))
		want, wantErr := complete, error(io.EOF)
		if cut > 0 && b[cut-1] != '\n' {
			if cut < len(b) && b[cut] == '\n' {
				want++
			} else {
				wantErr = ErrTruncated
			}
		}
		n, err := checkCut(t, b, cut, ws)
		if n != want || !errors.Is(err, wantErr) {
			t.Fatalf("cut %d: %d records, %v; want %d, %v", cut, n, err, want, wantErr)
		}
		if wantErr == ErrTruncated && !strings.Contains(err.Error(), fmt.Sprintf("line %d ", want+1)) {
			t.Fatalf("cut %d: error %q does not name line %d", cut, err, want+1)
		}
	}
	if cuts < len(b)/11 {
		t.Fatalf("only %d cuts tried", cuts)
	}
}

func TestMalformedLines(t *testing.T) {
	lines := []struct {
		text string
		kind Kind   // KindUnknown: malformed
		why  string // substring of Err
		data string
	}{
		{`{"t":"open","ts":1,"conn":"c"}`, KindOpen, "", ""},
		{`not json`, KindUnknown, "invalid JSON", ""},
		{``, 0, "", ""}, // skipped
		{`{"t":"recv","ts":2,"conn":"c","data":"ok"}`, KindRecv, "", "ok"},
		{`[]`, KindUnknown, "not a JSON object", ""},
		{`null`, KindUnknown, "not a JSON object", ""},
		{`{}`, KindUnknown, `missing "t"`, ""},
		{`{"t":"recv","ts":3,"conn":"c"}`, KindUnknown, `recv line without "data"`, ""},
		{`{"t":"bogus","ts":3}`, KindUnknown, `unknown "t" value "bogus"`, ""},
		{`{"t":5,"ts":3}`, KindUnknown, `"t" is not a string`, ""},
		{`{"t":"recv","ts":"3","conn":"c","data":"x"}`, KindUnknown, `"ts" is not a number`, ""},
		{`{"t":"recv","ts":1e400,"conn":"c","data":"x"}`, KindUnknown, `"ts" is not a float64`, ""},
		{`{"t":"recv","ts":3,"conn":"c","data":5}`, KindUnknown, `"data" is not a string`, ""},
		{`{"t":"recv","ts":3,"conn":null,"data":"x"}`, KindUnknown, `"conn" is not a string`, ""},
		{`{"t":"http","ts":3,"data":"x"}`, KindUnknown, `http line without "url"`, ""},
		{`{"t":"open","conn":"c"}`, KindUnknown, `open line without "ts"`, ""},
		{`{"t":"send","ts":4,"data":"x"}`, KindUnknown, `send line without "conn"`, ""},
		{`{"t":"recv","ts":5,"conn":"c","data":"x"} x`, KindUnknown, "invalid JSON", ""},
		{`{"t":"recv","ts":5,"conn":"c","data":"x\q"}`, KindUnknown, "invalid JSON", ""},
		{"{\"t\":\"recv\",\"ts\":5,\"conn\":\"c\",\"data\":\"raw\ttab\"}", KindUnknown, "invalid JSON", ""},
		{" \t ", 0, "", ""}, // skipped
		{"{\"t\":\"recv\",\"ts\":6,\"conn\":\"c\",\"data\":\"crlf\"}\r", KindRecv, "", "crlf"},
		{`{"id":"v","messages":[{"a":1}]}`, KindVector, "", `{"id":"v","messages":[{"a":1}]}`},
		{`{"id":"v","messages":{}}`, KindUnknown, `missing "t"`, ""},
		// Escapes, lone surrogates, invalid UTF-8, repeated and unknown keys.
		{`{"t":"recv","ts":7,"conn":"c","data":"\ud800x"}`, KindRecv, "", "\ufffdx"},
		{`{"t":"recv","ts":8,"conn":"c","data":"x","data":"y"}`, KindRecv, "", "y"},
		{"{\"t\":\"recv\",\"ts\":9,\"conn\":\"c\",\"data\":\"a\xffb\"}", KindRecv, "", "a\ufffdb"},
		{`{"t":"r\u0065cv","ts":10,"conn":"c","data":"e","extra":[1,{"x":null}]}`, KindRecv, "", "e"},
		{` { "t" : "recv" , "ts" : -0.5e1 , "conn" : "c" , "data" : "\u00e9\ud83d\ude80\/" } `, KindRecv, "", "é🚀/"},
		{`{"t":"recv","ts":12,"conn":"c","data":"last"}`, KindRecv, "", "last"},
	}
	var in strings.Builder
	for _, l := range lines {
		in.WriteString(l.text + "\n")
	}
	r := mustReader(t, []byte(in.String()))
	malformed := 0
	for i, l := range lines {
		if l.kind == 0 && l.why == "" {
			continue // blank line: skipped
		}
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("line %d: Next: %v", i+1, err)
		}
		if rec.Line != i+1 || rec.Kind != l.kind {
			t.Fatalf("line %d: got line %d kind %s (err %v), want %s", i+1, rec.Line, rec.Kind, rec.Err, l.kind)
		}
		if l.kind == KindUnknown {
			malformed++
			if rec.Err == nil || !errors.Is(rec.Err, ErrMalformed) {
				t.Fatalf("line %d: Err = %v, want ErrMalformed", i+1, rec.Err)
			}
			msg := rec.Err.Error()
			if !strings.HasPrefix(msg, "capture: ") || !strings.Contains(msg, fmt.Sprintf("line %d:", i+1)) || !strings.Contains(msg, l.why) {
				t.Fatalf("line %d: Err %q should name the line and say %q", i+1, msg, l.why)
			}
			if string(rec.Raw) != l.text {
				t.Fatalf("line %d: Raw %q", i+1, rec.Raw)
			}
			continue
		}
		if rec.Err != nil || string(rec.Data) != l.data {
			t.Fatalf("line %d: data %q err %v, want %q", i+1, rec.Data, rec.Err, l.data)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	if malformed != 18 {
		t.Fatalf("%d malformed lines", malformed)
	}
}

func TestUnterminatedLastLine(t *testing.T) {
	ok := `{"t":"open","ts":1,"conn":"c"}`
	for _, tc := range []struct {
		in      string
		records int
		err     error
	}{
		{"", 0, io.EOF},
		{"\n\n", 0, io.EOF},
		{ok, 1, io.EOF},
		{ok + "\n" + ok, 2, io.EOF},
		{ok + "\n" + ok + "\r", 2, io.EOF},
		{ok + "\n  ", 1, io.EOF},
		{ok + "\n" + ok[:10], 1, ErrTruncated},
		{ok + "\n" + `{"t":"bogus"}`, 2, io.EOF}, // complete but malformed
		{"(\xb5", 0, ErrTruncated},               // too short to be zstd: a broken line
		{"\x28\xb5\x2f\xfd", 0, ErrTruncated},    // zstd magic and nothing else
	} {
		recs, err := readAll(t, mustReader(t, []byte(tc.in)))
		if len(recs) != tc.records || !errors.Is(err, tc.err) {
			t.Errorf("%q: %d records, %v; want %d, %v", tc.in, len(recs), err, tc.records, tc.err)
		}
	}
}

func TestLineTooLong(t *testing.T) {
	long := `{"t":"recv","ts":1,"conn":"c","data":"` + strings.Repeat("x", 1<<20) + `"}`
	in := []byte(long + "\n" + `{"t":"recv","ts":2,"conn":"c","data":"ok"}` + "\n" + long + "\n")
	for _, compress := range []bool{false, true} {
		b := in
		if compress {
			b = zstdBytes(t, in)
		}
		r := mustReader(t, b)
		r.maxLine = 300 << 10 // spans several buffer fills
		recs, err := readAll(t, r)
		if err != io.EOF || len(recs) != 3 {
			t.Fatalf("%d records, %v", len(recs), err)
		}
		for i, rec := range []Record{recs[0], recs[2]} {
			if rec.Kind != KindUnknown || !errors.Is(rec.Err, ErrLineTooLong) || rec.Line != 1+2*i ||
				!strings.Contains(rec.Err.Error(), fmt.Sprintf("line %d ", rec.Line)) {
				t.Errorf("too-long line: %+v", rec)
			}
		}
		if recs[1].Kind != KindRecv || string(recs[1].Data) != "ok" || recs[1].Line != 2 {
			t.Errorf("line after the long one: %+v", recs[1])
		}
		// Without the limit the same lines read fine.
		recs, err = readAll(t, mustReader(t, b))
		if err != io.EOF || len(recs) != 3 || len(recs[0].Data) != 1<<20 {
			t.Fatalf("unlimited: %d records, %v", len(recs), err)
		}
	}
}

func TestCloneOutlivesNext(t *testing.T) {
	in := `{"t":"recv","ts":1,"conn":"c","data":"\"first\""}` + "\n" +
		`{"t":"recv","ts":2,"conn":"c","data":"\"other\""}` + "\n"
	r := mustReader(t, []byte(in))
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	kept := rec.Clone()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if string(rec.Data) == `"first"` {
		t.Fatal("Data was not borrowed (the test assumes buffer reuse)")
	}
	if string(kept.Data) != `"first"` || string(kept.Raw) != strings.SplitN(in, "\n", 2)[0] || kept.TS != 1 {
		t.Fatalf("clone changed: %+v", kept)
	}
	if (Record{}).Clone().Data != nil {
		t.Fatal("clone of empty record")
	}
}

// cycle repeats its content forever.
type cycle struct {
	b   []byte
	off int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m := copy(p[n:], c.b[c.off:])
		n += m
		c.off = (c.off + m) % len(c.b)
	}
	return n, nil
}

func TestNextDoesNotAllocate(t *testing.T) {
	lines := `{"t":"recv","ts":1633998512.0633569,"conn":"wss://a","data":"{\"e\":\"depthUpdate\",\"b\":[[\"0.1\",\"2\"]]}"}` + "\n" +
		`{"t": "open", "ts": 0, "conn": "wss://b"}` + "\n" +
		`{"t":"http","ts":1,"conn":"X.http.1","url":"https://x/\u0026y","data":"plain"}` + "\n"
	r, err := NewReader(&cycle{b: []byte(lines)})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(300, func() {
		rec, err := r.Next()
		if err != nil || rec.Err != nil {
			t.Fatal(err, rec.Err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Next allocates %v times per record", allocs)
	}
}

func TestKindString(t *testing.T) {
	for k, s := range map[Kind]string{
		KindUnknown: "unknown", KindOpen: "open", KindSend: "send", KindRecv: "recv",
		KindHTTP: "http", KindVector: "vector", Kind(42): "Kind(42)",
	} {
		if k.String() != s {
			t.Errorf("%d: %q, want %q", k, k.String(), s)
		}
	}
}

func TestOpenCreateClose(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.jsonl")); err == nil || !strings.HasPrefix(err.Error(), "capture: ") {
		t.Fatalf("Open missing: %v", err)
	}
	for _, compress := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("c-%v.jsonl", compress))
		w, err := Create(path, compress)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Open(time.Unix(1, 0), "c"); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := w.Recv(time.Unix(2, 0), "c", nil); !errors.Is(err, ErrClosed) {
			t.Fatalf("Recv after Close: %v", err)
		}
		if err := w.Flush(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Flush after Close: %v", err)
		}
		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := readAll(t, r)
		if err != io.EOF || len(recs) != 1 || recs[0].Kind != KindOpen || recs[0].Conn != "c" {
			t.Fatalf("%d records %v", len(recs), err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Next(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Next after Close: %v", err)
		}
	}
	// An empty compressed capture is empty, and reads as such.
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, true)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Fatalf("empty capture is %d bytes", buf.Len())
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestWriterErrorsAreSticky(t *testing.T) {
	for _, compress := range []bool{false, true} {
		w, err := NewWriter(&failWriter{}, compress)
		if err != nil {
			t.Fatal(err)
		}
		_ = w.Recv(time.Unix(1, 0), "c", []byte("x"))
		err = w.Flush()
		if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.HasPrefix(err.Error(), "capture: ") {
			t.Fatalf("zstd=%v: Flush: %v", compress, err)
		}
		if err2 := w.Recv(time.Unix(1, 0), "c", []byte("x")); err2 == nil || err2.Error() != err.Error() {
			t.Fatalf("zstd=%v: after failure: %v", compress, err2)
		}
		if err2 := w.Close(); err2 == nil {
			t.Fatalf("zstd=%v: Close after failure succeeded", compress)
		}
	}
}

// errReader fails after its content.
type errReader struct {
	b   []byte
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.b) == 0 {
		return 0, e.err
	}
	n := copy(p, e.b)
	e.b = e.b[n:]
	return n, nil
}

func TestReadErrors(t *testing.T) {
	ok := `{"t":"open","ts":1,"conn":"c"}` + "\n"
	boom := errors.New("boom")
	r, err := NewReader(&errReader{b: []byte(ok + ok[:5]), err: boom})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := readAll(t, r)
	if len(recs) != 1 || !errors.Is(err, boom) || errors.Is(err, ErrTruncated) || !strings.HasPrefix(err.Error(), "capture: ") {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if _, err2 := r.Next(); err2 != err {
		t.Fatalf("error not sticky: %v", err2)
	}
	if _, err := NewReader(&errReader{err: boom}); !errors.Is(err, boom) {
		t.Fatalf("NewReader on failing source: %v", err)
	}
	// Corrupt (not truncated) zstd data is a decompression error.
	z := zstdBytes(t, bytes.Repeat([]byte(ok), 1000))
	z[len(z)/2] ^= 0xff
	z[len(z)/2+1] ^= 0x55
	recs, err = readAll(t, mustReader(t, z))
	if err == io.EOF || err == nil || !strings.HasPrefix(err.Error(), "capture: ") {
		t.Fatalf("corrupt zstd: %d records, %v", len(recs), err)
	}
}
