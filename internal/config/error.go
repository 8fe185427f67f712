package config

import (
	"errors"
	"fmt"
	"strconv"
)

// Error is one problem with a config: where it is, as far as known, and what
// is wrong. Load, ParseFS, Parse, Validate and Instruments report problems as
// *Error values joined with errors.Join (use errors.As, or Unwrap() []error
// on the joined error, to walk them). Its text reads
//
//	config: prod.yaml:31:15: venues[1].instruments[0].tick: "0.001" is finer than pair BTC/USDT price_exp 2
//
// with the position left out when unknown (Validate on a Config built in
// code) and the path left out when the problem is not a field's (YAML
// syntax).
type Error struct {
	File   string // file the problem is in; "" when the config did not come from a file
	Line   int    // 1-based line in File; 0 when unknown
	Column int    // 1-based column in File; 0 when unknown
	Path   string // the offending field, "venues[1].instruments[0].tick"; "" when not a field
	Err    error  // what is wrong
}

// Error returns "config: file:line:col: path: problem".
func (e *Error) Error() string {
	b := append(make([]byte, 0, 128), "config: "...)
	if e.File != "" {
		b = append(b, e.File...)
		if e.Line > 0 {
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(e.Line), 10)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(e.Column), 10)
		}
		b = append(b, ": "...)
	}
	if e.Path != "" {
		b = append(b, e.Path...)
		b = append(b, ": "...)
	}
	if e.Err != nil {
		b = append(b, e.Err.Error()...)
	}
	return string(b)
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// errList collects problems so that one pass reports all of them.
type errList []*Error

// add records a problem with the field at path.
func (l *errList) add(path, format string, args ...any) {
	*l = append(*l, &Error{Path: path, Err: fmt.Errorf(format, args...)})
}

// join returns the problems as one error, nil when there are none.
func (l errList) join() error {
	if len(l) == 0 {
		return nil
	}
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errors.Join(errs...)
}
