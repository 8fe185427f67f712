package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
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
// keys are among t, ts, conn, url, data (each at most once, no escapes in
// keys or in t), ts a number and the others strings of valid UTF-8 without
// lone surrogate escapes. It reports false for anything else, including
// invalid JSON; parseSlow is then the authority. Whatever parseFast accepts,
// parseSlow decodes identically (checked by tests and FuzzReader).
func (r *Reader) parseFast(line []byte, f *fields) bool {
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return false
	}
	i = skipWS(line, i+1)
	for {
		key, end, esc, ok := scanString(line, i)
		if !ok || esc {
			return false
		}
		i = skipWS(line, end)
		if i >= len(line) || line[i] != ':' {
			return false
		}
		i = skipWS(line, i+1)
		switch string(key) {
		case "t":
			if f.hasT {
				return false
			}
			v, end, esc, ok := scanString(line, i)
			if !ok || esc {
				return false
			}
			f.t, f.hasT, i = v, true, end
		case "ts":
			if f.hasTS {
				return false
			}
			end, ok := scanNumber(line, i)
			if !ok {
				return false
			}
			// The string does not outlive the call on success; on error
			// (range) it may be kept in the *NumError, which is dropped.
			ts, err := strconv.ParseFloat(unsafe.String(&line[i], end-i), 64)
			if err != nil {
				return false
			}
			f.ts, f.hasTS, i = ts, true, end
		case "conn":
			if f.hasConn {
				return false
			}
			if f.conn, i, ok = decodeString(line, i, &r.connBuf); !ok {
				return false
			}
			f.hasConn = true
		case "url":
			if f.hasURL {
				return false
			}
			if f.url, i, ok = decodeString(line, i, &r.urlBuf); !ok {
				return false
			}
			f.hasURL = true
		case "data":
			if f.hasData {
				return false
			}
			if f.data, i, ok = decodeString(line, i, &r.dataBuf); !ok {
				return false
			}
			f.hasData = true
		default:
			return false
		}
		i = skipWS(line, i)
		if i >= len(line) {
			return false
		}
		switch line[i] {
		case ',':
			i = skipWS(line, i+1)
		case '}':
			return skipWS(line, i+1) == len(line)
		default:
			return false
		}
	}
}

func skipWS(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// strStop marks the bytes that end a run of plain string content.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// scanString finds the JSON string starting at s[i] (which must be '"').
// It returns the raw content between the quotes, the index after the closing
// quote and whether the content has escapes. ok is false for a missing
// quote, a control character or content that is not valid UTF-8.
func scanString(s []byte, i int) (content []byte, end int, esc, ok bool) {
	if i >= len(s) || s[i] != '"' {
		return nil, 0, false, false
	}
	nonASCII := false
	for j := i + 1; j < len(s); {
		c := s[j]
		if !strStop[c] {
			j++
			continue
		}
		switch {
		case c == '"':
			content = s[i+1 : j]
			if nonASCII && !utf8.Valid(content) {
				return nil, 0, false, false
			}
			return content, j + 1, esc, true
		case c == '\\':
			esc = true
			j += 2 // the escaped byte is checked by unquote
		case c < 0x20:
			return nil, 0, false, false
		default:
			nonASCII = true
			j++
		}
	}
	return nil, 0, false, false
}

// decodeString decodes the JSON string at s[i]. Without escapes the result
// aliases s; otherwise it is unescaped into *buf.
func decodeString(s []byte, i int, buf *[]byte) ([]byte, int, bool) {
	content, end, esc, ok := scanString(s, i)
	if !ok {
		return nil, 0, false
	}
	if !esc {
		return content, end, true
	}
	out, ok := unquote((*buf)[:0], content)
	*buf = out
	return out, end, ok
}

// unquote appends the unescaped form of a JSON string's content to dst.
// It reports false for an invalid escape or a lone surrogate (which
// encoding/json turns into U+FFFD; the slow path handles that).
func unquote(dst, s []byte) ([]byte, bool) {
	for len(s) > 0 {
		k := bytes.IndexByte(s, '\\')
		if k < 0 {
			return append(dst, s...), true
		}
		dst = append(dst, s[:k]...)
		s = s[k:]
		if len(s) < 2 {
			return dst, false
		}
		switch c := s[1]; c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r1, ok := hex4(s[2:])
			if !ok {
				return dst, false
			}
			s = s[6:]
			if utf16.IsSurrogate(r1) {
				if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
					return dst, false
				}
				r2, ok := hex4(s[2:])
				if !ok {
					return dst, false
				}
				r1 = utf16.DecodeRune(r1, r2)
				if r1 == utf8.RuneError {
					return dst, false
				}
				s = s[6:]
			}
			dst = utf8.AppendRune(dst, r1)
			continue
		default:
			return dst, false
		}
		s = s[2:]
	}
	return dst, true
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// scanNumber returns the end of the JSON number at s[i].
func scanNumber(s []byte, i int) (int, bool) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(s []byte, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
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
