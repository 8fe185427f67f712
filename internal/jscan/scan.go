package jscan

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"arbmm/internal/market"
)

// Sentinel errors. Err wraps them with the byte offset only when asked.
var (
	ErrSyntax  = errors.New("jscan: invalid JSON")
	ErrType    = errors.New("jscan: unexpected JSON type")
	ErrDepth   = errors.New("jscan: nesting too deep")
	ErrEOF     = errors.New("jscan: unexpected end of frame")
	ErrTooMany = errors.New("jscan: more array elements than the caller allows")
)

// MaxDepth bounds the nesting Skip follows, so hostile input cannot exhaust
// the stack.
const MaxDepth = 64

// Scanner is a cursor over one JSON frame. The zero value is ready for Reset.
type Scanner struct {
	b       []byte
	i       int
	err     error // first error; sticky
	errPos  int
	scratch []byte // unescaped keys/strings; reused
}

// Reset points s at frame b, clearing any error.
func (s *Scanner) Reset(b []byte) {
	s.b = b
	s.i = 0
	s.err = nil
	s.errPos = 0
}

// ResetAt points s at frame b with the cursor at byte offset pos, clearing
// any error: decoders use it to come back to a value whose offset they
// recorded on a first pass.
func (s *Scanner) ResetAt(b []byte, pos int) {
	s.Reset(b)
	s.i = min(max(pos, 0), len(b))
}

// Err returns the first error met, or nil.
func (s *Scanner) Err() error { return s.err }

// ErrPos returns the byte offset at which the first error was met.
func (s *Scanner) ErrPos() int { return s.errPos }

// Pos returns the current byte offset.
func (s *Scanner) Pos() int { return s.i }

// Failed reports whether an error has been met.
func (s *Scanner) Failed() bool { return s.err != nil }

// Fail records err at the current offset unless an error is already recorded.
// Decoders use it to reject well-formed JSON of the wrong shape.
func (s *Scanner) Fail(err error) {
	if s.err == nil {
		s.err = err
		s.errPos = s.i
	}
}

// ErrorString formats the error with its offset; for cold paths (logs).
func (s *Scanner) ErrorString() string {
	if s.err == nil {
		return ""
	}
	return s.err.Error() + " at byte " + strconv.Itoa(s.errPos)
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// peek skips white space and returns the next byte, or 0 at the end.
func (s *Scanner) peek() byte {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return s.b[s.i] // the common case: no white space
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		if !isSpace(c) {
			return c
		}
		s.i++
	}
	return 0
}

// Peek returns the first byte of the next value (after white space) without
// consuming it: '{', '[', '"', a digit, '-', 't', 'f', 'n', or 0 at the end.
func (s *Scanner) Peek() byte {
	if s.err != nil {
		return 0
	}
	return s.peek()
}

// End reports whether only white space remains, recording ErrSyntax if not.
func (s *Scanner) End() bool {
	if s.err != nil {
		return false
	}
	if s.peek(); s.i != len(s.b) {
		s.Fail(ErrSyntax)
		return false
	}
	return true
}

// ObjectStart consumes '{' and the first key with its ':'. It returns the key
// and true, or false for an empty object (consumed) or on error.
func (s *Scanner) ObjectStart() ([]byte, bool) {
	if s.err != nil {
		return nil, false
	}
	if s.peek() != '{' {
		s.Fail(ErrType)
		return nil, false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil, false
	}
	return s.key()
}

// NextKey consumes the ',' between members and the next key with its ':'.
// It returns false at the closing '}' (consumed) or on error. The value of
// the previous key must have been consumed or skipped.
func (s *Scanner) NextKey() ([]byte, bool) {
	if s.err != nil {
		return nil, false
	}
	switch s.peek() {
	case ',':
		s.i++
		return s.key()
	case '}':
		s.i++
		return nil, false
	}
	s.Fail(ErrSyntax)
	return nil, false
}

func (s *Scanner) key() ([]byte, bool) {
	if s.peek() != '"' {
		s.Fail(ErrSyntax)
		return nil, false
	}
	k, ok := s.String()
	if !ok {
		return nil, false
	}
	if s.peek() != ':' {
		s.Fail(ErrSyntax)
		return nil, false
	}
	s.i++
	return k, true
}

