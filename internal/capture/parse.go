package capture

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unsafe"
)

// fields is the decoded envelope of one line. Both decoders fill it and
// build turns it into a Record, so they share every semantic check.
type fields struct {
	t, conn, url, data                    []byte
	ts                                    float64
	hasT, hasTS, hasConn, hasURL, hasData bool
	messages                              bool // has a "messages" array (vector shape)
}

// parse decodes one non-blank line.
func (r *Reader) parse(line []byte) Record {
	var f fields
	if !r.parseFast(line, &f) {
		f = fields{}
		r.slow++
		if err := r.parseSlow(line, &f); err != nil {
			return r.malformed(line, err.Error())
		}
	}
	return r.build(line, &f)
}

func (r *Reader) malformed(line []byte, why string) Record {
	return Record{
		Kind: KindUnknown,
		Line: r.line,
		Raw:  line,
		Err:  fmt.Errorf("%w %d: %s", ErrMalformed, r.line, why),
	}
}

// build applies the per-kind field requirements.
func (r *Reader) build(line []byte, f *fields) Record {
	if !f.hasT {
		if f.messages {
			return Record{Kind: KindVector, Line: r.line, Raw: line, Data: line}
		}
		return r.malformed(line, `missing "t" field (and no "messages" array of a vector line)`)
	}
	var k Kind
	switch string(f.t) {
	case "open":
		k = KindOpen
	case "send":
		k = KindSend
	case "recv":
		k = KindRecv
	case "http":
		k = KindHTTP
	default:
		t := f.t
		if len(t) > 32 {
			t = t[:32]
		}
		return r.malformed(line, fmt.Sprintf(`unknown "t" value %q`, t))
	}
	switch {
	case !f.hasTS:
		return r.malformed(line, fmt.Sprintf(`%s line without "ts"`, k))
	case (k == KindOpen || k == KindSend || k == KindRecv) && !f.hasConn:
		return r.malformed(line, fmt.Sprintf(`%s line without "conn"`, k))
	case k == KindHTTP && !f.hasURL:
		return r.malformed(line, `http line without "url"`)
	case k != KindOpen && !f.hasData:
		return r.malformed(line, fmt.Sprintf(`%s line without "data"`, k))
	}
	rec := Record{Kind: k, TS: f.ts, Line: r.line, Raw: line}
	if f.hasConn {
		rec.Conn = r.intern(f.conn)
	}
	if f.hasURL {
		rec.URL = r.intern(f.url)
	}
	if f.hasData {
		rec.Data = f.data
	}
	return rec
}

// maxInterned bounds the per-Reader string table.
const maxInterned = 1024

// intern returns b as a string, reusing an earlier allocation when the same
// bytes were seen before.
func (r *Reader) intern(b []byte) string {
	if string(b) == r.last {
		return r.last
	}
	if s, ok := r.strs[string(b)]; ok {
		r.last = s
		return s
	}
	s := string(b)
	if len(r.strs) < maxInterned {
		if r.strs == nil {
			r.strs = make(map[string]string)
		}
		r.strs[s] = s
	}
	r.last = s
	return s
}

// parseFast decodes the common shape without allocating: an object whose
// keys are among t, ts, conn, url, data (each at most once), ts a number and
// the others strings. It reports false for anything else, including invalid
// JSON; parseSlow is then the authority. jscan decodes keys and strings as
// encoding/json does (escapes, surrogate pairs, and U+FFFD for lone
// surrogates and invalid UTF-8), so whatever parseFast accepts, parseSlow
// decodes identically (checked by tests and FuzzReader).
func (r *Reader) parseFast(line []byte, f *fields) bool {
	s := &r.js
	s.Reset(line)
	for key, ok := s.ObjectStart(); ok; key, ok = s.NextKey() {
		switch string(key) {
		case "t":
			ok = r.fastString(&r.tBuf, &f.t, &f.hasT)
		case "ts":
			ok = !f.hasTS && r.fastNumber(&f.ts)
			f.hasTS = true
		case "conn":
			ok = r.fastString(&r.connBuf, &f.conn, &f.hasConn)
		case "url":
			ok = r.fastString(&r.urlBuf, &f.url, &f.hasURL)
		case "data":
			ok = r.fastString(&r.dataBuf, &f.data, &f.hasData)
		default:
			ok = false // unknown keys (vector lines among them): parseSlow
		}
		if !ok {
			return false
		}
	}
	return s.End()
}

// fastString decodes the next value, which must be a string, into *buf and
// points *dst at it; it fails if the field was already seen (*has).
func (r *Reader) fastString(buf, dst *[]byte, has *bool) bool {
	if *has {
		return false
	}
	v, ok := r.js.AppendString((*buf)[:0])
	if v == nil {
		v = []byte{} // present but empty: non-nil (no allocation)
	}
	*buf, *dst, *has = v, v, true
	return ok
}

// fastNumber decodes the next value, which must be a JSON number that fits
// a float64.
func (r *Reader) fastNumber(dst *float64) bool {
	v, ok := r.js.Raw()
	if !ok || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return false
	}
	// The string does not outlive the call on success; on error (range) it
	// may be kept in the *NumError, which is dropped.
	ts, err := strconv.ParseFloat(unsafe.String(&v[0], len(v)), 64)
	*dst = ts
	return err == nil
}

// parseSlow decodes any JSON object with encoding/json. It returns an error
// (without the line prefix) for invalid JSON or a mistyped known field;
// missing fields are left to build.
func (r *Reader) parseSlow(line []byte, f *fields) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("not a JSON object (found %s)", te.Value)
		}
		return fmt.Errorf("invalid JSON: %v", err)
	}
	if m == nil {
		return errors.New("not a JSON object (found null)")
	}
	if v, ok := m["t"]; ok {
		s, err := jsonString(v)
		if err != nil {
			return fmt.Errorf(`"t" %v`, err)
		}
		f.t, f.hasT = []byte(s), true
	}
	if v, ok := m["ts"]; ok {
		if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
			return fmt.Errorf(`"ts" is not a number: %.32s`, v)
		}
		var ts float64
		if err := json.Unmarshal(v, &ts); err != nil {
			return fmt.Errorf(`"ts" is not a float64: %.32s`, v)
		}
		f.ts, f.hasTS = ts, true
	}
	var err error
	if f.conn, f.hasConn, err = slowString(m, "conn", &r.connBuf); err != nil {
		return err
	}
	if f.url, f.hasURL, err = slowString(m, "url", &r.urlBuf); err != nil {
		return err
	}
	if f.data, f.hasData, err = slowString(m, "data", &r.dataBuf); err != nil {
		return err
	}
	if v, ok := m["messages"]; ok && len(v) > 0 && v[0] == '[' {
		f.messages = true
	}
	return nil
}

// slowString decodes the optional string field name of m into *buf.
func slowString(m map[string]json.RawMessage, name string, buf *[]byte) ([]byte, bool, error) {
	v, ok := m[name]
	if !ok {
		return nil, false, nil
	}
	s, err := jsonString(v)
	if err != nil {
		return nil, false, fmt.Errorf("%q %v", name, err)
	}
	*buf = append((*buf)[:0], s...)
	return *buf, true, nil
}

// jsonString decodes a raw JSON value that must be a string.
func jsonString(v json.RawMessage) (string, error) {
	if len(v) == 0 || v[0] != '"' {
		return "", fmt.Errorf("is not a string: %.32s", v)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("is not a valid string: %v", err)
	}
	return s, nil
}