// ArrayStart consumes '['. It returns true if the array has a first element
// (not yet consumed), false for an empty array (consumed) or on error.
func (s *Scanner) ArrayStart() bool {
	if s.err != nil {
		return false
	}
	if s.peek() != '[' {
		s.Fail(ErrType)
		return false
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		return false
	}
	return true
}

// NextElem consumes the ',' before the next element and returns true, or
// consumes the closing ']' and returns false.
func (s *Scanner) NextElem() bool {
	if s.err != nil {
		return false
	}
	switch s.peek() {
	case ',':
		s.i++
		return true
	case ']':
		s.i++
		return false
	}
	s.Fail(ErrSyntax)
	return false
}

// String consumes a string and returns its contents: borrowed from the frame
// when it has no escapes, else unescaped into the scratch buffer.
func (s *Scanner) String() ([]byte, bool) {
	if s.err != nil {
		return nil, false
	}
	if s.peek() != '"' {
		s.Fail(ErrType)
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		if !strSpecial[c] {
			continue
		}
		switch {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], true
		case c == '\\' || c >= utf8.RuneSelf:
			return s.slowString(start)
		default: // control character
			s.i = j
			s.Fail(ErrSyntax)
			return nil, false
		}
	}
	s.i = len(s.b)
	s.Fail(ErrEOF)
	return nil, false
}

// strSpecial marks the bytes that end String's fast scan: the closing quote,
// a backslash, control characters and non-ASCII bytes.
var strSpecial = func() (t [256]bool) {
	for c := range t {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf
	}
	return t
}()

// AppendString consumes a string and appends its unescaped contents to dst,
// so that a caller can keep several strings of one frame at once (String's
// unescaped results share one scratch buffer).
func (s *Scanner) AppendString(dst []byte) ([]byte, bool) {
	v, ok := s.String()
	if !ok {
		return dst, false
	}
	return append(dst, v...), true
}

// slowString handles strings with escapes or non-ASCII bytes: it validates
// UTF-8 and unescapes into scratch. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func (s *Scanner) slowString(start int) ([]byte, bool) {
	out := s.scratch[:0]
	escaped := false
	j := start
	for j < len(s.b) {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			s.scratch = out
			if !escaped && utf8.Valid(s.b[start:j]) {
				return s.b[start:j], true
			}
			return out, true
		case c == '\\':
			escaped = true
			if j+1 >= len(s.b) {
				s.i = j
				s.Fail(ErrEOF)
				return nil, false
			}
			e := s.b[j+1]
			j += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(s.b, j)
				if !ok {
					s.i = j
					s.Fail(ErrSyntax)
					return nil, false
				}
				j += 4
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if j+6 <= len(s.b) && s.b[j] == '\\' && s.b[j+1] == 'u' {
						r2, _ = hex4(s.b, j+2)
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						j += 6
						r = d
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				s.i = j - 1
				s.Fail(ErrSyntax)
				return nil, false
			}
		case c < 0x20:
			s.i = j
			s.Fail(ErrSyntax)
			return nil, false
		case c < utf8.RuneSelf:
			out = append(out, c)
			j++
		default:
			r, n := utf8.DecodeRune(s.b[j:])
			if r == utf8.RuneError && n == 1 {
				escaped = true // the output differs from the input
			}
			out = utf8.AppendRune(out, r)
			j += n
		}
	}
	s.i = len(s.b)
	s.scratch = out
	s.Fail(ErrEOF)
	return nil, false
}

func hex4(b []byte, j int) (rune, bool) {
	if j+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[j : j+4] {
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

// Fixed consumes a number, bare (29430.2) or quoted ("0.35130000"), and
// returns it as a mantissa at exponent exp (see market.ScanFixed). A number
// finer than exp, out of range, or malformed records the market error.
func (s *Scanner) Fixed(exp int) (int64, bool) {
	if s.err != nil {
		return 0, false
	}
	c := s.peek()
	if c == '"' {
		v, n, err := market.ScanFixed(s.b[s.i+1:], exp)
		end := s.i + 1 + n
		if err == nil && n > 0 && end < len(s.b) && s.b[end] == '"' {
			s.i = end + 1
			return v, true
		}
		if end < len(s.b) && (s.b[end] == '\\' || s.b[end] >= utf8.RuneSelf) {
			return s.slowQuotedFixed(exp)
		}
		if err == nil {
			err = market.ErrSyntax
		}
		s.i = end
		s.Fail(err)
		return 0, false
	}
	if c != '-' && (c < '0' || c > '9') {
		s.Fail(ErrType)
		return 0, false
	}
	// A bare number must follow JSON's grammar: no leading zeros.
	if !jsonNumberStart(s.b[s.i:]) {
		s.Fail(ErrSyntax)
		return 0, false
	}
	v, n, err := market.ScanFixed(s.b[s.i:], exp)
	s.i += n
	if err != nil {
		s.Fail(err)
		return 0, false
	}
	return v, true
}

// slowQuotedFixed parses a quoted number that contains escapes.
func (s *Scanner) slowQuotedFixed(exp int) (int64, bool) {
	str, ok := s.String()
	if !ok {
		return 0, false
	}
	v, err := market.ParseFixed(str, exp)
	if err != nil {
		s.Fail(err)
		return 0, false
	}
	return v, true
}

// jsonNumberStart reports whether b starts like a JSON number: an optional
// '-', then "0" not followed by a digit, or 1-9.
func jsonNumberStart(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return false
	}
	if b[i] == '0' {
		return i+1 >= len(b) || b[i+1] < '0' || b[i+1] > '9'
	}
	return b[i] >= '1' && b[i] <= '9'
}

// Int consumes an integer, bare or quoted, and returns it. A fraction or
// exponent with non-zero digits after the point is an error.
func (s *Scanner) Int() (int64, bool) { return s.Fixed(0) }

// Bool consumes true or false.
func (s *Scanner) Bool() (bool, bool) {
	if s.err != nil {
		return false, false
	}
	switch s.peek() {
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	}
	s.Fail(ErrType)
	return false, false
}

// Null consumes null if it is next and reports whether it was.
func (s *Scanner) Null() bool {
	if s.err != nil || s.peek() != 'n' {
		return false
	}
	return s.literal("null")
}

func (s *Scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	s.Fail(ErrSyntax)
	return false
}

// Skip consumes one value of any type, validating it.
func (s *Scanner) Skip() bool { return s.skip(0) }

// Raw consumes one value and returns its bytes, borrowed from the frame.
func (s *Scanner) Raw() ([]byte, bool) {
	if s.err != nil {
		return nil, false
	}
	s.peek()
	start := s.i
	if !s.skip(0) {
		return nil, false
	}
	return s.b[start:s.i], true
}

func (s *Scanner) skip(depth int) bool {
	if s.err != nil {
		return false
	}
	if depth > MaxDepth {
		s.Fail(ErrDepth)
		return false
	}
	switch c := s.peek(); {
	case c == '{':
		for _, ok := s.ObjectStart(); ok; _, ok = s.NextKey() {
			if !s.skip(depth + 1) {
				return false
			}
		}
	case c == '[':
		for ok := s.ArrayStart(); ok; ok = s.NextElem() {
			if !s.skip(depth + 1) {
				return false
			}
		}
	case c == '"':
		s.String()
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		s.number()
	case s.i == len(s.b):
		s.Fail(ErrEOF)
	default:
		s.Fail(ErrSyntax)
	}
	return s.err == nil
}

// number consumes a JSON number of any size and precision.
func (s *Scanner) number() {
	b := s.b
	i := s.i
	if !jsonNumberStart(b[i:]) {
		s.Fail(ErrSyntax)
		return
	}
	if b[i] == '-' {
		i++
	}
	digits := func() int {
		st := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - st
	}
	digits()
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			s.i = i
			s.Fail(ErrSyntax)
			return
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			s.i = i
			s.Fail(ErrSyntax)
			return
		}
	}
	s.i = i
}
